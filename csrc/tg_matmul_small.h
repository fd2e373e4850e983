/*
 * tg_matmul_small.h -- C = A @ B (+ bias) for small products, without packing.
 * Part of the matmul family: only matmul.c includes it (one family, one .c file),
 * so its non-static functions are defined once.
 *
 * The Goto algorithm of matmul.c copies B (and sometimes A) into packed
 * panels before multiplying. For a big product that copy is a rounding
 * error; for the last layers of an MLP at batch 64 (64x64x10 is 41K
 * multiply-adds, about 2 600 AVX-512 FMAs) copying the 640 or 4 096 elements
 * of B costs as much as a good part of the multiply. So tg_gemm's block
 * routine (gemm_block in matmul.c) sends products below a measured size here,
 * when B's rows are contiguous (b_cs == 1: a plain B, X in dW = G^T X, W in
 * dX = G W), or when B = W^T (the forward x @ W^T) is small enough to be copied
 * into a dense [k, n] panel first (64x10: 640 elements, on the stack):
 *
 *   for j0 in n, step 2 vectors:                B panel [k x 2V] stays in L1
 *     for i0 in m, step MR = 6 rows:
 *       C[i0:i0+6, j0:j0+2V] = A[i0:i0+6, :] @ B[:, j0:j0+2V]   in registers
 *
 * The register tile is matmul.c's (six rows, two vectors: twelve
 * accumulators), but B is read straight from its rows, with masked vector
 * loads for the ragged last columns (n = 10 logits: one load of 10 lanes, the
 * other six never touched, so nothing past the row is read), and A through
 * its two strides (a transposed G^T costs nothing extra). Stores are masked
 * the same way, so no edge tile needs a scalar clean-up loop.
 *
 * The masked loads and stores are AVX-512 instructions. Without AVX-512
 * tg_gemm_small_suits() says no and tg_gemm keeps the packed path; the
 * function still computes the right product there (a lane-by-lane copy
 * stands in for the masked load), so it can be tested on any machine.
 *
 * Like matmul.c, the typed body is written once in terms of T and SFX() and
 * instantiated for float and double through tg_each_type.h.
 */
#ifndef TG_MATMUL_SMALL_BODY /* ===== first pass: shared parts, then instantiate ===== */

#include <stdint.h>
#include <string.h>

#include "tinygrad_edu.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define TGS_VEC_BYTES 64 /* one zmm register */
#else
#define TGS_VEC_BYTES 16 /* the portable fallback: SSE2-sized vectors, returned in registers */
#endif
#define TGS_MR 6         /* rows of the register tile */

/* Multiply-adds (m * n * k) below which the unpacked path beats packing.
 * Measured at 1 thread on the 2-core Sapphire Rapids (best of many calls, both
 * paths; see docs/kernels.md): the win is largest for m or n small (10x64x64,
 * 64x64x10) and gone near 64x128x128. */
#define TGS_MAX_WORK (600 * 1000)

/* B with strided columns (B = W^T in a Linear layer's forward x @ W^T) is first copied into a
 * dense [k, n] panel on the stack when it takes at most this many bytes (64x10 float32: 2560;
 * small enough for any thread's stack). */
#define TGS_PANEL_BYTES 4096

/* Whether B (k x n, strides b_rs, b_cs) is read in place (columns contiguous) or fits the panel. */
static int tgs_b_readable(int64_t k, int64_t n, int64_t b_rs, int64_t b_cs, int64_t elem_size)
{
    return b_cs == 1 || n <= 1 || (b_rs == 1 && k <= TGS_PANEL_BYTES / elem_size / n);
}

/* Whether tg_gemm should send this product here: m x k x n, B's strides b_rs (0: unknown) and
 * b_cs, elem_size-byte elements. */
static int tgs_takes(int64_t m, int64_t k, int64_t n, int64_t b_rs, int64_t b_cs, int64_t elem_size)
{
#if defined(__AVX512F__)
    if (elem_size != 4 && elem_size != 8) return 0;
    /* k < 16 (dX = G W of the 10-logit layer, 64x10x64): packing B is cheap and the
     * packed path measured faster (0.95 against 1.01 us). */
    if (m <= 0 || k < 16 || n <= 0 || !tgs_b_readable(k, n, b_rs, b_cs, elem_size)) return 0;
    return (double)m * (double)n * (double)k < (double)TGS_MAX_WORK;
#else
    (void)m, (void)k, (void)n, (void)b_rs, (void)b_cs, (void)elem_size;
    return 0;
#endif
}

