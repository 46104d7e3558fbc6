/* sparse_select.cuh — parameters of the pooling, block-map and selection kernels
 * (sparse_pool.cu, sparse_select.cu), shared with the host side (sparse_cuda.c). */
#ifndef SPADIT_SPARSE_SELECT_CUH
#define SPADIT_SPARSE_SELECT_CUH

#include <stdint.h> /* int64_t */

#ifdef __cplusplus
extern "C" {
#endif

/* Block means over [S, H, 128] bf16: out[h][b][d] for blocks b < nb of size B starting at
 * block_start(b) = b*B (b < nvb) or n_video + (b-nvb)*B, real rows up to seg_end (n_video for video
 * blocks, S otherwise).  pad_mean: divide by B (zero padding) else by the real length.  mad (may be
 * NULL): (1/B) sum over the B slots of |x - mean| (padded slots add |mean|). */
typedef struct sp_pool_params {
    const void *x;
    int64_t S;
    int H, B, nb, nvb;
    int64_t n_video;
    int pad_mean;
    float *mean; /* [H, nb, 128] */
    float *mad;  /* [H, nb, 128] or NULL */
} sp_pool_params;

typedef struct sp_sla_select_params {
    const float *qmean; /* [H, nqb, 128] */
    const float *kmean; /* [H, nkb, 128] */
    const float *kall;  /* [H, 128] mean of K over all tokens */
    int H, nqb, nkb, T;
    int *lut;           /* [H, nqb, lut_stride] ascending */
    int *cnt;           /* [H, nqb] */
    int lut_stride;
} sp_sla_select_params;

typedef struct sp_rect_select_params {
    const float *qbar, *mq;        /* [H, nqb, 128] (query blocks; text query blocks at >= nvq) */
    const float *kbar, *mk, *vbar; /* [H, nvb, 128] video key blocks */
    const void *k;                 /* bf16 [S, H, 128]: raw text keys for IPAR */
    const unsigned char *neighbor; /* [nvq, nvb] or NULL */
    int H, nqb, nvq, nvb, ntb;     /* query blocks, video query blocks, video key blocks, text key blocks */
    int64_t n_video, n_text_valid;
    int top_k, forced_f, gapr;
    float tau, scale;
    int *lut;                      /* [H, nqb, lut_stride] ascending key-block indices */
    int *cnt;                      /* [H, nqb] */
    int *comp;                     /* [H, nqb] compensated blocks */
    float *R;                      /* [H, nqb] */
    float *c;                      /* [H, nqb, 128] */
    int lut_stride;
} sp_rect_select_params;

/* SLA linear state inputs: phi(k) (bf16 [S, H, 128]) and z = sum_u phi(k_u) ([H, 128], accumulated). */
typedef struct sp_phi_params {
    const void *k;
    void *phik;
    float *z;
    int64_t S;
    int H;
} sp_phi_params;

#ifdef __cplusplus
}
#endif

#endif
