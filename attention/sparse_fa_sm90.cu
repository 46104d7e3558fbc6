/* sparse_fa_sm90.cu — v3 of the LUT-driven block-sparse FlashAttention for Hopper
 * (sm_90a): wgmma.mma_async with operands in 128-byte-swizzled shared memory.
 *
 * One CTA = one 128-row query block of one head = 2 warpgroups x 64 rows.  Key
 * tiles are 128 keys: one Rectified block, or two SLA blocks of 64 gathered from
 * the LUT into one tile.  Per tile and warpgroup: S = Q K^T (m64n128k16 x 8, A and
 * B from shared memory), online softmax in registers (exp2 domain), P converted
 * in registers to the A operand of O += P V (m64n128k16 x 8, V read N-major from
 * shared memory).  cp.async double buffering of K/V tiles (all threads load; no
 * producer warpgroup yet), fence.proxy.async before the tensor cores read.
 * Same parameters, LUT format and epilogues as v2 (sparse_fa.cu), which remains
 * the portable fallback.  Shared-memory tiles [rows x 128] are stored as two
 * column halves of [rows x 64] (128 B per row), 16-byte chunk c of row r at
 * chunk c ^ (r & 7): the canonical SW128 layout wgmma descriptors address.
 * Checked against the CPU references by tests/test_attn_cuda.c. */
#include <cuda_bf16.h>
#include <math.h>
#include <stdint.h>

#include "sparse_fa.cuh"
#include "sparse_fa_common.cuh"
#include "sparse_mma.cuh"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define SP_HAVE_WGMMA 1
#endif

namespace {

using sp::cp_async16;
using sp::cp_async_commit;
using sp::cp_async_wait;
using sp::fast_exp2;
using sp::kblock_range;
using sp::qblock_range;
using sp::sla_phi_row;
using sp::pack_bf16;
using sp::smem_u32;

using sp::D;
constexpr int BQ = 128, BK = 128, THREADS = 256;
constexpr int HALF = BK * 128;                 /* bytes of one [128 rows x 64 cols] half */
constexpr int TILE = 2 * HALF;                 /* bytes of a [128 x 128] bf16 tile */
constexpr int SMEM_BYTES = 1024 + TILE * 5 + BQ * 4;    /* v3: align slack + Q + 2 x (K, V) + den */
constexpr int SMEM_BYTES_V4 = 1024 + TILE * 7 + BQ * 4; /* v4: align slack + Q + 3 x (K, V) + den */
static_assert(BQ == sp::FA_BQ, "query blocks are 128 rows (sparse_fa_common.cuh)");

/* byte offset of 16-byte chunk cc (0..15) of row r in a [rows x 128] SW128 two-half tile */
__device__ __forceinline__ uint32_t sw_off(int rows, int r, int cc) {
    return (uint32_t)((cc >> 3) * rows * 128 + r * 128 + (((cc & 7) ^ (r & 7)) << 4));
}

__device__ __forceinline__ uint64_t desc_kmajor(uint32_t saddr) {
    return (uint64_t)((saddr & 0x3FFFF) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(1024 >> 4) << 32) |
           ((uint64_t)1 << 62);
}
__device__ __forceinline__ uint64_t desc_nmajor(uint32_t saddr, uint32_t lbo) {
    return (uint64_t)((saddr & 0x3FFFF) >> 4) | ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(1024 >> 4) << 32) |
           ((uint64_t)1 << 62);
}

