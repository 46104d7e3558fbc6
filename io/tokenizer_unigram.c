/* tokenizer_unigram.c — tokenizer.json loading and the HF encode pipeline (see tokenizer_unigram.h).
 *
 * Pipeline (tokenizers/src/tokenizer/mod.rs encode + added_vocabulary.rs):
 *   1. added tokens with normalized=false are cut out of the raw text
 *      (leftmost-longest, lstrip/rstrip honoured);
 *   2. every other segment is normalized, then cut again at added tokens with
 *      normalized=true (always re-sliced, which moves its original offset to
 *      that of its first remaining character);
 *   3. pre-tokenizers split each piece; the Unigram model encodes each split;
 *   4. the ids are truncated to max_ids - (template specials) and the
 *      TemplateProcessing "single" template is applied.
 * Checked by tests/test_tokenizer.c (HF goldens, malformed files, accessors).
 */
#include "tokenizer_unigram.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, strlen */

#include "json_file.h"    /* io_file_read_all */
#include "tok_internal.h" /* pipeline, unigram model, tok_ns */

typedef struct added_token {
    char *content; /* as matched: raw, or normalized when `normalized` */
    char *raw;     /* as written in the file */
    size_t len;
    int32_t id;
    int normalized, lstrip, rstrip;
} added_token;

struct io_tokenizer {
    tok_unigram *model;
    tok_pipeline *pipe;
    added_token *added;
    int nadded;
    int32_t *prefix, *suffix; /* template ids before / after $A */
    int nprefix, nsuffix;
    int vocab_size;
};

void io_tok_free(io_tokenizer **pt) {
    io_tokenizer *t = pt ? *pt : NULL;
    if (!t) return;
    tok_unigram_free(&t->model);
    tok_pipeline_free(&t->pipe);
    for (int i = 0; i < t->nadded; i++) free(t->added[i].content), free(t->added[i].raw);
    free(t->added);
    free(t->prefix), free(t->suffix);
    free(t);
    *pt = NULL;
}

static int json_flag(const cJSON *o, const char *k) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k)); }

static dit_status load_added(io_tokenizer *t, const cJSON *list, const char *file, dit_err *err) {
    if (!list || cJSON_IsNull(list)) return DIT_OK;
    if (!cJSON_IsArray(list)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: added_tokens is not an array", file);
    int n = cJSON_GetArraySize(list), i = 0;
    t->added = calloc((size_t)(n ? n : 1), sizeof *t->added);
    if (!t->added) return DIT_FAIL(err, DIT_ERR_OOM, "%s: added_tokens", file);
    for (const cJSON *e = list->child; e; e = e->next, i++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "content"), *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        int64_t idv;
        /* ids stay below INT32_MAX: vocab_size = id + 1 must fit an int32 */
        if (!cJSON_IsString(c) || !io_json_int_in(id, 0, INT32_MAX - 1, &idv))
            return DIT_FAIL(err, DIT_ERR_FORMAT,
                            "%s: added_tokens[%d] needs a \"content\" string and an integer \"id\" in [0, %d]", file, i,
                            INT32_MAX - 1);
        if (json_flag(e, "single_word"))
            return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: added_tokens[%d] (\"%s\"): single_word = true is not supported",
                            file, i, c->valuestring);
        added_token *a = &t->added[t->nadded++];
        a->raw = strdup(c->valuestring);
        if (!a->raw) return DIT_FAIL(err, DIT_ERR_OOM, "%s: added_tokens", file);
        a->normalized = json_flag(e, "normalized");
        a->lstrip = json_flag(e, "lstrip");
        a->rstrip = json_flag(e, "rstrip");
        int32_t mid = tok_unigram_find(t->model, a->raw, strlen(a->raw));
        a->id = mid >= 0 ? mid : (int32_t)idv; /* HF: the model's id wins */
        if (a->id + 1 > t->vocab_size) t->vocab_size = a->id + 1;
        /* normalized tokens are matched in their normalized form */
        tok_ns ns = {0};
        if (tok_ns_init(&ns, a->raw, strlen(a->raw), 0)) return DIT_FAIL(err, DIT_ERR_OOM, "%s: added_tokens", file);
        if (a->normalized) {
            dit_status st = tok_pipeline_normalize(t->pipe, &ns, err);
            if (st != DIT_OK) {
                tok_ns_free(&ns);
                return st;
            }
        }
        a->content = ns.s, a->len = ns.len;
        free(ns.al);
    }
    return DIT_OK;
}

