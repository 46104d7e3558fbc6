/* test_pth.c — the C .pth reader (io/pth.c, zip.c, pickle.c) against PyTorch.
 *
 * Goldens come from tools/gen_pth_goldens.py: each good X.pth was written by
 * torch.save and X.safetensors holds the tensors it must yield (flattened names,
 * contiguous copies).  Checks: same names, dtypes, shapes and bytes for every
 * tensor (and f32 values for float ones); views share the file mapping at the
 * right offsets while non-contiguous views are copies; each malformed archive
 * fails with the expected status and a message naming the file and the fault;
 * every truncation and many byte flips of a real archive fail cleanly (run under
 * ASan in CI); io_weights_open accepts .pth files and folders. */
#include <stdint.h>   /* uint8_t */
#include <sys/stat.h> /* mkdir */
#include <unistd.h>   /* unlink, rmdir */

#include "../io/json_file.h" /* io_file_read_all */
#include "../io/pickle.h"    /* io_pk_load (the VM on hand-made pickles) */
#include "../io/pth.h"
#include "../io/weights.h"
#include "test_util.h"

#define DIR SPADIT_TEST_DATA "/pth"

static void compare_pair(const char *name, const char *want_wrapper) {
    char pp[512], sp[512];
    snprintf(pp, sizeof pp, "%s/%s.pth", DIR, name);
    snprintf(sp, sizeof sp, "%s/%s.safetensors", DIR, name);
    dit_err err = {0};
    io_pth *p = NULL;
    io_safetensors *st = NULL;
    if (io_pth_open(pp, &p, &err) != DIT_OK || io_safetensors_open(sp, &st, &err) != DIT_OK) {
        CHECK(0, "%s: %s", name, err.msg);
        io_pth_close(&p);
        return;
    }
    CHECK(p->n == st->n, "%s: %d tensors, expected %d", name, p->n, st->n);
    CHECK(!strcmp(p->wrapper, want_wrapper), "%s: wrapper '%s', expected '%s'", name, p->wrapper, want_wrapper);
    int exact = 0;
    for (int i = 0; i < st->n; i++) {
        const io_st_tensor *e = &st->tensors[i], *g = io_pth_find(p, e->name);
        if (!g) {
            CHECK(0, "%s: tensor '%s' missing", name, e->name);
            continue;
        }
        int same = g->dtype == e->dtype && g->ndim == e->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = g->shape[d] == e->shape[d];
        CHECK(same, "%s/%s: dtype %s ndim %d vs %s ndim %d (or shape differs)", name, e->name,
              io_st_dtype_name(g->dtype), g->ndim, io_st_dtype_name(e->dtype), e->ndim);
        if (!same) continue;
        size_t nb = (size_t)(e->end - e->begin);
        CHECK(g->end - g->begin >= nb, "%s/%s: byte span %zu < %zu", name, e->name, g->end - g->begin, nb);
        int eq = nb == 0 || memcmp(g->data, e->data, nb) == 0;
        CHECK(eq, "%s/%s: bytes differ", name, e->name);
        exact += eq;
        if (io_st_dtype_to_dit(e->dtype) >= 0 && nb > 0) {
            int64_t n = io_st_tensor_numel(e);
            float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
            CHECK(io_st_tensor_to_f32(g, a, n, pp, &err) == DIT_OK && io_st_tensor_to_f32(e, b, n, sp, &err) == DIT_OK,
                  "%s", err.msg);
            double d = max_abs_diff(a, b, (size_t)n);
            CHECK(d == 0.0, "%s/%s: values differ by %g", name, e->name, d);
            free(a), free(b);
        }
    }
    printf("%-10s %2d tensors, %2d bit-exact vs safetensors%s%s\n", name, p->n, exact, p->wrapper[0] ? ", wrapper " : "",
           p->wrapper);
    io_safetensors_close(&st);
    io_pth_close(&p);
}

