/* sla_cpu.c — SLA (Sparse-Linear Attention) on the CPU: the reference, straight from
 * docs/attention.md ("SLA"), f32 inputs, every reduction in double.
 *
 *   map      per head: q̄_i = mean of the real rows of query block i (block_q),
 *            k̄_j = mean over the real rows of key block j (block_k) of k − K̄_all;
 *   select   score_ij = q̄_i·k̄_j, C_i = the T = max(1, floor(topk · nkb)) highest (ties: lower j);
 *   kernel   o_s = renormalised softmax over the keys of C_i (sparse_cpu.c);
 *   epilogue φ = softmax over the D elements of a token; `main`: H = Σ_all φ(k)vᵀ, z = Σ_all φ(k);
 *            `sla1`: H_i, z_i over the key blocks not in C_i (zero when all are kept);
 *            o_l = φ(q)H / (φ(q)·z + 1e-5);  O = o_s + o_l W_lᵀ + b_l.
 * Checked by tests/test_attn_sparse.c against tools/gen_sparse_goldens.py and dense attention.
 */
#include "sparse_cpu.h"

#include <cblas.h>  /* cblas_sgemm (OpenBLAS) */
#include <math.h>   /* expf, INFINITY */
#include <stdlib.h> /* malloc, calloc, free, qsort */
#include <string.h> /* memset, memcpy */

#include "../dit/clock.h" /* dit_now_ms */

#define SLA_EPS 1e-5

typedef struct scored {
    double s;
    int32_t col;
} scored;

static int by_score(const void *x, const void *y) {
    const scored *p = x, *q = y;
    if (p->s != q->s) return p->s > q->s ? -1 : 1;
    return (p->col > q->col) - (p->col < q->col);
}

/* mean[D] of rows [t0, t1) of x[:, h, :], minus sub (may be NULL). */
static void block_mean(const float *x, int64_t H, int64_t D, int64_t h, int64_t t0, int64_t t1, const double *sub,
                       double *mean) {
    for (int64_t d = 0; d < D; d++) mean[d] = 0;
    for (int64_t t = t0; t < t1; t++)
        for (int64_t d = 0; d < D; d++) mean[d] += (double)x[(t * H + h) * D + d] - (sub ? sub[d] : 0.0);
    for (int64_t d = 0; d < D; d++) mean[d] /= (double)(t1 - t0);
}

dit_status attn_sla_select(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k,
                           attn_selection *sel) {
    double t0 = dit_now_ms();
    const attn_sla_params *p = &call->params.sla;
    int64_t Sq = q->ne[0], Sk = k->ne[0], H = q->ne[1], D = q->ne[2], bq = p->block_q, bk = p->block_k;
    int64_t nqb = (Sq + bq - 1) / bq, nkb = (Sk + bk - 1) / bk, T = attn_sla_top_k(p->topk, nkb);
    uint8_t *flags = NULL;
    DIT_TRY(attn_sel_alloc(be, sel, ATTN_METHOD_SLA, H, D, nqb, nkb, &flags));
    for (int64_t i = 0; i <= nqb; i++) sel->q_start[i] = i * bq < Sq ? i * bq : Sq;
    for (int64_t j = 0; j <= nkb; j++) sel->k_start[j] = j * bk < Sk ? j * bk : Sk;
    double *qbar = malloc((size_t)(H * nqb * D) * sizeof(double));
    double *kbar = malloc((size_t)(H * nkb * D) * sizeof(double));
    double *kall = malloc((size_t)(H * D) * sizeof(double));
    dit_status s = DIT_OK;
    if (!qbar || !kbar || !kall)
        s = DIT_FAIL(&be->err, DIT_ERR_OOM, "sla: pooled blocks of %lld heads", (long long)H);
    const float *Q = q->data, *K = k->data;
    const int64_t *qs = sel->q_start, *ks = sel->k_start;
    if (s == DIT_OK) {
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t h = 0; h < H; h++) {
            block_mean(K, H, D, h, 0, Sk, NULL, kall + h * D);
            for (int64_t i = 0; i < nqb; i++) block_mean(Q, H, D, h, qs[i], qs[i + 1], NULL, qbar + (h * nqb + i) * D);
            for (int64_t j = 0; j < nkb; j++)
                block_mean(K, H, D, h, ks[j], ks[j + 1], kall + h * D, kbar + (h * nkb + j) * D);
        }
    }
    double t1 = dit_now_ms();
    sel->ms_map = t1 - t0;
    int failed = 0;
    if (s == DIT_OK) {
#pragma omp parallel
        {
            scored *row = malloc((size_t)nkb * sizeof *row);
            if (!row) {
#pragma omp atomic write
                failed = 1;
            }
#pragma omp for schedule(static)
            for (int64_t r = 0; r < H * nqb; r++) {
                if (!row) continue;
                int64_t h = r / nqb;
                const double *qi = qbar + r * D;
                for (int64_t j = 0; j < nkb; j++) {
                    const double *kj = kbar + (h * nkb + j) * D;
                    double dot = 0;
                    for (int64_t d = 0; d < D; d++) dot += qi[d] * kj[d];
                    row[j] = (scored){dot, (int32_t)j};
                }
                qsort(row, (size_t)nkb, sizeof *row, by_score);
                for (int64_t e = 0; e < T; e++) flags[r * nkb + row[e].col] = SEL_KEPT;
                sel->n_ranked[r] = (int32_t)T;
            }
            free(row);
        }
        if (failed) s = DIT_FAIL(&be->err, DIT_ERR_OOM, "sla: score rows of %lld key blocks", (long long)nkb);
    }
    if (s == DIT_OK) s = attn_sel_finish(be, sel, flags);
    sel->ms_select = dit_now_ms() - t1;
    free(qbar), free(kbar), free(kall), free(flags);
    if (s != DIT_OK) attn_selection_free(sel);
    return s;
}

