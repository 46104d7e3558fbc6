/* wan_t2v.c — text to video with Wan (see wan_t2v.h): locating the parts of a
 * model folder, per-model defaults, and the generation pipeline.  Each stage
 * frees what the next does not need (the text encoder before the DiT, the DiT
 * before the VAE).  Checked end to end by tests/test_generate.c (CPU, small
 * random model, the mp4 read back) and by the tiny model's adherence test. */
#include "wan_t2v.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* memset, strcmp */

#include "../../dit/rng.h"             /* dit_rng */
#include "../../io/json_file.h"        /* io_json_load, io_path_exists */
#include "../../io/tokenizer_unigram.h" /* io_tok_* */
#include "../../sampler/cfg.h"         /* smp_cfg, smp_wan_negative_prompt */
#include "umt5_cache.h"                /* wan_umt5_embed_prompts */
#include "vae.h"                       /* wan_vae_* */
#include "wan_dit.h"                   /* wan_dit_*, wan_run */
#include "../../dit/clock.h" /* dit_now_ms */

static int first_existing(char *out, size_t cap, const char *root, const char *const *names) {
    for (; *names; names++) {
        snprintf(out, cap, "%s/%s", root, *names);
        if (io_path_exists(out)) return 1;
    }
    out[0] = 0;
    return 0;
}

dit_status wan_t2v_locate(const char *dir, wan_t2v_paths *p, dit_err *err) {
    memset(p, 0, sizeof *p);
    if (!io_path_is_dir(dir))
        return DIT_FAIL(err, DIT_ERR_MISSING, "%s: model folder not found (a diffusers Wan pipeline or an original Wan folder)",
                        dir);
    snprintf(p->root, sizeof p->root, "%s", dir);
    char probe[4400];
    snprintf(probe, sizeof probe, "%s/model_index.json", dir);
    if (io_path_exists(probe)) { /* diffusers pipeline */
        snprintf(p->dit, sizeof p->dit, "%s/transformer", dir);
        snprintf(p->text_encoder, sizeof p->text_encoder, "%s/text_encoder", dir);
        snprintf(p->tokenizer, sizeof p->tokenizer, "%s/tokenizer/tokenizer.json", dir);
        snprintf(p->vae, sizeof p->vae, "%s/vae", dir);
        snprintf(p->sla_dit, sizeof p->sla_dit, "%s/transformer_sla", dir);
        if (!io_path_is_dir(p->sla_dit)) p->sla_dit[0] = 0;
    } else { /* original Wan layout */
        snprintf(p->dit, sizeof p->dit, "%s", dir);
        static const char *const t5[] = {"models_t5_umt5-xxl-enc-bf16.safetensors", "models_t5_umt5-xxl-enc-bf16.pth",
                                         "umt5-xxl-enc-bf16.safetensors", NULL};
        static const char *const tok[] = {"google/umt5-xxl/tokenizer.json", "tokenizer/tokenizer.json", "tokenizer.json",
                                          NULL};
        static const char *const vae[] = {"Wan2.1_VAE.safetensors", "Wan2.1_VAE.pth", "vae", NULL};
        first_existing(p->text_encoder, sizeof p->text_encoder, dir, t5);
        first_existing(p->tokenizer, sizeof p->tokenizer, dir, tok);
        first_existing(p->vae, sizeof p->vae, dir, vae);
    }
    const char *what[4] = {"DiT", "text encoder", "tokenizer", "VAE"};
    const char *paths[4] = {p->dit, p->text_encoder, p->tokenizer, p->vae};
    for (int i = 0; i < 4; i++)
        if (!paths[i][0] || !io_path_exists(paths[i]))
            return DIT_FAIL(err, DIT_ERR_MISSING,
                            "%s: no %s found%s%s (expected a diffusers pipeline with model_index.json, transformer/, "
                            "text_encoder/, tokenizer/tokenizer.json, vae/; or an original Wan folder with config.json, "
                            "models_t5_umt5-xxl-enc-bf16.pth, google/umt5-xxl/tokenizer.json, Wan2.1_VAE.pth)",
                            dir, what[i], paths[i][0] ? " at " : "", paths[i]);
    return DIT_OK;
}