static void check_views(void) {
    dit_err err = {0};
    io_pth *p = NULL;
    if (io_pth_open(DIR "/views.pth", &p, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return;
    }
    const uint8_t *lo = p->map, *hi = lo + p->map_size;
    const io_st_tensor *whole = io_pth_find(p, "whole"), *slice = io_pth_find(p, "slice"), *row = io_pth_find(p, "row"),
                       *elem = io_pth_find(p, "elem"), *tr = io_pth_find(p, "transposed"),
                       *blk = io_pth_find(p, "block");
    if (whole && slice && row && elem && tr && blk) {
        const uint8_t *w = whole->data;
        CHECK(w >= lo && w + 240 <= hi, "'whole' must point into the mapping");
        CHECK((const uint8_t *)slice->data == w + 10 * 4, "'slice' must share the storage at element 10");
        CHECK((const uint8_t *)row->data == w + 30 * 4, "'row' must share the storage at element 30");
        CHECK((const uint8_t *)elem->data == w + 7 * 4 && elem->ndim == 0, "'elem' is a 0-d view at element 7");
        CHECK((const uint8_t *)tr->data < lo || (const uint8_t *)tr->data >= hi, "'transposed' must be a copy");
        CHECK(blk->begin == whole->begin + 12 * 4 && blk->end == whole->begin + 37 * 4,
              "'block' spans elements [12, 37) of the storage: got [%zu, %zu) vs base %zu", blk->begin, blk->end,
              whole->begin);
        const io_st_tensor *tr2 = io_pth_find(p, "transposed_again");
        CHECK(tr2 && tr2->data == tr->data, "one tensor under two names shares its copy");
        CHECK(p->ncopies == 3, "3 non-contiguous views copied, got %d", p->ncopies);
    } else {
        CHECK(0, "views.pth lacks an expected tensor");
    }
    io_pth_close(&p);
}

typedef struct bad_case {
    const char *file;
    dit_status code;
    const char *needle1, *needle2;
} bad_case;

static void check_bad_files(void) {
    static const bad_case cases[] = {
        {"bad_opcode", DIT_ERR_UNSUPPORTED, "unknown or unsupported pickle opcode 0xfe", "pickle offset"},
        {"bad_global", DIT_ERR_UNSUPPORTED, "unsupported global 'os.system'", "pickle offset 2"},
        {"bad_key", DIT_ERR_FORMAT, "storage key '7'", "archive/data/7"},
        {"bad_extent", DIT_ERR_FORMAT, "tensor 'w'", "reaches element 9 of storage '0', which holds 8"},
        {"bad_storage_size", DIT_ERR_FORMAT, "storage '0'", "holds only 32 bytes"},
        {"bad_deflate", DIT_ERR_UNSUPPORTED, "zip entry 'archive/", "(method 8 = deflate)"},
        {"bad_bigendian", DIT_ERR_UNSUPPORTED, "'big'", "little-endian"},
        {"bad_legacy", DIT_ERR_UNSUPPORTED, "legacy (non-zip) torch.save format", "bad_legacy.pth"},
        {"bad_expand", DIT_ERR_UNSUPPORTED, "tensor 'e'", "overlapping strides"},
        {"bad_complex", DIT_ERR_UNSUPPORTED, "torch.ComplexFloatStorage", "pickle offset"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.pth", DIR, cases[i].file);
        dit_err err = {0};
        io_pth *p = NULL;
        dit_status s = io_pth_open(path, &p, &err);
        CHECK(s == cases[i].code && !p, "%s: status %s, expected %s (%s)", cases[i].file, dit_status_str(s),
              dit_status_str(cases[i].code), err.msg);
        CHECK(strstr(err.msg, cases[i].needle1) && strstr(err.msg, cases[i].needle2) && strstr(err.msg, ".pth"),
              "%s: message lacks '%s' / '%s': %s", cases[i].file, cases[i].needle1, cases[i].needle2, err.msg);
        if (i < 3) printf("  e.g. %s\n", err.msg);
        io_pth_close(&p);
    }
}

/* A compact Python-like rendering of a pickle object (for check_pickle_vm). */
static size_t pk_str(const io_pk_obj *o, char *b, size_t cap) {
    size_t k = 0;
#define PUT(...) (k += (size_t)snprintf(b + k, k < cap ? cap - k : 0, __VA_ARGS__))
    switch (o->type) {
    case IO_PK_INT: PUT("%lld", (long long)o->i); break;
    case IO_PK_FLOAT: PUT("%g", o->f); break;
    case IO_PK_STR: PUT("%s", o->s); break;
    case IO_PK_TUPLE:
    case IO_PK_LIST:
    case IO_PK_DICT: {
        int d = o->type == IO_PK_DICT;
        PUT("%s", o->type == IO_PK_TUPLE ? "(" : d ? "{" : "[");
        for (int64_t i = 0; i < o->n && k < cap; i++) {
            if (i) PUT(d && i % 2 ? ": " : ", ");
            k += pk_str(o->items[i], b + k, cap - k);
        }
        PUT("%s", o->type == IO_PK_TUPLE ? ")" : d ? "}" : "]");
        break;
    }
    default: PUT("<%s>", io_pk_type_name(o->type));
    }
#undef PUT
    return k < cap ? k : cap;
}

static uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static uint8_t *find_sig(uint8_t *b, size_t n, const char *sig) {
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(b + i, sig, 4)) return b + i;
    return NULL;
}

/* Corrupt copies of a real torch.save archive in memory. */
static void check_corruptions(void) {
    char *orig;
    size_t len;
    dit_err err = {0};
    if (io_file_read_all(DIR "/dtypes.pth", &orig, &len, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return;
    }
    uint8_t *b = malloc(len);
    io_pth *p = NULL;
    /* every truncation fails cleanly (each copy is exactly `cut` bytes, so ASan sees overreads) */
    int trunc_ok = 1;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, orig, cut);
        dit_status s = io_pth_parse(t, cut, "cut.pth", &p, &err);
        if (s == DIT_OK || !strstr(err.msg, "cut.pth")) trunc_ok = 0;
        io_pth_close(&p);
        free(t);
    }
    CHECK(trunc_ok, "every truncation of dtypes.pth must fail with a message naming the file");
    CHECK(io_pth_parse((const uint8_t *)orig, len - 1, "t.pth", &p, &err) == DIT_ERR_FORMAT &&
              strstr(err.msg, "end-of-central-directory"),
          "cut by one byte: %s", err.msg);

    memcpy(b, orig, len);
    uint8_t *cd = find_sig(b, len, "PK\x01\x02");
    if (cd) cd[3] = 9;
    CHECK(io_pth_parse(b, len, "cd.pth", &p, &err) == DIT_ERR_FORMAT && strstr(err.msg, "central directory entry 0"),
          "bad central entry: %s", err.msg);

    memcpy(b, orig, len);
    uint8_t *e64 = find_sig(b, len, "PK\x06\x06");
    if (e64) memset(e64 + 48, 0x7f, 8); /* central directory offset */
    CHECK(io_pth_parse(b, len, "off.pth", &p, &err) == DIT_ERR_FORMAT && strstr(err.msg, "runs past its end record"),
          "bad directory offset: %s", err.msg);

    memcpy(b, orig, len);
    if (e64) memset(e64 + 24, 0x7f, 16); /* entry counts (this disk, total) */
    CHECK(io_pth_parse(b, len, "cnt.pth", &p, &err) == DIT_ERR_FORMAT && strstr(err.msg, "claims"),
          "absurd entry count: %s", err.msg);

    memcpy(b, orig, len);
    b[0] = 'X'; /* first local header */
    CHECK(io_pth_parse(b, len, "loc.pth", &p, &err) == DIT_ERR_FORMAT && strstr(err.msg, "no local header"),
          "bad local header: %s", err.msg);
    CHECK(e64 && rd64(e64 + 48) != 0, "zip64 end record found");

    /* flip each byte of the archive (two patterns): never crash, never succeed silently with garbage names */
    int ok = 0, failed = 0, nameless = 0;
    for (size_t i = 0; i < len; i++)
        for (int pat = 0; pat < 2; pat++) {
            memcpy(b, orig, len);
            b[i] ^= pat ? 0xff : 0x01;
            dit_err e2 = {0};
            if (io_pth_parse(b, len, "flip.pth", &p, &e2) == DIT_OK) ok++;
            else {
                failed++;
                if (!e2.msg[0]) nameless++;
            }
            io_pth_close(&p);
        }
    printf("byte flips of dtypes.pth (%zu bytes x 2): %d parsed (data bytes), %d rejected\n", len, ok, failed);
    CHECK(failed > 0 && nameless == 0, "%d flips failed without a message", nameless);
    free(b);
    free(orig);
}

