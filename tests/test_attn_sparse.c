/* test_attn_sparse.c — the CPU references of Rectified SpaAttn and SLA (attention/rectified_cpu.c, sla_cpu.c, sparse_cpu.c).
 *
 * 1. Goldens (tests/data/sparse_golden.safetensors from tools/gen_sparse_goldens.py, an
 *    independent vectorised float64 torch implementation of docs/attention.md): 10 cases
 *    (Wan-like grid with Gilbert order and neighbour mask, forced square, GAPR on/off, one
 *    block per row, top-p, IPAR joint video + text with padded text, B = 128 with a partial
 *    block, SLA main / SLA-1): output within 1e-5 relative L2, the selection (kept and
 *    compensated blocks) and n_i identical, R and c within 1e-6, stats equal to the counts.
 * 2. Structure: drop_rate 0 equals dense attention (plain and joint); SLA with topk 1 and
 *    proj_l = 0 equals dense; SLA-1 with every block kept has no linear term; GAPR off gives
 *    R = 1, c = 0; top-k / T budgets; stats and selected_per_head through attn_forward.
 * 3. Errors: missing proj_l, bad parameters and layouts rejected with messages naming them.
 * 4. The fast block-sparse kernel (gathered blocks + f32 sgemm) against the exact double one at
 *    the tiny model's shape (1296 tokens, 2 heads x 128) on SLA and Rectified selections.
 */
#include "../attention/attn.h"      /* attn_forward, attn_*_cpu */
#include "../attention/gilbert.h"   /* attn_gilbert_order, attn_neighbor_mask */
#include "../attention/selection.h" /* attn_select_cpu, attn_selection */
#include "../attention/sparse_common.h" /* attn_rectified_top_k, attn_sla_top_k */
#include "../attention/sparse_cpu.h"    /* attn_cpu_block_sparse(_f64) */
#include "../dit/rng.h"             /* dit_rng */
#include "../io/safetensors.h"      /* golden file */
#include "test_util.h"              /* CHECK, rel_l2, test_summary */

#include <stdint.h> /* int64_t */

static dit_backend *be;
static attn_ctx *ctx;
static dit_rng rng;

static float *randv(size_t n, float s) {
    float *p = malloc(n * sizeof(float));
    dit_rng_fill_normal(&rng, p, n, s);
    return p;
}

static dit_tensor t3(float *d, int64_t S, int64_t H, int64_t D) {
    return dit_tensor_3d(DIT_DTYPE_F32, DIT_DEVICE_CPU, d, S, H, D);
}

/* Dense [H, nqb, nkb] view of a selection: 1 kept, 2 compensated. */
static uint8_t *sel_dense(const attn_selection *s) {
    int64_t rows = s->heads * s->nqb;
    uint8_t *m = calloc((size_t)(rows * s->nkb), 1);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t e = s->row_ptr[r]; e < s->row_ptr[r + 1]; e++) m[r * s->nkb + s->cols[e]] = 1;
        if (s->comp_ptr)
            for (int64_t e = s->comp_ptr[r]; e < s->comp_ptr[r + 1]; e++) m[r * s->nkb + s->comp_cols[e]] = 2;
    }
    return m;
}

/* ---------------------------------------------------------------- goldens */

static const io_st_tensor *need(const io_safetensors *st, const char *name, io_st_dtype dt) {
    const io_st_tensor *t = io_safetensors_find(st, name);
    CHECK(t && t->dtype == dt, "golden %s missing or not %s", name, io_st_dtype_name(dt));
    return t && t->dtype == dt ? t : NULL;
}

