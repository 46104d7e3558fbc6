/* attn.h — the one attention interface every attention block calls.
 *
 * Inputs are Q [Sq, H, D], K and V [Sk, H, D] after q/k norm and RoPE (f32 on the
 * CPU backend, bf16 on CUDA), output O [Sq, H, D] in the same dtype.  The method
 * and its parameters come with each call, so any model, layer and step can use
 * any method; a policy (policy.h) decides which per layer and step.
 *
 *   dense      softmax(Q K^T * scale + bias) V, optional key-length mask.
 *   rectified  Rectified SpaAttn: 128-token blocks, pooled block map, top-k/top-p
 *              selection + neighbour/forced blocks, GAPR compensation
 *              (docs/attention.md).
 *   sla        Sparse-Linear Attention, `main` formula or SLA-1 (docs/attention.md).
 *
 * Each call fills attn_stats: blocks kept, achieved sparsity, and the time of
 * map estimation, selection, kernel and epilogue (CUDA events on the GPU, wall
 * clock on the CPU).
 */
#ifndef SPADIT_ATTN_H
#define SPADIT_ATTN_H

#include "../dit/backend.h" /* dit_backend, dit_tensor, dit_status */

typedef enum attn_method { ATTN_METHOD_DENSE = 0, ATTN_METHOD_RECTIFIED = 1, ATTN_METHOD_SLA = 2 } attn_method;

typedef enum attn_sla_variant {
    ATTN_SLA_MAIN = 0, /* linear branch over all tokens (published TurboWan weights) */
    ATTN_SLA_1 = 1     /* paper's SLA-1: linear branch over the non-selected blocks */
} attn_sla_variant;

typedef struct attn_rectified_params {
    float drop_rate; /* top_k = floor((1 - drop_rate) * video_blocks), at least 1 */
    float tau;       /* top-p widening: n = max(top_k, 1 + #(cumsum <= tau)) */
    int gapr;        /* 1: GAPR compensation of dropped blocks; 0: plain renormalised sparse */
    int neighbors;   /* 1: OR in the static 3D-neighbour block mask (needs a token layout) */
    int forced_square; /* Wan: dense square of the first floor(nb / T_lat) blocks */
    int block;       /* query = key block size; 0 means 128 (the published setting) */
} attn_rectified_params;

typedef struct attn_sla_params {
    float topk;             /* fraction of key blocks kept per query block (>= 1 block) */
    attn_sla_variant variant;
    int block_q, block_k;   /* selection granularity (defaults 128 / 64) */
} attn_sla_params;

typedef struct attn_params {
    attn_method method;
    attn_rectified_params rect;
    attn_sla_params sla;
} attn_params;

/* Block-structure facts about the sequence that sparse methods need. */
typedef struct attn_layout {
    int64_t n_video;          /* tokens [0, n_video) are video, the rest text (joint sequences) */
    int64_t n_text_valid;     /* valid text tokens after the video ones (IPAR), 0 for Wan */
    int64_t latent_frames;    /* T_lat, for the Wan forced square */
    const uint8_t *neighbor;  /* host [nb, nb] static neighbour mask (NULL: none) */
    int64_t neighbor_nb;      /* its side */
} attn_layout;

typedef struct attn_call {
    attn_params params;
    float scale;              /* 0: 1/sqrt(D) */
    const dit_tensor *bias;   /* optional additive logits [H, Sq, Sk] f32 (umT5 position bias) */
    int64_t kv_valid;         /* keys >= kv_valid are masked out (0: all valid) */
    const attn_layout *layout; /* sparse methods; NULL for dense */
    const dit_tensor *proj_l_w; /* SLA: [D, D] f32 */
    const dit_tensor *proj_l_b; /* SLA: [D] f32 */
    int kernel;               /* CUDA block-sparse kernel: 0 auto (v3 on sm_90a, else v2); 2 mma.sync, 3 wgmma,
                                 4 wgmma with softmax/PV overlap (experimental: fails its tests, opt-in only) */
} attn_call;

typedef struct attn_stats {
    attn_method method;
    int64_t blocks_total;     /* query-block x key-block pairs over all heads */
    int64_t blocks_selected;  /* pairs the sparse kernel computed */
    int64_t blocks_compensated; /* Rectified: pairs added through GAPR */
    double sparsity;          /* 1 - selected / total */
    double ms_map, ms_select, ms_kernel, ms_epilogue, ms_total;
    int heads;
    int64_t *selected_per_head; /* optional caller array [heads]: blocks kept per head */
} attn_stats;

typedef struct attn_ctx attn_ctx;

dit_status attn_ctx_create(dit_backend *be, attn_ctx **out);
void attn_ctx_destroy(attn_ctx **ctx);

/* Default parameters of each method (published settings). */
attn_params attn_params_default(attn_method m);
const char *attn_method_name(attn_method m);
/* "dense" | "rectified" | "sla" -> method; -1 if unknown. */
int attn_method_parse(const char *s);

/* O = attention(Q, K, V) under call->params; stats may be NULL. */
dit_status attn_forward(attn_ctx *ctx, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                        const dit_tensor *k, const dit_tensor *v, attn_stats *stats);

/* --- implementations (one per method and device), called by attn_forward --- */
dit_status attn_dense_cpu(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                          const dit_tensor *k, const dit_tensor *v);
/* CPU references of the sparse methods (f32, double accumulation; docs/attention.md).  They
 * check their operands and parameters, fill st (may be NULL; st->selected_per_head, when not
 * NULL, must hold H entries) except ms_total, and are what the CUDA kernels are tested against. */
dit_status attn_rectified_cpu(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                              const dit_tensor *k, const dit_tensor *v, attn_stats *st);
dit_status attn_sla_cpu(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                        const dit_tensor *k, const dit_tensor *v, attn_stats *st);

#endif
