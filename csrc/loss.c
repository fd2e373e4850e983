/*
 * loss.c -- cross-entropy, fused: the loss AND d(loss)/d(logits) in one call,
 * float32 and float64, with PyTorch's options (reduction, ignore_index, class
 * weights, label smoothing).
 *
 * PyTorch's F.cross_entropy(x, t, weight=w, ignore_index, reduction, label_smoothing=eps)
 * for class indices is, with logp = log_softmax(x) and K classes (LossNLL.cpp):
 *
 *     loss_i = (1 - eps) * w[t_i] * (-logp[i, t_i]) + eps / K * sum_c w[c] * (-logp[i, c])
 *
 * and 0 where t_i == ignore_index. 'sum' adds the loss_i, 'mean' divides that sum by
 * D = sum of w[t_i] over the non-ignored rows (not by the row count: weighted rows
 * count by their weight), 'none' returns them all. Without weights w = 1.
 *
 * Writing loss_i = -sum_c a_c logp_c with a_c = (1 - eps) w[t] [c == t] + eps / K w[c],
 * and A = sum_c a_c, the gradient is the famous "softmax minus (smoothed) one-hot":
 *
 *     d loss_i / d x[i, j] = A * p_j - a_j,     p = softmax(x[i])
 *
 * so the forward already holds everything the backward needs: the exps of the row
 * (kept in dlogits) and their sum. One read of the logits, one write of dlogits --
 * against ~10 passes for the unfused NumPy expression.
 *
 * NOTE: numerically stable as softmax.c: log sum e^x = m + log sum e^(x - m), m the
 * row max, so logits of 1e4 give finite losses and gradients.
 */
#ifndef TG_LOSS_BODY /* ===== first pass: instantiate for float and double ===== */

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tinygrad_edu.h"

#define TG_LOSS_BODY
#define TG_BODY_FILE "loss.c"
#include "tg_each_type.h"

#else /* ===== second pass: the body for one element type T ===== */

#include "tg_vmath.h"

/* Validate every target before anything is written, and return D (see above).
 * A target that is neither ignore_index nor in [0, k) stops here: its position
 * goes to *bad_index and the call fails with TG_ERR_INDEX, so no row is ever
 * read out of bounds. */
static int SFX(tg_ce_targets)(const int64_t *restrict target, const T *restrict weight, int64_t n, int64_t k,
                              int64_t ignore_index, int64_t *bad_index, double *denom)
{
    double d = 0;
    for (int64_t i = 0; i < n; ++i) {
        int64_t t = target[i];
        if (t == ignore_index) continue;
        if (t < 0 || t >= k) {
            *bad_index = i;
            return TG_ERR_INDEX;
        }
        d += weight ? (double)weight[t] : 1.0;
    }
    *denom = d;
    return TG_OK;
}

/* PERF: a row shorter than one vector group (TG_NLANES: 16 floats, 8 doubles; MNIST's 10
 * classes) would go through the row helpers' scalar tail, one exp after another, each added
 * to a double. Here the exps come first, in a loop of their own that the compiler vectorises,
 * then their sum (fewer than TG_NLANES terms in T, as one lane of TG_LANE_SUM sums up to 16):
 * 64x10 float32 in 2.6 us instead of 3.6 us (CPU time, the C call alone, AVX-512). */
static inline T SFX(tg_ce_short_exp_sum)(const T *restrict x, T m, T *restrict e, int64_t k)
{
    for (int64_t j = 0; j < k; ++j) e[j] = SFX(tg_expneg)(x[j] - m);
    T s = 0;
    for (int64_t j = 0; j < k; ++j) s += e[j];
    return s;
}

