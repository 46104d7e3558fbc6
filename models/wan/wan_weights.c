/* wan_weights.c — Wan DiT checkpoint names (original and diffusers layouts),
 * shape checks and upload.  Renaming is data: one table row per tensor with the
 * name in each layout, the field it fills and its expected file shape
 * (../shared/specs/wan.md §2).  Checked by tests/test_wan_golden.c (both
 * layouts) and tests/test_wan_bad.c (missing / unexpected / mis-shaped). */
#include "wan_dit.h"

#include <stddef.h> /* offsetof */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc */
#include <math.h>   /* sqrtf */
#include <string.h> /* strcmp, strstr */

#include "../../io/json_file.h" /* io_path_exists, io_json_load */
#include "../../io/weight_check.h" /* io_wcheck_* */
#include "wan_variant.h"           /* wan_config_infer, wan_variant_detect */

/* Symbolic dims resolved against the config. */
enum { X_END = 0, X_DIM, X_FFN, X_TEXT, X_FREQ, X_6DIM, X_IN, X_OUTP, X_PT, X_PH, X_PW, X_ONE, X_TWO, X_SIX, X_HD };

typedef struct wspec {
    const char *orig, *diff; /* names; %d = block index */
    size_t off;              /* field offset in wan_dit or wan_block */
    dit_weight_kind kind;
    int shape[6];            /* file shape, X_END-terminated */
    int flag;                /* 0 always, 1 needs cross_attn_norm, 2 needs qk_norm */
} wspec;

