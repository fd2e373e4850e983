/*
 * tg_conv_direct.h -- a direct float32 convolution forward for conv.c's channels-as-rows
 * case (private, never read by cffi; only conv.c includes it).
 *
 *   tg_conv_direct_f32   out[oc, y, x] = bias[oc] + sum_{ch,i,j} w[oc, ch, i, j] * xp[ch, y*sh + i*dh, x + j]
 *
 * PERF: with few taps per output channel (the notes' first conv: one channel, 25 taps, 16
 * outputs) conv.c's GEMM way -- unfold into cols_t, the GEMM packs it again, the product is
 * copied into place -- runs its k = 25 GEMM at ~70 GFLOP/s and copies the unfolding twice.
 * Here the unfolding never exists: a register tile of 8 output channels x 32 pixels of one
 * output row (16 vectors) takes, tap by tap, two vectors of the padded image row shifted by
 * the tap (masked past the row's last pixel) times a broadcast weight. The notes' first conv
 * forward: 0.9 -> 0.47 ms at 1 thread (CPU time, best of many). Only when stride_w and
 * dilation_w are 1 (a tap's pixels are then contiguous); the GEMM way stays the reference (float64, other windows, builds
 * without AVX-512), and the tests check this against it (the NumPy twin) and torch.
 */
#ifndef TG_CONV_DIRECT_H
#define TG_CONV_DIRECT_H

#include <stdint.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define TG_HAVE_CONV_DIRECT_F32 1

/* Output channels per register tile, and the weight packed for it: [ceil(o/8), k, 8] with
 * w_packed[(blk * k + t) * 8 + r] = weight[blk*8 + r, t] (t the tap, (ch, i, j) order), zeros
 * past o. NULL if out of memory. */
#define TG_DIRECT_OC 8

static float *tg_conv_direct_pack_f32(const float *weight, int64_t o, int64_t k)
{
    const int64_t blocks = (o + TG_DIRECT_OC - 1) / TG_DIRECT_OC;
    float *packed = calloc((size_t)(blocks * k * TG_DIRECT_OC + 1), sizeof(float));
    if (packed == NULL) return NULL;
    for (int64_t oc = 0; oc < o; oc++)
        for (int64_t t = 0; t < k; t++)
            packed[(oc / TG_DIRECT_OC * k + t) * TG_DIRECT_OC + oc % TG_DIRECT_OC] = weight[oc * k + t];
    return packed;
}

/* One image: xp its zero-padded copy [c, hp, wp] (see tg_padded_alloc), out its [o, oh, ow]. */
static void tg_conv_direct_f32(const float *xp, int64_t c, int64_t hp, int64_t wp, const float *w_packed,
                               const float *bias, float *out, int64_t o, const struct tg_window *win)
{
    const int64_t kh = win->kernel_h, kw = win->kernel_w, oh = win->out_h, ow = win->out_w, k = c * kh * kw;
    for (int64_t blk = 0; blk * TG_DIRECT_OC < o; blk++) {
        const int64_t rows = o - blk * TG_DIRECT_OC < TG_DIRECT_OC ? o - blk * TG_DIRECT_OC : TG_DIRECT_OC;
        const float *wb = w_packed + blk * k * TG_DIRECT_OC;
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x0 = 0; x0 < ow; x0 += 32) {
                const int64_t px = ow - x0 < 32 ? ow - x0 : 32; /* pixels of this tile */
                const __mmask16 m0 = (__mmask16)(px >= 16 ? 0xffff : (1u << px) - 1);
                const __mmask16 m1 = (__mmask16)(px >= 32 ? 0xffff : px <= 16 ? 0 : (1u << (px - 16)) - 1);
                __m512 a00 = _mm512_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00;
                __m512 a30 = a00, a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
                __m512 a60 = a00, a61 = a00, a70 = a00, a71 = a00;
                const float *wt = wb;
                for (int64_t ch = 0; ch < c; ch++)
                    for (int64_t i = 0; i < kh; i++) {
                        const float *row = xp + (ch * hp + y * win->stride_h + i * win->dilation_h) * wp + x0;
                        for (int64_t j = 0; j < kw; j++, wt += TG_DIRECT_OC) {
                            const __m512 v0 = _mm512_maskz_loadu_ps(m0, row + j);
                            const __m512 v1 = _mm512_maskz_loadu_ps(m1, row + j + 16);
#define TG_DIRECT_FMA(r, lo, hi)                               \
    do {                                                       \
        const __m512 w_ = _mm512_set1_ps(wt[r]);               \
        lo = _mm512_fmadd_ps(w_, v0, lo);                      \
        hi = _mm512_fmadd_ps(w_, v1, hi);                      \
    } while (0)
                            TG_DIRECT_FMA(0, a00, a01); TG_DIRECT_FMA(1, a10, a11);
                            TG_DIRECT_FMA(2, a20, a21); TG_DIRECT_FMA(3, a30, a31);
                            TG_DIRECT_FMA(4, a40, a41); TG_DIRECT_FMA(5, a50, a51);
                            TG_DIRECT_FMA(6, a60, a61); TG_DIRECT_FMA(7, a70, a71);
#undef TG_DIRECT_FMA
                        }
                    }
                const __m512 acc[TG_DIRECT_OC][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31},
                                                     {a40, a41}, {a50, a51}, {a60, a61}, {a70, a71}};
                for (int64_t r = 0; r < rows; r++) {
                    const int64_t oc = blk * TG_DIRECT_OC + r;
                    const __m512 add = _mm512_set1_ps(bias ? bias[oc] : 0.0f);
                    float *dst = out + (oc * oh + y) * ow + x0;
                    _mm512_mask_storeu_ps(dst, m0, _mm512_add_ps(acc[r][0], add));
                    _mm512_mask_storeu_ps(dst + 16, m1, _mm512_add_ps(acc[r][1], add));
                }
            }
    }
}
#endif

#endif /* TG_CONV_DIRECT_H */
