/* ops_cuda.h — C-linkage launchers of the elementwise / normalisation kernels in
 * ops_cuda.cu.  Pointers are device pointers; dtypes are dit_dtype values
 * (DIT_DTYPE_F32 or DIT_DTYPE_BF16).  Each returns the launch's cudaError_t. */
#ifndef SPADIT_OPS_CUDA_H
#define SPADIT_OPS_CUDA_H

#include <cuda_runtime_api.h> /* cudaStream_t, cudaError_t */
#include <stdint.h>           /* int64_t */

#ifdef __cplusplus
extern "C" {
#endif

cudaError_t dit_cuda_convert(void *dst, int dst_dtype, const void *src, int src_dtype, int64_t n, cudaStream_t st);
/* LayerNorm over C of x[M, C] (f32), optional gamma/beta/scale/shift [C] f32 -> out (f32 or bf16). */
cudaError_t dit_cuda_layer_norm(void *out, int out_dtype, const float *x, const float *gamma, const float *beta,
                                const float *scale, const float *shift, int64_t M, int64_t C, float eps,
                                cudaStream_t st);
/* RMSNorm over C of x[M, C] (f32 or bf16) * gamma (f32 or NULL); then, when table != NULL, RoPE per
 * head of width C/heads with table[M, C/heads] = (cos, sin) pairs.  out may alias x. */
cudaError_t dit_cuda_rms_norm_rope(void *out, int out_dtype, const void *x, int x_dtype, const float *gamma,
                                   const float *table, int heads, int64_t M, int64_t C, float eps, cudaStream_t st);
/* In-place RoPE of x[N, H, D] (f32 or bf16) with table[N, D] (cos, sin pairs). */
cudaError_t dit_cuda_rope(void *x, int dtype, const float *table, int64_t N, int64_t H, int64_t D, cudaStream_t st);
/* x[M, C] f32 += y (f32 or bf16) * gate[C] (gate may be NULL). */
cudaError_t dit_cuda_gated_add(float *x, const void *y, int y_dtype, const float *gate, int64_t M, int64_t C,
                               cudaStream_t st);
/* out = act(x) elementwise (same dtype in and out). act: dit_act value. */
cudaError_t dit_cuda_activation(void *out, const void *x, int dtype, int act, int64_t n, cudaStream_t st);
/* out = a (+ or *) b elementwise, same dtype. */
cudaError_t dit_cuda_binary(void *out, const void *a, const void *b, int dtype, int mul, int64_t n, cudaStream_t st);
/* out[M, N] (f32 or bf16) = act(out + bias[N]) in place; bias f32 or NULL. */
cudaError_t dit_cuda_bias_act(void *out, int dtype, const float *bias, int act, int64_t M, int64_t N,
                              cudaStream_t st);

/* t[i] = lo + (hi-lo) * dit_hash_uniform(seed, i), rounded to dtype. */
cudaError_t dit_cuda_fill_uniform(void *t, int dtype, int64_t n, uint64_t seed, float lo, float hi, cudaStream_t st);

/* Video-VAE ops (ops_vae_cuda.cu), f32 [C, T, H, W]. */
cudaError_t dit_cuda_channel_norm(float *out, const float *x, const float *g, const float *b, int64_t C, int64_t S,
                                  cudaStream_t st);
cudaError_t dit_cuda_upsample2x(float *out, const float *x, int64_t CT, int64_t H, int64_t W, cudaStream_t st);
cudaError_t dit_cuda_transpose(float *out, const float *x, int64_t R, int64_t C, cudaStream_t st);
cudaError_t dit_cuda_channel_bias(float *x, const float *b, int64_t C, int64_t S, cudaStream_t st);

#ifdef __cplusplus
}
#endif

#endif
