/* test_ops_vae.c — the video-VAE backend ops against naive loops.
 *
 * conv3d: every kernel shape the Wan VAE uses (3x3x3 causal, 1x3x3, 3x1x1,
 * 1x1x1) plus asymmetric kernels and paddings, odd sizes, no bias, and a case
 * large enough to split the column buffer into several row tiles; reference is
 * a direct 7-deep loop in double (rel L2 <= 1e-5).  channel_norm: with and
 * without gamma/beta, in place, and an all-zero position (must give beta, not
 * NaN).  upsample2x, transpose, copy_frames: exact.  Every output carries
 * sentinel elements after its end that must stay untouched.  Bad operands must
 * fail with the documented status and leave a message in be->err.
 */
#include <stdint.h> /* int64_t */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* memcpy */

#include "../dit/backend.h" /* dit_backend, ops */
#include "test_util.h"      /* CHECK, rel_l2, test_summary */

#define GUARD 16
#define SENTINEL 12345.678f

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
static float frand(void) { /* uniform in [-1, 1) */
    g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) * (1.0 / (1 << 24))) * 2.0f - 1.0f;
}
static float *rand_buf(int64_t n) {
    float *p = malloc((size_t)(n + GUARD) * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = frand();
    for (int i = 0; i < GUARD; i++) p[n + i] = SENTINEL;
    return p;
}
static int guard_ok(const float *p, int64_t n) {
    for (int i = 0; i < GUARD; i++)
        if (p[n + i] != SENTINEL) return 0;
    return 1;
}
static dit_tensor t4(float *d, int64_t a, int64_t b, int64_t c, int64_t e) {
    int64_t ne[4] = {a, b, c, e};
    return dit_tensor_make(DIT_DTYPE_F32, DIT_DEVICE_CPU, d, 4, ne);
}

typedef struct conv_case {
    int64_t Ci, Co, T, H, W, kt, kh, kw;
    int pt0, pt1, ph, pw, bias;
} conv_case;

static void conv_ref(const conv_case *c, const float *x, const float *w, const float *b, float *o, int64_t To,
                     int64_t Ho, int64_t Wo) {
    for (int64_t co = 0; co < c->Co; co++)
        for (int64_t t = 0; t < To; t++)
            for (int64_t y = 0; y < Ho; y++)
                for (int64_t xx = 0; xx < Wo; xx++) {
                    double s = b ? b[co] : 0.0;
                    for (int64_t ci = 0; ci < c->Ci; ci++)
                        for (int64_t dt = 0; dt < c->kt; dt++)
                            for (int64_t dy = 0; dy < c->kh; dy++)
                                for (int64_t dx = 0; dx < c->kw; dx++) {
                                    int64_t ti = t + dt - c->pt0, yi = y + dy - c->ph, xi = xx + dx - c->pw;
                                    if (ti < 0 || ti >= c->T || yi < 0 || yi >= c->H || xi < 0 || xi >= c->W) continue;
                                    s += (double)w[(((co * c->Ci + ci) * c->kt + dt) * c->kh + dy) * c->kw + dx] *
                                         x[((ci * c->T + ti) * c->H + yi) * c->W + xi];
                                }
                    o[((co * To + t) * Ho + y) * Wo + xx] = (float)s;
                }
}

static void test_conv3d(dit_backend *be) {
    const conv_case cases[] = {
        {3, 5, 4, 7, 9, 3, 3, 3, 2, 0, 1, 1, 1},    /* Wan causal conv, 2 frames in front */
        {4, 6, 3, 5, 8, 1, 3, 3, 0, 0, 1, 1, 1},    /* Up2d resample conv (2-D) */
        {5, 10, 3, 4, 6, 3, 1, 1, 2, 0, 0, 0, 1},   /* Up3d time_conv */
        {16, 7, 2, 3, 5, 1, 1, 1, 0, 0, 0, 0, 1},   /* 1x1x1 shortcut / post_quant */
        {3, 4, 5, 6, 7, 2, 3, 1, 1, 1, 0, 2, 0},    /* asymmetric kernel and pads, no bias */
        {2, 3, 1, 1, 1, 3, 3, 3, 2, 0, 1, 1, 1},    /* one voxel */
        {3, 2, 3, 4, 5, 3, 3, 3, 0, 0, 1, 1, 1},    /* cache-style input: no time padding */
        {64, 8, 3, 40, 64, 3, 3, 3, 2, 0, 1, 1, 1}, /* several column row tiles */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const conv_case *c = &cases[k];
        int64_t To = c->T + c->pt0 + c->pt1 - c->kt + 1, Ho = c->H + 2 * c->ph - c->kh + 1,
                Wo = c->W + 2 * c->pw - c->kw + 1;
        int64_t nx = c->Ci * c->T * c->H * c->W, nw = c->Co * c->Ci * c->kt * c->kh * c->kw, no = c->Co * To * Ho * Wo;
        float *x = rand_buf(nx), *w = rand_buf(nw), *b = rand_buf(c->Co), *o = rand_buf(no);
        float *ref = malloc((size_t)no * sizeof(float));
        conv_ref(c, x, w, c->bias ? b : NULL, ref, To, Ho, Wo);
        dit_tensor tx = t4(x, c->Ci, c->T, c->H, c->W), to = t4(o, c->Co, To, Ho, Wo);
        int64_t wne[5] = {c->Co, c->Ci, c->kt, c->kh, c->kw};
        dit_tensor tw = dit_tensor_make(DIT_DTYPE_F32, DIT_DEVICE_CPU, w, 5, wne);
        dit_tensor tb = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, b, c->Co);
        dit_status s = be->ops->conv3d(be, &to, &tx, &tw, c->bias ? &tb : NULL, c->pt0, c->pt1, c->ph, c->pw);
        double r = s == DIT_OK ? rel_l2(o, ref, (size_t)no) : 1.0;
        CHECK(s == DIT_OK && r <= 1e-5, "conv3d case %zu: status %d (%s), rel L2 %.3e", k, s, be->err.msg, r);
        CHECK(guard_ok(o, no), "conv3d case %zu wrote past its output", k);
        /* second call into the same output (workspace reuse, bias refill) gives the same numbers */
        float *o2 = malloc((size_t)no * sizeof(float));
        memcpy(o2, o, (size_t)no * sizeof(float));
        s = be->ops->conv3d(be, &to, &tx, &tw, c->bias ? &tb : NULL, c->pt0, c->pt1, c->ph, c->pw);
        CHECK(s == DIT_OK && max_abs_diff(o, o2, (size_t)no) == 0.0, "conv3d case %zu not repeatable", k);
        free(x), free(w), free(b), free(o), free(ref), free(o2);
    }
    /* bad operands */
    float *x = rand_buf(2 * 3 * 4 * 5), *w = rand_buf(6 * 2 * 27), *o = rand_buf(6 * 3 * 4 * 5);
    dit_tensor tx = t4(x, 2, 3, 4, 5), to = t4(o, 6, 3, 4, 5);
    int64_t wne[5] = {6, 2, 3, 3, 3};
    dit_tensor tw = dit_tensor_make(DIT_DTYPE_F32, DIT_DEVICE_CPU, w, 5, wne);
    CHECK(be->ops->conv3d(be, &to, &tx, &tw, NULL, 2, 0, 1, 1) == DIT_OK, "valid conv failed: %s", be->err.msg);
    dit_tensor bad = t4(o, 6, 2, 4, 5);
    CHECK(be->ops->conv3d(be, &bad, &tx, &tw, NULL, 2, 0, 1, 1) == DIT_ERR_SHAPE && strstr(be->err.msg, "out must be"),
          "wrong out shape: %s", be->err.msg);
    dit_tensor xbad = t4(x, 3, 2, 4, 5);
    CHECK(be->ops->conv3d(be, &to, &xbad, &tw, NULL, 2, 0, 1, 1) == DIT_ERR_SHAPE &&
              strstr(be->err.msg, "input channels"),
          "channel mismatch: %s", be->err.msg);
    CHECK(be->ops->conv3d(be, &to, &tx, &tw, NULL, -1, 0, 1, 1) == DIT_ERR_INVALID_ARG, "negative pad: %s",
          be->err.msg);
    CHECK(be->ops->conv3d(be, &to, &tx, &tw, NULL, 0, 0, 0, 0) == DIT_ERR_SHAPE, "valid conv with wrong out: %s",
          be->err.msg);
    dit_tensor tiny = t4(x, 2, 1, 1, 1);
    CHECK(be->ops->conv3d(be, &to, &tiny, &tw, NULL, 0, 0, 0, 0) == DIT_ERR_SHAPE && strstr(be->err.msg, "does not fit"),
          "kernel larger than input: %s", be->err.msg);
    CHECK(be->ops->conv3d(be, &to, NULL, &tw, NULL, 2, 0, 1, 1) == DIT_ERR_INVALID_ARG, "NULL x: %s", be->err.msg);
    free(x), free(w), free(o);
}

