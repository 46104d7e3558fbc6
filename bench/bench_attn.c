/* bench_attn.c — attention at real shapes: cuDNN dense (the baseline, measured in
 * the same run on the same card) against spadit's block-sparse kernel with
 * all blocks (calibration), Rectified SpaAttn and SLA at 75 / 90 / 95 % sparsity.
 * For each: the whole call (map estimation + selection + kernel + epilogue) as
 * the median of CUDA-event timings, the phase split, achieved sparsity, real
 * TFLOP/s on the visited blocks, effective TFLOP/s (dense FLOPs / time) and the
 * speedup over cuDNN dense.  Random bf16 inputs (fresh per shape).
 *
 *   bench_attn [--shape wan13|wan14|hunyuan|all] [--iters N] [--check]
 *
 * --check also compares, on the shape, the block-sparse kernel with all blocks
 * against cuDNN and the sparse methods' degenerate settings against dense
 * (rectified drop 0 without GAPR; SLA topk 1 with proj_l = 0). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../attention/attn.h"
#include "../dit/cuda/cuda_backend.h"

typedef struct shape {
    const char *name;
    int64_t n_video, n_text, H;
} shape;

static const shape k_shapes[] = {
    {"wan13", 32760, 0, 12},   /* Wan2.1-1.3B 480p x 81 */
    {"wan14", 75600, 0, 40},   /* Wan2.1-14B 720p x 81 */
    {"hunyuan", 118800, 256, 24}, /* HunyuanVideo 720p x 129 + 256 text tokens */
};

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct result {
    double ms, ms_map, ms_select, ms_kernel, sparsity;
    int64_t selected;
} result;

static dit_status run(attn_ctx *ctx, const attn_call *call, dit_tensor *o, dit_tensor *q, dit_tensor *k, dit_tensor *v,
                      int iters, result *r, int heads) {
    attn_stats st;
    int64_t *per_head = calloc((size_t)heads, sizeof(int64_t));
    st.selected_per_head = per_head;
    double *t = malloc(sizeof(double) * (size_t)iters);
    DIT_TRY(attn_forward(ctx, call, o, q, k, v, &st)); /* warm-up: plans, workspaces */
    for (int i = 0; i < iters; i++) {
        DIT_TRY(attn_forward(ctx, call, o, q, k, v, &st));
        t[i] = st.ms_total;
    }
    qsort(t, (size_t)iters, sizeof(double), cmp_double);
    r->ms = t[iters / 2];
    r->ms_map = st.ms_map, r->ms_select = st.ms_select, r->ms_kernel = st.ms_kernel;
    r->sparsity = st.sparsity;
    r->selected = st.blocks_selected;
    free(t);
    free(per_head);
    return DIT_OK;
}

static double rel_dev(dit_backend *be, const dit_tensor *a, const dit_tensor *b) {
    int64_t n = dit_tensor_numel(a);
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
    dit_backend_download_f32(be, x, a);
    dit_backend_download_f32(be, y, b);
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - y[i];
        if (isnan(x[i])) return INFINITY;
        num += d * d;
        den += (double)y[i] * y[i];
    }
    free(x), free(y);
    return sqrt(num / (den > 0 ? den : 1));
}

