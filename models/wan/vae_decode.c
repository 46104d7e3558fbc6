/* vae_decode.c — the Wan VAE decoder streamed one latent frame at a time, for one
 * spatial region (the whole frame or a tile), calling ops only through the backend
 * vtable and attn_forward.
 *
 * Buffers: two ping-pong activation buffers (the stream), one for norm/SiLU and
 * upsampling output, one scratch where a causal conv's input is assembled behind
 * its 2 cached frames, one for 1x1x1 shortcuts, attention rows, and one 2-frame
 * cache per causal conv.  All are carved from one arena whose size vae_plan_make
 * computes by walking the same structure with the largest frame count per level
 * (1 latent frame in, then x2 per Up3d).  Every view is checked against its
 * buffer's capacity, so a plan/decoder mismatch is an error, not an overrun.
 *
 * Causal conv with cache: scratch = [cache(2 frames), input(t frames)], conv with
 * no time padding, then cache = scratch frames [t, t+2).  Caches start at zero for
 * each region, which is the reference's zero front padding; the first chunk skips
 * every Up3d time_conv (the reference's 'Rep'), whose cache then stays zero.
 * Checked against diffusers by tests/test_vae.c (rel L2 <= 1e-4).
 */
#include "vae_internal.h"

#include <math.h>   /* sqrtf */
#include <stdlib.h> /* calloc, malloc, free */
#include <string.h> /* memset */

#include "../../attention/attn.h" /* attn_ctx, attn_forward */
#include "../../dit/arena.h"      /* dit_arena */

struct vae_ctx {
    wan_vae *v;
    dit_backend *be;
    dit_arena arena;
    attn_ctx *attn;
    vae_plan plan;
    int64_t hl_max, wl_max;
    dit_tensor bx, by, bn, bs, bsc, bz; /* flat f32 buffers (capacity = ne[0]) */
    dit_tensor ba[5];                   /* flat attention buffers in the activation dtype */
    dit_tensor cache[VAE_MAX_CACHES];   /* flat f32 caches */
    float *zhost;                       /* [z_dim, hl_max, wl_max] staging */
    float inv_std[WAN_VAE_MAX_Z];
};

/* ---- plan: the decoder's buffer needs, walked over the config ---- */

typedef struct pwalk {
    vae_plan *p;
    int64_t H, W, t;
} pwalk;

#define UPD(field, v)                        \
    do {                                     \
        int64_t v_ = (v);                    \
        if (v_ > w->p->field) w->p->field = v_; \
    } while (0)

static void plan_cached_conv(pwalk *w, int64_t ci) {
    int64_t HW = w->H * w->W;
    UPD(scratch, ci * (w->t + 2) * HW);
    if (w->p->n_caches < VAE_MAX_CACHES) w->p->cache[w->p->n_caches] = ci * 2 * HW;
    w->p->n_caches++;
}

static void plan_res(pwalk *w, int64_t cin, int64_t cout) {
    int64_t n = w->t * w->H * w->W;
    UPD(stream, cin * n);
    UPD(stream, cout * n);
    if (cin != cout) UPD(shortcut, cout * n);
    UPD(norm, cin * n);
    UPD(norm, cout * n);
    plan_cached_conv(w, cin);
    plan_cached_conv(w, cout);
}

static int64_t plan_dim(const wan_vae_config *c, int k) {
    return (int64_t)c->base_dim * (k == 0 ? c->dim_mult[c->n_levels - 1] : c->dim_mult[c->n_levels - k]);
}

