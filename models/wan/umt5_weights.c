/* umt5_weights.c — umT5 checkpoint names (Wan original and HF layouts),
 * locating, config inference, shape checks, upload and the content identity.
 * Renaming is data: one table row per tensor with its name in each layout,
 * where it goes and its expected shape (../shared/specs/wan.md §2, T5 key map;
 * Wan-Video/Wan2.1 wan/modules/t5.py).  Checked by tests/test_umt5.c (both
 * layouts; missing / unexpected / mis-shaped reports) and
 * tests/test_umt5_cache.c (identity). */
#include "umt5.h"

#include <stddef.h> /* offsetof */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, malloc, qsort, bsearch */
#include <string.h> /* strcmp, strncmp, strlen */
#include <time.h>   /* clock_gettime */

#include "../../io/json_file.h" /* io_json_load, io_path_exists, io_path_is_dir */
#include "../../io/weight_check.h" /* io_wcheck_* */

/* Symbolic dims resolved against the config. */
enum { X_END = 0, X_D, X_I, X_F, X_V, X_NB, X_H };
/* Where a tensor goes: the backend, a host f32 copy, or stays in the mapping. */
enum { T_DEV = 0, T_HOST = 1, T_EMBED = 2 };

typedef struct tspec {
    const char *orig, *hf, *hf_alt; /* names; %d = layer; hf_alt: accepted instead of hf */
    size_t off;                     /* field in wan_umt5 (globals) or wan_umt5_block */
    int where;
    dit_weight_kind kind;
    int shape[3];                   /* X_END-terminated */
    int bias_table;                 /* relative-position table: only layer 0 when shared_bias */
} tspec;

#define G(f) offsetof(wan_umt5, f)
#define B(f) offsetof(wan_umt5_block, f)
static const tspec k_global[] = {
    {"token_embedding.weight", "encoder.embed_tokens.weight", "shared.weight", 0, T_EMBED, DIT_WEIGHT_PARAM, {X_V, X_D}, 0},
    {"norm.weight", "encoder.final_layer_norm.weight", NULL, G(final_norm), T_DEV, DIT_WEIGHT_PARAM, {X_D}, 0},
};
#define L0 "encoder.block.%d.layer.0."
#define L1 "encoder.block.%d.layer.1."
static const tspec k_block[] = {
    {"blocks.%d.norm1.weight", L0 "layer_norm.weight", NULL, B(norm1), T_DEV, DIT_WEIGHT_PARAM, {X_D}, 0},
    {"blocks.%d.attn.q.weight", L0 "SelfAttention.q.weight", NULL, B(q_w), T_DEV, DIT_WEIGHT_GEMM, {X_I, X_D}, 0},
    {"blocks.%d.attn.k.weight", L0 "SelfAttention.k.weight", NULL, B(k_w), T_DEV, DIT_WEIGHT_GEMM, {X_I, X_D}, 0},
    {"blocks.%d.attn.v.weight", L0 "SelfAttention.v.weight", NULL, B(v_w), T_DEV, DIT_WEIGHT_GEMM, {X_I, X_D}, 0},
    {"blocks.%d.attn.o.weight", L0 "SelfAttention.o.weight", NULL, B(o_w), T_DEV, DIT_WEIGHT_GEMM, {X_D, X_I}, 0},
    {"blocks.%d.pos_embedding.embedding.weight", L0 "SelfAttention.relative_attention_bias.weight", NULL, B(rel_bias),
     T_HOST, DIT_WEIGHT_PARAM, {X_NB, X_H}, 1},
    {"blocks.%d.norm2.weight", L1 "layer_norm.weight", NULL, B(norm2), T_DEV, DIT_WEIGHT_PARAM, {X_D}, 0},
    {"blocks.%d.ffn.gate.0.weight", L1 "DenseReluDense.wi_0.weight", NULL, B(wi0_w), T_DEV, DIT_WEIGHT_GEMM, {X_F, X_D}, 0},
    {"blocks.%d.ffn.fc1.weight", L1 "DenseReluDense.wi_1.weight", NULL, B(wi1_w), T_DEV, DIT_WEIGHT_GEMM, {X_F, X_D}, 0},
    {"blocks.%d.ffn.fc2.weight", L1 "DenseReluDense.wo.weight", NULL, B(wo_w), T_DEV, DIT_WEIGHT_GEMM, {X_D, X_F}, 0},
};
#define N_GLOBAL (sizeof k_global / sizeof k_global[0])
#define N_BLOCK (sizeof k_block / sizeof k_block[0])
enum { S_Q = 1, S_BIAS = 5, S_WI0 = 7 }; /* rows of k_block used for config inference */

