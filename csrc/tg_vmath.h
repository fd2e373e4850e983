/*
 * tg_vmath.h -- private helpers of activations.c, softmax.c and loss.c (not part
 * of the public API, never read by cffi): a vectorisable exp and erf, and row reductions
 * written so that GCC/Clang turn them into SIMD code at -O3.
 *
 * Why our own exp: glibc's expf/exp is a function call, which stops the
 * auto-vectoriser (its SIMD variants are only declared under -ffast-math), so a
 * softmax loop calling it runs one element at a time while NumPy's exp uses
 * AVX-512. The versions below are branch-free straight-line code (Cephes'
 * range reduction and polynomials, ~1 ulp): inlined into a loop they become
 * vector code. Float sums need several independent accumulators for the same
 * reason: without -ffast-math the compiler may not reorder a single running sum.
 *
 * Include once per element type after defining T and SFX (tg_each_type.h does).
 */

#ifndef TG_VMATH_COMMON
#define TG_VMATH_COMMON
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "tinygrad_edu.h"

/* Independent accumulators per reduction: 16 floats / 8 doubles = one AVX-512 register. */
#define TG_LANES 16

/* The argument checks shared by every kernel: sizes >= 0, and a pointer may be
 * NULL only when its array is empty. */
#define TG_CHECK_SIZE(n) do { if ((n) < 0) return TG_ERR_SIZE; } while (0)
#define TG_CHECK_PTR(p, count) do { if ((p) == NULL && (count) != 0) return TG_ERR_NULL; } while (0)

/* exp for float: e^x = 2^n e^r with n = round(x / ln 2), |r| <= ln2 / 2.
 * `any_sign` = 0 promises x <= 0 (or NaN), as for x - max in softmax: the overflow
 * handling then folds away at compile time (the calls pass a constant). */
static inline float tg_exp_f32_impl(float x, int any_sign)
{
    const float hi = 88.72283f, lo = -87.33654f; /* e^hi = FLT_MAX, e^lo = FLT_MIN */
    float xc = x < lo ? lo : x;                   /* NaN falls through the tests */
    if (any_sign) xc = xc > hi ? hi : xc;
    /* round(x / ln2) with the 1.5 * 2^23 trick: n ends up in the low mantissa bits */
    const float magic = 12582912.0f;
    float nf = xc * 1.44269504088896341f + magic;
    uint32_t nbits;
    memcpy(&nbits, &nf, 4);
    nf -= magic;
    float r = xc - nf * 0.693359375f - nf * -2.12194440e-4f; /* ln2 split in two: exact n*ln2_hi */
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n: n + 127 into the exponent field (n in [-126, 128] after the clamp) */
    uint32_t sbits = (nbits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &sbits, 4);
    float y = p * scale; /* x NaN: r and p are NaN, so y is too */
    if (any_sign) y = x > hi ? INFINITY : y;
    return x < lo ? 0.0f : y;
}

/* exp for double: Cephes' Pade form e^r = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)). */
static inline double tg_exp_f64_impl(double x, int any_sign)
{
    const double hi = 709.782712893384, lo = -708.3964185322641; /* e^lo = DBL_MIN */
    double xc = x < lo ? lo : x;
    if (any_sign) xc = xc > hi ? hi : xc;
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    double nf = xc * 1.4426950408889634073599 + magic;
    uint64_t nbits;
    memcpy(&nbits, &nf, 8);
    nf -= magic;
    double r = xc - nf * 6.93145751953125E-1 - nf * 1.42860682030941723212E-6;
    double rr = r * r;
    double px = r * ((1.26177193074810590878E-4 * rr + 3.02994407707441961300E-2) * rr +
                     9.99999999999999999910E-1);
    double qx = ((3.00198505138664455042E-6 * rr + 2.52448340349684104192E-3) * rr +
                 2.27265548208155028766E-1) * rr + 2.00000000000000000009E0;
    double p = 1.0 + 2.0 * (px / (qx - px));
    /* n in [-1022, 1024]: 2^1024 is not a double, so scale in two halves */
    int64_t n = (int64_t)(nbits - 0x4338000000000000ull);
    int64_t n1 = n / 2, n2 = n - n1;
    uint64_t b1 = (uint64_t)(n1 + 1023) << 52, b2 = (uint64_t)(n2 + 1023) << 52;
    double s1, s2;
    memcpy(&s1, &b1, 8);
    memcpy(&s2, &b2, 8);
    double y = p * s1 * s2; /* NaN propagates through r and p */
    if (any_sign) y = x > hi ? (double)INFINITY : y;
    return x < lo ? 0.0 : y;
}

