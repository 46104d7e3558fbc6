/* metrics.h — paired quality metrics of two videos (A/B against dense):
 * per-frame PSNR and SSIM on RGB uint8 frames, relative L2 of float arrays.
 * SSIM: Gaussian window 11, sigma 1.5, C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = 255,
 * computed on each RGB channel and averaged (as skimage's channel_axis mode
 * with gaussian_weights=True).  Checked by tests/test_metrics.c against
 * values computed with numpy for the same images. */
#ifndef SPADIT_METRICS_H
#define SPADIT_METRICS_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t, int64_t */

/* PSNR in dB of two [H, W, 3] frames; +inf when identical. */
double ev_psnr(const uint8_t *a, const uint8_t *b, int width, int height);
/* Mean SSIM of two [H, W, 3] frames (1 when identical). */
double ev_ssim(const uint8_t *a, const uint8_t *b, int width, int height);
/* ||a - b|| / ||b|| over n floats. */
double ev_rel_l2(const float *a, const float *b, size_t n);

#endif
