/* tok_pipeline.c — tokenizer.json normalizers and pre-tokenizers, HF semantics.
 *
 * Normalizers: Sequence, Precompiled (SentencePiece charsmap), Replace (String
 * or Regex pattern), Strip, Prepend.  Pre-tokenizers: Sequence,
 * WhitespaceSplit, Metaspace (replacement, prepend_scheme always/first/never or
 * the old add_prefix_space, split), Split (pattern, behavior, invert).  These
 * are the pieces every HF conversion of a SentencePiece unigram model uses
 * (T5/umT5 across transformers versions); other types fail to load with
 * DIT_ERR_UNSUPPORTED naming the type and the JSON path.
 *
 * Precompiled follows HF normalizers/precompiled.rs exactly: walk extended
 * grapheme clusters; a cluster under 6 bytes with a charsmap hit is replaced
 * whole (by the SHORTEST matching key's value), otherwise each character is
 * looked up alone.  Checked by tests/test_tokenizer.c: HF ids for the file as
 * transformers writes it and for variants of it (older and newer converter
 * outputs, plus stress variants of Replace / Strip / Split / Metaspace).
 */
#include "tok_internal.h"

#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* strcmp, strdup, strlen */

typedef enum { NORM_PRECOMPILED, NORM_REPLACE, NORM_STRIP, NORM_PREPEND } norm_kind;
typedef struct norm_step {
    norm_kind kind;
    tok_charsmap cm;
    tok_regex *re;
    char *content; /* Replace content / Prepend string */
    int left, right;
} norm_step;

typedef enum { PRE_WHITESPACE_SPLIT, PRE_METASPACE, PRE_SPLIT } pre_kind;
enum { PREPEND_NEVER = 0, PREPEND_ALWAYS, PREPEND_FIRST };
typedef struct pre_step {
    pre_kind kind;
    char rep[5];     /* Metaspace replacement, UTF-8 */
    uint32_t rep_cp;
    int prepend, split;
    tok_regex *re;   /* Split */
    tok_split_behavior behavior;
    int invert;
} pre_step;

struct tok_pipeline {
    norm_step norm[64];
    int nnorm;
    pre_step pre[64];
    int npre;
};

void tok_pipeline_free(tok_pipeline **pp) {
    tok_pipeline *p = pp ? *pp : NULL;
    if (!p) return;
    for (int i = 0; i < p->nnorm; i++) {
        tok_charsmap_free(&p->norm[i].cm);
        tok_regex_free(&p->norm[i].re);
        free(p->norm[i].content);
    }
    for (int i = 0; i < p->npre; i++) tok_regex_free(&p->pre[i].re);
    free(p);
    *pp = NULL;
}

/* {"String": s} or {"Regex": r} -> compiled pattern. */
static dit_status load_pattern(const cJSON *pat, const char *path, tok_regex **re, dit_err *err) {
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(pat, "String");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
    if (cJSON_IsString(s)) return tok_regex_compile(s->valuestring, 1, path, re, err);
    if (cJSON_IsString(r)) {
        char where[600];
        snprintf(where, sizeof where, "%s /%s/", path, r->valuestring);
        return tok_regex_compile(r->valuestring, 0, where, re, err);
    }
    return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pattern must be {\"String\": ...} or {\"Regex\": ...}", path);
}

