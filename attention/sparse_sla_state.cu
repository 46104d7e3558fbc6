/* sparse_sla_state.cu — SLA's linear-attention state in one pass over K and V:
 * H[h] = sum_u phi(k_u) v_u^T (128 x 128, f32) and z[h] = sum_u phi(k_u), with
 * phi = softmax over the head dim computed on the fly (no phi(K) buffer).
 * grid (ceil(S / 1024), H): each CTA streams 8 tiles of 128 tokens through
 * shared memory, accumulates its 128 x 128 partial with mma.sync (8 warps x 16
 * rows of d_in), then adds it to H with one atomic per element.  Replaces a
 * batched GEMM whose 128 x 128 outputs per head left most of the GPU idle.
 * Checked through the SLA cases of tests/test_attn_cuda.c (CPU reference). */
#include <cuda_bf16.h>

#include "sparse_mma.cuh"

using namespace sp;

namespace {

constexpr int CHUNK = 1024, TOK = 128, THREADS = 256;

__global__ void __launch_bounds__(THREADS) sla_state_kernel(const __nv_bfloat16 *k, const __nv_bfloat16 *v, float *Hs,
                                                             float *z, int64_t S, int H) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    __nv_bfloat16 *Pt = reinterpret_cast<__nv_bfloat16 *>(smem_raw); /* phi(k) tile [token][d], swizzled */
    __nv_bfloat16 *Vt = Pt + TOK * D;                                 /* v tile [token][d], swizzled */
    const int h = blockIdx.y, tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int64_t rs = (int64_t)H * D;
    float acc[16][4];
#pragma unroll
    for (int i = 0; i < 16; i++) acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
    float zl[4] = {0, 0, 0, 0};
    for (int sub = 0; sub < CHUNK / TOK; sub++) {
        const int64_t t0 = (int64_t)blockIdx.x * CHUNK + sub * TOK;
        if (t0 >= S) break;
        const int valid = (int)min((int64_t)TOK, S - t0);
        load_tile_async(Vt, v + (int64_t)h * D, t0, valid, TOK, rs, tid, THREADS);
        cp_async_commit();
        for (int rr = 0; rr < TOK / 8; rr++) { /* each warp: 16 tokens */
            const int r = warp * (TOK / 8) + rr;
            __nv_bfloat16 *dst = Pt + swz(r, lane >> 1) + (lane & 1) * 4;
            if (r >= valid) {
#pragma unroll
                for (int e = 0; e < 4; e++) dst[e] = __float2bfloat16_rn(0.0f);
                continue;
            }
            const __nv_bfloat16 *src = k + (t0 + r) * rs + (int64_t)h * D + lane * 4;
            float x[4];
            const float sum = warp_exp_row(src, x);
            const float inv = 1.0f / sum;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float ph = x[e] * inv;
                zl[e] += ph;
                dst[e] = __float2bfloat16_rn(ph);
            }
        }
        cp_async_wait<0>();
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TOK / 16; kk++) {
            uint32_t a[4];
            /* A[m = d_in][k = token] from Pt[token][d_in]: transposed 8x8 loads */
            ldsm_x4_t(a, Pt + swz(kk * 16 + (lane & 7) + ((lane >> 4) << 3), warp * 2 + ((lane >> 3) & 1)));
#pragma unroll
            for (int dp = 0; dp < 8; dp++) {
                uint32_t b[4];
                ldsm_x4_t(b, Vt + swz(kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), dp * 2 + (lane >> 4)));
                mma16816(acc[2 * dp], a, b[0], b[1]);
                mma16816(acc[2 * dp + 1], a, b[2], b[3]);
            }
        }
        __syncthreads();
    }
    float *Hh = Hs + (int64_t)h * D * D;
    const int m0 = warp * 16 + (lane >> 2);
#pragma unroll
    for (int nt = 0; nt < 16; nt++) {
        const int n = nt * 8 + 2 * (lane & 3);
        atomicAdd(&Hh[m0 * D + n], acc[nt][0]);
        atomicAdd(&Hh[m0 * D + n + 1], acc[nt][1]);
        atomicAdd(&Hh[(m0 + 8) * D + n], acc[nt][2]);
        atomicAdd(&Hh[(m0 + 8) * D + n + 1], acc[nt][3]);
    }
    /* z: lanes hold d = 4 lane .. 4 lane + 3, summed over this warp's tokens */
#pragma unroll
    for (int e = 0; e < 4; e++) atomicAdd(&z[h * D + lane * 4 + e], zl[e]);
}

} /* namespace */

extern "C" cudaError_t sp_sla_state_launch(const void *k, const void *v, float *Hs, float *z, int64_t S, int H,
                                           cudaStream_t st) {
    cudaError_t e = cudaMemsetAsync(Hs, 0, (size_t)H * D * D * sizeof(float), st);
    if (e == cudaSuccess) e = cudaMemsetAsync(z, 0, (size_t)H * D * sizeof(float), st);
    if (e != cudaSuccess) return e;
    const int smem = 2 * TOK * D * 2;
    e = cudaFuncSetAttribute(sla_state_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)((S + CHUNK - 1) / CHUNK), (unsigned)H);
    sla_state_kernel<<<grid, THREADS, smem, st>>>(reinterpret_cast<const __nv_bfloat16 *>(k),
                                               reinterpret_cast<const __nv_bfloat16 *>(v), Hs, z, S, H);
    return cudaGetLastError();
}
