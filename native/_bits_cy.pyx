# cython: language_level=3
"""Bit-vector kernels: Hamming distances between packed bit strings.

Minutia Cylinder-Code in its bit form (Cappelli, Ferrara, Maltoni 2010, section 5) compares cylinders by the
popcount of XOR and AND of 64-bit words; this is that primitive, for one probe against many rows.
"""

cimport cython
from cython.parallel cimport prange
from libc.stdint cimport uint64_t


cdef extern from *:
    """
    static inline int shailoo_popcount64(unsigned long long x) { return __builtin_popcountll(x); }
    """
    int shailoo_popcount64(unsigned long long x) noexcept nogil


cdef inline int _hamming_row(const uint64_t[::1] probe, const uint64_t[:, ::1] rows, Py_ssize_t r) noexcept nogil:
    cdef Py_ssize_t w
    cdef int total = 0
    for w in range(probe.shape[0]):
        total += shailoo_popcount64(probe[w] ^ rows[r, w])
    return total


def hamming_many(const uint64_t[::1] probe, const uint64_t[:, ::1] rows, int[::1] out) -> None:
    """Write the Hamming distance between ``probe`` and each row of ``rows`` into ``out`` (GIL released, all cores)."""
    cdef Py_ssize_t r
    with nogil:
        for r in prange(rows.shape[0], schedule="static"):
            out[r] = _hamming_row(probe, rows, r)