static void golden_case(const io_safetensors *st, const char *cs, const uint8_t *wan_neighbor) {
    char nm[96], set[16];
    snprintf(set, sizeof set, "%.*s", (int)(strchr(cs, '_') - cs), cs);
    snprintf(nm, sizeof nm, "%s_params", cs);
    const io_st_tensor *tp = need(st, nm, IO_ST_F64);
    snprintf(nm, sizeof nm, "%s_q", set);
    const io_st_tensor *tq = need(st, nm, IO_ST_F32);
    snprintf(nm, sizeof nm, "%s_k", set);
    const io_st_tensor *tk = need(st, nm, IO_ST_F32);
    snprintf(nm, sizeof nm, "%s_v", set);
    const io_st_tensor *tv = need(st, nm, IO_ST_F32);
    if (!tp || !tq || !tk || !tv) return;
    const double *p = tp->data;
    int64_t S = tq->shape[0], H = tq->shape[1], D = tq->shape[2];
    size_t n = (size_t)(S * H * D);
    dit_tensor q = t3((float *)tq->data, S, H, D), k = t3((float *)tk->data, S, H, D), v = t3((float *)tv->data, S, H, D);
    float *o = calloc(n, sizeof(float));
    dit_tensor out = t3(o, S, H, D);
    attn_call call;
    memset(&call, 0, sizeof call);
    attn_layout lay;
    memset(&lay, 0, sizeof lay);
    dit_tensor pw, pb;
    int rect = p[0] == 1;
    if (rect) {
        call.params = attn_params_default(ATTN_METHOD_RECTIFIED);
        call.params.rect = (attn_rectified_params){(float)p[1], (float)p[2], (int)p[3], (int)p[4], (int)p[5], (int)p[6]};
        lay.latent_frames = (int64_t)p[7], lay.n_video = (int64_t)p[8], lay.n_text_valid = (int64_t)p[9];
        if (call.params.rect.neighbors) lay.neighbor = wan_neighbor, lay.neighbor_nb = 12;
        call.layout = &lay;
    } else {
        call.params = attn_params_default(ATTN_METHOD_SLA);
        call.params.sla.topk = (float)p[1];
        call.params.sla.variant = (attn_sla_variant)(int)p[2];
        call.params.sla.block_q = (int)p[3], call.params.sla.block_k = (int)p[4];
        snprintf(nm, sizeof nm, "%s_proj_w", set);
        const io_st_tensor *w = need(st, nm, IO_ST_F32);
        snprintf(nm, sizeof nm, "%s_proj_b", set);
        const io_st_tensor *b = need(st, nm, IO_ST_F32);
        if (!w || !b) return;
        pw = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, (void *)w->data, D, D);
        pb = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, (void *)b->data, D);
        call.proj_l_w = &pw, call.proj_l_b = &pb;
    }
    /* selection vs the oracle */
    attn_selection sel;
    CHECK(attn_select_cpu(be, &call, &q, &k, &v, &sel) == DIT_OK, "%s: %s", cs, be->err.msg);
    snprintf(nm, sizeof nm, "%s_sel", cs);
    const io_st_tensor *gs = need(st, nm, IO_ST_U8);
    snprintf(nm, sizeof nm, "%s_nrank", cs);
    const io_st_tensor *gn = need(st, nm, IO_ST_I32);
    int64_t kept = 0, comp = 0;
    if (gs && gn && gs->shape[0] == H && gs->shape[1] == sel.nqb && gs->shape[2] == sel.nkb) {
        uint8_t *m = sel_dense(&sel);
        const uint8_t *g = gs->data;
        int64_t diff = 0, ndiff = 0;
        for (int64_t e = 0; e < H * sel.nqb * sel.nkb; e++) {
            diff += m[e] != g[e];
            kept += g[e] == 1;
            comp += g[e] == 2;
        }
        for (int64_t r = 0; r < H * sel.nqb; r++) ndiff += sel.n_ranked[r] != ((const int32_t *)gn->data)[r];
        CHECK(diff == 0, "%s: %lld of %lld selection entries differ from the oracle", cs, (long long)diff,
              (long long)(H * sel.nqb * sel.nkb));
        CHECK(ndiff == 0, "%s: n_ranked differs in %lld rows", cs, (long long)ndiff);
        CHECK(sel.selected == kept && sel.compensated == comp && sel.total == H * sel.nqb * sel.nkb,
              "%s: counts %lld/%lld/%lld vs oracle %lld/%lld", cs, (long long)sel.selected, (long long)sel.compensated,
              (long long)sel.total, (long long)kept, (long long)comp);
        free(m);
    } else {
        CHECK(0, "%s: golden selection shape [%lld, %lld, %lld] vs C [%lld, %lld, %lld]", cs,
              gs ? (long long)gs->shape[0] : -1LL, gs ? (long long)gs->shape[1] : -1LL,
              gs ? (long long)gs->shape[2] : -1LL, (long long)H, (long long)sel.nqb, (long long)sel.nkb);
    }
    if (rect) {
        snprintf(nm, sizeof nm, "%s_R", cs);
        const io_st_tensor *gR = need(st, nm, IO_ST_F32);
        snprintf(nm, sizeof nm, "%s_c", cs);
        const io_st_tensor *gc = need(st, nm, IO_ST_F32);
        if (gR && gc && io_st_tensor_numel(gR) == H * sel.nqb && io_st_tensor_numel(gc) == H * sel.nqb * D) {
            double eR = max_abs_diff(sel.R, gR->data, (size_t)(H * sel.nqb));
            double ec = max_abs_diff(sel.c, gc->data, (size_t)(H * sel.nqb * D));
            CHECK(eR < 1e-6 && ec < 1e-6, "%s: R max diff %.2e, c max diff %.2e", cs, eR, ec);
        }
    }
    /* the forward through attn_forward, with stats */
    int64_t per_head[4] = {0};
    attn_stats stats;
    memset(&stats, 0, sizeof stats);
    stats.selected_per_head = per_head;
    CHECK(attn_forward(ctx, &call, &out, &q, &k, &v, &stats) == DIT_OK, "%s: %s", cs, be->err.msg);
    snprintf(nm, sizeof nm, "%s_out", cs);
    const io_st_tensor *go = need(st, nm, IO_ST_F32);
    if (go && io_st_tensor_numel(go) == (int64_t)n) {
        double e = rel_l2(o, go->data, n);
        CHECK(e <= 1e-5, "%s: output rel L2 %.3e vs the oracle", cs, e);
        printf("%-13s rel L2 %.2e, kept %lld + compensated %lld of %lld, sparsity %.3f\n", cs, e, (long long)kept,
               (long long)comp, (long long)stats.blocks_total, stats.sparsity);
    }
    int64_t sum = 0;
    for (int64_t h = 0; h < H; h++) sum += per_head[h];
    CHECK(stats.blocks_selected == kept && stats.blocks_compensated == comp &&
              stats.blocks_total == H * sel.nqb * sel.nkb && sum == kept && stats.heads == H,
          "%s: stats %lld/%lld/%lld per-head sum %lld", cs, (long long)stats.blocks_selected,
          (long long)stats.blocks_compensated, (long long)stats.blocks_total, (long long)sum);
    CHECK(fabs(stats.sparsity - (1.0 - (double)kept / (double)stats.blocks_total)) < 1e-12 &&
              stats.method == call.params.method,
          "%s: sparsity %.6f", cs, stats.sparsity);
    CHECK(stats.ms_total >= stats.ms_kernel && stats.ms_kernel >= 0 && stats.ms_map >= 0 && stats.ms_select >= 0 &&
              stats.ms_epilogue >= 0,
          "%s: times", cs);
    attn_selection_free(&sel);
    free(o);
}