dit_status vae_plan_make(const wan_vae_config *c, int64_t hl, int64_t wl, dit_dtype act, vae_plan *p, dit_err *err) {
    memset(p, 0, sizeof *p);
    pwalk wk = {p, hl, wl, 1}, *w = &wk;
    int64_t HW = hl * wl, d0 = plan_dim(c, 0);
    UPD(zin, (int64_t)c->z_dim * HW);
    UPD(stream, (int64_t)c->z_dim * HW);          /* post_quant output */
    plan_cached_conv(w, c->z_dim);                /* conv_in */
    UPD(stream, d0 * HW);
    plan_res(w, d0, d0);                          /* mid */
    UPD(norm, d0 * HW);                           /* attention: norm, rows [P, C] back to [C, P] */
    UPD(scratch, d0 * HW);                        /* attention tokens [P, C] (f32) */
    p->attn = d0 * HW;
    p->n_attn = act == DIT_DTYPE_F32 ? 4 : 5;
    plan_res(w, d0, d0);
    for (int i = 0; i < c->n_levels; i++) {
        int64_t cin = i == 0 ? d0 : plan_dim(c, i) / 2, cout = plan_dim(c, i + 1);
        for (int r = 0; r <= c->num_res_blocks; r++, cin = cout) plan_res(w, cin, cout);
        if (i == c->n_levels - 1) break;
        if (c->temporal_down[c->n_levels - 2 - i]) { /* Up3d time_conv on chunks after the first */
            plan_cached_conv(w, cout);
            UPD(stream, 2 * cout * w->t * w->H * w->W);
            w->t *= 2;
            UPD(stream, cout * w->t * w->H * w->W);
        }
        w->H *= 2, w->W *= 2;
        UPD(norm, cout * w->t * w->H * w->W);        /* nearest 2x */
        UPD(stream, cout / 2 * w->t * w->H * w->W);  /* 3x3 conv C -> C/2 */
    }
    int64_t n = w->t * w->H * w->W;
    UPD(norm, (int64_t)c->base_dim * n);             /* head */
    plan_cached_conv(w, c->base_dim);
    UPD(stream, (int64_t)c->out_channels * n);
    if (p->n_caches > VAE_MAX_CACHES)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "VAE: %d causal convolutions, at most %d supported", p->n_caches,
                        VAE_MAX_CACHES);
    size_t b = 2 * dit_arena_bytes(DIT_DTYPE_F32, p->stream) + dit_arena_bytes(DIT_DTYPE_F32, p->norm) +
               dit_arena_bytes(DIT_DTYPE_F32, p->scratch) + dit_arena_bytes(DIT_DTYPE_F32, p->shortcut) +
               dit_arena_bytes(DIT_DTYPE_F32, p->zin) + (size_t)p->n_attn * dit_arena_bytes(act, p->attn);
    for (int k = 0; k < p->n_caches; k++) b += dit_arena_bytes(DIT_DTYPE_F32, p->cache[k]);
    p->bytes = b;
    return DIT_OK;
}
#undef UPD

/* ---- context ---- */

static dit_status carve(dit_arena *a, dit_tensor *t, const char *what, dit_dtype dt, int64_t n) {
    int64_t ne[1] = {n > 0 ? n : 1};
    return dit_arena_tensor(a, t, what, dt, 1, ne);
}

