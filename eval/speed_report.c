/* speed_report.c — `spadit bench` results as a table (people) and JSON (machines). */
#include <cjson/cJSON.h> /* cJSON */
#include <math.h>        /* isfinite */
#include <stdlib.h>      /* free */
#include <stdio.h>       /* snprintf */
#include <string.h>      /* strlen */

#include "../io/atomic_file.h" /* io_write_file_atomic */
#include "speed.h"

/* The step whose figures summarise a method: its first sparse step (or 0). */
static int summary_step(const ev_speed_method *m) { return m->first_sparse_step >= 0 ? m->first_sparse_step : 0; }

const char *ev_sparsity_note(const char *label, int ran_sparse, double sparsity, int64_t tokens, char *buf,
                             size_t cap) {
    char at[64] = "at this shape";
    if (tokens > 0) snprintf(at, sizeof at, "at %lld tokens", (long long)tokens);
    if (!ran_sparse)
        snprintf(buf, cap, "note: %s never ran sparse %s (its dense steps / layers cover the whole run)", label, at);
    else if (sparsity < EV_LOW_SPARSITY)
        snprintf(buf, cap,
                 "note: %s %s %s: achieved sparsity %.2f (it keeps %.0f%% of the key blocks), so its attention "
                 "cannot be much faster than dense here",
                 label, sparsity < 0.05 ? "cannot sparsify" : "hardly sparsifies", at, sparsity, 100 * (1 - sparsity));
    else
        return NULL;
    return buf;
}

void ev_speed_print_table(const ev_speed_result *r, FILE *f, int per_layer) {
    const ev_speed_method *d = &r->methods[0];
    fprintf(f, "\nspadit bench on %s: latent %lldx%lldx%lld (%lld tokens), %d layers x %d heads x %d, %d steps, "
               "%d call%s per step\n",
            r->device, (long long)r->F, (long long)r->H, (long long)r->W, (long long)r->tokens, r->layers, r->heads,
            r->head_dim, r->steps, r->calls_per_step, r->calls_per_step == 1 ? "" : "s");
    fprintf(f, "dense step %.1f ms, of which attention %.1f ms (%.0f%%)\n\n", d->steps[0].ms_step, d->steps[0].ms_attn,
            100 * d->steps[0].ms_attn / d->steps[0].ms_step);
    fprintf(f, "%-28s %6s %9s %10s %10s %9s %9s %9s %9s\n", "method", "step", "sparsity", "attn ms", "step ms",
            "attn x", "step x", "Amdahl", "run x");
    for (int i = 0; i < r->n; i++) {
        const ev_speed_method *m = &r->methods[i];
        int s = summary_step(m);
        double ax = i ? ev_speed_attn_speedup(r, i, s) : 1, sx = i ? ev_speed_step_speedup(r, i, s) : 1;
        double bound = i ? ev_speed_amdahl_bound(r, i) : 1, run = d->total_ms / m->total_ms;
        fprintf(f, "%-28s %6d %9.3f %10.1f %10.1f %8.2fx %8.2fx %8.2fx %8.2fx\n", m->label, s, m->steps[s].sparsity,
                m->steps[s].ms_attn, m->steps[s].ms_step, ax, sx, bound, run);
    }
    fprintf(f, "\nattn x, step x: dense / method on the step shown (the method's first sparse step); Amdahl: the step "
               "speedup a kernel whose time scaled with density would give at the achieved sparsity; run x: the "
               "whole %d-step schedule, dense warm-up steps included.\n",
            r->steps);
    for (int i = 1; i < r->n; i++) {
        const ev_speed_method *m = &r->methods[i];
        char note[512];
        if (ev_sparsity_note(m->label, m->first_sparse_step >= 0, m->steps[summary_step(m)].sparsity, r->tokens, note,
                             sizeof note))
            fprintf(f, "%s\n", note);
    }
    if (!per_layer) return;
    fprintf(f, "\nper-layer attention ms on each method's first sparse step (speedup against dense):\n%-6s %10s", "layer",
            "dense");
    for (int i = 1; i < r->n; i++) fprintf(f, " %22.22s", r->methods[i].label);
    fprintf(f, "\n");
    for (int l = 0; l < r->layers; l++) {
        fprintf(f, "%-6d %10.2f", l, d->layer_ms[l]);
        for (int i = 1; i < r->n; i++) {
            const ev_speed_method *m = &r->methods[i];
            fprintf(f, "   %9.2f (%6.2fx)%s", m->layer_ms[l], m->layer_ms[l] > 0 ? d->layer_ms[l] / m->layer_ms[l] : 0,
                    m->layer_sparsity[l] > 0 ? "" : "d");
        }
        fprintf(f, "\n");
    }
    fprintf(f, "(d: the layer ran dense)\n");
}

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