/* TemplateProcessing "single": specials before and after the one $A sequence. */
static dit_status load_post(io_tokenizer *t, const cJSON *pp, const char *file, dit_err *err) {
    if (!pp || cJSON_IsNull(pp)) return DIT_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(pp, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "TemplateProcessing") != 0)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: post_processor type \"%s\" is not supported (TemplateProcessing)",
                        file, cJSON_IsString(type) ? type->valuestring : "?");
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(pp, "special_tokens");
    if (!cJSON_IsArray(single)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: post_processor.single is not an array", file);
    int nseq = 0;
    for (int pass = 0; pass < 2; pass++) {
        int nb = 0, na = 0;
        nseq = 0;
        for (const cJSON *it = single->child; it; it = it->next) {
            const cJSON *seq = cJSON_GetObjectItemCaseSensitive(it, "Sequence");
            const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "SpecialToken");
            if (seq) {
                nseq++;
                continue;
            }
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "id");
            const cJSON *def = cJSON_IsString(name) ? cJSON_GetObjectItemCaseSensitive(specials, name->valuestring) : NULL;
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(def, "ids");
            if (!cJSON_IsArray(ids))
                return DIT_FAIL(err, DIT_ERR_FORMAT,
                                "%s: post_processor.single item is neither a Sequence nor a SpecialToken listed in "
                                "special_tokens with an \"ids\" array", file);
            for (const cJSON *v = ids->child; v; v = v->next) {
                int64_t idv;
                if (!io_json_int_in(v, 0, INT32_MAX - 1, &idv))
                    return DIT_FAIL(err, DIT_ERR_FORMAT,
                                    "%s: post_processor special token \"%s\" has a bad id (need an integer in [0, %d])",
                                    file, name->valuestring, INT32_MAX - 1);
                if (pass == 1) {
                    if (nseq == 0) t->prefix[nb] = (int32_t)idv;
                    else t->suffix[na] = (int32_t)idv;
                }
                if (nseq == 0) nb++;
                else na++;
            }
        }
        if (nseq != 1)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: post_processor.single must hold exactly one Sequence, has %d", file,
                            nseq);
        if (pass == 0) {
            t->prefix = malloc((size_t)(nb + 1) * sizeof *t->prefix);
            t->suffix = malloc((size_t)(na + 1) * sizeof *t->suffix);
            if (!t->prefix || !t->suffix) return DIT_FAIL(err, DIT_ERR_OOM, "%s: template", file);
            t->nprefix = nb, t->nsuffix = na;
        }
    }
    return DIT_OK;
}

dit_status io_tok_load_mem(const char *json, size_t len, const char *file, io_tokenizer **out, dit_err *err) {
    *out = NULL;
    /* JSON text is UTF-8 (RFC 8259) and HF reads it as such.  cJSON copies raw bytes into strings
     * unchecked, and an added token or replacement holding a broken sequence would match inside a
     * prompt's character and split it (found by fuzz_tokenizer: a heap overflow in tok_ns_prepend). */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = json[i] ? tok_utf8_decode(json, len, i, &cp) : 1;
        if (n <= 0) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: not valid UTF-8 at byte %zu", file, i);
        i += (size_t)n;
    }
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= json && at <= json + len ? (long)(at - json) : -1;
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: not valid JSON (near byte %ld)", file, off);
    }
    dit_status st = DIT_OK;
    io_tokenizer *t = calloc(1, sizeof *t);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
    if (!t) {
        st = DIT_FAIL(err, DIT_ERR_OOM, "%s: tokenizer", file);
    } else if (!cJSON_IsObject(root) || !cJSON_IsObject(model)) {
        st = DIT_FAIL(err, DIT_ERR_MISSING, "%s: no \"model\" object (not a Hugging Face tokenizer.json)", file);
    } else if (!cJSON_IsString(type) || strcmp(type->valuestring, "Unigram") != 0) {
        st = DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: model.type is \"%s\", only \"Unigram\" (SentencePiece) is supported",
                      file, cJSON_IsString(type) ? type->valuestring : "(missing)");
    } else {
        st = tok_unigram_load(model, file, &t->model, err);
        if (st == DIT_OK) {
            t->vocab_size = tok_unigram_size(t->model);
            st = tok_pipeline_load(cJSON_GetObjectItemCaseSensitive(root, "normalizer"),
                                   cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), file, &t->pipe, err);
        }
        if (st == DIT_OK) st = load_added(t, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), file, err);
        if (st == DIT_OK) st = load_post(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), file, err);
    }
    cJSON_Delete(root);
    if (st != DIT_OK) {
        io_tok_free(&t);
        return st;
    }
    *out = t;
    return DIT_OK;
}

