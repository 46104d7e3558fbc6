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
#include "../models/wan/wan_variant.h" /* wan_dit_probe_variant: the TurboWan notes */
#include "../io/atomic_file.h" /* io_output_dir_check */
#include "../dit/launch.h"     /* dit_launch_ranks, dit_shm_world */
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
            "  --sampler NAME       unipc | euler | dpm++ | rcm (Wan unipc). rcm: TurboDiffusion's few-step\n"
            "                       sampler for TurboWan (rCM-distilled) DiTs: --steps 1..4 (default 4), no CFG\n"
            "                       (guidance 1), fresh noise every step from --seed's RNG\n"
            "  --sigma-max X        rcm: initial sigma (TurboDiffusion's default 80)\n"
            "  --attention PRESET   dense | rectified-wan | sla-10 ... (configs/attention/) or a .json file\n"
            "  --dit DIR            use this DiT instead of the folder's (e.g. an SLA fine-tune)\n"
            "  --backend NAME       cpu | cuda (default cpu)\n"
            CLI_THREADS_HELP
            "                       (with --ranks: threads per rank; default the cores / ranks)\n"
            "  --gpus N             N GPUs, one process each (CUDA + NCCL): Ulysses sequence parallelism,\n"
            "                       and CFG parallelism when N is even (see --cfg-parallel)\n"
            "  --ranks N            N rank processes on the chosen backend (cpu: shared memory; the CPU\n"
            "                       model of --gpus, for tests)\n"
            "  --cfg-parallel on|off  run the conditional and unconditional passes on two halves of the\n"
            "                       ranks (default on when the rank count is even and CFG is on)\n"
            "  --out PATH           .mp4 (H.264) | .mkv (lossless FFV1) | .webm (VP9) | .png (frame sequence)\n"
            "  --fps N              frames per second (default: the model's; Wan 16)\n"
            "  --crf N              quality of mp4/webm (lower is better; default 10 / 15)\n"
            "  --cache-dir DIR      prompt-embedding cache (default ~/.cache/spadit/embeddings)\n"
            "  --no-cache           do not read or write the embedding cache\n"
            "  --no-vae-tiling      decode whole frames (more memory)\n"
            "  --save-latent FILE   also write the final latent as safetensors (not the --out file)\n"
            "  --noise FILE         initial latent from safetensors (one f32/bf16/f16 tensor of shape\n"
            "                       [16, (frames-1)/4+1, height/8, width/8]) instead of --seed's noise\n"
            "  --max-memory GIB     memory the run may use (default: what is available); a run estimated\n"
            "                       to need more is refused before anything is allocated\n"
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

typedef struct gen_job {
    const char *prompt, *model, *out, *save_latent, *backend;
    const wan_t2v_paths *paths;
    attn_policy pol;
    wan_t2v_opts o;       /* o.policy points at pol */
    long long seed;
    int fps, crf, quiet;
    int ranks, cfg_degree; /* ranks = cfg_degree x Ulysses degree */
    int threads;           /* CPU threads per process (0: the default) */
} gen_job;

