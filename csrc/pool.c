/*
 * pool.c -- the max pooling kernels, float32 and float64.
 *
 *   tg_max_pool2d_forward_*  max of each window and where it was (flat index in H*W); planes in parallel
 *   tg_max_pool2d_backward_* scatter-add of the output gradient at those indices; planes in parallel
 *
 * Max pooling slides the same window as convolution (a struct tg_window, checked by
 * tg_check_window in tg_conv_common.h) but reduces each window to its largest tap instead of
 * a dot product, so it needs no unfolding and no GEMM: the forward walks each plane window by
 * window and keeps the argmax, which the backward uses to send each output gradient back to
 * the one input it came from (PyTorch's max_pool2d_with_indices and its backward). Every
 * window is clipped to the input, so any geometry is memory-safe; a window lying entirely in
 * the padding is an error (PyTorch's argument checks rule it out).
 * Performance: rows of windows wholly inside the input go through branch-free fast paths
 * (pool_row_inside, and pool_row_2x2 for the commonest 2x2 stride-2 window); the planes are
 * independent, so large inputs are split across the thread pool.
 *
 * As in matmul.c, the typed code is written once in the second half and the file includes
 * itself once per element type.
 */
#ifndef TG_POOL_BODY /* ===== first pass: shared parts, then instantiate ===== */

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "tg_conv_common.h"
#include "threadpool.h"
#include "tinygrad_edu.h"

/* Whether every one of the out windows along an axis of the given size has a tap inside it
 * (window o's taps: o * stride - pad + i * dil, i < kernel). Checked up front, for every
 * batch and channel count alike: with none the answer must still be the same error. Windows
 * starting at or after 0 are covered iff they start inside, so only the last one is checked;
 * those starting in the padding have their first tap at or after 0 at (start mod dil) when
 * the input is narrower than the dilation, else at or before dil - 1 < size. */
static int tg_pool_axis_covered(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dil, int64_t out)
{
    if (out == 0) return 1;
    if (pad > (kernel - 1) * dil || (out - 1) * stride - pad >= size) return 0; /* first or last window */
    for (int64_t o = 0; size < dil && o < out && o * stride < pad; o++) {
        const int64_t start = o * stride - pad; /* < 0 */
        if ((start % dil + dil) % dil >= size) return 0;
    }
    return 1;
}

#if defined(__AVX512F__)
/* PERF: pool_row_2x2 (below) for float32, sixteen windows per step in AVX-512 registers; the
 * same result, bit for bit (tested against it and torch). The notes' pools have rows of 14
 * and 7 windows, too short for the compiler's vector loop: scalar, 2x2 pooling cost 33 ns a
 * row; here each row is one masked step, ~12 ns (0.48 -> 0.18 ms for the notes' first pool). Top
 * row taps a, b and bottom row c, d of the 16 windows come from two masked loads per row and
 * an even / odd lane shuffle; the max and the first tap with its bits as in pool_row_2x2.
 * Returns whether some tap was NaN (the caller then redoes the row the general way). */
