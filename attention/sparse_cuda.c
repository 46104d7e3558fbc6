/* sparse_cuda.c — Rectified SpaAttn and SLA on CUDA: workspace layout, the
 * launch sequence (pooling -> map + selection -> LUT block-sparse FlashAttention
 * with the fused epilogue; for SLA also phi(k), the linear state through one
 * strided-batched cuBLASLt GEMM per call and proj_l folded into it), event timing
 * of each phase and the per-call statistics.  The contract is docs/attention.md;
 * tests/test_attn_cuda.c checks every result against the CPU references. */
#include <math.h>   /* floorf */
#include <stdlib.h> /* malloc */
#include <string.h> /* memset */

#include "../dit/cuda/cuda_backend.h" /* dit_cuda_stream, CUDA_TRY, dit_cuda_check */
#include "../dit/op_check.h"          /* dit_check_operand */
#include "attn_cuda.h"                /* attn_cuda_workspace, attn_cuda_mark, attn_cuda_elapsed */
#include "head_dim.h"                 /* SP_HEAD_DIM */
#include "sparse_common.h"            /* attn_sparse_check, attn_rectified_top_k, attn_sla_top_k */
#include "sparse_cuda.h"
#include "sparse_kernels.h" /* kernel launchers */

#define D SP_HEAD_DIM
#define LT_WS (32u << 20)

/* Bump allocation over the workspace: first a dry run to size it, then the real carve. */
typedef struct carve {
    char *base;
    size_t off;
} carve;
static void *take(carve *c, size_t bytes) {
    void *p = c->base ? c->base + c->off : NULL;
    c->off += (bytes + 255) & ~(size_t)255;
    return p;
}

static dit_status ws_reserve(dit_backend *be, attn_cuda_ws *w, size_t bytes) {
    if (bytes <= w->bytes) return DIT_OK;
    if (w->buf) {
        CUDA_TRY(be, cudaStreamSynchronize(dit_cuda_stream(be)));
        cudaFree(w->buf);
        w->buf = NULL;
        w->bytes = 0;
    }
    DIT_TRY(be->ops->alloc(be, bytes, &w->buf));
    w->bytes = bytes;
    return DIT_OK;
}

static dit_status host_counts(dit_backend *be, attn_cuda_ws *w, size_t n, int **out) {
    if (n > w->host_counts_n) {
        free(w->host_counts);
        w->host_counts = malloc(n * sizeof(int));
        if (!w->host_counts) {
            w->host_counts_n = 0;
            return DIT_FAIL(&be->err, DIT_ERR_OOM, "attention stats staging");
        }
        w->host_counts_n = n;
    }
    *out = w->host_counts;
    return DIT_OK;
}

#define KT(call)                                                                              \
    do {                                                                                      \
        cudaError_t e_ = (call);                                                              \
        if (e_ != cudaSuccess) return dit_cuda_check(be, e_, #call, __FILE__, __LINE__);      \
    } while (0)

static dit_status check_d(dit_backend *be, const char *m, const dit_tensor *q, const dit_tensor *k) {
    if (q->ne[2] != D)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "%s attention on CUDA needs head_dim 128 (got %lld)", m,
                        (long long)q->ne[2]);
    if (q->ne[0] != k->ne[0])
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "%s attention is self-attention: q has %lld tokens, k has %lld", m,
                        (long long)q->ne[0], (long long)k->ne[0]);
    if (q->dtype != DIT_DTYPE_BF16) return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "%s attention on CUDA needs bf16", m);
    return DIT_OK;
}

/* The block-sparse kernel to run: v4 (wgmma with softmax / P.V overlap) or v3 (wgmma) on sm_90a builds on
 * compute capability 9.x, else v2 (mma.sync).  0 = auto = v3 where available (v4 is opt-in: it fails
 * its GPU tests, bench/NOTES.md). */
static dit_status fa_launch(dit_backend *be, const attn_call *call, const sp_fa_params *fp) {
    int want = call->kernel;
    int sm90 = 0;
#ifdef SPADIT_SM90A
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dit_cuda_device(be)) == cudaSuccess)
        sm90 = major == 9;
