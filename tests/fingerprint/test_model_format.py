"""Template values and the stored binary form: round trips and deliberately corrupt templates."""

from __future__ import annotations

import math
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fingerprint.errors import TemplateError
from fingerprint.model import Minutia, MinutiaKind, Template, quantise_angle
from fingerprint.template_format import dumps, loads
from tests.fingerprint.conftest import random_template


def test_round_trip_is_exact(template: Template) -> None:
    data = dumps(template)
    assert len(data) == 16 + 8 * len(template)
    assert loads(data) == template


@given(
    st.lists(
        st.tuples(
            st.integers(0, 499),
            st.integers(0, 599),
            st.floats(-10, 10),
            st.sampled_from(list(MinutiaKind)),
            st.integers(0, 100),
        ),
        max_size=60,
    )
)
def test_round_trip_any_template(rows: list[tuple[int, int, float, MinutiaKind, int]]) -> None:
    template = Template(500, 600, tuple(Minutia(*row) for row in rows))
    assert loads(dumps(template)) == template


def test_angles_are_wrapped_and_quantised() -> None:
    assert Minutia(1, 1, -math.pi / 2).angle == pytest.approx(3 * math.pi / 2)
    assert quantise_angle(2 * math.pi) == 0.0


def test_empty_template_round_trips() -> None:
    assert loads(dumps(Template(10, 10))) == Template(10, 10)


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


@pytest.mark.parametrize("cut", [0, 3, 15, 20, 100])
def test_truncated_template_raises(template: Template, cut: int) -> None:
    with pytest.raises(TemplateError, match="truncated|length"):
        loads(dumps(template)[:cut])


def test_bad_magic_raises(template: Template) -> None:
    data = dumps(template)
    with pytest.raises(TemplateError, match="magic"):
        loads(_with_crc(b"XXXX" + data[4:-4]))


def test_wrong_version_raises(template: Template) -> None:
    data = dumps(template)
    with pytest.raises(TemplateError, match="version 2"):
        loads(_with_crc(data[:4] + b"\x02" + data[5:-4]))


def test_flipped_bit_is_caught_by_checksum(template: Template) -> None:
    data = bytearray(dumps(template))
    data[30] ^= 0x04
    with pytest.raises(TemplateError, match="checksum"):
        loads(bytes(data))


def test_out_of_range_fields_raise_even_with_a_valid_checksum(template: Template) -> None:
    body = dumps(template)[:-4]
    bad_quality = body[:12] + body[12:18] + bytes([1, 150]) + body[20:]
    with pytest.raises(TemplateError, match="quality 150"):
        loads(_with_crc(bad_quality))
    bad_kind = body[:12] + body[12:18] + bytes([7, 50]) + body[20:]
    with pytest.raises(TemplateError, match="type code 7"):
        loads(_with_crc(bad_kind))
    outside = body[:12] + struct.pack(">HH", 400, 10) + body[16:]  # image is 300 px wide
    with pytest.raises(TemplateError, match="outside"):
        loads(_with_crc(outside))


def test_not_bytes_raises() -> None:
    with pytest.raises(TemplateError):
        loads("SHFT")  # type: ignore[arg-type]


def test_invalid_values_are_refused_at_construction() -> None:
    with pytest.raises(TemplateError):
        Minutia(-1, 0, 0.0)
    with pytest.raises(TemplateError):
        Minutia(0, 0, float("nan"))
    with pytest.raises(TemplateError):
        Template(0, 10)
    with pytest.raises(TemplateError):
        Template(10, 10, (Minutia(10, 5, 0.0),))


def test_other_seeds_differ() -> None:
    assert random_template(2) != random_template(3)
