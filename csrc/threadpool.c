/*
 * threadpool.c -- a persistent pool of worker threads for the kernels.
 *
 * Starting a thread costs tens of microseconds, about what a whole MNIST-sized
 * matmul takes, so workers are started once (lazily, on the first parallel
 * call) and then wait for jobs between calls.
 *
 * Waiting: spin briefly, then sleep. PERF: waking a thread that sleeps on a
 * condition variable takes 30-100 us on the 2-core VMs we run on -- longer than
 * half of a batch-64 product, which then finished before the worker arrived.
 * A freshly woken worker also runs its first task slower (its core was idle).
 * In a training step the next parallel product comes within tens to a few
 * hundred microseconds (the next layer; the small layers, the optimizer step
 * between two steps), so after a job a worker spins for TG_SPIN_US (reading
 * one atomic, with the CPU's pause hint, yielding the core every few
 * microseconds to any thread waiting for it) and only then sleeps. The spin is
 * bounded because the machines are shared (OpenMP's default spins far longer).
 *
 * A call publishes one job (fn, ctx, ntasks), opens it, and wakes sleeping
 * workers; every participant, the caller included, then takes task numbers
 * from an atomic counter until none are left (dynamic chunking, not a static
 * split: a thread that starts late or runs slowly simply takes fewer tasks).
 * A worker joins a job only while it is open: the caller closes it once it has
 * run out of tasks and then waits only for the workers that did join -- each
 * holds at most one task. A worker that the OS has not scheduled yet costs
 * nothing: the caller has done its share by the time it runs.
 *
 * The joining protocol is lock-free: a worker announces itself (joined++) and
 * then checks that the job is still open; the caller closes the job and then
 * reads `joined`. All of these are sequentially consistent atomics, so at least
 * one side sees the other's write: either the worker sees the job closed and
 * leaves, or the caller sees the worker and waits for it. The mutex is only
 * for sleeping (a worker between jobs, the caller waiting for a straggler).
 *
 * A worker that joined can still be preempted mid-task when the machine is
 * busy (2 cores shared by many processes): the caller then waits up to a
 * scheduler time slice for it (4 ms at HZ=250). So each worker counts the CPU
 * time it spends in the job's tasks, and the caller compares: when its wait for
 * stragglers exceeds the workers' CPU time (the call took longer than the
 * caller doing every task alone would have: a worker sat descheduled), or no
 * worker joined at all although one was spinning, ready (the OS ran something
 * else on the other core: the caller paid the cut of the job into tasks for
 * nothing), the next calls run serially: 16 of them, doubling up to 256 while
 * it keeps happening, back to 16 after a good call. A wait for a worker that
 * is merely computing a longer task is no such sign, so the wait is not
 * compared with the caller's own working time: in the two-task jobs of
 * tg_linear_backward (the MLP's small layers, one product each) the worker's
 * product often takes longer than the caller's, and that rule started a spell
 * after 115 of 534 of them in a quiet 2-thread MLP run (traced on the 2-core
 * VM at real-time priority). Counting costs two reads of the thread's CPU
 * clock per job on the worker (under 1 us).
 * tg_parallel_threads lets a caller see such a serial spell coming before it
 * cuts its job.
 *
 * Running short of threads or memory degrades, never fails: the pool runs with the
 * workers pthread_create could start (a process or memory limit), and a worker whose
 * task fails (most often: no memory for its own scratch, which the caller already
 * has) hands that task back and takes no more; the caller reruns it once the others
 * are done. Only a task that fails on the caller fails the call. Counts above
 * TG_MAX_THREADS are accepted (torch accepts any) and run on TG_MAX_THREADS threads.
 *
 * tg_pool_inject / tg_pool_stats are test hooks (fault injection: a worker that stalls
 * or fails) so that tests/test_threadpool.py can check the above deterministically.
 *
 * Also here, as the other piece of the kernels' runtime: tg_keep_freed_memory, glibc malloc's
 * policy for the batch-sized arrays the kernels' callers allocate and free at every step.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep under -std=c11 */
