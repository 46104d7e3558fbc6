/* speed.h — `spadit bench`: attention time per layer and step, dense (cuDNN on the
 * GPU) against attention presets, and the rest of each step, measured in one run
 * on one device (CUDA events around every attention call, wall clock around every
 * transformer call).  Derived figures: per-step attention speedup, end-to-end
 * step speedup, whole-schedule speedup, and the Amdahl bound for the sparsity the
 * method achieved.  Checked by tests/test_bench.sh. */
#ifndef SPADIT_SPEED_H
#define SPADIT_SPEED_H

#include <stdio.h> /* FILE */

#include "../attention/policy.h" /* attn_policy */
#include "../models/wan/wan_dit.h" /* wan_dit */

typedef struct ev_speed_opts {
    wan_dit *model;            /* loaded or random; its backend is the device measured */
    int64_t F, H, W;           /* latent grid */
    int steps;                 /* schedule length (timesteps from the Wan UniPC schedule) */
    double shift;
    int cfg;                   /* 1: two transformer calls per step (cond, uncond), 0: one */
    int all_steps;             /* 1: measure every step; 0: measure step 0 and each method's first sparse step */
    int warmup, repeat;        /* per measured step: untimed runs, timed runs (the median is kept) */
    const attn_policy *methods; /* presets compared with dense */
    const char (*labels)[96];
    int n_methods;
    uint64_t seed;             /* latent and context */
    FILE *log;                 /* progress (NULL: quiet) */
} ev_speed_opts;

typedef struct ev_speed_step {
    int measured;              /* 0: copied from the measured step of the same phase (dense warm-up / sparse) */
    double ms_step;            /* all calls of the step (wall clock, includes host<->device latent copies) */
    double ms_attn;            /* self-attention, all calls (CUDA events / wall clock on the CPU) */
    double sparsity;           /* mean achieved sparsity over the layers that ran sparse (0 if none) */
    int sparse_layers;         /* layers that ran the sparse method */
} ev_speed_step;

typedef struct ev_speed_method {
    char label[96];
    int dense_steps, dense_layers;
    int first_sparse_step;     /* -1: every step dense */
    ev_speed_step *steps;      /* [steps] */
    int profile_step;          /* the step of the per-layer profile (the first sparse step, or 0) */
    double *layer_ms;          /* [layers]: attention ms of that step, all calls */
    double *layer_sparsity;    /* [layers]: achieved sparsity (0: dense layer) */
    double total_ms, total_attn_ms; /* whole schedule */
} ev_speed_method;

typedef struct ev_speed_result {
    char device[128];
    int64_t F, H, W, tokens;
    int layers, heads, head_dim, steps, calls_per_step;
    int n;                     /* methods[0] is dense */
    ev_speed_method *methods;
} ev_speed_result;

dit_status ev_speed_run(const ev_speed_opts *o, ev_speed_result *res, dit_err *err);
void ev_speed_result_free(ev_speed_result *r);

/* Derived figures of method m (m > 0) against dense at step s. */
double ev_speed_attn_speedup(const ev_speed_result *r, int m, int s);
double ev_speed_step_speedup(const ev_speed_result *r, int m, int s);
/* Amdahl bound of the step: dense step time / (dense rest + each layer's dense attention time x (1 - the
 * method's achieved sparsity of that layer)), on the profile step. */
double ev_speed_amdahl_bound(const ev_speed_result *r, int m);

/* A line for people when a preset cannot sparsify at the run's shape: it never ran sparse, or its
 * achieved sparsity on the layers that did is below EV_LOW_SPARSITY (few key blocks per row at small
 * token counts; top-p, neighbour and forced blocks then keep most of them), so its attention cannot be
 * much faster than dense.  Writes the note into buf (tokens 0: not named) and returns buf, or returns
 * NULL when the preset did sparsify.  Used by `spadit bench` and `spadit compare`. */
#define EV_LOW_SPARSITY 0.25
const char *ev_sparsity_note(const char *label, int ran_sparse, double sparsity, int64_t tokens, char *buf,
                             size_t cap);

/* Table for people (stdout) and JSON for machines. */
void ev_speed_print_table(const ev_speed_result *r, FILE *f, int per_layer);
dit_status ev_speed_write_json(const ev_speed_result *r, const char *model_label, const char *path, dit_err *err);

#endif
