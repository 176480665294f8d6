# cython: language_level=3
"""Bit-based MCC with LSS-R (Cappelli, Ferrara, Maltoni, IEEE TPAMI 2010, §5 and §4.3): the compiled core.

Reproduces ``fingerprint.mcc_bits.compare_bits`` step for step (same pair order, same tie breaks, same float
formulas). Every algorithm constant arrives at call time in ``params`` (float64, layout in :data:`native.kernels`),
read from ``fingerprint.parameters`` by the Python wrapper, so retuning the engine needs no rebuild.

Kernels never raise: inner functions are ``noexcept nogil`` and return a status code (0 ok, negative = out of
memory); ``native._errors.check`` turns codes into exceptions.
"""

cimport cython
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport exp, fabs, sqrt
from libc.stdint cimport int16_t, int32_t, int64_t, uint16_t, uint64_t
from libc.stdlib cimport calloc, free, malloc


cdef extern from *:
    """
    #if defined(__x86_64__) && defined(__GNUC__)
    #pragma GCC target("popcnt")
    #endif
    static inline int shailoo_pop64(unsigned long long x) { return __builtin_popcountll(x); }
    #ifdef _OPENMP
    #include <omp.h>
    static int shailoo_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int shailoo_max_threads(void) { return 1; }  /* built with SHAILOO_NO_OPENMP=1 */
    #endif
    """
    int shailoo_pop64(unsigned long long x) noexcept nogil
    int shailoo_max_threads() noexcept nogil


# Layout of the params vector (kept in step with native/kernels.py PARAM_NAMES).
cdef enum:
    P_MIN_COMMON = 0
    P_MAX_DIR_STEPS = 1
    P_MIN_NP = 2
    P_MAX_NP = 3
    P_MU_P = 4
    P_TAU_P = 5
    P_ITER = 6
    P_WEIGHT = 7
    P_D_MU = 8
    P_D_TAU = 9
    P_A_MU = 10
    P_A_TAU = 11
    P_R_MU = 12
    P_R_TAU = 13
    N_PARAMS = 14

cdef double TWO_PI = 6.28318530717958647692
# sqrt of every popcount a cylinder pair can give (N_D <= 8 words of 64 bits): exactly libm's sqrt, without its
# latency in the hot loop.
cdef double SQRT_T[513]
cdef int _k
for _k in range(513):
    SQRT_T[_k] = sqrt(<double> _k)


cdef inline double _pair_gamma(const uint64_t* ca, const uint64_t* cb, uint64_t m, Py_ssize_t nd) noexcept nogil:
    """Bit Γ of one comparable cylinder pair (§5), 0.0 when both masked cylinders are empty."""
    cdef int na_, nb_, nx_
    cdef Py_ssize_t k
    cdef uint64_t wa, wb
    cdef double denom
    if nd == 5:
        # The gallery's layout (MCC8b): unrolled, so the 15 popcounts pipeline.
        na_ = (shailoo_pop64(ca[0] & m) + shailoo_pop64(ca[1] & m) + shailoo_pop64(ca[2] & m)
               + shailoo_pop64(ca[3] & m) + shailoo_pop64(ca[4] & m))
        nb_ = (shailoo_pop64(cb[0] & m) + shailoo_pop64(cb[1] & m) + shailoo_pop64(cb[2] & m)
               + shailoo_pop64(cb[3] & m) + shailoo_pop64(cb[4] & m))
        nx_ = (shailoo_pop64((ca[0] ^ cb[0]) & m) + shailoo_pop64((ca[1] ^ cb[1]) & m)
               + shailoo_pop64((ca[2] ^ cb[2]) & m) + shailoo_pop64((ca[3] ^ cb[3]) & m)
               + shailoo_pop64((ca[4] ^ cb[4]) & m))
    else:
        na_ = 0
        nb_ = 0
        nx_ = 0
        for k in range(nd):
            wa = ca[k] & m
            wb = cb[k] & m
            na_ += shailoo_pop64(wa)
            nb_ += shailoo_pop64(wb)
            nx_ += shailoo_pop64(wa ^ wb)
    denom = SQRT_T[na_] + SQRT_T[nb_]
    if denom <= 0.0:
        return 0.0
    return 1.0 - SQRT_T[nx_] / denom
