/* test_umt5.c — the C umT5 encoder against transformers' UMT5EncoderModel / T5EncoderModel.
 *
 * Goldens come from tools/gen_umt5_goldens.py (random weights, fp32 forward):
 *   - the relative-position bucket of every |rel| <= 600 equals transformers' (two configs);
 *   - umt5_small in the HF layout (config.json) and the Wan original layout (config
 *     inferred from shapes): 200 tokens, and 40 tokens with 29 real + padding mask;
 *     relative L2 <= 1e-4, both layouts bit-identical, padded rows = unpadded run;
 *   - t5_tiny (shared bias table, attention width != d_model, non-default buckets/eps);
 *   - bad input: ids outside the vocabulary, bad n_valid, missing + mis-shaped +
 *     unexpected tensors reported together, unsupported feed_forward_proj, a folder
 *     without an encoder, a missing path. */
#include <stdlib.h>   /* mkdtemp */
#include <unistd.h>   /* unlink, rmdir */

#include "../io/json_file.h"         /* io_file_read_all */
#include "../io/safetensors_write.h" /* io_safetensors_write */
#include "../models/wan/umt5.h"
#include "test_util.h"

static float *read_f32(io_safetensors *io, const char *name, int64_t *n) {
    const io_st_tensor *t = io_safetensors_find(io, name);
    if (!t) return NULL;
    *n = io_st_tensor_numel(t);
    float *buf = malloc((size_t)*n * sizeof(float));
    dit_err err = {0};
    if (io_st_tensor_to_f32(t, buf, *n, "io", &err) != DIT_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* I64 tensor -> int32 ids (or int64 values) */
static int32_t *read_ids(io_safetensors *io, const char *name, int64_t *n) {
    const io_st_tensor *t = io_safetensors_find(io, name);
    if (!t || t->dtype != IO_ST_I64) return NULL;
    *n = io_st_tensor_numel(t);
    int32_t *ids = malloc((size_t)*n * sizeof *ids);
    for (int64_t i = 0; i < *n; i++) {
        int64_t v;
        memcpy(&v, (const char *)t->data + i * 8, 8);
        ids[i] = (int32_t)v;
    }
    return ids;
}

static void check_buckets(const char *io_name, int nb, int md) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", SPADIT_TEST_DATA, io_name);
    io_safetensors *io = NULL;
    dit_err err = {0};
    if (io_safetensors_open(p, &io, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return;
    }
    int64_t n1 = 0, n2 = 0;
    int32_t *rel = read_ids(io, "bucket_rel", &n1), *bk = read_ids(io, "bucket", &n2);
    int bad = 0, first = 0;
    for (int64_t i = 0; rel && bk && i < n1; i++)
        if (wan_umt5_bucket(rel[i], 1, nb, md) != bk[i] && !bad++) first = rel[i];
    CHECK(rel && bk && n1 == 1201 && n2 == n1 && bad == 0, "%s: %d buckets differ from transformers (first at rel %d)",
          io_name, bad, first);
    free(rel), free(bk);
    io_safetensors_close(&io);
}

static wan_umt5 *load(const char *dir, dit_backend *be) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", SPADIT_TEST_DATA, dir);
    dit_err err = {0};
    wan_umt5 *m = NULL;
    if (wan_umt5_load(p, be, &m, &err) != DIT_OK) CHECK(0, "load %s: %s", dir, err.msg);
    return m;
}

static void test_configs(void) {
    wan_umt5_config c;
    CHECK(wan_umt5_config_preset("umt5-xxl", &c) == 0 && c.vocab == 256384 && c.d_model == 4096 && c.layers == 24 &&
              c.heads == 64 && c.d_kv == 64 && c.d_ff == 10240 && c.num_buckets == 32 && c.max_distance == 128 &&
              c.shared_bias == 0 && c.act == DIT_ACT_GELU_TANH,
          "umt5-xxl preset");
    /* 5.68 B parameters: 1.05 B embedding + 24 x 192.9 M + final norm */
    CHECK(wan_umt5_config_param_count(&c) == 5680910336LL, "umt5-xxl params %lld", (long long)wan_umt5_config_param_count(&c));
    CHECK(wan_umt5_config_preset("umt5-xl", &c) == -1, "unknown preset accepted");
    const char *bad[][2] = {
        {"{\"model_type\":\"umt5\",\"vocab_size\":300,\"d_model\":64,\"num_heads\":4,\"d_ff\":96,\"num_layers\":2,"
         "\"feed_forward_proj\":\"relu\"}",
         "feed_forward_proj"},
        {"{\"model_type\":\"bert\"}", "model_type 'bert'"},
        {"{\"model_type\":\"umt5\",\"vocab_size\":300,\"d_model\":0,\"num_heads\":4,\"d_ff\":96,\"num_layers\":2}", "'d_model'"},
        {"{\"model_type\":\"t5\",\"vocab_size\":300,\"d_model\":64,\"num_heads\":4,\"d_ff\":96,\"num_layers\":2}",
         "feed_forward_proj \"relu\""},
        {"{\"model_type\":\"umt5\",\"vocab_size\":300,\"d_model\":64,\"num_heads\":4,\"d_ff\":96,\"num_layers\":2,"
         "\"relative_attention_num_buckets\":33}",
         "must be even"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i][0]);
        dit_err err = {0};
        dit_status s = wan_umt5_config_from_json(j, "cfg.json", &c, &err);
        CHECK(s != DIT_OK && strstr(err.msg, bad[i][1]) && strstr(err.msg, "cfg.json"), "bad config %zu: %s", i, err.msg);
        cJSON_Delete(j);
    }
}

