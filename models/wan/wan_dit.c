/* wan_dit.c — the Wan2.1 DiT forward pass, written top to bottom like the
 * reference (wan/modules/model.py) and calling ops only through the backend
 * and the attention interface.  Precision follows the reference: f32 residual
 * stream, time MLP, modulation and head; GEMM operands and attention in the
 * backend's activation dtype (f32 on the CPU, bf16 on CUDA).
 * Checked against diffusers by tests/test_wan_golden.c (both layouts, 1e-4). */
#include "wan_dit.h"

#include <math.h>   /* cos, sin, exp, log */
#include <stdlib.h> /* malloc, free, calloc */
#include <string.h> /* memset, memcpy */

#include "../../attention/gilbert.h" /* attn_gilbert_order, attn_neighbor_mask */
#include "../../dit/patch.h"          /* dit_patchify, dit_unpatchify, dit_rope3d_table */
#include "../../dit/clock.h" /* dit_now_ms */

static dit_grid run_grid(const wan_run *r) {
    const wan_config *c = &r->m->cfg;
    dit_grid g = {c->in_dim, r->F, r->H, r->W, c->patch[0], c->patch[1], c->patch[2]};
    return g;
}

/* Bytes of activations one forward needs (every buffer below, aligned): n token rows on this rank
 * of N in all, P ranks in the sequence-parallel group. */
static size_t forward_bytes(const wan_config *c, int64_t N, int64_t n, int P, int64_t L, dit_dtype A) {
    int64_t Pd = (int64_t)c->in_dim * c->patch[0] * c->patch[1] * c->patch[2];
    int64_t Po = (int64_t)c->out_dim * c->patch[0] * c->patch[1] * c->patch[2];
    size_t b = 0;
    b += dit_arena_bytes(A, n * Pd);                   /* patch tokens */
    b += dit_arena_bytes(DIT_DTYPE_F32, n * c->dim);   /* residual x */
    b += dit_arena_bytes(DIT_DTYPE_F32, c->freq_dim);  /* sinusoid */
    b += 3 * dit_arena_bytes(DIT_DTYPE_F32, c->dim);   /* e, tmp, silu(e) */
    b += 2 * dit_arena_bytes(DIT_DTYPE_F32, 6 * (int64_t)c->dim); /* e0, block modulation */
    b += 2 * dit_arena_bytes(DIT_DTYPE_F32, c->dim);   /* head shift, scale */
    b += dit_arena_bytes(A, L * c->text_dim);          /* context in */
    b += 2 * dit_arena_bytes(A, L * c->dim);           /* text MLP hidden, context c */
    b += 2 * dit_arena_bytes(A, L * c->dim);           /* cross k, v */
    b += 6 * dit_arena_bytes(A, n * c->dim);           /* h, q, k, v, o, y */
    b += dit_arena_bytes(A, n * c->ffn_dim);           /* FFN hidden */
    b += dit_arena_bytes(DIT_DTYPE_F32, n * c->dim);   /* head LN (f32) */
    b += dit_arena_bytes(DIT_DTYPE_F32, n * Po);       /* head out */
    if (P > 1) {
        b += 4 * dit_arena_bytes(A, N * (c->dim / P)); /* q, k, v, o of the head group, all tokens */
        b += dit_arena_bytes(A, n * c->dim);           /* all-to-all packing */
        b += dit_arena_bytes(DIT_DTYPE_F32, N * Po);   /* gathered head out */
    }
    return b + 64 * DIT_ARENA_ALIGN;
}

int64_t wan_run_bytes(const wan_config *c, int64_t F, int64_t H, int64_t W, dit_dtype act_dtype, int64_t *host_bytes) {
    int64_t N = (F / c->patch[0]) * (H / c->patch[1]) * (W / c->patch[2]);
    int64_t P = (int64_t)c->in_dim * c->patch[0] * c->patch[1] * c->patch[2];
    int64_t Po = (int64_t)c->out_dim * c->patch[0] * c->patch[1] * c->patch[2];
    if (host_bytes) *host_bytes = N * (P + (Po > c->head_dim ? Po : c->head_dim)) * (int64_t)sizeof(float) + N * 8;
    return (int64_t)forward_bytes(c, N, N, 1, c->text_len, act_dtype);
}