/* Rank 0's output: the video with the run's settings in its comment tag, and the latent if asked. */
static dit_status write_outputs(const gen_job *j, const wan_t2v_result *res, dit_err *err) {
    /* metadata: what a reader needs to reproduce the run */
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "prompt", j->prompt);
    cJSON_AddStringToObject(meta, "negative_prompt", j->o.negative_prompt);
    cJSON_AddNumberToObject(meta, "seed", (double)j->seed);
    cJSON_AddNumberToObject(meta, "steps", j->o.steps);
    cJSON_AddNumberToObject(meta, "shift", j->o.shift);
    cJSON_AddNumberToObject(meta, "guidance", j->o.guidance);
    cJSON_AddStringToObject(meta, "sampler", smp_solver_name(j->o.solver));
    if (j->o.solver == SMP_SOLVER_RCM)
        cJSON_AddNumberToObject(meta, "sigma_max", j->o.sigma_max > 0 ? j->o.sigma_max : SMP_RCM_SIGMA_MAX);
    cJSON_AddStringToObject(meta, "model", j->model);
    if (j->o.dit_override) cJSON_AddStringToObject(meta, "dit", j->o.dit_override);
    cJSON *att = cJSON_AddObjectToObject(meta, "attention");
    cJSON_AddStringToObject(att, "preset", j->pol.name);
    cJSON_AddStringToObject(att, "method", attn_method_name(j->pol.sparse.method));
    cJSON_AddNumberToObject(att, "dense_layers", j->pol.dense_layers);
    cJSON_AddNumberToObject(att, "dense_steps", j->pol.dense_steps);
    if (j->pol.sparse.method == ATTN_METHOD_RECTIFIED) {
        cJSON_AddNumberToObject(att, "drop_rate", j->pol.sparse.rect.drop_rate);
        cJSON_AddNumberToObject(att, "tau", j->pol.sparse.rect.tau);
        cJSON_AddBoolToObject(att, "gapr", j->pol.sparse.rect.gapr);
    } else if (j->pol.sparse.method == ATTN_METHOD_SLA) {
        cJSON_AddNumberToObject(att, "topk", j->pol.sparse.sla.topk);
        cJSON_AddStringToObject(att, "variant", j->pol.sparse.sla.variant == ATTN_SLA_1 ? "sla1" : "main");
    }
    cJSON_AddNumberToObject(att, "mean_sparsity", res->mean_sparsity);
    cJSON_AddNumberToObject(meta, "width", res->width);
    cJSON_AddNumberToObject(meta, "height", res->height);
    cJSON_AddNumberToObject(meta, "frames", res->frames);
    cJSON_AddNumberToObject(meta, "fps", (double)j->fps);
    cJSON_AddStringToObject(meta, "backend", j->backend);
    cJSON_AddStringToObject(meta, "generator", "spadit 0.1");
    char *comment = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    io_video_opts vo = io_video_opts_default();
    vo.fps_num = (int)j->fps, vo.fps_den = 1;
    vo.crf = j->crf;
    vo.comment = comment;
    io_video_set_quiet(1);
    /* Both outputs or neither: the latent goes to a temp file first, the video is written (temp +
     * rename), and only then is the latent moved into place; a failure on either side leaves every
     * existing file at --out and --save-latent as it was. */
    dit_status s = DIT_OK;
    char ltmp[4400] = "";
    if (j->save_latent) {
        int64_t ls[4] = {16, (res->frames - 1) / 4 + 1, res->height / 8, res->width / 8};
        io_st_out t = io_st_out_f32("latent", IO_ST_F32, res->latent, 4, ls);
        s = io_tmp_create(j->save_latent, ltmp, sizeof ltmp, err);
        if (s == DIT_OK) s = io_safetensors_write(ltmp, &t, 1, NULL, 0, err);
        if (s != DIT_OK) dit_err_wrap(err, "--save-latent %s", j->save_latent);
    }
    if (s == DIT_OK) s = io_video_write_all(j->out, res->rgb, res->frames, res->width, res->height, &vo, err);
    free(comment);
    if (s == DIT_OK && ltmp[0]) s = io_tmp_commit(ltmp, j->save_latent, err);
    else io_tmp_discard(ltmp);
    return s;
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

/* Generate on one rank (ctx NULL: the whole job in this process). */
static dit_status run_rank(const gen_job *j, const dit_rank_ctx *ctx, dit_err *err) {
    const int rank = ctx ? ctx->rank : 0, P = ctx ? ctx->size : 1;
    dit_backend *be = NULL;
    dit_status s = dit_rank_backend(j->backend, j->threads, ctx, &be, err);
    if (s != DIT_OK) return s;
    dit_comm *world = NULL, *sp = NULL, *cfgg = NULL;
    if (P > 1) s = dit_parallel_comms(ctx, j->cfg_degree, be, &world, &sp, &cfgg, err);
    if (s == DIT_OK && rank == 0) {
        char how[64];
        if (j->o.solver == SMP_SOLVER_RCM)
            snprintf(how, sizeof how, "sigma_max %g", j->o.sigma_max > 0 ? j->o.sigma_max : SMP_RCM_SIGMA_MAX);
        else
            snprintf(how, sizeof how, "shift %g", j->o.shift);
        fprintf(stderr, "spadit: %s, %dx%d, %d frames, %d steps (%s, %s, guidance %g), seed %lld, attention %s, "
                        "backend %s\n",
                j->model, j->o.width, j->o.height, j->o.frames, j->o.steps, smp_solver_name(j->o.solver), how,
                j->o.guidance, j->seed, j->pol.name, be->device == DIT_DEVICE_CPU ? be->device_name : be->name);
        if (P > 1)
            fprintf(stderr, "spadit: %d ranks: CFG parallel x%d, Ulysses sequence parallel x%d\n", P, j->cfg_degree,
                    P / j->cfg_degree);
    }
    wan_t2v_opts o = j->o;
    o.sp = sp, o.cfg_group = cfgg, o.skip_decode = rank != 0;
    prog pg = {j->quiet || rank != 0};
    wan_t2v_result res;
    memset(&res, 0, sizeof res);
    if (s == DIT_OK) s = wan_t2v_generate(j->paths, be, &o, on_step, NULL, &pg, &res, err);
    dit_comm_destroy(&cfgg);
    dit_comm_destroy(&sp);
    dit_comm_destroy(&world);
    dit_backend_destroy(&be);
    if (s != DIT_OK || rank != 0) {
        wan_t2v_result_free(&res);
        return s;
    }
    s = write_outputs(j, &res, err);
    if (s == DIT_OK) {
        fprintf(stderr,
                "spadit: text %.1f s, DiT load %.1f s, denoise %.1f s (attention %.1f s), VAE %.1f s, total %.1f s%s\n",
                res.ms_text / 1e3, res.ms_dit_load / 1e3, res.ms_denoise / 1e3, res.ms_attention / 1e3,
                res.ms_vae / 1e3, res.ms_total / 1e3, res.cache_hits ? " (prompt embeddings from the cache)" : "");
        fprintf(stderr, "spadit: wrote %d frames of %dx%d to %s\n", res.frames, res.width, res.height, j->out);
    }
    wan_t2v_result_free(&res);
    return s;
}

