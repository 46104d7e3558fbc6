/* test_report_svg.c — the A/B report's SVG charts (eval/report_svg.h) on edge cases:
 * integer x ticks at any length, identical values (PSNR = inf, zero error on a log axis)
 * drawn on a stated line, a cap raised above large finite values, identical series
 * named in the legend, missing values, more series than colours; heatmaps with no
 * computed cell, all-equal cells and a range.  The layout in a browser is checked by
 * tests/test_compare.sh. */
#include <math.h>   /* INFINITY, NAN */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* strtol */
#include <string.h> /* strstr */

#include "../eval/report_svg.h"
#include "test_util.h"

/* Every <text class='xtick'> holds an integer; returns how many there are (-1: one is not). */
static int xticks_integer(const char *s) {
    int n = 0;
    for (const char *p = strstr(s, "class='xtick'"); p; p = strstr(p + 1, "class='xtick'")) {
        const char *t = strchr(p, '>') + 1;
        char *end;
        strtol(t, &end, 10);
        if (end == t || *end != '<') return -1;
        n++;
    }
    return n;
}

static int no_bad_numbers(const char *s) {
    return !strstr(s, "nan") && !strstr(s, "NaN") && !strstr(s, ">inf") && !strstr(s, "-inf") && !strstr(s, "e+308");
}

static void test_lines(void) {
    double psnr[81], ssim[81], same[81], err[20], zeros[20], none[3] = {NAN, NAN, NAN};
    for (int i = 0; i < 81; i++) psnr[i] = i % 3 ? 30 + i * 0.1 : INFINITY, ssim[i] = 0.9 + i * 1e-3, same[i] = ssim[i];
    for (int i = 0; i < 20; i++) err[i] = i ? 1e-3 * i : 0, zeros[i] = 0;
    ev_series s[10];
    for (int k = 0; k < 10; k++) s[k] = (ev_series){"m", psnr, 81};
    s[1] = (ev_series){"other", ssim, 81};
    s[2] = (ev_series){"again", same, 81};
    io_sbuf b = {0};
    ev_chart c = {"PSNR", "frame", "dB", " dB", 0, 0, 100, "identical to dense"};
    ev_svg_lines(&b, &c, s, 10);
    CHECK(!b.oom && b.s, "chart written");
    int n = xticks_integer(b.s);
    CHECK(n >= 5 && n <= 11, "81 frames: %d integer x ticks", n);
    CHECK(strstr(b.s, ">80</text>") != NULL, "last frame ticked");
    CHECK(strstr(b.s, "drawn at 100 dB") != NULL, "identical frames on the stated 100 dB line");
    CHECK(strstr(b.s, "27 of 81 frames identical to dense") != NULL, "legend counts identical frames");
    CHECK(strstr(b.s, "again: ") && strstr(b.s, "(same values as other)"), "identical series named in the legend");
    CHECK(no_bad_numbers(b.s), "no nan/inf in the SVG");
    io_sbuf_free(&b);

    double big[4] = {118, INFINITY, 121.5, INFINITY};
    ev_svg_lines(&b, &c, &(ev_series){"x", big, 4}, 1);
    CHECK(strstr(b.s, "drawn at 140 dB") != NULL, "cap raised above finite values of 121.5 dB");
    CHECK(xticks_integer(b.s) == 4, "4 frames: ticks 0..3");
    io_sbuf_free(&b);

    double one[1] = {INFINITY};
    ev_svg_lines(&b, &c, &(ev_series){"x", one, 1}, 1);
    CHECK(strstr(b.s, "1 of 1 frames identical") && no_bad_numbers(b.s), "one identical frame");
    CHECK(xticks_integer(b.s) == 1 && strstr(b.s, ">0</text>"), "one frame: one tick, 0");
    io_sbuf_free(&b);

    ev_chart lc = {"latent", "step", "err", NULL, 1, 1, 0, "identical to dense"};
    ev_series ls[2] = {{"a", err, 20}, {"dense", zeros, 20}};
    ev_svg_lines(&b, &lc, ls, 2);
    CHECK(strstr(b.s, "labelled 0") && strstr(b.s, ">0</text>"), "log axis: zeros on the bottom line labelled 0");
    CHECK(strstr(b.s, ">1</text>") && strstr(b.s, ">20</text>") && xticks_integer(b.s) > 0, "steps numbered 1..20");
    CHECK(strstr(b.s, "20 of 20 steps identical") != NULL, "all-zero series");
    CHECK(no_bad_numbers(b.s), "log chart: no nan/inf");
    io_sbuf_free(&b);

    ev_svg_lines(&b, &lc, &(ev_series){"dense", zeros, 20}, 1);
    CHECK(no_bad_numbers(b.s) && xticks_integer(b.s) > 0, "log chart of zeros only");
    io_sbuf_free(&b);

    ev_svg_lines(&b, &c, &(ev_series){"n", none, 3}, 1);
    CHECK(strstr(b.s, "no values to plot") != NULL, "missing values only");
    io_sbuf_free(&b);
}

