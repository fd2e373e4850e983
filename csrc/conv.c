/*
 * conv.c -- the sliding-window kernels of convolution, float32 and float64 (max pooling,
 * which slides the same windows, is in pool.c; the window checks both share are in
 * tg_conv_common.h).
 *
 *   tg_im2col_*              x [N, C, H, W] -> cols [N*OH*OW, C*KH*KW] (a row per window)
 *   tg_col2im_*              its adjoint: cols -> x, overlapping windows add up
 *   tg_im2col_t_*            x -> cols_t = cols^T [C*KH*KW, N*OH*OW] (a row per kernel tap)
 *   tg_col2im_t_*            its adjoint
 *   tg_conv2d_forward_*      a whole convolution: unfold + GEMM per batch chunk, chunks in parallel
 *                            (float32, few taps per output channel: direct, see tg_conv_direct.h)
 *   tg_conv2d_backward_*     its gradients: unfold / GEMMs / col2im_t per chunk, chunks in parallel
 *
 * A convolution is then a GEMM (tg_gemm_*). The GEMM reads a row-major operand cheaply and
 * packs a transposed one by a strided gather, so the big unfolded matrix is written directly in
 * a layout the GEMM reads well, one of two ways round (tg_conv_pixels_as_rows picks):
 *   pixels as rows (long reductions, few channels), the unfolding channels last:
 *     forward   out_r [N*P, O] = cols_cl [N*P, K] @ W_cl^T [K, O]     (+ bias in the GEMM)
 *     weight    dW_cl^T [K, O] = cols_cl^T @ dout_r [N*P, O]          (the same cols_cl)
 *     input     dcols_cl       = dout_r @ W_cl [O, K]  -> col2im, channels last -> dx
 *   channels as rows:
 *     forward   out_t [O, N*P] = W [O, K] @ cols_t [K, N*P]
 *     weight    dW^T [K, O]    = cols_t @ dout_t^T
 *     input     dcols_t        = W^T [K, O] @ dout_t [O, N*P]  -> col2im_t -> dx
 * cols_cl is a row per window in (i, j, ch) order taken from a channels-last copy of the
 * images: a kernel row of a window is then one run of KW*C elements (see
 * unfold_channels_last); W_cl is the weight in the same order. Only output-sized arrays (K/O
 * times smaller than cols) and the images are ever transposed.
 * tg_conv2d_forward / _backward run these on a few images at a time (a chunk, see
 * tg_conv_chunk) so cols stays in L2, and hand the chunks to the thread pool: each chunk's
 * GEMMs are far below the size where the GEMM would split itself across threads.
 *
 * The window geometry comes in a struct tg_window (see the header). The output size is
 * given, not derived, so callers can pad asymmetrically. im2col / col2im work on a
 * zero-padded scratch copy sized from the window, so any geometry is memory-safe: the
 * caller's job is only to size the buffers as the header says.
 *
 * As in matmul.c, the typed code is written once in the second half and the file includes
 * itself once per element type.
 */
#ifndef TG_CONV_BODY /* ===== first pass: shared parts, then instantiate ===== */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_conv_common.h"
#include "tg_conv_direct.h"
#include "tg_transpose.h"
#include "threadpool.h"
#include "tinygrad_edu.h"

/* The zero-padded images im2col and col2im work on, [n, c, hp, wp]: pad_h rows on top, then
 * the image, then as many zero rows as the last window needs (or none); columns likewise.
 * Allocated zeroed; NULL if out of memory or if the size does not fit in memory at all. */
static void *tg_padded_alloc(int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win,
                             int64_t elem_size, int64_t *hp, int64_t *wp)
{
    const int64_t need_h = (win->out_h - 1) * win->stride_h + (win->kernel_h - 1) * win->dilation_h + 1;
    const int64_t need_w = (win->out_w - 1) * win->stride_w + (win->kernel_w - 1) * win->dilation_w + 1;
    *hp = TG_CONV_MAX(need_h, win->pad_h + h);
    *wp = TG_CONV_MAX(need_w, win->pad_w + w);
    const int64_t limit = INT64_MAX / elem_size; /* n*c*h*w > 0 here, and *hp >= h, *wp >= w */
    if (*wp > limit / *hp || *hp * *wp > limit / (n * c)) return NULL;
    return calloc((size_t)(n * c * *hp * *wp), (size_t)elem_size);
}

/* cols[j] = image[j * dw] (im2col) or image[j * dw] += cols[j] (col2im), for j < kw. The
 * usual kernel widths get constant trip counts, so the compiler emits straight-line loads and
 * stores: this runs once per (window, channel, kernel row) -- a million times for the notes'
 * second conv -- and a generic loop's setup would cost more than its five elements. */
