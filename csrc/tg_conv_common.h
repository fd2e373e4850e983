/*
 * tg_conv_common.h -- the window checks conv.c and pool.c share (private, never read by cffi).
 *
 * Both families slide a struct tg_window (see tinygrad_edu.h) over [N, C, H, W] images and
 * must reject the same bad geometries with the same errors, so the check is written once:
 *   tg_check_window   sizes >= 0, strides / dilations / kernel >= 1, and every buffer size
 *                     (in elements) small enough that its byte count cannot overflow.
 * Static, so each .c file compiles its own copy (no extra public symbol).
 */
#ifndef TG_CONV_COMMON_H
#define TG_CONV_COMMON_H

#include <stdint.h>

#include "tinygrad_edu.h"

#define TG_CONV_MIN(x, y) ((x) < (y) ? (x) : (y))
#define TG_CONV_MAX(x, y) ((x) > (y) ? (x) : (y))

/* Whether the product of dims (zeros counted as ones) is at most limit. */
static int tg_product_fits(const int64_t *dims, int count, int64_t limit)
{
    int64_t total = 1;
    for (int i = 0; i < count; i++) {
        const int64_t d = dims[i] ? dims[i] : 1;
        if (total > limit / d) return 0;
        total *= d;
    }
    return 1;
}

/* Sizes >= 0, strides and dilations >= 1, kernel >= 1, and every buffer size (in
 * elements) representable with room for the byte count. */
static int tg_check_window(int64_t n, int64_t c, int64_t h, int64_t w, const struct tg_window *win,
                           int64_t elem_size)
{
    if (win == NULL) return TG_ERR_NULL;
    if (n < 0 || c < 0 || h < 0 || w < 0 || win->kernel_h < 1 || win->kernel_w < 1 || win->stride_h < 1 ||
        win->stride_w < 1 || win->pad_h < 0 || win->pad_w < 0 || win->dilation_h < 1 || win->dilation_w < 1 ||
        win->out_h < 0 || win->out_w < 0)
        return TG_ERR_SIZE;
    const int64_t limit = INT64_MAX / elem_size / 4;
    /* x is n*c*h*w; cols n*oh*ow*c*kh*kw, which also bounds the pooling outputs and every index. */
    const int64_t image[] = {n, c, h, w};
    const int64_t cols[] = {n, c, win->kernel_h, win->kernel_w, win->out_h, win->out_w};
    if (!tg_product_fits(image, 4, limit) || !tg_product_fits(cols, 6, limit)) return TG_ERR_SIZE;
    /* The furthest tap position must not overflow either. */
    if (win->stride_h > limit / (win->out_h + 1) || win->dilation_h > limit / win->kernel_h ||
        win->stride_w > limit / (win->out_w + 1) || win->dilation_w > limit / win->kernel_w ||
        win->pad_h > limit || win->pad_w > limit)
        return TG_ERR_SIZE;
    return TG_OK;
}

#endif /* TG_CONV_COMMON_H */