static void check_weights(void) {
    dit_err err = {0};
    io_weights *w = NULL;
    CHECK(io_weights_open(DIR "/state_dict.pth", NULL, &w, &err) == DIT_OK, "%s", err.msg);
    if (w) {
        const io_st_tensor *t = io_weights_find(w, "conv.weight");
        CHECK(t && t->ndim == 5 && t->shape[0] == 4 && t->shape[4] == 3, "conv.weight [4,3,3,3,3] via io_weights");
        float v[4 * 81];
        CHECK(io_weights_read_f32(w, "conv.weight", v, 4 * 81, &err) == DIT_OK, "%s", err.msg);
        CHECK(io_weights_count(w) == 8, "state_dict.pth holds 8 tensors, got %d", io_weights_count(w));
        io_weights_close(&w);
    }
    /* a folder whose only weight file is a .pth, by stem and without */
    char tmpl[] = "/tmp/spadit_pth_XXXXXX";
    char *dir = mkdtemp(tmpl);
    char *data;
    size_t len;
    if (dir && io_file_read_all(DIR "/state_dict.pth", &data, &len, &err) == DIT_OK) {
        char path[512];
        snprintf(path, sizeof path, "%s/Wan2.1_VAE.pth", dir);
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(data, 1, len, f) == len && fclose(f) == 0, "write %s", path);
        free(data);
        CHECK(io_weights_open(dir, NULL, &w, &err) == DIT_OK && io_weights_count(w) == 8, "folder: %s", err.msg);
        io_weights_close(&w);
        CHECK(io_weights_open(dir, "Wan2.1_VAE", &w, &err) == DIT_OK && io_weights_find(w, "head.0.bias"),
              "folder + stem: %s", err.msg);
        io_weights_close(&w);
        unlink(path);
        rmdir(dir);
    }
    dit_status s = io_weights_open(DIR, NULL, &w, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, ".safetensors/.pth files"), "ambiguous folder: %s", err.msg);
    s = io_weights_open(DIR "/bad_key.pth", NULL, &w, &err);
    CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, "bad_key.pth"), "bad file through io_weights: %s", err.msg);
}

