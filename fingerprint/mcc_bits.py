"""Bit-based Minutia Cylinder-Code: the numpy oracle of the Cython core in ``native/``.

Cappelli, Ferrara, Maltoni, IEEE TPAMI 32(12), 2010, §5 ("bit-based implementation", MCC8b): every cell value is
binarised with Ψ replaced by a step at μ_Ψ, validity masks are bits, and the local similarity of two cylinders
(eq. 17 in bit form) is

    Γ(a, b) = 1 - sqrt(popcount((c_a XOR c_b) AND m)) / (sqrt(popcount(c_a AND m)) + sqrt(popcount(c_b AND m)))

with m the cells valid in both cylinders. The global score is the reference's LSS-R (§4.3, :mod:`fingerprint.matcher`),
computed with the same steps in the same order so that ``native`` reproduces this module to rounding (tolerance 1e-9
stated in ``native/README.md``; observed 0 or a few ulp).

Layout (the reason for each choice): N_S = 8 spatial cells per side so one direction bin's 64 spatial cells fill
exactly one uint64 word (bit i*8 + j, i along the minutia direction, j across it), and the spatial validity mask is one
word that ANDs directly onto every direction bin's word; N_D = 5 as in MCC8b. A cylinder is then 6 words (48 bytes)
instead of 1,536 float cells. At most :data:`MAX_CYLINDERS` cylinders per template (highest minutia quality first), so
a template fits in 2 KiB in the gallery.

Angles are handled as integer steps of 1/65536 turn (the template's own quantum, exact); the direction gate of eq. 18
compares the circular step difference with an integer threshold, so the oracle and the kernel decide identically.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import erf

from fingerprint import parameters as p
from fingerprint.matcher import _greedy_pairs, _inside_expanded_hull, angle_difference
from fingerprint.model import ANGLE_STEPS, Template

# The layout and table constants live in fingerprint.parameters (section "Bit-based MCC"); re-exported here under
# their short names because the native core and its tests read them from this module.
BITS_SPATIAL_CELLS = p.BITS_SPATIAL_CELLS
BITS_DIRECTION_CELLS = p.BITS_DIRECTION_CELLS
MAX_CYLINDERS = p.BITS_MAX_CYLINDERS

_NS = BITS_SPATIAL_CELLS
_ND = BITS_DIRECTION_CELLS
_TWO_PI = 2.0 * math.pi

U64 = npt.NDArray[np.uint64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BitCylinders:
    """A template's bit search form: one cylinder per kept valid minutia.

    ``x``, ``y`` (int16, px at 500 dpi), ``angle`` (uint16, 1/65536 turn), ``cells`` (n, N_D) uint64 (word k = the 64
    spatial cells of direction bin k), ``valid`` (n,) uint64 (spatial validity, one bit per cell).
    """

    x: npt.NDArray[np.int16]
    y: npt.NDArray[np.int16]
    angle: npt.NDArray[np.uint16]
    cells: U64
    valid: U64

    def __len__(self) -> int:
        return int(self.x.shape[0])


def cells_in_radius() -> int:
    """Number of the 8 x 8 spatial cells whose centre lies within the cylinder radius R."""
    u, v = _cell_offsets()
    return int(((u**2 + v**2) <= p.MCC_RADIUS_PX**2).sum())


def _cell_offsets() -> tuple[FloatArray, FloatArray]:
    cell_px = 2.0 * p.MCC_RADIUS_PX / _NS  # Δ_S (eq. 1)
    offsets = (np.arange(_NS, dtype=np.float64) - (_NS - 1) / 2.0) * cell_px
    u, v = np.meshgrid(offsets, offsets, indexing="ij")
    return u, v


def min_common_cells() -> int:
    """Cells two cylinders must share to be comparable (min_ME of eq. 18 as an integer count)."""
    return int(math.ceil(p.MCC_MIN_MATCHABLE_FRACTION * cells_in_radius() - 1e-9))


def max_direction_steps() -> int:
    """δ_θ of eq. 18 in 1/65536-turn steps (the largest accepted circular difference)."""
    return int(math.floor(p.MCC_MAX_DIRECTION_DIFF_RAD / _TWO_PI * ANGLE_STEPS + 1e-9))


def _empty() -> BitCylinders:
    return BitCylinders(
        np.zeros(0, np.int16), np.zeros(0, np.int16), np.zeros(0, np.uint16),
        np.zeros((0, _ND), np.uint64), np.zeros(0, np.uint64),
    )


def bit_cylinders(template: Template, max_cylinders: int = MAX_CYLINDERS) -> BitCylinders:
    """Build the bit cylinders of ``template`` (§3 construction, §5 binarisation), at most ``max_cylinders``."""
    n = len(template)
    if n == 0:
        return _empty()
    x = np.fromiter((m.x for m in template.minutiae), dtype=np.float64, count=n)
    y = np.fromiter((m.y for m in template.minutiae), dtype=np.float64, count=n)
    steps = np.fromiter(
        (round(m.angle / _TWO_PI * ANGLE_STEPS) % ANGLE_STEPS for m in template.minutiae), dtype=np.int64, count=n
    )
    quality = np.fromiter((m.quality for m in template.minutiae), dtype=np.int64, count=n)
    angle = steps * _TWO_PI / ANGLE_STEPS
    sigma_s = p.MCC_SIGMA_SPATIAL_PX
    u, v = _cell_offsets()
    cos_a, sin_a = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    # Cell centres (eq. 2) in pixel coordinates (y down), direction (cos a, -sin a) as in the reference.
    cx = x[:, None, None] + u[None] * cos_a + v[None] * sin_a
    cy = y[:, None, None] - u[None] * sin_a + v[None] * cos_a
    in_radius = (u**2 + v**2) <= p.MCC_RADIUS_PX**2
    valid = (_inside_expanded_hull(cx, cy, x, y, p.MCC_HULL_MARGIN_PX) > 0) & in_radius[None]  # (n, Ns, Ns)
    dx = cx[:, :, :, None] - x[None, None, None, :]
    dy = cy[:, :, :, None] - y[None, None, None, :]
    dist2 = dx**2 + dy**2
    near = (dist2 <= (3.0 * sigma_s) ** 2) & ~np.eye(n, dtype=bool)[:, None, None, :]
    spatial = np.where(near, np.exp(-dist2 / (2.0 * sigma_s**2)) / (sigma_s * np.sqrt(2.0 * np.pi)), 0.0)
    dir_cell = _TWO_PI / _ND
    bin_centres = -np.pi + (np.arange(_ND) + 0.5) * dir_cell  # eq. 8
    dtheta = angle_difference(angle[:, None], angle[None, :])
    delta = angle_difference(bin_centres[None, None, :], dtheta[:, :, None])
    s = p.MCC_SIGMA_DIRECTION_RAD * np.sqrt(2.0)
    direction = 0.5 * (erf((delta + dir_cell / 2.0) / s) - erf((delta - dir_cell / 2.0) / s))
    summed = np.einsum("mijt,mtk->mijk", spatial, direction)  # (n, Ns, Ns, Nd)
    # §5: Ψ becomes a step at μ_Ψ (Ψ(v) >= 1/2 exactly when v >= μ_Ψ); invalid cells stay 0.
    bits = (summed >= p.MCC_PSI_MU) & valid[..., None]
    pair_dist2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    neighbours = (pair_dist2 <= (p.MCC_RADIUS_PX + 3.0 * sigma_s) ** 2).sum(axis=1) - 1
    keep = (valid.reshape(n, -1).sum(axis=1) >= p.MCC_MIN_VALID_CELLS_FRACTION * int(in_radius.sum())) & (
        neighbours >= p.MCC_MIN_NEIGHBOURS
    )
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        return _empty()
    # Cap: best quality first, ties by minutia order (stable); then ordered by direction (ties by minutia order), so
    # that the cylinders within a quarter turn of a probe cylinder (the gate of eq. 18) are one or two runs and the
    # kernel skips whole 8-cylinder blocks outside them.
    kept = np.sort(kept[np.argsort(-quality[kept], kind="stable")][:max_cylinders])
    kept = kept[np.argsort(steps[kept], kind="stable")]
    weights = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))  # bit i*8 + j
    flat_bits = bits[kept].reshape(len(kept), _NS * _NS, _ND)
    cells = np.zeros((len(kept), _ND), dtype=np.uint64)
    for k in range(_ND):
        cells[:, k] = np.bitwise_or.reduce(np.where(flat_bits[:, :, k], weights[None, :], np.uint64(0)), axis=1)
    valid_words = np.bitwise_or.reduce(
        np.where(valid[kept].reshape(len(kept), -1), weights[None, :], np.uint64(0)), axis=1
    )
    return BitCylinders(
        x=x[kept].astype(np.int16),
        y=y[kept].astype(np.int16),
        angle=steps[kept].astype(np.uint16),
        cells=np.ascontiguousarray(cells),
        valid=np.ascontiguousarray(valid_words.astype(np.uint64)),
    )


def _popcount(words: U64) -> npt.NDArray[np.int64]:
    return np.asarray(np.bitwise_count(words), dtype=np.int64) if hasattr(np, "bitwise_count") else _popcount_slow(
        words
    )


def _popcount_slow(words: U64) -> npt.NDArray[np.int64]:
    as_bytes = words.astype("<u8").view(np.uint8).reshape(*words.shape, 8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1).astype(np.int64)


def local_similarities(a: BitCylinders, b: BitCylinders) -> FloatArray:
    """Γ (n_A, n_B) in bit form (§5, eq. 17-18); 0 where the pair is not comparable."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    mask = a.valid[:, None] & b.valid[None, :]  # (nA, nB)
    common = _popcount(mask)
    m = mask[:, :, None]
    ca, cb = a.cells[:, None, :], b.cells[None, :, :]
    na = _popcount(ca & m).sum(axis=2)
    nb = _popcount(cb & m).sum(axis=2)
    nx = _popcount((ca ^ cb) & m).sum(axis=2)
    denom = np.sqrt(na.astype(np.float64)) + np.sqrt(nb.astype(np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(denom > 0.0, 1.0 - np.sqrt(nx.astype(np.float64)) / denom, 0.0)
    diff = (a.angle[:, None].astype(np.int64) - b.angle[None, :].astype(np.int64)) % ANGLE_STEPS
    circular = np.minimum(diff, ANGLE_STEPS - diff)
    ok = (common >= min_common_cells()) & (circular <= max_direction_steps()) & (denom > 0.0)
    return np.asarray(np.where(ok, gamma, 0.0), dtype=np.float64)


def _sigmoid(v: FloatArray, mu: float, tau: float) -> FloatArray:
    """Z(v; μ, τ) (eq. 23), written as the kernel writes it."""
    return np.asarray(1.0 / (1.0 + np.exp(-tau * (v - mu))), dtype=np.float64)


def pair_count(n_min: int) -> int:
    """n_P of LSS (§4.2): min_NP + round(Z(n_min; μ_P, τ_P) · (max_NP - min_NP))."""
    z = 1.0 / (1.0 + math.exp(-p.LSS_PAIRS_TAU * (n_min - p.LSS_PAIRS_MU)))
    return p.LSS_MIN_PAIRS + int(round(z * (p.LSS_MAX_PAIRS - p.LSS_MIN_PAIRS)))


#: Pairs enter the relaxation exactly as in the reference matcher (greedy one-to-one by decreasing Γ).
greedy_pairs = _greedy_pairs


#: Quantisation of the pair-compatibility inputs (eq. 21-23), so that ρ is a table lookup in the kernel (values and
#: reasons in fingerprint.parameters).
DISTANCE_STEPS_PER_PX = p.BITS_DISTANCE_STEPS_PER_PX
DISTANCE_TABLE_PX = p.BITS_DISTANCE_TABLE_PX
ATAN_TABLE_STEPS = p.BITS_ATAN_TABLE_STEPS
ANGLE_TABLE_SHIFT = p.BITS_ANGLE_TABLE_SHIFT
_HALF_TURN = ANGLE_STEPS // 2
_QUARTER_TURN = ANGLE_STEPS // 4


@functools.lru_cache(maxsize=4)
def _tables(values: tuple[float, ...]) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int32]]:
    floor, d_mu, d_tau, a_mu, a_tau, r_mu, r_tau = values
    d1 = np.arange(DISTANCE_TABLE_PX * DISTANCE_STEPS_PER_PX + 1, dtype=np.float64) / DISTANCE_STEPS_PER_PX
    angles = np.arange((_HALF_TURN >> ANGLE_TABLE_SHIFT) + 1, dtype=np.float64) * (
        _TWO_PI * (1 << ANGLE_TABLE_SHIFT) / ANGLE_STEPS
    )
    ratios = np.arange(ATAN_TABLE_STEPS + 1, dtype=np.float64) / ATAN_TABLE_STEPS
    atan = np.round(np.arctan(ratios) / _TWO_PI * ANGLE_STEPS).astype(np.int32)
    # Entries below the floor are exactly 0: the kernel then skips the rest of the pair (reason in parameters.py).
    z1, z2, z3 = (
        np.where(z < floor, 0.0, z)
        for z in (_sigmoid(d1, d_mu, d_tau), _sigmoid(angles, a_mu, a_tau), _sigmoid(angles, r_mu, r_tau))
    )
    return z1, z2, z3, atan


