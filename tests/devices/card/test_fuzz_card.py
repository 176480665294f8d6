"""Fuzzed and malformed chip answers: the driver ends every read with a CardError, never another exception or a hang."""

from __future__ import annotations

import contextlib
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.card.chip import EmrtdChip
from emulators.card.personalisation import ChipFiles, TestPki
from station.devices.card import lds, tlv
from station.devices.card.emrtd import read_document
from station.devices.card.errors import CardError
from station.devices.card.mrz import parse_mrz
from station.devices.card.passive_auth import TrustStore, parse_sod


@settings(max_examples=200)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=40))
def test_random_answers_never_crash_the_reader(answers: list[bytes]) -> None:
    """Any sequence of answers (too short, no status word, random TLV) gives a CardError."""
    feed = iter(answers)

    def transmit(_: bytes) -> bytes:
        return next(feed, b"\x6f\x00")

    mrz = parse_mrz("I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<")
    with contextlib.suppress(CardError):
        read_document(transmit, mrz, TrustStore([]), timeout_s=2.0)


@settings(max_examples=150)
@given(data=st.data())
def test_corrupted_chip_answers_after_bac_never_crash(data: st.DataObject, genuine: ChipFiles, pki: TestPki) -> None:
    """A genuine chip whose answers are corrupted one byte at a time, after BAC, under secure messaging."""
    chip = EmrtdChip(genuine)
    target = data.draw(st.integers(3, 30), label="apdu to corrupt")
    mode = data.draw(st.sampled_from(["flip", "truncate", "extend"]), label="mode")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = random.Random(seed)
    count = 0

    def transmit(command: bytes) -> bytes:
        nonlocal count
        count += 1
        answer = chip.process(command)
        if count != target:
            return answer
        if mode == "flip" and answer:
            i = rng.randrange(len(answer))
            return answer[:i] + bytes([answer[i] ^ (1 << rng.randrange(8))]) + answer[i + 1 :]
        if mode == "truncate":
            return answer[: rng.randrange(len(answer) + 1)]
        return answer + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))

    with contextlib.suppress(CardError):
        read_document(transmit, parse_mrz(genuine.mrz), TrustStore([pki.csca_cert]), timeout_s=2.0)


@settings(max_examples=300)
@given(st.binary(max_size=400))
def test_random_files_never_crash_the_parsers(blob: bytes) -> None:
    for parse in (lds.parse_com, lds.parse_dg1, lds.parse_dg2, lds.parse_dg11, parse_sod, tlv.decode):
        with contextlib.suppress(CardError):
            parse(blob)


@settings(max_examples=200)
@given(position=st.integers(0, 10_000), value=st.integers(0, 255))
def test_mutated_sod_is_refused_or_still_valid(position: int, value: int, genuine: ChipFiles, pki: TestPki) -> None:
    """One changed byte anywhere in EF.SOD: either the SOD is refused, or (for a byte DER ignores) it still verifies."""
    sod = bytearray(genuine.files[lds.EF_SOD.fid])
    position %= len(sod)
    sod[position] = value
    with contextlib.suppress(CardError):
        TrustStore([pki.csca_cert]).verify(bytes(sod), {1: genuine.files[lds.DG1.fid]})


@settings(max_examples=60)
@given(reads=st.lists(st.tuples(st.sampled_from([0x011E, 0x0101, 0x0102, 0x010B, 0x011D]), st.integers(0, 1500),
                                st.integers(1, 0xDF)), min_size=1, max_size=12))
def test_secure_messaging_reads_return_the_file_bytes(
    reads: list[tuple[int, int, int]], genuine: ChipFiles
) -> None:
    """Any sequence of protected SELECT / READ BINARY gives exactly the file's bytes (the counter stays in step)."""
    from station.devices.card import apdu
    from station.devices.card.emrtd import ChipSession

    chip = EmrtdChip(genuine)
    session = ChipSession(chip.process)
    session.select_application()
    session.authenticate(parse_mrz(genuine.mrz))
    for fid, offset, length in reads:
        content = genuine.files[fid]
        session.secure(apdu.select_file(fid), "selecting")
        if offset >= len(content):
            with contextlib.suppress(CardError):
                session.secure(apdu.read_binary(offset, length), "reading past the end")
            return  # the chip answered 6B00; a real terminal would start a new session
        assert session.secure(apdu.read_binary(offset, length), "reading").data == content[offset : offset + length]
