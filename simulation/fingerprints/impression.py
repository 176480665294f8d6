"""Impressions of a master fingerprint: what a scanner sees each time the finger is placed ([HB6], "generation of
synthetic fingerprint impressions").

Recipe for one impression, each step drawn from the impression's own seed:

1. contact region: an ellipse inside the fingertip, larger when pressing harder, with a ragged border;
2. skin condition and pressure: ridges thickened (wet, heavy pressure) or thinned and broken (dry, light pressure)
   by moving the ridge threshold and by grey-level dilation or erosion; worn skin loses contrast and gains creases;
3. plastic distortion, after R. Cappelli, D. Maio, D. Maltoni, "Modelling plastic distortion in fingerprint
   images", ICAPR 2001: inside a close-contact region the skin does not slip; outside it follows an extra rigid
   motion, blended in by a brake function of the distance from that region;
4. displacement and rotation of the finger on the platen (a share of careless placements goes farther: larger
   offset of the contact, displacement, rotation and distortion, as in the FVC collection protocols);
5. rendering: ridges dark on a non-uniform sensor background, optical blur, sensor noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

from simulation.fingerprints import parameters as p
from simulation.fingerprints.density import smooth_noise
from simulation.fingerprints.errors import SyntheticFingerprintError
from simulation.fingerprints.master import MasterFingerprint


class SkinCondition(StrEnum):
    """The state of the skin when the impression is taken."""

    NORMAL = "normal"
    DRY = "dry"
    WET = "wet"
    WORN = "worn"


#: Shares of skin conditions when none is asked for: most impressions are ordinary.
CONDITION_SHARES = {
    SkinCondition.NORMAL: 0.45,
    SkinCondition.DRY: 0.25,
    SkinCondition.WET: 0.18,
    SkinCondition.WORN: 0.12,
}


@dataclass(frozen=True, eq=False)
class Impression:
    """One synthetic impression: a uint8 greyscale image at ``dpi`` and how it was taken.

    The placement maps a master point v to the image point u = centre + R(rotation)(v − window_centre), with R a
    counter-clockwise rotation as seen on the screen (y down); the plastic distortion moves points near the border
    of the contact region a little more. ``contact`` is the contact region on the master canvas (read-only).
    """

    image: npt.NDArray[np.uint8]
    dpi: int
    finger_seed: int
    index: int
    condition: SkinCondition
    pressure: float
    rotation_rad: float
    window_centre: tuple[float, float]
    contact: npt.NDArray[np.bool_]

    def to_image(self, x: float, y: float) -> tuple[float, float]:
        """Where master point (x, y) px lands in the image, ignoring the small plastic distortion."""
        rows, cols = self.image.shape
        c, s = math.cos(self.rotation_rad), math.sin(self.rotation_rad)
        dx, dy = x - self.window_centre[0], y - self.window_centre[1]
        return (cols / 2 + c * dx + s * dy, rows / 2 - s * dx + c * dy)


def generate_impression(
    master: MasterFingerprint,
    index: int,
    condition: SkinCondition | str | None = None,
    pressure: float | None = None,
    size: tuple[int, int] = (p.IMPRESSION_HEIGHT_PX, p.IMPRESSION_WIDTH_PX),
) -> Impression:
    """Impression number ``index`` of ``master``: deterministic for (finger seed, index, condition, pressure).

    ``condition`` and ``pressure`` (0 light to 1 heavy) are drawn when not given. ``size`` is (rows, cols) px.
    """
    if index < 0:
        raise SyntheticFingerprintError(f"impression index must be 0 or more, not {index}")
    if pressure is not None and not 0.0 <= pressure <= 1.0:
        raise SyntheticFingerprintError(f"pressure must be between 0 (light) and 1 (heavy), not {pressure}")
    if size[0] < 64 or size[1] < 64:
        raise SyntheticFingerprintError(f"impression size {size} px is too small: use at least 64 x 64")
    # One independent stream per stage: asking for another condition or pressure changes that stage only, so
    # impressions that differ by skin condition alone can be compared.
    streams = np.random.SeedSequence([master.seed, 0x1A7, int(index)]).spawn(5)
    draw, contact_rng, skin_rng, place_rng, render_rng = (np.random.default_rng(s) for s in streams)
    chosen = _condition(condition, draw)
    drawn_pressure = float(draw.beta(2.5, 2.5))
    press = drawn_pressure if pressure is None else float(pressure)
    # Some impressions are placed carelessly, as the FVC collection protocols asked of their volunteers: farther off
    # centre, more rotated, more twisted on the glass. Drawn last from its stream, so that the draws above keep
    # their values.
    careless = p.CARELESS_FACTOR if draw.random() < p.CARELESS_SHARE else 1.0

    contact = _contact_region(master, press, contact_rng, careless)
    ink = _ink(master.ridges, master.seed, chosen, press, skin_rng)
    ink *= cv2.GaussianBlur(contact.astype(np.float32), (0, 0), 2.0)
    half_range = min(p.ROTATION_HALF_RANGE_RAD * careless, p.ROTATION_MAX_RAD)
    rotation = place_rng.uniform(-half_range, half_range)
    # Operators centre the finger on the glass: the window is centred on the contact region, give or take.
    contact_ys, contact_xs = np.nonzero(contact)
    centre = (
        (float(contact_xs.mean()), float(contact_ys.mean()))
        if len(contact_xs)
        else (master.silhouette.cx, master.silhouette.cy)
    )
    window = (
        centre[0] + place_rng.normal(0, p.TRANSLATION_SD_PX * careless),
        centre[1] + place_rng.normal(0, p.TRANSLATION_SD_PX * careless),
    )
    map_x, map_y = _backward_map(master, contact, size, rotation, window, place_rng, careless)
    placed = np.asarray(
        cv2.remap(ink, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0),
        dtype=np.float32,
    )
    if chosen is SkinCondition.WORN:
        _draw_creases(placed, skin_rng, int(skin_rng.integers(3, 10)))
    elif skin_rng.random() < p.CREASE_CHANCE:
        _draw_creases(placed, skin_rng, int(skin_rng.integers(1, 3)))
    image = _render(placed, chosen, render_rng)
    image.setflags(write=False)
    contact.setflags(write=False)
    return Impression(
        image=image,
        dpi=master.dpi,
        finger_seed=master.seed,
        index=int(index),
        condition=chosen,
        pressure=press,
        rotation_rad=float(rotation),
        window_centre=(float(window[0]), float(window[1])),
        contact=contact,
    )


def _condition(condition: SkinCondition | str | None, rng: np.random.Generator) -> SkinCondition:
    """The asked-for condition, or one drawn with ``CONDITION_SHARES``."""
    if condition is None:
        names = list(CONDITION_SHARES)
        return names[int(rng.choice(len(names), p=np.array(list(CONDITION_SHARES.values()))))]
    try:
        return SkinCondition(condition)
    except ValueError:
        raise SyntheticFingerprintError(
            f"unknown skin condition {condition!r}; use one of {[c.value for c in SkinCondition]}"
        ) from None


def _contact_region(
    master: MasterFingerprint, pressure: float, rng: np.random.Generator, careless: float = 1.0
) -> npt.NDArray[np.bool_]:
    """Where the skin touches the platen, on the master canvas: an off-centre ellipse with a ragged border.

    ``careless`` (1 for an ordinary placement) scales how far the ellipse may sit off the fingertip's centre.
    """
    shape = master.shape
    s = master.silhouette
    scale = p.CONTACT_SCALE[0] + (p.CONTACT_SCALE[1] - p.CONTACT_SCALE[0]) * pressure
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    shifted = type(s)(
        s.cx + rng.normal(0, p.CONTACT_SHIFT_SD_PX[0] * careless),
        s.cy + rng.normal(0, p.CONTACT_SHIFT_SD_PX[1] * careless),
        s.half_width,
        s.upper,
        s.lower,
    )
    radius = shifted.normalised_radius(xs, ys, scale)
    ragged = 1.0 + 0.06 * smooth_noise(shape, 40.0, rng)
    return (radius < ragged) & (s.normalised_radius(xs, ys) < 1.0)


def _ink(
    ridges: npt.NDArray[np.float32],
    finger_seed: int,
    condition: SkinCondition,
    pressure: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """How dark each master pixel prints (0 to 1) for this skin condition and pressure."""
    # Threshold on the ridge field (which runs from -1 in valleys to +1 on crests): a higher threshold thins ridges.
    threshold = {
        SkinCondition.NORMAL: rng.uniform(-0.15, 0.15),
        SkinCondition.DRY: rng.uniform(0.25, 0.5),
        SkinCondition.WET: rng.uniform(-0.55, -0.3),
        SkinCondition.WORN: rng.uniform(0.0, 0.3),
    }[condition] - 0.25 * (pressure - 0.5)
    shape = (int(ridges.shape[0]), int(ridges.shape[1]))
    # Ridge edges are never smooth: the finger's own texture (the same at every impression) plus a little that
    # changes with each contact; pores open as light dots along the crests [HB6, "noising and rendering"].
    skin = np.random.default_rng([finger_seed, 0x5C1])
    texture = 0.3 * smooth_noise(shape, 3.0, skin) + 0.12 * smooth_noise(shape, 3.0, rng)
    ink = np.clip((ridges + texture - threshold) / 0.7 + 0.5, 0.0, 1.0).astype(np.float32)
    pores = np.zeros(shape, np.float32)
    count = int(np.count_nonzero(ridges > 0.5) / p.PORE_AREA_PX2)
    ys, xs = np.nonzero(ridges > 0.5)
    if count and len(xs):
        chosen = skin.choice(len(xs), size=count, replace=False)
        pores[ys[chosen], xs[chosen]] = 1.0
        pores = cv2.GaussianBlur(pores, (0, 0), 1.0) * 6.0
        visible = 0.2 if condition is SkinCondition.WET else rng.uniform(0.4, 0.9)
        ink *= 1.0 - np.clip(pores * visible, 0.0, 0.9)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    if condition is SkinCondition.DRY:
        ink = cv2.erode(ink, kernel)
        # Dry skin touches the platen in patches: ridges break into dots and dashes.
        patches = smooth_noise(shape, 7.0, rng)
        ink *= np.clip((patches + rng.uniform(0.2, 0.5)) * 3.0, 0.0, 1.0)
    elif condition is SkinCondition.WET:
        ink = cv2.dilate(ink, kernel)
        # Moisture fills valleys in blotches.
        blotches = np.clip((smooth_noise(shape, 25.0, rng) - 0.3) * 2.0, 0.0, 1.0)
        ink = np.maximum(ink, 0.8 * blotches)
        ink = cv2.GaussianBlur(ink, (0, 0), 0.9)
    elif condition is SkinCondition.WORN:
        # Worn ridges are flattened: low, uneven contrast and frequent short breaks.
        ink *= rng.uniform(0.45, 0.7) * (0.75 + 0.25 * smooth_noise(shape, 30.0, rng))
        breaks = smooth_noise(shape, 5.0, rng)
        ink *= np.clip((breaks + 0.45) * 3.0, 0.0, 1.0)
    return np.ascontiguousarray(ink, dtype=np.float32)


def _backward_map(
    master: MasterFingerprint,
    contact: npt.NDArray[np.bool_],
    size: tuple[int, int],
    rotation: float,
    window: tuple[float, float],
    rng: np.random.Generator,
    careless: float = 1.0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """For each image pixel, the master point it shows (rigid placement, then the inverse plastic distortion).

    ``careless`` (1 for an ordinary placement) scales the limits of the distortion's extra rigid motion.
    """
    rows, cols = size
    uy, ux = np.mgrid[0:rows, 0:cols].astype(np.float64)
    c, s = math.cos(rotation), math.sin(rotation)
    du, dv = ux - cols / 2, uy - rows / 2
    vx = window[0] + c * du - s * dv
    vy = window[1] + s * du + c * dv
    # Close-contact region: an ellipse around the contact's centroid (Cappelli et al. 2001, region "c").
    cys, cxs = np.nonzero(contact)
    if len(cxs) == 0:
        return vx.astype(np.float32), vy.astype(np.float32)
    ccx, ccy = float(cxs.mean()), float(cys.mean())
    semi_x = p.CLOSE_CONTACT_SCALE * (cxs.max() - cxs.min()) / 2
    semi_y = p.CLOSE_CONTACT_SCALE * (cys.max() - cys.min()) / 2
    radius = np.sqrt(((vx - ccx) / semi_x) ** 2 + ((vy - ccy) / semi_y) ** 2)
    distance_px = np.maximum(0.0, radius - 1.0) * min(semi_x, semi_y)
    # Brake function: 0 in the close-contact region, rising smoothly to 1 across the transition region.
    brake = 1.0 - np.exp(-(distance_px**2) / (2.0 * (p.DISTORTION_TRANSITION_PX / 2) ** 2))
    twist = rng.uniform(-1.0, 1.0) * p.DISTORTION_ROTATION_RAD * careless
    shift = rng.uniform(-1.0, 1.0, size=2) * p.DISTORTION_SHIFT_PX * careless
    tc, ts = math.cos(twist), math.sin(twist)
    moved_x = ccx + tc * (vx - ccx) - ts * (vy - ccy) + shift[0]
    moved_y = ccy + ts * (vx - ccx) + tc * (vy - ccy) + shift[1]
    # First-order inverse of v -> v + brake(v) (moved(v) - v): the displacement is smooth and at most ~15 px.
    map_x = vx - brake * (moved_x - vx)
    map_y = vy - brake * (moved_y - vy)
    return map_x.astype(np.float32), map_y.astype(np.float32)


def _draw_creases(ink: npt.NDArray[np.float32], rng: np.random.Generator, count: int) -> None:
    """White lines across worn skin (creases and scars), drawn in place."""
    rows, cols = ink.shape
    for _ in range(count):
        x0, y0 = rng.uniform(0, cols), rng.uniform(0, rows)
        angle = rng.uniform(0, math.pi)
        length = rng.uniform(60, 260)
        x1, y1 = x0 + length * math.cos(angle), y0 + length * math.sin(angle)
        cv2.line(ink, (int(x0), int(y0)), (int(x1), int(y1)), 0.0, int(rng.integers(2, 5)), cv2.LINE_AA)


def _render(
    ink: npt.NDArray[np.float32], condition: SkinCondition, rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """Grey image from ink: non-uniform background, ridge contrast, optical blur, sensor noise."""
    shape = (int(ink.shape[0]), int(ink.shape[1]))
    background = rng.uniform(*p.BACKGROUND_GREY) + 8.0 * smooth_noise(shape, 80.0, rng)
    # Pressure is never even over the whole contact: some areas print faint.
    uneven = np.clip(1.0 - p.PRESSURE_UNEVENNESS * (0.5 + 0.5 * smooth_noise(shape, 70.0, rng)), 0.2, 1.0)
    contrast = rng.uniform(*p.RIDGE_CONTRAST_GREY) * uneven
    if condition is SkinCondition.DRY:
        contrast *= 0.85
    grey = (background - contrast * ink).astype(np.float32)
    # Dirt and latent residue on the glass: soft dark or light smudges.
    for _ in range(int(rng.integers(0, p.DIRT_SPOTS_MAX + 1))):
        spot = np.zeros(shape, np.float32)
        centre = (int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0])))
        axes = (int(rng.integers(6, 40)), int(rng.integers(6, 40)))
        cv2.ellipse(spot, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1.0, -1)
        grey += rng.uniform(-50, 30) * cv2.GaussianBlur(spot, (0, 0), float(rng.uniform(3, 10)))
    grey = np.asarray(cv2.GaussianBlur(grey, (0, 0), rng.uniform(*p.BLUR_SIGMA_PX)), dtype=np.float32)
    grey += rng.normal(0.0, rng.uniform(*p.NOISE_SD_GREY), size=shape).astype(np.float32)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)
