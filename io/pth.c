/* pth.c — torch.save archives -> io_st_tensor list (see pth.h).
 * The zip layer is io/zip.c, the pickle VM io/pickle.c; this file supplies the
 * torch globals, persistent storages, tensor rebuilds and the name flattening.
 * Checked by tests/test_pth.c (every tensor against a safetensors copy, each
 * malformed case's status and message) and fuzzed by tools/fuzz_pth.c. */
#include "pth.h"

#include "json_file.h" /* io_open_regular */

#include <errno.h>    /* errno */
#include <fcntl.h>    /* open */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* calloc, free, qsort */
#include <string.h>   /* strcmp, strdup, strerror */
#include <sys/mman.h> /* mmap */
#include <sys/stat.h> /* fstat */
#include <unistd.h>   /* close */

#include "pickle.h" /* io_pk_load, io_pk_obj */
#include "zip.h"    /* io_zip_parse, io_zip_find */

#define MAX_DEPTH 32          /* nesting of dicts/lists around the tensors */
#define MAX_VISITS (1 << 22)  /* object visits while flattening (shared sub-trees) */

enum { G_ORDERED_DICT = 1, G_REBUILD, G_REBUILD_V2, G_REBUILD_V3, G_PARAM, G_PARAM_STATE, G_FROM_TYPE_V2, G_TYPE,
       G_STORAGE = 100, G_DTYPE = 200 };
enum { REC_STORAGE = 1, REC_TENSOR = 2 }; /* io_pk_obj.i of EXT objects */

static const struct {
    const char *module, *name;
    int kind;
} k_globals[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT},
    {"torch._utils", "_rebuild_tensor", G_REBUILD},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_V2},
    {"torch._utils", "_rebuild_tensor_v3", G_REBUILD_V3},
    {"torch._utils", "_rebuild_parameter", G_PARAM},
    {"torch._utils", "_rebuild_parameter_with_state", G_PARAM_STATE},
    {"torch._tensor", "_rebuild_from_type_v2", G_FROM_TYPE_V2},
    {"torch.nn.parameter", "Parameter", G_TYPE},
    {"torch", "Tensor", G_TYPE},
    {"torch", "FloatStorage", G_STORAGE + IO_ST_F32},
    {"torch", "DoubleStorage", G_STORAGE + IO_ST_F64},
    {"torch", "HalfStorage", G_STORAGE + IO_ST_F16},
    {"torch", "BFloat16Storage", G_STORAGE + IO_ST_BF16},
    {"torch", "LongStorage", G_STORAGE + IO_ST_I64},
    {"torch", "IntStorage", G_STORAGE + IO_ST_I32},
    {"torch", "ShortStorage", G_STORAGE + IO_ST_I16},
    {"torch", "CharStorage", G_STORAGE + IO_ST_I8},
    {"torch", "ByteStorage", G_STORAGE + IO_ST_U8},
    {"torch", "BoolStorage", G_STORAGE + IO_ST_BOOL},
    {"torch", "UntypedStorage", G_STORAGE + IO_ST_U8},
    {"torch.storage", "UntypedStorage", G_STORAGE + IO_ST_U8},
    {"torch", "float32", G_DTYPE + IO_ST_F32},
    {"torch", "float64", G_DTYPE + IO_ST_F64},
    {"torch", "float16", G_DTYPE + IO_ST_F16},
    {"torch", "bfloat16", G_DTYPE + IO_ST_BF16},
    {"torch", "int64", G_DTYPE + IO_ST_I64},
    {"torch", "int32", G_DTYPE + IO_ST_I32},
    {"torch", "int16", G_DTYPE + IO_ST_I16},
    {"torch", "int8", G_DTYPE + IO_ST_I8},
    {"torch", "uint8", G_DTYPE + IO_ST_U8},
    {"torch", "bool", G_DTYPE + IO_ST_BOOL},
    {"torch", "float8_e4m3fn", G_DTYPE + IO_ST_F8_E4M3},
    {"torch", "float8_e5m2", G_DTYPE + IO_ST_F8_E5M2},
    {"torch", "uint16", G_DTYPE + IO_ST_U16},
    {"torch", "uint32", G_DTYPE + IO_ST_U32},
    {"torch", "uint64", G_DTYPE + IO_ST_U64},
};

