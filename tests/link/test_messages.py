"""Wire messages: round trips, and every kind of malformed frame refused with MessageError."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from link.errors import MessageError
from link.messages import MAX_MESSAGE_BYTES, Ack, IdentificationEvent, decode, encode


def _event(**overrides: object) -> IdentificationEvent:
    fields: dict[str, object] = dict(
        election_id="e-2026",
        station_id="3152",
        kit_id="1",
        seq=7,
        voter_ref="a" * 64,
        sex="F",
        birth_year=1975,
        path="manual",
        identified_at=datetime(2026, 11, 29, 8, 15, tzinfo=UTC),
    )
    fields.update(overrides)
    return IdentificationEvent(**fields)  # type: ignore[arg-type]


def test_identification_round_trip() -> None:
    event = _event()
    assert decode(encode(event)) == event


def test_ack_round_trip() -> None:
    ack = Ack(station_id="3152", kit_id="2", seq=99)
    assert decode(encode(ack)) == ack


def _mutated(**changes: object) -> bytes:
    obj = json.loads(encode(_event()))
    for key, value in changes.items():
        if value is None:
            obj.pop(key)
        else:
            obj[key] = value
    return json.dumps(obj).encode()


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (b"\xff\xfe", "UTF-8 JSON"),
        (b"[1, 2]", "not a JSON object"),
        (_mutated(v=2), "version"),
        (_mutated(type="vote"), "unknown message type"),
        (_mutated(path="telepathy"), "path"),
        (_mutated(sex="X"), "sex"),
        (_mutated(seq=0), "seq"),
        (_mutated(seq=True), "seq"),
        (_mutated(seq=None), "seq"),
        (_mutated(birth_year=1700), "birth_year"),
        (_mutated(identified_at="yesterday"), "ISO 8601"),
        (_mutated(identified_at="2026-11-29T08:00:00"), "UTC offset"),
        (_mutated(station_id="../../etc"), "station_id"),
        (_mutated(training="yes"), "training"),
        (b"{" + b" " * MAX_MESSAGE_BYTES + b"}", "exceeds"),
    ],
)
def test_malformed_frames_are_refused_with_a_reason(frame: bytes, words: str) -> None:
    with pytest.raises(MessageError, match=words):
        decode(frame)


@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_crash_the_decoder(frame: bytes) -> None:
    with contextlib.suppress(MessageError):
        decode(frame)


@given(st.dictionaries(st.sampled_from(["v", "type", "seq", "station_id", "kit_id", "path"]), st.integers() | st.text()))
def test_arbitrary_objects_never_crash_the_decoder(obj: dict[str, object]) -> None:
    with contextlib.suppress(MessageError):
        decode(json.dumps(obj).encode())


def test_version_must_be_an_integer_not_a_boolean() -> None:
    with pytest.raises(MessageError, match="version"):
        decode(_mutated(v=True))


def test_identifier_with_trailing_newline_is_refused() -> None:
    with pytest.raises(MessageError, match="station_id"):
        decode(_mutated(station_id="3152\n"))


def test_fast_ack_encoding_is_byte_identical_to_encode() -> None:
    from link.messages import Ack, encode, encode_ack

    for station, kit, seq in (("3152", "1", 1), ("A-1_b.c", "kit-9", 2**31 - 1)):
        assert encode_ack(station, kit, seq) == encode(Ack(station_id=station, kit_id=kit, seq=seq))
