"""Pattern classes, their singular points and the orientation field they induce.

Loops, tented arches and whorls use the zero-pole model of B. G. Sherlock and D. M. Monro, "A model for
interpreting fingerprint topology", Pattern Recognition 26(7), 1993, as SFinGe does: with z = x + iy,

    θ(z) = θ∞ + ½ [Σ_cores arg(z − z_c) − Σ_deltas arg(z − z_d)]

so each core turns the ridges by +π around it and each delta by −π. A plain arch has no singular point, so the
zero-pole model gives nothing but parallel lines; for arches we use ridges that are level sets of
y + h·exp(−(x − x0)²/w²)·s(y), a bump that fades towards the bottom of the finger (our own simple model).
Angles are ridge directions in image coordinates (x right, y down), taken modulo π.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from simulation.fingerprints import parameters as p
from simulation.fingerprints.errors import SyntheticFingerprintError


class PatternClass(StrEnum):
    """The five Henry-Galton classes used by NIST and SFinGe."""

    ARCH = "arch"
    TENTED_ARCH = "tented_arch"
    LEFT_LOOP = "left_loop"
    RIGHT_LOOP = "right_loop"
    WHORL = "whorl"


@dataclass(frozen=True, slots=True)
class Singularity:
    """A core (+½ Poincaré index) or a delta (−½) at (x, y) px on the master canvas."""

    kind: str  # "core" or "delta"
    x: float
    y: float


def choose_class(rng: np.random.Generator) -> PatternClass:
    """A pattern class drawn with the population frequencies of ``CLASS_FREQUENCIES``."""
    names = list(p.CLASS_FREQUENCIES)
    weights = np.array([p.CLASS_FREQUENCIES[n] for n in names])
    return PatternClass(names[int(rng.choice(len(names), p=weights / weights.sum()))])


def place_singularities(
    pattern: PatternClass, centre: tuple[float, float], rng: np.random.Generator
) -> tuple[Singularity, ...]:
    """Cores and deltas of ``pattern`` around ``centre`` (x, y px), drawn within the ranges of ``parameters``."""
    cx, cy = centre
    if pattern is PatternClass.ARCH:
        return ()
    if pattern is PatternClass.TENTED_ARCH:
        gap = rng.uniform(*p.TENTED_CORE_DELTA_PX)
        core = Singularity("core", cx + rng.normal(0, 6), cy - gap / 2)
        return (core, Singularity("delta", core.x + rng.normal(0, 6), core.y + gap))
    if pattern in (PatternClass.LEFT_LOOP, PatternClass.RIGHT_LOOP):
        distance = rng.uniform(*p.LOOP_CORE_DELTA_PX)
        angle = rng.uniform(*p.LOOP_DELTA_ANGLE_RAD)
        # Left loop: ridges enter and leave on the left, so the delta is on the right (and vice versa).
        side = 1.0 if pattern is PatternClass.LEFT_LOOP else -1.0
        core = Singularity("core", cx - side * 0.3 * distance * math.cos(angle), cy - 0.35 * distance)
        delta = Singularity(
            "delta", core.x + side * distance * math.cos(angle), core.y + distance * math.sin(angle)
        )
        return (core, delta)
    if pattern is PatternClass.WHORL:
        gap = rng.uniform(*p.WHORL_CORE_GAP_PX)
        tilt = rng.uniform(-0.6, 0.6)
        top = Singularity("core", cx - 0.5 * gap * math.sin(tilt), cy - 0.25 * gap - 0.5 * gap * math.cos(tilt))
        bottom = Singularity("core", cx + 0.5 * gap * math.sin(tilt), cy - 0.25 * gap + 0.5 * gap * math.cos(tilt))
        out = [top, bottom]
        for side in (-1.0, 1.0):
            distance = rng.uniform(*p.WHORL_DELTA_DISTANCE_PX)
            angle = rng.uniform(math.radians(40.0), math.radians(60.0))
            out.append(Singularity("delta", cx + side * distance * math.cos(angle), cy + distance * math.sin(angle)))
        return tuple(out)
    raise SyntheticFingerprintError(f"unknown pattern class {pattern!r}; use one of {[c.value for c in PatternClass]}")


def zero_pole_field(
    shape: tuple[int, int], singularities: tuple[Singularity, ...], theta_inf: float
) -> npt.NDArray[np.float32]:
    """Sherlock-Monro ridge orientation (rad, modulo π) for each pixel of a ``shape`` (rows, cols) canvas."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    theta = np.full(shape, theta_inf, dtype=np.float64)
    for s in singularities:
        sign = 0.5 if s.kind == "core" else -0.5
        theta += sign * np.arctan2(ys - s.y, xs - s.x)
    return np.mod(theta, math.pi).astype(np.float32)


def arch_field(
    shape: tuple[int, int], centre: tuple[float, float], height: float, half_width: float, tilt: float
) -> npt.NDArray[np.float32]:
    """Orientation (rad, modulo π) of ridges that rise over a bump centred near ``centre`` (a plain arch)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    cx, cy = centre
    # Rotate coordinates by the tilt so that the whole arch leans a little, as a finger placed askew would.
    c, s = math.cos(tilt), math.sin(tilt)
    u = c * (xs - cx) + s * (ys - cy)
    v = -s * (xs - cx) + c * (ys - cy)
    bump = np.exp(-((u / half_width) ** 2))
    # The bump fades downwards: ridges near the crease under the fingertip are almost straight.
    fade = 1.0 / (1.0 + np.exp((v - 60.0) / 70.0))
    # Ridges are level lines of f = v + height * bump * fade; the ridge runs along (f_v, -f_u) in (u, v) axes.
    f_u = height * fade * bump * (-2.0 * u / half_width**2)
    f_v = 1.0 + height * bump * fade * (-(1.0 - fade) / 70.0)
    theta_uv = np.arctan2(-f_u, f_v)
    return np.mod(theta_uv + tilt, math.pi).astype(np.float32)