static void test_umt5_small(dit_backend *be) {
    char p[512];
    snprintf(p, sizeof p, "%s/umt5_small_io.safetensors", SPADIT_TEST_DATA);
    io_safetensors *io = NULL;
    dit_err err = {0};
    if (io_safetensors_open(p, &io, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return;
    }
    int64_t nl = 0, np = 0, nol = 0, nop = 0;
    int32_t *ids_long = read_ids(io, "ids_long", &nl), *ids_pad = read_ids(io, "ids_pad", &np);
    float *ref_long = read_f32(io, "out_long", &nol), *ref_pad = read_f32(io, "out_pad", &nop);
    int64_t nm = 0;
    int32_t *mask = read_ids(io, "mask_pad", &nm);
    int64_t valid = 0;
    for (int64_t i = 0; mask && i < nm; i++) valid += mask[i];
    wan_umt5 *m[2] = {load("umt5_small_hf", be), load("umt5_small_original", be)};
    const char *lay[2] = {"HF", "original"};
    float *outs[2][2] = {{NULL, NULL}, {NULL, NULL}};
    for (int k = 0; k < 2 && ids_long && ref_long && ref_pad && mask; k++) {
        if (!m[k]) continue;
        const wan_umt5_config *c = &m[k]->cfg;
        CHECK(c->d_model == 64 && c->heads == 4 && c->d_kv == 16 && c->d_ff == 96 && c->layers == 3 && c->vocab == 300 &&
                  c->num_buckets == 32 && c->max_distance == 128 && !c->shared_bias && c->eps == 1e-6f,
              "%s layout config (%s)", lay[k], k ? "inferred from shapes" : "config.json");
        CHECK(m[k]->layout == (k ? WAN_UMT5_LAYOUT_ORIGINAL : WAN_UMT5_LAYOUT_HF), "%s: layout detected as %d", lay[k],
              m[k]->layout);
        float *o1 = malloc((size_t)nol * sizeof(float)), *o2 = malloc((size_t)nop * sizeof(float));
        outs[k][0] = o1, outs[k][1] = o2;
        if (wan_umt5_encode(m[k], ids_long, nl, o1, &err) != DIT_OK) CHECK(0, "%s encode: %s", lay[k], err.msg);
        double r1 = rel_l2(o1, ref_long, (size_t)nol);
        if (wan_umt5_encode_padded(m[k], ids_pad, np, valid, o2, &err) != DIT_OK) CHECK(0, "%s padded: %s", lay[k], err.msg);
        double r2 = rel_l2(o2, ref_pad, (size_t)nop);
        printf("umt5_small %s layout: %lld tokens rel L2 %.3e (%.1f ms); %lld tokens with %lld valid rel L2 %.3e\n", lay[k],
               (long long)nl, r1, m[k]->ms_encode, (long long)np, (long long)valid, r2);
        CHECK(r1 <= 1e-4, "%s: 200 tokens rel L2 %.3e > 1e-4", lay[k], r1);
        CHECK(r2 <= 1e-4, "%s: padded rel L2 %.3e > 1e-4", lay[k], r2);
        /* the real rows of a padded run equal a run on the real tokens alone */
        float *o3 = malloc((size_t)(valid * 64) * sizeof(float));
        if (wan_umt5_encode(m[k], ids_pad, valid, o3, &err) != DIT_OK) CHECK(0, "%s short: %s", lay[k], err.msg);
        double r3 = rel_l2(o3, o2, (size_t)(valid * 64));
        CHECK(r3 <= 1e-6, "%s: padded vs unpadded real rows rel L2 %.3e", lay[k], r3);
        double r4 = rel_l2(o3, ref_pad, (size_t)(valid * 64));
        CHECK(r4 <= 1e-4, "%s: unpadded vs transformers' padded real rows rel L2 %.3e", lay[k], r4);
        free(o3);
    }
    if (outs[0][0] && outs[1][0]) {
        CHECK(max_abs_diff(outs[0][0], outs[1][0], (size_t)nol) == 0.0, "layouts differ (long)");
        CHECK(max_abs_diff(outs[0][1], outs[1][1], (size_t)nop) == 0.0, "layouts differ (padded)");
    }
    if (m[0] && m[1]) CHECK(!strcmp(m[0]->identity, m[1]->identity), "identity %s vs %s", m[0]->identity, m[1]->identity);
    /* bad ids and lengths: clear errors, no crash */
    if (m[0]) {
        float out[64 * 4];
        int32_t bad1[3] = {5, 300, 1}, bad2[2] = {-1, 1}, ok[2] = {7, 1};
        dit_err e = {0};
        dit_status s = wan_umt5_encode(m[0], bad1, 3, out, &e);
        CHECK(s == DIT_ERR_INVALID_ARG && strstr(e.msg, "token id 300 at position 1") && strstr(e.msg, "[0, 300)"),
              "id out of range: %s", e.msg);
        s = wan_umt5_encode(m[0], bad2, 2, out, &e);
        CHECK(s == DIT_ERR_INVALID_ARG && strstr(e.msg, "token id -1"), "negative id: %s", e.msg);
        s = wan_umt5_encode_padded(m[0], ok, 2, 0, out, &e);
        CHECK(s == DIT_ERR_INVALID_ARG && strstr(e.msg, "valid tokens"), "n_valid 0: %s", e.msg);
        s = wan_umt5_encode(m[0], ok, 0, out, &e);
        CHECK(s == DIT_ERR_INVALID_ARG, "0 tokens accepted");
        /* and the model still works after the errors */
        s = wan_umt5_encode(m[0], ok, 2, out, &e);
        CHECK(s == DIT_OK, "encode after errors: %s", e.msg);
    }
    for (int k = 0; k < 2; k++) {
        free(outs[k][0]), free(outs[k][1]);
        wan_umt5_free(&m[k]);
        CHECK(m[k] == NULL, "free did not clear the pointer");
    }
    free(ids_long), free(ids_pad), free(ref_long), free(ref_pad), free(mask);
    io_safetensors_close(&io);
}

static void test_t5_tiny(dit_backend *be) {
    char p[512];
    snprintf(p, sizeof p, "%s/t5_tiny_io.safetensors", SPADIT_TEST_DATA);
    io_safetensors *io = NULL;
    dit_err err = {0};
    if (io_safetensors_open(p, &io, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        return;
    }
    int64_t n = 0, no = 0;
    int32_t *ids = read_ids(io, "ids", &n);
    float *ref = read_f32(io, "out", &no);
    wan_umt5 *m = load("t5_tiny_hf", be);
    if (m && ids && ref) {
        const wan_umt5_config *c = &m->cfg;
        CHECK(c->shared_bias == 1 && c->d_model == 32 && c->heads == 2 && c->d_kv == 24 && c->num_buckets == 16 &&
                  c->max_distance == 20 && c->eps == 1e-5f && m->blocks[1].rel_bias == NULL,
              "t5_tiny config");
        float *out = malloc((size_t)no * sizeof(float));
        if (wan_umt5_encode(m, ids, n, out, &err) != DIT_OK) CHECK(0, "t5_tiny encode: %s", err.msg);
        double r = rel_l2(out, ref, (size_t)no);
        printf("t5_tiny (shared bias, width 48 != d_model 32): %lld tokens rel L2 %.3e\n", (long long)n, r);
        CHECK(r <= 1e-4, "t5_tiny rel L2 %.3e > 1e-4", r);
        free(out);
    }
    wan_umt5_free(&m);
    free(ids), free(ref);
    io_safetensors_close(&io);
}

/* A checkpoint with one tensor missing, one mis-shaped and one unexpected: one error naming all three. */
static void test_bad_checkpoint(dit_backend *be) {
    char dir[] = "/tmp/spadit_umt5_bad_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char src[512], p[600], cfgp[600];
    snprintf(src, sizeof src, "%s/umt5_small_hf/model.safetensors", SPADIT_TEST_DATA);
    io_safetensors *st = NULL;
    dit_err err = {0};
    if (io_safetensors_open(src, &st, &err) != DIT_OK) {
        CHECK(0, "%s", err.msg);
        rmdir(dir);
        return;
    }
    io_st_out *t = calloc((size_t)st->n + 1, sizeof *t);
    int nt = 0;
    for (int i = 0; i < st->n; i++) {
        const io_st_tensor *s = &st->tensors[i];
        if (!strcmp(s->name, "encoder.block.1.layer.1.DenseReluDense.wo.weight")) continue; /* missing */
        io_st_out *o = &t[nt++];
        o->name = s->name;
        o->dtype = s->dtype;
        o->ndim = s->ndim;
        for (int d = 0; d < s->ndim; d++) o->shape[d] = s->shape[d];
        o->data = s->data;
        if (!strcmp(s->name, "encoder.block.2.layer.0.SelfAttention.q.weight")) o->shape[0] = 32, o->shape[1] = 128;
    }
    float extra[4] = {1, 2, 3, 4};
    int64_t sh[1] = {4};
    t[nt++] = io_st_out_f32("encoder.block.0.layer.0.SelfAttention.extra.weight", IO_ST_F32, extra, 1, sh);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    dit_status s = io_safetensors_write(p, t, nt, NULL, 0, &err);
    CHECK(s == DIT_OK, "writing the broken checkpoint: %s", err.msg);
    char *cfg = NULL;
    size_t cl = 0;
    snprintf(src, sizeof src, "%s/umt5_small_hf/config.json", SPADIT_TEST_DATA);
    snprintf(cfgp, sizeof cfgp, "%s/config.json", dir);
    if (io_file_read_all(src, &cfg, &cl, &err) == DIT_OK) {
        FILE *f = fopen(cfgp, "wb");
        if (f) fwrite(cfg, 1, cl, f), fclose(f);
        free(cfg);
    }
    wan_umt5 *m = NULL;
    dit_err e = {0};
    s = wan_umt5_load(dir, be, &m, &e);
    CHECK(s == DIT_ERR_MISSING && !m, "broken checkpoint loaded (status %d)", s);
    CHECK(strstr(e.msg, "1 missing, 1 mis-shaped, 1 unexpected") && strstr(e.msg, "block.1.layer.1.DenseReluDense.wo.weight [64, 96]") &&
              strstr(e.msg, "block.2.layer.0.SelfAttention.q.weight: got [32, 128], expected [64, 64]") &&
              strstr(e.msg, "SelfAttention.extra.weight") && strstr(e.msg, dir),
          "report: %s", e.msg);
    /* identity of a broken checkpoint fails the same way */
    char id[96];
    CHECK(wan_umt5_identity(dir, id, sizeof id, &e) == DIT_ERR_MISSING, "identity of a broken checkpoint");
    unlink(p), unlink(cfgp), rmdir(dir);
    free(t);
    io_safetensors_close(&st);

    /* a Wan model folder holding the encoder only as .pth: found, and the error says what to do */
    char wdir[] = "/tmp/spadit_umt5_pth_XXXXXX";
    if (mkdtemp(wdir)) {
        char c1[600], c2[600];
        snprintf(c1, sizeof c1, "%s/config.json", wdir);
        snprintf(c2, sizeof c2, "%s/models_t5_umt5-xxl-enc-bf16.pth", wdir);
        FILE *f = fopen(c1, "wb");
        if (f) fputs("{\"_class_name\": \"WanModel\", \"dim\": 1536}", f), fclose(f);
        f = fopen(c2, "wb");
        if (f) fputs("PK\x03\x04 not really a zip", f), fclose(f);
        s = wan_umt5_load(wdir, be, &m, &e);
        CHECK(s != DIT_OK && strstr(e.msg, "models_t5_umt5-xxl-enc-bf16.pth is a PyTorch pickle"), "pth: %s", e.msg);
        unlink(c1), unlink(c2), rmdir(wdir);
    }
    /* a folder with a non-T5 config and no encoder file; a path that does not exist */
    snprintf(p, sizeof p, "%s/wan_small_original", SPADIT_TEST_DATA);
    s = wan_umt5_load(p, be, &m, &e);
    CHECK(s == DIT_ERR_MISSING && strstr(e.msg, "no umT5 encoder here"), "Wan DiT folder: %s", e.msg);
    s = wan_umt5_load("/nonexistent/umt5", be, &m, &e);
    CHECK(s == DIT_ERR_MISSING && strstr(e.msg, "/nonexistent/umt5"), "missing path: %s", e.msg);
    /* a DiT weights file given directly: not a umT5 checkpoint */
    snprintf(p, sizeof p, "%s/wan_small_original/diffusion_pytorch_model.safetensors", SPADIT_TEST_DATA);
    s = wan_umt5_load(p, be, &m, &e);
    CHECK(s == DIT_ERR_FORMAT && strstr(e.msg, "not a umT5 encoder checkpoint"), "DiT file: %s", e.msg);
}

int main(void) {
    dit_err err = {0};
    dit_backend *be = NULL;
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) {
        printf("cpu backend: %s\n", err.msg);
        return 1;
    }
    check_buckets("umt5_small_io.safetensors", 32, 128);
    check_buckets("t5_tiny_io.safetensors", 16, 20);
    test_configs();
    test_umt5_small(be);
    test_t5_tiny(be);
    test_bad_checkpoint(be);
    dit_backend_destroy(&be);
    return test_summary("test_umt5");
}
