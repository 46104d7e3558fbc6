/* vae_weights.c — Wan VAE decoder checkpoint names (original and diffusers
 * layouts), shape checks and upload.
 *
 * Renaming is data: per-layout tables of top-level names, residual-block
 * sub-names and block prefixes (../shared/specs/wan.md §2 "VAE key map",
 * diffusers convert_wan_vae_to_diffusers).  The loader builds the full list of
 * expected tensors from the config, looks every one up, and reports missing,
 * mis-shaped and unexpected tensors together.  Encoder tensors are skipped.
 * Convolutions are stored f32 [Co, Ci, kt, kh, kw] (2-D convs get kt = 1); the
 * mid attention's 1x1 projections are GEMM weights [N, K]; gammas are [C].
 * Checked by tests/test_vae.c (both layouts bit-identical, bad checkpoints). */
#include "vae.h"
#include "vae_internal.h" /* vae_config_check, vae_param_counts */

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, malloc, free, qsort, bsearch */
#include <string.h> /* strcmp, strncmp, strlen */

#include "../../io/json_file.h" /* io_json_load, io_path_exists, io_path_is_dir */
#include "../../io/weight_check.h" /* io_wcheck_* */
#include "../../io/weights.h"   /* io_weights */

/* top-level tensors (prefix of .weight/.bias or the full gamma name) */
enum { N_POST_QUANT = 0, N_CONV_IN, N_NORM_OUT, N_CONV_OUT, N_TOP };
static const char *const k_top[2][N_TOP] = {
    {"conv2", "decoder.conv1", "decoder.head.0.gamma", "decoder.head.2"},
    {"post_quant_conv", "decoder.conv_in", "decoder.norm_out.gamma", "decoder.conv_out"},
};
/* residual block sub-names: norm1, conv1, norm2, conv2, shortcut */
static const char *const k_res[2][5] = {
    {"residual.0.gamma", "residual.2", "residual.3.gamma", "residual.6", "shortcut"},
    {"norm1.gamma", "conv1", "norm2.gamma", "conv2", "conv_shortcut"},
};
/* encoder-side tensors a full VAE checkpoint also holds: skipped without a word */
static const char *const k_skip[2][2] = {{"encoder.", "conv1."}, {"encoder.", "quant_conv."}};

/* block prefixes; original upsamples are one flat list: per level nres residual blocks then the resampler */
static void mid_res_prefix(int layout, int k, char *p, size_t cap) {
    if (layout == WAN_VAE_LAYOUT_ORIGINAL) snprintf(p, cap, "decoder.middle.%d.", k == 0 ? 0 : 2);
    else snprintf(p, cap, "decoder.mid_block.resnets.%d.", k);
}
static void mid_attn_prefix(int layout, char *p, size_t cap) {
    snprintf(p, cap, "%s", layout == WAN_VAE_LAYOUT_ORIGINAL ? "decoder.middle.1." : "decoder.mid_block.attentions.0.");
}
static void up_res_prefix(int layout, int nres, int i, int r, char *p, size_t cap) {
    if (layout == WAN_VAE_LAYOUT_ORIGINAL) snprintf(p, cap, "decoder.upsamples.%d.", i * (nres + 1) + r);
    else snprintf(p, cap, "decoder.up_blocks.%d.resnets.%d.", i, r);
}
static void up_sampler_prefix(int layout, int nres, int i, char *p, size_t cap) {
    if (layout == WAN_VAE_LAYOUT_ORIGINAL) snprintf(p, cap, "decoder.upsamples.%d.", i * (nres + 1) + nres);
    else snprintf(p, cap, "decoder.up_blocks.%d.upsamplers.0.", i);
}

/* dst = a + b, truncated to cap - 1 bytes (names and paths here are far shorter); dst may alias a. */
static void join(char *dst, size_t cap, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > cap - 1) la = cap - 1;
    if (lb > cap - 1 - la) lb = cap - 1 - la;
    memmove(dst, a, la); /* dst may be a */
    memmove(dst + la, b, lb);
    dst[la + lb] = 0;
}

