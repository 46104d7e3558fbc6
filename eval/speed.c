/* speed.c — the measuring loop of `spadit bench` (speed.h). */
#include "speed.h"

#include <math.h>   /* NAN */
#include <stdlib.h> /* malloc, qsort */
#include <string.h> /* memset */

#include "../dit/rng.h"          /* dit_rng */
#include "../sampler/schedule.h" /* smp_schedule_wan_unipc */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The first step whose non-warm-up layers run the sparse method; -1 if none does. */
static int first_sparse_step(const attn_policy *p, int layers, int steps) {
    if (p->sparse.method == ATTN_METHOD_DENSE || p->dense_layers >= layers || p->dense_steps >= steps) return -1;
    return p->dense_steps;
}

typedef struct measure_buf {
    double *step_ms, *attn_ms, *sparsity; /* [repeat] */
    int *sparse_layers;
    double *layer_ms;                     /* [repeat, layers] */
    double *layer_sp;                     /* [layers] */
} measure_buf;

/* Runs the calls of step s (repeat + warmup times) and stores the medians into st, layer_ms, layer_sp. */
static dit_status measure_step(wan_run *run, const ev_speed_opts *o, const smp_schedule *sch, const float *x,
                               const float *ctx, int64_t ctx_rows, float *vel, int s, measure_buf *b,
                               ev_speed_step *st, double *layer_ms, double *layer_sp, dit_err *err) {
    int cps = o->cfg ? 2 : 1, L = run->m->cfg.layers;
    for (int r = -o->warmup; r < o->repeat; r++) {
        double step_ms = 0, attn_ms = 0, sp_sum = 0;
        int sp_n = 0;
        if (r >= 0)
            for (int l = 0; l < L; l++) b->layer_ms[(size_t)r * L + l] = 0;
        for (int c = 0; c < cps; c++) {
            run->call_index = s * cps + c;
            DIT_TRY(wan_dit_forward(run, x, sch->timestep[s], ctx, ctx_rows, vel, err));
            step_ms += run->ms_forward;
            attn_ms += run->ms_attention;
            for (int l = 0; l < L; l++) {
                const attn_stats *a = &run->layer_stats[l];
                if (r >= 0) b->layer_ms[(size_t)r * L + l] += a->ms_total;
                if (a->method != ATTN_METHOD_DENSE) sp_sum += a->sparsity, sp_n++;
                if (r == o->repeat - 1) layer_sp[l] = a->method != ATTN_METHOD_DENSE ? a->sparsity : 0;
            }
        }
        if (r < 0) continue;
        b->step_ms[r] = step_ms, b->attn_ms[r] = attn_ms;
        b->sparsity[r] = sp_n ? sp_sum / sp_n : 0;
        b->sparse_layers[r] = sp_n / cps;
    }
    st->measured = 1;
    st->sparsity = b->sparsity[o->repeat - 1];
    st->sparse_layers = b->sparse_layers[o->repeat - 1];
    st->ms_step = median(b->step_ms, o->repeat);
    st->ms_attn = median(b->attn_ms, o->repeat);
    double *col = malloc(sizeof(double) * (size_t)o->repeat);
    if (!col) return DIT_FAIL(err, DIT_ERR_OOM, "bench buffers");
    for (int l = 0; l < L; l++) {
        for (int r = 0; r < o->repeat; r++) col[r] = b->layer_ms[(size_t)r * L + l];
        layer_ms[l] = median(col, o->repeat);
    }
    free(col);
    return DIT_OK;
}

