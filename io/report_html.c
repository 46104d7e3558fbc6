/* report_html.c — string buffer, escaping and data URIs for self-contained HTML
 * reports (see report_html.h).  Rendered by a headless browser in tests/test_compare.sh. */
#include "report_html.h"

#include <stdarg.h> /* va_list */
#include <stdio.h>  /* vsnprintf */
#include <stdlib.h> /* realloc */
#include <string.h> /* strlen */

#include "json_file.h" /* io_file_read_all */

static void grow(io_sbuf *b, size_t extra) {
    if (b->oom || b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void io_sbuf_printf(io_sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[512];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    grow(b, (size_t)n);
    if (b->oom) return;
    if ((size_t)n < sizeof small) {
        memcpy(b->s + b->len, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void io_sbuf_html(io_sbuf *b, const char *t) {
    for (; t && *t; t++) {
        switch (*t) {
        case '<': io_sbuf_printf(b, "&lt;"); break;
        case '>': io_sbuf_printf(b, "&gt;"); break;
        case '&': io_sbuf_printf(b, "&amp;"); break;
        case '"': io_sbuf_printf(b, "&quot;"); break;
        default: io_sbuf_printf(b, "%c", *t);
        }
    }
}

void io_sbuf_free(io_sbuf *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

dit_status io_sbuf_data_uri(io_sbuf *b, const char *path, const char *mime, dit_err *err) {
    char *data;
    size_t len;
    DIT_TRY(io_file_read_all(path, &data, &len, err));
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    io_sbuf_printf(b, "data:%s;base64,", mime);
    grow(b, (len + 2) / 3 * 4);
    if (b->oom) {
        free(data);
        return DIT_FAIL(err, DIT_ERR_OOM, "report: embedding %s (%zu bytes)", path, len);
    }
    const unsigned char *u = (const unsigned char *)data;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)u[i] << 16 | (i + 1 < len ? (unsigned)u[i + 1] << 8 : 0) | (i + 2 < len ? u[i + 2] : 0);
        b->s[b->len++] = tb[(v >> 18) & 63];
        b->s[b->len++] = tb[(v >> 12) & 63];
        b->s[b->len++] = i + 1 < len ? tb[(v >> 6) & 63] : '=';
        b->s[b->len++] = i + 2 < len ? tb[v & 63] : '=';
    }
    b->s[b->len] = 0;
    free(data);
    return DIT_OK;
}