static void test_goldens(void) {
    io_safetensors *st = NULL;
    dit_err err = {0};
    CHECK(io_safetensors_open(SPADIT_TEST_DATA "/sparse_golden.safetensors", &st, &err) == DIT_OK, "%s", err.msg);
    if (!st) return;
    /* the neighbour mask of the 3x6x10 grid in Gilbert order, blocks of 16: C vs the oracle's */
    int64_t order[180];
    uint8_t nbm[144];
    CHECK(attn_gilbert_order(3, 6, 10, order, &err) == DIT_OK, "%s", err.msg);
    CHECK(attn_neighbor_mask(order, 3, 6, 10, 16, nbm, &err) == DIT_OK, "%s", err.msg);
    const io_st_tensor *gn = need(st, "wan_neighbor", IO_ST_U8);
    CHECK(gn && io_st_tensor_numel(gn) == 144 && !memcmp(gn->data, nbm, 144), "wan neighbour mask equals the oracle's");
    const char *cases[] = {"wan_rect",   "wan_nogapr",   "wan_top1",  "wan_topp", "wan_sla",
                           "wan_sla1",   "joint_rect",   "joint_nogapr", "b128_rect", "b128_sla"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) golden_case(st, cases[c], nbm);
    io_safetensors_close(&st);
}

/* ---------------------------------------------------------------- structure */

static void dense_ref(const dit_tensor *q, const dit_tensor *k, const dit_tensor *v, int64_t kv_valid, float *o) {
    attn_call d;
    memset(&d, 0, sizeof d);
    d.params = attn_params_default(ATTN_METHOD_DENSE);
    d.kv_valid = kv_valid;
    dit_tensor out = *q;
    out.data = o;
    CHECK(attn_dense_cpu(be, &d, &out, q, k, v) == DIT_OK, "%s", be->err.msg);
}

