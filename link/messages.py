"""Versioned messages between a kit and the CEC server.

Every message is one JSON object (UTF-8) carrying its protocol version, its type, and the (station, kit, sequence)
triple that makes ingest idempotent: the server stores each triple at most once and acknowledges it after its own
commit ("write before acknowledge", the Titanic pattern of the ZeroMQ guide).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from link.errors import MessageError

#: Wire protocol version; a receiver refuses versions it does not know rather than guessing.
PROTOCOL_VERSION = 1
#: Largest message accepted, in bytes. An identification event is about 300 bytes; heartbeats with device health
#: stay under 4 KiB. Anything larger is refused before parsing so one broken kit cannot exhaust the server.
MAX_MESSAGE_BYTES = 16 * 1024

#: How a voter was identified. ``biometric``: finger (1:1 after a card, or 1:N alone); ``card``: chip read and
#: photo confirmed without a usable finger; ``manual``: typed personal number, reason-coded and two-person confirmed.
IDENTIFICATION_PATHS = ("biometric", "card", "manual")
SEXES = ("F", "M")

#: Station, kit and election identifiers: short, printable, safe in file names and URLs.
_IDENT_RE = re.compile(r"[0-9A-Za-z_.-]+")


@dataclass(frozen=True)
class IdentificationEvent:
    """One voter identified at one kit: what the CEC counts as turnout.

    ``voter_ref`` is a pseudonym (a keyed hash of the personal number per election) so the CEC can find the same
    person at two stations without receiving personal numbers.
    """

    election_id: str
    station_id: str
    kit_id: str
    seq: int
    voter_ref: str
    sex: str
    birth_year: int
    path: str
    identified_at: datetime
    training: bool = False
    #: Why the fingerprint was not used on the ``manual`` path (the kit's reason code), empty otherwise.
    fallback_reason: str = ""
    #: A supervisor overrode an "already voted" refusal for this voter (flagged for audit at the CEC).
    override: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent on the wire (fields listed by hand: ``asdict`` is slow on the server's hot path)."""
        return {
            "v": PROTOCOL_VERSION, "type": "identification", "election_id": self.election_id,
            "station_id": self.station_id, "kit_id": self.kit_id, "seq": self.seq, "voter_ref": self.voter_ref,
            "sex": self.sex, "birth_year": self.birth_year, "path": self.path,
            "identified_at": self.identified_at.isoformat(), "training": self.training,
            "fallback_reason": self.fallback_reason, "override": self.override,
        }


@dataclass(frozen=True)
class Ack:
    """The server has committed (station, kit, seq); the kit may mark its outbox entry delivered."""

    station_id: str
    kit_id: str
    seq: int

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent on the wire."""
        return {"v": PROTOCOL_VERSION, "type": "ack", "station_id": self.station_id, "kit_id": self.kit_id,
                "seq": self.seq}


#: Device states a heartbeat may report, after the MOSIP device interface (ready / busy / not ready / not registered)
#: plus the link's own view.
DEVICE_STATES = ("ready", "busy", "not_ready", "not_registered", "absent", "error")
#: Devices per heartbeat: a kit has a scanner, a card reader, a printer, and a few spares at most.
MAX_DEVICES = 16


@dataclass(frozen=True)
class Heartbeat:
    """A kit is alive: its device health and the size of its outbox, sent every few seconds outside the outbox.

    Heartbeats are not acknowledged and not stored in the outbox: a lost one is replaced by the next.
    """

    station_id: str
    kit_id: str
    sent_at: datetime
    #: device name -> state, e.g. {"scanner": "ready", "printer": "not_ready"}.
    devices: dict[str, str]
    #: Outbox entries not yet acknowledged by the CEC.
    pending: int = 0
    paper_low: bool = False

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent on the wire."""
        body = asdict(self)
        body["sent_at"] = self.sent_at.isoformat()
        return {"v": PROTOCOL_VERSION, "type": "heartbeat", **body}


Message = IdentificationEvent | Ack | Heartbeat