/* phi(x) = softmax over the D elements of one token (f32 exponentials, the sum in double). */
static void feature(const float *x, int64_t D, float *phi) {
    double mx = -INFINITY, z = 0;
    for (int64_t d = 0; d < D; d++) mx = (double)x[d] > mx ? (double)x[d] : mx;
    for (int64_t d = 0; d < D; d++) {
        phi[d] = expf((float)((double)x[d] - mx));
        z += phi[d];
    }
    float inv = (float)(1.0 / z);
    for (int64_t d = 0; d < D; d++) phi[d] *= inv;
}

/* phi[t, :] = φ(x[t, h, :]) for t in [0, S). */
static void features(const float *X, int64_t S, int64_t H, int64_t D, int64_t h, float *phi) {
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < S; t++) feature(X + (t * H + h) * D, D, phi + t * D);
}

/* state [D*D + D] = (Σ_u φ(k_u) v_uᵀ, Σ_u φ(k_u)) over the rows [u0, u1) of head h (one sgemm). */
static void block_state(const float *phik, const float *V, int64_t H, int64_t D, int64_t h, int64_t u0, int64_t u1,
                        float *state) {
    int64_t n = u1 - u0;
    float *z = state + D * D;
    for (int64_t a = 0; a < D; a++) z[a] = 0;
    if (n <= 0) {
        memset(state, 0, (size_t)(D * D) * sizeof(float));
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)D, (int)D, (int)n, 1.0f, phik + u0 * D, (int)D,
                V + (u0 * H + h) * D, (int)(H * D), 0.0f, state, (int)D);
    for (int64_t u = u0; u < u1; u++)
        for (int64_t a = 0; a < D; a++) z[a] += phik[u * D + a];
}

/* out[t, h, :] += (φ(q_t) H / (φ(q_t)·z + eps)) W_lᵀ for the queries [t0, t1) (two sgemms);
 * ol is scratch [(t1 - t0) * D]. */
static void apply_linear(const float *phiq, const float *W, int64_t H, int64_t D, int64_t h, int64_t t0, int64_t t1,
                         const float *state, float *out, float *ol) {
    int64_t m = t1 - t0;
    if (m <= 0) return;
    const float *pq = phiq + t0 * D, *z = state + D * D;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)D, (int)D, 1.0f, pq, (int)D, state, (int)D,
                0.0f, ol, (int)D);
    for (int64_t t = 0; t < m; t++) {
        double den = SLA_EPS;
        for (int64_t a = 0; a < D; a++) den += (double)pq[t * D + a] * (double)z[a];
        float inv = (float)(1.0 / den);
        for (int64_t b = 0; b < D; b++) ol[t * D + b] *= inv;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)D, (int)D, 1.0f, ol, (int)D, W, (int)D, 1.0f,
                out + (t0 * H + h) * D, (int)(H * D));
}

/* The linear branch and proj_l of every head, added to out (which holds o_s).  main: one state per
 * head and three sgemms over all queries; sla1: a state per key block, H_i per query block. */
