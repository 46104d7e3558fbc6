/* report_html.h — pieces of a self-contained HTML report: inline SVG line charts
 * and heatmaps, escaped text, files embedded as base64 data URIs.  Everything
 * is appended to a growing string buffer (io_sbuf). */
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

typedef struct io_series {
    const char *label;
    const double *y; /* n values; NaN / inf values are skipped */
    int n;
} io_series;

/* A line chart of series over x = 0..n-1 (or the given x), with axes, ticks and a legend. */
void io_svg_lines(io_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const io_series *s, int ns,
                  const double *x, int log_y);
/* A rows x cols heatmap of values (NaN/negative = grey "not computed"), colour scale 0..vmax. */
void io_svg_heatmap(io_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const double *v, int rows,
                    int cols, double vmax);
/* Append the file's bytes as a data URI (mime e.g. "video/webm"). */
dit_status io_sbuf_data_uri(io_sbuf *b, const char *path, const char *mime, dit_err *err);

#endif