/* The generic pickle VM on hand-made pickles (no hooks: globals/persistent ids refused). */
static void check_pickle_vm(void) {
    static const struct {
        const char *bytes;
        size_t len; /* 0: strlen (cases with a NUL byte give it) */
        const char *want; /* printed form of the result, or an error substring */
    } cases[] = {
        {"\x80\x02(K\x01K\x02l(X\x01\x00\x00\x00" "aK\x03" "d\x86.", 20, "([1, 2], {a: 3})"},
        {"K\x09(K\x01K\x02" "1K\x05\x86.", 0, "(9, 5)"},       /* POP_MARK drops 1, 2 */
        {"K\x01(t\x85.", 0, "(())"},                            /* empty tuple from a bare MARK */
        {"K\x07(0.", 0, "7"},                                   /* POP removes a bare MARK */
        {"K\x07q\x05h\x05\x86.", 0, "(7, 7)"},                /* memo put/get */
        {"\x8a\x02\x00\xff.", 5, "-256"},                      /* LONG1, negative */
        {"G?\xf8\x00\x00\x00\x00\x00\x00.", 10, "1.5"},     /* BINFLOAT, big-endian */
        {"K\x01(\x85.", 0, "stack underflow"},                  /* a MARK is a wall */
        {"h\x09.", 0, "memo slot 9 was never stored"},
        {"r\xff\xff\xff\x7fK\x01.", 0, "stack underflow"},    /* LONG_BINPUT on an empty stack */
        {"K\x01r\xff\xff\xff\x7f.", 0, "larger than the pickle"},
        {"K\x01", 0, "without STOP"},
        {"X\xff\xff\x00\x00" "ab.", 8, "needs 65535 more bytes"},
        {"cos\nsystem\n.", 0, "global 'os.system' not allowed"},
        {"\x80\x06.", 0, "protocol 6"},
        {"I01\n.", 0, "opcode 0x49 ('I')"},
    };
    io_pk_hooks none = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dit_err err = {0};
        io_pk_vm *vm = NULL;
        io_pk_obj *root = NULL;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].bytes);
        dit_status s = io_pk_load((const uint8_t *)cases[i].bytes, len, "vm", &none, &vm, &root, &err);
        char got[256] = {0};
        if (s == DIT_OK) pk_str(root, got, sizeof got);
        const char *have = s == DIT_OK ? got : err.msg;
        CHECK(s == DIT_OK ? !strcmp(got, cases[i].want) : strstr(err.msg, cases[i].want) != NULL,
              "pickle case %zu: got '%s', want '%s'", i, have, cases[i].want);
        io_pk_vm_free(&vm);
    }
}

int main(void) {
    const char *good[] = {"state_dict", "dtypes", "views", "multi", "proto4", "v3", "zip64"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) compare_pair(good[i], "");
    compare_pair("nested", "state_dict");
    check_views();
    check_bad_files();
    check_pickle_vm();
    check_corruptions();
    check_weights();
    return test_summary("test_pth");
}
