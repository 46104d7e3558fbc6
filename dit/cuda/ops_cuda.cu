/* ops_cuda.cu — elementwise and normalisation kernels of the CUDA backend:
 * dtype conversion, LayerNorm + affine + modulation, full-width RMSNorm fused
 * with 3D RoPE, gated residual add, activations, binary ops, bias + activation.
 * Norm statistics are f32 over a row cached in shared memory (one read of x).
 * Checked op by op against the CPU backend by tests/test_ops_cuda.c. */
#include <cuda_bf16.h> /* __nv_bfloat16 */
#include <stdint.h>    /* int64_t */

#include "ops_cuda.h"

namespace {

enum { DT_F32 = 0, DT_BF16 = 1 };                      /* dit_dtype values */
enum { ACT_NONE = 0, ACT_GELU_TANH = 1, ACT_GELU_ERF = 2, ACT_SILU = 3 }; /* dit_act values */

__device__ __forceinline__ float to_f(float v) { return v; }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ float from_f<float>(float v) { return v; }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

__device__ __forceinline__ float act_f(float v, int act) {
    switch (act) {
    case ACT_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    case ACT_GELU_ERF: return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
    case ACT_SILU: return v / (1.0f + __expf(-v));
    default: return v;
    }
}

/* Sum over the block; every thread gets the result.  blockDim.x multiple of 32, <= 1024. */
__device__ float block_sum(float v) {
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads(); /* part[] may still be read by a previous call */
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = lane < nw ? part[lane] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename TO>
__global__ void layer_norm_kernel(TO *__restrict__ out, const float *__restrict__ x, const float *__restrict__ g,
                                  const float *__restrict__ b, const float *__restrict__ sc,
                                  const float *__restrict__ sh, int C, float eps) {
    extern __shared__ float row[];
    const float *xr = x + (int64_t)blockIdx.x * C;
    float s = 0.0f;
    if ((C & 3) == 0) {
        for (int j = threadIdx.x * 4; j < C; j += blockDim.x * 4) {
            float4 v = *reinterpret_cast<const float4 *>(xr + j);
            *reinterpret_cast<float4 *>(row + j) = v;
            s += (v.x + v.y) + (v.z + v.w);
        }
    } else {
        for (int j = threadIdx.x; j < C; j += blockDim.x) {
            row[j] = xr[j];
            s += row[j];
        }
    }
    float mean = block_sum(s) / (float)C;
    float v2 = 0.0f;
    for (int j = threadIdx.x; j < C; j += blockDim.x) {
        float d = row[j] - mean;
        v2 += d * d;
    }
    float rstd = rsqrtf(block_sum(v2) / (float)C + eps);
    TO *orow = out + (int64_t)blockIdx.x * C;
    for (int j = threadIdx.x; j < C; j += blockDim.x) {
        float y = (row[j] - mean) * rstd;
        if (g) y *= g[j];
        if (b) y += b[j];
        if (sc) y *= 1.0f + sc[j];
        if (sh) y += sh[j];
        orow[j] = from_f<TO>(y);
    }
}

template <typename TI, typename TO>
__global__ void rms_rope_kernel(TO *out, const TI *x, const float *__restrict__ g, const float *__restrict__ tab,
                                int heads, int C, float eps) {
    extern __shared__ float row[];
    const TI *xr = x + (int64_t)blockIdx.x * C;
    float ss = 0.0f;
    for (int j = threadIdx.x; j < C; j += blockDim.x) {
        float v = to_f(xr[j]);
        row[j] = v;
        ss += v * v;
    }
    float r = rsqrtf(block_sum(ss) / (float)C + eps); /* block_sum syncs: row[] complete */
    TO *orow = out + (int64_t)blockIdx.x * C;
    if (!tab) {
        for (int j = threadIdx.x; j < C; j += blockDim.x) orow[j] = from_f<TO>(row[j] * r * (g ? g[j] : 1.0f));
        return;
    }
    int D = C / heads;
    const float *t = tab + (int64_t)blockIdx.x * D;
    for (int p = threadIdx.x; p < C / 2; p += blockDim.x) {
        int j = 2 * p, q = j % D; /* q: even offset inside the head = 2 * pair */
        float re = row[j] * r * (g ? g[j] : 1.0f), im = row[j + 1] * r * (g ? g[j + 1] : 1.0f);
        float c = t[q], s = t[q + 1];
        orow[j] = from_f<TO>(re * c - im * s);
        orow[j + 1] = from_f<TO>(re * s + im * c);
    }
}

template <typename T>
__global__ void rope_kernel(T *x, const float *__restrict__ tab, int64_t N, int64_t H, int64_t D) {
    int64_t total = N * H * (D / 2);
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t p = i % (D / 2), nh = i / (D / 2), n = nh / H;
        T *v = x + nh * D + 2 * p;
        float c = tab[n * D + 2 * p], s = tab[n * D + 2 * p + 1];
        float re = to_f(v[0]), im = to_f(v[1]);
        v[0] = from_f<T>(re * c - im * s);
        v[1] = from_f<T>(re * s + im * c);
    }
}

template <typename TY>
__global__ void gated_add_kernel(float *__restrict__ x, const TY *__restrict__ y, const float *__restrict__ gate,
                                 int64_t n, int64_t C) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] += to_f(y[i]) * (gate ? gate[i % C] : 1.0f);
}

