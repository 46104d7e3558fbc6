/* attn.c — the attention entry points: attn_forward validates operands, dispatches by method
 * and device, and fills the per-call statistics; attn_select_cpu dispatches the CPU block
 * selection by method.  The top of attention/'s call graph: nothing in attention/ calls back
 * into this file (docs/ARCHITECTURE.md, "Inside attention/"). */
#include "attn.h"

#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, memset */

#include "../dit/clock.h"    /* dit_now_ms */
#include "../dit/op_check.h" /* dit_check_operand */
#include "sparse_cpu.h"      /* attn_rectified_select, attn_sla_select, attn_cpu_check_f32 */
#ifdef SPADIT_HAVE_CUDA
#include "attn_cuda.h"   /* attn_cuda_create, attn_cuda_mark, attn_cuda_elapsed, attn_cuda_sdpa */
#include "dense_cuda.h"  /* attn_dense_cudnn, attn_dense_cuda_bias */
#include "sparse_cuda.h" /* attn_rectified_cuda, attn_sla_cuda */
#endif

struct attn_ctx {
    dit_backend *be;
#ifdef SPADIT_HAVE_CUDA
    attn_cuda *cuda; /* SDPA plans and timing events when be is a CUDA backend */
#endif
};

dit_status attn_ctx_create(dit_backend *be, attn_ctx **out) {
    attn_ctx *c = calloc(1, sizeof *c);
    if (!c) return DIT_FAIL(&be->err, DIT_ERR_OOM, "attention context");
    c->be = be;
#ifdef SPADIT_HAVE_CUDA
    if (be->device == DIT_DEVICE_CUDA) {
        dit_status s = attn_cuda_create(be, &c->cuda);
        if (s != DIT_OK) {
            free(c);
            return s;
        }
    }
#endif
    *out = c;
    return DIT_OK;
}

void attn_ctx_destroy(attn_ctx **ctx) {
    if (!ctx || !*ctx) return;
#ifdef SPADIT_HAVE_CUDA
    attn_cuda_destroy(&(*ctx)->cuda);
#endif
    free(*ctx);
    *ctx = NULL;
}

const char *attn_method_name(attn_method m) {
    switch (m) {
    case ATTN_METHOD_DENSE: return "dense";
    case ATTN_METHOD_RECTIFIED: return "rectified";
    case ATTN_METHOD_SLA: return "sla";
    }
    return "?";
}

int attn_method_parse(const char *s) {
    if (!strcmp(s, "dense")) return ATTN_METHOD_DENSE;
    if (!strcmp(s, "rectified")) return ATTN_METHOD_RECTIFIED;
    if (!strcmp(s, "sla")) return ATTN_METHOD_SLA;
    return -1;
}

attn_params attn_params_default(attn_method m) {
    attn_params p;
    memset(&p, 0, sizeof p);
    p.method = m;
    p.rect.drop_rate = 0.75f;
    p.rect.tau = 0.3f;
    p.rect.gapr = 1;
    p.rect.neighbors = 1;
    p.rect.forced_square = 1;
    p.rect.block = 128;
    p.sla.topk = 0.05f;
    p.sla.variant = ATTN_SLA_MAIN;
    p.sla.block_q = 128;
    p.sla.block_k = 64;
    return p;
}

dit_status attn_forward(attn_ctx *ctx, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                        const dit_tensor *k, const dit_tensor *v, attn_stats *stats) {
    dit_backend *be = ctx->be;
    unsigned mask = DIT_MASK(be->act_dtype);
    DIT_TRY(dit_check_operand(be, "attention", "q", q, mask));
    DIT_TRY(dit_check_operand(be, "attention", "k", k, mask));
    DIT_TRY(dit_check_operand(be, "attention", "v", v, mask));
    DIT_TRY(dit_check_operand(be, "attention", "out", out, mask));
    if (q->ndim != 3 || k->ndim != 3 || v->ndim != 3 || k->ne[1] != q->ne[1] || k->ne[2] != q->ne[2] ||
        !dit_tensor_same_shape(k, v) || !dit_tensor_same_shape(out, q))
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE,
                        "attention: expected q/out [Sq, H, D] and k/v [Sk, H, D]; got q %lldx%lldx%lld, k %lldx%lldx%lld",
                        (long long)q->ne[0], (long long)q->ne[1], (long long)q->ne[2], (long long)k->ne[0],
                        (long long)k->ne[1], (long long)k->ne[2]);
    attn_stats local;
    attn_stats *st = stats ? stats : &local;
    int64_t *per_head = stats ? stats->selected_per_head : NULL; /* local is uninitialised */
    memset(st, 0, sizeof *st);
    st->selected_per_head = per_head;
    st->method = call->params.method;
    st->heads = (int)q->ne[1];
    double t0 = dit_now_ms();
    dit_status s;