dit_status vae_ctx_create(wan_vae *v, int64_t hl_max, int64_t wl_max, vae_ctx **out, dit_err *err) {
    *out = NULL;
    dit_backend *be = v->be;
    vae_ctx *c = calloc(1, sizeof *c);
    if (!c) return DIT_FAIL(err, DIT_ERR_OOM, "VAE decode context");
    c->v = v, c->be = be, c->hl_max = hl_max, c->wl_max = wl_max;
    dit_status s = vae_plan_make(&v->cfg, hl_max, wl_max, be->act_dtype, &c->plan, err);
    if (s == DIT_OK && c->plan.n_caches != v->n_caches)
        s = DIT_FAIL(err, DIT_ERR_INTERNAL, "VAE: plan has %d causal convs, the model %d", c->plan.n_caches, v->n_caches);
    if (s == DIT_OK) {
        c->zhost = malloc((size_t)(v->cfg.z_dim * hl_max * wl_max) * sizeof(float));
        if (!c->zhost) s = DIT_FAIL(err, DIT_ERR_OOM, "VAE latent staging");
    }
    if (s == DIT_OK) {
        dit_status sb = dit_arena_init(&c->arena, be, c->plan.bytes);
        if (sb == DIT_OK) {
            const vae_plan *p = &c->plan;
            dit_arena *a = &c->arena;
            sb = carve(a, &c->bx, "stream A", DIT_DTYPE_F32, p->stream);
            if (sb == DIT_OK) sb = carve(a, &c->by, "stream B", DIT_DTYPE_F32, p->stream);
            if (sb == DIT_OK) sb = carve(a, &c->bn, "norm", DIT_DTYPE_F32, p->norm);
            if (sb == DIT_OK) sb = carve(a, &c->bs, "conv scratch", DIT_DTYPE_F32, p->scratch);
            if (sb == DIT_OK) sb = carve(a, &c->bsc, "shortcut", DIT_DTYPE_F32, p->shortcut);
            if (sb == DIT_OK) sb = carve(a, &c->bz, "latent frame", DIT_DTYPE_F32, p->zin);
            for (int k = 0; sb == DIT_OK && k < p->n_attn; k++)
                sb = carve(a, &c->ba[k], "attention", be->act_dtype, p->attn);
            for (int k = 0; sb == DIT_OK && k < p->n_caches; k++)
                sb = carve(a, &c->cache[k], "conv cache", DIT_DTYPE_F32, p->cache[k]);
        }
        if (sb == DIT_OK) sb = attn_ctx_create(be, &c->attn);
        if (sb != DIT_OK) { /* these report through the backend */
            *err = be->err;
            s = dit_err_wrap(err, "VAE decoder buffers for %lldx%lld latent tiles (%.1f MiB)", (long long)hl_max,
                             (long long)wl_max, (double)c->plan.bytes / (1 << 20));
        }
    }
    if (s != DIT_OK) {
        vae_ctx_free(&c);
        return s;
    }
    for (int i = 0; i < v->cfg.z_dim; i++) c->inv_std[i] = 1.0f / v->cfg.latents_std[i]; /* as the reference */
    *out = c;
    return DIT_OK;
}

void vae_ctx_free(vae_ctx **pc) {
    if (!pc || !*pc) return;
    vae_ctx *c = *pc;
    if (c->arena.base) dit_arena_free(&c->arena);
    attn_ctx_destroy(&c->attn);
    free(c->zhost);
    free(c);
    *pc = NULL;
}

size_t vae_ctx_arena_bytes(const vae_ctx *c) { return c->arena.cap; }
size_t vae_ctx_arena_peak(const vae_ctx *c) { return c->arena.peak; }

/* ---- forward ---- */

#define BE(call)                     \
    do {                             \
        dit_status s_ = (call);      \
        if (s_ != DIT_OK) return s_; \
    } while (0)

/* A [C, T, H, W] view of a flat buffer, checked against its capacity. */
static dit_status view4(vae_ctx *c, const dit_tensor *buf, const char *what, int64_t C, int64_t T, int64_t H,
                        int64_t W, dit_tensor *out) {
    int64_t n = C * T * H * W;
    if (n > buf->ne[0])
        return DIT_FAIL(&c->be->err, DIT_ERR_INTERNAL,
                        "VAE buffer '%s' holds %lld elements, [%lld, %lld, %lld, %lld] needs %lld (plan and decoder disagree)",
                        what, (long long)buf->ne[0], (long long)C, (long long)T, (long long)H, (long long)W, (long long)n);
    int64_t ne[4] = {C, T, H, W};
    *out = dit_tensor_make(buf->dtype, buf->device, buf->data, 4, ne);
    return DIT_OK;
}
static dit_status view2(vae_ctx *c, const dit_tensor *buf, const char *what, int64_t R, int64_t C, dit_tensor *out) {
    BE(view4(c, buf, what, 1, 1, R, C, out));
    int64_t ne[2] = {R, C};
    *out = dit_tensor_make(out->dtype, out->device, out->data, 2, ne);
    return DIT_OK;
}

/* The activation stream: the current tensor lives in *cur, the next one is written to *oth. */
typedef struct stream {
    dit_tensor *cur, *oth;
    int64_t C, T, H, W;
} stream;

static void swap(stream *s, int64_t C) {
    dit_tensor *t = s->cur;
    s->cur = s->oth, s->oth = t, s->C = C;
}

