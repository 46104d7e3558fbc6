/* tok_normstr.c — HF tokenizers' NormalizedString, reduced to what tokenization needs.
 *
 * A tok_ns is normalized UTF-8 text plus, for every byte, the start offset of
 * the original text it came from (HF keeps (start, end) pairs; only the start
 * is ever observable in ids: Metaspace's prepend_scheme "first" asks whether a
 * split starts at original offset 0).  The operations replay HF's own
 * bookkeeping rules (normalizer.rs: transform_range, replace, slice, lrstrip,
 * prepend, split) including their quirks, e.g. inserted characters take the
 * alignment of the byte before them and lrstrip compares a char index with a
 * byte length.  Checked by tests/test_tokenizer.c through tokenizer variants
 * whose ids depend on these offsets (Strip / WhitespaceSplit before a "first"
 * Metaspace), against HF.
 */
#include "tok_internal.h"

#include <stdlib.h> /* malloc, realloc, free */
#include <string.h> /* memcpy */

int tok_changes_push(tok_changes *c, uint32_t cp, int64_t change) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        tok_change *v = realloc(c->v, cap * sizeof *v);
        if (!v) return -1;
        c->v = v, c->cap = cap;
    }
    c->v[c->n].cp = cp;
    c->v[c->n].change = change;
    c->n++;
    return 0;
}

int tok_spans_push(tok_spans *sp, size_t b, size_t e, int match) {
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 16;
        tok_span *v = realloc(sp->v, cap * sizeof *v);
        if (!v) return -1;
        sp->v = v, sp->cap = cap;
    }
    sp->v[sp->n].b = b;
    sp->v[sp->n].e = e;
    sp->v[sp->n].match = match;
    sp->n++;
    return 0;
}

int tok_find_chars(const char *s, size_t len, int (*pred)(uint32_t cp, uint32_t arg), uint32_t arg, tok_spans *out) {
    out->n = 0;
    if (len == 0) return tok_spans_push(out, 0, 0, 0);
    size_t last = 0, i = 0;
    while (i < len) {
        uint32_t cp = 0;
        int n = tok_utf8_decode(s, len, i, &cp);
        if (n == 0) n = 1;
        if (pred(cp, arg)) {
            if (last < i && tok_spans_push(out, last, i, 0)) return -1;
            if (tok_spans_push(out, i, i + (size_t)n, 1)) return -1;
            last = i + (size_t)n;
        }
        i += (size_t)n;
    }
    if (last < len && tok_spans_push(out, last, len, 0)) return -1;
    return 0;
}

static int ns_alloc(tok_ns *ns, size_t n) {
    ns->s = malloc(n + 1);
    ns->al = malloc((n ? n : 1) * sizeof *ns->al);
    if (!ns->s || !ns->al) {
        free(ns->s), free(ns->al);
        ns->s = NULL, ns->al = NULL;
        return -1;
    }
    ns->len = n;
    ns->s[n] = 0;
    return 0;
}

int tok_ns_init(tok_ns *ns, const char *s, size_t n, int64_t shift) {
    if (ns_alloc(ns, n)) return -1;
    memcpy(ns->s, s, n);
    for (size_t i = 0; i < n; i++) ns->al[i] = (int64_t)i;
    ns->shift = shift;
    return 0;
}

void tok_ns_free(tok_ns *ns) {
    free(ns->s);
    free(ns->al);
    ns->s = NULL, ns->al = NULL, ns->len = 0;
}

/* Alignment read by transform_range for a char at byte offset idx (HF indexes
 * alignments[idx] / [idx-1]; out-of-range reads, which would panic in Rust,
 * clamp to the nearest byte). */
static int64_t al_at(const tok_ns *ns, int64_t idx) {
    if (ns->len == 0) return 0;
    if (idx < 0) idx = 0;
    if ((size_t)idx >= ns->len) idx = (int64_t)ns->len - 1;
    return ns->al[idx];
}

/* Replace ns with new text/alignments built in (s, al, n). */
static void ns_take(tok_ns *ns, char *s, int64_t *al, size_t n) {
    free(ns->s), free(ns->al);
    ns->s = s, ns->al = al, ns->len = n;
    ns->s[n] = 0;
}

