/* umt5.c — the umT5 encoder forward (see umt5.h), written like the reference
 * (Wan's wan/modules/t5.py T5Encoder; transformers' UMT5EncoderModel) and
 * calling math only through the backend vtable and attn_forward.  The
 * relative-position bias tables [H, L, L] are built on the host once per
 * sequence length (for every layer) and kept on the device until the length
 * changes.  Checked by tests/test_umt5.c against transformers (rel L2 <= 1e-4,
 * both layouts, padding mask, L > max_distance). */
#include "umt5.h"

#include <stdlib.h> /* malloc, free */
#include <string.h> /* memset */

#include "../../attention/attn.h" /* attn_forward, attn_call */
#include "../../dit/arena.h"      /* dit_arena */
#include "../../dit/clock.h" /* dit_now_ms */

#define BE(call)                     \
    do {                             \
        dit_status s_ = (call);      \
        if (s_ != DIT_OK) return s_; \
    } while (0)

static int bias_tables(const wan_umt5_config *c) { return c->shared_bias ? 1 : c->layers; }

/* bias[t, h, i, j] = table_t[bucket(j - i), h] for every table, uploaded once per length L. */
static dit_status ensure_bias(wan_umt5 *m, int64_t L) {
    if (m->bias.data && m->bias_len == L) return DIT_OK;
    dit_backend *be = m->be;
    const wan_umt5_config *c = &m->cfg;
    dit_backend_tensor_free(be, &m->bias);
    m->bias_len = 0;
    int64_t H = c->heads, T = bias_tables(c), per = H * L * L;
    int64_t ne[4] = {T, H, L, L};
    dit_status s = dit_backend_tensor_alloc(be, &m->bias, DIT_DTYPE_F32, 4, ne);
    if (s != DIT_OK)
        return dit_err_wrap(&be->err, "umt5: position-bias tables for %lld tokens (%lld x %lld x %lld^2 floats)",
                            (long long)L, (long long)T, (long long)H, (long long)L);
    int *bucket = malloc((size_t)(2 * L - 1) * sizeof *bucket); /* by j - i + L - 1 */
    float *host = malloc((size_t)per * sizeof *host);
    if (!bucket || !host) {
        free(bucket), free(host);
        dit_backend_tensor_free(be, &m->bias);
        return DIT_FAIL(&be->err, DIT_ERR_OOM, "umt5: host position-bias table of %lld floats", (long long)per);
    }
    for (int64_t d = -(L - 1); d <= L - 1; d++)
        bucket[d + L - 1] = wan_umt5_bucket(d, 1, c->num_buckets, c->max_distance);
    for (int64_t t = 0; t < T && s == DIT_OK; t++) {
        const float *tab = m->blocks[t].rel_bias; /* [num_buckets, H] */
#pragma omp parallel for schedule(static)
        for (int64_t hi = 0; hi < H * L; hi++) {
            int64_t h = hi / L, i = hi % L;
            float *row = host + hi * L;
            for (int64_t j = 0; j < L; j++) row[j] = tab[(int64_t)bucket[j - i + L - 1] * H + h];
        }
        s = be->ops->upload(be, (float *)m->bias.data + t * per, host, (size_t)per * sizeof(float));
    }
    free(bucket), free(host);
    if (s != DIT_OK) {
        dit_backend_tensor_free(be, &m->bias);
        return s;
    }
    m->bias_len = L;
    return DIT_OK;
}

/* Activation bytes of one encode of L tokens (every buffer below, aligned). */
static size_t encode_bytes(const wan_umt5_config *c, int64_t L, dit_dtype A) {
    int64_t D = c->d_model, I = (int64_t)c->heads * c->d_kv, F = c->d_ff;
    return 2 * dit_arena_bytes(DIT_DTYPE_F32, L * D) /* residual x, final output */
           + 2 * dit_arena_bytes(A, L * D)           /* normed h, projection y */
           + 4 * dit_arena_bytes(A, L * I)           /* q, k, v, attention out */
           + 2 * dit_arena_bytes(A, L * F)           /* gate and linear FFN branches */
           + 16 * DIT_ARENA_ALIGN;
}

