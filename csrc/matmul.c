/*
 * matmul.c -- C[b] = A[b] @ B[b] (+ bias), strided, batched, float32 and float64.
 *
 * Two versions, side by side so the benchmark teaches something:
 *
 *   tg_matmul_naive_*  the textbook triple loop. Every C[i, j] is a dot product
 *                      that walks down a column of B, one cache line per
 *                      multiply-add, so it runs at memory speed, not FPU speed.
 *
 *   tg_gemm_*          the Goto / BLIS algorithm (Goto & van de Geijn, "Anatomy
 *   (tg_matmul_*: its  of high-performance matrix multiplication", 2008):
 *   dense special case)
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
 *   Packing makes B unit-stride and pads ragged edges to a whole tile, so the
 *   kernel itself never branches on sizes; only the final store looks at the
 *   real tile size. Any m, k, n >= 0 works, including 0, 1 and primes.
 *
 *   Strides: packing reads A and B through (row, column) element strides, so a
 *   transposed or sliced NumPy view is read in place, never copied first
 *   (W.t() in a Linear layer is just B with row stride 1). Each pack loop runs
 *   along whichever stride is unit, so both layouts read memory in order.
 *
 *   Fusions: the Linear bias is added to the tile in registers as the first
 *   k-block is stored (no extra pass over C). PERF: A is packed only when
 *   neither of its strides is 1; otherwise the micro-kernel reads it in place
 *   (its broadcasts load one scalar per row wherever it lies), which saves the
 *   packing pass: about 10% of a 64x256x128 product. Products of at most 64
 *   rows (an MLP at batch 64) whose B rows are contiguous skip packing B too:
 *   tg_gemm_small (tg_matmul_small.h) reads B in place, since each B value
 *   then serves only 11 row tiles and its copy no longer pays.
 *
 *   Threads: C is cut into tasks (whole batch items, or row / column strips
 *   of one product) that the pool (threadpool.c) hands out one at a time: a
 *   late or preempted thread takes fewer. Each task runs the algorithm above
 *   with its own packing buffers, so threads never wait on each other
 *   mid-product. Small products (TG_PAR_MIN_WORK) stay on the calling thread.
 *   tg_linear_backward (tg_linear_backward.h) runs a Linear layer's gradients as one job.
 *
 *   Vectors are GCC/Clang vector extensions, not intrinsics, so the same
 *   code compiles to SSE2, AVX2 or AVX-512 depending on -march (build_ffi.py
 *   passes -march=native when the compiler accepts it; without it the build
 *   is portable SSE2). The vector width is picked below from the target macros.
 *
 * The typed code is written once, in the second half of this file, in terms
 * of T (element type) and SFX(name) (name with a _f32 / _f64 suffix). This
 * file then includes itself once per type (through tg_each_type.h) -- C's
 * stand-in for a template.
 */
#ifndef TG_MATMUL_BODY /* ===== first pass: shared parts, then instantiate ===== */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "threadpool.h"
#include "tinygrad_edu.h"
#include "tg_matmul_small.h" /* tg_gemm_small_*: the unpacked path for small products */

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

/* Products of at most this many multiply-adds skip packing (the naive loop is faster). */
#define TG_SMALL_WORK (8 * 8 * 8)

/* A strided along both dimensions is packed only when B has more than this many NR-wide
 * column panels to reuse it for (A with a unit stride is never packed, see gemm_block). */
#define TG_PACK_A_MIN_PANELS 2

/* Multiply-adds (batch * m * n * k) from which a call uses more than one
 * thread. Re-measured on the 2-core AMD EPYC (AVX-512) with the spinning pool,
 * -DTG_PAR_MIN_WORK=0, best per-call times at 1 / 2 threads (under chrt -f, the
 * machine being shared): 64x256x128 (2.1M) 50 -> 27 us (1.86x); 64x128x64 (0.5M)
 * 13.2 -> 12.4 us, 64x64x128 13.7 -> 10.6 us; 64x64x10 (41K) 4.1 -> 5.3 us (the
 * hand-over alone is ~1 us). So 1M: at batch 64 the MNIST MLP's products of
 * the first three layers split, the last two do not. */
