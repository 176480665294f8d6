"""The card reader through the real stack: pyscard -> pcscd -> vpcd -> the project's chip emulator over TCP."""

from __future__ import annotations

import dataclasses
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.card.chip import ChipFaults, EmrtdChip
from emulators.card.pcscd import PcscDaemon
from emulators.card.personalisation import (
    CardHolder,
    ChipFiles,
    TestPki,
    forge_personal_number,
    personalise,
)
from emulators.card.vpcd import VirtualCard
from station.devices.card import (
    CardInserted,
    CardReadDone,
    CardReader,
    CardReadFailed,
    CardRemoved,
    TrustStore,
    load_reader_profile,
    mrz_from_fields,
    parse_mrz,
)
from station.devices.card.errors import CardAuthError, NoCardError, NoReaderError
from station.devices.card.pcsc import PcscContext
from station.devices.health import DeviceState, ErrorCode, HealthEvent
from station.devices.urls import open_device
from tests.devices.card.conftest import READER

pytestmark = pytest.mark.pcsc


def wait_absent() -> None:
    """Wait until pcscd has seen the previous test's card leave (it polls vpcd about every 0.4 s)."""
    context = PcscContext()
    try:
        context.wait_card(READER, present=False, timeout_s=5.0)
    finally:
        context.close()


@pytest.fixture
def reader(pcscd: PcscDaemon, pki: TestPki) -> Iterator[CardReader]:
    wait_absent()
    device = CardReader(READER, load_reader_profile("vpcd"), TrustStore([pki.csca_cert]))
    device.open()
    yield device
    device.close()


def next_event(reader: CardReader, kind: type, timeout: float = 5.0) -> object:
    """The next event of ``kind`` (earlier events of other kinds are skipped)."""
    while True:
        try:
            event = reader.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {kind.__name__} within {timeout} s") from None
        if isinstance(event, kind):
            return event


def insert(files: ChipFiles, faults: ChipFaults | None = None) -> VirtualCard:
    """Put a card on the reader once pcscd has seen the previous one leave."""
    wait_absent()
    card = VirtualCard(EmrtdChip(files, faults))
    card.insert()
    return card


def test_genuine_card_is_read_and_authenticated(
    reader: CardReader, genuine: ChipFiles, holder: CardHolder
) -> None:
    health: list[HealthEvent] = []
    reader.subscribe(health.append)
    reader.expect(parse_mrz(genuine.mrz))
    card = insert(genuine)
    try:
        inserted = next_event(reader, CardInserted)
        assert isinstance(inserted, CardInserted) and inserted.atr.startswith(b"\x3b")
        done = next_event(reader, CardReadDone)
        assert isinstance(done, CardReadDone)
        result = done.result
        assert result.personal_number == holder.personal_number
        assert result.mrz.format == "TD1" and result.mrz.surname == holder.surname
        assert (
            result.face is not None
            and result.face.image == holder.face_jpeg
            and result.face.mime == "image/jpeg"
        )
        assert result.details is not None and result.details.fields["full_name"] == holder.full_name
        assert result.details.personal_number == holder.personal_number
        assert result.authentication.checked_groups == (1, 2, 11, 15)
        assert "TEST CSCA" in result.authentication.csca
        assert set(result.com.data_groups) == {1, 2, 11, 15}
        assert result.chip_authentication == "ecdsa"
    finally:
        card.remove()
    next_event(reader, CardRemoved)
    assert health[-1].state is DeviceState.READY


def test_keyboard_mrz_opens_the_chip(reader: CardReader, genuine: ChipFiles, holder: CardHolder) -> None:
    card = insert(genuine)
    try:
        next_event(reader, CardInserted)
        typed = mrz_from_fields(holder.document_number.lower(), holder.birth_date, holder.expiry_date)
        result = reader.read_now(typed)
        assert result.personal_number == holder.personal_number
    finally:
        card.remove()


@pytest.mark.parametrize("sw", [0x6300, 0x6982, 0x6988])
def test_wrong_mrz_is_an_auth_failure(
    reader: CardReader, genuine: ChipFiles, holder: CardHolder, sw: int
) -> None:
    reader.expect(mrz_from_fields(holder.document_number, "900216", holder.expiry_date))
    card = insert(genuine, ChipFaults(wrong_key_sw=sw))
    try:
        failed = next_event(reader, CardReadFailed)
        assert isinstance(failed, CardReadFailed)
        assert failed.code is ErrorCode.CARD_AUTH_FAILED
        assert f"{sw:04X}" in failed.message and "birth" in failed.message
        assert reader.health.code is ErrorCode.CARD_AUTH_FAILED
    finally:
        card.remove()


