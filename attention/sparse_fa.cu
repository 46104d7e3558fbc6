/* sparse_fa.cu — LUT-driven block-sparse FlashAttention (bf16 in/out, f32
 * accumulation), mma.sync m16n8k16 + ldmatrix + cp.async double buffering.
 *
 * One CTA = one 128-row query block of one head, 8 warps x 16 rows.  The CTA
 * walks the sorted list of selected key blocks (64 or 128 keys each, streamed
 * as 64-key tiles), with an online softmax in the exp2 domain, P kept in
 * registers as the A operand of P.V.  Keys past a block's real length are
 * masked.  Epilogues, applied per query block before the single store:
 *   plain      O = acc / l
 *   rectified  O = R_i * acc / l + c_i                (Rectified SpaAttn, GAPR)
 *   sla        O = acc / l + phi(q) H' / (phi(q).z + eps) + b_l   (H' = H W_l^T,
 *              one state per head, or per (head, query block) for SLA-1)
 * The linear term reuses the Q tile in shared memory (phi(q) overwrites it) and
 * one more mma pass against H'.  Version history and numbers: bench/NOTES.md.
 * v1: mma.sync (this file).  A wgmma/TMA version can replace the main loop and
 * keep the same parameters, LUT format and epilogues.
 * Checked against the CPU references by tests/test_attn_cuda.c. */
#include <cuda_bf16.h>
#include <math.h>

#include "sparse_fa.cuh"
#include "sparse_mma.cuh"

using namespace sp;

namespace {

constexpr int BQ = 128, BKT = 64, WARPS = 8, THREADS = WARPS * 32;
constexpr int SMEM_BYTES = (BQ * D + 4 * BKT * D) * 2 + BQ * 4; /* Q + 2x(K,V) tiles + den[] */

__device__ __forceinline__ void qblock_range(const sp_fa_params &p, int i, int64_t &s, int64_t &e) {
    if (i < p.nvb_q) {
        s = (int64_t)i * BQ;
        e = min(s + BQ, p.n_video);
    } else {
        s = p.n_video + (int64_t)(i - p.nvb_q) * BQ;
        e = min(s + BQ, p.S);
    }
}

__device__ __forceinline__ void kblock_range(const sp_fa_params &p, int j, int64_t &s, int64_t &e) {
    if (j < p.nvb_k) {
        s = (int64_t)j * p.bk;
        e = min(s + p.bk, min(p.n_video, p.key_end));
    } else {
        s = p.n_video + (int64_t)(j - p.nvb_k) * p.bk;
        e = min(s + p.bk, p.key_end);
    }
}

__global__ void __launch_bounds__(THREADS, 1) sparse_fa_kernel(const sp_fa_params p) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    __nv_bfloat16 *Qs = reinterpret_cast<__nv_bfloat16 *>(smem_raw);
    __nv_bfloat16 *Ks = Qs + BQ * D; /* two K tiles then two V tiles */
    __nv_bfloat16 *Vs = Ks + 2 * BKT * D;
    float *den = reinterpret_cast<float *>(Vs + 2 * BKT * D);

    const int qb = blockIdx.x, h = blockIdx.y;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int64_t rs = (int64_t)p.H * D; /* token row stride */
    const __nv_bfloat16 *Qg = reinterpret_cast<const __nv_bfloat16 *>(p.q) + (int64_t)h * D;
    const __nv_bfloat16 *Kg = reinterpret_cast<const __nv_bfloat16 *>(p.k) + (int64_t)h * D;
    const __nv_bfloat16 *Vg = reinterpret_cast<const __nv_bfloat16 *>(p.v) + (int64_t)h * D;

    int64_t q0, q1;
    qblock_range(p, qb, q0, q1);
    const int qvalid = (int)(q1 - q0);
    const int row_id = h * p.nqb + qb;
    const int nsel = p.lut ? p.cnt[row_id] : p.nkb;
    const int *lut = p.lut ? p.lut + (int64_t)row_id * p.lut_stride : nullptr;
    const int sub = p.bk / BKT; /* 64-key tiles per key block */
    const int ntiles = nsel * sub;

    auto tile_range = [&](int t, int64_t &ks, int &kvalid) {
        int j = lut ? lut[t / sub] : t / sub;
        int64_t s, e;
        kblock_range(p, j, s, e);
        ks = s + (int64_t)(t % sub) * BKT;
        kvalid = (int)max((int64_t)0, min((int64_t)BKT, e - ks));
    };

