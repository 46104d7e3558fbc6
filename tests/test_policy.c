/* test_policy.c — attention policy presets and the per-layer / per-step choice (attention/policy.c).
 *
 * 1. Every preset in configs/attention loads, by bare name and by path, with the published values.
 * 2. attn_policy_select: dense first N layers, and the first M steps counted from transformer calls
 *    (with calls_per_step = 2, calls 0..9 are steps 0..4).
 * 3. Bad files: unknown keys / methods / variants, wrong types, out-of-range values, a section of
 *    another method, bad JSON, a missing preset: errors that name the key and the file.
 */
#include "../attention/policy.h" /* attn_policy_load, attn_policy_select */
#include "test_util.h"           /* CHECK, test_summary */

#include <dirent.h> /* opendir, readdir */
#include <unistd.h> /* getpid, unlink */

#define PRESETS SPADIT_TEST_DATA "/../../configs/attention"

static dit_err err;

static void test_presets(void) {
    attn_policy p;
    CHECK(attn_policy_load("rectified-wan", &p, &err) == DIT_OK, "%s", err.msg);
    const attn_rectified_params *r = &p.sparse.rect;
    CHECK(!strcmp(p.name, "rectified-wan") && p.sparse.method == ATTN_METHOD_RECTIFIED && r->drop_rate == 0.75f &&
              r->tau == 0.3f && r->gapr && r->neighbors && r->forced_square && r->block == 128 && p.dense_layers == 2 &&
              p.dense_steps == 5 && p.calls_per_step == 1,
          "rectified-wan: %s drop %g tau %g layers %d steps %d", p.name, (double)r->drop_rate, (double)r->tau,
          p.dense_layers, p.dense_steps);
    CHECK(attn_policy_load("rectified-90", &p, &err) == DIT_OK && p.sparse.rect.drop_rate == 0.9f && p.dense_steps == 5,
          "rectified-90: %s", err.msg);
    const char *tiny[] = {"tiny-rectified-75", "tiny-rectified-90"};
    for (int i = 0; i < 2; i++) { /* sized for the tiny model's 11 blocks: top-k only, no neighbour/square blocks */
        CHECK(attn_policy_load(tiny[i], &p, &err) == DIT_OK, "%s: %s", tiny[i], err.msg);
        CHECK(p.sparse.rect.drop_rate == (i ? 0.9f : 0.75f) && p.sparse.rect.tau == 0.0f && !p.sparse.rect.neighbors &&
                  !p.sparse.rect.forced_square && p.sparse.rect.block == 128 && p.dense_layers == 1 && p.dense_steps == 2,
              "%s: drop %g", tiny[i], (double)p.sparse.rect.drop_rate);
    }
    CHECK(attn_policy_load("rectified-wan-i2v", &p, &err) == DIT_OK && p.dense_layers == 2 && p.dense_steps == 0,
          "rectified-wan-i2v: %s", err.msg);
    const char *sla[] = {"sla-5", "sla-10", "sla-15"};
    const float topk[] = {0.05f, 0.10f, 0.15f};
    for (int i = 0; i < 3; i++) {
        CHECK(attn_policy_load(sla[i], &p, &err) == DIT_OK, "%s: %s", sla[i], err.msg);
        CHECK(p.sparse.method == ATTN_METHOD_SLA && p.sparse.sla.topk == topk[i] && p.sparse.sla.variant == ATTN_SLA_MAIN &&
                  p.sparse.sla.block_q == 128 && p.sparse.sla.block_k == 64 && p.dense_layers == 0 && p.dense_steps == 0 &&
                  !strcmp(p.name, sla[i]),
              "%s: topk %g", sla[i], (double)p.sparse.sla.topk);
    }
    const char *turbo[] = {"turbo-sla-10", "turbo-sla-15"}; /* TurboDiffusion's SLA: same values as sla-10 / sla-15 */
    for (int i = 0; i < 2; i++) {
        CHECK(attn_policy_load(turbo[i], &p, &err) == DIT_OK, "%s: %s", turbo[i], err.msg);
        CHECK(p.sparse.method == ATTN_METHOD_SLA && p.sparse.sla.topk == topk[i + 1] &&
                  p.sparse.sla.variant == ATTN_SLA_MAIN && p.sparse.sla.block_q == 128 && p.sparse.sla.block_k == 64 &&
                  p.dense_layers == 0 && p.dense_steps == 0 && !strcmp(p.name, turbo[i]),
              "%s: topk %g", turbo[i], (double)p.sparse.sla.topk);
    }
    CHECK(attn_policy_load("sla1-10", &p, &err) == DIT_OK && p.sparse.sla.variant == ATTN_SLA_1 && p.sparse.sla.topk == 0.1f,
          "sla1-10: %s", err.msg);
    CHECK(attn_policy_load("dense", &p, &err) == DIT_OK && p.sparse.method == ATTN_METHOD_DENSE, "dense: %s", err.msg);
    /* every file of the directory loads, by path, and its name is its file stem */
    DIR *d = opendir(PRESETS);
    CHECK(d != NULL, "open %s", PRESETS);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json")) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", PRESETS, e->d_name);
        CHECK(attn_policy_load(path, &p, &err) == DIT_OK, "%s", err.msg);
        CHECK(!strncmp(p.name, e->d_name, n - 5) && strlen(p.name) == n - 5, "%s: name '%s'", e->d_name, p.name);
        files++;
    }
    if (d) closedir(d);
    CHECK(files >= 8, "%d presets found", files);
}

