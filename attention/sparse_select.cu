/* sparse_select.cu — block maps and critical-block selection on the GPU, one CTA
 * per (head, group of query blocks), writing a sorted (ascending) list of key
 * blocks per query block for the sparse FlashAttention kernel.
 *   SLA:       score = qbar_i . (kbar_j - kall); the T best per row (ties: lower j).
 *   Rectified: logits sigma * Qbar . Kbar (+ IPAR text columns), softmax, ranking,
 *              n_i = min(ncols, max(top_k, 1 + #(cumsum <= tau))), OR neighbours /
 *              forced square / text blocks, then GAPR: R_i and c_i = sum A_ij Vbar_j
 *              over compensated blocks.
 * Rows are ranked with a bitonic sort of (score, index) keys in shared memory.
 * The contract is docs/attention.md; tests/test_attn_cuda.c compares the lists,
 * R and c with the CPU reference's attn_select_cpu. */
#include <cuda_bf16.h>
#include <stdint.h>

#include "head_dim.h" /* SP_HEAD_DIM */
#include "sparse_select.cuh"

namespace {

constexpr int D = SP_HEAD_DIM, THREADS = 256, WARPS = THREADS / 32;

__device__ __forceinline__ uint32_t orderable(float f) {
    uint32_t u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float from_orderable(uint32_t u) {
    return __uint_as_float((u & 0x80000000u) ? (u & 0x7fffffffu) : ~u);
}
/* key: high 32 bits = score (orderable), low 32 = ~index: sorting keys descending ranks higher scores
 * first and, among equal scores, the lower index first. */
__device__ __forceinline__ uint64_t make_key(float s, int j) {
    return ((uint64_t)orderable(s) << 32) | (uint32_t)(~(uint32_t)j);
}
__device__ __forceinline__ int key_index(uint64_t k) { return (int)(~(uint32_t)(k & 0xffffffffu)); }

/* Descending bitonic sort of n (power of two) keys in shared memory; all threads participate. */
__device__ void bitonic_desc(uint64_t *a, int n) {
    for (int k = 2; k <= n; k <<= 1) {
        for (int j = k >> 1; j > 0; j >>= 1) {
            for (int i = threadIdx.x; i < n; i += blockDim.x) {
                int ixj = i ^ j;
                if (ixj > i) {
                    uint64_t x = a[i], y = a[ixj];
                    bool desc = (i & k) == 0;
                    if (desc ? (x < y) : (x > y)) {
                        a[i] = y;
                        a[ixj] = x;
                    }
                }
            }
            __syncthreads();
        }
    }
}

/* Write the ascending indices of flags[0..n) that are set into out; returns the count (all threads). */
__device__ int compact_flags(const unsigned char *flags, int n, int *out, int *s_count) {
    if (threadIdx.x < 32) {
        int base = 0;
        for (int j0 = 0; j0 < n; j0 += 32) {
            int j = j0 + (int)threadIdx.x;
            bool f = j < n && flags[j];
            unsigned m = __ballot_sync(0xffffffffu, f);
            if (f) out[base + __popc(m & ((1u << threadIdx.x) - 1u))] = j;
            base += __popc(m);
        }
        if (threadIdx.x == 0) *s_count = base;
    }
    __syncthreads();
    return *s_count;
}

__device__ float block_sum(float v, float *red) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    float t = 0.0f;
    for (int w = 0; w < WARPS; w++) t += red[w];
    return t;
}
__device__ float block_max(float v, float *red) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    __syncthreads();
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    float t = -INFINITY;
    for (int w = 0; w < WARPS; w++) t = fmaxf(t, red[w]);
    return t;
}

constexpr int SLA_ROWS = 8;

