/* tok_internal.h — internal building blocks of the unigram tokenizer (io/tokenizer_unigram.h).
 *
 * Not a public API.  Pieces, each in its own file and each mirroring one part of
 * Hugging Face `tokenizers` (the reference the goldens come from):
 *   tok_utf8.c       UTF-8 decoding, White_Space / Python isspace predicates
 *   tok_grapheme.c   UAX #29 extended grapheme clusters (tables in tok_tables.c)
 *   sp_charsmap.c    SentencePiece precompiled_charsmap (base64, darts trie, blob)
 *   tok_normstr.c    NormalizedString: text + per-byte original offsets, transforms
 *   tok_regex.c      the small regex subset HF Replace / Split patterns need
 *   tok_pipeline.c   normalizers and pre-tokenizers from tokenizer.json
 *   tok_unigram.c    vocabulary trie and Viterbi (encode_optimized)
 * All of it is checked end to end by tests/test_tokenizer.c against HF ids.
 */
#ifndef SPADIT_TOK_INTERNAL_H
#define SPADIT_TOK_INTERNAL_H

#include <cjson/cJSON.h> /* cJSON */
#include <stddef.h>       /* size_t */
#include <stdint.h>       /* uint32_t, int64_t, int32_t */

#include "../dit/status.h" /* dit_status, dit_err */

/* ---- UTF-8 (tok_utf8.c) ---- */

/* Decode the character at s[i] (i < len).  Returns its byte length 1..4 and
 * stores the code point, or 0 when the bytes there are not valid UTF-8
 * (overlong forms, surrogates and values > 0x10FFFF are invalid). */
int tok_utf8_decode(const char *s, size_t len, size_t i, uint32_t *cp);
/* Length in bytes of the valid UTF-8 character starting at s[i]; the caller
 * guarantees validity (used on text that was validated once). */
int tok_utf8_len(const char *s, size_t i);
/* Encode cp (<= 0x10FFFF) into out; returns 1..4. */
int tok_utf8_encode(uint32_t cp, char out[4]);
/* Offset of the first invalid byte, or len when s[0..len) is valid UTF-8. */
size_t tok_utf8_check(const char *s, size_t len);
/* Unicode White_Space (= Rust char::is_whitespace, used by HF Strip/WhitespaceSplit
 * and onig's \s). */
int tok_is_white_space(uint32_t cp);
/* Python str.isspace (= re's \s on str): White_Space plus U+001C..U+001F. */
int tok_is_py_space(uint32_t cp);

/* ---- growable byte buffer ---- */
typedef struct tok_buf {
    char *s;
    size_t len, cap;
} tok_buf;
int tok_buf_put(tok_buf *b, const char *s, size_t n); /* 0 ok, -1 OOM; keeps a NUL after the data */

/* ---- grapheme clusters (tok_grapheme.c, tok_tables.c) ---- */

enum tok_gcb {
    TOK_GCB_OTHER = 0, TOK_GCB_CR, TOK_GCB_LF, TOK_GCB_CONTROL, TOK_GCB_EXTEND, TOK_GCB_ZWJ,
    TOK_GCB_RI, TOK_GCB_PREPEND, TOK_GCB_SPACINGMARK, TOK_GCB_L, TOK_GCB_V, TOK_GCB_T, TOK_GCB_LV,
    TOK_GCB_LVT
};
enum tok_incb { TOK_INCB_NONE = 0, TOK_INCB_LINKER, TOK_INCB_CONSONANT, TOK_INCB_EXTEND };

typedef struct tok_gcb_range {
    uint32_t lo, hi;
    uint8_t props; /* gcb | extpict << 4 | incb << 5 */
} tok_gcb_range;
extern const int tok_gcb_nranges;
extern const tok_gcb_range tok_gcb_ranges[];

/* End (exclusive byte offset) of the extended grapheme cluster that starts at
 * s[i] in the valid UTF-8 text s[0..len). */
size_t tok_grapheme_end(const char *s, size_t len, size_t i);

/* ---- HTML entities (tok_tables.c, used by prompt_clean.c) ---- */
typedef struct tok_html_entity {
    const char *name;  /* without ';' */
    const char *value; /* UTF-8 */
    int legacy;        /* also valid without the ';' */
} tok_html_entity;
extern const int tok_html_nentities;
extern const tok_html_entity tok_html_entities[];

/* ---- precompiled charsmap (sp_charsmap.c) ---- */
typedef struct tok_charsmap {
    uint32_t *units; /* darts-clone double array */
    size_t nunits;
    char *blob;      /* NUL-separated replacement strings (valid UTF-8) */
    size_t blob_len;
} tok_charsmap;

/* Decode base64 `b64` and parse it; `where` names the JSON field in messages. */
dit_status tok_charsmap_load_base64(const char *b64, const char *where, tok_charsmap *cm, dit_err *err);
/* Parse a raw charsmap: u32 LE trie byte size, trie units, then the blob. */
dit_status tok_charsmap_parse(const uint8_t *data, size_t len, const char *where, tok_charsmap *cm, dit_err *err);
/* spm_precompiled `transform`: the replacement of the SHORTEST key that is a
 * prefix of key[0..n) (NULL when none); *outlen gets its byte length. */
const char *tok_charsmap_lookup(const tok_charsmap *cm, const char *key, size_t n, size_t *outlen);
void tok_charsmap_free(tok_charsmap *cm);