#endif
    if ((want == 3 || want == 4) && !sm90)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED,
                        "the wgmma attention kernels (v3, v4) need an sm_90a build (SPADIT_CUDA_ARCH=90a) on a Hopper GPU");
    if (want != 0 && want != 2 && want != 3 && want != 4)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "unknown attention kernel version %d (2, 3 or 4)", want);
    if (want == 0) want = sm90 ? 3 : 2; /* v4 fails its GPU tests (inf on long rows): opt-in only */
    cudaError_t e = want == 4   ? sp_fa_sm90_v4_launch(fp, dit_cuda_stream(be))
                    : want == 3 ? sp_fa_sm90_launch(fp, dit_cuda_stream(be))
                                : sp_fa_launch(fp, dit_cuda_stream(be));
    return dit_cuda_check(be, e, "block-sparse attention kernel", __FILE__, __LINE__);
}

/* Sum per-row counts into stats; per-head selected blocks when asked. */
static dit_status fill_counts(dit_backend *be, attn_cuda_ws *w, const int *dcnt, const int *dcomp, int H, int nqb,
                              int64_t nkb, attn_stats *st) {
    int *hc = NULL;
    size_t n = (size_t)H * nqb;
    DIT_TRY(host_counts(be, w, 2 * n, &hc));
    CUDA_TRY(be, cudaMemcpyAsync(hc, dcnt, n * sizeof(int), cudaMemcpyDeviceToHost, dit_cuda_stream(be)));
    if (dcomp) CUDA_TRY(be, cudaMemcpyAsync(hc + n, dcomp, n * sizeof(int), cudaMemcpyDeviceToHost, dit_cuda_stream(be)));
    CUDA_TRY(be, cudaStreamSynchronize(dit_cuda_stream(be)));
    st->blocks_total = (int64_t)H * nqb * nkb;
    st->blocks_selected = st->blocks_compensated = 0;
    for (int h = 0; h < H; h++) {
        int64_t sh = 0;
        for (int i = 0; i < nqb; i++) {
            sh += hc[h * nqb + i];
            if (dcomp) st->blocks_compensated += hc[n + (size_t)h * nqb + i];
        }
        st->blocks_selected += sh;
        if (st->selected_per_head) st->selected_per_head[h] = sh;
    }
    st->sparsity = st->blocks_total ? 1.0 - (double)st->blocks_selected / (double)st->blocks_total : 0.0;
    return DIT_OK;
}

static dit_status upload_neighbor(dit_backend *be, attn_cuda_ws *w, const attn_layout *lay, int64_t nvb,
                                  const unsigned char **dev) {
    *dev = NULL;
    if (!lay || !lay->neighbor) return DIT_OK; /* its side was checked by attn_sparse_check */
    if (w->nb_host != lay->neighbor || w->nb_n != nvb) {
        if (w->nb_dev) cudaFree(w->nb_dev);
        w->nb_dev = NULL;
        DIT_TRY(be->ops->alloc(be, (size_t)(nvb * nvb), &w->nb_dev));
        CUDA_TRY(be, cudaMemcpy(w->nb_dev, lay->neighbor, (size_t)(nvb * nvb), cudaMemcpyHostToDevice));
        w->nb_host = lay->neighbor;
        w->nb_n = nvb;
    }
    *dev = w->nb_dev;
    return DIT_OK;
}

