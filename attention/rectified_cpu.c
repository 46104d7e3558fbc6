/* rectified_cpu.c — Rectified SpaAttn on the CPU: the reference, straight from
 * docs/attention.md ("Rectified SpaAttn"), f32 inputs, every reduction in double.
 *
 *   map      per head: pad-means Q̄, K̄, V̄ of the video blocks (and the GAPR deviations mq, mk),
 *            block logits σ Q̄_i·K̄_j (+ σ Q̄_i·k_t per valid text key, joint layout), softmax,
 *            IPAR re-weighting to Â (video blocks + one text column);
 *   select   rank Â (ties: lower index, text column last), n_i = min(ncols, max(top_k,
 *            1 + #(cumsum <= tau))), OR neighbours / forced square / all text key blocks,
 *            GAPR on the rest: compensated iff |Q̄·K̄| > |mq·K̄| + |Q̄·mk|; R_i, c_i;
 *   kernel   renormalised softmax over the real keys of the kept blocks (sparse_cpu.c: f32
 *            sgemms on the gathered blocks, like dense attention; the map and selection stay
 *            in double);
 *   epilogue O = R_i O + c_i on the video query rows.
 * Text query rows (joint) keep every key block: dense over the real keys, R = 1, c = 0.
 * Checked by tests/test_attn_sparse.c against tools/gen_sparse_goldens.py (an independent
 * vectorised torch implementation) and against dense attention where they must agree.
 */
#include "sparse_cpu.h"

#include <math.h>   /* exp, fabs, INFINITY */
#include <stdlib.h> /* malloc, calloc, free, qsort */
#include <string.h> /* memset */

#include "../dit/clock.h" /* dit_now_ms */

typedef struct ranked {
    double a;
    int32_t col;
} ranked;

/* Â descending, ties to the lower column (the text column is the last one). */
static int by_mass(const void *x, const void *y) {
    const ranked *p = x, *q = y;
    if (p->a != q->a) return p->a > q->a ? -1 : 1;
    return (p->col > q->col) - (p->col < q->col);
}

typedef struct rect_geom {
    int64_t S, H, D, B, n_video, n_text, nv, ncols, nqb, nkb, top_k, F;
    int joint, gapr;
    double scale, tau;
    const uint8_t *neighbor; /* [nv, nv] or NULL */
} rect_geom;

/* Per head, pooled arrays [nv, D] in double and the map rows Â [nv, ncols]. */
typedef struct rect_pool {
    double *qbar, *kbar, *vbar, *mq, *mk, *amap;
} rect_pool;

static dit_status pool_alloc(dit_backend *be, const rect_geom *g, rect_pool *p) {
    size_t n = (size_t)(g->H * g->nv * g->D);
    p->qbar = malloc(n * sizeof(double));
    p->kbar = malloc(n * sizeof(double));
    p->vbar = malloc(n * sizeof(double));
    p->mq = g->gapr ? malloc(n * sizeof(double)) : NULL;
    p->mk = g->gapr ? malloc(n * sizeof(double)) : NULL;
    p->amap = malloc((size_t)(g->H * g->nv * g->ncols) * sizeof(double));
    if (!p->qbar || !p->kbar || !p->vbar || !p->amap || (g->gapr && (!p->mq || !p->mk)))
        return DIT_FAIL(&be->err, DIT_ERR_OOM, "rectified: pooled blocks of %lld heads x %lld blocks x %lld",
                        (long long)g->H, (long long)g->nv, (long long)g->D);
    return DIT_OK;
}

static void pool_free(rect_pool *p) {
    free(p->qbar), free(p->kbar), free(p->vbar), free(p->mq), free(p->mk), free(p->amap);
}

/* bar = (1/B) Σ x over the real tokens of video block b (zero padding to B);
 * dev = (1/B) Σ over the B slots |x̃ − bar| (padded slots contribute |bar|). */
