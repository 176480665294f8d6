"""Small synthetic templates shared by the fingerprint tests."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fingerprint.model import Minutia, MinutiaKind, Template


def random_template(seed: int, count: int = 40, width: int = 300, height: int = 400) -> Template:
    """A plausible template: ``count`` minutiae spread over an ellipse, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    minutiae: list[Minutia] = []
    while len(minutiae) < count:
        x, y = rng.uniform(20, width - 20), rng.uniform(20, height - 20)
        if ((x - width / 2) / (width / 2)) ** 2 + ((y - height / 2) / (height / 2)) ** 2 > 0.9:
            continue
        kind = MinutiaKind.ENDING if rng.random() < 0.5 else MinutiaKind.BIFURCATION
        minutiae.append(Minutia(int(x), int(y), rng.uniform(0, 2 * math.pi), kind, int(rng.integers(1, 101))))
    return Template(width, height, tuple(minutiae))


def transformed(
    template: Template, dx: float, dy: float, rotation_rad: float, jitter_px: float, seed: int
) -> Template:
    """The same finger placed again: rotated about the centre, shifted, positions jittered."""
    rng = np.random.default_rng(seed)
    cx, cy = template.width / 2, template.height / 2
    c, s = math.cos(rotation_rad), math.sin(rotation_rad)
    out = []
    for m in template.minutiae:
        # Screen-CCW rotation in y-down pixel coordinates.
        x = cx + c * (m.x - cx) + s * (m.y - cy) + dx + rng.normal(0, jitter_px)
        y = cy - s * (m.x - cx) + c * (m.y - cy) + dy + rng.normal(0, jitter_px)
        if 0 <= x < template.width and 0 <= y < template.height:
            out.append(
                Minutia(int(x), int(y), m.angle + rotation_rad + rng.normal(0, 0.05), m.kind, m.quality)
            )
    return Template(template.width, template.height, tuple(out))


@pytest.fixture
def template() -> Template:
    return random_template(1)
