/* report_heatmap.c — the attention-error heatmap of the A/B report (report_svg.h):
 * viridis colours from the smallest to the largest computed value with a colour
 * bar, grey for cells not computed; the title is an HTML caption, so it wraps
 * instead of being cut at the edge of a narrow grid. */
#include <math.h>  /* isfinite */
#include <stdio.h> /* snprintf */

#include "report_svg.h"

/* viridis at 0, 1/9, ..., 1 */
static const unsigned char k_viridis[10][3] = {{68, 1, 84},    {72, 40, 120},  {62, 73, 137},  {49, 104, 142},
                                               {38, 130, 142}, {31, 158, 137}, {53, 183, 121}, {110, 206, 88},
                                               {181, 222, 43}, {253, 231, 37}};

static void viridis(double t, char *out, size_t n) {
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    int i = (int)(t * 9);
    i = i > 8 ? 8 : i;
    double f = t * 9 - i;
    int rgb[3];
    for (int c = 0; c < 3; c++) rgb[c] = (int)(k_viridis[i][c] + f * (k_viridis[i + 1][c] - k_viridis[i][c]) + 0.5);
    snprintf(out, n, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

static int tick_every(double cell) {
    int e = 1;
    while (e * cell < 14) e = e < 5 ? e + (e == 1 ? 1 : 3) : e * 2; /* 1, 2, 5, 10, 20, ... */
    return e;
}

void ev_svg_heatmap(io_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const double *v, int rows,
                    int cols, const char *grey_means) {
    double vmin = INFINITY, vmax = -INFINITY;
    int nok = 0;
    for (int k = 0; k < rows * cols; k++)
        if (isfinite(v[k]) && v[k] >= 0) nok++, vmin = v[k] < vmin ? v[k] : vmin, vmax = v[k] > vmax ? v[k] : vmax;
    const double cw = cols > 0 && 600.0 / cols < 28 ? 600.0 / cols : 28, ch = rows > 0 && 360.0 / rows < 20 ? 360.0 / rows : 20;
    const double L = 58, T = 8, gw = cw * cols, gh = ch * rows, bar_w = 200;
    const double W = L + (gw > 360 ? gw : 360) + 12, H = T + gh + 40 + 50;
    io_sbuf_printf(b, "<figure><figcaption>");
    io_sbuf_html(b, title);
    io_sbuf_printf(b, "</figcaption>");
    if (!nok) {
        io_sbuf_printf(b, "<p class='note heatnote'>Nothing to show: every cell is grey (");
        io_sbuf_html(b, grey_means);
        io_sbuf_printf(b, ").</p>");
    } else if (vmin == vmax) {
        io_sbuf_printf(b, "<p class='note heatnote'>All %d computed values are equal: %.4g.</p>", nok, vmin);
    }
    io_sbuf_printf(b, "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 %.0f %.0f' width='%.0f' height='%.0f' "
                      "class='heatmap' font-size='11'>", W, H, W, H);
    char fill[16];
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double x = v[(size_t)r * cols + c];
            int ok = isfinite(x) && x >= 0;
            if (ok) viridis(vmax > vmin ? (x - vmin) / (vmax - vmin) : 0.5, fill, sizeof fill);
            else snprintf(fill, sizeof fill, "#d0d0d0");
            io_sbuf_printf(b, "<rect x='%.1f' y='%.1f' width='%.2f' height='%.2f' fill='%s'><title>%s %d, %s %d: ", L + c * cw,
                           T + r * ch, cw, ch, fill, ylabel, r, xlabel, c);
            if (ok) io_sbuf_printf(b, "%.4g</title></rect>", x);
            else {
                io_sbuf_html(b, grey_means);
                io_sbuf_printf(b, "</title></rect>");
            }
        }
    int ex = tick_every(cw), ey = tick_every(ch);
    for (int c = 0; c < cols; c += ex)
        io_sbuf_printf(b, "<text class='xtick' x='%.1f' y='%.1f' text-anchor='middle'>%d</text>", L + (c + 0.5) * cw,
                       T + gh + 13, c);
    for (int r = 0; r < rows; r += ey)
        io_sbuf_printf(b, "<text class='ytick' x='%.1f' y='%.1f' text-anchor='end'>%d</text>", L - 4, T + (r + 0.5) * ch + 4, r);
    io_sbuf_printf(b, "<text class='xtitle' x='%.1f' y='%.1f' text-anchor='middle'>", L + gw / 2, T + gh + 28);
    io_sbuf_html(b, xlabel);
    io_sbuf_printf(b, "</text><text class='ytitle' x='14' y='%.1f' transform='rotate(-90 14 %.1f)' text-anchor='middle'>",
                   T + gh / 2, T + gh / 2);
    io_sbuf_html(b, ylabel);
    io_sbuf_printf(b, "</text>");
    /* colour bar: the range of the computed values; a grey swatch for the rest */
    const double by = T + gh + 40;
    if (nok && vmax > vmin) {
        size_t id = b->len; /* unique within the page */
        io_sbuf_printf(b, "<defs><linearGradient id='viridis%zu'>", id);
        for (int i = 0; i <= 9; i++) {
            viridis(i / 9.0, fill, sizeof fill);
            io_sbuf_printf(b, "<stop offset='%d%%' stop-color='%s'/>", (int)(i * 100 / 9), fill);
        }
        io_sbuf_printf(b, "</linearGradient></defs><rect x='%.1f' y='%.1f' width='%g' height='10' fill='url(#viridis%zu)'/>"
                          "<text class='scale' x='%.1f' y='%.1f' text-anchor='start'>%.3g</text>"
                          "<text class='scale' x='%.1f' y='%.1f' text-anchor='end'>%.3g</text>",
                       L, by, bar_w, id, L, by + 23, vmin, L + bar_w, by + 23, vmax);
    } else if (nok) {
        viridis(0.5, fill, sizeof fill);
        io_sbuf_printf(b, "<rect x='%.1f' y='%.1f' width='20' height='10' fill='%s'/><text class='scale' x='%.1f' "
                          "y='%.1f'>all %.4g</text>",
                       L, by, fill, L + 26, by + 9, vmin);
    }
    if (nok < rows * cols) {
        double gy = nok ? by + 32 : by;
        io_sbuf_printf(b, "<rect x='%.1f' y='%.1f' width='10' height='10' fill='#d0d0d0'/><text class='scale' x='%.1f' "
                          "y='%.1f'>",
                       L, gy, L + 14, gy + 9);
        io_sbuf_html(b, grey_means);
        io_sbuf_printf(b, "</text>");
    }
    io_sbuf_printf(b, "</svg></figure>\n");
}