#ifndef TG_PAR_MIN_WORK /* -DTG_PAR_MIN_WORK=0 to measure where threads start to pay */
#define TG_PAR_MIN_WORK (1000 * 1000)
#endif

/* PERF: products of at most this many rows whose B has unit-stride rows skip packing
 * whatever their size: they go to tg_gemm_small, which reads B in place with AVX-512
 * masked loads. Each B value is used once per 6-row tile, so with few rows the packing
 * pass is no longer small beside the multiply. At 1 thread (best of many calls, Zen 4):
 * 64x784x512 495 -> 471 us, 32x784x512 285 -> 240 us, 64x256x128 39.5 -> 37.8 us; even
 * at 96 rows, 703 us both ways; at 192 rows packing wins (1378 against 1420 us). */
#define TG_UNPACKED_MAX_ROWS 64

/* Whether tg_gemm_small should run an m x k x n block with B's strides b_rs, b_cs. */
static int tg_unpacked_pays(int64_t m, int64_t k, int64_t n, int64_t b_rs, int64_t b_cs, int64_t elem_size)
{
#if defined(__AVX512F__) /* without masked loads tg_gemm_small has no fast edge */
    if (m <= TG_UNPACKED_MAX_ROWS && k >= 16 && (b_cs == 1 || n == 1)) return 1;
#endif
    return tgs_takes(m, k, n, b_rs, b_cs, elem_size); /* (with b_rs: a small W^T too, through its panel) */
}

/* Tasks per thread: more than one, so a late or preempted thread leaves work the others
 * take, but few: each task packs its own copy of the operand it does not split. */
#define TG_TASKS_PER_THREAD 2

/* The threads a product of `work` multiply-adds (a double: it may not fit in int64) runs
 * on: 1 below TG_PAR_MIN_WORK or in the pool's serial spell (then no cut, no extra packing). */
static int64_t tg_gemm_threads(double work)
{
    if (work < (double)TG_PAR_MIN_WORK) return 1;
    return tg_parallel_threads(tg_get_num_threads());
}

/* GCC turns short copy loops into memcpy/memset calls, one per row of a
 * packed panel: ~30% of the time of a 64x64x10 product went to those calls.
 * Packing loops opt out, and stay out of line so that the option sticks
 * (other compilers keep their defaults). */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_NO_MEMCPY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns"), noinline))
#else
#define TG_NO_MEMCPY_CALLS
#endif

#define TG_MIN(x, y) ((x) < (y) ? (x) : (y))
#define TG_MAX(x, y) ((x) > (y) ? (x) : (y))
static int64_t tg_ceil_div(int64_t x, int64_t d) { return (x + d - 1) / d; }
static int64_t tg_round_up(int64_t x, int64_t to) { return tg_ceil_div(x, to) * to; }

/* Strip idx of `tasks` over [0, len): whole units (micro-tile rows or columns), the
 * strips' unit counts differing by at most one (784 columns = 25 panels of 32: 7, 6, 6, 6). */
static void tg_strip(int64_t idx, int64_t tasks, int64_t len, int64_t unit, int64_t *lo, int64_t *hi)
{
    const int64_t units = tg_ceil_div(len, unit);
    *lo = TG_MIN(len, idx * units / tasks * unit);
    *hi = TG_MIN(len, (idx + 1) * units / tasks * unit);
}


#include "tg_transpose.h" /* PERF: tg_transpose_f32 for packing B = W^T */

/* x * y > limit, for x, y >= 0, without overflowing. */
static int tg_mul_exceeds(int64_t x, int64_t y, int64_t limit) { return x != 0 && y > limit / x; }

/* Shared argument check of every entry point. Sizes are element counts and
 * strides element steps, all >= 0; a pointer may be NULL only if its array is
 * empty; the byte sizes of the (dense) output and of each operand's extent must
 * fit in int64. Whether the strides stay inside the caller's buffers cannot be
 * known here: the Python wrapper checks that. */