#ifdef SP_HAVE_WGMMA
__device__ __forceinline__ void wg_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wg_wait0() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
__device__ __forceinline__ void fence_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
__device__ __forceinline__ void wg_wait1() { asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory"); }
/* Order register accesses after a wgmma wait: the asm "redefines" all 64 accumulator registers, so no
 * arithmetic on them can be scheduled before the (volatile, ordered) wait that precedes this call. */
__device__ __forceinline__ void acc_fence(float *x) {
    asm volatile("" : "+f"(x[0]), "+f"(x[1]), "+f"(x[2]), "+f"(x[3]), "+f"(x[4]), "+f"(x[5]), "+f"(x[6]), "+f"(x[7]), "+f"(x[8]), "+f"(x[9]), "+f"(x[10]), "+f"(x[11]), "+f"(x[12]), "+f"(x[13]), "+f"(x[14]), "+f"(x[15]), "+f"(x[16]), "+f"(x[17]), "+f"(x[18]), "+f"(x[19]), "+f"(x[20]), "+f"(x[21]), "+f"(x[22]), "+f"(x[23]), "+f"(x[24]), "+f"(x[25]), "+f"(x[26]), "+f"(x[27]), "+f"(x[28]), "+f"(x[29]), "+f"(x[30]), "+f"(x[31]), "+f"(x[32]), "+f"(x[33]), "+f"(x[34]), "+f"(x[35]), "+f"(x[36]), "+f"(x[37]), "+f"(x[38]), "+f"(x[39]), "+f"(x[40]), "+f"(x[41]), "+f"(x[42]), "+f"(x[43]), "+f"(x[44]), "+f"(x[45]), "+f"(x[46]), "+f"(x[47]), "+f"(x[48]), "+f"(x[49]), "+f"(x[50]), "+f"(x[51]), "+f"(x[52]), "+f"(x[53]), "+f"(x[54]), "+f"(x[55]), "+f"(x[56]), "+f"(x[57]), "+f"(x[58]), "+f"(x[59]), "+f"(x[60]), "+f"(x[61]), "+f"(x[62]), "+f"(x[63]) :: "memory");
}
/* Keep A-operand registers alive (and unmoved) until after the wait of the wgmma that reads them. */
__device__ __forceinline__ void keep_live(uint32_t (&a)[8][4]) {
#pragma unroll
    for (int k = 0; k < 8; k++) asm volatile("" : "+r"(a[k][0]), "+r"(a[k][1]), "+r"(a[k][2]), "+r"(a[k][3]));
}

/* Online softmax over one 128-key tile, as a thread of a wgmma m64n128 accumulator sees it: this thread's
 * scores s[64] cover rows lane/4 and lane/4 + 8 of its warp's 16, columns nt * 8 + 2 * (lane & 3) + {0, 1}
 * (s[4nt + e] row 0, s[4nt + 2 + e] row 1).  softmax_max scales the scores into the exp2 domain, masks
 * the keys at or beyond kv[half] of each 64-key half, and moves the running maxima m0 / m1 to include
 * the tile: u0 / u1 are the offsets the probabilities use (0 for a row with no key yet), c0 / c1 the
 * factors that rescale the earlier l and O. */
__device__ __forceinline__ void softmax_max(float (&s)[64], const int kv[2], int lane, float scale_log2, float &m0,
                                            float &m1, float &u0, float &u1, float &c0, float &c1) {
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < 16; nt++) {
#pragma unroll
        for (int e = 0; e < 2; e++) {
            const int col = nt * 8 + 2 * (lane & 3) + e;
            const bool ok = (col & 63) < kv[col >> 6];
            s[nt * 4 + e] = ok ? s[nt * 4 + e] * scale_log2 : -INFINITY;
            s[nt * 4 + 2 + e] = ok ? s[nt * 4 + 2 + e] * scale_log2 : -INFINITY;
            mx0 = fmaxf(mx0, s[nt * 4 + e]);
            mx1 = fmaxf(mx1, s[nt * 4 + 2 + e]);
        }
    }
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
    mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
    mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
    const float n0 = fmaxf(m0, mx0), n1 = fmaxf(m1, mx1);
    u0 = n0 == -INFINITY ? 0.0f : n0, u1 = n1 == -INFINITY ? 0.0f : n1;
    c0 = fast_exp2(m0 - u0), c1 = fast_exp2(m1 - u1);
    m0 = n0, m1 = n1;
}

/* P = exp2(s - u) of the tile, added to the row sums l0 / l1 and packed to bf16 as the A operand
 * (registers) of the O += P V wgmma: pa[kk] holds the 16 keys of k-step kk. */