dit_status wan_t2v_defaults_load(const char *dir, wan_t2v_defaults *d, dit_err *err) {
    memset(d, 0, sizeof *d);
    d->width = 832, d->height = 480, d->frames = 81, d->fps = 16, d->steps = 50;
    d->shift = 5.0, d->guidance = 5.0;
    snprintf(d->sampler, sizeof d->sampler, "unipc");
    snprintf(d->negative_prompt, sizeof d->negative_prompt, "%s", smp_wan_negative_prompt());
    d->negative_is_wan_default = 1;
    char p[4200];
    snprintf(p, sizeof p, "%s/spadit.json", dir);
    if (!io_path_exists(p)) return DIT_OK;
    cJSON *j;
    DIT_TRY(io_json_load(p, &j, err));
    dit_status st = wan_t2v_defaults_from_json(j, p, d, err);
    cJSON_Delete(j);
    return st;
}

dit_status wan_t2v_defaults_from_json(const cJSON *j, const char *p, wan_t2v_defaults *d, dit_err *err) {
    if (!cJSON_IsObject(j)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: expected a JSON object {...} at the top level", p);
    /* the same ranges as the flags (--size, --frames, --fps, --steps, --shift, --guidance) */
    dit_status st = io_json_get_int(j, "width", d->width, 16, WAN_T2V_MAX_SIDE, &d->width, p, err);
    if (st == DIT_OK) st = io_json_get_int(j, "height", d->height, 16, WAN_T2V_MAX_SIDE, &d->height, p, err);
    if (st == DIT_OK) st = io_json_get_int(j, "frames", d->frames, 1, 1001, &d->frames, p, err);
    if (st == DIT_OK) st = io_json_get_int(j, "fps", d->fps, 1, 240, &d->fps, p, err);
    if (st == DIT_OK) st = io_json_get_int(j, "steps", d->steps, 1, 1000, &d->steps, p, err);
    if (st == DIT_OK) st = io_json_get_num(j, "shift", d->shift, 0.01, 100, &d->shift, p, err);
    if (st == DIT_OK) st = io_json_get_num(j, "guidance", d->guidance, 0, 50, &d->guidance, p, err);
    if (st != DIT_OK) return st;
    const cJSON *smp = cJSON_GetObjectItemCaseSensitive(j, "sampler");
    if (smp && !cJSON_IsString(smp))
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: \"sampler\" must be a string (unipc, euler or dpm++)", p);
    if (smp) snprintf(d->sampler, sizeof d->sampler, "%s", smp->valuestring);
    const cJSON *np = cJSON_GetObjectItemCaseSensitive(j, "negative_prompt");
    if (cJSON_IsString(np)) {
        snprintf(d->negative_prompt, sizeof d->negative_prompt, "%s", np->valuestring);
        d->negative_is_wan_default = 0;
    }
    if (d->width <= 0 || d->height <= 0 || d->frames <= 0 || d->fps <= 0 || d->steps <= 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: width, height, frames, fps and steps must be positive", p);
    return DIT_OK;
}

dit_status wan_t2v_latent_shape(int width, int height, int frames, int64_t shape[4], dit_err *err) {
    if (width <= 0 || height <= 0 || width % 16 || height % 16)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "size %dx%d: width and height must be positive multiples of 16", width,
                        height);
    if (frames < 1 || (frames - 1) % 4)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "frames %d: must be 4n + 1 (1, 5, 9, ..., 81)", frames);
    shape[0] = 16, shape[1] = (frames - 1) / 4 + 1, shape[2] = height / 8, shape[3] = width / 8;
    return DIT_OK;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