int tg_gemm_small_suits(int64_t m, int64_t k, int64_t n, int64_t b_cs, int64_t elem_size)
{
    return tgs_takes(m, k, n, 0, b_cs, elem_size); /* B's row stride not known: only a B read in place */
}

/* x * y > limit, for x, y >= 0, without overflowing. */
static int tgs_mul_exceeds(int64_t x, int64_t y, int64_t limit) { return x != 0 && y > limit / x; }

/* The argument check of tg_gemm_small_*: sizes and strides >= 0, ldc >= n,
 * every extent's byte size inside int64, pointers non-NULL when data is needed. */
static int tgs_check(const void *a, const void *b, const void *c, int64_t m, int64_t k,
                     int64_t n, int64_t ldc, int64_t a_rs, int64_t a_cs, int64_t b_rs,
                     int64_t b_cs, int64_t elem_size)
{
    const int64_t limit = INT64_MAX / elem_size / 4;
    if (m < 0 || k < 0 || n < 0 || ldc < 0) return TG_ERR_SIZE;
    if (a_rs < 0 || a_cs < 0 || b_rs < 0 || b_cs < 0) return TG_ERR_SIZE;
    if (m > 1 && ldc < n) return TG_ERR_SIZE; /* rows of C would overlap */
    if (tgs_mul_exceeds(m, ldc, limit) || tgs_mul_exceeds(m, n, limit) ||
        tgs_mul_exceeds(m, a_rs, limit) || tgs_mul_exceeds(k, a_cs, limit) ||
        tgs_mul_exceeds(k, b_rs, limit) || tgs_mul_exceeds(n, b_cs, limit))
        return TG_ERR_SIZE;
    if (m == 0 || n == 0) return TG_OK;
    if (c == NULL || (k != 0 && (a == NULL || b == NULL))) return TG_ERR_NULL;
    return TG_OK;
}

/* Lanes [0, w) set: the mask of a vector holding w <= lanes real columns. */
static inline uint32_t tgs_mask(int64_t w) { return w >= 32 ? 0xffffffffu : (1u << w) - 1u; }

#define TG_MATMUL_SMALL_BODY
#define TG_BODY_FILE "tg_matmul_small.h"
#include "tg_each_type.h"

#else /* ===== second pass: the body, instantiated for one element type T ===== */

#define VL (TGS_VEC_BYTES / (int64_t)sizeof(T)) /* lanes per vector */

typedef T SFX(svec) __attribute__((vector_size(TGS_VEC_BYTES)));

/* The masked load and store: lanes outside `mask` are neither read (they
 * load as 0) nor written. PERF: one AVX-512 instruction each; the fallback
 * copies lane by lane. */
static inline __attribute__((always_inline)) SFX(svec) SFX(sload)(const T *p, uint32_t mask)
{
#if defined(__AVX512F__)
    if (sizeof(T) == 4) return (SFX(svec))_mm512_maskz_loadu_ps((__mmask16)mask, p);
    return (SFX(svec))_mm512_maskz_loadu_pd((__mmask8)mask, p);
#else
    SFX(svec) v = {0};
    for (int64_t l = 0; l < VL; l++)
        if (mask >> l & 1u) v[l] = p[l];
    return v;
#endif
}

static inline __attribute__((always_inline)) void SFX(sstore)(T *p, uint32_t mask, SFX(svec) v)
{
#if defined(__AVX512F__)
    if (sizeof(T) == 4) _mm512_mask_storeu_ps(p, (__mmask16)mask, (__m512)v);
    else _mm512_mask_storeu_pd(p, (__mmask8)mask, (__m512d)v);
#else
    for (int64_t l = 0; l < VL; l++)
        if (mask >> l & 1u) p[l] = v[l];
#endif
}

/* One FMA of row r of the tile, compiled only if the tile has that row (R is a constant). */
#define TGS_FMA(r, acc, q, bv) \
    if (R > r) acc += a##r[q] * bv