static void pad_mean(const rect_geom *g, const float *x, int64_t h, int64_t b, double *bar, double *dev) {
    int64_t t0 = b * g->B, t1 = t0 + g->B < g->n_video ? t0 + g->B : g->n_video, D = g->D;
    for (int64_t d = 0; d < D; d++) bar[d] = 0;
    for (int64_t t = t0; t < t1; t++)
        for (int64_t d = 0; d < D; d++) bar[d] += (double)x[(t * g->H + h) * D + d];
    for (int64_t d = 0; d < D; d++) bar[d] /= (double)g->B;
    if (!dev) return;
    for (int64_t d = 0; d < D; d++) dev[d] = (double)(g->B - (t1 - t0)) * fabs(bar[d]);
    for (int64_t t = t0; t < t1; t++)
        for (int64_t d = 0; d < D; d++) dev[d] += fabs((double)x[(t * g->H + h) * D + d] - bar[d]);
    for (int64_t d = 0; d < D; d++) dev[d] /= (double)g->B;
}

static double dot(const double *a, const double *b, int64_t D) {
    double s = 0;
    for (int64_t d = 0; d < D; d++) s += a[d] * b[d];
    return s;
}

/* Pooling and the IPAR map of head h; logit is scratch [nv + n_text]. */
static void map_head(const rect_geom *g, const float *q, const float *k, const float *v, int64_t h, rect_pool *p,
                     double *logit) {
    int64_t D = g->D, nv = g->nv, o = h * nv * D;
    for (int64_t b = 0; b < nv; b++) {
        pad_mean(g, q, h, b, p->qbar + o + b * D, g->gapr ? p->mq + o + b * D : NULL);
        pad_mean(g, k, h, b, p->kbar + o + b * D, g->gapr ? p->mk + o + b * D : NULL);
        pad_mean(g, v, h, b, p->vbar + o + b * D, NULL);
    }
    for (int64_t i = 0; i < nv; i++) {
        const double *qi = p->qbar + o + i * D;
        double mx = -INFINITY;
        for (int64_t j = 0; j < nv; j++) logit[j] = g->scale * dot(qi, p->kbar + o + j * D, D);
        for (int64_t t = 0; t < g->n_text; t++) {
            const float *kt = k + ((g->n_video + t) * g->H + h) * D;
            double s = 0;
            for (int64_t d = 0; d < D; d++) s += qi[d] * (double)kt[d];
            logit[nv + t] = g->scale * s;
        }
        for (int64_t c = 0; c < nv + g->n_text; c++) mx = logit[c] > mx ? logit[c] : mx;
        double Z = 0, Sv = 0, Tt = 0;
        for (int64_t c = 0; c < nv + g->n_text; c++) {
            logit[c] = exp(logit[c] - mx);
            Z += logit[c];
        }
        for (int64_t j = 0; j < nv; j++) Sv += logit[j] / Z;
        for (int64_t t = 0; t < g->n_text; t++) Tt += logit[nv + t] / Z;
        double *A = p->amap + (h * nv + i) * g->ncols;
        if (g->joint) { /* IPAR: Â_ij = B p_ij / (B S_i + T_i), text column T_i / (B S_i + T_i) */
            double den = (double)g->B * Sv + Tt;
            for (int64_t j = 0; j < nv; j++) A[j] = (double)g->B * (logit[j] / Z) / den;
            A[nv] = Tt / den;
        } else {
            for (int64_t j = 0; j < nv; j++) A[j] = logit[j] / Z;
        }
    }
}

