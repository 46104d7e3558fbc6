/* sparse_cpu.c — what the CPU references of Rectified SpaAttn and SLA share: operand checks,
 * the selection's storage (flags -> CSR lists), the
 * block-sparse attention kernel (one softmax over the listed key blocks of each (head, query
 * block) row: sgemms on runs of consecutive key blocks in f32 like attn_dense_cpu, plus the exact double
 * version the tests hold it to) and the statistics.
 * Checked by tests/test_attn_sparse.c (goldens from tools/gen_sparse_goldens.py, dense
 * equivalences, error messages).
 */
#include "sparse_cpu.h"

#include <cblas.h>  /* cblas_sgemm (OpenBLAS) */
#include <math.h>   /* exp, expf, sqrt */
#include <stdlib.h> /* calloc, malloc, free */
#include <string.h> /* memset, memcpy */
#ifdef _OPENMP
#include <omp.h> /* omp_set_num_threads */
#endif

#include "../dit/op_check.h" /* dit_check_operand, DIT_MASK */
#include "../dit/cpu_gemm.h" /* dit_cpu_blas_serial_begin/end */

double attn_cpu_scale(const attn_call *call, int64_t D) {
    return call->scale > 0 ? (double)call->scale : 1.0 / sqrt((double)D);
}

dit_status attn_cpu_check_f32(dit_backend *be, const char *what, const dit_tensor *q, const dit_tensor *k,
                              const dit_tensor *v, const dit_tensor *out) {
    unsigned f32 = DIT_MASK(DIT_DTYPE_F32);
    DIT_TRY(dit_check_operand(be, what, "q", q, f32));
    DIT_TRY(dit_check_operand(be, what, "k", k, f32));
    if (v) DIT_TRY(dit_check_operand(be, what, "v", v, f32));
    if (out) DIT_TRY(dit_check_operand(be, what, "out", out, f32));
    if (be->device != DIT_DEVICE_CPU)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "%s: the CPU reference needs the CPU backend, not '%s'", what,
                        be->name);
    if (q->ndim != 3 || k->ndim != 3 || k->ne[1] != q->ne[1] || k->ne[2] != q->ne[2] || (v && !dit_tensor_same_shape(k, v)) ||
        (out && !dit_tensor_same_shape(out, q)) || q->ne[0] < 1 || k->ne[0] < 1)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE,
                        "%s: expected q/out [Sq, H, D] and k/v [Sk, H, D], non-empty; got q %lldx%lldx%lld, k "
                        "%lldx%lldx%lld",
                        what, (long long)q->ne[0], (long long)q->ne[1], (long long)q->ne[2], (long long)k->ne[0],
                        (long long)k->ne[1], (long long)k->ne[2]);
    return DIT_OK;
}

/* ---- selection storage ---- */

void attn_selection_free(attn_selection *sel) {
    if (!sel) return;
    free(sel->q_start), free(sel->k_start), free(sel->row_ptr), free(sel->cols), free(sel->n_ranked);
    free(sel->comp_ptr), free(sel->comp_cols), free(sel->R), free(sel->c);
    memset(sel, 0, sizeof *sel);
}

dit_status attn_sel_alloc(dit_backend *be, attn_selection *sel, attn_method m, int64_t heads, int64_t D,
                          int64_t nqb, int64_t nkb, uint8_t **flags) {
    memset(sel, 0, sizeof *sel);
    sel->method = m;
    sel->heads = heads, sel->head_dim = D, sel->nqb = nqb, sel->nkb = nkb, sel->n_video_qb = nqb;
    int64_t rows = heads * nqb;
    int rect = m == ATTN_METHOD_RECTIFIED;
    sel->q_start = calloc((size_t)(nqb + 1), sizeof(int64_t));
    sel->k_start = calloc((size_t)(nkb + 1), sizeof(int64_t));
    sel->row_ptr = calloc((size_t)(rows + 1), sizeof(int64_t));
    sel->n_ranked = calloc((size_t)rows, sizeof(int32_t));
    if (rect) {
        sel->comp_ptr = calloc((size_t)(rows + 1), sizeof(int64_t));
        sel->R = calloc((size_t)rows, sizeof(float));
        sel->c = calloc((size_t)(rows * D), sizeof(float));
    }
    *flags = calloc((size_t)(rows * nkb), 1);
    if (!sel->q_start || !sel->k_start || !sel->row_ptr || !sel->n_ranked || !*flags ||
        (rect && (!sel->comp_ptr || !sel->R || !sel->c))) {
        free(*flags);
        *flags = NULL;
        attn_selection_free(sel);
        return DIT_FAIL(&be->err, DIT_ERR_OOM, "attention selection: %lld rows x %lld key blocks", (long long)rows,
                        (long long)nkb);
    }
    return DIT_OK;
}