dit_status io_tok_load(const char *path, io_tokenizer **out, dit_err *err) {
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    DIT_TRY(io_file_read_all(path, &buf, &len, err));
    dit_status st = io_tok_load_mem(buf, len, path, out, err);
    free(buf);
    return st;
}

/* Leftmost-longest added-token match in s[from..n) among tokens with the given
 * `normalized` flag; returns its index or -1, *at its start. */
static int find_added(const io_tokenizer *t, int normalized, const char *s, size_t n, size_t from, size_t *at) {
    for (size_t p = from; p < n; p++) {
        int best = -1;
        for (int k = 0; k < t->nadded; k++) {
            const added_token *a = &t->added[k];
            if (a->normalized != normalized || a->len == 0 || a->len > n - p) continue;
            if ((best < 0 || a->len > t->added[best].len) && memcmp(s + p, a->content, a->len) == 0) best = k;
        }
        if (best >= 0) {
            *at = p;
            return best;
        }
    }
    return -1;
}

typedef struct id_list {
    int32_t *v;
    size_t n, cap;
} id_list;

static int ids_add(id_list *l, int32_t id) {
    if (l->n == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 64;
        int32_t *v = realloc(l->v, c * sizeof *v);
        if (!v) return -1;
        l->v = v, l->cap = c;
    }
    l->v[l->n++] = id;
    return 0;
}

/* HF AddedVocabulary::find_matches: spans of s, match = token index + 1 (0 = text). */
static int added_spans(const io_tokenizer *t, int normalized, const char *s, size_t n, tok_spans *out) {
    out->n = 0;
    size_t start_offset = 0, from = 0, at = 0;
    int k;
    while ((k = find_added(t, normalized, s, n, from, &at)) >= 0) {
        const added_token *a = &t->added[k];
        size_t b = at, e = at + a->len;
        from = e;
        if (a->lstrip) { /* back over whitespace, not into the previous match */
            size_t nb = b;
            while (nb > 0) {
                size_t q = nb - 1;
                while (q > 0 && ((unsigned char)s[q] & 0xC0) == 0x80) q--;
                uint32_t cp = 0;
                if (!tok_utf8_decode(s, n, q, &cp) || !tok_is_white_space(cp)) break;
                nb = q;
            }
            b = nb > start_offset ? nb : start_offset;
        }
        if (a->rstrip) {
            uint32_t cp = 0;
            int cl;
            while (e < n && (cl = tok_utf8_decode(s, n, e, &cp)) > 0 && tok_is_white_space(cp)) e += (size_t)cl;
        }
        if (start_offset < b && tok_spans_push(out, start_offset, b, 0)) return -1;
        if (tok_spans_push(out, b, e, k + 1)) return -1;
        start_offset = e;
    }
    if (start_offset != n && tok_spans_push(out, start_offset, n, 0)) return -1;
    return 0;
}

/* Normalize one raw segment, split it at normalized added tokens, pre-tokenize
 * and run the model; appends ids. */