/* Selection, GAPR, R and c of the video rows of head h; rk is scratch [ncols]. */
static void select_head(const rect_geom *g, const rect_pool *p, int64_t h, uint8_t *flags, attn_selection *sel,
                        ranked *rk) {
    int64_t D = g->D, nv = g->nv, o = h * nv * D;
    for (int64_t i = 0; i < nv; i++) {
        int64_t r = h * g->nqb + i;
        const double *A = p->amap + (h * nv + i) * g->ncols;
        uint8_t *f = flags + r * g->nkb;
        for (int64_t c = 0; c < g->ncols; c++) rk[c] = (ranked){A[c], (int32_t)c};
        qsort(rk, (size_t)g->ncols, sizeof *rk, by_mass);
        double cum = 0;
        int64_t within = 0;
        for (int64_t c = 0; c < g->ncols; c++) {
            cum += rk[c].a;
            within += cum <= g->tau;
        }
        int64_t n = 1 + within > g->top_k ? 1 + within : g->top_k;
        if (n > g->ncols) n = g->ncols;
        sel->n_ranked[r] = (int32_t)n;
        for (int64_t c = 0; c < n; c++)
            if (rk[c].col < nv) f[rk[c].col] = SEL_KEPT; /* the text column adds nothing by itself */
        if (g->neighbor)
            for (int64_t j = 0; j < nv; j++)
                if (g->neighbor[i * nv + j]) f[j] = SEL_KEPT;
        if (i < g->F)
            for (int64_t j = 0; j < g->F; j++) f[j] = SEL_KEPT;
        for (int64_t j = nv; j < g->nkb; j++) f[j] = SEL_KEPT; /* text keys: always exact */
        double R = 1.0;
        float *c = sel->c + r * D;
        if (g->gapr) {
            const double *qi = p->qbar + o + i * D, *mqi = p->mq + o + i * D;
            for (int64_t j = 0; j < nv; j++) {
                if (f[j] != SEL_NONE) continue;
                const double *kj = p->kbar + o + j * D;
                double gain = fabs(dot(qi, kj, D));
                double err = fabs(dot(mqi, kj, D)) + fabs(dot(qi, p->mk + o + j * D, D));
                if (gain > err) f[j] = SEL_COMPENSATED;
            }
            for (int64_t d = 0; d < D; d++) {
                double s = 0;
                for (int64_t j = 0; j < nv; j++)
                    if (f[j] == SEL_COMPENSATED) s += A[j] * p->vbar[o + j * D + d];
                c[d] = (float)s;
            }
            for (int64_t j = 0; j < nv; j++)
                if (f[j] == SEL_COMPENSATED) R -= A[j];
        }
        sel->R[r] = (float)R;
    }
    for (int64_t i = nv; i < g->nqb; i++) { /* text query rows: dense */
        int64_t r = h * g->nqb + i;
        memset(flags + r * g->nkb, SEL_KEPT, (size_t)g->nkb);
        sel->n_ranked[r] = (int32_t)g->nkb;
        sel->R[r] = 1.0f;
    }
}

