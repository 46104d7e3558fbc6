/* bench_parallel — one denoising step (CFG: conditional + unconditional DiT calls, combined) of a
 * random-weight Wan DiT over N ranks: Ulysses sequence parallelism x CFG parallelism, exactly as
 * `spadit generate --gpus N` runs it.  Prints the step time (median over --repeat, the slowest rank
 * of each repeat), the attention time and the layout; rank 0 saves the combined velocity so runs
 * with different rank counts can be compared (tools/st_diff).  Drives tools/mgpu_check.sh.
 *
 * usage: bench_parallel [--config 1.3B|14B|test] [--latent FxHxW] [--ranks N] [--backend cpu|cuda]
 *                       [--cfg-parallel on|off] [--attention PRESET] [--warmup N] [--repeat N]
 *                       [--save FILE.safetensors] [--seed N]
 */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* malloc, qsort */
#include <string.h> /* strcmp */

#include "../dit/launch.h"            /* dit_launch_ranks, dit_parallel_* */
#include "../io/safetensors_write.h"  /* io_safetensors_write */
#include "../models/wan/wan_dit.h"    /* wan_dit_*, wan_run_* */
#include "../sampler/cfg.h"           /* smp_cfg_combine */
#include "../dit/clock.h" /* dit_now_ms */

typedef struct job {
    wan_config cfg;
    const char *config, *backend, *preset, *save;
    int64_t F, H, W;
    int ranks, cfg_degree, warmup, repeat;
    uint64_t seed;
} job;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Exchange through the communicator: every member contributes `n` floats from host `mine`; `all` (host,
 * [size, n]) receives them; dev_send / dev_all are backend buffers of matching size. */
static dit_status gather_host(dit_comm *c, dit_backend *be, dit_tensor *dev_send, dit_tensor *dev_all, const float *mine,
                              float *all, size_t n, dit_err *err) {
    size_t bytes[DIT_COMM_MAX_RANKS];
    for (int p = 0; p < c->size; p++) bytes[p] = n * sizeof(float);
    if (dit_backend_upload_f32(be, dev_send, mine) != DIT_OK) return *err = be->err, err->code;
    if (dit_comm_all_gather(c, dev_send->data, bytes, dev_all->data) != DIT_OK) return *err = c->err, err->code;
    if (dit_backend_download_f32(be, all, dev_all) != DIT_OK) return *err = be->err, err->code;
    return DIT_OK;
}