int tok_ns_transform(tok_ns *ns, const tok_changes *dest, size_t initial_offset) {
    size_t cap = 4 * dest->n + 1;
    char *s = malloc(cap);
    int64_t *al = malloc(cap * sizeof *al);
    if (!s || !al) {
        free(s), free(al);
        return -1;
    }
    size_t rp = 0; /* read position in the old text */
    for (size_t k = 0; k < initial_offset && rp < ns->len; k++) rp += (size_t)tok_utf8_len(ns->s, rp);
    int64_t offset = (int64_t)rp;
    size_t o = 0;
    for (size_t k = 0; k < dest->n; k++) {
        int64_t change = dest->v[k].change;
        int64_t align = change > 0 ? (offset < 1 ? 0 : al_at(ns, offset - 1)) : al_at(ns, offset);
        if (change <= 0 && rp < ns->len) {
            size_t sz = (size_t)tok_utf8_len(ns->s, rp);
            rp += sz, offset += (int64_t)sz;
        }
        for (int64_t r = 0; change < 0 && r < -change && rp < ns->len; r++) {
            size_t sz = (size_t)tok_utf8_len(ns->s, rp);
            rp += sz, offset += (int64_t)sz;
        }
        int n = tok_utf8_encode(dest->v[k].cp, s + o);
        for (int b = 0; b < n; b++) al[o + (size_t)b] = align;
        o += (size_t)n;
    }
    ns_take(ns, s, al, o);
    return 0;
}

int tok_ns_slice(const tok_ns *ns, size_t b0, size_t b1, tok_ns *out) {
    if (ns_alloc(out, b1 - b0)) return -1;
    int64_t base = b1 > b0 ? ns->al[b0] : 0;
    memcpy(out->s, ns->s + b0, b1 - b0);
    for (size_t i = b0; i < b1; i++) out->al[i - b0] = ns->al[i] - base;
    out->shift = ns->shift + base;
    return 0;
}

int tok_ns_strip(tok_ns *ns, int left, int right) {
    size_t nchars = 0, leading = 0, trailing = 0;
    int in_lead = left;
    for (size_t i = 0; i < ns->len; i += (size_t)tok_utf8_len(ns->s, i)) {
        uint32_t cp = 0;
        tok_utf8_decode(ns->s, ns->len, i, &cp);
        int ws = tok_is_white_space(cp);
        if (in_lead && ws) leading++;
        else in_lead = 0;
        trailing = ws ? trailing + 1 : 0;
        nchars++;
    }
    if (!right) trailing = 0;
    if (leading == 0 && trailing == 0) return 0;
    tok_changes dest = {0};
    size_t idx = 0;
    int rc = 0;
    for (size_t i = 0; i < ns->len; i += (size_t)tok_utf8_len(ns->s, i), idx++) {
        if (idx < leading || idx >= nchars - trailing) continue;
        uint32_t cp = 0;
        tok_utf8_decode(ns->s, ns->len, i, &cp);
        /* HF: `i == self.len() - trailing_spaces - 1` (char index vs byte length). */
        int64_t ch = (int64_t)idx == (int64_t)ns->len - (int64_t)trailing - 1 ? -(int64_t)trailing : 0;
        if ((rc = tok_changes_push(&dest, cp, ch)) != 0) break;
    }
    if (rc == 0) rc = tok_ns_transform(ns, &dest, leading);
    free(dest.v);
    return rc;
}

