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
 *   - arrays are row-major and C-contiguous; the Python bindings
 *     (tinygrad_edu/backend/c/<family>.py) make them so before calling;
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
    TG_ERR_INDEX = 4,    /* an index argument is out of range: a class target, a pooling index */
    TG_ERR_VALUE = 5     /* a scalar argument is out of its domain (reduction, label_smoothing) */
};

/* ---------------------------------------------------------------- matmul */

/*
 * tg_gemm_f32 / tg_gemm_f64: C[q] = A[q] @ B[q] (+ bias) for q in [0, batch),
 * cache-blocked, register-tiled and run on the thread pool (see matmul.c).
 * Unlike the other kernels, A and B are read through element strides, so
 * transposed, sliced and broadcast (stride 0) views need no copy:
 *
 *   a    : const, A[q][i, p] = a[q * a_bs + i * a_rs + p * a_cs],  shape [batch, m, k]
 *   b    : const, B[q][p, j] = b[q * b_bs + p * b_rs + j * b_cs],  shape [batch, k, n]
 *   bias : const [n] contiguous, added to every row of every C[q]; NULL = none
 *   c    : [batch, m, n] output, dense row-major, overwritten (need not be
 *          initialised; must not overlap a, b or bias)
 *   batch, m, k, n : sizes, each >= 0. k == 0 gives C = bias (or 0), as in PyTorch.
 *   a_bs, a_rs, a_cs, b_bs, b_rs, b_cs : strides in elements, each >= 0
 *          (negative ones are TG_ERR_SIZE: the caller copies such views); the
 *          stride of a dimension of size <= 1 is ignored.
 *
 * A pointer may be NULL only when the array it points to has no elements.
 * The caller guarantees every element addressed above lies inside its buffer.
 */
int tg_gemm_f32(const float *a, const float *b, const float *bias, float *c, int64_t batch, int64_t m, int64_t k, int64_t n, int64_t a_bs, int64_t a_rs, int64_t a_cs, int64_t b_bs, int64_t b_rs, int64_t b_cs);
int tg_gemm_f64(const double *a, const double *b, const double *bias, double *c, int64_t batch, int64_t m, int64_t k, int64_t n, int64_t a_bs, int64_t a_rs, int64_t a_cs, int64_t b_bs, int64_t b_rs, int64_t b_cs);

/*
 * tg_gemm_small_f32 / _f64: one product C = A @ B (+ bias) without packing, for
 * small products (see tg_matmul_small.h); tg_gemm uses it by itself where it wins.
 *   a, b, bias : as for tg_gemm (one product: no batch stride)
 *   c   : [m, n] output, rows ldc >= n elements apart, overwritten
 *   m, k, n, ldc and the strides : >= 0. Errors as for tg_gemm.
 * tg_gemm_small_suits: 1 if tg_gemm should send an m x k x n product with B's
 * column stride b_cs and elem_size-byte elements here (faster), else 0.
 */
int tg_gemm_small_f32(const float *a, const float *b, const float *bias, float *c, int64_t m, int64_t k, int64_t n, int64_t ldc, int64_t a_rs, int64_t a_cs, int64_t b_rs, int64_t b_cs);
int tg_gemm_small_f64(const double *a, const double *b, const double *bias, double *c, int64_t m, int64_t k, int64_t n, int64_t ldc, int64_t a_rs, int64_t a_cs, int64_t b_rs, int64_t b_cs);
int tg_gemm_small_suits(int64_t m, int64_t k, int64_t n, int64_t b_cs, int64_t elem_size);

/*
 * tg_linear_backward_f32 / _f64: the gradients of y = x @ w^T + b at once,
 *   dx[batch, in] = grad @ w,   dw[out, in] = grad^T @ x,   db[out] = sum_i grad[i, :],
 * as one parallel job (csrc/tg_linear_backward.h), each product what tg_gemm computes for it.
 *   grad : const [batch, out], element (i, o) at grad[i * g_rs + o * g_cs]
 *   x    : const [batch, in],  element (i, j) at x[i * x_rs + j * x_cs] (read only for dw)
 *   w    : const [out, in],    element (o, j) at w[o * w_rs + j * w_cs] (read only for dx)
 *   dx, dw, db : dense row-major outputs, overwritten (must not overlap the inputs);
 *                NULL: that gradient is not wanted (nothing wanted: TG_OK, no work).
 * Sizes and strides >= 0 (TG_ERR_SIZE), pointers that a wanted output reads and errors
 * as for tg_gemm.
 */
