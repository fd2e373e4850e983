/*
 * tinygrad_edu.h -- the one public header of the C kernels.
 *
 * Every prototype lives here, and csrc/build_ffi.py reads this file into
 * ffibuilder.cdef(), so it must stay parsable by cffi: preprocessor lines are
 * stripped before parsing (keep each one on a single line), everything else
 * has to be plain C declarations.
 *
 * Conventions, the same for every kernel (they follow needle's
 * ndarray_backend_cpu.cc):
 *   - arguments are inputs first, then outputs, then sizes;
 *   - arrays are row-major and C-contiguous; the Python wrapper
 *     (tinygrad_edu/backend/c_kernels.py) makes them so before calling;
 *   - sizes are int64_t element counts, never bytes;
 *   - the return value is an error code from the enum below, 0 = ok.
 *     A kernel never prints and never aborts.
 */
#ifndef TINYGRAD_EDU_H
#define TINYGRAD_EDU_H

#include <stdint.h>

/* Error codes. An enum rather than #defines so that cffi exposes them as
 * lib.TG_OK, lib.TG_ERR_SIZE, ... */
enum tg_status {
    TG_OK = 0,
    TG_ERR_SIZE = 1,     /* a size argument is negative */
    TG_ERR_NULL = 2,     /* a NULL pointer where the size says data is needed */
    TG_ERR_NOMEM = 3,    /* malloc of a scratch buffer failed */
    TG_ERR_INDEX = 4     /* an index array points outside the array it indexes */
};

/* ---------------------------------------------------------------- matmul */

/*
 * tg_matmul_f32 / tg_matmul_f64: C = A @ B, cache-blocked and register-tiled.
 *
 *   a : const [m, k]   input, row-major contiguous
 *   b : const [k, n]   input, row-major contiguous
 *   c : [m, n]         output, row-major contiguous, overwritten
 *                      (it need not be initialised; must not alias a or b)
 *   m, k, n : sizes, each >= 0. k == 0 gives C = 0, as in PyTorch.
 *
 * A pointer may be NULL only when the array it points to has no elements.
 */
int tg_matmul_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/*
 * tg_matmul_naive_f32 / tg_matmul_naive_f64: the textbook triple loop,
 * C[i, j] = sum_p A[i, p] * B[p, j], kept as the reference the tiled version
 * is tested and benchmarked against. Same arguments and errors as above.
 *
 *   a : const [m, k]
 *   b : const [k, n]
 *   c : [m, n]
 *   m, k, n : sizes, each >= 0
 */
int tg_matmul_naive_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_naive_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/* ----------------------------------------------------------- activations (activations.c) */


/* ----------------------------------------------------------- softmax (softmax.c) */


/* ----------------------------------------------------------- loss (loss.c) */


/* ----------------------------------------------------------- optim (optim.c) */


/* ----------------------------------------------------------- conv (conv.c) */

/*
 * The sliding window of a 2-D convolution or pooling over x [N, C, H, W]. Output pixel
 * (oy, ox) sees the input taps
 *     y = oy * stride_h - pad_h + i * dilation_h,  i in [0, kernel_h)
 *     x = ox * stride_w - pad_w + j * dilation_w,  j in [0, kernel_w)
 * pad_h / pad_w are the top / left padding; out_h / out_w are given (not derived), so the
 * bottom / right padding is whatever they imply (asymmetric 'same' padding, ceil_mode).
 * Taps outside the input read as 0 (im2col) or are skipped (pooling).
 * Requires kernel, stride, dilation >= 1 and pad, out >= 0, else TG_ERR_SIZE.
 */
struct tg_window {
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;
    int64_t dilation_h, dilation_w;
    int64_t out_h, out_w;
};

/*
 * tg_im2col_f32 / _f64: unfold every window into one row, in (c, i, j) order.
 *
 *   x    : const [n, c, h, w]
 *   cols : [n * out_h * out_w, c * kernel_h * kernel_w]  output, overwritten;
 *          row (b, oy, ox) = the window under output pixel (oy, ox) of image b
 *   n, c, h, w : sizes of x, each >= 0;  win : the window (see struct tg_window)
 * Works on a zero-padded scratch copy of x (TG_ERR_NOMEM if it cannot be allocated).
 */
int tg_im2col_f32(const float *x, float *cols, int64_t n, int64_t c, int64_t h, int64_t w,
                  const struct tg_window *win);
