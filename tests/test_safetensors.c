/* test_safetensors.c — the safetensors reader, sharded weight sets and the Wan
 * loader on malformed input: every case must fail with a clear message naming
 * the file / tensor and what was expected, never crash.
 * Cases: valid file; truncated file; header length past the end; not JSON;
 * unknown dtype; dtype x shape disagreeing with the byte range; range past the
 * data; overlapping ranges; duplicate names; sharded index (ok, missing shard,
 * key in the wrong shard); Wan model with a missing tensor, a tensor whose shape
 * disagrees with the config, an unexpected tensor; a directory with no model. */
#include <sys/stat.h> /* mkdir */
#include <unistd.h>   /* unlink */

#include "../io/json_file.h"
#include "../models/wan/wan_dit.h"
#include "test_util.h"

static char tmpdir[256];

static void write_raw(const char *name, const char *header, const void *data, size_t dlen, long hl_override) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    uint64_t hl = hl_override >= 0 ? (uint64_t)hl_override : strlen(header);
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hl >> (8 * i));
    fwrite(b, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    if (dlen) fwrite(data, 1, dlen, f);
    fclose(f);
}

static dit_status open_named(const char *name, dit_err *err) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    io_safetensors *st = NULL;
    dit_status s = io_safetensors_open(p, &st, err);
    io_safetensors_close(&st);
    return s;
}

#define EXPECT_FAIL(name, code, needle)                                                                    \
    do {                                                                                                   \
        dit_err e_ = {0};                                                                                  \
        dit_status s_ = open_named(name, &e_);                                                             \
        CHECK(s_ == (code) && strstr(e_.msg, needle) && strstr(e_.msg, name), "%s: status %d msg '%s'", name, \
              s_, e_.msg);                                                                                 \
    } while (0)