int tg_linear_backward_f32(const float *grad, const float *x, const float *w, float *dx, float *dw, float *db, int64_t batch, int64_t fan_in, int64_t fan_out, int64_t g_rs, int64_t g_cs, int64_t x_rs, int64_t x_cs, int64_t w_rs, int64_t w_cs);
int tg_linear_backward_f64(const double *grad, const double *x, const double *w, double *dx, double *dw, double *db, int64_t batch, int64_t fan_in, int64_t fan_out, int64_t g_rs, int64_t g_cs, int64_t x_rs, int64_t x_cs, int64_t w_rs, int64_t w_cs);

/*
 * tg_matmul_f32 / tg_matmul_f64: the dense special case of tg_gemm, C = A @ B.
 *
 *   a : const [m, k]   input, row-major contiguous
 *   b : const [k, n]   input, row-major contiguous
 *   c : [m, n]         output, row-major contiguous, overwritten
 *   m, k, n : sizes, each >= 0
 */
int tg_matmul_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/*
 * tg_matmul_naive_f32 / tg_matmul_naive_f64: the textbook triple loop,
 * C[i, j] = sum_p A[i, p] * B[p, j], kept as the reference the tiled version
 * is tested and benchmarked against. Same arguments and errors as tg_matmul.
 *
 *   a : const [m, k]
 *   b : const [k, n]
 *   c : [m, n]
 *   m, k, n : sizes, each >= 0
 */
int tg_matmul_naive_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_naive_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/*
 * tg_set_num_threads / tg_get_num_threads: how many threads tg_gemm may use
 * (the pool in threadpool.c). Any n >= 1 is accepted (torch accepts any), else
 * TG_ERR_SIZE; a call runs on at most 256 threads, which is what get answers for a
 * larger n. Until set, the number of online CPUs (at most 256). Fewer threads than
 * asked run when no more can be started (a process or memory limit): never an
 * error. Products below TG_PAR_MIN_WORK multiply-adds (matmul.c) run on the calling thread, where
 * waking a worker would cost more than it saves;
 * after a call whose worker straggled (preempted on a busy machine) the next
 * calls run serially for a while (threadpool.c).
 */
int tg_set_num_threads(int64_t n);
int64_t tg_get_num_threads(void);

/*
 * Test hooks of the thread pool (tests/test_threadpool.py), no effect until set:
 * tg_pool_inject(mode, us) makes the pool's workers misbehave from the next parallel call on:
 *   TG_INJECT_STALL_BEFORE_JOIN  a worker sleeps `us` after it sees a job, before it joins
 *                                (as if the OS descheduled it): the caller must not wait for it;
 *   TG_INJECT_STALL_IN_TASK      a worker sleeps `us` inside each task it takes (preempted
 *                                mid-task): the caller waits for that one task, runs the rest;
 *   TG_INJECT_FAIL               a worker's task fails (no memory for its scratch): it hands
 *                                the task back and takes no more, the caller reruns it.
 * In the last two modes the caller waits (up to 1 s) for a worker to join before it starts.
 * TG_INJECT_NONE (0) ends it. Each call also ends a serial spell. TG_ERR_VALUE for a mode
 * outside these or `us` outside [0, 10 s].
 * tg_pool_stats(out, 4): what the last parallel call saw: out[0] workers that joined,
 * out[1] tasks they took, out[2] tasks handed back and rerun by the caller, out[3] 1 if the
 * last call ran on the pool (0: serially). TG_ERR_NULL / TG_ERR_SIZE for a bad out / n.
 */
enum {
    TG_INJECT_NONE = 0,
    TG_INJECT_STALL_BEFORE_JOIN = 1,
    TG_INJECT_STALL_IN_TASK = 2,
    TG_INJECT_FAIL = 3
};
int tg_pool_inject(int64_t mode, int64_t microseconds);
int tg_pool_stats(int64_t *out, int64_t n);