/* out[Co, t, H, W] = causal conv of in[Ci, t, H, W], continuing the stream held in the conv's cache. */
static dit_status conv_causal(vae_ctx *c, const wan_vae_conv *cv, const dit_tensor *in, dit_tensor *out) {
    dit_backend *be = c->be;
    int64_t Ci = in->ne[0], t = in->ne[1], H = in->ne[2], W = in->ne[3];
    dit_tensor sc, cache;
    BE(view4(c, &c->bs, "conv scratch", Ci, t + 2, H, W, &sc));
    BE(view4(c, &c->cache[cv->cache], "conv cache", Ci, 2, H, W, &cache));
    BE(be->ops->copy_frames(be, &sc, 0, &cache, 0, 2));
    BE(be->ops->copy_frames(be, &sc, 2, in, 0, t));
    BE(be->ops->copy_frames(be, &cache, 0, &sc, t, 2));
    return be->ops->conv3d(be, out, &sc, &cv->w, &cv->b, 0, 0, (int)(cv->w.ne[3] / 2), (int)(cv->w.ne[4] / 2));
}

/* x = shortcut(x) + conv2(silu(rms2(conv1(silu(rms1(x)))))) */
static dit_status res_forward(vae_ctx *c, const wan_vae_res *r, stream *s) {
    dit_backend *be = c->be;
    const dit_backend_ops *op = be->ops;
    dit_tensor x, h, n, y;
    BE(view4(c, s->cur, "stream", r->cin, s->T, s->H, s->W, &x));
    h = x;
    if (r->shortcut.w.data) {
        BE(view4(c, &c->bsc, "shortcut", r->cout, s->T, s->H, s->W, &h));
        BE(op->conv3d(be, &h, &x, &r->shortcut.w, &r->shortcut.b, 0, 0, 0, 0));
    }
    BE(view4(c, &c->bn, "norm", r->cin, s->T, s->H, s->W, &n));
    BE(op->channel_norm(be, &n, &x, &r->norm1, NULL));
    BE(op->activation(be, &n, &n, DIT_ACT_SILU));
    BE(view4(c, s->oth, "stream", r->cout, s->T, s->H, s->W, &y));
    BE(conv_causal(c, &r->conv1, &n, &y));
    BE(view4(c, &c->bn, "norm", r->cout, s->T, s->H, s->W, &n));
    BE(op->channel_norm(be, &n, &y, &r->norm2, NULL));
    BE(op->activation(be, &n, &n, DIT_ACT_SILU));
    BE(conv_causal(c, &r->conv2, &n, &y));
    BE(op->add(be, &y, &y, &h));
    swap(s, r->cout);
    return DIT_OK;
}

/* x += proj(attention(q, k, v)) with q, k, v = to_qkv(rms(x)) over the frame's H*W, one head, scale 1/sqrt(C). */
static dit_status attn_block(vae_ctx *c, const wan_vae_attn *a, stream *s) {
    dit_backend *be = c->be;
    const dit_backend_ops *op = be->ops;
    const int64_t C = a->c, P = s->H * s->W;
    if (s->T != 1) return DIT_FAIL(&be->err, DIT_ERR_INTERNAL, "VAE attention expects one frame per chunk, got %lld", (long long)s->T);
    dit_tensor x, n, nt, tok, ta, q, k, v, o, y, yf;
    BE(view4(c, s->cur, "stream", C, 1, s->H, s->W, &x));
    BE(view4(c, &c->bn, "norm", C, 1, s->H, s->W, &n));
    BE(op->channel_norm(be, &n, &x, &a->norm, NULL));
    BE(view2(c, &c->bn, "norm", C, P, &nt));
    BE(view2(c, &c->bs, "attention tokens", P, C, &tok));
    BE(op->transpose(be, &tok, &nt)); /* [C, P] -> [P, C] */
    ta = tok;
    if (be->act_dtype != DIT_DTYPE_F32) {
        BE(view2(c, &c->ba[4], "attention tokens", P, C, &ta));
        BE(op->convert(be, &ta, &tok));
    }
    BE(view2(c, &c->ba[0], "q", P, C, &q));
    BE(view2(c, &c->ba[1], "k", P, C, &k));
    BE(view2(c, &c->ba[2], "v", P, C, &v));
    dit_tensor w3[3], b3[3];
    for (int i = 0; i < 3; i++) {
        w3[i] = dit_tensor_rows_view(&a->qkv_w, i * C, C);
        b3[i] = dit_tensor_rows_view(&a->qkv_b, i * C, C);
    }
    BE(op->linear(be, &q, &ta, &w3[0], &b3[0], DIT_ACT_NONE));
    BE(op->linear(be, &k, &ta, &w3[1], &b3[1], DIT_ACT_NONE));
    BE(op->linear(be, &v, &ta, &w3[2], &b3[2], DIT_ACT_NONE));
    BE(view2(c, &c->ba[3], "attention out", P, C, &o));
    int64_t ne3[3] = {P, 1, C};
    dit_tensor q3 = dit_tensor_make(q.dtype, q.device, q.data, 3, ne3), k3 = q3, v3 = q3, o3 = q3;
    k3.data = k.data, v3.data = v.data, o3.data = o.data;
    attn_call call;
    memset(&call, 0, sizeof call);
    call.params = attn_params_default(ATTN_METHOD_DENSE);
    call.scale = 1.0f / sqrtf((float)C);
    BE(attn_forward(c->attn, &call, &o3, &q3, &k3, &v3, NULL));
    y = q; /* q is free again */
    BE(op->linear(be, &y, &o, &a->proj_w, &a->proj_b, DIT_ACT_NONE));
    yf = y;
    if (be->act_dtype != DIT_DTYPE_F32) {
        yf = tok;
        BE(op->convert(be, &yf, &y));
    }
    BE(op->transpose(be, &nt, &yf)); /* [P, C] -> [C, P], the memory of n */
    return op->add(be, &x, &x, &n);
}

