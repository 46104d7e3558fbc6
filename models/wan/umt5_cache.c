/* umt5_cache.c — the prompt-embedding cache and wan_umt5_embed_prompts (see
 * umt5_cache.h).  Checked by tests/test_umt5_cache.c. */
#include "umt5_cache.h"

#include <errno.h>    /* errno, EEXIST */
#include <stdio.h>    /* snprintf */
#include <stdlib.h>   /* getenv, malloc, free */
#include <string.h>   /* strlen, memcmp, memcpy, strerror */
#include <sys/stat.h> /* mkdir */

#include "../../io/json_file.h"         /* io_path_exists */
#include "../../io/safetensors.h"       /* io_safetensors_open */
#include "../../io/safetensors_write.h" /* io_safetensors_write */
#include "../../dit/clock.h" /* dit_now_ms */

#define CACHE_FORMAT "spadit.umt5.embedding/1"

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}
#define FNV0 1469598103934665603ull

dit_status wan_umt5_cache_dir_default(char *dir, size_t cap, dit_err *err) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') n = snprintf(dir, cap, "%s/spadit/embeddings", xdg);
    else if (home && home[0]) n = snprintf(dir, cap, "%s/.cache/spadit/embeddings", home);
    else return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "embedding cache: neither XDG_CACHE_HOME nor HOME is set; pass a cache directory");
    if (n < 0 || (size_t)n >= cap) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "embedding cache: directory path too long");
    return DIT_OK;
}

void wan_umt5_cache_path(const char *dir, const char *identity, const char *prompt, char *path, size_t cap) {
    uint64_t a = fnv(FNV0, identity, strlen(identity) + 1);
    a = fnv(a, prompt, strlen(prompt));
    uint64_t b = fnv(0x84222325cbf29ce4ull, prompt, strlen(prompt) + 1);
    b = fnv(b, identity, strlen(identity));
    snprintf(path, cap, "%s/%016llx%016llx.safetensors", dir, (unsigned long long)a, (unsigned long long)b);
}

/* The entry's checksum: embedding bytes, ids, prompt and identity. */
static uint64_t entry_checksum(const float *emb, size_t n_emb, const int64_t *ids, size_t n_ids, const char *prompt,
                               const char *identity) {
    uint64_t h = fnv(FNV0, emb, n_emb * sizeof(float));
    h = fnv(h, ids, n_ids * sizeof(int64_t));
    h = fnv(h, prompt, strlen(prompt) + 1);
    return fnv(h, identity, strlen(identity) + 1);
}

static void set_bad(wan_umt5_cache_info *info, const char *why) {
    info->outcome = WAN_UMT5_CACHE_BAD;
    snprintf(info->warning, sizeof info->warning, "embedding cache: ignoring %.1000s: %.1900s; re-encoding", info->path, why);
}

static int bytes_equal(const io_st_tensor *t, const char *s) {
    size_t n = strlen(s);
    return t && t->dtype == IO_ST_U8 && t->ndim == 1 && (size_t)t->shape[0] == n && !memcmp(t->data, s, n);
}