def relax_tables() -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int32]]:
    """Z(d1), Z(d2), Z(d3) (eq. 23) on their quantised inputs (entries below BITS_RELAX_TABLE_FLOOR set to 0), and
    the octant atan table (steps), from the engine's current parameter values."""
    return _tables(
        (
            p.BITS_RELAX_TABLE_FLOOR,
            p.RELAX_DISTANCE_MU_PX, p.RELAX_DISTANCE_TAU, p.RELAX_DIRECTION_MU_RAD, p.RELAX_DIRECTION_TAU,
            p.RELAX_RADIAL_MU_RAD, p.RELAX_RADIAL_TAU,
        )
    )


def segment_steps(dx: npt.NDArray[np.int64], dy_up: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """atan2(dy_up, dx) in 1/65536 turn through the octant table (0 for a zero vector), integer in and out."""
    atan = relax_tables()[3]
    ax, ay = np.abs(dx), np.abs(dy_up)
    big, small = np.maximum(ax, ay), np.minimum(ax, ay)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(big > 0, small.astype(np.float64) / np.maximum(big, 1).astype(np.float64), 0.0)
    base = atan[(ratio * ATAN_TABLE_STEPS + 0.5).astype(np.int64)].astype(np.int64)
    base = np.where(ax >= ay, base, _QUARTER_TURN - base)
    base = np.where(dx < 0, _HALF_TURN - base, base)
    base = np.where(dy_up < 0, -base, base)
    return np.asarray(base & (ANGLE_STEPS - 1), dtype=np.int64)


def _circular(d: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    d = d & (ANGLE_STEPS - 1)
    return np.minimum(d, ANGLE_STEPS - d)


def compatibility(
    xa: npt.ArrayLike, ya: npt.ArrayLike, sa: npt.ArrayLike, xb: npt.ArrayLike, yb: npt.ArrayLike, sb: npt.ArrayLike
) -> FloatArray:
    """ρ (eq. 21-23) of every two selected pairs, diagonal 0: pair t matches minutia (xa, ya, sa)[t] of A with
    (xb, yb, sb)[t] of B; positions in px, angles in 1/65536 turn; inputs quantised as documented above."""
    z1, z2, z3, _ = relax_tables()
    xa, ya, sa, xb, yb, sb = (np.asarray(v, dtype=np.int64) for v in (xa, ya, sa, xb, yb, sb))
    n = len(xa)
    dxa, dya = xa[None, :] - xa[:, None], ya[None, :] - ya[:, None]
    dxb, dyb = xb[None, :] - xb[:, None], yb[None, :] - yb[:, None]
    d1 = np.abs(np.sqrt((dxa * dxa + dya * dya).astype(np.float64)) - np.sqrt((dxb * dxb + dyb * dyb).astype(np.float64)))
    k1 = np.minimum((d1 * DISTANCE_STEPS_PER_PX + 0.5).astype(np.int64), len(z1) - 1)
    d2 = _circular((sa[:, None] - sa[None, :]) - (sb[:, None] - sb[None, :]))
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    # The segment j -> i points opposite to i -> j: derived (half a turn), not recomputed, as the kernel does.
    seg_a = segment_steps(dxa, -dya)
    seg_b = segment_steps(dxb, -dyb)
    seg_a = np.where(upper, seg_a, (seg_a.T + _HALF_TURN) & (ANGLE_STEPS - 1))
    seg_b = np.where(upper, seg_b, (seg_b.T + _HALF_TURN) & (ANGLE_STEPS - 1))
    d3 = _circular((sa[:, None] - seg_a) - (sb[:, None] - seg_b))
    half = (1 << ANGLE_TABLE_SHIFT) >> 1
    rho = z1[k1] * z2[(d2 + half) >> ANGLE_TABLE_SHIFT] * z3[(d3 + half) >> ANGLE_TABLE_SHIFT]
    np.fill_diagonal(rho, 0.0)
    return np.asarray(rho, dtype=np.float64)


def compare_bits(a: BitCylinders, b: BitCylinders) -> float:
    """LSS-R global score (§4.3) over bit local similarities, in [0, 1]."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    gamma = local_similarities(a, b)
    n_min = min(len(a), len(b))
    n_pairs = pair_count(n_min)
    rows, cols = greedy_pairs(gamma, n_min)
    if len(rows) == 0:
        return 0.0
    lam0 = gamma[rows, cols]
    rho = compatibility(a.x[rows], a.y[rows], a.angle[rows], b.x[cols], b.y[cols], b.angle[cols])
    lam = lam0.copy()
    n_r = len(lam)
    for _ in range(p.RELAX_ITERATIONS):
        support = rho @ lam / (n_r - 1) if n_r > 1 else np.zeros_like(lam)
        lam = p.RELAX_WEIGHT * lam + (1.0 - p.RELAX_WEIGHT) * support
    efficiency = lam / lam0
    best = np.argsort(-efficiency, kind="stable")[:n_pairs]
    return float(np.clip(lam[best].sum() / n_pairs, 0.0, 1.0))


def compare(probe: Template, candidate: Template) -> float:
    """Bit-based MCC similarity of two templates (0..1)."""
    return compare_bits(bit_cylinders(probe), bit_cylinders(candidate))
