/* dense_cuda_bias.cu — dense attention with an additive bias [H, Sq, Sk] and a
 * key-length mask, for the umT5 encoder (L <= 512, unscaled scores): one block
 * per (query row, head), scores in shared memory, f32 softmax, bf16 in/out.
 * Simple on purpose; the DiT's long attention goes through cuDNN or the sparse
 * kernels.  Checked against the CPU reference by tests/test_attn_cuda.c. */
#include <cuda_bf16.h> /* __nv_bfloat16 */
#include <stdint.h>    /* int64_t */

#include "dense_cuda_bias.h"

namespace {

__device__ float block_reduce(float v, bool is_max) {
    __shared__ float part[32];
    for (int o = 16; o > 0; o >>= 1) {
        float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, w) : v + w;
    }
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) part[warp] = v;
    __syncthreads();
    v = lane < nw ? part[lane] : (is_max ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
        float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, w) : v + w;
    }
    return v;
}

__global__ void attn_bias_kernel(__nv_bfloat16 *out, const __nv_bfloat16 *q, const __nv_bfloat16 *k,
                                 const __nv_bfloat16 *v, const float *bias, int64_t Sq, int64_t Sk, int64_t nk,
                                 int H, int D, float scale) {
    extern __shared__ float sm[]; /* [D] q row, then [nk] scores */
    float *qs = sm, *s = sm + D;
    int64_t i = blockIdx.x;
    int h = blockIdx.y;
    for (int d = threadIdx.x; d < D; d += blockDim.x) qs[d] = __bfloat162float(q[(i * H + h) * D + d]);
    __syncthreads();
    float mx = -INFINITY;
    for (int64_t j = threadIdx.x; j < nk; j += blockDim.x) {
        const __nv_bfloat16 *kr = k + (j * H + h) * D;
        float acc = 0.0f;
        for (int d = 0; d < D; d++) acc += qs[d] * __bfloat162float(kr[d]);
        acc *= scale;
        if (bias) acc += bias[((int64_t)h * Sq + i) * Sk + j];
        s[j] = acc;
        mx = fmaxf(mx, acc);
    }
    mx = block_reduce(mx, true);
    float sum = 0.0f;
    for (int64_t j = threadIdx.x; j < nk; j += blockDim.x) {
        float p = __expf(s[j] - mx);
        s[j] = p;
        sum += p;
    }
    sum = block_reduce(sum, false); /* also orders the writes of s[] before the reads below */
    float inv = 1.0f / sum;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float acc = 0.0f;
        for (int64_t j = 0; j < nk; j++) acc += s[j] * __bfloat162float(v[(j * H + h) * D + d]);
        out[(i * H + h) * D + d] = __float2bfloat16_rn(acc * inv);
    }
}

} /* namespace */

extern "C" cudaError_t dit_cuda_attn_bias(void *out, const void *q, const void *k, const void *v, const float *bias,
                                          int64_t Sq, int64_t Sk, int64_t nk, int H, int D, float scale,
                                          cudaStream_t st) {
    size_t smem = (size_t)(D + nk) * sizeof(float);
    if (smem > 200 * 1024) return cudaErrorInvalidValue;
    if (smem > 48 * 1024) {
        cudaError_t e = cudaFuncSetAttribute(attn_bias_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
        if (e != cudaSuccess) return e;
    }
    dim3 grid((unsigned)Sq, (unsigned)H);
    attn_bias_kernel<<<grid, 128, smem, st>>>((__nv_bfloat16 *)out, (const __nv_bfloat16 *)q,
                                              (const __nv_bfloat16 *)k, (const __nv_bfloat16 *)v, bias, Sq, Sk, nk,
                                              H, D, scale);
    return cudaGetLastError();
}
