/* test_fuzz_regressions.c — inputs the libFuzzer targets (tools/fuzz_*.c) once
 * tripped on, replayed through the parsers so the fixes stay fixed (this suite
 * also runs under ASan+UBSan with -fno-sanitize-recover, where a regression
 * aborts).  Each case must be rejected with a clear message, not crash. */
#include <stdint.h> /* uint8_t */

#include "../io/json_file.h"         /* io_json_int_in */
#include "../io/pth.h"
#include "../io/safetensors.h"
#include "../io/tok_internal.h"      /* tok_regex_* */
#include "../io/tokenizer_unigram.h" /* io_tok_load_mem */
#include "../models/wan/wan_config.h" /* wan_config_from_json */
#include "test_util.h"

/* Compile `pat` (literal when lit) and return the status; on success match it against `subj` and
 * report in *matched whether some span matched. */
static dit_status regex_try(const char *pat, int lit, const char *subj, int *matched, dit_err *err) {
    tok_regex *re = NULL;
    *matched = 0;
    dit_status s = tok_regex_compile(pat, lit, "tokenizer.json: pre_tokenizer.pattern", &re, err);
    if (s == DIT_OK) {
        tok_spans sp = {0};
        if (tok_regex_find_all(re, subj, strlen(subj), &sp) == 0)
            for (size_t i = 0; i < sp.n; i++) *matched |= sp.v[i].match;
        free(sp.v);
    }
    tok_regex_free(&re);
    return s;
}

static char *repeat(const char *unit, int n, const char *mid, const char *tail_unit) {
    size_t u = strlen(unit), m = strlen(mid), t = strlen(tail_unit);
    char *b = malloc((size_t)n * (u + t) + m + 1), *p = b;
    for (int i = 0; i < n; i++) memcpy(p, unit, u), p += u;
    memcpy(p, mid, m), p += m;
    for (int i = 0; i < n; i++) memcpy(p, tail_unit, t), p += t;
    *p = 0;
    return b;
}

static void regex_cases(void) {
    dit_err err = {0};
    int matched;
    /* issue 14: a 2040-character literal overflowed the stack (recursive compile, 4 KB per frame) */
    char *lit = repeat("x", 2040, "", "");
    char *subj = repeat("y", 10, lit, "y");
    CHECK(regex_try(lit, 1, subj, &matched, &err) == DIT_OK && matched, "2040-char literal: %s", err.msg);
    CHECK(regex_try(lit, 0, subj, &matched, &err) == DIT_OK && matched, "2040-char regex: %s", err.msg);
    free(subj);
    free(lit);
    /* nested groups x 200000 overflowed the parser's recursion */
    char *deep = repeat("(", 200000, "a", ")");
    dit_err_clear(&err);
    CHECK(regex_try(deep, 0, "a", &matched, &err) == DIT_ERR_UNSUPPORTED && strstr(err.msg, "nested deeper than 100") &&
              strstr(err.msg, "tokenizer.json"),
          "200000 nested groups: %s", err.msg);
    free(deep);
    char *ok = repeat("(?:", 100, "a", ")"); /* the limit itself still compiles */
    dit_err_clear(&err);
    CHECK(regex_try(ok, 0, "a", &matched, &err) == DIT_OK && matched, "100 nested groups: %s", err.msg);
    free(ok);
    /* 600 stacked quantifiers ("a?" then 1199 more: "??" pairs are lazy, so 600 nested repeats): a tree
     * deeper than the compile recursion allows */
    char *stack = malloc(1300);
    strcpy(stack, "a");
    for (int i = 0; i < 1200; i++) strcat(stack, "?");
    dit_err_clear(&err);
    CHECK(regex_try(stack, 0, "a", &matched, &err) == DIT_ERR_UNSUPPORTED && strstr(err.msg, "nested too deeply"),
          "600 quantifiers: %s", err.msg);
    free(stack);
    /* 1500 alternatives (one CJK character each): a long | chain compiles in a loop */
    char *alts = malloc(1500 * 4 + 8), *p = alts;
    for (int i = 0; i < 1500; i++) {
        if (i) *p++ = '|';
        p += tok_utf8_encode(0x4E00u + (uint32_t)i, p);
    }
    *p = 0;
    char last[8] = "z";
    last[1 + tok_utf8_encode(0x4E00u + 1499u, last + 1)] = 0;
    dit_err_clear(&err);
    CHECK(regex_try(alts, 0, last, &matched, &err) == DIT_OK && matched, "1500 alternatives: %s", err.msg);
    free(alts);
}

