"""Personalising an emulated ID card: a card holder's data becomes LDS files and an EF.SOD signed by a TEST signer.

The PKI made here is for tests and training only: keys are generated at run time and never written to the
repository. Files follow ICAO 9303-10 §4.6-4.7; EF.SOD is a CMS SignedData over an LDSSecurityObject with SHA-256
hashes, signed with ECDSA P-256 by a Document Signer certificate that a test CSCA issued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
from dataclasses import dataclass, field, replace

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw

from station.devices.card import tlv
from station.devices.card.lds import DG1, DG2, DG11, DG15, EF_COM, EF_SOD, TAG_BY_DG
from station.devices.card.mrz import build_td1, check_digit
from station.devices.card.passive_auth import LDS_SECURITY_OBJECT_OID, LdsSecurityObject


@dataclass(frozen=True)
class TestPki:
    """A TEST Country Signing CA and a Document Signer it issued (run-time keys, never committed)."""

    __test__ = False  # not a pytest test class, despite its name

    csca_cert: x509.Certificate
    csca_key: ec.EllipticCurvePrivateKey
    ds_cert: x509.Certificate
    ds_key: ec.EllipticCurvePrivateKey

    def csca_pem(self) -> bytes:
        """The CSCA certificate as PEM, for a kit's trust-list folder."""
        return self.csca_cert.public_bytes(serialization.Encoding.PEM)


def _name(country: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Shailoo ID TEST PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_test_pki(country: str = "KG", label: str = "TEST", valid_days: int = 3650) -> TestPki:
    """A fresh CSCA (self-signed, CA) and Document Signer certificate; ``label`` tells two PKIs apart."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    csca_key = ec.generate_private_key(ec.SECP256R1())
    ds_key = ec.generate_private_key(ec.SECP256R1())
    csca_name = _name(country, f"{label} CSCA")
    csca_cert = (
        x509.CertificateBuilder()
        .subject_name(csca_name)
        .issuer_name(csca_name)
        .public_key(csca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(csca_key, hashes.SHA256())
    )
    ds_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(country, f"{label} Document Signer"))
        .issuer_name(csca_name)
        .public_key(ds_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .sign(csca_key, hashes.SHA256())
    )
    return TestPki(csca_cert, csca_key, ds_cert, ds_key)


def synthetic_face(width: int = 120, height: int = 160, seed: int = 0) -> bytes:
    """A small JPEG with a face-like drawing (not a real person), for DG2."""
    img = Image.new("L", (width, height), 200 - seed % 40)
    draw = ImageDraw.Draw(img)
    draw.ellipse((width * 0.2, height * 0.15, width * 0.8, height * 0.85), fill=150)
    for x in (0.38, 0.62):
        draw.ellipse((width * x - 6, height * 0.4 - 4, width * x + 6, height * 0.4 + 4), fill=40)
    draw.line((width * 0.4, height * 0.68, width * 0.6, height * 0.68), fill=60, width=3)
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class CardHolder:
    """The printed and chip data of one ID card (dates YYMMDD as in the MRZ)."""

    document_number: str = "AN1234567"
    birth_date: str = "900215"
    expiry_date: str = "340101"
    sex: str = "M"
    surname: str = "ASANOV"
    given_names: str = "BAKYT"
    personal_number: str = "21502199000123"
    full_name: str = "Асанов Бакыт"
    place_of_birth: str = "Каракол"
    address: str = "Каракол, Ленина 1"
    face_jpeg: bytes = field(default_factory=synthetic_face, repr=False)

    def mrz(self) -> str:
        """The TD1 MRZ printed on the card (three lines)."""
        return build_td1(
            document_number=self.document_number,
            birth_date=self.birth_date,
            expiry_date=self.expiry_date,
            sex=self.sex,
            surname=self.surname,
            given_names=self.given_names,
            personal_number=self.personal_number,
        )


@dataclass(frozen=True)
class ChipFiles:
    """A chip's elementary files by file identifier, and the MRZ whose keys open it."""

    files: dict[int, bytes]
    mrz: str
    #: The chip's Active Authentication key; it never leaves a genuine chip, so a clone has to bring its own.
    aa_key: ec.EllipticCurvePrivateKey | None = None

    def with_file(self, fid: int, data: bytes) -> ChipFiles:
        """A copy with one file replaced (the SOD is left as it was: that is how a forged chip looks)."""
        return replace(self, files={**self.files, fid: data})


def build_dg1(mrz: str) -> bytes:
    """DG1: 61 { 5F1F MRZ without line breaks }."""
    return tlv.encode(DG1.tag, tlv.encode(0x5F1F, mrz.replace("\n", "").encode("ascii")))


def build_face_record(jpeg: bytes, width: int, height: int) -> bytes:
    """An ISO/IEC 19794-5 facial record holding one JPEG (full frontal, no feature points)."""
    image_info = struct.pack(">BBHHBBHH", 1, 0, width, height, 1, 2, 0, 0)
    face_info_size = 20 + len(image_info) + len(jpeg)
    face_info = struct.pack(">IHBBB3sH3s3s", face_info_size, 0, 1, 0, 0, b"\x00\x00\x00", 0, bytes(3), bytes(3))
    body = face_info + image_info + jpeg
    return struct.pack(">4s4sIH", b"FAC\x00", b"010\x00", 14 + len(body), 1) + body


def build_dg2(jpeg: bytes) -> bytes:
    """DG2: 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E facial record } } }."""
    with Image.open(io.BytesIO(jpeg)) as img:
        width, height = img.size
    header = tlv.encode(0xA1, tlv.encode(0x80, b"\x01\x01") + tlv.encode(0x87, b"\x01\x01"))
    template = tlv.encode(0x7F60, header + tlv.encode(0x5F2E, build_face_record(jpeg, width, height)))
    return tlv.encode(DG2.tag, tlv.encode(0x7F61, tlv.encode(0x02, b"\x01") + template))


def build_dg11(holder: CardHolder) -> bytes:
    """DG11: 6B { 5C tag list, full name, personal number, full birth date, place of birth, address }."""
    century = "19" if int(holder.birth_date[:2]) > dt.date.today().year % 100 else "20"
    fields = [
        (0x5F0E, holder.full_name),
        (0x5F10, holder.personal_number),
        (0x5F2B, century + holder.birth_date),
        (0x5F11, holder.place_of_birth),
        (0x5F42, holder.address),
    ]
    tag_list = b"".join(tag.to_bytes(2, "big") for tag, _ in fields)
    body = tlv.encode(0x5C, tag_list) + b"".join(tlv.encode(tag, v.encode("utf-8")) for tag, v in fields)
    return tlv.encode(DG11.tag, body)


def build_com(groups: list[int]) -> bytes:
    """EF.COM for LDS 1.7, Unicode 4.0.0, listing ``groups``."""
    body = tlv.encode(0x5F01, b"0107") + tlv.encode(0x5F36, b"040000")
    body += tlv.encode(0x5C, bytes(TAG_BY_DG[n] for n in groups))
    return tlv.encode(EF_COM.tag, body)


def build_sod(groups: dict[int, bytes], pki: TestPki) -> bytes:
    """EF.SOD: 77 { CMS SignedData over the LDSSecurityObject with SHA-256 hashes of ``groups`` }."""
    lso = LdsSecurityObject(
        {
            "version": 0,
            "hash_algorithm": {"algorithm": "sha256"},
            "data_group_hash_values": [
                {"data_group_number": n, "data_group_hash_value": hashlib.sha256(data).digest()}
                for n, data in sorted(groups.items())
            ],
        }
    )
    content = lso.dump()
    attrs = cms.CMSAttributes(
        [
            {"type": "content_type", "values": [LDS_SECURITY_OBJECT_OID]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
        ]
    )
    signature = pki.ds_key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
    ds = asn1_x509.Certificate.load(pki.ds_cert.public_bytes(serialization.Encoding.DER))
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {"issuer_and_serial_number": {"issuer": ds.issuer, "serial_number": ds.serial_number}}
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attrs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": LDS_SECURITY_OBJECT_OID, "content": content},
            "certificates": [ds],
            "signer_infos": [signer],
        }
    )
    info = cms.ContentInfo({"content_type": "signed_data", "content": signed})
    return tlv.encode(EF_SOD.tag, info.dump())


