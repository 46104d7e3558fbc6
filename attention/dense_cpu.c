/* dense_cpu.c — dense softmax attention on the CPU in f32: the reference.
 *
 * O[i,h,:] = sum_j softmax_j(scale * q_ih . k_jh + bias[h,i,j]) v_jh, keys j >=
 * kv_valid excluded.  Scores are built per head in chunks of query rows with
 * OpenBLAS (strided views of the [S, H, D] layout), softmax in double-free f32
 * with max subtraction.  Checked by tests/test_attn.c against a scalar loop
 * and by the Wan and umT5 goldens.
 */
#include "attn.h"

#include <cblas.h>  /* cblas_sgemm */
#include <math.h>   /* expf, sqrtf, INFINITY */
#include <stdlib.h> /* malloc, free */

#define CHUNK 256

dit_status attn_dense_cpu(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                          const dit_tensor *k, const dit_tensor *v) {
    int64_t Sq = q->ne[0], H = q->ne[1], D = q->ne[2], Sk = k->ne[0];
    float scale = call->scale > 0 ? call->scale : 1.0f / sqrtf((float)D);
    int64_t nk = call->kv_valid > 0 && call->kv_valid < Sk ? call->kv_valid : Sk;
    const float *bias = call->bias ? (const float *)call->bias->data : NULL;
    if (call->bias && dit_tensor_numel(call->bias) != H * Sq * Sk)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "attention: bias must be [%lld, %lld, %lld]", (long long)H,
                        (long long)Sq, (long long)Sk);
    float *S = malloc((size_t)CHUNK * (size_t)nk * sizeof(float));
    if (!S) return DIT_FAIL(&be->err, DIT_ERR_OOM, "attention: score buffer %lld x %lld", (long long)CHUNK, (long long)nk);
    const float *Q = q->data, *K = k->data, *V = v->data;
    float *O = out->data;
    int ld = (int)(H * D);
    for (int64_t h = 0; h < H; h++) {
        for (int64_t i0 = 0; i0 < Sq; i0 += CHUNK) {
            int64_t m = Sq - i0 < CHUNK ? Sq - i0 : CHUNK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nk, (int)D, scale, Q + (i0 * H + h) * D,
                        ld, K + h * D, ld, 0.0f, S, (int)nk);
#pragma omp parallel for schedule(static)
            for (int64_t r = 0; r < m; r++) {
                float *row = S + r * nk;
                if (bias) {
                    const float *br = bias + (h * Sq + i0 + r) * Sk;
                    for (int64_t j = 0; j < nk; j++) row[j] += br[j];
                }
                float mx = -INFINITY;
                for (int64_t j = 0; j < nk; j++) mx = row[j] > mx ? row[j] : mx;
                float sum = 0;
                for (int64_t j = 0; j < nk; j++) {
                    row[j] = expf(row[j] - mx);
                    sum += row[j];
                }
                float inv = 1.0f / sum;
                for (int64_t j = 0; j < nk; j++) row[j] *= inv;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)D, (int)nk, 1.0f, S, (int)nk,
                        V + h * D, ld, 0.0f, O + (i0 * H + h) * D, ld);
        }
    }
    free(S);
    return DIT_OK;
}