dit_status wan_t2v_memory(const wan_t2v_paths *paths, const wan_t2v_opts *o, const dit_backend *be, wan_t2v_mem *m,
                          dit_err *err) {
    memset(m, 0, sizeof *m);
    int64_t shape[4] = {0, 0, 0, 0};
    DIT_TRY(wan_t2v_latent_shape(o->width, o->height, o->frames, shape, err));
    const int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
    const int on_gpu = be->device == DIT_DEVICE_CUDA;
    /* latent, CFG scratch (x2 when split), the solver's double-precision state and history (UniPC: ~6) */
    const int64_t latent = n * 4 * 4 + n * 8 * 6;
    wan_config dc;
    DIT_TRY(wan_dit_read_config(o->dit_override ? o->dit_override : paths->dit, &dc, err));
    m->dit_weights = wan_config_param_count(&dc) * (on_gpu ? 2 : 4); /* bf16 on the GPU, f32 on the CPU */
    int64_t staging = 0;
    m->dit_activations = wan_run_bytes(&dc, shape[1], shape[2], shape[3], be->act_dtype, &staging);
    if (o->sp && o->sp->size > 1) m->dit_activations /= o->sp->size; /* roughly: tokens are split */
    int64_t dit_host = latent + staging + (on_gpu ? 0 : m->dit_weights + m->dit_activations);
    int64_t dit_dev = on_gpu ? m->dit_weights + m->dit_activations : 0;
    int64_t vae_host = 0, vae_dev = 0;
    if (!o->skip_decode) {
        wan_vae_config vc;
        DIT_TRY(wan_vae_read_config(paths->vae, &vc, err));
        wan_vae_tiling tiling = wan_vae_tiling_default();
        tiling.enabled = o->vae_tiling;
        int64_t F = wan_vae_out_frames(&vc, shape[1]), H = shape[2] * 8, W = shape[3] * 8;
        wan_vae_mem vm;
        DIT_TRY(wan_vae_memory(&vc, F, H, W, &tiling, be->act_dtype, &vm, err));
        m->vae_activations = (int64_t)vm.activations;
        m->frames = F * H * W * 3 * (4 + 1); /* f32 frames + the RGB8 copy */
        vae_host = n * 4 + m->frames + (int64_t)vm.host + (on_gpu ? 0 : (int64_t)(vm.activations + vm.weights));
        vae_dev = on_gpu ? (int64_t)(vm.activations + vm.weights) : 0;
    }
    m->host = max64(dit_host, vae_host);
    m->device = max64(dit_dev, vae_dev);
    return DIT_OK;
}

static double gib(int64_t b) { return (double)b / (double)((int64_t)1 << 30); }

/* Refuse, before anything is allocated, a run that cannot fit. */
static dit_status check_memory(const wan_t2v_paths *paths, const wan_t2v_opts *o, dit_backend *be, dit_err *err) {
    wan_t2v_mem m;
    DIT_TRY(wan_t2v_memory(paths, o, be, &m, err));
    int64_t cap_host = o->max_memory > 0 ? o->max_memory : (int64_t)dit_host_mem_available();
    if (cap_host > 0 && m.host > cap_host)
        return DIT_FAIL(err, DIT_ERR_OOM,
                        "%dx%d, %d frames needs %.1f GiB of host memory, %.1f GiB available%s (DiT weights %.1f GiB, "
                        "activations %.1f GiB; VAE activations %.1f GiB; decoded frames %.1f GiB): use a smaller "
                        "--size or --frames%s",
                        o->width, o->height, o->frames, gib(m.host), gib(cap_host),
                        o->max_memory > 0 ? " (--max-memory)" : "", gib(m.dit_weights), gib(m.dit_activations),
                        gib(m.vae_activations), gib(m.frames), o->max_memory > 0 ? " or raise --max-memory" : "");
    if (be->device == DIT_DEVICE_CUDA) {
        int64_t cap_dev = (int64_t)dit_backend_device_free(be);
        if (o->max_memory > 0 && (cap_dev == 0 || o->max_memory < cap_dev)) cap_dev = o->max_memory;
        if (cap_dev > 0 && m.device > cap_dev)
            return DIT_FAIL(err, DIT_ERR_OOM,
                            "%dx%d, %d frames needs %.1f GiB of GPU memory, %.1f GiB available (DiT weights %.1f GiB, "
                            "activations %.1f GiB; VAE activations %.1f GiB): use a smaller --size or --frames, or more "
                            "GPUs (--gpus)",
                            o->width, o->height, o->frames, gib(m.device), gib(cap_dev), gib(m.dit_weights),
                            gib(m.dit_activations), gib(m.vae_activations));
    }
    return DIT_OK;
}

/* One CFG branch of the denoiser: the DiT on (x, t) with a fixed context. */
typedef struct branch {
    wan_run *run;
    const float *ctx;
    int64_t rows;
    struct loop *loop;
    const char *name; /* "conditional" / "unconditional" (error messages) */
} branch;

