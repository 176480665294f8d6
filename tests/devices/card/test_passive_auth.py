"""Passive authentication and the chip-reading recipe in-process (the emulator's APDU handler as the transport)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from emulators.card.chip import ChipFaults, EmrtdChip
from emulators.card.personalisation import (
    CardHolder,
    ChipFiles,
    TestPki,
    build_dg11,
    forge_personal_number,
    personalise,
)
from station.devices.card import lds
from station.devices.card.emrtd import read_document
from station.devices.card.errors import CardAuthError, LdsError, PassiveAuthError, SecureMessagingError
from station.devices.card.mrz import mrz_from_fields, parse_mrz
from station.devices.card.passive_auth import TrustStore, parse_sod


def groups_of(card: ChipFiles, *numbers: int) -> dict[int, bytes]:
    fids = {1: lds.DG1.fid, 2: lds.DG2.fid, 11: lds.DG11.fid}
    return {n: card.files[fids[n]] for n in numbers}


def test_genuine_chip_passes(genuine: ChipFiles, pki: TestPki) -> None:
    result = TrustStore([pki.csca_cert]).verify(genuine.files[lds.EF_SOD.fid], groups_of(genuine, 1, 2, 11))
    assert result.checked_groups == (1, 2, 11) and "TEST Document Signer" in result.document_signer


def test_sod_lists_the_chip_hashes(genuine: ChipFiles) -> None:
    sod = parse_sod(genuine.files[lds.EF_SOD.fid])
    assert sod.hash_algorithm == "sha256" and set(sod.hashes) == {1, 2, 11, 15}


def test_altered_data_groups_are_refused(genuine: ChipFiles, pki: TestPki, holder: CardHolder) -> None:
    trust = TrustStore([pki.csca_cert])
    forged = forge_personal_number(genuine, "99999999999999")
    with pytest.raises(PassiveAuthError, match="DG1 does not match"):
        trust.verify(forged.files[lds.EF_SOD.fid], groups_of(forged, 1))
    other = CardHolder(address="Бишкек, Чуй 1", face_jpeg=holder.face_jpeg)
    with pytest.raises(PassiveAuthError, match="DG11 does not match"):
        trust.verify(genuine.files[lds.EF_SOD.fid], {11: build_dg11(other)})
    with pytest.raises(PassiveAuthError, match="no hash"):
        trust.verify(genuine.files[lds.EF_SOD.fid], {3: b"\x63\x00"})


def test_foreign_signer_and_expired_certificates_are_refused(
    holder: CardHolder, pki: TestPki, foreign_pki: TestPki
) -> None:
    foreign = personalise(holder, foreign_pki)
    trust = TrustStore([pki.csca_cert])
    with pytest.raises(PassiveAuthError, match="not issued by any CSCA"):
        trust.verify(foreign.files[lds.EF_SOD.fid], groups_of(foreign, 1))
    genuine = personalise(holder, pki)
    late = dt.datetime.now(dt.UTC) + dt.timedelta(days=4000)
    with pytest.raises(PassiveAuthError, match="not valid"):
        trust.verify(genuine.files[lds.EF_SOD.fid], groups_of(genuine, 1), when=late)


def test_tampered_signature_is_refused(genuine: ChipFiles, pki: TestPki) -> None:
    sod = bytearray(genuine.files[lds.EF_SOD.fid])
    digest_at = sod.find(parse_sod(bytes(sod)).message_digest)
    sod[digest_at] ^= 0x01  # change the signed message digest: signature and digest checks must fail
    with pytest.raises(PassiveAuthError):
        TrustStore([pki.csca_cert]).verify(bytes(sod), groups_of(genuine, 1))


def test_trust_store_from_folder(tmp_path: Path, pki: TestPki) -> None:
    (tmp_path / "kg.pem").write_bytes(pki.csca_pem())
    (tmp_path / "kg2.der").write_bytes(pki.csca_cert.public_bytes(serialization.Encoding.DER))
    (tmp_path / "README.txt").write_text("ignored")
    assert len(TrustStore.from_folder(tmp_path).certificates) == 2
    (tmp_path / "bad.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(PassiveAuthError, match="bad.pem"):
        TrustStore.from_folder(tmp_path)
    with pytest.raises(PassiveAuthError, match="does not exist"):
        TrustStore.from_folder(tmp_path / "missing")


def test_read_document_in_process(genuine: ChipFiles, pki: TestPki, holder: CardHolder) -> None:
    chip = EmrtdChip(genuine)
    result = read_document(chip.process, parse_mrz(genuine.mrz), TrustStore([pki.csca_cert]))
    assert result.personal_number == holder.personal_number
    assert result.face is not None and result.face.image == holder.face_jpeg
    assert list(result.timings_ms) == ["bac", "dg1", "data_groups", "passive_auth", "active_auth"]
    assert result.chip_authentication == "ecdsa"


def test_large_face_is_read_in_chunks(holder: CardHolder, pki: TestPki) -> None:
    big = CardHolder(face_jpeg=holder.face_jpeg + bytes(20000))  # a 20 KB DG2, like a real card's
    card = personalise(big, pki)
    result = read_document(EmrtdChip(card).process, parse_mrz(card.mrz), TrustStore([pki.csca_cert]))
    assert result.face is not None and len(result.face.image) == len(big.face_jpeg)


def test_chip_refuses_wrong_keys_and_unauthenticated_reads(genuine: ChipFiles, pki: TestPki) -> None:
    chip = EmrtdChip(genuine, ChipFaults(wrong_key_sw=0x6982))
    with pytest.raises(CardAuthError, match="6982"):
        read_document(chip.process, mrz_from_fields("AN1234567", "900215", "340102"), TrustStore([pki.csca_cert]))
    assert chip.process(bytes.fromhex("00A4040C07A0000002471001")) == b"\x90\x00"
    assert chip.process(bytes.fromhex("00A4020C020101")) == b"\x69\x82"  # files need BAC
    assert chip.process(bytes.fromhex("00B0000004")) == b"\x69\x82"


def test_response_mac_fault_is_detected(genuine: ChipFiles, pki: TestPki) -> None:
    chip = EmrtdChip(genuine, ChipFaults(corrupt_response_mac=True))
    with pytest.raises(SecureMessagingError, match="MAC"):
        read_document(chip.process, parse_mrz(genuine.mrz), TrustStore([pki.csca_cert]))


def test_lds_parsers_refuse_malformed_files(genuine: ChipFiles) -> None:
    assert lds.parse_com(genuine.files[lds.EF_COM.fid]).data_groups == (1, 2, 11, 15)
    for parse, data in (
        (lds.parse_dg1, b"\x61\x03\x5f\x1f\x00"),
        (lds.parse_dg1, b"\x61\x05\x5f\x1f\x02AB"),
        (lds.parse_com, b"\x60\x00"),
        (lds.parse_dg2, b"\x75\x02\x7f\x61"),
        (lds.parse_dg11, b"\x6b\x04\x5f\x0e\x02\xff\xfe"),
        (lds.parse_dg1, genuine.files[lds.DG2.fid]),
    ):
        with pytest.raises(LdsError):
            parse(data)


def test_cloned_chip_fails_active_authentication(genuine: ChipFiles, pki: TestPki) -> None:
    """Every file copied, EF.SOD still valid: only the chip's own key can answer the challenge."""
    from emulators.card.personalisation import clone
    from station.devices.card.errors import CloneError

    copy = clone(genuine)
    with pytest.raises(CloneError, match="clone"):
        read_document(EmrtdChip(copy).process, parse_mrz(copy.mrz), TrustStore([pki.csca_cert]))


