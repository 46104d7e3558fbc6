/* zip.c — validating zip central-directory reader (see zip.h).
 * Checked by tests/test_pth.c (real torch.save archives, which always carry zip64
 * end records; truncated and corrupted copies) and fuzzed by tools/fuzz_pth.c. */
#include "zip.h"

#include <stdlib.h> /* calloc, free, qsort */
#include <string.h> /* memcmp, memcpy, strcmp */

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define EOCD_LEN 22u
#define CENTRAL_LEN 46u
#define LOCAL_LEN 30u
#define LOC64_LEN 20u
#define EOCD64_LEN 56u

static uint64_t rd(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const io_zip_entry *)a)->name, ((const io_zip_entry *)b)->name);
}

void io_zip_free(io_zip *z) {
    if (!z) return;
    for (int64_t i = 0; i < z->n; i++) free(z->entries[i].name);
    free(z->entries);
    z->entries = NULL;
    z->n = 0;
}

/* Find the end-of-central-directory record: scan back over a possible comment. */
static dit_status find_eocd(const uint8_t *buf, size_t len, const char *label, size_t *pos, dit_err *err) {
    if (len < EOCD_LEN) {
        if (len >= 1 && buf[0] == 0x80)
            return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                            "%s: %zu bytes, starts like a raw pickle: the legacy (non-zip) torch.save format is not "
                            "supported; re-save with torch >= 1.6 defaults",
                            label, len);
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: %zu bytes, too short for a zip archive (truncated?)", label, len);
    }
    size_t lo = len - EOCD_LEN > 65535u ? len - EOCD_LEN - 65535u : 0;
    for (size_t p = len - EOCD_LEN + 1; p-- > lo;) {
        if (rd(buf + p, 4) != SIG_EOCD) continue;
        if (p + EOCD_LEN + rd(buf + p + 20, 2) > len) continue; /* comment runs past the end: not it */
        *pos = p;
        return DIT_OK;
    }
    if (buf[0] == 0x80)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: not a zip archive but a raw pickle: the legacy (non-zip) torch.save format is not "
                        "supported; re-save with torch >= 1.6 defaults",
                        label);
    return DIT_FAIL(err, DIT_ERR_FORMAT,
                    "%s: no zip end-of-central-directory record in the last %zu bytes (truncated or not a zip/.pth "
                    "file)",
                    label, len - lo);
}

/* Apply the zip64 extra field (id 1) of a central entry to the fields that overflowed. */
static dit_status apply_zip64_extra(const uint8_t *x, size_t xlen, io_zip_entry *e, uint64_t *off, int need_u,
                                    int need_c, int need_o, const char *label, dit_err *err) {
    size_t p = 0;
    while (p + 4 <= xlen) {
        uint64_t id = rd(x + p, 2), sz = rd(x + p + 2, 2);
        if (sz > xlen - p - 4) break;
        if (id == 1) {
            const uint8_t *v = x + p + 4;
            size_t q = 0;
            if (need_u) {
                if (q + 8 > sz) goto short_field;
                e->usize = rd(v + q, 8), q += 8;
            }
            if (need_c) {
                if (q + 8 > sz) goto short_field;
                e->csize = rd(v + q, 8), q += 8;
            }
            if (need_o) {
                if (q + 8 > sz) goto short_field;
                *off = rd(v + q, 8), q += 8;
            }
            return DIT_OK;
        }
        p += 4 + (size_t)sz;
    }
    if (!need_u && !need_c && !need_o) return DIT_OK;
    return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip entry '%s' has 0xFFFFFFFF sizes/offset but no zip64 extra field",
                    label, e->name);
short_field:
    return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip entry '%s' has a zip64 extra field too short for its sizes/offset",
                    label, e->name);
}

/* Check an entry's local header and work out where its data starts. */
static dit_status check_local(const uint8_t *buf, size_t len, const char *label, io_zip_entry *e, uint64_t off,
                              size_t nlen, dit_err *err) {
    if (off > len || len - off < LOCAL_LEN || rd(buf + off, 4) != SIG_LOCAL)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip entry '%s': no local header at offset %llu (file is %zu bytes)",
                        label, e->name, (unsigned long long)off, len);
    size_t lnlen = (size_t)rd(buf + off + 26, 2), lxlen = (size_t)rd(buf + off + 28, 2);
    if (lnlen != nlen || len - off - LOCAL_LEN < lnlen || memcmp(buf + off + LOCAL_LEN, e->name, nlen) != 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip entry '%s': local header at offset %llu names another entry",
                        label, e->name, (unsigned long long)off);
    uint64_t data = off + LOCAL_LEN + lnlen + lxlen;
    if (data > len || e->csize > len - data)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: zip entry '%s': %llu bytes of data at offset %llu run past the end of the file (%zu "
                        "bytes; truncated?)",
                        label, e->name, (unsigned long long)e->csize, (unsigned long long)data, len);
    e->data_off = data;
    return DIT_OK;
}

