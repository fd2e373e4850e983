/*
 * optim.c -- torch.optim's update rules, one pass over each parameter.
 *
 * PyTorch's CPU optimizers (the single-tensor path, the default on CPU) run
 * each rule as a chain of elementwise ops -- grad.add(param), buf.mul_().add_(),
 * param.add_() ... -- each a full pass over memory with a temporary or two.
 * Here every rule is one loop: each element of the parameter, its gradient and
 * its state is loaded once, updated in registers and stored once. The
 * arithmetic inside the loop is PyTorch's, op for op and in the element type
 * (scalars rounded to T first, as PyTorch's scalar arguments are), so results
 * agree with torch.optim to rounding (FMA contraction may differ in the last bit).
 *
 * The typed code is written once, in the second half of this file, in terms
 * of T and SFX(name); the file includes itself once per type, as matmul.c does.
 */
#ifndef TG_OPTIM_BODY /* ===== first pass: shared parts, then instantiate ===== */

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tinygrad_edu.h"

/* n must be >= 0, and every array the rule uses non-NULL unless n == 0. */
static int tg_check_optim(int64_t n, int n_ptrs, const void *const *ptrs)
{
    if (n < 0) return TG_ERR_SIZE;
    if (n == 0) return TG_OK;
    for (int i = 0; i < n_ptrs; i++)
        if (ptrs[i] == NULL) return TG_ERR_NULL;
    return TG_OK;
}

/* Loop bodies are forced inline so each constant flag combination gets its own loop. */
#define TG_INLINE static inline __attribute__((always_inline))

#define TG_OPTIM_BODY
#define TG_BODY_FILE "optim.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body, instantiated for one element type T ===== */

/* torch.lerp(start, end, w) as PyTorch computes it on CPU: from the nearer end,
 * so that w = 0 and w = 1 give exactly start and end. */
static inline T SFX(tg_lerp)(T start, T end, T w)
{
    return (w < (T)0.5 && w > (T)-0.5) ? start + w * (end - start) : end - (end - start) * ((T)1 - w);
}

/* The loops are always_inline functions whose optional buffers are switched on by a
 * compile-time constant, instantiated once per combination by the public function. Why:
 * with a run-time `buf != NULL` test inside the loop, GCC if-converts it into masked
 * AVX-512 loads from the NULL pointer (fully masked off, so legal), and on this machine
 * (AMD EPYC) those ran the whole loop ~15x slower -- presumably a fault-suppression
 * micro-code assist per load: Adam on 401,408 floats took 2.5 ms, 0.15 ms once split. */
TG_INLINE void SFX(sgd_loop)(const T *grad, T *param, T *momentum_buf, int64_t n, double lr, double momentum,
                             double dampening, double weight_decay, int nesterov, int maximize, int first_step,
                             const int use_momentum)
{
    const T neg_lr = (T)-lr, mom = (T)momentum, wd = (T)weight_decay, keep = (T)(1.0 - dampening);
    for (int64_t i = 0; i < n; i++) {
        T p = param[i];
        T d = maximize ? -grad[i] : grad[i];
        if (weight_decay != 0.0) d = d + wd * p;
        if (use_momentum) {
            /* PyTorch: the buffer starts as a copy of the first (decayed) gradient. */
            T b = first_step ? d : momentum_buf[i] * mom + keep * d;
            momentum_buf[i] = b;
            d = nesterov ? d + mom * b : b;
        }
        param[i] = p + neg_lr * d;
    }
}

int SFX(tg_sgd_step)(const T *grad, T *param, T *momentum_buf, int64_t n, double lr, double momentum,
                     double dampening, double weight_decay, int nesterov, int maximize, int first_step)
{
    const int use_momentum = momentum != 0.0;
    const void *ptrs[3] = {grad, param, use_momentum ? (const void *)momentum_buf : param};
    int rc = tg_check_optim(n, 3, ptrs);
    if (rc != TG_OK) return rc;
    if (use_momentum)
        SFX(sgd_loop)(grad, param, momentum_buf, n, lr, momentum, dampening, weight_decay, nesterov, maximize,
                      first_step, 1);
    else
        SFX(sgd_loop)(grad, param, NULL, n, lr, momentum, dampening, weight_decay, nesterov, maximize,
                      first_step, 0);
    return TG_OK;
}