typedef struct vwant {
    char name[160];
    dit_tensor *dst;
    dit_weight_kind kind;
    int ndim, sndim;  /* file and stored rank */
    int64_t shape[5], store[5];
    const io_st_tensor *found;
} vwant;

typedef struct wlist {
    vwant *w;
    int n, cap, oom;
    int layout;
    int n_caches;
} wlist;

static vwant *add(wlist *L, const char *name, dit_tensor *dst, dit_weight_kind kind, int nd, const int64_t *shape,
                  int snd, const int64_t *store) {
    if (L->n == L->cap) {
        int nc = L->cap ? 2 * L->cap : 64;
        vwant *nw = realloc(L->w, (size_t)nc * sizeof *nw);
        if (!nw) {
            L->oom = 1;
            return NULL;
        }
        L->w = nw, L->cap = nc;
    }
    vwant *w = &L->w[L->n++];
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->dst = dst, w->kind = kind, w->ndim = nd, w->sndim = snd;
    memcpy(w->shape, shape, (size_t)nd * sizeof *shape);
    memcpy(w->store, store, (size_t)snd * sizeof *store);
    return w;
}

/* prefix.weight [co, ci, (kt,) kh, kw] and prefix.bias [co]; file_2d: a Conv2d (no kt in the file) */
static void add_conv(wlist *L, const char *prefix, wan_vae_conv *cv, int64_t co, int64_t ci, int64_t kt, int64_t kh,
                     int64_t kw, int file_2d) {
    char n[160];
    int64_t s5[5] = {co, ci, kt, kh, kw}, s4[4] = {co, ci, kh, kw}, sb[1] = {co};
    join(n, sizeof n, prefix, "weight");
    add(L, n, &cv->w, DIT_WEIGHT_PARAM, file_2d ? 4 : 5, file_2d ? s4 : s5, 5, s5);
    join(n, sizeof n, prefix, "bias");
    add(L, n, &cv->b, DIT_WEIGHT_PARAM, 1, sb, 1, sb);
    cv->cache = kt == 3 ? L->n_caches++ : -1;
}

/* RMS_norm gamma: [C, 1, 1, 1] (images=False) or [C, 1, 1] (images=True), stored [C] */
static void add_gamma(wlist *L, const char *name, dit_tensor *dst, int64_t C, int file_nd) {
    int64_t s[4] = {C, 1, 1, 1};
    add(L, name, dst, DIT_WEIGHT_PARAM, file_nd, s, 1, s);
}

static void add_res(wlist *L, const char *prefix, wan_vae_res *r, int cin, int cout) {
    char n[160];
    const char *const *sub = k_res[L->layout];
    r->cin = cin, r->cout = cout;
    snprintf(n, sizeof n, "%s%s", prefix, sub[0]);
    add_gamma(L, n, &r->norm1, cin, 4);
    snprintf(n, sizeof n, "%s%s.", prefix, sub[1]);
    add_conv(L, n, &r->conv1, cout, cin, 3, 3, 3, 0);
    snprintf(n, sizeof n, "%s%s", prefix, sub[2]);
    add_gamma(L, n, &r->norm2, cout, 4);
    snprintf(n, sizeof n, "%s%s.", prefix, sub[3]);
    add_conv(L, n, &r->conv2, cout, cout, 3, 3, 3, 0);
    if (cin != cout) {
        snprintf(n, sizeof n, "%s%s.", prefix, sub[4]);
        add_conv(L, n, &r->shortcut, cout, cin, 1, 1, 1, 0);
    }
}

static void add_attn(wlist *L, const char *prefix, wan_vae_attn *a, int C) {
    char n[160];
    a->c = C;
    join(n, sizeof n, prefix, "norm.gamma");
    add_gamma(L, n, &a->norm, C, 3);
    int64_t qf[4] = {3 * (int64_t)C, C, 1, 1}, qs[2] = {3 * (int64_t)C, C}, qb[1] = {3 * (int64_t)C};
    int64_t pf[4] = {C, C, 1, 1}, ps[2] = {C, C}, pb[1] = {C};
    join(n, sizeof n, prefix, "to_qkv.weight");
    add(L, n, &a->qkv_w, DIT_WEIGHT_GEMM, 4, qf, 2, qs);
    join(n, sizeof n, prefix, "to_qkv.bias");
    add(L, n, &a->qkv_b, DIT_WEIGHT_PARAM, 1, qb, 1, qb);
    join(n, sizeof n, prefix, "proj.weight");
    add(L, n, &a->proj_w, DIT_WEIGHT_GEMM, 4, pf, 2, ps);
    join(n, sizeof n, prefix, "proj.bias");
    add(L, n, &a->proj_b, DIT_WEIGHT_PARAM, 1, pb, 1, pb);
}

