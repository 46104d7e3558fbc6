/* safetensors.c — validating safetensors reader over mmap (see safetensors.h).
 * Checked by tests/test_safetensors.c (each malformed case and its message) and
 * fuzzed by tools/fuzz_safetensors.c. */
#include "safetensors.h"

#include "json_file.h" /* io_open_regular */

#include <cjson/cJSON.h> /* cJSON_ParseWithLength */
#include <errno.h>       /* errno */
#include <fcntl.h>       /* open */
#include <stdlib.h>      /* calloc, free, qsort */
#include <string.h>      /* strcmp, strdup, strerror */
#include <sys/mman.h>    /* mmap */
#include <sys/stat.h>    /* fstat */
#include <unistd.h>      /* close */

#define MAX_HEADER (256u << 20) /* 256 MiB: far beyond any real header */

static const struct {
    const char *name;
    size_t size;
    int dit;
} k_dtypes[IO_ST_DTYPE_COUNT] = {
    [IO_ST_F32] = {"F32", 4, DIT_DTYPE_F32},   [IO_ST_BF16] = {"BF16", 2, DIT_DTYPE_BF16},
    [IO_ST_F16] = {"F16", 2, DIT_DTYPE_F16},   [IO_ST_F64] = {"F64", 8, DIT_DTYPE_F64},
    [IO_ST_I64] = {"I64", 8, -1},              [IO_ST_I32] = {"I32", 4, -1},
    [IO_ST_I16] = {"I16", 2, -1},              [IO_ST_I8] = {"I8", 1, -1},
    [IO_ST_U8] = {"U8", 1, -1},                [IO_ST_BOOL] = {"BOOL", 1, -1},
    [IO_ST_F8_E4M3] = {"F8_E4M3", 1, -1},      [IO_ST_F8_E5M2] = {"F8_E5M2", 1, -1},
    [IO_ST_U16] = {"U16", 2, -1},              [IO_ST_U32] = {"U32", 4, -1},
    [IO_ST_U64] = {"U64", 8, -1},
};

const char *io_st_dtype_name(io_st_dtype d) { return d < IO_ST_DTYPE_COUNT ? k_dtypes[d].name : "?"; }
size_t io_st_dtype_size(io_st_dtype d) { return d < IO_ST_DTYPE_COUNT ? k_dtypes[d].size : 0; }
int io_st_dtype_to_dit(io_st_dtype d) { return d < IO_ST_DTYPE_COUNT ? k_dtypes[d].dit : -1; }

int64_t io_st_tensor_numel(const io_st_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

static void st_free(io_safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) free(st->tensors[i].name);
    free(st->tensors);
    if (st->owns_map && st->map) munmap(st->map, st->map_size);
    free(st->path);
    free(st);
}

void io_safetensors_close(io_safetensors **st) {
    if (!st) return;
    st_free(*st);
    *st = NULL;
}

static int cmp_begin(const void *a, const void *b) {
    const io_st_tensor *x = *(io_st_tensor *const *)a, *y = *(io_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(io_st_tensor *const *)a)->name, (*(io_st_tensor *const *)b)->name);
}

/* Parse one tensor entry; returns DIT_OK or a FORMAT error naming it. */
static dit_status parse_entry(const cJSON *e, io_st_tensor *t, const char *label, size_t data_len, dit_err *err) {
    if (!cJSON_IsObject(e))
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: header entry '%s' is not an object", label, t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' needs string 'dtype', array 'shape' and 'data_offsets'",
                        label, t->name);
    int found = -1;
    for (int d = 0; d < IO_ST_DTYPE_COUNT; d++)
        if (!strcmp(dt->valuestring, k_dtypes[d].name)) found = d;
    if (found < 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%s'", label, t->name, dt->valuestring);
    t->dtype = (io_st_dtype)found;
    int nd = cJSON_GetArraySize(sh);
    if (nd > IO_ST_MAX_DIMS)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' has %d dims (at most %d supported)", label, t->name, nd,
                        IO_ST_MAX_DIMS);
    t->ndim = nd;
    unsigned __int128 numel = 1;
    for (int i = 0; i < nd; i++) {
        const cJSON *d = cJSON_GetArrayItem(sh, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9.0e15 ||
            d->valuedouble != (double)(int64_t)d->valuedouble)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' shape[%d] is not a non-negative integer", label,
                            t->name, i);
        t->shape[i] = (int64_t)d->valuedouble;
        numel *= (unsigned __int128)t->shape[i];
        if (numel > ((unsigned __int128)1 << 62))
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' shape is absurdly large", label, t->name);
    }
    if (cJSON_GetArraySize(off) != 2)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' data_offsets must be [begin, end]", label, t->name);
    double b = cJSON_GetArrayItem(off, 0)->valuedouble, en = cJSON_GetArrayItem(off, 1)->valuedouble;
    /* range first: converting a double beyond 2^64 to uint64_t is undefined (found by fuzz_safetensors) */
    if (!cJSON_IsNumber(cJSON_GetArrayItem(off, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(off, 1)) || b < 0 ||
        en < b || en > 1.8e19 || b != (double)(uint64_t)b || en != (double)(uint64_t)en)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' has invalid data_offsets [%.0f, %.0f]", label, t->name,
                        b, en);
    t->begin = (size_t)b;
    t->end = (size_t)en;
    unsigned __int128 want = numel * io_st_dtype_size(t->dtype);
    if (want != (unsigned __int128)(t->end - t->begin))
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: tensor '%s' is %s with %llu elements = %llu bytes, but its data_offsets span %zu bytes",
                        label, t->name, k_dtypes[t->dtype].name, (unsigned long long)numel,
                        (unsigned long long)want, t->end - t->begin);
    if (t->end > data_len)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: tensor '%s' data_offsets [%zu, %zu] run past the data section (%zu bytes; file truncated?)",
                        label, t->name, t->begin, t->end, data_len);
    return DIT_OK;
}