def test_altered_dg1_is_refused(reader: CardReader, genuine: ChipFiles) -> None:
    forged = forge_personal_number(genuine, "99999999999999")
    reader.expect(parse_mrz(forged.mrz))
    card = insert(forged)
    try:
        failed = next_event(reader, CardReadFailed)
        assert isinstance(failed, CardReadFailed)
        assert failed.code is ErrorCode.CARD_FORGED and "DG1" in failed.message
    finally:
        card.remove()


def test_cloned_chip_is_refused(reader: CardReader, genuine: ChipFiles) -> None:
    from emulators.card.personalisation import clone

    copy = clone(genuine)
    reader.expect(parse_mrz(copy.mrz))
    card = insert(copy)
    try:
        failed = next_event(reader, CardReadFailed)
        assert isinstance(failed, CardReadFailed)
        assert failed.code is ErrorCode.CARD_FORGED and "active authentication" in failed.message
    finally:
        card.remove()


def test_foreign_signer_is_refused(reader: CardReader, holder: CardHolder, foreign_pki: TestPki) -> None:
    foreign = personalise(holder, foreign_pki)
    reader.expect(parse_mrz(foreign.mrz))
    card = insert(foreign)
    try:
        failed = next_event(reader, CardReadFailed)
        assert isinstance(failed, CardReadFailed)
        assert failed.code is ErrorCode.CARD_FORGED and "trust list" in failed.message
    finally:
        card.remove()


def test_bad_response_mac_is_refused(reader: CardReader, genuine: ChipFiles) -> None:
    reader.expect(parse_mrz(genuine.mrz))
    card = insert(genuine, ChipFaults(corrupt_response_mac=True))
    try:
        failed = next_event(reader, CardReadFailed)
        assert isinstance(failed, CardReadFailed)
        assert failed.code is ErrorCode.CARD_READ_FAILED and "MAC" in failed.message
    finally:
        card.remove()


def test_card_pulled_mid_read_then_read_again(reader: CardReader, genuine: ChipFiles) -> None:
    reader.expect(parse_mrz(genuine.mrz))
    card = insert(genuine, ChipFaults(remove_after=8))  # after BAC and EF.COM, during DG1/DG2
    failed = next_event(reader, CardReadFailed)
    assert isinstance(failed, CardReadFailed)
    assert failed.code in (ErrorCode.CARD_REMOVED, ErrorCode.CARD_READ_FAILED)
    next_event(reader, CardRemoved)
    card = insert(genuine)  # the voter puts the card back: a fresh connection reads it
    try:
        done = next_event(reader, CardReadDone)
        assert isinstance(done, CardReadDone)
    finally:
        card.remove()


def test_garbled_answers_fail_cleanly(reader: CardReader, genuine: ChipFiles) -> None:
    reader.expect(parse_mrz(genuine.mrz))
    for after, garbage in ((0, b"\x6f"), (3, b"\x90\x00"), (5, b"\x87\x82\xff\xff\x90\x00")):
        card = insert(genuine, ChipFaults(garble_after=after, garble_bytes=garbage))
        try:
            failed = next_event(reader, CardReadFailed)
            assert isinstance(failed, CardReadFailed) and failed.message
        finally:
            card.remove()
        next_event(reader, CardRemoved)


def test_read_now_without_card(reader: CardReader, genuine: ChipFiles) -> None:
    with pytest.raises(NoCardError, match="no card"):
        reader.read_now(parse_mrz(genuine.mrz))


def test_unknown_reader_is_reported(pcscd: PcscDaemon, pki: TestPki) -> None:
    device = CardReader("No Such Reader", load_reader_profile("vpcd"), TrustStore([pki.csca_cert]))
    with pytest.raises(NoReaderError, match="not found"):
        device.open()
    assert device.health.code is ErrorCode.CARD_NO_READER


def test_device_urls(pcscd: PcscDaemon, pki: TestPki, genuine: ChipFiles, tmp_path: Path) -> None:
    (tmp_path / "csca.pem").write_bytes(pki.csca_pem())
    device = open_device(f"pcsc://{READER}?profile=vpcd&csca={tmp_path}")
    assert isinstance(device, CardReader)
    try:
        card = insert(genuine)
        try:
            next_event(device, CardInserted)
            assert device.read_now(parse_mrz(genuine.mrz)).authentication.checked_groups == (1, 2, 11, 15)
        finally:
            card.remove()
    finally:
        device.close()

    wait_absent()
    emulated = open_device("emulated://emrtd")
    assert isinstance(emulated, CardReader)
    try:
        station = emulated.emulator
        emulated.expect(parse_mrz(station.files.mrz))
        station.insert()
        done = next_event(emulated, CardReadDone)
        assert isinstance(done, CardReadDone)
        station.remove()
        next_event(emulated, CardRemoved)
        emulated.expect(None)  # from now on the test reads by hand
        wrong = mrz_from_fields("XX0000000", "800101", "300101")
        with pytest.raises(NoCardError):
            emulated.read_now(wrong)
        station.insert()
        next_event(emulated, CardInserted)
        with pytest.raises(CardAuthError):
            emulated.read_now(wrong)
    finally:
        emulated.close()