dit_status attn_rectified_cuda(dit_backend *be, attn_cuda *c, const attn_call *call, dit_tensor *out,
                               const dit_tensor *q, const dit_tensor *k, const dit_tensor *v, attn_stats *st) {
    DIT_TRY(check_d(be, "rectified", q, k));
    DIT_TRY(attn_sparse_check(be, call, q, k));
    const attn_rectified_params *rp = &call->params.rect;
    if (rp->block != 0 && rp->block != 128)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "rectified on CUDA uses 128-token blocks (block = %d)", rp->block);
    const attn_layout *lay = call->layout;
    const int64_t S = q->ne[0];
    const int H = (int)q->ne[1];
    int64_t n_video = lay && lay->n_video > 0 ? lay->n_video : S;
    int64_t ntv = lay ? lay->n_text_valid : 0;
    if (n_video >= S) ntv = 0; /* ranges checked by attn_sparse_check */
    /* joint layout (n_video < S): ceil((S - n_video)/128) dense text query blocks, ceil(ntv/128) text key
     * blocks holding only real keys (docs/attention.md) */
    const int nvb = (int)((n_video + 127) / 128), ntbq = (int)((S - n_video + 127) / 128), ntb = (int)((ntv + 127) / 128);
    const int nqb = nvb + ntbq, nkb = nvb + ntb;
    const int top_k = (int)attn_rectified_top_k(rp->drop_rate, nvb);
    const float scale = call->scale > 0 ? call->scale : 1.0f / sqrtf((float)D);
    int forced = 0;
    if (rp->forced_square && lay && lay->latent_frames > 0) forced = (int)(nvb / lay->latent_frames);
    cudaStream_t s = dit_cuda_stream(be);
    attn_cuda_ws *w = attn_cuda_workspace(c);
    const unsigned char *nbdev = NULL;
    if (rp->neighbors) DIT_TRY(upload_neighbor(be, w, lay, nvb, &nbdev));
    /* workspace */
    carve cv = {NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        cv.off = 0;
        float *qbar = take(&cv, (size_t)H * nqb * D * 4), *mq = take(&cv, (size_t)H * nqb * D * 4);
        float *kbar = take(&cv, (size_t)H * nvb * D * 4), *mk = take(&cv, (size_t)H * nvb * D * 4);
        float *vbar = take(&cv, (size_t)H * nvb * D * 4), *R = take(&cv, (size_t)H * nqb * 4);
        float *cc = take(&cv, (size_t)H * nqb * D * 4);
        int *lut = take(&cv, (size_t)H * nqb * nkb * 4), *cnt = take(&cv, (size_t)H * nqb * 4);
        int *comp = take(&cv, (size_t)H * nqb * 4);
        if (pass == 0) {
            DIT_TRY(ws_reserve(be, w, cv.off));
            cv.base = w->buf;
            continue;
        }
        if (st) DIT_TRY(attn_cuda_mark(c, 0));
        sp_pool_params pp = {q->data, S, H, 128, nqb, nvb, n_video, 1, qbar, mq};
        KT(sp_pool_launch(&pp, s));
        sp_pool_params pk = {k->data, S, H, 128, nvb, nvb, n_video, 1, kbar, mk};
        KT(sp_pool_launch(&pk, s));
        sp_pool_params pv = {v->data, S, H, 128, nvb, nvb, n_video, 1, vbar, NULL};
        KT(sp_pool_launch(&pv, s));
        if (st) DIT_TRY(attn_cuda_mark(c, 1));
        if (sp_rect_select_smem(nvb, ntb, (int)ntv) > 227 * 1024)
            return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "rectified: %d video blocks + %lld text tokens exceed the selection kernel's shared memory",
                            nvb, (long long)ntv);
        sp_rect_select_params sp = {qbar, mq, kbar, mk, vbar, k->data, nbdev, H, nqb, nvb, nvb, ntb, n_video, ntv, top_k,
                                    forced, rp->gapr, rp->tau, scale, lut, cnt, comp, R, cc, nkb};
        KT(sp_rect_select_launch(&sp, s));
        if (st) DIT_TRY(attn_cuda_mark(c, 2));
        sp_fa_params fp;
        memset(&fp, 0, sizeof fp);
        fp.q = q->data, fp.k = k->data, fp.v = v->data, fp.o = out->data;
        fp.S = S, fp.H = H;
        fp.scale_log2 = scale * 1.4426950408889634f;
        fp.bk = 128, fp.n_video = n_video, fp.nvb_q = nvb, fp.nvb_k = nvb, fp.key_end = n_video < S ? n_video + ntv : S;
        fp.nqb = nqb, fp.lut = lut, fp.cnt = cnt, fp.lut_stride = nkb, fp.nkb = nkb;
        fp.mode = SP_EPI_RECTIFIED, fp.R = R, fp.c = cc;
        DIT_TRY(fa_launch(be, call, &fp));
        if (st) {
            DIT_TRY(attn_cuda_mark(c, 3));
            st->ms_map = attn_cuda_elapsed(c, 0, 1);
            st->ms_select = attn_cuda_elapsed(c, 1, 2);
            st->ms_kernel = attn_cuda_elapsed(c, 2, 3);
            st->ms_epilogue = 0; /* fused into the kernel */
            DIT_TRY(fill_counts(be, w, cnt, comp, H, nqb, nkb, st));
        }
    }
    return DIT_OK;
}

/* Strided-batched GEMM: for b < batch, C_b [D x D] (row-major [d_in][d_out], f32) =
 * sum_u phik[u][d_in] v[u][d_out] over `rows` tokens (bf16 rows of stride H*D elements); batch entry b
 * starts `stride` elements after entry b-1 (D: the next head; bk*H*D: the next key block). */
