/*
 * tinygrad_edu.h -- the one public header of the C kernels.
 *
 * Every prototype lives here, and csrc/build_ffi.py reads this file into
 * ffibuilder.cdef(), so it must stay parsable by cffi: preprocessor lines are
 * stripped before parsing (keep each one on a single line), everything else
 * has to be plain C declarations.
 *
 * Conventions, the same for every kernel (they follow needle's
 * ndarray_backend_cpu.cc):
 *   - arguments are inputs first, then outputs, then sizes;
 *   - arrays are row-major and C-contiguous; the Python wrapper
 *     (tinygrad_edu/backend/c_kernels.py) makes them so before calling;
 *   - sizes are int64_t element counts, never bytes;
 *   - the return value is an error code from the enum below, 0 = ok.
 *     A kernel never prints and never aborts.
 */
#ifndef TINYGRAD_EDU_H
#define TINYGRAD_EDU_H

#include <stdint.h>

/* Error codes. An enum rather than #defines so that cffi exposes them as
 * lib.TG_OK, lib.TG_ERR_SIZE, ... */
enum tg_status {
    TG_OK = 0,
    TG_ERR_SIZE = 1,     /* a size argument is negative */
    TG_ERR_NULL = 2,     /* a NULL pointer where the size says data is needed */
    TG_ERR_NOMEM = 3     /* malloc of a scratch buffer failed */
};

/* ---------------------------------------------------------------- matmul */

/*
 * tg_gemm_f32 / tg_gemm_f64: C[q] = A[q] @ B[q] (+ bias) for q in [0, batch),
 * cache-blocked, register-tiled and run on the thread pool (see matmul.c).
 * Unlike the other kernels, A and B are read through element strides, so
 * transposed, sliced and broadcast (stride 0) views need no copy:
 *
 *   a    : const, A[q][i, p] = a[q * a_bs + i * a_rs + p * a_cs],  shape [batch, m, k]
 *   b    : const, B[q][p, j] = b[q * b_bs + p * b_rs + j * b_cs],  shape [batch, k, n]
 *   bias : const [n] contiguous, added to every row of every C[q]; NULL = none
 *   c    : [batch, m, n] output, dense row-major, overwritten (need not be
 *          initialised; must not overlap a, b or bias)
 *   batch, m, k, n : sizes, each >= 0. k == 0 gives C = bias (or 0), as in PyTorch.
 *   a_bs, a_rs, a_cs, b_bs, b_rs, b_cs : strides in elements, each >= 0
 *          (negative ones are TG_ERR_SIZE: the caller copies such views); the
 *          stride of a dimension of size <= 1 is ignored.
 *
 * A pointer may be NULL only when the array it points to has no elements.
 * The caller guarantees every element addressed above lies inside its buffer.
 */
int tg_gemm_f32(const float *a, const float *b, const float *bias, float *c, int64_t batch, int64_t m, int64_t k, int64_t n, int64_t a_bs, int64_t a_rs, int64_t a_cs, int64_t b_bs, int64_t b_rs, int64_t b_cs);
int tg_gemm_f64(const double *a, const double *b, const double *bias, double *c, int64_t batch, int64_t m, int64_t k, int64_t n, int64_t a_bs, int64_t a_rs, int64_t a_cs, int64_t b_bs, int64_t b_rs, int64_t b_cs);

/*
 * tg_matmul_f32 / tg_matmul_f64: the dense special case of tg_gemm, C = A @ B.
 *
 *   a : const [m, k]   input, row-major contiguous
 *   b : const [k, n]   input, row-major contiguous
 *   c : [m, n]         output, row-major contiguous, overwritten
 *   m, k, n : sizes, each >= 0
 */
int tg_matmul_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/*
 * tg_matmul_naive_f32 / tg_matmul_naive_f64: the textbook triple loop,
 * C[i, j] = sum_p A[i, p] * B[p, j], kept as the reference the tiled version
 * is tested and benchmarked against. Same arguments and errors as tg_matmul.
 *
 *   a : const [m, k]
 *   b : const [k, n]
 *   c : [m, n]
 *   m, k, n : sizes, each >= 0
 */
int tg_matmul_naive_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_naive_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/*
 * tg_set_num_threads / tg_get_num_threads: how many threads tg_gemm may use
 * (the pool in threadpool.c). n must be in [1, 256], else TG_ERR_SIZE. Until
 * set, the number of online CPUs. Products below 12M multiply-adds always run
 * on the calling thread, where waking a worker would cost more than it saves;
 * after a call whose worker straggled (preempted on a busy machine) the next
 * calls run serially for a while (threadpool.c).
 */
int tg_set_num_threads(int64_t n);
int64_t tg_get_num_threads(void);

/* ----------------------------------------------------------- activations (activations.c) */


/* ----------------------------------------------------------- softmax (softmax.c) */


/* ----------------------------------------------------------- loss (loss.c) */


/* ----------------------------------------------------------- optim (optim.c) */


/* ----------------------------------------------------------- conv (conv.c) */


#endif /* TINYGRAD_EDU_H */
