/*
 * activations.c -- elementwise activations and their backward, float32 and float64.
 *
 *   relu, relu_backward            y = max(x, 0);  dx = out <= 0 ? 0 : grad
 *   bias_relu                      y = relu(x + b), b broadcast over the rows (a fused
 *                                  Linear + ReLU epilogue: one pass instead of two)
 *   leaky_relu, leaky_relu_backward
 *   sigmoid, sigmoid_backward      y = 1 / (1 + e^-x);  dx = grad * y * (1 - y)
 *   tanh_backward                  dx = grad * (1 - y^2)
 *   erf                            y = erf(x), tg_vmath.h's polynomials (tg_scalar_erf)
 *   gelu, gelu_backward            y = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 the normal CDF;
 *                                  dx = grad * (Phi(x) + x phi(x)), phi the normal density
 *
 * Every loop is a plain for over contiguous memory with restrict pointers and no
 * calls (exp and erf are tg_vmath.h's inline ones), so -O3 vectorises it. The backward
 * kernels take what PyTorch saves: relu/sigmoid/tanh the output, leaky_relu the
 * input (its gradient is defined by the sign of x), gelu the input.
 *
 * No tanh forward: NumPy's np.tanh is already a SIMD kernel (0.19 ns per float32 element
 * here, against 0.47 ns for an inlined exp-based tanh), so the Tanh op calls it directly.
 *
 * Like matmul.c, the file includes itself once per element type.
 */
#ifndef TG_ACT_BODY /* ===== first pass: instantiate for float and double ===== */

#include <stddef.h>
#include <stdint.h>

#include "tinygrad_edu.h"

#define TG_ACT_BODY
#define TG_BODY_FILE "activations.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body for one element type T ===== */

#include "tg_vmath.h"

int SFX(tg_relu)(const T *restrict x, T *restrict y, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(x, n);
    TG_CHECK_PTR(y, n);
    /* x < 0 rather than x > 0: NaN is passed through, as torch.relu does */
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0 ? (T)0 : x[i];
    return TG_OK;
}

int SFX(tg_relu_backward)(const T *restrict grad, const T *restrict out, T *restrict dx, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(grad, n);
    TG_CHECK_PTR(out, n);
    TG_CHECK_PTR(dx, n);
    /* a select, not grad * mask: PyTorch's threshold_backward gives 0 even where grad is inf/NaN */
    for (int64_t i = 0; i < n; ++i) dx[i] = out[i] <= 0 ? (T)0 : grad[i];  /* NaN out: grad, as PyTorch */
    return TG_OK;
}

int SFX(tg_bias_relu)(const T *restrict x, const T *restrict b, T *restrict y, int64_t rows, int64_t cols)
{
    TG_CHECK_SIZE(rows);
    TG_CHECK_SIZE(cols);
    if (cols != 0 && rows > INT64_MAX / cols) return TG_ERR_SIZE;
    TG_CHECK_PTR(x, rows * cols);
    TG_CHECK_PTR(b, rows == 0 ? 0 : cols);
    TG_CHECK_PTR(y, rows * cols);
    for (int64_t r = 0; r < rows; ++r) {
        const T *restrict xr = x + r * cols;
        T *restrict yr = y + r * cols;
        for (int64_t j = 0; j < cols; ++j) {
            T v = xr[j] + b[j];
            yr[j] = v < 0 ? (T)0 : v;
        }
    }
    return TG_OK;
}

int SFX(tg_leaky_relu)(const T *restrict x, T *restrict y, int64_t n, double negative_slope)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(x, n);
    TG_CHECK_PTR(y, n);
    const T s = (T)negative_slope;
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : x[i] * s;
    return TG_OK;
}

int SFX(tg_leaky_relu_backward)(const T *restrict grad, const T *restrict x, T *restrict dx, int64_t n,
                                double negative_slope)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(grad, n);
    TG_CHECK_PTR(x, n);
    TG_CHECK_PTR(dx, n);
    const T s = (T)negative_slope;
    for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0 ? grad[i] : grad[i] * s;
    return TG_OK;
}

int SFX(tg_sigmoid)(const T *restrict x, T *restrict y, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(x, n);
    TG_CHECK_PTR(y, n);
    /* e^-x overflows to inf for x < -88 (float), and 1 / inf = 0 is the right limit */
    for (int64_t i = 0; i < n; ++i) y[i] = (T)1 / ((T)1 + TG_EXP(-x[i]));
    return TG_OK;
}

int SFX(tg_sigmoid_backward)(const T *restrict grad, const T *restrict out, T *restrict dx, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(grad, n);
    TG_CHECK_PTR(out, n);
    TG_CHECK_PTR(dx, n);
    for (int64_t i = 0; i < n; ++i) dx[i] = grad[i] * ((T)1 - out[i]) * out[i];
    return TG_OK;
}

int SFX(tg_tanh_backward)(const T *restrict grad, const T *restrict out, T *restrict dx, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(grad, n);
    TG_CHECK_PTR(out, n);
    TG_CHECK_PTR(dx, n);
    for (int64_t i = 0; i < n; ++i) dx[i] = grad[i] * ((T)1 - out[i] * out[i]);
    return TG_OK;
}

int SFX(tg_erf)(const T *restrict x, T *restrict y, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(x, n);
    TG_CHECK_PTR(y, n);
    for (int64_t i = 0; i < n; ++i) y[i] = SFX(tg_scalar_erf)(x[i]);
    return TG_OK;
}

/* PyTorch's formula, x * 0.5 * (1 + erf(x / sqrt 2)): gelu(-inf) is NaN (-inf * 0) there too */
int SFX(tg_gelu)(const T *restrict x, T *restrict y, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(x, n);
    TG_CHECK_PTR(y, n);
    const T rsqrt2 = (T)0.70710678118654752440;
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * (T)0.5 * ((T)1 + SFX(tg_scalar_erf)(x[i] * rsqrt2));
    return TG_OK;
}

int SFX(tg_gelu_backward)(const T *restrict grad, const T *restrict x, T *restrict dx, int64_t n)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_PTR(grad, n);
    TG_CHECK_PTR(x, n);
    TG_CHECK_PTR(dx, n);
    const T rsqrt2 = (T)0.70710678118654752440, rsqrt2pi = (T)0.39894228040143267794;
    for (int64_t i = 0; i < n; ++i) {
        const T v = x[i];
        const T cdf = (T)0.5 * ((T)1 + SFX(tg_scalar_erf)(v * rsqrt2));
        const T pdf = rsqrt2pi * TG_EXP((T)-0.5 * v * v);
        dx[i] = grad[i] * (cdf + v * pdf);
    }
    return TG_OK;
}

#undef TG_EXP
#undef TG_NLANES

#endif /* TG_ACT_BODY */
