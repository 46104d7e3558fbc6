/* gemm_cublaslt.c — the linear op on CUDA through cuBLASLt.
 *
 * out[M,N] = act(x[M,K] . w[N,K]^T + b[N]).  Row-major operands are handed to
 * column-major cuBLASLt as D^T[N,M] = W^T(op T on the [K,N] view) x X([K,M]):
 * m = N, n = M, k = K.  bf16 x bf16 -> bf16 or f32 with f32 accumulation;
 * f32 x f32 -> f32 in full f32 (time MLP and head, as the reference keeps them).
 * Bias (+GELU-tanh) is fused in the epilogue; cuBLASLt wants the bias in the
 * output dtype, so f32 biases feeding a bf16 output are converted once and the
 * copy cached per backend.  Other activations (SiLU, GELU-erf) run as a second
 * kernel.  Heuristic results are cached per (M, N, K, types, epilogue). */
#include <stdlib.h> /* calloc */
#include <string.h> /* memset */

#include "../op_check.h" /* dit_check_linear */
#include "cuda_backend.h"
#include "cuda_ctx.h" /* struct dit_cuda_ctx */
#include "ops_cuda.h" /* dit_cuda_bias_act, dit_cuda_convert */

#define WS_BYTES (64u << 20)
#define MAX_PLANS 128
#define MAX_BIAS 4096

typedef struct gemm_plan {
    int64_t M, N, K;
    int xt, wt, ot, epi, bias_t;
    cublasLtMatmulAlgo_t algo;
    int valid;
} gemm_plan;

typedef struct bias_copy {
    const void *src;
    void *dst;
} bias_copy;

typedef struct gemm_state {
    void *ws;
    gemm_plan plans[MAX_PLANS];
    int nplans;
    bias_copy bias[MAX_BIAS];
    int nbias;
} gemm_state;

static gemm_state *state_of(dit_backend *be, int create) {
    dit_cuda_ctx *c = dit_cuda_ctx_of(be);
    if (!c->gemm && create) c->gemm = calloc(1, sizeof(gemm_state));
    return c->gemm;
}

void dit_cuda_gemm_cache_free(dit_backend *be) {
    dit_cuda_ctx *c = dit_cuda_ctx_of(be);
    gemm_state *st = c ? c->gemm : NULL;
    if (!st) return;
    for (int k = 0; k < st->nbias; k++) cudaFree(st->bias[k].dst);
    if (st->ws) cudaFree(st->ws);
    free(st);
    c->gemm = NULL;
}