int tg_im2col_f64(const double *x, double *cols, int64_t n, int64_t c, int64_t h, int64_t w,
                  const struct tg_window *win);

/*
 * tg_col2im_f32 / _f64: the adjoint of im2col -- add each row back onto its window.
 *
 *   cols : const [n * out_h * out_w, c * kernel_h * kernel_w]
 *   x    : [n, c, h, w]  output, overwritten (zeroed, then overlapping windows add up;
 *          entries that fell on the padding are dropped)
 *   n, c, h, w : sizes of x, each >= 0;  win : the window
 * Accumulates into a zero-padded scratch image (TG_ERR_NOMEM if it cannot be allocated).
 */
int tg_col2im_f32(const float *cols, float *x, int64_t n, int64_t c, int64_t h, int64_t w,
                  const struct tg_window *win);
int tg_col2im_f64(const double *cols, double *x, int64_t n, int64_t c, int64_t h, int64_t w,
                  const struct tg_window *win);

/*
 * tg_im2col_t_f32 / _f64: im2col's transpose, written directly: one row per kernel tap.
 *
 *   x      : const [n, c, h, w]
 *   cols_t : [c * kernel_h * kernel_w, n * out_h * out_w]  output, overwritten;
 *            cols_t[(ch, i, j), (b, oy, ox)] = cols[(b, oy, ox), (ch, i, j)]
 *   n, c, h, w : sizes of x, each >= 0;  win : the window
 * The layout a GEMM wants when the window is the reduction (forward: W @ cols_t);
 * zero-padded scratch as im2col.
 */
int tg_im2col_t_f32(const float *x, float *cols_t, int64_t n, int64_t c, int64_t h, int64_t w,
                    const struct tg_window *win);
int tg_im2col_t_f64(const double *x, double *cols_t, int64_t n, int64_t c, int64_t h, int64_t w,
                    const struct tg_window *win);

/*
 * tg_col2im_t_f32 / _f64: the adjoint of im2col_t (col2im of cols_t's transpose).
 *
 *   cols_t : const [c * kernel_h * kernel_w, n * out_h * out_w]
 *   x      : [n, c, h, w]  output, overwritten (overlapping windows add up)
 *   n, c, h, w : sizes of x, each >= 0;  win : the window
 */
int tg_col2im_t_f32(const float *cols_t, float *x, int64_t n, int64_t c, int64_t h, int64_t w,
                    const struct tg_window *win);
int tg_col2im_t_f64(const double *cols_t, double *x, int64_t n, int64_t c, int64_t h, int64_t w,
                    const struct tg_window *win);

/*
 * tg_max_pool2d_forward_f32 / _f64: max over each window, and where it is.
 *
 *   x       : const [n, c, h, w]
 *   values  : [n, c, out_h, out_w]  output: the window's max (padding never counts)
 *   indices : [n, c, out_h, out_w]  output: its flat index y * w + x in the h*w plane;
 *             ties go to the first tap in row-major order, a NaN always wins (PyTorch's rule)
 *   n, c, h, w : sizes of x, each >= 0;  win : the window
 * A window with no tap inside the input gives TG_ERR_SIZE.
 */
int tg_max_pool2d_forward_f32(const float *x, float *values, int64_t *indices, int64_t n, int64_t c,
                              int64_t h, int64_t w, const struct tg_window *win);
int tg_max_pool2d_forward_f64(const double *x, double *values, int64_t *indices, int64_t n, int64_t c,
                              int64_t h, int64_t w, const struct tg_window *win);

/*
 * tg_max_pool2d_backward_f32 / _f64: grad_in[b, ch].flat[indices[b, ch, q]] += grad_out[b, ch, q].
 *
 *   grad_out : const [n, c, out_h, out_w]
 *   indices  : const [n, c, out_h, out_w]  flat positions in the h*w plane (from the forward)
 *   grad_in  : [n, c, h, w]  output, overwritten (zeroed, then accumulated)
 *   n, c, h, w, out_h, out_w : sizes, each >= 0
 * An index outside [0, h*w) gives TG_ERR_INDEX (grad_in is then partly written).
 */
int tg_max_pool2d_backward_f32(const float *grad_out, const int64_t *indices, float *grad_in, int64_t n,
                               int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w);
int tg_max_pool2d_backward_f64(const double *grad_out, const int64_t *indices, double *grad_in, int64_t n,
                               int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w);


#endif /* TINYGRAD_EDU_H */