#include <pthread.h>
#include <sched.h> /* sched_yield */
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

/* How long a worker spins for the next job, and the caller for a straggler, before
 * sleeping (microseconds). See the top; -DTG_SPIN_US=0 to measure without. */
#ifndef TG_SPIN_US
#define TG_SPIN_US 300
#endif
#define TG_WAIT_SPIN_US 200

static struct {
    pthread_mutex_t lock; /* for sleeping only: `wake` and `done` below */
    pthread_cond_t wake;  /* idle workers sleep here */
    pthread_cond_t done;  /* the caller sleeps here while a joined worker finishes */
    pthread_mutex_t run;  /* held for a whole parallel call: one job at a time */
    int64_t started;      /* workers running (under lock) */
    uint64_t generation;  /* of the last job (written by the caller only) */
    /* The job: written by the caller before it opens it, read-only while it is open. */
    tg_task_fn fn;
    void *ctx;
    int64_t ntasks, wanted;   /* tasks; workers that may join (ids 0 .. wanted-1) */
    atomic_uint_fast64_t open; /* generation of the job workers may join; 0: none */
    atomic_int_fast64_t next;  /* next task number to hand out */
    atomic_int_fast64_t joined, joined_any, worker_tasks; /* in the job now / at all; tasks they took */
    atomic_int_fast64_t worker_cpu_ns; /* CPU time the workers spent in this job's tasks */
    atomic_int_fast64_t sleepers;    /* workers asleep on `wake` (or about to be) */
    atomic_int caller_asleep;        /* the caller sleeps on `done` (or is about to) */
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
#define TG_BACKOFF_MAX 256
static atomic_int_fast64_t serial_calls_left;
static int64_t backoff = TG_BACKOFF_MIN; /* only touched while holding pool.run */

/* Fault injection for tests (tg_pool_inject): what a worker does wrong, and for how long. */
static atomic_int_fast64_t inject_mode, inject_us;
/* What the last parallel call saw (tg_pool_stats). */
static atomic_int_fast64_t last_stats[4];

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of the calling thread (ns): what it computed, not counting time it sat descheduled. */
static int64_t thread_cpu_ns(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) return 0;
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_us(int64_t us)
{
    struct timespec t = {.tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000};
    while (nanosleep(&t, &t) != 0) {} /* interrupted by a signal: sleep the rest */
}

/* One step of a spin-wait: the CPU's pause hint (lets the other hyper-thread run), and
 * every 64th step a sched_yield, so that a thread waiting for this core -- our own
 * caller or worker, preempted on a busy machine -- gets it (no-op when none waits). */
static inline void spin_step(int64_t spins)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
    if (spins % 64 == 63) sched_yield();
}

/* Take tasks until none are left or one fails; returns the failed one, or TG_NO_TASK. */
static int64_t run_tasks(tg_task_fn fn, void *ctx, int64_t ntasks, int *rc, int on_worker)
{
    for (int64_t t; (t = atomic_fetch_add(&pool.next, 1)) < ntasks;) {
        if (on_worker) {
            atomic_fetch_add(&pool.worker_tasks, 1);
            const int64_t mode = atomic_load(&inject_mode);
            if (mode == TG_INJECT_STALL_IN_TASK) sleep_us(atomic_load(&inject_us));
            if (mode == TG_INJECT_FAIL) {
                *rc = TG_ERR_NOMEM;
                return t;
            }
        }
        if ((*rc = fn(ctx, t)) != TG_OK) return t;
    }
    return TG_NO_TASK;
}

/* A worker between jobs: spin for up to TG_SPIN_US, then sleep, until a job other than
 * `seen` opens; returns its generation. */