def test_chip_without_dg15_reads_without_active_authentication(holder: CardHolder, pki: TestPki) -> None:
    card = personalise(holder, pki, active_authentication=False)
    result = read_document(EmrtdChip(card).process, parse_mrz(card.mrz), TrustStore([pki.csca_cert]))
    assert result.chip_authentication == "absent" and result.authentication.checked_groups == (1, 2, 11)


def test_rsa_active_authentication_iso9796_2() -> None:
    """An RSA chip's answer per ISO/IEC 9796-2 scheme 1 (SHA-1 trailer BC, and SHA-256 trailer 34CC)."""
    import hashlib
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from station.devices.card import active_auth
    from station.devices.card.errors import CloneError

    key = rsa.generate_private_key(65537, 1024)
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    challenge = os.urandom(8)
    for name, trailer in (("sha1", b"\xbc"), ("sha256", b"\x34\xcc")):
        size = hashlib.new(name).digest_size
        m1 = os.urandom(128 - 1 - size - len(trailer))
        representative = b"\x6a" + m1 + hashlib.new(name, m1 + challenge).digest() + trailer
        signature = pow(int.from_bytes(representative, "big"), d, n).to_bytes(128, "big")
        assert active_auth.verify(spki, challenge, signature) == "rsa"
        with pytest.raises(CloneError):
            active_auth.verify(spki, bytes(8), signature)


def test_signer_chain_roles_are_checked(holder: CardHolder) -> None:
    """A trusted certificate that is not a CA cannot vouch for a Document Signer."""

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    from emulators.card.personalisation import make_test_pki

    pki = make_test_pki(label="ROLES")
    not_ca = (
        x509.CertificateBuilder()
        .subject_name(pki.csca_cert.subject)
        .issuer_name(pki.csca_cert.subject)
        .public_key(pki.csca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.csca_cert.not_valid_before_utc)
        .not_valid_after(pki.csca_cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(pki.csca_key, hashes.SHA256())
    )
    card = personalise(holder, pki)
    with pytest.raises(PassiveAuthError, match="not a CA"):
        TrustStore([not_ca]).verify(card.files[lds.EF_SOD.fid], groups_of(card, 1))
    assert TrustStore([pki.csca_cert]).verify(card.files[lds.EF_SOD.fid], groups_of(card, 1))