/* One register tile: C[0:R, 0:nv*VL] = A[0:R, :] @ B[:, 0:nv*VL] (+ bias), the
 * columns of vector v limited by mask mv. R (1..6 rows) and nv (1 or 2
 * vectors) are constants at each call, so each pair inlines to its own loop
 * with exactly R * nv accumulators live: a ragged last row tile (m = 10: 6 + 4)
 * does no FMAs for rows it does not have. */
static inline __attribute__((always_inline)) void SFX(small_tile)(
    const T *a, int64_t a_rs, int64_t a_cs, const T *b, int64_t b_rs, int64_t k, T *c,
    int64_t ldc, uint32_t m0, uint32_t m1, const T *bias, const int R, const int nv)
{
    typedef SFX(svec) vec;
    /* Named accumulators: GCC keeps them in registers. Row r is (cr_0, cr_1). */
    vec c0_0 = {0}, c0_1 = {0}, c1_0 = {0}, c1_1 = {0}, c2_0 = {0}, c2_1 = {0};
    vec c3_0 = {0}, c3_1 = {0}, c4_0 = {0}, c4_1 = {0}, c5_0 = {0}, c5_1 = {0};
    /* Rows the tile lacks point at row 0: never read, but no pointer past the array either. */
    const T *a0 = a, *a1 = a + (R > 1) * a_rs, *a2 = a + (R > 2) * 2 * a_rs;
    const T *a3 = a + (R > 3) * 3 * a_rs, *a4 = a + (R > 4) * 4 * a_rs, *a5 = a + (R > 5) * 5 * a_rs;
    int64_t p = 0;
    if (nv == 1) {
        /* PERF: one vector per p gives R dependent FMA chains, too few to
         * hide the FMA latency on two pipes: even and odd p feed separate
         * accumulators (the idle cr_1), summed at the end. */
        for (; p + 1 < k; p += 2) {
            const vec b0 = SFX(sload)(b + p * b_rs, m0), b1 = SFX(sload)(b + (p + 1) * b_rs, m0);
            const int64_t q0 = p * a_cs, q1 = q0 + a_cs;
            TGS_FMA(0, c0_0, q0, b0); TGS_FMA(1, c1_0, q0, b0); TGS_FMA(2, c2_0, q0, b0);
            TGS_FMA(3, c3_0, q0, b0); TGS_FMA(4, c4_0, q0, b0); TGS_FMA(5, c5_0, q0, b0);
            TGS_FMA(0, c0_1, q1, b1); TGS_FMA(1, c1_1, q1, b1); TGS_FMA(2, c2_1, q1, b1);
            TGS_FMA(3, c3_1, q1, b1); TGS_FMA(4, c4_1, q1, b1); TGS_FMA(5, c5_1, q1, b1);
        }
    }
    for (; p < k; p++) { /* nv == 2: the whole loop; nv == 1: an odd last p */
        const vec b0 = SFX(sload)(b + p * b_rs, m0);
        const vec b1 = nv == 2 ? SFX(sload)(b + p * b_rs + VL, m1) : (vec){0};
        const int64_t q = p * a_cs;
        TGS_FMA(0, c0_0, q, b0); TGS_FMA(1, c1_0, q, b0); TGS_FMA(2, c2_0, q, b0);
        TGS_FMA(3, c3_0, q, b0); TGS_FMA(4, c4_0, q, b0); TGS_FMA(5, c5_0, q, b0);
        if (nv == 2) {
            TGS_FMA(0, c0_1, q, b1); TGS_FMA(1, c1_1, q, b1); TGS_FMA(2, c2_1, q, b1);
            TGS_FMA(3, c3_1, q, b1); TGS_FMA(4, c4_1, q, b1); TGS_FMA(5, c5_1, q, b1);
        }
    }
    if (nv == 1) {
        c0_0 += c0_1;  c1_0 += c1_1;  c2_0 += c2_1;  c3_0 += c3_1;  c4_0 += c4_1;  c5_0 += c5_1;
    }
    const vec v0 = bias ? SFX(sload)(bias, m0) : (vec){0};
    const vec v1 = bias && nv == 2 ? SFX(sload)(bias + VL, m1) : (vec){0};
/* Row r straight from its registers to C (no spill through an array). */
#define TGS_STORE(r)                                                        \
    if (R > r) {                                                            \
        SFX(sstore)(c + r * ldc, m0, c##r##_0 + v0);                        \
        if (nv == 2) SFX(sstore)(c + r * ldc + VL, m1, c##r##_1 + v1);      \
    }
    TGS_STORE(0) TGS_STORE(1) TGS_STORE(2) TGS_STORE(3) TGS_STORE(4) TGS_STORE(5)
#undef TGS_STORE
}
#undef TGS_FMA

/* C[i, j] = bias[j] + sum_p A[i, p] * B[p, j] by the textbook loop: the layouts
 * the vector path does not take (B's columns not contiguous). */
static void SFX(small_naive)(const T *a, const T *b, const T *bias, T *c, int64_t m, int64_t k,
                             int64_t n, int64_t ldc, int64_t a_rs, int64_t a_cs, int64_t b_rs,
                             int64_t b_cs)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            T acc = 0;
            for (int64_t p = 0; p < k; p++) acc += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
            c[i * ldc + j] = bias ? acc + bias[j] : acc;
        }
}