/*
 * tg_keep_freed_memory: make glibc's malloc keep freed memory for reuse instead of handing
 * it back to the kernel (mallopt: blocks up to 32 MiB come from the heap, and up to
 * 256 MiB of free heap top is kept). By default every freed batch-sized array (a few MiB:
 * the CNN's [64, 16, 28, 28] activations) is unmapped or trimmed, and the next one is
 * page-faulted in afresh -- a third of the notes' CNN step. Process-wide and idempotent;
 * the C backend calls it once when loaded. Always TG_OK: where mallopt refuses (a malloc
 * replaced by a sanitizer or jemalloc) or the C library is not glibc, it does nothing.
 */
int tg_keep_freed_memory(void);

/* ----------------------------------------------------------- conversions (elementwise.c) */

/*
 * tg_u8_to_f32: y[i] = (float)x[i] for n contiguous elements; y must not alias x.
 * Returns TG_ERR_SIZE for n < 0, TG_ERR_NULL for a missing array (n > 0).
 */
int tg_u8_to_f32(const uint8_t *x, float *y, int64_t n);

/* ----------------------------------------------------------- activations (activations.c) */

/*
 * Elementwise, over n contiguous elements (any shape, flattened by the wrapper).
 * x, grad, out : const [n]    inputs
 * y, dx        : [n]          outputs, overwritten; must not alias an input
 *
 * tg_relu:               y = x < 0 ? 0 : x              (NaN passes through)
 * tg_relu_backward:      dx = out <= 0 ? 0 : grad       (out = relu's output, as PyTorch saves)
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
 * erf and GELU (activations.c; the polynomials in tg_vmath.h), over n contiguous elements:
 * x, grad : const [n] inputs;  y, dx : [n] outputs, overwritten, must not alias an input.
 *
 * tg_erf:            y = erf(x)                     (float64 within ~1.2 ulp, float32 ~1.05)
 * tg_gelu:           y = x * 0.5 * (1 + erf(x / sqrt 2))        (approximate="none")
 * tg_gelu_backward:  dx = grad * (Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi))   (x = the INPUT)
 */
int tg_erf_f32(const float *x, float *y, int64_t n);
int tg_erf_f64(const double *x, double *y, int64_t n);
int tg_gelu_f32(const float *x, float *y, int64_t n);
int tg_gelu_f64(const double *x, double *y, int64_t n);
int tg_gelu_backward_f32(const float *grad, const float *x, float *dx, int64_t n);
int tg_gelu_backward_f64(const double *grad, const double *x, double *dx, int64_t n);

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

/*
 * Optimizer updates, one pass over each parameter (torch.optim's single-tensor
 * rules fused into one loop: every element is read and written once per step).
 * Each has a _f32 and a _f64 version; all arrays hold n elements, row-major
 * contiguous, of the same dtype, and must not overlap. `grad` is read only;
 * `param` and the state buffers are updated in place. Scalars are doubles and
 * are rounded to the element type once, as PyTorch does with its scalar args.
 * Returns TG_ERR_SIZE for n < 0, TG_ERR_NULL for a missing array (n > 0).
 *
 * tg_sgd_step: d = grad + weight_decay * param (negated first if maximize);
 *   with momentum != 0: buf = d on the first step, else
 *   buf = momentum * buf + (1 - dampening) * d; then d = d + momentum * buf
 *   (nesterov) or d = buf; finally param -= lr * d.
 *   grad          : const [n]
 *   param         : [n]
 *   momentum_buf  : [n], or NULL when momentum == 0 (not touched then)
 */
int tg_sgd_step_f32(const float *grad, float *param, float *momentum_buf, int64_t n, double lr,
                    double momentum, double dampening, double weight_decay, int nesterov, int maximize,
                    int first_step);
int tg_sgd_step_f64(const double *grad, double *param, double *momentum_buf, int64_t n, double lr,
                    double momentum, double dampening, double weight_decay, int nesterov, int maximize,
                    int first_step);