static attn_call rect_call(float drop, int gapr, attn_layout *lay) {
    attn_call c;
    memset(&c, 0, sizeof c);
    c.params = attn_params_default(ATTN_METHOD_RECTIFIED);
    c.params.rect.drop_rate = drop;
    c.params.rect.gapr = gapr;
    c.params.rect.neighbors = 0;
    c.params.rect.forced_square = 0;
    c.layout = lay;
    return c;
}

/* drop_rate 0 keeps every block: no compensation, R = 1, c = 0, and dense attention. */
static void test_rect_dense(void) {
    int64_t S = 300, H = 2, D = 48;
    size_t n = (size_t)(S * H * D);
    float *q = randv(n, 1), *k = randv(n, 1), *v = randv(n, 1), *o = malloc(n * 4), *ref = malloc(n * 4);
    dit_tensor tq = t3(q, S, H, D), tk = t3(k, S, H, D), tv = t3(v, S, H, D), to = t3(o, S, H, D);
    attn_call c = rect_call(0.0f, 1, NULL); /* no layout: all video, B = 128 -> blocks of 128, 128, 44 */
    attn_stats st;
    memset(&st, 0, sizeof st);
    CHECK(attn_forward(ctx, &c, &to, &tq, &tk, &tv, &st) == DIT_OK, "%s", be->err.msg);
    dense_ref(&tq, &tk, &tv, 0, ref);
    double e = rel_l2(o, ref, n);
    CHECK(e < 1e-5, "rectified drop 0 vs dense: rel %.3e", e);
    CHECK(st.blocks_total == 18 && st.blocks_selected == 18 && st.blocks_compensated == 0 && st.sparsity == 0,
          "drop 0 stats %lld/%lld/%lld", (long long)st.blocks_total, (long long)st.blocks_selected,
          (long long)st.blocks_compensated);
    /* joint: 200 video tokens (blocks of 32: 7, the last with 8), 60 text tokens of which 37 valid */
    attn_layout lay = {200, 37, 1, NULL, 0};
    S = 260;
    tq = t3(q, S, H, D), tk = t3(k, S, H, D), tv = t3(v, S, H, D), to = t3(o, S, H, D);
    c = rect_call(0.0f, 1, &lay);
    c.params.rect.block = 32;
    c.params.rect.tau = 1.0f; /* joint: the text column competes for the top_k slots, so drop 0 alone may leave one
                                 video block out; tau = 1 takes every ranked column */
    attn_selection sel;
    CHECK(attn_select_cpu(be, &c, &tq, &tk, &tv, &sel) == DIT_OK, "%s", be->err.msg);
    CHECK(sel.nqb == 9 && sel.nkb == 9 && sel.n_video_qb == 7 && sel.k_start[7] == 200 && sel.k_start[8] == 232 &&
              sel.k_start[9] == 237 && sel.q_start[8] == 232 && sel.q_start[9] == 260,
          "joint geometry nqb %lld nkb %lld", (long long)sel.nqb, (long long)sel.nkb);
    int all = sel.selected == sel.total && sel.compensated == 0;
    for (int64_t r = 0; r < H * sel.nqb; r++) all &= sel.R[r] == 1.0f;
    CHECK(all, "joint drop 0: every block kept, R = 1");
    attn_selection_free(&sel);
    CHECK(attn_forward(ctx, &c, &to, &tq, &tk, &tv, NULL) == DIT_OK, "%s", be->err.msg);
    dense_ref(&tq, &tk, &tv, 237, ref);
    e = rel_l2(o, ref, (size_t)(S * H * D));
    CHECK(e < 1e-5, "joint rectified drop 0 vs dense with 23 padded text keys masked: rel %.3e", e);
    free(q), free(k), free(v), free(o), free(ref);
}