/* Up3d (time_conv C -> 2C, halves interleaved as frames; skipped on the first chunk) and/or Up2d
 * (nearest 2x, 3x3 conv C -> C/2). */
static dit_status upsample(vae_ctx *c, const wan_vae_up *u, stream *s, int first) {
    dit_backend *be = c->be;
    const dit_backend_ops *op = be->ops;
    const int64_t C = u->cout;
    dit_tensor x, y, n;
    if (u->mode == WAN_VAE_UP_3D && !first) {
        const int64_t t = s->T;
        BE(view4(c, s->cur, "stream", C, t, s->H, s->W, &x));
        BE(view4(c, s->oth, "stream", 2 * C, t, s->H, s->W, &y));
        BE(conv_causal(c, &u->time_conv, &x, &y));
        BE(view4(c, s->cur, "stream", C, 2 * t, s->H, s->W, &x)); /* x was copied into the scratch: reuse */
        for (int j = 0; j < 2; j++) {
            dit_tensor half = dit_tensor_rows_view(&y, j * C, C); /* channels [jC, (j+1)C) */
            for (int64_t tau = 0; tau < t; tau++) BE(op->copy_frames(be, &x, 2 * tau + j, &half, tau, 1));
        }
        s->T = 2 * t;
    }
    BE(view4(c, s->cur, "stream", C, s->T, s->H, s->W, &x));
    BE(view4(c, &c->bn, "norm", C, s->T, 2 * s->H, 2 * s->W, &n));
    BE(op->upsample2x(be, &n, &x));
    BE(view4(c, s->oth, "stream", C / 2, s->T, 2 * s->H, 2 * s->W, &y));
    BE(op->conv3d(be, &y, &n, &u->resample.w, &u->resample.b, 0, 0, 1, 1));
    s->H *= 2, s->W *= 2;
    swap(s, C / 2);
    return DIT_OK;
}

/* One latent frame (already in c->bz as [z, 1, h, w]) through the decoder; the result
 * [out_ch, t, H, W] is left in *s->cur. */