static int tg_check_gemm_args(const void *a, const void *b, const void *c, int64_t batch,
                              int64_t m, int64_t k, int64_t n, int64_t a_bs, int64_t a_rs,
                              int64_t a_cs, int64_t b_bs, int64_t b_rs, int64_t b_cs,
                              int64_t elem_size)
{
    const int64_t limit = INT64_MAX / elem_size / 4;
    if (batch < 0 || m < 0 || k < 0 || n < 0) return TG_ERR_SIZE;
    if (a_bs < 0 || a_rs < 0 || a_cs < 0 || b_bs < 0 || b_rs < 0 || b_cs < 0) return TG_ERR_SIZE;
    if (tg_mul_exceeds(m, n, limit) || tg_mul_exceeds(batch, m * n, limit) ||
        tg_mul_exceeds(m, a_rs, limit) || tg_mul_exceeds(k, a_cs, limit) ||
        tg_mul_exceeds(batch, a_bs, limit) || tg_mul_exceeds(k, b_rs, limit) ||
        tg_mul_exceeds(n, b_cs, limit) || tg_mul_exceeds(batch, b_bs, limit) ||
        tg_mul_exceeds(m, k, limit) || tg_mul_exceeds(k, n, limit))
        return TG_ERR_SIZE;
    const int empty = batch == 0 || m == 0 || n == 0;
    if (c == NULL && !empty) return TG_ERR_NULL;
    if ((a == NULL || b == NULL) && !empty && k != 0) return TG_ERR_NULL;
    return TG_OK;
}

#include "tg_gemm_scratch.h" /* tg_scratch: per-thread packing buffers */

#define TG_MATMUL_BODY
#define TG_BODY_FILE "matmul.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body, instantiated for one element type T ===== */

#define VLEN (TG_VEC_BYTES / (int64_t)sizeof(T)) /* elements per vector */
#define NR (2 * VLEN)                            /* micro-tile width */

typedef T SFX(vec) __attribute__((vector_size(TG_VEC_BYTES)));
/* The same vector, but only element-aligned: rows of C and the bias. */
typedef T SFX(uvec) __attribute__((vector_size(TG_VEC_BYTES), aligned(sizeof(T))));

/* C[i, j] = bias[j] + sum_p A[i, p] * B[p, j], strided A and B, C rows ldc apart. */
static void SFX(naive_block)(const T *a, int64_t a_rs, int64_t a_cs, const T *b, int64_t b_rs,
                             int64_t b_cs, const T *bias, T *c, int64_t ldc, int64_t m,
                             int64_t k, int64_t n)
{
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            T acc = 0;
            for (int64_t p = 0; p < k; p++) acc += a[i * a_rs + p * a_cs] * b[p * b_rs + j * b_cs];
            c[i * ldc + j] = bias ? acc + bias[j] : acc;
        }
    }
}

