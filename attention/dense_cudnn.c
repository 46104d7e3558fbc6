/* dense_cudnn.c — dense attention on CUDA through cuDNN's fused SDPA node
 * (cuDNN >= 9.13 backend API, plain C): one OPERATION_SDPA_FWD node over
 * BSHD bf16 tensors, heuristics mode A, the first engine config that
 * finalises; execution plans cached per (Sq, Sk, H, D, scale) in an
 * attn_sdpa_cache, which the CUDA attention context owns (attn_cuda.c).  This
 * is both a production path and the dense baseline every sparse method is
 * timed against.  Checked against the CPU reference by tests/test_attn_cuda.c. */
#include <cudnn.h>  /* cudnnBackend* */
#include <math.h>   /* sqrtf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* memset, memmove */

#include "../dit/cuda/cuda_backend.h" /* dit_cuda_stream, dit_cuda_cudnn, CUDNN_TRY */
#include "dense_cuda.h"

#define MAX_PLANS 32

typedef struct sdpa_plan {
    int64_t Sq, Sk, H, D;
    float scale;
    cudnnBackendDescriptor_t plan;
    int64_t ws;
} sdpa_plan;

struct attn_sdpa_cache {
    sdpa_plan plans[MAX_PLANS];
    int nplans;
};

dit_status attn_sdpa_cache_create(dit_backend *be, attn_sdpa_cache **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return DIT_FAIL(&be->err, DIT_ERR_OOM, "cuDNN SDPA plan cache");
    return DIT_OK;
}

void attn_sdpa_cache_free(attn_sdpa_cache **pc) {
    if (!pc || !*pc) return;
    attn_sdpa_cache *c = *pc;
    for (int i = 0; i < c->nplans; i++) cudnnBackendDestroyDescriptor(c->plans[i].plan);
    free(c);
    *pc = NULL;
}

/* Build a tensor descriptor; BSHD memory described as logical [1, H, S, D]. */
static dit_status tensor_desc(dit_backend *be, int64_t uid, cudnnDataType_t dt, int64_t H, int64_t S, int64_t D,
                              int by_value, cudnnBackendDescriptor_t *out) {
    cudnnBackendDescriptor_t t;
    int64_t dims[4] = {1, H, S, D}, str[4] = {S * H * D, D, H * D, 1}, one[4] = {1, 1, 1, 1};
    int64_t align = by_value ? 4 : 16;
    CUDNN_TRY(be, cudnnBackendCreateDescriptor(CUDNN_BACKEND_TENSOR_DESCRIPTOR, &t));
    *out = t;
    CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid));
    CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt));
    if (by_value) {
        int bv = 1;
        CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, one));
        CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, one));
        CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &bv));
    } else {
        CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims));
        CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, str));
    }
    CUDNN_TRY(be, cudnnBackendSetAttribute(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align));
    CUDNN_TRY(be, cudnnBackendFinalize(t));
    return DIT_OK;
}

static dit_status build_plan(dit_backend *be, sdpa_plan *p) {
    cudnnBackendDescriptor_t d[5] = {0}, op = NULL, graph = NULL, heur = NULL, *cfg = NULL;
    dit_status s = DIT_OK;
    cudnnHandle_t h = dit_cuda_cudnn(be);
    if (cudnnGetVersion() < 91300) {
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED,
                        "cuDNN %zu is too old: the fused SDPA node needs cuDNN >= 9.13 (found %zu)", cudnnGetVersion(),
                        cudnnGetVersion());
    }
    if (s == DIT_OK) s = tensor_desc(be, 1, CUDNN_DATA_BFLOAT16, p->H, p->Sq, p->D, 0, &d[0]);
    if (s == DIT_OK) s = tensor_desc(be, 2, CUDNN_DATA_BFLOAT16, p->H, p->Sk, p->D, 0, &d[1]);
    if (s == DIT_OK) s = tensor_desc(be, 3, CUDNN_DATA_BFLOAT16, p->H, p->Sk, p->D, 0, &d[2]);
    if (s == DIT_OK) s = tensor_desc(be, 4, CUDNN_DATA_BFLOAT16, p->H, p->Sq, p->D, 0, &d[3]);
    if (s == DIT_OK) s = tensor_desc(be, 5, CUDNN_DATA_FLOAT, 1, 1, 1, 1, &d[4]);
