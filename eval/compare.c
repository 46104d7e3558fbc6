/* compare.c — the A/B runner (see compare.h): one dense reference run, then each
 * method on the same noise and contexts, metrics against the reference, videos. */
#include "compare.h"
#include "speed.h" /* ev_sparsity_note */

#include <math.h>     /* INFINITY */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* calloc */
#include <string.h>   /* memcpy */
#include <sys/stat.h> /* mkdir */

#include "../dit/rng.h"   /* dit_rng */
#include "../io/json_file.h" /* io_path_is_dir */
#include "../io/video.h"  /* io_video_write_all */
#include "../models/wan/wan_dit.h" /* wan_dit_probe_proj_l */
#include "metrics.h"      /* ev_psnr, ev_ssim */

typedef struct latents {
    float *all; /* [steps, n] */
    int64_t n;
    int steps;
    FILE *log;
    const char *label;
} latents;

static void on_latent(void *user, int step, const float *x, int64_t n) {
    latents *L = user;
    if (step < L->steps && n == L->n) memcpy(L->all + (size_t)step * n, x, (size_t)n * sizeof(float));
}

static void on_step(void *user, const wan_t2v_step *s) {
    latents *L = user;
    if (L->log)
        fprintf(L->log, "  [%s] step %d/%d  %.2f s  attention %.0f%%  sparsity %.2f\n", L->label, s->step + 1, s->steps,
                s->ms_step / 1e3, s->ms_step > 0 ? 100 * s->ms_attention / s->ms_step : 0, s->sparsity);
}

/* dense | method | amplified |difference| side by side: [F, H, 3W, 3] */
static uint8_t *side_by_side(const uint8_t *a, const uint8_t *b, int F, int H, int W, int amp) {
    uint8_t *o = malloc((size_t)F * H * W * 9);
    if (!o) return NULL;
    for (int64_t f = 0; f < F; f++)
        for (int64_t y = 0; y < H; y++) {
            const uint8_t *ra = a + ((f * H + y) * W) * 3, *rb = b + ((f * H + y) * W) * 3;
            uint8_t *ro = o + ((f * H + y) * (int64_t)W * 3) * 3;
            memcpy(ro, ra, (size_t)W * 3);
            memcpy(ro + (size_t)W * 3, rb, (size_t)W * 3);
            for (int64_t i = 0; i < (int64_t)W * 3; i++) {
                int d = abs((int)ra[i] - (int)rb[i]) * amp;
                ro[2 * (size_t)W * 3 + i] = (uint8_t)(d > 255 ? 255 : d);
            }
        }
    return o;
}

static void safe_name(const char *label, char *out, size_t cap) {
    size_t o = 0;
    for (const char *c = label; *c && o + 1 < cap; c++)
        out[o++] = ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-')
                       ? *c
                       : '_';
    out[o] = 0;
}

dit_status ev_compare_write_reports(const ev_compare_opts *o, ev_compare_result *res, dit_err *err);

