/*
 * matmul.c -- C[m, n] = A[m, k] @ B[k, n], row-major, float32 and float64.
 *
 * Two versions of each, side by side so the benchmark teaches something:
 *
 *   tg_matmul_naive_*  the textbook triple loop. Every C[i, j] is a dot product
 *                      that walks down a column of B, one cache line per
 *                      multiply-add, so it runs at memory speed, not FPU speed.
 *
 *   tg_matmul_*        the Goto / BLIS algorithm (Goto & van de Geijn, "Anatomy
 *                      of high-performance matrix multiplication", 2008):
 *
 *     for jc in n, step NC:                  B block  [KC x NC] lives in L3
 *       for pc in k, step KC:
 *         pack B[pc:pc+KC, jc:jc+NC]         into NR-column panels
 *         for ic in m, step MC:              A block  [MC x KC] lives in L2
 *           pack A[ic:ic+MC, pc:pc+KC]       into MR-row panels
 *           for jr in NC, step NR:           B panel  [KC x NR] lives in L1
 *             for ir in MC, step MR:
 *               micro-kernel: C[MR x NR] (+)= A panel @ B panel
 *
 *   The micro-kernel keeps an MR x NR tile of C in registers (MR = 6 rows,
 *   NR = two SIMD vectors) and, for each p, does one broadcast of A[i, p]
 *   per row and 2 * MR fused multiply-adds against two vectors of B[p, :].
 *   Packing makes both operands unit-stride and pads ragged edges to a whole
 *   tile, so the kernel itself never branches on sizes; only the final store
 *   looks at the real tile size (padded rows/columns of the tile are computed
 *   and thrown away). Any m, k, n >= 0 works, including 0, 1 and primes.
 *
 *   Vectors are GCC/Clang vector extensions, not intrinsics, so the same
 *   code compiles to SSE2, AVX2 or AVX-512 depending on -march. The vector
 *   width is picked below from the target macros.
 *
 * The typed code is written once, in the second half of this file, in terms
 * of T (element type) and SFX(name) (name with a _f32 / _f64 suffix). This
 * file then includes itself once per type -- C's stand-in for a template --
 * so a fix or a new loop (threads, transposes, strides) is written once.
 */
#ifndef TG_MATMUL_BODY /* ===== first pass: shared parts, then instantiate ===== */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tinygrad_edu.h"

/* Bytes in one SIMD register of the target we are compiled for. */
#if defined(__AVX512F__)
#define TG_VEC_BYTES 64
#elif defined(__AVX__)
#define TG_VEC_BYTES 32
#else
#define TG_VEC_BYTES 16
#endif

/* Blocking, in elements. MR is fixed by the micro-kernel's six rows; NR is
 * two vectors and so depends on the type (see the body). KC * NR * sizeof(T)
 * is the B panel that must stay in L1 (256 * 32 * 4 = 32 KiB with AVX-512 and
 * float32); MC * KC is the A block kept in L2; NC * KC the B block in L3. */
#define TG_MR 6
#define TG_KC 256
#define TG_MC 120 /* multiple of TG_MR */
#define TG_NC 4096 /* multiple of every NR */

/* Problems with at most this many multiply-adds skip packing: the naive loop
 * is done before the blocked one would have finished allocating. */
#define TG_SMALL_FLOPS (8 * 8 * 8)

#define TG_MIN(x, y) ((x) < (y) ? (x) : (y))

/* Shared argument check for every matmul entry point. Sizes are element
 * counts; a pointer may be NULL only if its array is empty. The products
 * m*k, k*n, m*n must fit in int64 with room for the byte size. */
static int tg_check_matmul_args(const void *a, const void *b, const void *c, int64_t m,
                                int64_t k, int64_t n, int64_t elem_size)
{
    const int64_t limit = INT64_MAX / elem_size;
    if (m < 0 || k < 0 || n < 0) return TG_ERR_SIZE;
    if ((m != 0 && k > limit / m) || (k != 0 && n > limit / k) || (m != 0 && n > limit / m))
        return TG_ERR_SIZE;
    if ((a == NULL && m != 0 && k != 0) || (b == NULL && k != 0 && n != 0) ||
        (c == NULL && m != 0 && n != 0))
        return TG_ERR_NULL;
    return TG_OK;
}

/* Round x up to a multiple of `to`. */
static int64_t tg_round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* Scratch buffers are aligned to a whole SIMD register (at least a cache
 * line) so the micro-kernel can use aligned vector loads. aligned_alloc wants
 * the size to be a multiple of the alignment. */
#define TG_ALIGN (TG_VEC_BYTES > 64 ? TG_VEC_BYTES : 64)
static void *tg_scratch(int64_t bytes) { return aligned_alloc(TG_ALIGN, (size_t)tg_round_up(bytes, TG_ALIGN)); }

