/* sp_charsmap.c — SentencePiece `precompiled_charsmap` (the nmt_nfkc normaliser).
 *
 * Layout (sentencepiece normalizer.cc, HF spm_precompiled): u32 little-endian
 * byte size T of a darts-clone double-array trie, T/4 u32 units, then a blob of
 * NUL-terminated UTF-8 replacement strings; a trie key (UTF-8 bytes of the
 * source text) maps to an offset into the blob.  In tokenizer.json it is stored
 * base64-encoded (standard alphabet, padded).
 *
 * Lookups follow spm_precompiled::Precompiled::transform, which HF calls on
 * every grapheme cluster: the value of the SHORTEST key that is a prefix of the
 * chunk (sentencepiece itself takes the longest; see docs/tokenizer.md).  Every
 * array access is bounds-checked, so a malformed trie gives "no match", never
 * a crash.  Checked by tests/test_tokenizer.c (malformed charsmaps and HF ids).
 */
#include "tok_internal.h"

#include <stdlib.h> /* malloc, free */
#include <string.h> /* memcpy, strlen */

static int b64_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict standard base64 with padding (as Rust's BASE64_STANDARD). */
static dit_status b64_decode(const char *in, const char *where, uint8_t **out, size_t *outlen, dit_err *err) {
    size_t n = strlen(in);
    if (n % 4 != 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: base64 length %zu is not a multiple of 4", where, n);
    size_t pad = 0;
    if (n >= 1 && in[n - 1] == '=') pad++;
    if (n >= 2 && in[n - 2] == '=') pad++;
    uint8_t *buf = malloc(n / 4 * 3 + 1);
    if (!buf) return DIT_FAIL(err, DIT_ERR_OOM, "%s: %zu bytes", where, n);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + (size_t)k];
            int last_block = i + 4 == n;
            if (c == '=' && last_block && (size_t)k >= 4 - pad) {
                v[k] = 0;
                continue;
            }
            v[k] = b64_val(c);
            if (v[k] < 0) {
                free(buf);
                return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: invalid base64 character 0x%02x at offset %zu", where, c,
                                i + (size_t)k);
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t keep = i + 4 == n ? 3 - pad : 3;
        uint8_t bytes[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        memcpy(buf + o, bytes, keep);
        o += keep;
    }
    *out = buf;
    *outlen = o;
    return DIT_OK;
}

dit_status tok_charsmap_parse(const uint8_t *data, size_t len, const char *where, tok_charsmap *cm, dit_err *err) {
    memset(cm, 0, sizeof *cm);
    if (len < 4) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: %zu bytes, too short for the trie size header", where, len);
    uint32_t tsize = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    if (tsize % 4 != 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: trie size %u is not a multiple of 4", where, tsize);
    if (tsize == 0) return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: empty trie", where);
    if ((size_t)tsize > len - 4)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: trie of %u bytes but only %zu bytes follow the header", where,
                        tsize, len - 4);
    size_t blob_len = len - 4 - tsize;
    const char *blob = (const char *)data + 4 + tsize;
    size_t bad = tok_utf8_check(blob, blob_len);
    if (bad != blob_len)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: normalized-string blob is not valid UTF-8 (byte %zu of %zu)", where,
                        bad, blob_len);
    cm->nunits = tsize / 4;
    cm->units = malloc(tsize);
    cm->blob = malloc(blob_len + 1);
    if (!cm->units || !cm->blob) {
        tok_charsmap_free(cm);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: %zu bytes", where, len);
    }
    for (size_t i = 0; i < cm->nunits; i++) {
        const uint8_t *u = data + 4 + 4 * i;
        cm->units[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
    }
    memcpy(cm->blob, blob, blob_len);
    cm->blob[blob_len] = 0;
    cm->blob_len = blob_len;
    return DIT_OK;
}

dit_status tok_charsmap_load_base64(const char *b64, const char *where, tok_charsmap *cm, dit_err *err) {
    uint8_t *raw = NULL;
    size_t n = 0;
    memset(cm, 0, sizeof *cm);
    DIT_TRY(b64_decode(b64, where, &raw, &n, err));
    dit_status st = tok_charsmap_parse(raw, n, where, cm, err);
    free(raw);
    return st;
}

static uint32_t du_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static uint32_t du_label(uint32_t u) { return u & ((1u << 31) | 0xFFu); }
static int du_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t du_value(uint32_t u) { return u & ((1u << 31) - 1); }

const char *tok_charsmap_lookup(const tok_charsmap *cm, const char *key, size_t n, size_t *outlen) {
    if (!cm->units || cm->nunits == 0) return NULL;
    size_t pos = du_offset(cm->units[0]);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == 0) return NULL;
        pos ^= c;
        if (pos >= cm->nunits) return NULL;
        uint32_t u = cm->units[pos];
        if (du_label(u) != c) return NULL;
        pos ^= du_offset(u);
        if (du_has_leaf(u)) {
            if (pos >= cm->nunits) return NULL;
            size_t at = du_value(cm->units[pos]);
            /* A value must point into the blob at a character boundary (== blob_len gives "", as HF). */
            if (at > cm->blob_len || (at < cm->blob_len && ((unsigned char)cm->blob[at] & 0xC0) == 0x80))
                return NULL;
            *outlen = strlen(cm->blob + at);
            return cm->blob + at;
        }
    }
    return NULL;
}

void tok_charsmap_free(tok_charsmap *cm) {
    free(cm->units);
    free(cm->blob);
    memset(cm, 0, sizeof *cm);
}