int tok_ns_prepend(tok_ns *ns, const char *p, size_t pn) {
    if (ns->len == 0) return 0;
    size_t nl = (size_t)tok_utf8_len(ns->s, 0);
    if (nl > ns->len) nl = ns->len; /* never past a (malformed) truncated first character */
    size_t n = pn + ns->len;
    char *s = malloc(n + 1);
    int64_t *al = malloc(n * sizeof *al);
    if (!s || !al) {
        free(s), free(al);
        return -1;
    }
    memcpy(s, p, pn);
    memcpy(s + pn, ns->s, ns->len);
    /* transform_range(0..nl, [(p0, 0), (p1.., 1), (first, 1)]): p0 takes the
     * first char's alignment, everything inserted after it that of the byte
     * before the read offset (nl; 0 -> offset 0 when p is empty). */
    size_t p0 = pn ? (size_t)tok_utf8_len(p, 0) : 0;
    int64_t a0 = ns->al[0], a1 = pn ? ns->al[nl - 1] : 0;
    for (size_t i = 0; i < p0; i++) al[i] = a0;
    for (size_t i = p0; i < pn + nl; i++) al[i] = a1;
    for (size_t i = nl; i < ns->len; i++) al[pn + i] = ns->al[i];
    ns_take(ns, s, al, n);
    return 0;
}

int tok_ns_replace(tok_ns *ns, const tok_spans *m, const char *content) {
    size_t cn = strlen(content), nmatch = 0;
    for (size_t k = 0; k < m->n; k++) nmatch += m->v[k].match ? 1 : 0;
    if (nmatch == 0) return 0;
    size_t cap = ns->len + nmatch * cn + 1;
    char *s = malloc(cap);
    int64_t *al = malloc(cap * sizeof *al);
    if (!s || !al) {
        free(s), free(al);
        return -1;
    }
    size_t o = 0;
    for (size_t k = 0; k < m->n; k++) {
        const tok_span *sp = &m->v[k];
        if (!sp->match) {
            memcpy(s + o, ns->s + sp->b, sp->e - sp->b);
            memcpy(al + o, ns->al + sp->b, (sp->e - sp->b) * sizeof *al);
            o += sp->e - sp->b;
            continue;
        }
        /* Every content char is "inserted" after the whole match was consumed. */
        int64_t align = sp->e < 1 ? 0 : al_at(ns, (int64_t)sp->e - 1);
        memcpy(s + o, content, cn);
        for (size_t b = 0; b < cn; b++) al[o + b] = align;
        o += cn;
    }
    ns_take(ns, s, al, o);
    return 0;
}

int tok_ns_split(const tok_ns *ns, const tok_spans *m, tok_split_behavior b, tok_ns **out, size_t *nout,
                 size_t *cap) {
    /* Resolve the behaviour into kept (start, end) ranges, as HF's fold does. */
    tok_spans keep = {0};
    int rc = 0;
    if (b == TOK_SPLIT_MERGED_WITH_NEXT) {
        int prev = 0;
        for (size_t k = m->n; k-- > 0 && rc == 0;) {
            const tok_span *sp = &m->v[k];
            if (sp->match && !prev && keep.n) keep.v[keep.n - 1].b = sp->b;
            else rc = tok_spans_push(&keep, sp->b, sp->e, 1);
            prev = sp->match;
        }
        for (size_t i = 0; i < keep.n / 2; i++) {
            tok_span t = keep.v[i];
            keep.v[i] = keep.v[keep.n - 1 - i];
            keep.v[keep.n - 1 - i] = t;
        }
    } else {
        int prev = 0;
        for (size_t k = 0; k < m->n && rc == 0; k++) {
            const tok_span *sp = &m->v[k];
            int merge = (b == TOK_SPLIT_CONTIGUOUS && sp->match == prev) ||
                        (b == TOK_SPLIT_MERGED_WITH_PREVIOUS && sp->match && !prev);
            if (merge && keep.n) keep.v[keep.n - 1].e = sp->e;
            else rc = tok_spans_push(&keep, sp->b, sp->e, !(b == TOK_SPLIT_REMOVED && sp->match));
            prev = sp->match;
        }
    }
    for (size_t k = 0; k < keep.n && rc == 0; k++) {
        if (!keep.v[k].match || keep.v[k].e <= keep.v[k].b) continue;
        if (*nout == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            tok_ns *v = realloc(*out, nc * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            *out = v, *cap = nc;
        }
        if (tok_ns_slice(ns, keep.v[k].b, keep.v[k].e, &(*out)[*nout])) rc = -1;
        else (*nout)++;
    }
    free(keep.v);
    return rc;
}
