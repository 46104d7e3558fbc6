/* report_lines.c — the line charts of the A/B report (report_svg.h).  Series are
 * told apart by colour, dash pattern and marker shape, and the legend gives
 * each series' values (and which series have exactly the same values), so
 * identical curves drawn on top of each other stay readable. */
#include <math.h>   /* isfinite, isnan, log10, floor, ceil, pow */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strlen */

#include "report_svg.h"

static const char *k_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
static const char *k_dash[] = {"", "7 4", "2 3", "10 3 2 3"};
enum { N_COLORS = 8, N_DASH = 4, N_MARKERS = 5 };
#define CHAR_W 7.0 /* px per character at font-size 11 (DejaVu Sans digits are 0.64 em; generous) */

/* 1, 2 or 5 x 10^k, about span / n; at least 1 when integer. */
static double nice_step(double span, int n, int integer) {
    double raw = span > 0 ? span / n : 1, p = pow(10, floor(log10(raw))), f = raw / p;
    double s = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
    return integer && s < 1 ? 1 : s;
}

static int decimals_for(double step) {
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 12 ? 12 : d;
}

static void marker(io_sbuf *b, int kind, double x, double y, const char *col) {
    io_sbuf_printf(b, "<g class='marker' fill='none' stroke='%s' stroke-width='1.4'>", col);
    switch (kind % N_MARKERS) {
    case 0: io_sbuf_printf(b, "<circle cx='%.1f' cy='%.1f' r='4'/>", x, y); break;
    case 1: io_sbuf_printf(b, "<rect x='%.1f' y='%.1f' width='7' height='7'/>", x - 3.5, y - 3.5); break;
    case 2: io_sbuf_printf(b, "<path d='M%.1f %.1fl4.5 8h-9z'/>", x, y - 5); break;
    case 3: io_sbuf_printf(b, "<path d='M%.1f %.1fl5.5 5.5l-5.5 5.5l-5.5 -5.5z'/>", x, y - 5.5); break;
    default: io_sbuf_printf(b, "<path d='M%.1f %.1fl9 9m0 -9l-9 9'/>", x - 4.5, y - 4.5);
    }
    io_sbuf_printf(b, "</g>");
}

/* A y tick: decades on a log axis (its bottom line is "0" when it holds identical values), else fixed decimals. */
static void ytick_label(char *out, size_t n, int log_y, int zero_line, int dec, double yv) {
    if (log_y && zero_line) snprintf(out, n, "0");
    else if (log_y) snprintf(out, n, "%.0e", pow(10, yv));
    else snprintf(out, n, "%.*f", dec, yv);
}

typedef enum { PT_MISSING, PT_VALUE, PT_IDENT } pt_kind;

/* The value to plot (log10 on a log axis) and whether it is missing or identical. */
static pt_kind classify(const ev_chart *c, double y, double *out) {
    if (isnan(y)) return PT_MISSING;
    if (y == INFINITY && c->inf_at > 0) return PT_IDENT;
    if (c->log_y && y == 0) return PT_IDENT;
    if (!isfinite(y) || (c->log_y && y < 0)) return PT_MISSING;
    *out = c->log_y ? log10(y) : y;
    return PT_VALUE;
}

static int same_values(const ev_series *a, const ev_series *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (!(a->y[i] == b->y[i] || (isnan(a->y[i]) && isnan(b->y[i])))) return 0;
    return 1;
}

