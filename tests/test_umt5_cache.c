/* test_umt5_cache.c — the prompt-embedding cache and wan_umt5_embed_prompts.
 *
 * With the umt5_small golden model (tests/data, tools/gen_umt5_goldens.py):
 * identity is stable, equal for both layouts of one model and different for
 * another model; a miss encodes and stores; a hit returns the same bytes
 * without loading the encoder (ids given or not); another prompt misses;
 * a flipped data byte, a truncated file, a garbage file and mismatching ids are
 * each ignored with a warning, re-encoded and replaced (the next call hits);
 * caching can be turned off; an unwritable cache directory is a warning; a
 * miss without ids is an error; no temp files are left in the cache. */
#include <dirent.h> /* opendir */
#include <stdlib.h> /* mkdtemp */
#include <unistd.h> /* unlink, rmdir, truncate */

#include "../models/wan/umt5_cache.h"
#include "test_util.h"

static char g_model[512];

static void rm_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') snprintf(p, sizeof p, "%s/%s", dir, e->d_name), unlink(p);
    if (d) closedir(d);
    rmdir(dir);
}

static int count_tmp(const char *dir, int *total) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    *total = 0;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            (*total)++;
            if (strstr(e->d_name, ".tmp")) n++;
        }
    if (d) closedir(d);
    return n;
}

/* One prompt through wan_umt5_embed_prompts; returns the outcome, copies the warning. */
static int embed1(dit_backend *be, const char *cache, const char *text, const int32_t *ids, int64_t n, float **emb,
                  double *ms, char *warn, size_t wcap) {
    wan_umt5_prompt p;
    memset(&p, 0, sizeof p);
    p.text = text, p.ids = ids, p.n = n;
    dit_err err = {0};
    dit_status s = wan_umt5_embed_prompts(g_model, be, cache, &p, 1, ms, &err);
    if (s != DIT_OK) {
        CHECK(0, "embed '%s': %s", text, err.msg);
        return -1;
    }
    CHECK(p.rows == n && p.cols == 64, "embed '%s': %lld x %lld", text, (long long)p.rows, (long long)p.cols);
    if (warn) snprintf(warn, wcap, "%s", p.info.warning);
    *emb = p.emb;
    return (int)p.info.outcome;
}

