/* safetensors_write.c — safetensors writer (see safetensors_write.h): header
 * JSON through cJSON, data streamed to a temp file then renamed into place.
 * Checked by tests/test_safetensors_write.c, and read back by io/safetensors.c
 * in tests/test_umt5_cache.c. */
#include "safetensors_write.h"

#include <cjson/cJSON.h> /* cJSON_CreateObject, cJSON_PrintUnformatted */
#include <errno.h>       /* errno */
#include <fcntl.h>       /* open, O_CREAT, O_EXCL */
#include <stdio.h>       /* snprintf, rename */
#include <stdlib.h>      /* malloc, free, qsort */
#include <string.h>      /* strcmp, strlen, memcpy, strerror */
#include <time.h>        /* clock_gettime */
#include <unistd.h>      /* write, fsync, close, unlink, getpid */

#include "../dit/tensor.h" /* dit_convert_from_f32 */
#include "atomic_file.h"    /* io_tmp_create, io_tmp_commit, io_tmp_discard */

io_st_out io_st_out_f32(const char *name, io_st_dtype dtype, const float *data, int ndim, const int64_t *shape) {
    io_st_out o;
    memset(&o, 0, sizeof o);
    o.name = name;
    o.dtype = dtype;
    o.ndim = ndim < 0 ? 0 : ndim > IO_ST_MAX_DIMS ? IO_ST_MAX_DIMS : ndim;
    for (int i = 0; i < o.ndim; i++) o.shape[i] = shape[i];
    o.f32 = data;
    return o;
}

static int64_t out_numel(const io_st_out *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* Validate every tensor and metadata entry; messages name the entry. */
static dit_status check_inputs(const io_st_out *t, int n, const io_st_meta *meta, int n_meta, dit_err *err) {
    if (n < 0 || n_meta < 0 || (n > 0 && !t) || (n_meta > 0 && !meta))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: bad tensor/metadata list (n %d, n_meta %d)", n,
                        n_meta);
    for (int i = 0; i < n; i++) {
        const io_st_out *o = &t[i];
        if (!o->name || !o->name[0] || !strcmp(o->name, "__metadata__"))
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor #%d has an empty or reserved name", i);
        if ((unsigned)o->dtype >= IO_ST_DTYPE_COUNT)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor '%s' has an unknown dtype %d", o->name,
                            (int)o->dtype);
        if (o->ndim < 0 || o->ndim > IO_ST_MAX_DIMS)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor '%s' has %d dims (0..%d allowed)",
                            o->name, o->ndim, IO_ST_MAX_DIMS);
        unsigned __int128 numel = 1;
        for (int d = 0; d < o->ndim; d++) {
            if (o->shape[d] < 0)
                return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor '%s' shape[%d] = %lld is negative",
                                o->name, d, (long long)o->shape[d]);
            numel *= (unsigned __int128)o->shape[d];
            if (numel > ((unsigned __int128)1 << 60))
                return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor '%s' is absurdly large", o->name);
        }
        if (o->data && o->f32)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor '%s' sets both data and f32", o->name);
        if (o->f32 && o->dtype != IO_ST_F32 && o->dtype != IO_ST_BF16 && o->dtype != IO_ST_F16)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                            "safetensors writer: tensor '%s': f32 source data can be stored as F32, BF16 or F16, not %s",
                            o->name, io_st_dtype_name(o->dtype));
        if (numel > 0 && !o->data && !o->f32)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor '%s' has no data", o->name);
        for (int j = 0; j < i; j++)
            if (!strcmp(t[j].name, o->name))
                return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: tensor name '%s' appears twice", o->name);
    }
    for (int i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: metadata entry #%d has a NULL key or value", i);
        for (int j = 0; j < i; j++)
            if (!strcmp(meta[j].key, meta[i].key))
                return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: metadata key '%s' appears twice",
                                meta[i].key);
    }
    return DIT_OK;
}

typedef struct order_item {
    int idx;
    size_t esize;
} order_item;