typedef struct loop {
    wan_t2v_progress_fn progress;
    wan_t2v_latent_fn on_latent;
    void *user;
    double t0, step_attn, step_sparsity_sum, total_attn, sparsity_sum;
    int step_calls, calls;
    const smp_schedule *sch;
    float *x_snapshot; /* not owned */
    int64_t n;
} loop;

static dit_status branch_fn(void *user, const float *x, double timestep, double sigma, int step, float *v,
                            dit_err *err) {
    (void)sigma;
    branch *b = user;
    DIT_TRY(wan_dit_forward(b->run, x, timestep, b->ctx, b->rows, v, err));
    loop *L = b->loop;
    char stage[128];
    snprintf(stage, sizeof stage, "DiT output at step %d (timestep %.1f, %s branch)", step + 1, timestep, b->name);
    DIT_TRY(dit_check_finite(v, (size_t)L->n, stage, err));
    L->step_attn += b->run->ms_attention;
    double sp = 0;
    int layers = b->run->m->cfg.layers;
    for (int l = 0; l < layers; l++) sp += b->run->layer_stats[l].sparsity;
    L->step_sparsity_sum += sp / layers;
    L->step_calls++;
    if (L->on_latent) {
        L->x_snapshot = (float *)x; /* x_t seen by the model at this step */
    }
    return DIT_OK;
}

/* CFG parallelism: this rank runs one branch; the two velocities are exchanged through the backend's
 * memory (device memory for NCCL) and combined identically on both ranks. */
typedef struct cfg_par {
    dit_comm *g;       /* 2 members: 0 conditional, 1 unconditional */
    branch *mine;
    double guidance;
    dit_backend *be;
    dit_tensor send;   /* [n] f32 on the backend: this rank's velocity */
    dit_tensor recv;   /* [2, n]: conditional, unconditional */
    float *host;       /* [2, n] */
    size_t n;
} cfg_par;

static dit_status cfg_par_model(void *user, const float *x, double timestep, double sigma, int step, float *velocity,
                                dit_err *err) {
    cfg_par *c = user;
    DIT_TRY(branch_fn(c->mine, x, timestep, sigma, step, velocity, err));
    size_t bytes[2] = {c->n * sizeof(float), c->n * sizeof(float)};
    dit_status s = dit_backend_upload_f32(c->be, &c->send, velocity);
    if (s != DIT_OK) {
        *err = c->be->err;
        return s;
    }
    if (dit_comm_all_gather(c->g, c->send.data, bytes, c->recv.data) != DIT_OK) {
        *err = c->g->err;
        return dit_err_wrap(err, "CFG-parallel exchange of the velocities");
    }
    if (dit_backend_download_f32(c->be, c->host, &c->recv) != DIT_OK) {
        *err = c->be->err;
        return err->code;
    }
    return smp_cfg_combine(velocity, c->host + c->n, c->host, c->n, c->guidance, err);
}

static void progress_fn(void *user, int done, int steps, double step_ms) {
    loop *L = user;
    const int step = done - 1; /* smp reports steps done (1..steps); ours are 0-based */
    double elapsed = dit_now_ms() - L->t0;
    wan_t2v_step s = {step, steps, L->sch->timestep[step], step_ms, L->step_attn, elapsed,
                      elapsed / done * (steps - done) / 1e3, L->step_calls ? L->step_sparsity_sum / L->step_calls : 0};
    L->total_attn += L->step_attn;
    L->sparsity_sum += L->step_sparsity_sum;
    L->calls += L->step_calls;
    if (L->progress) L->progress(L->user, &s);
    if (L->on_latent && L->x_snapshot) L->on_latent(L->user, step, L->x_snapshot, L->n);
    L->step_attn = L->step_sparsity_sum = 0;
    L->step_calls = 0;
}