static int tg_pool_row_2x2_f32_avx512(const float *plane, int64_t w, const struct tg_window *win, int64_t oy,
                                      int64_t x0, int64_t x1, float *val, int64_t *idx)
{
    const int64_t base = (2 * oy - win->pad_h) * w - win->pad_w;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i lane = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    int nan = 0;
    for (int64_t ox = x0; ox < x1; ox += 16) {
        const int64_t nw = TG_CONV_MIN(16, x1 - ox), taps = 2 * nw; /* windows, taps per row */
        const __mmask16 lo = (__mmask16)(taps >= 16 ? 0xffff : (1u << taps) - 1);
        const __mmask16 hi = (__mmask16)(taps >= 32 ? 0xffff : taps <= 16 ? 0 : (1u << (taps - 16)) - 1);
        const float *top = plane + base + 2 * ox, *bottom = top + w;
        const __m512 t0 = _mm512_maskz_loadu_ps(lo, top), t1 = _mm512_maskz_loadu_ps(hi, top + 16);
        const __m512 b0 = _mm512_maskz_loadu_ps(lo, bottom), b1 = _mm512_maskz_loadu_ps(hi, bottom + 16);
        const __m512 a = _mm512_permutex2var_ps(t0, even, t1), b = _mm512_permutex2var_ps(t0, odd, t1);
        const __m512 c = _mm512_permutex2var_ps(b0, even, b1), d = _mm512_permutex2var_ps(b0, odd, b1);
        /* x > y ? x : y, as the scalar code (max_ps differs on zeros) */
        const __m512 ab = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, a, _CMP_GT_OQ), a, b);
        const __m512 cd = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(d, c, _CMP_GT_OQ), c, d);
        const __m512 best = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(cd, ab, _CMP_GT_OQ), ab, cd);
        const __mmask16 windows = (__mmask16)((1u << nw) - 1);
        /* masked-off lanes loaded as zeros: only real taps can be NaN */
        nan |= (_mm512_cmp_ps_mask(t0, t0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(t1, t1, _CMP_UNORD_Q) |
                _mm512_cmp_ps_mask(b0, b0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(b1, b1, _CMP_UNORD_Q)) != 0;
        /* the offset of the first tap with best's bits: d's, then overwritten by c's, b's, a's */
        const __m512i bits = _mm512_castps_si512(best);
        __m512i off = _mm512_set1_epi32((int)(w + 1));
        off = _mm512_mask_mov_epi32(off, _mm512_cmpeq_epi32_mask(_mm512_castps_si512(c), bits), _mm512_set1_epi32((int)w));
        off = _mm512_mask_mov_epi32(off, _mm512_cmpeq_epi32_mask(_mm512_castps_si512(b), bits), _mm512_set1_epi32(1));
        off = _mm512_mask_mov_epi32(off, _mm512_cmpeq_epi32_mask(_mm512_castps_si512(a), bits), _mm512_setzero_si512());
        _mm512_mask_storeu_ps(val + ox, windows, best);
        const __m512i at = _mm512_add_epi64(_mm512_set1_epi64(base + 2 * ox), lane); /* a's index, windows 0..7 */
        const __m512i i0 = _mm512_add_epi64(at, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(off)));
        const __m512i i1 = _mm512_add_epi64(_mm512_add_epi64(at, _mm512_set1_epi64(16)),
                                            _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(off, 1)));
        _mm512_mask_storeu_epi64(idx + ox, (__mmask8)windows, i0);
        _mm512_mask_storeu_epi64(idx + ox + 8, (__mmask8)(windows >> 8), i1);
    }
    return nan;
}
#endif

#define TG_POOL_BODY
#define TG_BODY_FILE "pool.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body, instantiated for one element type T ===== */

/* The max of window (oy, ox) of one plane, clipped to the input, and its flat index; TG_ERR_SIZE
 * if no tap lies inside. PyTorch's CPU rule: start at -inf on the first element inside, keep
 * the first of equal maxima, and let NaN win (so a NaN propagates). */
static int SFX(pool_window)(const T *plane, int64_t h, int64_t w, const struct tg_window *win, int64_t oy,
                            int64_t ox, T *value, int64_t *index)
{
    const int64_t dh = win->dilation_h, dw = win->dilation_w;
    /* Rows of the window inside the input: y_lo, y_lo + dh, ... < y_hi; columns likewise. */
    int64_t y_lo = oy * win->stride_h - win->pad_h, x_lo = ox * win->stride_w - win->pad_w;
    const int64_t y_hi = TG_CONV_MIN(y_lo + (win->kernel_h - 1) * dh + 1, h);
    const int64_t x_hi = TG_CONV_MIN(x_lo + (win->kernel_w - 1) * dw + 1, w);
    if (y_lo < 0) y_lo += (-y_lo + dh - 1) / dh * dh; /* first tap inside */
    if (x_lo < 0) x_lo += (-x_lo + dw - 1) / dw * dw;
    /* A window entirely in the padding has no max to return: PyTorch's argument checks rule
     * it out, and so must the caller's. */
    if (y_lo >= y_hi || x_lo >= x_hi) return TG_ERR_SIZE;
    T best = -INFINITY;
    int64_t best_at = y_lo * w + x_lo;
    for (int64_t y = y_lo; y < y_hi; y += dh) {
        for (int64_t xx = x_lo; xx < x_hi; xx += dw) {
            const T v = plane[y * w + xx];
            if (v > best || isnan(v)) {
                best = v;
                best_at = y * w + xx;
            }
        }
    }
    *value = best;
    *index = best_at;
    return TG_OK;
}