typedef struct pth_storage {
    const uint8_t *data;
    uint64_t bytes;
    io_st_dtype dtype;
    char key[64];
} pth_storage;

typedef struct pth_tensor {
    const pth_storage *st;
    io_st_dtype dtype;
    int64_t offset; /* in elements of dtype */
    int ndim;
    int64_t size[IO_ST_MAX_DIMS], stride[IO_ST_MAX_DIMS];
    const uint8_t *copy; /* gathered data once a non-contiguous tensor was emitted (shared by repeats) */
} pth_tensor;

typedef struct pth_ctx {
    const char *label;
    const io_zip *zip;
    char prefix[256];
    void **recs; /* pth_storage / pth_tensor records, freed at the end */
    int64_t nrecs, caprecs;
    io_pth *out;
    int cap_out;
    int64_t visits;
    uint64_t copied; /* bytes gathered for non-contiguous tensors, bounded by copy_budget */
    uint64_t copy_budget;
    char name[4096];
} pth_ctx;

static void *new_rec(pth_ctx *c, size_t size) {
    if (c->nrecs == c->caprecs) {
        int64_t nc = c->caprecs ? 2 * c->caprecs : 64;
        void **nr = realloc(c->recs, (size_t)nc * sizeof *nr);
        if (!nr) return NULL;
        c->recs = nr;
        c->caprecs = nc;
    }
    void *r = calloc(1, size);
    if (r) c->recs[c->nrecs++] = r;
    return r;
}

static dit_status find_class(void *ctx, const char *module, const char *name, int64_t *kind, dit_err *err) {
    (void)ctx;
    for (size_t i = 0; i < sizeof k_globals / sizeof k_globals[0]; i++)
        if (!strcmp(module, k_globals[i].module) && !strcmp(name, k_globals[i].name)) {
            *kind = k_globals[i].kind;
            return DIT_OK;
        }
    return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                    "unsupported global '%s.%s' (only state dicts of plain tensors in OrderedDict/dict/list are "
                    "supported)",
                    module, name);
}

static int is_rec(const io_pk_obj *o, int tag) { return o && o->type == IO_PK_EXT && o->i == tag; }

static dit_status persistent_load(void *ctx, io_pk_vm *vm, const io_pk_obj *pid, io_pk_obj **out, dit_err *err) {
    pth_ctx *c = ctx;
    size_t at = io_pk_offset(vm);
    if (pid->type != IO_PK_TUPLE || pid->n != 5 || pid->items[0]->type != IO_PK_STR ||
        strcmp(pid->items[0]->s, "storage") || pid->items[1]->type != IO_PK_GLOBAL ||
        pid->items[2]->type != IO_PK_STR || pid->items[4]->type != IO_PK_INT)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: pickle offset %zu: persistent id is not ('storage', <type>, key, location, numel)",
                        c->label, at);
    const io_pk_obj *ty = pid->items[1], *key = pid->items[2];
    if (ty->i < G_STORAGE || ty->i >= G_STORAGE + IO_ST_DTYPE_COUNT)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pickle offset %zu: '%s' is not a storage type", c->label, at, ty->s);
    if (key->len == 0 || key->len >= sizeof ((pth_storage *)0)->key || strchr(key->s, '/') || strlen(key->s) != key->len)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pickle offset %zu: storage key of %zu bytes is not a plain name",
                        c->label, at, key->len);
    io_st_dtype dt = (io_st_dtype)(ty->i - G_STORAGE);
    int64_t numel = pid->items[4]->i;
    char ename[512];
    snprintf(ename, sizeof ename, "%s/data/%s", c->prefix, key->s);
    const io_zip_entry *e = io_zip_find(c->zip, ename);
    if (!e)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: storage key '%s' (%s) is not in the archive (entry '%s' missing)",
                        c->label, key->s, ty->s, ename);
    const uint8_t *data;
    size_t bytes;
    DIT_TRY(io_zip_stored_data(c->zip, e, c->label, &data, &bytes, err));
    size_t es = io_st_dtype_size(dt);
    if (numel < 0 || (uint64_t)numel > bytes / es)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: storage '%s' is %s of %lld elements (%lld x %zu bytes) but entry '%s' holds only %zu bytes",
                        c->label, key->s, ty->s, (long long)numel, (long long)numel, es, ename, bytes);
    pth_storage *st = new_rec(c, sizeof *st);
    io_pk_obj *o = io_pk_new(vm, IO_PK_EXT);
    if (!st || !o) return DIT_FAIL(err, DIT_ERR_OOM, "%s: storage records", c->label);
    st->data = data;
    st->bytes = (uint64_t)numel * es;
    st->dtype = dt;
    memcpy(st->key, key->s, key->len + 1);
    o->i = REC_STORAGE;
    o->ext = st;
    *out = o;
    return DIT_OK;
}

