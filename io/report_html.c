/* report_html.c — inline SVG charts and data URIs for self-contained HTML reports
 * (see report_html.h).  Rendered by a headless browser in tests/test_compare.sh. */
#include "report_html.h"

#include <math.h>   /* isfinite, log10, floor, pow */
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

static const char *k_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

void io_svg_lines(io_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const io_series *s, int ns,
                  const double *x, int log_y) {
    const double W = 640, H = 300, L = 60, R = 150, T = 30, B = 45;
    double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double xv = x ? x[i] : i, yv = s[k].y[i];
            if (!isfinite(yv) || (log_y && yv <= 0)) continue;
            if (log_y) yv = log10(yv);
            xmin = xv < xmin ? xv : xmin, xmax = xv > xmax ? xv : xmax;
            ymin = yv < ymin ? yv : ymin, ymax = yv > ymax ? yv : ymax;
        }
    io_sbuf_printf(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%g' height='%g' class='chart'>", W, H);
    io_sbuf_printf(b, "<text x='%g' y='18' font-size='14' font-weight='bold'>", L);
    io_sbuf_html(b, title);
    io_sbuf_printf(b, "</text>");
    if (xmin > xmax) {
        io_sbuf_printf(b, "<text x='%g' y='%g'>no finite values</text></svg></figure>", L, H / 2);
        return;
    }
    if (xmax == xmin) xmax = xmin + 1;
    if (ymax == ymin) ymax = ymin + 1, ymin -= 1;
    double pw = W - L - R, ph = H - T - B;
#define PX(v) (L + ((v) - xmin) / (xmax - xmin) * pw)
#define PY(v) (T + ph - ((v) - ymin) / (ymax - ymin) * ph)
    io_sbuf_printf(b, "<rect x='%g' y='%g' width='%g' height='%g' fill='none' stroke='#888'/>", L, T, pw, ph);
    /* enough significant digits to tell the ticks apart */
    double span = log_y ? 1.0 : fabs(ymax - ymin) / (fabs(ymax) + fabs(ymin) + 1e-300);
    int digits = 3 + (span > 0 ? (int)ceil(-log10(span)) : 0);
    digits = digits < 3 ? 3 : digits > 9 ? 9 : digits;
    for (int t = 0; t <= 4; t++) {
        double yv = ymin + (ymax - ymin) * t / 4, yy = PY(yv);
        io_sbuf_printf(b, "<line x1='%g' y1='%.1f' x2='%g' y2='%.1f' stroke='#eee'/>", L, yy, L + pw, yy);
        io_sbuf_printf(b, "<text x='%g' y='%.1f' font-size='10' text-anchor='end'>%.*g</text>", L - 4, yy + 3, digits,
                       log_y ? pow(10, yv) : yv);
        double xv = xmin + (xmax - xmin) * t / 4;
        io_sbuf_printf(b, "<text x='%.1f' y='%g' font-size='10' text-anchor='middle'>%.3g</text>", PX(xv), T + ph + 14, xv);
    }
    io_sbuf_printf(b, "<text x='%g' y='%g' font-size='11' text-anchor='middle'>", L + pw / 2, H - 8);
    io_sbuf_html(b, xlabel);
    io_sbuf_printf(b, "</text><text x='12' y='%g' font-size='11' transform='rotate(-90 12 %g)' text-anchor='middle'>",
                   T + ph / 2, T + ph / 2);
    io_sbuf_html(b, ylabel);
    io_sbuf_printf(b, "</text>");
    for (int k = 0; k < ns; k++) {
        const char *col = k_colors[k % 8];
        io_sbuf_printf(b, "<polyline fill='none' stroke='%s' stroke-width='1.8' points='", col);
        for (int i = 0; i < s[k].n; i++) {
            double yv = s[k].y[i];
            if (!isfinite(yv) || (log_y && yv <= 0)) continue;
            if (log_y) yv = log10(yv);
            io_sbuf_printf(b, "%.1f,%.1f ", PX(x ? x[i] : i), PY(yv));
        }
        io_sbuf_printf(b, "'/>");
        io_sbuf_printf(b, "<rect x='%g' y='%g' width='10' height='10' fill='%s'/><text x='%g' y='%g' font-size='11'>",
                       W - R + 10, T + 16.0 * k, col, W - R + 24, T + 16.0 * k + 9);
        io_sbuf_html(b, s[k].label);
        io_sbuf_printf(b, "</text>");
    }
#undef PX
#undef PY
    io_sbuf_printf(b, "</svg></figure>\n");
}

void io_svg_heatmap(io_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const double *v, int rows,
                    int cols, double vmax) {
    const double L = 60, T = 30, cw = cols > 40 ? 600.0 / cols : 15, ch = rows > 30 ? 360.0 / rows : 12;
    const double W = L + cw * cols + 90, H = T + ch * rows + 40;
    io_sbuf_printf(b, "<figure><svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' class='heatmap'>", W, H);
    io_sbuf_printf(b, "<text x='%g' y='18' font-size='14' font-weight='bold'>", L);
    io_sbuf_html(b, title);
    io_sbuf_printf(b, "</text>");
    if (vmax <= 0) vmax = 1;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double x = v[(size_t)r * cols + c];
            char fill[32];
            if (!isfinite(x) || x < 0) {
                snprintf(fill, sizeof fill, "#ddd");
            } else {
                double t = x / vmax;
                t = t > 1 ? 1 : t;
                int R = (int)(255 * t), G = (int)(255 * (1 - fabs(2 * t - 1)) * 0.6 + 40), Bc = (int)(255 * (1 - t));
                snprintf(fill, sizeof fill, "rgb(%d,%d,%d)", R, G, Bc);
            }
            io_sbuf_printf(b, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s'><title>%d,%d: %.4g</title></rect>",
                           L + c * cw, T + r * ch, cw, ch, fill, r, c, x);
        }
    io_sbuf_printf(b, "<text x='%g' y='%g' font-size='11'>", L, T + ch * rows + 16);
    io_sbuf_html(b, xlabel);
    io_sbuf_printf(b, "</text><text x='8' y='%g' font-size='11'>", T + 10);
    io_sbuf_html(b, ylabel);
    io_sbuf_printf(b, "</text><text x='%g' y='%g' font-size='10'>scale 0 .. %.3g (grey: dense layer)</text></svg></figure>\n",
                   L, T + ch * rows + 32, vmax);
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