static int cmp_order(const void *a, const void *b) {
    const order_item *x = a, *y = b;
    if (x->esize != y->esize) return x->esize > y->esize ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static cJSON *raw_int(long long v) {
    char s[32];
    snprintf(s, sizeof s, "%lld", v);
    return cJSON_CreateRaw(s);
}

/* Header bytes (padded to a multiple of 8) and the write order of the tensors. */
static dit_status build_header(const io_st_out *t, int n, const io_st_meta *meta, int n_meta, char **hdr,
                               size_t *hdr_len, int *order, size_t *data_len, dit_err *err) {
    order_item *items = malloc((size_t)(n > 0 ? n : 1) * sizeof *items);
    cJSON *root = cJSON_CreateObject();
    if (!items || !root) {
        free(items);
        cJSON_Delete(root);
        return DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: header of %d tensors", n);
    }
    for (int i = 0; i < n; i++) items[i].idx = i, items[i].esize = io_st_dtype_size(t[i].dtype);
    qsort(items, (size_t)n, sizeof *items, cmp_order);
    int ok = 1;
    if (n_meta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; ok && i < n_meta; i++) ok = m && cJSON_AddStringToObject(m, meta[i].key, meta[i].value);
        ok = ok && m;
    }
    size_t off = 0;
    for (int k = 0; ok && k < n; k++) {
        const io_st_out *o = &t[items[k].idx];
        order[k] = items[k].idx;
        size_t bytes = (size_t)out_numel(o) * items[k].esize;
        cJSON *e = cJSON_AddObjectToObject(root, o->name);
        cJSON *sh = cJSON_CreateArray(), *of = cJSON_CreateArray();
        ok = e && sh && of && cJSON_AddStringToObject(e, "dtype", io_st_dtype_name(o->dtype));
        for (int d = 0; ok && d < o->ndim; d++) ok = cJSON_AddItemToArray(sh, raw_int((long long)o->shape[d]));
        ok = ok && cJSON_AddItemToArray(of, raw_int((long long)off)) &&
             cJSON_AddItemToArray(of, raw_int((long long)(off + bytes)));
        if (ok) {
            cJSON_AddItemToObject(e, "shape", sh);
            cJSON_AddItemToObject(e, "data_offsets", of);
        } else {
            cJSON_Delete(sh);
            cJSON_Delete(of);
        }
        off += bytes;
    }
    free(items);
    char *js = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!js) return DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: building the JSON header");
    size_t jl = strlen(js), padded = (jl + 7) & ~(size_t)7;
    char *h = malloc(padded + 1);
    if (!h) {
        cJSON_free(js);
        return DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: header of %zu bytes", padded);
    }
    memcpy(h, js, jl);
    memset(h + jl, ' ', padded - jl);
    h[padded] = 0;
    cJSON_free(js);
    *hdr = h;
    *hdr_len = padded;
    *data_len = off;
    return DIT_OK;
}

/* A byte sink: a file descriptor or a memory buffer. */
typedef struct sink {
    int fd;
    uint8_t *mem;
    size_t pos;
    const char *label;
} sink;

static dit_status sink_put(sink *s, const void *p, size_t n, dit_err *err) {
    if (s->mem) {
        memcpy(s->mem + s->pos, p, n);
        s->pos += n;
        return DIT_OK;
    }
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(s->fd, b, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return DIT_FAIL(err, DIT_ERR_IO, "%s: write failed after %zu bytes: %s", s->label, s->pos,
                            w < 0 ? strerror(errno) : "no progress");
        b += w, n -= (size_t)w, s->pos += (size_t)w;
    }
    return DIT_OK;
}