def test_hung_chip_times_out_then_next_card_reads(pcscd: PcscDaemon, pki: TestPki, genuine: ChipFiles) -> None:
    wait_absent()
    profile = dataclasses.replace(load_reader_profile("vpcd"), read_s=1.0)
    device = CardReader(READER, profile, TrustStore([pki.csca_cert]))
    device.open()
    try:
        device.expect(parse_mrz(genuine.mrz))
        card = insert(genuine, ChipFaults(silent_after=6))
        inserted = next_event(device, CardInserted)
        assert isinstance(inserted, CardInserted)
        started = time.monotonic()
        failed = next_event(device, CardReadFailed)
        assert isinstance(failed, CardReadFailed)
        assert failed.code is ErrorCode.DEVICE_TIMEOUT
        assert time.monotonic() - started < profile.read_s + 1.0
        card.remove()  # the operator takes the card off: the abandoned call returns
        next_event(device, CardRemoved)
        card = insert(genuine)
        try:
            assert isinstance(next_event(device, CardReadDone), CardReadDone)
        finally:
            card.remove()
    finally:
        device.close()


def test_card_reset_by_another_program_is_recovered(reader: CardReader, genuine: ChipFiles, pki: TestPki) -> None:
    """Another PC/SC client resets the card between two of our commands (as a stale connection would): our
    connection reports the reset, reconnects, and the next read works."""
    from smartcard import scard

    from station.devices.card.errors import CardRemovedError
    from station.devices.card.pcsc import CardConnection

    card = insert(genuine)
    try:
        next_event(reader, CardInserted)
        context, other = PcscContext(), PcscContext()
        try:
            ours = CardConnection(context, READER)
            assert ours.transmit(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
            hresult, handle, _ = scard.SCardConnect(
                other.handle, READER, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
            )
            assert hresult == 0
            scard.SCardDisconnect(handle, scard.SCARD_RESET_CARD)
            with pytest.raises(CardRemovedError, match="reset"):
                ours.transmit(bytes.fromhex("00A4040C07A0000002471001"))
            assert ours.transmit(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
            ours.close()
            assert reader.read_now(parse_mrz(genuine.mrz)).personal_number
        finally:
            context.close()
            other.close()
    finally:
        card.remove()


def test_trainer_emulator_process(pcscd: PcscDaemon, tmp_path: Path) -> None:
    """``python -m emulators.card`` as its own process: the kit reads its card with the CSCA it wrote."""
    import subprocess
    import sys

    wait_absent()
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.card", "--csca-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(5)]
        mrz = parse_mrz("\n".join(lines[2:5]))
        device = open_device(f"pcsc://{READER}?profile=vpcd&csca={tmp_path}")
        assert isinstance(device, CardReader)
        try:
            device.expect(mrz)
            done = next_event(device, CardReadDone, timeout=10.0)
            assert isinstance(done, CardReadDone) and done.result.personal_number == mrz.personal_number
        finally:
            device.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_reader_lost_and_back_when_pcscd_restarts(
    pcscd: PcscDaemon, reader: CardReader, genuine: ChipFiles
) -> None:
    """The reader (or the PC/SC service) goes away: CARD_NO_READER is reported; when it is back, cards read again."""
    if not pcscd.owned:
        pytest.skip("pcscd was started outside this test session; it is not restarted here")
    health: list[HealthEvent] = []
    reader.subscribe(health.append)
    pcscd.stop()
    try:
        deadline = time.monotonic() + 5.0
        while not any(e.code is ErrorCode.CARD_NO_READER for e in health) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(e.code is ErrorCode.CARD_NO_READER for e in health), health
    finally:
        pcscd.start(READER)
    deadline = time.monotonic() + 5.0
    while reader.health.state is not DeviceState.READY and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader.health.state is DeviceState.READY
    reader.expect(parse_mrz(genuine.mrz))
    card = insert(genuine)
    try:
        assert isinstance(next_event(reader, CardReadDone), CardReadDone)
    finally:
        card.remove()