dit_status wan_run_check_memory(const wan_config *c, dit_backend *be, int64_t F, int64_t H, int64_t W,
                                int64_t extra_host, dit_err *err) {
    int64_t staging = 0, act = wan_run_bytes(c, F, H, W, be->act_dtype, &staging);
    const int on_gpu = be->device == DIT_DEVICE_CUDA;
    int64_t host = staging + extra_host + (on_gpu ? 0 : act);
    int64_t have = (int64_t)dit_host_mem_available();
    const double G = (double)((int64_t)1 << 30);
    if (have > 0 && host > have)
        return DIT_FAIL(err, DIT_ERR_OOM,
                        "latent grid %lldx%lldx%lld needs %.1f GiB of host memory, %.1f GiB available (activations "
                        "%.1f GiB): use a smaller size",
                        (long long)F, (long long)H, (long long)W, (double)host / G, (double)have / G, (double)act / G);
    int64_t dev = on_gpu ? (int64_t)dit_backend_device_free(be) : 0;
    if (on_gpu && dev > 0 && act > dev)
        return DIT_FAIL(err, DIT_ERR_OOM,
                        "latent grid %lldx%lldx%lld needs %.1f GiB of GPU memory for activations, %.1f GiB available: "
                        "use a smaller size or more GPUs",
                        (long long)F, (long long)H, (long long)W, (double)act / G, (double)dev / G);
    return DIT_OK;
}

dit_status wan_run_init(wan_run *r, wan_dit *m, int64_t F, int64_t H, int64_t W, dit_err *err) {
    return wan_run_init_parallel(r, m, F, H, W, NULL, err);
}

dit_status wan_run_init_parallel(wan_run *r, wan_dit *m, int64_t F, int64_t H, int64_t W, dit_comm *sp,
                                 dit_err *err) {
    memset(r, 0, sizeof *r);
    const wan_config *c = &m->cfg;
    dit_backend *be = m->be;
    if (F <= 0 || H <= 0 || W <= 0 || F % c->patch[0] || H % c->patch[1] || W % c->patch[2])
        return DIT_FAIL(err, DIT_ERR_SHAPE, "latent grid %lldx%lldx%lld must be positive multiples of the patch %dx%dx%d",
                        (long long)F, (long long)H, (long long)W, c->patch[0], c->patch[1], c->patch[2]);
    r->m = m;
    r->F = F, r->H = H, r->W = W;
    r->N = (F / c->patch[0]) * (H / c->patch[1]) * (W / c->patch[2]);
    r->ctx_len = c->text_len;
    const int nr = sp ? sp->size : 1;
    if (nr > 1 && c->heads % nr)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "sequence parallelism over %d ranks needs the head count divisible by %d; this model has %d "
                        "heads (use a rank count that divides %d)",
                        nr, nr, c->heads, c->heads);
    if (nr > 1 && r->N < nr)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%lld tokens cannot be split over %d ranks", (long long)r->N, nr);
    if (nr > 1 && sp->be != be)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "the sequence-parallel communicator belongs to another backend");
    if (nr == 1) DIT_TRY(wan_run_check_memory(c, be, F, H, W, 0, err)); /* before the first allocation */
    r->sp = nr > 1 ? sp : NULL;
    r->tok0 = 0, r->ntok = r->N;
    if (r->sp) dit_comm_split_range(r->N, nr, sp->rank, &r->tok0, &r->ntok);
    int64_t P = (int64_t)c->in_dim * c->patch[0] * c->patch[1] * c->patch[2];
    int64_t Po = (int64_t)c->out_dim * c->patch[0] * c->patch[1] * c->patch[2];
    r->host_tokens = malloc((size_t)(r->N * P) * sizeof(float));
    r->host_out = malloc((size_t)(r->N * (Po > c->head_dim ? Po : c->head_dim)) * sizeof(float));
    if (!r->host_tokens || !r->host_out) {
        int64_t N = r->N;
        wan_run_free(r);
        return DIT_FAIL(err, DIT_ERR_OOM, "host staging for %lld tokens", (long long)N);
    }
    dit_status s = dit_arena_init(&r->arena, be, forward_bytes(c, r->N, r->ntok, nr, r->ctx_len, be->act_dtype));
    if (s == DIT_OK) s = attn_ctx_create(be, &r->attn);
    if (s == DIT_OK) s = wan_run_set_order(r, NULL, err);
    if (s != DIT_OK) {
        if (err != &be->err && be->err.code) *err = be->err;
        wan_run_free(r);
        return s;
    }
    return DIT_OK;
}