static inline float tg_exp_f32(float x) { return tg_exp_f32_impl(x, 1); }
static inline double tg_exp_f64(double x) { return tg_exp_f64_impl(x, 1); }
/* exp of x <= 0 only (x - max in the row kernels) */
static inline float tg_expneg_f32(float x) { return tg_exp_f32_impl(x, 0); }
static inline double tg_expneg_f64(double x) { return tg_exp_f64_impl(x, 0); }

/* erf's tables, one set per element type, printed by csrc/fit_erf.py (see erf below) */
#define TG_ERF_P_f64 { \
    -7.795898827002142e-10, 1.3720064546777686e-08, -1.6208483801871705e-07, \
    1.6447424703317362e-06, -1.492473690741966e-05, 0.00012055294904839707, \
    -0.0008548325975389692, 0.0052239776071164225, -0.02686617064323777, \
    0.11283791670945006, -0.37612638903183543, 0.12837916709551256 }
#define TG_ERF_Q_f64 { \
    -3.7010699929550946e-13, -9.5330577220714e-12, -1.2621866160195911e-11, \
    2.884520232141293e-10, 9.67044065117639e-10, -8.014582329875373e-09, \
    -4.2173574094482225e-08, 2.867274126842939e-07, 1.5858194956839143e-06, \
    -1.573048948583814e-05, -2.9725003792547264e-05, 0.0011319964213927398, \
    -0.009011216027084963, 0.044437187984695856, -0.1583641077467305, \
    0.2146263390698206 }
#define TG_ERF_MAP_f64 {0.0, 2.3797958971132713, 6.0} /* c, s, XMAX */
#define TG_ERF_P_f32 { \
    7.875875062685488e-05, -0.000801686428716587, 0.005189087423433974, \
    -0.026854212010626412, 0.11283594715160218, -0.37612626666720334, \
    0.12837916584835093 }
#define TG_ERF_Q_f32 { \
    4.918833223759462e-08, 1.8609946785001533e-07, -4.175784570346913e-06, \
    -2.4492743920786282e-06, 0.0004400113235602708, -0.00485232249795529, \
    0.031224569333987283, -0.14043747358230668, 0.2506310628322387 }
#define TG_ERF_MAP_f32 {-0.08989794855663562, 3.02749430154621, 4.0} /* c, s, XMAX */

/* Ask for the next row while this one is being computed on: the row kernels read a row
 * once from memory, then work on it in L1 (exp is the bottleneck there), so without this
 * the memory system idles during the arithmetic and the arithmetic waits at each new row. */
static inline void tg_prefetch_row(const void *row, int64_t bytes)
{
    const char *p = (const char *)row;
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(p + b);
}

#endif /* TG_VMATH_COMMON */

/* ---- per-type part: T, SFX defined by the includer ---- */

#define TG_EXP SFX(tg_exp)
#define TG_NLANES (TG_LANES * 4 / (int)sizeof(T))

/* erf, vectorisable: branch-free polynomials (libm's erf is a call, which stops the vectoriser,
 * as exp would). The method is fdlibm's (Sun, 1993: FreeBSD msun/src/s_erf.c, musl
 * src/math/erf.c); the coefficients are our own near-minimax fits (the TG_ERF_* tables above,
 * printed by csrc/fit_erf.py: read it for the derivation):
 *     |x| < 1:  erf(x) = x + x * P(x^2)                    (x + x*P rounds better than x * (1+P))
 *     |x| >= 1: erf(x) = sign(x) (1 - exp(-x^2) Q(u)),     u = ((|x| - k)/(|x| + k) - c) s, k = sqrt 6
 * with |x| clamped to XMAX, beyond which erf is +-1 (what it rounds to). Both sides are computed
 * and one is selected, so a loop over it vectorises. Measured against mpmath
 * (tests/test_kernels.py): float64 within ~1.2 ulp; float32 within 1.05 ulp (every float in
 * [0.5, 4.2] checked against the float64 kernel). */
static inline T SFX(tg_scalar_erf)(T x)
{
    static const T p[] = SFX(TG_ERF_P), q[] = SFX(TG_ERF_Q), map[] = SFX(TG_ERF_MAP);
    const T ax = x < 0 ? -x : x;
    const T z = x * x;
    T ps = p[0];
    for (int i = 1; i < (int)(sizeof p / sizeof p[0]); ++i) ps = ps * z + p[i];
    const T small = x + x * ps;
    T xb = ax < 1 ? (T)1 : ax; /* clamped to [1, XMAX]; written so that NaN stays NaN */
    xb = xb > map[2] ? map[2] : xb;
    const T k = (T)2.44948974278317809820; /* sqrt 6 */
    const T u = ((xb - k) / (xb + k) - map[0]) * map[1];
    T qs = q[0];
    for (int i = 1; i < (int)(sizeof q / sizeof q[0]); ++i) qs = qs * u + q[i];
    /* exactly 1 beyond XMAX: GELU's 1 + erf(x) is then exactly 0 */
    const T large = ax > map[2] ? (T)1 : (T)1 - TG_EXP(-xb * xb) * qs;
    return ax < 1 ? small : (x < 0 ? -large : large);
}

