/* sparse_fa.cu — LUT-driven block-sparse FlashAttention (bf16 in/out, f32
 * accumulation), mma.sync m16n8k16 + ldmatrix + cp.async double buffering.
 *
 * One CTA = one 128-row query block of one head, 4 warps x 32 rows.  The CTA
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
#include "sparse_fa_common.cuh"
#include "sparse_mma.cuh"

using namespace sp;

namespace {

/* v2: 4 warps x 32 query rows (two m16 tiles per warp share every K/V fragment read from shared
 * memory: half the ldmatrix traffic per MMA of v1's 8 warps x 16 rows), 2 CTAs per SM. */
constexpr int BQ = 128, BKT = 64, WARPS = 4, THREADS = WARPS * 32, MT = 2;
constexpr int SMEM_BYTES = (BQ * D + 4 * BKT * D) * 2 + BQ * 4; /* Q + 2x(K,V) tiles + den[] */
static_assert(BQ == sp::FA_BQ, "query blocks are 128 rows (sparse_fa_common.cuh)");

__global__ void __launch_bounds__(THREADS, 2) sparse_fa_kernel(const sp_fa_params p) {
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
    if (ntiles > 0) {
        int64_t ks;
        int kv;
        tile_range(0, ks, kv);
        load_tile_async(Ks, Kg, ks, kv, BKT, rs, tid, THREADS);
        load_tile_async(Vs, Vg, ks, kv, BKT, rs, tid, THREADS);
    }
    cp_async_commit();

    float o[MT][16][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int i = 0; i < 16; i++) o[mt][i][0] = o[mt][i][1] = o[mt][i][2] = o[mt][i][3] = 0.0f;
    float m[MT][2], l[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;
    const int wrow = warp * 32;

    for (int t = 0; t < ntiles; t++) {
        int kv;
        {
            int64_t ks;
            tile_range(t, ks, kv);
        }
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

        float s[MT][8][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int i = 0; i < 8; i++) s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < 8; kk++) {
            uint32_t a[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) ldsm_x4(a[mt], Qs + swz(wrow + mt * 16 + (lane & 15), kk * 2 + (lane >> 4)));
#pragma unroll
            for (int np = 0; np < 4; np++) {
                uint32_t b[4];
                ldsm_x4(b, Kt + swz(np * 16 + (lane & 7) + ((lane >> 4) << 3), kk * 2 + ((lane >> 3) & 1)));
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma16816(s[mt][2 * np], a[mt], b[0], b[1]);
                    mma16816(s[mt][2 * np + 1], a[mt], b[2], b[3]);
                }
            }
        }
        uint32_t pa[MT][4][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            /* online softmax (exp2 domain); rows lane/4 and lane/4 + 8 of this m16 tile */
            float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < 8; nt++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const bool ok = nt * 8 + 2 * (lane & 3) + e < kv;
                    s[mt][nt][e] = ok ? s[mt][nt][e] * p.scale_log2 : -INFINITY;
                    s[mt][nt][2 + e] = ok ? s[mt][nt][2 + e] * p.scale_log2 : -INFINITY;
                    mx0 = fmaxf(mx0, s[mt][nt][e]);
                    mx1 = fmaxf(mx1, s[mt][nt][2 + e]);
                }
            }
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
            mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
            mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
            const float n0 = fmaxf(m[mt][0], mx0), n1 = fmaxf(m[mt][1], mx1);
            const float u0 = n0 == -INFINITY ? 0.0f : n0, u1 = n1 == -INFINITY ? 0.0f : n1;
            const float c0 = fast_exp2(m[mt][0] - u0), c1 = fast_exp2(m[mt][1] - u1);
            m[mt][0] = n0, m[mt][1] = n1;
            l[mt][0] *= c0, l[mt][1] *= c1;
#pragma unroll
            for (int i = 0; i < 16; i++) {
                o[mt][i][0] *= c0, o[mt][i][1] *= c0;
                o[mt][i][2] *= c1, o[mt][i][3] *= c1;
            }
#pragma unroll
            for (int nt = 0; nt < 8; nt++) {
                float p00 = fast_exp2(s[mt][nt][0] - u0), p01 = fast_exp2(s[mt][nt][1] - u0);
                float p10 = fast_exp2(s[mt][nt][2] - u1), p11 = fast_exp2(s[mt][nt][3] - u1);
                l[mt][0] += p00 + p01;
                l[mt][1] += p10 + p11;
                pa[mt][nt >> 1][(nt & 1) * 2 + 0] = pack_bf16(p00, p01);
                pa[mt][nt >> 1][(nt & 1) * 2 + 1] = pack_bf16(p10, p11);
            }
        }