static cudaDataType_t cuda_type(dit_dtype t) { return t == DIT_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

static dit_status bias_in(dit_backend *be, gemm_state *st, const dit_tensor *b, dit_dtype want, const void **out) {
    if (want == DIT_DTYPE_F32) {
        *out = b->data;
        return DIT_OK;
    }
    for (int i = 0; i < st->nbias; i++)
        if (st->bias[i].src == b->data) {
            *out = st->bias[i].dst;
            return DIT_OK;
        }
    if (st->nbias >= MAX_BIAS) return DIT_FAIL(&be->err, DIT_ERR_INTERNAL, "linear: more than %d distinct biases", MAX_BIAS);
    void *p = NULL;
    int64_t n = dit_tensor_numel(b);
    CUDA_TRY(be, cudaMalloc(&p, (size_t)n * 2));
    cudaError_t e = dit_cuda_convert(p, DIT_DTYPE_BF16, b->data, DIT_DTYPE_F32, n, dit_cuda_stream(be));
    if (e != cudaSuccess) {
        cudaFree(p);
        return dit_cuda_check(be, e, "bias conversion", __FILE__, __LINE__);
    }
    st->bias[st->nbias].src = b->data;
    st->bias[st->nbias].dst = p;
    st->nbias++;
    *out = p;
    return DIT_OK;
}

dit_status dit_cuda_linear(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                           const dit_tensor *b, dit_act act) {
    unsigned floats = DIT_MASK(DIT_DTYPE_F32) | DIT_MASK(DIT_DTYPE_BF16);
    DIT_TRY(dit_check_linear(be, out, x, w, b, floats, floats));
    if (x->dtype != w->dtype)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "linear: x is %s but the weight is %s (they must match on CUDA)",
                        dit_dtype_name(x->dtype), dit_dtype_name(w->dtype));
    if (x->dtype == DIT_DTYPE_F32 && out->dtype != DIT_DTYPE_F32)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "linear: f32 inputs need an f32 output");
    int64_t M = dit_tensor_rows(x), K = dit_tensor_cols(x), N = w->ne[0];
    if (M == 0 || N == 0) return DIT_OK;
    gemm_state *st = state_of(be, 1);
    if (!st) return DIT_FAIL(&be->err, DIT_ERR_OOM, "linear: GEMM state");
    if (!st->ws) CUDA_TRY(be, cudaMalloc(&st->ws, WS_BYTES));
    cudaStream_t stream = dit_cuda_stream(be);
    /* epilogue: bias (+ GELU-tanh) fused; other activations after */
    int fuse_gelu = act == DIT_ACT_GELU_TANH && b;
    cublasLtEpilogue_t epi = b ? (fuse_gelu ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                               : (act == DIT_ACT_GELU_TANH ? CUBLASLT_EPILOGUE_GELU : CUBLASLT_EPILOGUE_DEFAULT);
    int post_act = !(act == DIT_ACT_NONE || act == DIT_ACT_GELU_TANH);
    const void *bias_ptr = NULL;
    if (b) DIT_TRY(bias_in(be, st, b, out->dtype, &bias_ptr));

    cublasComputeType_t ct = x->dtype == DIT_DTYPE_F32 ? CUBLAS_COMPUTE_32F : CUBLAS_COMPUTE_32F;
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    dit_status s = DIT_OK;
    cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
    cudaDataType_t bt = cuda_type(out->dtype);
#define LT(call)                                                                 \
    do {                                                                         \
        if (s == DIT_OK) s = dit_cublas_check(be, (call), #call, __FILE__, __LINE__); \
    } while (0)
    LT(cublasLtMatmulDescCreate(&op, ct, CUDA_R_32F));
    LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA));
    LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB));
    LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi));
    if (bias_ptr) {
        LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_ptr, sizeof bias_ptr));
        LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof bt));
    }
    LT(cublasLtMatrixLayoutCreate(&la, cuda_type(w->dtype), (uint64_t)K, (uint64_t)N, K));
    LT(cublasLtMatrixLayoutCreate(&lb, cuda_type(x->dtype), (uint64_t)K, (uint64_t)M, K));
    LT(cublasLtMatrixLayoutCreate(&lc, cuda_type(out->dtype), (uint64_t)N, (uint64_t)M, N));
    /* cached heuristic */
    gemm_plan *plan = NULL;
    for (int i = 0; s == DIT_OK && i < st->nplans; i++) {
        gemm_plan *p = &st->plans[i];
        if (p->M == M && p->N == N && p->K == K && p->xt == (int)x->dtype && p->wt == (int)w->dtype &&
            p->ot == (int)out->dtype && p->epi == (int)epi && p->bias_t == (b != NULL))
            plan = p;
    }
    if (s == DIT_OK && !plan) {
        cublasLtMatmulPreference_t pref = NULL;
        uint64_t wsb = WS_BYTES;
        LT(cublasLtMatmulPreferenceCreate(&pref));
        LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb));
        cublasLtMatmulHeuristicResult_t res;
        int got = 0;
        LT(cublasLtMatmulAlgoGetHeuristic(dit_cuda_cublaslt(be), op, la, lb, lc, lc, pref, 1, &res, &got));
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (s == DIT_OK && got == 0)
            s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "linear: cuBLASLt has no algorithm for M=%lld N=%lld K=%lld (%s)",
                         (long long)M, (long long)N, (long long)K, dit_dtype_name(x->dtype));
        if (s == DIT_OK) {
            int slot = st->nplans < MAX_PLANS ? st->nplans++ : (int)((M + N + K) % MAX_PLANS);
            plan = &st->plans[slot];
            plan->M = M, plan->N = N, plan->K = K;
            plan->xt = (int)x->dtype, plan->wt = (int)w->dtype, plan->ot = (int)out->dtype;
            plan->epi = (int)epi, plan->bias_t = b != NULL;
            plan->algo = res.algo;
            plan->valid = 1;
        }
    }
    if (s == DIT_OK) {
        float alpha = 1.0f, beta = 0.0f;
        LT(cublasLtMatmul(dit_cuda_cublaslt(be), op, &alpha, w->data, la, x->data, lb, &beta, out->data, lc, out->data,
                          lc, &plan->algo, st->ws, WS_BYTES, stream));
    }
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
#undef LT
    if (s != DIT_OK) return dit_err_wrap(&be->err, "linear [%lld x %lld] . [%lld x %lld]^T", (long long)M, (long long)K,
                                         (long long)N, (long long)K);
    if (post_act) {
        cudaError_t e = dit_cuda_bias_act(out->data, out->dtype, NULL, (int)act, M, N, stream);
        if (e != cudaSuccess) return dit_cuda_check(be, e, "activation after GEMM", __FILE__, __LINE__);
    }
    return DIT_OK;
}
