# cython: language_level=3
"""Bit-based MCC with LSS-R (Cappelli, Ferrara, Maltoni, IEEE TPAMI 2010, §5 and §4.3): the compiled core.

Reproduces ``fingerprint.mcc_bits.compare_bits`` step for step (same pair order, same tie breaks, same float
formulas). Every algorithm constant arrives at call time in ``params`` (float64, layout in :data:`native.kernels`),
read from ``fingerprint.parameters`` by the Python wrapper, so retuning the engine needs no rebuild.

Layout: the probe's cells are (n, N_D) (one cylinder's words together); the gallery's are (N_D, C) (one direction
bin of every cylinder together), so that one probe cylinder meets 8 gallery cylinders in one 512-bit register.

Kernels never raise: inner functions are ``noexcept nogil`` and return a status code (0 ok, negative = out of
memory); ``native.errors.check`` turns codes into exceptions.
"""

cimport cython
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport exp, fabs, sqrt
from libc.stdint cimport int16_t, int32_t, int64_t, uint16_t, uint64_t
from libc.stdlib cimport calloc, free, malloc


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__x86_64__) && defined(__GNUC__)
    /* Hardware POPCNT (x86-64-v2, every x86 laptop since about 2009) for everything below; without it GCC calls
       libgcc's table popcount, several times slower. */
    #pragma GCC target("popcnt")
    #define SHAILOO_X86 1
    #include <immintrin.h>
    #endif
    #ifdef _OPENMP
    #include <omp.h>
    static int shailoo_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int shailoo_max_threads(void) { return 1; }  /* built with SHAILOO_NO_OPENMP=1 */
    #endif

    static inline int shailoo_pop64(uint64_t x) { return __builtin_popcountll(x); }

    /* sqrt of every popcount sum a cylinder pair can give (N_D <= 8 words: up to 512 bits a side, 1,024 for the
       XOR): exactly libm's sqrt (correctly rounded), without its latency in the hot loop. */
    static double shailoo_sqrt_t[1025];
    static void shailoo_init_sqrt(void) { for (int k = 0; k < 1025; k++) shailoo_sqrt_t[k] = __builtin_sqrt((double)k); }

    /* Bit Γ (§5, eq. 17 in bit form) from the three masked popcounts; 0 when both masked cylinders are empty. */
    static inline double shailoo_gamma(int na, int nb, int nx) {
        double denom = shailoo_sqrt_t[na] + shailoo_sqrt_t[nb];
        if (denom <= 0.0) return 0.0;
        return 1.0 - shailoo_sqrt_t[nx] / denom;
    }

    /* One row of the local-similarity matrix: probe cylinder (ca: nd words, va: validity, aa: angle) against n
       gallery cylinders in (N_D, stride) layout from bc (bv validity, ba angles). Pairs failing eq. 18 (direction
       difference above max_dir steps, fewer than min_common common valid cells) get 0. Writes out[0..n) when out
       is not NULL; returns the largest Γ (0 if none is positive) and its first column in *best (-1 if none). */
    static double shailoo_row_scalar(const uint64_t* ca, uint64_t va, int aa, const uint64_t* bc, int64_t stride,
                                     const uint64_t* bv, const uint16_t* ba, int n, int nd, int min_common,
                                     int max_dir, double* out, int* best) {
        double top = 0.0, g;
        int col = -1;
        for (int j = 0; j < n; j++) {
            int d = (aa - (int)ba[j]) & 0xFFFF;
            uint64_t m = va & bv[j];
            g = 0.0;
            if ((d > 32768 ? 65536 - d : d) <= max_dir && shailoo_pop64(m) >= min_common) {
                int na = 0, nb = 0, nx = 0;
                for (int k = 0; k < nd; k++) {
                    uint64_t wa = ca[k] & m, wb = bc[k * stride + j] & m;
                    na += shailoo_pop64(wa); nb += shailoo_pop64(wb); nx += shailoo_pop64(wa ^ wb);
                }
                g = shailoo_gamma(na, nb, nx);
                if (g > top) { top = g; col = j; }
            }
            if (out) out[j] = g;
        }
        *best = col;
        return top;
    }

    /* First column of the largest positive value of row[0..n) among columns whose bit in used (n bits) is 0, -1 if
       none: the greedy pairing's row rescans. */
    static int shailoo_argmax_scalar(const double* row, int n, const uint64_t* used) {
        int best = -1;
        double v = 0.0;
        for (int j = 0; j < n; j++)
            if (!((used[j >> 6] >> (j & 63)) & 1u) && row[j] > v) { v = row[j]; best = j; }
        return best;
    }
    /* Inputs of ρ (eq. 21-23) for the selected pairs: per pair t, probe minutia ri, its gallery minutia's position
       jx, jy, both directions ia, ja (steps); the probe's pairwise distances pdist and segment directions pseg
       (np x np); the tables of fingerprint.mcc_bits.relax_tables (Z(d1) on 1/q1 px steps, n1 entries; Z(d2), Z(d3)
       on 2^shift-step angles; the octant atan table, n_atan entries). */
    typedef struct {
        const int32_t *ri, *jx, *jy, *ia, *ja;
        const double* pdist;
        const int32_t* pseg;
        int np;
        const double *z1, *z2, *z3;
        const int32_t* atan;
        int n1, n_atan, shift, half;
        int nz1, nz2;  /* z1[k] is 0 for every k >= nz1, z2[k] for every k >= nz2 (past the table floor) */
        double q1;
    } shailoo_rho_in;

    /* Circular distance of an angle difference in 1/65536-turn steps: 0..32768. */
    static inline int shailoo_circ(int d) { d &= 0xFFFF; return d > 32768 ? 65536 - d : d; }

    /* atan2(dy_up, dx) in steps via the octant table (fingerprint.mcc_bits.segment_steps), 0 for a zero vector. */
    static inline int shailoo_seg(const int32_t* atan, int n_atan, int dx, int dy_up) {
        int ax = dx >= 0 ? dx : -dx, ay = dy_up >= 0 ? dy_up : -dy_up;
        int big = ax >= ay ? ax : ay, small = ax >= ay ? ay : ax;
        double ratio = big > 0 ? (double)small / (double)big : 0.0;
        int base = atan[(int64_t)(ratio * (double)(n_atan - 1) + 0.5)];
        if (ax < ay) base = 16384 - base;
        if (dx < 0) base = 32768 - base;
        if (dy_up < 0) base = -base;
        return base & 0xFFFF;
    }

    /* ρ of selected pair t with each pair u in (t, n), both ways: appends (t, u, ρ(t, u)) and (u, t, ρ(u, t)) to
       oi / oj / ov where not 0, returns how many. Z(d1)·Z(d2) first; only where that is not 0 (above the table
       floor) the segment directions and Z(d3). The segment u -> t is the segment t -> u turned by half a turn (as
       in the oracle). */
    static int shailoo_rho_scalar(int t, int n, const shailoo_rho_in* in, int32_t* oi, int32_t* oj, double* ov) {
        const int32_t *ri = in->ri, *jx = in->jx, *jy = in->jy, *ia = in->ia, *ja = in->ja;
        int k = 0, np = in->np, half = in->half, shift = in->shift;
        for (int u = t + 1; u < n; u++) {
            int dx = jx[u] - jx[t], dy = jy[u] - jy[t];
            double d1 = __builtin_fabs(in->pdist[ri[t] * np + ri[u]] - __builtin_sqrt((double)(dx * dx + dy * dy)));
            int64_t k1 = (int64_t)(d1 * in->q1 + 0.5);
            if (k1 > in->n1 - 1) k1 = in->n1 - 1;
            int d = shailoo_circ((ia[t] - ia[u]) - (ja[t] - ja[u]));
            double z12 = in->z1[k1] * in->z2[(d + half) >> shift];
            if (z12 == 0.0) continue;
            int seg_a = in->pseg[ri[t] * np + ri[u]];
            int seg_b = shailoo_seg(in->atan, in->n_atan, dx, -dy);
            double v = z12 * in->z3[(shailoo_circ((ia[t] - seg_a) - (ja[t] - seg_b)) + half) >> shift];
            if (v != 0.0) { oi[k] = t; oj[k] = u; ov[k] = v; k++; }
            v = z12 * in->z3[(shailoo_circ((ia[u] - ((seg_a + 32768) & 0xFFFF))
                                           - (ja[u] - ((seg_b + 32768) & 0xFFFF))) + half) >> shift];
            if (v != 0.0) { oi[k] = u; oj[k] = t; ov[k] = v; k++; }
        }
        return k;
    }
    static void shailoo_screen_scalar(const uint64_t* pc, const uint64_t* pv, const uint16_t* pa, int np,
                                      const uint64_t* bc, int64_t stride, const uint64_t* bv, const uint16_t* ba,
                                      int n, int nd, int min_common, int max_dir, double* work, double* best) {
        int col;
        (void)work;
        for (int i = 0; i < np; i++)
            best[i] = shailoo_row_scalar(pc + (int64_t)i * nd, pv[i], pa[i], bc, stride, bv, ba, n, nd, min_common,
                                         max_dir, NULL, &col);
    }

    #ifdef SHAILOO_X86
    #define SHAILOO_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vpopcntdq")))
    static int shailoo_simd_available(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vpopcntdq");
    }
    /* First column j of row[0..n) (values >= 0) equal to top whose bit in used is 0 (used NULL: none excluded);
       -1 if none. One 64-bit mask per 64 columns, so no branch per block. */
    SHAILOO_AVX512 static inline int shailoo_first_eq(const double* row, int n, const uint64_t* used, double top) {
        const __m512d vt = _mm512_set1_pd(top);
        for (int w0 = 0; w0 < n; w0 += 64) {
            uint64_t bits = 0;
            int stop = n - w0 < 64 ? n - w0 : 64;
            for (int b = 0; b < stop; b += 8) {
                int left = stop - b;
                __mmask8 lanes = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
                bits |= (uint64_t)_mm512_mask_cmp_pd_mask(lanes, _mm512_maskz_loadu_pd(lanes, row + w0 + b), vt,
                                                          _CMP_EQ_OQ) << b;
            }
            if (used) bits &= ~used[w0 >> 6];
            if (bits) return w0 + __builtin_ctzll(bits);
        }
        return -1;
    }
    /* First column of the largest positive value of row[0..n) (values >= 0) among columns whose bit in used is 0,
       -1 if none (= shailoo_argmax_scalar): the largest value first (independent maxima per block), then its first
       column. */
    SHAILOO_AVX512 static int shailoo_argmax_avx512(const double* row, int n, const uint64_t* used) {
        __m512d v0 = _mm512_setzero_pd(), v1 = v0;
        for (int j0 = 0; j0 < n; j0 += 16) {
            int left = n - j0;
            __mmask8 lanes = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
            __mmask8 lanes1 = left >= 16 ? (__mmask8)0xFF : left > 8 ? (__mmask8)((1u << (left - 8)) - 1u) : 0;
            lanes &= (__mmask8)~(used[j0 >> 6] >> (j0 & 63));  /* j0 is a multiple of 8: one byte of one word */
            lanes1 &= (__mmask8)~(used[(j0 + 8) >> 6] >> ((j0 + 8) & 63));
            v0 = _mm512_max_pd(v0, _mm512_maskz_loadu_pd(lanes, row + j0));
            v1 = _mm512_max_pd(v1, _mm512_maskz_loadu_pd(lanes1, row + j0 + 8));
        }
        double top = _mm512_reduce_max_pd(_mm512_max_pd(v0, v1));
        if (!(top > 0.0)) return -1;
        return shailoo_first_eq(row, n, used, top);
    }
    /* The screening pass over one gallery template: best[i] = the largest Γ of probe cylinder i (of np, cells
       (np, nd)) among the template's n cylinders (0 if none is comparable), as shailoo_row_scalar computes it. Each
       block of 8 gallery cylinders is loaded once for all probe cylinders; work holds np x 8 running maxima. */
    SHAILOO_AVX512 static void shailoo_screen_avx512(const uint64_t* pc, const uint64_t* pv, const uint16_t* pa,
                                                     int np, const uint64_t* bc, int64_t stride, const uint64_t* bv,
                                                     const uint16_t* ba, int n, int nd, int min_common,
                                                     int max_dir, double* work, double* best) {
        const __m512i vmc = _mm512_set1_epi64(min_common), vmd = _mm512_set1_epi64(max_dir);
        const __m512i low16 = _mm512_set1_epi64(0xFFFF), turn = _mm512_set1_epi64(65536);
        __m512i wb[8];
        for (int i = 0; i < np; i++) _mm512_storeu_pd(work + 8 * i, _mm512_setzero_pd());
        for (int j0 = 0; j0 < n; j0 += 8) {
            int left = n - j0;
            __mmask8 lanes = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
            __m512i vb = _mm512_maskz_loadu_epi64(lanes, bv + j0);
            __m512i angb = _mm512_cvtepu16_epi64(_mm_maskz_loadu_epi16(lanes, ba + j0));
            for (int k = 0; k < nd; k++) wb[k] = _mm512_maskz_loadu_epi64(lanes, bc + k * stride + j0);
            for (int i = 0; i < np; i++) {
                __m512i m = _mm512_and_si512(_mm512_set1_epi64((long long)pv[i]), vb);
                __m512i d = _mm512_and_si512(_mm512_sub_epi64(_mm512_set1_epi64(pa[i]), angb), low16);
                d = _mm512_min_epi64(d, _mm512_sub_epi64(turn, d));
                __mmask8 ok = _mm512_mask_cmple_epi64_mask(lanes, d, vmd);
                ok = _mm512_mask_cmpge_epi64_mask(ok, _mm512_popcnt_epi64(m), vmc);
                if (!ok) continue;
                __m512i sa = _mm512_setzero_si512(), sb = sa, sx = sa;
                const uint64_t* ca = pc + (int64_t)i * nd;
                for (int k = 0; k < nd; k++) {
                    __m512i wa = _mm512_and_si512(_mm512_set1_epi64((long long)ca[k]), m);
                    __m512i wbk = _mm512_and_si512(wb[k], m);
                    sa = _mm512_add_epi64(sa, _mm512_popcnt_epi64(wa));
                    sb = _mm512_add_epi64(sb, _mm512_popcnt_epi64(wbk));
                    sx = _mm512_add_epi64(sx, _mm512_popcnt_epi64(_mm512_xor_si512(wa, wbk)));
                }
                __m512d denom = _mm512_add_pd(_mm512_i32gather_pd(_mm512_cvtepi64_epi32(sa), shailoo_sqrt_t, 8),
                                              _mm512_i32gather_pd(_mm512_cvtepi64_epi32(sb), shailoo_sqrt_t, 8));
                ok = _mm512_mask_cmp_pd_mask(ok, denom, _mm512_setzero_pd(), _CMP_GT_OQ);
                __m512d g = _mm512_maskz_sub_pd(ok, _mm512_set1_pd(1.0), _mm512_maskz_div_pd(ok,
                                _mm512_i32gather_pd(_mm512_cvtepi64_epi32(sx), shailoo_sqrt_t, 8), denom));
                _mm512_storeu_pd(work + 8 * i, _mm512_max_pd(_mm512_loadu_pd(work + 8 * i), g));
            }
        }
        for (int i = 0; i < np; i++) best[i] = _mm512_reduce_max_pd(_mm512_loadu_pd(work + 8 * i));
    }
    /* shailoo_seg for 8 vectors at once (the same integer and IEEE operations). */
    SHAILOO_AVX512 static inline __m256i shailoo_seg8(__m256i dx, __m256i dy_up, const int32_t* atan, int n_atan) {
        const __m256i zero = _mm256_setzero_si256();
        __m256i ax = _mm256_abs_epi32(dx), ay = _mm256_abs_epi32(dy_up);
        __m256i big = _mm256_max_epi32(ax, ay), small = _mm256_min_epi32(ax, ay);
        __m512d ratio = _mm512_maskz_div_pd(_mm256_cmpgt_epi32_mask(big, zero), _mm512_cvtepi32_pd(small),
                                            _mm512_cvtepi32_pd(big));
        __m256i idx = _mm512_cvttpd_epi32(_mm512_add_pd(_mm512_mul_pd(ratio, _mm512_set1_pd((double)(n_atan - 1))),
                                                        _mm512_set1_pd(0.5)));
        __m256i base = _mm256_mmask_i32gather_epi32(zero, (__mmask8)0xFF, idx, atan, 4);
        base = _mm256_mask_sub_epi32(base, _mm256_cmplt_epi32_mask(ax, ay), _mm256_set1_epi32(16384), base);
        base = _mm256_mask_sub_epi32(base, _mm256_cmplt_epi32_mask(dx, zero), _mm256_set1_epi32(32768), base);
        base = _mm256_mask_sub_epi32(base, _mm256_cmplt_epi32_mask(dy_up, zero), zero, base);
        return _mm256_and_si256(base, _mm256_set1_epi32(0xFFFF));
    }
    SHAILOO_AVX512 static inline __m256i shailoo_circ8(__m256i d) {
        d = _mm256_and_si256(d, _mm256_set1_epi32(0xFFFF));
        return _mm256_min_epi32(d, _mm256_sub_epi32(_mm256_set1_epi32(65536), d));
    }
    /* ρ of every two of the n selected pairs (shailoo_rho_scalar for t = 0 .. n - 2), 8 pairs per instruction, the
       same integer and IEEE operations, tables read by gathers; returns the length of the list. Two passes: the
       first computes, for every pair (t, u), the table indices of Z(d1) and Z(d2) and keeps the pairs where both
       are below the tables' zero tails (nz1, nz2) in work (4 lists of up to n (n - 1) / 2 + 8 entries); the second
       does the rest (segment directions, Z(d3)) for those few, 8 at a time. The second pass writes the (u, t) entries
       of 8 pairs before their (t, u) entries: the pairs come ordered by t then u, so every row i still gets its
       entries in increasing j (the (i, j < i) ones come from pairs (j, i), all before the pairs (i, u)), all the
       relaxation needs. The compressed stores write 8 values: the lists have 8 spare slots. */
    SHAILOO_AVX512 static int shailoo_rho_avx512(int n, const shailoo_rho_in* in, int32_t* oi, int32_t* oj,
                                                 double* ov, int32_t* work, int64_t* attr) {
        const int32_t *ri = in->ri, *jx = in->jx, *jy = in->jy, *ia = in->ia, *ja = in->ja;
        const int np = in->np, shift = in->shift, cap = n * (n - 1) / 2 + 8;
        int32_t *w_tu = work, *w_pidx = work + cap, *w_k1 = work + 2 * cap, *w_k2 = work + 3 * cap;
        const __m256i low16 = _mm256_set1_epi32(0xFFFF), vhalf = _mm256_set1_epi32(in->half);
        const __m256i kmax = _mm256_set1_epi32(in->n1 - 1), nz1 = _mm256_set1_epi32(in->nz1);
        const __m256i nz2 = _mm256_set1_epi32(in->nz2), hturn = _mm256_set1_epi32(32768);
        const __m256i lane = _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0);
        const __m512d vq = _mm512_set1_pd(in->q1), rnd = _mm512_set1_pd(0.5), zd = _mm512_setzero_pd();
        int m = 0, k = 0;
        for (int t = 0; t < n; t++)
            attr[t] = (int64_t)(uint16_t)jx[t] | ((int64_t)(uint16_t)jy[t] << 16) | ((int64_t)(uint16_t)ia[t] << 32)
                      | ((int64_t)(uint16_t)ja[t] << 48);
        for (int t = 0; t + 1 < n; t++) {
            const __m256i xt = _mm256_set1_epi32(jx[t]), yt = _mm256_set1_epi32(jy[t]);
            const __m256i rt = _mm256_set1_epi32(ri[t] * np), dt = _mm256_set1_epi32(ia[t] - ja[t]);
            const __m256i tt = _mm256_set1_epi32(t << 16);
            for (int u0 = t + 1; u0 < n; u0 += 8) {
                int left = n - u0;
                __mmask8 lanes = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
                __m256i dx = _mm256_sub_epi32(_mm256_maskz_loadu_epi32(lanes, jx + u0), xt);
                __m256i dy = _mm256_sub_epi32(_mm256_maskz_loadu_epi32(lanes, jy + u0), yt);
                __m256i sq = _mm256_add_epi32(_mm256_mullo_epi32(dx, dx), _mm256_mullo_epi32(dy, dy));
                __m512d db = _mm512_sqrt_pd(_mm512_cvtepi32_pd(sq));
                __m256i pidx = _mm256_add_epi32(rt, _mm256_maskz_loadu_epi32(lanes, ri + u0));
                __m512d da = _mm512_mask_i32gather_pd(zd, lanes, pidx, in->pdist, 8);
                __m512d d1 = _mm512_abs_pd(_mm512_sub_pd(da, db));
                __m256i k1 = _mm512_cvttpd_epi32(_mm512_add_pd(_mm512_mul_pd(d1, vq), rnd));
                k1 = _mm256_min_epi32(k1, kmax);
                /* (ia[t] - ia[u]) - (ja[t] - ja[u]) = (ia[t] - ja[t]) - (ia[u] - ja[u]) in wrapping integers */
                __m256i du = _mm256_sub_epi32(_mm256_maskz_loadu_epi32(lanes, ia + u0),
                                              _mm256_maskz_loadu_epi32(lanes, ja + u0));
                __m256i k2 = _mm256_srai_epi32(_mm256_add_epi32(shailoo_circ8(_mm256_sub_epi32(dt, du)), vhalf), shift);
                __mmask8 keep = _mm256_mask_cmplt_epi32_mask(_mm256_mask_cmplt_epi32_mask(lanes, k1, nz1), k2, nz2);
                _mm256_storeu_si256((__m256i*)(w_tu + m),
                                    _mm256_maskz_compress_epi32(keep, _mm256_add_epi32(tt, _mm256_add_epi32(
                                        _mm256_set1_epi32(u0), lane))));
                _mm256_storeu_si256((__m256i*)(w_pidx + m), _mm256_maskz_compress_epi32(keep, pidx));
                _mm256_storeu_si256((__m256i*)(w_k1 + m), _mm256_maskz_compress_epi32(keep, k1));
                _mm256_storeu_si256((__m256i*)(w_k2 + m), _mm256_maskz_compress_epi32(keep, k2));
                m += __builtin_popcount(keep);
            }
        }
        for (int p0 = 0; p0 < m; p0 += 8) {
            int left = m - p0;
            __mmask8 lanes = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
            __m256i tu = _mm256_maskz_loadu_epi32(lanes, w_tu + p0);
            __m256i t = _mm256_srli_epi32(tu, 16), u = _mm256_and_si256(tu, low16);
            __m512i at = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), lanes, t, attr, 8);
            __m512i au = _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), lanes, u, attr, 8);
            /* x, y: signed 16 bits; directions: unsigned 16 bits */
            __m256i xt = _mm512_cvtepi64_epi32(_mm512_srai_epi64(_mm512_slli_epi64(at, 48), 48));
            __m256i yt = _mm512_cvtepi64_epi32(_mm512_srai_epi64(_mm512_slli_epi64(at, 32), 48));
            __m256i iat = _mm512_cvtepi64_epi32(_mm512_and_si512(_mm512_srli_epi64(at, 32), _mm512_set1_epi64(0xFFFF)));
            __m256i jat = _mm512_cvtepi64_epi32(_mm512_srli_epi64(at, 48));
            __m256i xu = _mm512_cvtepi64_epi32(_mm512_srai_epi64(_mm512_slli_epi64(au, 48), 48));
            __m256i yu = _mm512_cvtepi64_epi32(_mm512_srai_epi64(_mm512_slli_epi64(au, 32), 48));
            __m256i iau = _mm512_cvtepi64_epi32(_mm512_and_si512(_mm512_srli_epi64(au, 32), _mm512_set1_epi64(0xFFFF)));
            __m256i jau = _mm512_cvtepi64_epi32(_mm512_srli_epi64(au, 48));
            __m256i dx = _mm256_sub_epi32(xu, xt), dy = _mm256_sub_epi32(yu, yt);
            __m512d z12 = _mm512_mul_pd(
                _mm512_mask_i32gather_pd(zd, lanes, _mm256_maskz_loadu_epi32(lanes, w_k1 + p0), in->z1, 8),
                _mm512_mask_i32gather_pd(zd, lanes, _mm256_maskz_loadu_epi32(lanes, w_k2 + p0), in->z2, 8));
            __m256i seg_a = _mm256_mmask_i32gather_epi32(_mm256_setzero_si256(), lanes,
                                                         _mm256_maskz_loadu_epi32(lanes, w_pidx + p0), in->pseg, 4);
            __m256i seg_b = shailoo_seg8(dx, _mm256_sub_epi32(_mm256_setzero_si256(), dy), in->atan, in->n_atan);
            __m256i c1 = shailoo_circ8(_mm256_sub_epi32(_mm256_sub_epi32(iat, seg_a), _mm256_sub_epi32(jat, seg_b)));
            __m512d vtu = _mm512_mul_pd(z12, _mm512_mask_i32gather_pd(zd, lanes,
                              _mm256_srai_epi32(_mm256_add_epi32(c1, vhalf), shift), in->z3, 8));
            __m256i sa2 = _mm256_and_si256(_mm256_add_epi32(seg_a, hturn), low16);
            __m256i sb2 = _mm256_and_si256(_mm256_add_epi32(seg_b, hturn), low16);
            __m256i c2 = shailoo_circ8(_mm256_sub_epi32(_mm256_sub_epi32(iau, sa2), _mm256_sub_epi32(jau, sb2)));
            __m512d vut = _mm512_mul_pd(z12, _mm512_mask_i32gather_pd(zd, lanes,
                              _mm256_srai_epi32(_mm256_add_epi32(c2, vhalf), shift), in->z3, 8));
            __mmask8 m1 = _mm512_mask_cmp_pd_mask(lanes, vtu, zd, _CMP_NEQ_OQ);
            __mmask8 m2 = _mm512_mask_cmp_pd_mask(lanes, vut, zd, _CMP_NEQ_OQ);
            _mm512_storeu_pd(ov + k, _mm512_maskz_compress_pd(m2, vut));
            _mm256_storeu_si256((__m256i*)(oi + k), _mm256_maskz_compress_epi32(m2, u));
            _mm256_storeu_si256((__m256i*)(oj + k), _mm256_maskz_compress_epi32(m2, t));
            k += __builtin_popcount(m2);
            _mm512_storeu_pd(ov + k, _mm512_maskz_compress_pd(m1, vtu));
            _mm256_storeu_si256((__m256i*)(oi + k), _mm256_maskz_compress_epi32(m1, t));
            _mm256_storeu_si256((__m256i*)(oj + k), _mm256_maskz_compress_epi32(m1, u));
            k += __builtin_popcount(m1);
        }
        return k;
    }
    /* shailoo_row_scalar with the popcounts of 8 gallery cylinders per instruction (AVX-512 VPOPCNTDQ); the
       integer counts are the same, Γ is computed by the same scalar formula, so the result is identical. out must
       not be NULL here: the row's first column of its maximum is found in it afterwards (shailoo_first_eq). */
    SHAILOO_AVX512 static double shailoo_row_avx512(const uint64_t* ca, uint64_t va, int aa, const uint64_t* bc,
                                                    int64_t stride, const uint64_t* bv, const uint16_t* ba, int n,
                                                    int nd, int min_common, int max_dir, double* out, int* best) {
        __m512d vtop = _mm512_setzero_pd();
        const __m512i vva = _mm512_set1_epi64((long long)va), vaa = _mm512_set1_epi64(aa);
        const __m512i vmc = _mm512_set1_epi64(min_common), vmd = _mm512_set1_epi64(max_dir);
        const __m512i low16 = _mm512_set1_epi64(0xFFFF), turn = _mm512_set1_epi64(65536);
        for (int j0 = 0; j0 < n; j0 += 8) {
            int left = n - j0;
            __mmask8 lanes = left >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
            __m512i m = _mm512_and_si512(vva, _mm512_maskz_loadu_epi64(lanes, bv + j0));
            __mmask8 ok = _mm512_mask_cmpge_epi64_mask(lanes, _mm512_popcnt_epi64(m), vmc);
            __m512i d = _mm512_cvtepu16_epi64(_mm_maskz_loadu_epi16(lanes, ba + j0));
            d = _mm512_and_si512(_mm512_sub_epi64(vaa, d), low16);
            d = _mm512_min_epi64(d, _mm512_sub_epi64(turn, d));
            ok = _mm512_mask_cmple_epi64_mask(ok, d, vmd);
            if (!ok) { _mm512_mask_storeu_pd(out + j0, lanes, _mm512_setzero_pd()); continue; }
            __m512i sa = _mm512_setzero_si512(), sb = sa, sx = sa;
            for (int k = 0; k < nd; k++) {
                __m512i wa = _mm512_and_si512(_mm512_set1_epi64((long long)ca[k]), m);
                __m512i wb = _mm512_and_si512(_mm512_maskz_loadu_epi64(lanes, bc + k * stride + j0), m);
                sa = _mm512_add_epi64(sa, _mm512_popcnt_epi64(wa));
                sb = _mm512_add_epi64(sb, _mm512_popcnt_epi64(wb));
                sx = _mm512_add_epi64(sx, _mm512_popcnt_epi64(_mm512_xor_si512(wa, wb)));
            }
            // Γ of the 8 lanes at once: the same IEEE operations as shailoo_gamma (sqrt from the same table).
            __m512d denom = _mm512_add_pd(_mm512_i32gather_pd(_mm512_cvtepi64_epi32(sa), shailoo_sqrt_t, 8),
                                          _mm512_i32gather_pd(_mm512_cvtepi64_epi32(sb), shailoo_sqrt_t, 8));
            ok = _mm512_mask_cmp_pd_mask(ok, denom, _mm512_setzero_pd(), _CMP_GT_OQ);
            __m512d g = _mm512_maskz_sub_pd(ok, _mm512_set1_pd(1.0), _mm512_maskz_div_pd(ok,
                            _mm512_i32gather_pd(_mm512_cvtepi64_epi32(sx), shailoo_sqrt_t, 8), denom));
            _mm512_mask_storeu_pd(out + j0, lanes, g);
            vtop = _mm512_max_pd(vtop, g);
        }
        double top = _mm512_reduce_max_pd(vtop);
        if (!(top > 0.0)) { *best = -1; return 0.0; }
        *best = shailoo_first_eq(out, n, NULL, top);
        return top;
    }
    #else
    static int shailoo_simd_available(void) { return 0; }
    static void shailoo_screen_avx512(const uint64_t* pc, const uint64_t* pv, const uint16_t* pa, int np,
                                      const uint64_t* bc, int64_t stride, const uint64_t* bv, const uint16_t* ba,
                                      int n, int nd, int min_common, int max_dir, double* work, double* best) {
        shailoo_screen_scalar(pc, pv, pa, np, bc, stride, bv, ba, n, nd, min_common, max_dir, work, best);
    }
    static int shailoo_argmax_avx512(const double* row, int n, const uint64_t* used) {
        return shailoo_argmax_scalar(row, n, used);
    }
    static int shailoo_rho_avx512(int n, const shailoo_rho_in* in, int32_t* oi, int32_t* oj, double* ov,
                                  int32_t* work, int64_t* attr) {
        (void)work; (void)attr;
        int k = 0;
        for (int t = 0; t + 1 < n; t++) k += shailoo_rho_scalar(t, n, in, oi + k, oj + k, ov + k);
        return k;
    }
    static double shailoo_row_avx512(const uint64_t* ca, uint64_t va, int aa, const uint64_t* bc, int64_t stride,
                                     const uint64_t* bv, const uint16_t* ba, int n, int nd, int min_common,
                                     int max_dir, double* out, int* best) {
        return shailoo_row_scalar(ca, va, aa, bc, stride, bv, ba, n, nd, min_common, max_dir, out, best);
    }
    #endif

    static inline double shailoo_row(int simd, const uint64_t* ca, uint64_t va, int aa, const uint64_t* bc,
                                     int64_t stride, const uint64_t* bv, const uint16_t* ba, int n, int nd,
                                     int min_common, int max_dir, double* out, int* best) {
        if (simd) return shailoo_row_avx512(ca, va, aa, bc, stride, bv, ba, n, nd, min_common, max_dir, out, best);
        return shailoo_row_scalar(ca, va, aa, bc, stride, bv, ba, n, nd, min_common, max_dir, out, best);
    }
    static inline int shailoo_argmax(int simd, const double* row, int n, const uint64_t* used) {
        return simd ? shailoo_argmax_avx512(row, n, used) : shailoo_argmax_scalar(row, n, used);
    }
    static inline void shailoo_screen(int simd, const uint64_t* pc, const uint64_t* pv, const uint16_t* pa, int np,
                                      const uint64_t* bc, int64_t stride, const uint64_t* bv, const uint16_t* ba,
                                      int n, int nd, int min_common, int max_dir, double* work, double* best) {
        if (simd) shailoo_screen_avx512(pc, pv, pa, np, bc, stride, bv, ba, n, nd, min_common, max_dir, work, best);
        else shailoo_screen_scalar(pc, pv, pa, np, bc, stride, bv, ba, n, nd, min_common, max_dir, work, best);
    }
    /* ρ of every two of the n selected pairs into the list oi / oj / ov (non-zero values only); returns its length.
       work: 4 (n (n - 1) / 2 + 8) int32, attr: n int64 (scratch of the AVX-512 path). */
    static inline int shailoo_rho(int simd, int n, const shailoo_rho_in* in, int32_t* oi, int32_t* oj, double* ov,
                                  int32_t* work, int64_t* attr) {
        if (simd) return shailoo_rho_avx512(n, in, oi, oj, ov, work, attr);
        int k = 0;
        for (int t = 0; t + 1 < n; t++) k += shailoo_rho_scalar(t, n, in, oi + k, oj + k, ov + k);
        return k;
    }
    """
    void shailoo_screen(int simd, const uint64_t* pc, const uint64_t* pv, const uint16_t* pa, int np,
                        const uint64_t* bc, int64_t stride, const uint64_t* bv, const uint16_t* ba, int n, int nd,
                        int min_common, int max_dir, double* work, double* best) noexcept nogil
    ctypedef struct shailoo_rho_in:
        const int32_t* ri
        const int32_t* jx
        const int32_t* jy
        const int32_t* ia
        const int32_t* ja
        const double* pdist
        const int32_t* pseg
        int np
        const double* z1
        const double* z2
        const double* z3
        const int32_t* atan
        int n1
        int n_atan
        int shift
        int half
        int nz1
        int nz2
        double q1
    int shailoo_rho(int simd, int n, const shailoo_rho_in* inp, int32_t* oi, int32_t* oj, double* ov,
                    int32_t* work, int64_t* attr) noexcept nogil
    int shailoo_seg(const int32_t* atan, int n_atan, int dx, int dy_up) noexcept nogil
    int shailoo_argmax(int simd, const double* row, int n, const uint64_t* used) noexcept nogil
    int shailoo_max_threads() noexcept nogil
    int shailoo_simd_available() noexcept nogil
    void shailoo_init_sqrt() noexcept nogil
    double shailoo_row(int simd, const uint64_t* ca, uint64_t va, int aa, const uint64_t* bc, int64_t stride,
                       const uint64_t* bv, const uint16_t* ba, int n, int nd, int min_common, int max_dir,
                       double* out, int* best) noexcept nogil


shailoo_init_sqrt()
cdef int SIMD_AVAILABLE = shailoo_simd_available()


def simd_available() -> bool:
    """Whether this CPU runs the AVX-512 VPOPCNTDQ path (chosen at run time; the scalar path gives equal scores)."""
    return bool(SIMD_AVAILABLE)


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


cdef struct Probe:
    # The probe's cylinders, (n, nd) cells, plus what LSS-R needs of every two of its minutiae, computed once per
    # call: distance (px, sqrt of the integer squared distance) and direction of the segment i -> j (steps).
    const int16_t* x
    const int16_t* y
    const uint16_t* angle
    const uint64_t* cells
    const uint64_t* valid
    Py_ssize_t n
    double* dist
    int32_t* seg


cdef struct Cand:
    # One gallery template: pointers into the gallery's arrays, cells in (nd, stride) layout.
    const int16_t* x
    const int16_t* y
    const uint16_t* angle
    const uint64_t* cells
    const uint64_t* valid
    int64_t stride
    Py_ssize_t n


cdef struct Tables:
    # Z(d1) on 1/q px steps (n1 entries), Z(d2) and Z(d3) on 2^shift / 65536-turn steps, octant atan table
    # (n_atan entries, in steps): see fingerprint.mcc_bits.relax_tables. Entries below the floor are exactly 0.
    const double* z1
    const double* z2
    const double* z3
    const int32_t* atan
    Py_ssize_t n1
    Py_ssize_t n_atan
    double q1
    int shift          # angle differences are rounded by this shift before the z2 / z3 lookups
    int half
    int nz1            # z1[k] is 0 for every k >= nz1 (past the floor), z2[k] for every k >= nz2
    int nz2


cdef struct Scratch:
    double* gval       # dense local similarity matrix n_A x n_B
    double* hval       # each row's key: its best similarity among unused columns (0: row done) ...
    int* hidx          # ... and that column
    int* order         # rows with a positive key, by key decreasing (see _greedy_pairs) ...
    double* okey       # ... and their keys (a copy, so the list's comparisons do not chase hval[order[q]])
    uint64_t* used_b   # gallery columns already paired, one bit each
    int* rows
    int* cols
    double* lam0
    double* lam
    double* tmp
    double* acc
    # The non-zero ρ(i, j) as a list (i, j, value) in the order _compatibility finds them (pair t, then each later
    # pair u: (t, u) and (u, t)), which for every i is increasing j: the relaxation's sums, taken down this list, add
    # the same terms in the same order as the dense loop over j, leaving out the 0·λ terms (exact: adding +0.0 to
    # a sum of non-negative terms changes nothing). An impostor comparison has a few dozen of the n_R² entries.
    int32_t* rho_i
    int32_t* rho_j
    double* rho_v
    int32_t* rho_work  # scratch of shailoo_rho_avx512: 4 lists of n (n - 1) / 2 + 8 pairs
    int64_t* rho_attr  # ... and each selected pair's positions and directions packed in 64 bits
    int* top
    int32_t* ri        # per selected pair: probe minutia, gallery minutia x, y, directions (steps) ...
    int32_t* jx
    int32_t* jy
    int32_t* ia
    int32_t* ja        # (the inputs of ρ)


cdef int scratch_init(Scratch* s, Py_ssize_t max_a, Py_ssize_t max_b) noexcept nogil:
    cdef Py_ssize_t pairs = max_a * max_b + 1
    cdef Py_ssize_t n = (max_a if max_a < max_b else max_b) + 1
    s.gval = <double*> malloc(pairs * sizeof(double))
    s.hval = <double*> malloc((max_a + 1) * sizeof(double))
    s.hidx = <int*> malloc((max_a + 1) * sizeof(int))
    s.order = <int*> malloc((max_a + 1) * sizeof(int))
    s.okey = <double*> malloc((max_a + 1) * sizeof(double))
    s.used_b = <uint64_t*> malloc(((max_b + 63) // 64 + 1) * sizeof(uint64_t))
    s.rows = <int*> malloc(n * sizeof(int))
    s.cols = <int*> malloc(n * sizeof(int))
    s.lam0 = <double*> malloc(n * sizeof(double))
    s.lam = <double*> malloc(n * sizeof(double))
    s.tmp = <double*> malloc(n * sizeof(double))
    s.acc = <double*> malloc(n * sizeof(double))
    s.rho_i = <int32_t*> malloc((n * n + 8) * sizeof(int32_t))  # + 8: shailoo_rho_avx512's full-width stores
    s.rho_j = <int32_t*> malloc((n * n + 8) * sizeof(int32_t))
    s.rho_v = <double*> malloc((n * n + 8) * sizeof(double))
    s.rho_work = <int32_t*> malloc(4 * (n * n + 8) * sizeof(int32_t))
    s.rho_attr = <int64_t*> malloc((n + 8) * sizeof(int64_t))
    s.top = <int*> malloc((n + 64) * sizeof(int))
    s.ri = <int32_t*> malloc(5 * n * sizeof(int32_t))
    if s.ri != NULL:
        s.jx = s.ri + n
        s.jy = s.ri + 2 * n
        s.ia = s.ri + 3 * n
        s.ja = s.ri + 4 * n
    if (s.gval == NULL or s.hval == NULL or s.hidx == NULL or s.order == NULL or s.okey == NULL or s.used_b == NULL or s.rows == NULL
            or s.cols == NULL or s.lam0 == NULL or s.lam == NULL or s.tmp == NULL or s.acc == NULL
            or s.rho_i == NULL or s.rho_j == NULL or s.rho_v == NULL or s.rho_work == NULL or s.rho_attr == NULL or s.top == NULL or s.ri == NULL):
        return -1
    return 0


cdef void scratch_free(Scratch* s) noexcept nogil:
    free(s.gval); free(s.hval); free(s.hidx); free(s.order); free(s.okey); free(s.used_b); free(s.rows); free(s.cols)
    free(s.lam0); free(s.lam); free(s.tmp); free(s.acc); free(s.rho_i); free(s.rho_j); free(s.rho_v); free(s.rho_work); free(s.rho_attr); free(s.top); free(s.ri);


cdef inline double _round_even(double v) noexcept nogil:
    # Python's round() (half to even) for the non-negative values of n_P.
    cdef double f = <double> (<long long> v)
    cdef double diff = v - f
    if diff > 0.5:
        return f + 1.0
    if diff < 0.5:
        return f
    return f if (<long long> f) % 2 == 0 else f + 1.0


cdef Py_ssize_t _greedy_pairs(const Probe* a, const Cand* b, Py_ssize_t nd, const double* prm, Scratch* s,
                              int simd) noexcept nogil:
    """Γ matrix (eq. 17-18, bit form) and the greedy one-to-one pairs of the oracle (decreasing Γ, ties by row-major
    index), into s.rows / s.cols / s.lam0; returns their number."""
    cdef Py_ssize_t i, j, n_r, q, head, count
    cdef Py_ssize_t n_min = a.n if a.n < b.n else b.n
    cdef int min_common = <int> prm[P_MIN_COMMON]
    cdef int max_dir = <int> prm[P_MAX_DIR_STEPS]
    cdef int r, c
    cdef double key
    cdef int* order = s.order
    cdef double* okey = s.okey
    for j in range((b.n + 63) // 64):
        s.used_b[j] = 0
    # Each row's best column comes with the row (first column of the maximum), its key. The next pair is the row whose
    # key is largest, the first such row on ties (= the smallest flat index r * n_B + c, the oracle's stable order); a
    # stale key (its column got used meanwhile) is refreshed by rescanning the row among unused columns. Stale keys
    # are never below the true value, so the largest fresh key is the global next pair. The rows with a positive key
    # are kept in s.order[head:count] sorted by (key decreasing, row increasing): the next candidate is the head; a
    # refreshed row moves down to its new place, a paired or exhausted row leaves.
    count = 0
    for i in range(a.n):
        key = shailoo_row(simd, a.cells + i * nd, a.valid[i], a.angle[i], b.cells, b.stride, b.valid,
                          b.angle, <int> b.n, <int> nd, min_common, max_dir, s.gval + i * b.n, &c)
        s.hval[i] = key
        s.hidx[i] = c
        if c < 0:
            continue
        # Rows arrive in increasing order: an equal key stays in front.
        q = count
        while q > 0 and okey[q - 1] < key:
            order[q] = order[q - 1]
            okey[q] = okey[q - 1]
            q -= 1
        order[q] = <int> i
        okey[q] = key
        count += 1
    n_r = 0
    head = 0
    while n_r < n_min and head < count:
        r = order[head]
        head += 1
        c = s.hidx[r]
        if (s.used_b[c >> 6] >> (c & 63)) & 1:
            c = shailoo_argmax(simd, s.gval + r * b.n, <int> b.n, s.used_b)
            if c < 0:
                continue
            key = s.gval[r * b.n + c]
            s.hidx[r] = c
            s.hval[r] = key
            # Back into the list (the slot before the head is free): after every row of larger key, or of equal key
            # and smaller index.
            q = head
            while q < count and (okey[q] > key or (okey[q] == key and order[q] < r)):
                order[q - 1] = order[q]
                okey[q - 1] = okey[q]
                q += 1
            order[q - 1] = r
            okey[q - 1] = key
            head -= 1
            continue
        s.used_b[c >> 6] |= (<uint64_t> 1) << (c & 63)
        s.rows[n_r] = r
        s.cols[n_r] = c
        s.lam0[n_r] = s.hval[r]
        n_r += 1
    return n_r


cdef Py_ssize_t _compatibility(const Probe* a, const Cand* b, const Tables* tb, Py_ssize_t n_r, Scratch* s,
                               int simd) noexcept nogil:
    """ρ of every two selected pairs (eq. 21-23) from the tables on quantised inputs
    (fingerprint.mcc_bits.compatibility): the non-zero values into the list s.rho_i / rho_j / rho_v (see Scratch),
    returns its length. The probe's distances and segment directions come precomputed."""
    cdef Py_ssize_t t
    cdef shailoo_rho_in rin
    for t in range(n_r):
        s.ri[t] = s.rows[t]
        s.jx[t] = b.x[s.cols[t]]
        s.jy[t] = b.y[s.cols[t]]
        s.ia[t] = a.angle[s.rows[t]]
        s.ja[t] = b.angle[s.cols[t]]
    rin.ri = s.ri
    rin.jx = s.jx
    rin.jy = s.jy
    rin.ia = s.ia
    rin.ja = s.ja
    rin.pdist = a.dist
    rin.pseg = a.seg
    rin.np = <int> a.n
    rin.z1 = tb.z1
    rin.z2 = tb.z2
    rin.z3 = tb.z3
    rin.atan = tb.atan
    rin.n1 = <int> tb.n1
    rin.n_atan = <int> tb.n_atan
    rin.shift = tb.shift
    rin.half = tb.half
    rin.q1 = tb.q1
    rin.nz1 = tb.nz1
    rin.nz2 = tb.nz2
    return shailoo_rho(simd, <int> n_r, &rin, s.rho_i, s.rho_j, s.rho_v, s.rho_work, s.rho_attr)


