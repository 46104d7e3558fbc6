/* backend_cuda.c — the CUDA backend: one device, one stream, cuBLASLt and cuDNN
 * handles and workspaces owned here; weights uploaded once (GEMM weights bf16,
 * the rest f32); activations in bf16 (GEMM operands, attention) and f32
 * (residual stream, norms, modulation).  Every CUDA/cuBLAS/cuDNN call is
 * checked and reports file:line with the library's message.
 * Checked op by op against the CPU backend by tests/test_ops_cuda.c. */
#include "cuda_backend.h"
#include "cuda_ctx.h" /* struct dit_cuda_ctx */

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strrchr */

#include "../op_check.h" /* dit_check_operand */
#include "ops_cuda.h"    /* kernel launchers */


#define FLOATS (DIT_MASK(DIT_DTYPE_F32) | DIT_MASK(DIT_DTYPE_BF16))
#define F32 DIT_MASK(DIT_DTYPE_F32)

static const char *base_name(const char *f) {
    const char *s = strrchr(f, '/');
    return s ? s + 1 : f;
}

dit_status dit_cuda_check(dit_backend *be, cudaError_t e, const char *what, const char *file, int line) {
    if (e == cudaSuccess) return DIT_OK;
    dit_status code = e == cudaErrorMemoryAllocation ? DIT_ERR_OOM
                      : (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) ? DIT_ERR_NO_DEVICE
                                                                                     : DIT_ERR_DEVICE;
    cudaGetLastError(); /* clear a sticky non-fatal error */
    return dit_err_set(&be->err, code, base_name(file), line, "CUDA error %s (%s) in %s", cudaGetErrorName(e),
                       cudaGetErrorString(e), what);
}

dit_status dit_cudnn_check(dit_backend *be, cudnnStatus_t s, const char *what, const char *file, int line) {
    if (s == CUDNN_STATUS_SUCCESS) return DIT_OK;
    char last[512] = "";
    cudnnGetLastErrorString(last, sizeof last);
    return dit_err_set(&be->err, s == CUDNN_STATUS_ALLOC_FAILED ? DIT_ERR_OOM : DIT_ERR_DEVICE, base_name(file), line,
                       "cuDNN error %s in %s%s%s", cudnnGetErrorString(s), what, last[0] ? ": " : "", last);
}

dit_status dit_cublas_check(dit_backend *be, cublasStatus_t s, const char *what, const char *file, int line) {
    if (s == CUBLAS_STATUS_SUCCESS) return DIT_OK;
    return dit_err_set(&be->err, s == CUBLAS_STATUS_ALLOC_FAILED ? DIT_ERR_OOM : DIT_ERR_DEVICE, base_name(file), line,
                       "cuBLAS error %d in %s", (int)s, what);
}

dit_status dit_cuda_check_launch(dit_backend *be, const char *kernel, const char *file, int line) {
    return dit_cuda_check(be, cudaGetLastError(), kernel, file, line);
}

dit_cuda_ctx *dit_cuda_ctx_of(dit_backend *be) {
    return be && be->device == DIT_DEVICE_CUDA ? (dit_cuda_ctx *)be->impl : NULL;
}
cudaStream_t dit_cuda_stream(dit_backend *be) { return dit_cuda_ctx_of(be)->stream; }
cudnnHandle_t dit_cuda_cudnn(dit_backend *be) { return dit_cuda_ctx_of(be)->cudnn; }
cublasLtHandle_t dit_cuda_cublaslt(dit_backend *be) { return dit_cuda_ctx_of(be)->lt; }
int dit_cuda_device(dit_backend *be) { return dit_cuda_ctx_of(be)->device; }
int dit_cuda_sm_count(dit_backend *be) { return dit_cuda_ctx_of(be)->sm_count; }

static void sample_usage(dit_cuda_ctx *c) {
    size_t fr = 0, tot = 0;
    if (cudaMemGetInfo(&fr, &tot) == cudaSuccess && tot - fr > c->peak) c->peak = tot - fr;
}
size_t dit_backend_cuda_free_bytes(dit_backend *be) {
    dit_cuda_ctx *c = dit_cuda_ctx_of(be);
    size_t fr = 0, tot = 0;
    if (!c || cudaSetDevice(c->device) != cudaSuccess || cudaMemGetInfo(&fr, &tot) != cudaSuccess) return 0;
    return fr;
}