template <typename T>
__global__ void activation_kernel(T *out, const T *x, int act, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = from_f<T>(act_f(to_f(x[i]), act));
}

template <typename T>
__global__ void binary_kernel(T *out, const T *a, const T *b, int mul, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float u = to_f(a[i]), v = to_f(b[i]);
        out[i] = from_f<T>(mul ? u * v : u + v);
    }
}

template <typename T>
__global__ void bias_act_kernel(T *out, const float *__restrict__ bias, int act, int64_t n, int64_t N) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = from_f<T>(act_f(to_f(out[i]) + (bias ? bias[i % N] : 0.0f), act));
}

template <typename TD, typename TS>
__global__ void convert_kernel(TD *dst, const TS *src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = from_f<TD>(to_f(src[i]));
}

__device__ __forceinline__ float hash_uniform(uint64_t seed, uint64_t i) { /* = dit_hash_uniform */
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + i + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

template <typename T>
__global__ void fill_uniform_kernel(T *t, int64_t n, uint64_t seed, float lo, float hi) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        t[i] = from_f<T>(lo + (hi - lo) * hash_uniform(seed, (uint64_t)i));
}

unsigned grid_for(int64_t n, int threads) {
    int64_t g = (n + threads - 1) / threads;
    if (g > 65535LL * 16) g = 65535LL * 16;
    return (unsigned)(g > 0 ? g : 1);
}

int norm_threads(int64_t C) { return C >= 2048 ? 512 : C >= 512 ? 256 : 128; }

} /* namespace */

