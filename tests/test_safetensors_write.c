/* test_safetensors_write.c — io_safetensors_write / _serialize round trips through the reader.
 *
 * Checks: every written dtype (F32, BF16 and F16 from f32 sources, raw BF16, I64,
 * U8, a 0-d scalar and an empty tensor) reads back with its name, dtype, shape and
 * bytes; the header length is a multiple of 8 and every tensor starts aligned to
 * its element size; the file equals the serialized image; bad inputs are refused
 * with messages naming the tensor; a failed write leaves no file and no temp
 * file; rewriting replaces the file atomically. */
#include <dirent.h> /* opendir */
#include <stdlib.h> /* mkdtemp */
#include <unistd.h> /* unlink, rmdir */

#include "../io/json_file.h"         /* io_file_read_all */
#include "../io/safetensors_write.h" /* io_safetensors_write */
#include "test_util.h"

static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

int main(void) {
    char dir[] = "/tmp/spadit_stw_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/t.safetensors", dir);
    dit_err err = {0};

    float f[6] = {1.0f, -2.5f, 3.14159265f, 1e-3f, -65504.0f, 0.333333333f};
    uint16_t raw_bf16[3] = {dit_f32_to_bf16(1.5f), dit_f32_to_bf16(-0.25f), dit_f32_to_bf16(7.0f)};
    int64_t i64[3] = {-1, (int64_t)1 << 40, 7};
    uint8_t u8[5] = {'h', 'e', 'l', 'l', 'o'};
    float scalar = 42.0f;
    int64_t s23[2] = {2, 3}, s0[1] = {0};
    io_st_out t[8];
    memset(t, 0, sizeof t);
    t[0] = (io_st_out){"text", IO_ST_U8, 1, {5}, u8, NULL}; /* a 1-byte dtype first: the writer reorders */
    t[1] = io_st_out_f32("a.f32", IO_ST_F32, f, 2, s23);
    t[2] = io_st_out_f32("a.bf16", IO_ST_BF16, f, 2, s23);
    t[3] = io_st_out_f32("a.f16", IO_ST_F16, f, 1, (int64_t[]){6});
    t[4] = (io_st_out){"raw.bf16", IO_ST_BF16, 1, {3}, raw_bf16, NULL};
    t[5] = (io_st_out){"ids", IO_ST_I64, 1, {3}, i64, NULL};
    t[6] = io_st_out_f32("scalar", IO_ST_F32, &scalar, 0, NULL);
    t[7] = io_st_out_f32("empty", IO_ST_F32, NULL, 1, s0);
    io_st_meta meta[2] = {{"format", "pt"}, {"prompt", "a \"quoted\" \xe7\x8c\xab prompt\n"}};
    dit_status s = io_safetensors_write(path, t, 8, meta, 2, &err);
    CHECK(s == DIT_OK, "write: %s", err.msg);
    CHECK(count_files(dir) == 1, "temp file left behind (%d files)", count_files(dir));

    io_safetensors *st = NULL;
    s = io_safetensors_open(path, &st, &err);
    CHECK(s == DIT_OK, "read back: %s", err.msg);
    if (st) {
        CHECK(st->n == 8, "%d tensors read back", st->n);
        uint64_t hl = 0;
        const uint8_t *b = st->map;
        for (int i = 7; i >= 0; i--) hl = (hl << 8) | b[i];
        CHECK(hl % 8 == 0, "header length %llu not a multiple of 8", (unsigned long long)hl);
        for (int i = 0; i < st->n; i++) {
            const io_st_tensor *x = &st->tensors[i];
            CHECK(((uintptr_t)x->data - (uintptr_t)st->map) % io_st_dtype_size(x->dtype) == 0, "'%s' misaligned", x->name);
        }
        const io_st_tensor *x = io_safetensors_find(st, "a.f32");
        CHECK(x && x->dtype == IO_ST_F32 && x->ndim == 2 && x->shape[0] == 2 && x->shape[1] == 3 && !memcmp(x->data, f, 24),
              "a.f32");
        float back[6];
        x = io_safetensors_find(st, "a.bf16");
        if (x && io_st_tensor_to_f32(x, back, 6, "t", &err) == DIT_OK) {
            int ok = x->dtype == IO_ST_BF16;
            for (int i = 0; i < 6; i++) ok = ok && back[i] == dit_bf16_to_f32(dit_f32_to_bf16(f[i]));
            CHECK(ok, "a.bf16 values");
        } else {
            CHECK(0, "a.bf16 missing");
        }
        x = io_safetensors_find(st, "a.f16");
        if (x && io_st_tensor_to_f32(x, back, 6, "t", &err) == DIT_OK) {
            int ok = x->dtype == IO_ST_F16 && x->ndim == 1;
            for (int i = 0; i < 6; i++) ok = ok && back[i] == dit_f16_to_f32(dit_f32_to_f16(f[i]));
            CHECK(ok, "a.f16 values");
        } else {
            CHECK(0, "a.f16 missing");
        }
        x = io_safetensors_find(st, "raw.bf16");
        CHECK(x && x->dtype == IO_ST_BF16 && !memcmp(x->data, raw_bf16, 6), "raw.bf16");
        x = io_safetensors_find(st, "ids");
        CHECK(x && x->dtype == IO_ST_I64 && x->shape[0] == 3 && !memcmp(x->data, i64, 24), "ids");
        x = io_safetensors_find(st, "text");
        CHECK(x && x->dtype == IO_ST_U8 && x->shape[0] == 5 && !memcmp(x->data, u8, 5), "text");
        x = io_safetensors_find(st, "scalar");
        CHECK(x && x->ndim == 0 && io_st_tensor_numel(x) == 1 && !memcmp(x->data, &scalar, 4), "scalar");
        x = io_safetensors_find(st, "empty");
        CHECK(x && x->ndim == 1 && x->shape[0] == 0 && x->end == x->begin, "empty");
        /* the metadata is valid JSON holding our strings */
        cJSON *h = cJSON_ParseWithLength((const char *)b + 8, (size_t)hl);
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
        const char *pr = io_json_str(md, "prompt", "");
        CHECK(!strcmp(pr, meta[1].value), "metadata prompt '%s'", pr);
        cJSON_Delete(h);
        /* the file equals the serialized image */
        uint8_t *img = NULL;
        size_t il = 0;
        s = io_safetensors_serialize(t, 8, meta, 2, &img, &il, &err);
        CHECK(s == DIT_OK && il == st->map_size && !memcmp(img, st->map, il), "file != serialized image");
        free(img);
        io_safetensors_close(&st);
    }

    /* rewrite in place: replaced atomically */
    s = io_safetensors_write(path, &t[1], 1, NULL, 0, &err);
    CHECK(s == DIT_OK && io_safetensors_open(path, &st, &err) == DIT_OK && st->n == 1, "rewrite");
    io_safetensors_close(&st);
    CHECK(count_files(dir) == 1, "rewrite left %d files", count_files(dir));

    /* bad inputs */
    io_st_out dup[2] = {t[1], t[1]};
    s = io_safetensors_write(path, dup, 2, NULL, 0, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "'a.f32' appears twice"), "duplicate: %s", err.msg);
    io_st_out both = t[1];
    both.data = f;
    s = io_safetensors_write(path, &both, 1, NULL, 0, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "both data and f32"), "both: %s", err.msg);
    io_st_out conv = io_st_out_f32("ints", IO_ST_I64, f, 1, (int64_t[]){6});
    s = io_safetensors_write(path, &conv, 1, NULL, 0, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "'ints'") && strstr(err.msg, "I64"), "f32 -> I64: %s", err.msg);
    io_st_out nodata = (io_st_out){"nodata", IO_ST_F32, 1, {4}, NULL, NULL};
    s = io_safetensors_write(path, &nodata, 1, NULL, 0, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "'nodata' has no data"), "no data: %s", err.msg);
    io_st_out neg = (io_st_out){"neg", IO_ST_F32, 1, {-2}, f, NULL};
    s = io_safetensors_write(path, &neg, 1, NULL, 0, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "negative"), "negative dim: %s", err.msg);
    io_st_meta dm[2] = {{"k", "a"}, {"k", "b"}};
    s = io_safetensors_write(path, &t[1], 1, dm, 2, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "metadata key 'k'"), "dup meta: %s", err.msg);
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/x.safetensors", dir);
    s = io_safetensors_write(nodir, &t[1], 1, NULL, 0, &err);
    CHECK(s == DIT_ERR_IO && strstr(err.msg, nodir), "missing dir: %s", err.msg);
    CHECK(count_files(dir) == 1, "failed writes left %d files", count_files(dir));

    unlink(path);
    rmdir(dir);
    return test_summary("test_safetensors_write");
}
