# cython: language_level=3
"""The reference matcher compiled: float Minutia Cylinder-Code with LSS-R (Cappelli, Ferrara, Maltoni, IEEE TPAMI
32(12) 2010, §3, §4.1 and §4.3), step for step as ``fingerprint.matcher`` computes it.

Where the bit core (``_mcc_cy``) ranks a whole gallery fast, this kernel gives the reference's own score: the kit's 1:1
decision and the final score of identify's best candidates. Same construction (cell centres, convex-hull validity,
Gaussian spatial and erf direction contributions, Ψ), same validity and matchability rules, same greedy one-to-one
pairing, compatibility ρ, relaxation and selection, in the same order. What can differ from numpy is rounding: the
order of a few sums (numpy's einsum and BLAS choose theirs) and libm against numpy's vectorised sin, cos and exp, a
few units in the last place; the tolerance is stated and tested in native/README.md.

Inputs are the template's own integers: positions in px (int16) and directions in 1/65536 turn (uint16), turned into
radians as ``fingerprint.model.quantise_angle`` does (steps x 2π / 65536, exact). Every algorithm constant arrives in
``params`` (``native.kernels.float_params``, order of the FP_* enum below), so retuning needs no rebuild.

Kernels never raise inside nogil: they return a status (0 ok, -1 out of memory, -2 inconsistent input).
"""

cimport cython
from cython.parallel cimport parallel, prange
from libc.stdint cimport int16_t, int64_t, uint16_t, uint64_t
from libc.stdlib cimport calloc, free


cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <stdlib.h>
    #include <string.h>
    #ifdef _OPENMP
    #include <omp.h>
    static int shf_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int shf_max_threads(void) { return 1; }
    #endif

    /* Order of the params vector (native/kernels.py FLOAT_PARAM_NAMES). */
    enum { FP_R, FP_NS, FP_ND, FP_SIGMA_S, FP_SIGMA_D, FP_PSI_MU, FP_PSI_TAU, FP_MARGIN, FP_MIN_VALID, FP_MIN_NEIGH,
           FP_MIN_MATCH, FP_MAX_DIR, FP_MIN_NP, FP_MAX_NP, FP_MU_P, FP_TAU_P, FP_ITER, FP_WEIGHT, FP_D_MU, FP_D_TAU,
           FP_A_MU, FP_A_TAU, FP_R_MU, FP_R_TAU, FP_COUNT };

    #define SHF_MAX_NS 16         /* N_S <= 16: the spatial validity mask fits 4 words */
    #define SHF_MAX_ND 8
    #define SHF_MAX_CELLS (SHF_MAX_NS * SHF_MAX_NS)
    #define SHF_MAX_MINUTIAE 255  /* ISO/IEC 19794-2 stores at most 255 minutiae per finger view */

    static const double SHF_PI = 3.141592653589793;      /* numpy.pi */
    static const double SHF_TWO_PI = 6.283185307179586;  /* 2.0 * numpy.pi */

    /* glibc's vector exp (libmvec, linked as -lmvec): Ψ takes an exp per cell value, 1,536 per cylinder, which was
       most of a cylinder's construction. Declared here so that GCC vectorises the Ψ loop with it; libmvec's exp is
       within 4 ulp of the scalar one (glibc manual, "Known Maximum Errors in Math Functions"), far inside the stated
       tolerance. */
    #if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    #pragma omp declare simd notinbranch
    double exp(double);
    #define SHF_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define SHF_CLONES
    #endif

    /* numpy's float remainder (npy_divmod): the sign of the divisor. */
    static inline double shf_mod(double a, double b) {
        double m = fmod(a, b);
        if (m != 0.0) { if ((b < 0) != (m < 0)) m += b; } else { m = copysign(0.0, b); }
        return m;
    }
    /* dφ of the paper (eq. 9) exactly as fingerprint.matcher.angle_difference: (a - b + π) mod 2π - π. */
    static inline double shf_angdiff(double a, double b) { return shf_mod(a - b + SHF_PI, SHF_TWO_PI) - SHF_PI; }
    /* scipy.special.expit */
    static inline double shf_expit(double x) { return 1.0 / (1.0 + exp(-x)); }

    /* Everything the construction and comparison need that depends on the parameters only. */
    typedef struct {
        int ns, nd, ns2, nc, cells_in_radius, min_neigh, iters, min_np, max_np;
        double off[SHF_MAX_NS];
        unsigned char in_radius[SHF_MAX_CELLS];
        double bin_c[SHF_MAX_ND];
        double r, sigma_s, sigma_d, psi_mu, psi_tau, margin2, min_valid, min_match, max_dir, dir_cell;
        double near2, reach2, two_sig2, norm, erf_s;
        double mu_p, tau_p, weight, d_mu, d_tau, a_mu, a_tau, r_mu, r_tau;
    } shf_geom;

    static int shf_geom_init(shf_geom* g, const double* p) {
        int ns = (int)p[FP_NS], nd = (int)p[FP_ND];
        if (ns < 1 || ns > SHF_MAX_NS || nd < 1 || nd > SHF_MAX_ND) return -2;
        g->ns = ns; g->nd = nd; g->ns2 = ns * ns; g->nc = ns * ns * nd;
        g->r = p[FP_R]; g->sigma_s = p[FP_SIGMA_S]; g->sigma_d = p[FP_SIGMA_D];
        g->psi_mu = p[FP_PSI_MU]; g->psi_tau = p[FP_PSI_TAU];
        g->margin2 = p[FP_MARGIN] * p[FP_MARGIN];
        g->min_valid = p[FP_MIN_VALID]; g->min_neigh = (int)p[FP_MIN_NEIGH];
        g->min_match = p[FP_MIN_MATCH]; g->max_dir = p[FP_MAX_DIR];
        g->min_np = (int)p[FP_MIN_NP]; g->max_np = (int)p[FP_MAX_NP]; g->mu_p = p[FP_MU_P]; g->tau_p = p[FP_TAU_P];
        g->iters = (int)p[FP_ITER]; g->weight = p[FP_WEIGHT];
        g->d_mu = p[FP_D_MU]; g->d_tau = p[FP_D_TAU]; g->a_mu = p[FP_A_MU]; g->a_tau = p[FP_A_TAU];
        g->r_mu = p[FP_R_MU]; g->r_tau = p[FP_R_TAU];
        double cell = 2.0 * g->r / ns;                                   /* Δ_S (eq. 1) */
        for (int i = 0; i < ns; i++) g->off[i] = ((double)i - (ns - 1) / 2.0) * cell;
        g->cells_in_radius = 0;
        for (int i = 0; i < ns; i++)
            for (int j = 0; j < ns; j++) {
                int in = g->off[i] * g->off[i] + g->off[j] * g->off[j] <= g->r * g->r;
                g->in_radius[i * ns + j] = (unsigned char)in;
                g->cells_in_radius += in;
            }
        g->dir_cell = 2.0 * SHF_PI / nd;                                 /* Δ_D */
        for (int k = 0; k < nd; k++) g->bin_c[k] = -SHF_PI + ((double)k + 0.5) * g->dir_cell;  /* dφ_k (eq. 8) */
        g->near2 = (3.0 * g->sigma_s) * (3.0 * g->sigma_s);
        g->reach2 = (g->r + 3.0 * g->sigma_s) * (g->r + 3.0 * g->sigma_s);
        g->two_sig2 = 2.0 * (g->sigma_s * g->sigma_s);
        g->norm = g->sigma_s * sqrt(2.0 * SHF_PI);
        g->erf_s = g->sigma_d * sqrt(2.0);
        return 0;
    }

    /* A template's search form: its kept cylinders, in minutia order (fingerprint.matcher.Cylinders). */
    typedef struct {
        int n;
        double *x, *y, *a;      /* n minutiae of the kept cylinders (px, rad) */
        double *values;         /* n * nc cell values, 0 in invalid cells */
        double *energy;         /* n * ns2: Σ_k value² per spatial cell */
        double *validf;         /* n * ns2: 1.0 where the spatial cell is valid */
        uint64_t *validb;       /* n * 4: the same as bits */
    } shf_form;

    /* Memory for a form of up to m cylinders; one block, freed with free(f->x). */
    static int shf_form_alloc(shf_form* f, const shf_geom* g, int m) {
        size_t mm = (size_t)(m > 0 ? m : 1);
        size_t doubles = 3 * mm + mm * g->nc + 2 * mm * g->ns2;
        char* block = (char*)malloc(doubles * sizeof(double) + 4 * mm * sizeof(uint64_t) + 64);
        if (block == NULL) return -1;
        double* d = (double*)block;
        f->x = d; f->y = d + mm; f->a = d + 2 * mm;
        f->values = d + 3 * mm;
        f->energy = f->values + mm * g->nc;
        f->validf = f->energy + mm * g->ns2;
        f->validb = (uint64_t*)(f->validf + mm * g->ns2);
        f->n = 0;
        return 0;
    }

    /* Scratch of the construction for up to m minutiae. */
    typedef struct {
        double *px;             /* the points as (x, y) pairs, sorted and made unique (2 m doubles) */
        double *hx, *hy;
        double *dirw;           /* per candidate neighbour: N_D direction weights */
        int *cand;              /* neighbours within reach of the current minutia */
        int *neigh;             /* neighbour count per minutia */
        double *xs, *ys, *as;   /* the template's minutiae, converted */
    } shf_build_work;

    static int shf_build_work_alloc(shf_build_work* w, int m) {
        size_t mm = (size_t)(m > 0 ? m : 1);
        /* pts: mm (x, y) pairs; hull: the lower and upper chains side by side, up to 2 mm + 2 points */
        double* d = (double*)malloc((11 * mm + 4 + mm * SHF_MAX_ND) * sizeof(double) + 2 * mm * sizeof(int) + 64);
        if (d == NULL) return -1;
        w->px = d; w->hx = d + 2 * mm; w->hy = d + 4 * mm + 2;
        w->xs = d + 6 * mm + 4; w->ys = d + 7 * mm + 4; w->as = d + 8 * mm + 4;
        w->dirw = d + 9 * mm + 4;
        w->cand = (int*)(w->dirw + mm * SHF_MAX_ND);
        w->neigh = w->cand + mm;
        return 0;
    }

    static int shf_cmp_point(const void* pa, const void* pb) {
        const double* a = (const double*)pa; const double* b = (const double*)pb;
        if (a[0] != b[0]) return a[0] < b[0] ? -1 : 1;
        if (a[1] != b[1]) return a[1] < b[1] ? -1 : 1;
        return 0;
    }

    static inline double shf_cross(double ox, double oy, double ax, double ay, double bx, double by) {
        return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox);
    }

    /* Convex hull, counter-clockwise (Andrew's monotone chain) as fingerprint.matcher._convex_hull: the sorted
       unique points themselves when there are at most two. Returns the number of hull points in hx, hy. */
    static int shf_hull(const double* x, const double* y, int n, double* pts, double* hx, double* hy) {
        int u = 0;
        for (int i = 0; i < n; i++) { pts[2 * i] = x[i]; pts[2 * i + 1] = y[i]; }
        qsort(pts, (size_t)n, 2 * sizeof(double), shf_cmp_point);
        for (int i = 0; i < n; i++)
            if (u == 0 || pts[2 * i] != pts[2 * (u - 1)] || pts[2 * i + 1] != pts[2 * (u - 1) + 1]) {
                pts[2 * u] = pts[2 * i]; pts[2 * u + 1] = pts[2 * i + 1]; u++;
            }
        if (u <= 2) { for (int i = 0; i < u; i++) { hx[i] = pts[2 * i]; hy[i] = pts[2 * i + 1]; } return u; }
        /* lower chain into hx/hy[0..], then the upper chain after it; both drop their last point. */
        int h = 0;
        for (int i = 0; i < u; i++) {
            while (h >= 2 && shf_cross(hx[h - 2], hy[h - 2], hx[h - 1], hy[h - 1], pts[2 * i], pts[2 * i + 1]) <= 0) h--;
            hx[h] = pts[2 * i]; hy[h] = pts[2 * i + 1]; h++;
        }
        int lower = h - 1, start = h;
        /* upper chain built after the lower one, in the same arrays */
        int k = start;
        for (int i = u - 1; i >= 0; i--) {
            while (k - start >= 2 && shf_cross(hx[k - 2], hy[k - 2], hx[k - 1], hy[k - 1], pts[2 * i], pts[2 * i + 1]) <= 0) k--;
            hx[k] = pts[2 * i]; hy[k] = pts[2 * i + 1]; k++;
        }
        int upper = k - start - 1;
        for (int i = 0; i < upper; i++) { hx[lower + i] = hx[start + i]; hy[lower + i] = hy[start + i]; }
        return lower + upper;
    }

    /* Whether (px, py) lies inside the hull or within the margin of it (fingerprint.matcher._inside_expanded_hull). */
    static int shf_in_hull(const double* hx, const double* hy, int h, double px, double py, double margin2) {
        if (h == 1) { double dx = px - hx[0], dy = py - hy[0]; return dx * dx + dy * dy <= margin2; }
        if (h >= 3) {
            int inside = 1;
            for (int e = 0; e < h && inside; e++) {
                int f = e + 1 == h ? 0 : e + 1;
                double abx = hx[f] - hx[e], aby = hy[f] - hy[e], aqx = px - hx[e], aqy = py - hy[e];
                if (abx * aqy - aby * aqx < 0) inside = 0;
            }
            if (inside) return 1;
        }
        for (int e = 0; e < h; e++) {
            int f = e + 1 == h ? 0 : e + 1;
            double abx = hx[f] - hx[e], aby = hy[f] - hy[e], aqx = px - hx[e], aqy = py - hy[e];
            double len2 = abx * abx + aby * aby;
            if (len2 < 1e-12) len2 = 1e-12;
            double t = (aqx * abx + aqy * aby) / len2;
            if (t < 0.0) t = 0.0; else if (t > 1.0) t = 1.0;
            double nx = hx[e] + t * abx, ny = hy[e] + t * aby;
            double dx = px - nx, dy = py - ny;
            if (dx * dx + dy * dy <= margin2) return 1;
        }
        return 0;
    }

    /* Ψ (eq. 3, 5) of n summed contributions, in place: Z(v; μ_Ψ, τ_Ψ) = 1 / (1 + exp(-τ_Ψ (v - μ_Ψ))). */
    SHF_CLONES static void shf_psi(double* v, int n, double tau, double mu) {
        #pragma omp simd
        for (int i = 0; i < n; i++) v[i] = 1.0 / (1.0 + exp(-(tau * (v[i] - mu))));
    }

    /* Build the cylinders (paper §3) of m minutiae given as integers (px; 1/65536 turn) into f. */
    static void shf_build(const shf_geom* g, int m, const int16_t* ix, const int16_t* iy, const uint16_t* ia,
                          shf_form* f, shf_build_work* w) {
        f->n = 0;
        if (m <= 0) return;
        double* x = w->xs; double* y = w->ys; double* a = w->as;
        for (int i = 0; i < m; i++) {
            x[i] = (double)ix[i]; y[i] = (double)iy[i];
            a[i] = (double)ia[i] * SHF_TWO_PI / 65536.0;   /* fingerprint.model.quantise_angle */
        }
        int h = shf_hull(x, y, m, w->px, w->hx, w->hy);
        /* neighbours within R + 3σ_S (§3.1, min_M) */
        for (int i = 0; i < m; i++) {
            int c = 0;
            for (int j = 0; j < m; j++) {
                if (j == i) continue;
                double dx = x[i] - x[j], dy = y[i] - y[j];
                if (dx * dx + dy * dy <= g->reach2) c++;
            }
            w->neigh[i] = c;
        }
        int ns = g->ns, nd = g->nd;
        /* A cell centre lies within R of its minutia, a contributing neighbour within 3σ_S of the centre: only
           neighbours within R + 3σ_S (plus 1 px against rounding) can contribute. */
        double cand2 = (g->r + 3.0 * g->sigma_s + 1.0) * (g->r + 3.0 * g->sigma_s + 1.0);
        unsigned char valid[SHF_MAX_CELLS];
        double cxs[SHF_MAX_CELLS], cys[SHF_MAX_CELLS];
        for (int i = 0; i < m; i++) {
            if (w->neigh[i] < g->min_neigh) continue;
            double ca = cos(a[i]), sa = sin(a[i]);
            int count = 0;
            for (int ci = 0; ci < ns; ci++)
                for (int cj = 0; cj < ns; cj++) {
                    int c = ci * ns + cj;
                    valid[c] = 0;
                    if (!g->in_radius[c]) continue;
                    /* cell centre (eq. 2): u along the minutia direction (cos a, -sin a) in pixel axes, v across */
                    double cx = (x[i] + g->off[ci] * ca) + g->off[cj] * sa;
                    double cy = (y[i] - g->off[ci] * sa) + g->off[cj] * ca;
                    cxs[c] = cx; cys[c] = cy;
                    if (shf_in_hull(w->hx, w->hy, h, cx, cy, g->margin2)) { valid[c] = 1; count++; }
                }
            if (!((double)count >= g->min_valid * g->cells_in_radius)) continue;
            int k = f->n;
            f->x[k] = x[i]; f->y[k] = y[i]; f->a[k] = a[i];
            /* direction contributions (eq. 6-8) of each neighbour that can reach a cell */
            int nc = 0;
            for (int t = 0; t < m; t++) {
                if (t == i) continue;
                double dx = x[i] - x[t], dy = y[i] - y[t];
                if (dx * dx + dy * dy > cand2) continue;
                double dtheta = shf_angdiff(a[i], a[t]);
                double* dw = w->dirw + (size_t)nc * SHF_MAX_ND;
                for (int b = 0; b < nd; b++) {
                    double delta = shf_angdiff(g->bin_c[b], dtheta);
                    dw[b] = 0.5 * (erf((delta + g->dir_cell / 2.0) / g->erf_s) - erf((delta - g->dir_cell / 2.0) / g->erf_s));
                }
                w->cand[nc++] = t;
            }
            double* vals = f->values + (size_t)k * g->nc;
            double* en = f->energy + (size_t)k * g->ns2;
            double* vf = f->validf + (size_t)k * g->ns2;
            uint64_t* vb = f->validb + (size_t)k * 4;
            /* Summed contributions (eq. 4-7) into vals, neighbour by neighbour in increasing order (so every cell adds
               its terms in the order of the reference's sum over t), each neighbour only over the cells of the
               square of side 2·3σ_S around it in the cylinder's grid (plus a cell against rounding): the others are
               farther than 3σ_S. */
            memset(vals, 0, (size_t)g->nc * sizeof(double));
            double cell = g->off[1] - g->off[0], reach = 3.0 * g->sigma_s;
            for (int q = 0; q < nc; q++) {
                int t = w->cand[q];
                /* the neighbour in the cylinder's (u, v) axes: the inverse of the cell-centre rotation */
                double rx = x[t] - x[i], ry = y[t] - y[i];
                double u = rx * ca - ry * sa, v = rx * sa + ry * ca;
                int i0 = (int)floor((u - reach - g->off[0]) / cell) - 1, i1 = (int)ceil((u + reach - g->off[0]) / cell) + 1;
                int j0 = (int)floor((v - reach - g->off[0]) / cell) - 1, j1 = (int)ceil((v + reach - g->off[0]) / cell) + 1;
                if (i0 < 0) i0 = 0;
                if (j0 < 0) j0 = 0;
                if (i1 > ns - 1) i1 = ns - 1;
                if (j1 > ns - 1) j1 = ns - 1;
                const double* dw = w->dirw + (size_t)q * SHF_MAX_ND;
                for (int ci = i0; ci <= i1; ci++)
                    for (int cj = j0; cj <= j1; cj++) {
                        int c = ci * ns + cj;
                        if (!valid[c]) continue;
                        double dx = cxs[c] - x[t], dy = cys[c] - y[t];
                        double d2 = dx * dx + dy * dy;
                        if (d2 > g->near2) continue;
                        double sp = exp(-d2 / g->two_sig2) / g->norm;           /* eq. 5: spatial Gaussian */
                        double* acc = vals + (size_t)c * nd;
                        for (int b = 0; b < nd; b++) acc[b] += sp * dw[b];
                    }
            }
            shf_psi(vals, g->nc, g->psi_tau, g->psi_mu);
            vb[0] = vb[1] = vb[2] = vb[3] = 0;
            for (int c = 0; c < g->ns2; c++) {
                double* v = vals + (size_t)c * nd;
                if (!valid[c]) { for (int b = 0; b < nd; b++) v[b] = 0.0; en[c] = 0.0; vf[c] = 0.0; continue; }
                double e = 0.0;
                for (int b = 0; b < nd; b++) e += v[b] * v[b];
                en[c] = e; vf[c] = 1.0;
                vb[c >> 6] |= (uint64_t)1 << (c & 63);
            }
            f->n = k + 1;
        }
    }

    /* Σ a[i] * b[i] with 32 independent partial sums (eight vectors of 4 lanes, so the adds do not wait on
       each other); no reassociation is needed, so every instruction set gives the same result. One copy per
       instruction set (SHF_CLONES), chosen at load time; no FMA (-ffp-contract=off). */
    SHF_CLONES static double shf_dot(const double* a, const double* b, int n) {
        typedef double v4 __attribute__((vector_size(32)));
        v4 s[8], x, y;
        for (int l = 0; l < 8; l++) s[l] = (v4){0.0, 0.0, 0.0, 0.0};
        int i = 0;
        for (; i + 32 <= n; i += 32)
            for (int l = 0; l < 8; l++) {
                memcpy(&x, a + i + 4 * l, sizeof x);
                memcpy(&y, b + i + 4 * l, sizeof y);
                s[l] += x * y;
            }
        v4 u = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        double t = (u[0] + u[1]) + (u[2] + u[3]);
        for (; i < n; i++) t += a[i] * b[i];
        return t;
    }

    typedef struct { double v; int idx; } shf_entry;

    static int shf_cmp_entry(const void* pa, const void* pb) {
        const shf_entry* a = (const shf_entry*)pa; const shf_entry* b = (const shf_entry*)pb;
        if (a->v != b->v) return a->v > b->v ? -1 : 1;
        return a->idx < b->idx ? -1 : (a->idx > b->idx);
    }

    /* Scratch of one comparison for forms of up to na x nb cylinders. */
    typedef struct {
        double* gamma; shf_entry* entries; unsigned char *used_a, *used_b;
        int *rows, *cols; double *lam0, *lam, *sup, *rho, *eff; int* order;
        int cap_a, cap_b;
    } shf_cmp_work;

    static void shf_cmp_work_free(shf_cmp_work* w) {
        free(w->gamma); free(w->entries); free(w->used_a); free(w->rows); free(w->lam0); free(w->rho); free(w->order);
        memset(w, 0, sizeof(*w));
    }

    static int shf_cmp_work_alloc(shf_cmp_work* w, int na, int nb) {
        size_t a = (size_t)(na > 0 ? na : 1), b = (size_t)(nb > 0 ? nb : 1), r = a < b ? a : b;
        memset(w, 0, sizeof(*w));
        w->gamma = (double*)malloc(a * b * sizeof(double));
        w->entries = (shf_entry*)malloc(a * b * sizeof(shf_entry));
        w->used_a = (unsigned char*)malloc(a + b);
        w->rows = (int*)malloc(2 * r * sizeof(int));
        w->lam0 = (double*)malloc(4 * r * sizeof(double));
        w->rho = (double*)malloc(r * r * sizeof(double));
        w->order = (int*)malloc(r * sizeof(int));
        if (!w->gamma || !w->entries || !w->used_a || !w->rows || !w->lam0 || !w->rho || !w->order) {
            shf_cmp_work_free(w); return -1;
        }
        w->used_b = w->used_a + a; w->cols = w->rows + r;
        w->lam = w->lam0 + r; w->sup = w->lam0 + 2 * r; w->eff = w->lam0 + 3 * r;
        w->cap_a = (int)a; w->cap_b = (int)b;
        return 0;
    }

    static inline double shf_radial(double tx, double ty, double ta, double kx, double ky) {
        /* dR(t, k) (eq. 22): minutia t's direction against the segment t -> k, y axis up */
        return shf_angdiff(ta, atan2(-(ky - ty), kx - tx));
    }

    /* LSS-R global score of two forms (paper §4.3, fingerprint.matcher.compare_cylinders). */
    static double shf_compare(const shf_geom* g, const shf_form* A, const shf_form* B, shf_cmp_work* w) {
        int na = A->n, nb = B->n;
        if (na == 0 || nb == 0) return 0.0;
        double min_common = g->min_match * g->cells_in_radius;
        int ne = 0;
        /* Γ (eq. 17-18) on the cells valid in both; 0 where not matchable */
        for (int i = 0; i < na; i++) {
            const uint64_t* va = A->validb + (size_t)i * 4;
            const double* ea = A->energy + (size_t)i * g->ns2;
            const double* fa = A->validf + (size_t)i * g->ns2;
            const double* xa = A->values + (size_t)i * g->nc;
            for (int j = 0; j < nb; j++) {
                double gam = 0.0;
                const uint64_t* vb = B->validb + (size_t)j * 4;
                int common = __builtin_popcountll(va[0] & vb[0]) + __builtin_popcountll(va[1] & vb[1])
                           + __builtin_popcountll(va[2] & vb[2]) + __builtin_popcountll(va[3] & vb[3]);
                if ((double)common >= min_common && fabs(shf_angdiff(A->a[i], B->a[j])) <= g->max_dir) {
                    double na2 = shf_dot(ea, B->validf + (size_t)j * g->ns2, g->ns2);
                    double nb2 = shf_dot(fa, B->energy + (size_t)j * g->ns2, g->ns2);
                    double dot = shf_dot(xa, B->values + (size_t)j * g->nc, g->nc);
                    double norm_a = sqrt(na2 > 0.0 ? na2 : 0.0), norm_b = sqrt(nb2 > 0.0 ? nb2 : 0.0);
                    double d = na2 + nb2 - 2.0 * dot;
                    double diff = sqrt(d > 0.0 ? d : 0.0);
                    double denom = norm_a + norm_b;
                    if (denom > 0.0) gam = 1.0 - diff / denom;
                }
                w->gamma[(size_t)i * nb + j] = gam;
                if (gam > 0.0) { w->entries[ne].v = gam; w->entries[ne].idx = i * nb + j; ne++; }
            }
        }
        int n_min = na < nb ? na : nb;
        int n_pairs = g->min_np + (int)nearbyint(shf_expit(g->tau_p * ((double)n_min - g->mu_p)) * (g->max_np - g->min_np));
        /* greedy one-to-one pairs by decreasing Γ, ties by row-major index (a stable argsort of -Γ) */
        qsort(w->entries, (size_t)ne, sizeof(shf_entry), shf_cmp_entry);
        memset(w->used_a, 0, (size_t)na); memset(w->used_b, 0, (size_t)nb);
        int nr = 0;
        for (int e = 0; e < ne && nr < n_min; e++) {
            int r = w->entries[e].idx / nb, c = w->entries[e].idx % nb;
            if (w->used_a[r] || w->used_b[c]) continue;
            w->used_a[r] = w->used_b[c] = 1;
            w->rows[nr] = r; w->cols[nr] = c; nr++;
        }
        if (nr == 0) return 0.0;
        for (int q = 0; q < nr; q++) w->lam0[q] = w->gamma[(size_t)w->rows[q] * nb + w->cols[q]];
        /* compatibility ρ of every two pairs (eq. 21-23) */
        for (int s = 0; s < nr; s++) {
            int ar = w->rows[s], bc = w->cols[s];
            for (int t = 0; t < nr; t++) {
                if (t == s) { w->rho[(size_t)s * nr + t] = 0.0; continue; }
                int ar2 = w->rows[t], bc2 = w->cols[t];
                double da = hypot(A->x[ar] - A->x[ar2], A->y[ar] - A->y[ar2]);
                double db = hypot(B->x[bc] - B->x[bc2], B->y[bc] - B->y[bc2]);
                double d1 = fabs(da - db);
                double d2 = fabs(shf_angdiff(shf_angdiff(A->a[ar], A->a[ar2]), shf_angdiff(B->a[bc], B->a[bc2])));
                double ra = shf_radial(A->x[ar], A->y[ar], A->a[ar], A->x[ar2], A->y[ar2]);
                double rb = shf_radial(B->x[bc], B->y[bc], B->a[bc], B->x[bc2], B->y[bc2]);
                double d3 = fabs(shf_angdiff(ra, rb));
                w->rho[(size_t)s * nr + t] = shf_expit(g->d_tau * (d1 - g->d_mu)) * shf_expit(g->a_tau * (d2 - g->a_mu))
                                           * shf_expit(g->r_tau * (d3 - g->r_mu));
            }
        }
        /* relaxation (eq. 20) */
        for (int q = 0; q < nr; q++) w->lam[q] = w->lam0[q];
        for (int it = 0; it < g->iters; it++) {
            for (int s = 0; s < nr; s++) {
                double acc = 0.0;
                if (nr > 1) {
                    const double* row = w->rho + (size_t)s * nr;
                    for (int t = 0; t < nr; t++) acc += row[t] * w->lam[t];
                    acc = acc / (nr - 1);
                }
                w->sup[s] = acc;
            }
            for (int s = 0; s < nr; s++) w->lam[s] = g->weight * w->lam[s] + (1.0 - g->weight) * w->sup[s];
        }
        /* efficiency λ^n / λ^0, best n_P by a stable sort, their final λ averaged */
        for (int q = 0; q < nr; q++) { w->eff[q] = w->lam[q] / w->lam0[q]; w->order[q] = q; }
        for (int q = 1; q < nr; q++) {   /* insertion sort: stable, decreasing efficiency */
            int o = w->order[q], z = q;
            while (z > 0 && w->eff[w->order[z - 1]] < w->eff[o]) { w->order[z] = w->order[z - 1]; z--; }
            w->order[z] = o;
        }
        int take = n_pairs < nr ? n_pairs : nr;
        double total = 0.0;
        for (int q = 0; q < take; q++) total += w->lam[w->order[q]];
        double score = total / n_pairs;
        return score < 0.0 ? 0.0 : (score > 1.0 ? 1.0 : score);
    }
    """
    enum: FP_COUNT
    enum: SHF_MAX_MINUTIAE
    ctypedef struct shf_geom:
        int nc
        int ns2
    ctypedef struct shf_form:
        int n
        double* x
    ctypedef struct shf_build_work:
        double* px
    ctypedef struct shf_cmp_work:
        double* gamma
    int shf_max_threads() noexcept nogil
    int shf_geom_init(shf_geom* g, const double* p) noexcept nogil
    int shf_form_alloc(shf_form* f, const shf_geom* g, int m) noexcept nogil
    int shf_build_work_alloc(shf_build_work* w, int m) noexcept nogil
    void shf_build(const shf_geom* g, int m, const int16_t* ix, const int16_t* iy, const uint16_t* ia,
                   shf_form* f, shf_build_work* w) noexcept nogil
    int shf_cmp_work_alloc(shf_cmp_work* w, int na, int nb) noexcept nogil
    void shf_cmp_work_free(shf_cmp_work* w) noexcept nogil
    double shf_compare(const shf_geom* g, const shf_form* A, const shf_form* B, shf_cmp_work* w) noexcept nogil


MAX_MINUTIAE = SHF_MAX_MINUTIAE
N_FLOAT_PARAMS = FP_COUNT


cdef struct Worker:
    # One thread's memory: a candidate's form, the construction and comparison scratch.
    shf_form form
    shf_build_work build
    shf_cmp_work cmp
    int ok


cdef int _worker_init(Worker* k, const shf_geom* g, int max_m, int probe_n) noexcept nogil:
    k.ok = 0
    k.form.x = NULL
    k.build.px = NULL
    k.cmp.gamma = NULL
    if shf_form_alloc(&k.form, g, max_m) != 0 or shf_build_work_alloc(&k.build, max_m) != 0:
        return -1
    if shf_cmp_work_alloc(&k.cmp, probe_n, max_m) != 0:
        return -1
    k.ok = 1
    return 0


cdef void _worker_free(Worker* k) noexcept nogil:
    free(k.form.x)
    free(k.build.px)
    shf_cmp_work_free(&k.cmp)


cdef int _geom(const double[::1] params, shf_geom* g) noexcept:
    if params.shape[0] < FP_COUNT:
        return -2
    return shf_geom_init(g, &params[0])


cdef class Form:
    """A template's float cylinders, built once (``build``) and compared many times (``compare``)."""

    cdef shf_form f
    cdef int allocated
    cdef shf_geom g

    def __cinit__(self):
        self.allocated = 0
        self.f.n = 0

    def __dealloc__(self):
        if self.allocated:
            free(self.f.x)

    @staticmethod
    def build(const int16_t[::1] x, const int16_t[::1] y, const uint16_t[::1] angle, const double[::1] params):
        """The cylinders of one template (positions in px, directions in 1/65536 turn); None on bad input."""
        cdef Form out = Form()
        cdef shf_build_work w
        cdef int m = <int> x.shape[0]
        if y.shape[0] != m or angle.shape[0] != m or m > SHF_MAX_MINUTIAE or _geom(params, &out.g) != 0:
            return None
        if shf_form_alloc(&out.f, &out.g, m) != 0:
            raise MemoryError("float cylinders")
        out.allocated = 1
        if shf_build_work_alloc(&w, m) != 0:
            raise MemoryError("float cylinder scratch")
        with nogil:
            if m > 0:
                shf_build(&out.g, m, &x[0], &y[0], &angle[0], &out.f, &w)
        free(w.px)
        return out

    def __len__(self):
        return self.f.n

    def compare(self, Form other):
        """LSS-R score of this form against ``other`` (0..1); -1.0 when out of memory."""
        cdef shf_cmp_work w
        cdef double score
        if shf_cmp_work_alloc(&w, self.f.n, other.f.n) != 0:
            return -1.0
        with nogil:
            score = shf_compare(&self.g, &self.f, &other.f, &w)
        shf_cmp_work_free(&w)
        return score


