/* sparse_fa.cuh — parameters of the LUT-driven block-sparse FlashAttention kernel
 * (sparse_fa.cu), shared with its host launcher (sparse_cuda.c via sparse_kernels.h). */
#ifndef SPADIT_SPARSE_FA_CUH
#define SPADIT_SPARSE_FA_CUH

#include <stdint.h> /* int64_t */

#ifdef __cplusplus
extern "C" {
#endif

enum { SP_EPI_PLAIN = 0, SP_EPI_RECTIFIED = 1, SP_EPI_SLA = 2, SP_EPI_SLA_PER_BLOCK = 3 };

typedef struct sp_fa_params {
    const void *q, *k, *v; /* bf16 [S, H, 128] */
    void *o;               /* bf16 [S, H, 128] */
    int64_t S;
    int H;
    float scale_log2;      /* softmax scale * log2(e) */
    /* block layout: query blocks of 128; key blocks of bk (64 or 128).  Joint layouts (text after
     * n_video video tokens, bk = 128 only) restart the block grid at n_video. */
    int bk;
    int64_t n_video;       /* = S for plain layouts */
    int nvb_q, nvb_k;      /* video blocks (queries, keys) */
    int64_t key_end;       /* keys >= key_end are masked (padding of the text) */
    int nqb;
    /* selection: lut[(h * nqb + i) * lut_stride + e] for e < cnt[h * nqb + i]; lut == NULL: all nkb blocks */
    const int *lut;
    const int *cnt;
    int lut_stride;
    int nkb;
    /* epilogue */
    int mode;              /* SP_EPI_* */
    const float *R;        /* [H, nqb] */
    const float *c;        /* [H, nqb, 128] */
    const void *state;     /* bf16 H' = H W_l^T: [H, 128, 128] (SLA) or [H, nqb, 128, 128] (per block) */
    const float *z;        /* [H, 128] or [H, nqb, 128] */
    const float *bl;       /* [128] */
    float eps;
} sp_fa_params;

#ifdef __cplusplus
}
#endif

#endif
