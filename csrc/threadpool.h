/*
 * threadpool.h -- the kernels' private thread pool (not part of the cffi API;
 * tg_set_num_threads / tg_get_num_threads in tinygrad_edu.h are its public face).
 */
#ifndef TG_THREADPOOL_H
#define TG_THREADPOOL_H

#include <stdint.h>

/* One task of a parallel loop: fn(ctx, task) for task in [0, ntasks). */
typedef void (*tg_task_fn)(void *ctx, int64_t task);

/*
 * Run fn(ctx, 0) ... fn(ctx, ntasks - 1) on up to `nthreads` threads (the caller
 * is one of them) and return when all are done. Tasks are handed out one at a
 * time from a shared counter, so a thread the OS has descheduled delays at most
 * the one task it holds: the others simply take the rest. Falls back to running
 * everything on the caller when the pool is busy (another Python thread is in a
 * parallel call: cffi releases the GIL) or its threads cannot be started.
 */
void tg_parallel_for(tg_task_fn fn, void *ctx, int64_t ntasks, int64_t nthreads);

#endif /* TG_THREADPOOL_H */
