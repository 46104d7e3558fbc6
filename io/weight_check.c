/* weight_check.c — one error for everything wrong between a checkpoint and a model. */
#include "weight_check.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* realloc, qsort, bsearch */
#include <string.h> /* strlen, strcmp */

#define LIST_MAX 8

void io_wcheck_init(io_wcheck *c) { memset(c, 0, sizeof *c); }

void io_wcheck_free(io_wcheck *c) {
    free(c->names);
    c->names = NULL;
    c->nn = c->cap = 0;
}

static void note(io_wcheck *c, int kind, const char *name, const char *extra) {
    if (c->n[kind] < LIST_MAX) {
        size_t len = strlen(c->text[kind]);
        snprintf(c->text[kind] + len, sizeof c->text[kind] - len, "\n    %s%s", name, extra);
    }
    c->n[kind]++;
}

static void remember(io_wcheck *c, const char *name) {
    if (c->nn == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        const char **p = realloc(c->names, cap * sizeof *p);
        if (!p) {
            c->oom = 1;
            return;
        }
        c->names = p, c->cap = cap;
    }
    c->names[c->nn++] = name;
}

static char *shape_str(const int64_t *s, int n, char *buf, size_t cap) {
    dit_tensor t = dit_tensor_make(DIT_DTYPE_F32, DIT_DEVICE_CPU, NULL, n > 5 ? 5 : n, s);
    return dit_shape_str(&t, buf, cap);
}

const io_st_tensor *io_wcheck_find(io_wcheck *c, const io_weights *iw, const char *name, const char *alt,
                                   const int64_t *shape, int ndim) {
    remember(c, name);
    if (alt) remember(c, alt);
    const io_st_tensor *t = io_weights_find(iw, name);
    if (!t && alt) t = io_weights_find(iw, alt);
    char sh[96], got[96], extra[320];
    if (!t) {
        snprintf(extra, sizeof extra, " %s%s%.200s%s", shape_str(shape, ndim, sh, sizeof sh), alt ? " (or " : "",
                 alt ? alt : "", alt ? ")" : "");
        note(c, 0, name, extra);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = t->shape[d] == shape[d];
    if (!ok) {
        snprintf(extra, sizeof extra, ": got %s, expected %s", shape_str(t->shape, t->ndim, got, sizeof got),
                 shape_str(shape, ndim, sh, sizeof sh));
        note(c, 1, t->name, extra);
        return NULL;
    }
    if (io_st_dtype_to_dit(t->dtype) < 0) {
        snprintf(extra, sizeof extra, ": dtype %s, expected F32, BF16, F16 or F64", io_st_dtype_name(t->dtype));
        note(c, 1, t->name, extra);
        return NULL;
    }
    return t;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void io_wcheck_unexpected(io_wcheck *c, const io_weights *iw, int (*skip)(const char *name, const void *user),
                          const void *user) {
    qsort(c->names, c->nn, sizeof *c->names, cmp_str);
    for (int i = 0; i < io_weights_count(iw); i++) {
        const char *nm = io_weights_at(iw, i)->name;
        if (c->nn && bsearch(&nm, c->names, c->nn, sizeof *c->names, cmp_str)) continue;
        if (skip && skip(nm, user)) continue;
        note(c, 2, nm, "");
    }
}

dit_status io_wcheck_result(const io_wcheck *c, dit_err *err, const char *context_fmt, ...) {
    if (c->oom) return DIT_FAIL(err, DIT_ERR_OOM, "tensor name index");
    if (!c->n[0] && !c->n[1] && !c->n[2]) return DIT_OK;
    char ctx[2048], more[3][64];
    va_list ap;
    va_start(ap, context_fmt);
    vsnprintf(ctx, sizeof ctx, context_fmt, ap);
    va_end(ap);
    for (int k = 0; k < 3; k++) {
        more[k][0] = 0;
        if (c->n[k] > LIST_MAX) snprintf(more[k], sizeof more[k], "\n    ... and %d more", c->n[k] - LIST_MAX);
    }
    return DIT_FAIL(err, c->n[0] ? DIT_ERR_MISSING : DIT_ERR_SHAPE,
                    "%s: %d missing, %d mis-shaped, %d unexpected tensor(s)%s%s%s%s%s%s%s%s%s", ctx, c->n[0], c->n[1],
                    c->n[2], c->n[0] ? "\n  missing:" : "", c->text[0], more[0], c->n[1] ? "\n  mis-shaped:" : "",
                    c->text[1], more[1], c->n[2] ? "\n  unexpected:" : "", c->text[2], more[2]);
}