#define TG_TAPS(statement)                                         \
    do {                                                           \
        if (dw == 1) {                                             \
            switch (kw) {                                          \
            case 1: for (int j = 0; j < 1; j++) statement; return; \
            case 2: for (int j = 0; j < 2; j++) statement; return; \
            case 3: for (int j = 0; j < 3; j++) statement; return; \
            case 4: for (int j = 0; j < 4; j++) statement; return; \
            case 5: for (int j = 0; j < 5; j++) statement; return; \
            case 7: for (int j = 0; j < 7; j++) statement; return; \
            default: break;                                        \
            }                                                      \
        }                                                          \
        for (int64_t j = 0; j < kw; j++) statement;                \
    } while (0)

/* GCC turns short copy loops into memcpy calls (see matmul.c's TG_NO_MEMCPY_CALLS); loops
 * marked so stay loops, out of line so the option sticks. */
#if defined(__GNUC__) && !defined(__clang__)
#define TG_CONV_NO_MEMCPY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns"), noinline))
#else
#define TG_CONV_NO_MEMCPY_CALLS
#endif

/* The direction of the im2col / col2im walkers: copy image -> cols, or add cols -> image. */
enum tg_direction { TG_IM2COL, TG_COL2IM };

/* Bytes of unfolded matrix per chunk of tg_conv2d_*: the im2col, GEMMs and col2im of a chunk
 * then share L2 (1 MiB of 2), instead of making a round trip to DRAM between the passes --
 * at the notes' CNN shapes that halves the time. */
#define TG_CONV_CHUNK_BYTES (1 << 20)
/* Chunks at least this many (when there are as many images), so two threads get balanced
 * work even when a whole batch unfolds into a few MiB (the notes' first conv: 5 MiB). */
#define TG_CONV_MIN_CHUNKS 8

/* Images per chunk. It depends on the shapes only, never on the thread count, so the
 * chunked sums (weight and bias gradients) come out the same with any number of threads. */
static int64_t tg_conv_chunk(int64_t n, int64_t cols_bytes_per_image)
{
    int64_t chunk = TG_CONV_CHUNK_BYTES / (cols_bytes_per_image > 0 ? cols_bytes_per_image : 1);
    chunk = TG_CONV_MIN(chunk, (n + TG_CONV_MIN_CHUNKS - 1) / TG_CONV_MIN_CHUNKS);
    return chunk > 0 ? chunk : 1;
}

/* Which way round the GEMMs of tg_conv2d_* go. With few output channels and a long reduction
 * (the notes' second conv: o = 32, k = 400) the pixels make the better GEMM rows -- o is then
 * the GEMM's narrow width, whole register tiles wide, and the weight the tiny packed operand:
 * 1.5x faster than the channels as rows (32 = 5 1/3 six-row tiles). With a short reduction
 * (the first conv, k = 25) the per-tile overhead dominates and channels-as-rows wins
 * (0.83 vs 1.95 ms for its forward). */
static int tg_conv_pixels_as_rows(int64_t k, int64_t o) { return k >= 4 * o; }

#define TG_CONV_BODY
#define TG_BODY_FILE "conv.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body, instantiated for one element type T ===== */

static inline void SFX(copy_taps)(T *restrict cols, const T *restrict image, int64_t kw, int64_t dw)
{
    TG_TAPS(cols[j] = image[j * dw]);
}

static inline void SFX(add_taps)(T *restrict image, const T *restrict cols, int64_t kw, int64_t dw)
{
    TG_TAPS(image[j * dw] += cols[j]);
}

/* The four im2col / col2im kernels work on a zero-padded copy of the images, [n, c, hp, wp]
 * (see tg_padded_alloc), so that no tap needs a bounds check: the padding is real zeros
 * there. It costs one pass over the input, which is kh*kw times smaller than cols. */
static void SFX(pad_images)(const T *x, T *xp, int64_t planes, int64_t h, int64_t w, int64_t hp, int64_t wp,
                            const struct tg_window *win)
{
    for (int64_t plane = 0; plane < planes; plane++)
        for (int64_t y = 0; y < h; y++)
            memcpy(xp + (plane * hp + win->pad_h + y) * wp + win->pad_w, x + (plane * h + y) * w,
                   (size_t)w * sizeof(T));
}

static void SFX(crop_images)(const T *xp, T *x, int64_t planes, int64_t h, int64_t w, int64_t hp, int64_t wp,
                             const struct tg_window *win)
{
    for (int64_t plane = 0; plane < planes; plane++)
        for (int64_t y = 0; y < h; y++)
            memcpy(x + (plane * h + y) * w, xp + (plane * hp + win->pad_h + y) * wp + win->pad_w,
                   (size_t)w * sizeof(T));
}