dit_status attn_sel_finish(dit_backend *be, attn_selection *sel, const uint8_t *flags) {
    int64_t rows = sel->heads * sel->nqb, nkb = sel->nkb, kept = 0, comp = 0;
    for (int64_t i = 0; i < rows * nkb; i++) {
        kept += flags[i] == SEL_KEPT;
        comp += flags[i] == SEL_COMPENSATED;
    }
    sel->cols = malloc((size_t)(kept > 0 ? kept : 1) * sizeof(int32_t));
    if (sel->comp_ptr) sel->comp_cols = malloc((size_t)(comp > 0 ? comp : 1) * sizeof(int32_t));
    if (!sel->cols || (sel->comp_ptr && !sel->comp_cols))
        return DIT_FAIL(&be->err, DIT_ERR_OOM, "attention selection: %lld block pairs", (long long)kept);
    int64_t a = 0, b = 0;
    for (int64_t r = 0; r < rows; r++) {
        sel->row_ptr[r] = a;
        if (sel->comp_ptr) sel->comp_ptr[r] = b;
        for (int64_t j = 0; j < nkb; j++) {
            uint8_t f = flags[r * nkb + j];
            if (f == SEL_KEPT) sel->cols[a++] = (int32_t)j;
            else if (f == SEL_COMPENSATED && sel->comp_ptr) sel->comp_cols[b++] = (int32_t)j;
        }
    }
    sel->row_ptr[rows] = a;
    if (sel->comp_ptr) sel->comp_ptr[rows] = b;
    sel->selected = kept;
    sel->compensated = sel->comp_ptr ? comp : 0;
    sel->total = rows * nkb;
    return DIT_OK;
}

/* ---- the block-sparse kernel ---- */

int attn_cpu_blas_serial_begin(void) { return dit_cpu_blas_serial_begin(); }

void attn_cpu_blas_serial_end(int nt) { dit_cpu_blas_serial_end(nt); }

/* Exact version: double accumulation, one query at a time (the oracle the fast kernel is tested
 * against, tests/test_attn_sparse.c). */
static void sparse_row_f64(const attn_selection *sel, int64_t r, double scale, const float *q, const float *k,
                           const float *v, float *out, double *logit, double *acc) {
    int64_t H = sel->heads, D = sel->head_dim, h = r / sel->nqb, i = r % sel->nqb;
    for (int64_t t = sel->q_start[i]; t < sel->q_start[i + 1]; t++) {
        const float *qt = q + (t * H + h) * D;
        double mx = -INFINITY;
        int64_t n = 0;
        for (int64_t e = sel->row_ptr[r]; e < sel->row_ptr[r + 1]; e++) {
            int64_t j = sel->cols[e];
            for (int64_t u = sel->k_start[j]; u < sel->k_start[j + 1]; u++, n++) {
                const float *ku = k + (u * H + h) * D;
                double s = 0;
                for (int64_t d = 0; d < D; d++) s += (double)qt[d] * (double)ku[d];
                logit[n] = s * scale;
                if (logit[n] > mx) mx = logit[n];
            }
        }
        double Z = 0;
        for (int64_t d = 0; d < D; d++) acc[d] = 0;
        n = 0;
        for (int64_t e = sel->row_ptr[r]; e < sel->row_ptr[r + 1]; e++) {
            int64_t j = sel->cols[e];
            for (int64_t u = sel->k_start[j]; u < sel->k_start[j + 1]; u++, n++) {
                double p = exp(logit[n] - mx);
                const float *vu = v + (u * H + h) * D;
                Z += p;
                for (int64_t d = 0; d < D; d++) acc[d] += p * (double)vu[d];
            }
        }
        float *ot = out + (t * H + h) * D;
        for (int64_t d = 0; d < D; d++) ot[d] = (float)(Z > 0 ? acc[d] / Z : 0.0);
    }
}

dit_status attn_cpu_block_sparse_f64(dit_backend *be, const attn_selection *sel, double scale, const float *q,
                                     const float *k, const float *v, float *out) {
    int64_t rows = sel->heads * sel->nqb, nk = sel->k_start[sel->nkb], D = sel->head_dim;
    int failed = 0;
#pragma omp parallel
    {
        double *logit = malloc((size_t)(nk + D) * sizeof(double)); /* one logit per key, then a D-vector */
        if (!logit) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t r = 0; r < rows; r++)
            if (logit) sparse_row_f64(sel, r, scale, q, k, v, out, logit, logit + nk);
        free(logit);
    }
    if (failed) return DIT_FAIL(&be->err, DIT_ERR_OOM, "sparse attention: scratch of %lld logits", (long long)nk);
    return DIT_OK;
}

