/* tclip.c — .tclip reader (format in tclip.h).  Checked by tests/test_adherence.c: the
 * committed clips decode, and truncated / corrupted buffers fail with DIT_ERR_FORMAT. */
#include "tclip.h"

#include <stdio.h>  /* fdopen, fread */
#include <unistd.h> /* close */

#include "../../io/json_file.h" /* io_open_regular */
#include <stdlib.h> /* malloc, free, strtoll */
#include <string.h> /* memcpy, memchr, memset */

#define MAX_FILE_BYTES ((size_t)1 << 31)

dit_status tiny_clip_parse(const uint8_t *buf, size_t n, tiny_clip *out, dit_err *err) {
    if (!buf || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "tclip: NULL buffer or output");
    memset(out, 0, sizeof *out);
    const uint8_t *nl = memchr(buf, '\n', n < 64 ? n : 64);
    if (!nl || n < 7 || memcmp(buf, "TCLIP1 ", 7) != 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "tclip: missing 'TCLIP1 T H W' header line");
    char head[64];
    memcpy(head, buf, (size_t)(nl - buf));
    head[nl - buf] = 0;
    long long T, H, W;
    char extra;
    if (sscanf(head + 7, "%lld %lld %lld %c", &T, &H, &W, &extra) != 3 || T < 1 || T > 4096 || H < 1 || H > 4096 ||
        W < 1 || W > 4096)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "tclip: bad header '%s' (need 1 <= T, H, W <= 4096)", head);
    const uint8_t *p = nl + 1, *end = buf + n;
    const uint8_t *nl2 = memchr(p, '\n', (size_t)(end - p));
    if (!nl2 || nl2 - p >= (ptrdiff_t)sizeof out->caption)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "tclip: caption line missing or longer than %zu bytes",
                        sizeof out->caption - 1);
    memcpy(out->caption, p, (size_t)(nl2 - p));
    out->caption[nl2 - p] = 0;
    p = nl2 + 1;
    size_t pixels = (size_t)T * (size_t)H * (size_t)W;
    size_t min_bytes = (size_t)T * (size_t)H * (size_t)((W + 254) / 255) * 4; /* every row needs this many runs */
    if ((size_t)(end - p) < min_bytes) /* also bounds the allocation by the file size */
        return DIT_FAIL(err, DIT_ERR_FORMAT, "tclip: %zu data bytes cannot hold %lldx%lldx%lld frames (need >= %zu)",
                        (size_t)(end - p), T, H, W, min_bytes);
    out->rgb = malloc(pixels * 3);
    if (!out->rgb) return DIT_FAIL(err, DIT_ERR_OOM, "tclip: %zu bytes for %lldx%lldx%lld frames", pixels * 3, T, H, W);
    out->T = T, out->H = H, out->W = W;
    uint8_t *dst = out->rgb;
    for (int64_t row = 0; row < T * H; row++) {
        int64_t x = 0;
        while (x < W) {
            if (end - p < 4) {
                tiny_clip_free(out);
                return DIT_FAIL(err, DIT_ERR_FORMAT, "tclip: data ends in frame %lld row %lld", (long long)(row / H),
                                (long long)(row % H));
            }
            int cnt = p[0];
            if (cnt == 0 || x + cnt > W) {
                tiny_clip_free(out);
                return DIT_FAIL(err, DIT_ERR_FORMAT, "tclip: run of %d pixels at column %lld of a %lld-pixel row", cnt,
                                (long long)x, (long long)W);
            }
            for (int k = 0; k < cnt; k++, dst += 3) dst[0] = p[1], dst[1] = p[2], dst[2] = p[3];
            x += cnt;
            p += 4;
        }
    }
    if (p != end) {
        tiny_clip_free(out);
        return DIT_FAIL(err, DIT_ERR_FORMAT, "tclip: %zu unexpected bytes after the last frame", (size_t)(end - p));
    }
    return DIT_OK;
}

dit_status tiny_clip_read(const char *path, tiny_clip *out, dit_err *err) {
    if (!path || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "tclip: NULL path or output");
    memset(out, 0, sizeof *out);
    int fd = io_open_regular(path, err); /* a FIFO is refused without blocking on it */
    if (fd < 0) return err->code;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return DIT_FAIL(err, DIT_ERR_IO, "cannot open '%s'", path);
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    dit_status s = DIT_OK;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 16;
            uint8_t *nb = ncap <= MAX_FILE_BYTES ? realloc(buf, ncap) : NULL;
            if (!nb) {
                s = DIT_FAIL(err, DIT_ERR_OOM, "'%s': file too large or out of memory", path);
                break;
            }
            buf = nb, cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) s = DIT_FAIL(err, DIT_ERR_IO, "read error on '%s'", path);
            break;
        }
    }
    fclose(f);
    if (s == DIT_OK) {
        s = tiny_clip_parse(buf, n, out, err);
        if (s != DIT_OK) dit_err_wrap(err, "%s", path);
    }
    free(buf);
    return s;
}

void tiny_clip_free(tiny_clip *c) {
    if (!c) return;
    free(c->rgb);
    c->rgb = NULL;
    c->T = c->H = c->W = 0;
}