/* GAPR off: R = 1, c = 0, nothing compensated; on: something compensated on the same data. */
static void test_gapr_switch(void) {
    int64_t S = 700, H = 2, D = 32;
    size_t n = (size_t)(S * H * D);
    /* smooth blocks (a mean per 32 tokens plus small noise) so that GAPR finds blocks worth compensating */
    float *q = randv(n, 0.2f), *k = randv(n, 0.2f), *v = randv(n, 1), *mu = randv((size_t)(2 * 22 * H * D), 1);
    for (int64_t t = 0; t < S; t++)
        for (int64_t e = 0; e < H * D; e++) {
            q[t * H * D + e] += mu[(t / 32) * H * D + e];
            k[t * H * D + e] += mu[(22 + t / 32) * H * D + e];
        }
    free(mu);
    dit_tensor tq = t3(q, S, H, D), tk = t3(k, S, H, D), tv = t3(v, S, H, D);
    attn_call c = rect_call(0.75f, 0, NULL);
    c.params.rect.block = 32;
    attn_selection sel;
    CHECK(attn_select_cpu(be, &c, &tq, &tk, &tv, &sel) == DIT_OK, "%s", be->err.msg);
    int ok = sel.compensated == 0 && sel.comp_ptr[H * sel.nqb] == 0;
    for (int64_t r = 0; r < H * sel.nqb; r++) {
        ok &= sel.R[r] == 1.0f;
        for (int64_t d = 0; d < D; d++) ok &= sel.c[r * D + d] == 0.0f;
    }
    CHECK(ok && sel.selected < sel.total, "GAPR off: R = 1, c = 0, none compensated (%lld kept of %lld)",
          (long long)sel.selected, (long long)sel.total);
    int64_t kept_off = sel.selected;
    attn_selection_free(&sel);
    c.params.rect.gapr = 1;
    CHECK(attn_select_cpu(be, &c, &tq, &tk, &tv, &sel) == DIT_OK, "%s", be->err.msg);
    float rmin = 1;
    for (int64_t r = 0; r < H * sel.nqb; r++) rmin = sel.R[r] < rmin ? sel.R[r] : rmin;
    CHECK(sel.compensated > 0 && rmin < 1.0f && sel.selected == kept_off,
          "GAPR on: %lld compensated, min R %.4f, same kept set", (long long)sel.compensated, rmin);
    /* top_k = floor(0.25 * 22) = 5: every row keeps at least 5 blocks */
    int64_t fewest = sel.nkb;
    for (int64_t r = 0; r < H * sel.nqb; r++) {
        int64_t m = sel.row_ptr[r + 1] - sel.row_ptr[r];
        fewest = m < fewest ? m : fewest;
    }
    CHECK(sel.nkb == 22 && fewest >= 5, "rows keep >= top_k = 5 blocks (fewest %lld of %lld)", (long long)fewest,
          (long long)sel.nkb);
    attn_selection_free(&sel);
    free(q), free(k), free(v);
}

