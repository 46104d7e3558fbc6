/* dense_cpu.c — dense softmax attention on the CPU in f32: the reference.
 *
 * O[i,h,:] = sum_j softmax_j(scale * q_ih . k_jh + bias[h,i,j]) v_jh, keys j >=
 * kv_valid excluded.  Work items of (head, 64 query rows) go to the OpenMP
 * threads dynamically; each builds its scores with single-threaded OpenBLAS
 * (strided views of the [S, H, D] layout), softmax in f32 with max
 * subtraction, then P V (dit/cpu_gemm.h: why not OpenBLAS's threads).  Checked by tests/test_attn.c against a scalar loop
 * and by the Wan and umT5 goldens.
 */
#include "attn.h"

#include <cblas.h>  /* cblas_sgemm */
#include <math.h>   /* expf, sqrtf, INFINITY */
#include <stdlib.h> /* malloc, free */

#include "../dit/cpu_gemm.h" /* dit_cpu_blas_serial_begin/end */

#define QBLOCK 64 /* query rows per work item */

dit_status attn_dense_cpu(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                          const dit_tensor *k, const dit_tensor *v) {
    int64_t Sq = q->ne[0], H = q->ne[1], D = q->ne[2], Sk = k->ne[0];
    float scale = call->scale > 0 ? call->scale : 1.0f / sqrtf((float)D);
    int64_t nk = call->kv_valid > 0 && call->kv_valid < Sk ? call->kv_valid : Sk;
    const float *bias = call->bias ? (const float *)call->bias->data : NULL;
    if (call->bias && dit_tensor_numel(call->bias) != H * Sq * Sk)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "attention: bias must be [%lld, %lld, %lld]", (long long)H,
                        (long long)Sq, (long long)Sk);
    const float *Q = q->data, *K = k->data, *V = v->data;
    float *O = out->data;
    int ld = (int)(H * D);
    int64_t nqb = (Sq + QBLOCK - 1) / QBLOCK, items = H * nqb;
    int failed = 0, nt = dit_cpu_blas_serial_begin();
    /* One work item = (head, block of QBLOCK query rows): scores, softmax and P V with
     * single-threaded sgemms, items handed out dynamically (cpu_gemm.h says why). */
#pragma omp parallel num_threads(nt)
    {
        float *S = malloc((size_t)QBLOCK * (size_t)nk * sizeof(float) + sizeof(float));
        if (!S) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t it = 0; it < items; it++) {
            if (!S) continue;
            int64_t h = it / nqb, i0 = (it % nqb) * QBLOCK, m = Sq - i0 < QBLOCK ? Sq - i0 : QBLOCK;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nk, (int)D, scale, Q + (i0 * H + h) * D,
                        ld, K + h * D, ld, 0.0f, S, (int)nk);
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
        free(S);
    }
    dit_cpu_blas_serial_end(nt);
    if (failed)
        return DIT_FAIL(&be->err, DIT_ERR_OOM, "attention: score buffer %d x %lld", QBLOCK, (long long)nk);
    return DIT_OK;
}