int SFX(tg_gemm_small)(const T *a, const T *b, const T *bias, T *c, int64_t m, int64_t k,
                       int64_t n, int64_t ldc, int64_t a_rs, int64_t a_cs, int64_t b_rs,
                       int64_t b_cs)
{
    if (m <= 1) a_rs = ldc = 0; /* strides of size-<=1 dimensions are never used: forget them */
    if (k <= 1) a_cs = b_rs = 0;
    if (n <= 1) b_cs = 0;
    int rc = tgs_check(a, b, c, m, k, n, ldc, a_rs, a_cs, b_rs, b_cs, (int64_t)sizeof(T));
    if (rc != TG_OK || m == 0 || n == 0) return rc;
    if (k == 0 || !tgs_b_readable(k, n, b_rs, b_cs, (int64_t)sizeof(T))) {
        SFX(small_naive)(a, b, bias, c, m, k, n, ldc, a_rs, a_cs, b_rs, b_cs);
        return TG_OK;
    }
    T panel[TGS_PANEL_BYTES / sizeof(T)];
    if (b_cs != 1 && n > 1) { /* PERF: B = W^T (b_rs == 1): W's rows become the panel's columns. 64x64x10 with
                               * the bias, 1 thread, best of 2000: 1.48 us packed, 1.37 us so (1.23 for a dense B) */
        for (int64_t p = 0; p < k; p++)
            for (int64_t j = 0; j < n; j++) panel[p * n + j] = b[j * b_cs + p];
        b = panel, b_rs = n, b_cs = 1;
    }
    for (int64_t j0 = 0; j0 < n; j0 += 2 * VL) {
        const int64_t w = n - j0; /* columns left, from j0 */
        const uint32_t m0 = tgs_mask(w < VL ? w : VL), m1 = w > VL ? tgs_mask(w < 2 * VL ? w - VL : VL) : 0;
        const T *bias_j = bias ? bias + j0 : NULL;
        for (int64_t i0 = 0; i0 < m; i0 += TGS_MR) {
            const T *a_tile = a + i0 * a_rs;
            T *c_tile = c + i0 * ldc + j0;
/* The rows left (1..6) and the vectors (1 or 2) as constants: twelve inlined loops. */
#define TGS_TILE(R) \
    (w > VL ? SFX(small_tile)(a_tile, a_rs, a_cs, b + j0, b_rs, k, c_tile, ldc, m0, m1, bias_j, R, 2) \
            : SFX(small_tile)(a_tile, a_rs, a_cs, b + j0, b_rs, k, c_tile, ldc, m0, 0, bias_j, R, 1))
            switch (m - i0 < TGS_MR ? m - i0 : TGS_MR) {
            case 1: TGS_TILE(1); break;
            case 2: TGS_TILE(2); break;
            case 3: TGS_TILE(3); break;
            case 4: TGS_TILE(4); break;
            case 5: TGS_TILE(5); break;
            default: TGS_TILE(6); break;
            }
#undef TGS_TILE
        }
    }
    return TG_OK;
}

#undef VL

#endif /* TG_MATMUL_SMALL_BODY */