/* The same for the windows ox in [x0, x1) of output row oy, all wholly inside the input: tap by
 * tap across the row, with selects rather than branches, so the compiler vectorises it. One
 * window at a time, the compare-and-branch mispredicts on data about every other tap: 16 ns per
 * 2x2 window (3.2 ms for the notes' first pool) against 5 ns (1.0 ms). Same rule, same result. */
static void SFX(pool_row_inside)(const T *plane, int64_t w, const struct tg_window *win, int64_t oy, int64_t x0,
                                 int64_t x1, T *restrict val, int64_t *restrict idx)
{
    const int64_t sw = win->stride_w;
    for (int64_t i = 0; i < win->kernel_h; i++)
        for (int64_t j = 0; j < win->kernel_w; j++) {
            /* the tap's flat index in window ox is base + ox * sw */
            const int64_t base = (oy * win->stride_h - win->pad_h + i * win->dilation_h) * w - win->pad_w
                                 + j * win->dilation_w;
            const T *restrict src = plane;
            if (i == 0 && j == 0) {
                for (int64_t ox = x0; ox < x1; ox++) {
                    val[ox] = src[base + ox * sw];
                    idx[ox] = base + ox * sw;
                }
                continue;
            }
            for (int64_t ox = x0; ox < x1; ox++) {
                const T v = src[base + ox * sw], best = val[ox];
                const int take = (v > best) | (v != v);
                val[ox] = take ? v : best;
                idx[ox] = take ? base + ox * sw : idx[ox];
            }
        }
}

/* An integer as wide as T: pool_row_2x2 compares bit patterns. */
typedef __typeof__(_Generic((T)0, float: (int32_t)0, default: (int64_t)0)) SFX(bits);

static inline SFX(bits) SFX(bits_of)(T v)
{
    SFX(bits) b;
    memcpy(&b, &v, sizeof b);
    return b;
}

/* The same for the commonest window, 2x2 with stride 2 and no dilation, all four taps in one
 * pass: the general loop above makes four passes over val / idx, each a load and a store per
 * window, which costs more than the taps themselves at these sizes. Returns whether some tap
 * was NaN, in which case the caller redoes the row by pool_window. Otherwise the same result:
 * pairwise maxima keep the earlier tap of equal ones, so best is the first maximum's value, bit
 * for bit (even -0.0 against 0.0), and its index that of the first tap with best's bits.
 * Performance: a running max with its index is a chain through every tap, and compiled to
 * branches it mispredicts on data; here max (maxss) and the index (integer compares, cmov) are
 * branch-free and independent across windows: 0.15 vs 0.8 ms for the notes' second pool. */
static int SFX(pool_row_2x2)(const T *plane, int64_t w, const struct tg_window *win, int64_t oy, int64_t x0,
                             int64_t x1, T *restrict val, int64_t *restrict idx)
{
    const int64_t base = (2 * oy - win->pad_h) * w - win->pad_w;
#if defined(__AVX512F__)
    if (sizeof(T) == 4 && w <= INT32_MAX - 1) /* PERF: see tg_pool_row_2x2_f32_avx512 */
        return tg_pool_row_2x2_f32_avx512((const float *)plane, w, win, oy, x0, x1, (float *)val, idx);
#endif
    const T *restrict top = plane + base, *restrict bottom = top + w;
    int nan = 0;
    for (int64_t ox = x0; ox < x1; ox++) {
        const T a = top[2 * ox], b = top[2 * ox + 1], c = bottom[2 * ox], d = bottom[2 * ox + 1];
        const T ab = b > a ? b : a, cd = d > c ? d : c, best = cd > ab ? cd : ab;
        const SFX(bits) bb = SFX(bits_of)(best);
        const int64_t at = base + 2 * ox; /* a's index; b, c, d at +1, +w, +w+1 */
        /* 0 if a is best, else 1 if b is, else w if c is, else w + 1; in arithmetic, which
         * compilers keep branch-free (selects they may turn into branches) */
        const int64_t not_a = SFX(bits_of)(a) != bb, not_b = SFX(bits_of)(b) != bb;
        const int64_t not_c = SFX(bits_of)(c) != bb;
        val[ox] = best;
        idx[ox] = at + not_a * (1 + not_b * (w - 1 + not_c));
        nan |= (a != a) | (b != b) | (c != c) | (d != d);
    }
    return nan;
}

