/* patch.c — patchify/unpatchify and 3D rotary tables (see patch.h).
 * Checked by tests/test_ops.c (round trip, hand-computed angles) and by the
 * Wan goldens, where diffusers' own Conv3d and RoPE produce the reference. */
#include "patch.h"

#include <math.h> /* cos, sin, pow */

void dit_patchify(const dit_grid *g, const float *latent, float *tokens) {
    int64_t Fp = g->F / g->pt, Hp = g->H / g->ph, Wp = g->W / g->pw;
    int64_t P = dit_grid_patch_dim(g);
#pragma omp parallel for schedule(static)
    for (int64_t f = 0; f < Fp; f++)
        for (int64_t i = 0; i < Hp; i++)
            for (int64_t j = 0; j < Wp; j++) {
                float *tok = tokens + ((f * Hp + i) * Wp + j) * P;
                int64_t k = 0;
                for (int64_t c = 0; c < g->C; c++)
                    for (int dt = 0; dt < g->pt; dt++)
                        for (int dy = 0; dy < g->ph; dy++)
                            for (int dx = 0; dx < g->pw; dx++) {
                                int64_t ff = f * g->pt + dt, yy = i * g->ph + dy, xx = j * g->pw + dx;
                                tok[k++] = latent[((c * g->F + ff) * g->H + yy) * g->W + xx];
                            }
            }
}

void dit_unpatchify(const dit_grid *g, const float *y, float *latent) {
    int64_t Fp = g->F / g->pt, Hp = g->H / g->ph, Wp = g->W / g->pw;
    int64_t P = dit_grid_patch_dim(g);
#pragma omp parallel for schedule(static)
    for (int64_t f = 0; f < Fp; f++)
        for (int64_t i = 0; i < Hp; i++)
            for (int64_t j = 0; j < Wp; j++) {
                const float *tok = y + ((f * Hp + i) * Wp + j) * P;
                int64_t k = 0;
                for (int dt = 0; dt < g->pt; dt++)
                    for (int dy = 0; dy < g->ph; dy++)
                        for (int dx = 0; dx < g->pw; dx++)
                            for (int64_t c = 0; c < g->C; c++) {
                                int64_t ff = f * g->pt + dt, yy = i * g->ph + dy, xx = j * g->pw + dx;
                                latent[((c * g->F + ff) * g->H + yy) * g->W + xx] = tok[k++];
                            }
            }
}

void dit_rope3d_table(int64_t Fp, int64_t Hp, int64_t Wp, int head_dim, double base, const int64_t *order,
                      int64_t n0, int64_t count, float *out) {
    (void)Fp; /* positions come from the flat index; Fp documents the grid */
    int half = head_dim / 2;
    int ph = head_dim / 6, pw = ph, pt = half - ph - pw;
    double inv[256];
    for (int p = 0; p < half && p < 256; p++) {
        int k, dimax;
        if (p < pt) {
            k = p;
            dimax = 2 * pt;
        } else if (p < pt + ph) {
            k = p - pt;
            dimax = 2 * ph;
        } else {
            k = p - pt - ph;
            dimax = 2 * pw;
        }
        inv[p] = 1.0 / pow(base, (double)(2 * k) / (double)dimax);
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < count; r++) {
        int64_t n = order ? order[r] : n0 + r;
        int64_t f = n / (Hp * Wp), i = (n / Wp) % Hp, j = n % Wp;
        float *row = out + r * head_dim;
        for (int p = 0; p < half; p++) {
            double pos = p < pt ? (double)f : p < pt + ph ? (double)i : (double)j;
            double a = pos * inv[p];
            row[2 * p] = (float)cos(a);
            row[2 * p + 1] = (float)sin(a);
        }
    }
}