dit_status ev_compare_run(const ev_compare_opts *o, const ev_method *methods, int nm, dit_backend *be,
                          ev_compare_result *res, dit_err *err) {
    memset(res, 0, sizeof *res);
    int64_t shape[4];
    DIT_TRY(wan_t2v_latent_shape(o->width, o->height, o->frames, shape, err));
    /* refuse SLA methods without proj_l before any work (the run would stop after dense) */
    for (int m = 0; m < nm; m++) {
        if (methods[m].policy.sparse.method != ATTN_METHOD_SLA) continue;
        const char *dit = methods[m].dit[0] ? methods[m].dit : o->paths->dit;
        int has = 0;
        DIT_TRY(wan_dit_probe_proj_l(dit, &has, err));
        if (!has)
            return DIT_FAIL(err, DIT_ERR_MISSING,
                            "method %s: attention 'sla' needs the per-layer proj_l weights, and the DiT %s has none: "
                            "use an SLA fine-tuned checkpoint (transformer_sla/ beside the model) or another preset",
                            methods[m].label, dit);
    }
    if (mkdir(o->out_dir, 0755) != 0 && !io_path_is_dir(o->out_dir))
        return DIT_FAIL(err, DIT_ERR_IO, "cannot create the output folder %s", o->out_dir);
    const int cfg_on = o->guidance != 1.0;
    /* shared inputs: contexts (encoded once, through the cache) and the initial noise */
    float *cc = NULL, *cu = NULL;
    int64_t rc = 0, ru = 0;
    DIT_TRY(wan_t2v_encode(o->paths, be, o->prompt, o->negative, cfg_on, o->cache_dir, &cc, &rc, cfg_on ? &cu : NULL,
                           &ru, NULL, err));
    int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
    float *noise = malloc((size_t)n * sizeof(float));
    latents ref = {calloc((size_t)n * o->steps, sizeof(float)), n, o->steps, o->log, "dense"};
    res->results = calloc((size_t)nm + 1, sizeof *res->results);
    if (!noise || !ref.all || !res->results) {
        free(cc), free(cu), free(noise), free(ref.all);
        return DIT_FAIL(err, DIT_ERR_OOM, "A/B buffers (%lld latent floats x %d steps)", (long long)n, o->steps);
    }
    dit_rng rng;
    dit_rng_seed(&rng, o->seed);
    dit_rng_fill_normal(&rng, noise, (size_t)n, 1.0f);
    uint8_t *dense_rgb = NULL;
    dit_status s = DIT_OK;
    int amp = o->amplify > 0 ? o->amplify : 4;
    io_video_set_quiet(1);
    for (int m = 0; m <= nm && s == DIT_OK; m++) {
        ev_method_result *r = &res->results[m];
        attn_policy dense = attn_policy_dense();
        const attn_policy *pol = m == 0 ? &dense : &methods[m - 1].policy;
        snprintf(r->label, sizeof r->label, "%s", m == 0 ? "dense" : methods[m - 1].label);
        wan_t2v_opts t;
        memset(&t, 0, sizeof t);
        t.prompt = o->prompt, t.negative_prompt = o->negative;
        t.width = o->width, t.height = o->height, t.frames = o->frames, t.steps = o->steps;
        t.shift = o->shift, t.guidance = o->guidance, t.seed = o->seed, t.solver = o->solver;
        t.policy = pol;
        t.dit_override = m > 0 && methods[m - 1].dit[0] ? methods[m - 1].dit : NULL;
        t.vae_tiling = 1;
        t.max_memory = o->max_memory;
        t.noise = noise;
        t.ctx_cond = cc, t.ctx_cond_rows = rc, t.ctx_uncond = cu, t.ctx_uncond_rows = ru;
        latents mine = {m == 0 ? ref.all : calloc((size_t)n * o->steps, sizeof(float)), n, o->steps, o->log, r->label};
        int calls = o->shadow_steps * (cfg_on ? 2 : 1);
        if (m > 0 && calls > 0) {
            t.shadow_calls = calls;
            /* layers are known only after loading; 1024 is an upper bound for any Wan */
            r->attn_err = malloc(sizeof(double) * (size_t)calls * 1024);
            for (int i = 0; i < calls * 1024; i++) r->attn_err[i] = NAN;
            t.attn_err = r->attn_err;
            r->shadow_calls = calls;
        }
        if (o->log) fprintf(o->log, "spadit compare: running %s\n", r->label);
        wan_t2v_result out;
        s = mine.all ? wan_t2v_generate(o->paths, be, &t, on_step, on_latent, &mine, &out, err)
                     : DIT_FAIL(err, DIT_ERR_OOM, "latent history");
        if (s != DIT_OK) {
            if (m > 0) free(mine.all);
            dit_err_wrap(err, "method %s", r->label);
            break;
        }
        r->frames = out.frames, r->steps = o->steps;
        r->mean_sparsity = out.mean_sparsity;
        r->ms_total = out.ms_total, r->ms_denoise = out.ms_denoise, r->ms_attention = out.ms_attention;
        r->adherence = o->adherence ? o->adherence(o->adherence_user, o->prompt, out.rgb, out.frames, out.height,
                                                   out.width)
                                    : -1;
        /* latent error per step against dense */
        r->latent_err = calloc((size_t)o->steps, sizeof(double));
        for (int st = 0; st < o->steps && r->latent_err; st++)
            r->latent_err[st] = ev_rel_l2(mine.all + (size_t)st * n, ref.all + (size_t)st * n, (size_t)n);
        if (m > 0) free(mine.all);
        /* frames against dense */
        r->psnr = calloc((size_t)out.frames, sizeof(double));
        r->ssim = calloc((size_t)out.frames, sizeof(double));
        if (m == 0) dense_rgb = out.rgb, out.rgb = NULL;
        r->psnr_mean = 0, r->psnr_worst = INFINITY, r->ssim_mean = 0, r->ssim_worst = 1;
        int finite = 0;
        for (int f = 0; f < out.frames && r->psnr && r->ssim; f++) {
            const uint8_t *fa = dense_rgb + (size_t)f * out.height * out.width * 3;
            const uint8_t *fb = (m == 0 ? dense_rgb : out.rgb) + (size_t)f * out.height * out.width * 3;
            r->psnr[f] = ev_psnr(fb, fa, out.width, out.height);
            r->ssim[f] = ev_ssim(fb, fa, out.width, out.height);
            if (isfinite(r->psnr[f])) r->psnr_mean += r->psnr[f], finite++;
            if (r->psnr[f] < r->psnr_worst) r->psnr_worst = r->psnr[f], r->worst_frame = f;
            r->ssim_mean += r->ssim[f];
            if (r->ssim[f] < r->ssim_worst) r->ssim_worst = r->ssim[f];
        }
        r->psnr_mean = finite ? r->psnr_mean / finite : INFINITY;
        r->ssim_mean /= out.frames;
        /* videos */
        char base[128];
        safe_name(r->label, base, sizeof base);
        io_video_opts vo = io_video_opts_default();
        vo.fps_num = o->fps, vo.fps_den = 1;
        const uint8_t *rgb = m == 0 ? dense_rgb : out.rgb;
        snprintf(r->video_lossless, sizeof r->video_lossless, "%s/%s.mkv", o->out_dir, base);
        snprintf(r->video_mp4, sizeof r->video_mp4, "%s/%s.mp4", o->out_dir, base);
        if (!io_video_have_ffmpeg()) {
            snprintf(r->video_lossless, sizeof r->video_lossless, "%s/%s.png", o->out_dir, base);
            r->video_mp4[0] = 0;
        }
        s = io_video_write_all(r->video_lossless, rgb, out.frames, out.width, out.height, &vo, err);
        if (s == DIT_OK && r->video_mp4[0])
            s = io_video_write_all(r->video_mp4, rgb, out.frames, out.width, out.height, &vo, err);
        if (s == DIT_OK && m > 0 && io_video_have_ffmpeg()) {
            uint8_t *sbs = side_by_side(dense_rgb, out.rgb, out.frames, out.height, out.width, amp);
            snprintf(r->side_by_side, sizeof r->side_by_side, "%s/%s_vs_dense.webm", o->out_dir, base);
            s = sbs ? io_video_write_all(r->side_by_side, sbs, out.frames, 3 * out.width, out.height, &vo, err)
                    : DIT_FAIL(err, DIT_ERR_OOM, "side-by-side video");
            free(sbs);
        }
        wan_t2v_result_free(&out);
        res->n = m + 1;
        /* the number of layers for the attention-error table */
        if (r->attn_err) r->layers = out.layers;
        if (o->log && s == DIT_OK)
            fprintf(o->log, "spadit compare: %-28s PSNR %.2f dB (worst %.2f, frame %d)  SSIM %.4f (worst %.4f)  "
                            "sparsity %.3f  denoise %.1f s\n",
                    r->label, r->psnr_mean, r->psnr_worst, r->worst_frame, r->ssim_mean, r->ssim_worst, r->mean_sparsity,
                    r->ms_denoise / 1e3);
        char note[512];
        if (o->log && s == DIT_OK && m > 0 &&
            ev_sparsity_note(r->label, r->mean_sparsity > 0, r->mean_sparsity, 0, note, sizeof note))
            fprintf(o->log, "spadit compare: %s (sparsity: the run's mean, dense warm-up steps and layers included)\n",
                    note);
    }
    free(dense_rgb);
    free(ref.all);
    free(noise);
    free(cc), free(cu);
    if (s == DIT_OK) s = ev_compare_write_reports(o, res, err);
    return s;
}

void ev_compare_free(ev_compare_result *res) {
    for (int i = 0; i < res->n; i++) {
        free(res->results[i].psnr), free(res->results[i].ssim);
        free(res->results[i].latent_err), free(res->results[i].attn_err);
    }
    free(res->results);
    memset(res, 0, sizeof *res);
}