static int json_bool(const cJSON *o, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static dit_status load_normalizer(tok_pipeline *p, const cJSON *n, const char *path, dit_err *err) {
    if (!n || cJSON_IsNull(n)) return DIT_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(n, "type");
    if (!cJSON_IsString(type)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: normalizer without a \"type\" string", path);
    const char *t = type->valuestring;
    char sub[512];
    if (!strcmp(t, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "normalizers");
        if (!cJSON_IsArray(list)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: Sequence without a \"normalizers\" array", path);
        int i = 0;
        for (const cJSON *e = list->child; e; e = e->next, i++) {
            snprintf(sub, sizeof sub, "%s.normalizers[%d]", path, i);
            DIT_TRY(load_normalizer(p, e, sub, err));
        }
        return DIT_OK;
    }
    if (p->nnorm >= 64) return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: more than 64 normalizers", path);
    norm_step *s = &p->norm[p->nnorm];
    memset(s, 0, sizeof *s);
    if (!strcmp(t, "Precompiled")) {
        const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(n, "precompiled_charsmap");
        if (!cJSON_IsString(b64))
            return DIT_FAIL(err, DIT_ERR_MISSING, "%s: Precompiled without a base64 \"precompiled_charsmap\" string", path);
        snprintf(sub, sizeof sub, "%s.precompiled_charsmap", path);
        s->kind = NORM_PRECOMPILED;
        DIT_TRY(tok_charsmap_load_base64(b64->valuestring, sub, &s->cm, err));
    } else if (!strcmp(t, "Replace")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(n, "content");
        if (!cJSON_IsString(c)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: Replace without a \"content\" string", path);
        snprintf(sub, sizeof sub, "%s.pattern", path);
        s->kind = NORM_REPLACE;
        DIT_TRY(load_pattern(cJSON_GetObjectItemCaseSensitive(n, "pattern"), sub, &s->re, err));
        s->content = strdup(c->valuestring);
        if (!s->content) {
            tok_regex_free(&s->re);
            return DIT_FAIL(err, DIT_ERR_OOM, "%s", path);
        }
    } else if (!strcmp(t, "Strip")) {
        s->kind = NORM_STRIP;
        s->left = json_bool(n, "strip_left", 1);
        s->right = json_bool(n, "strip_right", 1);
    } else if (!strcmp(t, "Prepend")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(n, "prepend");
        if (!cJSON_IsString(c)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: Prepend without a \"prepend\" string", path);
        s->kind = NORM_PREPEND;
        s->content = strdup(c->valuestring);
        if (!s->content) return DIT_FAIL(err, DIT_ERR_OOM, "%s", path);
    } else {
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: normalizer type \"%s\" is not supported (Sequence, Precompiled, Replace, Strip, Prepend)",
                        path, t);
    }
    p->nnorm++;
    return DIT_OK;
}

static dit_status load_pre(tok_pipeline *p, const cJSON *n, const char *path, dit_err *err) {
    if (!n || cJSON_IsNull(n)) return DIT_OK;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(n, "type");
    if (!cJSON_IsString(type)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: pre-tokenizer without a \"type\" string", path);
    const char *t = type->valuestring;
    char sub[512];
    if (!strcmp(t, "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(n, "pretokenizers");
        if (!cJSON_IsArray(list)) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: Sequence without a \"pretokenizers\" array", path);
        int i = 0;
        for (const cJSON *e = list->child; e; e = e->next, i++) {
            snprintf(sub, sizeof sub, "%s.pretokenizers[%d]", path, i);
            DIT_TRY(load_pre(p, e, sub, err));
        }
        return DIT_OK;
    }
    if (p->npre >= 64) return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: more than 64 pre-tokenizers", path);
    pre_step *s = &p->pre[p->npre];
    memset(s, 0, sizeof *s);
    if (!strcmp(t, "WhitespaceSplit")) {
        s->kind = PRE_WHITESPACE_SPLIT;
    } else if (!strcmp(t, "Metaspace")) {
        s->kind = PRE_METASPACE;
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(n, "replacement");
        size_t rl = cJSON_IsString(r) ? strlen(r->valuestring) : 0;
        int cl = rl ? tok_utf8_decode(r->valuestring, rl, 0, &s->rep_cp) : 0;
        if (cl == 0 || (size_t)cl != rl)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: Metaspace \"replacement\" must be one character", path);
        memcpy(s->rep, r->valuestring, rl + 1);
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(n, "prepend_scheme");
        s->prepend = PREPEND_ALWAYS;
        if (ps && !cJSON_IsNull(ps)) {
            const char *v = cJSON_IsString(ps) ? ps->valuestring : "";
            if (!strcmp(v, "always")) s->prepend = PREPEND_ALWAYS;
            else if (!strcmp(v, "first")) s->prepend = PREPEND_FIRST;
            else if (!strcmp(v, "never")) s->prepend = PREPEND_NEVER;
            else return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: prepend_scheme must be \"always\", \"first\" or \"never\"", path);
        }
        const cJSON *aps = cJSON_GetObjectItemCaseSensitive(n, "add_prefix_space");
        if (cJSON_IsFalse(aps)) { /* old files: add_prefix_space false means never (HF rejects a contradiction) */
            if (ps && !cJSON_IsNull(ps) && s->prepend != PREPEND_NEVER)
                return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: add_prefix_space false contradicts prepend_scheme", path);
            s->prepend = PREPEND_NEVER;
        }
        s->split = json_bool(n, "split", 1);
    } else if (!strcmp(t, "Split")) {
        s->kind = PRE_SPLIT;
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(n, "behavior");
        const char *names[] = {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"};
        int k = 0;
        while (k < 5 && !(cJSON_IsString(b) && !strcmp(b->valuestring, names[k]))) k++;
        if (k == 5)
            return DIT_FAIL(err, DIT_ERR_FORMAT,
                            "%s: Split \"behavior\" must be Removed, Isolated, MergedWithPrevious, MergedWithNext or "
                            "Contiguous", path);
        s->behavior = (tok_split_behavior)k;
        s->invert = json_bool(n, "invert", 0);
        snprintf(sub, sizeof sub, "%s.pattern", path);
        DIT_TRY(load_pattern(cJSON_GetObjectItemCaseSensitive(n, "pattern"), sub, &s->re, err));
    } else {
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: pre-tokenizer type \"%s\" is not supported (Sequence, WhitespaceSplit, Metaspace, Split)",
                        path, t);
    }
    p->npre++;
    return DIT_OK;
}