int SFX(tg_matmul_naive)(const T *a, const T *b, T *c, int64_t m, int64_t k, int64_t n)
{
    int rc = tg_check_gemm_args(a, b, c, 1, m, k, n, 0, k, 1, 0, n, 1, (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    SFX(naive_block)(a, k, 1, b, n, 1, NULL, c, n, m, k, n);
    return TG_OK;
}

/* Copy the [mc, kc] block of A (element (i, p) at a[i * rs + p * cs]) into
 * MR-row panels. Panel r holds rows r*MR .. r*MR+MR-1 column by column -- MR
 * consecutive values per p -- which is the order the micro-kernel reads them.
 * Rows past mc are zeros, not garbage (maybe NaN, maybe slow denormals) fed to
 * the FMAs of tile rows that are never stored. */
TG_NO_MEMCPY_CALLS static void SFX(pack_a)(int64_t mc, int64_t kc, const T *a, int64_t rs, int64_t cs, T *restrict ap)
{
    for (int64_t i0 = 0; i0 < mc; i0 += TG_MR, a += TG_MR * rs) {
        const int64_t mr = TG_MIN(TG_MR, mc - i0);
        for (int64_t p = 0; p < kc; p++, ap += TG_MR) {
            for (int64_t i = 0; i < mr; i++) ap[i] = a[i * rs + p * cs];
            for (int64_t i = mr; i < TG_MR; i++) ap[i] = 0;
        }
    }
}

/* Copy the [kc, nc] block of B (element (p, j) at b[p * rs + j * cs]) into
 * column panels of NR values per p (two whole vectors), columns past nc zero.
 * A last panel at most one vector wide is packed VLEN values per p instead:
 * the one-vector micro-kernel reads no more (n = 10 logits would otherwise
 * pack 22 columns of zeros). Row-major B (cs == 1) is copied row segment by
 * row segment; otherwise (e.g. B = W^T, rs == 1) column by column, so that the
 * reads, not the writes into the small L1-resident panel, run along memory. */
TG_NO_MEMCPY_CALLS static void SFX(pack_b)(int64_t kc, int64_t nc, const T *b, int64_t rs, int64_t cs, T *restrict bp)
{
    for (int64_t j0 = 0; j0 < nc; j0 += NR, bp += kc * NR) {
        const int64_t nr = TG_MIN(NR, nc - j0), width = nr > VLEN ? NR : VLEN;
        const T *src = b + j0 * cs;
        if (cs == 1 && nr == NR) { /* constant trip count: vector moves */
            for (int64_t p = 0; p < kc; p++)
                for (int64_t j = 0; j < NR; j++) bp[p * NR + j] = src[p * rs + j];
            continue;
        }
        if (nr < width) memset(bp, 0, (size_t)(kc * width) * sizeof(T));
        if (cs == 1) {
            for (int64_t p = 0; p < kc; p++)
                for (int64_t j = 0; j < nr; j++) bp[p * width + j] = src[p * rs + j];
        } else {
            /* Eight columns of B (rows of W) at a time: each p then stores eight
             * neighbours at once rather than one scalar per element. */
            int64_t j = 0;
#ifdef TG_HAVE_TRANSPOSE_F32
            if (sizeof(T) == 4 && rs == 1) { /* PERF: B = W^T of float32, 16 x 16 tiles in registers */
                tg_transpose_f32((const float *)src, cs, (float *)bp, width, nr, kc);
                j = nr;
            }
#endif
            for (; j + 8 <= nr; j += 8) {
                const T *s0 = src + j * cs;
                for (int64_t p = 0; p < kc; p++) {
                    T *dst = bp + p * width + j;
                    const T *sp = s0 + p * rs;
                    dst[0] = sp[0];       dst[1] = sp[cs];     dst[2] = sp[2 * cs]; dst[3] = sp[3 * cs];
                    dst[4] = sp[4 * cs];  dst[5] = sp[5 * cs]; dst[6] = sp[6 * cs]; dst[7] = sp[7 * cs];
                }
            }
            for (; j < nr; j++)
                for (int64_t p = 0; p < kc; p++) bp[p * width + j] = src[j * cs + p * rs];
        }
    }
}

/* C[mr, nr] = (or +=, if accumulate) A[MR, kc] @ B panel [kc, NR] (+ bias[nr]),
 * for the top-left mr x nr corner of the full MR x NR register tile.
 * Row i of A is read at a[oi + p * a_cs]: a packed panel passes oi = i and
 * a_cs = MR (constants, once inlined), an in-place A its own strides.
 * nv (a constant at each call) is the number of B vectors used: 1 when the
 * tile is at most one vector wide (n = 10 logits), halving the FMAs. Only
 * the first nr <= VLEN columns of the tile are then meaningful. */
static inline __attribute__((always_inline)) void SFX(micro_kernel)(
    int64_t kc, const T *restrict a, int64_t o0, int64_t o1, int64_t o2, int64_t o3, int64_t o4,
    int64_t o5, int64_t a_cs, const T *restrict bp, T *restrict c, int64_t ldc, int64_t mr,
    int64_t nr, int accumulate, const T *restrict bias, const int nv)
{
    typedef SFX(vec) vec;
    typedef SFX(uvec) uvec;
    /* Twelve named accumulators rather than an array: GCC reliably keeps
     * these in registers. Row i of the tile is (ci_0, ci_1). */
    vec c0_0 = {0}, c0_1 = {0}, c1_0 = {0}, c1_1 = {0}, c2_0 = {0}, c2_1 = {0};
    vec c3_0 = {0}, c3_1 = {0}, c4_0 = {0}, c4_1 = {0}, c5_0 = {0}, c5_1 = {0};
    /* PERF: ask for the C tile now, so that reading it (accumulate) or writing it at the
     * end does not wait for memory: 1024^3 (C in L3) went from 21.3 to 19.8 ms. */
    for (int64_t i = 0; i < mr; i++) {
        __builtin_prefetch(c + i * ldc, 1, 3);
        __builtin_prefetch(c + i * ldc + nv * VLEN - 1, 1, 3);
    }

    if (nv == 1) {
        /* One vector of B per p gives only six accumulators, and six chains of
         * dependent FMAs (4-cycle latency) cannot keep two FMA pipes busy. So
         * even and odd p go to separate accumulators (the idle ci_1), summed at
         * the end: twelve independent chains, as in the two-vector loop. */
        int64_t p = 0;
        for (; p + 1 < kc; p += 2) {
            const vec b0 = ((const vec *)bp)[0], b1 = ((const vec *)bp)[1];
            const T *a1 = a + a_cs;
            c0_0 += a[o0] * b0;  c1_0 += a[o1] * b0;  c2_0 += a[o2] * b0;
            c3_0 += a[o3] * b0;  c4_0 += a[o4] * b0;  c5_0 += a[o5] * b0;
            c0_1 += a1[o0] * b1; c1_1 += a1[o1] * b1; c2_1 += a1[o2] * b1;
            c3_1 += a1[o3] * b1; c4_1 += a1[o4] * b1; c5_1 += a1[o5] * b1;
            a += 2 * a_cs;
            bp += 2 * VLEN; /* the panel is one vector wide, see pack_b */
        }
        if (p < kc) {
            const vec b0 = ((const vec *)bp)[0];
            c0_0 += a[o0] * b0;  c1_0 += a[o1] * b0;  c2_0 += a[o2] * b0;
            c3_0 += a[o3] * b0;  c4_0 += a[o4] * b0;  c5_0 += a[o5] * b0;
        }
        c0_0 += c0_1;  c1_0 += c1_1;  c2_0 += c2_1;  c3_0 += c3_1;  c4_0 += c4_1;  c5_0 += c5_1;
    } else {
        for (int64_t p = 0; p < kc; p++) {
            /* bp is TG_ALIGN-aligned and advances by whole vectors. */
            const vec b0 = ((const vec *)bp)[0], b1 = ((const vec *)bp)[1];
            /* scalar * vector broadcasts the scalar (a GCC/Clang extension);
             * with -ffp-contract=fast each line is one FMA. */
            const T a0 = a[o0], a1 = a[o1], a2 = a[o2], a3 = a[o3], a4 = a[o4], a5 = a[o5];
            c0_0 += a0 * b0;  c0_1 += a0 * b1;
            c1_0 += a1 * b0;  c1_1 += a1 * b1;
            c2_0 += a2 * b0;  c2_1 += a2 * b1;
            c3_0 += a3 * b0;  c3_1 += a3 * b1;
            c4_0 += a4 * b0;  c4_1 += a4 * b1;
            c5_0 += a5 * b0;  c5_1 += a5 * b1;
            a += a_cs;
            bp += NR;
        }
    }

    if (mr == TG_MR && nr == NR) {
        /* Full tile (the common case): straight from registers to C. */
        uvec *r0 = (uvec *)c, *r1 = (uvec *)(c + ldc), *r2 = (uvec *)(c + 2 * ldc);
        uvec *r3 = (uvec *)(c + 3 * ldc), *r4 = (uvec *)(c + 4 * ldc), *r5 = (uvec *)(c + 5 * ldc);
        if (accumulate) {
            c0_0 += r0[0];  c0_1 += r0[1];  c1_0 += r1[0];  c1_1 += r1[1];
            c2_0 += r2[0];  c2_1 += r2[1];  c3_0 += r3[0];  c3_1 += r3[1];
            c4_0 += r4[0];  c4_1 += r4[1];  c5_0 += r5[0];  c5_1 += r5[1];
        } else if (bias) {
            const vec v0 = ((const uvec *)bias)[0], v1 = ((const uvec *)bias)[1];
            c0_0 += v0;  c0_1 += v1;  c1_0 += v0;  c1_1 += v1;  c2_0 += v0;  c2_1 += v1;
            c3_0 += v0;  c3_1 += v1;  c4_0 += v0;  c4_1 += v1;  c5_0 += v0;  c5_1 += v1;
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
        else if (bias)
            for (int64_t j = 0; j < nr; j++) dst[j] = src[j] + bias[j];
        else
            for (int64_t j = 0; j < nr; j++) dst[j] = src[j];
    }
}

/* C[i0:i1, j0:j1] of one product, sequentially: the loop nest of the header.
 * a, b, c point at the batch item; c is dense with row stride n. */
static int SFX(gemm_block)(const T *a, int64_t a_rs, int64_t a_cs, const T *b, int64_t b_rs,
                           int64_t b_cs, const T *bias, T *c, int64_t n, int64_t k, int64_t i0,
                           int64_t i1, int64_t j0, int64_t j1)
{
    const int64_t m_blk = i1 - i0, n_blk = j1 - j0;
    a += i0 * a_rs;
    b += j0 * b_cs;
    c += i0 * n + j0;
    if (bias) bias += j0;
    if (k == 0) { /* empty sum: PyTorch and NumPy both give zeros (plus the bias) */
        for (int64_t i = 0; i < m_blk; i++)
            for (int64_t j = 0; j < n_blk; j++) c[i * n + j] = bias ? bias[j] : 0;
        return TG_OK;
    }
    if (m_blk * n_blk <= TG_SMALL_WORK / k) {
        SFX(naive_block)(a, a_rs, a_cs, b, b_rs, b_cs, bias, c, n, m_blk, k, n_blk);
        return TG_OK;
    }
    if (tg_unpacked_pays(m_blk, k, n_blk, b_rs, b_cs, (int64_t)sizeof(T))) /* PERF: no packing */
        return SFX(tg_gemm_small)(a, b, bias, c, m_blk, k, n_blk, n, a_rs, a_cs, b_rs, b_cs);

    /* Split k into equal blocks of at most KC (784 -> 4 x 196, not
     * 3 x 256 + 16): a short last block would pay a full C update for little work. */
    const int64_t kc_step = tg_ceil_div(k, tg_ceil_div(k, TG_KC));
    const int64_t nc_max = TG_MIN(TG_NC, tg_round_up(n_blk, NR));
    /* PERF: packing A pays only when neither stride is 1 (then each row read in place
     * would touch its own cache line for every p). With a unit stride, A read in place
     * measured faster at every size (64x256x128: 43.8 -> 39.3 us; 512^3: 2.44 -> 2.36 ms,
     * 1 thread), and the tasks of a split product no longer each pack the same A. */
    const int pack_a = a_rs != 1 && a_cs != 1 && nc_max / NR > TG_PACK_A_MIN_PANELS;
    T *bp = tg_scratch(0, kc_step * nc_max * (int64_t)sizeof(T));
    T *ap = pack_a ? tg_scratch(1, TG_MIN(TG_MC, tg_round_up(m_blk, TG_MR)) * kc_step * (int64_t)sizeof(T))
                   : NULL;
    if (bp == NULL || (pack_a && ap == NULL)) return TG_ERR_NOMEM;

    for (int64_t jc = 0; jc < n_blk; jc += TG_NC) {
        const int64_t nc = TG_MIN(TG_NC, n_blk - jc);
        for (int64_t pc = 0; pc < k; pc += kc_step) {
            const int64_t kc = TG_MIN(kc_step, k - pc);
            SFX(pack_b)(kc, nc, b + pc * b_rs + jc * b_cs, b_rs, b_cs, bp);
            for (int64_t ic = 0; ic < m_blk; ic += TG_MC) {
                const int64_t mc = TG_MIN(TG_MC, m_blk - ic);
                const T *a_blk = a + ic * a_rs + pc * a_cs;
                if (pack_a) SFX(pack_a)(mc, kc, a_blk, a_rs, a_cs, ap);
                for (int64_t jr = 0; jr < nc; jr += NR) {
                    const int64_t nr = TG_MIN(NR, nc - jr);
                    const T *bias_r = bias && pc == 0 ? bias + jc + jr : NULL;
                    for (int64_t ir = 0; ir < mc; ir += TG_MR) {
                        const int64_t mr = TG_MIN(TG_MR, mc - ir);
                        T *c_tile = c + (ic + ir) * n + jc + jr;
                        const T *b_pan = bp + jr * kc;
/* The four variants (A packed or in place, one or two B vectors) differ only in
 * arguments that are constants at each call, so each inlines to its own loop. */
#define TG_TILE(a_pan, o1, o2, o3, o4, o5, step, nv)                                          \
    SFX(micro_kernel)(kc, a_pan, 0, o1, o2, o3, o4, o5, step, b_pan, c_tile, n, mr, nr, pc > 0, \
                      bias_r, nv)
                        if (pack_a) {
                            const T *a_pan = ap + ir * kc;
                            if (nr > VLEN) TG_TILE(a_pan, 1, 2, 3, 4, 5, TG_MR, 2);
                            else TG_TILE(a_pan, 1, 2, 3, 4, 5, TG_MR, 1);
                        } else {
                            /* Rows past mr re-read the last real row: in bounds, never stored. */
                            const T *a_pan = a_blk + ir * a_rs;
                            const int64_t last = mr - 1;
                            const int64_t o1 = TG_MIN(1, last) * a_rs, o2 = TG_MIN(2, last) * a_rs;
                            const int64_t o3 = TG_MIN(3, last) * a_rs, o4 = TG_MIN(4, last) * a_rs;
                            const int64_t o5 = TG_MIN(5, last) * a_rs;
                            if (nr > VLEN) TG_TILE(a_pan, o1, o2, o3, o4, o5, a_cs, 2);
                            else TG_TILE(a_pan, o1, o2, o3, o4, o5, a_cs, 1);
                        }
#undef TG_TILE
                    }
                }
            }
        }
    }
    return TG_OK;
}

/* One call's arguments plus how its output is cut into tasks. */
typedef struct {
    const T *a, *b, *bias;
    T *c;
    int64_t batch, m, k, n, a_bs, a_rs, a_cs, b_bs, b_rs, b_cs;
    int64_t batch_step, m_tasks, n_tasks;
} SFX(gemm_job);

/* Task t: batch items [bi, bi + batch_step) x row strip mi x column strip ni. */
static int SFX(gemm_task)(void *ctx, int64_t t)
{
    SFX(gemm_job) *job = ctx;
    const int64_t per_item = job->m_tasks * job->n_tasks;
    const int64_t mi = t % per_item / job->n_tasks, ni = t % per_item % job->n_tasks;
    int64_t i0, i1, j0, j1;
    tg_strip(mi, job->m_tasks, job->m, TG_MR, &i0, &i1);
    tg_strip(ni, job->n_tasks, job->n, NR, &j0, &j1);
    const int64_t b0 = t / per_item * job->batch_step, b1 = TG_MIN(job->batch, b0 + job->batch_step);
    for (int64_t bi = b0; bi < b1; bi++) {
        int rc = SFX(gemm_block)(job->a + bi * job->a_bs, job->a_rs, job->a_cs,
                                 job->b + bi * job->b_bs, job->b_rs, job->b_cs, job->bias,
                                 job->c + bi * job->m * job->n, job->n, job->k, i0, i1, j0, j1);
        if (rc != TG_OK) return rc;
    }
    return TG_OK;
}

/* Check one product's arguments and fill `job` with them and its cut into about `pieces`
 * tasks (1: one uncut task, the sequential algorithm); returns TG_OK or the error. */
static int SFX(gemm_plan)(SFX(gemm_job) *job, const T *a, const T *b, const T *bias, T *c,
                          int64_t batch, int64_t m, int64_t k, int64_t n, int64_t a_bs,
                          int64_t a_rs, int64_t a_cs, int64_t b_bs, int64_t b_rs, int64_t b_cs,
                          int64_t pieces)
{
    /* The stride of a dimension of size <= 1 is never used to step: forget it,
     * whatever value (NumPy leaves arbitrary ones there) the caller passed. */
    if (batch <= 1) a_bs = b_bs = 0;
    if (m <= 1) a_rs = 0;
    if (k <= 1) a_cs = b_rs = 0;
    if (n <= 1) b_cs = 0;
    int rc = tg_check_gemm_args(a, b, c, batch, m, k, n, a_bs, a_rs, a_cs, b_bs, b_rs, b_cs,
                                (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    *job = (SFX(gemm_job)){a, b, bias, c, batch, m, k, n, a_bs, a_rs, a_cs, b_bs, b_rs, b_cs,
                           batch, 1, 1};
    if (pieces <= 1) return TG_OK;
    if (batch >= pieces) { /* whole batch items per task */
        job->batch_step = tg_ceil_div(batch, pieces);
    } else { /* strips of each item, cut across the longer side of C (for the batch-64
              * products of an MLP: column strips; each task packs its own strip of B
              * and reads all of A, which is small) */
        const int64_t strips = tg_ceil_div(pieces, batch);
        job->batch_step = 1;
        if (m >= n) job->m_tasks = TG_MIN(strips, tg_ceil_div(m, TG_MR));
        else job->n_tasks = TG_MIN(strips, tg_ceil_div(n, NR));
    }
    return TG_OK;
}

static int64_t SFX(gemm_ntasks)(const SFX(gemm_job) *j)
{
    return j->batch && j->m && j->n ? tg_ceil_div(j->batch, j->batch_step) * j->m_tasks * j->n_tasks : 0;
}

int SFX(tg_gemm)(const T *a, const T *b, const T *bias, T *c, int64_t batch, int64_t m,
                 int64_t k, int64_t n, int64_t a_bs, int64_t a_rs, int64_t a_cs, int64_t b_bs,
                 int64_t b_rs, int64_t b_cs)
{
    SFX(gemm_job) job;
    const int64_t threads = tg_gemm_threads((double)batch * (double)m * (double)n * (double)k);
    int rc = SFX(gemm_plan)(&job, a, b, bias, c, batch, m, k, n, a_bs, a_rs, a_cs, b_bs, b_rs,
                            b_cs, threads > 1 ? threads * TG_TASKS_PER_THREAD : 1);
    if (rc != TG_OK) return rc;
    return tg_parallel_for(SFX(gemm_task), &job, SFX(gemm_ntasks)(&job), threads);
}

#include "tg_linear_backward.h" /* tg_linear_backward_*: a Linear layer's backward as one job */

int SFX(tg_matmul)(const T *a, const T *b, T *c, int64_t m, int64_t k, int64_t n)
{
    return SFX(tg_gemm)(a, b, NULL, c, 1, m, k, n, 0, k, 1, 0, n, 1);
}

#undef VLEN
#undef NR
#endif /* TG_MATMUL_BODY */