static dit_status state_gemm(dit_backend *be, attn_cuda_ws *w, const void *v, const void *phik, float *C, int64_t rows,
                             int H, int batch, int64_t stride) {
    if (!w->lt_ws) CUDA_TRY(be, cudaMalloc(&w->lt_ws, LT_WS));
    cublasLtMatmulDesc_t op = NULL;
    cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
    dit_status s = DIT_OK;
    cublasOperation_t tA = CUBLAS_OP_N, tB = CUBLAS_OP_T;
    int32_t bc = batch;
    int64_t sa = stride, sc = (int64_t)D * D;
#define LT(call)                                                                   \
    do {                                                                           \
        if (s == DIT_OK) s = dit_cublas_check(be, (call), #call, __FILE__, __LINE__); \
    } while (0)
    LT(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA));
    LT(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB));
    LT(cublasLtMatrixLayoutCreate(&la, CUDA_R_16BF, D, (uint64_t)rows, (int64_t)H * D));
    LT(cublasLtMatrixLayoutCreate(&lb, CUDA_R_16BF, D, (uint64_t)rows, (int64_t)H * D));
    LT(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, D, D, D));
    cublasLtMatrixLayout_t ls[3] = {la, lb, lc};
    int64_t strides[3] = {sa, sa, sc};
    for (int i = 0; i < 3; i++) {
        LT(cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &bc, sizeof bc));
        LT(cublasLtMatrixLayoutSetAttribute(ls[i], CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &strides[i],
                                            sizeof strides[i]));
    }
    cublasLtMatmulPreference_t pref = NULL;
    uint64_t wsb = LT_WS;
    LT(cublasLtMatmulPreferenceCreate(&pref));
    LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsb, sizeof wsb));
    cublasLtMatmulHeuristicResult_t res;
    int got = 0;
    LT(cublasLtMatmulAlgoGetHeuristic(dit_cuda_cublaslt(be), op, la, lb, lc, lc, pref, 1, &res, &got));
    if (s == DIT_OK && !got) s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "sla: no cuBLASLt algorithm for the linear state");
    float alpha = 1.0f, beta = 0.0f;
    LT(cublasLtMatmul(dit_cuda_cublaslt(be), op, &alpha, v, la, phik, lb, &beta, C, lc, C, lc, &res.algo, w->lt_ws, LT_WS,
                      dit_cuda_stream(be)));
#undef LT
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
    return s;
}

