/* wan_dit.h — the Wan2.1 text-to-video DiT: weights, loading and the forward pass.
 *
 * Forward (../shared/specs/wan.md §1.2), per call:
 *   tokens = patchify(x) . W_patch + b                      [N, dim]  f32 residual
 *   e  = time_embedding(sinusoid(t))   e0 = time_projection(silu(e))  [6, dim]
 *   c  = text_embedding(pad512(ctx))                        [512, dim]
 *   per block:  (sh1, sc1, g1, sh2, sc2, g2) = modulation + e0
 *     x += g1 * SelfAttn(LN(x)(1+sc1)+sh1)     q,k: full-width RMSNorm, 3D RoPE
 *     x += CrossAttn(LN_affine(x), c)
 *     x += g2 * FFN(LN(x)(1+sc2)+sh2)
 *   y = head(LN(x)(1+sc)+sh), (sh, sc) = head_modulation + e     [N, 64]
 *   velocity = unpatchify(y)
 * Attention goes through attention/attn.h with a per-layer/per-step policy.
 */
#ifndef SPADIT_WAN_DIT_H
#define SPADIT_WAN_DIT_H

#include "../../attention/attn.h"   /* attn_ctx, attn_params, attn_stats */
#include "../../attention/policy.h" /* attn_policy */
#include "../../dit/arena.h"        /* dit_arena */
#include "../../dit/comm.h"         /* dit_comm */
#include "../../io/weights.h"       /* io_weights */
#include "wan_config.h"             /* wan_config */

typedef enum wan_layout { WAN_LAYOUT_ORIGINAL = 0, WAN_LAYOUT_DIFFUSERS = 1 } wan_layout;

typedef struct wan_block {
    dit_tensor modulation;                 /* [6, dim] f32 */
    dit_tensor sa_q_w, sa_k_w, sa_v_w, sa_o_w; /* [dim, dim] */
    dit_tensor sa_q_b, sa_k_b, sa_v_b, sa_o_b; /* [dim] */
    dit_tensor sa_norm_q, sa_norm_k;       /* [dim] */
    dit_tensor norm3_w, norm3_b;           /* [dim] affine LN before cross-attention */
    dit_tensor ca_q_w, ca_k_w, ca_v_w, ca_o_w; /* [dim, dim] */
    dit_tensor ca_q_b, ca_k_b, ca_v_b, ca_o_b; /* [dim] */
    dit_tensor ca_norm_q, ca_norm_k;       /* [dim] */
    dit_tensor ffn1_w;                     /* [ffn, dim] */
    dit_tensor ffn1_b;                     /* [ffn] */
    dit_tensor ffn2_w;                     /* [dim, ffn] */
    dit_tensor ffn2_b;                     /* [dim] */
    dit_tensor proj_l_w, proj_l_b;         /* SLA: [head_dim, head_dim], [head_dim]; data NULL if absent */
} wan_block;

typedef struct wan_dit {
    wan_config cfg;
    wan_layout layout;
    dit_backend *be;
    dit_tensor patch_w;                    /* [dim, in*pt*ph*pw] (Conv3d flattened) */
    dit_tensor patch_b;                    /* [dim] */
    dit_tensor text1_w, text1_b;           /* [dim, text_dim], [dim] */
    dit_tensor text2_w, text2_b;           /* [dim, dim], [dim] */
    dit_tensor time1_w, time1_b;           /* [dim, freq_dim] f32 */
    dit_tensor time2_w, time2_b;           /* [dim, dim] f32 */
    dit_tensor tproj_w, tproj_b;           /* [6*dim, dim] f32 */
    dit_tensor head_mod;                   /* [2, dim] f32 */
    dit_tensor head_w, head_b;             /* [out*pt*ph*pw, dim] f32 */
    wan_block *blocks;
    int has_proj_l;                        /* every block has an SLA proj_l */
    int64_t bytes_on_device;
} wan_dit;

/* Load a Wan DiT from a model folder (original: config.json +
 * diffusion_pytorch_model*.safetensors; diffusers: transformer/ or the folder
 * itself) or from a single .safetensors / .pth file, with a config beside it or
 * (original layout) a config inferred from its shapes (TurboWan .pth: 2-D Linear
 * patch embedding accepted, proj_l mapped; docs/turbowan.md).  int8 -quant files are refused.
 * Missing, unexpected and mis-shaped tensors are reported together. */
dit_status wan_dit_load(const char *path, dit_backend *be, wan_dit **out, dit_err *err);
/* The config wan_dit_load would use for `path`, without reading any weights (memory estimates). */
dit_status wan_dit_read_config(const char *path, wan_config *cfg, dit_err *err);
/* Bytes one forward on a latent grid F x H x W needs (single rank): the activation arena plus the
 * host staging buffers wan_run_init allocates. */
int64_t wan_run_bytes(const wan_config *c, int64_t F, int64_t H, int64_t W, dit_dtype act_dtype, int64_t *host_bytes);
/* Refuse (DIT_ERR_OOM, "... needs X GiB of host/GPU memory, Y GiB available") a forward on F x H x W
 * that cannot fit, before anything is allocated; extra_host: the caller's own buffers. */
