"""The two CEC keys of a list package: the Ed25519 signing key and the AES-256 list key for biometric data.

The list key travels separately from the package (on the commission's key card or a separate channel), so a stolen
package alone reveals no photo or template.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.errors import ListPackageError
from station.signing import generate_key_file, load_key_file, public_from_hex, public_hex

#: AES-256-GCM key length in bytes (NIST SP 800-38D).
LIST_KEY_BYTES = 32


def generate_cec_keys(folder: Path) -> tuple[Path, Path, Path]:
    """Write ``cec-signing.key`` (0600), ``cec-public.hex`` and ``list.key`` (0600) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    signing = folder / "cec-signing.key"
    key = generate_key_file(signing)
    public = folder / "cec-public.hex"
    public.write_text(public_hex(key) + "\n", encoding="ascii")
    list_key = folder / "list.key"
    fd = os.open(list_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(os.urandom(LIST_KEY_BYTES).hex().encode() + b"\n")
    return signing, public, list_key


def load_cec_signing_key(path: Path) -> Ed25519PrivateKey:
    """The CEC's signing key (PEM)."""
    return load_key_file(path)


def load_cec_public(path: Path) -> Ed25519PublicKey:
    """The CEC's public key as the kit holds it (hex in a text file)."""
    try:
        return public_from_hex(path.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError) as exc:
        raise ListPackageError(f"cannot read the CEC public key {path}: {exc}") from exc


def load_list_key(path: Path) -> bytes:
    """The list key (64 hex digits in a text file)."""
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ListPackageError(f"cannot read the list key {path}: {exc}") from exc
    if len(key) != LIST_KEY_BYTES:
        raise ListPackageError(f"{path} is not a list key (expected {LIST_KEY_BYTES} bytes)")
    return key