dit_status attn_sla_cuda(dit_backend *be, attn_cuda *c, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                         const dit_tensor *k, const dit_tensor *v, attn_stats *st) {
    DIT_TRY(check_d(be, "sla", q, k));
    DIT_TRY(attn_sparse_check(be, call, q, k));
    const attn_sla_params *sp = &call->params.sla;
    /* proj_l's presence and shapes, topk's range: attn_sparse_check; the kernels need f32 proj_l */
    DIT_TRY(dit_check_operand(be, "sla", "proj_l.weight", call->proj_l_w, DIT_MASK(DIT_DTYPE_F32)));
    DIT_TRY(dit_check_operand(be, "sla", "proj_l.bias", call->proj_l_b, DIT_MASK(DIT_DTYPE_F32)));
    if (sp->block_q != 128 || (sp->block_k != 64 && sp->block_k != 128))
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "sla on CUDA supports block_q 128 and block_k 64 or 128 (got %d / %d)",
                        sp->block_q, sp->block_k);
    const int64_t S = q->ne[0];
    const int H = (int)q->ne[1], bk = sp->block_k;
    const int nqb = (int)((S + 127) / 128), nkb = (int)((S + bk - 1) / bk);
    const int T = (int)attn_sla_top_k(sp->topk, nkb);
    const int sla1 = sp->variant == ATTN_SLA_1;
    cudaStream_t s = dit_cuda_stream(be);
    attn_cuda_ws *w = attn_cuda_workspace(c);
    if (sp_sla_select_smem(nkb) > 227 * 1024)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "sla: %d key blocks exceed the selection kernel's shared memory", nkb);
    carve cv = {NULL, 0};
    for (int pass = 0; pass < 2; pass++) {
        cv.off = 0;
        float *qm = take(&cv, (size_t)H * nqb * D * 4), *km = take(&cv, (size_t)H * nkb * D * 4);
        float *kall = take(&cv, (size_t)H * D * 4), *z = take(&cv, (size_t)H * D * 4);
        int *lut = take(&cv, (size_t)H * nqb * T * 4), *cnt = take(&cv, (size_t)H * nqb * 4);
        void *phik = sla1 ? take(&cv, (size_t)S * H * D * 2) : NULL;
        float *Hs = take(&cv, (size_t)H * D * D * 4);
        void *Hp = take(&cv, (size_t)(sla1 ? (int64_t)H * nqb : H) * D * D * 2);
        float *hblk = sla1 ? take(&cv, (size_t)H * nkb * D * D * 4) : NULL;
        float *zblk = sla1 ? take(&cv, (size_t)H * nkb * D * 4) : NULL;
        float *Hi = sla1 ? take(&cv, (size_t)H * nqb * D * D * 4) : NULL;
        float *zi = sla1 ? take(&cv, (size_t)H * nqb * D * 4) : NULL;
        if (pass == 0) {
            DIT_TRY(ws_reserve(be, w, cv.off));
            cv.base = w->buf;
            continue;
        }
        if (st) DIT_TRY(attn_cuda_mark(c, 0));
        sp_pool_params pq = {q->data, S, H, 128, nqb, nqb, S, 0, qm, NULL};
        KT(sp_pool_launch(&pq, s));
        sp_pool_params pk = {k->data, S, H, bk, nkb, nkb, S, 0, km, NULL};
        KT(sp_pool_launch(&pk, s));
        KT(sp_kall_launch(km, kall, H, nkb, bk, S, s));
        if (st) DIT_TRY(attn_cuda_mark(c, 1));
        sp_sla_select_params sel = {qm, km, kall, H, nqb, nkb, T, lut, cnt, T};
        KT(sp_sla_select_launch(&sel, s));
        if (st) DIT_TRY(attn_cuda_mark(c, 2));
        /* linear state H = phi(K)^T V and z = sum phi(k) per head, folded with proj_l */
        if (!sla1) {
            KT(sp_sla_state_launch(k->data, v->data, Hs, z, S, H, s));
            KT(sp_fold_launch(Hs, call->proj_l_w->data, Hp, H, s));
        } else { /* SLA-1 needs phi(K) and per-key-block states */
            sp_phi_params ph = {k->data, phik, z, S, H};
            KT(sp_phi_launch(&ph, s));
            DIT_TRY(state_gemm(be, w, v->data, phik, Hs, S, H, H, D)); /* one batched GEMM over the heads */
            int64_t full = S / bk, tail = S - full * bk;
            for (int h = 0; h < H; h++) {
                const char *vb = (const char *)v->data + (size_t)h * D * 2, *pb = (const char *)phik + (size_t)h * D * 2;
                float *hb = hblk + (size_t)h * nkb * D * D;
                if (full > 0) DIT_TRY(state_gemm(be, w, vb, pb, hb, bk, H, (int)full, (int64_t)bk * H * D));
                if (tail > 0)
                    DIT_TRY(state_gemm(be, w, vb + (size_t)(full * bk) * H * D * 2, pb + (size_t)(full * bk) * H * D * 2,
                                       hb + (size_t)full * D * D, tail, H, 1, 0));
            }
            KT(sp_zblk_launch(phik, zblk, S, H, bk, nkb, s));
            KT(sp_sla1_state_launch(Hs, z, hblk, zblk, lut, cnt, T, H, nqb, nkb, Hi, zi, s));
            KT(sp_fold_launch(Hi, call->proj_l_w->data, Hp, H * nqb, s));
        }
        sp_fa_params fp;
        memset(&fp, 0, sizeof fp);
        fp.q = q->data, fp.k = k->data, fp.v = v->data, fp.o = out->data;
        fp.S = S, fp.H = H;
        fp.scale_log2 = (call->scale > 0 ? call->scale : 1.0f / sqrtf((float)D)) * 1.4426950408889634f;
        fp.bk = bk, fp.n_video = S, fp.nvb_q = nqb, fp.nvb_k = nkb, fp.key_end = S;
        fp.nqb = nqb, fp.lut = lut, fp.cnt = cnt, fp.lut_stride = T, fp.nkb = nkb;
        fp.mode = sla1 ? SP_EPI_SLA_PER_BLOCK : SP_EPI_SLA;
        fp.state = Hp, fp.z = sla1 ? zi : z, fp.bl = call->proj_l_b->data, fp.eps = 1e-5f;
        DIT_TRY(fa_launch(be, call, &fp));
        if (st) {
            DIT_TRY(attn_cuda_mark(c, 3));
            st->ms_map = attn_cuda_elapsed(c, 0, 1);
            st->ms_select = attn_cuda_elapsed(c, 1, 2);
            st->ms_kernel = attn_cuda_elapsed(c, 2, 3); /* linear state + sparse kernel + fused epilogue */
            st->ms_epilogue = 0;
            DIT_TRY(fill_counts(be, w, cnt, NULL, H, nqb, nkb, st));
        }
    }
    return DIT_OK;
}
