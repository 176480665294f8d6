"""Native matching core, compiled from Cython by the package build: the reference matcher (float Minutia
Cylinder-Code with LSS-R) for 1:1 and the final score, and its bit-based form for ranking a whole gallery fast.

Public face: :class:`Gallery` (a station's templates packed for search, with its versioned blob), :func:`verify`
(1:1 score, the reference's), :func:`identify` (1:N ranked :class:`Candidate` list), :func:`search_form` (a probe
built once), :class:`NativeError` and its subclasses. The oracles the kernels reproduce are ``fingerprint.matcher``
(float) and ``fingerprint.mcc_bits`` (bits); the design and its figures are in native/README.md.

Importing this package without the compiled extension fails with an ImportError that says how to build it.
"""

from __future__ import annotations

import numpy as np

from native.errors import GalleryError, KernelError, NativeError
from native.forms import SearchForm, stored_form
from native.gallery import Gallery
from native.search import Candidate, identify, search_form, verify, verify_bits

try:
    from native import _bits_cy
except ImportError as exc:  # pragma: no cover - exercised by a test that hides the extension
    raise ImportError(
        "The compiled matching core (native/_bits_cy) is missing. Build it with `make setup` "
        "(or `.venv/bin/pip install -e .` from the repository root), which compiles the Cython sources in native/."
    ) from exc

__all__ = [
    "Candidate",
    "Gallery",
    "GalleryError",
    "KernelError",
    "NativeError",
    "SearchForm",
    "hamming_many",
    "identify",
    "search_form",
    "stored_form",
    "verify",
    "verify_bits",
]


def hamming_many(probe: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Hamming distance between a packed bit vector ``probe`` (uint64 words) and each row of ``rows``.

    Returns an int32 array with one distance (in bits) per row.
    """
    probe_c = np.ascontiguousarray(probe, dtype=np.uint64)
    rows_c = np.ascontiguousarray(rows, dtype=np.uint64)
    if rows_c.ndim != 2 or probe_c.ndim != 1 or rows_c.shape[1] != probe_c.shape[0]:
        raise ValueError(f"shape mismatch: probe {probe_c.shape}, rows {rows_c.shape}")
    out = np.empty(rows_c.shape[0], dtype=np.int32)
    _bits_cy.hamming_many(probe_c, rows_c, out)
    return out
