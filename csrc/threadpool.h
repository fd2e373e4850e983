/*
 * threadpool.h -- the kernels' private thread pool (not part of the cffi API;
 * tg_set_num_threads / tg_get_num_threads in tinygrad_edu.h are its public face).
 */
#ifndef TG_THREADPOOL_H
#define TG_THREADPOOL_H

#include <stdint.h>

/* One task of a parallel loop: fn(ctx, task) for task in [0, ntasks); TG_OK or an error
 * code. A task may be run again after it failed, so it must fail before writing anything
 * a second run would not overwrite (e.g. before accumulating into an output). */
typedef int (*tg_task_fn)(void *ctx, int64_t task);

/*
 * Run fn(ctx, 0) ... fn(ctx, ntasks - 1) on up to `nthreads` threads (the caller
 * is one of them; at most 256) and return when all are done: TG_OK, or the error
 * of a task that failed on the calling thread (the call stops at the first).
 * Tasks are handed out one at a time from a shared counter, so a thread the OS has
 * descheduled delays at most the one task it holds: the others simply take the rest.
 * Runs on fewer threads when fewer can be started (a process or memory limit), and
 * everything on the caller when the pool is busy (another Python thread is in a
 * parallel call: cffi releases the GIL). A task that fails on a worker (no memory for
 * that thread's scratch) is rerun on the caller, so a call never fails for want of
 * threads.
 */
int tg_parallel_for(tg_task_fn fn, void *ctx, int64_t ntasks, int64_t nthreads);

/*
 * The threads a parallel call asking for `nthreads` should plan for: `nthreads`, or 1
 * while the pool is in a serial spell (a recent call found the other cores busy; that
 * call to tg_parallel_threads then counts as one of the spell's serial calls). A caller
 * that cuts its job by thread count asks first, and passes the answer to tg_parallel_for.
 */
int64_t tg_parallel_threads(int64_t nthreads);

#endif /* TG_THREADPOOL_H */