/* (shape) tuple/list of non-negative ints into dst. */
static int int_seq(const io_pk_obj *o, int64_t *dst, int max) {
    if ((o->type != IO_PK_TUPLE && o->type != IO_PK_LIST) || o->n > max) return -1;
    for (int64_t i = 0; i < o->n; i++) {
        if (o->items[i]->type != IO_PK_INT || o->items[i]->i < 0) return -1;
        dst[i] = o->items[i]->i;
    }
    return (int)o->n;
}

static dit_status rebuild_tensor(pth_ctx *c, io_pk_vm *vm, const io_pk_obj *fn, const io_pk_obj *args,
                                 io_pk_obj **out, dit_err *err) {
    size_t at = io_pk_offset(vm);
    int v3 = fn->i == G_REBUILD_V3;
    io_pk_obj *const *a = args->items;
    if (args->n < (v3 ? 7 : 4) || !is_rec(a[0], REC_STORAGE) || a[1]->type != IO_PK_INT || a[1]->i < 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: pickle offset %zu: %s expects (storage, offset >= 0, size, stride, ...%s)", c->label, at,
                        fn->s, v3 ? ", dtype" : "");
    pth_tensor *t = new_rec(c, sizeof *t);
    io_pk_obj *o = io_pk_new(vm, IO_PK_EXT);
    if (!t || !o) return DIT_FAIL(err, DIT_ERR_OOM, "%s: tensor records", c->label);
    t->st = a[0]->ext;
    t->offset = a[1]->i;
    t->dtype = t->st->dtype;
    int nd = int_seq(a[2], t->size, IO_ST_MAX_DIMS), ns = int_seq(a[3], t->stride, IO_ST_MAX_DIMS);
    if (nd < 0 || ns != nd)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: pickle offset %zu: tensor on storage '%s' needs size and stride tuples of equal length "
                        "<= %d with non-negative ints",
                        c->label, at, t->st->key, IO_ST_MAX_DIMS);
    t->ndim = nd;
    if (v3) {
        if (a[6]->type != IO_PK_GLOBAL || a[6]->i < G_DTYPE || a[6]->i >= G_DTYPE + IO_ST_DTYPE_COUNT)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pickle offset %zu: _rebuild_tensor_v3 needs a torch dtype",
                            c->label, at);
        t->dtype = (io_st_dtype)(a[6]->i - G_DTYPE);
    }
    o->i = REC_TENSOR;
    o->ext = t;
    *out = o;
    return DIT_OK;
}

