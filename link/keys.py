"""CURVE key pairs of the link (ZeroMQ RFC 26 CurveZMQ; keys are Z85 text, RFC 32).

Every kit has its own key pair, generated when the kit is provisioned at the CEC; the CEC registers the public key with
the kit's (station, kit) and hands the kit a key file holding its own pair and the server's public key. A kit key
file is a secret: whoever holds it can speak as that kit until the CEC revokes it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import zmq

from link.errors import LinkError

#: Format tag of the kit key file, checked on load so a wrong file is refused with a clear message.
KEY_FILE_FORMAT = "shailoo-kit-keys/1"
#: Z85 encodes 32 bytes as 40 characters.
Z85_KEY_CHARS = 40


class KeyFileError(LinkError):
    """A key file is missing, unreadable or not a Shailoo kit key file."""


@dataclass(frozen=True)
class KeyPair:
    """A CURVE key pair, Z85 text."""

    public: str
    secret: str

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh key pair from the operating system's random source (libsodium inside libzmq)."""
        public, secret = zmq.curve_keypair()
        return cls(public=public.decode("ascii"), secret=secret.decode("ascii"))


@dataclass(frozen=True)
class KitKeys:
    """What a kit needs to open its link: its identity, its own key pair and the CEC server's public key."""

    station_id: str
    kit_id: str
    public: str
    secret: str
    server_public: str
    #: Training kits' keys are refused by the server during the real election.
    training: bool = False

    def save(self, path: Path) -> None:
        """Write the key file readable by its owner only (0600)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"format": KEY_FILE_FORMAT, **asdict(self)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(body, handle, indent=2)

    @classmethod
    def load(cls, path: Path) -> KitKeys:
        """Read and check a kit key file."""
        try:
            body = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise KeyFileError(f"kit key file {path} not found: provision the kit at the CEC first") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise KeyFileError(f"kit key file {path} is unreadable: {exc}") from exc
        if not isinstance(body, dict) or body.get("format") != KEY_FILE_FORMAT:
            raise KeyFileError(f"{path} is not a Shailoo kit key file (expected format {KEY_FILE_FORMAT})")
        try:
            keys = cls(
                station_id=str(body["station_id"]),
                kit_id=str(body["kit_id"]),
                public=str(body["public"]),
                secret=str(body["secret"]),
                server_public=str(body["server_public"]),
                training=bool(body.get("training", False)),
            )
        except KeyError as exc:
            raise KeyFileError(f"kit key file {path} lacks {exc}") from exc
        for name in ("public", "secret", "server_public"):
            if len(getattr(keys, name)) != Z85_KEY_CHARS:
                raise KeyFileError(f"kit key file {path}: {name} is not a {Z85_KEY_CHARS}-character Z85 key")
        return keys


def apply_client_keys(socket: zmq.Socket[bytes], keys: KitKeys) -> None:
    """Make ``socket`` a CURVE client with the kit's pair, trusting only the CEC's public key."""
    socket.curve_secretkey = keys.secret.encode("ascii")
    socket.curve_publickey = keys.public.encode("ascii")
    socket.curve_serverkey = keys.server_public.encode("ascii")
