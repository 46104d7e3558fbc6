/* sparse_pool.cu — one pass over Q, K or V per block: block means (zero-padded
 * or over the real rows) and GAPR's mean absolute deviations; the mean of K
 * over all tokens (SLA's smooth-K); phi(k) = softmax over d with its column sum
 * z (SLA's linear state inputs); folding proj_l into the linear state.
 * Checked with the selections they feed against the CPU references
 * (tests/test_attn_cuda.c). */
#include <cuda_bf16.h>

#include "sparse_mma.cuh"    /* sp::D, sp::warp_exp_row */
#include "sparse_select.cuh"

namespace {

using sp::D;
using sp::warp_exp_row;

/* grid (nb, H), 128 threads: thread d owns column d. */
__global__ void pool_kernel(const sp_pool_params p) {
    const int b = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
    const __nv_bfloat16 *x = reinterpret_cast<const __nv_bfloat16 *>(p.x);
    int64_t s0, end;
    if (b < p.nvb) {
        s0 = (int64_t)b * p.B;
        end = min(s0 + p.B, p.n_video);
    } else {
        s0 = p.n_video + (int64_t)(b - p.nvb) * p.B;
        end = min(s0 + p.B, p.S);
    }
    const int len = (int)max((int64_t)0, end - s0);
    const int64_t rs = (int64_t)p.H * D;
    const __nv_bfloat16 *col = x + s0 * rs + (int64_t)h * D + d;
    float acc = 0.0f;
    for (int r = 0; r < len; r++) acc += __bfloat162float(col[r * rs]);
    const float mean = p.pad_mean ? acc / (float)p.B : (len > 0 ? acc / (float)len : 0.0f);
    const int64_t o = ((int64_t)h * p.nb + b) * D + d;
    p.mean[o] = mean;
    if (p.mad) {
        float dev = 0.0f;
        for (int r = 0; r < len; r++) dev += fabsf(__bfloat162float(col[r * rs]) - mean);
        dev += (float)(p.B - len) * fabsf(mean); /* padded slots are zeros */
        p.mad[o] = dev / (float)p.B;
    }
}

/* kall[h][d] = sum_b len_b * mean[h][b][d] / S over real-mean blocks of size B (plain layout). */
__global__ void kall_kernel(const float *mean, float *kall, int nb, int B, int64_t S) {
    const int h = blockIdx.x, d = threadIdx.x;
    double acc = 0.0;
    for (int b = 0; b < nb; b++) {
        int64_t len = min((int64_t)B, S - (int64_t)b * B);
        acc += (double)len * mean[((int64_t)h * nb + b) * D + d];
    }
    kall[h * D + d] = (float)(acc / (double)S);
}

/* grid (ceil(S/64), H), 256 threads: each warp does 8 tokens; phi = softmax over d; z += phi. */
__global__ void phi_kernel(const sp_phi_params p) {
    __shared__ float zs[D];
    const int h = blockIdx.y, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (threadIdx.x < D) zs[threadIdx.x] = 0.0f;
    __syncthreads();
    const int64_t rs = (int64_t)p.H * D;
    const __nv_bfloat16 *k = reinterpret_cast<const __nv_bfloat16 *>(p.k);
    __nv_bfloat16 *out = reinterpret_cast<__nv_bfloat16 *>(p.phik);
    float zl[4] = {0, 0, 0, 0};
    for (int i = 0; i < 8; i++) {
        const int64_t t = (int64_t)blockIdx.x * 64 + warp * 8 + i;
        if (t >= p.S) break;
        const __nv_bfloat16 *row = k + t * rs + (int64_t)h * D + lane * 4;
        float x[4];
        const float sum = warp_exp_row(row, x);
        __nv_bfloat16 *orow = out + t * rs + (int64_t)h * D + lane * 4;
#pragma unroll
        for (int e = 0; e < 4; e++) {
            float v = x[e] / sum;
            zl[e] += v;
            orow[e] = __float2bfloat16_rn(v);
        }
    }
#pragma unroll
    for (int e = 0; e < 4; e++) atomicAdd(&zs[lane * 4 + e], zl[e]);
    __syncthreads();
    if (threadIdx.x < D) atomicAdd(&p.z[h * D + threadIdx.x], zs[threadIdx.x]);
}

/* out[s][i][e] (bf16) = sum_j Hs[s][i][j] * W[e][j]: fold proj_l into the state (s = state index). */
__global__ void fold_kernel(const float *Hs, const float *W, __nv_bfloat16 *out) {
    __shared__ float row[D];
    const int64_t s = blockIdx.y;
    const int i = blockIdx.x, e = threadIdx.x;
    row[e] = Hs[(s * D + i) * D + e];
    __syncthreads();
    float acc = 0.0f;
    for (int j = 0; j < D; j++) acc += row[j] * W[e * D + j];
    out[(s * D + i) * D + e] = __float2bfloat16_rn(acc);
}

/* zblk[h][j][d] = sum over the rows of key block j (size B, real rows only) of phik. grid (nkb, H). */
__global__ void zblk_kernel(const __nv_bfloat16 *phik, float *zblk, int64_t S, int H, int B, int nkb) {
    const int j = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
    const int64_t s0 = (int64_t)j * B, e = min(s0 + B, S), rs = (int64_t)H * D;
    float acc = 0.0f;
    for (int64_t t = s0; t < e; t++) acc += __bfloat162float(phik[t * rs + (int64_t)h * D + d]);
    zblk[((int64_t)h * nkb + j) * D + d] = acc;
}

/* SLA-1 per query block: H_i = sum of h_j over the blocks NOT selected for row i (z_i likewise).  When
 * fewer blocks are left out than selected, sum them directly (exact zero when everything is selected);
 * otherwise total minus selected (the paper's pre-aggregate-then-subtract), which is well conditioned
 * because most of the mass remains.  grid (nqb, H), 256 threads. */
__global__ void sla1_state_kernel(const float *Htot, const float *ztot, const float *hblk, const float *zblk,
                                  const int *lut, const int *cnt, int lut_stride, int nqb, int nkb, float *Hi,
                                  float *zi) {
    const int i = blockIdx.x, h = blockIdx.y;
    const int row = h * nqb + i, n = cnt[row];
    const int *l = lut + (int64_t)row * lut_stride;
    const bool direct = 2 * n >= nkb;
    for (int e = threadIdx.x; e < D * D + D; e += blockDim.x) {
        const bool isz = e >= D * D;
        const int ee = isz ? e - D * D : e;
        const float *blk = isz ? zblk : hblk;
        const int64_t bs = isz ? D : (int64_t)D * D;
        float acc = 0.0f;
        if (direct) {
            int k = 0; /* the LUT is ascending: walk it alongside j to skip the selected blocks */
            for (int j = 0; j < nkb; j++) {
                if (k < n && l[k] == j) {
                    k++;
                    continue;
                }
                acc += blk[((int64_t)h * nkb + j) * bs + ee];
            }
        } else {
            acc = isz ? ztot[h * D + ee] : Htot[(int64_t)h * D * D + ee];
            for (int k = 0; k < n; k++) acc -= blk[((int64_t)h * nkb + l[k]) * bs + ee];
        }
        if (isz) zi[(int64_t)row * D + ee] = acc;
        else Hi[(int64_t)row * D * D + ee] = acc;
    }
}

} /* namespace */