static dit_status rank_main(const dit_rank_ctx *ctx, void *user, dit_err *err) { return run_rank(user, ctx, err); }

/* Fork the ranks (shared-memory windows of 256 MiB per member for CPU ranks, reserved lazily). */
static dit_status launch_ranks(const gen_job *j, dit_err *err) {
    dit_shm_world *w = NULL;
    DIT_TRY(dit_parallel_world_create(j->ranks, j->cfg_degree, !strcmp(j->backend, "cpu"), (size_t)256 << 20, &w, err));
    dit_status s = dit_launch_ranks(j->ranks, w, rank_main, (void *)j, err);
    dit_shm_world_destroy(&w);
    return s;
}

/* --noise FILE: the file's one tensor, of the run's latent shape, as f32 (caller frees). */
static dit_status load_noise(const char *path, const int64_t shape[4], float **out, dit_err *err) {
    io_safetensors *st = NULL;
    DIT_TRY(io_safetensors_open(path, &st, err));
    dit_status s = DIT_OK;
    if (st->n != 1) {
        s = DIT_FAIL(err, DIT_ERR_SHAPE, "%s holds %d tensors; expected one initial latent", path, st->n);
    } else {
        const io_st_tensor *t = &st->tensors[0];
        int same = t->ndim == 4 || (t->ndim == 5 && t->shape[0] == 1);
        const int64_t *ts = t->shape + (t->ndim == 5);
        for (int d = 0; same && d < 4; d++) same = ts[d] == shape[d];
        if (!same) {
            s = DIT_FAIL(err, DIT_ERR_SHAPE, "%s: tensor '%s' has the wrong shape; expected [16, %lld, %lld, %lld] "
                         "(or with a leading 1) for this run's size and frames", path, t->name, (long long)shape[1],
                         (long long)shape[2], (long long)shape[3]);
        } else if (!(*out = malloc((size_t)io_st_tensor_numel(t) * sizeof(float)))) {
            s = DIT_FAIL(err, DIT_ERR_OOM, "initial latent of %lld floats", (long long)io_st_tensor_numel(t));
        } else {
            s = io_st_tensor_to_f32(t, *out, io_st_tensor_numel(t), path, err);
        }
    }
    io_safetensors_close(&st);
    return s;
}