cdef double _score(const Probe* a, const Cand* b, Py_ssize_t nd, const double* prm, const Tables* tb,
                   Scratch* s, int simd) noexcept nogil:
    """LSS-R global score (§4.3) of two bit-cylinder sets; mirrors fingerprint.mcc_bits.compare_bits."""
    cdef Py_ssize_t n_min, i, j, t, n_r, n_pairs, it, filled, pos, keep, k, n_rho
    cdef double z, w, lj, e, total
    cdef double* lam
    cdef double* tmp
    cdef double* swap
    if a.n == 0 or b.n == 0:
        return 0.0
    n_min = a.n if a.n < b.n else b.n
    z = 1.0 / (1.0 + exp(-prm[P_TAU_P] * (<double> n_min - prm[P_MU_P])))
    n_pairs = <Py_ssize_t> prm[P_MIN_NP] + <Py_ssize_t> _round_even(z * (prm[P_MAX_NP] - prm[P_MIN_NP]))
    n_r = _greedy_pairs(a, b, nd, prm, s, simd)
    if n_r == 0:
        return 0.0
    n_rho = _compatibility(a, b, tb, n_r, s, simd)
    # Relaxation (eq. 20): λ_i <- w λ_i + (1 - w) Σ_j ρ(i, j) λ_j / (n_R - 1). Each sum runs over j in increasing
    # order, the zero terms left out (the list of non-zero ρ, see Scratch).
    w = prm[P_WEIGHT]
    lam = s.lam
    tmp = s.tmp
    for t in range(n_r):
        lam[t] = s.lam0[t]
    for it in range(<Py_ssize_t> prm[P_ITER]):
        if n_r > 1:
            for i in range(n_r):
                s.acc[i] = 0.0
            for k in range(n_rho):
                s.acc[s.rho_i[k]] += s.rho_v[k] * lam[s.rho_j[k]]
            for i in range(n_r):
                s.acc[i] = s.acc[i] / <double> (n_r - 1)
        else:
            s.acc[0] = 0.0
        for i in range(n_r):
            tmp[i] = w * lam[i] + (1.0 - w) * s.acc[i]
        swap = lam
        lam = tmp
        tmp = swap
    # Efficiency ε = λ^n_rel / λ^0; the n_P pairs of largest ε (ties: lower pair first, the oracle's stable sort),
    # kept sorted by insertion; the score is their mean λ.
    keep = n_r if n_r < n_pairs else n_pairs
    filled = 0
    for t in range(n_r):
        e = lam[t] / s.lam0[t]
        s.acc[t] = e
        if filled < keep:
            pos = filled
            filled += 1
        elif e > s.acc[s.top[keep - 1]]:
            pos = keep - 1
        else:
            continue
        while pos > 0 and s.acc[s.top[pos - 1]] < e:
            s.top[pos] = s.top[pos - 1]
            pos -= 1
        s.top[pos] = <int> t
    total = 0.0
    for t in range(filled):
        total += lam[s.top[t]]
    total = total / <double> n_pairs
    if total < 0.0:
        return 0.0
    if total > 1.0:
        return 1.0
    return total