static void test_select(void) {
    attn_policy p;
    CHECK(attn_policy_load("rectified-wan", &p, &err) == DIT_OK, "%s", err.msg);
    p.calls_per_step = 2; /* CFG */
    int bad = 0;
    for (int layer = 0; layer < 4; layer++)
        for (int call = 0; call < 14; call++) {
            attn_method m = attn_policy_select(&p, layer, call).method;
            attn_method want = layer < 2 || call < 10 ? ATTN_METHOD_DENSE : ATTN_METHOD_RECTIFIED;
            if (m != want) {
                bad++;
                printf("layer %d call %d: %s, expected %s\n", layer, call, attn_method_name(m), attn_method_name(want));
            }
        }
    CHECK(bad == 0, "rectified-wan with CFG: layers 0-1 and calls 0-9 (steps 0-4) dense, the rest rectified");
    attn_params a = attn_policy_select(&p, 2, 10);
    CHECK(a.rect.drop_rate == 0.75f && a.rect.neighbors, "the sparse parameters come through");
    p.calls_per_step = 1;
    CHECK(attn_policy_select(&p, 5, 4).method == ATTN_METHOD_DENSE && attn_policy_select(&p, 5, 5).method == ATTN_METHOD_RECTIFIED,
          "without CFG, call 5 is step 5");
    p.calls_per_step = 0; /* unset: one call per step */
    CHECK(attn_policy_select(&p, 5, 5).method == ATTN_METHOD_RECTIFIED, "calls_per_step 0 counts as 1");
    CHECK(attn_policy_select(NULL, 5, 50).method == ATTN_METHOD_DENSE, "no policy: dense");
    attn_policy dn = attn_policy_dense();
    CHECK(attn_policy_select(&dn, 30, 99).method == ATTN_METHOD_DENSE, "dense policy");
    CHECK(attn_policy_load("sla-10", &p, &err) == DIT_OK && attn_policy_select(&p, 0, 0).method == ATTN_METHOD_SLA,
          "sla-10: sparse from layer 0, call 0");
}