size_t dit_cuda_peak_bytes(dit_backend *be) {
    dit_cuda_ctx *c = dit_cuda_ctx_of(be);
    sample_usage(c);
    return c->peak;
}
void dit_cuda_reset_peak(dit_backend *be) {
    dit_cuda_ctx *c = dit_cuda_ctx_of(be);
    c->peak = 0;
    sample_usage(c);
}

dit_status dit_cuda_scratch(dit_backend *be, size_t bytes, void **ptr) {
    dit_cuda_ctx *c = be->impl;
    if (bytes > c->scratch_bytes) {
        if (c->scratch) {
            CUDA_TRY(be, cudaStreamSynchronize(c->stream));
            cudaFree(c->scratch);
            c->scratch = NULL;
            c->scratch_bytes = 0;
        }
        size_t want = bytes + bytes / 4;
        cudaError_t e = cudaMalloc(&c->scratch, want);
        if (e != cudaSuccess) {
            c->scratch = NULL;
            return DIT_FAIL(&be->err, DIT_ERR_OOM, "cuda: cannot allocate %.1f MiB of scratch: %s",
                            (double)want / (1 << 20), cudaGetErrorString(e));
        }
        c->scratch_bytes = want;
        sample_usage(c);
    }
    *ptr = c->scratch;
    return DIT_OK;
}

static void cuda_destroy(dit_backend *be) {
    dit_cuda_ctx *c = be->impl;
    if (c) {
        cudaSetDevice(c->device);
        if (c->stream) cudaStreamSynchronize(c->stream);
        dit_cuda_gemm_cache_free(be);
        if (c->scratch) cudaFree(c->scratch);
        if (c->cudnn) cudnnDestroy(c->cudnn);
        if (c->lt) cublasLtDestroy(c->lt);
        if (c->stream) cudaStreamDestroy(c->stream);
        free(c);
    }
    free(be);
}

static dit_status cuda_alloc(dit_backend *be, size_t bytes, void **ptr) {
    dit_cuda_ctx *c = be->impl;
    cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 256);
    if (e != cudaSuccess) {
        *ptr = NULL;
        cudaGetLastError();
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        return DIT_FAIL(&be->err, e == cudaErrorMemoryAllocation ? DIT_ERR_OOM : DIT_ERR_DEVICE,
                        "out of GPU memory: cannot allocate %.1f MiB on GPU %d (%.1f MiB free of %.1f MiB): %s",
                        (double)bytes / (1 << 20), c->device, (double)fr / (1 << 20), (double)tot / (1 << 20),
                        cudaGetErrorString(e));
    }
    sample_usage(c);
    return DIT_OK;
}
static void cuda_free(dit_backend *be, void *p) {
    (void)be;
    if (p) cudaFree(p);
}
static dit_status cuda_upload(dit_backend *be, void *dst, const void *src, size_t bytes) {
    dit_cuda_ctx *c = be->impl;
    CUDA_TRY(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream));
    CUDA_TRY(be, cudaStreamSynchronize(c->stream)); /* src is pageable caller memory */
    return DIT_OK;
}
static dit_status cuda_download(dit_backend *be, void *dst, const void *src, size_t bytes) {
    dit_cuda_ctx *c = be->impl;
    CUDA_TRY(be, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream));
    CUDA_TRY(be, cudaStreamSynchronize(c->stream));
    return DIT_OK;
}
static dit_status cuda_memset0(dit_backend *be, void *dst, size_t bytes) {
    dit_cuda_ctx *c = be->impl;
    CUDA_TRY(be, cudaMemsetAsync(dst, 0, bytes, c->stream));
    return DIT_OK;
}
static dit_status cuda_copy_2d(dit_backend *be, void *dst, size_t dpitch, const void *src, size_t spitch,
                               size_t width, size_t rows) {
    dit_cuda_ctx *c = be->impl;
    if (!rows || !width) return DIT_OK;
    CUDA_TRY(be, cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, rows, cudaMemcpyDeviceToDevice, c->stream));
    return DIT_OK;
}
static dit_status cuda_sync(dit_backend *be) {
    dit_cuda_ctx *c = be->impl;
    CUDA_TRY(be, cudaStreamSynchronize(c->stream));
    return DIT_OK;
}

