/* vae_internal.h — what vae_decode.c (the streamed decoder of one tile) and
 * vae_tiles.c (tiling, blending, public entry points) share.  Private to
 * models/wan/. */
#ifndef SPADIT_WAN_VAE_INTERNAL_H
#define SPADIT_WAN_VAE_INTERNAL_H

#include "vae.h" /* wan_vae, wan_vae_config */

#define VAE_MAX_CACHES 256 /* causal convs: 1 + 4 + levels x (2 x 17 res convs + time_conv) + 1 */

/* Range and consistency checks of a config (from JSON or a caller); `src` names it in the message. */
dit_status vae_config_check(const wan_vae_config *c, const char *src, dit_err *err);

/* Buffer sizes one chunk needs for tiles of up to hl x wl latent pixels: the
 * decoder walked once over the config with the largest frame count per level. */
typedef struct vae_plan {
    int64_t stream;      /* f32 elements of each of the two ping-pong activation buffers */
    int64_t norm;        /* f32: norm + SiLU output, upsample output, attention rows */
    int64_t scratch;     /* f32: causal-conv input with its 2 cached frames in front; attention tokens */
    int64_t shortcut;    /* f32: 1x1x1 shortcut output */
    int64_t zin;         /* f32: one uploaded latent frame */
    int64_t attn;        /* act dtype: each of the attention buffers [H*W, C] */
    int n_attn;          /* how many attention buffers (4, +1 when act dtype is not f32) */
    int n_caches;
    int64_t cache[VAE_MAX_CACHES]; /* f32 elements of each causal conv's 2-frame cache */
    size_t bytes;        /* arena bytes for all of the above (aligned) */
} vae_plan;

dit_status vae_plan_make(const wan_vae_config *c, int64_t hl, int64_t wl, dit_dtype act, vae_plan *p, dit_err *err);

/* Decoder parameters stored f32 (convolutions, gammas, biases) and as GEMM weights (attention). */
dit_status vae_param_counts(const wan_vae_config *c, int64_t *f32_params, int64_t *gemm_params, dit_err *err);

typedef struct vae_ctx vae_ctx;

/* Work buffers and caches for tiles of up to hl_max x wl_max latent pixels (one arena). */
dit_status vae_ctx_create(wan_vae *v, int64_t hl_max, int64_t wl_max, vae_ctx **out, dit_err *err);
void vae_ctx_free(vae_ctx **c);
size_t vae_ctx_arena_bytes(const vae_ctx *c);
size_t vae_ctx_arena_peak(const vae_ctx *c);

/* Decode the latent region rows [i0, i0+th) x cols [j0, j0+tw) of z[z_dim, T, h, w]
 * (normalised; de-normalised here) over all T frames as one stream: dst is host
 * f32 [out_ch, F, th*r, tw*r] (F = 1 + 4(T-1), r = spatial ratio), unclamped. */
dit_status vae_ctx_decode_region(vae_ctx *c, const float *z, int64_t T, int64_t h, int64_t w, int64_t i0, int64_t j0,
                                 int64_t th, int64_t tw, float *dst);

#endif
