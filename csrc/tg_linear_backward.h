/*
 * tg_linear_backward.h -- tg_linear_backward_f32 / _f64 (API in tinygrad_edu.h): a Linear
 * layer's gradients dx = G W, dW = G^T X and db = column sums of G as one parallel job.
 * Part of matmul.c's typed body: included once per element type T (no include guard),
 * after gemm_plan, gemm_task and gemm_ntasks.
 */

/* The column sums of a [rows, cols] matrix (element (i, j) at g[i * rs + j * cs]), added
 * row after row (NumPy's order for a C-contiguous grad.sum(0)): the bias gradient. */
static void SFX(column_sums)(const T *g, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                             T *restrict out)
{
    for (int64_t j = 0; j < cols; j++) out[j] = 0;
    if (cs == 1) { /* the usual grad: one vectorised add of each row */
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) out[j] += g[i * rs + j];
        return;
    }
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) out[j] += g[i * rs + j * cs];
}

/* A Linear layer's backward as one parallel job: tasks [0, ntasks0) are dX = G W's, then
 * dW = G^T X's, then (if db is wanted) one task for the column sums db = sum_i G[i, :]. */
typedef struct {
    SFX(gemm_job) dx, dw;
    int64_t ntasks0, ntasks1;
    const T *grad;
    T *db;
    int64_t batch, fan_out, g_rs, g_cs;
} SFX(linear_backward_job);

static int SFX(linear_backward_task)(void *ctx, int64_t t)
{
    SFX(linear_backward_job) *job = ctx;
    if (t < job->ntasks0) return SFX(gemm_task)(&job->dx, t);
    if (t < job->ntasks1) return SFX(gemm_task)(&job->dw, t - job->ntasks0);
    SFX(column_sums)(job->grad, job->batch, job->fan_out, job->g_rs, job->g_cs, job->db);
    return TG_OK;
}

/* PERF: the products are independent, so both threads share one job of both products'
 * tasks. Products too small to be worth cutting (the last layers of an MLP at batch 64)
 * are then one task each, one per core, with no extra packing at all. A single product
 * (dx or dw NULL) is cut as tg_gemm would cut it. db beside them saves NumPy's reduction
 * (~4.5 us a layer through Python, issue 14). */
int SFX(tg_linear_backward)(const T *grad, const T *x, const T *w, T *dx, T *dw, T *db,
                            int64_t batch, int64_t fan_in, int64_t fan_out, int64_t g_rs,
                            int64_t g_cs, int64_t x_rs, int64_t x_cs, int64_t w_rs, int64_t w_cs)
{
    if (batch < 0 || fan_in < 0 || fan_out < 0 || g_rs < 0 || g_cs < 0 || x_rs < 0 || x_cs < 0 ||
        w_rs < 0 || w_cs < 0)
        return TG_ERR_SIZE;
    const double work = (double)batch * (double)fan_in * (double)fan_out; /* per product */
    const int products = (dx != NULL) + (dw != NULL);
    const int64_t threads = tg_gemm_threads(products * work);
    /* Cut both products only when big (64x512x256: 4 tasks, 1.8x); below, 2 uncut tasks do
     * better (64x256x128 as 2: 51 us, as 4: 57 us; both on 1 thread: 90 us). */
    int64_t pieces = 1;
    if (threads > 1 && products == 1) pieces = threads * TG_TASKS_PER_THREAD;
    else if (threads > 1 && work >= 4.0 * TG_PAR_MIN_WORK) pieces = threads * TG_TASKS_PER_THREAD / 2;
    SFX(linear_backward_job) job = {.grad = grad, .db = db, .batch = batch, .fan_out = fan_out,
                                    .g_rs = batch <= 1 ? 0 : g_rs, .g_cs = fan_out <= 1 ? 0 : g_cs};
    int rc = TG_OK;
    if (dx != NULL)
        rc = SFX(gemm_plan)(&job.dx, grad, w, NULL, dx, 1, batch, fan_out, fan_in, 0, g_rs, g_cs,
                            0, w_rs, w_cs, pieces);
    if (rc == TG_OK && dw != NULL)
        rc = SFX(gemm_plan)(&job.dw, grad, x, NULL, dw, 1, fan_out, batch, fan_in, 0, g_cs, g_rs,
                            0, x_rs, x_cs, pieces);
    if (rc == TG_OK && db != NULL) /* checked as the product db[1, out] = ones[1, batch] G */
        rc = tg_check_gemm_args(grad, grad, db, 1, 1, batch, fan_out, 0, 0, 0, 0, job.g_rs, job.g_cs,
                                (int64_t)sizeof(T));
    if (rc != TG_OK) return rc;
    job.ntasks0 = dx != NULL ? SFX(gemm_ntasks)(&job.dx) : 0;
    job.ntasks1 = job.ntasks0 + (dw != NULL ? SFX(gemm_ntasks)(&job.dw) : 0);
    return tg_parallel_for(SFX(linear_backward_task), &job, job.ntasks1 + (db != NULL && fan_out > 0), threads);
}
