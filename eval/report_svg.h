/* report_svg.h — inline SVG charts of the A/B report (compare_report.c): line
 * charts whose overlapping curves stay apart (colour, dash pattern and marker
 * per series, legend with each series' values), integer x ticks, identical
 * values (PSNR = inf, a zero error on a log axis) drawn on a stated line; and
 * heatmaps with a colour scale over the range of the values.  Every chart
 * scales down with the page (viewBox).  Rendered by a headless browser in
 * tests/test_compare.sh, which checks that no label is clipped or overlaps. */
#ifndef SPADIT_REPORT_SVG_H
#define SPADIT_REPORT_SVG_H

#include "../io/report_html.h" /* io_sbuf */

typedef struct ev_series {
    const char *label;
    const double *y; /* n values; NaN = missing; +inf = identical (see ev_chart.inf_at) */
    int n;
} ev_series;

typedef struct ev_chart {
    const char *title, *xlabel, *ylabel;
    const char *unit;    /* appended to legend values ("dB"), or NULL */
    int x0;              /* x of the first value (0: frame indices, 1: step numbers); x ticks are integers */
    int log_y;           /* log axis; values of 0 count as identical and are drawn on the bottom line */
    double inf_at;       /* > 0: +inf values are drawn on a dashed line at this y (raised above the data if needed) */
    const char *ident;   /* what an identical value means ("identical to dense"), for the notes and legend */
} ev_chart;

void ev_svg_lines(io_sbuf *b, const ev_chart *c, const ev_series *s, int ns);

/* A rows x cols heatmap (NaN / negative = grey, meaning `grey_means`), viridis scale from the smallest to the
 * largest computed value, with a colour bar; says so when every computed value is equal or none is. */
void ev_svg_heatmap(io_sbuf *b, const char *title, const char *xlabel, const char *ylabel, const double *v, int rows,
                    int cols, const char *grey_means);

#endif