cdef double ANGLE_STEPS = 65536.0


cdef struct Cyl:
    # One template's cylinders (pointers into the gallery or probe arrays).
    const int16_t* x
    const int16_t* y
    const uint16_t* angle
    const uint64_t* cells    # n * nd words
    const uint64_t* valid    # n words
    Py_ssize_t n


cdef struct Tables:
    # Z(d1) on 1/q px steps (n1 entries), Z(d2) and Z(d3) on 2^shift / 65536-turn steps, octant atan table
    # (n_atan entries, in steps): see fingerprint.mcc_bits.relax_tables.
    const double* z1
    const double* z2
    const double* z3
    const int32_t* atan
    Py_ssize_t n1
    Py_ssize_t n_atan
    double q1
    int shift          # angle differences are rounded by this shift before the z2 / z3 lookups
    int half


cdef struct Scratch:
    double* gval       # dense local similarity matrix n_A x n_B
    double* hval       # row heap: each row's best similarity ...
    int* hidx          # ... and its flat index r * nb + c
    char* used_a
    char* used_b
    int* rows
    int* cols
    double* lam0
    double* lam
    double* tmp
    double* rho
    double* eff
    int* order
    int* ix
    int* iy
    int* ia
    int* jx
    int* jy
    int* ja
    Py_ssize_t cap_pairs  # max na * nb
    Py_ssize_t cap_n      # max min(na, nb)


cdef int scratch_init(Scratch* s, Py_ssize_t max_a, Py_ssize_t max_b) noexcept nogil:
    cdef Py_ssize_t pairs = max_a * max_b + 1
    cdef Py_ssize_t n = (max_a if max_a < max_b else max_b) + 1
    s.cap_pairs = pairs
    s.cap_n = n
    s.gval = <double*> malloc(pairs * sizeof(double))
    s.hval = <double*> malloc((max_a + 1) * sizeof(double))
    s.hidx = <int*> malloc((max_a + 1) * sizeof(int))
    s.used_a = <char*> malloc(max_a + 1)
    s.used_b = <char*> malloc(max_b + 1)
    s.rows = <int*> malloc(n * sizeof(int))
    s.cols = <int*> malloc(n * sizeof(int))
    s.lam0 = <double*> malloc(n * sizeof(double))
    s.lam = <double*> malloc(n * sizeof(double))
    s.tmp = <double*> malloc(n * sizeof(double))
    s.rho = <double*> malloc(n * n * sizeof(double))
    s.eff = <double*> malloc(n * sizeof(double))
    s.order = <int*> malloc(n * sizeof(int))
    s.ix = <int*> malloc(6 * n * sizeof(int))
    if s.ix != NULL:
        s.iy = s.ix + n
        s.ia = s.ix + 2 * n
        s.jx = s.ix + 3 * n
        s.jy = s.ix + 4 * n
        s.ja = s.ix + 5 * n
    if (s.gval == NULL or s.hval == NULL or s.hidx == NULL or s.used_a == NULL or s.used_b == NULL or s.rows == NULL
            or s.cols == NULL or s.lam0 == NULL or s.lam == NULL or s.tmp == NULL or s.rho == NULL
            or s.eff == NULL or s.order == NULL or s.ix == NULL):
        return -1
    return 0


cdef void scratch_free(Scratch* s) noexcept nogil:
    free(s.gval); free(s.hval); free(s.hidx); free(s.used_a); free(s.used_b); free(s.rows); free(s.cols)
    free(s.lam0); free(s.lam); free(s.tmp); free(s.rho); free(s.eff); free(s.order); free(s.ix)


cdef inline bint _before(double va, int ia, double vb, int ib) noexcept nogil:
    # Heap order: larger similarity first, then smaller flat index (numpy's stable argsort of -gamma).
    return va > vb or (va == vb and ia < ib)


