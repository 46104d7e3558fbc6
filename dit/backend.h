/* backend.h — the backend interface: memory, transfers and the ops the models need.
 *
 * A backend is a struct of function pointers plus its private context (ggml's
 * backend vtable, reduced to what spadit uses).  Model code calls only these
 * entries, so the same Wan forward runs on the CPU (f32 everywhere, the
 * reference) and on CUDA (bf16 GEMM operands and attention, f32 norms,
 * modulation and residual stream).  A NULL op entry means "not supported";
 * dit_backend_supports() answers for tests and dispatch alike.
 *
 * Conventions for every op: shapes outermost first, all tensors contiguous and
 * resident on the backend's device; `out` may alias an input only where stated.
 * Each op validates its operands and fills be->err on failure.
 */
#ifndef SPADIT_BACKEND_H
#define SPADIT_BACKEND_H

#include "status.h" /* dit_status, dit_err */
#include "tensor.h" /* dit_tensor, dit_dtype */

typedef enum dit_act {
    DIT_ACT_NONE = 0,
    DIT_ACT_GELU_TANH, /* 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))) */
    DIT_ACT_GELU_ERF,  /* 0.5x(1+erf(x/sqrt2)) */
    DIT_ACT_SILU       /* x*sigmoid(x) */
} dit_act;

/* How a weight is stored once uploaded: GEMM operands may be narrowed (bf16 on
 * CUDA), everything else (norm gains, modulation tables, biases) stays f32. */
typedef enum dit_weight_kind { DIT_WEIGHT_GEMM = 0, DIT_WEIGHT_PARAM = 1 } dit_weight_kind;

typedef struct dit_backend dit_backend;

typedef struct dit_backend_ops {
    void (*destroy)(dit_backend *be);

    /* memory */
    dit_status (*alloc)(dit_backend *be, size_t bytes, void **ptr);
    void (*free)(dit_backend *be, void *ptr);
    dit_status (*upload)(dit_backend *be, void *dst, const void *src_host, size_t bytes);
    dit_status (*download)(dit_backend *be, void *dst_host, const void *src, size_t bytes);
    dit_status (*memset0)(dit_backend *be, void *dst, size_t bytes);
    dit_status (*sync)(dit_backend *be);

    /* dst = src converted to dst->dtype (same numel). */
    dit_status (*convert)(dit_backend *be, dit_tensor *dst, const dit_tensor *src);
    /* out[M,N] = act(x[M,K] . w[N,K]^T + b[N]);  b may be NULL. */
    dit_status (*linear)(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                         const dit_tensor *b, dit_act act);
    /* LayerNorm over the last dim C, then optional affine and modulation:
     * out = ((x-mu)/sqrt(var+eps) * gamma + beta) * (1+scale) + shift.
     * gamma, beta, scale, shift are [C] f32 or NULL.  x is f32. */
    dit_status (*layer_norm)(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                             const dit_tensor *beta, const dit_tensor *scale, const dit_tensor *shift, float eps);
    /* RMSNorm over the whole last dim: out = x * rsqrt(mean(x^2)+eps) * gamma (gamma may be NULL). */
    dit_status (*rms_norm)(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                           float eps);
    /* In place rotary embedding of x[N, H, D] with interleaved pairs (2p, 2p+1):
     * table is f32 [N, D/2, 2] holding (cos, sin) per token and pair. */
    dit_status (*rope)(dit_backend *be, dit_tensor *x, const dit_tensor *table);
    /* Optional fusion: out = rope(rms_norm(x, gamma)) viewed as [N, H, D]. */
    dit_status (*rms_norm_rope)(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                const dit_tensor *table, int heads, float eps);
    /* x[M,C] (f32) += y[M,C] * gate[C]  (gate NULL: x += y). */
    dit_status (*gated_add)(dit_backend *be, dit_tensor *x, const dit_tensor *y, const dit_tensor *gate);
    /* out = act(x), elementwise; out may alias x. */
    dit_status (*activation)(dit_backend *be, dit_tensor *out, const dit_tensor *x, dit_act act);
    /* out = a + b or a * b, elementwise over equal shapes; out may alias a. */
    dit_status (*add)(dit_backend *be, dit_tensor *out, const dit_tensor *a, const dit_tensor *b);
    dit_status (*mul)(dit_backend *be, dit_tensor *out, const dit_tensor *a, const dit_tensor *b);

    /* Fill t (any float dtype) with deterministic uniform values in [lo, hi): element i gets
     * lo + (hi-lo) * u(seed, i), u from a counter-based hash, so every backend produces the same
     * numbers (before rounding to t's dtype).  Used for random-weight benchmarks. */
    dit_status (*fill_uniform)(dit_backend *be, dit_tensor *t, uint64_t seed, float lo, float hi);

    /* --- video VAE ops (layout [C, T, H, W], f32) --- */
    /* Stride-1 3-D convolution with zero padding: pt0 frames in front, pt1 behind, ph rows and pw
     * columns on each side.  x[Ci, T, H, W], w[Co, Ci, kt, kh, kw], b[Co] or NULL ->
     * out[Co, T+pt0+pt1-kt+1, H+2ph-kh+1, W+2pw-kw+1].  (A 2-D conv is kt = 1.) */
    dit_status (*conv3d)(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                         const dit_tensor *b, int pt0, int pt1, int ph, int pw);
    /* Per-position L2 normalisation over channels, Wan's RMS_norm:
     * out[c, s] = x[c, s] / max(||x[:, s]||_2, 1e-12) * sqrt(C) * gamma[c] (+ beta[c]); x viewed [C, S]. */
    dit_status (*channel_norm)(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                               const dit_tensor *beta);
    /* Nearest-neighbour 2x spatial upsampling: x[C, T, H, W] -> out[C, T, 2H, 2W]. */
    dit_status (*upsample2x)(dit_backend *be, dit_tensor *out, const dit_tensor *x);
    /* 2-D transpose: x viewed [R, C] -> out [C, R]. */
    dit_status (*transpose)(dit_backend *be, dit_tensor *out, const dit_tensor *x);
    /* Copy frames [s0, s0+n) of src[C, Ts, H, W] into frames [d0, d0+n) of dst[C, Td, H, W]. */
    dit_status (*copy_frames)(dit_backend *be, dit_tensor *dst, int64_t d0, const dit_tensor *src, int64_t s0,
                              int64_t n);

    /* --- layout --- */
    /* Strided byte copy on the device: `rows` rows of `width` bytes from src (row pitch spitch)
     * to dst (row pitch dpitch); the regions must not overlap (cudaMemcpy2D semantics). */
    dit_status (*copy_2d)(dit_backend *be, void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                          size_t rows);
} dit_backend_ops;

