/* compare.h — A/B of sparse attention against dense on one prompt: the same seed,
 * initial noise and text embeddings for every method; per-frame PSNR / SSIM of
 * the decoded frames against dense (before any lossy encoding), latent relative
 * error after each step, attention-output relative error against dense per layer
 * for the first steps (shadow dense runs), videos (lossless mkv, mp4, and a
 * side-by-side dense | method | amplified difference), JSON and a
 * self-contained HTML report.  Checked by tests/test_compare.sh. */
#ifndef SPADIT_COMPARE_H
#define SPADIT_COMPARE_H

#include <stdio.h> /* FILE */

#include "../models/wan/wan_t2v.h" /* wan_t2v_paths, attn_policy */

typedef struct ev_method {
    char label[96];
    attn_policy policy;
    char dit[4096]; /* DiT override ("" = the folder's) */
} ev_method;

/* Optional caption-adherence scorer (the tiny model's checker): fraction in [0, 1], or < 0 when the caption
 * is outside its grammar. */
typedef double (*ev_adherence_fn)(void *user, const char *caption, const uint8_t *rgb, int frames, int height,
                                  int width);

typedef struct ev_compare_opts {
    const wan_t2v_paths *paths;
    const char *prompt, *negative;
    int width, height, frames, steps, fps;
    double shift, guidance;
    uint64_t seed;
    smp_solver solver;
    const char *cache_dir;
    int shadow_steps;   /* attention error for the first steps (0: none) */
    int amplify;        /* difference amplification in the side-by-side video (default 4) */
    const char *out_dir;
    const char *model_label;
    ev_adherence_fn adherence;
    void *adherence_user;
    FILE *log;          /* progress lines (NULL: quiet) */
    int64_t max_memory; /* bytes each run may use (0: what is available); see wan_t2v_opts */
} ev_compare_opts;

typedef struct ev_method_result {
    char label[96];
    int frames, steps, layers, shadow_calls;
    double *psnr, *ssim;          /* [frames] vs dense */
    double psnr_mean, psnr_worst, ssim_mean, ssim_worst;
    int worst_frame;
    double *latent_err;           /* [steps]: ||x_t - x_t(dense)|| / ||x_t(dense)|| */
    double *attn_err;             /* [shadow_calls, layers] (-1: dense layer) */
    double mean_sparsity, ms_total, ms_denoise, ms_attention;
    double adherence;             /* < 0: not available */
    char video_lossless[512], video_mp4[512], side_by_side[512];
} ev_method_result;

typedef struct ev_compare_result {
    int n;                        /* results[0] is dense */
    ev_method_result *results;
    char json_path[512], html_path[512];
} ev_compare_result;

dit_status ev_compare_run(const ev_compare_opts *o, const ev_method *methods, int n_methods, dit_backend *be,
                          ev_compare_result *res, dit_err *err);
void ev_compare_free(ev_compare_result *res);

#endif