static dit_status encode_prompts(const wan_t2v_paths *paths, dit_backend *be, const wan_t2v_opts *o, const char *neg,
                                 int want_uncond, wan_umt5_prompt pr[2], wan_t2v_result *res, dit_err *err) {
    io_tokenizer *tok = NULL;
    DIT_TRY(io_tok_load(paths->tokenizer, &tok, err));
    int32_t ids[2][512]; /* live until the embeddings are computed below */
    const char *texts[2] = {o->prompt, neg};
    int np = want_uncond ? 2 : 1;
    dit_status s = DIT_OK;
    char *clean[2] = {NULL, NULL};
    for (int i = 0; i < np && s == DIT_OK; i++) {
        size_t need = io_prompt_clean(texts[i], NULL, 0) + 1;
        clean[i] = malloc(need);
        if (!clean[i]) {
            s = DIT_FAIL(err, DIT_ERR_OOM, "prompt");
            break;
        }
        io_prompt_clean(texts[i], clean[i], need);
        int n = 0;
        s = io_tok_encode(tok, clean[i], ids[i], 512, &n, err);
        if (s != DIT_OK) dit_err_wrap(err, "tokenizing the %s prompt", i ? "negative" : "");
        memset(&pr[i], 0, sizeof pr[i]);
        pr[i].text = clean[i];
        pr[i].ids = ids[i];
        pr[i].n = n;
    }
    io_tok_free(&tok);
    double ms = 0;
    if (s == DIT_OK) s = wan_umt5_embed_prompts(paths->text_encoder, be, o->cache_dir, pr, np, &ms, err);
    for (int i = 0; i < np && s == DIT_OK; i++) {
        char stage[160];
        snprintf(stage, sizeof stage, "text encoder output for the %s%s", i ? "negative prompt" : "prompt",
                 pr[i].info.outcome == WAN_UMT5_CACHE_HIT ? " (from the embedding cache; delete it to recompute)" : "");
        s = dit_check_finite(pr[i].emb, (size_t)(pr[i].rows * pr[i].cols), stage, err);
    }
    for (int i = 0; i < np; i++) {
        if (s == DIT_OK && pr[i].info.outcome == WAN_UMT5_CACHE_HIT) res->cache_hits++;
        if (s == DIT_OK && pr[i].info.warning[0]) fprintf(stderr, "spadit: warning: %s\n", pr[i].info.warning);
        pr[i].text = NULL;
        free(clean[i]);
        if (s != DIT_OK) { /* the callers own the embeddings only on success */
            free(pr[i].emb);
            pr[i].emb = NULL;
        }
    }
    return s;
}

dit_status wan_t2v_encode(const wan_t2v_paths *paths, dit_backend *be, const char *prompt, const char *negative,
                          int want_uncond, const char *cache_dir, float **ctx_c, int64_t *rows_c, float **ctx_u,
                          int64_t *rows_u, int *cache_hits, dit_err *err) {
    wan_umt5_prompt pr[2];
    memset(pr, 0, sizeof pr);
    wan_t2v_opts o;
    memset(&o, 0, sizeof o);
    o.prompt = prompt;
    o.cache_dir = cache_dir;
    wan_t2v_result tmp;
    memset(&tmp, 0, sizeof tmp);
    DIT_TRY(encode_prompts(paths, be, &o, negative ? negative : smp_wan_negative_prompt(), want_uncond, pr, &tmp, err));
    *ctx_c = pr[0].emb, *rows_c = pr[0].rows;
    if (ctx_u) *ctx_u = pr[1].emb, *rows_u = pr[1].rows;
    else free(pr[1].emb);
    if (cache_hits) *cache_hits = tmp.cache_hits;
    return DIT_OK;
}

