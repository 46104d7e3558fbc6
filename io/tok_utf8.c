/* tok_utf8.c — UTF-8 decoding/encoding, whitespace predicates and a byte buffer
 * for the tokenizer.
 *
 * Validity follows the Unicode definition (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF.  White_Space is the Unicode property
 * (what Rust's char::is_whitespace and Oniguruma's \s use); Python's
 * str.isspace adds U+001C..U+001F (bidi class B/S).  Both lists were dumped from
 * Python and `regex` (see tools/gen_tok_tables.py); tests/test_tokenizer.c
 * checks the whitespace handling through io_prompt_clean goldens and HF ids.
 */
#include "tok_internal.h"

#include <stdlib.h> /* realloc */
#include <string.h> /* memcpy */

int tok_utf8_decode(const char *str, size_t len, size_t i, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + (size_t)n > len) return 0;
    for (int k = 1; k < n; k++) {
        unsigned d = s[i + (size_t)k];
        if ((d & 0xC0) != 0x80) return 0;
        v = (v << 6) | (d & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

int tok_utf8_len(const char *str, size_t i) {
    unsigned c = (unsigned char)str[i];
    return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

int tok_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t tok_utf8_check(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = tok_utf8_decode(s, len, i, &cp);
        if (n == 0) return i;
        i += (size_t)n;
    }
    return len;
}

int tok_is_white_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

int tok_is_py_space(uint32_t c) { return tok_is_white_space(c) || (c >= 0x1C && c <= 0x1F); }

int tok_buf_put(tok_buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return -1;
        b->s = p, b->cap = cap;
    }
    if (n) memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
    return 0;
}