/* im2col / col2im, cols [n*oh*ow, c*kh*kw]: walks cols row by row (window by window), each
 * row in (ch, i, j) order. */
static int SFX(unfold_rows)(T *x, T *cols, int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win,
                            enum tg_direction direction)
{
    int rc = tg_check_window(n, c, h, w, win, (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    const int64_t kh = win->kernel_h, kw = win->kernel_w, oh = win->out_h, ow = win->out_w;
    const int64_t dh = win->dilation_h, dw = win->dilation_w, k = c * kh * kw;
    /* im2col writes cols (nothing to do if it is empty); col2im writes x (zeros if cols is empty). */
    if (direction == TG_IM2COL ? n * oh * ow * k == 0 : n * c * h * w == 0) return TG_OK;
    if (x == NULL || (cols == NULL && n * oh * ow * k != 0)) return TG_ERR_NULL;
    int64_t hp, wp;
    T *xp = tg_padded_alloc(n, c, h, w, win, (int64_t)sizeof(T), &hp, &wp);
    if (xp == NULL) return TG_ERR_NOMEM;
    if (direction == TG_IM2COL) SFX(pad_images)(x, xp, n * c, h, w, hp, wp, win);
    T *row = cols;
    for (int64_t b = 0; b < n; b++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++)
                for (int64_t ch = 0; ch < c; ch++) {
                    T *image = xp + ((b * c + ch) * hp + oy * win->stride_h) * wp + ox * win->stride_w;
                    for (int64_t i = 0; i < kh; i++, row += kw) {
                        if (direction == TG_IM2COL)
                            SFX(copy_taps)(row, image + i * dh * wp, kw, dw);
                        else
                            SFX(add_taps)(image + i * dh * wp, row, kw, dw);
                    }
                }
    if (direction == TG_COL2IM) SFX(crop_images)(xp, x, n * c, h, w, hp, wp, win);
    free(xp);
    return TG_OK;
}

/* im2col_t / col2im_t, cols_t [c*kh*kw, n*oh*ow]: walks cols_t row by row (tap by tap); a row is
 * n*oh image rows of ow pixels each, stride_w apart in the image -- long unit-stride runs
 * when stride_w is 1, which the compiler vectorises. */
static int SFX(unfold_taps)(T *x, T *cols_t, int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win,
                            enum tg_direction direction)
{
    int rc = tg_check_window(n, c, h, w, win, (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    const int64_t kh = win->kernel_h, kw = win->kernel_w, oh = win->out_h, ow = win->out_w;
    const int64_t sw = win->stride_w, k = c * kh * kw;
    if (direction == TG_IM2COL ? n * oh * ow * k == 0 : n * c * h * w == 0) return TG_OK;
    if (x == NULL || (cols_t == NULL && n * oh * ow * k != 0)) return TG_ERR_NULL;
    int64_t hp, wp;
    T *xp = tg_padded_alloc(n, c, h, w, win, (int64_t)sizeof(T), &hp, &wp);
    if (xp == NULL) return TG_ERR_NOMEM;
    if (direction == TG_IM2COL) SFX(pad_images)(x, xp, n * c, h, w, hp, wp, win);
    T *run = cols_t;
    for (int64_t ch = 0; ch < c; ch++)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                for (int64_t b = 0; b < n; b++)
                    for (int64_t oy = 0; oy < oh; oy++, run += ow) {
                        T *restrict image = xp + ((b * c + ch) * hp + oy * win->stride_h + i * win->dilation_h) * wp
                                            + j * win->dilation_w;
                        if (direction == TG_IM2COL) {
                            if (sw == 1)
                                for (int64_t ox = 0; ox < ow; ox++) run[ox] = image[ox];
                            else
                                for (int64_t ox = 0; ox < ow; ox++) run[ox] = image[ox * sw];
                        } else {
                            if (sw == 1)
                                for (int64_t ox = 0; ox < ow; ox++) image[ox] += run[ox];
                            else
                                for (int64_t ox = 0; ox < ow; ox++) image[ox * sw] += run[ox];
                        }
                    }
    if (direction == TG_COL2IM) SFX(crop_images)(xp, x, n * c, h, w, hp, wp, win);
    free(xp);
    return TG_OK;
}

/* The C API takes const inputs; the shared walkers above write through whichever side is the
 * output, so the casts below drop a const that is never written through. */
int SFX(tg_im2col)(const T *x, T *cols, int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win)
{
    return SFX(unfold_rows)((T *)x, cols, n, c, h, w, win, TG_IM2COL);
}

int SFX(tg_col2im)(const T *cols, T *x, int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win)
{
    return SFX(unfold_rows)(x, (T *)cols, n, c, h, w, win, TG_COL2IM);
}

int SFX(tg_im2col_t)(const T *x, T *cols_t, int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win)
{
    return SFX(unfold_taps)((T *)x, cols_t, n, c, h, w, win, TG_IM2COL);
}

int SFX(tg_col2im_t)(const T *cols_t, T *x, int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win)
{
    return SFX(unfold_taps)(x, (T *)cols_t, n, c, h, w, win, TG_COL2IM);
}

/* ---- channels last: the unfolding of the pixels-as-rows convolutions ----
 * With the image as [n, hp, wp, c] (channels last, zero-padded) and the row of cols of a
 * window in (i, j, ch) order, each kernel row of a window is one run of kw*c elements in the
 * image (when dilation_w is 1): 5 runs of 80 per window at the notes' second conv, where the
 * (ch, i, j) order of im2col copies 80 runs of 5. The weight is permuted to match, once per
 * call. Performance: forward 3.0 vs 4.1 ms, backward 6.9 vs 8.9 ms at the notes' second conv. */

/* dst[j, i] = src[i, j] for a [rows, cols] matrix with rows src_rs / dst_rs apart.
 * PERF: float32 by AVX-512 tiles (tg_transpose.h); this loop is the reference. */
static void SFX(transpose)(const T *src, int64_t src_rs, T *restrict dst, int64_t dst_rs, int64_t rows, int64_t cols)
{
#ifdef TG_HAVE_TRANSPOSE_F32
    if (sizeof(T) == 4) {
        tg_transpose_f32((const float *)src, src_rs, (float *)dst, dst_rs, rows, cols);
        return;
    }
#endif
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) dst[j * dst_rs + i] = src[i * src_rs + j];
}

/* xh [nb, hp, wp, c] = x [nb, c, h, w] moved channels last into the padded frame of
 * tg_padded_alloc (allocated zeroed, so the padding is zeros): image row by image row, the
 * [c, w] slice of x (rows h*w apart) transposed to w pixels of c channels. */
static void SFX(to_channels_last)(const T *x, T *restrict xh, int64_t nb, int64_t c, int64_t h, int64_t w,
                                  int64_t hp, int64_t wp, const struct tg_window *win)
{
    for (int64_t b = 0; b < nb; b++)
        for (int64_t y = 0; y < h; y++)
            SFX(transpose)(x + (b * c * h + y) * w, h * w, xh + ((b * hp + y + win->pad_h) * wp + win->pad_w) * c, c,
                           c, w);
}

/* Its inverse on the image: x [nb, c, h, w] = the inside of xh (overwritten). */
static void SFX(from_channels_last)(const T *xh, T *restrict x, int64_t nb, int64_t c, int64_t h, int64_t w,
                                    int64_t hp, int64_t wp, const struct tg_window *win)
{
    for (int64_t b = 0; b < nb; b++)
        for (int64_t y = 0; y < h; y++)
            SFX(transpose)(xh + ((b * hp + y + win->pad_h) * wp + win->pad_w) * c, c, x + (b * c * h + y) * w, h * w,
                           w, c);
}

/* cols [nb*oh*ow, kh*kw*c] from xh (im2col), or added back onto xh (col2im): a row per window
 * in (i, j, ch) order, copied as kh runs of kw*c elements (kh*kw runs of c if dilated).
 * Performance: the copy stays an inline loop (TG_CONV_NO_MEMCPY_CALLS): a memcpy call per run
 * of 80 costs twice the copy. */
TG_CONV_NO_MEMCPY_CALLS static void SFX(unfold_channels_last)(T *xh, T *cols, int64_t nb, int64_t c, int64_t hp, int64_t wp,
                                      const struct tg_window *win, enum tg_direction direction)
{
    const int64_t kh = win->kernel_h, kw = win->kernel_w, run = win->dilation_w == 1 ? kw * c : c;
    const int64_t runs = kw * c / run, run_step = win->dilation_w * c;
    T *row = cols;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t oy = 0; oy < win->out_h; oy++)
            for (int64_t ox = 0; ox < win->out_w; ox++)
                for (int64_t i = 0; i < kh; i++) {
                    T *image = xh + ((b * hp + oy * win->stride_h + i * win->dilation_h) * wp + ox * win->stride_w) * c;
                    for (int64_t r = 0; r < runs; r++, row += run) {
                        T *restrict at = image + r * run_step;
                        if (direction == TG_IM2COL)
                            for (int64_t e = 0; e < run; e++) row[e] = at[e];
                        else
                            for (int64_t e = 0; e < run; e++) at[e] += row[e];
                    }
                }
}

/* The weight [o, c, kh, kw] channels last, [o, kh, kw, c] (khw = kh * kw); NULL if out of memory. */
static T *SFX(weight_channels_last)(const T *weight, int64_t o, int64_t c, int64_t khw)
{
    T *cl = malloc((size_t)(o * c * khw + 1) * sizeof(T));
    if (cl == NULL) return NULL;
    for (int64_t oc = 0; oc < o; oc++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t t = 0; t < khw; t++) cl[(oc * khw + t) * c + ch] = weight[(oc * c + ch) * khw + t];
    return cl;
}

/* ---- whole convolutions: the chunked loop of im2col + GEMMs, chunks on the thread pool ---- */

typedef struct {
    const T *x, *weight, *bias, *grad;
    T *out, *grad_x, *dw_parts, *db_parts;
    int64_t n, c, h, w, o, chunk;
    const struct tg_window *win;
    const T *weight_cl; /* pixels as rows: the weight channels last, [o, kh, kw, c] */
} SFX(conv_job);

/* The checks shared by forward and backward (beyond tg_check_window): the weight [o, k] and
 * the output [n, o, oh, ow] must fit too. */
static int SFX(check_conv)(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, const struct tg_window *win)
{
    int rc = tg_check_window(n, c, h, w, win, (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    const int64_t limit = INT64_MAX / (int64_t)sizeof(T) / 4;
    const int64_t weight[] = {o, c, win->kernel_h, win->kernel_w};
    const int64_t out[] = {n, o, win->out_h, win->out_w};
    if (o < 0 || !tg_product_fits(weight, 4, limit) || !tg_product_fits(out, 4, limit)) return TG_ERR_SIZE;
    return TG_OK;
}

/* The chunk's nb images from x unfolded into cols: channels last [nb*p, kh*kw*c] (pixels as
 * rows), or im2col_t [k, nb*p] (channels as rows). */
static int SFX(unfold_chunk)(const SFX(conv_job) *job, const T *x, T *cols, int64_t nb, int rows)
{
    if (!rows) return SFX(unfold_taps)((T *)x, cols, nb, job->c, job->h, job->w, job->win, TG_IM2COL);
    int64_t hp, wp;
    T *xh = tg_padded_alloc(nb, job->c, job->h, job->w, job->win, (int64_t)sizeof(T), &hp, &wp);
    if (xh == NULL) return TG_ERR_NOMEM;
    SFX(to_channels_last)(x, xh, nb, job->c, job->h, job->w, hp, wp, job->win);
    SFX(unfold_channels_last)(xh, cols, nb, job->c, hp, wp, job->win, TG_IM2COL);
    free(xh);
    return TG_OK;
}

/* One chunk of the forward, the GEMM either way round (see tg_conv_pixels_as_rows):
 *     pixels as rows:    out_r [nb*p, o] = cols [nb*p, k] @ W_cl^T + bias (in the GEMM),
 *                        cols and W_cl channels last (see unfold_channels_last)
 *     channels as rows:  out_t [o, nb*p] = W @ im2col_t(x chunk) [k, nb*p]
 * then out[b, oc, q] = that product's element (b*p + q, oc), plus the bias if not yet added. */
static int SFX(conv_forward_task)(void *ctx, int64_t t)
{
    SFX(conv_job) *job = ctx;
    const struct tg_window *win = job->win;
    const int64_t c = job->c, h = job->h, w = job->w, o = job->o, p = win->out_h * win->out_w;
    const int64_t k = c * win->kernel_h * win->kernel_w, b0 = t * job->chunk;
    const int64_t nb = TG_CONV_MIN(job->chunk, job->n - b0), np = nb * p;
    const int rows = tg_conv_pixels_as_rows(k, o);
    T *cols = malloc((size_t)((k + o) * np + 1) * sizeof(T));
    if (cols == NULL) return TG_ERR_NOMEM;
    T *prod = cols + k * np;
    const T *x = job->x + b0 * c * h * w;
    int rc = SFX(unfold_chunk)(job, x, cols, nb, rows);
    /* W_cl^T: element (i, oc) of [k, o] is weight_cl[oc * k + i]. */
    if (rc == TG_OK)
        rc = rows ? SFX(tg_gemm)(cols, job->weight_cl, job->bias, prod, 1, np, k, o, 0, k, 1, 0, 1, k)
                  : SFX(tg_gemm)(job->weight, cols, NULL, prod, 1, o, k, np, 0, k, 1, 0, np, 1);
    for (int64_t b = 0; rc == TG_OK && b < nb; b++) {
        T *out_b = job->out + (b0 + b) * o * p;
        if (rows) { /* out_b [o, p] = the image's [p, o] rows of prod, transposed */
            SFX(transpose)(prod + b * p * o, o, out_b, p, p, o);
            continue;
        }
        for (int64_t oc = 0; oc < o; oc++) {
            const T *restrict src = prod + oc * np + b * p;
            T *restrict dst = out_b + oc * p;
            const T add = job->bias ? job->bias[oc] : 0;
            for (int64_t q = 0; q < p; q++) dst[q] = src[q] + add;
        }
    }
    free(cols);
    return rc;
}

#ifdef TG_HAVE_CONV_DIRECT_F32
/* One chunk of the forward without unfolding (see tg_conv_direct.h), float32 only: the chunk's
 * images zero-padded, then each convolved directly into out. */
static int SFX(conv_direct_task)(void *ctx, int64_t t)
{
    SFX(conv_job) *job = ctx;
    const int64_t c = job->c, h = job->h, w = job->w, b0 = t * job->chunk, nb = TG_CONV_MIN(job->chunk, job->n - b0);
    const int64_t p = job->win->out_h * job->win->out_w;
    int64_t hp, wp;
    T *xp = tg_padded_alloc(nb, c, h, w, job->win, (int64_t)sizeof(T), &hp, &wp);
    if (xp == NULL) return TG_ERR_NOMEM;
    SFX(pad_images)(job->x + b0 * c * h * w, xp, nb * c, h, w, hp, wp, job->win);
    for (int64_t b = 0; b < nb; b++)
        tg_conv_direct_f32((const float *)xp + b * c * hp * wp, c, hp, wp, (const float *)job->weight_cl,
                           (const float *)job->bias, (float *)job->out + (b0 + b) * job->o * p, job->o, job->win);
    free(xp);
    return TG_OK;
}
#endif

int SFX(tg_conv2d_forward)(const T *x, const T *weight, const T *bias, T *out, int64_t n, int64_t c, int64_t h,
                           int64_t w, int64_t o, const struct tg_window *win)
{
    int rc = SFX(check_conv)(n, c, h, w, o, win);
    if (rc != TG_OK) return rc;
    const int64_t p = win->out_h * win->out_w, k = c * win->kernel_h * win->kernel_w;
    if (n * o * p == 0) return TG_OK;
    if (out == NULL || (k != 0 && (x == NULL || weight == NULL))) return TG_ERR_NULL;
    tg_task_fn task = SFX(conv_forward_task);
    T *weight_cl = NULL; /* pixels as rows: the weight channels last; direct: packed for it */
#ifdef TG_HAVE_CONV_DIRECT_F32 /* PERF: few taps per output channel, a tap's pixels contiguous */
    if (sizeof(T) == 4 && k > 0 && !tg_conv_pixels_as_rows(k, o) && win->stride_w == 1 && win->dilation_w == 1) {
        if ((weight_cl = (T *)tg_conv_direct_pack_f32((const float *)weight, o, k)) == NULL) return TG_ERR_NOMEM;
        task = SFX(conv_direct_task);
    }
#endif
    if (tg_conv_pixels_as_rows(k, o) &&
        (weight_cl = SFX(weight_channels_last)(weight, o, c, win->kernel_h * win->kernel_w)) == NULL)
        return TG_ERR_NOMEM;
    SFX(conv_job) job = {x, weight, bias, NULL, out, NULL, NULL, NULL, n, c, h, w, o,
                         tg_conv_chunk(n, p * k * (int64_t)sizeof(T)), win, weight_cl};
    rc = tg_parallel_for(task, &job, (n + job.chunk - 1) / job.chunk, tg_get_num_threads());
    free(weight_cl);
    return rc;
}

/* The sum of a[0 .. len), in 16 independent partial sums: a single running sum waits a whole
 * add latency per element (5x slower: 0.48 vs 0.09 ms for the first conv's bias gradient). */
static T SFX(sum)(const T *a, int64_t len)
{
    T part[16] = {0}, total = 0;
    int64_t i = 0;
    for (; i + 16 <= len; i += 16)
        for (int j = 0; j < 16; j++) part[j] += a[i + j];
    for (; i < len; i++) total += a[i];
    for (int j = 0; j < 16; j++) total += part[j];
    return total;
}

/* One chunk of the backward, pixels as rows, channels last. With g_r [nb*p, o] the chunk's
 * grad, a row per pixel, and cols its unfolding (see unfold_channels_last):
 *     db part [o]              = grad summed over the chunk's images and pixels
 *     dW part [kh*kw*c, o]     = cols^T @ g_r        (the caller permutes it back)
 *     dx chunk                 = col2im of g_r @ W_cl [nb*p, kh*kw*c], channels last
 * The parts of chunk t go to row t of dw_parts / db_parts; dx is overwritten, not added to. */
static int SFX(conv_backward_rows)(const SFX(conv_job) *job, int64_t t)
{
    const struct tg_window *win = job->win;
    const int64_t c = job->c, h = job->h, w = job->w, o = job->o, p = win->out_h * win->out_w;
    const int64_t k = c * win->kernel_h * win->kernel_w, b0 = t * job->chunk;
    const int64_t nb = TG_CONV_MIN(job->chunk, job->n - b0), np = nb * p;
    const T *grad = job->grad + b0 * o * p, *x = job->x + b0 * c * h * w;
    int64_t hp, wp;
    T *g_r = malloc((size_t)((k + o) * np + 1) * sizeof(T));
    T *xh = tg_padded_alloc(nb, c, h, w, win, (int64_t)sizeof(T), &hp, &wp);
    int rc = g_r != NULL && xh != NULL ? TG_OK : TG_ERR_NOMEM;
    if (rc == TG_OK) {
        T *cols = g_r + o * np;
        for (int64_t b = 0; b < nb; b++) SFX(transpose)(grad + b * o * p, p, g_r + b * p * o, o, o, p);
        for (int64_t oc = 0; job->db_parts && oc < o; oc++) {
            T total = 0;
            for (int64_t b = 0; b < nb; b++) total += SFX(sum)(grad + (b * o + oc) * p, p);
            job->db_parts[t * o + oc] = total;
        }
        if (job->dw_parts) {
            SFX(to_channels_last)(x, xh, nb, c, h, w, hp, wp, win);
            SFX(unfold_channels_last)(xh, cols, nb, c, hp, wp, win, TG_IM2COL);
            rc = SFX(tg_gemm)(cols, g_r, NULL, job->dw_parts + t * k * o, 1, k, np, o, 0, 1, k, 0, o, 1);
        }
        if (rc == TG_OK && job->grad_x) {
            rc = SFX(tg_gemm)(g_r, job->weight_cl, NULL, cols, 1, np, o, k, 0, o, 1, 0, k, 1);
            if (rc == TG_OK) {
                memset(xh, 0, (size_t)(nb * hp * wp * c) * sizeof(T));
                SFX(unfold_channels_last)(xh, cols, nb, c, hp, wp, win, TG_COL2IM);
                SFX(from_channels_last)(xh, job->grad_x + b0 * c * h * w, nb, c, h, w, hp, wp, win);
            }
        }
    }
    free(g_r);
    free(xh);
    return rc;
}

/* One chunk of the backward, channels as rows (see tg_conv_pixels_as_rows; the other way round
 * is conv_backward_rows). With g_t [o, nb*p] the chunk's grad with images and channels swapped:
 *     db part [o]     = g_t summed over its rows
 *     dW part [k, o]  = im2col_t(x chunk) @ g_t^T
 *     dx chunk        = col2im_t(W^T [k, o] @ g_t)
 * The parts of chunk t go to row t of dw_parts / db_parts; the caller adds them up in order.
 * Any failure comes before col2im_t adds into dx, so the pool may rerun a failed task. */
static int SFX(conv_backward_task)(void *ctx, int64_t t)
{
    SFX(conv_job) *job = ctx;
    const struct tg_window *win = job->win;
    const int64_t c = job->c, h = job->h, w = job->w, o = job->o, p = win->out_h * win->out_w;
    const int64_t k = c * win->kernel_h * win->kernel_w, b0 = t * job->chunk;
    const int64_t nb = TG_CONV_MIN(job->chunk, job->n - b0), np = nb * p;
    if (tg_conv_pixels_as_rows(k, o)) return SFX(conv_backward_rows)(job, t);
    T *g_t = malloc((size_t)((k + o) * np + 1) * sizeof(T));
    if (g_t == NULL) return TG_ERR_NOMEM;
    T *cols = g_t + o * np; /* the unfolding for dW, then W^T @ g_t for dx */
    for (int64_t b = 0; b < nb; b++)
        for (int64_t oc = 0; oc < o; oc++)
            memcpy(g_t + oc * np + b * p, job->grad + ((b0 + b) * o + oc) * p, (size_t)p * sizeof(T));
    if (job->db_parts)
        for (int64_t oc = 0; oc < o; oc++) job->db_parts[t * o + oc] = SFX(sum)(g_t + oc * np, np);
    T *x = (T *)job->x + b0 * c * h * w;
    int rc = TG_OK;
    if (job->dw_parts) { /* B = g_t^T: element (q, oc) of [nb*p, o] is g_t[oc * np + q]; the GEMM packs it */
        rc = SFX(unfold_taps)(x, cols, nb, c, h, w, win, TG_IM2COL);
        if (rc == TG_OK) rc = SFX(tg_gemm)(cols, g_t, NULL, job->dw_parts + t * k * o, 1, k, np, o, 0, np, 1, 0, 1, np);
    }
    if (rc == TG_OK && job->grad_x) {
        /* A = W^T: element (i, q) of [k, o] is weight[q * k + i]; the GEMM packs it. */
        rc = SFX(tg_gemm)(job->weight, g_t, NULL, cols, 1, k, o, np, 0, 1, k, 0, np, 1);
        if (rc == TG_OK) rc = SFX(unfold_taps)(job->grad_x + b0 * c * h * w, cols, nb, c, h, w, win, TG_COL2IM);
    }
    free(g_t);
    return rc;
}

/* parts[j] += parts[t * len + j] for t = 1, 2, ... count-1, in that order (so the same sums
 * at any thread count); returns parts, now holding the total. */
static T *SFX(sum_parts)(T *parts, int64_t count, int64_t len)
{
    for (int64_t t = 1; t < count; t++)
        for (int64_t j = 0; j < len; j++) parts[j] += parts[t * len + j];
    return parts;
}

int SFX(tg_conv2d_backward)(const T *x, const T *weight, const T *grad, T *grad_x, T *grad_w, T *grad_b, int64_t n,
                            int64_t c, int64_t h, int64_t w, int64_t o, const struct tg_window *win)
{
    int rc = SFX(check_conv)(n, c, h, w, o, win);
    if (rc != TG_OK) return rc;
    const int64_t p = win->out_h * win->out_w, k = c * win->kernel_h * win->kernel_w;
    const int64_t chunk = tg_conv_chunk(n, p * k * (int64_t)sizeof(T)), ntasks = n ? (n + chunk - 1) / chunk : 0;
    const int rows = tg_conv_pixels_as_rows(k, o);
    /* Outputs first: they are zeros wherever no chunk (or no product) reaches them. The
     * pixels-as-rows chunks overwrite all of their images' dx, so there it is left to them. */
    if (grad_x != NULL && n * c * h * w != 0 && !(rows && n * o * p != 0))
        memset(grad_x, 0, (size_t)(n * c * h * w) * sizeof(T));
    if (grad_w != NULL && o * k != 0) memset(grad_w, 0, (size_t)(o * k) * sizeof(T));
    if (grad_b != NULL && o != 0) memset(grad_b, 0, (size_t)o * sizeof(T));
    if (n * o * p == 0) return TG_OK;
    if (grad == NULL || (k != 0 && (x == NULL || weight == NULL))) return TG_ERR_NULL;
    if (grad_x == NULL && grad_w == NULL && grad_b == NULL) return TG_OK;
    /* The weight and bias parts of every chunk: ntasks * (o*k + o) <= n * (o*k + o) elements,
     * which fits (check_conv bounded n*o*k-sized products... except n*o*k itself: check it). */
    const int64_t part = o * k + o;
    if (part > INT64_MAX / (int64_t)sizeof(T) / 4 / ntasks) return TG_ERR_SIZE;
    T *parts = grad_w != NULL || grad_b != NULL ? malloc((size_t)(ntasks * part) * sizeof(T)) : NULL;
    const int64_t khw = win->kernel_h * win->kernel_w;
    T *weight_cl = rows && grad_x != NULL ? SFX(weight_channels_last)(weight, o, c, khw) : NULL;
    if ((grad_w != NULL || grad_b != NULL) && parts == NULL) rc = TG_ERR_NOMEM;
    if (rows && grad_x != NULL && weight_cl == NULL) rc = TG_ERR_NOMEM;
    SFX(conv_job) job = {x, weight, NULL, grad, NULL, grad_x, grad_w ? parts : NULL,
                         grad_b ? parts + ntasks * o * k : NULL, n, c, h, w, o, chunk, win, weight_cl};
    if (rc == TG_OK) rc = tg_parallel_for(SFX(conv_backward_task), &job, ntasks, tg_get_num_threads());
    if (rc == TG_OK && grad_w != NULL) { /* sum the parts, dW^T [k, o], k in (kh, kw, c) or (c, kh, kw) order */
        const T *dw = SFX(sum_parts)(job.dw_parts, ntasks, o * k);
        for (int64_t oc = 0; oc < o; oc++)
            for (int64_t ch = 0; ch < c; ch++)
                for (int64_t t = 0; t < khw; t++)
                    grad_w[(oc * c + ch) * khw + t] = dw[(rows ? t * c + ch : ch * khw + t) * o + oc];
    }
    if (rc == TG_OK && grad_b != NULL) memcpy(grad_b, SFX(sum_parts)(job.db_parts, ntasks, o), (size_t)o * sizeof(T));
    free(parts);
    free(weight_cl);
    return rc;
}

#endif /* TG_CONV_BODY */
