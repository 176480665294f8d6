"""Kit key files (saved 0600, checked on load) and heartbeat messages (validated like every other message)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from link.errors import MessageError
from link.keys import KeyFileError, KeyPair, KitKeys
from link.messages import MAX_DEVICES, Heartbeat, IdentificationEvent, decode, encode


def _keys() -> KitKeys:
    pair, server = KeyPair.generate(), KeyPair.generate()
    return KitKeys("3152", "1", pair.public, pair.secret, server.public)


def test_key_file_round_trip_is_private(tmp_path: Path) -> None:
    keys = _keys()
    path = tmp_path / "kit.keys"
    keys.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KitKeys.load(path) == keys


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        ("not json", "unreadable"),
        ('{"format": "something-else"}', "not a Shailoo kit key file"),
        ('{"format": "shailoo-kit-keys/1", "station_id": "1"}', "lacks"),
    ],
)
def test_bad_key_files_are_refused_clearly(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "kit.keys"
    if content is not None:
        path.write_text(content)
    with pytest.raises(KeyFileError, match=message):
        KitKeys.load(path)


def test_truncated_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kit.keys"
    _keys().save(path)
    body = json.loads(path.read_text())
    body["secret"] = body["secret"][:20]
    path.write_text(json.dumps(body))
    with pytest.raises(KeyFileError, match="Z85"):
        KitKeys.load(path)


def _beat(**overrides: object) -> Heartbeat:
    fields: dict[str, object] = dict(station_id="3152", kit_id="1", sent_at=datetime(2026, 11, 29, 3, tzinfo=UTC),
                                     devices={"scanner": "ready", "printer": "not_ready"}, pending=4, paper_low=True)
    fields.update(overrides)
    return Heartbeat(**fields)  # type: ignore[arg-type]


def test_heartbeat_round_trip() -> None:
    assert decode(encode(_beat())) == _beat()


@pytest.mark.parametrize(
    "change",
    [
        {"devices": {"scanner": "on fire"}},
        {"devices": {"bad name!": "ready"}},
        {"devices": {f"d{i}": "ready" for i in range(MAX_DEVICES + 1)}},
        {"devices": ["scanner"]},
        {"pending": -1},
        {"pending": True},
        {"paper_low": "yes"},
        {"sent_at": "2026-11-29T03:00:00"},
        {"station_id": "../etc"},
    ],
)
def test_bad_heartbeats_are_refused(change: dict[str, object]) -> None:
    body = json.loads(encode(_beat()))
    body.update(change)
    with pytest.raises(MessageError):
        decode(json.dumps(body).encode())


def test_identification_optional_fields_default_for_older_kits() -> None:
    event = IdentificationEvent("e", "3152", "1", 1, "a" * 64, "F", 1980, "manual", datetime.now(UTC))
    body = json.loads(encode(event))
    del body["override"], body["fallback_reason"]
    decoded = decode(json.dumps(body).encode())
    assert isinstance(decoded, IdentificationEvent) and decoded.override is False and decoded.fallback_reason == ""
    body["override"] = "yes"
    with pytest.raises(MessageError):
        decode(json.dumps(body).encode())
