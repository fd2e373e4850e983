/*
 * tg_conv_transpose.h -- the matrix transposes of conv.c's pixels-as-rows convolutions
 * (private, never read by cffi; only conv.c includes it).
 *
 *   tg_transpose_f32   dst[j, i] = src[i, j] for a [rows, cols] matrix, any row strides
 *
 * conv.c turns the images channels last and back, and the output gradient pixels-as-rows
 * ([o, p] -> [p, o] per image): plain loops of one element each, whose strided stores cost
 * about 10% of the notes' second conv. PERF: with AVX-512, 16 x 16 tiles are transposed in
 * registers (16 masked row loads, 64 two-register shuffles, 16 masked row stores: ~4 elements
 * a cycle against ~1), ragged edges by masks, so any size goes through the same code. The
 * plain loop stays the reference (float64, and builds without AVX-512); the conv tests check
 * the float32 results against the NumPy twin and torch.
 */
#ifndef TG_CONV_TRANSPOSE_H
#define TG_CONV_TRANSPOSE_H

#include <stdint.h>

#if defined(__AVX512F__)
#include <immintrin.h>
#define TG_HAVE_TRANSPOSE_F32 1

/* The lane indices of the four stages of the 16 x 16 transpose, a (lo) and b (hi) row of
 * each, for a distance d of 8, 4, 2, 1: the off-diagonal d x d blocks of each 2d x 2d block
 * change places. Lane l of the new a is a[l] if l & d == 0, else b[l - d]; of the new b,
 * a[l + d], else b[l] (16 + i picks b[i]). */
static const int32_t tg_transpose_lanes[8][16] __attribute__((aligned(64))) = {
    {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
    {8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
    {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
    {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
    {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
    {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
    {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
    {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31},
};

/* One stage on rows a, b (variables) with lane tables lo, hi. */
#define TG_TSTAGE(a, b, lo, hi)                                    \
    do {                                                          \
        const __m512 na_ = _mm512_permutex2var_ps(a, lo, b);      \
        b = _mm512_permutex2var_ps(a, hi, b);                     \
        a = na_;                                                  \
    } while (0)

static void tg_transpose_f32(const float *src, int64_t src_rs, float *dst, int64_t dst_rs, int64_t rows,
                             int64_t cols)
{
    __m512i ix[8];
    for (int s = 0; s < 8; s++) ix[s] = _mm512_load_si512(tg_transpose_lanes[s]);
    for (int64_t i0 = 0; i0 < rows; i0 += 16) {
        const int64_t r = rows - i0 < 16 ? rows - i0 : 16;
        for (int64_t j0 = 0; j0 < cols; j0 += 16) {
            const int64_t c = cols - j0 < 16 ? cols - j0 : 16;
            const __mmask16 col_mask = (__mmask16)((1u << c) - 1), row_mask = (__mmask16)((1u << r) - 1);
            const float *s0 = src + i0 * src_rs + j0;
            float *d0 = dst + j0 * dst_rs + i0;
            /* rows past r load nothing (mask 0, from the last real row's address): zeros */
#define TG_TLOAD(i) _mm512_maskz_loadu_ps((i) < r ? col_mask : 0, s0 + ((i) < r ? (i) : r - 1) * src_rs)
            __m512 t0 = TG_TLOAD(0), t1 = TG_TLOAD(1), t2 = TG_TLOAD(2), t3 = TG_TLOAD(3);
            __m512 t4 = TG_TLOAD(4), t5 = TG_TLOAD(5), t6 = TG_TLOAD(6), t7 = TG_TLOAD(7);
            __m512 t8 = TG_TLOAD(8), t9 = TG_TLOAD(9), t10 = TG_TLOAD(10), t11 = TG_TLOAD(11);
            __m512 t12 = TG_TLOAD(12), t13 = TG_TLOAD(13), t14 = TG_TLOAD(14), t15 = TG_TLOAD(15);
#undef TG_TLOAD
            TG_TSTAGE(t0, t8, ix[0], ix[1]);   TG_TSTAGE(t1, t9, ix[0], ix[1]);
            TG_TSTAGE(t2, t10, ix[0], ix[1]);  TG_TSTAGE(t3, t11, ix[0], ix[1]);
            TG_TSTAGE(t4, t12, ix[0], ix[1]);  TG_TSTAGE(t5, t13, ix[0], ix[1]);
            TG_TSTAGE(t6, t14, ix[0], ix[1]);  TG_TSTAGE(t7, t15, ix[0], ix[1]);
            TG_TSTAGE(t0, t4, ix[2], ix[3]);   TG_TSTAGE(t1, t5, ix[2], ix[3]);
            TG_TSTAGE(t2, t6, ix[2], ix[3]);   TG_TSTAGE(t3, t7, ix[2], ix[3]);
            TG_TSTAGE(t8, t12, ix[2], ix[3]);  TG_TSTAGE(t9, t13, ix[2], ix[3]);
            TG_TSTAGE(t10, t14, ix[2], ix[3]); TG_TSTAGE(t11, t15, ix[2], ix[3]);
            TG_TSTAGE(t0, t2, ix[4], ix[5]);   TG_TSTAGE(t1, t3, ix[4], ix[5]);
            TG_TSTAGE(t4, t6, ix[4], ix[5]);   TG_TSTAGE(t5, t7, ix[4], ix[5]);
            TG_TSTAGE(t8, t10, ix[4], ix[5]);  TG_TSTAGE(t9, t11, ix[4], ix[5]);
            TG_TSTAGE(t12, t14, ix[4], ix[5]); TG_TSTAGE(t13, t15, ix[4], ix[5]);
            TG_TSTAGE(t0, t1, ix[6], ix[7]);   TG_TSTAGE(t2, t3, ix[6], ix[7]);
            TG_TSTAGE(t4, t5, ix[6], ix[7]);   TG_TSTAGE(t6, t7, ix[6], ix[7]);
            TG_TSTAGE(t8, t9, ix[6], ix[7]);   TG_TSTAGE(t10, t11, ix[6], ix[7]);
            TG_TSTAGE(t12, t13, ix[6], ix[7]); TG_TSTAGE(t14, t15, ix[6], ix[7]);
            /* column j of the tile is row j of the result; columns past c store nothing */
#define TG_TSTORE(j, t) _mm512_mask_storeu_ps(d0 + ((j) < c ? (j) : c - 1) * dst_rs, (j) < c ? row_mask : 0, t)
            TG_TSTORE(0, t0);   TG_TSTORE(1, t1);   TG_TSTORE(2, t2);   TG_TSTORE(3, t3);
            TG_TSTORE(4, t4);   TG_TSTORE(5, t5);   TG_TSTORE(6, t6);   TG_TSTORE(7, t7);
            TG_TSTORE(8, t8);   TG_TSTORE(9, t9);   TG_TSTORE(10, t10); TG_TSTORE(11, t11);
            TG_TSTORE(12, t12); TG_TSTORE(13, t13); TG_TSTORE(14, t14); TG_TSTORE(15, t15);
#undef TG_TSTORE
        }
    }
}
#undef TG_TSTAGE
#endif

#endif /* TG_CONV_TRANSPOSE_H */