/* dims = base * [mult[-1], mult[-1], mult[-2], ..., mult[0]] */
static int vae_dim(const wan_vae_config *c, int k) {
    return c->base_dim * (k == 0 ? c->dim_mult[c->n_levels - 1] : c->dim_mult[c->n_levels - k]);
}

/* Allocate the block structure and list every tensor the decoder needs. */
static dit_status build_wants(wan_vae *v, wlist *L, dit_err *err) {
    const wan_vae_config *c = &v->cfg;
    const int lay = L->layout, nres = c->num_res_blocks + 1, n = c->n_levels;
    char p[160];
    v->up = calloc((size_t)n, sizeof *v->up);
    if (!v->up) return DIT_FAIL(err, DIT_ERR_OOM, "VAE block tables");
    for (int i = 0; i < n; i++) {
        v->up[i].res = calloc((size_t)nres, sizeof *v->up[i].res);
        if (!v->up[i].res) return DIT_FAIL(err, DIT_ERR_OOM, "VAE block tables");
    }
    snprintf(p, sizeof p, "%s.", k_top[lay][N_POST_QUANT]);
    add_conv(L, p, &v->post_quant, c->z_dim, c->z_dim, 1, 1, 1, 0);
    snprintf(p, sizeof p, "%s.", k_top[lay][N_CONV_IN]);
    add_conv(L, p, &v->conv_in, vae_dim(c, 0), c->z_dim, 3, 3, 3, 0);
    for (int k = 0; k < 2; k++) {
        mid_res_prefix(lay, k, p, sizeof p);
        add_res(L, p, &v->mid_res[k], vae_dim(c, 0), vae_dim(c, 0));
    }
    mid_attn_prefix(lay, p, sizeof p);
    add_attn(L, p, &v->mid_attn, vae_dim(c, 0));
    for (int i = 0; i < n; i++) {
        wan_vae_up *u = &v->up[i];
        u->cin = i == 0 ? vae_dim(c, 0) : vae_dim(c, i) / 2;
        u->cout = vae_dim(c, i + 1);
        u->nres = nres;
        int cin = u->cin;
        for (int r = 0; r < nres; r++) {
            up_res_prefix(lay, nres, i, r, p, sizeof p);
            add_res(L, p, &u->res[r], cin, u->cout);
            cin = u->cout;
        }
        u->mode = i == n - 1 ? WAN_VAE_UP_NONE : c->temporal_down[n - 2 - i] ? WAN_VAE_UP_3D : WAN_VAE_UP_2D;
        u->time_conv.cache = u->resample.cache = -1;
        if (u->mode == WAN_VAE_UP_NONE) continue;
        char q[200];
        up_sampler_prefix(lay, nres, i, p, sizeof p);
        if (u->mode == WAN_VAE_UP_3D) {
            snprintf(q, sizeof q, "%stime_conv.", p);
            add_conv(L, q, &u->time_conv, 2 * (int64_t)u->cout, u->cout, 3, 1, 1, 0);
        }
        snprintf(q, sizeof q, "%sresample.1.", p);
        add_conv(L, q, &u->resample, u->cout / 2, u->cout, 1, 3, 3, 1);
    }
    add_gamma(L, k_top[lay][N_NORM_OUT], &v->norm_out, c->base_dim, 4);
    snprintf(p, sizeof p, "%s.", k_top[lay][N_CONV_OUT]);
    add_conv(L, p, &v->conv_out, c->out_channels, c->base_dim, 3, 3, 3, 0);
    v->n_caches = L->n_caches;
    return L->oom ? DIT_FAIL(err, DIT_ERR_OOM, "VAE tensor list") : DIT_OK;
}