cdef int _probe_init(Probe* a, const Tables* tb) noexcept nogil:
    """The probe's pairwise distances and segment directions (allocated here, freed by _probe_free)."""
    cdef Py_ssize_t i, j, n = a.n
    cdef int dx, dy
    a.dist = <double*> malloc((n * n + 1) * sizeof(double))
    a.seg = <int32_t*> malloc((n * n + 1) * sizeof(int32_t))
    if a.dist == NULL or a.seg == NULL:
        return -1
    for i in range(n):
        for j in range(n):
            dx = a.x[j] - a.x[i]
            dy = a.y[j] - a.y[i]
            a.dist[i * n + j] = sqrt(<double> (dx * dx + dy * dy))
            a.seg[i * n + j] = shailoo_seg(tb.atan, <int> tb.n_atan, dx, -dy)
    return 0


cdef void _probe_free(Probe* a) noexcept nogil:
    free(a.dist)
    free(a.seg)
    a.dist = NULL
    a.seg = NULL


cdef inline Cand _cand(const int16_t[::1] x, const int16_t[::1] y, const uint16_t[::1] angle,
                       const uint64_t[:, ::1] cells, const uint64_t[::1] valid, Py_ssize_t start,
                       Py_ssize_t stop) noexcept nogil:
    cdef Cand c
    c.n = stop - start
    c.stride = cells.shape[1]
    if c.n <= 0:
        c.n = 0
        c.x = NULL; c.y = NULL; c.angle = NULL; c.cells = NULL; c.valid = NULL
        return c
    c.x = &x[start]
    c.y = &y[start]
    c.angle = &angle[start]
    c.cells = &cells[0, start]
    c.valid = &valid[start]
    return c