typedef struct enc_bufs {
    dit_tensor x, h, q, k, v, o, y, g, u, fin;
} enc_bufs;

/* One encoder layer, as T5SelfAttention.forward (wan/modules/t5.py). */
static dit_status layer_forward(wan_umt5 *m, attn_ctx *actx, int l, int64_t L, int64_t n_valid, enc_bufs *b) {
    dit_backend *be = m->be;
    const dit_backend_ops *op = be->ops;
    const wan_umt5_config *c = &m->cfg;
    const wan_umt5_block *blk = &m->blocks[l];
    int64_t H = c->heads, dk = c->d_kv;

    /* x += Wo . attn(q, k, v; bias_l, mask) on h = RMS(x) w1 */
    BE(op->rms_norm(be, &b->h, &b->x, &blk->norm1, c->eps));
    BE(op->linear(be, &b->q, &b->h, &blk->q_w, NULL, DIT_ACT_NONE));
    BE(op->linear(be, &b->k, &b->h, &blk->k_w, NULL, DIT_ACT_NONE));
    BE(op->linear(be, &b->v, &b->h, &blk->v_w, NULL, DIT_ACT_NONE));
    dit_tensor q3 = dit_tensor_3d(b->q.dtype, b->q.device, b->q.data, L, H, dk);
    dit_tensor k3 = dit_tensor_3d(b->k.dtype, b->k.device, b->k.data, L, H, dk);
    dit_tensor v3 = dit_tensor_3d(b->v.dtype, b->v.device, b->v.data, L, H, dk);
    dit_tensor o3 = dit_tensor_3d(b->o.dtype, b->o.device, b->o.data, L, H, dk);
    int64_t t = c->shared_bias ? 0 : l;
    dit_tensor bias = dit_tensor_3d(DIT_DTYPE_F32, be->device, (float *)m->bias.data + t * H * L * L, H, L, L);
    attn_call call;
    memset(&call, 0, sizeof call);
    call.params = attn_params_default(ATTN_METHOD_DENSE);
    call.scale = 1.0f; /* T5: no 1/sqrt(d) */
    call.bias = &bias;
    call.kv_valid = n_valid < L ? n_valid : 0;
    BE(attn_forward(actx, &call, &o3, &q3, &k3, &v3, NULL));
    BE(op->linear(be, &b->y, &b->o, &blk->o_w, NULL, DIT_ACT_NONE));
    BE(op->gated_add(be, &b->x, &b->y, NULL));

    /* x += Wo (act(Wi0 u) * Wi1 u), u = RMS(x) w2 */
    BE(op->rms_norm(be, &b->h, &b->x, &blk->norm2, c->eps));
    BE(op->linear(be, &b->g, &b->h, &blk->wi0_w, NULL, c->act));
    BE(op->linear(be, &b->u, &b->h, &blk->wi1_w, NULL, DIT_ACT_NONE));
    BE(op->mul(be, &b->g, &b->g, &b->u));
    BE(op->linear(be, &b->y, &b->g, &blk->wo_w, NULL, DIT_ACT_NONE));
    BE(op->gated_add(be, &b->x, &b->y, NULL));
    return DIT_OK;
}

/* Embedding rows of ids, converted to f32 on the host (the table stays in the mapping). */
static dit_status gather_rows(const wan_umt5 *m, const int32_t *ids, int64_t n, float *dst) {
    const io_st_tensor *e = m->embed;
    int64_t D = m->cfg.d_model;
    size_t row_bytes = (size_t)D * io_st_dtype_size(e->dtype);
    int dd = io_st_dtype_to_dit(e->dtype);
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *row = (const unsigned char *)e->data + (size_t)ids[i] * row_bytes;
        if (dd < 0 || dit_convert_to_f32(dst + i * D, row, (dit_dtype)dd, (size_t)D) != 0)
            return DIT_FAIL(&m->be->err, DIT_ERR_FORMAT, "umt5: embedding '%s' has dtype %s, expected a float dtype",
                            e->name, io_st_dtype_name(e->dtype));
    }
    return DIT_OK;
}

