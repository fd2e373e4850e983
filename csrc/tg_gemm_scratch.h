/*
 * tg_gemm_scratch.h -- each thread's packing buffers for the blocked GEMM (matmul.c).
 * Included by matmul.c after TG_VEC_BYTES and tg_round_up are defined.
 */
#ifndef TG_GEMM_SCRATCH_H
#define TG_GEMM_SCRATCH_H
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

/* Scratch buffers are aligned to a whole SIMD register (at least a cache line)
 * so the micro-kernel can use aligned vector loads of packed B. Each
 * thread keeps its own two buffers between calls (grown, never shrunk): a
 * fresh multi-megabyte malloc per call would page-fault its way through
 * memory the previous call had already warmed. They hang off a pthread key
 * whose destructor frees them when the thread exits, so programs that start
 * and stop threads (a Python thread per request...) do not leak them. */
#define TG_ALIGN (TG_VEC_BYTES > 64 ? TG_VEC_BYTES : 64)

typedef struct {
    void *buf[2];
    size_t cap[2];
} tg_scratch_bufs;

static pthread_key_t tg_scratch_key;
static int tg_scratch_key_ok;
static pthread_once_t tg_scratch_once = PTHREAD_ONCE_INIT;

static void tg_scratch_free(void *p)
{
    tg_scratch_bufs *s = p;
    free(s->buf[0]);
    free(s->buf[1]);
    free(s);
}

static void tg_scratch_init(void) { tg_scratch_key_ok = pthread_key_create(&tg_scratch_key, tg_scratch_free) == 0; }

/* This thread's buffer `which` (0 or 1), at least `bytes` long; NULL if out of memory. */
static void *tg_scratch(int which, int64_t bytes)
{
    pthread_once(&tg_scratch_once, tg_scratch_init);
    if (!tg_scratch_key_ok) return NULL;
    tg_scratch_bufs *s = pthread_getspecific(tg_scratch_key);
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL) return NULL;
        if (pthread_setspecific(tg_scratch_key, s) != 0) {
            free(s);
            return NULL;
        }
    }
    const size_t want = (size_t)tg_round_up(bytes > 0 ? bytes : 1, TG_ALIGN);
    if (s->cap[which] < want) {
        void *p = aligned_alloc(TG_ALIGN, want);
        if (p == NULL) return NULL;
        free(s->buf[which]);
        s->buf[which] = p;
        s->cap[which] = want;
    }
    return s->buf[which];
}

#endif
