/* metrics.c — PSNR, SSIM and relative errors (see metrics.h). */
#include "metrics.h"

#include <math.h>   /* log10, exp, sqrt, INFINITY */
#include <stdlib.h> /* malloc */

double ev_psnr(const uint8_t *a, const uint8_t *b, int width, int height) {
    size_t n = (size_t)width * (size_t)height * 3;
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        se += d * d;
    }
    if (se == 0) return INFINITY;
    return 10.0 * log10(255.0 * 255.0 / (se / (double)n));
}

/* separable Gaussian filter (11 taps, sigma 1.5), borders replicated ('nearest', as skimage's gaussian) */
static void blur(const double *in, double *tmp, double *out, int w, int h, const double *k) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int t = -5; t <= 5; t++) {
                int xx = x + t;
                if (xx < 0) xx = 0;
                if (xx >= w) xx = w - 1;
                s += k[t + 5] * in[(size_t)y * w + xx];
            }
            tmp[(size_t)y * w + x] = s;
        }
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int t = -5; t <= 5; t++) {
                int yy = y + t;
                if (yy < 0) yy = 0;
                if (yy >= h) yy = h - 1;
                s += k[t + 5] * tmp[(size_t)yy * w + x];
            }
            out[(size_t)y * w + x] = s;
        }
}

double ev_ssim(const uint8_t *a, const uint8_t *b, int w, int h) {
    double k[11], ks = 0;
    for (int t = -5; t <= 5; t++) ks += (k[t + 5] = exp(-(double)(t * t) / (2 * 1.5 * 1.5)));
    for (int t = 0; t < 11; t++) k[t] /= ks;
    size_t n = (size_t)w * (size_t)h;
    double *buf = malloc(n * sizeof(double) * 11);
    if (!buf) return NAN;
    double *x = buf, *y = x + n, *xx = y + n, *yy = xx + n, *xy = yy + n, *mx = xy + n, *my = mx + n;
    double *sxx = my + n, *syy = sxx + n, *sxy = syy + n, *tmp = sxy + n;
    const double C1 = (0.01 * 255) * (0.01 * 255), C2 = (0.03 * 255) * (0.03 * 255);
    /* as skimage.metrics.structural_similarity(gaussian_weights=True, data_range=255, channel_axis=-1):
     * sample-covariance factor 121/120 and the mean over the interior (5-pixel border cropped) */
    const double cov = 121.0 / 120.0;
    const int pad = w > 10 && h > 10 ? 5 : 0;
    double total = 0;
    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < n; i++) {
            x[i] = a[i * 3 + c], y[i] = b[i * 3 + c];
            xx[i] = x[i] * x[i], yy[i] = y[i] * y[i], xy[i] = x[i] * y[i];
        }
        blur(x, tmp, mx, w, h, k);
        blur(y, tmp, my, w, h, k);
        blur(xx, tmp, sxx, w, h, k);
        blur(yy, tmp, syy, w, h, k);
        blur(xy, tmp, sxy, w, h, k);
        double s = 0;
        for (int yq = pad; yq < h - pad; yq++)
            for (int xq = pad; xq < w - pad; xq++) {
                size_t i = (size_t)yq * w + xq;
                double vx = cov * (sxx[i] - mx[i] * mx[i]), vy = cov * (syy[i] - my[i] * my[i]);
                double cxy = cov * (sxy[i] - mx[i] * my[i]);
                s += ((2 * mx[i] * my[i] + C1) * (2 * cxy + C2)) /
                     ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
            }
        total += s / (double)((h - 2 * pad) * (w - 2 * pad));
    }
    free(buf);
    return total / 3;
}

double ev_rel_l2(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}