def compare_many(Form probe, list others, double[::1] out, int threads) -> int:
    """Scores of ``probe`` against every built form in ``others`` (``out[i]`` for ``others[i]``), in parallel with
    the GIL released. Returns 0, -1 (out of memory) or -2 (inconsistent input)."""
    cdef Py_ssize_t i, n = len(others)
    cdef int max_b = 0
    cdef Form f
    cdef const shf_form** ptrs
    cdef shf_cmp_work* w
    cdef int failed[1]
    if out.shape[0] < n or not all(isinstance(o, Form) for o in others):
        return -2
    if n == 0:
        return 0
    ptrs = <const shf_form**> calloc(n, sizeof(shf_form*))
    if ptrs == NULL:
        return -1
    for i in range(n):
        f = <Form> others[i]
        ptrs[i] = &f.f
        if f.f.n > max_b:
            max_b = f.f.n
    if threads <= 0:
        threads = shf_max_threads()
    failed[0] = 0
    with nogil:
        with parallel(num_threads=threads):
            w = <shf_cmp_work*> calloc(1, sizeof(shf_cmp_work))
            if w == NULL or shf_cmp_work_alloc(w, probe.f.n, max_b) != 0:
                failed[0] = -1
                free(w)
                w = NULL
            for i in prange(n, schedule="dynamic", chunksize=16):
                if w == NULL:
                    out[i] = 0.0
                    continue
                out[i] = shf_compare(&probe.g, &probe.f, ptrs[i], w)
            if w != NULL:
                shf_cmp_work_free(w)
                free(w)
    free(ptrs)
    return failed[0]


