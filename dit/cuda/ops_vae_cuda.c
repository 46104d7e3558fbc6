/* ops_vae_cuda.c — the video-VAE ops of the CUDA backend: conv3d through cuDNN's
 * convolution (NCDHW f32, TF32 tensor cores allowed by cuDNN's default math),
 * algorithm chosen by cuDNN's heuristics, workspace from the backend scratch;
 * channel_norm / upsample2x / transpose kernels (ops_vae_cuda.cu); copy_frames
 * as one strided 2-D memcpy.  Operand checks mirror the CPU backend's.
 * Checked against the CPU backend by tests/test_ops_cuda.c. */
#include <cudnn.h> /* cudnnConvolutionForward */

#include "../op_check.h" /* dit_check_operand */
#include "cuda_backend.h"
#include "ops_cuda.h" /* dit_cuda_channel_norm, ... */

#define F32M DIT_MASK(DIT_DTYPE_F32)

static dit_status need4(dit_backend *be, const char *op, const char *name, const dit_tensor *t, int nd) {
    if (t->ndim != nd)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "%s: '%s' must have %d dims, got %d", op, name, nd, t->ndim);
    return DIT_OK;
}

dit_status dit_cuda_conv3d(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                           const dit_tensor *b, int pt0, int pt1, int ph, int pw) {
    DIT_TRY(dit_check_operand(be, "conv3d", "x", x, F32M));
    DIT_TRY(dit_check_operand(be, "conv3d", "w", w, F32M));
    DIT_TRY(dit_check_operand(be, "conv3d", "out", out, F32M));
    DIT_TRY(need4(be, "conv3d", "x", x, 4));
    DIT_TRY(need4(be, "conv3d", "w", w, 5));
    DIT_TRY(need4(be, "conv3d", "out", out, 4));
    if (pt0 != pt1)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED,
                        "conv3d on CUDA pads time symmetrically (got %d front, %d back): prepend the causal frames instead",
                        pt0, pt1);
    const int64_t Ci = x->ne[0], T = x->ne[1], H = x->ne[2], W = x->ne[3];
    const int64_t Co = w->ne[0], kt = w->ne[2], kh = w->ne[3], kw = w->ne[4];
    const int64_t To = T + 2 * pt0 - kt + 1, Ho = H + 2 * ph - kh + 1, Wo = W + 2 * pw - kw + 1;
    if (w->ne[1] != Ci || out->ne[0] != Co || out->ne[1] != To || out->ne[2] != Ho || out->ne[3] != Wo)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "conv3d: x [%lld,%lld,%lld,%lld], w [%lld,%lld,%lld,%lld,%lld] need out [%lld,%lld,%lld,%lld]",
                        (long long)Ci, (long long)T, (long long)H, (long long)W, (long long)Co, (long long)w->ne[1],
                        (long long)kt, (long long)kh, (long long)kw, (long long)Co, (long long)To, (long long)Ho,
                        (long long)Wo);
    if (b) {
        DIT_TRY(dit_check_operand(be, "conv3d", "bias", b, F32M));
        DIT_TRY(dit_check_numel(be, "conv3d", "bias", b, Co));
    }
    cudnnHandle_t h = dit_cuda_cudnn(be);
    cudnnTensorDescriptor_t xd = NULL, yd = NULL;
    cudnnFilterDescriptor_t wd = NULL;
    cudnnConvolutionDescriptor_t cd = NULL;
    dit_status s = DIT_OK;
    int xdim[5] = {1, (int)Ci, (int)T, (int)H, (int)W}, ydim[5] = {1, (int)Co, (int)To, (int)Ho, (int)Wo};
    int xst[5] = {(int)(Ci * T * H * W), (int)(T * H * W), (int)(H * W), (int)W, 1};
    int yst[5] = {(int)(Co * To * Ho * Wo), (int)(To * Ho * Wo), (int)(Ho * Wo), (int)Wo, 1};
    int wdim[5] = {(int)Co, (int)Ci, (int)kt, (int)kh, (int)kw};
    int pad[3] = {pt0, ph, pw}, one[3] = {1, 1, 1};
#define CK(call)                                                                   \
    do {                                                                           \
        if (s == DIT_OK) s = dit_cudnn_check(be, (call), #call, __FILE__, __LINE__); \
    } while (0)
    CK(cudnnCreateTensorDescriptor(&xd));
    CK(cudnnCreateTensorDescriptor(&yd));
    CK(cudnnCreateFilterDescriptor(&wd));
    CK(cudnnCreateConvolutionDescriptor(&cd));
    CK(cudnnSetTensorNdDescriptor(xd, CUDNN_DATA_FLOAT, 5, xdim, xst));
    CK(cudnnSetTensorNdDescriptor(yd, CUDNN_DATA_FLOAT, 5, ydim, yst));
    CK(cudnnSetFilterNdDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, wdim));
    CK(cudnnSetConvolutionNdDescriptor(cd, 3, pad, one, one, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CK(cudnnSetConvolutionMathType(cd, CUDNN_DEFAULT_MATH));
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int got = 0;
    CK(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, wd, cd, yd, 8, &got, perf));
    if (s == DIT_OK && got == 0) s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "conv3d: cuDNN offers no algorithm");
    size_t ws_bytes = 0;
    void *ws = NULL;
    cudnnConvolutionFwdAlgo_t algo = got > 0 ? perf[0].algo : CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    for (int i = 0; s == DIT_OK && i < got; i++) /* the first heuristic choice that reports success */
        if (perf[i].status == CUDNN_STATUS_SUCCESS) {
            algo = perf[i].algo;
            break;
        }
    CK(cudnnGetConvolutionForwardWorkspaceSize(h, xd, wd, cd, yd, algo, &ws_bytes));
    if (s == DIT_OK && ws_bytes) s = dit_cuda_scratch(be, ws_bytes, &ws);
    float alpha = 1.0f, beta = 0.0f;
    CK(cudnnConvolutionForward(h, &alpha, xd, x->data, wd, w->data, cd, algo, ws, ws_bytes, &beta, yd, out->data));
