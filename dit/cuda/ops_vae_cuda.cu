/* ops_vae_cuda.cu — kernels of the video-VAE ops on CUDA (f32, layout [C, T, H, W]):
 * per-voxel channel L2 norm (Wan's RMS_norm), nearest 2x upsampling, tiled 2-D
 * transpose, per-channel bias add after cuDNN convolutions.
 * Checked against the CPU backend by tests/test_ops_cuda.c. */
#include <stdint.h>

#include "ops_cuda.h"

namespace {

/* x, out [C, S]: out[c, s] = x[c, s] / max(||x[:, s]||, 1e-12) * sqrt(C) * g[c] (+ b[c]).  One thread per s. */
__global__ void channel_norm_kernel(float *out, const float *x, const float *g, const float *b, int64_t C, int64_t S) {
    for (int64_t s = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; s < S; s += (int64_t)gridDim.x * blockDim.x) {
        float ss = 0.0f;
        for (int64_t c = 0; c < C; c++) {
            float v = x[c * S + s];
            ss += v * v;
        }
        float r = sqrtf((float)C) / fmaxf(sqrtf(ss), 1e-12f);
        for (int64_t c = 0; c < C; c++) out[c * S + s] = x[c * S + s] * r * (g ? g[c] : 1.0f) + (b ? b[c] : 0.0f);
    }
}

__global__ void upsample2x_kernel(float *out, const float *x, int64_t CT, int64_t H, int64_t W) {
    const int64_t n = CT * H * W * 4;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        int64_t xo = i % (2 * W), yo = (i / (2 * W)) % (2 * H), ct = i / (4 * H * W);
        out[i] = x[(ct * H + yo / 2) * W + xo / 2];
    }
}

__global__ void transpose_kernel(float *out, const float *x, int64_t R, int64_t C) {
    __shared__ float tile[32][33];
    const int64_t c0 = (int64_t)blockIdx.x * 32, r0 = (int64_t)blockIdx.y * 32;
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
        int64_t r = r0 + k, c = c0 + threadIdx.x;
        if (r < R && c < C) tile[k][threadIdx.x] = x[r * C + c];
    }
    __syncthreads();
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
        int64_t c = c0 + k, r = r0 + threadIdx.x;
        if (r < R && c < C) out[c * R + r] = tile[threadIdx.x][k];
    }
}

__global__ void channel_bias_kernel(float *x, const float *b, int64_t C, int64_t S) {
    const int64_t n = C * S;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] += b[i / S];
}

unsigned grid_of(int64_t n) {
    int64_t g = (n + 255) / 256;
    return (unsigned)(g > 65535LL * 16 ? 65535LL * 16 : (g > 0 ? g : 1));
}

} /* namespace */

extern "C" {

cudaError_t dit_cuda_channel_norm(float *out, const float *x, const float *g, const float *b, int64_t C, int64_t S,
                                  cudaStream_t st) {
    channel_norm_kernel<<<grid_of(S), 256, 0, st>>>(out, x, g, b, C, S);
    return cudaGetLastError();
}

cudaError_t dit_cuda_upsample2x(float *out, const float *x, int64_t CT, int64_t H, int64_t W, cudaStream_t st) {
    upsample2x_kernel<<<grid_of(CT * H * W * 4), 256, 0, st>>>(out, x, CT, H, W);
    return cudaGetLastError();
}

cudaError_t dit_cuda_transpose(float *out, const float *x, int64_t R, int64_t C, cudaStream_t st) {
    dim3 grid((unsigned)((C + 31) / 32), (unsigned)((R + 31) / 32)), block(32, 8);
    transpose_kernel<<<grid, block, 0, st>>>(out, x, R, C);
    return cudaGetLastError();
}

cudaError_t dit_cuda_channel_bias(float *x, const float *b, int64_t C, int64_t S, cudaStream_t st) {
    channel_bias_kernel<<<grid_of(C * S), 256, 0, st>>>(x, b, C, S);
    return cudaGetLastError();
}

} /* extern "C" */