dit_status wan_run_check_memory(const wan_config *c, dit_backend *be, int64_t F, int64_t H, int64_t W,
                                int64_t extra_host, dit_err *err);
void wan_dit_free(wan_dit **m);
/* A model of the given config with deterministic random weights generated on the backend's device
 * (benchmarks at real shapes; see wan_weights.c for the value ranges). */
dit_status wan_dit_init_random(const wan_config *cfg, dit_backend *be, uint64_t seed, wan_dit **out, dit_err *err);
/* Random SLA proj_l weights for every block (benchmarks of SLA presets without a fine-tuned checkpoint);
 * a model that has them already is left as it is. */
dit_status wan_dit_add_random_proj_l(wan_dit *m, uint64_t seed, dit_err *err);

/* Whether the DiT at path carries SLA proj_l weights (reads only the checkpoint's headers): lets a
 * caller refuse an SLA run up front instead of after other work. */
dit_status wan_dit_probe_proj_l(const char *path, int *has, dit_err *err);

/* Resolve where a model's DiT lives: fills cfg_path and weights path
 * (directory or file) for either layout.  A lone weights file without a config.json
 * beside it (TurboWan .pth) gets cfg_path "": its config comes from wan_config_infer. */
dit_status wan_dit_locate(const char *path, char *cfg_path, size_t cap1, char *weights_path, size_t cap2,
                          dit_err *err);

/* Per-shape state of the forward: arena, rotary table, attention context. */
typedef struct wan_run {
    wan_dit *m;
    int64_t F, H, W;         /* latent frames/height/width */
    int64_t N;               /* tokens */
    dit_comm *sp;            /* Ulysses sequence-parallel group (NULL: the whole sequence on this rank) */
    int64_t tok0, ntok;      /* this rank's rows [tok0, tok0 + ntok) of the (ordered) sequence; all N without sp */
    int64_t ctx_len;         /* text rows (512) */
    const int64_t *order;    /* token order (NULL: grid order), e.g. Gilbert for Rectified */
    int64_t *order_owned;
    dit_arena arena;
    dit_tensor rope;         /* [N, head_dim] (cos, sin) pairs, f32 on the device */
    float *host_tokens;      /* [N, patch_dim] staging */
    float *host_out;         /* [N, out_patch_dim] staging */
    attn_ctx *attn;
    const attn_policy *policy; /* NULL: dense everywhere (set with wan_run_set_policy) */
    uint8_t *neighbor;       /* Rectified: [nb, nb] 3D-neighbour block mask of the token order */
    int64_t neighbor_nb;
    int call_index;          /* transformer calls so far (CFG counts 2 per step) */
    attn_stats *layer_stats; /* optional [layers] stats of the last call */
    double ms_attention;     /* self-attention time of the last call */
    int shadow_calls;        /* A/B: for calls < shadow_calls, also run dense attention on the same q, k, v */
    double *attn_err;        /* [shadow_calls, layers]: rel L2 of the method's output vs dense (-1: layer ran dense) */
    dit_tensor shadow;       /* dense output buffer of the shadow runs */
    double ms_forward;       /* whole last call */
} wan_run;

dit_status wan_run_init(wan_run *r, wan_dit *m, int64_t F, int64_t H, int64_t W, dit_err *err);
/* Ulysses sequence parallelism over the members of sp (wan.md §6): this rank keeps an even share of
 * the tokens through patch embedding, norms, modulation, cross-attention and FFN; an all-to-all turns
 * [N/P tokens, all heads] into [N tokens, heads/P] around self-attention (dense or sparse, unchanged
 * on the head group) and back; the head output is gathered so that every rank returns the whole
 * velocity.  The head count must be divisible by P.  sp NULL or of size 1 = wan_run_init. */
dit_status wan_run_init_parallel(wan_run *r, wan_dit *m, int64_t F, int64_t H, int64_t W, dit_comm *sp,
                                 dit_err *err);
void wan_run_free(wan_run *r);
/* Use a token order (Gilbert curve etc.): order[r] = grid index of row r. */
dit_status wan_run_set_order(wan_run *r, const int64_t *order, dit_err *err);
/* Attention policy for the following calls (NULL: dense).  A policy whose sparse method is Rectified
 * SpaAttn switches the run to the 3D Gilbert token order and builds its neighbour mask; any other
 * policy restores the grid order.  The policy must outlive the run's use of it. */
dit_status wan_run_set_policy(wan_run *r, const attn_policy *policy, dit_err *err);

/* velocity[C,F,H,W] = DiT(x[C,F,H,W], t, ctx[ctx_rows, text_dim]); ctx_rows <= 512
 * are zero-padded to 512 as Wan does.  Host f32 in and out. */
dit_status wan_dit_forward(wan_run *r, const float *x, double t, const float *ctx, int64_t ctx_rows,
                           float *velocity, dit_err *err);

#endif