static dit_status do_reduce(pth_ctx *c, io_pk_vm *vm, const io_pk_obj *fn, const io_pk_obj *args, io_pk_obj **out,
                            int depth, dit_err *err) {
    size_t at = io_pk_offset(vm);
    switch (fn->i) {
    case G_ORDERED_DICT: {
        io_pk_obj *d = io_pk_new(vm, IO_PK_DICT);
        if (!d) return DIT_FAIL(err, DIT_ERR_OOM, "%s: dict", c->label);
        *out = d;
        if (args->n == 0) return DIT_OK;
        const io_pk_obj *l = args->items[0];
        if (args->n == 1 && (l->type == IO_PK_LIST || l->type == IO_PK_TUPLE)) {
            if (!(d->items = malloc((size_t)(2 * l->n + 1) * sizeof *d->items)))
                return DIT_FAIL(err, DIT_ERR_OOM, "%s: dict", c->label);
            d->cap = 2 * l->n + 1;
            for (int64_t i = 0; i < l->n; i++) {
                const io_pk_obj *kv = l->items[i];
                if (kv->type != IO_PK_TUPLE || kv->n != 2) goto bad_od;
                d->items[d->n++] = kv->items[0];
                d->items[d->n++] = kv->items[1];
            }
            return DIT_OK;
        }
    bad_od:
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pickle offset %zu: OrderedDict() with unexpected arguments",
                        c->label, at);
    }
    case G_REBUILD:
    case G_REBUILD_V2:
    case G_REBUILD_V3: return rebuild_tensor(c, vm, fn, args, out, err);
    case G_PARAM:
    case G_PARAM_STATE:
        if (args->n < 1 || !is_rec(args->items[0], REC_TENSOR))
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pickle offset %zu: %s expects a tensor first", c->label, at,
                            fn->s);
        *out = args->items[0];
        return DIT_OK;
    case G_FROM_TYPE_V2:
        if (args->n != 4 || args->items[0]->type != IO_PK_GLOBAL || args->items[2]->type != IO_PK_TUPLE || depth > 4)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pickle offset %zu: %s expects (func, type, args, state)",
                            c->label, at, fn->s);
        return do_reduce(c, vm, args->items[0], args->items[2], out, depth + 1, err);
    default:
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: pickle offset %zu: calling '%s' is not supported", c->label,
                        at, fn->s);
    }
}

static dit_status reduce(void *ctx, io_pk_vm *vm, const io_pk_obj *fn, const io_pk_obj *args, io_pk_obj **out,
                         dit_err *err) {
    return do_reduce(ctx, vm, fn, args, out, 0, err);
}

/* ---- flattening: object tree -> named tensors ---- */

static int has_tensors(pth_ctx *c, const io_pk_obj *o, int depth) {
    if (depth > MAX_DEPTH || ++c->visits > MAX_VISITS) return 1; /* let walk() report it */
    if (is_rec(o, REC_TENSOR)) return 1;
    if (o->type == IO_PK_DICT) {
        for (int64_t i = 1; i < o->n; i += 2)
            if (has_tensors(c, o->items[i], depth + 1)) return 1;
    } else if (o->type == IO_PK_LIST || o->type == IO_PK_TUPLE) {
        for (int64_t i = 0; i < o->n; i++)
            if (has_tensors(c, o->items[i], depth + 1)) return 1;
    }
    return 0;
}

static char *dims_str(const int64_t *v, int n, char *buf, size_t cap) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && k < cap; i++) k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