cdef int _use_simd(int simd) noexcept nogil:
    return 1 if simd and SIMD_AVAILABLE else 0


def score_many(
    const int16_t[::1] px, const int16_t[::1] py, const uint16_t[::1] pangle,
    const uint64_t[:, ::1] pcells, const uint64_t[::1] pvalid,
    const int64_t[::1] offsets,
    const int16_t[::1] gx, const int16_t[::1] gy, const uint16_t[::1] gangle,
    const uint64_t[:, ::1] gcells, const uint64_t[::1] gvalid,
    const int64_t[::1] rows, const double[::1] params,
    const double[::1] z1, const double[::1] z2, const double[::1] z3, const int32_t[::1] atan, double q1, int shift,
    double[::1] out, int threads, int simd,
) -> int:
    """Score the probe (cells (n, N_D)) against gallery templates ``rows`` (indices into ``offsets``; gallery cells
    (N_D, C)), in parallel, GIL released.

    ``out[i]`` receives the score of template ``rows[i]``. ``threads`` <= 0 means all cores; ``simd`` 0 forces the
    scalar popcount path. Returns a status code: 0 ok, -1 out of memory, -2 bad parameters.
    """
    cdef Py_ssize_t i, t, nd = pcells.shape[1], n_rows = rows.shape[0], n_templates = offsets.shape[0] - 1
    cdef Py_ssize_t max_b = 0, span
    cdef Probe probe
    cdef Cand cand
    cdef Scratch* sp
    cdef int failed[1]
    cdef int local, use_simd = _use_simd(simd)
    cdef const double* prm
    cdef Tables tb
    if (params.shape[0] < N_PARAMS or out.shape[0] < n_rows or gcells.shape[0] != nd or nd > 8
            or gcells.shape[1] != gx.shape[0] or gvalid.shape[0] != gx.shape[0] or gangle.shape[0] != gx.shape[0]
            or gy.shape[0] != gx.shape[0] or pcells.shape[0] != px.shape[0] or pvalid.shape[0] != px.shape[0]
            or z1.shape[0] < 1 or shift < 0 or shift > 8 or z2.shape[0] != (32768 >> shift) + 1
            or z3.shape[0] != z2.shape[0] or atan.shape[0] < 2 or q1 <= 0):
        return -2
    if n_templates < 0 or offsets[0] != 0 or offsets[n_templates] != gx.shape[0]:
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
    tb.nz1 = <int> z1.shape[0]
    while tb.nz1 > 0 and z1[tb.nz1 - 1] == 0.0:
        tb.nz1 -= 1
    tb.nz2 = <int> z2.shape[0]
    while tb.nz2 > 0 and z2[tb.nz2 - 1] == 0.0:
        tb.nz2 -= 1
    for t in range(n_templates):
        span = offsets[t + 1] - offsets[t]
        if span < 0:
            return -2
        if span > max_b:
            max_b = span
    for i in range(n_rows):
        if rows[i] < 0 or rows[i] >= n_templates:
            return -2
    if n_rows == 0:
        return 0
    probe.n = px.shape[0]
    probe.x = &px[0] if probe.n > 0 else NULL
    probe.y = &py[0] if probe.n > 0 else NULL
    probe.angle = &pangle[0] if probe.n > 0 else NULL
    probe.cells = &pcells[0, 0] if probe.n > 0 else NULL
    probe.valid = &pvalid[0] if probe.n > 0 else NULL
    failed[0] = 0
    sp = NULL
    local = 0
    if threads <= 0:
        threads = shailoo_max_threads()
    with nogil:
        if _probe_init(&probe, &tb) != 0:
            failed[0] = -1
            threads = 0
        # Each thread owns its scratch buffers (allocated once per call, never inside the pair loop).
        with parallel(num_threads=threads if threads > 0 else 1):
            sp = <Scratch*> calloc(1, sizeof(Scratch)) if threads > 0 else NULL
            local = -1
            if sp != NULL:
                local = scratch_init(sp, probe.n if probe.n > 0 else 1, max_b if max_b > 0 else 1)
            if local != 0:
                failed[0] = -1
            for i in prange(n_rows, schedule="dynamic", chunksize=64):
                if local != 0:
                    out[i] = 0.0
                    continue
                cand = _cand(gx, gy, gangle, gcells, gvalid, offsets[rows[i]], offsets[rows[i] + 1])
                out[i] = _score(&probe, &cand, nd, prm, &tb, sp, use_simd)
            if sp != NULL:
                scratch_free(sp)
                free(sp)
        _probe_free(&probe)
    return failed[0]