/* "label: mean .., min .., max ..; k of n frames identical to dense (same values as X)" */
static void legend_text(io_sbuf *b, const ev_chart *c, const ev_series *s, int k, int dec) {
    double sum = 0, lo = INFINITY, hi = -INFINITY, v;
    int nv = 0, ni = 0;
    for (int i = 0; i < s[k].n; i++) {
        pt_kind t = classify(c, s[k].y[i], &v);
        if (t == PT_IDENT) ni++;
        if (t != PT_VALUE) continue;
        v = s[k].y[i], sum += v, nv++;
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    const char *u = c->unit ? c->unit : "";
    io_sbuf_html(b, s[k].label);
    io_sbuf_printf(b, ": ");
    if (nv && c->log_y) io_sbuf_printf(b, "mean %.3g%s, min %.3g, max %.3g", sum / nv, u, lo, hi);
    else if (nv) io_sbuf_printf(b, "mean %.*f%s, min %.*f, max %.*f", dec, sum / nv, u, dec, lo, dec, hi);
    if (ni) {
        io_sbuf_printf(b, "%s%d of %d %ss ", nv ? "; " : "", ni, s[k].n, c->xlabel);
        io_sbuf_html(b, c->ident ? c->ident : "identical");
    }
    if (!nv && !ni) io_sbuf_printf(b, "no values");
    for (int j = 0; j < k; j++)
        if (same_values(&s[j], &s[k])) {
            io_sbuf_printf(b, " (same values as ");
            io_sbuf_html(b, s[j].label);
            io_sbuf_printf(b, ")");
            break;
        }
}

void ev_svg_lines(io_sbuf *b, const ev_chart *c, const ev_series *s, int ns) {
    double lo = INFINITY, hi = -INFINITY, v;
    int nx = 0, has_ident = 0;
    for (int k = 0; k < ns; k++) {
        nx = s[k].n > nx ? s[k].n : nx;
        for (int i = 0; i < s[k].n; i++) {
            pt_kind t = classify(c, s[k].y[i], &v);
            has_ident |= t == PT_IDENT;
            if (t == PT_VALUE) lo = v < lo ? v : lo, hi = v > hi ? v : hi;
        }
    }
    io_sbuf_printf(b, "<figure><figcaption>");
    io_sbuf_html(b, c->title);
    io_sbuf_printf(b, "</figcaption>");
    if (!nx || (lo > hi && !has_ident)) {
        io_sbuf_printf(b, "<p class='note'>no values to plot</p></figure>\n");
        return;
    }
    /* y range: identical values sit on a stated line, above the data (inf) or below it (log zeros) */
    double cap = 0, step;
    int dec = 0;
    if (c->log_y) {
        if (lo > hi) lo = hi = -1;
        lo = floor(lo), hi = ceil(hi);
        if (hi <= lo) hi = lo + 1;
        if (has_ident) lo -= 1, cap = lo;
        step = ceil((hi - lo) / 6);
    } else {
        if (has_ident) {
            cap = c->inf_at;
            if (lo <= hi && hi >= cap) cap = 10 * ceil(hi / 10) + 10;
            lo = lo <= hi ? (cap < lo ? cap : lo) : cap, hi = hi > cap ? hi : cap;
        }
        if (hi == lo) {
            double pad = fabs(lo) > 0 ? fabs(lo) * 1e-3 : 1;
            lo -= pad, hi += pad;
        }
        step = nice_step(hi - lo, 4, 0);
        lo = floor(lo / step + 1e-9) * step, hi = ceil(hi / step - 1e-9) * step;
        dec = decimals_for(step);
    }
    int nyt = (int)floor((hi - lo) / step + 0.5);
    /* tick labels decide the left margin */
    char lab[64];
    size_t maxch = 1;
    for (int t = 0; t <= nyt; t++) {
        double yv = lo + t * step;
        ytick_label(lab, sizeof lab, c->log_y, has_ident && t == 0, dec, yv);
        maxch = strlen(lab) > maxch ? strlen(lab) : maxch;
    }
    /* a linear axis with identical values has its dashed line on top, labelled above the frame */
    const int top_label = has_ident && !c->log_y;
    const double L = 34 + CHAR_W * (double)maxch, T = top_label ? 24 : 10, ph = 220, R = 16, legend_x = L + 44;
    size_t legch = 0;
    for (int k = 0; k < ns; k++) {
        io_sbuf tmp = {0};
        legend_text(&tmp, c, s, k, dec + 1);
        legch = tmp.len > legch ? tmp.len : legch;
        io_sbuf_free(&tmp);
    }
    double W = 640, need = legend_x + CHAR_W * (double)legch + 8;
    W = need > W ? need : W;
    const double pw = W - L - R, ybot = T + ph;
    const double H = ybot + 52 + 18.0 * (ns + has_ident) + 4;
    const double xmin = c->x0 - (nx > 1 ? 0 : 0.5), xmax = c->x0 + (nx > 1 ? nx - 1 : 0.5);
#define PX(xv) (L + ((xv) - xmin) / (xmax - xmin) * pw)
#define PY(yv) (T + ph - ((yv) - lo) / (hi - lo) * ph)
    io_sbuf_printf(b, "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' "
                      "class='chart' font-size='11'>", W, H, W, H);
    io_sbuf_printf(b, "<rect x='%.1f' y='%g' width='%.1f' height='%g' fill='none' stroke='#888'/>", L, T, pw, ph);
    for (int t = 0; t <= nyt; t++) {
        double yv = lo + t * step, yy = PY(yv);
        int dashed = has_ident && yv == cap;
        io_sbuf_printf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s'%s/>", L, yy, L + pw, yy,
                       dashed ? "#555" : "#eee", dashed ? " stroke-dasharray='4 3'" : "");
        ytick_label(lab, sizeof lab, c->log_y, has_ident && t == 0, dec, yv);
        io_sbuf_printf(b, "<text class='ytick' x='%.1f' y='%.1f' text-anchor='end'>%s</text>", L - 5, yy + 4, lab);
    }
    double xstep = nice_step(xmax - xmin, 8, 1), first = ceil(xmin / xstep) * xstep + 0.0; /* not -0 */
    if (first > xmin && nx > 1) /* the first frame / step is always ticked */
        io_sbuf_printf(b, "<text class='xtick' x='%.1f' y='%.1f' text-anchor='middle'>%.0f</text>", PX(xmin), ybot + 15,
                       xmin);
    for (double xv = first; xv <= xmax + 1e-9; xv += xstep)
        io_sbuf_printf(b, "<text class='xtick' x='%.1f' y='%.1f' text-anchor='middle'>%.0f</text>", PX(xv), ybot + 15, xv);
    io_sbuf_printf(b, "<text class='xtitle' x='%.1f' y='%.1f' text-anchor='middle'>", L + pw / 2, ybot + 32);
    io_sbuf_html(b, c->xlabel);
    io_sbuf_printf(b, "</text><text class='ytitle' x='14' y='%.1f' transform='rotate(-90 14 %.1f)' "
                      "text-anchor='middle'>", T + ph / 2, T + ph / 2);
    io_sbuf_html(b, c->ylabel);
    io_sbuf_printf(b, "</text>");
    if (top_label) {
        io_sbuf_printf(b, "<text class='caplabel' x='%.1f' y='%.1f' text-anchor='end'>", L + pw, T - 6);
        io_sbuf_html(b, c->ident ? c->ident : "identical");
        io_sbuf_printf(b, " (infinite): drawn at %g%s</text>", cap, c->unit ? c->unit : "");
    }
    int stride = nx > 30 ? (nx + 29) / 30 : 1;
    for (int k = 0; k < ns; k++) {
        const char *col = k_colors[k % N_COLORS], *dash = k_dash[k % N_DASH];
        io_sbuf_printf(b, "<path class='series' fill='none' stroke='%s' stroke-width='%.1f'%s%s%s d='", col,
                       k ? 1.6 : 2.4, dash[0] ? " stroke-dasharray='" : "", dash, dash[0] ? "'" : "");
        int pen = 0;
        for (int i = 0; i < s[k].n; i++) {
            pt_kind t = classify(c, s[k].y[i], &v);
            if (t == PT_MISSING) {
                pen = 0;
                continue;
            }
            io_sbuf_printf(b, "%c%.1f %.1f ", pen ? 'L' : 'M', PX(c->x0 + i), PY(t == PT_IDENT ? cap : v));
            pen = 1;
        }
        io_sbuf_printf(b, "'/>");
        for (int i = 0; i < s[k].n; i++) {
            pt_kind t = classify(c, s[k].y[i], &v);
            if (t != PT_MISSING && (i + k) % stride == 0) marker(b, k, PX(c->x0 + i), PY(t == PT_IDENT ? cap : v), col);
        }
        double ly = ybot + 52 + 18.0 * k;
        io_sbuf_printf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='2'%s%s%s/>", L,
                       ly - 4, L + 34, ly - 4, col, dash[0] ? " stroke-dasharray='" : "", dash, dash[0] ? "'" : "");
        marker(b, k, L + 17, ly - 4, col);
        io_sbuf_printf(b, "<text class='legend' x='%.1f' y='%.1f'>", legend_x, ly);
        legend_text(b, c, s, k, dec + 1);
        io_sbuf_printf(b, "</text>");
    }
    if (has_ident) {
        double ly = ybot + 52 + 18.0 * ns;
        io_sbuf_printf(b, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#555' stroke-dasharray='4 3'/>"
                          "<text class='identnote' x='%.1f' y='%.1f'>",
                       L, ly - 4, L + 34, ly - 4, legend_x, ly);
        io_sbuf_html(b, c->ident ? c->ident : "identical");
        if (c->log_y) io_sbuf_printf(b, " (0): drawn on the bottom line, labelled 0</text>");
        else io_sbuf_printf(b, " (infinite): drawn on the dashed line at %g%s</text>", cap, c->unit ? c->unit : "");
    }
#undef PX
#undef PY
    io_sbuf_printf(b, "</svg></figure>\n");
}