int main(void) {
    snprintf(g_model, sizeof g_model, "%s/umt5_small_hf", SPADIT_TEST_DATA);
    dit_err err = {0};
    dit_backend *be = NULL;
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) return 1;
    char cache[] = "/tmp/spadit_umt5_cache_XXXXXX";
    if (!mkdtemp(cache)) return 1;

    /* identity */
    char id1[96], id2[96], id3[96], id4[96], p[600];
    snprintf(p, sizeof p, "%s/umt5_small_original", SPADIT_TEST_DATA);
    CHECK(wan_umt5_identity(g_model, id1, sizeof id1, &err) == DIT_OK, "identity: %s", err.msg);
    CHECK(wan_umt5_identity(g_model, id2, sizeof id2, &err) == DIT_OK && !strcmp(id1, id2), "identity not stable");
    CHECK(wan_umt5_identity(p, id3, sizeof id3, &err) == DIT_OK && !strcmp(id1, id3), "layouts: %s vs %s", id1, id3);
    snprintf(p, sizeof p, "%s/t5_tiny_hf", SPADIT_TEST_DATA);
    CHECK(wan_umt5_identity(p, id4, sizeof id4, &err) == DIT_OK && strcmp(id1, id4), "other model, same identity");
    CHECK(!strncmp(id1, "umt5-64x3-", 10), "identity format '%s'", id1);

    /* reference: a direct encode */
    int32_t ids[6] = {17, 250, 3, 299, 42, 1}, ids2[4] = {9, 8, 7, 1};
    float ref[6 * 64];
    wan_umt5 *m = NULL;
    if (wan_umt5_load(g_model, be, &m, &err) != DIT_OK || wan_umt5_encode(m, ids, 6, ref, &err) != DIT_OK)
        CHECK(0, "reference encode: %s", err.msg);
    wan_umt5_free(&m);

    float *e = NULL;
    double ms = -1;
    char warn[3072];
    int o = embed1(be, cache, "a red fox", ids, 6, &e, &ms, warn, sizeof warn);
    CHECK(o == WAN_UMT5_CACHE_MISS && ms > 0 && !warn[0], "first call: outcome %d, %.2f ms, '%s'", o, ms, warn);
    CHECK(e && max_abs_diff(e, ref, 6 * 64) == 0.0, "miss result differs from a direct encode");
    free(e);
    o = embed1(be, cache, "a red fox", ids, 6, &e, &ms, warn, sizeof warn);
    CHECK(o == WAN_UMT5_CACHE_HIT && ms == 0.0, "second call: outcome %d, encoder ran %.2f ms", o, ms);
    CHECK(e && max_abs_diff(e, ref, 6 * 64) == 0.0, "hit differs");
    free(e);
    o = embed1(be, cache, "a red fox", NULL, 6, &e, &ms, warn, sizeof warn);
    CHECK(o == WAN_UMT5_CACHE_HIT && ms == 0.0, "hit without ids: outcome %d", o);
    free(e);
    o = embed1(be, cache, "a red fox!", ids2, 4, &e, &ms, warn, sizeof warn);
    CHECK(o == WAN_UMT5_CACHE_MISS, "other prompt: outcome %d", o);
    free(e);

    /* a miss without ids is an error that names the prompt */
    wan_umt5_prompt q;
    memset(&q, 0, sizeof q);
    q.text = "never seen";
    dit_err e2 = {0};
    CHECK(wan_umt5_embed_prompts(g_model, be, cache, &q, 1, NULL, &e2) == DIT_ERR_INVALID_ARG &&
              strstr(e2.msg, "never seen") && !q.emb,
          "miss without ids: %s", e2.msg);

    /* corruption: flipped byte in the data, truncated file, garbage, different ids */
    char path[4096];
    wan_umt5_cache_path(cache, id1, "a red fox", path, sizeof path);
    const char *why[4] = {"checksum", "runs past the end", "header length", "different token ids"};
    for (int k = 0; k < 4; k++) {
        if (k == 0) {
            FILE *f = fopen(path, "r+b");
            if (f) {
                fseek(f, -100, SEEK_END);
                int c = fgetc(f);
                fseek(f, -100, SEEK_END);
                fputc(c ^ 0x40, f);
                fclose(f);
            }
        } else if (k == 1) {
            CHECK(truncate(path, 200) == 0, "truncate");
        } else if (k == 2) {
            FILE *f = fopen(path, "wb");
            if (f) fputs("hello, not a safetensors file at all", f), fclose(f);
        }
        const int32_t *use = k == 3 ? ids2 : ids;
        int64_t n = k == 3 ? 4 : 6;
        o = embed1(be, cache, "a red fox", use, n, &e, &ms, warn, sizeof warn);
        CHECK(o == WAN_UMT5_CACHE_BAD && strstr(warn, path) && (strstr(warn, why[k]) || (k == 3 && strstr(warn, "number"))),
              "corruption %d: outcome %d, warning '%s'", k, o, warn);
        if (k < 3) CHECK(e && max_abs_diff(e, ref, 6 * 64) == 0.0, "corruption %d: re-encoded result differs", k);
        free(e);
        if (k == 3) { /* put the right entry back */
            o = embed1(be, cache, "a red fox", ids, 6, &e, &ms, warn, sizeof warn);
            CHECK(o == WAN_UMT5_CACHE_BAD, "restoring: outcome %d", o);
            free(e);
        }
        o = embed1(be, cache, "a red fox", ids, 6, &e, &ms, warn, sizeof warn);
        CHECK(o == WAN_UMT5_CACHE_HIT && e && max_abs_diff(e, ref, 6 * 64) == 0.0, "after corruption %d: outcome %d", k, o);
        free(e);
    }

    /* caching off; an unwritable cache directory */
    o = embed1(be, "", "a red fox", ids, 6, &e, &ms, warn, sizeof warn);
    CHECK(o == WAN_UMT5_CACHE_OFF && ms > 0, "cache off: outcome %d", o);
    free(e);
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/sub", path); /* below a regular file: cannot be created */
    o = embed1(be, bad, "a red fox", ids, 6, &e, &ms, warn, sizeof warn);
    CHECK(o == WAN_UMT5_CACHE_MISS && strstr(warn, "not stored") && e && max_abs_diff(e, ref, 6 * 64) == 0.0,
          "unwritable cache: outcome %d, '%s'", o, warn);
    free(e);

    /* two prompts in one call: one hit, one miss, the encoder loaded once */
    wan_umt5_prompt two[2];
    memset(two, 0, sizeof two);
    two[0].text = "a red fox", two[0].ids = ids, two[0].n = 6;
    two[1].text = "a blue fox", two[1].ids = ids2, two[1].n = 4;
    CHECK(wan_umt5_embed_prompts(g_model, be, cache, two, 2, &ms, &err) == DIT_OK &&
              two[0].info.outcome == WAN_UMT5_CACHE_HIT && two[1].info.outcome == WAN_UMT5_CACHE_MISS,
          "two prompts: %s", err.msg);
    free(two[0].emb), free(two[1].emb);

    int total = 0, tmp = count_tmp(cache, &total);
    CHECK(tmp == 0 && total == 3, "cache holds %d files, %d temp", total, tmp);
    char dflt[4096];
    CHECK(wan_umt5_cache_dir_default(dflt, sizeof dflt, &err) == DIT_OK && strstr(dflt, "spadit/embeddings"),
          "default dir '%s'", dflt);
    rm_dir(cache);
    dit_backend_destroy(&be);
    return test_summary("test_umt5_cache");
}
