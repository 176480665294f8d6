"""Measurements on fingerprint images used by the synthetic-fingerprint tests, made from the pixels alone."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt


def ridge_orientation(image: npt.NDArray[np.uint8], sigma_px: float = 7.0) -> npt.NDArray[np.float64]:
    """Ridge direction (rad, modulo π) from the smoothed gradient structure tensor."""
    grey = image.astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    gxx = cv2.GaussianBlur(gx * gx, (0, 0), sigma_px)
    gyy = cv2.GaussianBlur(gy * gy, (0, 0), sigma_px)
    gxy = cv2.GaussianBlur(gx * gy, (0, 0), sigma_px)
    gradient = 0.5 * np.arctan2(2.0 * gxy, gxx - gyy)
    return np.mod(gradient + math.pi / 2, math.pi).astype(np.float64)


def poincare_index(orientation: npt.NDArray[np.float64], x: float, y: float, radius: float = 24.0) -> float:
    """Poincaré index of the orientation field around (x, y): +0.5 core, -0.5 delta, 0 elsewhere."""
    angles = np.linspace(0.0, 2.0 * math.pi, 48, endpoint=False)
    xs = np.clip(np.rint(x + radius * np.cos(angles)).astype(int), 0, orientation.shape[1] - 1)
    ys = np.clip(np.rint(y + radius * np.sin(angles)).astype(int), 0, orientation.shape[0] - 1)
    theta = orientation[ys, xs]
    steps = np.diff(np.append(theta, theta[0]))
    steps = (steps + math.pi / 2) % math.pi - math.pi / 2
    return float(steps.sum() / (2.0 * math.pi))


def ridge_period(image: npt.NDArray[np.uint8], x: int, y: int, block: int = 64) -> float:
    """Dominant ridge period (px) of the ``block`` x ``block`` window centred at (x, y), from its spectrum peak."""
    half = block // 2
    patch = image[y - half : y + half, x - half : x + half].astype(np.float64)
    patch = (patch - patch.mean()) * np.outer(np.hanning(block), np.hanning(block))
    power = np.abs(np.fft.fftshift(np.fft.fft2(patch))) ** 2
    fy, fx = np.mgrid[-half:half, -half:half]
    radius = np.hypot(fx, fy)
    power[radius < 3] = 0.0  # drop the DC and the background's slow variation (periods above ~21 px)
    peak = np.unravel_index(int(np.argmax(power)), power.shape)
    return float(block / radius[peak])


def facing_pairs_per_minutia(minutiae: list[tuple[float, float, float]], within_px: float = 20.0) -> float:
    """Pairs of minutiae closer than ``within_px`` whose directions are nearly opposite (over 2.5 rad apart), per
    minutia: the ends of breaks, short ridges and lakes. ``minutiae`` are (x, y, direction rad)."""
    if len(minutiae) < 2:
        return 0.0
    m = np.asarray(minutiae, dtype=np.float64)
    distance = np.hypot(m[:, None, 0] - m[None, :, 0], m[:, None, 1] - m[None, :, 1])
    turn = np.abs((m[:, None, 2] - m[None, :, 2] + math.pi) % (2.0 * math.pi) - math.pi)
    upper = np.triu(np.ones(distance.shape, dtype=bool), 1)
    return float(np.count_nonzero(upper & (distance < within_px) & (turn > 2.5)) / len(m))


def forced_minutiae_per_area(
    image: npt.NDArray[np.uint8], inside: npt.NDArray[np.bool_], block: int = 24
) -> float:
    """Minutiae the ridge flow forces, per 10,000 px² of ``inside``, from the pixels alone.

    Where neighbouring ridges fan out or close in, the number of ridges crossing a block's border changes between
    its sides, and each ridge gained or lost is a ridge ending or bifurcation whatever else the skin does. For each
    ``block`` x ``block`` block inside ``inside`` (and away from singular points, where the direction turns by more
    than 1.2 rad inside the block), the net flux of (ridge direction / ridge period) through its border counts those
    ridges; the period is the image's, measured at its centre."""
    theta = ridge_orientation(image, 9.0)
    rows, cols = image.shape
    centre = [ridge_period(image, cols // 2 + dx, rows // 2 + dy) for dx in (-40, 40) for dy in (-40, 40)]
    period = float(np.median(centre))
    forced, area = 0.0, 0
    for y0 in range(0, rows - block, block):
        for x0 in range(0, cols - block, block):
            if not inside[y0 : y0 + block, x0 : x0 + block].all():
                continue
            t = theta[y0 : y0 + block, x0 : x0 + block]
            mean = 0.5 * math.atan2(float(np.sin(2 * t).mean()), float(np.cos(2 * t).mean()))
            aligned = (t - mean + math.pi / 2) % math.pi - math.pi / 2 + mean
            if float(np.ptp(aligned)) > 1.2:
                continue
            tx, ty = np.cos(aligned) / period, np.sin(aligned) / period
            forced += abs(float(tx[:, -1].sum() - tx[:, 0].sum() + ty[-1, :].sum() - ty[0, :].sum()))
            area += block * block
    return forced / area * 1e4 if area else 0.0