int SFX(tg_cross_entropy)(const T *restrict logits, const int64_t *restrict target, const T *restrict weight,
                          T *restrict loss, T *restrict dlogits, int64_t *bad_index, int64_t n, int64_t k,
                          int64_t ignore_index, int reduction, double label_smoothing)
{
    if (n < 0 || k < 0 || (k != 0 && n > INT64_MAX / 8 / k)) return TG_ERR_SIZE;
    if (reduction < TG_REDUCTION_NONE || reduction > TG_REDUCTION_SUM) return TG_ERR_VALUE;
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0)) return TG_ERR_VALUE; /* also NaN */
    if (bad_index == NULL || loss == NULL) return TG_ERR_NULL;
    if ((n * k != 0 && logits == NULL) || (n != 0 && target == NULL)) return TG_ERR_NULL;
    /* weight may be NULL (all ones) and dlogits may be NULL (no gradient wanted) */
    *bad_index = -1;
    double denom = 0;
    int rc = SFX(tg_ce_targets)(target, weight, n, k, ignore_index, bad_index, &denom);
    if (rc != TG_OK) return rc;
    if (k == 0 && label_smoothing != 0) { /* PyTorch: eps / 0 classes is inf, times an empty sum: NaN */
        const int64_t count = reduction == TG_REDUCTION_NONE ? n : 1;
        for (int64_t i = 0; i < count; ++i) loss[i] = (T)NAN;
        return TG_OK; /* dlogits is [n, 0]: nothing to write */
    }

    const T eps = (T)label_smoothing, eps_k = k ? (T)(label_smoothing / (double)k) : (T)0;
    const T sum_w = weight ? SFX(tg_row_sum)(weight, k) : (T)k;
    /* d(reduced loss) / d(loss_i): 1 for 'none' and 'sum', 1 / D for 'mean' */
    const T row_scale = reduction == TG_REDUCTION_MEAN ? (T)(1.0 / denom) : (T)1;
    double total = 0;
    for (int64_t i = 0; i < n; ++i) {
        const T *restrict x = logits + i * k;
        T *restrict d = dlogits ? dlogits + i * k : NULL;
        const int64_t t = target[i];
        if (i + 1 < n) tg_prefetch_row(x + k, k * (int64_t)sizeof(T));
        T li = 0;
        if (t == ignore_index) {
            if (d)
                for (int64_t j = 0; j < k; ++j) d[j] = 0;
        } else {
            const T m = SFX(tg_row_max)(x, k);
            T scratch[TG_NLANES]; /* the exps of a short row when no gradient is wanted */
            const T s = k < TG_NLANES ? SFX(tg_ce_short_exp_sum)(x, m, d ? d : scratch, k)
                        : d ? SFX(tg_row_exp_sum)(x, m, d, k) : SFX(tg_row_sum_exp)(x, m, k);
            /* -logp_c = (m - x_c) + log s. Grouped so, not (m + log s) - x_c: with logits of
             * 1e4, m + log s would be rounded to float32's ulp there (1e-3). */
            const T log_s = LOG(s);
            const T wt = weight ? weight[t] : (T)1;
            li = (1 - eps) * wt * ((m - x[t]) + log_s);
            if (eps != 0) /* - sum_c w_c logp_c = sum_c w_c (m - x_c) + sum_w log s */
                li += eps_k * (SFX(tg_row_wsum_shift)(weight, x, m, k) + sum_w * log_s);
            if (d) { /* d_j = scale (A e_j / s - a_j); d holds e_j */
                const T c = row_scale * ((1 - eps) * wt + eps_k * sum_w) / s;
                const T cw = row_scale * eps_k;
                if (weight && eps != 0)
                    for (int64_t j = 0; j < k; ++j) d[j] = c * d[j] - cw * weight[j];
                else
                    for (int64_t j = 0; j < k; ++j) d[j] = c * d[j] - cw;
                d[t] -= row_scale * (1 - eps) * wt;
            }
        }
        if (reduction == TG_REDUCTION_NONE) loss[i] = li;
        total += (double)li;
    }
    if (reduction == TG_REDUCTION_SUM) loss[0] = (T)total;
    if (reduction == TG_REDUCTION_MEAN) loss[0] = (T)(total / denom); /* all ignored: 0 / 0 = NaN, as PyTorch */
    return TG_OK;
}

#undef TG_EXP
#undef TG_NLANES

#endif /* TG_LOSS_BODY */
