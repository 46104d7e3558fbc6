/* sparse_fa_common.cuh — device code shared by the block-sparse FlashAttention kernels
 * (v2 sparse_fa.cu, v3/v4 sparse_fa_sm90.cu): the block grid (query blocks of 128, key
 * blocks of p.bk, restarted at n_video for joint text layouts) and the SLA feature map
 * phi(q) = softmax over the head dim of one query row, computed by one warp. */
#ifndef SPADIT_SPARSE_FA_COMMON_CUH
#define SPADIT_SPARSE_FA_COMMON_CUH

#include <cuda_bf16.h> /* __nv_bfloat16 */
#include <math.h>      /* INFINITY */

#include "sparse_fa.cuh"  /* sp_fa_params */
#include "sparse_mma.cuh" /* warp_exp_row */

namespace sp {

constexpr int FA_BQ = 128; /* query rows per block (and per CTA) */

/* Token range [s, e) of query block i. */
__device__ __forceinline__ void qblock_range(const sp_fa_params &p, int i, int64_t &s, int64_t &e) {
    if (i < p.nvb_q) {
        s = (int64_t)i * FA_BQ;
        e = min(s + FA_BQ, p.n_video);
    } else {
        s = p.n_video + (int64_t)(i - p.nvb_q) * FA_BQ;
        e = min(s + FA_BQ, p.S);
    }
}

/* Token range [s, e) of key block j (keys from key_end on are masked). */
__device__ __forceinline__ void kblock_range(const sp_fa_params &p, int j, int64_t &s, int64_t &e) {
    if (j < p.nvb_k) {
        s = (int64_t)j * p.bk;
        e = min(s + p.bk, min(p.n_video, p.key_end));
    } else {
        s = p.n_video + (int64_t)(j - p.nvb_k) * p.bk;
        e = min(s + p.bk, p.key_end);
    }
}

/* phi(q) of one 128-wide bf16 row, in place: lane l holds elements 4l .. 4l+3 at `row` (the caller
 * resolves the swizzle).  Returns phi(q).z + eps on every lane. */
__device__ __forceinline__ float sla_phi_row(__nv_bfloat16 *row, const float *z, int lane, float eps) {
    float x[4];
    const float sum = warp_exp_row(row, x);
    float dz = 0.0f;
#pragma unroll
    for (int e = 0; e < 4; e++) {
        x[e] /= sum;
        dz += x[e] * z[lane * 4 + e];
        row[e] = __float2bfloat16_rn(x[e]);
    }
    for (int off = 16; off > 0; off >>= 1) dz += __shfl_xor_sync(0xffffffffu, dz, off);
    return dz + eps;
}

} /* namespace sp */

#endif