TG_INLINE void SFX(adam_loop)(const T *grad, T *param, T *exp_avg, T *exp_avg_sq, T *max_exp_avg_sq,
                              int64_t n, double lr, double beta1, double beta2, double eps, double weight_decay,
                              int decoupled, double step, int maximize, const int amsgrad)
{
    /* Scalars computed in double, as PyTorch does in Python, then rounded to T. */
    const double bias_correction1 = 1.0 - pow(beta1, step);
    const double bias_correction2 = 1.0 - pow(beta2, step);
    const T neg_step_size = (T)(-(lr / bias_correction1));
    const T bc2_sqrt = (T)sqrt(bias_correction2);
    const T w1 = (T)(1.0 - beta1), b2 = (T)beta2, w2 = (T)(1.0 - beta2), e = (T)eps;
    const T wd = (T)weight_decay, shrink = (T)(1.0 - lr * weight_decay);
    const int coupled_decay = weight_decay != 0.0 && !decoupled;
    const int decoupled_decay = weight_decay != 0.0 && decoupled;
    for (int64_t i = 0; i < n; i++) {
        T p = param[i];
        T g = maximize ? -grad[i] : grad[i];
        if (decoupled_decay) p = p * shrink;
        if (coupled_decay) g = g + wd * p;
        const T m = SFX(tg_lerp)(exp_avg[i], g, w1);
        T v = exp_avg_sq[i] * b2 + w2 * g * g;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        if (amsgrad) {
            /* torch.maximum: NaN wins */
            const T vmax = max_exp_avg_sq[i];
            v = (vmax > v || vmax != vmax) ? vmax : v;
            max_exp_avg_sq[i] = v;
        }
        const T denom = SQRT(v) / bc2_sqrt + e;
        param[i] = p + neg_step_size * (m / denom);
    }
}

int SFX(tg_adam_step)(const T *grad, T *param, T *exp_avg, T *exp_avg_sq, T *max_exp_avg_sq, int64_t n,
                      double lr, double beta1, double beta2, double eps, double weight_decay, int decoupled,
                      double step, int maximize)
{
    const void *ptrs[4] = {grad, param, exp_avg, exp_avg_sq};
    int rc = tg_check_optim(n, 4, ptrs);
    if (rc != TG_OK) return rc;
    if (step < 1.0) return TG_ERR_SIZE; /* bias corrections 1 - beta^0 = 0 would divide by zero */
    if (max_exp_avg_sq != NULL)
        SFX(adam_loop)(grad, param, exp_avg, exp_avg_sq, max_exp_avg_sq, n, lr, beta1, beta2, eps, weight_decay,
                       decoupled, step, maximize, 1);
    else
        SFX(adam_loop)(grad, param, exp_avg, exp_avg_sq, NULL, n, lr, beta1, beta2, eps, weight_decay,
                       decoupled, step, maximize, 0);
    return TG_OK;
}

TG_INLINE void SFX(rmsprop_loop)(const T *grad, T *param, T *square_avg, T *grad_avg, T *momentum_buf,
                                 int64_t n, double lr, double alpha, double eps, double weight_decay,
                                 double momentum, int maximize, const int centered, const int use_momentum)
{
    const T neg_lr = (T)-lr, a = (T)alpha, w = (T)(1.0 - alpha), e = (T)eps;
    const T wd = (T)weight_decay, mom = (T)momentum;
    for (int64_t i = 0; i < n; i++) {
        const T p = param[i];
        T g = maximize ? -grad[i] : grad[i];
        if (weight_decay != 0.0) g = g + wd * p;
        const T s = square_avg[i] * a + w * g * g;
        square_avg[i] = s;
        T avg;
        if (centered) {
            const T ga = SFX(tg_lerp)(grad_avg[i], g, w);
            grad_avg[i] = ga;
            avg = SQRT(s + (T)-1 * ga * ga);
        } else {
            avg = SQRT(s);
        }
        avg = avg + e;
        if (use_momentum) {
            const T b = momentum_buf[i] * mom + g / avg;
            momentum_buf[i] = b;
            param[i] = p + neg_lr * b;
        } else {
            param[i] = p + neg_lr * (g / avg);
        }
    }
}

int SFX(tg_rmsprop_step)(const T *grad, T *param, T *square_avg, T *grad_avg, T *momentum_buf, int64_t n,
                         double lr, double alpha, double eps, double weight_decay, double momentum, int maximize)
{
    const void *ptrs[3] = {grad, param, square_avg};
    int rc = tg_check_optim(n, 3, ptrs);
    if (rc != TG_OK) return rc;
#define TG_RMSPROP(c, m) SFX(rmsprop_loop)(grad, param, square_avg, c ? grad_avg : NULL, m ? momentum_buf : NULL, \
                                           n, lr, alpha, eps, weight_decay, momentum, maximize, c, m)
    if (grad_avg != NULL) {
        if (momentum_buf != NULL) TG_RMSPROP(1, 1); else TG_RMSPROP(1, 0);
    } else {
        if (momentum_buf != NULL) TG_RMSPROP(0, 1); else TG_RMSPROP(0, 0);
    }
#undef TG_RMSPROP
    return TG_OK;
}

int SFX(tg_adagrad_step)(const T *grad, T *param, T *state_sum, int64_t n, double clr, double weight_decay,
                         double eps, int maximize)
{
    const void *ptrs[3] = {grad, param, state_sum};
    int rc = tg_check_optim(n, 3, ptrs);
    if (rc != TG_OK) return rc;
    const T neg_clr = (T)-clr, wd = (T)weight_decay, e = (T)eps;
    for (int64_t i = 0; i < n; i++) {
        const T p = param[i];
        T g = maximize ? -grad[i] : grad[i];
        if (weight_decay != 0.0) g = g + wd * p;
        const T s = state_sum[i] + g * g;
        state_sum[i] = s;
        param[i] = p + neg_clr * (g / (SQRT(s) + e));
    }
    return TG_OK;
}

#endif /* TG_OPTIM_BODY */