dit_status wan_run_set_order(wan_run *r, const int64_t *order, dit_err *err) {
    const wan_config *c = &r->m->cfg;
    dit_backend *be = r->m->be;
    free(r->order_owned);
    r->order_owned = NULL;
    r->order = NULL;
    if (order) {
        r->order_owned = malloc((size_t)r->N * sizeof(int64_t));
        if (!r->order_owned) return DIT_FAIL(err, DIT_ERR_OOM, "token order");
        memcpy(r->order_owned, order, (size_t)r->N * sizeof(int64_t));
        r->order = r->order_owned;
    }
    float *tab = r->host_out; /* staging is at least N * head_dim floats */
    dit_rope3d_table(r->F / c->patch[0], r->H / c->patch[1], r->W / c->patch[2], c->head_dim, 10000.0,
                     r->order ? r->order + r->tok0 : NULL, r->tok0, r->ntok, tab); /* this rank's rows */
    if (!r->rope.data) {
        int64_t ne[2] = {r->ntok, c->head_dim};
        if (dit_backend_tensor_alloc(be, &r->rope, DIT_DTYPE_F32, 2, ne) != DIT_OK) {
            *err = be->err;
            return err->code;
        }
    }
    if (dit_backend_upload_f32(be, &r->rope, tab) != DIT_OK) {
        *err = be->err;
        return err->code;
    }
    return DIT_OK;
}

dit_status wan_run_set_policy(wan_run *r, const attn_policy *policy, dit_err *err) {
    const wan_config *c = &r->m->cfg;
    int rect = policy && policy->sparse.method == ATTN_METHOD_RECTIFIED;
    free(r->neighbor);
    r->neighbor = NULL;
    r->neighbor_nb = 0;
    r->policy = policy;
    if (!rect) return r->order ? wan_run_set_order(r, NULL, err) : DIT_OK;
    int64_t Fp = r->F / c->patch[0], Hp = r->H / c->patch[1], Wp = r->W / c->patch[2];
    int64_t *order = malloc((size_t)r->N * sizeof(int64_t));
    if (!order) return DIT_FAIL(err, DIT_ERR_OOM, "token order of %lld tokens", (long long)r->N);
    dit_status s = attn_gilbert_order(Fp, Hp, Wp, order, err);
    if (s == DIT_OK) s = wan_run_set_order(r, order, err);
    if (s == DIT_OK && policy->sparse.rect.neighbors) {
        int64_t block = policy->sparse.rect.block > 0 ? policy->sparse.rect.block : 128;
        int64_t nb = attn_block_count(r->N, block);
        r->neighbor = malloc((size_t)(nb * nb));
        if (!r->neighbor) s = DIT_FAIL(err, DIT_ERR_OOM, "neighbour mask %lld x %lld", (long long)nb, (long long)nb);
        else s = attn_neighbor_mask(r->order, Fp, Hp, Wp, block, r->neighbor, err);
        r->neighbor_nb = nb;
    }
    free(order);
    return s;
}

void wan_run_free(wan_run *r) {
    if (r->m) {
        dit_backend_tensor_free(r->m->be, &r->rope);
        dit_backend_tensor_free(r->m->be, &r->shadow);
        if (r->arena.base) dit_arena_free(&r->arena);
    }
    attn_ctx_destroy(&r->attn);
    free(r->host_tokens);
    free(r->host_out);
    free(r->order_owned);
    free(r->neighbor);
    memset(r, 0, sizeof *r);
}

/* Row k of a [rows, C] f32 tensor as a [C] view. */
static dit_tensor row_view(const dit_tensor *t, int64_t k) {
    dit_tensor v = dit_tensor_rows_view(t, k, 1);
    v.ndim = 1;
    v.ne[0] = dit_tensor_cols(t);
    return v;
}

/* [N, dim] viewed as [N, heads, head_dim]. */
static dit_tensor heads_view(const dit_tensor *t, int heads) {
    int64_t ne[3] = {t->ne[0], heads, t->ne[1] / heads};
    return dit_tensor_make(t->dtype, t->device, t->data, 3, ne);
}

typedef struct fwd_bufs {
    dit_tensor x, h, q, k, v, o, y, f, c, ck, cv, e0, mod;
    dit_tensor qg, kg, vg, og, pack; /* Ulysses: [N, dim/P] of the head group; [P, n, dim/P] staging */
} fwd_bufs;