static void token_id_cases(void) {
    /* issue 14: an added token with id 2147483647 made `a->id + 1` overflow */
    static const char *tok[][2] = {
        {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"a\",-1.0]]},"
         "\"added_tokens\":[{\"id\":2147483647,\"content\":\"<x>\"}]}",
         "added_tokens[0]"},
        {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"a\",-1.0]]},"
         "\"added_tokens\":[{\"id\":1e300,\"content\":\"<x>\"}]}",
         "added_tokens[0]"},
        {"{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"a\",-1.0]]},"
         "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"A\"}},"
         "{\"SpecialToken\":{\"id\":\"</s>\"}}],\"special_tokens\":{\"</s>\":{\"ids\":[1e20]}}}}",
         "bad id"},
    };
    for (size_t i = 0; i < sizeof tok / sizeof tok[0]; i++) {
        dit_err err = {0};
        io_tokenizer *t = NULL;
        dit_status s = io_tok_load_mem(tok[i][0], strlen(tok[i][0]), "tok.json", &t, &err);
        CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, tok[i][1]) && strstr(err.msg, "tok.json"), "token id case %zu: %s", i,
              err.msg);
        io_tok_free(&t);
    }
    /* fuzz_tokenizer: an added token whose content was a broken UTF-8 sequence matched inside a prompt's
     * character ("\xa5\xe6\x9c\xac" in the middle of "日本") and split it; Metaspace's prepend then read past
     * the piece (heap overflow in tok_ns_prepend).  tokenizer.json must be valid UTF-8. */
    {
        const char *broken = "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"a\",-1.0]]},"
                             "\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"prepend_scheme\":"
                             "\"always\",\"split\":true},\"added_tokens\":[{\"id\":5,\"content\":\"\xa5\xe6\x9c\xac\"}]}";
        dit_err e2 = {0};
        io_tokenizer *t2 = NULL;
        CHECK(io_tok_load_mem(broken, strlen(broken), "tok.json", &t2, &e2) == DIT_ERR_FORMAT &&
                  strstr(e2.msg, "not valid UTF-8") && strstr(e2.msg, "tok.json"),
              "broken UTF-8 token: %s", e2.msg);
        io_tok_free(&t2);
    }
    /* the id right below the limit still loads */
    const char *fine = "{\"model\":{\"type\":\"Unigram\",\"unk_id\":0,\"vocab\":[[\"<unk>\",0.0],[\"a\",-1.0]]},"
                       "\"added_tokens\":[{\"id\":2147483646,\"content\":\"<x>\"}]}";
    dit_err err = {0};
    io_tokenizer *t = NULL;
    CHECK(io_tok_load_mem(fine, strlen(fine), "tok.json", &t, &err) == DIT_OK && io_tok_vocab_size(t) == 2147483647,
          "id 2147483646: %s", err.msg);
    io_tok_free(&t);
}

static void json_int_cases(void) {
    static const struct { const char *json; int64_t lo, hi; int ok; int64_t want; } c[] = {
        {"4294967298", 1, 2147483647, 0, 0}, {"2147483647", 1, 2147483647, 1, 2147483647}, {"1.5", 0, 10, 0, 0},
        {"1e300", INT64_MIN, INT64_MAX, 0, 0}, {"9223372036854775807", INT64_MIN, INT64_MAX, 0, 0}, /* 2^63 as double */
        {"-9223372036854775808", INT64_MIN, INT64_MAX, 1, INT64_MIN}, {"\"3\"", 0, 10, 0, 0}, {"-0", 0, 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        cJSON *j = cJSON_Parse(c[i].json);
        int64_t v = -7;
        int ok = io_json_int_in(j, c[i].lo, c[i].hi, &v);
        CHECK(ok == c[i].ok && (!ok || v == c[i].want), "io_json_int_in(%s) = %d, %lld", c[i].json, ok, (long long)v);
        cJSON_Delete(j);
    }
    /* DiT configs: silent truncation and int overflow (issue 14) */
    static const char *cfg[][2] = {
        {"{\"_class_name\":\"WanModel\",\"dim\":64,\"num_heads\":2,\"num_layers\":4294967298,\"ffn_dim\":96}",
         "'num_layers' is 4294967298"},
        {"{\"num_attention_heads\":65536,\"attention_head_dim\":65536,\"num_layers\":2,\"ffn_dim\":96}",
         "'num_attention_heads'"},
        {"{\"num_attention_heads\":1024,\"attention_head_dim\":512,\"num_layers\":2,\"ffn_dim\":96}",
         "exceeds the largest width"},
        {"{\"_class_name\":\"WanModel\",\"dim\":2147483647,\"num_heads\":1,\"num_layers\":2147483647,"
         "\"ffn_dim\":2147483647}",
         "'dim'"},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        cJSON *j = cJSON_Parse(cfg[i][0]);
        wan_config wc;
        dit_err err = {0};
        dit_status s = wan_config_from_json(j, "config.json", &wc, &err);
        CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, cfg[i][1]) && strstr(err.msg, "config.json"), "config %zu: %s", i,
              err.msg);
        cJSON_Delete(j);
    }
}