#define CK(call)                                                             \
    do {                                                                     \
        if (s == DIT_OK) s = dit_cudnn_check(be, (call), #call, __FILE__, __LINE__); \
    } while (0)
    CK(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR, &op));
    CK(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d[0]));
    CK(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d[1]));
    CK(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d[2]));
    CK(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d[3]));
    CK(cudnnBackendSetAttribute(op, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &d[4]));
    CK(cudnnBackendFinalize(op));
    CK(cudnnBackendCreateDescriptor(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, &graph));
    CK(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &h));
    CK(cudnnBackendSetAttribute(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op));
    CK(cudnnBackendFinalize(graph));
    cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    CK(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, &heur));
    CK(cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph));
    CK(cudnnBackendSetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode));
    CK(cudnnBackendFinalize(heur));
    int64_t ncfg = 0, got = 0;
    CK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &ncfg, NULL));
    if (s == DIT_OK && ncfg <= 0)
        s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "cuDNN offers no SDPA engine for Sq=%lld Sk=%lld H=%lld D=%lld",
                     (long long)p->Sq, (long long)p->Sk, (long long)p->H, (long long)p->D);
    if (s == DIT_OK) cfg = calloc((size_t)ncfg, sizeof *cfg);
    for (int64_t i = 0; s == DIT_OK && i < ncfg; i++) CK(cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, &cfg[i]));
    CK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, ncfg, &got, cfg));
    p->plan = NULL;
    for (int64_t i = 0; s == DIT_OK && i < got && !p->plan; i++) {
        cudnnBackendDescriptor_t plan;
        if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, &plan) != CUDNN_STATUS_SUCCESS) continue;
        if (cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h) ==
                CUDNN_STATUS_SUCCESS &&
            cudnnBackendSetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                     &cfg[i]) == CUDNN_STATUS_SUCCESS &&
            cudnnBackendFinalize(plan) == CUDNN_STATUS_SUCCESS) {
            int64_t cnt = 0;
            CK(cudnnBackendGetAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, &cnt, &p->ws));
            p->plan = plan;
        } else {
            cudnnBackendDestroyDescriptor(plan);
        }
    }
    if (s == DIT_OK && !p->plan)
        s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "no cuDNN SDPA engine config finalised for Sq=%lld Sk=%lld H=%lld D=%lld",
                     (long long)p->Sq, (long long)p->Sk, (long long)p->H, (long long)p->D);
#undef CK
    for (int64_t i = 0; cfg && i < ncfg; i++)
        if (cfg[i]) cudnnBackendDestroyDescriptor(cfg[i]);
    free(cfg);
    if (heur) cudnnBackendDestroyDescriptor(heur);
    if (graph) cudnnBackendDestroyDescriptor(graph);
    if (op) cudnnBackendDestroyDescriptor(op);
    for (int i = 0; i < 5; i++)
        if (d[i]) cudnnBackendDestroyDescriptor(d[i]);
    return s;
}

dit_status attn_dense_cudnn(dit_backend *be, attn_sdpa_cache *c, const attn_call *call, dit_tensor *out,
                            const dit_tensor *q, const dit_tensor *k, const dit_tensor *v) {
    int64_t Sq = q->ne[0], H = q->ne[1], D = q->ne[2], Sk = k->ne[0];
    float scale = call->scale > 0 ? call->scale : 1.0f / sqrtf((float)D);
    sdpa_plan *p = NULL;
    for (int i = 0; i < c->nplans && !p; i++) {
        sdpa_plan *x = &c->plans[i];
        if (x->Sq == Sq && x->Sk == Sk && x->H == H && x->D == D && x->scale == scale) p = x;
    }
    if (!p) {
        if (c->nplans == MAX_PLANS) {
            cudnnBackendDestroyDescriptor(c->plans[0].plan);
            memmove(&c->plans[0], &c->plans[1], sizeof(sdpa_plan) * (MAX_PLANS - 1));
            c->nplans--;
        }
        p = &c->plans[c->nplans];
        memset(p, 0, sizeof *p);
        p->Sq = Sq, p->Sk = Sk, p->H = H, p->D = D, p->scale = scale;
        DIT_TRY(build_plan(be, p));
        c->nplans++;
    }
    void *ws = NULL;
    if (p->ws > 0) DIT_TRY(dit_cuda_scratch(be, (size_t)p->ws, &ws));
    int64_t uids[5] = {1, 2, 3, 4, 5};
    void *ptrs[5] = {q->data, k->data, v->data, out->data, &scale};
    cudnnBackendDescriptor_t vp = NULL;
    dit_status s = dit_cudnn_check(be, cudnnBackendCreateDescriptor(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, &vp), "variant pack", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cudnn_check(be, cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 5, uids), "uids", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cudnn_check(be, cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 5, ptrs), "pointers", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cudnn_check(be, cudnnBackendSetAttribute(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &ws), "workspace", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cudnn_check(be, cudnnBackendFinalize(vp), "variant pack finalize", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cudnn_check(be, cudnnBackendExecute(dit_cuda_cudnn(be), p->plan, vp), "cudnnBackendExecute(SDPA)", __FILE__, __LINE__);
    if (vp) cudnnBackendDestroyDescriptor(vp);
    return s;
}