dit_status attn_rectified_select(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k,
                                 const dit_tensor *v, attn_selection *sel) {
    double t0 = dit_now_ms();
    const attn_rectified_params *pr = &call->params.rect;
    const attn_layout *L = call->layout;
    rect_geom g;
    memset(&g, 0, sizeof g);
    g.S = q->ne[0], g.H = q->ne[1], g.D = q->ne[2];
    g.B = pr->block > 0 ? pr->block : 128;
    g.n_video = L ? L->n_video : g.S;
    g.n_text = L ? L->n_text_valid : 0;
    g.joint = g.n_video < g.S;
    g.gapr = pr->gapr != 0;
    g.nv = (g.n_video + g.B - 1) / g.B;
    g.ncols = g.nv + (g.joint ? 1 : 0);
    g.nqb = g.nv + (g.S - g.n_video + g.B - 1) / g.B;
    g.nkb = g.nv + (g.n_text + g.B - 1) / g.B;
    g.top_k = attn_rectified_top_k(pr->drop_rate, g.nv);
    g.F = pr->forced_square ? g.nv / L->latent_frames : 0;
    g.scale = attn_cpu_scale(call, g.D);
    g.tau = (double)pr->tau;
    g.neighbor = pr->neighbors ? L->neighbor : NULL;

    uint8_t *flags = NULL;
    DIT_TRY(attn_sel_alloc(be, sel, ATTN_METHOD_RECTIFIED, g.H, g.D, g.nqb, g.nkb, &flags));
    sel->n_video_qb = g.nv;
    for (int64_t i = 0; i < g.nv; i++) sel->q_start[i] = sel->k_start[i] = i * g.B;
    for (int64_t i = g.nv; i <= g.nqb; i++) {
        int64_t t = g.n_video + (i - g.nv) * g.B;
        sel->q_start[i] = t < g.S ? t : g.S;
    }
    for (int64_t j = g.nv; j <= g.nkb; j++) {
        int64_t t = g.n_video + (j - g.nv) * g.B;
        sel->k_start[j] = t < g.n_video + g.n_text ? t : g.n_video + g.n_text;
    }

    rect_pool p;
    memset(&p, 0, sizeof p);
    dit_status s = pool_alloc(be, &g, &p);
    int failed = 0;
    if (s == DIT_OK) {
        const float *Q = q->data, *K = k->data, *V = v->data;
#pragma omp parallel for schedule(dynamic, 1)
        for (int64_t h = 0; h < g.H; h++) {
            double *logit = malloc((size_t)(g.nv + g.n_text) * sizeof(double));
            if (!logit) {
#pragma omp atomic write
                failed = 1;
            } else {
                map_head(&g, Q, K, V, h, &p, logit);
            }
            free(logit);
        }
        double t1 = dit_now_ms();
        sel->ms_map = t1 - t0;
        if (!failed) {
#pragma omp parallel for schedule(dynamic, 1)
            for (int64_t h = 0; h < g.H; h++) {
                ranked *rk = malloc((size_t)g.ncols * sizeof(ranked));
                if (!rk) {
#pragma omp atomic write
                    failed = 1;
                } else {
                    select_head(&g, &p, h, flags, sel, rk);
                }
                free(rk);
            }
        }
        if (failed) s = DIT_FAIL(&be->err, DIT_ERR_OOM, "rectified: per-head scratch");
        if (s == DIT_OK) s = attn_sel_finish(be, sel, flags);
        sel->ms_select = dit_now_ms() - t1;
    }
    pool_free(&p);
    free(flags);
    if (s != DIT_OK) attn_selection_free(sel);
    return s;
}

dit_status attn_rectified_cpu(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                              const dit_tensor *k, const dit_tensor *v, attn_stats *st) {
    const char *m = "attention 'rectified'";
    DIT_TRY(attn_cpu_check_f32(be, m, q, k, v, out));
    if (!call || call->params.method != ATTN_METHOD_RECTIFIED)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: call->params.method is not rectified", m);
    DIT_TRY(attn_sparse_check(be, call, q, k));
    attn_selection sel;
    DIT_TRY(attn_rectified_select(be, call, q, k, v, &sel));
    double t0 = dit_now_ms();
    dit_status s = attn_cpu_block_sparse(be, &sel, attn_cpu_scale(call, sel.head_dim), q->data, k->data, v->data,
                                         out->data);
    double t1 = dit_now_ms();
    if (s == DIT_OK) { /* O = R_i O + c_i on the video query rows */
        float *O = out->data;
        int64_t H = sel.heads, D = sel.head_dim;
#pragma omp parallel for
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < sel.n_video_qb; i++) {
                int64_t r = h * sel.nqb + i;
                double R = sel.R[r];
                const float *c = sel.c + r * D;
                for (int64_t t = sel.q_start[i]; t < sel.q_start[i + 1]; t++)
                    for (int64_t d = 0; d < D; d++) {
                        float *o = O + (t * H + h) * D + d;
                        *o = (float)(R * (double)*o + (double)c[d]);
                    }
            }
    }
    if (s == DIT_OK && st) {
        attn_cpu_fill_stats(&sel, st);
        st->method = ATTN_METHOD_RECTIFIED;
        st->ms_kernel = t1 - t0;
        st->ms_epilogue = dit_now_ms() - t1;
    }
    attn_selection_free(&sel);
    return s;
}