__device__ __forceinline__ void softmax_p(const float (&s)[64], float u0, float u1, float &l0, float &l1,
                                          uint32_t (&pa)[8][4]) {
#pragma unroll
    for (int nt = 0; nt < 16; nt++) {
        float p00 = fast_exp2(s[4 * nt] - u0), p01 = fast_exp2(s[4 * nt + 1] - u0);
        float p10 = fast_exp2(s[4 * nt + 2] - u1), p11 = fast_exp2(s[4 * nt + 3] - u1);
        l0 += p00 + p01;
        l1 += p10 + p11;
        pa[nt >> 1][(nt & 1) * 2 + 0] = pack_bf16(p00, p01);
        pa[nt >> 1][(nt & 1) * 2 + 1] = pack_bf16(p10, p11);
    }
}

/* O *= c row-wise (rows 0 / 1 of this thread, as in softmax_max). */
__device__ __forceinline__ void rescale_o(float (&o)[64], float c0, float c1) {
#pragma unroll
    for (int i = 0; i < 16; i++) {
        o[4 * i] *= c0, o[4 * i + 1] *= c0;
        o[4 * i + 2] *= c1, o[4 * i + 3] *= c1;
    }
}

/* D[64] (+)= A(smem desc) x B(smem desc), m64n128k16, bf16 -> f32; B K-major (trans-b 0). */
__device__ __forceinline__ void wgmma_ss_m64n128(float *d, uint64_t da, uint64_t db, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(da), "l"(db), "r"(accumulate));
}

/* D[64] += A(registers, 4 x bf16x2) x B(smem desc), m64n128k16; B N-major (trans-b 1). */
__device__ __forceinline__ void wgmma_rs_m64n128_tb(float *d, const uint32_t *a, uint64_t db) {
    asm volatile(
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, 1, 1, 1, 1;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db));
}
/* D[64] (+)= A(smem desc, K-major) x B(smem desc, N-major), m64n128k16. */
__device__ __forceinline__ void wgmma_ss_m64n128_tb(float *d, uint64_t da, uint64_t db, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "l"(da), "l"(db), "r"(accumulate));
}
#endif

/* The two 64-row halves of key tile t: start token and number of real keys of each. */
__device__ __forceinline__ void tile_halves(const sp_fa_params &p, const int *lut, int nsel, int t, int64_t ks[2],
                                            int kv[2]) {
    if (p.bk == 128) {
        int j = lut ? lut[t] : t;
        int64_t s, e;
        kblock_range(p, j, s, e);
        int len = (int)max((int64_t)0, e - s);
        ks[0] = s, ks[1] = s + 64;
        kv[0] = min(64, len), kv[1] = max(0, len - 64);
    } else { /* two 64-key blocks per tile */
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int e_idx = 2 * t + h;
            if (e_idx < nsel) {
                int j = lut ? lut[e_idx] : e_idx;
                int64_t s, e;
                kblock_range(p, j, s, e);
                ks[h] = s;
                kv[h] = (int)max((int64_t)0, e - s);
            } else {
                ks[h] = 0;
                kv[h] = 0;
            }
        }
    }
}

/* Load a [128 x 128] tile whose halves of 64 rows start at tokens ks[0], ks[1] (kv real rows each). */
__device__ __forceinline__ void load_kv_tile(unsigned char *dst, const __nv_bfloat16 *src, const int64_t ks[2],
                                             const int kv[2], int64_t rs, int tid) {
    const int cc = tid & 15;
#pragma unroll
    for (int it = 0; it < BK * 16 / THREADS; it++) { /* row r = tid/16 + 16 it; half = it / 4 (compile time) */
        const int r = (tid >> 4) + 16 * it, h = it >> 2, rr = r & 63;
        const bool ok = rr < kv[h];
        const __nv_bfloat16 *g = src + (ok ? (ks[h] + rr) * rs + cc * 8 : 0);
        cp_async16(dst + sw_off(BK, r, cc), g, ok ? 16 : 0);
    }
}

#ifdef SP_HAVE_WGMMA
/* After the key loop (every wgmma waited for, every cp.async landed): normalise by the softmax sums,
 * apply the epilogue (Rectified: R_i and c_i; SLA: phi(q) H' / (phi(q).z + eps) + b_l, reusing the Q
 * tile and the first K stage) and store this thread's rows.  Shared by v3 and v4. */