dit_status wan_umt5_cache_get(const char *dir, const char *identity, const char *prompt, const int32_t *ids,
                              int64_t n, float **emb, int64_t *rows, int64_t *cols, wan_umt5_cache_info *info,
                              dit_err *err) {
    *emb = NULL;
    *rows = *cols = 0;
    memset(info, 0, sizeof *info);
    wan_umt5_cache_path(dir, identity, prompt, info->path, sizeof info->path);
    info->outcome = WAN_UMT5_CACHE_MISS;
    if (!io_path_exists(info->path)) return DIT_OK;
    io_safetensors *st = NULL;
    dit_err e = {0};
    if (io_safetensors_open(info->path, &st, &e) != DIT_OK) {
        set_bad(info, e.msg);
        return DIT_OK;
    }
    const io_st_tensor *te = io_safetensors_find(st, "embedding"), *ti = io_safetensors_find(st, "ids");
    const io_st_tensor *tc = io_safetensors_find(st, "checksum");
    const char *why = NULL;
    if (!bytes_equal(io_safetensors_find(st, "identity"), identity) || !bytes_equal(io_safetensors_find(st, "prompt"), prompt))
        why = "it belongs to another prompt or model";
    else if (!te || te->dtype != IO_ST_F32 || te->ndim != 2 || te->shape[0] < 1 || te->shape[1] < 1)
        why = "no F32 [L, d_model] 'embedding' tensor";
    else if (ti && (ti->dtype != IO_ST_I64 || ti->ndim != 1 || ti->shape[0] != te->shape[0]))
        why = "its 'ids' tensor is not I64 [L]";
    else if (!tc || tc->dtype != IO_ST_I64 || tc->ndim != 1 || tc->shape[0] != 1)
        why = "no I64 [1] 'checksum' tensor";
    else if (ids && (!ti || ti->shape[0] != n))
        why = "it was computed from a different number of token ids";
    if (why) {
        set_bad(info, why);
        io_safetensors_close(&st);
        return DIT_OK;
    }
    int64_t L = te->shape[0], D = te->shape[1];
    float *out = malloc((size_t)(L * D) * sizeof(float));
    int64_t *cid = malloc((size_t)(ti ? ti->shape[0] : 1) * sizeof(int64_t));
    if (!out || !cid) {
        free(out), free(cid);
        io_safetensors_close(&st);
        return DIT_FAIL(err, DIT_ERR_OOM, "embedding cache: %lld x %lld floats", (long long)L, (long long)D);
    }
    memcpy(out, te->data, (size_t)(L * D) * sizeof(float)); /* the mapping may be unaligned for floats */
    if (ti) memcpy(cid, ti->data, (size_t)ti->shape[0] * sizeof(int64_t));
    for (int64_t i = 0; ids && !why && i < n; i++)
        if (cid[i] != ids[i]) why = "it was computed from different token ids (tokenizer changed?)";
    uint64_t want;
    memcpy(&want, tc->data, sizeof want);
    if (!why && entry_checksum(out, (size_t)(L * D), cid, ti ? (size_t)ti->shape[0] : 0, prompt, identity) != want)
        why = "checksum mismatch (corrupted file)";
    free(cid);
    io_safetensors_close(&st);
    if (why) {
        free(out);
        set_bad(info, why);
        return DIT_OK;
    }
    *emb = out;
    *rows = L;
    *cols = D;
    info->outcome = WAN_UMT5_CACHE_HIT;
    return DIT_OK;
}

/* mkdir -p */
static dit_status make_dirs(const char *dir, dit_err *err) {
    char p[4096];
    int n = snprintf(p, sizeof p, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof p) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "embedding cache: bad directory '%s'", dir);
    for (char *s = p + 1;; s++) {
        char c = *s;
        if (c == '/' || c == 0) {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return DIT_FAIL(err, DIT_ERR_IO, "embedding cache: cannot create directory %s: %s", p, strerror(errno));
            *s = c;
        }
        if (!c) break;
    }
    return DIT_OK;
}

dit_status wan_umt5_cache_put(const char *dir, const char *identity, const char *prompt, const int32_t *ids,
                              int64_t n, const float *emb, int64_t cols, dit_err *err) {
    if (n < 1 || cols < 1 || !emb)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "embedding cache: nothing to store (%lld x %lld)", (long long)n,
                        (long long)cols);
    DIT_TRY(make_dirs(dir, err));
    char path[4096];
    wan_umt5_cache_path(dir, identity, prompt, path, sizeof path);
    int64_t *id64 = malloc((size_t)n * sizeof(int64_t));
    if (!id64) return DIT_FAIL(err, DIT_ERR_OOM, "embedding cache: %lld ids", (long long)n);
    for (int64_t i = 0; i < n; i++) id64[i] = ids ? ids[i] : 0;
    int64_t sum = (int64_t)entry_checksum(emb, (size_t)(n * cols), id64, ids ? (size_t)n : 0, prompt, identity);
    io_st_out t[5];
    int nt = 0;
    int64_t sh_e[2] = {n, cols}, sh_i[1] = {n}, sh_p[1] = {(int64_t)strlen(prompt)}, sh_m[1] = {(int64_t)strlen(identity)};
    int64_t sh_c[1] = {1};
    memset(t, 0, sizeof t);
    t[nt++] = (io_st_out){"embedding", IO_ST_F32, 2, {sh_e[0], sh_e[1]}, emb, NULL};
    if (ids) t[nt++] = (io_st_out){"ids", IO_ST_I64, 1, {sh_i[0]}, id64, NULL};
    t[nt++] = (io_st_out){"prompt", IO_ST_U8, 1, {sh_p[0]}, prompt, NULL};
    t[nt++] = (io_st_out){"identity", IO_ST_U8, 1, {sh_m[0]}, identity, NULL};
    t[nt++] = (io_st_out){"checksum", IO_ST_I64, 1, {sh_c[0]}, &sum, NULL};
    io_st_meta meta[] = {{"format", CACHE_FORMAT}, {"prompt", prompt}, {"identity", identity}};
    dit_status s = io_safetensors_write(path, t, nt, meta, 3, err);
    free(id64);
    return s;
}