void wan_vae_free(wan_vae **pv) {
    if (!pv || !*pv) return;
    wan_vae *v = *pv;
    dit_backend *be = v->be;
    wan_vae_conv *convs[4] = {&v->post_quant, &v->conv_in, &v->conv_out, NULL};
    for (int i = 0; convs[i]; i++) dit_backend_tensor_free(be, &convs[i]->w), dit_backend_tensor_free(be, &convs[i]->b);
    wan_vae_res *all[2] = {&v->mid_res[0], &v->mid_res[1]};
    for (int k = 0; k < 2; k++) {
        wan_vae_res *r = all[k];
        dit_backend_tensor_free(be, &r->norm1), dit_backend_tensor_free(be, &r->norm2);
        dit_backend_tensor_free(be, &r->conv1.w), dit_backend_tensor_free(be, &r->conv1.b);
        dit_backend_tensor_free(be, &r->conv2.w), dit_backend_tensor_free(be, &r->conv2.b);
        dit_backend_tensor_free(be, &r->shortcut.w), dit_backend_tensor_free(be, &r->shortcut.b);
    }
    wan_vae_attn *a = &v->mid_attn;
    dit_backend_tensor_free(be, &a->norm), dit_backend_tensor_free(be, &a->qkv_w), dit_backend_tensor_free(be, &a->qkv_b);
    dit_backend_tensor_free(be, &a->proj_w), dit_backend_tensor_free(be, &a->proj_b);
    for (int i = 0; v->up && i < v->cfg.n_levels; i++) {
        wan_vae_up *u = &v->up[i];
        for (int r = 0; u->res && r < u->nres; r++) {
            wan_vae_res *rb = &u->res[r];
            dit_backend_tensor_free(be, &rb->norm1), dit_backend_tensor_free(be, &rb->norm2);
            dit_backend_tensor_free(be, &rb->conv1.w), dit_backend_tensor_free(be, &rb->conv1.b);
            dit_backend_tensor_free(be, &rb->conv2.w), dit_backend_tensor_free(be, &rb->conv2.b);
            dit_backend_tensor_free(be, &rb->shortcut.w), dit_backend_tensor_free(be, &rb->shortcut.b);
        }
        free(u->res);
        dit_backend_tensor_free(be, &u->time_conv.w), dit_backend_tensor_free(be, &u->time_conv.b);
        dit_backend_tensor_free(be, &u->resample.w), dit_backend_tensor_free(be, &u->resample.b);
    }
    free(v->up);
    dit_backend_tensor_free(be, &v->norm_out);
    free(v);
    *pv = NULL;
}

/* Use `json` as the config when it is an AutoencoderKLWan config; *found = 0 when absent or another class. */
static dit_status try_config(const char *json, wan_vae_config *cfg, int *found, dit_err *err) {
    *found = 0;
    if (!io_path_exists(json) || io_path_is_dir(json)) return DIT_OK;
    cJSON *j;
    DIT_TRY(io_json_load(json, &j, err));
    dit_status s = DIT_OK;
    const char *cls = io_json_str(j, "_class_name", "");
    if (!strcmp(cls, "AutoencoderKLWan")) {
        s = wan_vae_config_from_json(j, json, cfg, err);
        *found = s == DIT_OK;
    }
    cJSON_Delete(j);
    return s;
}