#define KTRY(be, call)                                                                           \
    do {                                                                                         \
        cudaError_t e_ = (call);                                                                 \
        if (e_ != cudaSuccess) return dit_cuda_check((be), e_, #call, __FILE__, __LINE__);      \
    } while (0)

static dit_status cuda_convert(dit_backend *be, dit_tensor *dst, const dit_tensor *src) {
    DIT_TRY(dit_check_operand(be, "convert", "src", src, FLOATS));
    DIT_TRY(dit_check_operand(be, "convert", "dst", dst, FLOATS));
    DIT_TRY(dit_check_numel(be, "convert", "dst", dst, dit_tensor_numel(src)));
    KTRY(be, dit_cuda_convert(dst->data, dst->dtype, src->data, src->dtype, dit_tensor_numel(src), dit_cuda_stream(be)));
    return DIT_OK;
}

static dit_status cuda_layer_norm(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                  const dit_tensor *beta, const dit_tensor *scale, const dit_tensor *shift, float eps) {
    DIT_TRY(dit_check_layer_norm(be, out, x, gamma, beta, scale, shift, F32, FLOATS));
    int64_t M = dit_tensor_rows(x), C = dit_tensor_cols(x);
    KTRY(be, dit_cuda_layer_norm(out->data, out->dtype, x->data, gamma ? gamma->data : NULL, beta ? beta->data : NULL,
                                 scale ? scale->data : NULL, shift ? shift->data : NULL, M, C, eps,
                                 dit_cuda_stream(be)));
    return DIT_OK;
}

static dit_status cuda_rms_norm_rope(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                     const dit_tensor *table, int heads, float eps) {
    DIT_TRY(dit_check_rms_norm(be, out, x, gamma, FLOATS, FLOATS));
    int64_t M = dit_tensor_rows(x), C = dit_tensor_cols(x);
    if (table) {
        DIT_TRY(dit_check_operand(be, "rms_norm_rope", "table", table, F32));
        if (heads <= 0 || C % heads || (C / heads) % 2)
            return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "rms_norm_rope: %lld columns not divisible into %d even heads",
                            (long long)C, heads);
        DIT_TRY(dit_check_numel(be, "rms_norm_rope", "table", table, M * (C / heads)));
    }
    if (C > 12288) return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "rms_norm: rows of %lld > 12288 columns", (long long)C);
    KTRY(be, dit_cuda_rms_norm_rope(out->data, out->dtype, x->data, x->dtype, gamma ? gamma->data : NULL,
                                    table ? table->data : NULL, table ? heads : 1, M, C, eps, dit_cuda_stream(be)));
    return DIT_OK;
}

static dit_status cuda_rms_norm(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                float eps) {
    return cuda_rms_norm_rope(be, out, x, gamma, NULL, 1, eps);
}

static dit_status cuda_rope(dit_backend *be, dit_tensor *x, const dit_tensor *table) {
    DIT_TRY(dit_check_operand(be, "rope", "x", x, FLOATS));
    DIT_TRY(dit_check_operand(be, "rope", "table", table, F32));
    if (x->ndim != 3 || x->ne[2] % 2)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "rope: x must be [N, H, D] with even D (got %d dims)", x->ndim);
    DIT_TRY(dit_check_numel(be, "rope", "table", table, x->ne[0] * x->ne[2]));
    KTRY(be, dit_cuda_rope(x->data, x->dtype, table->data, x->ne[0], x->ne[1], x->ne[2], dit_cuda_stream(be)));
    return DIT_OK;
}

static dit_status cuda_gated_add(dit_backend *be, dit_tensor *x, const dit_tensor *y, const dit_tensor *gate) {
    DIT_TRY(dit_check_gated_add(be, x, y, gate, FLOATS));
    int64_t M = dit_tensor_rows(x), C = dit_tensor_cols(x);
    KTRY(be, dit_cuda_gated_add(x->data, y->data, y->dtype, gate ? gate->data : NULL, M, C, dit_cuda_stream(be)));
    return DIT_OK;
}

static dit_status cuda_activation(dit_backend *be, dit_tensor *out, const dit_tensor *x, dit_act act) {
    DIT_TRY(dit_check_unary(be, "activation", out, x, FLOATS));
    KTRY(be, dit_cuda_activation(out->data, x->data, x->dtype, (int)act, dit_tensor_numel(x), dit_cuda_stream(be)));
    return DIT_OK;
}