static dit_status linear_branch(dit_backend *be, const attn_call *call, const attn_selection *sel, const float *Q,
                                const float *K, const float *V, float *out) {
    int64_t H = sel->heads, D = sel->head_dim, nqb = sel->nqb, nkb = sel->nkb, DD = D * D + D;
    int64_t Sq = sel->q_start[nqb], Sk = sel->k_start[nkb];
    int sla1 = call->params.sla.variant == ATTN_SLA_1;
    const float *W = call->proj_l_w->data, *bl = call->proj_l_b->data;
    /* main: one state; sla1: per key block states [nkb] plus their total [1] */
    int64_t nstate = sla1 ? nkb + 1 : 1;
    float *states = malloc((size_t)(nstate * DD) * sizeof(float));
    float *phiq = malloc((size_t)(Sq * D) * sizeof(float)), *phik = malloc((size_t)(Sk * D) * sizeof(float));
    float *ol = sla1 ? NULL : malloc((size_t)(Sq * D) * sizeof(float));
    if (!states || !phiq || !phik || (!sla1 && !ol)) {
        free(states), free(phiq), free(phik), free(ol);
        return DIT_FAIL(&be->err, DIT_ERR_OOM, "sla: linear branch of %lld queries, %lld keys, %lld states",
                        (long long)Sq, (long long)Sk, (long long)nstate);
    }
    int failed = 0;
    for (int64_t h = 0; h < H && !failed; h++) {
        features(Q, Sq, H, D, h, phiq);
        features(K, Sk, H, D, h, phik);
        float *total = states + (nstate - 1) * DD;
        if (!sla1) {
            block_state(phik, V, H, D, h, 0, Sk, total);
            apply_linear(phiq, W, H, D, h, 0, Sq, total, out, ol);
            continue;
        }
        int nt = attn_cpu_blas_serial_begin();
#pragma omp parallel num_threads(nt)
        {
#pragma omp for schedule(dynamic, 1)
            for (int64_t j = 0; j < nkb; j++)
                block_state(phik, V, H, D, h, sel->k_start[j], sel->k_start[j + 1], states + j * DD);
        }
        memset(total, 0, (size_t)DD * sizeof(float));
        for (int64_t j = 0; j < nkb; j++)
            for (int64_t e = 0; e < DD; e++) total[e] += states[j * DD + e];
#pragma omp parallel num_threads(nt)
        {
            int64_t mq = 0;
            for (int64_t i = 0; i < nqb; i++)
                if (sel->q_start[i + 1] - sel->q_start[i] > mq) mq = sel->q_start[i + 1] - sel->q_start[i];
            float *hi = malloc((size_t)(DD + mq * D) * sizeof(float));
            if (!hi) {
#pragma omp atomic write
                failed = 1;
            }
#pragma omp for schedule(dynamic, 1)
            for (int64_t i = 0; i < nqb; i++) {
                if (!hi) continue;
                int64_t r = h * nqb + i;
                /* H_i = Σ_{j ∉ C_i} h_j: summed directly (exactly 0 when all are kept) or as total − kept */
                int64_t kept = sel->row_ptr[r + 1] - sel->row_ptr[r];
                if (nkb - kept <= kept) {
                    memset(hi, 0, (size_t)DD * sizeof(float));
                    for (int64_t j = 0, e = sel->row_ptr[r]; j < nkb; j++) {
                        if (e < sel->row_ptr[r + 1] && sel->cols[e] == j) {
                            e++;
                            continue;
                        }
                        for (int64_t x = 0; x < DD; x++) hi[x] += states[j * DD + x];
                    }
                } else {
                    memcpy(hi, total, (size_t)DD * sizeof(float));
                    for (int64_t e = sel->row_ptr[r]; e < sel->row_ptr[r + 1]; e++)
                        for (int64_t x = 0; x < DD; x++) hi[x] -= states[sel->cols[e] * DD + x];
                }
                apply_linear(phiq, W, H, D, h, sel->q_start[i], sel->q_start[i + 1], hi, out, hi + DD);
            }
            free(hi);
        }
        attn_cpu_blas_serial_end(nt);
    }
    free(states), free(phiq), free(phik), free(ol);
    if (failed) return DIT_FAIL(&be->err, DIT_ERR_OOM, "sla: linear branch scratch");
#pragma omp parallel for
    for (int64_t t = 0; t < Sq; t++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t d = 0; d < D; d++) out[(t * H + h) * D + d] += bl[d];
    return DIT_OK;
}

dit_status attn_sla_cpu(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                        const dit_tensor *k, const dit_tensor *v, attn_stats *st) {
    const char *m = "attention 'sla'";
    DIT_TRY(attn_cpu_check_f32(be, m, q, k, v, out));
    if (!call || call->params.method != ATTN_METHOD_SLA)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: call->params.method is not sla", m);
    DIT_TRY(attn_sparse_check(be, call, q, k));
    unsigned f32 = 1u << DIT_DTYPE_F32;
    if (!((1u << call->proj_l_w->dtype) & f32) || !((1u << call->proj_l_b->dtype) & f32))
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "%s: the CPU reference needs f32 proj_l weight and bias (got %s, %s)",
                        m, dit_dtype_name(call->proj_l_w->dtype), dit_dtype_name(call->proj_l_b->dtype));
    attn_selection sel;
    DIT_TRY(attn_sla_select(be, call, q, k, &sel));
    double t0 = dit_now_ms();
    dit_status s = attn_cpu_block_sparse(be, &sel, attn_cpu_scale(call, sel.head_dim), q->data, k->data, v->data,
                                         out->data);
    double t1 = dit_now_ms();
    if (s == DIT_OK) s = linear_branch(be, call, &sel, q->data, k->data, v->data, out->data);
    if (s == DIT_OK && st) {
        attn_cpu_fill_stats(&sel, st);
        st->method = ATTN_METHOD_SLA;
        st->ms_kernel = t1 - t0;
        st->ms_epilogue = dit_now_ms() - t1;
    }
    attn_selection_free(&sel);
    return s;
}