#undef CK
    if (cd) cudnnDestroyConvolutionDescriptor(cd);
    if (wd) cudnnDestroyFilterDescriptor(wd);
    if (yd) cudnnDestroyTensorDescriptor(yd);
    if (xd) cudnnDestroyTensorDescriptor(xd);
    if (s != DIT_OK) return s;
    if (b) {
        cudaError_t e = dit_cuda_channel_bias(out->data, b->data, Co, To * Ho * Wo, dit_cuda_stream(be));
        if (e != cudaSuccess) return dit_cuda_check(be, e, "conv3d bias", __FILE__, __LINE__);
    }
    return DIT_OK;
}

dit_status dit_cuda_channel_norm_op(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                    const dit_tensor *beta) {
    DIT_TRY(dit_check_operand(be, "channel_norm", "x", x, F32M));
    DIT_TRY(dit_check_operand(be, "channel_norm", "out", out, F32M));
    DIT_TRY(dit_check_numel(be, "channel_norm", "out", out, dit_tensor_numel(x)));
    const int64_t C = x->ne[0], S = dit_tensor_numel(x) / C;
    if (gamma) {
        DIT_TRY(dit_check_operand(be, "channel_norm", "gamma", gamma, F32M));
        DIT_TRY(dit_check_numel(be, "channel_norm", "gamma", gamma, C));
    }
    if (beta) {
        DIT_TRY(dit_check_operand(be, "channel_norm", "beta", beta, F32M));
        DIT_TRY(dit_check_numel(be, "channel_norm", "beta", beta, C));
    }
    return dit_cuda_check(be,
                          dit_cuda_channel_norm(out->data, x->data, gamma ? gamma->data : NULL, beta ? beta->data : NULL,
                                                C, S, dit_cuda_stream(be)),
                          "channel_norm", __FILE__, __LINE__);
}

dit_status dit_cuda_upsample2x_op(dit_backend *be, dit_tensor *out, const dit_tensor *x) {
    DIT_TRY(dit_check_operand(be, "upsample2x", "x", x, F32M));
    DIT_TRY(dit_check_operand(be, "upsample2x", "out", out, F32M));
    DIT_TRY(need4(be, "upsample2x", "x", x, 4));
    const int64_t C = x->ne[0], T = x->ne[1], H = x->ne[2], W = x->ne[3];
    if (out->ndim != 4 || out->ne[0] != C || out->ne[1] != T || out->ne[2] != 2 * H || out->ne[3] != 2 * W)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "upsample2x: out must be [%lld, %lld, %lld, %lld]", (long long)C,
                        (long long)T, (long long)(2 * H), (long long)(2 * W));
    return dit_cuda_check(be, dit_cuda_upsample2x(out->data, x->data, C * T, H, W, dit_cuda_stream(be)), "upsample2x",
                          __FILE__, __LINE__);
}

dit_status dit_cuda_transpose_op(dit_backend *be, dit_tensor *out, const dit_tensor *x) {
    DIT_TRY(dit_check_operand(be, "transpose", "x", x, F32M));
    DIT_TRY(dit_check_operand(be, "transpose", "out", out, F32M));
    const int64_t R = dit_tensor_rows(x), C = dit_tensor_cols(x);
    if (dit_tensor_rows(out) != C || dit_tensor_cols(out) != R)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "transpose: out must be [%lld, %lld]", (long long)C, (long long)R);
    return dit_cuda_check(be, dit_cuda_transpose(out->data, x->data, R, C, dit_cuda_stream(be)), "transpose", __FILE__,
                          __LINE__);
}

dit_status dit_cuda_copy_frames(dit_backend *be, dit_tensor *dst, int64_t d0, const dit_tensor *src, int64_t s0,
                                int64_t n) {
    DIT_TRY(dit_check_operand(be, "copy_frames", "src", src, F32M));
    DIT_TRY(dit_check_operand(be, "copy_frames", "dst", dst, F32M));
    if (src->ndim != 4 || dst->ndim != 4 || src->ne[0] != dst->ne[0] || src->ne[2] != dst->ne[2] ||
        src->ne[3] != dst->ne[3] || s0 < 0 || d0 < 0 || n < 0 || s0 + n > src->ne[1] || d0 + n > dst->ne[1])
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "copy_frames: frames [%lld, %lld) of src into [%lld, %lld) of dst do not fit",
                        (long long)s0, (long long)(s0 + n), (long long)d0, (long long)(d0 + n));
    if (n == 0) return DIT_OK;
    const size_t plane = (size_t)(src->ne[2] * src->ne[3]) * sizeof(float);
    CUDA_TRY(be, cudaMemcpy2DAsync((char *)dst->data + (size_t)d0 * plane, (size_t)dst->ne[1] * plane,
                                   (const char *)src->data + (size_t)s0 * plane, (size_t)src->ne[1] * plane,
                                   (size_t)n * plane, (size_t)src->ne[0], cudaMemcpyDeviceToDevice, dit_cuda_stream(be)));
    return DIT_OK;
}