dit_status wan_t2v_generate(const wan_t2v_paths *paths, dit_backend *be, const wan_t2v_opts *o,
                            wan_t2v_progress_fn progress, wan_t2v_latent_fn on_latent, void *user,
                            wan_t2v_result *res, dit_err *err) {
    memset(res, 0, sizeof *res);
    double t_all = dit_now_ms();
    int64_t shape[4];
    DIT_TRY(wan_t2v_latent_shape(o->width, o->height, o->frames, shape, err));
    if (!o->prompt) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "no prompt given");
    if (o->steps < 1 || o->steps > SMP_MAX_STEPS)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "steps %d: must be in [1, %d]", o->steps, SMP_MAX_STEPS);
    if (o->solver == SMP_SOLVER_RCM && o->guidance != 1.0)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "sampler rcm: guidance %g, expected 1 (rCM is TurboDiffusion's few-step sampler for "
                        "distilled models, which run without classifier-free guidance)",
                        o->guidance);
    const int cfg_on = o->guidance != 1.0;
    const char *neg = o->negative_prompt ? o->negative_prompt : smp_wan_negative_prompt();
    DIT_TRY(check_memory(paths, o, be, err)); /* from the shapes, before the first allocation */

    /* 1. prompt -> context (the encoder is freed inside) */
    double t0 = dit_now_ms();
    wan_umt5_prompt pr[2];
    memset(pr, 0, sizeof pr);
    const float *ctx_c = o->ctx_cond, *ctx_u = o->ctx_uncond;
    int64_t rows_c = o->ctx_cond_rows, rows_u = o->ctx_uncond_rows;
    if (!ctx_c || (cfg_on && !ctx_u)) {
        DIT_TRY(encode_prompts(paths, be, o, neg, cfg_on, pr, res, err));
        ctx_c = pr[0].emb, rows_c = pr[0].rows;
        if (cfg_on) ctx_u = pr[1].emb, rows_u = pr[1].rows;
    }
    res->ms_text = dit_now_ms() - t0;

    /* 2. the DiT */
    t0 = dit_now_ms();
    wan_dit *m = NULL;
    dit_status s = wan_dit_load(o->dit_override ? o->dit_override : paths->dit, be, &m, err);
    res->ms_dit_load = dit_now_ms() - t0;
    wan_run run;
    memset(&run, 0, sizeof run);
    attn_policy pol = o->policy ? *o->policy : attn_policy_dense();
    const int cfg_split = cfg_on && o->cfg_group && o->cfg_group->size == 2;
    if (o->cfg_group && o->cfg_group->size != 2 && s == DIT_OK)
        s = DIT_FAIL(err, DIT_ERR_INVALID_ARG, "CFG parallelism needs a group of 2 ranks, got %d", o->cfg_group->size);
    pol.calls_per_step = cfg_on && !cfg_split ? 2 : 1; /* calls this rank's DiT makes per step */
    attn_stats *lst = NULL;
    float *x = NULL, *scratch = NULL;
    int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
    if (s == DIT_OK && m->cfg.text_dim != (pr[0].cols ? pr[0].cols : m->cfg.text_dim))
        s = DIT_FAIL(err, DIT_ERR_SHAPE, "the text encoder gives %lld-wide embeddings but the DiT expects text_dim %d",
                     (long long)pr[0].cols, m->cfg.text_dim);
    if (s == DIT_OK && m->cfg.in_dim != shape[0])
        s = DIT_FAIL(err, DIT_ERR_SHAPE, "the DiT has %d latent channels; the VAE gives 16", m->cfg.in_dim);
    if (s == DIT_OK) s = wan_run_init_parallel(&run, m, shape[1], shape[2], shape[3], o->sp, err);
    if (s == DIT_OK) s = wan_run_set_policy(&run, &pol, err);
    if (s == DIT_OK && o->shadow_calls > 0 && o->attn_err) {
        run.shadow_calls = o->shadow_calls;
        run.attn_err = o->attn_err;
    }
    if (s == DIT_OK) {
        lst = calloc((size_t)m->cfg.layers, sizeof *lst);
        x = malloc((size_t)n * sizeof(float));
        scratch = malloc((size_t)n * sizeof(float));
        if (!lst || !x || !scratch) s = DIT_FAIL(err, DIT_ERR_OOM, "latent of %lld floats", (long long)n);
        run.layer_stats = lst;
    }
    /* 3. noise -> x0 */
    smp_schedule sch;
    if (s == DIT_OK) {
        if (o->solver == SMP_SOLVER_RCM)
            s = smp_schedule_rcm(o->steps, o->sigma_max > 0 ? o->sigma_max : SMP_RCM_SIGMA_MAX, &sch, err);
        else
            s = smp_schedule_for_solver(o->solver, o->steps, o->shift, &sch, err);
    }
    dit_rng rng; /* the initial latent, then (rCM) each step's fresh noise */
    dit_rng_seed(&rng, o->seed);
    if (s == DIT_OK) {
        if (o->noise) {
            memcpy(x, o->noise, (size_t)n * sizeof(float));
        } else {
            dit_rng_fill_normal(&rng, x, (size_t)n, 1.0f);
        }
        loop L;
        memset(&L, 0, sizeof L);
        L.progress = progress, L.on_latent = on_latent, L.user = user, L.sch = &sch, L.n = n;
        branch bc = {&run, ctx_c, rows_c, &L, "conditional"}, bu = {&run, ctx_u, rows_u, &L, "unconditional"};
        smp_cfg cfg = {branch_fn, &bc, branch_fn, &bu, o->guidance, scratch, (size_t)n};
        cfg_par cp;
        memset(&cp, 0, sizeof cp);
        if (cfg_split) {
            cp.g = o->cfg_group, cp.mine = cp.g->rank == 0 ? &bc : &bu, cp.guidance = o->guidance, cp.be = be;
            cp.n = (size_t)n, cp.host = scratch; /* scratch grows to [2, n] below */
            int64_t ne1[1] = {n}, ne2[2] = {2, n};
            float *h2 = realloc(scratch, 2 * (size_t)n * sizeof(float));
            if (!h2) s = DIT_FAIL(err, DIT_ERR_OOM, "CFG exchange buffer");
            else scratch = cp.host = h2;
            if (s == DIT_OK && (dit_backend_tensor_alloc(be, &cp.send, DIT_DTYPE_F32, 1, ne1) != DIT_OK ||
                                dit_backend_tensor_alloc(be, &cp.recv, DIT_DTYPE_F32, 2, ne2) != DIT_OK)) {
                *err = be->err;
                s = err->code;
            }
        }
        L.t0 = dit_now_ms();
        t0 = dit_now_ms();
        if (s == DIT_OK)
            s = smp_sample_with_noise(o->solver, &sch, x, (size_t)n, cfg_split ? cfg_par_model : smp_cfg_model,
                                      cfg_split ? (void *)&cp : (void *)&cfg, smp_noise_rng, &rng, progress_fn, &L,
                                      err);
        dit_backend_tensor_free(be, &cp.send);
        dit_backend_tensor_free(be, &cp.recv);
        res->ms_denoise = dit_now_ms() - t0;
        res->ms_attention = L.total_attn;
        res->mean_sparsity = L.calls ? L.sparsity_sum / L.calls : 0;
    }
    free(scratch);
    free(lst);
    wan_run_free(&run);
    if (m) res->layers = m->cfg.layers;
    wan_dit_free(&m);
    for (int i = 0; i < 2; i++) free(pr[i].emb);
    if (s != DIT_OK) {
        free(x);
        return s;
    }
    res->latent = x;
    res->latent_n = n;
    if (o->skip_decode) {
        res->ms_total = dit_now_ms() - t_all;
        return DIT_OK;
    }

    /* 4. VAE: latent -> frames */
    t0 = dit_now_ms();
    wan_vae *vae = NULL;
    int64_t F = 0, H = shape[2] * 8, W = shape[3] * 8;
    float *video = NULL;
    s = wan_vae_load(paths->vae, NULL, be, &vae, err);
    if (s == DIT_OK) {
        F = wan_vae_out_frames(&vae->cfg, shape[1]);
        video = malloc((size_t)(3 * F * H * W) * sizeof(float));
        res->rgb = malloc((size_t)(F * H * W * 3));
        if (!video || !res->rgb) s = DIT_FAIL(err, DIT_ERR_OOM, "decoded video of %lld frames", (long long)F);
    }
    wan_vae_tiling tiling = wan_vae_tiling_default();
    tiling.enabled = o->vae_tiling;
    if (s == DIT_OK) s = wan_vae_decode(vae, x, shape[1], shape[2], shape[3], &tiling, video, NULL, err);
    if (s == DIT_OK) s = dit_check_finite(video, (size_t)(3 * F * H * W), "VAE decoder output", err);
    if (s == DIT_OK) s = wan_vae_to_rgb8(video, F, H, W, res->rgb, err);
    free(video);
    wan_vae_free(&vae);
    res->ms_vae = dit_now_ms() - t0;
    res->frames = (int)F, res->width = (int)W, res->height = (int)H;
    res->ms_total = dit_now_ms() - t_all;
    if (s != DIT_OK) wan_t2v_result_free(res);
    return s;
}

void wan_t2v_result_free(wan_t2v_result *r) {
    free(r->rgb);
    free(r->latent);
    r->rgb = NULL;
    r->latent = NULL;
}