int cmd_generate(int argc, char **argv) {
    const char *model = DEFAULT_MODEL, *prompt = NULL, *neg = NULL, *preset = "dense", *dit = NULL;
    const char *backend = "cpu", *out = NULL, *cache_dir = NULL, *save_latent = NULL, *sampler = NULL;
    const char *noise_path = NULL;
    cli_run_flags rf = {0, 0, 0, 0, 0, -1}; /* 0 / -1: the model's defaults */
    long long fps = 0, crf = -1;
    double guidance = -1, max_memory_gib = 0, sigma_max = 0;
    int no_cache = 0, tiling = 1, quiet = 0, cfg_parallel = -1;
    long long ranks = 1, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE                                                                      \
    if (!v) {                                                                           \
        fprintf(stderr, "spadit: error: %s needs a value (see spadit generate --help)\n", a); \
        return 2;                                                                       \
    }
        int run_flag = cli_run_flag(a, v, &rf);
        if (run_flag == 0) run_flag = cli_threads_flag(a, v, &threads);
        if (run_flag < 0) return 2;
        if (run_flag > 0) {
            i++;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--model")) {
            NEED_VALUE model = v, i++;
        } else if (!strcmp(a, "--negative-prompt")) {
            NEED_VALUE neg = v, i++;
        } else if (!strcmp(a, "--fps")) {
            if (!cli_parse_int(a, v, 1, 240, &fps)) return 2;
            i++;
        } else if (!strcmp(a, "--crf")) {
            if (!cli_parse_int(a, v, 0, 63, &crf)) return 2;
            i++;
        } else if (!strcmp(a, "--max-memory")) {
            if (!cli_parse_float(a, v, 0.001, 1 << 20, &max_memory_gib)) return 2;
            i++;
        } else if (!strcmp(a, "--guidance")) {
            if (!cli_parse_float(a, v, 0, 50, &guidance)) return 2;
            i++;
        } else if (!strcmp(a, "--sampler")) {
            NEED_VALUE sampler = v, i++;
        } else if (!strcmp(a, "--sigma-max")) {
            if (!cli_parse_float(a, v, 1e-3, 1e6, &sigma_max)) return 2;
            i++;
        } else if (!strcmp(a, "--attention")) {
            NEED_VALUE preset = v, i++;
        } else if (!strcmp(a, "--dit")) {
            NEED_VALUE dit = v, i++;
        } else if (!strcmp(a, "--backend")) {
            NEED_VALUE backend = v, i++;
        } else if (!strcmp(a, "--gpus")) {
            if (!cli_parse_int(a, v, 1, DIT_COMM_MAX_RANKS, &ranks)) return 2;
            backend = "cuda", i++;
        } else if (!strcmp(a, "--ranks")) {
            if (!cli_parse_int(a, v, 1, DIT_COMM_MAX_RANKS, &ranks)) return 2;
            i++;
        } else if (!strcmp(a, "--cfg-parallel")) {
            NEED_VALUE if (!strcmp(v, "on")) cfg_parallel = 1;
            else if (!strcmp(v, "off")) cfg_parallel = 0;
            else {
                fprintf(stderr, "spadit: error: --cfg-parallel expects 'on' or 'off', got '%s'\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--out") || !strcmp(a, "-o")) {
            NEED_VALUE out = v, i++;
        } else if (!strcmp(a, "--cache-dir")) {
            NEED_VALUE cache_dir = v, i++;
        } else if (!strcmp(a, "--save-latent")) {
            NEED_VALUE save_latent = v, i++;
        } else if (!strcmp(a, "--noise")) {
            NEED_VALUE noise_path = v, i++;
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
    const long long W = rf.W, H = rf.H, frames = rf.frames, steps = rf.steps, seed = rf.seed;
    const double shift = rf.shift;
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
    if (solver == SMP_SOLVER_RCM) { /* few-step, no CFG, no shift: flags that would be ignored are errors */
        if (steps > SMP_RCM_MAX_STEPS) {
            fprintf(stderr, "spadit: error: --steps %lld with --sampler rcm, expected 1..%d (TurboDiffusion's rCM "
                            "table)\n", steps, SMP_RCM_MAX_STEPS);
            return 2;
        }
        if (guidance >= 0 && guidance != 1.0) {
            fprintf(stderr, "spadit: error: --guidance %g with --sampler rcm, expected 1 (rCM-distilled models run "
                            "without classifier-free guidance)\n", guidance);
            return 2;
        }
        if (shift > 0) {
            fprintf(stderr, "spadit: error: --shift has no effect with --sampler rcm (its times come from "
                            "--sigma-max and a fixed table)\n");
            return 2;
        }
    } else if (sigma_max > 0) {
        fprintf(stderr, "spadit: error: --sigma-max is for --sampler rcm, not %s\n", smp_solver_name(solver));
        return 2;
    }
    if (pol.sparse.method == ATTN_METHOD_SLA && !dit && paths.sla_dit[0]) {
        dit = paths.sla_dit;
        fprintf(stderr, "spadit: note: attention preset '%s' uses SLA: using the SLA fine-tuned DiT %s\n", preset, dit);
    }
    /* TurboWan (TurboDiffusion's SLA + rCM fine-tune): other attention runs, with a note (docs/turbowan.md) */
    wan_variant var = WAN_VARIANT_DENSE;
    if (wan_dit_probe_variant(dit ? dit : paths.dit, &var, &err) == DIT_OK &&
        (var == WAN_VARIANT_TURBOWAN || var == WAN_VARIANT_TURBOWAN_INT8)) {
        if (var == WAN_VARIANT_TURBOWAN_INT8) {
            fprintf(stderr, "spadit: error: %s is %s: int8 linear layers are not supported yet; use the unquantized "
                            "TurboWan .pth (docs/turbowan.md)\n", dit ? dit : paths.dit, wan_variant_name(var));
            return 1;
        }
        if (pol.sparse.method != ATTN_METHOD_SLA)
            fprintf(stderr, "spadit: note: %s is %s, fine-tuned for SLA attention (TurboDiffusion: top-k 0.10-0.15, "
                            "blocks 128x64; presets turbo-sla-10 / turbo-sla-15); attention '%s' ignores its proj_l "
                            "weights and runs it outside what it was trained for\n",
                    dit ? dit : paths.dit, wan_variant_name(var), preset);
        if (solver != SMP_SOLVER_RCM)
            fprintf(stderr, "spadit: note: %s is rCM-distilled for 1-4 steps; TurboDiffusion samples it with "
                            "--sampler rcm --steps 4\n", dit ? dit : paths.dit);
    }
    dit_err_clear(&err);
    wan_t2v_opts o;
    memset(&o, 0, sizeof o);
    o.prompt = prompt;
    o.negative_prompt = neg ? neg : def.negative_prompt;
    o.width = (int)(W ? W : def.width), o.height = (int)(H ? H : def.height);
    o.frames = (int)(frames ? frames : def.frames);
    o.steps = (int)(steps ? steps : solver == SMP_SOLVER_RCM ? SMP_RCM_MAX_STEPS : def.steps);
    o.shift = shift > 0 ? shift : def.shift;
    o.guidance = guidance >= 0 ? guidance : solver == SMP_SOLVER_RCM ? 1.0 : def.guidance;
    o.seed = (uint64_t)seed;
    o.solver = solver;
    o.sigma_max = sigma_max;
    o.policy = &pol;
    o.dit_override = dit;
    o.cache_dir = no_cache ? "" : cache_dir;
    o.vae_tiling = tiling;
    o.max_memory = (int64_t)(max_memory_gib * (double)((int64_t)1 << 30));
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
    if (save_latent) {
        char sidecar[4200];
        snprintf(sidecar, sizeof sidecar, "%s.json", out);
        if (io_same_file(save_latent, out) || (fmt == IO_VIDEO_PNG && io_same_file(save_latent, sidecar))) {
            fprintf(stderr, "spadit: error: --save-latent %s is the video's own file (--out %s); give it another name\n",
                    save_latent, out);
            return 2;
        }
        if (io_output_dir_check(save_latent, &err) != DIT_OK) {
            fprintf(stderr, "spadit: error: %s (flag --save-latent)\n", err.msg);
            return 2;
        }
    }
    if (fmt != IO_VIDEO_PNG && !io_video_have_ffmpeg()) {
        fprintf(stderr, "spadit: error: --out %s needs FFmpeg, which this build lacks (install libavformat-dev "
                        "libavcodec-dev libswscale-dev with ./setup.sh and rebuild), or write .png frames\n", out);
        return 2;
    }
    gen_job j;
    memset(&j, 0, sizeof j);
    j.prompt = prompt, j.model = model, j.out = out, j.save_latent = save_latent, j.backend = backend;
    j.paths = &paths;
    j.pol = pol;
    j.o = o;
    j.o.policy = &j.pol;
    j.seed = seed, j.fps = (int)(fps ? fps : def.fps), j.crf = (int)crf, j.quiet = quiet;
    j.ranks = (int)ranks;
    j.threads = (int)threads;
    const int cfg_on = o.guidance != 1.0;
    if (cfg_parallel == 1 && (ranks % 2 || !cfg_on)) {
        fprintf(stderr, "spadit: error: --cfg-parallel on needs an even rank count and guidance != 1 (got %lld ranks, "
                        "guidance %g)\n", ranks, o.guidance);
        return 2;
    }
    j.cfg_degree = ranks > 1 && ranks % 2 == 0 && cfg_on && cfg_parallel != 0 ? 2 : 1;
    if (ranks > 1 && strcmp(backend, "cpu") && !dit_comm_nccl_available()) {
        fprintf(stderr, "spadit: error: %lld GPUs need NCCL, which this build lacks (install libnccl-dev, or pass "
                        "-DSPADIT_NCCL_ROOT=DIR to cmake, and rebuild)\n", ranks);
        return 2;
    }
    float *noise = NULL;
    if (noise_path) {
        if (load_noise(noise_path, shape, &noise, &err) != DIT_OK) {
            fprintf(stderr, "spadit: error: %s (flag --noise)\n", err.msg);
            return 2;
        }
        j.o.noise = noise;
    }
    dit_status s = ranks > 1 ? launch_ranks(&j, &err) : run_rank(&j, NULL, &err);
    free(noise);
    if (s != DIT_OK) return cli_fail(err.msg);
    printf("%s\n", out);
    return 0;
}