__device__ __forceinline__ void finish_block(const sp_fa_params &p, float (&o)[64], float l0, float l1, int h,
                                             int row_id, int64_t q0, int qvalid, unsigned char *Qs,
                                             unsigned char *Ks, float *den, uint32_t q_s, int tid) {
    const int warp = tid >> 5, lane = tid & 31, wg = warp >> 2, wq = warp & 3;
    const int64_t rs = (int64_t)p.H * D;
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    float inv0 = l0 > 0.0f ? 1.0f / l0 : 0.0f, inv1 = l1 > 0.0f ? 1.0f / l1 : 0.0f;
    if (p.mode == SP_EPI_RECTIFIED) {
        inv0 *= p.R[row_id];
        inv1 *= p.R[row_id];
    }
#pragma unroll
    for (int i = 0; i < 16; i++) {
        o[4 * i] *= inv0, o[4 * i + 1] *= inv0;
        o[4 * i + 2] *= inv1, o[4 * i + 3] *= inv1;
    }
    const int r0 = wg * 64 + wq * 16 + (lane >> 2), r1 = r0 + 8;
    if (p.mode == SP_EPI_RECTIFIED) {
        const float *c = p.c + (int64_t)row_id * D;
#pragma unroll
        for (int nt = 0; nt < 16; nt++) {
            const int d = nt * 8 + 2 * (lane & 3);
            const float c0 = c[d], c1 = c[d + 1];
            o[4 * nt] += c0, o[4 * nt + 1] += c1;
            o[4 * nt + 2] += c0, o[4 * nt + 3] += c1;
        }
    } else if (p.mode == SP_EPI_SLA || p.mode == SP_EPI_SLA_PER_BLOCK) {
        const int64_t soff = p.mode == SP_EPI_SLA ? (int64_t)h : (int64_t)row_id;
        const float *z = p.z + soff * D;
        const __nv_bfloat16 *St = reinterpret_cast<const __nv_bfloat16 *>(p.state) + soff * D * D;
        /* phi(q) over d for this warp's 16 rows, written over the Q tile; den = phi(q).z + eps */
        for (int rr = 0; rr < 16; rr++) {
            const int r = wg * 64 + wq * 16 + rr;
            const int cc = lane >> 1; /* 16-byte chunk holding d = 4*lane .. 4*lane+3 */
            __nv_bfloat16 *row = reinterpret_cast<__nv_bfloat16 *>(Qs + sw_off(BQ, r, cc)) + (lane & 1) * 4;
            const float dn = sla_phi_row(row, z, lane, p.eps);
            if (lane == 0) den[r] = dn;
        }
        for (int i = tid; i < D * 16; i += THREADS) {
            int r = i >> 4, cc = i & 15;
            cp_async16(Ks + sw_off(D, r, cc), St + (int64_t)r * D + cc * 8, 16);
        }
        cp_async_commit();
        cp_async_wait<0>();
        fence_async_smem();
        __syncthreads();
        float lin[64];
        const uint32_t h_s = smem_u32(Ks);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
            wgmma_ss_m64n128_tb(lin, desc_kmajor(q_s + (kk >> 2) * HALF + (kk & 3) * 32), desc_nmajor(h_s + kk * 2048, HALF),
                                kk > 0);
        wg_commit();
        wg_wait0();
        acc_fence(lin);
        const float id0 = 1.0f / den[r0], id1 = 1.0f / den[r1];
#pragma unroll
        for (int nt = 0; nt < 16; nt++) {
            const int d = nt * 8 + 2 * (lane & 3);
            const float b0 = p.bl[d], b1 = p.bl[d + 1];
            o[4 * nt] += lin[4 * nt] * id0 + b0;
            o[4 * nt + 1] += lin[4 * nt + 1] * id0 + b1;
            o[4 * nt + 2] += lin[4 * nt + 2] * id1 + b0;
            o[4 * nt + 3] += lin[4 * nt + 3] * id1 + b1;
        }
    }
    __nv_bfloat16 *Og = reinterpret_cast<__nv_bfloat16 *>(p.o) + (int64_t)h * D;
#pragma unroll
    for (int nt = 0; nt < 16; nt++) {
        const int d = nt * 8 + 2 * (lane & 3);
        if (r0 < qvalid)
            *reinterpret_cast<__nv_bfloat162 *>(Og + (q0 + r0) * rs + d) = __floats2bfloat162_rn(o[4 * nt], o[4 * nt + 1]);
        if (r1 < qvalid)
            *reinterpret_cast<__nv_bfloat162 *>(Og + (q0 + r1) * rs + d) =
                __floats2bfloat162_rn(o[4 * nt + 2], o[4 * nt + 3]);
    }
}
#endif