#define BE(call)                   \
    do {                           \
        dit_status s_ = (call);    \
        if (s_ != DIT_OK) return s_; \
    } while (0)

/* A/B diagnostics: the same q, k, v through dense attention; record ||o - o_dense|| / ||o_dense||. */
static dit_status shadow_dense(wan_run *r, int layer, const attn_call *used, const dit_tensor *o3, const dit_tensor *q3,
                               const dit_tensor *k3, const dit_tensor *v3) {
    dit_backend *be = r->m->be;
    double *slot = &r->attn_err[(size_t)r->call_index * r->m->cfg.layers + layer];
    if (used->params.method == ATTN_METHOD_DENSE) {
        *slot = -1;
        return DIT_OK;
    }
    if (!r->shadow.data) DIT_TRY(dit_backend_tensor_alloc(be, &r->shadow, o3->dtype, 3, o3->ne));
    attn_call dense;
    memset(&dense, 0, sizeof dense);
    dense.params = attn_params_default(ATTN_METHOD_DENSE);
    DIT_TRY(attn_forward(r->attn, &dense, &r->shadow, q3, k3, v3, NULL));
    size_t n = (size_t)dit_tensor_numel(o3);
    float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
    dit_status s = a && b ? DIT_OK : DIT_FAIL(&be->err, DIT_ERR_OOM, "shadow attention buffers");
    if (s == DIT_OK) s = dit_backend_download_f32(be, a, o3);
    if (s == DIT_OK) s = dit_backend_download_f32(be, b, &r->shadow);
    if (s == DIT_OK) {
        double num = 0, den = 0;
        for (size_t i = 0; i < n; i++) {
            double d = (double)a[i] - b[i];
            num += d * d;
            den += (double)b[i] * b[i];
        }
        *slot = den > 0 ? sqrt(num / den) : sqrt(num);
    }
    free(a), free(b);
    return s;
}

/* Ulysses all-to-all before self-attention: x [n, dim] (this rank's tokens, all heads) -> g [N, dim/P]
 * (every token, this rank's head group).  Rank p's rows land at its token offset, so g is in sequence
 * order. */
static dit_status sp_to_heads(wan_run *r, fwd_bufs *b, const dit_tensor *x, dit_tensor *g) {
    dit_backend *be = r->m->be;
    dit_comm *sp = r->sp;
    const int P = sp->size;
    const size_t row = (size_t)(dit_tensor_cols(x) / P) * dit_dtype_size(x->dtype);
    size_t soff[DIT_COMM_MAX_RANKS], sb[DIT_COMM_MAX_RANKS], roff[DIT_COMM_MAX_RANKS], rb[DIT_COMM_MAX_RANKS];
    for (int p = 0; p < P; p++) {
        int64_t t0, tn;
        dit_comm_split_range(r->N, P, p, &t0, &tn);
        soff[p] = (size_t)(p * r->ntok) * row, sb[p] = (size_t)r->ntok * row;
        roff[p] = (size_t)t0 * row, rb[p] = (size_t)tn * row;
    }
    BE(dit_op_swap01(be, &b->pack, x, r->ntok, P)); /* [n, P, w] -> [P, n, w] */
    if (sp->ops->alltoallv(sp, b->pack.data, soff, sb, g->data, roff, rb) != DIT_OK) {
        be->err = sp->err;
        return dit_err_wrap(&be->err, "Ulysses all-to-all to the head groups");
    }
    return DIT_OK;
}

/* And back after attention: g [N, dim/P] -> x [n, dim]. */
static dit_status sp_to_tokens(wan_run *r, fwd_bufs *b, const dit_tensor *g, dit_tensor *x) {
    dit_backend *be = r->m->be;
    dit_comm *sp = r->sp;
    const int P = sp->size;
    const size_t row = (size_t)dit_tensor_cols(g) * dit_dtype_size(g->dtype);
    size_t soff[DIT_COMM_MAX_RANKS], sb[DIT_COMM_MAX_RANKS], roff[DIT_COMM_MAX_RANKS], rb[DIT_COMM_MAX_RANKS];
    for (int p = 0; p < P; p++) {
        int64_t t0, tn;
        dit_comm_split_range(r->N, P, p, &t0, &tn);
        soff[p] = (size_t)t0 * row, sb[p] = (size_t)tn * row;
        roff[p] = (size_t)(p * r->ntok) * row, rb[p] = (size_t)r->ntok * row;
    }
    if (sp->ops->alltoallv(sp, g->data, soff, sb, b->pack.data, roff, rb) != DIT_OK) {
        be->err = sp->err;
        return dit_err_wrap(&be->err, "Ulysses all-to-all back to the token shards");
    }
    return dit_op_swap01(be, x, &b->pack, P, r->ntok); /* [P, n, w] -> [n, P, w] */
}