/* ---- NormalizedString (tok_normstr.c) ---- */
typedef struct tok_ns {
    char *s;       /* normalized UTF-8, NUL-terminated */
    size_t len;
    int64_t *al;   /* per normalized byte: start of its source in the segment's original text */
    int64_t shift; /* original byte offset of this string within the whole input */
} tok_ns;

typedef struct tok_change {
    uint32_t cp;
    int64_t change; /* HF convention: 1 = inserted, 0 = replaces one char, -n = replaces one and removes n */
} tok_change;

typedef struct tok_changes {
    tok_change *v;
    size_t n, cap;
} tok_changes;
int tok_changes_push(tok_changes *c, uint32_t cp, int64_t change); /* 0 ok, -1 OOM */

/* A fresh string over s[0..n) with identity alignments and the given shift. */
int tok_ns_init(tok_ns *ns, const char *s, size_t n, int64_t shift);
void tok_ns_free(tok_ns *ns);
/* HF NormalizedString::transform over the whole string (0 ok, -1 OOM). */
int tok_ns_transform(tok_ns *ns, const tok_changes *dest, size_t initial_offset);
/* HF NormalizedString::slice(Range::Normalized(b0..b1)) (b0 < b1). */
int tok_ns_slice(const tok_ns *ns, size_t b0, size_t b1, tok_ns *out);
/* HF lstrip/rstrip (White_Space). */
int tok_ns_strip(tok_ns *ns, int left, int right);
/* HF NormalizedString::prepend. */
int tok_ns_prepend(tok_ns *ns, const char *s, size_t n);

/* Matches of a pattern in a string: (start, end, is_match) covering it in order,
 * as HF Pattern::find_matches. */
typedef struct tok_span {
    size_t b, e;
    int match;
} tok_span;
typedef struct tok_spans {
    tok_span *v;
    size_t n, cap;
} tok_spans;
int tok_spans_push(tok_spans *sp, size_t b, size_t e, int match);

/* ---- regex subset (tok_regex.c) ---- */
typedef struct tok_regex tok_regex;
/* Compile an Oniguruma (Ruby syntax) pattern, or a literal when `literal`.
 * Unsupported constructs fail with DIT_ERR_UNSUPPORTED naming them. */
dit_status tok_regex_compile(const char *pat, int literal, const char *where, tok_regex **out, dit_err *err);
/* HF `Pattern::find_matches` for a regex (onig find_iter semantics). 0 ok,
 * -1 OOM, -2 backtracking budget exhausted. */
int tok_regex_find_all(const tok_regex *re, const char *s, size_t len, tok_spans *out);
void tok_regex_free(tok_regex **re);

/* HF Pattern::find_matches for a char predicate: every matching char is its own match. */
int tok_find_chars(const char *s, size_t len, int (*pred)(uint32_t cp, uint32_t arg), uint32_t arg, tok_spans *out);
/* HF NormalizedString::replace: every matched span becomes `content`. 0 ok, -1 OOM. */
int tok_ns_replace(tok_ns *ns, const tok_spans *matches, const char *content);
/* Split behaviours (HF SplitDelimiterBehavior). */
typedef enum tok_split_behavior {
    TOK_SPLIT_REMOVED, TOK_SPLIT_ISOLATED, TOK_SPLIT_MERGED_WITH_PREVIOUS, TOK_SPLIT_MERGED_WITH_NEXT,
    TOK_SPLIT_CONTIGUOUS
} tok_split_behavior;
/* HF NormalizedString::split: apply the behaviour to `matches` and append the
 * non-empty slices to the growable array (out, nout, cap). 0 ok, -1 OOM. */
int tok_ns_split(const tok_ns *ns, const tok_spans *matches, tok_split_behavior b, tok_ns **out, size_t *nout,
                 size_t *cap);

/* ---- normalizers and pre-tokenizers (tok_pipeline.c) ---- */
typedef struct tok_pipeline tok_pipeline;
/* Parse the "normalizer" and "pre_tokenizer" members (either may be NULL/null). */
dit_status tok_pipeline_load(const cJSON *normalizer, const cJSON *pre_tokenizer, const char *file,
                             tok_pipeline **out, dit_err *err);
void tok_pipeline_free(tok_pipeline **p);
/* Run the normalizer over ns in place. */
dit_status tok_pipeline_normalize(const tok_pipeline *p, tok_ns *ns, dit_err *err);
/* Run the pre-tokenizer: consumes `in` (taken over), appends splits to *out. */
dit_status tok_pipeline_pretokenize(const tok_pipeline *p, tok_ns *in, tok_ns **out, size_t *nout, size_t *cap,
                                    dit_err *err);

/* ---- unigram model (tok_unigram.c) ---- */
typedef struct tok_unigram tok_unigram;
/* Parse model {"type":"Unigram","unk_id":..,"vocab":[[piece,score],..],"byte_fallback":..}. */
dit_status tok_unigram_load(const cJSON *model, const char *file, tok_unigram **out, dit_err *err);
void tok_unigram_free(tok_unigram **m);
int32_t tok_unigram_size(const tok_unigram *m);
const char *tok_unigram_piece(const tok_unigram *m, int32_t id);
/* Id of an exact piece (the last one when duplicated, as HF), -1 when absent. */
int32_t tok_unigram_find(const tok_unigram *m, const char *piece, size_t n);
int32_t tok_unigram_unk(const tok_unigram *m); /* -1 when the file has none */
/* Viterbi over s[0..n) (valid UTF-8); appends ids (consecutive unknowns fused). */
dit_status tok_unigram_encode(const tok_unigram *m, const char *s, size_t n, int32_t **ids, size_t *nids,
                              size_t *cap, dit_err *err);

#endif