#ifdef SPADIT_HAVE_CUDA
    if (be->device == DIT_DEVICE_CUDA) {
        if (stats) DIT_TRY(attn_cuda_mark(ctx->cuda, 6));
        switch (call->params.method) {
        case ATTN_METHOD_DENSE:
            /* cuDNN's fused SDPA for the DiT's head dims; the simple kernel for biases, key masks and
             * other head dims (the VAE's single 384-wide head) */
            s = call->bias || (call->kv_valid > 0 && call->kv_valid < k->ne[0]) || (q->ne[2] != 64 && q->ne[2] != 128)
                    ? attn_dense_cuda_bias(be, call, out, q, k, v)
                    : attn_dense_cudnn(be, attn_cuda_sdpa(ctx->cuda), call, out, q, k, v);
            break;
        case ATTN_METHOD_RECTIFIED:
            s = attn_rectified_cuda(be, ctx->cuda, call, out, q, k, v, stats ? st : NULL);
            break;
        case ATTN_METHOD_SLA:
            s = attn_sla_cuda(be, ctx->cuda, call, out, q, k, v, stats ? st : NULL);
            break;
        default:
            s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "attention method '%s' is not available on backend '%s'",
                         attn_method_name(call->params.method), be->name);
        }
        if (s == DIT_OK && stats) {
            DIT_TRY(attn_cuda_mark(ctx->cuda, 7));
            st->ms_total = attn_cuda_elapsed(ctx->cuda, 6, 7);
            if (call->params.method == ATTN_METHOD_DENSE) st->ms_kernel = st->ms_total;
        }
        return s;
    }
#endif
    switch (call->params.method) {
    case ATTN_METHOD_DENSE:
        s = attn_dense_cpu(be, call, out, q, k, v);
        st->sparsity = 0;
        break;
    case ATTN_METHOD_RECTIFIED:
        s = attn_rectified_cpu(be, call, out, q, k, v, st);
        break;
    case ATTN_METHOD_SLA:
        s = attn_sla_cpu(be, call, out, q, k, v, st);
        break;
    default:
        s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "attention method '%s' is not available on backend '%s'",
                     attn_method_name(call->params.method), be->name);
    }
    st->ms_total = dit_now_ms() - t0;
    if (call->params.method == ATTN_METHOD_DENSE) st->ms_kernel = st->ms_total;
    return s;
}

dit_status attn_select_cpu(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k,
                           const dit_tensor *v, attn_selection *sel) {
    if (!sel) return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "attention selection: sel is NULL");
    memset(sel, 0, sizeof *sel);
    int rect = call && call->params.method == ATTN_METHOD_RECTIFIED;
    DIT_TRY(attn_cpu_check_f32(be, "attention selection", q, k, rect ? v : NULL, NULL));
    if (rect && !v) return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "attention selection: 'rectified' needs v (pooled V)");
    DIT_TRY(attn_sparse_check(be, call, q, k));
    switch (call->params.method) {
    case ATTN_METHOD_RECTIFIED: return attn_rectified_select(be, call, q, k, v, sel);
    case ATTN_METHOD_SLA: return attn_sla_select(be, call, q, k, sel);
    default: break;
    }
    return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "attention selection: method '%s' has no block selection",
                    attn_method_name(call->params.method));
}
