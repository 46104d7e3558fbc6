/* prompt_clean.c — Wan's prompt cleaning without ftfy (io_prompt_clean in tokenizer_unigram.h).
 *
 * Reference (wan/modules/tokenizers.py, diffusers' Wan pipeline):
 *   text = ftfy.fix_text(text); text = html.unescape(html.unescape(text)).strip()
 *   text = re.sub(r"\s+", " ", text).strip()
 * We do everything but ftfy (docs/tokenizer.md lists what it would change).
 * html.unescape is Python's: the pattern &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|
 * [^\t\n\f <&#;]{1,32};?), numeric references with the HTML5 fix-ups
 * (0x80..0x9F as Windows-1252, 0 / surrogates / > U+10FFFF -> U+FFFD, a list
 * of invalid code points removed), named ones looked up whole, else the longest
 * legacy name prefixing them.  Named entities come from the subset in
 * tok_tables.c.  Checked by tests/test_tokenizer.c against goldens that
 * tools/gen_tokenizer_goldens.py made with Python itself.
 */
#include "tokenizer_unigram.h"

#include <stdlib.h> /* free */
#include <string.h> /* strlen, memcpy, strncmp */

#include "tok_internal.h" /* tok_html_entities, tok_utf8_*, tok_is_py_space, tok_buf */

static const uint16_t cp1252[32] = {
    0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D,
    0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,
    0x017E, 0x0178};

/* Python html._invalid_codepoints (replaced by nothing). */
static int invalid_cp(uint32_t c) {
    return (c >= 0x1 && c <= 0x8) || c == 0xB || (c >= 0xE && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) ||
           (c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE;
}

/* Entity by name: `semi` = written with ';' (any entry), else legacy ones only. */
static const char *entity(const char *name, size_t n, int semi) {
    int lo = 0, hi = tok_html_nentities - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *e = tok_html_entities[mid].name;
        int c = strncmp(e, name, n);
        if (c == 0 && e[n] != 0) c = 1;
        if (c == 0) return semi || tok_html_entities[mid].legacy ? tok_html_entities[mid].value : NULL;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

static int put_cp(tok_buf *b, uint32_t cp) {
    char u[4];
    return tok_buf_put(b, u, (size_t)tok_utf8_encode(cp, u));
}

/* One reference starting at s[i] == '&'.  Returns bytes consumed (0 = not a reference). */
static size_t unescape_one(const char *s, size_t n, size_t i, tok_buf *o, int *oom) {
    size_t j = i + 1;
    if (j < n && s[j] == '#') {
        int hex = j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X');
        size_t k = j + 1 + (size_t)hex, d0 = k;
        uint32_t v = 0;
        for (; k < n; k++) {
            char c = s[k];
            int dv = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (dv < 0) break;
            v = v > 0x110000 ? 0x110001 : v * (hex ? 16u : 10u) + (uint32_t)dv;
        }
        if (k == d0) return 0; /* "&#" / "&#x" without digits: '#' cannot start a name either */
        if (k < n && s[k] == ';') k++;
        if (v < 0xA0 && (v == 0 || v == 0x0D || v >= 0x80)) {
            uint32_t r = v == 0 ? 0xFFFD : v == 0x0D ? 0x0D : cp1252[v - 0x80];
            *oom |= put_cp(o, r);
        } else if ((v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF) {
            *oom |= put_cp(o, 0xFFFD);
        } else if (!invalid_cp(v)) {
            *oom |= put_cp(o, v);
        }
        return k - i;
    }
    /* name: 1..32 characters other than \t \n \f space < & # ;  then an optional ';' */
    size_t k = j, nch = 0;
    while (k < n && nch < 32) {
        unsigned char c = (unsigned char)s[k];
        if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';') break;
        uint32_t cp;
        int cl = tok_utf8_decode(s, n, k, &cp);
        k += cl ? (size_t)cl : 1, nch++;
    }
    if (nch == 0) return 0;
    size_t name_end = k;
    int semi = k < n && s[k] == ';';
    if (semi) k++;
    const char *v = entity(s + j, name_end - j, semi);
    if (v) {
        *oom |= tok_buf_put(o, v, strlen(v));
        return k - i;
    }
    /* longest legacy name that prefixes it (at least 2 characters); names are ASCII */
    for (size_t x = name_end - j - (semi ? 0 : 1); x >= 2 && x <= name_end - j; x--) {
        v = entity(s + j, x, 0);
        if (v) {
            *oom |= tok_buf_put(o, v, strlen(v));
            *oom |= tok_buf_put(o, s + j + x, k - j - x);
            return k - i;
        }
    }
    *oom |= tok_buf_put(o, s + i, k - i); /* unknown: kept as written */
    return k - i;
}

static int unescape(const char *s, size_t n, tok_buf *o) {
    int oom = 0;
    o->len = 0;
    oom |= tok_buf_put(o, "", 0);
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && s[run] != '&') run++;
        oom |= tok_buf_put(o, s + i, run - i);
        i = run;
        if (i >= n) break;
        size_t used = unescape_one(s, n, i, o, &oom);
        if (used == 0) {
            oom |= tok_buf_put(o, "&", 1);
            used = 1;
        }
        i += used;
    }
    return oom ? -1 : 0;
}

size_t io_prompt_clean(const char *in, char *out, size_t cap) {
    tok_buf a = {0}, b = {0};
    size_t total = 0;
    if (cap > 0 && out) out[0] = 0;
    if (!in) return 0;
    if (unescape(in, strlen(in), &a) || unescape(a.s, a.len, &b)) {
        free(a.s), free(b.s);
        return 0;
    }
    /* whitespace runs -> one space, trimmed.  Each kept character is written
     * together with the space before it, and only while everything so far fit. */
    int pending = 0, fits = 1;
    size_t w = 0;
    for (size_t i = 0; i < b.len;) {
        uint32_t cp = 0;
        int cl = tok_utf8_decode(b.s, b.len, i, &cp);
        size_t step = cl ? (size_t)cl : 1;
        if (cl && tok_is_py_space(cp)) {
            pending = total > 0;
            i += step;
            continue;
        }
        size_t need = (size_t)pending + step;
        fits = fits && out && w + need < cap;
        if (fits) {
            if (pending) out[w++] = ' ';
            memcpy(out + w, b.s + i, step);
            w += step;
        }
        total += need;
        pending = 0;
        i += step;
    }
    if (out && cap > 0) out[w] = 0;
    free(a.s), free(b.s);
    return total;
}
