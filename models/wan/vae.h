/* vae.h — the Wan2.1 video VAE decoder: config, weights, streamed and tiled decode.
 *
 * Decoder (../shared/specs/wan.md §4; diffusers AutoencoderKLWan, Wan2.1 vae.py):
 *   z = z_norm * std + mean                       de-normalisation (latents_mean/std)
 *   x = post_quant(z)                             1x1x1 conv, z_dim -> z_dim
 *   x = conv_in(x)                                causal 3x3x3, z_dim -> dims[0]
 *   x = Res, Attn, Res                            mid block at dims[0]
 *   per up block i:  (num_res_blocks+1) x Res, then Up3d / Up2d / nothing
 *   x = conv_out(silu(rms(x)))                    causal 3x3x3 -> 3 channels; clamp [-1, 1]
 * with dims = base_dim * [mult[-1], mult[-2], ..., mult[0]].  Res = x' + conv2(silu(rms(conv1(silu(rms(x))))))
 * (x' = 1x1x1 shortcut when channels change); rms = per-voxel L2 over channels * sqrt(C) * gamma;
 * Attn = one head over each frame's H*W; Up3d = causal (3,1,1) time_conv C -> 2C, halves interleaved
 * as 2 frames, then Up2d; Up2d = nearest 2x + 3x3 conv C -> C/2.
 *
 * Streaming: one latent frame per chunk.  Every causal conv keeps the last 2 frames
 * of its input (the reference's feat_cache); the first chunk skips every time_conv, so
 * T latent frames give 1 + 4(T-1) frames.  No whole-clip activation is ever held on
 * the device; all activations come from one arena sized before decoding.
 * Tiling: overlapping spatial tiles blended linearly, exactly as diffusers'
 * tiled_decode (tile and stride in output pixels).  All math goes through the
 * backend vtable and attn_forward; the host only stages latents, blends tiles and
 * clamps.  Checked by tests/test_vae.c against diffusers (docs/vae.md).
 */
#ifndef SPADIT_WAN_VAE_H
#define SPADIT_WAN_VAE_H

#include <cjson/cJSON.h> /* cJSON */
#include <stdint.h>       /* int64_t, uint8_t */

#include "../../dit/backend.h" /* dit_backend, dit_tensor, dit_status */

#define WAN_VAE_MAX_LEVELS 6 /* len(dim_mult) */
#define WAN_VAE_MAX_Z 64     /* latent channels */

typedef struct wan_vae_config {
    int base_dim;                       /* decoder base width (96; diffusers decoder_base_dim if set) */
    int z_dim;                          /* latent channels (16) */
    int n_levels;                       /* len(dim_mult) (4) */
    int dim_mult[WAN_VAE_MAX_LEVELS];   /* [1, 2, 4, 4] */
    int num_res_blocks;                 /* 2 (each up block has num_res_blocks + 1) */
    int temporal_down[WAN_VAE_MAX_LEVELS]; /* encoder order, n_levels-1 flags: [0, 1, 1]; the decoder reverses it */
    int out_channels;                   /* 3 */
    float latents_mean[WAN_VAE_MAX_Z];  /* de-normalisation: z * std + mean */
    float latents_std[WAN_VAE_MAX_Z];
} wan_vae_config;

/* The Wan2.1 VAE (dim 96, z 16, mult [1,2,4,4], 2 res blocks, temporal [F,T,T], Wan's latent stats). */
void wan_vae_config_default(wan_vae_config *cfg);
/* diffusers AutoencoderKLWan config.json.  Rejects what this decoder does not implement
 * (is_residual / Wan2.2, patch_size, attn_scales) with DIT_ERR_UNSUPPORTED, and
 * inconsistent lists with DIT_ERR_FORMAT, naming the file and field. */
dit_status wan_vae_config_from_json(const cJSON *j, const char *path, wan_vae_config *cfg, dit_err *err);
/* 2^(levels-1) (8) and 2^(temporal upsamples) (4). */
int wan_vae_spatial_ratio(const wan_vae_config *cfg);
int wan_vae_temporal_ratio(const wan_vae_config *cfg);
/* Frames decoded from T latent frames: 1 + temporal_ratio * (T - 1). */
int64_t wan_vae_out_frames(const wan_vae_config *cfg, int64_t T);

typedef enum wan_vae_layout { WAN_VAE_LAYOUT_ORIGINAL = 0, WAN_VAE_LAYOUT_DIFFUSERS = 1 } wan_vae_layout;

typedef struct wan_vae_conv {
    dit_tensor w;  /* [Co, Ci, kt, kh, kw] f32 */
    dit_tensor b;  /* [Co] f32 */
    int cache;     /* index of its 2-frame input cache (causal kt = 3), -1 if none */
} wan_vae_conv;

typedef struct wan_vae_res {
    int cin, cout;
    dit_tensor norm1, norm2;  /* gammas [cin], [cout] */
    wan_vae_conv conv1;       /* [cout, cin, 3, 3, 3] */
    wan_vae_conv conv2;       /* [cout, cout, 3, 3, 3] */
    wan_vae_conv shortcut;    /* [cout, cin, 1, 1, 1]; w.data NULL when cin == cout */
} wan_vae_res;