static void test_channel_norm(dit_backend *be) {
    const int64_t C = 7, T = 3, H = 5, W = 6, S = T * H * W, n = C * S;
    float *x = rand_buf(n), *g = rand_buf(C), *bt = rand_buf(C), *o = rand_buf(n), *ref = malloc((size_t)n * 4);
    for (int64_t c = 0; c < C; c++) x[c * S + 4] = 0.0f; /* position 4 is an all-zero vector */
    for (int mode = 0; mode < 3; mode++) {               /* gamma+beta, gamma only, neither */
        const float *gg = mode < 2 ? g : NULL, *bb = mode == 0 ? bt : NULL;
        for (int64_t s = 0; s < S; s++) {
            double ss = 0;
            for (int64_t c = 0; c < C; c++) ss += (double)x[c * S + s] * x[c * S + s];
            double d = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12;
            for (int64_t c = 0; c < C; c++)
                ref[c * S + s] = (float)(x[c * S + s] / d * sqrt((double)C) * (gg ? gg[c] : 1.0) + (bb ? bb[c] : 0.0));
        }
        dit_tensor tx = t4(x, C, T, H, W), to = t4(o, C, T, H, W);
        dit_tensor tg = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, g, C),
                   tb = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, bt, C);
        dit_status s = be->ops->channel_norm(be, &to, &tx, gg ? &tg : NULL, bb ? &tb : NULL);
        double r = rel_l2(o, ref, (size_t)n);
        CHECK(s == DIT_OK && r <= 1e-6, "channel_norm mode %d: status %d, rel L2 %.3e", mode, s, r);
        CHECK(guard_ok(o, n), "channel_norm wrote past its output");
        CHECK(o[4] == (bb ? bb[0] : 0.0f), "zero vector must normalise to beta, got %g", o[4]);
    }
    /* in place */
    float *y = malloc((size_t)n * 4);
    memcpy(y, x, (size_t)n * 4);
    dit_tensor ty = t4(y, C, T, H, W);
    dit_tensor tg = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, g, C);
    dit_tensor tx = t4(x, C, T, H, W), to = t4(o, C, T, H, W);
    be->ops->channel_norm(be, &to, &tx, &tg, NULL);
    CHECK(be->ops->channel_norm(be, &ty, &ty, &tg, NULL) == DIT_OK && max_abs_diff(y, o, (size_t)n) == 0.0,
          "in-place channel_norm differs");
    dit_tensor g_bad = dit_tensor_1d(DIT_DTYPE_F32, DIT_DEVICE_CPU, g, C - 1);
    CHECK(be->ops->channel_norm(be, &to, &tx, &g_bad, NULL) == DIT_ERR_SHAPE && strstr(be->err.msg, "gamma"),
          "short gamma: %s", be->err.msg);
    dit_tensor o_bad = t4(o, C, T, H, W - 1);
    CHECK(be->ops->channel_norm(be, &o_bad, &tx, &tg, NULL) == DIT_ERR_SHAPE, "out shape: %s", be->err.msg);
    free(x), free(g), free(bt), free(o), free(ref), free(y);
}

