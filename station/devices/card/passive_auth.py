"""Passive authentication, ICAO 9303-11 §5.1 and 9303-10 §4.6.2: EF.SOD's hashes, its signature and its signer.

EF.SOD is a CMS SignedData (RFC 5652) whose content is the LDSSecurityObject: a hash of every data group. The chip is
genuine only if (1) every data group read hashes to the value in the LDSSecurityObject, (2) the signed attributes
carry the digest of that content and are signed by the Document Signer (DS) certificate, and (3) the DS certificate
is issued by a Country Signing CA (CSCA) in the kit's configured trust list and both are valid today. A cloned chip
with altered data fails (1); a chip signed by anybody else fails (3).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from station.devices.card import tlv
from station.devices.card.errors import PassiveAuthError
from station.devices.card.lds import EF_SOD

#: id-icao-mrtd-security-ldsSecurityObject (ICAO 9303-10 §4.6.2.2).
LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"


class DataGroupHash(core.Sequence):
    """One data group's number and hash."""

    _fields = [("data_group_number", core.Integer), ("data_group_hash_value", core.OctetString)]


class DataGroupHashValues(core.SequenceOf):
    """The hashes of every data group on the chip."""

    _child_spec = DataGroupHash


class LdsVersionInfo(core.Sequence):
    """LDS and Unicode versions (LDSSecurityObject version 1 only)."""

    _fields = [("lds_version", core.PrintableString), ("unicode_version", core.PrintableString)]


class LdsSecurityObject(core.Sequence):
    """ICAO 9303-10 §4.6.2.2 LDSSecurityObject."""

    _fields = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LdsVersionInfo, {"optional": True}),
    ]


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _hash(name: str, data: bytes) -> bytes:
    if name not in _HASHES:
        raise PassiveAuthError(f"EF.SOD uses hash algorithm {name!r}, which the kit does not accept")
    return hashlib.new(name, data).digest()


@dataclass(frozen=True)
class SecurityObject:
    """What EF.SOD holds, parsed but not yet trusted."""

    hash_algorithm: str
    hashes: dict[int, bytes]
    content: bytes
    digest_algorithm: str
    signed_attrs: bytes  # DER with the SET OF tag, as signed
    message_digest: bytes
    signature: bytes
    signature_algorithm: str
    pss_salt: int | None
    signer: x509.Certificate


def parse_sod(data: bytes) -> SecurityObject:
    """Parse EF.SOD (tag 77 around a CMS ContentInfo); anything malformed raises :class:`PassiveAuthError`."""
    try:
        return _parse_sod(tlv.decode_one(data, EF_SOD.tag))
    except PassiveAuthError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError/TypeError/KeyError on hostile DER: all mean "broken"
        raise PassiveAuthError(f"EF.SOD does not parse ({type(exc).__name__}: {exc}); the chip is refused") from exc


