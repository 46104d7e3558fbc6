/* tok_grapheme.c — extended grapheme cluster boundaries (Unicode UAX #29).
 *
 * HF tokenizers' Precompiled normaliser looks clusters up whole (Rust crate
 * unicode-segmentation, extended clusters), so the C tokenizer must cut the
 * text at exactly the same places.  Rules GB3..GB13 including GB9c (Indic
 * conjuncts) and GB11 (emoji ZWJ sequences); properties come from the generated
 * table tok_tables.c, Hangul syllables (LV/LVT) are computed.
 * Checked through tests/test_tokenizer.c (decomposed accents, Hangul jamo,
 * Indic conjuncts, emoji ZWJ/flag/keycap sequences, CR LF) against HF ids.
 */
#include "tok_internal.h"

static uint8_t gcb_props(uint32_t cp) {
    if (cp >= 0xAC00 && cp <= 0xD7A3) return (uint8_t)((cp - 0xAC00) % 28 == 0 ? TOK_GCB_LV : TOK_GCB_LVT);
    int lo = 0, hi = tok_gcb_nranges - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < tok_gcb_ranges[mid].lo) {
            hi = mid - 1;
        } else if (cp > tok_gcb_ranges[mid].hi) {
            lo = mid + 1;
        } else {
            return tok_gcb_ranges[mid].props;
        }
    }
    return 0;
}

typedef struct seg_state {
    int prev;     /* GCB of the previous character */
    int ri_run;   /* regional indicators ending at the previous character */
    int emoji;    /* previous chars match ExtPict Extend* */
    int emoji_zwj;/* previous chars match ExtPict Extend* ZWJ */
    int incb;     /* 0, 1 = Consonant [Extend|Linker]* (no Linker yet), 2 = with a Linker */
} seg_state;

static void seg_push(seg_state *st, uint8_t p) {
    int g = p & 15, ext = (p >> 4) & 1, incb = p >> 5;
    st->ri_run = g == TOK_GCB_RI ? st->ri_run + 1 : 0;
    if (ext) {
        st->emoji = 1, st->emoji_zwj = 0;
    } else if (g == TOK_GCB_EXTEND && st->emoji) {
        st->emoji_zwj = 0;
    } else if (g == TOK_GCB_ZWJ && st->emoji) {
        st->emoji = 0, st->emoji_zwj = 1;
    } else {
        st->emoji = 0, st->emoji_zwj = 0;
    }
    if (incb == TOK_INCB_CONSONANT) {
        st->incb = 1;
    } else if (incb == TOK_INCB_LINKER && st->incb) {
        st->incb = 2;
    } else if (incb != TOK_INCB_EXTEND) {
        st->incb = 0;
    }
    st->prev = g;
}

/* 1 when there is a boundary between the state's last char and a char with props p. */
static int seg_break(const seg_state *st, uint8_t p) {
    int prev = st->prev, g = p & 15, ext = (p >> 4) & 1, incb = p >> 5;
    if (prev == TOK_GCB_CR && g == TOK_GCB_LF) return 0;                                       /* GB3 */
    if (prev == TOK_GCB_CONTROL || prev == TOK_GCB_CR || prev == TOK_GCB_LF) return 1;        /* GB4 */
    if (g == TOK_GCB_CONTROL || g == TOK_GCB_CR || g == TOK_GCB_LF) return 1;                 /* GB5 */
    if (prev == TOK_GCB_L && (g == TOK_GCB_L || g == TOK_GCB_V || g == TOK_GCB_LV || g == TOK_GCB_LVT))
        return 0;                                                                             /* GB6 */
    if ((prev == TOK_GCB_LV || prev == TOK_GCB_V) && (g == TOK_GCB_V || g == TOK_GCB_T)) return 0; /* GB7 */
    if ((prev == TOK_GCB_LVT || prev == TOK_GCB_T) && g == TOK_GCB_T) return 0;               /* GB8 */
    if (g == TOK_GCB_EXTEND || g == TOK_GCB_ZWJ) return 0;                                    /* GB9 */
    if (g == TOK_GCB_SPACINGMARK) return 0;                                                   /* GB9a */
    if (prev == TOK_GCB_PREPEND) return 0;                                                    /* GB9b */
    if (incb == TOK_INCB_CONSONANT && st->incb == 2) return 0;                                /* GB9c */
    if (ext && st->emoji_zwj) return 0;                                                       /* GB11 */
    if (prev == TOK_GCB_RI && g == TOK_GCB_RI && (st->ri_run & 1)) return 0;                  /* GB12/13 */
    return 1;                                                                                 /* GB999 */
}

size_t tok_grapheme_end(const char *s, size_t len, size_t i) {
    seg_state st = {0, 0, 0, 0, 0};
    uint32_t cp = 0;
    int n = tok_utf8_decode(s, len, i, &cp);
    if (n == 0) return i + 1;
    seg_push(&st, gcb_props(cp));
    size_t j = i + (size_t)n;
    while (j < len) {
        n = tok_utf8_decode(s, len, j, &cp);
        if (n == 0) return j;
        uint8_t p = gcb_props(cp);
        if (seg_break(&st, p)) return j;
        seg_push(&st, p);
        j += (size_t)n;
    }
    return len;
}
