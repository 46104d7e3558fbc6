/* wan_t2v.h — Wan text-to-video, end to end: prompt -> umT5 context -> DiT in a
 * flow-matching sampler loop with classifier-free guidance -> VAE -> RGB frames.
 *
 * The model folder is either a diffusers pipeline (model_index.json with
 * transformer/, text_encoder/, tokenizer/, vae/) or the original Wan layout
 * (config.json + diffusion_pytorch_model*.safetensors, models_t5_umt5-xxl-enc-bf16
 * .pth/.safetensors, google/umt5-xxl/tokenizer.json, Wan2.1_VAE.pth).  An optional
 * spadit.json in the folder gives the model's defaults (size, frames, fps,
 * steps, shift, guidance, sampler, negative prompt); otherwise Wan2.1's.
 */
#ifndef SPADIT_WAN_T2V_H
#define SPADIT_WAN_T2V_H

#include <stdint.h> /* int64_t, uint8_t */

#include "../../attention/policy.h" /* attn_policy */
#include "../../dit/comm.h"          /* dit_comm */
#include "../../sampler/solver.h"   /* smp_solver */

typedef struct wan_t2v_paths {
    char root[4096];
    char dit[4096];          /* DiT folder or file */
    char text_encoder[4096]; /* umT5 folder or file */
    char tokenizer[4096];    /* tokenizer.json */
    char vae[4096];          /* VAE folder or file */
    char sla_dit[4096];      /* an SLA fine-tuned DiT beside the dense one ("" if none) */
} wan_t2v_paths;

/* Per-model defaults (Wan2.1 T2V unless the folder's spadit.json says otherwise). */
typedef struct wan_t2v_defaults {
    int width, height, frames, fps, steps;
    double shift, guidance;
    char sampler[16];
    char negative_prompt[2048];
    int negative_is_wan_default; /* the Chinese default of the Wan reference */
} wan_t2v_defaults;

typedef struct wan_t2v_opts {
    const char *prompt;
    const char *negative_prompt; /* NULL: the model's default */
    int width, height, frames;   /* pixels; W, H multiples of 16; frames 4n + 1 */
    int steps;
    double shift, guidance;
    uint64_t seed;
    smp_solver solver;
    double sigma_max;            /* SMP_SOLVER_RCM: initial TrigFlow sigma (0: SMP_RCM_SIGMA_MAX = 80); shift unused.
                                  * rCM takes no CFG (guidance must be 1) and draws fresh noise every step
                                  * from the seed's RNG, continuing after the initial latent (also with
                                  * `noise` given, then from a fresh RNG seeded with `seed`) */
    const attn_policy *policy;   /* NULL: dense */
    const char *dit_override;    /* use this DiT instead of the folder's */
    const char *cache_dir;       /* embeddings cache: NULL default, "" off */
    int vae_tiling;              /* 1: tiled decode (default), 0: whole frames */
    const float *noise;          /* optional initial latent [16, F', H', W'] (A/B runs share it) */
    const float *ctx_cond, *ctx_uncond; /* optional precomputed contexts [L, text_dim] (skip the encoder) */
    int64_t ctx_cond_rows, ctx_uncond_rows;
    int shadow_calls;            /* A/B: dense shadow attention for the first calls (see wan_run) */
    double *attn_err;            /* [shadow_calls, layers] filled when shadow_calls > 0 */
    /* multi-GPU (wan.md §6): both NULL on one device */
    dit_comm *sp;                /* Ulysses group: the sequence split over its members */
    dit_comm *cfg_group;         /* CFG parallelism: 2 members; member 0 runs the conditional pass, member 1
                                  * the unconditional one, and they exchange velocities every step */
    int skip_decode;             /* 1: stop after the latent (ranks other than 0 of a parallel run) */
    int64_t max_memory;          /* bytes a run may use (host and device); 0: what is available now */
} wan_t2v_opts;

/* Peak memory of a run from the shapes alone (configs read, no weights): the DiT stage (weights,
 * activations, host staging, sampler state) and the VAE stage (weights, activations, the decoded
 * frames), each on the host or the device as the backend keeps them.  The text encoder's stage does
 * not depend on the video size and is not counted. */
typedef struct wan_t2v_mem {
    int64_t host, device;                       /* peak bytes over the stages */
    int64_t dit_weights, dit_activations, vae_activations, frames; /* the largest parts */
} wan_t2v_mem;
dit_status wan_t2v_memory(const wan_t2v_paths *paths, const wan_t2v_opts *o, const dit_backend *be, wan_t2v_mem *m,
                          dit_err *err);

typedef struct wan_t2v_step {
    int step, steps;
    double timestep;
    double ms_step, ms_attention, ms_elapsed, eta_s;
    double sparsity;   /* mean achieved sparsity of the self-attention calls of this step */
} wan_t2v_step;

typedef void (*wan_t2v_progress_fn)(void *user, const wan_t2v_step *s);
/* Called after each step with the current latent x_t (for A/B error curves); may be NULL. */
typedef void (*wan_t2v_latent_fn)(void *user, int step, const float *x, int64_t n);

typedef struct wan_t2v_result {
    uint8_t *rgb;            /* [frames, height, width, 3] (malloc) */
    float *latent;           /* final x0 [16, F', H', W'] (malloc) */
    int64_t latent_n;
    int frames, width, height;
    int layers;              /* DiT blocks (the attention-error table's row width) */
    double ms_text, ms_dit_load, ms_denoise, ms_vae, ms_total, ms_attention;
    double mean_sparsity;
    int cache_hits;          /* prompts served from the embeddings cache */
} wan_t2v_result;

dit_status wan_t2v_locate(const char *model_dir, wan_t2v_paths *p, dit_err *err);
/* The folder's defaults (spadit.json) or Wan2.1's. */
dit_status wan_t2v_defaults_load(const char *model_dir, wan_t2v_defaults *d, dit_err *err);
/* Overlay a parsed spadit.json (`path` names it in messages) on d (set it to the defaults first). */
dit_status wan_t2v_defaults_from_json(const cJSON *j, const char *path, wan_t2v_defaults *d, dit_err *err);
/* Largest width or height accepted anywhere (flags, spadit.json): keeps every size product in int64;
 * what actually fits is decided by the memory estimate (wan_t2v_memory). */
#define WAN_T2V_MAX_SIDE (1 << 17)
/* Latent grid for a pixel size: F' = (frames - 1)/4 + 1, H' = H/8, W' = W/8. */
dit_status wan_t2v_latent_shape(int width, int height, int frames, int64_t shape[4], dit_err *err);

/* Prompt and negative prompt -> contexts [rows, text_dim] (malloc'ed; free()); through the cache. */
dit_status wan_t2v_encode(const wan_t2v_paths *paths, dit_backend *be, const char *prompt, const char *negative,
                          int want_uncond, const char *cache_dir, float **ctx_c, int64_t *rows_c, float **ctx_u,
                          int64_t *rows_u, int *cache_hits, dit_err *err);

dit_status wan_t2v_generate(const wan_t2v_paths *paths, dit_backend *be, const wan_t2v_opts *o,
                            wan_t2v_progress_fn progress, wan_t2v_latent_fn on_latent, void *user,
                            wan_t2v_result *res, dit_err *err);
void wan_t2v_result_free(wan_t2v_result *r);

#endif
