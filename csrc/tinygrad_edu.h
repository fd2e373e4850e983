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
    TG_ERR_INDEX = 4,    /* an index argument (a class target) is out of range */
    TG_ERR_VALUE = 5     /* a scalar argument is out of its domain (reduction, label_smoothing) */
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

/*
 * Elementwise, over n contiguous elements (any shape, flattened by the wrapper).
 * x, grad, out : const [n]    inputs
 * y, dx        : [n]          outputs, overwritten; must not alias an input
 *
 * tg_relu:               y = x < 0 ? 0 : x              (NaN passes through)
 * tg_relu_backward:      dx = out > 0 ? grad : 0        (out = relu's output, as PyTorch saves)
 * tg_leaky_relu:         y = x > 0 ? x : x * negative_slope
 * tg_leaky_relu_backward dx = x > 0 ? grad : grad * negative_slope   (x = the input)
 * tg_sigmoid:            y = 1 / (1 + e^-x)
 * tg_sigmoid_backward:   dx = grad * (1 - out) * out    (out = sigmoid's output)
 * tg_tanh_backward:      dx = grad * (1 - out^2)        (out = tanh's output; no tanh forward:
 *                        np.tanh is already SIMD and faster, see activations.c)
 */
int tg_relu_f32(const float *x, float *y, int64_t n);
int tg_relu_f64(const double *x, double *y, int64_t n);
int tg_relu_backward_f32(const float *grad, const float *out, float *dx, int64_t n);
int tg_relu_backward_f64(const double *grad, const double *out, double *dx, int64_t n);
int tg_leaky_relu_f32(const float *x, float *y, int64_t n, double negative_slope);
int tg_leaky_relu_f64(const double *x, double *y, int64_t n, double negative_slope);
int tg_leaky_relu_backward_f32(const float *grad, const float *x, float *dx, int64_t n, double negative_slope);
int tg_leaky_relu_backward_f64(const double *grad, const double *x, double *dx, int64_t n, double negative_slope);
int tg_sigmoid_f32(const float *x, float *y, int64_t n);
int tg_sigmoid_f64(const double *x, double *y, int64_t n);
int tg_sigmoid_backward_f32(const float *grad, const float *out, float *dx, int64_t n);
int tg_sigmoid_backward_f64(const double *grad, const double *out, double *dx, int64_t n);
int tg_tanh_backward_f32(const float *grad, const float *out, float *dx, int64_t n);
int tg_tanh_backward_f64(const double *grad, const double *out, double *dx, int64_t n);

/*
 * tg_bias_relu: y = relu(x + b), b broadcast over the rows (Linear's bias + ReLU, fused).
 *
 *   x : const [rows, cols]
 *   b : const [cols]
 *   y : [rows, cols]   output, overwritten
 */
int tg_bias_relu_f32(const float *x, const float *b, float *y, int64_t rows, int64_t cols);
int tg_bias_relu_f64(const double *x, const double *b, double *y, int64_t rows, int64_t cols);


/* ----------------------------------------------------------- softmax (softmax.c) */

/*
 * Over the last dimension of a row-major [rows, cols] array, max-subtracted (stable).
 *
 * tg_softmax:      x : const [rows, cols]  ->  y : [rows, cols]
 * tg_log_softmax:  x : const [rows, cols]  ->  y : [rows, cols]
 * tg_softmax_backward:      dx = out * (grad - sum_j grad * out)
 * tg_log_softmax_backward:  dx = grad - exp(out) * sum_j grad
 *   grad : const [rows, cols]   gradient of the output
 *   out  : const [rows, cols]   the forward's output (softmax / log_softmax)
 *   dx   : [rows, cols]         output, overwritten
 */
int tg_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols);
int tg_softmax_f64(const double *x, double *y, int64_t rows, int64_t cols);
int tg_log_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols);
int tg_log_softmax_f64(const double *x, double *y, int64_t rows, int64_t cols);
int tg_softmax_backward_f32(const float *grad, const float *out, float *dx, int64_t rows, int64_t cols);
int tg_softmax_backward_f64(const double *grad, const double *out, double *dx, int64_t rows, int64_t cols);
int tg_log_softmax_backward_f32(const float *grad, const float *out, float *dx, int64_t rows, int64_t cols);
int tg_log_softmax_backward_f64(const double *grad, const double *out, double *dx, int64_t rows, int64_t cols);


/* ----------------------------------------------------------- loss (loss.c) */

/* The `reduction` argument of the losses, as PyTorch's at::Reduction. */
enum tg_reduction {
    TG_REDUCTION_NONE = 0,
    TG_REDUCTION_MEAN = 1,
    TG_REDUCTION_SUM = 2
};

/*
 * tg_cross_entropy: fused log_softmax + nll_loss, the loss and its gradient in one call,
 * with PyTorch's formulas for weight, ignore_index and label_smoothing (see loss.c).
 *
 *   logits    : const [n, k]   scores, row-major
 *   target    : const [n]      class indices in [0, k), or ignore_index
 *   weight    : const [k]      class weights, or NULL for all ones
 *   loss      : [n] when reduction is TG_REDUCTION_NONE, else [1]     output
 *   dlogits   : [n, k]         d(sum of loss) / d(logits), or NULL to skip it   output
 *   bad_index : [1]            output: -1, or the position of the first target
 *                              out of range (the call then returns TG_ERR_INDEX
 *                              and writes nothing else)
 *   n, k      : sizes >= 0
 *   ignore_index    : rows with this target count for nothing (loss 0, gradient 0)
 *   reduction       : enum tg_reduction; 'mean' divides by the summed weights of the
 *                     non-ignored targets (NaN when there are none, as PyTorch)
 *   label_smoothing : in [0, 1], else TG_ERR_VALUE
 */
int tg_cross_entropy_f32(const float *logits, const int64_t *target, const float *weight, float *loss,
                         float *dlogits, int64_t *bad_index, int64_t n, int64_t k, int64_t ignore_index,
                         int reduction, double label_smoothing);
int tg_cross_entropy_f64(const double *logits, const int64_t *target, const double *weight, double *loss,
                         double *dlogits, int64_t *bad_index, int64_t n, int64_t k, int64_t ignore_index,
                         int reduction, double label_smoothing);


/* ----------------------------------------------------------- optim (optim.c) */


/* ----------------------------------------------------------- conv (conv.c) */


#endif /* TINYGRAD_EDU_H */
