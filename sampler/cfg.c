/* cfg.c — classifier-free guidance combine, the two-model adapter, and Wan's
 * default negative prompt (see cfg.h).  Checked by tests/test_sampler.c. */
#include "cfg.h"

#include <math.h> /* isfinite */

dit_status smp_cfg_combine(float *out, const float *v_uncond, const float *v_cond, size_t n, double guidance,
                           dit_err *err) {
    if (!out || !v_uncond || !v_cond) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "cfg: a velocity buffer is NULL");
    if (!isfinite(guidance))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "cfg: guidance scale = %g, expected a finite value", guidance);
    /* torch: noise_pred_uncond + guide_scale * (noise_pred_cond - noise_pred_uncond), float32 ops
     * with the Python scalar rounded to float */
    const float g = (float)guidance;
    for (size_t j = 0; j < n; j++) {
        const float u = v_uncond[j], d = v_cond[j] - u;
        out[j] = u + g * d;
    }
    return DIT_OK;
}

dit_status smp_cfg_model(void *user, const float *x, double timestep, double sigma, int step, float *velocity,
                         dit_err *err) {
    smp_cfg *c = user;
    if (!c || !c->cond) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "cfg: adapter or conditional model is NULL");
    DIT_TRY(c->cond(c->cond_user, x, timestep, sigma, step, velocity, err));
    if (c->guidance == 1.0) return DIT_OK;
    if (!c->uncond || !c->scratch || c->n == 0)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "cfg: guidance %g needs the unconditional model and a scratch buffer of n elements",
                        c->guidance);
    DIT_TRY(c->uncond(c->uncond_user, x, timestep, sigma, step, c->scratch, err));
    return smp_cfg_combine(velocity, c->scratch, velocity, c->n, c->guidance, err);
}

const char *smp_wan_negative_prompt(void) {
    /* Copied exactly from Wan2.1 wan/configs/shared_config.py, wan_shared_cfg.sample_neg_prompt
     * (commit 9737cba); this is data, UTF-8 encoded. */
    static const char prompt[] =
        "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，"
        "作品，画作，画面，静止，整体发灰，最差质量，"
        "低质量，JPEG压缩残留，丑陋的，残缺的，"
        "多余的手指，画得不好的手部，画得不好的脸部，"
        "畸形的，毁容的，形态畸形的肢体，手指融合，"
        "静止不动的画面，杂乱的背景，三条腿，背景人很多，"
        "倒着走";
    return prompt;
}