    load_tile_async(Qs, Qg, q0, qvalid, BQ, rs, tid, THREADS);
    cp_async_commit();
    if (ntiles > 0) {
        int64_t ks;
        int kv;
        tile_range(0, ks, kv);
        load_tile_async(Ks, Kg, ks, kv, BKT, rs, tid, THREADS);
        load_tile_async(Vs, Vg, ks, kv, BKT, rs, tid, THREADS);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();

    uint32_t qf[8][4];
#pragma unroll
    for (int kk = 0; kk < 8; kk++) ldsm_x4(qf[kk], Qs + swz(warp * 16 + (lane & 15), kk * 2 + (lane >> 4)));

    float o[16][4];
#pragma unroll
    for (int i = 0; i < 16; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;

    for (int t = 0; t < ntiles; t++) {
        int64_t ks;
        int kv;
        tile_range(t, ks, kv);
        if (t + 1 < ntiles) {
            int64_t ks2;
            int kv2;
            tile_range(t + 1, ks2, kv2);
            const int b = (t + 1) & 1;
            load_tile_async(Ks + b * BKT * D, Kg, ks2, kv2, BKT, rs, tid, THREADS);
            load_tile_async(Vs + b * BKT * D, Vg, ks2, kv2, BKT, rs, tid, THREADS);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        const __nv_bfloat16 *Kt = Ks + (t & 1) * BKT * D, *Vt = Vs + (t & 1) * BKT * D;

        float s[8][4];
#pragma unroll
        for (int i = 0; i < 8; i++) s[i][0] = s[i][1] = s[i][2] = s[i][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < 8; kk++) {
#pragma unroll
            for (int np = 0; np < 4; np++) {
                uint32_t b[4];
                ldsm_x4(b, Kt + swz(np * 16 + (lane & 7) + ((lane >> 4) << 3), kk * 2 + ((lane >> 3) & 1)));
                mma16816(s[2 * np], qf[kk], b[0], b[1]);
                mma16816(s[2 * np + 1], qf[kk], b[2], b[3]);
            }
        }
        /* online softmax (exp2 domain); rows r0 = lane/4 and r1 = r0 + 8 of the warp */
        float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < 8; nt++) {
#pragma unroll
            for (int e = 0; e < 2; e++) {
                int key = nt * 8 + 2 * (lane & 3) + e;
                bool ok = key < kv;
                s[nt][e] = ok ? s[nt][e] * p.scale_log2 : -INFINITY;
                s[nt][2 + e] = ok ? s[nt][2 + e] * p.scale_log2 : -INFINITY;
                mx0 = fmaxf(mx0, s[nt][e]);
                mx1 = fmaxf(mx1, s[nt][2 + e]);
            }
        }
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
        const float u0 = n0 == -INFINITY ? 0.0f : n0, u1 = n1 == -INFINITY ? 0.0f : n1;
        const float c0 = fast_exp2(m0 - u0), c1 = fast_exp2(m1 - u1);
        m0 = n0, m1 = n1;
        l0 *= c0, l1 *= c1;
#pragma unroll
        for (int i = 0; i < 16; i++) {
            o[i][0] *= c0, o[i][1] *= c0;
            o[i][2] *= c1, o[i][3] *= c1;
        }
        uint32_t pa[4][4];
#pragma unroll
        for (int nt = 0; nt < 8; nt++) {
            float p00 = fast_exp2(s[nt][0] - u0), p01 = fast_exp2(s[nt][1] - u0);
            float p10 = fast_exp2(s[nt][2] - u1), p11 = fast_exp2(s[nt][3] - u1);
            l0 += p00 + p01;
            l1 += p10 + p11;
            pa[nt >> 1][(nt & 1) * 2 + 0] = pack_bf16(p00, p01);
            pa[nt >> 1][(nt & 1) * 2 + 1] = pack_bf16(p10, p11);
        }
#pragma unroll
        for (int kk2 = 0; kk2 < 4; kk2++) {
#pragma unroll
            for (int dp = 0; dp < 8; dp++) {
                uint32_t b[4];
                ldsm_x4_t(b, Vt + swz(kk2 * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), dp * 2 + (lane >> 4)));
                mma16816(o[2 * dp], pa[kk2], b[0], b[1]);
                mma16816(o[2 * dp + 1], pa[kk2], b[2], b[3]);
            }
        }
        __syncthreads(); /* this buffer is refilled two iterations later */
    }
    cp_async_wait<0>();

    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
    if (p.mode == SP_EPI_RECTIFIED) {
        const float R = p.R[row_id];
        inv0 *= R, inv1 *= R;
    }
    const int r0 = warp * 16 + (lane >> 2), r1 = r0 + 8;
#pragma unroll
    for (int nt = 0; nt < 16; nt++) {
        o[nt][0] *= inv0, o[nt][1] *= inv0;
        o[nt][2] *= inv1, o[nt][3] *= inv1;
    }
    if (p.mode == SP_EPI_RECTIFIED) {
        const float *c = p.c + (int64_t)row_id * D;
#pragma unroll
        for (int nt = 0; nt < 16; nt++) {
            const int d = nt * 8 + 2 * (lane & 3);
            const float c0 = c[d], c1 = c[d + 1];
            o[nt][0] += c0, o[nt][1] += c1;
            o[nt][2] += c0, o[nt][3] += c1;
        }
    } else if (p.mode == SP_EPI_SLA || p.mode == SP_EPI_SLA_PER_BLOCK) {
        const int64_t soff = p.mode == SP_EPI_SLA ? (int64_t)h : (int64_t)row_id;
        const float *z = p.z + soff * D;
        const __nv_bfloat16 *St = reinterpret_cast<const __nv_bfloat16 *>(p.state) + soff * D * D;
        /* phi(q) = softmax over d of each of this warp's 16 rows, written over its Q rows; den = phi(q).z */
        for (int rr = 0; rr < 16; rr++) {
            const int r = warp * 16 + rr;
            __nv_bfloat16 *row = Qs + swz(r, lane >> 1) + (lane & 1) * 4;
            float x[4], mx = -INFINITY;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                x[e] = __bfloat162float(row[e]);
                mx = fmaxf(mx, x[e]);
            }
            for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
            float sum = 0.0f;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                x[e] = __expf(x[e] - mx);
                sum += x[e];
            }
            for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
            float dz = 0.0f;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                x[e] /= sum;
                dz += x[e] * z[lane * 4 + e];
                row[e] = __float2bfloat16_rn(x[e]);
            }
            for (int off = 16; off > 0; off >>= 1) dz += __shfl_xor_sync(0xffffffffu, dz, off);
            if (lane == 0) den[r] = dz + p.eps;
        }
        __syncthreads(); /* all warps are done with the K/V tiles: reuse them for H' */
        for (int i = tid; i < D * CHUNKS; i += THREADS) {
            int r = i / CHUNKS, cc = i % CHUNKS;
            cp_async16(Ks + swz(r, cc), St + (int64_t)r * D + cc * 8, 16);
        }
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
        uint32_t pf[8][4];