dit_status tok_pipeline_load(const cJSON *normalizer, const cJSON *pre_tokenizer, const char *file,
                             tok_pipeline **out, dit_err *err) {
    *out = NULL;
    tok_pipeline *p = calloc(1, sizeof *p);
    if (!p) return DIT_FAIL(err, DIT_ERR_OOM, "%s: pipeline", file);
    char path[512];
    snprintf(path, sizeof path, "%s: normalizer", file);
    dit_status st = load_normalizer(p, normalizer, path, err);
    if (st == DIT_OK) {
        snprintf(path, sizeof path, "%s: pre_tokenizer", file);
        st = load_pre(p, pre_tokenizer, path, err);
    }
    if (st != DIT_OK) {
        tok_pipeline_free(&p);
        return st;
    }
    *out = p;
    return DIT_OK;
}

/* precompiled.rs `replace`: new chars with change 0, then fix up the last entries. */
static int replace_changes(tok_changes *d, int64_t old_count, const char *rep, size_t rl) {
    int64_t new_count = 0;
    for (size_t i = 0; i < rl; i += (size_t)tok_utf8_len(rep, i), new_count++) {
        uint32_t cp = 0;
        tok_utf8_decode(rep, rl, i, &cp);
        if (tok_changes_push(d, cp, 0)) return -1;
    }
    int64_t diff = new_count - old_count;
    if (diff > 0) {
        for (int64_t k = 0; k < diff && (size_t)k < d->n; k++) d->v[d->n - 1 - (size_t)k].change = 1;
    } else if (diff < 0 && d->n > 0) {
        d->v[d->n - 1].change += diff;
    }
    return 0;
}

static int precompiled_normalize(const tok_charsmap *cm, tok_ns *ns) {
    tok_changes d = {0};
    int modified = 0, rc = 0;
    for (size_t i = 0; i < ns->len && rc == 0;) {
        size_t ge = tok_grapheme_end(ns->s, ns->len, i), rl = 0;
        const char *rep = ge - i < 6 ? tok_charsmap_lookup(cm, ns->s + i, ge - i, &rl) : NULL;
        if (rep) {
            int64_t nch = 0;
            for (size_t k = i; k < ge; k += (size_t)tok_utf8_len(ns->s, k)) nch++;
            modified = 1;
            rc = replace_changes(&d, nch, rep, rl);
            i = ge;
            continue;
        }
        while (i < ge && rc == 0) {
            size_t cl = (size_t)tok_utf8_len(ns->s, i);
            rep = tok_charsmap_lookup(cm, ns->s + i, cl, &rl);
            if (rep) {
                modified = 1;
                rc = replace_changes(&d, 1, rep, rl);
            } else {
                uint32_t cp = 0;
                tok_utf8_decode(ns->s, ns->len, i, &cp);
                rc = tok_changes_push(&d, cp, 0);
            }
            i += cl;
        }
    }
    if (rc == 0 && modified) rc = tok_ns_transform(ns, &d, 0);
    free(d.v);
    return rc;
}

static dit_status regex_spans(const tok_regex *re, const tok_ns *ns, tok_spans *sp, dit_err *err) {
    int rc = tok_regex_find_all(re, ns->s, ns->len, sp);
    if (rc == -2)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "tokenizer regex exceeded its backtracking budget on %zu bytes", ns->len);
    if (rc) return DIT_FAIL(err, DIT_ERR_OOM, "regex matches");
    return DIT_OK;
}

dit_status tok_pipeline_normalize(const tok_pipeline *p, tok_ns *ns, dit_err *err) {
    tok_spans sp = {0};
    dit_status st = DIT_OK;
    for (int i = 0; i < p->nnorm && st == DIT_OK; i++) {
        const norm_step *s = &p->norm[i];
        int rc = 0;
        switch (s->kind) {
        case NORM_PRECOMPILED: rc = precompiled_normalize(&s->cm, ns); break;
        case NORM_STRIP: rc = tok_ns_strip(ns, s->left, s->right); break;
        case NORM_PREPEND: rc = tok_ns_prepend(ns, s->content, strlen(s->content)); break;
        case NORM_REPLACE:
            st = regex_spans(s->re, ns, &sp, err);
            if (st == DIT_OK) rc = tok_ns_replace(ns, &sp, s->content);
            break;
        }
        if (rc && st == DIT_OK) st = DIT_FAIL(err, DIT_ERR_OOM, "normalizing %zu bytes", ns->len);
    }
    free(sp.v);
    return st;
}