/* Write text to a temporary file and load it; returns the status, the path in path. */
static dit_status load_text(const char *text, char *path, size_t cap, attn_policy *p) {
    snprintf(path, cap, "/tmp/spadit_test_policy_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) return DIT_ERR_IO;
    fputs(text, f);
    fclose(f);
    dit_status s = attn_policy_load(path, p, &err);
    unlink(path);
    return s;
}

static void expect_error(const char *text, dit_status code, const char *what) {
    char path[256];
    attn_policy p;
    dit_status s = load_text(text, path, sizeof path, &p);
    CHECK(s == code && strstr(err.msg, what) && strstr(err.msg, path), "%s: expected %s naming '%s' and the file, got %s: %s",
          text, dit_status_str(code), what, dit_status_str(s), err.msg);
}

static void test_errors(void) {
    char path[256];
    attn_policy p;
    CHECK(load_text("{\"method\": \"rectified\", \"rectified\": {\"drop_rate\": 0.5}}", path, sizeof path, &p) == DIT_OK &&
              p.sparse.rect.drop_rate == 0.5f && p.sparse.rect.tau == 0.3f && p.dense_layers == 0 &&
              !strncmp(p.name, "spadit_test_policy_", 19),
          "minimal file: defaults fill the rest, name from the file: %s", err.msg);
    expect_error("{\"method\": \"rectified\", \"dense_layer\": 2}", DIT_ERR_FORMAT, "unknown key 'dense_layer'");
    expect_error("{\"method\": \"rectified\", \"rectified\": {\"drop\": 0.5}}", DIT_ERR_FORMAT, "unknown key 'drop' in 'rectified'");
    expect_error("{\"method\": \"sparse\"}", DIT_ERR_FORMAT, "unknown method \"sparse\"");
    expect_error("{\"dense_layers\": 2}", DIT_ERR_FORMAT, "'method'");
    expect_error("{\"method\": \"rectified\", \"rectified\": {\"gapr\": 1}}", DIT_ERR_FORMAT, "rectified.gapr must be true or false");
    expect_error("{\"method\": \"rectified\", \"rectified\": {\"drop_rate\": 1.0}}", DIT_ERR_FORMAT, "rectified.drop_rate must be a number in [0, 1)");
    expect_error("{\"method\": \"rectified\", \"rectified\": {\"tau\": -0.1}}", DIT_ERR_FORMAT, "rectified.tau");
    expect_error("{\"method\": \"sla\", \"sla\": {\"topk\": 0}}", DIT_ERR_FORMAT, "sla.topk must be a number in (0, 1]");
    expect_error("{\"method\": \"sla\", \"sla\": {\"variant\": \"sla2\"}}", DIT_ERR_FORMAT, "sla.variant must be \"main\" or \"sla1\", got \"sla2\"");
    expect_error("{\"method\": \"sla\", \"sla\": {\"block_k\": 0}}", DIT_ERR_FORMAT, "sla.block_k must be an integer");
    expect_error("{\"method\": \"sla\", \"rectified\": {}}", DIT_ERR_FORMAT, "key 'rectified' does not apply to method \"sla\"");
    expect_error("{\"method\": \"rectified\", \"dense_steps\": 2.5}", DIT_ERR_FORMAT, "dense_steps must be an integer");
    expect_error("{\"method\": \"dense\",", DIT_ERR_FORMAT, "invalid JSON");
    expect_error("[1, 2]", DIT_ERR_FORMAT, "expected a JSON object");
    CHECK(attn_policy_load("no-such-preset", &p, &err) == DIT_ERR_MISSING && strstr(err.msg, "no-such-preset.json"),
          "missing preset names the path: %s", err.msg);
    CHECK(attn_policy_load("bad name", &p, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "bad preset name"), "%s", err.msg);
    CHECK(attn_policy_load("/nonexistent/x.json", &p, &err) == DIT_ERR_MISSING && strstr(err.msg, "/nonexistent/x.json"),
          "%s", err.msg);
}

int main(void) {
    test_presets();
    test_select();
    test_errors();
    return test_summary("test_policy");
}
