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
 * tg_matmul_f32 / tg_matmul_f64: C = A @ B, cache-blocked and register-tiled.
 *
 *   a : const [m, k]   input, row-major contiguous
 *   b : const [k, n]   input, row-major contiguous
 *   c : [m, n]         output, row-major contiguous, overwritten
 *                      (it need not be initialised; must not alias a or b)
 *   m, k, n : sizes, each >= 0. k == 0 gives C = 0, as in PyTorch.
 *
 * A pointer may be NULL only when the array it points to has no elements.
 */
int tg_matmul_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/*
 * tg_matmul_naive_f32 / tg_matmul_naive_f64: the textbook triple loop,
 * C[i, j] = sum_p A[i, p] * B[p, j], kept as the reference the tiled version
 * is tested and benchmarked against. Same arguments and errors as above.
 *
 *   a : const [m, k]
 *   b : const [k, n]
 *   c : [m, n]
 *   m, k, n : sizes, each >= 0
 */
int tg_matmul_naive_f32(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n);
int tg_matmul_naive_f64(const double *a, const double *b, double *c, int64_t m, int64_t k, int64_t n);

/* ----------------------------------------------------------- activations (activations.c) */


/* ----------------------------------------------------------- softmax (softmax.c) */


/* ----------------------------------------------------------- loss (loss.c) */


/* ----------------------------------------------------------- optim (optim.c) */


/* ----------------------------------------------------------- conv (conv.c) */


#endif /* TINYGRAD_EDU_H */
