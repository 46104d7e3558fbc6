/* report_html.h — pieces of a self-contained HTML report: escaped text, files
 * embedded as base64 data URIs, appended to a growing string buffer (io_sbuf).
 * The SVG charts of the A/B report are in eval/report_svg.h. */
#ifndef SPADIT_REPORT_HTML_H
#define SPADIT_REPORT_HTML_H

#include <stddef.h> /* size_t */

#include "../dit/status.h" /* dit_status, dit_err */

typedef struct io_sbuf {
    char *s;
    size_t len, cap;
    int oom;
} io_sbuf;

void io_sbuf_printf(io_sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void io_sbuf_html(io_sbuf *b, const char *text); /* HTML-escaped */
void io_sbuf_free(io_sbuf *b);

/* Append the file's bytes as a data URI (mime e.g. "video/webm"). */
dit_status io_sbuf_data_uri(io_sbuf *b, const char *path, const char *mime, dit_err *err);

#endif