static dit_status chunk_forward(vae_ctx *c, stream *s, int first) {
    wan_vae *v = c->v;
    dit_backend *be = c->be;
    const dit_backend_ops *op = be->ops;
    dit_tensor z, x, y, n;
    BE(view4(c, &c->bz, "latent frame", v->cfg.z_dim, 1, s->H, s->W, &z));
    BE(view4(c, s->cur, "stream", v->cfg.z_dim, 1, s->H, s->W, &x));
    BE(op->conv3d(be, &x, &z, &v->post_quant.w, &v->post_quant.b, 0, 0, 0, 0));
    BE(view4(c, s->oth, "stream", v->conv_in.w.ne[0], 1, s->H, s->W, &y));
    BE(conv_causal(c, &v->conv_in, &x, &y));
    swap(s, v->conv_in.w.ne[0]);
    BE(res_forward(c, &v->mid_res[0], s));
    BE(attn_block(c, &v->mid_attn, s));
    BE(res_forward(c, &v->mid_res[1], s));
    for (int i = 0; i < v->cfg.n_levels; i++) {
        const wan_vae_up *u = &v->up[i];
        for (int r = 0; r < u->nres; r++) BE(res_forward(c, &u->res[r], s));
        if (u->mode != WAN_VAE_UP_NONE) BE(upsample(c, u, s, first));
    }
    BE(view4(c, s->cur, "stream", s->C, s->T, s->H, s->W, &x));
    BE(view4(c, &c->bn, "norm", s->C, s->T, s->H, s->W, &n));
    BE(op->channel_norm(be, &n, &x, &v->norm_out, NULL));
    BE(op->activation(be, &n, &n, DIT_ACT_SILU));
    BE(view4(c, s->oth, "stream", v->cfg.out_channels, s->T, s->H, s->W, &y));
    BE(conv_causal(c, &v->conv_out, &n, &y));
    swap(s, v->cfg.out_channels);
    return DIT_OK;
}

dit_status vae_ctx_decode_region(vae_ctx *c, const float *z, int64_t T, int64_t h, int64_t w, int64_t i0, int64_t j0,
                                 int64_t th, int64_t tw, float *dst) {
    wan_vae *v = c->v;
    dit_backend *be = c->be;
    const wan_vae_config *cfg = &v->cfg;
    if (th > c->hl_max || tw > c->wl_max || th < 1 || tw < 1 || i0 < 0 || j0 < 0 || i0 + th > h || j0 + tw > w)
        return DIT_FAIL(&be->err, DIT_ERR_INTERNAL, "VAE region %lldx%lld at (%lld, %lld) outside %lldx%lld or the plan",
                        (long long)th, (long long)tw, (long long)i0, (long long)j0, (long long)h, (long long)w);
    const int64_t r = wan_vae_spatial_ratio(cfg), tr = wan_vae_temporal_ratio(cfg), F = wan_vae_out_frames(cfg, T);
    const int64_t HWo = th * r * tw * r;
    for (int k = 0; k < c->plan.n_caches; k++) BE(be->ops->memset0(be, c->cache[k].data, dit_tensor_nbytes(&c->cache[k])));
    for (int64_t f = 0; f < T; f++) {
        /* gather + de-normalise the region of latent frame f: z / (1/std) + mean, in f32 as the reference */
        for (int64_t ch = 0; ch < cfg->z_dim; ch++) {
            const float *src = z + ((ch * T + f) * h + i0) * w + j0;
            float *d = c->zhost + ch * th * tw;
            for (int64_t y = 0; y < th; y++)
                for (int64_t x = 0; x < tw; x++) d[y * tw + x] = src[y * w + x] / c->inv_std[ch] + cfg->latents_mean[ch];
        }
        BE(be->ops->upload(be, c->bz.data, c->zhost, (size_t)(cfg->z_dim * th * tw) * sizeof(float)));
        stream s = {&c->bx, &c->by, cfg->z_dim, 1, th, tw};
        dit_status st = chunk_forward(c, &s, f == 0);
        if (st != DIT_OK) return dit_err_wrap(&be->err, "VAE decoding latent frame %lld", (long long)f);
        const int64_t f0 = f == 0 ? 0 : 1 + tr * (f - 1);
        if (s.T != (f == 0 ? 1 : tr) || s.H != th * r || s.W != tw * r || f0 + s.T > F)
            return DIT_FAIL(&be->err, DIT_ERR_INTERNAL, "VAE chunk %lld gave %lld frames of %lldx%lld", (long long)f,
                            (long long)s.T, (long long)s.H, (long long)s.W);
        for (int64_t ch = 0; ch < cfg->out_channels; ch++)
            BE(be->ops->download(be, dst + (ch * F + f0) * HWo, (const float *)s.cur->data + ch * s.T * HWo,
                                 (size_t)(s.T * HWo) * sizeof(float)));
    }
    return be->ops->sync(be);
}
