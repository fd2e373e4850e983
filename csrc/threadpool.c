/*
 * threadpool.c -- a persistent pool of worker threads for the kernels.
 *
 * Starting a thread costs tens of microseconds, about what a whole MNIST-sized
 * matmul takes, so workers are started once (lazily, on the first parallel
 * call) and then sleep on a condition variable between calls. They never spin:
 * the machines we run on are often shared, and a spinning worker steals the
 * core another process (or our own main thread) needs.
 *
 * A call publishes one job (fn, ctx, ntasks) under the mutex and wakes the
 * workers; every participant, the caller included, then takes task numbers
 * from an atomic counter until none are left. A worker joins a job only while
 * it is open: the caller closes it (under the mutex) once it has run out of
 * tasks, and then waits only for the workers that did join -- each is busy with
 * at most one task. A worker the OS has not even scheduled yet costs nothing.
 *
 * A worker that joined can still be preempted mid-task when the machine is
 * busy (2 cores shared by many processes): the caller then waits a whole
 * scheduler time slice for it, and two threads end up several times slower
 * than one. So the caller times itself: when the wait for stragglers exceeds
 * its own working time (the break-even: the call then took longer than running
 * both halves itself would have), the next calls run serially (16 of them,
 * doubling up to 1024 while it keeps happening; back to 16 after a good run).
 * The same happens when no worker joined at all (the other cores were busy: the
 * caller ran every task itself, and paid the wake-up and the cut of the job into
 * tasks for nothing; 5-15% of a 64x256x512 product on the loaded 2-core AMD EPYC).
 * tg_parallel_threads lets a caller see the serial spell coming before it cuts
 * its job (matmul.c then runs one uncut task, exactly the one-thread path).
 *
 * Running short of threads or memory degrades, never fails: the pool runs with the
 * workers pthread_create could start (a process or memory limit), and a worker whose
 * task fails (most often: no memory for its own scratch, which the caller already
 * has) hands that task back and takes no more; the caller reruns it once the others
 * are done. Only a task that fails on the caller fails the call. Counts above
 * TG_MAX_THREADS are accepted (torch accepts any) and run on TG_MAX_THREADS threads.
 *
 * Also here, as the other piece of the kernels' runtime: tg_keep_freed_memory, glibc malloc's
 * policy for the batch-sized arrays the kernels' callers allocate and free at every step.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h> /* mallopt */
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "threadpool.h"
#include "tinygrad_edu.h"

/* The most threads (the caller included) one call runs on, whatever count was set. */
#define TG_MAX_THREADS 256
#define TG_NO_TASK (-1)

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* workers wait here for a new job */
    pthread_cond_t done; /* the caller waits here for joined workers to finish */
    pthread_mutex_t run; /* held for a whole parallel call: one job at a time */
    int64_t started;     /* workers running */
    uint64_t generation; /* incremented for each job */
    int open;            /* workers may still join the current job */
    int64_t wanted;      /* workers that may join the current job */
    int64_t joined;      /* workers that joined and have not finished */
    int64_t joined_any;  /* workers that joined the current job at all */
    tg_task_fn fn;
    void *ctx;
    int64_t ntasks;
    atomic_int_fast64_t next; /* next task number to hand out */
    int64_t handed_back[TG_MAX_THREADS]; /* [worker id]: the task it failed, or TG_NO_TASK */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER, .run = PTHREAD_MUTEX_INITIALIZER}; /* the rest 0 */

/* 0 = not set yet: tg_get_num_threads() then answers with the number of CPUs. */
static atomic_int_fast64_t num_threads;

int tg_set_num_threads(int64_t n)
{
    if (n < 1) return TG_ERR_SIZE;
    atomic_store(&num_threads, n);
    return TG_OK;
}

int64_t tg_get_num_threads(void)
{
    int64_t n = atomic_load(&num_threads);
    if (n <= 0) n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > TG_MAX_THREADS ? TG_MAX_THREADS : n);
}

/* Parallel calls left to run serially, and the next such penalty (see the top).
 * -DTG_BACKOFF_MIN=0 turns the fallback off, to measure what two threads give (bench). */
#ifndef TG_BACKOFF_MIN
#define TG_BACKOFF_MIN 16
#endif
#define TG_BACKOFF_MAX 1024
static atomic_int_fast64_t serial_calls_left;
static int64_t backoff = TG_BACKOFF_MIN; /* only touched while holding pool.run */

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Take tasks until none are left or one fails; returns the failed one, or TG_NO_TASK. */
static int64_t run_tasks(tg_task_fn fn, void *ctx, int64_t ntasks, int *rc)
{
    for (int64_t t; (t = atomic_fetch_add(&pool.next, 1)) < ntasks;)
        if ((*rc = fn(ctx, t)) != TG_OK) return t;
    return TG_NO_TASK;
}

