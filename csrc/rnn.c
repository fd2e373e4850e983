/*
 * rnn.c -- one time step of an LSTM or a GRU, the gate arithmetic fused, float32 and float64.
 *
 * The matrix products stay in matmul.c: the caller computes xp = x W_ih^T + b_ih for every
 * step at once and hh = h W_hh^T + b_hh for each step (tinygrad_edu/ops/rnn.py), and these
 * kernels do the rest of the step in one pass over the [n, gates * hidden] rows, where the
 * Tensor-op version (nn/modules/rnn.py's reference) makes ~15 small ops, each a Python call
 * and a pass over memory, forward and as many again backward.
 *
 *   tg_lstm_cell            i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the 4 chunks of xp + hh
 *                           c = f * c_prev + i * g        h = o * tanh(c)
 *   tg_lstm_cell_backward   from dL/dh, dL/dc (of this step's outputs) and the saved gates:
 *                           dL/d(xp + hh) [n, 4 hidden] and dL/dc_prev
 *   tg_gru_cell             r, z = sigmoid(xp_r + hh_r), sigmoid(xp_z + hh_z)
 *                           g = tanh(xp_n + r * hh_n)     h = g + z * (h_prev - g)
 *   tg_gru_cell_backward    dL/dxp, dL/dhh [n, 3 hidden] and the direct part of dL/dh_prev (dh * z;
 *                           the caller adds dL/dhh @ W_hh)
 *
 * The gates are PyTorch's, in its order (LSTM i, f, g, o; GRU r, z, n). sigmoid and tanh are
 * inline (tg_vmath.h's exp; tanh below), so each row loop vectorises at -O3.
 *
 * Like matmul.c, the file includes itself once per element type.
 */
#ifndef TG_RNN_BODY /* ===== first pass: instantiate for float and double ===== */

#include <stddef.h>
#include <stdint.h>

#include "tinygrad_edu.h"

#define TG_RNN_BODY
#define TG_BODY_FILE "rnn.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body for one element type T ===== */

#include "tg_vmath.h"

static inline T SFX(tg_rnn_sigmoid)(T x) { return (T)1 / ((T)1 + SFX(tg_exp)(-x)); }

/* tanh as Cephes computes it, branch-free so that the loops vectorise: for |x| > 0.625,
 * 1 - 2 / (e^{2|x|} + 1) (e^{2|x|} = inf gives 1); below, where that form loses digits to
 * cancellation, an odd polynomial (float) or rational function (double) in x^2. */
static inline T SFX(tg_rnn_tanh)(T x)
{
    T a = x < 0 ? -x : x;
    T big = (T)1 - (T)2 / (SFX(tg_exp)((T)2 * a) + (T)1);
    big = x < 0 ? -big : big;
    T s = x * x;
    T small;
    if (sizeof(T) == sizeof(float)) {
        small = (((((T)-5.70498872745E-3 * s + (T)2.06390887954E-2) * s - (T)5.37397155531E-2) * s +
                  (T)1.33314422036E-1) * s - (T)3.33332819422E-1) * s * x + x;
    } else {
        T p = ((T)-9.64399179425052238628E-1 * s + (T)-9.92877231001918586564E1) * s +
              (T)-1.61468768441708447952E3;
        T q = (((s + (T)1.12811678491632931402E2) * s + (T)2.23548839060100448583E3) * s) +
              (T)4.84406305325125486048E3;
        small = x + x * s * p / q;
    }
    return a > (T)0.625 ? big : small; /* NaN: the comparison is false, small is NaN */
}

/* The shared checks: sizes >= 0, n * gates * hidden representable, pointers where data is. */
static int SFX(tg_rnn_check)(int64_t n, int64_t hidden, int64_t gates)
{
    TG_CHECK_SIZE(n);
    TG_CHECK_SIZE(hidden);
    if (hidden > INT64_MAX / gates) return TG_ERR_SIZE;
    if (n != 0 && hidden * gates > INT64_MAX / n) return TG_ERR_SIZE;
    return TG_OK;
}

/*
 * tg_lstm_cell: xp, hh [n, 4 hidden] (the two halves of the pre-activation), c_prev [n, hidden]
 * -> gates [n, 4 hidden] (i, f, g, o after their sigmoid/tanh: what the backward needs),
 * c, h [n, hidden].
 */
