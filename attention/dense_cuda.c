/* dense_cuda.c — C entry of the biased/masked dense CUDA attention (umT5):
 * validates the bias operand and launches dense_cuda_bias.cu. */
#include <math.h> /* sqrtf */

#include "../dit/cuda/cuda_backend.h" /* dit_cuda_stream, dit_cuda_check */
#include "../dit/op_check.h"          /* dit_check_operand */
#include "dense_cuda.h"
#include "dense_cuda_bias.h" /* dit_cuda_attn_bias */

dit_status attn_dense_cuda_bias(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                                const dit_tensor *k, const dit_tensor *v) {
    int64_t Sq = q->ne[0], H = q->ne[1], D = q->ne[2], Sk = k->ne[0];
    int64_t nk = call->kv_valid > 0 && call->kv_valid < Sk ? call->kv_valid : Sk;
    float scale = call->scale > 0 ? call->scale : 1.0f / sqrtf((float)D);
    if (call->bias) {
        DIT_TRY(dit_check_operand(be, "attention", "bias", call->bias, DIT_MASK(DIT_DTYPE_F32)));
        DIT_TRY(dit_check_numel(be, "attention", "bias", call->bias, H * Sq * Sk));
    }
    if (q->dtype != DIT_DTYPE_BF16) return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "attention on CUDA needs bf16 q/k/v");
    cudaError_t e = dit_cuda_attn_bias(out->data, q->data, k->data, v->data, call->bias ? call->bias->data : NULL, Sq,
                                       Sk, nk, (int)H, (int)D, scale, dit_cuda_stream(be));
    if (e == cudaErrorInvalidValue)
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "biased attention kernel: %lld keys do not fit in shared memory",
                        (long long)nk);
    return dit_cuda_check(be, e, "dense attention with bias", __FILE__, __LINE__);
}