extern "C" {

cudaError_t sp_zblk_launch(const void *phik, float *zblk, int64_t S, int H, int B, int nkb, cudaStream_t st) {
    dim3 grid((unsigned)nkb, (unsigned)H);
    zblk_kernel<<<grid, D, 0, st>>>(reinterpret_cast<const __nv_bfloat16 *>(phik), zblk, S, H, B, nkb);
    return cudaGetLastError();
}

cudaError_t sp_sla1_state_launch(const float *Htot, const float *ztot, const float *hblk, const float *zblk,
                                 const int *lut, const int *cnt, int lut_stride, int H, int nqb, int nkb, float *Hi,
                                 float *zi, cudaStream_t st) {
    dim3 grid((unsigned)nqb, (unsigned)H);
    sla1_state_kernel<<<grid, 256, 0, st>>>(Htot, ztot, hblk, zblk, lut, cnt, lut_stride, nqb, nkb, Hi, zi);
    return cudaGetLastError();
}


cudaError_t sp_pool_launch(const sp_pool_params *p, cudaStream_t st) {
    dim3 grid((unsigned)p->nb, (unsigned)p->H);
    pool_kernel<<<grid, D, 0, st>>>(*p);
    return cudaGetLastError();
}

cudaError_t sp_kall_launch(const float *mean, float *kall, int H, int nb, int B, int64_t S, cudaStream_t st) {
    kall_kernel<<<H, D, 0, st>>>(mean, kall, nb, B, S);
    return cudaGetLastError();
}

cudaError_t sp_phi_launch(const sp_phi_params *p, cudaStream_t st) {
    cudaError_t e = cudaMemsetAsync(p->z, 0, (size_t)p->H * D * sizeof(float), st);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)((p->S + 63) / 64), (unsigned)p->H);
    phi_kernel<<<grid, 256, 0, st>>>(*p);
    return cudaGetLastError();
}

cudaError_t sp_fold_launch(const float *Hs, const float *W, void *out, int nstates, cudaStream_t st) {
    dim3 grid(D, (unsigned)nstates);
    fold_kernel<<<grid, D, 0, st>>>(Hs, W, reinterpret_cast<__nv_bfloat16 *>(out));
    return cudaGetLastError();
}

} /* extern "C" */
