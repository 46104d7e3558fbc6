/* cmd_bench.c — `spadit bench`: per-step and per-layer attention time of dense (cuDNN)
 * and of attention presets, measured in one run on one device, with random weights at
 * real shapes or a checkpoint (eval/speed.h). */
#include <stdio.h>  /* fprintf */
#include <stdlib.h> /* malloc */
#include <string.h> /* strtok */

#include "../eval/speed.h"           /* ev_speed_run */
#include "../models/wan/wan_t2v.h"   /* wan_t2v_locate, wan_t2v_latent_shape */
#include "../io/atomic_file.h"     /* io_output_dir_check */
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f, "usage: spadit bench [options]\n"
               "  --attention LIST     presets measured against dense (default rectified-wan,rectified-90,sla-10,sla-5)\n"
               "  --config 1.3B|14B    random Wan2.1 weights of that size (default 1.3B)\n"
               "  --model DIR          a checkpoint instead (pipeline folder or DiT folder/file)\n"
               "  --size WxH           video size (default 832x480)\n"
               "  --frames N           video frames, 4n+1 (default 81)\n"
               "  --steps N            schedule length (default 50); --shift X (default 5)\n"
               "  --no-cfg             one transformer call per step instead of two\n"
               "  --all-steps          measure every step (default: step 0 and each method's first sparse step;\n"
               "                       the other steps of the same phase take those figures)\n"
               "  --warmup N --repeat N  untimed and timed runs per measured step (default 1, 3; median kept)\n"
               "  --backend cuda|cpu   device (default cuda)\n"
               CLI_THREADS_HELP
               "  --json FILE          write the results as JSON\n"
               "  --per-layer          print the per-layer table\n"
               "  --seed N --quiet\n");
}