/* As the Rust reference parser: sorted by offsets, the tensors tile the data section exactly, each
 * starting where the previous one ends and the last ending at the end of the file.  Any overlap or gap
 * is refused (an empty tensor between two overlapping ones does not hide the overlap). */
static dit_status check_tiling(const io_safetensors *st, const char *label, dit_err *err) {
    io_st_tensor **order = malloc((size_t)(st->n ? st->n : 1) * sizeof *order);
    if (!order) return DIT_FAIL(err, DIT_ERR_OOM, "%s: sorting %d tensors", label, st->n);
    for (int i = 0; i < st->n; i++) order[i] = &st->tensors[i];
    qsort(order, (size_t)st->n, sizeof *order, cmp_begin);
    dit_status s = DIT_OK;
    size_t at = 0;
    for (int i = 0; i < st->n && s == DIT_OK; i++) {
        const io_st_tensor *t = order[i];
        if (t->begin < at)
            s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensors '%s' and '%s' [%zu, %zu] overlap in the data section", label,
                         order[i - 1]->name, t->name, t->begin, t->end);
        else if (t->begin > at)
            s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' [%zu, %zu] leaves a gap of %zu unused bytes before it in "
                         "the data section", label, t->name, t->begin, t->end, t->begin - at);
        at = t->end;
    }
    if (s == DIT_OK && at != st->data_len)
        s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: the tensors cover %zu of the data section's %zu bytes (trailing bytes)",
                     label, at, st->data_len);
    free(order);
    return s;
}

dit_status io_safetensors_parse(const uint8_t *buf, size_t len, const char *label, io_safetensors **out,
                                dit_err *err) {
    *out = NULL;
    if (len < 8)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: file is %zu bytes, too short for a safetensors header (8-byte length)",
                        label, len);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | buf[i];
    if (hl > len - 8)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: header length %llu runs past the end of the file (%zu bytes after the length field)",
                        label, (unsigned long long)hl, len - 8);
    if (hl > MAX_HEADER)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: header length %llu exceeds the %u-byte limit", label,
                        (unsigned long long)hl, MAX_HEADER);
    cJSON *root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)hl);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: header is not a JSON object", label);
    }
    io_safetensors *st = calloc(1, sizeof *st);
    int count = cJSON_GetArraySize(root);
    st->tensors = calloc((size_t)(count > 0 ? count : 1), sizeof *st->tensors);
    st->path = strdup(label);
    if (!st->tensors || !st->path) {
        cJSON_Delete(root);
        st_free(st);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: header of %d entries", label, count);
    }
    st->map = (void *)buf;
    st->map_size = len;
    st->data = buf + 8 + hl;
    st->data_len = len - 8 - (size_t)hl;
    dit_status s = DIT_OK;
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) {
            s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: header entry without a name", label);
            break;
        }
        if (!strcmp(e->string, "__metadata__")) continue;
        io_st_tensor *t = &st->tensors[st->n];
        t->name = strdup(e->string);
        st->n++;
        if (!t->name) {
            s = DIT_FAIL(err, DIT_ERR_OOM, "%s: tensor name", label);
            break;
        }
        s = parse_entry(e, t, label, st->data_len, err);
        if (s != DIT_OK) break;
        t->data = st->data + t->begin;
    }
    cJSON_Delete(root);
    if (s == DIT_OK && st->n > 1) {
        io_st_tensor **order = malloc((size_t)st->n * sizeof *order);
        if (!order) s = DIT_FAIL(err, DIT_ERR_OOM, "%s: sorting %d tensors", label, st->n);
        for (int i = 0; s == DIT_OK && i < st->n; i++) order[i] = &st->tensors[i];
        if (s == DIT_OK) {
            qsort(order, (size_t)st->n, sizeof *order, cmp_name);
            for (int i = 1; i < st->n; i++)
                if (!strcmp(order[i - 1]->name, order[i]->name)) {
                    s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", label,
                                 order[i]->name);
                    break;
                }
        }
        free(order);
    }
    if (s == DIT_OK) s = check_tiling(st, label, err);
    if (s != DIT_OK) {
        st->owns_map = 0;
        st_free(st);
        return s;
    }
    *out = st;
    return DIT_OK;
}

dit_status io_safetensors_open(const char *path, io_safetensors **out, dit_err *err) {
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
    dit_status s = io_safetensors_parse(map ? (const uint8_t *)map : empty, len, path, out, err);
    if (s != DIT_OK) {
        if (map) munmap(map, len);
        return s;
    }
    (*out)->owns_map = map != NULL;
    return DIT_OK;
}

const io_st_tensor *io_safetensors_find(const io_safetensors *st, const char *name) {
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
    return NULL;
}

dit_status io_st_tensor_to_f32(const io_st_tensor *t, float *dst, int64_t n, const char *file, dit_err *err) {
    if (io_st_tensor_numel(t) != n)
        return DIT_FAIL(err, DIT_ERR_SHAPE, "%s: tensor '%s' has %lld elements, expected %lld", file, t->name,
                        (long long)io_st_tensor_numel(t), (long long)n);
    int dd = io_st_dtype_to_dit(t->dtype);
    if (dd < 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: tensor '%s' has dtype %s; expected F32, BF16, F16 or F64", file,
                        t->name, io_st_dtype_name(t->dtype));
    dit_convert_to_f32(dst, t->data, (dit_dtype)dd, (size_t)n);
    return DIT_OK;
}
