"""The engine's values: a minutia and a template (frozen, validated on construction).

Conventions, fixed once for the whole engine (and for the Cython core that must reproduce the reference matcher):

- positions are integer pixels **at 500 dpi**, x to the right, y downwards, origin at the top-left pixel;
- ``angle`` is in radians in [0, 2π), measured counter-clockwise *as seen on the screen* from the +x axis, so the
  unit direction vector in pixel coordinates is ``(cos a, -sin a)`` (the ISO/IEC 19794-2:2005 §9.4.1.3 convention);
  the direction points along the ridges that leave the minutia: for a ridge ending, from the tip into its ridge; for
  a bifurcation, from the fork between its two branches. With this rule an ending and the bifurcation of the valley
  around it point the same way, so a type confusion between impressions keeps the angle (only consistency between
  impressions matters to the matcher);
- angles are quantised to 1/65536 of a turn so that the stored binary form round-trips exactly;
- ``quality`` is 0 (unknown / lowest) to 100 (best), as in ISO/IEC 19794-2:2005 §9.4.1.4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from fingerprint.errors import TemplateError

#: The engine's working resolution (dots per inch); templates are always expressed at it.
TEMPLATE_DPI = 500

#: Angle quantum of the stored form: 1/65536 of a turn (radians).
ANGLE_STEPS = 65536
_TWO_PI = 2.0 * math.pi

#: Largest coordinate a template may hold (pixels); ISO records carry 14-bit coordinates.
MAX_COORDINATE_PX = (1 << 14) - 1


class MinutiaKind(IntEnum):
    """Minutia type; the numbers are the ISO/IEC 19794-2:2005 type codes (§9.4.1.1)."""

    OTHER = 0
    ENDING = 1
    BIFURCATION = 2


def quantise_angle(angle_rad: float) -> float:
    """``angle_rad`` wrapped into [0, 2π) and rounded to the stored quantum (1/65536 turn)."""
    steps = round((angle_rad % _TWO_PI) / _TWO_PI * ANGLE_STEPS) % ANGLE_STEPS
    return steps * _TWO_PI / ANGLE_STEPS


def angle_steps(angle_rad: float) -> int:
    """The stored integer form of a (quantised) angle: 0..65535 sixty-five-thousandths of a turn."""
    return round((angle_rad % _TWO_PI) / _TWO_PI * ANGLE_STEPS) % ANGLE_STEPS


@dataclass(frozen=True, slots=True)
class Minutia:
    """One minutia: position (px at 500 dpi), direction (radians), type and quality (0 to 100)."""

    x: int
    y: int
    angle: float
    kind: MinutiaKind = MinutiaKind.ENDING
    quality: int = 100

    def __post_init__(self) -> None:
        if not (0 <= self.x <= MAX_COORDINATE_PX and 0 <= self.y <= MAX_COORDINATE_PX):
            raise TemplateError(f"minutia position ({self.x}, {self.y}) is outside 0..{MAX_COORDINATE_PX} px")
        if not math.isfinite(self.angle):
            raise TemplateError(f"minutia angle {self.angle!r} is not a finite number of radians")
        if not 0 <= self.quality <= 100:
            raise TemplateError(f"minutia quality {self.quality} is outside 0..100")
        object.__setattr__(self, "x", int(self.x))
        object.__setattr__(self, "y", int(self.y))
        object.__setattr__(self, "angle", quantise_angle(float(self.angle)))
        object.__setattr__(self, "kind", MinutiaKind(self.kind))
        object.__setattr__(self, "quality", int(self.quality))


@dataclass(frozen=True, slots=True)
class Template:
    """A finger's minutiae at 500 dpi with the size of the (resampled) image they came from.

    ``width`` and ``height`` are pixels at 500 dpi. The order of ``minutiae`` carries no meaning; the matcher's
    score does not depend on it.
    """

    width: int
    height: int
    minutiae: tuple[Minutia, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not (0 < self.width <= MAX_COORDINATE_PX + 1 and 0 < self.height <= MAX_COORDINATE_PX + 1):
            raise TemplateError(f"template image size {self.width} x {self.height} px is not plausible")
        minutiae = tuple(self.minutiae)
        for m in minutiae:
            if not isinstance(m, Minutia):
                raise TemplateError(f"template holds {type(m).__name__}, not Minutia")
            if m.x >= self.width or m.y >= self.height:
                raise TemplateError(
                    f"minutia at ({m.x}, {m.y}) lies outside the {self.width} x {self.height} px image"
                )
        if len(minutiae) > 65535:
            raise TemplateError(f"template holds {len(minutiae)} minutiae; at most 65535 can be stored")
        object.__setattr__(self, "minutiae", minutiae)

    def __len__(self) -> int:
        return len(self.minutiae)

    def arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Struct-of-arrays view for computation: x (px), y (px), angle (radians), each of shape (n,)."""
        n = len(self.minutiae)
        x = np.fromiter((m.x for m in self.minutiae), dtype=np.float64, count=n)
        y = np.fromiter((m.y for m in self.minutiae), dtype=np.float64, count=n)
        a = np.fromiter((m.angle for m in self.minutiae), dtype=np.float64, count=n)
        return x, y, a