dit_status ev_speed_run(const ev_speed_opts *o, ev_speed_result *res, dit_err *err) {
    memset(res, 0, sizeof *res);
    wan_dit *m = o->model;
    const wan_config *c = &m->cfg;
    if (o->repeat < 1 || o->warmup < 0 || o->steps < 1 || o->n_methods < 0 || o->n_methods > 16)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "bench: repeat >= 1, warmup >= 0, steps >= 1 and at most 16 presets");
    smp_schedule sch;
    DIT_TRY(smp_schedule_wan_unipc(o->steps, o->shift, &sch, err));
    int L = c->layers, cps = o->cfg ? 2 : 1;
    snprintf(res->device, sizeof res->device, "%s", m->be->device_name);
    res->F = o->F, res->H = o->H, res->W = o->W;
    res->layers = L, res->heads = c->heads, res->head_dim = c->head_dim;
    res->steps = o->steps, res->calls_per_step = cps;
    /* refuse a size that cannot fit before anything is allocated */
    DIT_TRY(wan_run_check_memory(c, m->be, o->F, o->H, o->W, 2 * (int64_t)c->in_dim * o->F * o->H * o->W * 4, err));
    res->methods = calloc((size_t)o->n_methods + 1, sizeof *res->methods);
    if (!res->methods) return DIT_FAIL(err, DIT_ERR_OOM, "bench results");

    wan_run run;
    memset(&run, 0, sizeof run);
    int64_t n_lat = (int64_t)c->in_dim * o->F * o->H * o->W, ctx_rows = 128;
    attn_stats *lst = calloc((size_t)L, sizeof *lst);
    float *x = malloc(sizeof(float) * (size_t)n_lat), *vel = malloc(sizeof(float) * (size_t)n_lat);
    float *ctx = malloc(sizeof(float) * (size_t)(ctx_rows * c->text_dim));
    measure_buf b = {malloc(sizeof(double) * (size_t)o->repeat), malloc(sizeof(double) * (size_t)o->repeat),
                     malloc(sizeof(double) * (size_t)o->repeat), malloc(sizeof(int) * (size_t)o->repeat),
                     malloc(sizeof(double) * (size_t)o->repeat * (size_t)L), NULL};
    dit_status s = DIT_OK;
    if (!lst || !x || !vel || !ctx || !b.step_ms || !b.attn_ms || !b.sparsity || !b.sparse_layers || !b.layer_ms)
        s = DIT_FAIL(err, DIT_ERR_OOM, "bench buffers for %lld latent values", (long long)n_lat);
    if (s == DIT_OK) {
        dit_rng rng;
        dit_rng_seed(&rng, o->seed);
        dit_rng_fill_normal(&rng, x, (size_t)n_lat, 1);
        dit_rng_fill_normal(&rng, ctx, (size_t)(ctx_rows * c->text_dim), 1);
        s = wan_run_init(&run, m, o->F, o->H, o->W, err);
        run.layer_stats = lst;
        res->tokens = run.N;
    }
    attn_policy pol[17];
    pol[0] = attn_policy_dense();
    for (int i = 0; i < o->n_methods; i++) pol[i + 1] = o->methods[i];
    for (int i = 0; s == DIT_OK && i <= o->n_methods; i++) {
        ev_speed_method *r = &res->methods[i];
        res->n = i + 1;
        pol[i].calls_per_step = cps;
        snprintf(r->label, sizeof r->label, "%s", i == 0 ? "dense" : o->labels[i - 1]);
        r->dense_steps = pol[i].dense_steps, r->dense_layers = pol[i].dense_layers;
        r->first_sparse_step = first_sparse_step(&pol[i], L, o->steps);
        r->steps = calloc((size_t)o->steps, sizeof *r->steps);
        r->layer_ms = calloc((size_t)L, sizeof(double));
        r->layer_sparsity = calloc((size_t)L, sizeof(double));
        if (!r->steps || !r->layer_ms || !r->layer_sparsity) {
            s = DIT_FAIL(err, DIT_ERR_OOM, "bench results");
            break;
        }
        s = wan_run_set_policy(&run, i == 0 ? NULL : &pol[i], err);
        r->profile_step = r->first_sparse_step >= 0 ? r->first_sparse_step : 0;
        double *scratch_ms = calloc((size_t)L, sizeof(double)), *scratch_sp = calloc((size_t)L, sizeof(double));
        if (s == DIT_OK && (!scratch_ms || !scratch_sp)) s = DIT_FAIL(err, DIT_ERR_OOM, "bench results");
        for (int st = 0; s == DIT_OK && st < o->steps; st++) {
            int want = o->all_steps || st == 0 || st == r->first_sparse_step;
            if (!want) continue;
            int prof = st == r->profile_step;
            s = measure_step(&run, o, &sch, x, ctx, ctx_rows, vel, st, &b, &r->steps[st],
                             prof ? r->layer_ms : scratch_ms, prof ? r->layer_sparsity : scratch_sp, err);
            if (s == DIT_OK && o->log)
                fprintf(o->log, "spadit bench: %-24s step %2d  %9.1f ms  attention %9.1f ms  sparsity %.3f (%d sparse layers)\n",
                        r->label, st, r->steps[st].ms_step, r->steps[st].ms_attn, r->steps[st].sparsity,
                        r->steps[st].sparse_layers);
        }
        free(scratch_ms), free(scratch_sp);
        if (s != DIT_OK) {
            dit_err_wrap(err, "bench %s", r->label);
            break;
        }
        /* steps not measured: the measured step of the same phase stands in */
        for (int st = 0; st < o->steps; st++) {
            if (r->steps[st].measured) continue;
            int src = r->first_sparse_step >= 0 && st >= r->first_sparse_step ? r->first_sparse_step : 0;
            r->steps[st] = r->steps[src];
            r->steps[st].measured = 0;
        }
        for (int st = 0; st < o->steps; st++) r->total_ms += r->steps[st].ms_step, r->total_attn_ms += r->steps[st].ms_attn;
    }
    wan_run_free(&run);
    free(lst), free(x), free(vel), free(ctx);
    free(b.step_ms), free(b.attn_ms), free(b.sparsity), free(b.sparse_layers), free(b.layer_ms);
    if (s != DIT_OK) ev_speed_result_free(res);
    return s;
}

void ev_speed_result_free(ev_speed_result *r) {
    for (int i = 0; r->methods && i < r->n; i++)
        free(r->methods[i].steps), free(r->methods[i].layer_ms), free(r->methods[i].layer_sparsity);
    free(r->methods);
    memset(r, 0, sizeof *r);
}

double ev_speed_attn_speedup(const ev_speed_result *r, int m, int s) {
    double d = r->methods[0].steps[s].ms_attn, x = r->methods[m].steps[s].ms_attn;
    return x > 0 ? d / x : NAN;
}

double ev_speed_step_speedup(const ev_speed_result *r, int m, int s) {
    double d = r->methods[0].steps[s].ms_step, x = r->methods[m].steps[s].ms_step;
    return x > 0 ? d / x : NAN;
}

double ev_speed_amdahl_bound(const ev_speed_result *r, int m) {
    const ev_speed_method *d = &r->methods[0], *x = &r->methods[m];
    int s = x->profile_step;
    double step = d->steps[s].ms_step, rest = step - d->steps[s].ms_attn, attn = 0;
    for (int l = 0; l < r->layers; l++) attn += d->layer_ms[l] * (1 - x->layer_sparsity[l]);
    /* the dense profile is step 0; attention time does not depend on the step for dense */
    return rest + attn > 0 ? step / (rest + attn) : NAN;
}
