"""Build of the Cython matching core in ``native/``; everything else is declared in pyproject.toml.

setuptools (not meson-python) because the project has a handful of single-file Cython kernels and no C/C++
libraries of its own: ``pip install -e .`` compiles them in place with no extra build tool (see docs/BUILD.md).
"""

from __future__ import annotations

import glob
import os
import platform

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# OpenMP lets identify() spread a 1:N search over every core with the GIL released (cython.parallel.prange).
_OPENMP = ["-fopenmp"] if os.environ.get("SHAILOO_NO_OPENMP") != "1" else []
# libmvec ships with glibc on x86-64 (Debian 12: libc6); elsewhere the float kernel's exp stays scalar.
_MVEC = ["mvec"] if platform.machine() in ("x86_64", "AMD64") and platform.system() == "Linux" else []


def _extensions() -> list[Extension]:
    extensions = []
    for source in sorted(glob.glob("native/_*_cy.pyx")):
        module = source[:-4].replace("/", ".")
        extensions.append(
            Extension(
                module,
                [source],
                include_dirs=[numpy.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                # No FMA contraction: a fused multiply-add rounds differently from numpy, and the kernels must land
                # on the same table entries as their oracle (fingerprint/mcc_bits.py).
                extra_compile_args=["-O3", "-ffp-contract=off", *_OPENMP],
                extra_link_args=_OPENMP,
                # glibc's vector maths (libmvec): the float kernel's Ψ loop calls its vector exp.
                libraries=_MVEC if module == "native._float_cy" else [],
            )
        )
    return extensions


setup(
    ext_modules=cythonize(
        _extensions(),
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )
)
