"""The kit's Ed25519 signing key: made at ``shailoo station init``, kept in a file only its owner can read.

The key signs every audit-log entry and every receipt, so an observer holding the public key (printed on the opening
receipt and registered with the CEC) can tell a genuine log or receipt from an edited one (RFC 8032 Ed25519).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.errors import SigningKeyError

#: Owner read/write only: the key is the kit's identity in the audit log.
KEY_FILE_MODE = 0o600


def key_path_for(db_path: Path) -> Path:
    """Where the signing key of the store at ``db_path`` lives by default (beside it)."""
    return db_path.with_name(db_path.name + ".signing.key")


def generate_key_file(path: Path) -> Ed25519PrivateKey:
    """Make a fresh key and write it (PKCS#8 PEM) to ``path`` with 0600 permissions; never overwrites."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: an existing key is the kit's identity; replacing it silently would orphan the signed log.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def load_key_file(path: Path) -> Ed25519PrivateKey:
    """Read the kit's signing key; a clear error when it is missing or not an Ed25519 key."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise SigningKeyError(f"the kit's signing key {path} is missing: run 'shailoo station init' on this kit") from exc
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"the kit's signing key {path} cannot be read: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return key


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw 32-byte public key as hex (how receipts and the CEC name a kit's key)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_from_hex(text: str) -> Ed25519PublicKey:
    """Parse a hex public key (64 hex digits)."""
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError as exc:
        raise SigningKeyError(f"not an Ed25519 public key: {text!r}") from exc


def verify(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is ``public``'s signature of ``data``."""
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True
