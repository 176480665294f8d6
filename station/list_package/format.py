"""The package's bytes: ``MAGIC | u64 length | JSON content | Ed25519 signature (64 bytes)``.

The signature covers the magic, the length and the content, so a truncated file is caught by its length before the
signature is even checked, and any edited byte fails the signature (RFC 8032). Biometric data inside the content is
sealed per voter with AES-256-GCM, the associated data binding it to the election, station and personal number so a
sealed blob cannot be moved to another voter (NIST SP 800-38D).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.errors import ListPackageError
from station.signing import verify

MAGIC = b"SHAILOO-LIST\x00\x01"
#: Format version inside the content; a kit refuses versions it does not know. Version 2 adds ``gallery``: the
#: station's packed 1:N gallery (``native.Gallery.to_bytes``), sealed as one blob; version 1 packages (without it)
#: still load, and the kit then builds its gallery from the templates at start.
FORMAT_VERSION = 2
SUPPORTED_FORMATS = (1, 2)
SIGNATURE_BYTES = 64
_LEN = struct.Struct(">Q")


def seal_aad(election_id: str, station_id: str, personal_number: str) -> bytes:
    """Associated data of a voter's sealed biometrics."""
    return f"{election_id}|{station_id}|{personal_number}".encode()


def gallery_aad(election_id: str, station_id: str) -> bytes:
    """Associated data of the sealed packed gallery (binds it to the election and station, as the voters' blobs)."""
    return f"{election_id}|{station_id}|gallery".encode()


def pack(content: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """Serialise and sign ``content``."""
    body = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    signed = MAGIC + _LEN.pack(len(body)) + body
    return signed + key.sign(signed)


@dataclass(frozen=True)
class PackageContents:
    """A verified package: its header and the raw content (voters, national index, packed gallery if any)."""

    header: dict[str, Any]
    voters: list[dict[str, Any]]
    national_index: dict[str, list[str]]
    digest: str
    #: ``{format, parameters, templates, sealed}`` of the packed gallery; None in a version 1 package.
    gallery: dict[str, Any] | None = None


def open_package(data: bytes, cec_public: Ed25519PublicKey) -> PackageContents:
    """Check the frame and the CEC signature, then parse; every refusal names its cause."""
    import hashlib

    head = len(MAGIC) + _LEN.size
    if len(data) < head or not data.startswith(MAGIC):
        raise ListPackageError("this file is not a Shailoo station list package (wrong header): ask the CEC for it")
    (length,) = _LEN.unpack_from(data, len(MAGIC))
    expected = head + length + SIGNATURE_BYTES
    if len(data) < expected:
        raise ListPackageError(
            f"the list package is truncated ({len(data)} of {expected} bytes): copy it again from the CEC medium"
        )
    if len(data) > expected:
        raise ListPackageError("the list package has extra bytes after its signature: it was altered; do not load it")
    signed, signature = data[: head + length], data[head + length :]
    if not verify(cec_public, signature, signed):
        raise ListPackageError(
            "the list package's signature does not verify with the CEC key: it was altered or is not from the CEC; "
            "do not load it and call the territorial commission"
        )
    try:
        content = json.loads(signed[head:])
        header = content["header"]
        voters = content["voters"]
        index = content["national_index"]
        gallery = content.get("gallery")
    except (ValueError, KeyError, AttributeError) as exc:
        raise ListPackageError(f"the list package content is malformed: {exc}") from exc
    if header.get("format") not in SUPPORTED_FORMATS:
        raise ListPackageError(f"list package format {header.get('format')} is not supported by this kit: update it")
    if gallery is not None and not isinstance(gallery, dict):
        raise ListPackageError("the list package's gallery entry is malformed: ask the CEC for a new package")
    return PackageContents(header, voters, index, hashlib.sha256(data).hexdigest(), gallery)