struct dit_backend {
    const char *name;                 /* "cpu", "cuda" */
    dit_device device;
    dit_dtype act_dtype;              /* GEMM inputs/outputs and attention operands */
    dit_dtype gemm_dtype;             /* how DIT_WEIGHT_GEMM weights are stored */
    int threads;                      /* CPU worker threads (informational on CUDA) */
    const dit_backend_ops *ops;
    void *impl;                       /* backend-private state */
    char device_name[128];            /* for reports: "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)", "CPU, 2 threads" */
    dit_err err;                      /* detail of the last failure on this backend */
};

/* Create a backend by name: "cpu", "cuda" (or "cuda:N").  On failure returns a
 * status and writes why into err (for example no GPU, or a CPU-only build). */
dit_status dit_backend_create(const char *name, dit_backend **out, dit_err *err);
/* The same with a CPU thread count (`--threads N`; 0: the default; ignored by CUDA backends). */
dit_status dit_backend_create_threads(const char *name, int threads, dit_backend **out, dit_err *err);
void dit_backend_destroy(dit_backend **be);

/* Sets the process's OpenMP thread count (omp_set_num_threads) to `threads`, or when threads <= 0 to
 * the cores this process may use (dit_cpu_cores_available: affinity mask, cgroup quota), unless
 * OMP_NUM_THREADS is set.  Idle workers sleep (OMP_WAIT_POLICY=PASSIVE by default; cpu_threads.h). */
dit_status dit_backend_cpu_create(int threads, dit_backend **out, dit_err *err);
/* Defined only when built with CUDA; the stub returns DIT_ERR_UNSUPPORTED. */
dit_status dit_backend_cuda_create(int device, dit_backend **out, dit_err *err);
int dit_backend_cuda_available(void);

/* Memory a run may still take: host bytes (MemAvailable of /proc/meminfo, else free physical pages)
 * and, for a GPU backend, free device bytes (cudaMemGetInfo; 0 on the CPU backend). */
size_t dit_host_mem_available(void);
size_t dit_backend_device_free(dit_backend *be);
/* CUDA builds: free bytes on the backend's GPU (0 when unknown); the stub returns 0. */
size_t dit_backend_cuda_free_bytes(dit_backend *be);

/* Allocate a tensor's storage on the backend (data freed by dit_backend_tensor_free). */
dit_status dit_backend_tensor_alloc(dit_backend *be, dit_tensor *t, dit_dtype dtype, int ndim, const int64_t *ne);
void dit_backend_tensor_free(dit_backend *be, dit_tensor *t);
/* Upload host f32 data as a weight of the given kind (GEMM -> be->gemm_dtype). */
dit_status dit_backend_weight_from_f32(dit_backend *be, dit_tensor *t, dit_weight_kind kind, const float *host,
                                       int ndim, const int64_t *ne);
/* Copy a backend tensor of any float dtype to host f32 (n = numel floats). */
dit_status dit_backend_download_f32(dit_backend *be, float *host, const dit_tensor *t);
/* Upload host f32 into an existing backend tensor of any float dtype. */
dit_status dit_backend_upload_f32(dit_backend *be, dit_tensor *t, const float *host);

/* The hash behind fill_uniform: a uniform float in [0, 1) for (seed, i). */
static inline float dit_hash_uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed * 0x9e3779b97f4a7c15ull + i + 0x632be59bd9b4e019ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* Fused-or-composed helpers the models call. */
/* out[B, A, C] = x[A, B, C] viewed with the given outer sizes (C = numel / (A B)); any dtype, same
 * dtype and numel for out; out must not alias x.  (Ulysses: [tokens, ranks, w] <-> [ranks, tokens, w].) */
dit_status dit_op_swap01(dit_backend *be, dit_tensor *out, const dit_tensor *x, int64_t A, int64_t B);
dit_status dit_op_rms_norm_rope(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                const dit_tensor *table, int heads, float eps);

#endif
