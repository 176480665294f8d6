"""Native matching core, compiled from Cython by the package build.

Importing this package without the compiled extension fails with an ImportError that says how to build it.
"""

from __future__ import annotations

import numpy as np

try:
    from native import _bits_cy  # type: ignore[attr-defined]
except ImportError as exc:  # pragma: no cover - exercised by a test that hides the extension
    raise ImportError(
        "The compiled matching core (native/_bits_cy) is missing. Build it with `make setup` "
        "(or `.venv/bin/pip install -e .` from the repository root), which compiles the Cython sources in native/."
    ) from exc

__all__ = ["hamming_many"]


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