/* Names of Wan's original encoder file (bf16) as safetensors, then as the .pth the reader will open. */
static const char *k_orig_files[] = {"models_t5_umt5-xxl-enc-bf16.safetensors", "umt5-xxl-enc-bf16.safetensors",
                                     "models_t5_umt5-xxl-enc-bf16.pth"};

static int64_t resolve_dim(const wan_umt5_config *c, int x) {
    switch (x) {
    case X_D: return c->d_model;
    case X_I: return (int64_t)c->heads * c->d_kv;
    case X_F: return c->d_ff;
    case X_V: return c->vocab;
    case X_NB: return c->num_buckets;
    case X_H: return c->heads;
    }
    return 0;
}

typedef struct want {
    char name[160], alt[160];
    const tspec *spec;
    int layer; /* -1: global */
    int ndim;
    int64_t shape[3];
    const io_st_tensor *found;
} want;

/* An opened, checked checkpoint: shared by the loader and the identity. */
typedef struct ckpt {
    char cfg_path[4096], wpath[4096];
    wan_umt5_config cfg;
    int layout;
    io_weights *iw;
    want *wants;
    size_t nw;
} ckpt;

static void ckpt_close(ckpt *k) {
    io_weights_close(&k->iw);
    free(k->wants);
    k->wants = NULL;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* config.json at p names a T5-family model. */
static int is_t5_config(const char *p) {
    cJSON *j;
    dit_err e = {0};
    if (!io_path_exists(p) || io_json_load(p, &j, &e) != DIT_OK) return 0;
    const char *mt = io_json_str(j, "model_type", "");
    int ok = !strcmp(mt, "umt5") || !strcmp(mt, "t5") || !strcmp(mt, "mt5");
    cJSON_Delete(j);
    return ok;
}

dit_status wan_umt5_locate(const char *path, char *cfg, size_t cap1, char *wpath, size_t cap2, dit_err *err) {
    char p[8192];
    cfg[0] = 0;
    if (io_path_is_dir(path)) {
        snprintf(p, sizeof p, "%s/text_encoder", path);
        if (io_path_is_dir(p)) return wan_umt5_locate(p, cfg, cap1, wpath, cap2, err);
        snprintf(p, sizeof p, "%s/config.json", path);
        if (is_t5_config(p)) {
            snprintf(cfg, cap1, "%s", p);
            snprintf(wpath, cap2, "%s", path);
            return DIT_OK;
        }
        int has_cfg = io_path_exists(p);
        for (size_t i = 0; i < sizeof k_orig_files / sizeof k_orig_files[0]; i++) {
            snprintf(p, sizeof p, "%s/%s", path, k_orig_files[i]);
            if (io_path_exists(p)) {
                snprintf(wpath, cap2, "%s", p);
                return DIT_OK;
            }
        }
        if (has_cfg)
            return DIT_FAIL(err, DIT_ERR_MISSING,
                            "%s: no umT5 encoder here: config.json is not a T5 config and there is no "
                            "text_encoder/ folder nor %s",
                            path, k_orig_files[0]);
        snprintf(wpath, cap2, "%s", path); /* the folder's only .safetensors (or model.safetensors[.index.json]) */
        return DIT_OK;
    }
    if (!io_path_exists(path)) return DIT_FAIL(err, DIT_ERR_MISSING, "%s: no such file or directory", path);
    snprintf(p, sizeof p, "%s", path);
    char *slash = strrchr(p, '/');
    if (slash) snprintf(slash + 1, sizeof p - (size_t)(slash + 1 - p), "config.json");
    else snprintf(p, sizeof p, "config.json");
    if (is_t5_config(p)) snprintf(cfg, cap1, "%s", p);
    snprintf(wpath, cap2, "%s", path);
    return DIT_OK;
}

static int detect_layout(const io_weights *w) {
    if (io_weights_find(w, "blocks.0.attn.q.weight")) return WAN_UMT5_LAYOUT_ORIGINAL;
    if (io_weights_find(w, "encoder.block.0.layer.0.SelfAttention.q.weight")) return WAN_UMT5_LAYOUT_HF;
    return -1;
}

static const io_st_tensor *find_spec(const io_weights *w, const tspec *s, int layout, int layer) {
    char nm[160];
    snprintf(nm, sizeof nm, layout == WAN_UMT5_LAYOUT_ORIGINAL ? s->orig : s->hf, layer);
    const io_st_tensor *t = io_weights_find(w, nm);
    if (!t && layout == WAN_UMT5_LAYOUT_HF && s->hf_alt) t = io_weights_find(w, s->hf_alt);
    return t;
}

/* No config.json: read the dims off the tensors (either layout), the rest from the umT5-XXL preset. */
static void infer_config(const io_weights *w, int layout, wan_umt5_config *c) {
    wan_umt5_config_preset("umt5-xxl", c);
    const io_st_tensor *e = find_spec(w, &k_global[0], layout, 0);
    if (e && e->ndim == 2) c->vocab = e->shape[0], c->d_model = (int)e->shape[1];
    int n = 0;
    while (n < 100000 && find_spec(w, &k_block[S_Q], layout, n)) n++;
    c->layers = n > 0 ? n : c->layers;
    const io_st_tensor *b = find_spec(w, &k_block[S_BIAS], layout, 0);
    if (b && b->ndim == 2) c->num_buckets = (int)b->shape[0], c->heads = (int)b->shape[1];
    const io_st_tensor *q = find_spec(w, &k_block[S_Q], layout, 0);
    if (q && q->ndim == 2 && c->heads > 0 && q->shape[0] % c->heads == 0) c->d_kv = (int)(q->shape[0] / c->heads);
    const io_st_tensor *f = find_spec(w, &k_block[S_WI0], layout, 0);
    if (f && f->ndim == 2) c->d_ff = (int)f->shape[0];
    c->shared_bias = c->layers > 1 && b && !find_spec(w, &k_block[S_BIAS], layout, 1);
}

static void resolve_want(want *w, const tspec *s, int layout, int layer, const wan_umt5_config *c) {
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, layout == WAN_UMT5_LAYOUT_ORIGINAL ? s->orig : s->hf, layer < 0 ? 0 : layer);
    if (layout == WAN_UMT5_LAYOUT_HF && s->hf_alt) snprintf(w->alt, sizeof w->alt, "%s", s->hf_alt);
    w->spec = s;
    w->layer = layer;
    while (w->ndim < 3 && s->shape[w->ndim] != X_END) {
        w->shape[w->ndim] = resolve_dim(c, s->shape[w->ndim]);
        w->ndim++;
    }
}