/* One row r = (head h, query block i) of the fast kernel.  The listed key blocks are taken as
 * maximal runs of consecutive blocks (contiguous tokens, read in place with the [S, H, D] stride: no
 * copy); S = scale Q_i K_runᵀ fills the run's columns of the score rows, softmax in f32 with max
 * subtraction (as attn_dense_cpu), then O_i = Σ_runs P_run V_run.  All sgemms single-threaded: this
 * runs inside the OpenMP loop over rows. */
static void sparse_row_gemm(const attn_selection *sel, int64_t r, float scale, const float *q, const float *k,
                            const float *v, float *out, float *S) {
    int64_t H = sel->heads, D = sel->head_dim, h = r / sel->nqb, i = r % sel->nqb, ld = H * D;
    int64_t t0 = sel->q_start[i], m = sel->q_start[i + 1] - t0, n = 0;
    int64_t e0 = sel->row_ptr[r], e1 = sel->row_ptr[r + 1];
    if (m <= 0) return;
    for (int64_t e = e0; e < e1; e++) n += sel->k_start[sel->cols[e] + 1] - sel->k_start[sel->cols[e]];
    float *O = out + t0 * ld + h * D;
    const float *Q = q + t0 * ld + h * D;
    if (n == 0) { /* no key: zeros, as the exact kernel */
        for (int64_t t = 0; t < m; t++) memset(O + t * ld, 0, (size_t)D * sizeof(float));
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        int64_t off = 0;
        for (int64_t e = e0; e < e1;) {
            int64_t f = e + 1;
            while (f < e1 && sel->cols[f] == sel->cols[f - 1] + 1) f++;
            int64_t u0 = sel->k_start[sel->cols[e]], len = sel->k_start[sel->cols[f - 1] + 1] - u0;
            if (len > 0) {
                if (pass == 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)len, (int)D, scale, Q, (int)ld,
                                k + u0 * ld + h * D, (int)ld, 0.0f, S + off, (int)n);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)D, (int)len, 1.0f, S + off,
                                (int)n, v + u0 * ld + h * D, (int)ld, off ? 1.0f : 0.0f, O, (int)ld);
            }
            off += len;
            e = f;
        }
        if (pass == 1) break;
        for (int64_t t = 0; t < m; t++) {
            float *row = S + t * n, mx = -INFINITY, sum = 0;
            for (int64_t c = 0; c < n; c++) mx = row[c] > mx ? row[c] : mx;
            for (int64_t c = 0; c < n; c++) {
                row[c] = expf(row[c] - mx);
                sum += row[c];
            }
            float inv = 1.0f / sum;
            for (int64_t c = 0; c < n; c++) row[c] *= inv;
        }
    }
}

dit_status attn_cpu_block_sparse(dit_backend *be, const attn_selection *sel, double scale, const float *q,
                                 const float *k, const float *v, float *out) {
    int64_t rows = sel->heads * sel->nqb, nk = sel->k_start[sel->nkb], mq = 0;
    for (int64_t i = 0; i < sel->nqb; i++)
        if (sel->q_start[i + 1] - sel->q_start[i] > mq) mq = sel->q_start[i + 1] - sel->q_start[i];
    int failed = 0, nt = attn_cpu_blas_serial_begin();
#pragma omp parallel num_threads(nt)
    {
        /* the scores [mq, nk] of one row (at most every key) */
        float *kg = malloc(((size_t)(mq * nk) + 1) * sizeof(float));
        if (!kg) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t r = 0; r < rows; r++)
            if (kg) sparse_row_gemm(sel, r, (float)scale, q, k, v, out, kg);
        free(kg);
    }
    attn_cpu_blas_serial_end(nt);
    if (failed)
        return DIT_FAIL(&be->err, DIT_ERR_OOM, "sparse attention: scores of %lld queries x %lld keys", (long long)mq,
                        (long long)nk);
    return DIT_OK;
}

void attn_cpu_fill_stats(const attn_selection *sel, attn_stats *st) {
    if (!st) return;
    st->blocks_total = sel->total;
    st->blocks_selected = sel->selected;
    st->blocks_compensated = sel->compensated;
    st->sparsity = sel->total > 0 ? 1.0 - (double)sel->selected / (double)sel->total : 0.0;
    st->heads = (int)sel->heads;
    st->ms_map = sel->ms_map;
    st->ms_select = sel->ms_select;
    if (st->selected_per_head)
        for (int64_t h = 0; h < sel->heads; h++)
            st->selected_per_head[h] = sel->row_ptr[(h + 1) * sel->nqb] - sel->row_ptr[h * sel->nqb];
}