static void test_heatmap(void) {
    double grey[4] = {-1, -1, -1, -1}, flat[4] = {0.25, 0.25, -1, 0.25}, v[100 * 40];
    for (int i = 0; i < 100 * 40; i++) v[i] = i % 7 ? i * 1e-4 : -1;
    io_sbuf b = {0};
    ev_svg_heatmap(&b, "t", "layer", "call", grey, 2, 2, "dense");
    CHECK(strstr(b.s, "Nothing to show") && !strstr(b.s, "linearGradient"), "all grey: said, no colour bar");
    io_sbuf_free(&b);
    ev_svg_heatmap(&b, "t", "layer", "call", flat, 2, 2, "dense");
    CHECK(strstr(b.s, "All 3 computed values are equal: 0.25") && strstr(b.s, "all 0.25"), "all equal: said");
    io_sbuf_free(&b);
    ev_svg_heatmap(&b, "a long title that must wrap rather than be cut", "layer", "call", v, 100, 40, "dense");
    CHECK(strstr(b.s, "<figcaption>a long title") != NULL, "title is an HTML caption");
    CHECK(strstr(b.s, "linearGradient") && strstr(b.s, ">0.0001<") && strstr(b.s, ">0.4<"), "colour bar 1e-4 .. 0.4");
    int n = xticks_integer(b.s);
    CHECK(n >= 2 && n <= 40, "40 layers: %d column ticks", n);
    CHECK(no_bad_numbers(b.s), "heatmap: no nan/inf");
    io_sbuf_free(&b);
}

/* test_report_svg OUT.html: also writes realistic charts (81 frames, 3 presets, 30 layers x 20 calls) to look at. */
static void write_sample(const char *path) {
    enum { F = 81, S = 20, NL = 30 };
    double psnr[3][F], ssim[3][F], err[3][S], heat[S * NL];
    for (int k = 0; k < 3; k++) {
        for (int f = 0; f < F; f++) {
            psnr[k][f] = k == 2 ? psnr[0][f] : 34 - 4 * k - 0.05 * f + sin(f * 0.3 + k);
            ssim[k][f] = k == 2 ? ssim[0][f] : 0.96 - 0.03 * k - 0.0004 * f;
        }
        for (int t = 0; t < S; t++) err[k][t] = t ? 1e-3 * (k + 1) * t * t : 0;
    }
    for (int i = 0; i < S * NL; i++) heat[i] = i % NL < 2 ? -1 : 0.01 + 0.2 * (i % NL) / NL + 0.001 * (i / NL);
    const char *lab[3] = {"rectified-wan", "sla-10 (SLA fine-tune)", "dense"};
    ev_series sp[3], ss[3], se[3];
    for (int k = 0; k < 3; k++)
        sp[k] = (ev_series){lab[k], psnr[k], F}, ss[k] = (ev_series){lab[k], ssim[k], F},
        se[k] = (ev_series){lab[k], err[k], S};
    io_sbuf b = {0};
    io_sbuf_printf(&b, "<!DOCTYPE html><html><head><meta charset='utf-8'><style>body{font-family:sans-serif;"
                       "max-width:1100px;margin:2em auto;padding:0 1em}svg{max-width:100%%;height:auto}"
                       "figcaption{font-weight:bold}</style></head><body>");
    ev_svg_lines(&b, &(ev_chart){"PSNR per frame", "frame", "PSNR (dB)", " dB", 0, 0, 100, "identical"}, sp, 3);
    ev_svg_lines(&b, &(ev_chart){"SSIM per frame", "frame", "SSIM", NULL, 0, 0, 0, "identical"}, ss, 3);
    ev_svg_lines(&b, &(ev_chart){"latent error", "step", "||x - x_dense|| / ||x_dense||", NULL, 1, 1, 0, "identical"},
                 se, 3);
    ev_svg_heatmap(&b, "attention-output relative error", "layer", "call", heat, S, NL, "dense layer");
    io_sbuf_printf(&b, "</body></html>\n");
    FILE *f = fopen(path, "w");
    CHECK(f && !b.oom && fwrite(b.s, 1, b.len, f) == b.len, "sample written to %s", path);
    if (f) fclose(f);
    io_sbuf_free(&b);
}

int main(int argc, char **argv) {
    test_lines();
    test_heatmap();
    if (argc > 1) write_sample(argv[1]);
    printf("test_report_svg: %d passed, %d failed\n", g_pass, g_fail);
    return g_fail != 0;
}