static dit_status encode_segment(const io_tokenizer *t, const char *s, size_t n, int64_t shift, id_list *ids,
                                 dit_err *err) {
    tok_ns ns = {0};
    tok_spans sp = {0};
    tok_ns *splits = NULL;
    size_t nsplits = 0, cap = 0;
    if (tok_ns_init(&ns, s, n, shift)) return DIT_FAIL(err, DIT_ERR_OOM, "segment of %zu bytes", n);
    dit_status st = tok_pipeline_normalize(t->pipe, &ns, err);
    if (st == DIT_OK && added_spans(t, 1, ns.s, ns.len, &sp)) st = DIT_FAIL(err, DIT_ERR_OOM, "added tokens");
    for (size_t k = 0; k < sp.n && st == DIT_OK; k++) {
        if (sp.v[k].match) {
            if (ids_add(ids, t->added[sp.v[k].match - 1].id)) st = DIT_FAIL(err, DIT_ERR_OOM, "ids");
            continue;
        }
        tok_ns piece = {0};
        if (tok_ns_slice(&ns, sp.v[k].b, sp.v[k].e, &piece)) {
            st = DIT_FAIL(err, DIT_ERR_OOM, "segment");
            break;
        }
        nsplits = 0;
        st = tok_pipeline_pretokenize(t->pipe, &piece, &splits, &nsplits, &cap, err);
        for (size_t j = 0; j < nsplits; j++) {
            if (st == DIT_OK) st = tok_unigram_encode(t->model, splits[j].s, splits[j].len, &ids->v, &ids->n, &ids->cap, err);
            tok_ns_free(&splits[j]);
        }
    }
    free(splits);
    free(sp.v);
    tok_ns_free(&ns);
    return st;
}

dit_status io_tok_encode(const io_tokenizer *t, const char *utf8, int32_t *ids, int max_ids, int *n_ids,
                         dit_err *err) {
    if (!t || !utf8 || !n_ids || (!ids && max_ids > 0))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "io_tok_encode: NULL tokenizer, text, id buffer or count");
    *n_ids = 0;
    int nspecial = t->nprefix + t->nsuffix;
    if (max_ids < nspecial)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "io_tok_encode: max_ids %d cannot hold the %d special token(s)",
                        max_ids, nspecial);
    size_t n = strlen(utf8), bad = tok_utf8_check(utf8, n);
    if (bad != n)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "prompt is not valid UTF-8 (byte %zu of %zu: 0x%02x)", bad, n,
                        (unsigned char)utf8[bad]);
    id_list l = {0};
    tok_spans sp = {0};
    dit_status st = DIT_OK;
    if (added_spans(t, 0, utf8, n, &sp)) st = DIT_FAIL(err, DIT_ERR_OOM, "added tokens");
    for (size_t k = 0; k < sp.n && st == DIT_OK; k++) {
        if (sp.v[k].match) {
            if (ids_add(&l, t->added[sp.v[k].match - 1].id)) st = DIT_FAIL(err, DIT_ERR_OOM, "ids");
        } else if (sp.v[k].e > sp.v[k].b) {
            st = encode_segment(t, utf8 + sp.v[k].b, sp.v[k].e - sp.v[k].b, (int64_t)sp.v[k].b, &l, err);
        }
    }
    if (st == DIT_OK) {
        size_t keep = l.n < (size_t)(max_ids - nspecial) ? l.n : (size_t)(max_ids - nspecial);
        int o = 0;
        for (int i = 0; i < t->nprefix; i++) ids[o++] = t->prefix[i];
        for (size_t i = 0; i < keep; i++) ids[o++] = l.v[i];
        for (int i = 0; i < t->nsuffix; i++) ids[o++] = t->suffix[i];
        *n_ids = o;
    }
    free(l.v);
    free(sp.v);
    return st;
}

int io_tok_vocab_size(const io_tokenizer *t) { return t->vocab_size; }

const char *io_tok_piece(const io_tokenizer *t, int32_t id) {
    const char *p = tok_unigram_piece(t->model, id);
    for (int k = 0; !p && k < t->nadded; k++)
        if (t->added[k].id == id) p = t->added[k].raw;
    return p;
}

int32_t io_tok_piece_id(const io_tokenizer *t, const char *piece) {
    int32_t id = tok_unigram_find(t->model, piece, strlen(piece));
    for (int k = 0; id < 0 && k < t->nadded; k++)
        if (!strcmp(t->added[k].raw, piece)) id = t->added[k].id;
    return id;
}

int32_t io_tok_eos_id(const io_tokenizer *t) { return t->nsuffix ? t->suffix[t->nsuffix - 1] : -1; }
int32_t io_tok_pad_id(const io_tokenizer *t) { return io_tok_piece_id(t, "<pad>"); }
int32_t io_tok_unk_id(const io_tokenizer *t) { return tok_unigram_unk(t->model); }
int io_tok_num_special(const io_tokenizer *t) { return t->nprefix + t->nsuffix; }