int SFX(tg_lstm_cell)(const T *restrict xp, const T *restrict hh, const T *restrict c_prev, T *restrict gates,
                      T *restrict c, T *restrict h, int64_t n, int64_t hidden)
{
    int rc = SFX(tg_rnn_check)(n, hidden, 4);
    if (rc != TG_OK) return rc;
    const int64_t cols = 4 * hidden;
    TG_CHECK_PTR(xp, n * cols);
    TG_CHECK_PTR(hh, n * cols);
    TG_CHECK_PTR(gates, n * cols);
    TG_CHECK_PTR(c_prev, n * hidden);
    TG_CHECK_PTR(c, n * hidden);
    TG_CHECK_PTR(h, n * hidden);
    for (int64_t r = 0; r < n; ++r) {
        const T *restrict x = xp + r * cols, *restrict y = hh + r * cols;
        T *restrict a = gates + r * cols;
        for (int64_t j = 0; j < cols; ++j) a[j] = x[j] + y[j];
        for (int64_t j = 0; j < 2 * hidden; ++j) a[j] = SFX(tg_rnn_sigmoid)(a[j]); /* i, f */
        for (int64_t j = 2 * hidden; j < 3 * hidden; ++j) a[j] = SFX(tg_rnn_tanh)(a[j]); /* g */
        for (int64_t j = 3 * hidden; j < cols; ++j) a[j] = SFX(tg_rnn_sigmoid)(a[j]); /* o */
        /* not restrict: they alias `a`, written just above */
        const T *i = a, *f = a + hidden, *g = a + 2 * hidden, *o = a + 3 * hidden;
        const T *restrict cp = c_prev + r * hidden;
        T *restrict cr = c + r * hidden, *restrict hr = h + r * hidden;
        for (int64_t j = 0; j < hidden; ++j) {
            cr[j] = f[j] * cp[j] + i[j] * g[j];
            hr[j] = o[j] * SFX(tg_rnn_tanh)(cr[j]);
        }
    }
    return TG_OK;
}

/*
 * tg_lstm_cell_backward: gates [n, 4 hidden] and c [n, hidden] saved by tg_lstm_cell, c_prev,
 * grad_h, grad_c [n, hidden] (dL/dh and dL/dc of this step's outputs) -> grad_gates
 * [n, 4 hidden] (dL/d(xp + hh)), grad_c_prev [n, hidden]. With tc = tanh(c):
 *   do = dh tc     dc' = dc + dh o (1 - tc^2)     di = dc' g     df = dc' c_prev     dg = dc' i
 *   dc_prev = dc' f, and each gate's derivative: s (1 - s) for a sigmoid, 1 - g^2 for g.
 */
int SFX(tg_lstm_cell_backward)(const T *restrict gates, const T *restrict c_prev, const T *restrict c,
                               const T *restrict grad_h, const T *restrict grad_c, T *restrict grad_gates,
                               T *restrict grad_c_prev, int64_t n, int64_t hidden)
{
    int rc = SFX(tg_rnn_check)(n, hidden, 4);
    if (rc != TG_OK) return rc;
    const int64_t cols = 4 * hidden;
    TG_CHECK_PTR(gates, n * cols);
    TG_CHECK_PTR(grad_gates, n * cols);
    TG_CHECK_PTR(c_prev, n * hidden);
    TG_CHECK_PTR(c, n * hidden);
    TG_CHECK_PTR(grad_h, n * hidden);
    TG_CHECK_PTR(grad_c, n * hidden);
    TG_CHECK_PTR(grad_c_prev, n * hidden);
    for (int64_t r = 0; r < n; ++r) {
        const T *restrict a = gates + r * cols;
        const T *restrict i = a, *restrict f = a + hidden, *restrict g = a + 2 * hidden, *restrict o = a + 3 * hidden;
        const T *restrict cp = c_prev + r * hidden, *restrict cr = c + r * hidden;
        const T *restrict dh = grad_h + r * hidden, *restrict dc = grad_c + r * hidden;
        T *restrict d = grad_gates + r * cols, *restrict dcp = grad_c_prev + r * hidden;
        for (int64_t j = 0; j < hidden; ++j) {
            T tc = SFX(tg_rnn_tanh)(cr[j]);
            T dct = dc[j] + dh[j] * o[j] * ((T)1 - tc * tc);
            d[j] = dct * g[j] * i[j] * ((T)1 - i[j]);
            d[hidden + j] = dct * cp[j] * f[j] * ((T)1 - f[j]);
            d[2 * hidden + j] = dct * i[j] * ((T)1 - g[j] * g[j]);
            d[3 * hidden + j] = dh[j] * tc * o[j] * ((T)1 - o[j]);
            dcp[j] = dct * f[j];
        }
    }
    return TG_OK;
}