/* grid (ceil(nqb / SLA_ROWS), H); dynamic smem: qm[R][D] f32, kall[D], scores[R][nkb], keys[np] u64, flags[np]. */
__global__ void __launch_bounds__(THREADS) sla_select_kernel(const sp_sla_select_params p, int np) {
    extern __shared__ __align__(16) unsigned char sm[];
    float *qm = reinterpret_cast<float *>(sm);
    float *kall = qm + SLA_ROWS * D;
    float *sc = kall + D;
    uint64_t *keys = reinterpret_cast<uint64_t *>(sc + SLA_ROWS * ((p.nkb + 1) & ~1));
    unsigned char *flags = reinterpret_cast<unsigned char *>(keys + np);
    __shared__ int s_count;
    const int h = blockIdx.y, i0 = blockIdx.x * SLA_ROWS, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int rows = min(SLA_ROWS, p.nqb - i0);
    for (int e = threadIdx.x; e < rows * D; e += THREADS) qm[e] = p.qmean[((int64_t)h * p.nqb + i0) * D + e];
    for (int e = threadIdx.x; e < D; e += THREADS) kall[e] = p.kall[h * D + e];
    __syncthreads();
    /* scores: tiles of 32 key blocks staged transposed in shared memory ([d][32 + 1]: no bank conflicts);
     * thread (r = tid / 32, jj = tid % 32) computes one full dot product per tile */
    float *kt = reinterpret_cast<float *>(flags + np); /* [D][33] */
    const int sstride = (p.nkb + 1) & ~1;
    for (int j0 = 0; j0 < p.nkb; j0 += 32) {
        __syncthreads();
        for (int e = threadIdx.x; e < 32 * D; e += THREADS) {
            const int jj = e / D, d = e % D, j = j0 + jj;
            kt[d * 33 + jj] = j < p.nkb ? p.kmean[((int64_t)h * p.nkb + j) * D + d] - kall[d] : 0.0f;
        }
        __syncthreads();
        const int r = threadIdx.x >> 5, jj = threadIdx.x & 31, j = j0 + jj;
        if (r < rows && j < p.nkb) {
            const float *q = qm + r * D;
            float a = 0.0f;
#pragma unroll 8
            for (int d = 0; d < D; d++) a += q[d] * kt[d * 33 + jj];
            sc[r * sstride + j] = a;
        }
    }
    (void)warp, (void)lane;
    __syncthreads();
    for (int r = 0; r < rows; r++) {
        const int i = i0 + r;
        for (int j = threadIdx.x; j < np; j += THREADS) {
            keys[j] = j < p.nkb ? make_key(sc[r * ((p.nkb + 1) & ~1) + j], j) : 0ull;
            flags[j] = 0;
        }
        __syncthreads();
        bitonic_desc(keys, np);
        for (int e = threadIdx.x; e < p.T; e += THREADS) flags[key_index(keys[e])] = 1;
        __syncthreads();
        int *out = p.lut + ((int64_t)h * p.nqb + i) * p.lut_stride;
        int n = compact_flags(flags, p.nkb, out, &s_count);
        if (threadIdx.x == 0) p.cnt[h * p.nqb + i] = n;
        __syncthreads();
    }
}

constexpr int RECT_ROWS = 4;

/* grid (ceil(nqb / RECT_ROWS), H).  dynamic smem (floats unless noted):
 * qb[R][D], mq[R][D], then per row R arrays of ncol: a (logits -> A), g, e1, e2 (GAPR dots),
 * keys[np] u64, flags[np] u8, comp list [nvb] int. */
