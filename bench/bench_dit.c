/* bench_dit.c — one Wan DiT forward (one CFG branch) at real shapes with random
 * weights: time per forward, self-attention share (CUDA events per layer), peak
 * device memory.  Prints a table line and a JSON line.
 *
 *   bench_dit --config 1.3B --latent 21x60x104 [--backend cuda] [--warmup 1] [--repeat 3]
 *
 * The diffusers baseline is bench/bench_diffusers_wan.py, run in the same call
 * on the same card by bench/run_gpu_dit.sh; ratios are printed there. */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* malloc */
#include <string.h> /* strcmp */

#include "../dit/rng.h"
#include "../models/wan/wan_dit.h"
#ifdef SPADIT_HAVE_CUDA
#include "../dit/cuda/cuda_backend.h" /* dit_cuda_peak_bytes */
#endif

int main(int argc, char **argv) {
    const char *cfgname = "1.3B", *backend = "cuda";
    long long F = 21, H = 60, W = 104;
    int warmup = 1, repeat = 3, ctx_len = 120;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--config")) cfgname = v, i++;
        else if (!strcmp(a, "--backend")) backend = v, i++;
        else if (!strcmp(a, "--latent") && sscanf(v, "%lldx%lldx%lld", &F, &H, &W) == 3) i++;
        else if (!strcmp(a, "--warmup")) warmup = atoi(v), i++;
        else if (!strcmp(a, "--repeat")) repeat = atoi(v), i++;
        else {
            fprintf(stderr, "usage: bench_dit --config 1.3B|14B --latent FxHxW [--backend cuda|cpu] [--warmup N] [--repeat N]\n");
            return 2;
        }
    }
    wan_config cfg;
    if (wan_config_preset(cfgname, &cfg) != 0) return fprintf(stderr, "unknown config %s\n", cfgname), 2;
    dit_err err = {0};
    dit_backend *be;
    if (dit_backend_create(backend, &be, &err) != DIT_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    wan_dit *m;
    if (wan_dit_init_random(&cfg, be, 1234, &m, &err) != DIT_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    wan_run run;
    if (wan_run_init(&run, m, F, H, W, &err) != DIT_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    attn_stats *st = calloc((size_t)cfg.layers, sizeof *st);
    run.layer_stats = st;
    size_t nl = (size_t)(16 * F * H * W), nc = (size_t)ctx_len * cfg.text_dim;
    float *x = malloc(nl * 4), *c = malloc(nc * 4), *out = malloc(nl * 4);
    dit_rng rng;
    dit_rng_seed(&rng, 1);
    dit_rng_fill_normal(&rng, x, nl, 1);
    dit_rng_fill_normal(&rng, c, nc, 1);
    double best = 1e30, sum = 0, attn_sum = 0;
    for (int r = 0; r < warmup + repeat; r++) {
        run.call_index = 0;
        if (wan_dit_forward(&run, x, 999, c, ctx_len, out, &err) != DIT_OK) return fprintf(stderr, "%s\n", err.msg), 1;
        if (r >= warmup) {
            sum += run.ms_forward;
            attn_sum += run.ms_attention;
            if (run.ms_forward < best) best = run.ms_forward;
        }
    }
    double mean = sum / repeat, attn = attn_sum / repeat;
    size_t peak = 0;
#ifdef SPADIT_HAVE_CUDA
    if (be->device == DIT_DEVICE_CUDA) peak = dit_cuda_peak_bytes(be);
#endif
    printf("spadit %s %lldx%lldx%lld (%lld tokens) on %s: forward %.1f ms (best %.1f), self-attention %.1f ms (%.0f%%), "
           "peak device memory %.2f GB, weights %.2f GB\n",
           cfgname, F, H, W, (long long)run.N, backend, mean, best, attn, 100 * attn / mean, (double)peak / 1e9,
           (double)m->bytes_on_device / 1e9);
    printf("JSON {\"impl\":\"spadit\",\"config\":\"%s\",\"tokens\":%lld,\"ms\":%.3f,\"best_ms\":%.3f,\"attn_ms\":%.3f,"
           "\"peak_gb\":%.3f}\n",
           cfgname, (long long)run.N, mean, best, attn, (double)peak / 1e9);
    free(x), free(c), free(out), free(st);
    wan_run_free(&run);
    wan_dit_free(&m);
    dit_backend_destroy(&be);
    return 0;
}