/* What v3 and v4 know about their CTA: query block qb = blockIdx.x of head h = blockIdx.y, the thread's
 * ids, the head's K / V (row stride rs), the block's rows [q0, q0 + qvalid), its LUT row (nsel key blocks
 * in ntiles 128-key tiles).  fa_cta_begin also issues the async loads of the Q tile into Qs (committed
 * by the caller with the first K/V tile). */
struct fa_cta {
    int h, tid, lane, wg, row_id, qvalid, nsel, ntiles;
    int64_t rs, q0;
    const __nv_bfloat16 *Kg, *Vg;
    const int *lut;
};

__device__ __forceinline__ fa_cta fa_cta_begin(const sp_fa_params &p, unsigned char *Qs) {
    fa_cta c;
    const int qb = blockIdx.x;
    c.h = blockIdx.y;
    c.tid = threadIdx.x, c.lane = c.tid & 31, c.wg = (c.tid >> 5) >> 2; /* warpgroup */
    c.rs = (int64_t)p.H * D;
    const __nv_bfloat16 *Qg = reinterpret_cast<const __nv_bfloat16 *>(p.q) + (int64_t)c.h * D;
    c.Kg = reinterpret_cast<const __nv_bfloat16 *>(p.k) + (int64_t)c.h * D;
    c.Vg = reinterpret_cast<const __nv_bfloat16 *>(p.v) + (int64_t)c.h * D;

    int64_t q1;
    qblock_range(p, qb, c.q0, q1);
    c.qvalid = (int)(q1 - c.q0);
    c.row_id = c.h * p.nqb + qb;
    c.nsel = p.lut ? p.cnt[c.row_id] : p.nkb;
    c.lut = p.lut ? p.lut + (int64_t)c.row_id * p.lut_stride : nullptr;
    c.ntiles = p.bk == 128 ? c.nsel : (c.nsel + 1) / 2;

    for (int i = c.tid; i < BQ * 16; i += THREADS) {
        int r = i >> 4, cc = i & 15;
        bool ok = r < c.qvalid;
        cp_async16(Qs + sw_off(BQ, r, cc), Qg + (ok ? (c.q0 + r) * c.rs + cc * 8 : 0), ok ? 16 : 0);
    }
    return c;
}