static dit_status cuda_binary(dit_backend *be, const char *op, dit_tensor *out, const dit_tensor *a,
                              const dit_tensor *b, int mul) {
    DIT_TRY(dit_check_binary(be, op, out, a, b, FLOATS));
    KTRY(be, dit_cuda_binary(out->data, a->data, b->data, a->dtype, mul, dit_tensor_numel(a), dit_cuda_stream(be)));
    return DIT_OK;
}
static dit_status cuda_add(dit_backend *be, dit_tensor *out, const dit_tensor *a, const dit_tensor *b) {
    return cuda_binary(be, "add", out, a, b, 0);
}
static dit_status cuda_mul(dit_backend *be, dit_tensor *out, const dit_tensor *a, const dit_tensor *b) {
    return cuda_binary(be, "mul", out, a, b, 1);
}

static dit_status cuda_fill_uniform(dit_backend *be, dit_tensor *t, uint64_t seed, float lo, float hi) {
    DIT_TRY(dit_check_operand(be, "fill_uniform", "t", t, FLOATS));
    KTRY(be, dit_cuda_fill_uniform(t->data, t->dtype, dit_tensor_numel(t), seed, lo, hi, dit_cuda_stream(be)));
    return DIT_OK;
}

static const dit_backend_ops cuda_ops = {
    .destroy = cuda_destroy,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .upload = cuda_upload,
    .download = cuda_download,
    .memset0 = cuda_memset0,
    .sync = cuda_sync,
    .convert = cuda_convert,
    .linear = dit_cuda_linear,
    .layer_norm = cuda_layer_norm,
    .rms_norm = cuda_rms_norm,
    .rope = cuda_rope,
    .rms_norm_rope = cuda_rms_norm_rope,
    .gated_add = cuda_gated_add,
    .activation = cuda_activation,
    .add = cuda_add,
    .mul = cuda_mul,
    .fill_uniform = cuda_fill_uniform,
    .conv3d = dit_cuda_conv3d,
    .channel_norm = dit_cuda_channel_norm_op,
    .upsample2x = dit_cuda_upsample2x_op,
    .transpose = dit_cuda_transpose_op,
    .copy_frames = dit_cuda_copy_frames,
    .copy_2d = cuda_copy_2d,
};

int dit_backend_cuda_available(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return n > 0;
}

dit_status dit_backend_cuda_create(int device, dit_backend **out, dit_err *err) {
    *out = NULL;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        cudaGetLastError();
        return DIT_FAIL(err, DIT_ERR_NO_DEVICE, "no usable CUDA GPU (%s); use --backend cpu",
                        e != cudaSuccess ? cudaGetErrorString(e) : "device count is 0");
    }
    if (device < 0 || device >= n)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "CUDA device %d does not exist (%d device(s) found)", device, n);
    dit_backend *be = calloc(1, sizeof *be);
    dit_cuda_ctx *c = calloc(1, sizeof *c);
    if (!be || !c) {
        free(be), free(c);
        return DIT_FAIL(err, DIT_ERR_OOM, "cuda backend: out of host memory");
    }
    be->name = "cuda";
    be->device = DIT_DEVICE_CUDA;
    be->act_dtype = DIT_DTYPE_BF16;
    be->gemm_dtype = DIT_DTYPE_BF16;
    be->threads = 1;
    be->ops = &cuda_ops;
    be->impl = c;
    c->device = device;
    dit_status s = DIT_OK;
    struct cudaDeviceProp prop;
    if ((s = dit_cuda_check(be, cudaSetDevice(device), "cudaSetDevice", __FILE__, __LINE__)) == DIT_OK &&
        (s = dit_cuda_check(be, cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties", __FILE__,
                            __LINE__)) == DIT_OK) {
        c->sm_count = prop.multiProcessorCount;
        snprintf(be->device_name, sizeof be->device_name, "%.80s (sm_%d%d, %d SMs)", prop.name, prop.major, prop.minor,
                 prop.multiProcessorCount);
        if (prop.major < 8)
            s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "GPU %d (%s) is sm_%d%d; spadit needs bf16 tensor cores (sm_80+)",
                         device, prop.name, prop.major, prop.minor);
    }
    if (s == DIT_OK) s = dit_cuda_check(be, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "stream", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cublas_check(be, cublasLtCreate(&c->lt), "cublasLtCreate", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cudnn_check(be, cudnnCreate(&c->cudnn), "cudnnCreate", __FILE__, __LINE__);
    if (s == DIT_OK) s = dit_cudnn_check(be, cudnnSetStream(c->cudnn, c->stream), "cudnnSetStream", __FILE__, __LINE__);
    if (s != DIT_OK) {
        *err = be->err;
        cuda_destroy(be);
        return s;
    }
    *out = be;
    return DIT_OK;
}
