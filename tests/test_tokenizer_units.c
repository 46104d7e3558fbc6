/* test_tokenizer_units.c — unit tests of the unigram tokenizer's parts and its error handling.
 *
 * - a hand-made tiny tokenizer.json: ids worked out by hand (Viterbi choice,
 *   fused unknowns, EOS, truncation, max_ids edge cases, invalid UTF-8), accessors;
 * - malformed files: every load error's code and message (not JSON, not Unigram,
 *   missing/bad vocab, bad unk_id, bad base64, truncated/odd/empty charsmaps,
 *   unsupported components and regexes); a corrupt trie must not crash;
 * - the regex subset (spans as Oniguruma's find_iter gives them) and grapheme
 *   cluster ends (UAX #29 cases);
 * - io_prompt_clean details the Python goldens cannot show (truncation, NULL,
 *   invalid UTF-8, entities outside the supported subset);
 * - scale: a synthetic 256,384-piece vocabulary (umT5's size) loads and
 *   tokenizes a long text into pieces that spell it exactly.
 */
#include <stdint.h> /* int32_t, uint8_t */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* strstr, strlen */
#include <time.h>   /* clock */

#include "../io/tok_internal.h"      /* tok_regex_*, tok_grapheme_end */
#include "../io/tokenizer_unigram.h" /* io_tok_*, io_prompt_clean */
#include "test_util.h"

#define TINY_VOCAB "[[\"<pad>\",0],[\"</s>\",0],[\"<unk>\",0],[\"\xe2\x96\x81\",-2],[\"a\",-3],[\"b\",-3],[\"\xe2\x96\x81" \
                   "ab\",-1],[\"\xe2\x96\x81" "a\",-2.5]]"