/* max of x[0..n), n >= 1. Written with GCC/Clang vector types: the plain-array version
 * stays scalar (GCC will not vectorise a compare-and-select reduction without
 * -ffast-math), and a max pass at one element per cycle costs as much as the exps.
 * NaN needs no care: a NaN anywhere makes the row NaN through exp(x - m) anyway. */
typedef T SFX(tg_vec) __attribute__((vector_size(TG_NLANES * sizeof(T))));
static inline T SFX(tg_row_max)(const T *restrict x, int64_t n)
{
    SFX(tg_vec) acc, v;
    for (int l = 0; l < TG_NLANES; ++l) acc[l] = x[0];
    int64_t i = 0;
    for (; i + TG_NLANES <= n; i += TG_NLANES) {
        memcpy(&v, x + i, sizeof v); /* an unaligned vector load */
        __typeof__(v > acc) take = v > acc;  /* lanes of all ones where v wins */
        acc = (SFX(tg_vec))(((__typeof__(take))v & take) | ((__typeof__(take))acc & ~take));
    }
    T m = acc[0];
    for (int l = 1; l < TG_NLANES; ++l) m = acc[l] > m ? acc[l] : m;
    for (; i < n; ++i) m = x[i] > m ? x[i] : m;
    return m;
}

/* The sum over j in [0, n) of TERM (an expression of j), kept in TG_NLANES partial sums
 * of type T that the compiler maps onto SIMD lanes; the leftover j go into the total one
 * by one. Each lane sums at most TG_BLOCK terms before the partial sums are folded into a
 * double total: a float lane summing 256 terms of a 4096-wide row would drift by ~1e-5
 * relative (NumPy's pairwise sum does better), while double lanes (an earlier version)
 * stopped GCC from vectorising the loop around the exps, 6x slower. Every summing helper
 * below is this loop with its own TERM. Defined once per type (this part of the file is
 * included twice), hence the #undef at the end. */
#define TG_BLOCK 16
#define TG_LANE_SUM(n, TERM)                                                    \
    double s = 0;                                                               \
    int64_t i = 0;                                                              \
    while ((n) - i >= TG_NLANES) {                                              \
        const int64_t groups = ((n) - i) / TG_NLANES;                           \
        const int64_t stop = i + (groups < TG_BLOCK ? groups : TG_BLOCK) * TG_NLANES; \
        T acc[TG_NLANES] = {0};                                                 \
        for (; i < stop; i += TG_NLANES)                                        \
            for (int l = 0; l < TG_NLANES; ++l) {                               \
                const int64_t j = i + l;                                        \
                acc[l] += (TERM);                                               \
            }                                                                   \
        for (int l = 0; l < TG_NLANES; ++l) s += acc[l];                        \
    }                                                                           \
    for (int64_t j = i; j < (n); ++j) s += (double)(TERM);                      \
    return (T)s

/* sum of x[0..n) */
static inline T SFX(tg_row_sum)(const T *restrict x, int64_t n) { TG_LANE_SUM(n, x[j]); }

/* sum of x[j] * y[j] */
static inline T SFX(tg_row_dot)(const T *restrict x, const T *restrict y, int64_t n) { TG_LANE_SUM(n, x[j] * y[j]); }

/* e[j] = exp(x[j] - m), returning their sum (one pass: the exps are reused by the caller) */
static inline T SFX(tg_row_exp_sum)(const T *restrict x, T m, T *restrict e, int64_t n)
{
    TG_LANE_SUM(n, e[j] = SFX(tg_expneg)(x[j] - m));
}

/* sum of exp(x[j] - m) without storing the exps (the loss when no gradient is wanted) */
static inline T SFX(tg_row_sum_exp)(const T *restrict x, T m, int64_t n)
{
    TG_LANE_SUM(n, SFX(tg_expneg)(x[j] - m));
}

/* sum of w[j] * (m - x[j]), or of (m - x[j]) when w is NULL: the smoothing term of
 * cross-entropy, shifted by the row max so that huge logits do not cancel */
static inline T SFX(tg_row_wsum_shift)(const T *restrict w, const T *restrict x, T m, int64_t n)
{
    TG_LANE_SUM(n, (w ? w[j] : (T)1) * (m - x[j]));
}

#undef TG_LANE_SUM
#undef TG_BLOCK