/* A full HF T5 checkpoint also holds the decoder and LM head: not ours, not an error. */
static int not_encoder(const char *nm, const void *user) {
    return *(const int *)user == WAN_UMT5_LAYOUT_HF && (!strncmp(nm, "decoder.", 8) || !strncmp(nm, "lm_head.", 8));
}

/* Find and shape-check every expected tensor; list every unexpected one. */
static dit_status check_tensors(ckpt *k, dit_err *err) {
    const wan_umt5_config *c = &k->cfg;
    k->wants = calloc(N_GLOBAL + N_BLOCK * (size_t)c->layers, sizeof *k->wants);
    if (!k->wants) return DIT_FAIL(err, DIT_ERR_OOM, "umt5: tensor tables for %d layers", c->layers);
    for (size_t i = 0; i < N_GLOBAL; i++) resolve_want(&k->wants[k->nw++], &k_global[i], k->layout, -1, c);
    for (int l = 0; l < c->layers; l++)
        for (size_t i = 0; i < N_BLOCK; i++) {
            if (k_block[i].bias_table && c->shared_bias && l > 0) continue;
            resolve_want(&k->wants[k->nw++], &k_block[i], k->layout, l, c);
        }
    io_wcheck wc;
    io_wcheck_init(&wc);
    for (size_t i = 0; i < k->nw; i++) {
        want *w = &k->wants[i];
        w->found = io_wcheck_find(&wc, k->iw, w->name, w->alt[0] ? w->alt : NULL, w->shape, w->ndim);
    }
    int layout = k->layout;
    io_wcheck_unexpected(&wc, k->iw, not_encoder, &layout);
    dit_status s = io_wcheck_result(&wc, err,
                                    "%s (umT5 %s layout, config %s: d_model %d, %d layers, %d heads x %d, d_ff %d, "
                                    "vocab %lld)",
                                    k->wpath, k->layout == WAN_UMT5_LAYOUT_ORIGINAL ? "original (Wan)" : "HF",
                                    k->cfg_path[0] ? k->cfg_path : "inferred from the tensor shapes", c->d_model,
                                    c->layers, c->heads, c->d_kv, c->d_ff, (long long)c->vocab);
    io_wcheck_free(&wc);
    return s;
}

