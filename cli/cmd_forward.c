/* cmd_forward.c — `spadit forward`: one Wan DiT forward on seeded random inputs,
 * with timing and the output's statistics (the main job until text-to-video lands). */
#include <math.h>   /* sqrt */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* malloc */
#include <string.h> /* strcmp */

#include "../dit/rng.h"           /* dit_rng */
#include "../io/atomic_file.h"     /* io_write_file_atomic */
#include "../models/wan/wan_dit.h" /* wan_dit_load, wan_dit_forward */
#include "cli.h"

#ifndef SPADIT_SOURCE_DIR
#define SPADIT_SOURCE_DIR "."
#endif
#define DEFAULT_MODEL SPADIT_SOURCE_DIR "/tests/data/wan_small_diffusers"

static void usage(FILE *f) {
    fprintf(f, "usage: spadit forward [MODEL] [options]\n"
               "  MODEL               Wan DiT folder (default: the bundled small model %s)\n"
               "  --backend NAME      cpu | cuda (default cpu)\n"
               "  --threads N         CPU backend threads (default: the cores this process may use)\n"
               "  --latent FxHxW      latent grid (default 3x8x12)\n"
               "  --t T               timestep (default 500)\n"
               "  --seed S            seed of the random latent and context (default 0)\n"
               "  --ctx-len L         real context rows, zero-padded to 512 (default 24)\n"
               "  --repeat N          forwards to time (default 1)\n"
               "  --input FILE        safetensors with 'latent' [C,F,H,W], 'context' [L,text_dim], 'timestep' [1]\n"
               "                      (instead of random inputs; --latent/--t/--ctx-len are taken from it)\n"
               "  --output FILE       write the velocity as raw little-endian f32 [C,F,H,W]\n",
            DEFAULT_MODEL);
}