def _parse_sod(der: bytes) -> SecurityObject:
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise PassiveAuthError("EF.SOD is not a CMS SignedData")
    signed = info["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].dotted != LDS_SECURITY_OBJECT_OID:
        raise PassiveAuthError(f"EF.SOD content type is {encap['content_type'].dotted}, not an LDS security object")
    content = encap["content"].native
    if not isinstance(content, bytes):
        raise PassiveAuthError("EF.SOD carries no LDS security object")
    lso = LdsSecurityObject.load(content, strict=True)
    hash_algorithm = lso["hash_algorithm"]["algorithm"].native
    hashes_by_dg: dict[int, bytes] = {}
    for item in lso["data_group_hash_values"]:
        number = int(item["data_group_number"].native)
        if not 1 <= number <= 16 or number in hashes_by_dg:
            raise PassiveAuthError(f"EF.SOD lists data group {number} twice or out of range")
        hashes_by_dg[number] = bytes(item["data_group_hash_value"].native)

    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise PassiveAuthError(f"EF.SOD has {len(signer_infos)} signers; exactly one is expected")
    signer_info = signer_infos[0]
    attrs = signer_info["signed_attrs"]
    if not attrs.native:
        raise PassiveAuthError("EF.SOD has no signed attributes")
    message_digest = b""
    content_type_ok = False
    for attr in attrs:
        kind = attr["type"].native
        if kind == "message_digest":
            message_digest = bytes(attr["values"][0].native)
        elif kind == "content_type":
            content_type_ok = attr["values"][0].dotted == LDS_SECURITY_OBJECT_OID
    if not message_digest or not content_type_ok:
        raise PassiveAuthError("EF.SOD's signed attributes lack the message digest or the content type")
    signed_attrs = b"\x31" + attrs.dump()[1:]  # RFC 5652 §5.4: the signature covers the attributes as a SET OF

    certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    sid = signer_info["sid"]
    match = None
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            # Serial first, then the issuer's DER bytes; asn1crypto's normalising Name comparison (slow) only when
            # the bytes differ.
            issuer = sid.chosen["issuer"]
            if cert.serial_number == sid.chosen["serial_number"].native and (
                cert.issuer.dump() == issuer.dump() or cert.issuer == issuer
            ):
                match = cert
        elif cert.key_identifier == sid.chosen.native:
            match = cert
    if match is None:
        raise PassiveAuthError("EF.SOD does not carry its Document Signer certificate")
    sig_alg = signer_info["signature_algorithm"]
    pss_salt = None
    if sig_alg.signature_algo == "rsassa_pss":
        pss_salt = int(sig_alg["parameters"]["salt_length"].native)
    return SecurityObject(
        hash_algorithm=hash_algorithm,
        hashes=hashes_by_dg,
        content=content,
        digest_algorithm=signer_info["digest_algorithm"]["algorithm"].native,
        signed_attrs=signed_attrs,
        message_digest=message_digest,
        signature=bytes(signer_info["signature"].native),
        signature_algorithm=sig_alg.signature_algo,
        pss_salt=pss_salt,
        signer=x509.load_der_x509_certificate(match.dump()),
    )


@dataclass(frozen=True)
class PassiveAuthResult:
    """A chip that passed: which data groups were checked, and who signed it."""

    checked_groups: tuple[int, ...]
    document_signer: str
    csca: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _valid_at(cert: x509.Certificate, when: dt.datetime, role: str) -> None:
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        raise PassiveAuthError(
            f"the {role} certificate ({cert.subject.rfc4514_string()}) is not valid on {when:%Y-%m-%d}"
        )


def _check_roles(ds: x509.Certificate, csca: x509.Certificate) -> None:
    """RFC 5280 roles (ICAO 9303-12 §7.1): the CSCA is a CA that may sign certificates; the Document Signer's key
    is for digital signatures and it is not itself a CA."""
    try:
        constraints = csca.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise PassiveAuthError("the trusted CSCA certificate lacks basic constraints; replace it") from None
    if not constraints.ca:
        raise PassiveAuthError("the trusted 'CSCA' certificate is not a CA certificate; replace it")
    try:
        usage = ds.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise PassiveAuthError("the Document Signer certificate does not allow digital signatures")
    except x509.ExtensionNotFound:
        pass  # ICAO 9303-12 requires KeyUsage, but older DS certificates omit it; the chain and dates still hold
    try:
        if ds.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise PassiveAuthError("the Document Signer certificate claims to be a CA: the chip is refused")
    except x509.ExtensionNotFound:
        pass


def _verify_signature(sod: SecurityObject) -> None:
    key = sod.signer.public_key()
    digest = _HASHES.get(sod.digest_algorithm)
    if digest is None:
        raise PassiveAuthError(f"EF.SOD signature uses digest {sod.digest_algorithm!r}, which is not accepted")
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sod.signature, sod.signed_attrs, ec.ECDSA(digest()))
        elif isinstance(key, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding
            if sod.signature_algorithm == "rsassa_pss":
                pad = padding.PSS(padding.MGF1(digest()), sod.pss_salt or padding.PSS.AUTO)
            else:
                pad = padding.PKCS1v15()
            key.verify(sod.signature, sod.signed_attrs, pad, digest())
        else:
            raise PassiveAuthError("the Document Signer key type is not accepted (RSA or ECDSA expected)")
    except InvalidSignature:
        raise PassiveAuthError(
            "EF.SOD's signature does not verify with its Document Signer certificate: the chip is refused"
        ) from None


class TrustStore:
    """The configured Country Signing CA certificates that the kit accepts."""

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self.certificates = list(certificates)

    @classmethod
    def from_folder(cls, folder: Path) -> TrustStore:
        """Every ``*.pem``, ``*.crt``, ``*.cer`` or ``*.der`` certificate in ``folder``."""
        if not folder.is_dir():
            raise PassiveAuthError(
                f"the CSCA trust-list folder {folder} does not exist; install the CEC's CSCA certificates there"
            )
        certs: list[x509.Certificate] = []
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in (".pem", ".crt", ".cer", ".der"):
                continue
            raw = path.read_bytes()
            try:
                if b"-----BEGIN" in raw:
                    certs.extend(x509.load_pem_x509_certificates(raw))
                else:
                    certs.append(x509.load_der_x509_certificate(raw))
            except ValueError as exc:
                raise PassiveAuthError(f"trust-list file {path} is not a certificate ({exc}); replace it") from exc
        if not certs:
            raise PassiveAuthError(f"the CSCA trust-list folder {folder} holds no certificates")
        return cls(certs)

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate:
        """The trusted CSCA that issued ``cert`` (name and signature checked), or :class:`PassiveAuthError`."""
        for csca in self.certificates:
            if csca.subject != cert.issuer:
                continue
            try:
                cert.verify_directly_issued_by(csca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return csca
        raise PassiveAuthError(
            f"the Document Signer {cert.subject.rfc4514_string()} is not issued by any CSCA in the trust list:"
            " the chip is refused (a foreign or forged signer)"
        )

    def verify(
        self, sod_bytes: bytes, data_groups: Mapping[int, bytes], when: dt.datetime | None = None
    ) -> PassiveAuthResult:
        """Passive authentication of the data groups read from one chip; raises :class:`PassiveAuthError`."""
        try:
            return self._verify(sod_bytes, data_groups, when or _now())
        except (ValueError, TypeError, KeyError, IndexError, UnsupportedAlgorithm) as exc:
            # cryptography parses certificate fields lazily: hostile DER can surface here rather than in parse_sod.
            raise PassiveAuthError(
                f"EF.SOD or its certificate is malformed ({type(exc).__name__}: {exc}); the chip is refused"
            ) from exc

    def _verify(self, sod_bytes: bytes, data_groups: Mapping[int, bytes], when: dt.datetime) -> PassiveAuthResult:
        sod = parse_sod(sod_bytes)
        for number, data in sorted(data_groups.items()):
            expected = sod.hashes.get(number)
            if expected is None:
                raise PassiveAuthError(f"DG{number} was read but EF.SOD has no hash for it: the chip is refused")
            if _hash(sod.hash_algorithm, data) != expected:
                raise PassiveAuthError(f"DG{number} does not match its hash in EF.SOD: the chip's data was altered")
        if _hash(sod.digest_algorithm, sod.content) != sod.message_digest:
            raise PassiveAuthError("EF.SOD's message digest does not match its content: the chip is refused")
        _verify_signature(sod)
        csca = self.issuer_of(sod.signer)
        _valid_at(sod.signer, when, "Document Signer")
        _valid_at(csca, when, "CSCA")
        _check_roles(sod.signer, csca)
        return PassiveAuthResult(
            tuple(sorted(data_groups)), sod.signer.subject.rfc4514_string(), csca.subject.rfc4514_string()
        )