/* SLA: topk 1 with proj_l = 0 is dense; SLA-1 with every block kept adds only b_l; main does not. */
static void test_sla_structure(void) {
    int64_t S = 200, H = 2, D = 32;
    size_t n = (size_t)(S * H * D);
    float *q = randv(n, 1), *k = randv(n, 1), *v = randv(n, 1), *o = malloc(n * 4), *ref = malloc(n * 4);
    float *w0 = calloc((size_t)(D * D), 4), *b0 = calloc((size_t)D, 4), *w = randv((size_t)(D * D), 0.3f),
          *b = randv((size_t)D, 0.2f);
    dit_tensor tq = t3(q, S, H, D), tk = t3(k, S, H, D), tv = t3(v, S, H, D), to = t3(o, S, H, D);
    dit_tensor tw0 = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, w0, D, D), tb0 = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, b0, D);
    dit_tensor tw = tw0, tb = tb0;
    tw.data = w, tb.data = b;
    dense_ref(&tq, &tk, &tv, 0, ref);
    attn_call c;
    memset(&c, 0, sizeof c);
    c.params = attn_params_default(ATTN_METHOD_SLA);
    c.params.sla.topk = 1.0f, c.params.sla.block_q = 64, c.params.sla.block_k = 32;
    c.proj_l_w = &tw0, c.proj_l_b = &tb0;
    for (int var = 0; var < 2; var++) {
        c.params.sla.variant = (attn_sla_variant)var;
        attn_stats st;
        memset(&st, 0, sizeof st);
        CHECK(attn_forward(ctx, &c, &to, &tq, &tk, &tv, &st) == DIT_OK, "%s", be->err.msg);
        double e = rel_l2(o, ref, n);
        CHECK(e < 1e-5, "SLA %s topk 1, proj_l 0 vs dense: rel %.3e", var ? "sla1" : "main", e);
        CHECK(st.blocks_total == 4 * 7 * H && st.blocks_selected == st.blocks_total && st.sparsity == 0,
              "SLA topk 1 stats %lld of %lld", (long long)st.blocks_selected, (long long)st.blocks_total);
    }
    c.proj_l_w = &tw, c.proj_l_b = &tb;
    c.params.sla.variant = ATTN_SLA_1;
    CHECK(attn_forward(ctx, &c, &to, &tq, &tk, &tv, NULL) == DIT_OK, "%s", be->err.msg);
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)o[i] - (double)b[i % (size_t)D] - (double)ref[i]);
        m = d > m ? d : m;
    }
    CHECK(m < 1e-5, "SLA-1, all blocks kept: out - b_l equals dense (max diff %.2e): no linear term", m);
    c.params.sla.variant = ATTN_SLA_MAIN;
    CHECK(attn_forward(ctx, &c, &to, &tq, &tk, &tv, NULL) == DIT_OK, "%s", be->err.msg);
    m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)o[i] - (double)b[i % (size_t)D] - (double)ref[i]);
        m = d > m ? d : m;
    }
    CHECK(m > 1e-3, "SLA main, all blocks kept: the linear term is there (max %.2e)", m);
    /* Sq != Sk (blocks counted separately): topk 1, proj_l 0 is still dense */
    c.proj_l_w = &tw0, c.proj_l_b = &tb0, c.params.sla.topk = 1.0f;
    dit_tensor tq_short = t3(q, 77, H, D), to_short = t3(o, 77, H, D);
    attn_stats st;
    memset(&st, 0, sizeof st);
    CHECK(attn_forward(ctx, &c, &to_short, &tq_short, &tk, &tv, &st) == DIT_OK, "%s", be->err.msg);
    dense_ref(&tq_short, &tk, &tv, 0, ref);
    double e = rel_l2(o, ref, (size_t)(77 * H * D));
    CHECK(e < 1e-5 && st.blocks_total == H * 2 * 7, "SLA 77 queries x 200 keys, topk 1 vs dense: rel %.3e, %lld blocks", e,
          (long long)st.blocks_total);
    c.proj_l_w = &tw, c.proj_l_b = &tb;
    /* the smallest budget: one key block per query block */
    c.params.sla.topk = 0.01f;
    attn_selection sel;
    CHECK(attn_select_cpu(be, &c, &tq, &tk, NULL, &sel) == DIT_OK, "%s", be->err.msg);
    int one = sel.nkb == 7 && sel.nqb == 4;
    for (int64_t r = 0; r < H * sel.nqb; r++) one &= sel.row_ptr[r + 1] - sel.row_ptr[r] == 1 && sel.n_ranked[r] == 1;
    CHECK(one && !sel.R && !sel.c && !sel.comp_ptr, "SLA topk 0.01: exactly one key block per row");
    attn_selection_free(&sel);
    free(q), free(k), free(v), free(o), free(ref), free(w0), free(b0), free(w), free(b);
}

static void test_budgets(void) {
    CHECK(attn_rectified_top_k(0.75f, 591) == 147 && attn_rectified_top_k(0.8f, 900) == 180 &&
              attn_rectified_top_k(0.9f, 591) == 59 && attn_rectified_top_k(0.95f, 12) == 1 &&
              attn_rectified_top_k(0.0f, 12) == 12,
          "rectified top_k: %lld %lld %lld", (long long)attn_rectified_top_k(0.75f, 591),
          (long long)attn_rectified_top_k(0.8f, 900), (long long)attn_rectified_top_k(0.9f, 591));
    CHECK(attn_sla_top_k(0.05f, 1182) == 59 && attn_sla_top_k(0.1f, 1182) == 118 && attn_sla_top_k(0.15f, 1182) == 177 &&
              attn_sla_top_k(1.0f, 7) == 7 && attn_sla_top_k(0.01f, 10) == 1 && attn_sla_top_k(0.15f, 20) == 3,
          "SLA T: %lld %lld %lld", (long long)attn_sla_top_k(0.05f, 1182), (long long)attn_sla_top_k(0.1f, 1182),
          (long long)attn_sla_top_k(0.15f, 1182));
}

/* ---------------------------------------------------------------- errors */

#define EXPECT_FAIL(call_, code_, text_)                                                                   \
    do {                                                                                                   \
        dit_status s_ = attn_forward(ctx, &(call_), &to, &tq, &tk, &tv, NULL);                             \
        CHECK(s_ == (code_) && strstr(be->err.msg, (text_)), "expected %s / '%s', got %s: %s", #code_, (text_), \
              dit_status_str(s_), be->err.msg);                                                            \
    } while (0)