typedef struct wan_vae_attn {
    int c;
    dit_tensor norm;           /* gamma [C] */
    dit_tensor qkv_w, qkv_b;   /* [3C, C] GEMM weight (q, k, v = row thirds), [3C] */
    dit_tensor proj_w, proj_b; /* [C, C], [C] */
} wan_vae_attn;

typedef enum wan_vae_up_mode { WAN_VAE_UP_NONE = 0, WAN_VAE_UP_2D = 1, WAN_VAE_UP_3D = 2 } wan_vae_up_mode;

typedef struct wan_vae_up {
    int cin, cout, nres;
    wan_vae_res *res;          /* [nres] */
    wan_vae_up_mode mode;
    wan_vae_conv time_conv;    /* Up3d: [2C, C, 3, 1, 1] causal */
    wan_vae_conv resample;     /* Up2d/3d: [C/2, C, 1, 3, 3] (the Conv2d after nearest 2x) */
} wan_vae_up;

typedef struct wan_vae {
    wan_vae_config cfg;
    wan_vae_layout layout;
    dit_backend *be;
    wan_vae_conv post_quant;   /* [z, z, 1, 1, 1] */
    wan_vae_conv conv_in;      /* [dims0, z, 3, 3, 3] */
    wan_vae_res mid_res[2];
    wan_vae_attn mid_attn;
    wan_vae_up *up;            /* [n_levels] */
    dit_tensor norm_out;       /* gamma [base_dim] */
    wan_vae_conv conv_out;     /* [out_channels, base_dim, 3, 3, 3] */
    int n_caches;              /* causal convs (each owns a 2-frame cache) */
    int64_t bytes_on_device;   /* weights */
} wan_vae;

/* Load the decoder side (+ post_quant_conv) from
 *   - a diffusers pipeline folder (vae/), a diffusers VAE folder (config.json +
 *     diffusion_pytorch_model.safetensors) or a single .safetensors file; or
 *   - an original-layout checkpoint (Wan2.1_VAE safetensors, keys decoder.conv1, ...).
 * The layout is detected from the keys.  Config: `cfg` when non-NULL, else an
 * AutoencoderKLWan config.json in the folder / beside the file, else the Wan2.1
 * defaults.  Missing, mis-shaped and unexpected tensors are reported together;
 * encoder tensors (encoder.*, quant_conv / conv1) are skipped silently. */
dit_status wan_vae_load(const char *path, const wan_vae_config *cfg, dit_backend *be, wan_vae **out, dit_err *err);
/* The config wan_vae_load would use for `path`, without reading any weights (memory estimates). */
dit_status wan_vae_read_config(const char *path, wan_vae_config *cfg, dit_err *err);
void wan_vae_free(wan_vae **v);

typedef struct wan_vae_tiling {
    int enabled;            /* 0: always decode the whole frame */
    int tile_h, tile_w;     /* tile size in output pixels (diffusers tile_sample_min_height/width) */
    int stride_h, stride_w; /* distance between tiles in output pixels (tile_sample_stride_*) */
} wan_vae_tiling;
/* diffusers' defaults: enabled, tiles 256 x 256, stride 192 (64-pixel blends). */
wan_vae_tiling wan_vae_tiling_default(void);

typedef struct wan_vae_mem {
    int64_t tiles_y, tiles_x;   /* tile grid (1 x 1 when the frame is decoded whole) */
    int64_t tile_h, tile_w;     /* largest tile, output pixels */
    size_t activations;         /* device: work buffers + conv caches + attention (the arena) */
    size_t weights;             /* device: decoder weights */
    size_t host;                /* host staging: latent tile, tile output, blend strips (not the output) */
    size_t output;              /* host: the f32 video the caller provides */
} wan_vae_mem;

/* Memory a decode of `frames` x `height` x `width` output pixels needs (frames =
 * 1 + 4k, height and width multiples of 8), for backends whose activation dtype
 * is act_dtype.  tiling NULL: untiled.  This is exactly the arena wan_vae_decode
 * allocates. */
dit_status wan_vae_memory(const wan_vae_config *cfg, int64_t frames, int64_t height, int64_t width,
                          const wan_vae_tiling *tiling, dit_dtype act_dtype, wan_vae_mem *mem, dit_err *err);

typedef struct wan_vae_stats {
    double ms_total;            /* whole decode */
    int64_t tiles;              /* tiles decoded */
    int64_t chunks;             /* decoder calls (latent frames x tiles) */
    size_t arena_bytes;         /* activation arena allocated */
    size_t arena_peak;          /* bytes of it actually carved */
} wan_vae_stats;

/* Decode normalised latents z[z_dim, T, h, w] (host f32, as the sampler produces
 * them) into out[3, 1 + 4(T-1), 8h, 8w] (host f32, caller-allocated) clamped to
 * [-1, 1].  tiling NULL: untiled.  stats may be NULL. */
dit_status wan_vae_decode(wan_vae *v, const float *z, int64_t T, int64_t h, int64_t w, const wan_vae_tiling *tiling,
                          float *out, wan_vae_stats *stats, dit_err *err);

/* Wan's cache_video conversion: video[3, F, H, W] in [-1, 1] -> rgb[F, H, W, 3]
 * with u8 = trunc(255 * (clamp(x, -1, 1) + 1) / 2). */
dit_status wan_vae_to_rgb8(const float *video, int64_t frames, int64_t height, int64_t width, uint8_t *rgb,
                           dit_err *err);

#endif
