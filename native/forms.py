"""What the native core matches: a template's search form (bit cylinders and minutiae) and its stored form.

The bit cylinders (``fingerprint.mcc_bits``) rank a whole gallery fast; the minutiae let the compiled float reference
(``native/_float_cy.pyx``) give the reference matcher's own score to the best few candidates and to every 1:1 check.

- :func:`search_form`: a probe's form, every minutia and at most ``BITS_MAX_CYLINDERS`` bit cylinders;
- :func:`stored_form`: a gallery template's form, whose bit cylinders are capped by :func:`stored_cylinder_cap` so
  that cylinders, minutiae and row data fit ``GALLERY_TEMPLATE_BYTES`` (the gallery stores only the minutiae that
  have no cylinder; the others are the cylinders' own).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fingerprint import mcc_bits
from fingerprint import parameters as p
from fingerprint.model import Template, angle_steps
from native.errors import GalleryError, NativeError

#: Bytes a bit cylinder costs in the gallery beyond its minutia (N_D cell words and the validity word).
CYLINDER_BITS_BYTES = 8 * (mcc_bits.BITS_DIRECTION_CELLS + 1)
#: Bytes of one stored minutia: x, y (int16) and direction (uint16).
MINUTIA_BYTES = 6
#: ISO/IEC 19794-2 stores at most 255 minutiae per finger view; the float kernel's limit too.
MAX_MINUTIAE = 255

@dataclass(frozen=True)
class SearchForm:
    """A template as the native core matches it.

    ``bits``: its bit cylinders; ``x``, ``y`` (int16, px at 500 dpi) and ``angle`` (uint16, 1/65536 turn): every
    minutia of the template, in the template's order (the float reference's input).
    """

    bits: mcc_bits.BitCylinders
    x: npt.NDArray[np.int16]
    y: npt.NDArray[np.int16]
    angle: npt.NDArray[np.uint16]

    def __len__(self) -> int:
        return int(self.x.shape[0])


def minutia_arrays(template: Template) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16], npt.NDArray[np.uint16]]:
    """The template's minutiae as integers: x, y (px) and direction (1/65536 turn, ``fingerprint.model.angle_steps``)."""
    n = len(template)
    if n > MAX_MINUTIAE:
        raise NativeError(
            f"template holds {n} minutiae; the native matcher takes at most {MAX_MINUTIAE} (ISO/IEC 19794-2)"
        )
    x = np.fromiter((m.x for m in template.minutiae), dtype=np.int16, count=n)
    y = np.fromiter((m.y for m in template.minutiae), dtype=np.int16, count=n)
    a = np.fromiter((angle_steps(m.angle) for m in template.minutiae), dtype=np.uint16, count=n)
    return x, y, a


def stored_cylinder_cap(minutiae: int) -> int:
    """Bit cylinders a gallery template of ``minutiae`` minutiae keeps (reason in fingerprint.parameters)."""
    room = p.GALLERY_TEMPLATE_BYTES - p.GALLERY_ROW_ALLOWANCE_BYTES - MINUTIA_BYTES * int(minutiae)
    return max(0, min(mcc_bits.MAX_CYLINDERS, room // CYLINDER_BITS_BYTES))


def search_form(template: Template | SearchForm) -> SearchForm:
    """A probe's search form (built once per capture; a search form passes through)."""
    if isinstance(template, SearchForm):
        return template
    if not isinstance(template, Template):
        raise TypeError(f"expected a fingerprint.Template or native SearchForm, got {type(template).__name__}")
    x, y, a = minutia_arrays(template)
    return SearchForm(mcc_bits.bit_cylinders(template), x, y, a)


def stored_form(template: Template) -> SearchForm:
    """A gallery template's search form: bit cylinders capped by :func:`stored_cylinder_cap`."""
    if not isinstance(template, Template):
        raise TypeError(f"expected a fingerprint.Template, got {type(template).__name__}")
    x, y, a = minutia_arrays(template)
    return SearchForm(mcc_bits.bit_cylinders(template, stored_cylinder_cap(len(x))), x, y, a)


def extra_minutiae(
    form: SearchForm,
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int16], npt.NDArray[np.uint16]]:
    """The form's minutiae that carry no bit cylinder, in template order (what the gallery stores besides them).

    A cylinder stands for the first not yet claimed minutia with its position and direction; duplicated minutiae
    are interchangeable for the float reference, which reads only position and direction.
    """
    claimed = Counter(zip(form.bits.x.tolist(), form.bits.y.tolist(), form.bits.angle.tolist(), strict=True))
    keep = np.ones(len(form), dtype=bool)
    for i, key in enumerate(zip(form.x.tolist(), form.y.tolist(), form.angle.tolist(), strict=True)):
        if claimed[key] > 0:
            claimed[key] -= 1
            keep[i] = False
    if sum(claimed.values()):
        raise GalleryError("a bit cylinder has no minutia in its template: the search form is inconsistent")
    return form.x[keep], form.y[keep], form.angle[keep]