static uint64_t wait_for_job(uint64_t seen)
{
    uint64_t g;
    const double until = seconds() + 1e-6 * TG_SPIN_US;
    for (int64_t spins = 0;; spins++) {
        if ((g = atomic_load(&pool.open)) != 0 && g != seen) return g;
        if (spins % 64 == 63 && seconds() > until) break; /* the clock read costs ~20 ns */
        spin_step(spins);
    }
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add(&pool.sleepers, 1); /* before the check: see the top on the protocol */
    while ((g = atomic_load(&pool.open)) == 0 || g == seen) pthread_cond_wait(&pool.wake, &pool.lock);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.lock);
    return g;
}

static void *worker_main(void *arg)
{
    const int64_t id = (int64_t)(intptr_t)arg; /* 0 .. started-1 */
    for (uint64_t seen = 0;;) {
        const uint64_t g = seen = wait_for_job(seen);
        if (atomic_load(&inject_mode) == TG_INJECT_STALL_BEFORE_JOIN) sleep_us(atomic_load(&inject_us));
        atomic_fetch_add(&pool.joined, 1);
        /* Still the open job? Then the caller waits for us and the job's fields are stable. */
        if (atomic_load(&pool.open) == g && id < pool.wanted) {
            atomic_fetch_add(&pool.joined_any, 1);
            int rc;
            const int64_t cpu_start = thread_cpu_ns();
            pool.handed_back[id] = run_tasks(pool.fn, pool.ctx, pool.ntasks, &rc, 1); /* the caller reruns it */
            atomic_fetch_add(&pool.worker_cpu_ns, thread_cpu_ns() - cpu_start);
        }
        if (atomic_fetch_sub(&pool.joined, 1) == 1 && atomic_load(&pool.caller_asleep)) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

/* Start workers until `count` run. Returns how many of them run: `count`, or fewer
 * if pthread_create failed (a thread or memory limit). */
static int64_t ensure_workers(int64_t count)
{
    pthread_mutex_lock(&pool.lock);
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
    const int64_t have = pool.started < count ? pool.started : count;
    pthread_mutex_unlock(&pool.lock);
    return have;
}

/* In a child after fork() only the forking thread exists: forget the workers and
 * any locks the parent's threads held, so the child can start its own pool. */
static void forget_pool_after_fork(void)
{
    pthread_mutex_init(&pool.lock, NULL);
    pthread_mutex_init(&pool.run, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.started = pool.wanted = 0;
    atomic_store(&pool.open, 0);
    atomic_store(&pool.joined, 0);
    atomic_store(&pool.sleepers, 0);
    atomic_store(&pool.caller_asleep, 0);
}

static pthread_once_t fork_handler_once = PTHREAD_ONCE_INIT;
static void install_fork_handler(void) { pthread_atfork(NULL, NULL, forget_pool_after_fork); }

/* Run fn on tasks [0, ntasks) on the calling thread; the first error, or TG_OK. */
static int run_serially(tg_task_fn fn, void *ctx, int64_t ntasks)
{
    atomic_store(&last_stats[3], 0);
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

/* Publish the job and open it to workers 0 .. wanted-1 (the caller holds pool.run).
 * Returns 1 if a worker had to be woken from its sleep (0: they were all spinning). */
static int open_job(tg_task_fn fn, void *ctx, int64_t ntasks, int64_t wanted)
{
    pool.wanted = wanted;
    for (int64_t id = 0; id < wanted; id++) pool.handed_back[id] = TG_NO_TASK;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.ntasks = ntasks;
    atomic_store(&pool.next, 0);
    atomic_store(&pool.joined_any, 0);
    atomic_store(&pool.worker_tasks, 0);
    atomic_store(&pool.worker_cpu_ns, 0);
    atomic_store(&pool.open, ++pool.generation);
    const int woke = atomic_load(&pool.sleepers) > 0;
    if (woke) { /* no system call while every worker spins */
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    /* Test hook: make sure a worker takes part (it then stalls or fails, see tg_pool_inject). */
    const int64_t mode = atomic_load(&inject_mode);
    if (mode == TG_INJECT_STALL_IN_TASK || mode == TG_INJECT_FAIL)
        for (const double until = seconds() + 1.0; atomic_load(&pool.joined_any) == 0 && seconds() < until;)
            sleep_us(100);
    return woke;
}

/* Close the job (late workers stay out) and wait for the workers that joined: spin
 * briefly, as the last one is usually within a task of done, then sleep. */
static void close_job(void)
{
    atomic_store(&pool.open, 0);
    const double until = seconds() + 1e-6 * TG_WAIT_SPIN_US;
    for (int64_t spins = 0; atomic_load(&pool.joined) > 0 && seconds() < until; spins++) spin_step(spins);
    if (atomic_load(&pool.joined) == 0) return;
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.caller_asleep, 1); /* before the check, as sleepers in wait_for_job */
    while (atomic_load(&pool.joined) > 0) pthread_cond_wait(&pool.done, &pool.lock);
    atomic_store(&pool.caller_asleep, 0);
    pthread_mutex_unlock(&pool.lock);
}

int tg_parallel_for(tg_task_fn fn, void *ctx, int64_t ntasks, int64_t nthreads)
{
    if (nthreads > ntasks) nthreads = ntasks;
    if (nthreads > TG_MAX_THREADS) nthreads = TG_MAX_THREADS;
    nthreads = tg_parallel_threads(nthreads);
    if (nthreads <= 1 || pthread_mutex_trylock(&pool.run) != 0) return run_serially(fn, ctx, ntasks);
    pthread_once(&fork_handler_once, install_fork_handler);
    const int woke = open_job(fn, ctx, ntasks, ensure_workers(nthreads - 1));

    int rc = TG_OK;
    run_tasks(fn, ctx, ntasks, &rc, 0); /* on a failure the call fails: take no more tasks */
    const double own_work_done = seconds();
    close_job();
    const double waited = seconds() - own_work_done;

    const int64_t helped = atomic_load(&pool.joined_any);
    /* A straggler (the caller waited longer than the workers computed), or no help although a
     * worker was spinning, ready (so it was descheduled): the other core is busy, go serial
     * for a while. No help from a worker that had to be woken is no such sign: waking a
     * sleeping thread can take longer than a short call. */
    if (waited > 1e-9 * (double)atomic_load(&pool.worker_cpu_ns) || (helped == 0 && !woke)) {
        atomic_store(&serial_calls_left, backoff);
        backoff = backoff < TG_BACKOFF_MAX ? 2 * backoff : TG_BACKOFF_MAX;
    } else {
        backoff = TG_BACKOFF_MIN;
    }
    /* Tasks that failed on a worker (out of memory for its own scratch...): rerun them here.
     * No worker runs now: each wrote handed_back before it left the job. */
    int64_t reruns = 0;
    for (int64_t id = 0; id < pool.wanted && rc == TG_OK; id++)
        if (pool.handed_back[id] != TG_NO_TASK) rc = fn(ctx, pool.handed_back[id]), reruns++;
    atomic_store(&last_stats[0], helped);
    atomic_store(&last_stats[1], atomic_load(&pool.worker_tasks));
    atomic_store(&last_stats[2], reruns);
    atomic_store(&last_stats[3], 1);
    pthread_mutex_unlock(&pool.run);
    return rc;
}

int tg_pool_inject(int64_t mode, int64_t microseconds)
{
    if (mode < TG_INJECT_NONE || mode > TG_INJECT_FAIL || microseconds < 0 || microseconds > 10000000)
        return TG_ERR_VALUE;
    atomic_store(&inject_us, microseconds);
    atomic_store(&inject_mode, mode);
    atomic_store(&serial_calls_left, 0); /* a fresh start: no serial spell left from before */
    return TG_OK;
}

int tg_pool_stats(int64_t *out, int64_t n)
{
    if (out == NULL) return TG_ERR_NULL;
    if (n != 4) return TG_ERR_SIZE;
    for (int64_t i = 0; i < 4; i++) out[i] = atomic_load(&last_stats[i]);
    return TG_OK;
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