static dit_status ckpt_open(const char *path, ckpt *k, dit_err *err) {
    memset(k, 0, sizeof *k);
    DIT_TRY(wan_umt5_locate(path, k->cfg_path, sizeof k->cfg_path, k->wpath, sizeof k->wpath, err));
    if (k->cfg_path[0]) {
        cJSON *cj;
        DIT_TRY(io_json_load(k->cfg_path, &cj, err));
        dit_status s = wan_umt5_config_from_json(cj, k->cfg_path, &k->cfg, err);
        cJSON_Delete(cj);
        if (s != DIT_OK) return s;
    }
    dit_status s = io_weights_open(k->wpath, "model", &k->iw, err);
    if (s != DIT_OK) {
        if (ends_with(k->wpath, ".pth"))
            dit_err_wrap(err, "%s is a PyTorch pickle; this build reads safetensors only (convert it, or use a "
                              "safetensors copy such as umt5-xxl-enc-bf16.safetensors)", k->wpath);
        return s;
    }
    k->layout = detect_layout(k->iw);
    if (k->layout < 0) {
        char first[256] = "";
        if (io_weights_count(k->iw) > 0) snprintf(first, sizeof first, " (first tensor: '%s')", io_weights_at(k->iw, 0)->name);
        s = DIT_FAIL(err, DIT_ERR_FORMAT,
                     "%s: not a umT5 encoder checkpoint: neither 'blocks.0.attn.q.weight' (Wan original layout) nor "
                     "'encoder.block.0.layer.0.SelfAttention.q.weight' (HF layout) is among its %d tensors%s",
                     k->wpath, io_weights_count(k->iw), first);
        ckpt_close(k);
        return s;
    }
    if (!k->cfg_path[0]) infer_config(k->iw, k->layout, &k->cfg);
    s = check_tensors(k, err);
    if (s != DIT_OK) ckpt_close(k);
    return s;
}

/* --- identity: FNV-1a (two bases) over config, dtypes, shapes and sampled bytes --- */
typedef struct hash2 {
    uint64_t a, b;
} hash2;

static void hash_bytes(hash2 *h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h->a = (h->a ^ s[i]) * 1099511628211ull;
        h->b = (h->b ^ s[i]) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
    }
}
static void hash_i64(hash2 *h, int64_t v) { hash_bytes(h, &v, sizeof v); }

static void ckpt_identity(const ckpt *k, char *id, size_t cap) {
    hash2 h = {1469598103934665603ull, 0x84222325cbf29ce4ull};
    const wan_umt5_config *c = &k->cfg;
    int64_t cv[] = {c->vocab, c->d_model, c->d_kv, c->heads, c->d_ff, c->layers, c->num_buckets, c->max_distance,
                    (int64_t)(c->eps * 1e12f), c->act, c->shared_bias};
    hash_bytes(&h, cv, sizeof cv);
    enum { SAMPLE = 4096 };
    for (size_t i = 0; i < k->nw; i++) { /* by role (table order), so both layouts of one model agree */
        const io_st_tensor *t = k->wants[i].found;
        hash_i64(&h, (int64_t)i);
        hash_i64(&h, t->dtype);
        for (int d = 0; d < t->ndim; d++) hash_i64(&h, t->shape[d]);
        size_t bytes = t->end - t->begin;
        const unsigned char *p = t->data;
        if (bytes <= 4 * SAMPLE) {
            hash_bytes(&h, p, bytes);
        } else { /* head, middle and tail of large tensors */
            hash_bytes(&h, p, SAMPLE);
            hash_bytes(&h, p + bytes / 2, SAMPLE);
            hash_bytes(&h, p + bytes - SAMPLE, SAMPLE);
        }
    }
    snprintf(id, cap, "umt5-%dx%d-%016llx%016llx", c->d_model, c->layers, (unsigned long long)h.a,
             (unsigned long long)h.b);
}