/* One transformer block, as in the reference WanAttentionBlock.forward. */
static dit_status block_forward(wan_run *r, int layer, fwd_bufs *b) {
    wan_dit *m = r->m;
    dit_backend *be = m->be;
    const wan_config *c = &m->cfg;
    const wan_block *blk = &m->blocks[layer];
    const dit_backend_ops *op = be->ops;
    /* (sh1, sc1, g1, sh2, sc2, g2) = modulation + e0, in f32 */
    BE(op->add(be, &b->mod, &blk->modulation, &b->e0));
    dit_tensor sh1 = row_view(&b->mod, 0), sc1 = row_view(&b->mod, 1), g1 = row_view(&b->mod, 2);
    dit_tensor sh2 = row_view(&b->mod, 3), sc2 = row_view(&b->mod, 4), g2 = row_view(&b->mod, 5);

    /* self-attention: x += g1 * o(attn(rope(rms(q)), rope(rms(k)), v)) on LN(x)(1+sc1)+sh1 */
    BE(op->layer_norm(be, &b->h, &b->x, NULL, NULL, &sc1, &sh1, c->eps));
    BE(op->linear(be, &b->q, &b->h, &blk->sa_q_w, &blk->sa_q_b, DIT_ACT_NONE));
    BE(op->linear(be, &b->k, &b->h, &blk->sa_k_w, &blk->sa_k_b, DIT_ACT_NONE));
    BE(op->linear(be, &b->v, &b->h, &blk->sa_v_w, &blk->sa_v_b, DIT_ACT_NONE));
    BE(dit_op_rms_norm_rope(be, &b->q, &b->q, c->qk_norm ? &blk->sa_norm_q : NULL, &r->rope, c->heads, c->eps));
    BE(dit_op_rms_norm_rope(be, &b->k, &b->k, c->qk_norm ? &blk->sa_norm_k : NULL, &r->rope, c->heads, c->eps));
    dit_tensor q3 = heads_view(&b->q, c->heads), k3 = heads_view(&b->k, c->heads), v3 = heads_view(&b->v, c->heads);
    dit_tensor o3 = heads_view(&b->o, c->heads);
    if (r->sp) { /* Ulysses: attention over every token on this rank's heads */
        const int hg = c->heads / r->sp->size;
        BE(sp_to_heads(r, b, &b->q, &b->qg));
        BE(sp_to_heads(r, b, &b->k, &b->kg));
        BE(sp_to_heads(r, b, &b->v, &b->vg));
        q3 = heads_view(&b->qg, hg), k3 = heads_view(&b->kg, hg), v3 = heads_view(&b->vg, hg);
        o3 = heads_view(&b->og, hg);
    }
    attn_layout lay = {r->N, 0, r->F / c->patch[0], r->neighbor, r->neighbor_nb};
    attn_call call;
    memset(&call, 0, sizeof call);
    call.params = attn_policy_select(r->policy, layer, r->call_index);
    call.layout = &lay;
    if (blk->proj_l_w.data) {
        call.proj_l_w = &blk->proj_l_w;
        call.proj_l_b = &blk->proj_l_b;
    }
    if (call.params.method == ATTN_METHOD_SLA && !blk->proj_l_w.data)
        return DIT_FAIL(&be->err, DIT_ERR_MISSING,
                        "attention 'sla' needs the per-layer proj_l weights (blocks.%d....proj_l.weight); this checkpoint "
                        "has none: use an SLA fine-tuned checkpoint or another method",
                        layer);
    attn_stats st_local;
    attn_stats *st = r->layer_stats ? &r->layer_stats[layer] : &st_local;
    if (!r->layer_stats) st_local.selected_per_head = NULL;
    BE(attn_forward(r->attn, &call, &o3, &q3, &k3, &v3, st));
    r->ms_attention += st->ms_total;
    if (r->attn_err && r->call_index < r->shadow_calls) BE(shadow_dense(r, layer, &call, &o3, &q3, &k3, &v3));
    if (r->sp) BE(sp_to_tokens(r, b, &b->og, &b->o));
    BE(op->linear(be, &b->y, &b->o, &blk->sa_o_w, &blk->sa_o_b, DIT_ACT_NONE));
    BE(op->gated_add(be, &b->x, &b->y, &g1));

    /* cross-attention: x += o(attn(rms(q(LN_aff(x))), rms(k(c)), v(c))), no gate, all 512 rows */
    BE(op->layer_norm(be, &b->h, &b->x, c->cross_attn_norm ? &blk->norm3_w : NULL,
                      c->cross_attn_norm ? &blk->norm3_b : NULL, NULL, NULL, c->eps));
    BE(op->linear(be, &b->q, &b->h, &blk->ca_q_w, &blk->ca_q_b, DIT_ACT_NONE));
    BE(op->linear(be, &b->ck, &b->c, &blk->ca_k_w, &blk->ca_k_b, DIT_ACT_NONE));
    BE(op->linear(be, &b->cv, &b->c, &blk->ca_v_w, &blk->ca_v_b, DIT_ACT_NONE));
    if (c->qk_norm) {
        BE(op->rms_norm(be, &b->q, &b->q, &blk->ca_norm_q, c->eps));
        BE(op->rms_norm(be, &b->ck, &b->ck, &blk->ca_norm_k, c->eps));
    }
    dit_tensor ck3 = heads_view(&b->ck, c->heads), cv3 = heads_view(&b->cv, c->heads);
    dit_tensor cq3 = heads_view(&b->q, c->heads), co3 = heads_view(&b->o, c->heads); /* this rank's tokens */
    attn_call cross;
    memset(&cross, 0, sizeof cross);
    cross.params = attn_params_default(ATTN_METHOD_DENSE);
    BE(attn_forward(r->attn, &cross, &co3, &cq3, &ck3, &cv3, NULL));
    BE(op->linear(be, &b->y, &b->o, &blk->ca_o_w, &blk->ca_o_b, DIT_ACT_NONE));
    BE(op->gated_add(be, &b->x, &b->y, NULL));

    /* FFN: x += g2 * W2 gelu_tanh(W1 (LN(x)(1+sc2)+sh2) + b1) + b2 */
    BE(op->layer_norm(be, &b->h, &b->x, NULL, NULL, &sc2, &sh2, c->eps));
    BE(op->linear(be, &b->f, &b->h, &blk->ffn1_w, &blk->ffn1_b, DIT_ACT_GELU_TANH));
    BE(op->linear(be, &b->y, &b->f, &blk->ffn2_w, &blk->ffn2_b, DIT_ACT_NONE));
    BE(op->gated_add(be, &b->x, &b->y, &g2));
    return DIT_OK;
}

