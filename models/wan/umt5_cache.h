/* umt5_cache.h — prompt embeddings without re-running the encoder: an on-disk
 * cache keyed by (prompt text, model identity), and the one call a pipeline
 * makes to turn prompts into [L, d_model] contexts (load the encoder only on a
 * miss, encode, store, free the encoder before the DiT is loaded).
 *
 * A cache entry is a small safetensors file <dir>/<hash(identity, prompt)>.safetensors:
 *   embedding F32 [L, d_model]   the encoder output (real tokens incl. EOS)
 *   ids       I64 [L]            the token ids it was computed from (when known)
 *   prompt    U8  [bytes]        the prompt text, identity U8 [bytes] the model identity
 *   checksum  I64 [1]            FNV-1a of all of the above
 * plus human-readable __metadata__ (format, prompt, identity).  A file whose
 * prompt, identity, ids or checksum disagree, or that does not parse, is
 * ignored with a warning and replaced; files are written atomically (temp +
 * rename).  Checked by tests/test_umt5_cache.c (miss, hit, corrupted and
 * truncated files, mismatching ids, read-only directory).
 */
#ifndef SPADIT_WAN_UMT5_CACHE_H
#define SPADIT_WAN_UMT5_CACHE_H

#include "umt5.h" /* wan_umt5, dit_backend, dit_status */

typedef enum wan_umt5_cache_outcome {
    WAN_UMT5_CACHE_OFF = 0, /* caching disabled: encoded */
    WAN_UMT5_CACHE_HIT,     /* read from the cache; the encoder did not run */
    WAN_UMT5_CACHE_MISS,    /* no entry: encoded (and stored unless info.warning says otherwise) */
    WAN_UMT5_CACHE_BAD      /* an unusable entry (see warning): encoded and replaced */
} wan_umt5_cache_outcome;

typedef struct wan_umt5_cache_info {
    wan_umt5_cache_outcome outcome;
    char path[4096];    /* the entry's file ("" when caching is off) */
    char warning[3072]; /* non-empty: why an entry was ignored, or why storing failed */
} wan_umt5_cache_info;

/* One prompt to embed.  Inputs: text (the cache key), ids/n (token ids with
 * EOS, no padding; may be NULL when the caller hopes for a hit and tokenizes
 * only on a miss, see wan_umt5_embed_prompts).  Outputs: emb (malloc'ed
 * [rows, cols] f32, free() it), rows = n, cols = d_model, info. */
typedef struct wan_umt5_prompt {
    const char *text;
    const int32_t *ids;
    int64_t n;
    float *emb;
    int64_t rows, cols;
    wan_umt5_cache_info info;
} wan_umt5_prompt;

/* $XDG_CACHE_HOME/spadit/embeddings, else $HOME/.cache/spadit/embeddings. */
dit_status wan_umt5_cache_dir_default(char *dir, size_t cap, dit_err *err);
/* The entry file of (identity, prompt) in dir. */
void wan_umt5_cache_path(const char *dir, const char *identity, const char *prompt, char *path, size_t cap);

/* Read an entry.  Hit: *emb (malloc'ed), *rows, *cols set and outcome HIT.
 * No file: outcome MISS.  Unusable file: outcome BAD with the reason in
 * info->warning.  Only I/O-independent failures (OOM) return an error.  When
 * ids is non-NULL the entry must hold exactly these ids. */
dit_status wan_umt5_cache_get(const char *dir, const char *identity, const char *prompt, const int32_t *ids,
                              int64_t n, float **emb, int64_t *rows, int64_t *cols, wan_umt5_cache_info *info,
                              dit_err *err);
/* Write an entry atomically, creating dir (and parents) when needed. */
dit_status wan_umt5_cache_put(const char *dir, const char *identity, const char *prompt, const int32_t *ids,
                              int64_t n, const float *emb, int64_t cols, dit_err *err);

/* Embed prompts with the encoder at model_path on `be`, through the cache in
 * cache_dir (NULL: wan_umt5_cache_dir_default(); "": no cache).  The encoder
 * is loaded only if some prompt misses, at most once, and freed before
 * returning.  A prompt that misses needs ids.  Failing to store an entry is a
 * warning (info.warning), not an error.  *ms_encoder (optional) receives the
 * wall time spent loading and running the encoder (0 when all hit). */
dit_status wan_umt5_embed_prompts(const char *model_path, dit_backend *be, const char *cache_dir, wan_umt5_prompt *p,
                                  int np, double *ms_encoder, dit_err *err);

#endif