/* Validate a tensor against its storage; point into it (contiguous) or copy. */
static dit_status materialize(pth_ctx *c, pth_tensor *r, io_st_tensor *t, dit_err *err) {
    io_pth *p = c->out;
    size_t es = io_st_dtype_size(r->dtype);
    const pth_storage *st = r->st;
    uint64_t st_elems = st->bytes / es;
    unsigned __int128 numel = 1, last = (unsigned __int128)r->offset;
    char sb[160], tb[160];
    for (int i = 0; i < r->ndim; i++) {
        numel *= (unsigned __int128)r->size[i];
        if (numel > ((unsigned __int128)1 << 62))
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' shape %s is absurdly large", c->label, t->name,
                            dims_str(r->size, r->ndim, sb, sizeof sb));
        t->shape[i] = r->size[i];
    }
    t->ndim = r->ndim;
    t->dtype = r->dtype;
    size_t base = (size_t)(st->data - (const uint8_t *)p->map);
    if (numel == 0) {
        t->data = st->data;
        t->begin = t->end = base;
        return DIT_OK;
    }
    for (int i = 0; i < r->ndim; i++) last += (unsigned __int128)(r->size[i] - 1) * (unsigned __int128)r->stride[i];
    if (last >= st_elems)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: tensor '%s' (shape %s, stride %s, offset %lld) reaches element %llu of storage '%s', "
                        "which holds %llu %s elements",
                        c->label, t->name, dims_str(r->size, r->ndim, sb, sizeof sb),
                        dims_str(r->stride, r->ndim, tb, sizeof tb), (long long)r->offset, (unsigned long long)last,
                        st->key, (unsigned long long)st_elems, io_st_dtype_name(r->dtype));
    int contiguous = 1;
    int64_t want = 1;
    for (int i = r->ndim - 1; i >= 0; i--) {
        if (r->size[i] != 1 && r->stride[i] != want) contiguous = 0;
        want *= r->size[i];
    }
    t->begin = base + (size_t)r->offset * es;
    t->end = base + ((size_t)last + 1) * es;
    if (contiguous) {
        t->data = st->data + (size_t)r->offset * es;
        return DIT_OK;
    }
    if (r->copy) { /* the same tensor object under a second name */
        t->data = r->copy;
        return DIT_OK;
    }
    if (numel > st_elems)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: tensor '%s' (shape %s, stride %s) has overlapping strides: more elements than its "
                        "storage; save it with .contiguous()",
                        c->label, t->name, dims_str(r->size, r->ndim, sb, sizeof sb),
                        dims_str(r->stride, r->ndim, tb, sizeof tb));
    uint64_t bytes = (uint64_t)numel * es;
    if (bytes > c->copy_budget - c->copied)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: copying non-contiguous tensor '%s' would take the copies past %llu bytes (2x the file "
                        "+ 64 MiB); save the checkpoint with .contiguous() tensors",
                        c->label, t->name, (unsigned long long)c->copy_budget);
    c->copied += bytes;
    void **nc = realloc(p->copies, (size_t)(p->ncopies + 1) * sizeof *nc);
    if (!nc) return DIT_FAIL(err, DIT_ERR_OOM, "%s: tensor '%s' copy list", c->label, t->name);
    p->copies = nc;
    uint8_t *dst = malloc((size_t)numel * es);
    if (!dst)
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: copy of non-contiguous tensor '%s' (%llu bytes)", c->label, t->name,
                        (unsigned long long)((size_t)numel * es));
    p->copies[p->ncopies++] = dst;
    int64_t idx[IO_ST_MAX_DIMS] = {0};
    uint64_t src = (uint64_t)r->offset;
    for (uint64_t k = 0; k < (uint64_t)numel; k++) {
        memcpy(dst + k * es, st->data + src * es, es);
        for (int d = r->ndim - 1; d >= 0; d--) { /* odometer over the multi-index */
            if (++idx[d] < r->size[d]) {
                src += (uint64_t)r->stride[d];
                break;
            }
            src -= (uint64_t)r->stride[d] * (uint64_t)(r->size[d] - 1);
            idx[d] = 0;
        }
    }
    t->data = r->copy = dst;
    return DIT_OK;
}

static dit_status emit(pth_ctx *c, pth_tensor *r, dit_err *err) {
    io_pth *p = c->out;
    if (p->n == c->cap_out) {
        int nc = c->cap_out ? 2 * c->cap_out : 64;
        io_st_tensor *nt = realloc(p->tensors, (size_t)nc * sizeof *nt);
        if (!nt) return DIT_FAIL(err, DIT_ERR_OOM, "%s: tensor list", c->label);
        p->tensors = nt;
        c->cap_out = nc;
    }
    io_st_tensor *t = &p->tensors[p->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(c->name[0] ? c->name : "tensor"))) return DIT_FAIL(err, DIT_ERR_OOM, "%s: name", c->label);
    p->n++;
    return materialize(c, r, t, err);
}