#pragma unroll
        for (int kk2 = 0; kk2 < 4; kk2++) {
#pragma unroll
            for (int dp = 0; dp < 8; dp++) {
                uint32_t b[4];
                ldsm_x4_t(b, Vt + swz(kk2 * 16 + (lane & 7) + (((lane >> 3) & 1) << 3), dp * 2 + (lane >> 4)));
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma16816(o[mt][2 * dp], pa[mt][kk2], b[0], b[1]);
                    mma16816(o[mt][2 * dp + 1], pa[mt][kk2], b[2], b[3]);
                }
            }
        }
        __syncthreads(); /* this buffer is refilled by the next iteration's prefetch */
    }
    cp_async_wait<0>();
    __syncthreads(); /* Q tile complete even when there was no key tile */

    float inv[MT][2];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float lv = l[mt][r];
            lv += __shfl_xor_sync(0xffffffffu, lv, 1);
            lv += __shfl_xor_sync(0xffffffffu, lv, 2);
            inv[mt][r] = lv > 0.0f ? 1.0f / lv : 0.0f;
            if (p.mode == SP_EPI_RECTIFIED) inv[mt][r] *= p.R[row_id];
        }
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < 16; nt++) {
            o[mt][nt][0] *= inv[mt][0], o[mt][nt][1] *= inv[mt][0];
            o[mt][nt][2] *= inv[mt][1], o[mt][nt][3] *= inv[mt][1];
        }
    if (p.mode == SP_EPI_RECTIFIED) {
        const float *c = p.c + (int64_t)row_id * D;
#pragma unroll
        for (int nt = 0; nt < 16; nt++) {
            const int d = nt * 8 + 2 * (lane & 3);
            const float c0 = c[d], c1 = c[d + 1];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                o[mt][nt][0] += c0, o[mt][nt][1] += c1;
                o[mt][nt][2] += c0, o[mt][nt][3] += c1;
            }
        }
    } else if (p.mode == SP_EPI_SLA || p.mode == SP_EPI_SLA_PER_BLOCK) {
        const int64_t soff = p.mode == SP_EPI_SLA ? (int64_t)h : (int64_t)row_id;
        const float *z = p.z + soff * D;
        const __nv_bfloat16 *St = reinterpret_cast<const __nv_bfloat16 *>(p.state) + soff * D * D;
        /* phi(q) = softmax over d of each of this warp's 32 rows, written over its Q rows; den = phi(q).z */
        for (int rr = 0; rr < 32; rr++) {
            const int r = wrow + rr;
            const float dn = sla_phi_row(Qs + swz(r, lane >> 1) + (lane & 1) * 4, z, lane, p.eps);
            if (lane == 0) den[r] = dn;
        }
        /* the K/V tiles are free (the loop ended with a barrier): load H' there */
        for (int i = tid; i < D * CHUNKS; i += THREADS) {
            int r = i / CHUNKS, cc = i % CHUNKS;
            cp_async16(Ks + swz(r, cc), St + (int64_t)r * D + cc * 8, 16);
        }
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
            const int r0 = wrow + mt * 16 + (lane >> 2);
            const float id0 = 1.0f / den[r0], id1 = 1.0f / den[r0 + 8];
#pragma unroll
            for (int half = 0; half < 2; half++) {
                float lin[8][4];
#pragma unroll
                for (int i = 0; i < 8; i++) lin[i][0] = lin[i][1] = lin[i][2] = lin[i][3] = 0.0f;
#pragma unroll
                for (int kk = 0; kk < 8; kk++) {
                    uint32_t a[4];
                    ldsm_x4(a, Qs + swz(wrow + mt * 16 + (lane & 15), kk * 2 + (lane >> 4)));
#pragma unroll
                    for (int dp = 0; dp < 4; dp++) {
                        uint32_t b[4];
                        ldsm_x4_t(b, Ks + swz(kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3),
                                              half * 8 + dp * 2 + (lane >> 4)));
                        mma16816(lin[2 * dp], a, b[0], b[1]);
                        mma16816(lin[2 * dp + 1], a, b[2], b[3]);
                    }
                }
#pragma unroll
                for (int nt = 0; nt < 8; nt++) {
                    const int d = (half * 8 + nt) * 8 + 2 * (lane & 3);
                    const float b0 = p.bl[d], b1 = p.bl[d + 1];
                    o[mt][half * 8 + nt][0] += lin[nt][0] * id0 + b0;
                    o[mt][half * 8 + nt][1] += lin[nt][1] * id0 + b1;
                    o[mt][half * 8 + nt][2] += lin[nt][2] * id1 + b0;
                    o[mt][half * 8 + nt][3] += lin[nt][3] * id1 + b1;
                }
            }
        }
    }
    __nv_bfloat16 *Og = reinterpret_cast<__nv_bfloat16 *>(p.o) + (int64_t)h * D;
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
        const int r0 = wrow + mt * 16 + (lane >> 2), r1 = r0 + 8;
#pragma unroll
        for (int nt = 0; nt < 16; nt++) {
            const int d = nt * 8 + 2 * (lane & 3);
            if (r0 < qvalid)
                *reinterpret_cast<__nv_bfloat162 *>(Og + (q0 + r0) * rs + d) =
                    __floats2bfloat162_rn(o[mt][nt][0], o[mt][nt][1]);
            if (r1 < qvalid)
                *reinterpret_cast<__nv_bfloat162 *>(Og + (q0 + r1) * rs + d) =
                    __floats2bfloat162_rn(o[mt][nt][2], o[mt][nt][3]);
        }
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