int cmd_bench(int argc, char **argv) {
    const char *list = "rectified-wan,rectified-90,sla-10,sla-5", *config = "1.3B", *model = NULL;
    const char *backend = "cuda", *json = NULL;
    cli_run_flags rf = {832, 480, 81, 50, 0, 5}; /* Wan2.1 480p x 81, 50 steps, shift 5 */
    long long warmup = 1, repeat = 3, threads = 0;
    int cfg = 1, all_steps = 0, per_layer = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1, run_flag;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--no-cfg")) cfg = 0, takes = 0;
        else if (!strcmp(a, "--all-steps")) all_steps = 1, takes = 0;
        else if (!strcmp(a, "--per-layer")) per_layer = 1, takes = 0;
        else if (!strcmp(a, "--quiet")) quiet = 1, takes = 0;
        else if (a[0] == '-' && a[1] == '-' && !v) {
            fprintf(stderr, "spadit: error: %s needs a value (see spadit bench --help)\n", a);
            return 2;
        } else if (!strcmp(a, "--attention")) list = v;
        else if (!strcmp(a, "--config")) config = v;
        else if (!strcmp(a, "--model")) model = v;
        else if (!strcmp(a, "--backend")) backend = v;
        else if (!strcmp(a, "--json")) json = v;
        else if ((run_flag = cli_run_flag(a, v, &rf)) != 0 || (run_flag = cli_threads_flag(a, v, &threads)) != 0) {
            if (run_flag < 0) return 2;
        } else if (!strcmp(a, "--warmup")) {
            if (!cli_parse_int(a, v, 0, 100, &warmup)) return 2;
        } else if (!strcmp(a, "--repeat")) {
            if (!cli_parse_int(a, v, 1, 100, &repeat)) return 2;
        } else {
            fprintf(stderr, "spadit: error: unknown argument '%s' for bench (see spadit bench --help)\n", a);
            return 2;
        }
        i += takes;
    }
    const long long W = rf.W, H = rf.H, frames = rf.frames, steps = rf.steps, seed = rf.seed;
    const double shift = rf.shift;
    dit_err err = {0};
    int64_t shape[4];
    if (wan_t2v_latent_shape((int)W, (int)H, (int)frames, shape, &err) != DIT_OK) return cli_fail(err.msg);
    /* presets */
    attn_policy methods[16];
    char labels[16][96];
    int nm = 0, need_proj_l = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (nm == 16) return cli_fail("--attention: at most 16 presets");
        if (attn_policy_load(tok, &methods[nm], &err) != DIT_OK) return cli_fail(err.msg);
        snprintf(labels[nm], sizeof labels[nm], "%.63s", methods[nm].name);
        need_proj_l |= methods[nm].sparse.method == ATTN_METHOD_SLA;
        nm++;
    }
    if (json && io_output_dir_check(json, &err) != DIT_OK) {
        fprintf(stderr, "spadit: error: %s (flag --json)\n", err.msg);
        return 2;
    }
    dit_backend *be = NULL;
    if (dit_backend_create_threads(backend, (int)threads, &be, &err) != DIT_OK) {
        if (err.code == DIT_ERR_NO_DEVICE || err.code == DIT_ERR_UNSUPPORTED)
            fprintf(stderr, "spadit: error: %s\n  (spadit bench measures on the GPU by default; --backend cpu runs the "
                            "CPU reference)\n", err.msg);
        else cli_fail(err.msg);
        return 1;
    }
    wan_dit *m = NULL;
    char model_label[4200];
    dit_status s;
    if (model) {
        wan_t2v_paths paths;
        dit_err e2 = {0};
        const char *dit = wan_t2v_locate(model, &paths, &e2) == DIT_OK ? paths.dit : model;
        snprintf(model_label, sizeof model_label, "%s", dit);
        s = wan_dit_load(dit, be, &m, &err);
    } else {
        wan_config c;
        if (wan_config_preset(config, &c) != 0) {
            dit_backend_destroy(&be);
            fprintf(stderr, "spadit: error: --config: unknown '%s' (expected 1.3B or 14B)\n", config);
            return 2;
        }
        snprintf(model_label, sizeof model_label, "Wan2.1-T2V-%s, random weights", config);
        s = wan_dit_init_random(&c, be, 1234, &m, &err);
    }
    if (s == DIT_OK && need_proj_l && !m->has_proj_l) {
        if (!quiet)
            fprintf(stderr, "spadit bench: the model has no SLA proj_l; random proj_l weights are added for the SLA "
                            "presets (timing only: the values do not change the work done)\n");
        s = wan_dit_add_random_proj_l(m, 99, &err);
        if (s == DIT_OK) {
            size_t len = strlen(model_label);
            snprintf(model_label + len, sizeof model_label - len, " (SLA proj_l random, timing only)");
        }
    }
    ev_speed_result res;
    memset(&res, 0, sizeof res);
    if (s == DIT_OK) {
        ev_speed_opts o;
        memset(&o, 0, sizeof o);
        o.model = m;
        o.F = shape[1], o.H = shape[2], o.W = shape[3];
        o.steps = (int)steps, o.shift = shift, o.cfg = cfg, o.all_steps = all_steps;
        o.warmup = (int)warmup, o.repeat = (int)repeat;
        o.methods = methods, o.labels = (const char(*)[96])labels, o.n_methods = nm;
        o.seed = (uint64_t)seed;
        o.log = quiet ? NULL : stderr;
        if (!quiet)
            fprintf(stderr, "spadit bench: %s on %s, %lldx%lld, %lld frames\n", model_label, be->device_name, W, H,
                    frames);
        s = ev_speed_run(&o, &res, &err);
    }
    if (s == DIT_OK) ev_speed_print_table(&res, stdout, per_layer);
    if (s == DIT_OK && json) {
        s = ev_speed_write_json(&res, model_label, json, &err);
        if (s == DIT_OK) printf("results: %s\n", json);
    }
    ev_speed_result_free(&res);
    wan_dit_free(&m);
    dit_backend_destroy(&be);
    return s == DIT_OK ? 0 : cli_fail(err.msg);
}