/* Load the encoder once, encode every prompt without an embedding, store, free the encoder. */
static dit_status encode_misses(const char *model_path, dit_backend *be, const char *dir, const char *identity,
                                wan_umt5_prompt *p, int np, dit_err *err) {
    wan_umt5 *m = NULL;
    dit_status s = wan_umt5_load(model_path, be, &m, err);
    for (int i = 0; i < np && s == DIT_OK; i++) {
        if (p[i].emb) continue;
        p[i].emb = malloc((size_t)(p[i].n * m->cfg.d_model) * sizeof(float));
        if (!p[i].emb) {
            s = DIT_FAIL(err, DIT_ERR_OOM, "embed prompts: output of %lld x %d floats", (long long)p[i].n, m->cfg.d_model);
            break;
        }
        s = wan_umt5_encode(m, p[i].ids, p[i].n, p[i].emb, err);
        if (s != DIT_OK) {
            dit_err_wrap(err, "encoding prompt #%d", i);
            break;
        }
        p[i].rows = p[i].n;
        p[i].cols = m->cfg.d_model;
        if (!dir) continue;
        dit_err we = {0};
        if (wan_umt5_cache_put(dir, identity, p[i].text, p[i].ids, p[i].n, p[i].emb, p[i].cols, &we) != DIT_OK) {
            size_t len = strlen(p[i].info.warning);
            snprintf(p[i].info.warning + len, sizeof p[i].info.warning - len, "%sembedding cache: not stored: %s",
                     len ? "; " : "", we.msg);
        }
    }
    wan_umt5_free(&m); /* release the encoder before anything else is loaded */
    return s;
}

dit_status wan_umt5_embed_prompts(const char *model_path, dit_backend *be, const char *cache_dir, wan_umt5_prompt *p,
                                  int np, double *ms_encoder, dit_err *err) {
    if (ms_encoder) *ms_encoder = 0;
    if (np < 0 || (np > 0 && !p)) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "embed prompts: bad prompt list (%d)", np);
    char dir[4096] = "", identity[96] = "";
    for (int i = 0; i < np; i++) {
        p[i].emb = NULL;
        p[i].rows = p[i].cols = 0;
        memset(&p[i].info, 0, sizeof p[i].info);
        if (!p[i].text) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "embed prompts: prompt #%d has no text", i);
    }
    int use_cache = !cache_dir || cache_dir[0];
    if (use_cache) {
        if (cache_dir) snprintf(dir, sizeof dir, "%s", cache_dir);
        else DIT_TRY(wan_umt5_cache_dir_default(dir, sizeof dir, err));
        DIT_TRY(wan_umt5_identity(model_path, identity, sizeof identity, err));
    }
    int misses = 0;
    dit_status s = DIT_OK;
    for (int i = 0; i < np && s == DIT_OK; i++) {
        if (use_cache)
            s = wan_umt5_cache_get(dir, identity, p[i].text, p[i].ids, p[i].n, &p[i].emb, &p[i].rows, &p[i].cols,
                                   &p[i].info, err);
        if (s == DIT_OK && !p[i].emb) {
            misses++;
            if (!p[i].ids || p[i].n < 1)
                s = DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                             "embed prompts: prompt #%d (\"%.80s\") is not cached and has no token ids to encode", i,
                             p[i].text);
        }
    }
    if (s == DIT_OK && misses > 0) {
        double t0 = dit_now_ms();
        s = encode_misses(model_path, be, use_cache ? dir : NULL, identity, p, np, err);
        if (ms_encoder) *ms_encoder = dit_now_ms() - t0;
    }
    if (s != DIT_OK)
        for (int i = 0; i < np; i++) {
            free(p[i].emb);
            p[i].emb = NULL;
        }
    return s;
}