__global__ void __launch_bounds__(THREADS, 1) sparse_fa_sm90_kernel(const sp_fa_params p) {
#ifdef SP_HAVE_WGMMA
    extern __shared__ unsigned char smem_raw[];
    unsigned char *base = (unsigned char *)(((uintptr_t)smem_raw + 1023) & ~(uintptr_t)1023);
    unsigned char *Qs = base, *Ks = base + TILE, *Vs = base + 3 * TILE;
    float *den = reinterpret_cast<float *>(base + 5 * TILE);

    const fa_cta c = fa_cta_begin(p, Qs);
    const int h = c.h, tid = c.tid, lane = c.lane, wg = c.wg;
    const int row_id = c.row_id, qvalid = c.qvalid, nsel = c.nsel, ntiles = c.ntiles;
    const int64_t rs = c.rs, q0 = c.q0;
    const __nv_bfloat16 *Kg = c.Kg, *Vg = c.Vg;
    const int *lut = c.lut;
    int64_t ks[2];
    int kv[2] = {0, 0}, kvn[2] = {0, 0};
    if (ntiles > 0) {
        tile_halves(p, lut, nsel, 0, ks, kv);
        load_kv_tile(Ks, Kg, ks, kv, rs, tid);
        load_kv_tile(Vs, Vg, ks, kv, rs, tid);
    }
    cp_async_commit();

    float o[64];
#pragma unroll
    for (int i = 0; i < 64; i++) o[i] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
    const uint32_t q_s = smem_u32(Qs) + wg * 64 * 128; /* this warpgroup's 64 rows */

    for (int t = 0; t < ntiles; t++) {
        if (t + 1 < ntiles) {
            int64_t ks2[2];
            tile_halves(p, lut, nsel, t + 1, ks2, kvn);
            const int b = (t + 1) & 1;
            load_kv_tile(Ks + b * TILE, Kg, ks2, kvn, rs, tid);
            load_kv_tile(Vs + b * TILE, Vg, ks2, kvn, rs, tid);
        }
        cp_async_commit();
        cp_async_wait<1>();
        fence_async_smem();
        __syncthreads();
        const uint32_t k_s = smem_u32(Ks + (t & 1) * TILE), v_s = smem_u32(Vs + (t & 1) * TILE);

        float s[64];
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
            wgmma_ss_m64n128(s, desc_kmajor(q_s + (kk >> 2) * HALF + (kk & 3) * 32),
                             desc_kmajor(k_s + (kk >> 2) * HALF + (kk & 3) * 32), kk > 0);
        wg_commit();
        wg_wait0();
        acc_fence(s);

        /* online softmax; this thread's rows are lane/4 and lane/4 + 8 of its warp's 16 */
        float u0, u1, c0, c1;
        softmax_max(s, kv, lane, p.scale_log2, m0, m1, u0, u1, c0, c1);
        l0 *= c0, l1 *= c1;
        rescale_o(o, c0, c1);
        uint32_t pa[8][4];
        softmax_p(s, u0, u1, l0, l1, pa);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++) wgmma_rs_m64n128_tb(o, pa[kk], desc_nmajor(v_s + kk * 2048, HALF));
        wg_commit();
        wg_wait0();
        acc_fence(o);
        kv[0] = kvn[0], kv[1] = kvn[1];
        __syncthreads(); /* the stage just read is refilled by the next prefetch */
    }
    cp_async_wait<0>();
    __syncthreads();

    finish_block(p, o, l0, l1, h, row_id, q0, qvalid, Qs, Ks, den, q_s, tid);
#endif
}