int main(int argc, char **argv) {
    const char *which = "all";
    int iters = 5, check = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shape") && i + 1 < argc) which = argv[++i];
        else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--check")) check = 1;
        else return fprintf(stderr, "usage: bench_attn [--shape wan13|wan14|hunyuan|all] [--iters N] [--check]\n"), 2;
    }
    dit_err err = {0};
    dit_backend *be;
    if (dit_backend_create("cuda", &be, &err) != DIT_OK) return printf("SKIP: %s\n", err.msg), 77;
    int fails = 0;
    for (size_t si = 0; si < sizeof k_shapes / sizeof k_shapes[0]; si++) {
        const shape *sh = &k_shapes[si];
        if (strcmp(which, "all") && strcmp(which, sh->name)) continue;
        int64_t S = sh->n_video + sh->n_text, H = sh->H, D = 128;
        int64_t ne[3] = {S, H, D};
        dit_tensor q, k, v, o, o2;
        dit_backend_tensor_alloc(be, &q, DIT_DTYPE_BF16, 3, ne);
        dit_backend_tensor_alloc(be, &k, DIT_DTYPE_BF16, 3, ne);
        dit_backend_tensor_alloc(be, &v, DIT_DTYPE_BF16, 3, ne);
        dit_backend_tensor_alloc(be, &o, DIT_DTYPE_BF16, 3, ne);
        dit_backend_tensor_alloc(be, &o2, DIT_DTYPE_BF16, 3, ne);
        be->ops->fill_uniform(be, &q, 11 + si, -1.7f, 1.7f);
        be->ops->fill_uniform(be, &k, 22 + si, -1.7f, 1.7f);
        be->ops->fill_uniform(be, &v, 33 + si, -1.7f, 1.7f);
        int64_t pw[2] = {D, D}, pb[1] = {D};
        dit_tensor plw, plb;
        dit_backend_tensor_alloc(be, &plw, DIT_DTYPE_F32, 2, pw);
        dit_backend_tensor_alloc(be, &plb, DIT_DTYPE_F32, 1, pb);
        be->ops->fill_uniform(be, &plw, 44, -0.05f, 0.05f);
        be->ops->fill_uniform(be, &plb, 45, -0.05f, 0.05f);
        attn_ctx *ctx;
        attn_ctx_create(be, &ctx);
        attn_layout lay = {sh->n_video, sh->n_text, 21, NULL, 0};
        double dense_flops = 4.0 * (double)S * (double)S * (double)D * (double)H;
        printf("\n== %s: S = %lld (%lld video + %lld text), H = %lld, D = 128 ==\n", sh->name, (long long)S,
               (long long)sh->n_video, (long long)sh->n_text, (long long)H);
        printf("%-34s %9s %7s %7s %7s %8s %8s %8s %8s\n", "method", "ms", "map", "select", "kernel", "sparsity",
               "real TF", "eff TF", "speedup");
        attn_call dc;
        memset(&dc, 0, sizeof dc);
        dc.params = attn_params_default(ATTN_METHOD_DENSE);
        result rd;
        if (run(ctx, &dc, &o, &q, &k, &v, iters, &rd, (int)H) != DIT_OK) return printf("dense: %s\n", be->err.msg), 1;
        printf("%-34s %9.3f %7s %7s %7s %8.3f %8.1f %8.1f %8.2f\n", "cuDNN dense (baseline)", rd.ms, "-", "-", "-", 0.0,
               dense_flops / rd.ms / 1e9, dense_flops / rd.ms / 1e9, 1.0);
        struct {
            const char *label;
            attn_method m;
            float a, tau;
            int gapr, nb, forced;
        } cases[] = {
            {"spadit kernel v2 (mma.sync), all", ATTN_METHOD_RECTIFIED, 0.0f, 0.0f, 0, 0, 2},
            {"spadit kernel v3 (wgmma), all", ATTN_METHOD_RECTIFIED, 0.0f, 0.0f, 0, 0, 3},
            {"spadit kernel v4 (wgmma+overlap),all", ATTN_METHOD_RECTIFIED, 0.0f, 0.0f, 0, 0, 4},
            {"rectified 75% (top-k, GAPR)", ATTN_METHOD_RECTIFIED, 0.75f, 0.0f, 1, 0, 0},
            {"rectified 90% (top-k, GAPR)", ATTN_METHOD_RECTIFIED, 0.90f, 0.0f, 1, 0, 0},
            {"rectified 95% (top-k, GAPR)", ATTN_METHOD_RECTIFIED, 0.95f, 0.0f, 1, 0, 0},
            {"rectified Wan preset (tau .3,sq)", ATTN_METHOD_RECTIFIED, 0.75f, 0.3f, 1, 0, 1},
            {"sla top-k 25% (75%)", ATTN_METHOD_SLA, 0.25f, 0, 0, 0, 0},
            {"sla top-k 10% (90%)", ATTN_METHOD_SLA, 0.10f, 0, 0, 0, 0},
            {"sla top-k 5% (95%)", ATTN_METHOD_SLA, 0.05f, 0, 0, 0, 0},
            {"sla1 top-k 10%", ATTN_METHOD_SLA, 0.10f, 0, 1, 0, 0},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            attn_call call;
            memset(&call, 0, sizeof call);
            call.params = attn_params_default(cases[c].m);
            call.layout = &lay;
            if (cases[c].m == ATTN_METHOD_RECTIFIED) {
                call.params.rect.drop_rate = cases[c].a;
                call.params.rect.tau = cases[c].tau;
                call.params.rect.gapr = cases[c].gapr;
                call.params.rect.neighbors = cases[c].nb;
                call.params.rect.forced_square = cases[c].forced == 1;
                if (cases[c].forced >= 2) call.kernel = cases[c].forced; /* kernel calibration rows */
            } else {
                call.params.sla.topk = cases[c].a;
                call.params.sla.variant = cases[c].gapr ? ATTN_SLA_1 : ATTN_SLA_MAIN;
                call.proj_l_w = &plw;
                call.proj_l_b = &plb;
                if (sh->n_text) continue; /* SLA has no published joint-sequence variant; Wan shapes only */
            }
            result r;
            if (run(ctx, &call, &o2, &q, &k, &v, iters, &r, (int)H) != DIT_OK) {
                printf("%-34s failed: %s\n", cases[c].label, be->err.msg);
                fails++;
                continue;
            }
            int bk = cases[c].m == ATTN_METHOD_SLA ? 64 : 128;
            double real = (double)r.selected * 128.0 * bk * 4.0 * D; /* FLOPs on visited blocks (upper bound) */
            printf("%-34s %9.3f %7.3f %7.3f %7.3f %8.3f %8.1f %8.1f %8.2f\n", cases[c].label, r.ms, r.ms_map, r.ms_select,
                   r.ms_kernel, r.sparsity, real / r.ms_kernel / 1e9, dense_flops / r.ms / 1e9, rd.ms / r.ms);
            printf("JSON {\"shape\":\"%s\",\"method\":\"%s\",\"ms\":%.4f,\"map\":%.4f,\"select\":%.4f,\"kernel\":%.4f,"
                   "\"sparsity\":%.4f,\"dense_ms\":%.4f,\"speedup\":%.3f}\n",
                   sh->name, cases[c].label, r.ms, r.ms_map, r.ms_select, r.ms_kernel, r.sparsity, rd.ms, rd.ms / r.ms);
            if (check && c <= 2 && !sh->n_text) { /* joint layouts rank the text column: not all video blocks */
                double e = rel_dev(be, &o2, &o);
                printf("  check: block-sparse kernel with all blocks vs cuDNN: rel L2 %.3e %s\n", e, e < 1e-2 ? "ok" : "FAIL");
                fails += !(e < 1e-2);
            }
        }
        if (check && !sh->n_text) {
            attn_call call;
            memset(&call, 0, sizeof call);
            call.params = attn_params_default(ATTN_METHOD_SLA);
            call.params.sla.topk = 1.0f;
            be->ops->memset0(be, plw.data, dit_tensor_nbytes(&plw));
            be->ops->memset0(be, plb.data, dit_tensor_nbytes(&plb));
            call.proj_l_w = &plw;
            call.proj_l_b = &plb;
            attn_forward(ctx, &call, &o2, &q, &k, &v, NULL);
            double e = rel_dev(be, &o2, &o);
            printf("  check: sla topk 1.0, proj_l 0 vs cuDNN dense: rel L2 %.3e %s\n", e, e < 1e-2 ? "ok" : "FAIL");
            fails += !(e < 1e-2);
        }
        attn_ctx_destroy(&ctx);
        dit_tensor *all[] = {&q, &k, &v, &o, &o2, &plw, &plb};
        for (int i = 0; i < 7; i++) dit_backend_tensor_free(be, all[i]);
    }
    dit_backend_destroy(&be);
    return fails ? 1 : 0;
}