/*
 * tg_adam_step: Adam (decoupled == 0) or AdamW (decoupled == 1) at step `step`, the count
 *   including this step (>= 1, else TG_ERR_SIZE: the bias corrections would be 0).
 *   grad            : const [n]
 *   param           : [n]
 *   exp_avg         : [n]  m = beta1 * m + (1 - beta1) * g
 *   exp_avg_sq      : [n]  v = beta2 * v + (1 - beta2) * g * g
 *   max_exp_avg_sq  : [n]  running max of v (amsgrad), or NULL without amsgrad
 *   param -= lr / (1 - beta1^step) * m / (sqrt(v or vmax) / sqrt(1 - beta2^step) + eps)
 *   weight decay: g += weight_decay * param (Adam) or param *= 1 - lr * weight_decay (AdamW).
 */
int tg_adam_step_f32(const float *grad, float *param, float *exp_avg, float *exp_avg_sq,
                     float *max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
                     double weight_decay, int decoupled, double step, int maximize);
int tg_adam_step_f64(const double *grad, double *param, double *exp_avg, double *exp_avg_sq,
                     double *max_exp_avg_sq, int64_t n, double lr, double beta1, double beta2, double eps,
                     double weight_decay, int decoupled, double step, int maximize);

/*
 * tg_rmsprop_step: RMSprop.
 *   grad          : const [n]
 *   param         : [n]
 *   square_avg    : [n]  s = alpha * s + (1 - alpha) * g * g
 *   grad_avg      : [n]  a = alpha * a + (1 - alpha) * g when centered, else NULL
 *   momentum_buf  : [n]  b = momentum * b + g / avg when momentum > 0, else NULL
 *   avg = sqrt(s - a * a) (centered) or sqrt(s), plus eps;
 *   param -= lr * b (momentum) or lr * g / avg.
 */
int tg_rmsprop_step_f32(const float *grad, float *param, float *square_avg, float *grad_avg,
                        float *momentum_buf, int64_t n, double lr, double alpha, double eps,
                        double weight_decay, double momentum, int maximize);
int tg_rmsprop_step_f64(const double *grad, double *param, double *square_avg, double *grad_avg,
                        double *momentum_buf, int64_t n, double lr, double alpha, double eps,
                        double weight_decay, double momentum, int maximize);

/*
 * tg_adagrad_step: Adagrad with the decayed rate clr = lr / (1 + (step - 1) * lr_decay)
 * computed by the caller.
 *   grad       : const [n]
 *   param      : [n]
 *   state_sum  : [n]  sum += g * g
 *   param -= clr * g / (sqrt(sum) + eps)
 */
int tg_adagrad_step_f32(const float *grad, float *param, float *state_sum, int64_t n, double clr,
                        double weight_decay, double eps, int maximize);
int tg_adagrad_step_f64(const double *grad, double *param, double *state_sum, int64_t n, double clr,
                        double weight_decay, double eps, int maximize);


/* ----------------------------------------------------------- conv (conv.c) */

/*
 * The sliding window of a 2-D convolution or pooling (pool.c) over x [N, C, H, W]. Output pixel
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
 * tg_conv2d_forward_f32 / _f64: a whole convolution (PyTorch's conv2d, groups 1).
 *
 *   x      : const [n, c, h, w]
 *   weight : const [o, c, kernel_h, kernel_w]
 *   bias   : const [o], or NULL for none
 *   out    : [n, o, out_h, out_w]  output, overwritten:
 *            out[b, oc] = bias[oc] + sum over (ch, i, j) of weight[oc, ch, i, j] * tap (i, j) of x[b, ch]
 *   n, c, h, w : sizes of x, o : output channels, each >= 0;  win : the window
 * Unfolding + GEMM on chunks of a few images (cols stays in L2), chunks on the thread pool.
 * TG_ERR_NOMEM if the scratch cannot be allocated.
 */
int tg_conv2d_forward_f32(const float *x, const float *weight, const float *bias, float *out, int64_t n,
                          int64_t c, int64_t h, int64_t w, int64_t o, const struct tg_window *win);
int tg_conv2d_forward_f64(const double *x, const double *weight, const double *bias, double *out, int64_t n,
                          int64_t c, int64_t h, int64_t w, int64_t o, const struct tg_window *win);