__global__ void __launch_bounds__(THREADS, 1) sparse_fa_sm90_v4_kernel(const sp_fa_params p) {
#ifdef SP_HAVE_WGMMA
    extern __shared__ unsigned char smem_raw[];
    unsigned char *base = (unsigned char *)(((uintptr_t)smem_raw + 1023) & ~(uintptr_t)1023);
    /* stage s: K tile at Ks + 2 s TILE, V tile at Ks + (2 s + 1) TILE; three stages */
    unsigned char *Qs = base, *Ks = base + TILE;
    float *den = reinterpret_cast<float *>(base + 7 * TILE);

    const fa_cta c = fa_cta_begin(p, Qs);
    const int h = c.h, tid = c.tid, lane = c.lane, wg = c.wg;
    const int row_id = c.row_id, qvalid = c.qvalid, nsel = c.nsel, ntiles = c.ntiles;
    const int64_t rs = c.rs, q0 = c.q0;
    const __nv_bfloat16 *Kg = c.Kg, *Vg = c.Vg;
    const int *lut = c.lut;
    /* v4: intra-warpgroup overlap (FA3 algorithm 2): while the tensor cores run O += P_t-1 V_t-1, the
     * warps do the softmax of S_t = Q K_t^T, issued just before it.  Three K/V stages: tile t+1 loads
     * while tiles t (K for S) and t-1 (V for P V) are in use. */
    int64_t ks[2];
    int kv[2] = {0, 0};
    if (ntiles > 0) {
        tile_halves(p, lut, nsel, 0, ks, kv);
        load_kv_tile(Ks, Kg, ks, kv, rs, tid);
        load_kv_tile(Ks + TILE, Vg, ks, kv, rs, tid);
    }
    cp_async_commit();

    float o[64];
#pragma unroll
    for (int i = 0; i < 64; i++) o[i] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
    const uint32_t q_s = smem_u32(Qs) + wg * 64 * 128; /* this warpgroup's 64 rows */
    uint32_t pc[8][4];                                 /* P of the previous tile (A operand of P V) */
    float s[64];

    for (int t = 0; t < ntiles; t++) {
        cp_async_wait<0>();
        fence_async_smem();
        __syncthreads(); /* tile t landed; every warpgroup finished P V of tile t-2 (stage (t+1) % 3) */
        int kvn[2] = {0, 0};
        if (t + 1 < ntiles) {
            int64_t ks2[2];
            tile_halves(p, lut, nsel, t + 1, ks2, kvn);
            unsigned char *st = Ks + 2 * ((t + 1) % 3) * TILE;
            load_kv_tile(st, Kg, ks2, kvn, rs, tid);
            load_kv_tile(st + TILE, Vg, ks2, kvn, rs, tid);
        }
        cp_async_commit();
        const uint32_t k_s = smem_u32(Ks + 2 * (t % 3) * TILE);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
            wgmma_ss_m64n128(s, desc_kmajor(q_s + (kk >> 2) * HALF + (kk & 3) * 32),
                             desc_kmajor(k_s + (kk >> 2) * HALF + (kk & 3) * 32), kk > 0);
        wg_commit();
        if (t > 0) { /* O += P_{t-1} V_{t-1}, overlapping the softmax below */
            const uint32_t v_s = smem_u32(Ks + (2 * ((t - 1) % 3) + 1) * TILE);
#pragma unroll
            for (int kk = 0; kk < 8; kk++) wgmma_rs_m64n128_tb(o, pc[kk], desc_nmajor(v_s + kk * 2048, HALF));
            wg_commit();
            wg_wait1(); /* S_t done; P V may still run */
        } else {
            wg_wait0();
        }
        acc_fence(s);
        float u0, u1, c0, c1;
        softmax_max(s, kv, lane, p.scale_log2, m0, m1, u0, u1, c0, c1);
        l0 *= c0, l1 *= c1;
        uint32_t pn[8][4];
        softmax_p(s, u0, u1, l0, l1, pn);
        wg_wait0(); /* P V of tile t-1 done: O and pc are ours again */
        keep_live(pc);
        acc_fence(o);
        rescale_o(o, c0, c1);
#pragma unroll
        for (int kk = 0; kk < 8; kk++)
#pragma unroll
            for (int e = 0; e < 4; e++) pc[kk][e] = pn[kk][e];
        kv[0] = kvn[0], kv[1] = kvn[1];
    }
    if (ntiles > 0) { /* the last tile's P V */
        const uint32_t v_s = smem_u32(Ks + (2 * ((ntiles - 1) % 3) + 1) * TILE);
        wg_fence();
#pragma unroll
        for (int kk = 0; kk < 8; kk++) wgmma_rs_m64n128_tb(o, pc[kk], desc_nmajor(v_s + kk * 2048, HALF));
        wg_commit();
        wg_wait0();
        keep_live(pc);
        acc_fence(o);
    }
    cp_async_wait<0>();
    __syncthreads();

    finish_block(p, o, l0, l1, h, row_id, q0, qvalid, Qs, Ks, den, q_s, tid);
#endif
}

} /* namespace */

extern "C" cudaError_t sp_fa_sm90_v4_launch(const sp_fa_params *p, cudaStream_t st) {
    static_assert(SMEM_BYTES_V4 <= 227 * 1024, "shared memory");
    cudaError_t e =
        cudaFuncSetAttribute(sparse_fa_sm90_v4_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES_V4);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)p->nqb, (unsigned)p->H);
    sparse_fa_sm90_v4_kernel<<<grid, THREADS, SMEM_BYTES_V4, st>>>(*p);
    return cudaGetLastError();
}

extern "C" cudaError_t sp_fa_sm90_launch(const sp_fa_params *p, cudaStream_t st) {
    cudaError_t e = cudaFuncSetAttribute(sparse_fa_sm90_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, SMEM_BYTES);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)p->nqb, (unsigned)p->H);
    sparse_fa_sm90_kernel<<<grid, THREADS, SMEM_BYTES, st>>>(*p);
    return cudaGetLastError();
}