extern "C" {

cudaError_t dit_cuda_convert(void *dst, int dd, const void *src, int sd, int64_t n, cudaStream_t st) {
    unsigned g = grid_for(n, 256);
    if (dd == DT_BF16 && sd == DT_F32)
        convert_kernel<<<g, 256, 0, st>>>((__nv_bfloat16 *)dst, (const float *)src, n);
    else if (dd == DT_F32 && sd == DT_BF16)
        convert_kernel<<<g, 256, 0, st>>>((float *)dst, (const __nv_bfloat16 *)src, n);
    else if (dd == sd)
        return cudaMemcpyAsync(dst, src, (size_t)n * (dd == DT_F32 ? 4 : 2), cudaMemcpyDeviceToDevice, st);
    else
        return cudaErrorInvalidValue;
    return cudaGetLastError();
}

cudaError_t dit_cuda_layer_norm(void *out, int od, const float *x, const float *g, const float *b, const float *sc,
                                const float *sh, int64_t M, int64_t C, float eps, cudaStream_t st) {
    if (M <= 0) return cudaSuccess;
    int th = norm_threads(C);
    size_t smem = (size_t)C * sizeof(float);
    if (smem > 48 * 1024) {
        cudaError_t e = od == DT_BF16 ? cudaFuncSetAttribute(layer_norm_kernel<__nv_bfloat16>,
                                                             cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem)
                                      : cudaFuncSetAttribute(layer_norm_kernel<float>,
                                                             cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess) return e;
    }
    if (od == DT_BF16)
        layer_norm_kernel<<<(unsigned)M, th, smem, st>>>((__nv_bfloat16 *)out, x, g, b, sc, sh, (int)C, eps);
    else
        layer_norm_kernel<<<(unsigned)M, th, smem, st>>>((float *)out, x, g, b, sc, sh, (int)C, eps);
    return cudaGetLastError();
}

cudaError_t dit_cuda_rms_norm_rope(void *out, int od, const void *x, int xd, const float *g, const float *tab,
                                   int heads, int64_t M, int64_t C, float eps, cudaStream_t st) {
    if (M <= 0) return cudaSuccess;
    int th = norm_threads(C);
    size_t smem = (size_t)C * sizeof(float);
    if (smem > 48 * 1024) return cudaErrorInvalidValue; /* rows wider than 12288 are not needed */
    if (xd == DT_BF16 && od == DT_BF16)
        rms_rope_kernel<<<(unsigned)M, th, smem, st>>>((__nv_bfloat16 *)out, (const __nv_bfloat16 *)x, g, tab, heads,
                                                       (int)C, eps);
    else if (xd == DT_F32 && od == DT_F32)
        rms_rope_kernel<<<(unsigned)M, th, smem, st>>>((float *)out, (const float *)x, g, tab, heads, (int)C, eps);
    else if (xd == DT_F32 && od == DT_BF16)
        rms_rope_kernel<<<(unsigned)M, th, smem, st>>>((__nv_bfloat16 *)out, (const float *)x, g, tab, heads, (int)C,
                                                       eps);
    else
        rms_rope_kernel<<<(unsigned)M, th, smem, st>>>((float *)out, (const __nv_bfloat16 *)x, g, tab, heads, (int)C,
                                                       eps);
    return cudaGetLastError();
}

cudaError_t dit_cuda_rope(void *x, int dt, const float *tab, int64_t N, int64_t H, int64_t D, cudaStream_t st) {
    unsigned g = grid_for(N * H * D / 2, 256);
    if (dt == DT_BF16) rope_kernel<<<g, 256, 0, st>>>((__nv_bfloat16 *)x, tab, N, H, D);
    else rope_kernel<<<g, 256, 0, st>>>((float *)x, tab, N, H, D);
    return cudaGetLastError();
}

cudaError_t dit_cuda_gated_add(float *x, const void *y, int yd, const float *gate, int64_t M, int64_t C,
                               cudaStream_t st) {
    int64_t n = M * C;
    unsigned g = grid_for(n, 256);
    if (yd == DT_BF16) gated_add_kernel<<<g, 256, 0, st>>>(x, (const __nv_bfloat16 *)y, gate, n, C);
    else gated_add_kernel<<<g, 256, 0, st>>>(x, (const float *)y, gate, n, C);
    return cudaGetLastError();
}

cudaError_t dit_cuda_activation(void *out, const void *x, int dt, int act, int64_t n, cudaStream_t st) {
    unsigned g = grid_for(n, 256);
    if (dt == DT_BF16) activation_kernel<<<g, 256, 0, st>>>((__nv_bfloat16 *)out, (const __nv_bfloat16 *)x, act, n);
    else activation_kernel<<<g, 256, 0, st>>>((float *)out, (const float *)x, act, n);
    return cudaGetLastError();
}

cudaError_t dit_cuda_binary(void *out, const void *a, const void *b, int dt, int mul, int64_t n, cudaStream_t st) {
    unsigned g = grid_for(n, 256);
    if (dt == DT_BF16)
        binary_kernel<<<g, 256, 0, st>>>((__nv_bfloat16 *)out, (const __nv_bfloat16 *)a, (const __nv_bfloat16 *)b, mul,
                                         n);
    else binary_kernel<<<g, 256, 0, st>>>((float *)out, (const float *)a, (const float *)b, mul, n);
    return cudaGetLastError();
}

cudaError_t dit_cuda_bias_act(void *out, int dt, const float *bias, int act, int64_t M, int64_t N, cudaStream_t st) {
    int64_t n = M * N;
    unsigned g = grid_for(n, 256);
    if (dt == DT_BF16) bias_act_kernel<<<g, 256, 0, st>>>((__nv_bfloat16 *)out, bias, act, n, N);
    else bias_act_kernel<<<g, 256, 0, st>>>((float *)out, bias, act, n, N);
    return cudaGetLastError();
}

cudaError_t dit_cuda_fill_uniform(void *t, int dt, int64_t n, uint64_t seed, float lo, float hi, cudaStream_t st) {
    unsigned g = grid_for(n, 256);
    if (dt == DT_BF16) fill_uniform_kernel<<<g, 256, 0, st>>>((__nv_bfloat16 *)t, n, seed, lo, hi);
    else if (dt == DT_F32) fill_uniform_kernel<<<g, 256, 0, st>>>((float *)t, n, seed, lo, hi);
    else return cudaErrorInvalidValue;
    return cudaGetLastError();
}

} /* extern "C" */