/*
 * tg_conv2d_backward_f32 / _f64: the gradients of tg_conv2d_forward for grad = dL/dout.
 *
 *   x, weight : const, as in the forward;  grad : const [n, o, out_h, out_w]
 *   grad_x    : [n, c, h, w]                     output (overwritten), or NULL if not needed
 *   grad_w    : [o, c, kernel_h, kernel_w]       output (overwritten), or NULL
 *   grad_b    : [o]                              output (overwritten), or NULL
 * The weight and bias gradients are summed chunk by chunk in a fixed order: the result does
 * not depend on the thread count. TG_ERR_NOMEM if the scratch cannot be allocated.
 */
int tg_conv2d_backward_f32(const float *x, const float *weight, const float *grad, float *grad_x, float *grad_w,
                           float *grad_b, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                           const struct tg_window *win);
int tg_conv2d_backward_f64(const double *x, const double *weight, const double *grad, double *grad_x,
                           double *grad_w, double *grad_b, int64_t n, int64_t c, int64_t h, int64_t w, int64_t o,
                           const struct tg_window *win);


/* ----------------------------------------------------------- max pooling (pool.c) */

/*
 * tg_max_pool2d_forward_f32 / _f64: max over each window, and where it is.
 *
 *   x       : const [n, c, h, w]
 *   values  : [n, c, out_h, out_w]  output: the window's max (padding never counts)
 *   indices : [n, c, out_h, out_w]  output: its flat index y * w + x in the h*w plane;
 *             ties go to the first tap in row-major order, a NaN always wins (PyTorch's rule)
 *   n, c, h, w : sizes of x, each >= 0;  win : the window
 * A window with no tap inside the input gives TG_ERR_SIZE. Large inputs are split by planes
 * across the thread pool (the result does not depend on the thread count).
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

/* ----------------------------------------------------------- rnn (rnn.c) */

/*
 * One time step of an LSTM or GRU after its matrix products: xp = x W_ih^T + b_ih and
 * hh = h_prev W_hh^T + b_hh are given, the gate arithmetic is done here in one pass.
 * Rows are the batch (n); gates are PyTorch's, in its order (LSTM i, f, g, o; GRU r, z, n).
 *
 * tg_lstm_cell:           xp, hh [n, 4h], c_prev [n, h] -> gates [n, 4h] (activated), c, h [n, h]
 * tg_lstm_cell_backward:  gates [n, 4h], c_prev, c, grad_h, grad_c [n, h]
 *                         -> grad_gates [n, 4h] (dL/d(xp + hh)), grad_c_prev [n, h]
 * tg_gru_cell:            xp, hh [n, 3h], h_prev [n, h] -> gates [n, 3h] (r, z, n activated), h [n, h]
 * tg_gru_cell_backward:   gates, hh [n, 3h], h_prev, grad_h [n, h]
 *                         -> grad_xp, grad_hh [n, 3h], grad_h_prev [n, h] (only grad_h * z)
 */
int tg_lstm_cell_f32(const float *xp, const float *hh, const float *c_prev, float *gates, float *c, float *h,
                     int64_t n, int64_t hidden);
int tg_lstm_cell_f64(const double *xp, const double *hh, const double *c_prev, double *gates, double *c, double *h,
                     int64_t n, int64_t hidden);
int tg_lstm_cell_backward_f32(const float *gates, const float *c_prev, const float *c, const float *grad_h,
                              const float *grad_c, float *grad_gates, float *grad_c_prev, int64_t n, int64_t hidden);
int tg_lstm_cell_backward_f64(const double *gates, const double *c_prev, const double *c, const double *grad_h,
                              const double *grad_c, double *grad_gates, double *grad_c_prev, int64_t n,
                              int64_t hidden);
int tg_gru_cell_f32(const float *xp, const float *hh, const float *h_prev, float *gates, float *h, int64_t n,
                    int64_t hidden);
int tg_gru_cell_f64(const double *xp, const double *hh, const double *h_prev, double *gates, double *h, int64_t n,
                    int64_t hidden);
int tg_gru_cell_backward_f32(const float *gates, const float *hh, const float *h_prev, const float *grad_h,
                             float *grad_xp, float *grad_hh, float *grad_h_prev, int64_t n, int64_t hidden);
int tg_gru_cell_backward_f64(const double *gates, const double *hh, const double *h_prev, const double *grad_h,
                             double *grad_xp, double *grad_hh, double *grad_h_prev, int64_t n, int64_t hidden);

#endif /* TINYGRAD_EDU_H */