static dit_status emit_all(sink *s, const io_st_out *t, const int *order, int n, const char *hdr, size_t hdr_len,
                           dit_err *err) {
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hdr_len >> (8 * i));
    DIT_TRY(sink_put(s, len8, 8, err));
    DIT_TRY(sink_put(s, hdr, hdr_len, err));
    enum { CHUNK = 1 << 16 };
    uint8_t *buf = NULL; /* conversion staging, CHUNK elements of up to 4 bytes */
    for (int k = 0; k < n; k++) {
        const io_st_out *o = &t[order[k]];
        size_t numel = (size_t)out_numel(o), es = io_st_dtype_size(o->dtype);
        if (numel == 0) continue;
        if (o->data) {
            dit_status st = sink_put(s, o->data, numel * es, err);
            if (st != DIT_OK) {
                free(buf);
                return dit_err_wrap(err, "tensor '%s'", o->name);
            }
            continue;
        }
        if (!buf && !(buf = malloc((size_t)CHUNK * 4)))
            return DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: conversion buffer");
        dit_dtype dt = o->dtype == IO_ST_F32 ? DIT_DTYPE_F32 : o->dtype == IO_ST_BF16 ? DIT_DTYPE_BF16 : DIT_DTYPE_F16;
        for (size_t i = 0; i < numel; i += CHUNK) {
            size_t m = numel - i < CHUNK ? numel - i : CHUNK;
            dit_convert_from_f32(buf, dt, o->f32 + i, m);
            dit_status st = sink_put(s, buf, m * es, err);
            if (st != DIT_OK) {
                free(buf);
                return dit_err_wrap(err, "tensor '%s'", o->name);
            }
        }
    }
    free(buf);
    return DIT_OK;
}

dit_status io_safetensors_serialize(const io_st_out *t, int n, const io_st_meta *meta, int n_meta, uint8_t **buf,
                                    size_t *len, dit_err *err) {
    *buf = NULL;
    *len = 0;
    DIT_TRY(check_inputs(t, n, meta, n_meta, err));
    int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order) return DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: order of %d tensors", n);
    char *hdr = NULL;
    size_t hl = 0, dl = 0;
    dit_status s = build_header(t, n, meta, n_meta, &hdr, &hl, order, &dl, err);
    uint8_t *mem = s == DIT_OK ? malloc(8 + hl + dl) : NULL;
    if (s == DIT_OK && !mem) s = DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: image of %zu bytes", 8 + hl + dl);
    if (s == DIT_OK) {
        sink sk = {-1, mem, 0, "memory"};
        s = emit_all(&sk, t, order, n, hdr, hl, err);
    }
    free(hdr);
    free(order);
    if (s != DIT_OK) {
        free(mem);
        return s;
    }
    *buf = mem;
    *len = 8 + hl + dl;
    return DIT_OK;
}

dit_status io_safetensors_write(const char *path, const io_st_out *t, int n, const io_st_meta *meta, int n_meta,
                                dit_err *err) {
    if (!path || !path[0]) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "safetensors writer: empty output path");
    DIT_TRY(check_inputs(t, n, meta, n_meta, err));
    int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof *order);
    if (!order) return DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: order of %d tensors", n);
    char *hdr = NULL;
    size_t hl = 0, dl = 0;
    dit_status s = build_header(t, n, meta, n_meta, &hdr, &hl, order, &dl, err);
    if (s != DIT_OK) {
        free(order);
        return s;
    }
    /* temp file beside the target (hidden, O_EXCL, removed on SIGINT/SIGTERM: io/atomic_file.h) */
    size_t tl = strlen(path) + 96;
    char *tmp = malloc(tl);
    int fd = -1;
    if (!tmp) {
        s = DIT_FAIL(err, DIT_ERR_OOM, "safetensors writer: temp path");
    } else {
        tmp[0] = 0;
        s = io_tmp_create(path, tmp, tl, err);
        if (s == DIT_OK) {
            fd = open(tmp, O_WRONLY | O_TRUNC | O_CLOEXEC);
            if (fd < 0) s = DIT_FAIL(err, DIT_ERR_IO, "%s: cannot open temp file %s: %s", path, tmp, strerror(errno));
        }
    }
    if (s == DIT_OK) {
        sink sk = {fd, NULL, 0, path};
        s = emit_all(&sk, t, order, n, hdr, hl, err);
        if (s == DIT_OK && fsync(fd) != 0) s = DIT_FAIL(err, DIT_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    }
    if (fd >= 0 && close(fd) != 0 && s == DIT_OK)
        s = DIT_FAIL(err, DIT_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (s == DIT_OK) s = io_tmp_commit(tmp, path, err);
    else if (tmp) io_tmp_discard(tmp);
    free(tmp);
    free(hdr);
    free(order);
    return s;
}