static dit_status walk(pth_ctx *c, const io_pk_obj *o, size_t nlen, int depth, dit_err *err) {
    if (++c->visits > MAX_VISITS)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: object graph too large or cyclic (over %d visits) near '%s'",
                        c->label, MAX_VISITS, c->name);
    if (depth > MAX_DEPTH)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: objects nested deeper than %d levels at '%s'", c->label, MAX_DEPTH,
                        c->name);
    if (is_rec(o, REC_TENSOR)) return emit(c, o->ext, err);
    int is_dict = o->type == IO_PK_DICT;
    if (!is_dict && o->type != IO_PK_LIST && o->type != IO_PK_TUPLE) return DIT_OK; /* non-tensor leaf */
    int64_t step = is_dict ? 2 : 1;
    for (int64_t i = 0; i < o->n; i += step) {
        const io_pk_obj *v = o->items[i + step - 1], *k = is_dict ? o->items[i] : NULL;
        char part[64];
        const char *ps = part;
        if (!is_dict) snprintf(part, sizeof part, "%lld", (long long)i);
        else if (k->type == IO_PK_INT) snprintf(part, sizeof part, "%lld", (long long)k->i);
        else if (k->type == IO_PK_STR && strlen(k->s) == k->len) ps = k->s;
        else if (!has_tensors(c, v, depth + 1)) continue;
        else
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: a dict key of type %s (or with a NUL byte) under '%s' holds tensors",
                            c->label, io_pk_type_name(k->type), c->name);
        size_t pl = strlen(ps), add = pl + (nlen ? 1 : 0);
        if (nlen + add + 1 > sizeof c->name)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor name under '%.64s...' longer than %zu bytes", c->label,
                            c->name, sizeof c->name - 1);
        if (nlen) c->name[nlen] = '.';
        memcpy(c->name + nlen + (nlen ? 1 : 0), ps, pl + 1);
        DIT_TRY(walk(c, v, nlen + add, depth + 1, err));
        c->name[nlen] = 0;
    }
    return DIT_OK;
}

/* Strip {"state_dict": {...}, "epoch": 3}-style wrappers (see pth.h). */
static const io_pk_obj *strip_wrappers(pth_ctx *c, const io_pk_obj *root) {
    for (int guard = 0; root->type == IO_PK_DICT && guard < 8; guard++) {
        int64_t holder = -1, nholders = 0;
        for (int64_t i = 0; i + 1 < root->n; i += 2)
            if (has_tensors(c, root->items[i + 1], 1)) holder = i, nholders++;
        if (nholders != 1 || root->items[holder + 1]->type != IO_PK_DICT || root->items[holder]->type != IO_PK_STR)
            break;
        size_t k = strlen(c->out->wrapper);
        snprintf(c->out->wrapper + k, sizeof c->out->wrapper - k, "%s%s", k ? "." : "", root->items[holder]->s);
        root = root->items[holder + 1];
    }
    c->visits = 0;
    return root;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(io_st_tensor *const *)a)->name, (*(io_st_tensor *const *)b)->name);
}

void io_pth_close(io_pth **pp) {
    if (!pp || !*pp) return;
    io_pth *p = *pp;
    for (int i = 0; i < p->n; i++) free(p->tensors[i].name);
    free(p->tensors);
    for (int i = 0; i < p->ncopies; i++) free(p->copies[i]);
    free(p->copies);
    if (p->owns_map && p->map) munmap(p->map, p->map_size);
    free(p->path);
    free(p);
    *pp = NULL;
}

int io_pth_sniff(const uint8_t *buf, size_t len) {
    return len >= 4 && buf[0] == 'P' && buf[1] == 'K' && buf[2] == 3 && buf[3] == 4;
}

