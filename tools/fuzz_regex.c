/* fuzz_regex.c — libFuzzer target: the tokenizer.json regex subset (io/tok_regex.c).  The first
 * byte picks pattern or literal mode and where the input splits into pattern and subject; the
 * pattern is compiled and, when accepted, run over the subject and over a fixed text.  Compile and
 * match must fail cleanly (depth, size and step limits), never overflow the stack or read out of
 * bounds.
 *   build-fuzz/tools/fuzz_regex corpus/ */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */
#include <stdlib.h> /* malloc, abort */
#include <string.h> /* memcpy */

#include "../io/tok_internal.h" /* tok_regex_compile, tok_regex_find_all */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const tok_regex *re, const char *s, size_t len) {
    for (size_t i = 0; i < len;) { /* subjects are valid UTF-8 (io_tok_encode checks before any regex runs) */
        uint32_t cp;
        int n = tok_utf8_decode(s, len, i, &cp);
        if (n <= 0) return;
        i += (size_t)n;
    }
    tok_spans sp = {0};
    if (tok_regex_find_all(re, s, len, &sp) == 0) {
        size_t at = 0; /* the spans tile the subject in order */
        for (size_t i = 0; i < sp.n; i++) {
            if (sp.v[i].b != at || sp.v[i].e < sp.v[i].b || sp.v[i].e > len) abort();
            at = sp.v[i].e;
        }
        if (len && at != len) abort();
    }
    free(sp.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int literal = data[0] & 1;
    size_t plen = size - 1;
    if (data[0] >> 1) plen = ((size_t)(data[0] >> 1) * (size - 1)) / 127; /* split point */
    if (plen > size - 1) plen = size - 1;
    char *pat = malloc(plen + 1);
    if (!pat) return 0;
    memcpy(pat, data + 1, plen);
    pat[plen] = 0; /* an embedded NUL ends the pattern early, as in a C string from JSON */
    dit_err err = {0};
    tok_regex *re = NULL;
    if (tok_regex_compile(pat, literal, "fuzz", &re, &err) == DIT_OK) {
        run(re, (const char *)data + 1 + plen, size - 1 - plen);
        static const char text[] = "  a cat\n walks  on the\tgrass\xe2\x96\x81 \xe3\x80\x80" "end ";
        run(re, text, sizeof text - 1);
    }
    tok_regex_free(&re);
    free(pat);
    return 0;
}
