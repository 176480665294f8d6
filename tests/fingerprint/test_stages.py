"""Each extractor stage on small synthetic arrays with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fingerprint.binarisation import binarise
from fingerprint.blocks import analyse, synthesise
from fingerprint.enhancement import enhance
from fingerprint.errors import ImageError
from fingerprint.false_minutiae import remove_false_minutiae
from fingerprint.frequency import ridge_frequency
from fingerprint.minutiae import detect_minutiae
from fingerprint.model import MinutiaKind
from fingerprint.orientation import orientation_field
from fingerprint.resample import to_working_resolution
from fingerprint.segmentation import segment
from fingerprint.thinning import crossing_numbers, thin
from tests.fingerprint.synthetic import disc, ridge_ending_field, ridges


def _orientation_error(a: np.ndarray, b: float) -> np.ndarray:
    return np.abs((a - b + np.pi / 2) % np.pi - np.pi / 2)


def test_resample_scales_to_500_dpi() -> None:
    image = np.zeros((400, 300), dtype=np.uint8)
    assert to_working_resolution(image, 1000).shape == (200, 150)
    assert to_working_resolution(image, 500).shape == (400, 300)
    assert to_working_resolution(image, 250).shape == (800, 600)
    assert to_working_resolution(image.astype(np.uint16), 500).dtype == np.float32


@pytest.mark.parametrize(
    ("array", "dpi", "message"),
    [
        (np.zeros((100, 100, 3), np.uint8), 500, "2-D"),
        (np.zeros((100, 100), np.uint8), 100, "resolution"),
        (np.zeros((20, 20), np.uint8), 500, "sides"),
        (np.full((100, 100), np.nan), 500, "NaN"),
        (np.zeros((100, 100), np.complex64), 500, "unsupported"),
    ],
)
def test_resample_refuses_what_is_not_a_grey_image(array: np.ndarray, dpi: float, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        to_working_resolution(array, dpi)


def test_block_overlap_add_reconstructs_the_image() -> None:
    image = ridges((120, 150)).astype(np.float32) - 128
    blocks = analyse(image)
    back = synthesise(blocks, blocks.spectra)
    # Each window loses only its own mean; a zero-mean ridge pattern comes back nearly unchanged.
    assert np.abs(back - image)[16:-16, 16:-16].mean() < 0.05 * np.abs(image).mean()


def test_segmentation_finds_the_finger_not_the_background() -> None:
    image = disc(ridges((256, 256)), 90).astype(np.float32)
    seg = segment(analyse(image), float(image.std()))
    y, x = np.mgrid[0:256, 0:256]
    r = np.hypot(y - 128, x - 128)
    assert seg.mask[r < 70].mean() > 0.98
    assert seg.mask[r > 120].mean() < 0.05


def test_blank_image_has_no_foreground() -> None:
    image = np.full((200, 200), 200, np.float32)
    assert not segment(analyse(image), float(image.std())).mask.any()


@pytest.mark.parametrize("angle", [0.0, 0.4, 1.2, 2.5])
def test_orientation_and_frequency_of_parallel_ridges(angle: float) -> None:
    image = ridges((192, 192), period_px=9.0, angle_rad=angle).astype(np.float32)
    blocks = analyse(image)
    mask = np.ones(image.shape, dtype=bool)
    field = orientation_field(image, mask, blocks)
    inner = (slice(30, -30), slice(30, -30))
    assert np.median(_orientation_error(field.angle[inner], angle)) < 0.05
    assert np.median(field.coherence[inner]) > 0.9
    assert np.median(_orientation_error(field.block_angle[2:-2, 2:-2], angle)) < 0.05
    freq = ridge_frequency(blocks, field.block_angle, np.ones(blocks.shape, dtype=bool))
    assert np.median(1.0 / freq.frequency[2:-2, 2:-2]) == pytest.approx(9.0, rel=0.08)


def test_enhancement_removes_noise() -> None:
    clean = ridges((192, 192), period_px=10.0, angle_rad=0.7).astype(np.float32) - 128
    noisy = ridges((192, 192), period_px=10.0, angle_rad=0.7, noise=80, seed=1).astype(np.float32) - 128
    blocks = analyse(noisy)
    field = orientation_field(noisy, np.ones(noisy.shape, dtype=bool), blocks)
    freq = ridge_frequency(blocks, field.block_angle, np.ones(blocks.shape, dtype=bool))
    enhanced = enhance(blocks, field.block_angle, field.block_coherence, freq.frequency)
    inner = (slice(24, -24), slice(24, -24))

    def corr(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.corrcoef(a[inner].ravel(), b[inner].ravel())[0, 1])

    assert corr(enhanced, clean) > 0.9 > corr(noisy, clean) + 0.2
    # Ridges are dark: the enhanced image is negative on them.
    ridge_map = binarise(enhanced, np.ones(enhanced.shape, dtype=bool))
    assert ((clean < 0) == ridge_map)[inner].mean() > 0.95


def test_binarisation_drops_specks_and_fills_pores() -> None:
    enhanced = np.ones((100, 100), np.float32)
    enhanced[20:30, 10:90] = -1  # a ridge
    enhanced[24:26, 50:52] = 1  # a pore inside it
    enhanced[60:62, 60:62] = -1  # a dust speck
    ridge_map = binarise(enhanced, np.ones_like(enhanced, dtype=bool))
    assert ridge_map[24:26, 50:52].all()
    assert not ridge_map[60:62, 60:62].any()


def test_thinning_gives_one_pixel_lines_and_keeps_topology() -> None:
    image = np.zeros((60, 80), dtype=bool)
    image[20:27, 5:75] = True  # a thick horizontal bar
    image[20:55, 37:43] = True  # a thick vertical bar below it: a T
    skeleton = thin(image)
    cn = crossing_numbers(skeleton)
    assert (cn == 1).sum() == 3 and (cn == 3).sum() == 1
    # One pixel wide: no 2 x 2 block of skeleton pixels.
    s = skeleton.astype(int)
    assert (s[:-1, :-1] + s[1:, :-1] + s[:-1, 1:] + s[1:, 1:]).max() < 4
    assert not skeleton[~image].any()


def test_ridge_ending_position_and_direction() -> None:
    field = ridge_ending_field()
    skeleton = thin(field)
    image = np.where(field, 40, 200).astype(np.float32)
    orientation = orientation_field(image, np.ones(field.shape, dtype=bool), analyse(image))
    raw = detect_minutiae(skeleton, orientation)
    inner = (raw.x > 30) & (raw.x < 170) & (raw.y > 30) & (raw.y < 170)
    assert inner.sum() == 1
    i = int(np.nonzero(inner)[0][0])
    assert raw.kind[i] == MinutiaKind.ENDING
    assert abs(int(raw.x[i]) - 100) <= 4
    # The ridge lies to the left of the tip: the ending points along +-x towards its ridge, i.e. angle π.
    assert abs(math.remainder(raw.angle[i] - math.pi, 2 * math.pi)) < 0.2
    # The foreground, as segmentation would find it, ends where the ridges do (columns 5 to 194).
    foreground = np.zeros(field.shape, dtype=bool)
    foreground[:, 5:195] = True
    kept = remove_false_minutiae(raw, foreground)
    assert i in kept.tolist()
    assert all(20 <= raw.x[k] < 180 for k in kept)  # endings at the foreground border were dropped


def test_short_spur_is_removed() -> None:
    field = np.zeros((120, 120), dtype=bool)
    field[58:62, 10:110] = True
    field[50:58, 60:62] = True  # an 8 px spur: an ending joined to a bifurcation
    skeleton = thin(field)
    image = np.where(field, 40, 200).astype(np.float32)
    orientation = orientation_field(image, np.ones(field.shape, dtype=bool), analyse(image))
    raw = detect_minutiae(skeleton, orientation)
    assert (raw.kind == MinutiaKind.BIFURCATION).sum() == 1
    kept = remove_false_minutiae(raw, np.ones(field.shape, dtype=bool))
    assert not any(raw.kind[k] == MinutiaKind.BIFURCATION for k in kept)