def score_many(
    const int16_t[::1] px, const int16_t[::1] py, const uint16_t[::1] pangle,
    const int64_t[::1] offsets, const int16_t[::1] gx, const int16_t[::1] gy, const uint16_t[::1] gangle,
    const int64_t[::1] eoffsets, const int16_t[::1] ex, const int16_t[::1] ey, const uint16_t[::1] eangle,
    const int64_t[::1] rows, const double[::1] params, double[::1] out, int threads,
) -> int:
    """Reference scores of one probe (its minutiae) against gallery templates ``rows``, in parallel, GIL released.

    Template t's minutiae are its cylinders' (``gx`` etc. over ``offsets[t]:offsets[t+1]``) followed by its other
    minutiae (``ex`` etc. over ``eoffsets[t]:eoffsets[t+1]``). ``out[i]`` receives the score of ``rows[i]``.
    ``threads`` <= 0 means all cores. Returns 0, -1 (out of memory) or -2 (inconsistent input).
    """
    cdef shf_geom g
    cdef Py_ssize_t i, t, n_t = offsets.shape[0] - 1, n_rows = rows.shape[0], m_p = px.shape[0]
    cdef int max_m = 0, m, a, b, c, d
    cdef int failed[1]
    cdef shf_form probe
    cdef shf_build_work pw
    cdef Worker* k
    cdef int16_t* bx
    cdef int16_t* by
    cdef uint16_t* ba
    cdef int16_t* buf = NULL
    if _geom(params, &g) != 0 or out.shape[0] < n_rows or py.shape[0] != m_p or pangle.shape[0] != m_p:
        return -2
    if m_p > SHF_MAX_MINUTIAE or eoffsets.shape[0] != n_t + 1 or n_t < 0:
        return -2
    if gy.shape[0] != gx.shape[0] or gangle.shape[0] != gx.shape[0] or ey.shape[0] != ex.shape[0]:
        return -2
    if eangle.shape[0] != ex.shape[0] or offsets[0] != 0 or eoffsets[0] != 0:
        return -2
    if offsets[n_t] != gx.shape[0] or eoffsets[n_t] != ex.shape[0]:
        return -2
    for i in range(n_rows):
        if rows[i] < 0 or rows[i] >= n_t:
            return -2
        t = rows[i]
        m = <int> (offsets[t + 1] - offsets[t] + eoffsets[t + 1] - eoffsets[t])
        if offsets[t + 1] < offsets[t] or eoffsets[t + 1] < eoffsets[t] or m > SHF_MAX_MINUTIAE:
            return -2
        if m > max_m:
            max_m = m
    if n_rows == 0:
        return 0
    if threads <= 0:
        threads = shf_max_threads()
    failed[0] = 0
    probe.x = NULL
    pw.px = NULL
    if shf_form_alloc(&probe, &g, <int> m_p) != 0 or shf_build_work_alloc(&pw, <int> m_p) != 0:
        free(probe.x)
        free(pw.px)
        return -1
    with nogil:
        if m_p > 0:
            shf_build(&g, <int> m_p, &px[0], &py[0], &pangle[0], &probe, &pw)
        else:
            probe.n = 0
        with parallel(num_threads=threads):
            k = <Worker*> calloc(1, sizeof(Worker))
            buf = <int16_t*> calloc(3 * (max_m + 1), sizeof(int16_t))
            if k == NULL or buf == NULL or _worker_init(k, &g, max_m, probe.n) != 0:
                failed[0] = -1
            for i in prange(n_rows, schedule="dynamic", chunksize=1):
                if k == NULL or buf == NULL or not k.ok:
                    out[i] = 0.0
                    continue
                t = rows[i]
                a = <int> offsets[t]
                b = <int> (offsets[t + 1] - offsets[t])
                c = <int> eoffsets[t]
                d = <int> (eoffsets[t + 1] - eoffsets[t])
                bx = buf
                by = buf + (max_m + 1)
                ba = <uint16_t*> (buf + 2 * (max_m + 1))
                for m in range(b):
                    bx[m] = gx[a + m]
                    by[m] = gy[a + m]
                    ba[m] = gangle[a + m]
                for m in range(d):
                    bx[b + m] = ex[c + m]
                    by[b + m] = ey[c + m]
                    ba[b + m] = eangle[c + m]
                shf_build(&g, b + d, bx, by, ba, &k.form, &k.build)
                out[i] = shf_compare(&g, &probe, &k.form, &k.cmp)
            if k != NULL:
                _worker_free(k)
                free(k)
            free(buf)
    free(probe.x)
    free(pw.px)
    return failed[0]