#define TINY_PRE "{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"prepend_scheme\":\"always\",\"split\":true}"
#define TINY_POST                                                                                              \
    "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":" \
    "{\"id\":\"</s>\",\"type_id\":0}}],\"special_tokens\":{\"</s>\":{\"id\":\"</s>\",\"ids\":[1],\"tokens\":[\"</s>\"]}}}"
#define TINY_ADDED "[{\"id\":1,\"content\":\"</s>\",\"special\":true,\"normalized\":false}]"

static char *tiny_json(const char *normalizer, const char *pre, const char *post, const char *added) {
    size_t cap = 4096 + strlen(normalizer) + strlen(pre);
    char *s = malloc(cap);
    snprintf(s, cap,
             "{\"model\":{\"type\":\"Unigram\",\"unk_id\":2,\"vocab\":" TINY_VOCAB "},\"normalizer\":%s,"
             "\"pre_tokenizer\":%s,\"post_processor\":%s,\"added_tokens\":%s}",
             normalizer, pre, post, added);
    return s;
}

static void expect_ids(io_tokenizer *t, const char *text, int max_ids, const int32_t *want, int nwant) {
    int32_t got[64];
    int n = -1;
    dit_err err = {0};
    dit_status st = io_tok_encode(t, text, got, max_ids, &n, &err);
    int ok = st == DIT_OK && n == nwant && (n == 0 || memcmp(got, want, (size_t)n * sizeof *got) == 0);
    CHECK(ok, "encode \"%s\" (max %d): status %d n %d (want %d) %s", text, max_ids, st, n, nwant, err.msg);
}

static void test_tiny(void) {
    char *j = tiny_json("null", TINY_PRE, TINY_POST, TINY_ADDED);
    io_tokenizer *t = NULL;
    dit_err err = {0};
    CHECK(io_tok_load_mem(j, strlen(j), "tiny.json", &t, &err) == DIT_OK, "%s", err.msg);
    free(j);
    if (!t) return;
    expect_ids(t, "ab", 512, (int32_t[]){6, 1}, 2);           /* ▁ab beats ▁a b */
    expect_ids(t, "ab ab", 512, (int32_t[]){6, 6, 1}, 3);
    expect_ids(t, "a", 512, (int32_t[]){7, 1}, 2);
    expect_ids(t, "abc", 512, (int32_t[]){6, 2, 1}, 3);       /* c unknown */
    expect_ids(t, "cdc", 512, (int32_t[]){3, 2, 1}, 3);       /* ▁ + one fused unknown run */
    expect_ids(t, "acb", 512, (int32_t[]){7, 2, 5, 1}, 4);
    expect_ids(t, "", 512, (int32_t[]){1}, 1);                /* EOS only */
    expect_ids(t, "ab</s>ab", 512, (int32_t[]){6, 1, 6, 1}, 4); /* added token split out */
    expect_ids(t, "ab ab ab", 3, (int32_t[]){6, 6, 1}, 3);    /* truncation keeps EOS */
    expect_ids(t, "ab ab ab", 1, (int32_t[]){1}, 1);
    int32_t ids[4];
    int n = 0;
    CHECK(io_tok_encode(t, "ab", ids, 0, &n, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "cannot hold"),
          "max_ids 0: %s", err.msg);
    CHECK(io_tok_encode(t, "a\xff" "b", ids, 4, &n, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "UTF-8") &&
              strstr(err.msg, "byte 1"), "invalid UTF-8: %s", err.msg);
    CHECK(io_tok_encode(t, "\xe2\x96", ids, 4, &n, &err) == DIT_ERR_INVALID_ARG, "truncated UTF-8 accepted");
    CHECK(io_tok_encode(t, "\xed\xa0\x80", ids, 4, &n, &err) == DIT_ERR_INVALID_ARG, "surrogate accepted");
    CHECK(io_tok_encode(t, "\xc0\xaf", ids, 4, &n, &err) == DIT_ERR_INVALID_ARG, "overlong accepted");
    CHECK(io_tok_vocab_size(t) == 8, "vocab size %d", io_tok_vocab_size(t));
    CHECK(!strcmp(io_tok_piece(t, 6), "\xe2\x96\x81" "ab") && io_tok_piece(t, 8) == NULL && io_tok_piece(t, -1) == NULL,
          "io_tok_piece");
    CHECK(io_tok_piece_id(t, "\xe2\x96\x81" "ab") == 6 && io_tok_piece_id(t, "zz") == -1, "io_tok_piece_id");
    CHECK(io_tok_eos_id(t) == 1 && io_tok_pad_id(t) == 0 && io_tok_unk_id(t) == 2 && io_tok_num_special(t) == 1,
          "eos %d pad %d unk %d", io_tok_eos_id(t), io_tok_pad_id(t), io_tok_unk_id(t));
    io_tok_free(&t);
    CHECK(t == NULL, "io_tok_free did not clear the pointer");
    io_tok_free(&t); /* freeing NULL is fine */
}

static void b64(const uint8_t *in, size_t n, char *out) {
    const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = a[w >> 18 & 63], out[o++] = a[w >> 12 & 63];
        out[o++] = i + 1 < n ? a[w >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? a[w & 63] : '=';
    }
    out[o] = 0;
}

static void expect_load_error(const char *what, const char *json, dit_status code, const char *needle) {
    io_tokenizer *t = NULL;
    dit_err err = {0};
    dit_status st = io_tok_load_mem(json, strlen(json), "bad.json", &t, &err);
    CHECK(st == code && t == NULL && strstr(err.msg, needle) && strstr(err.msg, "bad.json"),
          "%s: status %d (want %d), message \"%s\" (want \"%s\")", what, st, code, err.msg, needle);
    io_tok_free(&t);
}

static void test_malformed(void) {
    dit_err err = {0};
    io_tokenizer *t = NULL;
    CHECK(io_tok_load("/nonexistent/tokenizer.json", &t, &err) == DIT_ERR_MISSING &&
              strstr(err.msg, "/nonexistent/tokenizer.json"), "missing file: %s", err.msg);
    expect_load_error("not JSON", "{\"model\": [1, 2", DIT_ERR_FORMAT, "not valid JSON");
    expect_load_error("no model", "{\"version\": \"1.0\"}", DIT_ERR_MISSING, "no \"model\" object");
    expect_load_error("BPE", "{\"model\":{\"type\":\"BPE\",\"vocab\":{}}}", DIT_ERR_UNSUPPORTED, "only \"Unigram\"");
    expect_load_error("no vocab", "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0}}", DIT_ERR_MISSING, "model.vocab missing");
    expect_load_error("empty vocab", "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}", DIT_ERR_FORMAT, "model.vocab is empty");
    expect_load_error("bad entry", "{\"model\":{\"type\":\"Unigram\",\"vocab\":[[\"a\",1],[2,\"x\"]]}}", DIT_ERR_FORMAT,
                      "model.vocab[1]");
    expect_load_error("unk_id", "{\"model\":{\"type\":\"Unigram\",\"unk_id\":5,\"vocab\":[[\"a\",1]]}}", DIT_ERR_FORMAT,
                      "model.unk_id");
    expect_load_error("byte_fallback", "{\"model\":{\"type\":\"Unigram\",\"byte_fallback\":true,\"vocab\":[[\"a\",1]]}}",
                      DIT_ERR_UNSUPPORTED, "byte_fallback");
    struct { const char *what; const uint8_t bytes[16]; size_t n; const char *needle; } cm[] = {
        {"short charsmap", {1, 2, 3}, 3, "too short"},
        {"trie past end", {8, 0, 0, 0, 1, 2, 3, 4}, 8, "only 4 bytes follow"},
        {"odd trie size", {5, 0, 0, 0, 1, 2, 3, 4, 5}, 9, "not a multiple of 4"},
        {"empty trie", {0, 0, 0, 0, 'a'}, 5, "empty trie"},
        {"bad blob", {4, 0, 0, 0, 0, 0, 0, 0, 'a', 0xff}, 10, "not valid UTF-8"},
    };
    char b[64], norm[256], *j;
    for (size_t i = 0; i < sizeof cm / sizeof cm[0]; i++) {
        b64(cm[i].bytes, cm[i].n, b);
        snprintf(norm, sizeof norm, "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"%s\"}", b);
        j = tiny_json(norm, TINY_PRE, TINY_POST, TINY_ADDED);
        expect_load_error(cm[i].what, j, DIT_ERR_FORMAT, cm[i].needle);
        free(j);
    }
    struct { const char *what, *norm, *pre, *post, *added; dit_status code; const char *needle; } bad[] = {
        {"bad base64 char", "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"AA$A\"}", TINY_PRE, TINY_POST,
         TINY_ADDED, DIT_ERR_FORMAT, "invalid base64 character"},
        {"base64 length", "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"AAA\"}", TINY_PRE, TINY_POST, TINY_ADDED,
         DIT_ERR_FORMAT, "not a multiple of 4"},
        {"null charsmap", "{\"type\":\"Precompiled\",\"precompiled_charsmap\":null}", TINY_PRE, TINY_POST, TINY_ADDED,
         DIT_ERR_MISSING, "precompiled_charsmap"},
        {"NFKC", "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFKC\"}]}", TINY_PRE, TINY_POST, TINY_ADDED,
         DIT_ERR_UNSUPPORTED, "normalizer.normalizers[0]: normalizer type \"NFKC\""},
        {"ByteLevel", "null", "{\"type\":\"ByteLevel\"}", TINY_POST, TINY_ADDED, DIT_ERR_UNSUPPORTED,
         "pre-tokenizer type \"ByteLevel\""},
        {"regex \\d", "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\d+\"},\"content\":\"\"}", TINY_PRE, TINY_POST,
         TINY_ADDED, DIT_ERR_UNSUPPORTED, "/\\d+/: regex escape"},
        {"regex (", "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(a\"},\"content\":\"\"}", TINY_PRE, TINY_POST,
         TINY_ADDED, DIT_ERR_FORMAT, "missing )"},
        {"Replace no content", "{\"type\":\"Replace\",\"pattern\":{\"String\":\"a\"}}", TINY_PRE, TINY_POST, TINY_ADDED,
         DIT_ERR_FORMAT, "\"content\""},
        {"Metaspace replacement", "null", "{\"type\":\"Metaspace\",\"replacement\":\"ab\"}", TINY_POST, TINY_ADDED,
         DIT_ERR_FORMAT, "one character"},
        {"prepend_scheme", "null", "{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"sometimes\"}",
         TINY_POST, TINY_ADDED, DIT_ERR_FORMAT, "prepend_scheme"},
        {"Split behavior", "null", "{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Eaten\"}", TINY_POST,
         TINY_ADDED, DIT_ERR_FORMAT, "behavior"},
        {"post BertProcessing", "null", TINY_PRE, "{\"type\":\"BertProcessing\"}", TINY_ADDED, DIT_ERR_UNSUPPORTED,
         "post_processor type \"BertProcessing\""},
        {"template two $A", "null", TINY_PRE,
         "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\"}},{\"Sequence\":{\"id\":\"A\"}}]}",
         TINY_ADDED, DIT_ERR_FORMAT, "exactly one Sequence"},
        {"template unknown special", "null", TINY_PRE,
         "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\"}},{\"SpecialToken\":{\"id\":\"<x>\"}}],"
         "\"special_tokens\":{}}", TINY_ADDED, DIT_ERR_FORMAT, "SpecialToken listed in special_tokens"},
        {"single_word", "null", TINY_PRE, TINY_POST, "[{\"id\":1,\"content\":\"</s>\",\"single_word\":true}]",
         DIT_ERR_UNSUPPORTED, "single_word"},
        {"added no content", "null", TINY_PRE, TINY_POST, "[{\"id\":1}]", DIT_ERR_FORMAT, "added_tokens[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = tiny_json(bad[i].norm, bad[i].pre, bad[i].post, bad[i].added);
        expect_load_error(bad[i].what, j, bad[i].code, bad[i].needle);
        free(j);
    }
    /* a corrupt trie (offsets pointing anywhere) loads and never reads out of bounds */
    uint8_t raw[24] = {16, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x00, 0x61, 0xff, 0x7f, 0x61, 0x01, 0x00, 0x00,
                       0xff, 0xfe, 0xff, 0xff, 'x', 0, 'y', 0};
    b64(raw, sizeof raw, b);
    snprintf(norm, sizeof norm, "{\"type\":\"Precompiled\",\"precompiled_charsmap\":\"%s\"}", b);
    j = tiny_json(norm, TINY_PRE, TINY_POST, TINY_ADDED);
    CHECK(io_tok_load_mem(j, strlen(j), "corrupt.json", &t, &err) == DIT_OK, "corrupt trie: %s", err.msg);
    free(j);
    int32_t ids[64];
    int n = 0;
    if (t) CHECK(io_tok_encode(t, "ab \xc3\xa9 a\x01\x7f b", ids, 64, &n, &err) == DIT_OK && n > 0, "%s", err.msg);
    io_tok_free(&t);
    /* a model without unk_id fails only when a character has no piece */
    const char *nounk = "{\"model\":{\"type\":\"Unigram\",\"unk_id\":null,\"vocab\":" TINY_VOCAB "},"
                        "\"pre_tokenizer\":" TINY_PRE ",\"post_processor\":" TINY_POST "}";
    CHECK(io_tok_load_mem(nounk, strlen(nounk), "nounk.json", &t, &err) == DIT_OK, "%s", err.msg);
    if (t) {
        CHECK(io_tok_encode(t, "ab", ids, 64, &n, &err) == DIT_OK && n == 2, "no unk, known text: %s", err.msg);
        CHECK(io_tok_encode(t, "ax", ids, 64, &n, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "no unk_id"),
              "no unk, unknown text: %s", err.msg);
    }
    io_tok_free(&t);
}

typedef struct re_case { const char *pat, *text; int nspan; size_t spans[8][3]; } re_case;

static void test_regex(void) {
    re_case cases[] = {
        {" {2,}", "a  b   c d", 5, {{0, 1, 0}, {1, 3, 1}, {3, 4, 0}, {4, 7, 1}, {7, 10, 0}}},
        {"\\A +| +\\z", "  a b  ", 3, {{0, 2, 1}, {2, 5, 0}, {5, 7, 1}}},
        {"(?:ab|a)+?c", "xababcac", 3, {{0, 1, 0}, {1, 6, 1}, {6, 8, 1}}},
        {"x{2,3}", "xxxxx", 2, {{0, 3, 1}, {3, 5, 1}}},
        {"a*", "baa", 3, {{0, 0, 1}, {0, 1, 0}, {1, 3, 1}}},
        {"[^\\sA-Za-z#]{4}", "ab1234 5678", 4, {{0, 2, 0}, {2, 6, 1}, {6, 7, 0}, {7, 11, 1}}},
        {"^ *-|!$", "- a!\n -b!", 7, {{0, 1, 1}, {1, 3, 0}, {3, 4, 1}, {4, 5, 0}, {5, 7, 1}, {7, 8, 0}, {8, 9, 1}}},
        {"\\.\\Z", "a.\n", 3, {{0, 1, 0}, {1, 2, 1}, {2, 3, 0}}},
        {"\xc3\xa9+", "\xc3\xa9\xc3\xa9 e", 2, {{0, 4, 1}, {4, 6, 0}}},
        {"[a-c]+?$|\\u00e9", "ab\xc3\xa9", 2, {{0, 2, 0}, {2, 4, 1}}},
        {"\\s", "a\xe3\x80\x80" "b", 3, {{0, 1, 0}, {1, 4, 1}, {4, 5, 0}}},
        {"x", "", 1, {{0, 0, 0}}},
        {"^", "a\n", 2, {{0, 0, 1}, {0, 2, 0}}}, /* onig: ^ does not match after a final newline */
        {"a{,2}b|c{x", "aaabc{x", 3, {{0, 1, 0}, {1, 4, 1}, {4, 7, 1}}}, /* {,n}; '{' not an interval = literal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tok_regex *re = NULL;
        dit_err err = {0};
        tok_spans sp = {0};
        if (tok_regex_compile(cases[i].pat, 0, "test", &re, &err) != DIT_OK) {
            CHECK(0, "compile /%s/: %s", cases[i].pat, err.msg);
            continue;
        }
        int rc = tok_regex_find_all(re, cases[i].text, strlen(cases[i].text), &sp);
        int ok = rc == 0 && (int)sp.n == cases[i].nspan;
        for (size_t k = 0; ok && k < sp.n; k++)
            ok = sp.v[k].b == cases[i].spans[k][0] && sp.v[k].e == cases[i].spans[k][1] &&
                 (size_t)sp.v[k].match == cases[i].spans[k][2];
        CHECK(ok, "/%s/ on \"%s\": %zu spans (want %d)", cases[i].pat, cases[i].text, sp.n, cases[i].nspan);
        free(sp.v);
        tok_regex_free(&re);
    }
    tok_regex *re = NULL;
    tok_spans sp = {0};
    dit_err err = {0};
    CHECK(tok_regex_compile("a.b", 1, "lit", &re, &err) == DIT_OK, "literal: %s", err.msg);
    if (re && tok_regex_find_all(re, "axba.b", 6, &sp) == 0)
        CHECK(sp.n == 2 && sp.v[1].b == 3 && sp.v[1].e == 6, "literal a.b spans");
    free(sp.v);
    sp = (tok_spans){0};
    tok_regex_free(&re);
    /* long runs of spaces: " +\z" tried at every start stays linear (memoized failures) */
    size_t big = 200000;
    char *spaces = malloc(big + 3);
    spaces[0] = 'a';
    memset(spaces + 1, ' ', big);
    spaces[big + 1] = 'b', spaces[big + 2] = 0;
    clock_t t0 = clock();
    CHECK(tok_regex_compile("\\A +| +\\z", 0, "big", &re, &err) == DIT_OK, "%s", err.msg);
    int rc = re ? tok_regex_find_all(re, spaces, big + 2, &sp) : -1;
    CHECK(rc == 0 && sp.n == 1 && sp.v[0].match == 0, "200k spaces: rc %d, %zu spans", rc, sp.n);
    spaces[big + 1] = ' ';
    rc = re ? tok_regex_find_all(re, spaces, big + 2, &sp) : -1;
    CHECK(rc == 0 && sp.n == 2 && sp.v[1].b == 1 && sp.v[1].e == big + 2, "trailing run: rc %d", rc);
    printf("regex on 200k spaces: %.3f s\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
    free(sp.v);
    free(spaces);
    tok_regex_free(&re);
    const char *unsupported[] = {"\\d", "(?=a)", "a*+", "(a*)*", "[[a]]", "\\p{L}", "(?i)a", "\\b", "\\1", "\\xff"};
    for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
        CHECK(tok_regex_compile(unsupported[i], 0, "u", &re, &err) == DIT_ERR_UNSUPPORTED && re == NULL,
              "/%s/ should be unsupported", unsupported[i]);
    const char *malformed[] = {"(a", "a)", "[a", "\\", "*a", "a{3,2}", "\\u12"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        CHECK(tok_regex_compile(malformed[i], 0, "m", &re, &err) == DIT_ERR_FORMAT && re == NULL,
              "/%s/ should be malformed", malformed[i]);
}

static void test_graphemes(void) {
    struct { const char *s; size_t end; } g[] = {
        {"e\xcc\x81\xcc\xa3x", 5},              /* base + 2 combining marks */
        {"\r\nx", 2},                           /* GB3 */
        {"\x01\xcc\x81", 1},                    /* GB4: control then extend breaks */
        {"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8x", 9}, /* Hangul L V T */
        {"\xea\xb0\x80\xe1\x86\xa8x", 6},       /* LV syllable + T */
        {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9x", 11}, /* emoji ZWJ emoji */
        {"\xf0\x9f\x87\xaf\xf0\x9f\x87\xb5\xf0\x9f\x87\xba", 8}, /* RI pair, then a lone RI */
        {"\xe0\xa4\x95\xe0\xa5\x8d\xe0\xa4\xb7x", 9}, /* Devanagari conjunct (GB9c) */
        {"a\xe2\x80\x8d" "b", 4},               /* ZWJ extends, then breaks */
        {"\xd8\x80" "a", 3},                    /* Prepend */
        {"\xe0\xb8\x81\xe0\xb8\xb3x", 6},       /* Thai SpacingMark */
        {"ab", 1},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        size_t e = tok_grapheme_end(g[i].s, strlen(g[i].s), 0);
        CHECK(e == g[i].end, "grapheme %zu: end %zu, want %zu", i, e, g[i].end);
    }
}

static void test_clean(void) {
    char out[64];
    CHECK(io_prompt_clean("  hello \t world ", out, sizeof out) == 11 && !strcmp(out, "hello world"), "basic");
    CHECK(io_prompt_clean("hello world", out, 6) == 11 && !strcmp(out, "hello"), "cap 6: \"%s\"", out);
    CHECK(io_prompt_clean("hello world", out, 7) == 11 && !strcmp(out, "hello"), "cap 7 keeps no dangling space");
    CHECK(io_prompt_clean("hello world", NULL, 0) == 11, "length only");
    CHECK(io_prompt_clean("\xc3\xa9\xc3\xa9\xc3\xa9", out, 4) == 6 && !strcmp(out, "\xc3\xa9"), "no split UTF-8");
    CHECK(io_prompt_clean(NULL, out, sizeof out) == 0 && out[0] == 0, "NULL input");
    CHECK(io_prompt_clean("a\xff  b", out, sizeof out) == 4 && !strcmp(out, "a\xff b"), "invalid byte kept");
    /* outside the entity subset: kept as written (Python would give U+1D504) */
    CHECK(io_prompt_clean("&Afr; &amp;Afr;", out, sizeof out) == 11 && !strcmp(out, "&Afr; &Afr;"), "\"%s\"", out);
    CHECK(io_prompt_clean("&amp;amp;amp;", out, sizeof out) == 5 && !strcmp(out, "&amp;"), "two rounds only");
}

/* umT5-sized synthetic vocabulary: pieces "▁" + base-26 words of 1..4 letters
 * plus single letters; the Viterbi pieces must spell the text back exactly. */
static void test_scale(void) {
    const int n = 256384;
    size_t cap = (size_t)n * 32 + 4096, o = 0;
    char *j = malloc(cap);
    o += (size_t)snprintf(j + o, cap - o, "{\"model\":{\"type\":\"Unigram\",\"unk_id\":2,\"vocab\":[[\"<pad>\",0],"
                                           "[\"</s>\",0],[\"<unk>\",0]");
    for (int i = 3; i < n; i++) {
        char w[8];
        int k = 0, v = i;
        if (i < 29) {
            w[k++] = (char)('a' + i - 3);
        } else {
            w[k++] = (char)0xe2, w[k++] = (char)0x96, w[k++] = (char)0x81;
            for (v = i - 29; k < 7 && (k == 3 || v > 0); v /= 26) w[k++] = (char)('a' + v % 26);
        }
        w[k] = 0;
        o += (size_t)snprintf(j + o, cap - o, ",[\"%s\",%.6f]", w, -1.0 - (double)(i % 997) / 200.0);
    }
    snprintf(j + o, cap - o, "]},\"pre_tokenizer\":" TINY_PRE ",\"post_processor\":" TINY_POST "}");
    clock_t t0 = clock();
    io_tokenizer *t = NULL;
    dit_err err = {0};
    CHECK(io_tok_load_mem(j, strlen(j), "big.json", &t, &err) == DIT_OK, "%s", err.msg);
    free(j);
    if (!t) return;
    double load_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(io_tok_vocab_size(t) == n, "vocab %d", io_tok_vocab_size(t));
    int ok = 1;
    for (int32_t id = 0; id < n && ok; id += 997) ok = io_tok_piece_id(t, io_tok_piece(t, id)) == id;
    CHECK(ok, "piece <-> id round trip");
    char text[6000];
    size_t tl = 0;
    for (int w = 0; tl < 5000; w++) tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s%.*s", w ? " " : "",
                                                           1 + w % 9, "qwertyuiopasdfghjkl" + w % 7);
    int32_t *ids = malloc(16384 * sizeof *ids);
    int nids = 0;
    t0 = clock();
    CHECK(io_tok_encode(t, text, ids, 16384, &nids, &err) == DIT_OK, "%s", err.msg);
    double enc_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* spell the text back: pieces joined, "▁" -> " ", minus the prepended one */
    char *back = malloc(65536), *spelled = malloc(65536);
    size_t bl = 0;
    for (int i = 0; i + 1 < nids; i++) bl += (size_t)snprintf(back + bl, 65536 - bl, "%s", io_tok_piece(t, ids[i]));
    size_t sl = 0;
    for (size_t i = 0; i < bl;) {
        if (!strncmp(back + i, "\xe2\x96\x81", 3)) spelled[sl++] = ' ', i += 3;
        else spelled[sl++] = back[i++];
    }
    spelled[sl] = 0;
    CHECK(nids > 100 && ids[nids - 1] == 1 && sl == tl + 1 && !strcmp(spelled + 1, text),
          "256k vocab: %d ids do not spell the text back", nids);
    printf("256k-piece vocabulary: load %.2f s, %zu-byte text -> %d ids in %.3f s\n", load_s, tl, nids, enc_s);
    free(ids), free(back), free(spelled);
    io_tok_free(&t);
}

int main(void) {
    test_tiny();
    test_malformed();
    test_regex();
    test_graphemes();
    test_clean();
    test_scale();
    return test_summary("test_tokenizer_units");
}