__global__ void __launch_bounds__(THREADS) rect_select_kernel(const sp_rect_select_params p, int np, int ncol_pad,
                                                              int nfl) {
    extern __shared__ __align__(16) unsigned char sm[];
    float *qb = reinterpret_cast<float *>(sm);
    float *mq = qb + RECT_ROWS * D;
    float *A = mq + RECT_ROWS * D;
    float *G = A + RECT_ROWS * ncol_pad;
    float *E1 = G + RECT_ROWS * ncol_pad;
    float *E2 = E1 + RECT_ROWS * ncol_pad;
    uint64_t *keys = reinterpret_cast<uint64_t *>(E2 + RECT_ROWS * ncol_pad);
    unsigned char *flags = reinterpret_cast<unsigned char *>(keys + np);
    int *clist = reinterpret_cast<int *>(flags + nfl);
    __shared__ float red[WARPS];
    __shared__ int s_count;
    const int h = blockIdx.y, i0 = blockIdx.x * RECT_ROWS, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int rows = min(RECT_ROWS, p.nqb - i0);
    const int nkb = p.nvb + p.ntb;
    const bool joint = p.nvq < p.nqb; /* text query blocks exist: n_video < S (docs/attention.md) */
    const int ntx = joint ? (int)p.n_text_valid : 0;
    for (int e = threadIdx.x; e < rows * D; e += THREADS) {
        qb[e] = p.qbar[((int64_t)h * p.nqb + i0) * D + e];
        mq[e] = p.mq[((int64_t)h * p.nqb + i0) * D + e];
    }
    __syncthreads();
    /* dots: video blocks (raw Qbar.Kbar, mq.Kbar, Qbar.mk) and text tokens (Qbar.k_t), over tiles of 32
     * columns staged transposed in shared memory; thread (r = tid / 32 < rows, jj = tid % 32) */
    const __nv_bfloat16 *K = reinterpret_cast<const __nv_bfloat16 *>(p.k);
    float *kt = reinterpret_cast<float *>(clist + p.nvb), *mt = kt + D * 33; /* [D][33] each */
    const int ncolumns = p.nvb + ntx;
    for (int j0 = 0; j0 < ncolumns; j0 += 32) {
        __syncthreads();
        for (int e = threadIdx.x; e < 32 * D; e += THREADS) {
            const int jj = e / D, d = e % D, j = j0 + jj;
            float kv = 0.0f, mv = 0.0f;
            if (j < p.nvb) {
                kv = p.kbar[((int64_t)h * p.nvb + j) * D + d];
                mv = p.mk[((int64_t)h * p.nvb + j) * D + d];
            } else if (j < ncolumns) {
                kv = __bfloat162float(K[(p.n_video + (j - p.nvb)) * (int64_t)p.H * D + (int64_t)h * D + d]);
            }
            kt[d * 33 + jj] = kv;
            mt[d * 33 + jj] = mv;
        }
        __syncthreads();
        const int r = threadIdx.x >> 5, jj = threadIdx.x & 31, j = j0 + jj;
        if (r < rows && j < ncolumns) {
            const float *q = qb + r * D, *m = mq + r * D;
            float g = 0.0f, e1 = 0.0f, e2 = 0.0f;
#pragma unroll 4
            for (int d = 0; d < D; d++) {
                const float kv = kt[d * 33 + jj];
                g += q[d] * kv;
                e1 += m[d] * kv;
                e2 += q[d] * mt[d * 33 + jj];
            }
            A[r * ncol_pad + j] = g * p.scale;
            G[r * ncol_pad + j] = g;
            E1[r * ncol_pad + j] = e1;
            E2[r * ncol_pad + j] = e2;
        }
    }
    __syncthreads();
    const int ncols = p.nvb + (joint ? 1 : 0);
    for (int r = 0; r < rows; r++) {
        const int i = i0 + r;
        int *out = p.lut + ((int64_t)h * p.nqb + i) * p.lut_stride;
        float *a = A + r * ncol_pad;
        if (i >= p.nvq) { /* text query block: dense over every key block */
            for (int j = threadIdx.x; j < nkb; j += THREADS) out[j] = j;
            for (int d = threadIdx.x; d < D; d += THREADS) p.c[((int64_t)h * p.nqb + i) * D + d] = 0.0f;
            if (threadIdx.x == 0) {
                p.cnt[h * p.nqb + i] = nkb;
                p.comp[h * p.nqb + i] = 0;
                p.R[h * p.nqb + i] = 1.0f;
            }
            __syncthreads();
            continue;
        }
        /* softmax over video blocks (+ text tokens), IPAR renormalisation */
        float mx = -INFINITY;
        for (int j = threadIdx.x; j < p.nvb + ntx; j += THREADS) mx = fmaxf(mx, a[j]);
        mx = block_max(mx, red);
        float sv = 0.0f, st = 0.0f;
        for (int j = threadIdx.x; j < p.nvb + ntx; j += THREADS) {
            float e = __expf(a[j] - mx);
            a[j] = e;
            if (j < p.nvb) sv += e;
            else st += e;
        }
        sv = block_sum(sv, red);
        st = block_sum(st, red);
        const float B = 128.0f;
        const float denom = joint ? B * sv + st : sv;
        const float mulv = joint ? B / denom : 1.0f / denom;
        for (int j = threadIdx.x; j < p.nvb; j += THREADS) a[j] *= mulv;
        __syncthreads();
        const float a_txt = joint ? st / denom : 0.0f;
        /* rank columns (text column last among equals), cumulative sum, n_i */
        for (int j = threadIdx.x; j < np; j += THREADS)
            keys[j] = j < p.nvb ? make_key(a[j], j) : (j == p.nvb && joint ? make_key(a_txt, j) : 0ull);
        for (int j = threadIdx.x; j < nfl; j += THREADS) flags[j] = 0;
        __syncthreads();
        bitonic_desc(keys, np);
        /* count #{k : c_k <= tau} with a running sum over the sorted list (one warp, in order) */
        if (warp == 0) {
            float run = 0.0f;
            int count = 0;
            for (int k0 = 0; k0 < ncols; k0 += 32) {
                int k = k0 + lane;
                float v = k < ncols ? from_orderable((uint32_t)(keys[k] >> 32)) : 0.0f;
                /* inclusive scan within the warp */
                float x = v;
                for (int o = 1; o < 32; o <<= 1) {
                    float y = __shfl_up_sync(0xffffffffu, x, o);
                    if (lane >= o) x += y;
                }
                float c = run + x;
                unsigned m = __ballot_sync(0xffffffffu, k < ncols && c <= p.tau);
                count += __popc(m);
                run += __shfl_sync(0xffffffffu, x, 31);
            }
            if (lane == 0) s_count = count;
        }
        __syncthreads();
        const int n_sel = min(ncols, max(p.top_k, 1 + s_count));
        __syncthreads();
        for (int e = threadIdx.x; e < n_sel; e += THREADS) {
            int j = key_index(keys[e]);
            if (j < p.nvb) flags[j] = 1;
        }
        __syncthreads();
        for (int j = threadIdx.x; j < nkb; j += THREADS) {
            if (j >= p.nvb) flags[j] = 1; /* text key blocks: always exact */
            else if (p.neighbor && p.neighbor[(int64_t)i * p.nvb + j]) flags[j] = 1;
            else if (i < p.forced_f && j < p.forced_f) flags[j] = 1;
        }
        __syncthreads();
        /* GAPR over the video blocks left out */
        int ncomp = 0;
        float rsum = 0.0f;
        if (p.gapr) {
            if (warp == 0) {
                int base = 0;
                for (int j0 = 0; j0 < p.nvb; j0 += 32) {
                    int j = j0 + lane;
                    bool cmp = false;
                    if (j < p.nvb && !flags[j]) {
                        float g = fabsf(G[r * ncol_pad + j]);
                        float err = fabsf(E1[r * ncol_pad + j]) + fabsf(E2[r * ncol_pad + j]);
                        cmp = g > err;
                    }
                    unsigned m = __ballot_sync(0xffffffffu, cmp);
                    if (cmp) clist[base + __popc(m & ((1u << lane) - 1u))] = j;
                    base += __popc(m);
                }
                if (lane == 0) s_count = base;
            }
            __syncthreads();
            ncomp = s_count;
            float part = 0.0f;
            for (int e = threadIdx.x; e < ncomp; e += THREADS) part += a[clist[e]];
            rsum = block_sum(part, red);
        }
        for (int d = threadIdx.x; d < D; d += THREADS) {
            float acc = 0.0f;
            for (int e = 0; e < ncomp; e++) {
                int j = clist[e];
                acc += a[j] * p.vbar[((int64_t)h * p.nvb + j) * D + d];
            }
            p.c[((int64_t)h * p.nqb + i) * D + d] = acc;
        }
        int n = compact_flags(flags, nkb, out, &s_count);
        if (threadIdx.x == 0) {
            p.cnt[h * p.nqb + i] = n;
            p.comp[h * p.nqb + i] = ncomp;
            p.R[h * p.nqb + i] = 1.0f - rsum;
        }
        __syncthreads();
    }
}

