"""Access to the compiled kernels and the parameter vector they read.

Every algorithm constant is read from ``fingerprint.parameters`` (and the bit layout from ``fingerprint.mcc_bits``)
at call time and passed to the kernel, so the engine can be retuned without rebuilding the extension.
"""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt

from fingerprint import mcc_bits
from fingerprint import parameters as p

# OpenMP's default lets idle worker threads spin after each parallel loop: on a kit that is CPU time taken from the UI
# and the devices, and on a loaded machine a spinning thread delays the others (measured here: a 1,000-template
# identify took 22 ms of CPU with spinning, 4 ms without). Read by libgomp when it loads, i.e. at the import below.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _missing(extension: str) -> str:
    """What to do when a compiled extension of native/ is not there."""
    return (
        f"The compiled matching core (native/{extension}) is missing. Build it with `make setup` (or "
        "`.venv/bin/pip install -e . --no-deps` or `.venv/bin/python setup.py build_ext --inplace` from the "
        "repository root), which compiles the Cython sources in native/ (needs gcc and the Python headers)."
    )


try:
    from native import _mcc_cy
except ImportError as exc:  # exercised by tests/native/test_import.py with the extension hidden
    raise ImportError(_missing("_mcc_cy")) from exc

#: The LSS-R constants (fingerprint.parameters), in the order both kernels' params vectors end with.
LSS_R_NAMES = (
    "LSS_MIN_PAIRS",
    "LSS_MAX_PAIRS",
    "LSS_PAIRS_MU",
    "LSS_PAIRS_TAU",
    "RELAX_ITERATIONS",
    "RELAX_WEIGHT",
    "RELAX_DISTANCE_MU_PX",
    "RELAX_DISTANCE_TAU",
    "RELAX_DIRECTION_MU_RAD",
    "RELAX_DIRECTION_TAU",
    "RELAX_RADIAL_MU_RAD",
    "RELAX_RADIAL_TAU",
)
#: Order of the values in the bit kernel's params vector (native/_mcc_cy.pyx, enum P_*).
PARAM_NAMES = ("min_common_cells", "max_direction_steps", *LSS_R_NAMES)


def params() -> npt.NDArray[np.float64]:
    """The kernel's params vector, from the engine's current parameter values."""
    values = [float(mcc_bits.min_common_cells()), float(mcc_bits.max_direction_steps())]
    values += [float(getattr(p, name)) for name in LSS_R_NAMES]
    return np.asarray(values, dtype=np.float64)


kernel = _mcc_cy

try:
    from native import _float_cy
except ImportError as exc:  # exercised by tests/native/test_import.py with the extension hidden
    raise ImportError(_missing("_float_cy")) from exc

float_kernel = _float_cy

#: Order of the values in the float kernel's params vector (native/_float_cy.pyx, enum FP_*).
FLOAT_PARAM_NAMES = (
    "MCC_RADIUS_PX",
    "MCC_SPATIAL_CELLS",
    "MCC_DIRECTION_CELLS",
    "MCC_SIGMA_SPATIAL_PX",
    "MCC_SIGMA_DIRECTION_RAD",
    "MCC_PSI_MU",
    "MCC_PSI_TAU",
    "MCC_HULL_MARGIN_PX",
    "MCC_MIN_VALID_CELLS_FRACTION",
    "MCC_MIN_NEIGHBOURS",
    "MCC_MIN_MATCHABLE_FRACTION",
    "MCC_MAX_DIRECTION_DIFF_RAD",
    *LSS_R_NAMES,
)


def float_params() -> npt.NDArray[np.float64]:
    """The float kernel's params vector, from the engine's current parameter values (the reference matcher's)."""
    values = np.asarray([float(getattr(p, name)) for name in FLOAT_PARAM_NAMES], dtype=np.float64)
    assert values.shape[0] == _float_cy.N_FLOAT_PARAMS
    return values


def use_simd() -> bool:
    """Whether the kernels take the AVX-512 VPOPCNTDQ path: when the CPU has it, unless SHAILOO_NATIVE_SIMD=0
    (the scalar path gives the same scores; the switch is for measuring and testing it)."""
    return _mcc_cy.simd_available() and os.environ.get("SHAILOO_NATIVE_SIMD", "1") != "0"