dit_status io_zip_parse(const uint8_t *buf, size_t len, const char *label, io_zip *z, dit_err *err) {
    memset(z, 0, sizeof *z);
    size_t eocd = 0;
    DIT_TRY(find_eocd(buf, len, label, &eocd, err));
    const uint8_t *q = buf + eocd;
    uint64_t disk = rd(q + 4, 2), cd_disk = rd(q + 6, 2), n_disk = rd(q + 8, 2), n = rd(q + 10, 2);
    uint64_t cd_size = rd(q + 12, 4), cd_off = rd(q + 16, 4);
    size_t cd_end_limit = eocd; /* the central directory ends before the end records */
    if (eocd >= LOC64_LEN && rd(buf + eocd - LOC64_LEN, 4) == SIG_LOC64) {
        const uint8_t *l = buf + eocd - LOC64_LEN;
        uint64_t e64 = rd(l + 8, 8), ndisks = rd(l + 16, 4);
        if (rd(l + 4, 4) != 0 || ndisks > 1)
            return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: multi-disk (split) zip archives are not supported", label);
        if (e64 > eocd - LOC64_LEN || eocd - LOC64_LEN - e64 < EOCD64_LEN || rd(buf + e64, 4) != SIG_EOCD64)
            return DIT_FAIL(err, DIT_ERR_FORMAT,
                            "%s: zip64 locator points at offset %llu, where there is no zip64 end record", label,
                            (unsigned long long)e64);
        const uint8_t *r = buf + e64;
        disk = rd(r + 16, 4), cd_disk = rd(r + 20, 4), n_disk = rd(r + 24, 8), n = rd(r + 32, 8);
        cd_size = rd(r + 40, 8), cd_off = rd(r + 48, 8);
        cd_end_limit = (size_t)e64;
    } else if (n == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip end record has zip64 placeholders but no zip64 locator", label);
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: multi-disk (split) zip archives are not supported", label);
    if (cd_off > cd_end_limit || cd_size > cd_end_limit - cd_off)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: central directory [%llu, +%llu) runs past its end record at offset %zu (truncated or "
                        "corrupt zip)",
                        label, (unsigned long long)cd_off, (unsigned long long)cd_size, cd_end_limit);
    if (n > cd_size / CENTRAL_LEN)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip end record claims %llu entries, more than a %llu-byte central "
                        "directory can hold", label, (unsigned long long)n, (unsigned long long)cd_size);
    z->buf = buf;
    z->len = len;
    z->entries = calloc(n ? (size_t)n : 1, sizeof *z->entries);
    if (!z->entries) return DIT_FAIL(err, DIT_ERR_OOM, "%s: zip directory of %llu entries", label, (unsigned long long)n);
    dit_status s = DIT_OK;
    size_t p = (size_t)cd_off, end = (size_t)(cd_off + cd_size);
    for (uint64_t i = 0; i < n && s == DIT_OK; i++) {
        if (end - p < CENTRAL_LEN || rd(buf + p, 4) != SIG_CENTRAL) {
            s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip central directory entry %llu at offset %zu is malformed (bad "
                         "signature or truncated)", label, (unsigned long long)i, p);
            break;
        }
        const uint8_t *c = buf + p;
        size_t nlen = (size_t)rd(c + 28, 2), xlen = (size_t)rd(c + 30, 2), clen = (size_t)rd(c + 32, 2);
        if (end - p - CENTRAL_LEN < nlen + xlen + clen) {
            s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip central directory entry %llu runs past the directory's end",
                         label, (unsigned long long)i);
            break;
        }
        io_zip_entry *e = &z->entries[z->n];
        e->name = malloc(nlen + 1);
        if (!e->name) {
            s = DIT_FAIL(err, DIT_ERR_OOM, "%s: zip entry name", label);
            break;
        }
        z->n++;
        memcpy(e->name, c + CENTRAL_LEN, nlen);
        e->name[nlen] = 0;
        e->flags = (uint16_t)rd(c + 8, 2);
        e->method = (uint16_t)rd(c + 10, 2);
        e->csize = rd(c + 20, 4);
        e->usize = rd(c + 24, 4);
        uint64_t off = rd(c + 42, 4);
        if (rd(c + 34, 2) != 0 && rd(c + 34, 2) != 0xFFFF) {
            s = DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: zip entry '%s' lives on another disk (split archive)", label,
                         e->name);
            break;
        }
        s = apply_zip64_extra(c + CENTRAL_LEN + nlen, xlen, e, &off, e->usize == 0xFFFFFFFFu,
                              e->csize == 0xFFFFFFFFu, off == 0xFFFFFFFFu, label, err);
        if (s == DIT_OK) s = check_local(buf, len, label, e, off, nlen, err);
        p += CENTRAL_LEN + nlen + xlen + clen;
    }
    if (s == DIT_OK && z->n > 1) {
        qsort(z->entries, (size_t)z->n, sizeof *z->entries, cmp_entry);
        for (int64_t i = 1; i < z->n; i++)
            if (!strcmp(z->entries[i - 1].name, z->entries[i].name)) {
                s = DIT_FAIL(err, DIT_ERR_FORMAT, "%s: zip entry '%s' appears twice", label, z->entries[i].name);
                break;
            }
    }
    if (s != DIT_OK) io_zip_free(z);
    return s;
}

const io_zip_entry *io_zip_find(const io_zip *z, const char *name) {
    int64_t lo = 0, hi = z->n - 1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int c = strcmp(z->entries[mid].name, name);
        if (!c) return &z->entries[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

dit_status io_zip_stored_data(const io_zip *z, const io_zip_entry *e, const char *label, const uint8_t **data,
                              size_t *size, dit_err *err) {
    if (e->flags & 1u)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: zip entry '%s' is encrypted", label, e->name);
    if (e->method != 0)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: zip entry '%s' is compressed (method %u%s); only STORED entries are supported, as "
                        "torch.save writes them (re-save with torch.save, not a zip tool)",
                        label, e->name, (unsigned)e->method, e->method == 8 ? " = deflate" : "");
    if (e->csize != e->usize)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: STORED zip entry '%s' has compressed size %llu != size %llu",
                        label, e->name, (unsigned long long)e->csize, (unsigned long long)e->usize);
    *data = z->buf + e->data_off;
    *size = (size_t)e->csize;
    return DIT_OK;
}
