/* sparse_mma.cuh — device helpers shared by the sparse attention kernels:
 * mma.sync m16n8k16 (bf16 in, f32 accumulate), ldmatrix (plain and .trans),
 * cp.async with zero fill, and the swizzled shared-memory layout of a
 * [rows x 128] bf16 tile (16-byte chunk c of row r stored at chunk c ^ (r & 7),
 * which makes 8-row ldmatrix reads conflict-free).  Fragment layouts follow the
 * PTX ISA for m16n8k16: A row-major 16x16, B column-major 16x8, C 16x8. */
#ifndef SPADIT_SPARSE_MMA_CUH
#define SPADIT_SPARSE_MMA_CUH

#include <cuda_bf16.h> /* __nv_bfloat16 */
#include <math.h>      /* INFINITY */
#include <stdint.h>    /* uint32_t */

#include "head_dim.h" /* SP_HEAD_DIM */

namespace sp {

constexpr int D = SP_HEAD_DIM; /* head dim handled by the tensor-core kernels */
constexpr int CHUNKS = D / 8; /* 16-byte chunks per row */

__device__ __forceinline__ int swz(int r, int c) { return r * D + ((c ^ (r & 7)) << 3); }

__device__ __forceinline__ uint32_t smem_u32(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}

/* 16-byte async copy global -> shared; bytes < 16 zero-fills the rest (0 = all zeros). */
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(dst)), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(uint32_t r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t r[4], const void *p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}

__device__ __forceinline__ void mma16816(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t *>(&v);
}

__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

/* exp(x - max) over one 128-wide bf16 row held by a warp (lane l: elements 4l .. 4l+3 at `row`), the
 * max taken over the whole row; returns the row's sum of the exps on every lane (the softmax
 * denominator).  SLA's phi = softmax over the head dim (sparse_pool.cu, sparse_sla_state.cu,
 * sparse_fa_common.cuh). */
__device__ __forceinline__ float warp_exp_row(const __nv_bfloat16 *row, float (&x)[4]) {
    float mx = -INFINITY;
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
    return sum;
}

/* Load `rows` rows of a [S, H, 128] bf16 tensor (row stride H*128) starting at token t0 into a swizzled
 * tile; rows at or beyond `valid` are zero-filled.  All threads of the block participate. */
__device__ __forceinline__ void load_tile_async(__nv_bfloat16 *tile, const __nv_bfloat16 *src, int64_t t0, int valid,
                                                int rows, int64_t row_stride, int tid, int nthreads) {
    for (int i = tid; i < rows * CHUNKS; i += nthreads) {
        int r = i / CHUNKS, c = i % CHUNKS;
        bool ok = r < valid;
        const __nv_bfloat16 *g = src + (ok ? (t0 + r) * row_stride + c * 8 : 0);
        cp_async16(tile + swz(r, c), g, ok ? 16 : 0);
    }
}

} /* namespace sp */

#endif