/* Resolve the weights path and config (see wan_vae_load). */
static dit_status locate(const char *path, int want_cfg, char *wpath, size_t cap, wan_vae_config *cfg,
                         int *have_cfg, const char **cfg_src, dit_err *err) {
    char p[8192], dir[8192];
    if (!io_path_exists(path)) return DIT_FAIL(err, DIT_ERR_MISSING, "%s: no such file or directory", path);
    if (io_path_is_dir(path)) {
        join(dir, sizeof dir, path, "");
        join(p, sizeof p, path, "/vae");
        if (io_path_is_dir(p)) join(dir, sizeof dir, p, ""); /* diffusers pipeline folder */
        join(p, sizeof p, dir, "/config.json");
        if (want_cfg) DIT_TRY(try_config(p, cfg, have_cfg, err));
        else *have_cfg = io_path_exists(p); /* caller's config: the folder still holds the weights */
        if (*have_cfg) {
            *cfg_src = "config.json";
            snprintf(wpath, cap, "%s", dir);
            return DIT_OK;
        }
        const char *names[2] = {"Wan2.1_VAE.safetensors", "Wan2_1_VAE_fp32.safetensors"};
        for (int i = 0; i < 2; i++) {
            join(p, sizeof p, dir, "/");
            join(p, sizeof p, p, names[i]);
            if (io_path_exists(p)) {
                snprintf(wpath, cap, "%s", p);
                return DIT_OK;
            }
        }
        return DIT_FAIL(err, DIT_ERR_MISSING,
                        "%s: no Wan VAE here (looked for vae/ or config.json with _class_name AutoencoderKLWan, and "
                        "Wan2.1_VAE.safetensors)",
                        path);
    }
    snprintf(wpath, cap, "%s", path);
    snprintf(p, sizeof p, "%s", path);
    char *slash = strrchr(p, '/');
    if (slash) snprintf(slash + 1, sizeof p - (size_t)(slash + 1 - p), "config.json");
    else snprintf(p, sizeof p, "config.json");
    if (want_cfg) DIT_TRY(try_config(p, cfg, have_cfg, err));
    if (*have_cfg) *cfg_src = "config.json beside the weights";
    return DIT_OK;
}

/* The encoder side of a full VAE checkpoint: not ours, not an error. */
static int encoder_side(const char *nm, const void *user) {
    const char *const *sk = k_skip[*(const int *)user];
    return !strncmp(nm, sk[0], strlen(sk[0])) || !strncmp(nm, sk[1], strlen(sk[1]));
}

/* Which layout; -1 with a hint when neither decoder.conv1 nor decoder.conv_in is present. */
static int detect_layout(const io_weights *iw, char *hint, size_t cap) {
    if (io_weights_find(iw, "decoder.conv1.weight")) return WAN_VAE_LAYOUT_ORIGINAL;
    if (io_weights_find(iw, "decoder.conv_in.weight")) return WAN_VAE_LAYOUT_DIFFUSERS;
    hint[0] = 0;
    const char *keys[2] = {"decoder.conv1.weight", "decoder.conv_in.weight"};
    for (int i = 0; i < io_weights_count(iw) && !hint[0]; i++) {
        const char *nm = io_weights_at(iw, i)->name;
        size_t ln = strlen(nm);
        for (int k = 0; k < 2; k++) {
            size_t lk = strlen(keys[k]);
            if (ln > lk && !strcmp(nm + ln - lk, keys[k]))
                snprintf(hint, cap, "; '%s' looks like a prefixed key (prefix '%.*s'): strip the prefix", nm,
                         (int)(ln - lk), nm);
        }
    }
    if (!hint[0] && io_weights_count(iw) > 0) snprintf(hint, cap, " (first tensor: '%s')", io_weights_at(iw, 0)->name);
    return -1;
}

static dit_status upload(const vwant *w, const io_weights *iw, dit_backend *be, dit_err *err) {
    int64_t n = io_st_tensor_numel(w->found);
    float *tmp = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!tmp) return DIT_FAIL(err, DIT_ERR_OOM, "staging '%s' (%lld floats)", w->name, (long long)n);
    dit_status s = io_st_tensor_to_f32(w->found, tmp, n, io_weights_file_of(iw, w->found), err);
    if (s == DIT_OK) {
        s = dit_backend_weight_from_f32(be, w->dst, w->kind, tmp, w->sndim, w->store);
        if (s != DIT_OK) {
            *err = be->err;
            dit_err_wrap(err, "uploading '%s'", w->name);
        }
    }
    free(tmp);
    return s;
}