/* A safetensors image: 8-byte little-endian header length, the header, then `data` bytes of zeros. */
static uint8_t *st_image(const char *header, size_t data, size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data;
    uint8_t *b = calloc(1, *len);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    return b;
}

int main(void) {
    /* fuzz_safetensors: data_offsets beyond 2^64 were converted to uint64_t before the
     * range check (UBSan: "2.95556e+61 is outside the range of representable values") */
    static const char *st_cases[][2] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,2.95556e61]}}", "invalid data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[1e300,1e301]}}", "invalid data_offsets"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,4]}}", "shape[0] is not a non-negative"},
    };
    for (size_t i = 0; i < sizeof st_cases / sizeof st_cases[0]; i++) {
        size_t len;
        uint8_t *b = st_image(st_cases[i][0], 4, &len);
        dit_err err = {0};
        io_safetensors *st = NULL;
        dit_status s = io_safetensors_parse(b, len, "regress.safetensors", &st, &err);
        CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, st_cases[i][1]) && strstr(err.msg, "tensor 'a'"),
              "safetensors case %zu: %s", i, err.msg);
        io_safetensors_close(&st);
        free(b);
    }
    /* issue 14: an empty tensor between two overlapping ones hid the overlap; gaps and trailing bytes
     * are refused as by the Rust parser */
    static const char *tile[][3] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],"
         "\"data_offsets\":[4,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         "12", "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],"
         "\"data_offsets\":[8,12]}}",
         "12", "leaves a gap of 4"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "8", "trailing"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],"
         "\"data_offsets\":[4,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         "8", NULL}, /* an empty tensor at a boundary is fine */
    };
    for (size_t i = 0; i < sizeof tile / sizeof tile[0]; i++) {
        size_t len;
        uint8_t *b = st_image(tile[i][0], (size_t)atoi(tile[i][1]), &len);
        dit_err err = {0};
        io_safetensors *st = NULL;
        dit_status s = io_safetensors_parse(b, len, "tile.safetensors", &st, &err);
        if (tile[i][2])
            CHECK(s == DIT_ERR_FORMAT && strstr(err.msg, tile[i][2]) && strstr(err.msg, "tile.safetensors"),
                  "tiling case %zu: %s", i, err.msg);
        else
            CHECK(s == DIT_OK && st->n == 3, "tiling case %zu: %s", i, err.msg);
        io_safetensors_close(&st);
        free(b);
    }
    regex_cases();
    token_id_cases();
    json_int_cases();
    /* fuzz_pth: no findings so far (2 x 600 s); an empty and a one-byte image stay rejected */
    dit_err err = {0};
    io_pth *p = NULL;
    CHECK(io_pth_parse((const uint8_t *)"", 0, "empty.pth", &p, &err) == DIT_ERR_FORMAT && strstr(err.msg, "empty.pth"),
          "empty: %s", err.msg);
    CHECK(io_pth_parse((const uint8_t *)"\x80", 1, "one.pth", &p, &err) == DIT_ERR_UNSUPPORTED &&
              strstr(err.msg, "legacy"),
          "one byte: %s", err.msg);
    return test_summary("test_fuzz_regressions");
}