/* The sinusoid of the reference: [cos(t w_k) | sin(t w_k)], w_k = 10000^(-k/half), in double. */
static void time_sinusoid(double t, int freq_dim, float *out) {
    int half = freq_dim / 2;
    for (int k = 0; k < half; k++) {
        double w = exp(-log(10000.0) * (double)k / (double)half);
        out[k] = (float)cos(t * w);
        out[half + k] = (float)sin(t * w);
    }
}

static dit_status forward_impl(wan_run *r, const float *x_lat, double t, const float *ctx, int64_t ctx_rows,
                               float *velocity) {
    wan_dit *m = r->m;
    dit_backend *be = m->be;
    const wan_config *c = &m->cfg;
    const dit_backend_ops *op = be->ops;
    dit_arena *a = &r->arena;
    dit_dtype A = be->act_dtype;
    int64_t N = r->N, n = r->ntok, L = r->ctx_len, D = c->dim;
    int64_t P = (int64_t)c->in_dim * c->patch[0] * c->patch[1] * c->patch[2];
    int64_t Po = (int64_t)c->out_dim * c->patch[0] * c->patch[1] * c->patch[2];
    dit_grid g = run_grid(r);
    fwd_bufs b;
    dit_arena_reset(a);

    /* 1. patch embedding: tokens [n, P] (this rank's rows of the run's token order) -> x [n, dim] f32 */
    dit_tensor tok;
    BE(dit_arena_tensor_2d(a, &tok, "patch tokens", A, n, P));
    dit_patchify(&g, x_lat, r->host_tokens);
    if (r->order) { /* reorder rows: row i holds grid token order[i] */
        float *perm = malloc((size_t)(N * P) * sizeof(float));
        if (!perm) return DIT_FAIL(&be->err, DIT_ERR_OOM, "token permutation");
        for (int64_t i = 0; i < N; i++) memcpy(perm + i * P, r->host_tokens + r->order[i] * P, (size_t)P * sizeof(float));
        memcpy(r->host_tokens, perm, (size_t)(N * P) * sizeof(float));
        free(perm);
    }
    BE(dit_backend_upload_f32(be, &tok, r->host_tokens + r->tok0 * P));
    BE(dit_arena_tensor_2d(a, &b.x, "residual x", DIT_DTYPE_F32, n, D));
    BE(op->linear(be, &b.x, &tok, &m->patch_w, &m->patch_b, DIT_ACT_NONE));

    /* 2. time: e = L2 silu L1 sinusoid(t);  e0 = Lp silu(e) viewed [6, dim] */
    dit_tensor sin_t, e, e_tmp, e_act;
    BE(dit_arena_tensor_2d(a, &sin_t, "time sinusoid", DIT_DTYPE_F32, 1, c->freq_dim));
    BE(dit_arena_tensor_2d(a, &e, "e", DIT_DTYPE_F32, 1, D));
    BE(dit_arena_tensor_2d(a, &e_tmp, "e hidden", DIT_DTYPE_F32, 1, D));
    BE(dit_arena_tensor_2d(a, &e_act, "silu(e)", DIT_DTYPE_F32, 1, D));
    BE(dit_arena_tensor_2d(a, &b.e0, "e0", DIT_DTYPE_F32, 6, D));
    BE(dit_arena_tensor_2d(a, &b.mod, "block modulation", DIT_DTYPE_F32, 6, D));
    float sinus[1024];
    time_sinusoid(t, c->freq_dim, sinus);
    BE(dit_backend_upload_f32(be, &sin_t, sinus));
    BE(op->linear(be, &e_tmp, &sin_t, &m->time1_w, &m->time1_b, DIT_ACT_SILU));
    BE(op->linear(be, &e, &e_tmp, &m->time2_w, &m->time2_b, DIT_ACT_NONE));
    BE(op->activation(be, &e_act, &e, DIT_ACT_SILU));
    dit_tensor e0_flat = b.e0;
    e0_flat.ne[0] = 1, e0_flat.ne[1] = 6 * D;
    BE(op->linear(be, &e0_flat, &e_act, &m->tproj_w, &m->tproj_b, DIT_ACT_NONE));

    /* 3. text: c = L2 gelu_tanh L1 (ctx zero-padded to 512 rows) */
    dit_tensor cin, chid;
    BE(dit_arena_tensor_2d(a, &cin, "context in", A, L, c->text_dim));
    BE(dit_arena_tensor_2d(a, &chid, "text hidden", A, L, D));
    BE(dit_arena_tensor_2d(a, &b.c, "context", A, L, D));
    {
        float *pad = calloc((size_t)(L * c->text_dim), sizeof(float));
        if (!pad) return DIT_FAIL(&be->err, DIT_ERR_OOM, "context padding");
        memcpy(pad, ctx, (size_t)(ctx_rows * c->text_dim) * sizeof(float));
        dit_status s = dit_backend_upload_f32(be, &cin, pad);
        free(pad);
        BE(s);
    }
    BE(op->linear(be, &chid, &cin, &m->text1_w, &m->text1_b, DIT_ACT_GELU_TANH));
    BE(op->linear(be, &b.c, &chid, &m->text2_w, &m->text2_b, DIT_ACT_NONE));

    /* 4. blocks */
    BE(dit_arena_tensor_2d(a, &b.h, "h", A, n, D));
    BE(dit_arena_tensor_2d(a, &b.q, "q", A, n, D));
    BE(dit_arena_tensor_2d(a, &b.k, "k", A, n, D));
    BE(dit_arena_tensor_2d(a, &b.v, "v", A, n, D));
    BE(dit_arena_tensor_2d(a, &b.o, "attention out", A, n, D));
    BE(dit_arena_tensor_2d(a, &b.y, "projection out", A, n, D));
    BE(dit_arena_tensor_2d(a, &b.f, "ffn hidden", A, n, c->ffn_dim));
    if (r->sp) {
        const int64_t w = D / r->sp->size;
        BE(dit_arena_tensor_2d(a, &b.qg, "q of the head group", A, N, w));
        BE(dit_arena_tensor_2d(a, &b.kg, "k of the head group", A, N, w));
        BE(dit_arena_tensor_2d(a, &b.vg, "v of the head group", A, N, w));
        BE(dit_arena_tensor_2d(a, &b.og, "attention out of the head group", A, N, w));
        BE(dit_arena_tensor_2d(a, &b.pack, "all-to-all staging", A, n, D));
    }
    BE(dit_arena_tensor_2d(a, &b.ck, "cross k", A, L, D));
    BE(dit_arena_tensor_2d(a, &b.cv, "cross v", A, L, D));
    for (int l = 0; l < c->layers; l++) {
        dit_status s = block_forward(r, l, &b);
        if (s != DIT_OK) return dit_err_wrap(&be->err, "block %d", l);
    }

    /* 5. head: (sh, sc) = head_modulation + e;  y = W_head (LN(x)(1+sc)+sh) + b, f32 */
    dit_tensor hsh, hsc, hln, y;
    BE(dit_arena_tensor_2d(a, &hsh, "head shift", DIT_DTYPE_F32, 1, D));
    BE(dit_arena_tensor_2d(a, &hsc, "head scale", DIT_DTYPE_F32, 1, D));
    BE(dit_arena_tensor_2d(a, &hln, "head norm", DIT_DTYPE_F32, n, D));
    BE(dit_arena_tensor_2d(a, &y, "head out", DIT_DTYPE_F32, n, Po));
    dit_tensor hm0 = row_view(&m->head_mod, 0), hm1 = row_view(&m->head_mod, 1), e1 = row_view(&e, 0);
    hsh.ndim = hsc.ndim = 1;
    hsh.ne[0] = hsc.ne[0] = D;
    BE(op->add(be, &hsh, &hm0, &e1));
    BE(op->add(be, &hsc, &hm1, &e1));
    BE(op->layer_norm(be, &hln, &b.x, NULL, NULL, &hsc, &hsh, c->eps));
    BE(op->linear(be, &y, &hln, &m->head_w, &m->head_b, DIT_ACT_NONE));
    if (r->sp) { /* every rank gets every token's output */
        dit_tensor yall;
        BE(dit_arena_tensor_2d(a, &yall, "gathered head out", DIT_DTYPE_F32, N, Po));
        size_t bytes[DIT_COMM_MAX_RANKS];
        for (int p = 0; p < r->sp->size; p++) {
            int64_t t0, tn;
            dit_comm_split_range(N, r->sp->size, p, &t0, &tn);
            bytes[p] = (size_t)(tn * Po) * sizeof(float);
        }
        if (dit_comm_all_gather(r->sp, y.data, bytes, yall.data) != DIT_OK) {
            be->err = r->sp->err;
            return dit_err_wrap(&be->err, "gathering the head output");
        }
        y = yall;
    }
    BE(dit_backend_download_f32(be, r->host_out, &y));
    BE(op->sync(be));

    /* 6. unpatchify (undoing the token order) */
    if (r->order) {
        float *perm = malloc((size_t)(N * Po) * sizeof(float));
        if (!perm) return DIT_FAIL(&be->err, DIT_ERR_OOM, "token un-permutation");
        for (int64_t i = 0; i < N; i++) memcpy(perm + r->order[i] * Po, r->host_out + i * Po, (size_t)Po * sizeof(float));
        memcpy(r->host_out, perm, (size_t)(N * Po) * sizeof(float));
        free(perm);
    }
    dit_grid go = g;
    go.C = c->out_dim;
    dit_unpatchify(&go, r->host_out, velocity);
    return DIT_OK;
}

dit_status wan_dit_forward(wan_run *r, const float *x, double t, const float *ctx, int64_t ctx_rows,
                           float *velocity, dit_err *err) {
    const wan_config *c = &r->m->cfg;
    if (ctx_rows < 0 || ctx_rows > r->ctx_len)
        return DIT_FAIL(err, DIT_ERR_SHAPE, "text context has %lld rows; at most %lld (text_len) are allowed",
                        (long long)ctx_rows, (long long)r->ctx_len);
    if (c->freq_dim > 1024) return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "freq_dim %d > 1024", c->freq_dim);
    double t0 = dit_now_ms();
    r->ms_attention = 0;
    dit_status s = forward_impl(r, x, t, ctx, ctx_rows, velocity);
    r->call_index++;
    r->ms_forward = dit_now_ms() - t0;
    if (s != DIT_OK) {
        *err = r->m->be->err;
        return err->code ? err->code : s;
    }
    return DIT_OK;
}