def personalise(holder: CardHolder, pki: TestPki, active_authentication: bool = True) -> ChipFiles:
    """EF.COM, DG1, DG2, DG11, DG15 (Active Authentication key, ECDSA P-256) and EF.SOD of ``holder``'s card,
    signed by ``pki``'s Document Signer."""
    mrz = holder.mrz()
    groups = {1: build_dg1(mrz), 2: build_dg2(holder.face_jpeg), 11: build_dg11(holder)}
    aa_key = None
    if active_authentication:
        aa_key = ec.generate_private_key(ec.SECP256R1())
        spki = aa_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        groups[15] = tlv.encode(DG15.tag, spki)
    files = {DG1.fid: groups[1], DG2.fid: groups[2], DG11.fid: groups[11]}
    if 15 in groups:
        files[DG15.fid] = groups[15]
    files[EF_COM.fid] = build_com(sorted(groups))
    files[EF_SOD.fid] = build_sod(groups, pki)
    return ChipFiles(files, mrz, aa_key)


def clone(card: ChipFiles) -> ChipFiles:
    """A byte-for-byte copy of every readable file on a new chip: the Active Authentication key cannot be read out,
    so the cloner's chip signs with a key of its own."""
    return replace(card, aa_key=ec.generate_private_key(ec.SECP256R1()))


def forge_personal_number(card: ChipFiles, personal_number: str) -> ChipFiles:
    """A cloned chip with DG1 altered to another personal number, keeping the original EF.SOD."""
    lines = card.mrz.split("\n")
    l1 = lines[0][:15] + personal_number.ljust(15, "<")[:15]
    # The composite check digit is recomputed, as a careful forger would, so that the MRZ itself still parses.
    l2 = lines[1][:29] + check_digit(l1[5:30] + lines[1][0:7] + lines[1][8:15] + lines[1][18:29])
    forged = "\n".join([l1, l2, lines[2]])
    return card.with_file(DG1.fid, build_dg1(forged))