def screen_many(
    const uint16_t[::1] pangle,
    const uint64_t[:, ::1] pcells, const uint64_t[::1] pvalid,
    const int64_t[::1] offsets, const uint16_t[::1] gangle,
    const uint64_t[:, ::1] gcells, const uint64_t[::1] gvalid,
    const double[::1] params, double[::1] out, int threads, int simd,
) -> int:
    """Cheap first pass of identify: for each gallery template, the sum of the max_NP largest values among each
    probe cylinder's best local similarity in that template (no pairing, no relaxation). Status code as score_many."""
    cdef Py_ssize_t t, i, nd = pcells.shape[1], n_templates = offsets.shape[0] - 1, np_ = pangle.shape[0]
    cdef Py_ssize_t start, stop, keep, filled, pos, per_thread
    cdef int min_common, max_dir, use_simd = _use_simd(simd)
    cdef int64_t stride = gcells.shape[1]
    cdef double best, total
    cdef double* top_all
    cdef double* top
    cdef double* bests
    if (params.shape[0] < N_PARAMS or out.shape[0] < n_templates or nd > 8 or gcells.shape[0] != nd
            or gvalid.shape[0] != stride or gangle.shape[0] != stride or pvalid.shape[0] != np_
            or pcells.shape[0] != np_ or n_templates < 0 or offsets[0] != 0 or offsets[n_templates] != stride):
        return -2
    for t in range(n_templates):
        if offsets[t + 1] < offsets[t]:
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
    # Per thread: a 64-value best list, the probe cylinders' bests and the kernel's 8-lane running maxima (C arrays
    # declared here would be shared by the prange threads).
    per_thread = 64 + np_ + 8 * np_ + 8
    top_all = <double*> malloc(threads * per_thread * sizeof(double))
    if top_all == NULL:
        return -1
    with nogil:
        for t in prange(n_templates, schedule="dynamic", chunksize=256, num_threads=threads):
            top = top_all + per_thread * threadid()
            bests = top + 64
            start = offsets[t]
            stop = offsets[t + 1]
            if stop > start and np_ > 0:
                shailoo_screen(use_simd, &pcells[0, 0], &pvalid[0], &pangle[0], <int> np_, &gcells[0, 0] + start,
                               stride, &gvalid[start], &gangle[start], <int> (stop - start), <int> nd, min_common,
                               max_dir, bests + np_, bests)
            else:
                for i in range(np_):
                    bests[i] = 0.0
            filled = 0
            for i in range(np_):
                best = bests[i]
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
