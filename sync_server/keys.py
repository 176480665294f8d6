"""The server's own keys: its CURVE pair (kits trust its public key) and the Ed25519 key that signs open data.

Both are created on first use in the keys folder, readable by the server's user only. Losing the CURVE secret means
re-provisioning every kit, so production keeps the folder on backed-up, encrypted storage.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from link.keys import KeyPair
from sync_server.errors import SettingsError

CURVE_FILE = "server-curve.json"
SIGNING_FILE = "opendata-ed25519.pem"


@dataclass(frozen=True)
class ServerKeys:
    """The CURVE pair of the ingest socket and the open-data signing key."""

    curve: KeyPair
    signing: Ed25519PrivateKey


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def ensure_server_keys(keys_dir: Path) -> ServerKeys:
    """Load the server's keys from ``keys_dir``, creating any that is missing."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    curve_path = keys_dir / CURVE_FILE
    if not curve_path.exists():
        pair = KeyPair.generate()
        # Another process (a CLI next to the running server) may have created it first.
        with contextlib.suppress(FileExistsError):
            _write_private(curve_path, json.dumps({"public": pair.public, "secret": pair.secret}).encode())
    signing_path = keys_dir / SIGNING_FILE
    if not signing_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        with contextlib.suppress(FileExistsError):
            _write_private(signing_path, pem)
    try:
        body = json.loads(curve_path.read_text())
        curve = KeyPair(public=body["public"], secret=body["secret"])
        signing = load_pem_private_key(signing_path.read_bytes(), password=None)
    except (OSError, ValueError, KeyError) as exc:
        raise SettingsError(f"the server keys in {keys_dir} are unreadable ({exc}); restore them from backup") from exc
    if not isinstance(signing, Ed25519PrivateKey):
        raise SettingsError(f"{signing_path} is not an Ed25519 key")
    return ServerKeys(curve=curve, signing=signing)