int cmd_forward(int argc, char **argv) {
    const char *model = DEFAULT_MODEL, *backend = "cpu", *input = NULL, *output = NULL;
    long long F = 3, H = 8, W = 12, seed = 0, ctx_len = 24, repeat = 1, threads = 0;
    double t = 500;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int th = cli_threads_flag(a, v, &threads);
        if (th < 0) return 2;
        if (th > 0) {
            i++;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--backend")) {
            if (!v) return cli_fail("--backend needs a value (cpu or cuda)"), 2;
            backend = v, i++;
        } else if (!strcmp(a, "--latent")) {
            long long d[3];
            if (!cli_parse_dims(v, 3, 4096, d)) {
                fprintf(stderr, "spadit: error: --latent expects FxHxW with integers in [1, 4096], got '%s'\n",
                        v ? v : "");
                return 2;
            }
            F = d[0], H = d[1], W = d[2];
            i++;
        } else if (!strcmp(a, "--t")) {
            if (!cli_parse_float(a, v, 0, 1000, &t)) return 2;
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (!cli_parse_int(a, v, 0, (long long)1 << 62, &seed)) return 2;
            i++;
        } else if (!strcmp(a, "--ctx-len")) {
            if (!cli_parse_int(a, v, 0, 512, &ctx_len)) return 2;
            i++;
        } else if (!strcmp(a, "--repeat")) {
            if (!cli_parse_int(a, v, 1, 1000, &repeat)) return 2;
            i++;
        } else if (!strcmp(a, "--input") || !strcmp(a, "--output")) {
            if (!v) {
                fprintf(stderr, "spadit: error: %s needs a file name\n", a);
                return 2;
            }
            if (a[2] == 'i') input = v;
            else output = v;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "spadit: error: unknown option '%s' for forward (see spadit forward --help)\n", a);
            return 2;
        } else {
            model = a;
        }
    }
    dit_err err = {0};
    dit_backend *be = NULL;
    if (dit_backend_create_threads(backend, (int)threads, &be, &err) != DIT_OK) return cli_fail(err.msg);
    wan_dit *m = NULL;
    if (wan_dit_load(model, be, &m, &err) != DIT_OK) {
        dit_backend_destroy(&be);
        return cli_fail(err.msg);
    }
    int rc = 0;
    io_safetensors *io = NULL;
    const io_st_tensor *lt = NULL, *ct = NULL, *tt = NULL;
    if (input) {
        if (io_safetensors_open(input, &io, &err) != DIT_OK) {
            wan_dit_free(&m);
            dit_backend_destroy(&be);
            return cli_fail(err.msg);
        }
        lt = io_safetensors_find(io, "latent"), ct = io_safetensors_find(io, "context"), tt = io_safetensors_find(io, "timestep");
        if (!lt || !ct || !tt || lt->ndim != 4 || lt->shape[0] != m->cfg.in_dim || ct->ndim != 2 ||
            ct->shape[1] != m->cfg.text_dim || io_st_tensor_numel(tt) != 1 || lt->shape[1] < 1 || lt->shape[1] > 4096 ||
            lt->shape[2] < 1 || lt->shape[2] > 4096 || lt->shape[3] < 1 || lt->shape[3] > 4096 || ct->shape[0] > 4096) {
            fprintf(stderr, "spadit: error: %s: expected 'latent' [%d, F, H, W] (F, H, W in [1, 4096]), 'context' [L, %d] "
                            "(L <= 4096) and 'timestep' [1]\n",
                    input, m->cfg.in_dim, m->cfg.text_dim);
            io_safetensors_close(&io);
            wan_dit_free(&m);
            dit_backend_destroy(&be);
            return 1;
        }
        F = lt->shape[1], H = lt->shape[2], W = lt->shape[3], ctx_len = ct->shape[0];
    }
    wan_run run;
    if (wan_run_init(&run, m, F, H, W, &err) != DIT_OK) {
        rc = cli_fail(err.msg);
    } else {
        size_t nl = (size_t)(m->cfg.in_dim * F * H * W), nc = (size_t)(ctx_len * m->cfg.text_dim);
        float *x = malloc(nl * sizeof(float)), *ctx = malloc((nc ? nc : 1) * sizeof(float));
        float *vel = malloc((size_t)(m->cfg.out_dim * F * H * W) * sizeof(float));
        if (!x || !ctx || !vel) {
            fprintf(stderr, "spadit: error: cannot allocate the latent %lldx%lldx%lldx%lld and its context\n",
                    (long long)m->cfg.in_dim, F, H, W);
            rc = 1;
        } else if (io) {
            float tv = 0;
            if (io_st_tensor_to_f32(lt, x, (int64_t)nl, input, &err) != DIT_OK ||
                io_st_tensor_to_f32(ct, ctx, (int64_t)nc, input, &err) != DIT_OK ||
                io_st_tensor_to_f32(tt, &tv, 1, input, &err) != DIT_OK)
                rc = cli_fail(err.msg);
            t = tv;
        } else {
            dit_rng rng;
            dit_rng_seed(&rng, (uint64_t)seed);
            dit_rng_fill_normal(&rng, x, nl, 1.0f);
            dit_rng_fill_normal(&rng, ctx, nc, 1.0f);
        }
        printf("model %s: dim %d, %d layers, %d heads; backend %s (%s); latent %lldx%lldx%lldx%lld -> %lld tokens\n", model,
               m->cfg.dim, m->cfg.layers, m->cfg.heads, be->name, be->device_name, (long long)m->cfg.in_dim, F, H, W,
               (long long)run.N);
        for (long long r = 0; r < repeat && rc == 0; r++) {
            if (wan_dit_forward(&run, x, t, ctx, ctx_len, vel, &err) != DIT_OK) {
                rc = cli_fail(err.msg);
                break;
            }
            double ss = 0, mx = 0;
            size_t no = (size_t)(m->cfg.out_dim * F * H * W);
            for (size_t k = 0; k < no; k++) {
                ss += (double)vel[k] * vel[k];
                if (fabs(vel[k]) > mx) mx = fabs(vel[k]);
            }
            printf("forward %lld: %.2f ms (attention %.2f ms); velocity rms %.6f, max |v| %.6f\n", r + 1,
                   run.ms_forward, run.ms_attention, sqrt(ss / (double)no), mx);
        }
        if (rc == 0 && output) { /* temp + rename: a failed write leaves any old file as it was */
            size_t no = (size_t)(m->cfg.out_dim * F * H * W);
            if (io_write_file_atomic(output, vel, no * sizeof(float), &err) != DIT_OK) rc = cli_fail(err.msg);
        }
        free(x);
        free(ctx);
        free(vel);
        wan_run_free(&run);
    }
    io_safetensors_close(&io);
    wan_dit_free(&m);
    dit_backend_destroy(&be);
    return rc;
}