static void test_upsample(dit_backend *be) {
    const int64_t C = 3, T = 2, H = 5, W = 7, n = C * T * H * W, no = 4 * n;
    float *x = rand_buf(n), *o = rand_buf(no);
    dit_tensor tx = t4(x, C, T, H, W), to = t4(o, C, T, 2 * H, 2 * W);
    CHECK(be->ops->upsample2x(be, &to, &tx) == DIT_OK, "upsample2x: %s", be->err.msg);
    int64_t bad = 0;
    for (int64_t p = 0; p < C * T; p++)
        for (int64_t y = 0; y < 2 * H; y++)
            for (int64_t xx = 0; xx < 2 * W; xx++)
                bad += o[(p * 2 * H + y) * 2 * W + xx] != x[(p * H + y / 2) * W + xx / 2];
    CHECK(bad == 0, "upsample2x: %lld wrong values", (long long)bad);
    CHECK(guard_ok(o, no), "upsample2x wrote past its output");
    dit_tensor o_bad = t4(o, C, T, 2 * H, 2 * W - 1);
    CHECK(be->ops->upsample2x(be, &o_bad, &tx) == DIT_ERR_SHAPE, "upsample2x bad out: %s", be->err.msg);
    free(x), free(o);
}

static void test_transpose(dit_backend *be) {
    const int64_t R = 37, C = 53;
    float *x = rand_buf(R * C), *o = rand_buf(R * C);
    dit_tensor tx = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, x, R, C);
    dit_tensor to = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, o, C, R);
    CHECK(be->ops->transpose(be, &to, &tx) == DIT_OK, "transpose: %s", be->err.msg);
    int64_t bad = 0;
    for (int64_t i = 0; i < R; i++)
        for (int64_t j = 0; j < C; j++) bad += o[j * R + i] != x[i * C + j];
    CHECK(bad == 0 && guard_ok(o, R * C), "transpose: %lld wrong values", (long long)bad);
    /* [C, T, H, W] viewed [C, THW] -> [THW, C] (how the VAE attention uses it) */
    dit_tensor x4 = t4(x, 1, 1, R, C);
    CHECK(be->ops->transpose(be, &to, &x4) == DIT_OK, "transpose of a 4-D view: %s", be->err.msg);
    dit_tensor o_bad = dit_tensor_2d(DIT_DTYPE_F32, DIT_DEVICE_CPU, o, R, C);
    CHECK(be->ops->transpose(be, &o_bad, &tx) == DIT_ERR_SHAPE, "transpose bad out: %s", be->err.msg);
    free(x), free(o);
}