static void test_reader(void) {
    float data[6] = {1, 2, 3, 4, 5, 6};
    write_raw("ok.safetensors",
              "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
              "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[16,24]}}",
              data, 24, -1);
    dit_err err = {0};
    char p[512];
    snprintf(p, sizeof p, "%s/ok.safetensors", tmpdir);
    io_safetensors *st = NULL;
    CHECK(io_safetensors_open(p, &st, &err) == DIT_OK, "%s", err.msg);
    if (st) {
        const io_st_tensor *a = io_safetensors_find(st, "a");
        float out[4];
        CHECK(a && a->ndim == 2 && a->shape[1] == 2 && io_st_tensor_to_f32(a, out, 4, p, &err) == DIT_OK && out[3] == 4,
              "tensor a");
        CHECK(io_safetensors_find(st, "__metadata__") == NULL && st->n == 2, "metadata skipped");
        CHECK(io_st_tensor_to_f32(a, out, 3, p, &err) == DIT_ERR_SHAPE, "numel check");
        io_safetensors_close(&st);
    }
    write_raw("short.safetensors", "", NULL, 0, -1);
    {
        char q[512];
        snprintf(q, sizeof q, "%s/tiny.safetensors", tmpdir);
        FILE *f = fopen(q, "wb");
        fwrite("abc", 1, 3, f);
        fclose(f);
    }
    EXPECT_FAIL("tiny.safetensors", DIT_ERR_FORMAT, "too short");
    /* a truncated file: the data section is shorter than the offsets claim */
    write_raw("truncated.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", data, 10, -1);
    EXPECT_FAIL("truncated.safetensors", DIT_ERR_FORMAT, "truncated");
    write_raw("hlen.safetensors", "{}", NULL, 0, 1000);
    EXPECT_FAIL("hlen.safetensors", DIT_ERR_FORMAT, "runs past the end");
    write_raw("notjson.safetensors", "{\"a\": [1, 2", NULL, 0, -1);
    EXPECT_FAIL("notjson.safetensors", DIT_ERR_FORMAT, "not a JSON object");
    write_raw("dtype.safetensors", "{\"a\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8, -1);
    EXPECT_FAIL("dtype.safetensors", DIT_ERR_FORMAT, "unknown dtype 'Q4_K'");
    write_raw("bytes.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data, 8, -1);
    EXPECT_FAIL("bytes.safetensors", DIT_ERR_FORMAT, "= 12 bytes, but its data_offsets span 8");
    write_raw("overlap.safetensors",
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
              data, 16, -1);
    EXPECT_FAIL("overlap.safetensors", DIT_ERR_FORMAT, "overlap");
    write_raw("dup.safetensors",
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
              data, 8, -1);
    EXPECT_FAIL("dup.safetensors", DIT_ERR_FORMAT, "appears twice");
    write_raw("negshape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data, 4, -1);
    EXPECT_FAIL("negshape.safetensors", DIT_ERR_FORMAT, "shape[0]");
    write_raw("noshape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", data, 4, -1);
    EXPECT_FAIL("noshape.safetensors", DIT_ERR_FORMAT, "needs string 'dtype'");
    dit_err e2 = {0};
    snprintf(p, sizeof p, "%s/nonexistent.safetensors", tmpdir);
    CHECK(io_safetensors_open(p, &st, &e2) == DIT_ERR_MISSING && strstr(e2.msg, "nonexistent"), "%s", e2.msg);
}

static void write_text(const char *rel, const char *text) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

static void test_shards(void) {
    float data[4] = {1, 2, 3, 4};
    char d[512];
    snprintf(d, sizeof d, "%s/sh", tmpdir);
    mkdir(d, 0755);
    write_raw("sh/m-1.safetensors", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 8, -1);
    write_raw("sh/m-2.safetensors", "{\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data + 2, 8, -1);
    write_text("sh/m.safetensors.index.json", "{\"weight_map\":{\"x\":\"m-1.safetensors\",\"y\":\"m-2.safetensors\"}}");
    io_weights *w = NULL;
    dit_err err = {0};
    CHECK(io_weights_open(d, "m", &w, &err) == DIT_OK, "%s", err.msg);
    if (w) {
        float y[2];
        CHECK(io_weights_count(w) == 2 && io_weights_nfiles(w) == 2, "two shards");
        CHECK(io_weights_read_f32(w, "y", y, 2, &err) == DIT_OK && y[1] == 4, "read from shard 2");
        CHECK(io_weights_read_f32(w, "z", y, 2, &err) == DIT_ERR_MISSING && strstr(err.msg, "'z'"), "missing tensor");
        io_weights_close(&w);
    }
    write_text("sh/m.safetensors.index.json", "{\"weight_map\":{\"x\":\"m-1.safetensors\",\"y\":\"m-3.safetensors\"}}");
    CHECK(io_weights_open(d, "m", &w, &err) == DIT_ERR_MISSING && strstr(err.msg, "m-3.safetensors"), "missing shard: %s",
          err.msg);
    write_text("sh/m.safetensors.index.json", "{\"weight_map\":{\"x\":\"m-2.safetensors\",\"y\":\"m-2.safetensors\"}}");
    CHECK(io_weights_open(d, "m", &w, &err) == DIT_ERR_MISSING && strstr(err.msg, "'x' is mapped to m-2"),
          "key in the wrong shard: %s", err.msg);
    write_text("sh/m.safetensors.index.json", "{\"nothing\": 1}");
    CHECK(io_weights_open(d, "m", &w, &err) == DIT_ERR_FORMAT && strstr(err.msg, "weight_map"), "%s", err.msg);
}

/* Copy the small golden model into tmp with one tensor dropped / reshaped / added. */
static void copy_model_edit(const char *dst, const char *drop, const char *reshape, const char *extra) {
    char src[512], p[512];
    snprintf(src, sizeof src, "%s/wan_tiny32_original/diffusion_pytorch_model.safetensors", SPADIT_TEST_DATA);
    io_safetensors *st = NULL;
    dit_err err = {0};
    if (io_safetensors_open(src, &st, &err) != DIT_OK) return;
    char *hdr = malloc(1 << 20);
    size_t o = (size_t)snprintf(hdr, 1 << 20, "{");
    size_t off = 0;
    for (int i = 0; i < st->n; i++) {
        const io_st_tensor *t = &st->tensors[i];
        if (drop && !strcmp(t->name, drop)) continue;
        int64_t n = io_st_tensor_numel(t);
        if (reshape && !strcmp(t->name, reshape))
            o += (size_t)snprintf(hdr + o, (1 << 20) - o, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[%lld,1],\"data_offsets\":[%zu,%zu]}",
                                  o > 1 ? "," : "", t->name, (long long)n, off, off + (size_t)n * 2);
        else {
            o += (size_t)snprintf(hdr + o, (1 << 20) - o, "%s\"%s\":{\"dtype\":\"F16\",\"shape\":[", o > 1 ? "," : "", t->name);
            for (int k = 0; k < t->ndim; k++) o += (size_t)snprintf(hdr + o, (1 << 20) - o, k ? ",%lld" : "%lld", (long long)t->shape[k]);
            o += (size_t)snprintf(hdr + o, (1 << 20) - o, "],\"data_offsets\":[%zu,%zu]}", off, off + (size_t)n * 2);
        }
        off += (size_t)n * 2;
    }
    if (extra) o += (size_t)snprintf(hdr + o, (1 << 20) - o, ",\"%s\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[%zu,%zu]}", extra, off, off + 2);
    snprintf(hdr + o, (1 << 20) - o, "}");
    snprintf(p, sizeof p, "%s/%s", tmpdir, dst);
    mkdir(p, 0755);
    char f[600];
    snprintf(f, sizeof f, "%s/%s/diffusion_pytorch_model.safetensors", tmpdir, dst);
    FILE *fp = fopen(f, "wb");
    uint64_t hl = strlen(hdr);
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hl >> (8 * i));
    fwrite(b, 1, 8, fp);
    fwrite(hdr, 1, hl, fp);
    for (int i = 0; i < st->n; i++) {
        const io_st_tensor *t = &st->tensors[i];
        if (drop && !strcmp(t->name, drop)) continue;
        fwrite(t->data, 1, t->end - t->begin, fp);
    }
    if (extra) fwrite("\0\0", 1, 2, fp);
    fclose(fp);
    char cs[512], cd[600];
    snprintf(cs, sizeof cs, "%s/wan_tiny32_original/config.json", SPADIT_TEST_DATA);
    snprintf(cd, sizeof cd, "%s/config.json", dst);
    char *txt;
    size_t len;
    if (io_file_read_all(cs, &txt, &len, &err) == DIT_OK) {
        write_text(cd, txt);
        free(txt);
    }
    free(hdr);
    io_safetensors_close(&st);
}

static void test_model_errors(dit_backend *be) {
    wan_dit *m = NULL;
    dit_err err = {0};
    copy_model_edit("m_ok", NULL, NULL, NULL);
    char p[512];
    snprintf(p, sizeof p, "%s/m_ok", tmpdir);
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_OK, "rewritten copy loads: %s", err.msg);
    wan_dit_free(&m);
    copy_model_edit("m_missing", "blocks.1.cross_attn.k.weight", NULL, NULL);
    snprintf(p, sizeof p, "%s/m_missing", tmpdir);
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_ERR_MISSING && strstr(err.msg, "1 missing") &&
              strstr(err.msg, "blocks.1.cross_attn.k.weight [64, 64]"),
          "missing tensor: %s", err.msg);
    copy_model_edit("m_shape", NULL, "blocks.0.ffn.0.weight", NULL);
    snprintf(p, sizeof p, "%s/m_shape", tmpdir);
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_ERR_SHAPE &&
              strstr(err.msg, "blocks.0.ffn.0.weight: got [6144, 1], expected [96, 64]"),
          "mis-shaped tensor: %s", err.msg);
    copy_model_edit("m_extra", "head.head.bias", NULL, "blocks.0.self_attn.bogus");
    snprintf(p, sizeof p, "%s/m_extra", tmpdir);
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_ERR_MISSING && strstr(err.msg, "1 missing, 0 mis-shaped, 1 unexpected") &&
              strstr(err.msg, "blocks.0.self_attn.bogus") && strstr(err.msg, "head.head.bias"),
          "missing + unexpected reported together: %s", err.msg);
    snprintf(p, sizeof p, "%s/sh", tmpdir);
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_ERR_MISSING && strstr(err.msg, "no model here"), "no model: %s", err.msg);
    snprintf(p, sizeof p, "%s/does-not-exist", tmpdir);
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_ERR_MISSING && strstr(err.msg, "no such file"), "%s", err.msg);
    /* a directory with a config but no weights */
    snprintf(p, sizeof p, "%s/cfg_only", tmpdir);
    mkdir(p, 0755);
    write_text("cfg_only/config.json", "{\"_class_name\":\"WanModel\",\"dim\":64,\"num_heads\":2,\"num_layers\":2,\"ffn_dim\":96}");
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_ERR_MISSING && strstr(err.msg, "no diffusion_pytorch_model"),
          "config without weights: %s", err.msg);
    write_text("cfg_only/config.json", "{\"_class_name\":\"WanModel\",\"dim\":64,\"num_heads\":3,\"num_layers\":2,\"ffn_dim\":96}");
    CHECK(wan_dit_load(p, be, &m, &err) == DIT_ERR_FORMAT && strstr(err.msg, "divisible"), "bad config: %s", err.msg);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/spadit_st_XXXXXX");
    if (!mkdtemp(tmpdir)) return printf("mkdtemp failed\n"), 1;
    dit_backend *be = NULL;
    dit_err err = {0};
    dit_backend_create("cpu", &be, &err);
    test_reader();
    test_shards();
    test_model_errors(be);
    dit_backend_destroy(&be);
    test_rm_rf(tmpdir);
    if (access(tmpdir, F_OK) == 0) printf("warning: could not remove %s\n", tmpdir);
    return test_summary("test_safetensors");
}