/*
 * tg_gru_cell: xp, hh [n, 3 hidden], h_prev [n, hidden] -> gates [n, 3 hidden] (r, z, and the
 * candidate n after its tanh), h [n, hidden].
 */
int SFX(tg_gru_cell)(const T *restrict xp, const T *restrict hh, const T *restrict h_prev, T *restrict gates,
                     T *restrict h, int64_t n, int64_t hidden)
{
    int rc = SFX(tg_rnn_check)(n, hidden, 3);
    if (rc != TG_OK) return rc;
    const int64_t cols = 3 * hidden;
    TG_CHECK_PTR(xp, n * cols);
    TG_CHECK_PTR(hh, n * cols);
    TG_CHECK_PTR(gates, n * cols);
    TG_CHECK_PTR(h_prev, n * hidden);
    TG_CHECK_PTR(h, n * hidden);
    for (int64_t r = 0; r < n; ++r) {
        const T *restrict x = xp + r * cols, *restrict y = hh + r * cols, *restrict hp = h_prev + r * hidden;
        T *restrict a = gates + r * cols, *restrict hr = h + r * hidden;
        for (int64_t j = 0; j < 2 * hidden; ++j) a[j] = SFX(tg_rnn_sigmoid)(x[j] + y[j]); /* r, z */
        for (int64_t j = 0; j < hidden; ++j) {
            T cand = SFX(tg_rnn_tanh)(x[2 * hidden + j] + a[j] * y[2 * hidden + j]);
            a[2 * hidden + j] = cand;
            hr[j] = cand + a[hidden + j] * (hp[j] - cand);
        }
    }
    return TG_OK;
}

/*
 * tg_gru_cell_backward: gates [n, 3 hidden] saved by tg_gru_cell, hh [n, 3 hidden], h_prev and
 * grad_h [n, hidden] -> grad_xp, grad_hh [n, 3 hidden], grad_h_prev [n, hidden] (only dh z: the
 * caller adds grad_hh @ W_hh). With dg = dh (1 - z) (1 - g^2):
 *   dxp = [dr', dz', dg]    dhh = [dr', dz', dg r]    dr' = dg hh_n r (1 - r)
 *   dz' = dh (h_prev - g) z (1 - z)
 */
int SFX(tg_gru_cell_backward)(const T *restrict gates, const T *restrict hh, const T *restrict h_prev,
                              const T *restrict grad_h, T *restrict grad_xp, T *restrict grad_hh,
                              T *restrict grad_h_prev, int64_t n, int64_t hidden)
{
    int rc = SFX(tg_rnn_check)(n, hidden, 3);
    if (rc != TG_OK) return rc;
    const int64_t cols = 3 * hidden;
    TG_CHECK_PTR(gates, n * cols);
    TG_CHECK_PTR(hh, n * cols);
    TG_CHECK_PTR(grad_xp, n * cols);
    TG_CHECK_PTR(grad_hh, n * cols);
    TG_CHECK_PTR(h_prev, n * hidden);
    TG_CHECK_PTR(grad_h, n * hidden);
    TG_CHECK_PTR(grad_h_prev, n * hidden);
    for (int64_t r = 0; r < n; ++r) {
        const T *restrict a = gates + r * cols, *restrict y = hh + r * cols;
        const T *restrict hp = h_prev + r * hidden, *restrict dh = grad_h + r * hidden;
        T *restrict dx = grad_xp + r * cols, *restrict dy = grad_hh + r * cols;
        T *restrict dhp = grad_h_prev + r * hidden;
        for (int64_t j = 0; j < hidden; ++j) {
            T rg = a[j], z = a[hidden + j], g = a[2 * hidden + j];
            T dg = dh[j] * ((T)1 - z) * ((T)1 - g * g);
            T dr = dg * y[2 * hidden + j] * rg * ((T)1 - rg);
            T dz = dh[j] * (hp[j] - g) * z * ((T)1 - z);
            dx[j] = dy[j] = dr;
            dx[hidden + j] = dy[hidden + j] = dz;
            dx[2 * hidden + j] = dg;
            dy[2 * hidden + j] = dg * rg;
            dhp[j] = dh[j] * z;
        }
    }
    return TG_OK;
}

#endif /* TG_RNN_BODY */