#define G(f) offsetof(wan_dit, f)
#define B(f) offsetof(wan_block, f)
static const wspec k_global[] = {
    {"patch_embedding.weight", "patch_embedding.weight", G(patch_w), DIT_WEIGHT_GEMM, {X_DIM, X_IN, X_PT, X_PH, X_PW}, 0},
    {"patch_embedding.bias", "patch_embedding.bias", G(patch_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"text_embedding.0.weight", "condition_embedder.text_embedder.linear_1.weight", G(text1_w), DIT_WEIGHT_GEMM, {X_DIM, X_TEXT}, 0},
    {"text_embedding.0.bias", "condition_embedder.text_embedder.linear_1.bias", G(text1_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"text_embedding.2.weight", "condition_embedder.text_embedder.linear_2.weight", G(text2_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"text_embedding.2.bias", "condition_embedder.text_embedder.linear_2.bias", G(text2_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"time_embedding.0.weight", "condition_embedder.time_embedder.linear_1.weight", G(time1_w), DIT_WEIGHT_PARAM, {X_DIM, X_FREQ}, 0},
    {"time_embedding.0.bias", "condition_embedder.time_embedder.linear_1.bias", G(time1_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"time_embedding.2.weight", "condition_embedder.time_embedder.linear_2.weight", G(time2_w), DIT_WEIGHT_PARAM, {X_DIM, X_DIM}, 0},
    {"time_embedding.2.bias", "condition_embedder.time_embedder.linear_2.bias", G(time2_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"time_projection.1.weight", "condition_embedder.time_proj.weight", G(tproj_w), DIT_WEIGHT_PARAM, {X_6DIM, X_DIM}, 0},
    {"time_projection.1.bias", "condition_embedder.time_proj.bias", G(tproj_b), DIT_WEIGHT_PARAM, {X_6DIM}, 0},
    {"head.modulation", "scale_shift_table", G(head_mod), DIT_WEIGHT_PARAM, {X_ONE, X_TWO, X_DIM}, 0},
    {"head.head.weight", "proj_out.weight", G(head_w), DIT_WEIGHT_PARAM, {X_OUTP, X_DIM}, 0},
    {"head.head.bias", "proj_out.bias", G(head_b), DIT_WEIGHT_PARAM, {X_OUTP}, 0},
};

static const wspec k_block[] = {
    {"blocks.%d.modulation", "blocks.%d.scale_shift_table", B(modulation), DIT_WEIGHT_PARAM, {X_ONE, X_SIX, X_DIM}, 0},
    {"blocks.%d.self_attn.q.weight", "blocks.%d.attn1.to_q.weight", B(sa_q_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.self_attn.q.bias", "blocks.%d.attn1.to_q.bias", B(sa_q_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.self_attn.k.weight", "blocks.%d.attn1.to_k.weight", B(sa_k_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.self_attn.k.bias", "blocks.%d.attn1.to_k.bias", B(sa_k_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.self_attn.v.weight", "blocks.%d.attn1.to_v.weight", B(sa_v_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.self_attn.v.bias", "blocks.%d.attn1.to_v.bias", B(sa_v_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.self_attn.o.weight", "blocks.%d.attn1.to_out.0.weight", B(sa_o_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.self_attn.o.bias", "blocks.%d.attn1.to_out.0.bias", B(sa_o_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.self_attn.norm_q.weight", "blocks.%d.attn1.norm_q.weight", B(sa_norm_q), DIT_WEIGHT_PARAM, {X_DIM}, 2},
    {"blocks.%d.self_attn.norm_k.weight", "blocks.%d.attn1.norm_k.weight", B(sa_norm_k), DIT_WEIGHT_PARAM, {X_DIM}, 2},
    {"blocks.%d.norm3.weight", "blocks.%d.norm2.weight", B(norm3_w), DIT_WEIGHT_PARAM, {X_DIM}, 1},
    {"blocks.%d.norm3.bias", "blocks.%d.norm2.bias", B(norm3_b), DIT_WEIGHT_PARAM, {X_DIM}, 1},
    {"blocks.%d.cross_attn.q.weight", "blocks.%d.attn2.to_q.weight", B(ca_q_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.cross_attn.q.bias", "blocks.%d.attn2.to_q.bias", B(ca_q_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.cross_attn.k.weight", "blocks.%d.attn2.to_k.weight", B(ca_k_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.cross_attn.k.bias", "blocks.%d.attn2.to_k.bias", B(ca_k_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.cross_attn.v.weight", "blocks.%d.attn2.to_v.weight", B(ca_v_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.cross_attn.v.bias", "blocks.%d.attn2.to_v.bias", B(ca_v_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.cross_attn.o.weight", "blocks.%d.attn2.to_out.0.weight", B(ca_o_w), DIT_WEIGHT_GEMM, {X_DIM, X_DIM}, 0},
    {"blocks.%d.cross_attn.o.bias", "blocks.%d.attn2.to_out.0.bias", B(ca_o_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
    {"blocks.%d.cross_attn.norm_q.weight", "blocks.%d.attn2.norm_q.weight", B(ca_norm_q), DIT_WEIGHT_PARAM, {X_DIM}, 2},
    {"blocks.%d.cross_attn.norm_k.weight", "blocks.%d.attn2.norm_k.weight", B(ca_norm_k), DIT_WEIGHT_PARAM, {X_DIM}, 2},
    {"blocks.%d.ffn.0.weight", "blocks.%d.ffn.net.0.proj.weight", B(ffn1_w), DIT_WEIGHT_GEMM, {X_FFN, X_DIM}, 0},
    {"blocks.%d.ffn.0.bias", "blocks.%d.ffn.net.0.proj.bias", B(ffn1_b), DIT_WEIGHT_PARAM, {X_FFN}, 0},
    {"blocks.%d.ffn.2.weight", "blocks.%d.ffn.net.2.weight", B(ffn2_w), DIT_WEIGHT_GEMM, {X_DIM, X_FFN}, 0},
    {"blocks.%d.ffn.2.bias", "blocks.%d.ffn.net.2.bias", B(ffn2_b), DIT_WEIGHT_PARAM, {X_DIM}, 0},
};

/* SLA proj_l: optional as a set (all blocks or none), under any of the names
 * the published SLA code bases use (sla.md §2). */
static const char *k_proj_l_names[][2] = {
    {"blocks.%d.self_attn.attn_op.local_attn.proj_l.weight", "blocks.%d.self_attn.attn_op.local_attn.proj_l.bias"},
    {"blocks.%d.attn1.attn_impl.proj_l.weight", "blocks.%d.attn1.attn_impl.proj_l.bias"},
    {"blocks.%d.attn1.local_attn.proj_l.weight", "blocks.%d.attn1.local_attn.proj_l.bias"},
};
#define N_PROJ_L_NAMES (int)(sizeof k_proj_l_names / sizeof k_proj_l_names[0])

static int64_t resolve_dim(const wan_config *c, int x) {
    switch (x) {
    case X_DIM: return c->dim;
    case X_FFN: return c->ffn_dim;
    case X_TEXT: return c->text_dim;
    case X_FREQ: return c->freq_dim;
    case X_6DIM: return 6 * (int64_t)c->dim;
    case X_IN: return c->in_dim;
    case X_OUTP: return (int64_t)c->out_dim * c->patch[0] * c->patch[1] * c->patch[2];
    case X_PT: return c->patch[0];
    case X_PH: return c->patch[1];
    case X_PW: return c->patch[2];
    case X_ONE: return 1;
    case X_TWO: return 2;
    case X_SIX: return 6;
    case X_HD: return c->head_dim;
    }
    return 0;
}

/* One expected tensor after names and shapes are resolved. */
typedef struct want {
    char name[160];
    dit_tensor *dst;
    dit_weight_kind kind;
    int ndim;
    int64_t shape[6];
    int optional_set;  /* proj_l: present for all blocks or none */
    const io_st_tensor *found;
} want;

dit_status wan_dit_locate(const char *path, char *cfg, size_t cap1, char *wpath, size_t cap2, dit_err *err) {
    char p[8192];
    if (io_path_is_dir(path)) {
        snprintf(p, sizeof p, "%s/transformer/config.json", path);
        if (io_path_exists(p)) {
            snprintf(cfg, cap1, "%s", p);
            snprintf(wpath, cap2, "%s/transformer", path);
            return DIT_OK;
        }
        snprintf(p, sizeof p, "%s/config.json", path);
        if (io_path_exists(p)) {
            snprintf(cfg, cap1, "%s", p);
            snprintf(wpath, cap2, "%s", path);
            return DIT_OK;
        }
        return DIT_FAIL(err, DIT_ERR_MISSING,
                        "%s: no model here (expected config.json with diffusion_pytorch_model*.safetensors, or a "
                        "diffusers pipeline folder with transformer/config.json)",
                        path);
    }
    if (!io_path_exists(path)) return DIT_FAIL(err, DIT_ERR_MISSING, "%s: no such file or directory", path);
    snprintf(p, sizeof p, "%s", path);
    char *slash = strrchr(p, '/');
    if (slash) snprintf(slash + 1, sizeof p - (size_t)(slash + 1 - p), "config.json");
    else snprintf(p, sizeof p, "config.json");
    /* none beside a lone file (TurboWan .pth): "" and the loaders infer the config from the tensors */
    snprintf(cfg, cap1, "%s", io_path_exists(p) ? p : "");
    snprintf(wpath, cap2, "%s", path);
    return DIT_OK;
}

static int detect_layout(const io_weights *w) {
    if (io_weights_find(w, "blocks.0.self_attn.q.weight")) return WAN_LAYOUT_ORIGINAL;
    if (io_weights_find(w, "blocks.0.attn1.to_q.weight")) return WAN_LAYOUT_DIFFUSERS;
    return -1;
}

void wan_dit_free(wan_dit **pm) {
    if (!pm || !*pm) return;
    wan_dit *m = *pm;
    dit_backend *be = m->be;
    for (size_t i = 0; i < sizeof k_global / sizeof k_global[0]; i++)
        dit_backend_tensor_free(be, (dit_tensor *)((char *)m + k_global[i].off));
    for (int b = 0; m->blocks && b < m->cfg.layers; b++) {
        wan_block *blk = &m->blocks[b];
        for (size_t i = 0; i < sizeof k_block / sizeof k_block[0]; i++)
            dit_backend_tensor_free(be, (dit_tensor *)((char *)blk + k_block[i].off));
        dit_backend_tensor_free(be, &blk->proj_l_w);
        dit_backend_tensor_free(be, &blk->proj_l_b);
    }
    free(m->blocks);
    free(m);
    *pm = NULL;
}

static void resolve_want(want *w, const wspec *s, int layout, int block, void *base, const wan_config *c) {
    const char *pat = layout == WAN_LAYOUT_ORIGINAL ? s->orig : s->diff;
    snprintf(w->name, sizeof w->name, pat, block);
    w->dst = (dit_tensor *)((char *)base + s->off);
    w->kind = s->kind;
    w->ndim = 0;
    while (w->ndim < 6 && s->shape[w->ndim] != X_END) {
        w->shape[w->ndim] = resolve_dim(c, s->shape[w->ndim]);
        w->ndim++;
    }
    w->optional_set = 0;
    w->found = NULL;
}

/* Upload one found tensor as f32 -> backend dtype, stored 2-D for GEMM weights
 * (Conv3d patch weights flatten to [dim, in*pt*ph*pw]) and squeezed for tables. */
static dit_status upload_want(const want *w, const io_weights *iw, dit_backend *be, dit_err *err) {
    int64_t n = io_st_tensor_numel(w->found);
    float *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!tmp) return DIT_FAIL(err, DIT_ERR_OOM, "staging '%s' (%lld floats)", w->name, (long long)n);
    dit_status s = io_st_tensor_to_f32(w->found, tmp, n, io_weights_file_of(iw, w->found), err);
    if (s == DIT_OK) {
        int64_t ne[2];
        int nd;
        if (w->ndim == 1) {
            nd = 1, ne[0] = w->shape[0];
        } else if (w->ndim == 3 && w->shape[0] == 1) { /* [1, k, dim] tables -> [k, dim] */
            nd = 2, ne[0] = w->shape[1], ne[1] = w->shape[2];
        } else {
            nd = 2, ne[0] = w->shape[0], ne[1] = n / w->shape[0];
        }
        s = dit_backend_weight_from_f32(be, w->dst, w->kind, tmp, nd, ne);
        if (s != DIT_OK) {
            *err = be->err;
            dit_err_wrap(err, "uploading '%s'", w->name);
        }
    }
    free(tmp);
    return s;
}

dit_status wan_dit_read_config(const char *path, wan_config *cfg, dit_err *err) {
    char cfg_path[8192], wpath[8192];
    DIT_TRY(wan_dit_locate(path, cfg_path, sizeof cfg_path, wpath, sizeof wpath, err));
    if (!cfg_path[0]) { /* a lone weights file (TurboWan .pth): the config from the tensor shapes, as wan_dit_load */
        io_weights *iw;
        DIT_TRY(io_weights_open(wpath, "diffusion_pytorch_model", &iw, err));
        dit_status s = wan_config_infer(iw, wpath, cfg, err);
        if (s != DIT_OK) dit_err_wrap(err, "%s: no config.json beside the weights file", wpath);
        io_weights_close(&iw);
        return s;
    }
    cJSON *cj;
    DIT_TRY(io_json_load(cfg_path, &cj, err));
    dit_status s = wan_config_from_json(cj, cfg_path, cfg, err);
    cJSON_Delete(cj);
    return s;
}

dit_status wan_dit_load(const char *path, dit_backend *be, wan_dit **out, dit_err *err) {
    *out = NULL;
    char cfg_path[8192], wpath[8192];
    DIT_TRY(wan_dit_locate(path, cfg_path, sizeof cfg_path, wpath, sizeof wpath, err));
    wan_config cfg;
    if (cfg_path[0]) { /* the config first: its errors come before any weights problem */
        cJSON *cj;
        DIT_TRY(io_json_load(cfg_path, &cj, err));
        dit_status sc = wan_config_from_json(cj, cfg_path, &cfg, err);
        cJSON_Delete(cj);
        if (sc != DIT_OK) return sc;
    }
    io_weights *iw;
    DIT_TRY(io_weights_open(wpath, "diffusion_pytorch_model", &iw, err));
    dit_status s = DIT_OK;
    if (!cfg_path[0]) {
        s = wan_config_infer(iw, wpath, &cfg, err);
        if (s != DIT_OK) dit_err_wrap(err, "%s: no config.json beside the weights file", wpath);
        snprintf(cfg_path, sizeof cfg_path, "inferred from the tensor shapes");
    }
    if (s == DIT_OK && wan_variant_detect(iw) == WAN_VARIANT_TURBOWAN_INT8)
        s = DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                     "%s: a TurboWan int8 checkpoint (TurboDiffusion -quant.pth: blocks.N....int8_weight [out, in] "
                     "int8 + .scale [out/128, in/128] f32 per 128x128 block): int8 linear layers are not supported "
                     "yet; use the unquantized TurboWan .pth (docs/turbowan.md)",
                     wpath);
    if (s != DIT_OK) {
        io_weights_close(&iw);
        return s;
    }
    int layout = detect_layout(iw);
    if (layout < 0) {
        char first[256] = "";
        if (io_weights_count(iw) > 0) snprintf(first, sizeof first, " (first tensor: '%s')", io_weights_at(iw, 0)->name);
        s = DIT_FAIL(err, DIT_ERR_FORMAT,
                     "%s: not a Wan DiT checkpoint: neither 'blocks.0.self_attn.q.weight' (original layout) nor "
                     "'blocks.0.attn1.to_q.weight' (diffusers layout) is present among %d tensors%s",
                     wpath, io_weights_count(iw), first);
        io_weights_close(&iw);
        return s;
    }
    wan_dit *m = calloc(1, sizeof *m);
    if (m) m->blocks = calloc((size_t)cfg.layers, sizeof *m->blocks);
    size_t nglob = sizeof k_global / sizeof k_global[0], nblk = sizeof k_block / sizeof k_block[0];
    size_t nwant = nglob + (nblk + 2) * (size_t)cfg.layers;
    want *wants = calloc(nwant, sizeof *wants);
    if (!m || !m->blocks || !wants) {
        free(wants);
        if (m) free(m->blocks);
        free(m);
        io_weights_close(&iw);
        return DIT_FAIL(err, DIT_ERR_OOM, "model tables");
    }
    m->cfg = cfg;
    m->layout = (wan_layout)layout;
    m->be = be;
    /* resolve every expected tensor */
    size_t nw = 0;
    for (size_t i = 0; i < nglob; i++) resolve_want(&wants[nw++], &k_global[i], layout, 0, m, &cfg);
    /* TurboDiffusion's patch embedding is an nn.Linear: [dim, in*pt*ph*pw], the Conv3d weight flattened
     * in the same (c, kt, kh, kw) order, which is how it is uploaded anyway */
    const io_st_tensor *pe = io_weights_find(iw, wants[0].name);
    if (pe && pe->ndim == 2 && wants[0].ndim == 5) {
        wants[0].ndim = 2;
        wants[0].shape[1] = wants[0].shape[1] * wants[0].shape[2] * wants[0].shape[3] * wants[0].shape[4];
    }
    for (int b = 0; b < cfg.layers; b++)
        for (size_t i = 0; i < nblk; i++) {
            if ((k_block[i].flag == 1 && !cfg.cross_attn_norm) || (k_block[i].flag == 2 && !cfg.qk_norm)) continue;
            resolve_want(&wants[nw++], &k_block[i], layout, b, &m->blocks[b], &cfg);
        }
    /* SLA proj_l under whichever name variant the checkpoint uses */
    int pl = -1;
    for (int v = 0; v < N_PROJ_L_NAMES && pl < 0; v++) {
        char nm[160];
        snprintf(nm, sizeof nm, k_proj_l_names[v][0], 0);
        if (io_weights_find(iw, nm)) pl = v;
    }
    if (pl >= 0) {
        for (int b = 0; b < cfg.layers; b++)
            for (int k = 0; k < 2; k++) {
                want *w = &wants[nw++];
                snprintf(w->name, sizeof w->name, k_proj_l_names[pl][k], b);
                w->dst = k == 0 ? &m->blocks[b].proj_l_w : &m->blocks[b].proj_l_b;
                w->kind = DIT_WEIGHT_PARAM;
                w->ndim = k == 0 ? 2 : 1;
                w->shape[0] = cfg.head_dim;
                w->shape[1] = cfg.head_dim;
                w->optional_set = 1;
            }
    }
    /* find + shape check, collecting every problem */
    io_wcheck wc;
    io_wcheck_init(&wc);
    for (size_t i = 0; i < nw; i++)
        wants[i].found = io_wcheck_find(&wc, iw, wants[i].name, NULL, wants[i].shape, wants[i].ndim);
    io_wcheck_unexpected(&wc, iw, NULL, NULL);
    s = io_wcheck_result(&wc, err, "%s (%s layout, config %s: dim %d, %d layers, %d heads, ffn %d)", wpath,
                         layout == WAN_LAYOUT_ORIGINAL ? "original" : "diffusers", cfg_path, cfg.dim, cfg.layers,
                         cfg.heads, cfg.ffn_dim);
    io_wcheck_free(&wc);
    for (size_t i = 0; s == DIT_OK && i < nw; i++) {
        s = upload_want(&wants[i], iw, be, err);
        if (s == DIT_OK) m->bytes_on_device += (int64_t)dit_tensor_nbytes(wants[i].dst);
    }
    m->has_proj_l = pl >= 0;
    free(wants);
    io_weights_close(&iw);
    if (s != DIT_OK) {
        wan_dit_free(&m);
        return s;
    }
    *out = m;
    return DIT_OK;
}

/* Random weights of a given config, filled on the backend's device (deterministic for a seed and identical
 * across backends before rounding): for benchmarks at real shapes without checkpoints. */
static dit_status random_tensor(dit_backend *be, const wspec *s, void *base, const wan_config *c, uint64_t seed,
                                int64_t *bytes) {
    want w;
    resolve_want(&w, s, WAN_LAYOUT_DIFFUSERS, 0, base, c);
    int64_t n = 1;
    for (int d = 0; d < w.ndim; d++) n *= w.shape[d];
    int64_t ne[2];
    int nd;
    if (w.ndim == 1) nd = 1, ne[0] = w.shape[0];
    else if (w.ndim == 3 && w.shape[0] == 1) nd = 2, ne[0] = w.shape[1], ne[1] = w.shape[2];
    else nd = 2, ne[0] = w.shape[0], ne[1] = n / w.shape[0];
    dit_dtype dt = s->kind == DIT_WEIGHT_GEMM ? be->gemm_dtype : DIT_DTYPE_F32;
    DIT_TRY(dit_backend_tensor_alloc(be, w.dst, dt, nd, ne));
    float lo, hi;
    if (strstr(w.name, "norm") && nd == 1) lo = 0.8f, hi = 1.2f;
    else if (nd == 1) lo = -0.05f, hi = 0.05f;
    else if (strstr(w.name, "scale_shift_table")) lo = -1.7320508f / sqrtf((float)c->dim), hi = -lo;
    else hi = 1.7320508f / sqrtf((float)ne[1]), lo = -hi;
    *bytes += (int64_t)dit_tensor_nbytes(w.dst);
    return be->ops->fill_uniform(be, w.dst, seed, lo, hi);
}

dit_status wan_dit_init_random(const wan_config *cfg, dit_backend *be, uint64_t seed, wan_dit **out, dit_err *err) {
    *out = NULL;
    if (!be->ops->fill_uniform)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "backend '%s' cannot fill random weights", be->name);
    wan_dit *m = calloc(1, sizeof *m);
    if (m) m->blocks = calloc((size_t)cfg->layers, sizeof *m->blocks);
    if (!m || !m->blocks) {
        if (m) free(m->blocks);
        free(m);
        return DIT_FAIL(err, DIT_ERR_OOM, "model tables");
    }
    m->cfg = *cfg;
    m->layout = WAN_LAYOUT_DIFFUSERS;
    m->be = be;
    dit_status s = DIT_OK;
    uint64_t k = 0;
    for (size_t i = 0; s == DIT_OK && i < sizeof k_global / sizeof k_global[0]; i++)
        s = random_tensor(be, &k_global[i], m, cfg, seed + 7919 * (k++), &m->bytes_on_device);
    for (int b = 0; s == DIT_OK && b < cfg->layers; b++)
        for (size_t i = 0; s == DIT_OK && i < sizeof k_block / sizeof k_block[0]; i++) {
            if ((k_block[i].flag == 1 && !cfg->cross_attn_norm) || (k_block[i].flag == 2 && !cfg->qk_norm)) continue;
            s = random_tensor(be, &k_block[i], &m->blocks[b], cfg, seed + 7919 * (k++), &m->bytes_on_device);
        }
    if (s == DIT_OK) s = be->ops->sync(be);
    if (s != DIT_OK) {
        *err = be->err;
        wan_dit_free(&m);
        return err->code ? err->code : s;
    }
    *out = m;
    return DIT_OK;
}

dit_status wan_dit_add_random_proj_l(wan_dit *m, uint64_t seed, dit_err *err) {
    dit_backend *be = m->be;
    if (!be->ops->fill_uniform)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "backend '%s' cannot fill random weights", be->name);
    if (m->has_proj_l) return DIT_OK;
    int64_t hd = m->cfg.head_dim;
    float hi = 1.7320508f / sqrtf((float)hd);
    dit_status s = DIT_OK;
    for (int b = 0; s == DIT_OK && b < m->cfg.layers; b++) {
        int64_t ne_w[2] = {hd, hd}, ne_b[1] = {hd};
        wan_block *blk = &m->blocks[b];
        s = dit_backend_tensor_alloc(be, &blk->proj_l_w, DIT_DTYPE_F32, 2, ne_w);
        if (s == DIT_OK) s = be->ops->fill_uniform(be, &blk->proj_l_w, seed + 2 * (uint64_t)b, -hi, hi);
        if (s == DIT_OK) s = dit_backend_tensor_alloc(be, &blk->proj_l_b, DIT_DTYPE_F32, 1, ne_b);
        if (s == DIT_OK) s = be->ops->fill_uniform(be, &blk->proj_l_b, seed + 2 * (uint64_t)b + 1, -0.05f, 0.05f);
        if (s == DIT_OK) m->bytes_on_device += (int64_t)(dit_tensor_nbytes(&blk->proj_l_w) + dit_tensor_nbytes(&blk->proj_l_b));
    }
    if (s == DIT_OK) s = be->ops->sync(be);
    if (s != DIT_OK) {
        *err = be->err;
        return err->code ? err->code : s;
    }
    m->has_proj_l = 1;
    return DIT_OK;
}

dit_status wan_dit_probe_proj_l(const char *path, int *has, dit_err *err) {
    *has = 0;
    char cfg_path[8192], wpath[8192];
    DIT_TRY(wan_dit_locate(path, cfg_path, sizeof cfg_path, wpath, sizeof wpath, err));
    io_weights *iw = NULL;
    DIT_TRY(io_weights_open(wpath, "diffusion_pytorch_model", &iw, err));
    for (int v = 0; v < N_PROJ_L_NAMES && !*has; v++) {
        char nm[160];
        snprintf(nm, sizeof nm, k_proj_l_names[v][0], 0);
        *has = io_weights_find(iw, nm) != NULL;
    }
    io_weights_close(&iw);
    return DIT_OK;
}
