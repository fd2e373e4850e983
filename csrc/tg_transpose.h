/*
 * tg_transpose.h -- a float32 matrix transpose through AVX-512 registers (private, never read
 * by cffi; conv.c and matmul.c include it).
 *
 *   tg_transpose_f32   dst[j, i] = src[i, j] for a [rows, cols] matrix, any row strides
 *
 * conv.c turns the images channels last and back, and the output gradient pixels-as-rows
 * ([o, p] -> [p, o] per image): plain loops of one element each, whose strided stores cost
 * about 10% of the notes' second conv. matmul.c's pack_b transposes B = W^T (x @ W^T of a
 * Linear layer) into its panels: 64x784x512 packed in 41 us instead of 69.
 * PERF: with AVX-512, 16 x 16 tiles are transposed in registers (16 masked row loads, 64
 * shuffles, 16 masked row stores: ~4 elements a cycle against ~1), ragged edges by masks, so
 * any size goes through the same code. The plain loop stays the reference (float64, and builds without AVX-512); the conv and matmul
 * tests check the float32 results against the NumPy twin, NumPy and torch.
 */
#ifndef TG_TRANSPOSE_H
#define TG_TRANSPOSE_H

#include <stdint.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define TG_HAVE_TRANSPOSE_F32 1

/* The 16 x 16 transpose of r[0..15] in registers (row i of the result in r[i]): neighbouring
 * rows' scalars interleaved, then pairs of scalars, then 128-bit quarters, twice. Unpacks
 * and 128-bit shuffles, which this CPU (Zen 4) issues two a cycle, against one for the
 * general two-register permutes: packing W^T 64x784x512 took 510 us with these, 530 with those. */
static inline __attribute__((always_inline)) void tg_transpose16_regs(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int i = 0; i < 16; i += 8)
        for (int q = 0; q < 4; q++) {
            t[i + q] = _mm512_shuffle_f32x4(r[i + q], r[i + q + 4], 0x88);
            t[i + q + 4] = _mm512_shuffle_f32x4(r[i + q], r[i + q + 4], 0xdd);
        }
    for (int q = 0; q < 8; q++) {
        r[q] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0x88);
        r[q + 8] = _mm512_shuffle_f32x4(t[q], t[q + 8], 0xdd);
    }
}

static void tg_transpose_f32(const float *src, int64_t src_rs, float *dst, int64_t dst_rs, int64_t rows,
                             int64_t cols)
{
    for (int64_t i0 = 0; i0 < rows; i0 += 16) {
        const int64_t r = rows - i0 < 16 ? rows - i0 : 16;
        for (int64_t j0 = 0; j0 < cols; j0 += 16) {
            const int64_t c = cols - j0 < 16 ? cols - j0 : 16;
            const __mmask16 col_mask = (__mmask16)((1u << c) - 1), row_mask = (__mmask16)((1u << r) - 1);
            const float *s0 = src + i0 * src_rs + j0;
            float *d0 = dst + j0 * dst_rs + i0;
            __m512 t[16];
            for (int i = 0; i < 16; i++) /* rows past r are zeros; columns past c load nothing */
                t[i] = i < r ? _mm512_maskz_loadu_ps(col_mask, s0 + i * src_rs) : _mm512_setzero_ps();
            tg_transpose16_regs(t);
            for (int j = 0; j < c; j++) _mm512_mask_storeu_ps(d0 + j * dst_rs, row_mask, t[j]);
        }
    }
}
#endif

#endif /* TG_TRANSPOSE_H */
