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
    TG_ERR_NOMEM = 3     /* malloc of a scratch buffer failed */
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


#endif /* TINYGRAD_EDU_H */