typedef struct {
    const T *x;
    T *values;
    int64_t *indices;
    int64_t planes_per_task, planes, h, w, x0, x1; /* [x0, x1): the columns of windows wholly inside */
    const struct tg_window *win;
} SFX(pool_job);

/* Planes [t * planes_per_task, ...) of the forward. */
static int SFX(pool_forward_task)(void *ctx, int64_t t)
{
    SFX(pool_job) *job = ctx;
    const struct tg_window *win = job->win;
    const int64_t h = job->h, w = job->w, oh = win->out_h, ow = win->out_w, x0 = job->x0, x1 = job->x1;
    const int64_t span_h = (win->kernel_h - 1) * win->dilation_h;
    const int64_t p1 = TG_CONV_MIN((t + 1) * job->planes_per_task, job->planes);
    const int two_by_two = win->kernel_h == 2 && win->kernel_w == 2 && win->stride_h == 2 && win->stride_w == 2 &&
                           win->dilation_h == 1 && win->dilation_w == 1;
    for (int64_t p = t * job->planes_per_task; p < p1; p++) {
        const T *plane = job->x + p * h * w;
        T *val = job->values + p * oh * ow;
        int64_t *idx = job->indices + p * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++, val += ow, idx += ow) {
            const int64_t y = oy * win->stride_h - win->pad_h;
            const int inside = y >= 0 && y + span_h < h && x0 < x1;
            int done = inside; /* windows [x0, x1) */
            if (inside && two_by_two) done = !SFX(pool_row_2x2)(plane, w, win, oy, x0, x1, val, idx);
            else if (inside) SFX(pool_row_inside)(plane, w, win, oy, x0, x1, val, idx);
            for (int64_t ox = 0; ox < ow; ox++) {
                if (done && ox == x0) ox = x1; /* done above */
                int rc;
                if (ox < ow && (rc = SFX(pool_window)(plane, h, w, win, oy, ox, val + ox, idx + ox)) != TG_OK)
                    return rc;
            }
        }
    }
    return TG_OK;
}

/* Window taps from which the forward runs on the thread pool, TG_POOL_TASKS tasks of whole
 * planes: at the notes' first pool (800k taps, 1 ms) the second thread pays for its wake-up. */
#define TG_POOL_PAR_MIN_TAPS (256 * 1024)
#define TG_POOL_TASKS 8