static void test_copy_frames(dit_backend *be) {
    const int64_t C = 3, Ts = 4, Td = 6, H = 2, W = 3, HW = H * W;
    float *s = rand_buf(C * Ts * HW), *d = rand_buf(C * Td * HW), *d0 = malloc((size_t)(C * Td * HW) * 4);
    memcpy(d0, d, (size_t)(C * Td * HW) * 4);
    dit_tensor ts = t4(s, C, Ts, H, W), td = t4(d, C, Td, H, W);
    CHECK(be->ops->copy_frames(be, &td, 3, &ts, 1, 2) == DIT_OK, "copy_frames: %s", be->err.msg);
    int64_t bad = 0;
    for (int64_t c = 0; c < C; c++)
        for (int64_t f = 0; f < Td; f++)
            for (int64_t i = 0; i < HW; i++) {
                float want = (f >= 3 && f < 5) ? s[(c * Ts + f - 2) * HW + i] : d0[(c * Td + f) * HW + i];
                bad += d[(c * Td + f) * HW + i] != want;
            }
    CHECK(bad == 0 && guard_ok(d, C * Td * HW), "copy_frames: %lld wrong values", (long long)bad);
    /* overlapping ranges inside one tensor (frames 1..2 -> 0..1, the cache shift) */
    memcpy(d0, d, (size_t)(C * Td * HW) * 4);
    CHECK(be->ops->copy_frames(be, &td, 0, &td, 1, 2) == DIT_OK, "copy_frames in place: %s", be->err.msg);
    bad = 0;
    for (int64_t c = 0; c < C; c++)
        for (int64_t f = 0; f < 2; f++)
            for (int64_t i = 0; i < HW; i++) bad += d[(c * Td + f) * HW + i] != d0[(c * Td + f + 1) * HW + i];
    CHECK(bad == 0, "overlapping copy_frames: %lld wrong values", (long long)bad);
    CHECK(be->ops->copy_frames(be, &td, 5, &ts, 0, 2) == DIT_ERR_INVALID_ARG && strstr(be->err.msg, "out of range"),
          "copy past the end: %s", be->err.msg);
    dit_tensor ts_bad = t4(s, C, Ts, W, H);
    CHECK(be->ops->copy_frames(be, &td, 0, &ts_bad, 0, 1) == DIT_ERR_SHAPE, "frame size mismatch: %s", be->err.msg);
    CHECK(be->ops->copy_frames(be, &td, 0, &ts, 0, 0) == DIT_OK, "n = 0 must be a no-op");
    free(s), free(d), free(d0);
}

int main(void) {
    dit_err err = {0};
    dit_backend *be = NULL;
    if (dit_backend_create("cpu", &be, &err) != DIT_OK) {
        printf("cpu backend: %s\n", err.msg);
        return 1;
    }
    test_conv3d(be);
    test_channel_norm(be);
    test_upsample(be);
    test_transpose(be);
    test_copy_frames(be);
    dit_backend_destroy(&be);
    return test_summary("test_ops_vae");
}