dit_status ev_speed_write_json(const ev_speed_result *r, const char *model_label, const char *path, dit_err *err) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "device", r->device);
    cJSON_AddStringToObject(j, "model", model_label ? model_label : "");
    cJSON *lat = cJSON_AddArrayToObject(j, "latent");
    cJSON_AddItemToArray(lat, cJSON_CreateNumber((double)r->F));
    cJSON_AddItemToArray(lat, cJSON_CreateNumber((double)r->H));
    cJSON_AddItemToArray(lat, cJSON_CreateNumber((double)r->W));
    cJSON_AddNumberToObject(j, "tokens", (double)r->tokens);
    cJSON_AddNumberToObject(j, "layers", r->layers);
    cJSON_AddNumberToObject(j, "heads", r->heads);
    cJSON_AddNumberToObject(j, "head_dim", r->head_dim);
    cJSON_AddNumberToObject(j, "steps", r->steps);
    cJSON_AddNumberToObject(j, "calls_per_step", r->calls_per_step);
    cJSON *ms = cJSON_AddArrayToObject(j, "methods");
    const ev_speed_method *d = &r->methods[0];
    for (int i = 0; i < r->n; i++) {
        const ev_speed_method *m = &r->methods[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "label", m->label);
        cJSON_AddNumberToObject(o, "dense_steps", m->dense_steps);
        cJSON_AddNumberToObject(o, "dense_layers", m->dense_layers);
        cJSON_AddNumberToObject(o, "first_sparse_step", m->first_sparse_step);
        cJSON_AddNumberToObject(o, "total_ms", m->total_ms);
        cJSON_AddNumberToObject(o, "total_attention_ms", m->total_attn_ms);
        cJSON_AddItemToObject(o, "run_speedup", num(d->total_ms / m->total_ms));
        int s = summary_step(m);
        cJSON_AddItemToObject(o, "attention_speedup", num(i ? ev_speed_attn_speedup(r, i, s) : 1));
        cJSON_AddItemToObject(o, "step_speedup", num(i ? ev_speed_step_speedup(r, i, s) : 1));
        cJSON_AddItemToObject(o, "amdahl_bound", num(i ? ev_speed_amdahl_bound(r, i) : 1));
        cJSON *steps = cJSON_AddArrayToObject(o, "per_step");
        for (int st = 0; st < r->steps; st++) {
            const ev_speed_step *x = &m->steps[st];
            cJSON *so = cJSON_CreateObject();
            cJSON_AddNumberToObject(so, "step", st);
            cJSON_AddBoolToObject(so, "measured", x->measured);
            cJSON_AddNumberToObject(so, "step_ms", x->ms_step);
            cJSON_AddNumberToObject(so, "attention_ms", x->ms_attn);
            cJSON_AddNumberToObject(so, "rest_ms", x->ms_step - x->ms_attn);
            cJSON_AddNumberToObject(so, "sparsity", x->sparsity);
            cJSON_AddNumberToObject(so, "sparse_layers", x->sparse_layers);
            cJSON_AddItemToObject(so, "attention_speedup", num(i ? ev_speed_attn_speedup(r, i, st) : 1));
            cJSON_AddItemToObject(so, "step_speedup", num(i ? ev_speed_step_speedup(r, i, st) : 1));
            cJSON_AddItemToArray(steps, so);
        }
        cJSON *layers = cJSON_AddArrayToObject(o, "per_layer");
        for (int l = 0; l < r->layers; l++) {
            cJSON *lo = cJSON_CreateObject();
            cJSON_AddNumberToObject(lo, "layer", l);
            cJSON_AddNumberToObject(lo, "step", m->profile_step);
            cJSON_AddNumberToObject(lo, "attention_ms", m->layer_ms[l]);
            cJSON_AddNumberToObject(lo, "sparsity", m->layer_sparsity[l]);
            cJSON_AddItemToObject(lo, "speedup", num(m->layer_ms[l] > 0 ? d->layer_ms[l] / m->layer_ms[l] : NAN));
            cJSON_AddItemToArray(layers, lo);
        }
        cJSON_AddItemToArray(ms, o);
    }
    char *txt = cJSON_Print(j);
    cJSON_Delete(j);
    dit_status s = txt ? io_write_file_atomic(path, txt, strlen(txt), err) : DIT_FAIL(err, DIT_ERR_OOM, "bench JSON");
    free(txt);
    return s;
}