/* Locate <archive>/data.pkl, check the byte order, run the pickle, flatten. */
static dit_status parse_archive(pth_ctx *c, const io_zip *z, dit_err *err) {
    const io_zip_entry *pkl = NULL;
    for (int64_t i = 0; i < z->n; i++) {
        const char *nm = z->entries[i].name, *sl = strchr(nm, '/');
        if (sl && !strcmp(sl, "/data.pkl")) {
            if (pkl)
                return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: two pickles ('%s' and '%s') in one archive", c->label,
                                pkl->name, nm);
            pkl = &z->entries[i];
        }
    }
    if (!pkl)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip has no <archive>/data.pkl entry: not a torch.save file", c->label);
    size_t plen = (size_t)(strchr(pkl->name, '/') - pkl->name);
    if (plen >= sizeof c->prefix)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: archive folder name of %zu bytes is too long", c->label, plen);
    memcpy(c->prefix, pkl->name, plen);
    c->prefix[plen] = 0;
    char bo[300];
    snprintf(bo, sizeof bo, "%s/byteorder", c->prefix);
    const io_zip_entry *boe = io_zip_find(z, bo);
    const uint8_t *d;
    size_t n;
    if (boe) {
        DIT_TRY(io_zip_stored_data(z, boe, c->label, &d, &n, err));
        if (!(n >= 6 && !memcmp(d, "little", 6)))
            return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: '%s' is '%.*s'; only little-endian archives are supported",
                            c->label, bo, (int)(n < 16 ? n : 16), (const char *)d);
    }
    DIT_TRY(io_zip_stored_data(z, pkl, c->label, &d, &n, err));
    char plabel[4400];
    snprintf(plabel, sizeof plabel, "%s (%s)", c->label, pkl->name);
    io_pk_hooks hooks = {c, find_class, persistent_load, reduce};
    io_pk_vm *vm = NULL;
    io_pk_obj *root = NULL;
    dit_status s = io_pk_load(d, n, plabel, &hooks, &vm, &root, err);
    if (s == DIT_OK) {
        const io_pk_obj *r = strip_wrappers(c, root);
        if (r->type != IO_PK_DICT && r->type != IO_PK_LIST && r->type != IO_PK_TUPLE && !is_rec(r, REC_TENSOR))
            s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: the saved object is a %s, not a dict of tensors", c->label,
                         io_pk_type_name(r->type));
        else
            s = walk(c, r, 0, 0, err);
    }
    io_pk_vm_free(&vm);
    return s;
}

dit_status io_pth_parse(const uint8_t *buf, size_t len, const char *label, io_pth **out, dit_err *err) {
    *out = NULL;
    io_pth *p = calloc(1, sizeof *p);
    pth_ctx *c = calloc(1, sizeof *c);
    if (!p || !c || !(p->path = strdup(label))) {
        free(c);
        io_pth_close(&p);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: reader state", label);
    }
    p->map = (void *)buf;
    p->map_size = len;
    c->label = p->path;
    c->out = p;
    c->copy_budget = 2 * (uint64_t)len + (64u << 20);
    io_zip z;
    dit_status s = io_zip_parse(buf, len, label, &z, err);
    if (s == DIT_OK) {
        c->zip = &z;
        s = parse_archive(c, &z, err);
        io_zip_free(&z);
    }
    for (int64_t i = 0; i < c->nrecs; i++) free(c->recs[i]);
    free(c->recs);
    free(c);
    if (s == DIT_OK && p->n > 1) { /* duplicate names after flattening */
        io_st_tensor **order = malloc((size_t)p->n * sizeof *order);
        if (!order) s = DIT_FAIL(err, DIT_ERR_OOM, "%s: sorting %d names", label, p->n);
        for (int i = 0; s == DIT_OK && i < p->n; i++) order[i] = &p->tensors[i];
        if (s == DIT_OK) qsort(order, (size_t)p->n, sizeof *order, cmp_name);
        for (int i = 1; s == DIT_OK && i < p->n; i++)
            if (!strcmp(order[i - 1]->name, order[i]->name))
                s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor name '%s' occurs twice after flattening", label,
                             order[i]->name);
        free(order);
    }
    if (s != DIT_OK) {
        io_pth_close(&p);
        return s;
    }
    *out = p;
    return DIT_OK;
}

dit_status io_pth_open(const char *path, io_pth **out, dit_err *err) {
    *out = NULL;
    int fd = io_open_regular(path, err); /* a FIFO is refused without blocking on it */
    if (fd < 0) return err->code;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    }
    size_t len = (size_t)sb.st_size;
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return DIT_FAIL(err, DIT_ERR_IO, "%s: mmap of %zu bytes failed: %s", path, len, strerror(e));
        }
    }
    close(fd);
    static const uint8_t empty[1] = {0};
    dit_status s = io_pth_parse(map ? (const uint8_t *)map : empty, len, path, out, err);
    if (s != DIT_OK) {
        if (map) munmap(map, len);
        return s;
    }
    (*out)->owns_map = map != NULL;
    return DIT_OK;
}

const io_st_tensor *io_pth_find(const io_pth *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->tensors[i].name, name)) return &p->tensors[i];
    return NULL;
}