dit_status wan_umt5_identity(const char *path, char *id, size_t cap, dit_err *err) {
    ckpt k;
    DIT_TRY(ckpt_open(path, &k, err));
    ckpt_identity(&k, id, cap);
    ckpt_close(&k);
    return DIT_OK;
}

/* --- load --- */
void wan_umt5_free(wan_umt5 **pm) {
    if (!pm || !*pm) return;
    wan_umt5 *m = *pm;
    dit_backend *be = m->be;
    dit_backend_tensor_free(be, &m->final_norm);
    dit_backend_tensor_free(be, &m->bias);
    for (int l = 0; m->blocks && l < m->cfg.layers; l++) {
        wan_umt5_block *b = &m->blocks[l];
        dit_tensor *dev[] = {&b->norm1, &b->q_w, &b->k_w, &b->v_w, &b->o_w, &b->norm2, &b->wi0_w, &b->wi1_w, &b->wo_w};
        for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) dit_backend_tensor_free(be, dev[i]);
        free(b->rel_bias);
    }
    free(m->blocks);
    io_weights_close(&m->w);
    free(m);
    *pm = NULL;
}

static dit_status upload_want(wan_umt5 *m, const want *w, dit_err *err) {
    const tspec *s = w->spec;
    void *base = w->layer < 0 ? (void *)m : (void *)&m->blocks[w->layer];
    if (s->where == T_EMBED) {
        m->embed = w->found;
        return DIT_OK;
    }
    int64_t n = io_st_tensor_numel(w->found);
    float *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!tmp) return DIT_FAIL(err, DIT_ERR_OOM, "staging '%s' (%lld floats)", w->found->name, (long long)n);
    dit_status st = io_st_tensor_to_f32(w->found, tmp, n, io_weights_file_of(m->w, w->found), err);
    if (st == DIT_OK && s->where == T_HOST) {
        *(float **)((char *)base + s->off) = tmp;
        return DIT_OK;
    }
    if (st == DIT_OK) {
        dit_tensor *dst = (dit_tensor *)((char *)base + s->off);
        st = dit_backend_weight_from_f32(m->be, dst, s->kind, tmp, w->ndim, w->shape);
        if (st != DIT_OK) {
            if (err != &m->be->err) *err = m->be->err;
            dit_err_wrap(err, "uploading '%s'", w->found->name);
        } else {
            m->bytes_on_device += (int64_t)dit_tensor_nbytes(dst);
        }
    }
    free(tmp);
    return st;
}

dit_status wan_umt5_load(const char *path, dit_backend *be, wan_umt5 **out, dit_err *err) {
    *out = NULL;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ckpt k;
    DIT_TRY(ckpt_open(path, &k, err));
    wan_umt5 *m = calloc(1, sizeof *m);
    if (m) m->blocks = calloc((size_t)k.cfg.layers, sizeof *m->blocks);
    if (!m || !m->blocks) {
        if (m) free(m->blocks);
        free(m);
        ckpt_close(&k);
        return DIT_FAIL(err, DIT_ERR_OOM, "umt5 model tables");
    }
    m->cfg = k.cfg;
    m->layout = (wan_umt5_layout)k.layout;
    m->be = be;
    ckpt_identity(&k, m->identity, sizeof m->identity);
    m->w = k.iw; /* the model owns the mapping from here on */
    k.iw = NULL;
    dit_status s = DIT_OK;
    for (size_t i = 0; s == DIT_OK && i < k.nw; i++) s = upload_want(m, &k.wants[i], err);
    ckpt_close(&k);
    if (s != DIT_OK) {
        wan_umt5_free(&m);
        return s;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    m->ms_load = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) * 1e-6;
    *out = m;
    return DIT_OK;
}