static void *worker_main(void *arg)
{
    const int64_t id = (int64_t)(intptr_t)arg; /* 0 .. started-1 */
    uint64_t seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.generation == seen || !pool.open || id >= pool.wanted) {
            seen = pool.generation; /* a job we were too late for, or not asked to help with */
            pthread_cond_wait(&pool.wake, &pool.lock);
        }
        seen = pool.generation;
        pool.joined++;
        pool.joined_any++;
        tg_task_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int64_t ntasks = pool.ntasks;
        pthread_mutex_unlock(&pool.lock);
        int rc;
        const int64_t failed = run_tasks(fn, ctx, ntasks, &rc); /* handed back: the caller reruns it */
        pthread_mutex_lock(&pool.lock);
        pool.handed_back[id] = failed;
        if (--pool.joined == 0) pthread_cond_signal(&pool.done);
    }
    return NULL;
}

/* Start workers until `count` run (called with pool.lock held). Returns how many of them
 * run: `count`, or fewer if pthread_create failed (a thread or memory limit). */
static int64_t ensure_workers(int64_t count)
{
    while (pool.started < count) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&thread, &attr, worker_main, (void *)(intptr_t)pool.started);
        pthread_attr_destroy(&attr);
        if (rc != 0) break; /* run with the workers we have */
        pool.started++;
    }
    return pool.started < count ? pool.started : count;
}

/* In a child after fork() only the forking thread exists: forget the workers and
 * any locks the parent's threads held, so the child can start its own pool. */
static void forget_pool_after_fork(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_mutex_init(&pool.run, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.started = pool.joined = pool.wanted = 0;
    pool.open = 0;
}

static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static void install_fork_handler(void) { pthread_atfork(NULL, NULL, forget_pool_after_fork); }

/* Run fn on tasks [0, ntasks) on the calling thread; the first error, or TG_OK. */
static int run_serially(tg_task_fn fn, void *ctx, int64_t ntasks)
{
    for (int64_t t = 0; t < ntasks; t++) {
        int rc = fn(ctx, t);
        if (rc != TG_OK) return rc;
    }
    return TG_OK;
}

int64_t tg_parallel_threads(int64_t nthreads)
{
    if (nthreads > 1 && atomic_load(&serial_calls_left) > 0) {
        atomic_fetch_sub(&serial_calls_left, 1);
        return 1;
    }
    return nthreads;
}

int tg_parallel_for(tg_task_fn fn, void *ctx, int64_t ntasks, int64_t nthreads)
{
    if (nthreads > ntasks) nthreads = ntasks;
    if (nthreads > TG_MAX_THREADS) nthreads = TG_MAX_THREADS;
    nthreads = tg_parallel_threads(nthreads);
    if (nthreads <= 1 || pthread_mutex_trylock(&pool.run) != 0) return run_serially(fn, ctx, ntasks);
    pthread_once(&fork_handler_once, install_fork_handler);
    pthread_mutex_lock(&pool.lock);
    pool.wanted = ensure_workers(nthreads - 1);
    for (int64_t id = 0; id < pool.wanted; id++) pool.handed_back[id] = TG_NO_TASK;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.ntasks = ntasks;
    atomic_store(&pool.next, 0);
    pool.generation++;
    pool.open = 1;
    pool.joined_any = 0;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    const double start = seconds();
    int rc = TG_OK;
    run_tasks(fn, ctx, ntasks, &rc); /* on a failure the call fails: take no more tasks */
    const double own_work_done = seconds();

    pthread_mutex_lock(&pool.lock);
    pool.open = 0; /* late workers stay asleep */
    while (pool.joined > 0) pthread_cond_wait(&pool.done, &pool.lock);
    const int64_t helped = pool.joined_any;
    pthread_mutex_unlock(&pool.lock);

    const double waited = seconds() - own_work_done;
    if (waited > own_work_done - start || helped == 0) { /* a straggler, or no help: go serial for a while */
        atomic_store(&serial_calls_left, backoff);
        backoff = backoff < TG_BACKOFF_MAX ? 2 * backoff : TG_BACKOFF_MAX;
    } else {
        backoff = TG_BACKOFF_MIN;
    }
    /* Tasks that failed on a worker (out of memory for its own scratch...): rerun them here.
     * No worker runs now, and handed_back was written under pool.lock before the wait ended. */
    for (int64_t id = 0; id < pool.wanted && rc == TG_OK; id++)
        if (pool.handed_back[id] != TG_NO_TASK) rc = fn(ctx, pool.handed_back[id]);
    pthread_mutex_unlock(&pool.run);
    return rc;
}

int tg_keep_freed_memory(void)
{
#ifdef __GLIBC__
    /* Setting either disables glibc's own adaptive thresholds, so set both: a fixed mmap
     * threshold alone leaves the 128 KiB trim threshold (the heap is trimmed at every free),
     * a trim threshold alone leaves the 128 KiB mmap threshold (every array is mmapped). */
    /* A malloc that replaces glibc's (a sanitizer's, an LD_PRELOADed jemalloc) may refuse:
     * it keeps its own policy then, which is not an error. */
    if (mallopt(M_MMAP_THRESHOLD, 32 << 20)) (void)mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    return TG_OK;
}