int next_pow2(int n) {
    int p = 1;
    while (p < n) p <<= 1;
    return p;
}

} /* namespace */

extern "C" {

size_t sp_sla_select_smem(int nkb) {
    int np = next_pow2(nkb);
    return (size_t)(SLA_ROWS * D + D + SLA_ROWS * ((nkb + 1) & ~1)) * 4 + (size_t)np * 8 + (size_t)np + D * 33 * 4 + 16;
}

cudaError_t sp_sla_select_launch(const sp_sla_select_params *p, cudaStream_t st) {
    int np = next_pow2(p->nkb);
    size_t smem = sp_sla_select_smem(p->nkb);
    cudaError_t e = cudaFuncSetAttribute(sla_select_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)((p->nqb + SLA_ROWS - 1) / SLA_ROWS), (unsigned)p->H);
    sla_select_kernel<<<grid, THREADS, smem, st>>>(*p, np);
    return cudaGetLastError();
}

static int rect_nfl(int nvb, int ntb) {
    int n = next_pow2(nvb + 1);
    if (nvb + ntb > n) n = nvb + ntb;
    return (n + 15) & ~15;
}

size_t sp_rect_select_smem(int nvb, int ntb, int ntext) {
    int ncol_pad = (nvb + ntext + 3) & ~3;
    int np = next_pow2(nvb + 1);
    return (size_t)(2 * RECT_ROWS * D + 4 * RECT_ROWS * ncol_pad) * 4 + (size_t)np * 8 + (size_t)rect_nfl(nvb, ntb) +
           (size_t)nvb * 4 + 2 * D * 33 * 4 + 16;
}

cudaError_t sp_rect_select_launch(const sp_rect_select_params *p, cudaStream_t st) {
    int ntext = p->n_text_valid > 0 ? (int)p->n_text_valid : 0;
    int ncol_pad = (p->nvb + ntext + 3) & ~3;
    int np = next_pow2(p->nvb + 1);
    size_t smem = sp_rect_select_smem(p->nvb, p->ntb, ntext);
    cudaError_t e = cudaFuncSetAttribute(rect_select_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)((p->nqb + RECT_ROWS - 1) / RECT_ROWS), (unsigned)p->H);
    rect_select_kernel<<<grid, THREADS, smem, st>>>(*p, np, ncol_pad, rect_nfl(p->nvb, p->ntb));
    return cudaGetLastError();
}

} /* extern "C" */