static void test_errors(void) {
    int64_t S = 64, H = 1, D = 16;
    size_t n = (size_t)(S * H * D);
    float *q = randv(n, 1), *k = randv(n, 1), *v = randv(n, 1), *o = malloc(n * 4), *w = randv((size_t)(D * D), 1);
    dit_tensor tq = t3(q, S, H, D), tk = t3(k, S, H, D), tv = t3(v, S, H, D), to = t3(o, S, H, D);
    dit_tensor tw = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, w, D, D), tb = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, w, D);
    dit_tensor tw_bad = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, w, D, D - 1);

    attn_call c;
    memset(&c, 0, sizeof c);
    c.params = attn_params_default(ATTN_METHOD_SLA);
    EXPECT_FAIL(c, DIT_ERR_MISSING, "sla needs proj_l");
    CHECK(strstr(be->err.msg, "neither") && strstr(be->err.msg, "[16, 16]"), "names what is missing: %s", be->err.msg);
    c.proj_l_w = &tw;
    EXPECT_FAIL(c, DIT_ERR_MISSING, "no bias");
    c.proj_l_b = &tb;
    CHECK(attn_forward(ctx, &c, &to, &tq, &tk, &tv, NULL) == DIT_OK, "valid SLA call: %s", be->err.msg);
    c.proj_l_w = &tw_bad;
    EXPECT_FAIL(c, DIT_ERR_SHAPE, "proj_l weight must be [16, 16]");
    c.proj_l_w = &tw;
    c.params.sla.topk = 0;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "topk = 0 must be in (0, 1]");
    c.params.sla.topk = 1.5f;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "topk = 1.5");
    c.params.sla.topk = NAN;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "topk = nan");
    c.params.sla.topk = 0.1f;
    c.params.sla.block_q = 0;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "block_q = 0");
    c.params.sla.block_q = 128, c.params.sla.block_k = -1;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "block_k = -1");
    c.params.sla.block_k = 64, c.params.sla.variant = (attn_sla_variant)7;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "variant = 7");
    c.params.sla.variant = ATTN_SLA_MAIN;
    float bias[1];
    dit_tensor tbias = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, bias, 1);
    c.bias = &tbias;
    EXPECT_FAIL(c, DIT_ERR_UNSUPPORTED, "bias");
    c.bias = NULL, c.kv_valid = 10;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "kv_valid = 10");
    c.kv_valid = 0;

    attn_layout lay = {S, 0, 2, NULL, 0};
    c = rect_call(1.0f, 1, &lay);
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "drop_rate = 1 must be in [0, 1)");
    c.params.rect.drop_rate = -0.1f;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "drop_rate = -0.1");
    c.params.rect.drop_rate = 0.5f, c.params.rect.tau = 1.5f;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "tau = 1.5 must be in [0, 1]");
    c.params.rect.tau = NAN;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "tau = nan");
    c.params.rect.tau = 0.3f, c.params.rect.block = -1;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "block = -1");
    c.params.rect.block = 16;
    CHECK(attn_forward(ctx, &c, &to, &tq, &tk, &tv, NULL) == DIT_OK, "valid rectified call: %s", be->err.msg);
    c.params.rect.neighbors = 1;
    EXPECT_FAIL(c, DIT_ERR_MISSING, "no neighbour mask");
    uint8_t nbm[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    lay.neighbor = nbm, lay.neighbor_nb = 3;
    EXPECT_FAIL(c, DIT_ERR_SHAPE, "neighbor_nb = 3, expected 4");
    c.params.rect.neighbors = 0, c.params.rect.forced_square = 1, lay.latent_frames = 0;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "latent_frames");
    c.params.rect.forced_square = 0, lay.n_video = 100;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "n_video = 100 must be in [1, S = 64]");
    lay.n_video = 40, lay.n_text_valid = 30;
    EXPECT_FAIL(c, DIT_ERR_INVALID_ARG, "n_text_valid = 30 must be in [0, S - n_video = 24]");
    lay.n_video = S, lay.n_text_valid = 0;
    dit_tensor tk_short = t3(k, S - 1, H, D), tv_short = t3(v, S - 1, H, D);
    CHECK(attn_forward(ctx, &c, &to, &tq, &tk_short, &tv_short, NULL) == DIT_ERR_SHAPE &&
              strstr(be->err.msg, "same length"),
          "rectified Sq != Sk: %s", be->err.msg);
    /* direct calls: wrong method, bf16 operands, selection of a dense call */
    CHECK(attn_sla_cpu(be, &c, &to, &tq, &tk, &tv, NULL) == DIT_ERR_INVALID_ARG && strstr(be->err.msg, "not sla"),
          "sla_cpu on a rectified call: %s", be->err.msg);
    dit_tensor tq16 = tq;
    tq16.dtype = DIT_DTYPE_BF16;
    CHECK(attn_rectified_cpu(be, &c, &to, &tq16, &tk, &tv, NULL) == DIT_ERR_UNSUPPORTED, "bf16 q: %s", be->err.msg);
    attn_selection sel;
    c.params = attn_params_default(ATTN_METHOD_DENSE);
    CHECK(attn_select_cpu(be, &c, &tq, &tk, &tv, &sel) == DIT_ERR_INVALID_ARG && strstr(be->err.msg, "no block selection"),
          "dense selection: %s", be->err.msg);
    free(q), free(k), free(v), free(o), free(w);
}