static dit_status encode_impl(wan_umt5 *m, const int32_t *ids, int64_t L, int64_t n_valid, float *out) {
    dit_backend *be = m->be;
    const wan_umt5_config *c = &m->cfg;
    dit_dtype A = be->act_dtype;
    int64_t D = c->d_model, I = (int64_t)c->heads * c->d_kv, F = c->d_ff;
    BE(ensure_bias(m, L));
    float *host = malloc((size_t)(L * D) * sizeof(float));
    if (!host) return DIT_FAIL(&be->err, DIT_ERR_OOM, "umt5: embedding rows for %lld tokens", (long long)L);
    dit_arena a;
    attn_ctx *actx = NULL;
    enc_bufs b;
    dit_status s = dit_arena_init(&a, be, encode_bytes(c, L, A));
    if (s != DIT_OK) {
        free(host);
        return s;
    }
    s = attn_ctx_create(be, &actx);
    struct {
        dit_tensor *t;
        const char *what;
        dit_dtype dt;
        int64_t cols;
    } bufs[] = {
        {&b.x, "residual x", DIT_DTYPE_F32, D}, {&b.h, "normed h", A, D},      {&b.q, "q", A, I},
        {&b.k, "k", A, I},                      {&b.v, "v", A, I},             {&b.o, "attention out", A, I},
        {&b.y, "projection out", A, D},         {&b.g, "ffn gate", A, F},      {&b.u, "ffn linear", A, F},
        {&b.fin, "final norm", DIT_DTYPE_F32, D},
    };
    for (size_t i = 0; s == DIT_OK && i < sizeof bufs / sizeof bufs[0]; i++)
        s = dit_arena_tensor_2d(&a, bufs[i].t, bufs[i].what, bufs[i].dt, L, bufs[i].cols);
    if (s == DIT_OK) s = gather_rows(m, ids, L, host);
    if (s == DIT_OK) s = dit_backend_upload_f32(be, &b.x, host);
    for (int l = 0; s == DIT_OK && l < c->layers; l++) {
        s = layer_forward(m, actx, l, L, n_valid, &b);
        if (s != DIT_OK) dit_err_wrap(&be->err, "umt5 layer %d", l);
    }
    if (s == DIT_OK) s = be->ops->rms_norm(be, &b.fin, &b.x, &m->final_norm, c->eps);
    if (s == DIT_OK) s = dit_backend_download_f32(be, out, &b.fin);
    if (s == DIT_OK) s = be->ops->sync(be);
    attn_ctx_destroy(&actx);
    dit_arena_free(&a);
    free(host);
    return s;
}

dit_status wan_umt5_encode_padded(wan_umt5 *m, const int32_t *ids, int64_t n, int64_t n_valid, float *out,
                                  dit_err *err) {
    if (!m || !ids || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "umt5 encode: NULL model, ids or output");
    if (n < 1) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "umt5 encode: %lld tokens; at least 1 (EOS) is needed", (long long)n);
    if (n_valid < 1 || n_valid > n)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "umt5 encode: %lld valid tokens of %lld; expected 1..%lld",
                        (long long)n_valid, (long long)n, (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->cfg.vocab)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                            "umt5 encode: token id %d at position %lld is outside the vocabulary [0, %lld) of this "
                            "encoder",
                            (int)ids[i], (long long)i, (long long)m->cfg.vocab);
    double t0 = dit_now_ms();
    dit_err_clear(&m->be->err);
    dit_status s = encode_impl(m, ids, n, n_valid, out);
    m->ms_encode = dit_now_ms() - t0;
    if (s != DIT_OK) {
        if (err != &m->be->err) *err = m->be->err;
        return err->code ? err->code : s;
    }
    return DIT_OK;
}

dit_status wan_umt5_encode(wan_umt5 *m, const int32_t *ids, int64_t n, float *out, dit_err *err) {
    return wan_umt5_encode_padded(m, ids, n, n, out, err);
}
