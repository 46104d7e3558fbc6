/* cmd_generate.c — `spadit generate PROMPT`: text to video with a Wan model (by
 * default the embedded tiny model), flags close to Wan's generate.py, a
 * progress line per step (step time, ETA, attention share), and the video
 * written atomically with the run's settings in its comment tag. */
#include <cjson/cJSON.h> /* cJSON for the metadata comment */
#include <stdio.h>       /* fprintf */
#include <stdlib.h>      /* malloc */
#include <string.h>      /* strcmp */

#include "../io/safetensors_write.h" /* io_safetensors_write */
#include "../io/video.h"             /* io_video_write_all */
#include "../models/wan/wan_t2v.h"   /* wan_t2v_* */
#include "../io/atomic_file.h" /* io_output_dir_check */
#include "cli.h"

#ifndef SPADIT_SOURCE_DIR
#define SPADIT_SOURCE_DIR "."
#endif
#define DEFAULT_MODEL SPADIT_SOURCE_DIR "/models/tiny/wan-tiny-t2v"

static void usage(FILE *f) {
    fprintf(f,
            "usage: spadit generate PROMPT [options]\n"
            "  --model DIR          Wan model folder (diffusers pipeline or original layout;\n"
            "                       default: the embedded tiny model %s)\n"
            "  --negative-prompt S  negative prompt (default: the model's)\n"
            "  --size WxH           width x height, multiples of 16 (default: the model's)\n"
            "  --frames N           frames, 4n+1 (default: the model's; Wan 81)\n"
            "  --steps N            sampling steps (Wan 50)\n"
            "  --shift X            flow shift (Wan 5)\n"
            "  --guidance X         classifier-free guidance scale (Wan 5; 1 disables CFG)\n"
            "  --seed N             seed of the initial noise (default 0)\n"
            "  --sampler NAME       unipc | euler | dpm++ (Wan unipc)\n"
            "  --attention PRESET   dense | rectified-wan | sla-10 ... (configs/attention/) or a .json file\n"
            "  --dit DIR            use this DiT instead of the folder's (e.g. an SLA fine-tune)\n"
            "  --backend NAME       cpu | cuda (default cpu)\n"
            "  --out PATH           .mp4 (H.264) | .mkv (lossless FFV1) | .webm (VP9) | .png (frame sequence)\n"
            "  --fps N              frames per second (default: the model's; Wan 16)\n"
            "  --crf N              quality of mp4/webm (lower is better; default 10 / 15)\n"
            "  --cache-dir DIR      prompt-embedding cache (default ~/.cache/spadit/embeddings)\n"
            "  --no-cache           do not read or write the embedding cache\n"
            "  --no-vae-tiling      decode whole frames (more memory)\n"
            "  --save-latent FILE   also write the final latent as safetensors\n"
            "  --quiet              no progress lines\n",
            DEFAULT_MODEL);
}

typedef struct prog {
    int quiet;
} prog;

static void on_step(void *user, const wan_t2v_step *s) {
    prog *p = user;
    if (p->quiet) return;
    int eta = (int)(s->eta_s + 0.5);
    fprintf(stderr, "step %3d/%d  t=%4.0f  %7.2f s/step  ETA %d:%02d  attention %4.1f%% of the step  sparsity %.2f\n",
            s->step + 1, s->steps, s->timestep, s->ms_step / 1e3, eta / 60, eta % 60,
            s->ms_step > 0 ? 100.0 * s->ms_attention / s->ms_step : 0.0, s->sparsity);
}

static void slug(const char *prompt, char *out, size_t cap) {
    size_t o = 0;
    for (const char *c = prompt; *c && o + 1 < cap && o < 40; c++) {
        char ch = *c;
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) out[o++] = ch;
        else if (ch >= 'A' && ch <= 'Z') out[o++] = (char)(ch - 'A' + 'a');
        else if (o && out[o - 1] != '_') out[o++] = '_';
    }
    while (o && out[o - 1] == '_') o--;
    out[o] = 0;
}