static void test_fast_kernel(void) {
    int64_t S = 1296, H = 2, D = 128;
    size_t n = (size_t)(S * H * D);
    float *q = randv(n, 1), *k = randv(n, 1), *v = randv(n, 1), *o = malloc(n * 4), *ref = malloc(n * 4);
    dit_tensor tq = t3(q, S, H, D), tk = t3(k, S, H, D), tv = t3(v, S, H, D);
    float *w0 = calloc((size_t)(D * D), 4), *b0 = calloc((size_t)D, 4);
    dit_tensor tw0 = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, w0, D, D), tb0 = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, b0, D);
    for (int m = 0; m < 3; m++) {
        attn_call c;
        memset(&c, 0, sizeof c);
        c.proj_l_w = &tw0, c.proj_l_b = &tb0; /* (SLA's selection checks them; the kernel does not use them) */
        c.params = attn_params_default(m == 2 ? ATTN_METHOD_RECTIFIED : ATTN_METHOD_SLA);
        if (m == 2) {
            c.params.rect.drop_rate = 0.75f, c.params.rect.tau = 0.3f, c.params.rect.block = 128;
            c.params.rect.neighbors = 0, c.params.rect.forced_square = 0;
        } else {
            c.params.sla.topk = m == 0 ? 0.1f : 1.0f, c.params.sla.block_q = 128, c.params.sla.block_k = 64;
        }
        attn_selection sel;
        if (attn_select_cpu(be, &c, &tq, &tk, &tv, &sel) != DIT_OK) {
            CHECK(0, "selection %d: %s", m, be->err.msg);
            continue;
        }
        double scale = 1.0 / sqrt((double)D);
        memset(o, 0xff, n * 4), memset(ref, 0, n * 4);
        CHECK(attn_cpu_block_sparse(be, &sel, scale, q, k, v, o) == DIT_OK, "%s", be->err.msg);
        CHECK(attn_cpu_block_sparse_f64(be, &sel, scale, q, k, v, ref) == DIT_OK, "%s", be->err.msg);
        double e = rel_l2(o, ref, n);
        printf("fast kernel %-14s rel L2 %.2e vs double, %lld of %lld blocks\n",
               m == 0 ? "sla topk .1" : m == 1 ? "sla all blocks" : "rectified .75", e, (long long)sel.selected,
               (long long)sel.total);
        CHECK(e < 1e-5, "fast block-sparse kernel vs double, case %d: rel %.3e", m, e);
        attn_selection_free(&sel);
    }
    free(q), free(k), free(v), free(o), free(ref), free(w0), free(b0);
}

int main(void) {
    dit_err err = {0};
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) return printf("%s\n", err.msg), 1;
    if (attn_ctx_create(be, &ctx) != DIT_OK) return printf("%s\n", be->err.msg), 1;
    dit_rng_seed(&rng, 7);
    test_goldens();
    test_rect_dense();
    test_gapr_switch();
    test_sla_structure();
    test_budgets();
    test_errors();
    test_fast_kernel();
    attn_ctx_destroy(&ctx);
    dit_backend_destroy(&be);
    return test_summary("test_attn_sparse");
}