static dit_status rank_main(const dit_rank_ctx *ctx, void *user, dit_err *err) {
    const job *j = user;
    const int rank = ctx->rank, P = ctx->size;
    dit_backend *be = NULL;
    DIT_TRY(dit_rank_backend(j->backend, 0, ctx, &be, err));
    dit_comm *world = NULL, *sp = NULL, *cg = NULL;
    wan_dit *m = NULL;
    wan_run run;
    memset(&run, 0, sizeof run);
    attn_policy pol = attn_policy_dense();
    const int64_t n = 16 * j->F * j->H * j->W, Lc = 120, Lu = 60;
    const int64_t td = j->cfg.text_dim;
    float *x = malloc((size_t)n * sizeof(float)), *vc = malloc((size_t)n * sizeof(float));
    float *vu = malloc((size_t)n * sizeof(float)), *both = malloc(2 * (size_t)n * sizeof(float));
    float *cc = malloc((size_t)(Lc * td) * sizeof(float)), *cu = malloc((size_t)(Lu * td) * sizeof(float));
    double *times = calloc((size_t)j->repeat + 1, sizeof(double)), tall[DIT_COMM_MAX_RANKS];
    dit_tensor s1 = {0}, s2 = {0}, t1 = {0}, t2 = {0};
    dit_status s = x && vc && vu && both && cc && cu && times ? DIT_OK : DIT_FAIL(err, DIT_ERR_OOM, "host buffers");
    for (int64_t i = 0; s == DIT_OK && i < n; i++) x[i] = 2 * dit_hash_uniform(j->seed + 1, (uint64_t)i) - 1;
    for (int64_t i = 0; s == DIT_OK && i < Lc * td; i++) cc[i] = 2 * dit_hash_uniform(j->seed + 2, (uint64_t)i) - 1;
    for (int64_t i = 0; s == DIT_OK && i < Lu * td; i++) cu[i] = 2 * dit_hash_uniform(j->seed + 3, (uint64_t)i) - 1;
    if (s == DIT_OK) s = dit_parallel_comms(ctx, j->cfg_degree, be, &world, &sp, &cg, err);
    if (s == DIT_OK) s = wan_dit_init_random(&j->cfg, be, j->seed + 10, &m, err);
    if (s == DIT_OK && strcmp(j->preset, "dense")) {
        s = attn_policy_load(j->preset, &pol, err);
        if (s == DIT_OK && pol.sparse.method == ATTN_METHOD_SLA) s = wan_dit_add_random_proj_l(m, j->seed + 11, err);
        pol.dense_steps = 0; /* a step after the dense warm-up; the preset's dense layers stay dense */
    }
    pol.calls_per_step = cg ? 1 : 2;
    if (s == DIT_OK) s = wan_run_init_parallel(&run, m, j->F, j->H, j->W, sp, err);
    if (s == DIT_OK) s = wan_run_set_policy(&run, &pol, err);
    int64_t ne1[1] = {n}, ne2[2] = {2, n}, nt1[1] = {1}, nt2[1] = {P};
    if (s == DIT_OK && (dit_backend_tensor_alloc(be, &s1, DIT_DTYPE_F32, 1, ne1) != DIT_OK ||
                        dit_backend_tensor_alloc(be, &s2, DIT_DTYPE_F32, 2, ne2) != DIT_OK ||
                        dit_backend_tensor_alloc(be, &t1, DIT_DTYPE_F32, 1, nt1) != DIT_OK ||
                        dit_backend_tensor_alloc(be, &t2, DIT_DTYPE_F32, 1, nt2) != DIT_OK))
        *err = be->err, s = err->code;
    double attn_ms = 0;
    const double t = 500.0, g = 5.0;
    for (int it = 0; s == DIT_OK && it < j->warmup + j->repeat; it++) {
        float zero = 0, dummy[DIT_COMM_MAX_RANKS];
        s = gather_host(world, be, &t1, &t2, &zero, dummy, 1, err); /* start together */
        double t0 = dit_now_ms();
        if (s == DIT_OK && cg) { /* my half of CFG, then the exchange */
            int cond = cg->rank == 0;
            s = wan_dit_forward(&run, x, t, cond ? cc : cu, cond ? Lc : Lu, vc, err);
            if (s == DIT_OK) s = gather_host(cg, be, &s1, &s2, vc, both, (size_t)n, err);
            if (s == DIT_OK) s = smp_cfg_combine(vc, both + n, both, (size_t)n, g, err);
            attn_ms = run.ms_attention;
        } else if (s == DIT_OK) {
            s = wan_dit_forward(&run, x, t, cc, Lc, vc, err);
            attn_ms = run.ms_attention;
            if (s == DIT_OK) s = wan_dit_forward(&run, x, t, cu, Lu, vu, err);
            attn_ms += run.ms_attention;
            if (s == DIT_OK) s = smp_cfg_combine(vc, vu, vc, (size_t)n, g, err);
        }
        float mine = (float)(dit_now_ms() - t0);
        float all[DIT_COMM_MAX_RANKS];
        if (s == DIT_OK) s = gather_host(world, be, &t1, &t2, &mine, all, 1, err);
        double slowest = 0;
        for (int p = 0; p < P; p++) slowest = all[p] > slowest ? all[p] : slowest;
        if (it >= j->warmup) times[it - j->warmup] = slowest;
        for (int p = 0; p < P; p++) tall[p] = all[p];
        (void)dummy;
    }
    if (s == DIT_OK && rank == 0) {
        qsort(times, (size_t)j->repeat, sizeof(double), cmp_double);
        double med = times[j->repeat / 2];
        printf("RESULT config=%s latent=%lldx%lldx%lld tokens=%lld attention=%s ranks=%d cfg=%d ulysses=%d "
               "step_ms=%.1f attn_ms_rank0=%.1f device=\"%s\"\n",
               j->config, (long long)j->F, (long long)j->H, (long long)j->W, (long long)run.N, j->preset, P,
               j->cfg_degree, P / j->cfg_degree, med, attn_ms, be->device_name);
        printf("  last step per rank (ms):");
        for (int p = 0; p < P; p++) printf(" %.1f", tall[p]);
        printf("\n");
        if (j->save) {
            int64_t shp[4] = {16, j->F, j->H, j->W};
            io_st_out o = io_st_out_f32("velocity", IO_ST_F32, vc, 4, shp);
            s = io_safetensors_write(j->save, &o, 1, NULL, 0, err);
        }
    }
    dit_backend_tensor_free(be, &s1), dit_backend_tensor_free(be, &s2);
    dit_backend_tensor_free(be, &t1), dit_backend_tensor_free(be, &t2);
    wan_run_free(&run);
    wan_dit_free(&m);
    dit_comm_destroy(&cg), dit_comm_destroy(&sp), dit_comm_destroy(&world);
    dit_backend_destroy(&be);
    free(x), free(vc), free(vu), free(both), free(cc), free(cu), free(times);
    return s;
}