int cmd_generate(int argc, char **argv) {
    const char *model = DEFAULT_MODEL, *prompt = NULL, *neg = NULL, *preset = "dense", *dit = NULL;
    const char *backend = "cpu", *out = NULL, *cache_dir = NULL, *save_latent = NULL, *sampler = NULL;
    long long W = 0, H = 0, frames = 0, steps = 0, seed = 0, fps = 0, crf = -1;
    double shift = -1, guidance = -1;
    int no_cache = 0, tiling = 1, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE                                                                      \
    if (!v) {                                                                           \
        fprintf(stderr, "spadit: error: %s needs a value (see spadit generate --help)\n", a); \
        return 2;                                                                       \
    }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model")) {
            NEED_VALUE model = v, i++;
        } else if (!strcmp(a, "--negative-prompt")) {
            NEED_VALUE neg = v, i++;
        } else if (!strcmp(a, "--size")) {
            NEED_VALUE if (sscanf(v, "%lldx%lld", &W, &H) != 2 && sscanf(v, "%lld*%lld", &W, &H) != 2) {
                fprintf(stderr, "spadit: error: --size expects WxH (e.g. 832x480), got '%s'\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--frames")) {
            if (!cli_parse_int(a, v, 1, 1001, &frames)) return 2;
            i++;
        } else if (!strcmp(a, "--steps")) {
            if (!cli_parse_int(a, v, 1, 1000, &steps)) return 2;
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (!cli_parse_int(a, v, 0, (long long)1 << 62, &seed)) return 2;
            i++;
        } else if (!strcmp(a, "--fps")) {
            if (!cli_parse_int(a, v, 1, 240, &fps)) return 2;
            i++;
        } else if (!strcmp(a, "--crf")) {
            if (!cli_parse_int(a, v, 0, 63, &crf)) return 2;
            i++;
        } else if (!strcmp(a, "--shift")) {
            if (!cli_parse_float(a, v, 0.01, 100, &shift)) return 2;
            i++;
        } else if (!strcmp(a, "--guidance")) {
            if (!cli_parse_float(a, v, 0, 50, &guidance)) return 2;
            i++;
        } else if (!strcmp(a, "--sampler")) {
            NEED_VALUE sampler = v, i++;
        } else if (!strcmp(a, "--attention")) {
            NEED_VALUE preset = v, i++;
        } else if (!strcmp(a, "--dit")) {
            NEED_VALUE dit = v, i++;
        } else if (!strcmp(a, "--backend")) {
            NEED_VALUE backend = v, i++;
        } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
            NEED_VALUE out = v, i++;
        } else if (!strcmp(a, "--cache-dir")) {
            NEED_VALUE cache_dir = v, i++;
        } else if (!strcmp(a, "--save-latent")) {
            NEED_VALUE save_latent = v, i++;
        } else if (!strcmp(a, "--no-cache")) {
            no_cache = 1;
        } else if (!strcmp(a, "--no-vae-tiling")) {
            tiling = 0;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "spadit: error: unknown option '%s' for generate (see spadit generate --help)\n", a);
            return 2;
        } else if (!prompt) {
            prompt = a;
        } else {
            fprintf(stderr, "spadit: error: more than one prompt given ('%s' and '%s'); quote the prompt\n", prompt, a);
            return 2;
        }
    }
    if (!prompt || !prompt[0]) {
        fprintf(stderr, "spadit: error: no prompt given\n");
        usage(stderr);
        return 2;
    }
    dit_err err = {0};
    wan_t2v_paths paths;
    wan_t2v_defaults def;
    if (wan_t2v_locate(model, &paths, &err) != DIT_OK) {
        if (!strcmp(model, DEFAULT_MODEL))
            fprintf(stderr, "spadit: error: the embedded default model is missing (%s); see docs/tiny_model.md, or "
                            "pass --model DIR\n", model);
        return cli_fail(err.msg);
    }
    if (wan_t2v_defaults_load(model, &def, &err) != DIT_OK) return cli_fail(err.msg);
    attn_policy pol;
    if (attn_policy_load(preset, &pol, &err) != DIT_OK) return cli_fail(err.msg);
    smp_solver solver;
    if (smp_solver_parse(sampler ? sampler : def.sampler, &solver, &err) != DIT_OK) return cli_fail(err.msg);
    if (pol.sparse.method == ATTN_METHOD_SLA && !dit && paths.sla_dit[0]) {
        dit = paths.sla_dit;
        fprintf(stderr, "spadit: note: attention preset '%s' uses SLA: using the SLA fine-tuned DiT %s\n", preset, dit);
    }
    wan_t2v_opts o;
    memset(&o, 0, sizeof o);
    o.prompt = prompt;
    o.negative_prompt = neg ? neg : def.negative_prompt;
    o.width = (int)(W ? W : def.width), o.height = (int)(H ? H : def.height);
    o.frames = (int)(frames ? frames : def.frames);
    o.steps = (int)(steps ? steps : def.steps);
    o.shift = shift > 0 ? shift : def.shift;
    o.guidance = guidance >= 0 ? guidance : def.guidance;
    o.seed = (uint64_t)seed;
    o.solver = solver;
    o.policy = &pol;
    o.dit_override = dit;
    o.cache_dir = no_cache ? "" : cache_dir;
    o.vae_tiling = tiling;
    int64_t shape[4];
    if (wan_t2v_latent_shape(o.width, o.height, o.frames, shape, &err) != DIT_OK) {
        fprintf(stderr, "spadit: error: %s (flags --size / --frames)\n", err.msg);
        return 2;
    }
    char outbuf[512];
    if (!out) {
        char sl[64];
        slug(prompt, sl, sizeof sl);
        snprintf(outbuf, sizeof outbuf, "spadit_seed%lld_%s.%s", seed, sl, io_video_have_ffmpeg() ? "mp4" : "png");
        out = outbuf;
    }
    io_video_format fmt;
    if (io_video_format_from_path(out, &fmt, &err) != DIT_OK) {
        fprintf(stderr, "spadit: error: %s (flag --out)\n", err.msg);
        return 2;
    }
    if (io_output_dir_check(out, &err) != DIT_OK) {
        fprintf(stderr, "spadit: error: %s (flag --out)\n", err.msg);
        return 2;
    }
    if (fmt != IO_VIDEO_PNG && !io_video_have_ffmpeg()) {
        fprintf(stderr, "spadit: error: --out %s needs FFmpeg, which this build lacks (install libavformat-dev "
                        "libavcodec-dev libswscale-dev with ./setup.sh and rebuild), or write .png frames\n", out);
        return 2;
    }
    dit_backend *be = NULL;
    if (dit_backend_create(backend, &be, &err) != DIT_OK) return cli_fail(err.msg);
    fprintf(stderr, "spadit: %s, %dx%d, %d frames, %d steps (%s, shift %g, guidance %g), seed %lld, attention %s, backend %s\n",
            model, o.width, o.height, o.frames, o.steps, smp_solver_name(solver), o.shift, o.guidance, seed, pol.name,
            be->name);
    prog pg = {quiet};
    wan_t2v_result res;
    dit_status s = wan_t2v_generate(&paths, be, &o, on_step, NULL, &pg, &res, &err);
    dit_backend_destroy(&be);
    if (s != DIT_OK) return cli_fail(err.msg);
    /* metadata: what a reader needs to reproduce the run */
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "prompt", prompt);
    cJSON_AddStringToObject(meta, "negative_prompt", o.negative_prompt);
    cJSON_AddNumberToObject(meta, "seed", (double)seed);
    cJSON_AddNumberToObject(meta, "steps", o.steps);
    cJSON_AddNumberToObject(meta, "shift", o.shift);
    cJSON_AddNumberToObject(meta, "guidance", o.guidance);
    cJSON_AddStringToObject(meta, "sampler", smp_solver_name(solver));
    cJSON_AddStringToObject(meta, "model", model);
    if (dit) cJSON_AddStringToObject(meta, "dit", dit);
    cJSON *att = cJSON_AddObjectToObject(meta, "attention");
    cJSON_AddStringToObject(att, "preset", pol.name);
    cJSON_AddStringToObject(att, "method", attn_method_name(pol.sparse.method));
    cJSON_AddNumberToObject(att, "dense_layers", pol.dense_layers);
    cJSON_AddNumberToObject(att, "dense_steps", pol.dense_steps);
    if (pol.sparse.method == ATTN_METHOD_RECTIFIED) {
        cJSON_AddNumberToObject(att, "drop_rate", pol.sparse.rect.drop_rate);
        cJSON_AddNumberToObject(att, "tau", pol.sparse.rect.tau);
        cJSON_AddBoolToObject(att, "gapr", pol.sparse.rect.gapr);
    } else if (pol.sparse.method == ATTN_METHOD_SLA) {
        cJSON_AddNumberToObject(att, "topk", pol.sparse.sla.topk);
        cJSON_AddStringToObject(att, "variant", pol.sparse.sla.variant == ATTN_SLA_1 ? "sla1" : "main");
    }
    cJSON_AddNumberToObject(att, "mean_sparsity", res.mean_sparsity);
    cJSON_AddNumberToObject(meta, "width", res.width);
    cJSON_AddNumberToObject(meta, "height", res.height);
    cJSON_AddNumberToObject(meta, "frames", res.frames);
    cJSON_AddNumberToObject(meta, "fps", (double)(fps ? fps : def.fps));
    cJSON_AddStringToObject(meta, "backend", backend);
    cJSON_AddStringToObject(meta, "generator", "spadit 0.1");
    char *comment = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    io_video_opts vo = io_video_opts_default();
    vo.fps_num = (int)(fps ? fps : def.fps), vo.fps_den = 1;
    vo.crf = (int)crf;
    vo.comment = comment;
    io_video_set_quiet(1);
    s = io_video_write_all(out, res.rgb, res.frames, res.width, res.height, &vo, &err);
    free(comment);
    if (s == DIT_OK && save_latent) {
        int64_t ls[4] = {16, (res.frames - 1) / 4 + 1, res.height / 8, res.width / 8};
        io_st_out t = io_st_out_f32("latent", IO_ST_F32, res.latent, 4, ls);
        s = io_safetensors_write(save_latent, &t, 1, NULL, 0, &err);
    }
    if (s != DIT_OK) {
        wan_t2v_result_free(&res);
        return cli_fail(err.msg);
    }
    fprintf(stderr,
            "spadit: text %.1f s, DiT load %.1f s, denoise %.1f s (attention %.1f s), VAE %.1f s, total %.1f s%s\n",
            res.ms_text / 1e3, res.ms_dit_load / 1e3, res.ms_denoise / 1e3, res.ms_attention / 1e3, res.ms_vae / 1e3,
            res.ms_total / 1e3, res.cache_hits ? " (prompt embeddings from the cache)" : "");
    printf("%s\n", out);
    fprintf(stderr, "spadit: wrote %d frames of %dx%d to %s\n", res.frames, res.width, res.height, out);
    wan_t2v_result_free(&res);
    return 0;
}
