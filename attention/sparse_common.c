/* sparse_common.c — the parameter checks and top-k budgets of the sparse methods, shared by the
 * CPU references and the CUDA path (sparse_common.h).  Checked by tests/test_attn_sparse.c
 * (error messages, budgets) and, on a GPU, tests/test_attn_cuda.c. */
#include "sparse_common.h"

#include <math.h> /* isfinite, floor */

#include "../dit/op_check.h" /* dit_check_operand, DIT_MASK_FLOAT */

int64_t attn_rectified_top_k(float drop_rate, int64_t nv) {
    int64_t t = (int64_t)floor((1.0 - (double)drop_rate) * (double)nv + 1e-4);
    return t < 1 ? 1 : t > nv ? nv : t;
}

int64_t attn_sla_top_k(float topk, int64_t nkb) {
    int64_t t = (int64_t)floor((double)topk * (double)nkb + 1e-4);
    return t < 1 ? 1 : t > nkb ? nkb : t;
}

/* ---- checks ---- */

static dit_status check_common(dit_backend *be, const char *m, const attn_call *call, int64_t Sk) {
    if (call->bias)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "%s: an additive attention bias is supported by 'dense' only", m);
    if (call->kv_valid < 0 || (call->kv_valid > 0 && call->kv_valid < Sk))
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG,
                        "%s: kv_valid = %lld of %lld keys (a key mask) is supported by 'dense' only; Rectified marks "
                        "text padding with layout->n_text_valid",
                        m, (long long)call->kv_valid, (long long)Sk);
    if (call->scale < 0 || !isfinite(call->scale))
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: scale %g must be > 0 (or 0 for 1/sqrt(D))", m,
                        (double)call->scale);
    return DIT_OK;
}

static dit_status check_rectified(dit_backend *be, const attn_call *call, int64_t Sq, int64_t Sk) {
    const attn_rectified_params *p = &call->params.rect;
    const char *m = "attention 'rectified'";
    if (!(p->drop_rate >= 0.0f && p->drop_rate < 1.0f))
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: drop_rate = %g must be in [0, 1)", m, (double)p->drop_rate);
    if (!(p->tau >= 0.0f && p->tau <= 1.0f))
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: tau = %g must be in [0, 1]", m, (double)p->tau);
    if (p->block < 0)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: block = %d must be > 0 (0 means 128)", m, p->block);
    DIT_TRY(check_common(be, m, call, Sk));
    if (Sq != Sk)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "%s: self-attention needs q and k of the same length; got %lld and %lld",
                        m, (long long)Sq, (long long)Sk);
    const attn_layout *L = call->layout;
    int64_t B = p->block > 0 ? p->block : 128;
    int64_t n_video = L ? L->n_video : Sq, n_text = L ? L->n_text_valid : 0;
    if (n_video < 1 || n_video > Sq)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: layout->n_video = %lld must be in [1, S = %lld]", m,
                        (long long)n_video, (long long)Sq);
    if (n_text < 0 || n_text > Sq - n_video)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG,
                        "%s: layout->n_text_valid = %lld must be in [0, S - n_video = %lld]", m, (long long)n_text,
                        (long long)(Sq - n_video));
    int64_t nv = (n_video + B - 1) / B;
    if (p->neighbors) {
        if (!L || !L->neighbor)
            return DIT_FAIL(&be->err, DIT_ERR_MISSING,
                            "%s: params.neighbors is on but the call has no neighbour mask (layout->neighbor, [%lld, %lld] "
                            "for %lld video tokens in blocks of %lld; build it with attn_neighbor_mask for the token "
                            "order), or turn neighbors off",
                            m, (long long)nv, (long long)nv, (long long)n_video, (long long)B);
        if (L->neighbor_nb != nv)
            return DIT_FAIL(&be->err, DIT_ERR_SHAPE,
                            "%s: layout->neighbor_nb = %lld, expected %lld (video blocks of %lld tokens)", m,
                            (long long)L->neighbor_nb, (long long)nv, (long long)B);
    }
    if (p->forced_square && (!L || L->latent_frames < 1))
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG,
                        "%s: params.forced_square needs layout->latent_frames >= 1 (got %lld), or turn it off", m,
                        (long long)(L ? L->latent_frames : 0));
    return DIT_OK;
}

static dit_status check_sla(dit_backend *be, const attn_call *call, int64_t D, int64_t Sk) {
    const attn_sla_params *p = &call->params.sla;
    const char *m = "attention 'sla'";
    if (!(p->topk > 0.0f && p->topk <= 1.0f))
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: topk = %g must be in (0, 1]", m, (double)p->topk);
    if (p->variant != ATTN_SLA_MAIN && p->variant != ATTN_SLA_1)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: variant = %d must be main (0) or sla1 (1)", m, (int)p->variant);
    if (p->block_q < 1 || p->block_k < 1)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "%s: block_q = %d and block_k = %d must be > 0", m, p->block_q,
                        p->block_k);
    DIT_TRY(check_common(be, m, call, Sk));
    if (!call->proj_l_w || !call->proj_l_b)
        return DIT_FAIL(&be->err, DIT_ERR_MISSING,
                        "sla needs proj_l: the layer's proj_l weight [%lld, %lld] and bias [%lld] (call->proj_l_w, "
                        "call->proj_l_b) from an SLA fine-tuned checkpoint; the call has %s",
                        (long long)D, (long long)D, (long long)D,
                        !call->proj_l_w && !call->proj_l_b ? "neither" : call->proj_l_w ? "no bias" : "no weight");
    const dit_tensor *w = call->proj_l_w, *b = call->proj_l_b;
    DIT_TRY(dit_check_operand(be, m, "proj_l weight", w, DIT_MASK_FLOAT));
    DIT_TRY(dit_check_operand(be, m, "proj_l bias", b, DIT_MASK_FLOAT));
    if (w->ndim != 2 || w->ne[0] != D || w->ne[1] != D || b->ndim != 1 || b->ne[0] != D)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE,
                        "%s: proj_l weight must be [%lld, %lld] and bias [%lld] (head dim); got %lldx%lld (ndim %d) and "
                        "%lld (ndim %d)",
                        m, (long long)D, (long long)D, (long long)D, (long long)w->ne[0], (long long)w->ne[1], w->ndim,
                        (long long)b->ne[0], b->ndim);
    return DIT_OK;
}

dit_status attn_sparse_check(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k) {
    if (!call || !q || !k) return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "attention: call, q and k must not be NULL");
    switch (call->params.method) {
    case ATTN_METHOD_DENSE: return DIT_OK;
    case ATTN_METHOD_RECTIFIED: return check_rectified(be, call, q->ne[0], k->ne[0]);
    case ATTN_METHOD_SLA: return check_sla(be, call, q->ne[2], k->ne[0]);
    }
    return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "attention: unknown method %d", (int)call->params.method);
}