static int usage(void) {
    fprintf(stderr, "usage: bench_parallel [--config 1.3B|14B|test] [--latent FxHxW] [--ranks N] [--backend cpu|cuda]\n"
                    "                      [--cfg-parallel on|off] [--attention PRESET] [--warmup N] [--repeat N]\n"
                    "                      [--save FILE.safetensors] [--seed N]\n");
    return 2;
}

int main(int argc, char **argv) {
    job j;
    memset(&j, 0, sizeof j);
    j.config = "test", j.backend = "cpu", j.preset = "dense", j.ranks = 1, j.warmup = 1, j.repeat = 3;
    j.F = 3, j.H = 18, j.W = 30;
    int cfg_par = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        long long F, H, W;
        if (!strcmp(a, "--config")) j.config = v;
        else if (!strcmp(a, "--latent") && sscanf(v, "%lldx%lldx%lld", &F, &H, &W) == 3) j.F = F, j.H = H, j.W = W;
        else if (!strcmp(a, "--ranks")) j.ranks = atoi(v);
        else if (!strcmp(a, "--backend")) j.backend = v;
        else if (!strcmp(a, "--cfg-parallel")) cfg_par = !strcmp(v, "on");
        else if (!strcmp(a, "--attention")) j.preset = v;
        else if (!strcmp(a, "--warmup")) j.warmup = atoi(v);
        else if (!strcmp(a, "--repeat")) j.repeat = atoi(v);
        else if (!strcmp(a, "--save")) j.save = v;
        else if (!strcmp(a, "--seed")) j.seed = (uint64_t)atoll(v);
        else return usage();
        i++;
    }
    if (!strcmp(j.config, "test")) {
        wan_config_preset("1.3B", &j.cfg);
        j.cfg.heads = 4, j.cfg.head_dim = 64, j.cfg.dim = 256, j.cfg.ffn_dim = 512, j.cfg.layers = 2, j.cfg.text_dim = 64;
    } else if (wan_config_preset(j.config, &j.cfg) != 0) {
        fprintf(stderr, "bench_parallel: unknown --config '%s' (1.3B, 14B, test)\n", j.config);
        return 2;
    }
    if (j.ranks < 1 || j.ranks > DIT_COMM_MAX_RANKS || j.repeat < 1 || j.warmup < 0) return usage();
    if (j.ranks > 1 && strcmp(j.backend, "cpu") && !dit_comm_nccl_available()) {
        fprintf(stderr, "bench_parallel: %d GPUs need NCCL, which this build lacks\n", j.ranks);
        return 2;
    }
    j.cfg_degree = cfg_par && j.ranks % 2 == 0 ? 2 : 1;
    dit_err err = {0};
    dit_shm_world *w = NULL;
    size_t window = (size_t)(16 * j.F * j.H * j.W) * 4 * 2 + ((size_t)64 << 20);
    dit_status s = dit_parallel_world_create(j.ranks, j.cfg_degree, !strcmp(j.backend, "cpu"), window, &w, &err);
    if (s == DIT_OK) s = dit_launch_ranks(j.ranks, w, rank_main, &j, &err);
    dit_shm_world_destroy(&w);
    if (s != DIT_OK) {
        fprintf(stderr, "bench_parallel: error: %s\n", err.msg);
        return 1;
    }
    return 0;
}
