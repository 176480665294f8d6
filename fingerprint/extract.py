"""The extractor as a recipe: one stage per line, each in its own module.

    image, dpi ─ resample ─ block spectra ─ segmentation ─ orientation ─ frequency ─ enhancement ─ binarisation
               ─ thinning ─ minutiae ─ false-minutiae removal ─ template (+ quality from the stages' features)

A blank or non-fingerprint image gives an empty template and a quality verdict, never an exception; only an array
that is not a greyscale image at a plausible resolution raises :class:`ImageError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fingerprint.binarisation import binarise
from fingerprint.blocks import analyse
from fingerprint.debug import DebugSink
from fingerprint.enhancement import enhance
from fingerprint.false_minutiae import remove_false_minutiae
from fingerprint.frequency import ridge_frequency
from fingerprint.minutiae import RawMinutiae, detect_minutiae
from fingerprint.model import Minutia, MinutiaKind, Template
from fingerprint.orientation import orientation_field
from fingerprint.quality import Quality, assess
from fingerprint.resample import native_grid_scale, to_working_resolution
from fingerprint.segmentation import near_foreground, refine, segment
from fingerprint.thinning import thin


@dataclass(frozen=True)
class Extraction:
    """The extractor's result: the template and the image's quality (score and operator verdict)."""

    template: Template
    quality: Quality


def extract(image: npt.ArrayLike, dpi: float, debug: DebugSink | None = None) -> Extraction:
    """Template and quality of a greyscale fingerprint image at ``dpi`` (250..1000)."""
    grey = to_working_resolution(image, dpi)
    blocks = analyse(grey)
    segmentation = segment(blocks, float(grey.std()))
    orientation = orientation_field(grey, segmentation.mask, blocks)
    frequency = ridge_frequency(blocks, orientation.block_angle, segmentation.block_mask)
    enhanced = enhance(
        blocks,
        orientation.block_angle,
        orientation.block_coherence,
        frequency.frequency,
        near_foreground(segmentation),
    )
    mask = refine(segmentation, enhanced)
    ridges = binarise(enhanced, mask)
    skeleton = thin(ridges)
    candidates = detect_minutiae(skeleton, orientation)
    kept = remove_false_minutiae(candidates, mask)
    quality = assess(grey, segmentation, orientation, frequency)
    template = _template(grey.shape, candidates, kept, native_grid_scale(dpi) or 1.0)
    if debug is not None:
        for stage, value in (
            ("resample", grey),
            ("segmentation", segmentation),
            ("orientation", orientation),
            ("frequency", frequency),
            ("enhancement", enhanced),
            ("mask", mask),
            ("binarisation", ridges),
            ("thinning", skeleton),
            ("minutiae", candidates),
            ("false_minutiae", kept),
            ("quality", quality),
        ):
            debug.record(stage, value)
    return Extraction(template, quality)


def _template(
    shape: tuple[int, ...], candidates: RawMinutiae, kept: npt.NDArray[np.intp], scale: float = 1.0
) -> Template:
    """The kept candidates as a 500-dpi template (coordinates times ``scale``, the factor from the grid extraction ran
    on); minutia quality is the local orientation certainty (0..100)."""
    height, width = max(1, round(int(shape[0]) * scale)), max(1, round(int(shape[1]) * scale))
    minutiae = tuple(
        Minutia(
            min(int(round(float(candidates.x[i]) * scale)), width - 1),
            min(int(round(float(candidates.y[i]) * scale)), height - 1),
            float(candidates.angle[i]),
            MinutiaKind(int(candidates.kind[i])),
            int(round(100 * float(np.clip(candidates.coherence[i], 0.0, 1.0)))),
        )
        for i in kept
    )
    return Template(width, height, minutiae)