#define TG_MATMUL_BODY
#define T float
#define SFX(name) name##_f32
#include "matmul.c"
#undef T
#undef SFX

#define T double
#define SFX(name) name##_f64
#include "matmul.c"
#undef T
#undef SFX

#else /* ===== second pass: the body, instantiated for one element type T ===== */

#define VLEN (TG_VEC_BYTES / (int64_t)sizeof(T)) /* elements per vector */
#define NR (2 * VLEN)                            /* micro-tile width */

typedef T SFX(vec) __attribute__((vector_size(TG_VEC_BYTES)));

int SFX(tg_matmul_naive)(const T *a, const T *b, T *c, int64_t m, int64_t k, int64_t n)
{
    int rc = tg_check_matmul_args(a, b, c, m, k, n, (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            T acc = 0;
            for (int64_t p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
            c[i * n + j] = acc;
        }
    }
    return TG_OK;
}

/* Copy the [mc, kc] block at `a` (row stride lda) into MR-row panels. Panel r
 * holds rows r*MR .. r*MR+MR-1 column by column -- MR consecutive values per
 * p -- which is the order the micro-kernel reads them. Rows past mc are
 * padding: they only feed tile rows that are never stored, but we write zeros
 * rather than feed uninitialised memory (maybe NaN, maybe slow denormals) to
 * the FMAs. */
static void SFX(pack_a)(int64_t mc, int64_t kc, const T *a, int64_t lda, T *restrict ap)
{
    for (int64_t i0 = 0; i0 < mc; i0 += TG_MR) {
        const int64_t mr = TG_MIN(TG_MR, mc - i0);
        for (int64_t p = 0; p < kc; p++) {
            for (int64_t i = 0; i < mr; i++) ap[i] = a[(i0 + i) * lda + p];
            for (int64_t i = mr; i < TG_MR; i++) ap[i] = 0;
            ap += TG_MR;
        }
    }
}

/* Copy the [kc, nc] block at `b` (row stride ldb) into NR-column panels. Panel
 * r holds columns r*NR .. r*NR+NR-1 row by row -- NR consecutive values per p,
 * i.e. two whole vectors. Columns past nc are zero padding, as in pack_a. */
static void SFX(pack_b)(int64_t kc, int64_t nc, const T *b, int64_t ldb, T *restrict bp)
{
    for (int64_t j0 = 0; j0 < nc; j0 += NR) {
        const int64_t nr = TG_MIN(NR, nc - j0);
        for (int64_t p = 0; p < kc; p++) {
            const T *src = b + p * ldb + j0;
            for (int64_t j = 0; j < nr; j++) bp[j] = src[j];
            for (int64_t j = nr; j < NR; j++) bp[j] = 0;
            bp += NR;
        }
    }
}

/* C[mr, nr] = (or +=, if accumulate) A panel [MR, kc] @ B panel [kc, NR],
 * for the top-left mr x nr corner of the full MR x NR register tile. */
static void SFX(micro_kernel)(int64_t kc, const T *restrict ap, const T *restrict bp,
                              T *restrict c, int64_t ldc, int64_t mr, int64_t nr,
                              int accumulate)
{
    typedef SFX(vec) vec;
    /* Twelve named accumulators rather than an array: GCC reliably keeps
     * these in registers. Row i of the tile is (ci_0, ci_1). */
    vec c0_0 = {0}, c0_1 = {0}, c1_0 = {0}, c1_1 = {0}, c2_0 = {0}, c2_1 = {0};
    vec c3_0 = {0}, c3_1 = {0}, c4_0 = {0}, c4_1 = {0}, c5_0 = {0}, c5_1 = {0};

    for (int64_t p = 0; p < kc; p++) {
        /* bp is TG_ALIGN-aligned and advances by whole vectors. */
        const vec b0 = ((const vec *)bp)[0];
        const vec b1 = ((const vec *)bp)[1];
        /* scalar * vector broadcasts the scalar (a GCC/Clang extension);
         * with -ffp-contract=fast each line is one FMA. */
        c0_0 += ap[0] * b0;  c0_1 += ap[0] * b1;
        c1_0 += ap[1] * b0;  c1_1 += ap[1] * b1;
        c2_0 += ap[2] * b0;  c2_1 += ap[2] * b1;
        c3_0 += ap[3] * b0;  c3_1 += ap[3] * b1;
        c4_0 += ap[4] * b0;  c4_1 += ap[4] * b1;
        c5_0 += ap[5] * b0;  c5_1 += ap[5] * b1;
        ap += TG_MR;
        bp += NR;
    }

    if (mr == TG_MR && nr == NR) {
        /* Full tile (the common case): straight from registers to C. Rows of
         * C are only element-aligned, hence the under-aligned vector type. */
        typedef T uvec __attribute__((vector_size(TG_VEC_BYTES), aligned(sizeof(T))));
        uvec *r0 = (uvec *)c, *r1 = (uvec *)(c + ldc), *r2 = (uvec *)(c + 2 * ldc);
        uvec *r3 = (uvec *)(c + 3 * ldc), *r4 = (uvec *)(c + 4 * ldc), *r5 = (uvec *)(c + 5 * ldc);
        if (accumulate) {
            c0_0 += r0[0];  c0_1 += r0[1];  c1_0 += r1[0];  c1_1 += r1[1];
            c2_0 += r2[0];  c2_1 += r2[1];  c3_0 += r3[0];  c3_1 += r3[1];
            c4_0 += r4[0];  c4_1 += r4[1];  c5_0 += r5[0];  c5_1 += r5[1];
        }
        r0[0] = c0_0;  r0[1] = c0_1;  r1[0] = c1_0;  r1[1] = c1_1;
        r2[0] = c2_0;  r2[1] = c2_1;  r3[0] = c3_0;  r3[1] = c3_1;
        r4[0] = c4_0;  r4[1] = c4_1;  r5[0] = c5_0;  r5[1] = c5_1;
        return;
    }

    /* Edge tile: spill the registers (12 stores per kc-long loop, cheap) so
     * one simple loop can write any mr x nr corner of the tile to C. */
    vec tile[TG_MR][2] = {{c0_0, c0_1}, {c1_0, c1_1}, {c2_0, c2_1},
                          {c3_0, c3_1}, {c4_0, c4_1}, {c5_0, c5_1}};
    for (int64_t i = 0; i < mr; i++) {
        const T *src = (const T *)tile[i];
        T *dst = c + i * ldc;
        if (accumulate)
            for (int64_t j = 0; j < nr; j++) dst[j] += src[j];
        else
            for (int64_t j = 0; j < nr; j++) dst[j] = src[j];
    }
}

int SFX(tg_matmul)(const T *a, const T *b, T *c, int64_t m, int64_t k, int64_t n)
{
    int rc = tg_check_matmul_args(a, b, c, m, k, n, (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    if (m == 0 || n == 0) return TG_OK;
    if (k == 0) { /* empty sum: PyTorch and NumPy both give zeros */
        memset(c, 0, (size_t)(m * n) * sizeof(T));
        return TG_OK;
    }
    if (m * n <= TG_SMALL_FLOPS / k) return SFX(tg_matmul_naive)(a, b, c, m, k, n);

    /* Split k into equal blocks of at most KC (784 -> 4 x 196, not
     * 3 x 256 + 16): a short last block would pay a full C update for little work. */
    const int64_t k_blocks = (k + TG_KC - 1) / TG_KC;
    const int64_t kc_step = (k + k_blocks - 1) / k_blocks;
    /* Buffers sized to the problem, not to the maximum block, so small
     * products do not touch megabytes of fresh memory. */
    const int64_t mc_max = TG_MIN(TG_MC, tg_round_up(m, TG_MR));
    const int64_t nc_max = TG_MIN(TG_NC, tg_round_up(n, NR));
    T *ap = tg_scratch(mc_max * kc_step * (int64_t)sizeof(T));
    T *bp = tg_scratch(kc_step * nc_max * (int64_t)sizeof(T));
    if (ap == NULL || bp == NULL) {
        free(ap);
        free(bp);
        return TG_ERR_NOMEM;
    }

    for (int64_t jc = 0; jc < n; jc += TG_NC) {
        const int64_t nc = TG_MIN(TG_NC, n - jc);
        for (int64_t pc = 0; pc < k; pc += kc_step) {
            const int64_t kc = TG_MIN(kc_step, k - pc);
            SFX(pack_b)(kc, nc, b + pc * n + jc, n, bp);
            for (int64_t ic = 0; ic < m; ic += TG_MC) {
                const int64_t mc = TG_MIN(TG_MC, m - ic);
                SFX(pack_a)(mc, kc, a + ic * k + pc, k, ap);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    for (int64_t ir = 0; ir < mc; ir += TG_MR) {
                        SFX(micro_kernel)(kc, ap + ir * kc, bp + jr * kc,
                                          c + (ic + ir) * n + jc + jr, n,
                                          TG_MIN(TG_MR, mc - ir), TG_MIN(NR, nc - jr),
                                          pc > 0);
                    }
                }
            }
        }
    }
    free(ap);
    free(bp);
    return TG_OK;
}

#undef VLEN
#undef NR

#endif /* TG_MATMUL_BODY */