static int is_cp(uint32_t cp, uint32_t arg) { return cp == arg; }
static int is_ws(uint32_t cp, uint32_t arg) { return (void)arg, tok_is_white_space(cp); }

/* Move *ns (when not empty) to the end of out[]; ns is left empty. 0 ok, -1 OOM. */
static int push_ns(tok_ns **out, size_t *nout, size_t *cap, tok_ns *ns) {
    if (ns->len == 0) return 0;
    if (*nout == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        tok_ns *v = realloc(*out, nc * sizeof *v);
        if (!v) return -1;
        *out = v, *cap = nc;
    }
    (*out)[(*nout)++] = *ns;
    ns->s = NULL, ns->al = NULL, ns->len = 0;
    return 0;
}

/* One pre-tokenizer step on one split: appends its pieces to out. */
static dit_status pre_apply(const pre_step *s, tok_ns *ns, tok_ns **out, size_t *nout, size_t *cap, dit_err *err) {
    tok_spans sp = {0};
    dit_status st = DIT_OK;
    int rc = 0;
    switch (s->kind) {
    case PRE_WHITESPACE_SPLIT:
        rc = tok_find_chars(ns->s, ns->len, is_ws, 0, &sp);
        if (rc == 0) rc = tok_ns_split(ns, &sp, TOK_SPLIT_REMOVED, out, nout, cap);
        break;
    case PRE_METASPACE:
        rc = tok_find_chars(ns->s, ns->len, is_cp, ' ', &sp);
        if (rc == 0) rc = tok_ns_replace(ns, &sp, s->rep);
        if (rc == 0 && strncmp(ns->s, s->rep, strlen(s->rep)) != 0 &&
            (s->prepend == PREPEND_ALWAYS || (s->prepend == PREPEND_FIRST && ns->shift == 0)))
            rc = tok_ns_prepend(ns, s->rep, strlen(s->rep));
        if (rc == 0 && s->split) {
            rc = tok_find_chars(ns->s, ns->len, is_cp, s->rep_cp, &sp);
            if (rc == 0) rc = tok_ns_split(ns, &sp, TOK_SPLIT_MERGED_WITH_NEXT, out, nout, cap);
        } else if (rc == 0) {
            rc = push_ns(out, nout, cap, ns); /* HF passes the string on unsliced */
        }
        break;
    case PRE_SPLIT:
        st = regex_spans(s->re, ns, &sp, err);
        for (size_t k = 0; st == DIT_OK && s->invert && k < sp.n; k++) sp.v[k].match = !sp.v[k].match;
        if (st == DIT_OK) rc = tok_ns_split(ns, &sp, s->behavior, out, nout, cap);
        break;
    }
    free(sp.v);
    if (rc && st == DIT_OK) st = DIT_FAIL(err, DIT_ERR_OOM, "pre-tokenizing %zu bytes", ns->len);
    return st;
}

dit_status tok_pipeline_pretokenize(const tok_pipeline *p, tok_ns *in, tok_ns **out, size_t *nout, size_t *cap,
                                    dit_err *err) {
    tok_ns *cur = malloc(sizeof *cur);
    if (!cur) {
        tok_ns_free(in);
        return DIT_FAIL(err, DIT_ERR_OOM, "pre-tokenizer splits");
    }
    cur[0] = *in;
    in->s = NULL, in->al = NULL, in->len = 0;
    size_t ncur = 1;
    dit_status st = DIT_OK;
    for (int i = 0; i < p->npre && st == DIT_OK; i++) {
        tok_ns *next = NULL;
        size_t nnext = 0, nextcap = 0;
        for (size_t k = 0; k < ncur && st == DIT_OK; k++) st = pre_apply(&p->pre[i], &cur[k], &next, &nnext, &nextcap, err);
        for (size_t k = 0; k < ncur; k++) tok_ns_free(&cur[k]);
        free(cur);
        cur = next, ncur = nnext;
    }
    for (size_t k = 0; k < ncur; k++) {
        if (st == DIT_OK && push_ns(out, nout, cap, &cur[k])) st = DIT_FAIL(err, DIT_ERR_OOM, "pre-tokenizer splits");
        tok_ns_free(&cur[k]);
    }
    free(cur);
    return st;
}
