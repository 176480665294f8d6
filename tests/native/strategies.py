"""Hypothesis strategies for the native core's differential tests: plausible and hostile minutiae sets."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from fingerprint.model import Minutia, MinutiaKind, Template

SIDE_PX = 400


@st.composite
def minutiae_sets(draw: st.DrawFn, min_size: int = 0, max_size: int = 60) -> Template:
    """A template of up to ``max_size`` random minutiae in a 400 x 400 px image (duplicates allowed)."""
    n = draw(st.integers(min_size, max_size))
    coords = st.integers(0, SIDE_PX - 1)
    minutiae = [
        Minutia(
            draw(coords),
            draw(coords),
            draw(st.floats(0.0, 2.0 * math.pi, allow_nan=False, exclude_max=True)),
            MinutiaKind(draw(st.sampled_from([1, 2]))),
            draw(st.integers(0, 100)),
        )
        for _ in range(n)
    ]
    return Template(SIDE_PX, SIDE_PX, tuple(minutiae))


@st.composite
def distorted_pairs(draw: st.DrawFn) -> tuple[Template, Template]:
    """A template and a rotated, shifted, jittered and partly cropped impression of it (a genuine-like pair)."""
    base = draw(minutiae_sets(min_size=8, max_size=50))
    angle = draw(st.floats(-0.5, 0.5))
    shift = draw(st.integers(-30, 30)), draw(st.integers(-30, 30))
    jitter = draw(st.integers(0, 3))
    c, s = math.cos(angle), math.sin(angle)
    out = []
    for i, m in enumerate(base.minutiae):
        if draw(st.booleans()) and i % 5 == 0:
            continue  # lost minutia
        dx, dy = m.x - SIDE_PX / 2, m.y - SIDE_PX / 2
        x = round(SIDE_PX / 2 + c * dx + s * dy + shift[0] + draw(st.integers(-jitter, jitter)))
        y = round(SIDE_PX / 2 - s * dx + c * dy + shift[1] + draw(st.integers(-jitter, jitter)))
        if 0 <= x < SIDE_PX and 0 <= y < SIDE_PX:
            out.append(Minutia(x, y, m.angle + angle, m.kind, m.quality))
    return base, Template(SIDE_PX, SIDE_PX, tuple(out))