cdef inline void _sift_down(double* v, int* idx, Py_ssize_t start, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t root = start, child
    cdef double tv
    cdef int ti
    while True:
        child = 2 * root + 1
        if child >= size:
            return
        if child + 1 < size and _before(v[child + 1], idx[child + 1], v[child], idx[child]):
            child += 1
        if _before(v[child], idx[child], v[root], idx[root]):
            tv = v[root]; v[root] = v[child]; v[child] = tv
            ti = idx[root]; idx[root] = idx[child]; idx[child] = ti
            root = child
        else:
            return


cdef inline int _row_best(const double* row, Py_ssize_t n, const char* used) noexcept nogil:
    # Column of the largest positive value among unused columns (lowest column on ties), -1 if none.
    cdef Py_ssize_t j
    cdef int best = -1
    cdef double v = 0.0
    for j in range(n):
        if not used[j] and row[j] > v:
            v = row[j]
            best = <int> j
    return best


cdef inline void _gammas(const Cyl* a, const Cyl* b, Py_ssize_t nd, const double* prm, double* gm) noexcept nogil:
    """Dense local similarity matrix (bit form of eq. 17-18), row-major n_A x n_B, 0 where not comparable."""
    cdef Py_ssize_t i, j, k
    cdef int min_common = <int> prm[P_MIN_COMMON]
    cdef int max_dir = <int> prm[P_MAX_DIR_STEPS]
    cdef int d, na_, nb_, nx_
    cdef uint64_t m, wa, wb
    cdef double denom, g
    cdef const uint64_t* ca
    cdef const uint64_t* cb
    for i in range(a.n):
        ca = a.cells + i * nd
        for j in range(b.n):
            gm[i * b.n + j] = 0.0
            d = (<int> a.angle[i] - <int> b.angle[j]) & 0xFFFF
            if d > 32768:
                d = 65536 - d
            if d > max_dir:
                continue
            m = a.valid[i] & b.valid[j]
            if shailoo_pop64(m) < min_common:
                continue
            g = _pair_gamma(ca, b.cells + j * nd, m, nd)
            if g > 0.0:
                gm[i * b.n + j] = g


cdef inline int _circ(int d) noexcept nogil:
    # Circular distance of an angle difference in 1/65536-turn steps: 0..32768.
    d = d & 0xFFFF
    return 65536 - d if d > 32768 else d


cdef inline int _seg(const Tables* tb, int dx, int dy_up) noexcept nogil:
    # atan2(dy_up, dx) in steps via the octant table (fingerprint.mcc_bits.segment_steps), 0 for a zero vector.
    cdef int ax = dx if dx >= 0 else -dx
    cdef int ay = dy_up if dy_up >= 0 else -dy_up
    cdef int big = ax if ax >= ay else ay
    cdef int small = ay if ax >= ay else ax
    cdef double ratio = (<double> small) / (<double> big) if big > 0 else 0.0
    cdef int base = tb.atan[<Py_ssize_t> (ratio * <double> (tb.n_atan - 1) + 0.5)]
    if ax < ay:
        base = 16384 - base
    if dx < 0:
        base = 32768 - base
    if dy_up < 0:
        base = -base
    return base & 0xFFFF


cdef double _score(const Cyl* a, const Cyl* b, Py_ssize_t nd, const double* prm, const Tables* tb,
                   Scratch* s) noexcept nogil:
    """LSS-R global score (§4.3) of two bit-cylinder sets; mirrors fingerprint.mcc_bits.compare_bits."""
    cdef Py_ssize_t n_min, count, size, i, j, t, n_r, n_pairs, it
    cdef Py_ssize_t k1
    cdef int r, c, flat, oi, dxa, dya, dxb, dyb, seg_a, seg_b
    cdef double z, w, acc, d1, z12, e, total
    if a.n == 0 or b.n == 0:
        return 0.0
    n_min = a.n if a.n < b.n else b.n
    z = 1.0 / (1.0 + exp(-prm[P_TAU_P] * (<double> n_min - prm[P_MU_P])))
    # Python's round() is half-to-even; nearbyint follows the current (default: to-even) rounding mode.
    n_pairs = <Py_ssize_t> prm[P_MIN_NP] + <Py_ssize_t> _round_even(z * (prm[P_MAX_NP] - prm[P_MIN_NP]))
    _gammas(a, b, nd, prm, s.gval)
    # Greedy one-to-one pairs in order of decreasing Γ, ties by row-major index (the oracle's stable argsort), done
    # lazily: a heap of rows keyed by each row's best entry among unused columns; a stale key (its column got used)
    # is refreshed by rescanning the row. Stale keys are never below the true value, so the top fresh key is the
    # global next pair.
    for j in range(b.n):
        s.used_b[j] = 0
    size = 0
    for i in range(a.n):
        c = _row_best(s.gval + i * b.n, b.n, s.used_b)
        if c >= 0:
            s.hval[size] = s.gval[i * b.n + c]
            s.hidx[size] = <int> (i * b.n + c)
            size += 1
    i = size // 2
    while i > 0:
        i -= 1
        _sift_down(s.hval, s.hidx, i, size)
    n_r = 0
    while size > 0 and n_r < n_min:
        flat = s.hidx[0]
        r = flat // <int> b.n
        c = flat - r * <int> b.n
        if s.used_b[c]:
            c = _row_best(s.gval + r * b.n, b.n, s.used_b)
            if c >= 0:
                s.hval[0] = s.gval[r * b.n + c]
                s.hidx[0] = <int> (r * b.n + c)
                _sift_down(s.hval, s.hidx, 0, size)
                continue
        else:
            s.used_b[c] = 1
            s.rows[n_r] = r
            s.cols[n_r] = c
            s.lam0[n_r] = s.hval[0]
            n_r += 1
        size -= 1
        s.hval[0] = s.hval[size]
        s.hidx[0] = s.hidx[size]
        _sift_down(s.hval, s.hidx, 0, size)
    if n_r == 0:
        return 0.0
    for t in range(n_r):
        s.ix[t] = a.x[s.rows[t]]
        s.iy[t] = a.y[s.rows[t]]
        s.ia[t] = a.angle[s.rows[t]]
        s.jx[t] = b.x[s.cols[t]]
        s.jy[t] = b.y[s.cols[t]]
        s.ja[t] = b.angle[s.cols[t]]
    # Pair compatibility ρ (eq. 21-23) from tables on quantised inputs (fingerprint.mcc_bits.compatibility): d1 and
    # d2 are symmetric, the segment j -> i is the segment i -> j turned by half a turn.
    for i in range(n_r):
        s.rho[i * n_r + i] = 0.0
        for j in range(i + 1, n_r):
            dxa = s.ix[j] - s.ix[i]
            dya = s.iy[j] - s.iy[i]
            dxb = s.jx[j] - s.jx[i]
            dyb = s.jy[j] - s.jy[i]
            d1 = fabs(sqrt(<double> (dxa * dxa + dya * dya)) - sqrt(<double> (dxb * dxb + dyb * dyb)))
            k1 = <Py_ssize_t> (d1 * tb.q1 + 0.5)
            if k1 > tb.n1 - 1:
                k1 = tb.n1 - 1
            z12 = tb.z1[k1] * tb.z2[(_circ((s.ia[i] - s.ia[j]) - (s.ja[i] - s.ja[j])) + tb.half) >> tb.shift]
            seg_a = _seg(tb, dxa, -dya)
            seg_b = _seg(tb, dxb, -dyb)
            s.rho[i * n_r + j] = z12 * tb.z3[(_circ((s.ia[i] - seg_a) - (s.ja[i] - seg_b)) + tb.half) >> tb.shift]
            s.rho[j * n_r + i] = z12 * tb.z3[(_circ((s.ia[j] - ((seg_a + 32768) & 0xFFFF))
                                                    - (s.ja[j] - ((seg_b + 32768) & 0xFFFF))) + tb.half) >> tb.shift]
    w = prm[P_WEIGHT]
    for t in range(n_r):
        s.lam[t] = s.lam0[t]
    for it in range(<Py_ssize_t> prm[P_ITER]):
        for i in range(n_r):
            acc = 0.0
            if n_r > 1:
                for j in range(n_r):
                    acc += s.rho[i * n_r + j] * s.lam[j]
                acc = acc / <double> (n_r - 1)
            s.tmp[i] = w * s.lam[i] + (1.0 - w) * acc
        for i in range(n_r):
            s.lam[i] = s.tmp[i]
    # Efficiency ε = λ^n_rel / λ^0; stable insertion sort by decreasing ε; average the best n_P.
    for t in range(n_r):
        s.eff[t] = s.lam[t] / s.lam0[t]
        s.order[t] = <int> t
    for i in range(1, n_r):
        oi = s.order[i]
        e = s.eff[oi]
        j = i
        while j > 0 and s.eff[s.order[j - 1]] < e:
            s.order[j] = s.order[j - 1]
            j -= 1
        s.order[j] = oi
    total = 0.0
    for t in range(n_r if n_r < n_pairs else n_pairs):
        total += s.lam[s.order[t]]
    total = total / <double> n_pairs
    if total < 0.0:
        return 0.0
    if total > 1.0:
        return 1.0
    return total


cdef inline double _round_even(double v) noexcept nogil:
    cdef double f = <double> (<long long> v)
    cdef double diff = v - f
    if diff > 0.5:
        return f + 1.0
    if diff < 0.5:
        return f
    return f if (<long long> f) % 2 == 0 else f + 1.0


cdef inline Cyl _view(const int16_t[::1] x, const int16_t[::1] y, const uint16_t[::1] angle,
                      const uint64_t[:, ::1] cells, const uint64_t[::1] valid, Py_ssize_t start,
                      Py_ssize_t stop) noexcept nogil:
    cdef Cyl c
    c.n = stop - start
    if c.n <= 0:
        c.n = 0
        c.x = NULL; c.y = NULL; c.angle = NULL; c.cells = NULL; c.valid = NULL
        return c
    c.x = &x[start]
    c.y = &y[start]
    c.angle = &angle[start]
    c.cells = &cells[start, 0]
    c.valid = &valid[start]
    return c


def score_many(
    const int16_t[::1] px, const int16_t[::1] py, const uint16_t[::1] pangle,
    const uint64_t[:, ::1] pcells, const uint64_t[::1] pvalid,
    const int64_t[::1] offsets,
    const int16_t[::1] gx, const int16_t[::1] gy, const uint16_t[::1] gangle,
    const uint64_t[:, ::1] gcells, const uint64_t[::1] gvalid,
    const int64_t[::1] rows, const double[::1] params,
    const double[::1] z1, const double[::1] z2, const double[::1] z3, const int32_t[::1] atan, double q1, int shift,
    double[::1] out, int threads,
) -> int:
    """Score the probe against gallery templates ``rows`` (indices into ``offsets``), in parallel, GIL released.

    ``out[i]`` receives the score of template ``rows[i]``. ``threads`` <= 0 means all cores. Returns a status code:
    0 ok, -1 out of memory, -2 bad parameters.
    """
    cdef Py_ssize_t i, t, nd = pcells.shape[1], n_rows = rows.shape[0], n_templates = offsets.shape[0] - 1
    cdef Py_ssize_t max_b = 0, span
    cdef Cyl probe, cand
    cdef Scratch* sp
    cdef int failed[1]
    cdef int local
    cdef const double* prm
    cdef Tables tb
    if (params.shape[0] < N_PARAMS or out.shape[0] < n_rows or (gcells.shape[0] > 0 and gcells.shape[1] != nd)
            or nd > 8
            or z1.shape[0] < 1 or shift < 0 or shift > 8 or z2.shape[0] != (32768 >> shift) + 1
            or z3.shape[0] != z2.shape[0] or atan.shape[0] < 2 or q1 <= 0):
        return -2
    prm = &params[0]
    tb.z1 = &z1[0]
    tb.z2 = &z2[0]
    tb.z3 = &z3[0]
    tb.atan = &atan[0]
    tb.n1 = z1.shape[0]
    tb.n_atan = atan.shape[0]
    tb.q1 = q1
    tb.shift = shift
    tb.half = (1 << shift) >> 1
    for t in range(n_templates):
        span = offsets[t + 1] - offsets[t]
        if span > max_b:
            max_b = span
    for i in range(n_rows):
        if rows[i] < 0 or rows[i] >= n_templates:
            return -2
    probe = _view(px, py, pangle, pcells, pvalid, 0, px.shape[0])
    failed[0] = 0
    sp = NULL
    local = 0
    if n_rows == 0:
        return 0
    if threads <= 0:
        threads = shailoo_max_threads()
    # Each thread owns its scratch buffers (allocated once per call, never inside the pair loop).
    with nogil, parallel(num_threads=threads):
        sp = <Scratch*> calloc(1, sizeof(Scratch))
        local = -1
        if sp != NULL:
            local = scratch_init(sp, probe.n if probe.n > 0 else 1, max_b if max_b > 0 else 1)
        if local != 0:
            failed[0] = -1
        for i in prange(n_rows, schedule="dynamic", chunksize=64):
            if local != 0:
                out[i] = 0.0
                continue
            cand = _view(gx, gy, gangle, gcells, gvalid, offsets[rows[i]], offsets[rows[i] + 1])
            out[i] = _score(&probe, &cand, nd, prm, &tb, sp)
        if sp != NULL:
            scratch_free(sp)
            free(sp)
    return failed[0]


def screen_many(
    const uint16_t[::1] pangle,
    const uint64_t[:, ::1] pcells, const uint64_t[::1] pvalid,
    const int64_t[::1] offsets, const uint16_t[::1] gangle,
    const uint64_t[:, ::1] gcells, const uint64_t[::1] gvalid,
    const double[::1] params, double[::1] out, int threads,
) -> int:
    """Cheap first pass of identify: for each gallery template, the sum of the max_NP largest values among each
    probe cylinder's best local similarity in that template (no pairing, no relaxation). Status code as score_many."""
    cdef Py_ssize_t t, i, j, k, nd = pcells.shape[1], n_templates = offsets.shape[0] - 1, np_ = pangle.shape[0]
    cdef Py_ssize_t start, stop, keep, filled, pos
    cdef int min_common, max_dir, d, na_, nb_, nx_
    cdef uint64_t m, wa, wb
    cdef double best, g, denom, total
    cdef double* top_all
    cdef double* top
    if (params.shape[0] < N_PARAMS or out.shape[0] < n_templates or nd > 8
            or (gcells.shape[0] > 0 and gcells.shape[1] != nd)):
        return -2
    min_common = <int> params[P_MIN_COMMON]
    max_dir = <int> params[P_MAX_DIR_STEPS]
    keep = <Py_ssize_t> params[P_MAX_NP]
    if keep < 1:
        keep = 1
    if keep > 64:
        keep = 64
    if threads <= 0:
        threads = shailoo_max_threads()
    # One 64-value best list per thread (a C array declared here would be shared by the prange threads).
    top_all = <double*> malloc(threads * 64 * sizeof(double))
    if top_all == NULL:
        return -1
    with nogil:
        for t in prange(n_templates, schedule="dynamic", chunksize=256, num_threads=threads):
            top = top_all + 64 * threadid()
            start = offsets[t]
            stop = offsets[t + 1]
            filled = 0
            for i in range(np_):
                best = 0.0
                for j in range(start, stop):
                    d = (<int> pangle[i] - <int> gangle[j]) & 0xFFFF
                    if d > 32768:
                        d = 65536 - d
                    if d > max_dir:
                        continue
                    m = pvalid[i] & gvalid[j]
                    if shailoo_pop64(m) < min_common:
                        continue
                    g = _pair_gamma(&pcells[i, 0], &gcells[j, 0], m, nd)
                    if g > 0.0:
                        if g > best:
                            best = g
                # Keep the `keep` largest bests, descending (insertion into a short array).
                if filled < keep:
                    pos = filled
                    filled = filled + 1
                elif best > top[keep - 1]:
                    pos = keep - 1
                else:
                    continue
                while pos > 0 and top[pos - 1] < best:
                    top[pos] = top[pos - 1]
                    pos = pos - 1
                top[pos] = best
            total = 0.0
            for i in range(filled):
                total = total + top[i]
            out[t] = total
    free(top_all)
    return 0
