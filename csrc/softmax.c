/*
 * softmax.c -- softmax and log_softmax over the last dimension of a [rows, cols]
 * array, forward and backward, float32 and float64.
 *
 *   softmax            y = e^(x - m) / sum e^(x - m),   m = max of the row
 *   log_softmax        y = x - m - log(sum e^(x - m))
 *   softmax_backward   dx = y * (dy - sum(dy * y))
 *   log_softmax_backward  dx = dy - e^y * sum(dy)
 *
 * NOTE: subtracting the row max changes nothing mathematically (it cancels between
 * numerator and denominator) but keeps every exponent <= 0, so e^(x - m) <= 1 never
 * overflows: logits of 1e4 would otherwise give inf / inf = NaN. The largest term
 * is e^0 = 1, so the sum is >= 1 and its log is finite too.
 *
 * Each row is two passes: max, then exp + sum writing e^(x - m) into the output,
 * which a final scale turns into y (the row stays in L1 between passes).
 */
#ifndef TG_SOFTMAX_BODY /* ===== first pass: instantiate for float and double ===== */

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tinygrad_edu.h"

/* rows * cols must fit: the wrapper cannot send more, but C does not trust it. */
static int tg_check_rows(const void *in, const void *in2, const void *out, int64_t rows, int64_t cols)
{
    if (rows < 0 || cols < 0) return TG_ERR_SIZE;
    if (cols != 0 && rows > INT64_MAX / 8 / cols) return TG_ERR_SIZE;
    int64_t n = rows * cols;
    if (n != 0 && (in == NULL || in2 == NULL || out == NULL)) return TG_ERR_NULL;
    return TG_OK;
}

#define TG_SOFTMAX_BODY
#define TG_BODY_FILE "softmax.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body for one element type T ===== */

#include "tg_vmath.h"

int SFX(tg_softmax)(const T *restrict x, T *restrict y, int64_t rows, int64_t cols)
{
    int rc = tg_check_rows(x, x, y, rows, cols);
    if (rc != TG_OK || cols == 0) return rc; /* cols == 0: nothing to read, and no max */
    for (int64_t r = 0; r < rows; ++r) {
        const T *restrict xr = x + r * cols;
        T *restrict yr = y + r * cols;
        if (r + 1 < rows) tg_prefetch_row(xr + cols, cols * (int64_t)sizeof(T));
        T m = SFX(tg_row_max)(xr, cols);
        T inv = (T)1 / SFX(tg_row_exp_sum)(xr, m, yr, cols);
        for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
    }
    return TG_OK;
}

int SFX(tg_log_softmax)(const T *restrict x, T *restrict y, int64_t rows, int64_t cols)
{
    int rc = tg_check_rows(x, x, y, rows, cols);
    if (rc != TG_OK || cols == 0) return rc; /* cols == 0: nothing to read, and no max */
    for (int64_t r = 0; r < rows; ++r) {
        const T *restrict xr = x + r * cols;
        T *restrict yr = y + r * cols;
        if (r + 1 < rows) tg_prefetch_row(xr + cols, cols * (int64_t)sizeof(T));
        T m = SFX(tg_row_max)(xr, cols);
        /* the exps go to y as scratch; y is then overwritten with (x - m) - log sum.
         * Not x - (m + log sum): at m = 1e4, m + 0.69 rounds to a float32 ulp of 1e-3. */
        T log_sum = LOG(SFX(tg_row_exp_sum)(xr, m, yr, cols));
        for (int64_t j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - log_sum;
    }
    return TG_OK;
}

int SFX(tg_softmax_backward)(const T *restrict grad, const T *restrict out, T *restrict dx, int64_t rows,
                             int64_t cols)
{
    int rc = tg_check_rows(grad, out, dx, rows, cols);
    if (rc != TG_OK || cols == 0) return rc; /* cols == 0: nothing to read, and no max */
    for (int64_t r = 0; r < rows; ++r) {
        const T *restrict g = grad + r * cols, *restrict y = out + r * cols;
        T *restrict d = dx + r * cols;
        T dot = SFX(tg_row_dot)(g, y, cols);
        for (int64_t j = 0; j < cols; ++j) d[j] = y[j] * (g[j] - dot);
    }
    return TG_OK;
}

int SFX(tg_log_softmax_backward)(const T *restrict grad, const T *restrict out, T *restrict dx, int64_t rows,
                                 int64_t cols)
{
    int rc = tg_check_rows(grad, out, dx, rows, cols);
    if (rc != TG_OK || cols == 0) return rc; /* cols == 0: nothing to read, and no max */
    for (int64_t r = 0; r < rows; ++r) {
        const T *restrict g = grad + r * cols, *restrict y = out + r * cols;
        T *restrict d = dx + r * cols;
        T sum = SFX(tg_row_sum)(g, cols);
        for (int64_t j = 0; j < cols; ++j) d[j] = g[j] - TG_EXP(y[j]) * sum;
    }
    return TG_OK;
}

#undef TG_EXP
#undef TG_NLANES

#endif /* TG_SOFTMAX_BODY */