def encode(message: Message) -> bytes:
    """Serialise a message to bytes for one ZeroMQ frame."""
    return json.dumps(message.to_wire(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_ack(station_id: str, kit_id: str, seq: int) -> bytes:
    """``encode(Ack(station_id, kit_id, seq))`` without building the dict: the server sends one per identification.

    Station and kit ids are validated identifiers (letters, digits, ``._-``), which JSON writes unescaped, so the
    bytes are exactly :func:`encode`'s (a test holds them equal).
    """
    return b'{"v":%d,"type":"ack","station_id":"%s","kit_id":"%s","seq":%d}' % (
        PROTOCOL_VERSION, station_id.encode("ascii"), kit_id.encode("ascii"), seq)


def decode(frame: bytes) -> Message:
    """Parse and validate one frame; raises :class:`MessageError` saying what is wrong."""
    if len(frame) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message of {len(frame)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    try:
        obj = json.loads(frame.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"message is not UTF-8 JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise MessageError("message is not a JSON object")
    version = obj.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or version != PROTOCOL_VERSION:
        raise MessageError(f"unsupported protocol version {version!r} (this side speaks {PROTOCOL_VERSION})")
    kind = obj.get("type")
    if kind == "identification":
        return _identification(obj)
    if kind == "heartbeat":
        return _heartbeat(obj)
    if kind == "ack":
        return Ack(
            station_id=_station(obj, "station_id"), kit_id=_station(obj, "kit_id"), seq=_positive_int(obj, "seq")
        )
    raise MessageError(f"unknown message type {kind!r}")


def _identification(obj: dict[str, Any]) -> IdentificationEvent:
    path = _str(obj, "path")
    if path not in IDENTIFICATION_PATHS:
        raise MessageError(f"unknown identification path {path!r}")
    sex = _str(obj, "sex")
    if sex not in SEXES:
        raise MessageError(f"sex must be one of {SEXES}, got {sex!r}")
    birth_year = _positive_int(obj, "birth_year")
    if not 1900 <= birth_year <= 2100:
        raise MessageError(f"birth_year {birth_year} is out of range")
    try:
        identified_at = datetime.fromisoformat(_str(obj, "identified_at"))
    except ValueError as exc:
        raise MessageError(f"identified_at is not an ISO 8601 time: {exc}") from exc
    if identified_at.tzinfo is None:
        raise MessageError("identified_at must carry a UTC offset")
    training = obj.get("training", False)
    if not isinstance(training, bool):
        raise MessageError("training must be true or false")
    override = obj.get("override", False)
    if not isinstance(override, bool):
        raise MessageError("override must be true or false")
    fallback_reason = obj.get("fallback_reason", "")
    if not isinstance(fallback_reason, str) or len(fallback_reason) > 32:
        raise MessageError("fallback_reason must be a short string")
    voter_ref = _str(obj, "voter_ref")
    if not 8 <= len(voter_ref) <= 128:
        raise MessageError("voter_ref has an implausible length")
    return IdentificationEvent(
        election_id=_station(obj, "election_id", max_len=64),
        station_id=_station(obj, "station_id"),
        kit_id=_station(obj, "kit_id"),
        seq=_positive_int(obj, "seq"),
        voter_ref=voter_ref,
        sex=sex,
        birth_year=birth_year,
        path=path,
        identified_at=identified_at,
        training=training,
        fallback_reason=fallback_reason,
        override=override,
    )


def _heartbeat(obj: dict[str, Any]) -> Heartbeat:
    devices = obj.get("devices")
    if not isinstance(devices, dict) or len(devices) > MAX_DEVICES:
        raise MessageError(f"devices must be an object of at most {MAX_DEVICES} entries")
    for name, state in devices.items():
        if not _IDENT_RE.fullmatch(name) or len(name) > 32:
            raise MessageError(f"device name {name[:20]!r} has invalid characters or length")
        if state not in DEVICE_STATES:
            raise MessageError(f"device state {state!r} is not one of {DEVICE_STATES}")
    paper_low = obj.get("paper_low", False)
    if not isinstance(paper_low, bool):
        raise MessageError("paper_low must be true or false")
    return Heartbeat(
        station_id=_station(obj, "station_id"),
        kit_id=_station(obj, "kit_id"),
        sent_at=_aware_time(obj, "sent_at"),
        devices=dict(devices),
        pending=_count(obj, "pending"),
        paper_low=paper_low,
    )


def _aware_time(obj: dict[str, Any], key: str) -> datetime:
    try:
        value = datetime.fromisoformat(_str(obj, key))
    except ValueError as exc:
        raise MessageError(f"{key} is not an ISO 8601 time: {exc}") from exc
    if value.tzinfo is None:
        raise MessageError(f"{key} must carry a UTC offset")
    return value


def _count(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise MessageError(f"field {key!r} must be a non-negative integer")
    return value


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise MessageError(f"field {key!r} must be a string")
    return value


def _station(obj: dict[str, Any], key: str, max_len: int = 16) -> str:
    value = _str(obj, key)
    if not 1 <= len(value) <= max_len or not _IDENT_RE.fullmatch(value):
        raise MessageError(f"field {key!r} has invalid characters or length: {value[:20]!r}")
    return value


def _positive_int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1 or value > 2**62:
        raise MessageError(f"field {key!r} must be a positive integer")
    return value
