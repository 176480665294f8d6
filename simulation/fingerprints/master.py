"""A master fingerprint: the whole ridge pattern of one finger, before any impression is taken ([HB6]).

Recipe, in SFinGe's order: fingertip silhouette, pattern class and singular points, orientation field (averaged
across the ridges so that neighbouring ridges bend together, ``density.bend_together``), ridge period map, ridges
grown by iterative Gabor filtering; then the finger's own breaks, short ridges and lakes
(``ridges.add_irregularities``), which Gabor growth does not make. Everything is drawn from one numpy ``Generator`` seeded with the
finger's seed, so a seed always gives the same finger.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulation.fingerprints import parameters as p
from simulation.fingerprints.density import bend_together, period_map, smooth_noise
from simulation.fingerprints.errors import SyntheticFingerprintError
from simulation.fingerprints.orientation import (
    PatternClass,
    Singularity,
    arch_field,
    choose_class,
    place_singularities,
    zero_pole_field,
)
from simulation.fingerprints.ridges import add_irregularities, grow_ridges
from simulation.fingerprints.shape import Silhouette, random_silhouette


@dataclass(frozen=True, eq=False)
class MasterFingerprint:
    """One synthetic finger. Arrays are read-only and share the master canvas (rows = y, cols = x).

    ``ridges`` is in [-1, 1] with +1 on ridge crests and 0 outside the silhouette; ``orientation`` is the ridge
    direction (rad, modulo π, x right / y down); ``period`` the ridge period (px).
    """

    seed: int
    pattern: PatternClass
    singularities: tuple[Singularity, ...]
    silhouette: Silhouette
    mean_period_px: float
    orientation: npt.NDArray[np.float32]
    period: npt.NDArray[np.float32]
    ridges: npt.NDArray[np.float32]
    dpi: int = p.DPI

    @property
    def shape(self) -> tuple[int, int]:
        """Canvas (rows, cols) in pixels."""
        return (int(self.ridges.shape[0]), int(self.ridges.shape[1]))

    def image(self) -> npt.NDArray[np.uint8]:
        """The master drawn as a clean greyscale image: dark ridges on white (for viewing and tests)."""
        return np.clip(255.0 * (0.5 - 0.5 * self.ridges), 0, 255).astype(np.uint8)


def _readonly(array: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    array = np.ascontiguousarray(array, dtype=np.float32)
    array.setflags(write=False)
    return array


def generate_master(
    seed: int,
    pattern: PatternClass | str | None = None,
    shape: tuple[int, int] = (p.MASTER_HEIGHT_PX, p.MASTER_WIDTH_PX),
) -> MasterFingerprint:
    """The master fingerprint of finger ``seed``; ``pattern`` forces a class, else it is drawn with NIST shares.

    Raises :class:`SyntheticFingerprintError` for a negative seed, an unknown class or a canvas too small for a
    fingertip.
    """
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise SyntheticFingerprintError(f"finger seed must be a non-negative integer, not {seed!r}")
    if shape[0] < 200 or shape[1] < 160:
        raise SyntheticFingerprintError(f"master canvas {shape} px is too small: use at least 200 rows x 160 cols")
    rng = np.random.default_rng([int(seed), 0x5F1])
    if pattern is None:
        chosen = choose_class(rng)
    else:
        try:
            chosen = PatternClass(pattern)
        except ValueError:
            raise SyntheticFingerprintError(
                f"unknown pattern class {pattern!r}; use one of {[c.value for c in PatternClass]}"
            ) from None
    silhouette = random_silhouette(shape, rng)
    centre = (silhouette.cx + rng.normal(0, 12), silhouette.cy + rng.normal(0, 15))
    tilt = rng.uniform(-p.PATTERN_TILT_RAD, p.PATTERN_TILT_RAD)
    singularities = place_singularities(chosen, centre, rng)
    singularities = _rotate(singularities, centre, tilt)
    if chosen is PatternClass.ARCH:
        height, half_width = rng.uniform(*p.ARCH_HEIGHT_PX), rng.uniform(*p.ARCH_HALF_WIDTH_PX)
        orientation = arch_field(shape, centre, height, half_width, tilt)
        core_y = centre[1] - height
    else:
        orientation = zero_pole_field(shape, singularities, theta_inf=tilt)
        core_y = min(s.y for s in singularities if s.kind == "core")
    period, mean_period = period_map(shape, core_y, rng)
    if p.ORIENTATION_WOBBLE_RAD > 0:
        # Real fingers bend their ridges more freely than the zero-pole model (Vizcaya and Gerhardt correct it with
        # a per-singularity piecewise-linear function); a smooth random wobble gives each finger its own flow.
        wobble = p.ORIENTATION_WOBBLE_RAD * smooth_noise(shape, p.ORIENTATION_WOBBLE_SCALE_PX, rng)
        orientation = np.mod(orientation + wobble, np.pi).astype(np.float32)
    if p.ACROSS_SMOOTHING_PX > 0:
        orientation = bend_together(orientation, singularities)
    mask = silhouette.mask(shape)
    ridges = grow_ridges(orientation, period, mask, rng)
    ridges = add_irregularities(ridges, orientation, period, mask, rng)
    return MasterFingerprint(
        seed=int(seed),
        pattern=chosen,
        singularities=singularities,
        silhouette=silhouette,
        mean_period_px=mean_period,
        orientation=_readonly(orientation),
        period=_readonly(period),
        ridges=_readonly(ridges),
    )


def _rotate(
    points: tuple[Singularity, ...], centre: tuple[float, float], angle: float
) -> tuple[Singularity, ...]:
    """Singular points rotated by ``angle`` (rad, image coordinates) about ``centre``."""
    c, s = math.cos(angle), math.sin(angle)
    cx, cy = centre
    return tuple(
        Singularity(q.kind, cx + c * (q.x - cx) - s * (q.y - cy), cy + s * (q.x - cx) + c * (q.y - cy)) for q in points
    )