#pragma unroll
        for (int kk = 0; kk < 8; kk++) ldsm_x4(pf[kk], Qs + swz(warp * 16 + (lane & 15), kk * 2 + (lane >> 4)));
        const float id0 = 1.0f / den[r0], id1 = 1.0f / den[r1];
#pragma unroll
        for (int half = 0; half < 2; half++) {
            float lin[8][4];
#pragma unroll
            for (int i = 0; i < 8; i++) lin[i][0] = lin[i][1] = lin[i][2] = lin[i][3] = 0.0f;
#pragma unroll
            for (int kk = 0; kk < 8; kk++) {
#pragma unroll
                for (int dp = 0; dp < 4; dp++) {
                    uint32_t b[4];
                    ldsm_x4_t(b, Ks + swz(kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3),
                                          half * 8 + dp * 2 + (lane >> 4)));
                    mma16816(lin[2 * dp], pf[kk], b[0], b[1]);
                    mma16816(lin[2 * dp + 1], pf[kk], b[2], b[3]);
                }
            }
#pragma unroll
            for (int nt = 0; nt < 8; nt++) {
                const int d = (half * 8 + nt) * 8 + 2 * (lane & 3);
                const float b0 = p.bl[d], b1 = p.bl[d + 1];
                o[half * 8 + nt][0] += lin[nt][0] * id0 + b0;
                o[half * 8 + nt][1] += lin[nt][1] * id0 + b1;
                o[half * 8 + nt][2] += lin[nt][2] * id1 + b0;
                o[half * 8 + nt][3] += lin[nt][3] * id1 + b1;
            }
        }
    }
    __nv_bfloat16 *Og = reinterpret_cast<__nv_bfloat16 *>(p.o) + (int64_t)h * D;
#pragma unroll
    for (int nt = 0; nt < 16; nt++) {
        const int d = nt * 8 + 2 * (lane & 3);
        if (r0 < qvalid)
            *reinterpret_cast<__nv_bfloat162 *>(Og + (q0 + r0) * rs + d) = __floats2bfloat162_rn(o[nt][0], o[nt][1]);
        if (r1 < qvalid)
            *reinterpret_cast<__nv_bfloat162 *>(Og + (q0 + r1) * rs + d) = __floats2bfloat162_rn(o[nt][2], o[nt][3]);
    }
}

} /* namespace */

extern "C" cudaError_t sp_fa_launch(const sp_fa_params *p, cudaStream_t st) {
    static_assert(SMEM_BYTES <= 227 * 1024, "shared memory");
    cudaError_t e = cudaFuncSetAttribute(sparse_fa_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)p->nqb, (unsigned)p->H);
    sparse_fa_kernel<<<grid, THREADS, SMEM_BYTES, st>>>(*p);
    return cudaGetLastError();
}
