/* dense_cuda_bias.h — launcher of the biased/masked dense attention kernel (bf16, [S, H, D]). */
#ifndef SPADIT_DENSE_CUDA_BIAS_H
#define SPADIT_DENSE_CUDA_BIAS_H

#include <cuda_runtime_api.h> /* cudaStream_t */
#include <stdint.h>           /* int64_t */

#ifdef __cplusplus
extern "C" {
#endif
/* out = softmax(scale q.k^T + bias[H, Sq, Sk]) v over keys [0, nk); bias may be NULL.  Sk is bias's row length. */
cudaError_t dit_cuda_attn_bias(void *out, const void *q, const void *k, const void *v, const float *bias, int64_t Sq,
                               int64_t Sk, int64_t nk, int H, int D, float scale, cudaStream_t st);
#ifdef __cplusplus
}
#endif

#endif