/* Look every wanted tensor up; collect missing / mis-shaped / unexpected into one message. */
static dit_status check_all(wlist *L, const io_weights *iw, const char *wpath, const wan_vae_config *c,
                            const char *cfg_src, dit_err *err) {
    io_wcheck wc;
    io_wcheck_init(&wc);
    for (int i = 0; i < L->n; i++)
        L->w[i].found = io_wcheck_find(&wc, iw, L->w[i].name, NULL, L->w[i].shape, L->w[i].ndim);
    int layout = L->layout;
    io_wcheck_unexpected(&wc, iw, encoder_side, &layout);
    dit_status s = io_wcheck_result(&wc, err,
                                    "%s (%s layout, config from %s: base_dim %d, z_dim %d, %d levels, %d res blocks)",
                                    wpath, L->layout == WAN_VAE_LAYOUT_ORIGINAL ? "original" : "diffusers", cfg_src,
                                    c->base_dim, c->z_dim, c->n_levels, c->num_res_blocks);
    io_wcheck_free(&wc);
    return s;
}

dit_status vae_param_counts(const wan_vae_config *c, int64_t *f32_params, int64_t *gemm_params, dit_err *err) {
    *f32_params = *gemm_params = 0;
    wan_vae *v = calloc(1, sizeof *v);
    if (!v) return DIT_FAIL(err, DIT_ERR_OOM, "VAE model");
    v->cfg = *c;
    wlist L;
    memset(&L, 0, sizeof L);
    L.layout = WAN_VAE_LAYOUT_DIFFUSERS;
    dit_status s = build_wants(v, &L, err);
    for (int i = 0; s == DIT_OK && i < L.n; i++) {
        int64_t n = 1;
        for (int d = 0; d < L.w[i].sndim; d++) n *= L.w[i].store[d];
        *(L.w[i].kind == DIT_WEIGHT_GEMM ? gemm_params : f32_params) += n;
    }
    free(L.w);
    wan_vae_free(&v); /* no tensor holds data: frees the tables only */
    return s;
}

dit_status wan_vae_read_config(const char *path, wan_vae_config *cfg, dit_err *err) {
    char wpath[8192];
    wan_vae_config_default(cfg);
    int have_cfg = 0;
    const char *cfg_src = "the Wan2.1 defaults";
    return locate(path, 1, wpath, sizeof wpath, cfg, &have_cfg, &cfg_src, err);
}

dit_status wan_vae_load(const char *path, const wan_vae_config *cfg, dit_backend *be, wan_vae **out, dit_err *err) {
    *out = NULL;
    char wpath[8192];
    wan_vae_config c;
    wan_vae_config_default(&c);
    int have_cfg = 0;
    const char *cfg_src = "the Wan2.1 defaults";
    DIT_TRY(locate(path, cfg == NULL, wpath, sizeof wpath, &c, &have_cfg, &cfg_src, err));
    if (cfg) {
        c = *cfg, cfg_src = "the caller";
        DIT_TRY(vae_config_check(&c, "VAE config from the caller", err));
    }
    io_weights *iw;
    DIT_TRY(io_weights_open(wpath, "diffusion_pytorch_model", &iw, err));
    char hint[512];
    int layout = detect_layout(iw, hint, sizeof hint);
    if (layout < 0) {
        dit_status s = DIT_FAIL(err, DIT_ERR_FORMAT,
                                "%s: not a Wan VAE checkpoint: neither 'decoder.conv1.weight' (original layout) nor "
                                "'decoder.conv_in.weight' (diffusers layout) among %d tensors%s",
                                wpath, io_weights_count(iw), hint);
        io_weights_close(&iw);
        return s;
    }
    wan_vae *v = calloc(1, sizeof *v);
    if (!v) {
        io_weights_close(&iw);
        return DIT_FAIL(err, DIT_ERR_OOM, "VAE model");
    }
    v->cfg = c, v->layout = (wan_vae_layout)layout, v->be = be;
    wlist L;
    memset(&L, 0, sizeof L);
    L.layout = layout;
    dit_status s = build_wants(v, &L, err);
    if (s == DIT_OK) s = check_all(&L, iw, wpath, &c, cfg_src, err);
    for (int i = 0; s == DIT_OK && i < L.n; i++) {
        s = upload(&L.w[i], iw, be, err);
        if (s == DIT_OK) v->bytes_on_device += (int64_t)dit_tensor_nbytes(L.w[i].dst);
    }
    free(L.w);
    io_weights_close(&iw);
    if (s != DIT_OK) {
        wan_vae_free(&v);
        return s;
    }
    *out = v;
    return DIT_OK;
}
