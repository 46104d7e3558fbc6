/* cfg.h — classifier-free guidance and Wan's default negative prompt.
 *
 * Guidance (wan/text2video.py): v = v_u + g (v_c - v_u), in float32 like the
 * reference.  smp_cfg_model wraps a conditional and an unconditional model into
 * one smp_model_fn for smp_sample (conditional first, as the reference).
 * Checked by tests/test_sampler.c (hand values, aliasing, the adapter, the prompt bytes).
 */
#ifndef SPADIT_SMP_CFG_H
#define SPADIT_SMP_CFG_H

#include <stddef.h> /* size_t */

#include "../dit/status.h" /* dit_status, dit_err */
#include "solver.h"        /* smp_model_fn */

/* out[j] = v_uncond[j] + g * (v_cond[j] - v_uncond[j]), float32 arithmetic.
 * out may alias either input.  g must be finite. */
dit_status smp_cfg_combine(float *out, const float *v_uncond, const float *v_cond, size_t n, double guidance,
                           dit_err *err);

/* Two models (usually one DiT with two text contexts) and the guidance scale. */
typedef struct smp_cfg {
    smp_model_fn cond;   /* model with the prompt */
    void *cond_user;
    smp_model_fn uncond; /* model with the negative prompt */
    void *uncond_user;
    double guidance;     /* g; 1 skips the unconditional call (v = v_c), as diffusers does */
    float *scratch;      /* caller-owned [n]: holds the unconditional velocity */
    size_t n;            /* latent elements; must equal smp_sample's n */
} smp_cfg;

/* smp_model_fn with user = smp_cfg*: velocity = cond, then uncond into scratch, combined. */
dit_status smp_cfg_model(void *cfg, const float *x, double timestep, double sigma, int step, float *velocity,
                         dit_err *err);

/* Wan's default negative prompt: wan/configs/shared_config.py `sample_neg_prompt`
 * (Wan2.1 @9737cba), UTF-8: 137 characters, 403 bytes.  wan/text2video.py uses it when the
 * negative prompt is "" (diffusers' pipeline uses "" instead).  Static data. */
const char *smp_wan_negative_prompt(void);

#endif