int SFX(tg_max_pool2d_forward)(const T *x, T *values, int64_t *indices, int64_t n, int64_t c, int64_t h,
                               int64_t w, const struct tg_window *win)
{
    int rc = tg_check_window(n, c, h, w, win, (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    const int64_t oh = win->out_h, ow = win->out_w, sw = win->stride_w;
    const int64_t span_w = (win->kernel_w - 1) * win->dilation_w, planes = n * c;
    if (oh * ow != 0 &&
        (!tg_pool_axis_covered(h, win->kernel_h, win->stride_h, win->pad_h, win->dilation_h, oh) ||
         !tg_pool_axis_covered(w, win->kernel_w, win->stride_w, win->pad_w, win->dilation_w, ow)))
        return TG_ERR_SIZE; /* a window lies entirely in the padding */
    if (planes * oh * ow == 0) return TG_OK;
    if (x == NULL || values == NULL || indices == NULL) return TG_ERR_NULL;
    /* Windows wholly inside the input: rows oy with 0 <= oy*sh - pad_h and oy*sh - pad_h + span_h < h
     * (checked per row), columns ox in [x0, x1). */
    const int64_t x0 = TG_CONV_MIN((win->pad_w + sw - 1) / sw, ow);
    const int64_t x1 = w - 1 - span_w + win->pad_w < 0 ? 0 : TG_CONV_MIN((w - 1 - span_w + win->pad_w) / sw + 1, ow);
    /* Every plane is independent: any split gives the same result. */
    const int par = (double)planes * (double)(oh * ow) * (double)(win->kernel_h * win->kernel_w) >= TG_POOL_PAR_MIN_TAPS;
    const int64_t ntasks = par ? TG_CONV_MIN(planes, TG_POOL_TASKS) : 1;
    SFX(pool_job) job = {x, values, indices, (planes + ntasks - 1) / ntasks, planes, h, w, x0, x1, win};
    return tg_parallel_for(SFX(pool_forward_task), &job, ntasks, par ? tg_get_num_threads() : 1);
}

typedef struct {
    const T *grad_out;
    const int64_t *indices;
    T *grad_in;
    int64_t planes_per_task, planes, plane, outs; /* plane: h*w, outs: out_h*out_w */
} SFX(unpool_job);

/* Planes [t * planes_per_task, ...) of the backward: zeroed, then each output gradient added at
 * its index; TG_ERR_INDEX if an index is outside its plane. */
static int SFX(unpool_task)(void *ctx, int64_t t)
{
    const SFX(unpool_job) *job = ctx;
    const int64_t p0 = t * job->planes_per_task, p1 = TG_CONV_MIN(p0 + job->planes_per_task, job->planes);
    const int64_t plane = job->plane, outs = job->outs;
    for (int64_t p = p0; p < p1; p++) {
        T *gi = job->grad_in + p * plane;
        memset(gi, 0, (size_t)plane * sizeof(T)); /* PERF: plane by plane, in L1 for the adds */
        const T *go = job->grad_out + p * outs;
        const int64_t *idx = job->indices + p * outs;
        for (int64_t q = 0; q < outs; q++) {
            const int64_t at = idx[q];
            if (at < 0 || at >= plane) return TG_ERR_INDEX;
            gi[at] += go[q];
        }
    }
    return TG_OK;
}

int SFX(tg_max_pool2d_backward)(const T *grad_out, const int64_t *indices, T *grad_in, int64_t n, int64_t c,
                                int64_t h, int64_t w, int64_t out_h, int64_t out_w)
{
    if (n < 0 || c < 0 || h < 0 || w < 0 || out_h < 0 || out_w < 0) return TG_ERR_SIZE;
    const int64_t plane = h * w, outs = out_h * out_w;
    if ((h != 0 && w > INT64_MAX / 8 / h) || (out_h != 0 && out_w > INT64_MAX / 8 / out_h) ||
        (n != 0 && c > INT64_MAX / 8 / n) || (n * c != 0 && (plane > INT64_MAX / 8 / (n * c) ||
                                                             outs > INT64_MAX / 8 / (n * c))))
        return TG_ERR_SIZE;
    if (n * c * plane == 0) return (n * c * outs == 0) ? TG_OK : TG_ERR_INDEX;
    if (grad_in == NULL || (n * c * outs != 0 && (grad_out == NULL || indices == NULL))) return TG_ERR_NULL;
    /* Every plane is independent (its indices stay in it), so planes run in parallel as in the
     * forward. */
    const int par = (double)(n * c) * (double)(plane + outs) >= TG_POOL_PAR_MIN_TAPS;
    const int64_t ntasks = par ? TG_CONV_MIN(n * c, TG_POOL_TASKS) : 1;
    SFX(unpool_job) job = {grad_out, indices, grad_in, (n * c + ntasks - 1) / ntasks, n * c, plane, outs};
    return tg_parallel_for(SFX(unpool_task), &job, ntasks, par ? tg_get_num_threads() : 1);
}

#endif /* TG_POOL_BODY */
