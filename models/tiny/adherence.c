/* adherence.c — the caption-adherence checker (method in adherence.h).
 * Checked by tests/test_adherence.c: committed clips from tools/tiny/data.py score 1 with
 * their captions and lower with wrong ones; empty and bad inputs fail cleanly. */
#include "adherence.h"

#include <math.h>   /* sqrt, atan2, hypot */
#include <stdlib.h> /* calloc, free */
#include <string.h> /* memset */

#define FG_MIN_DIST 40.0f   /* an object pixel differs from the background by at least this (RGB) */
#define MOVE_MIN 0.08       /* displacement (frame units) that counts as motion */
#define GROW_MOVE_MAX 0.12  /* grows / shrinks only when the object moves less than this */
#define GROW_RATIO 1.3      /* linear size change that counts as growing / shrinking */
#define SHARE_SEEN 0.04     /* a colour with this share of the main colour's votes is an object */

typedef struct work {
    int64_t H, W;
    float *plane;   /* [H*W*3] background model */
    int8_t *lab;    /* [H*W] per-frame labels: -1 background, else object colour */
    int32_t *comp;  /* [H*W] component id of the main colour (0: none) */
    int32_t *stack; /* [H*W] flood-fill stack */
} work;

static void work_free(work *w) {
    free(w->plane), free(w->lab), free(w->comp), free(w->stack);
    memset(w, 0, sizeof *w);
}

/* --- 1. background ---------------------------------------------------------------- */

/* Per-pixel temporal median (histogram of the T values), into plane[]. */
static void temporal_median(const uint8_t *rgb, int64_t T, int64_t HW, float *out) {
    int hist[256];
    for (int64_t p = 0; p < HW * 3; p++) {
        memset(hist, 0, sizeof hist);
        for (int64_t t = 0; t < T; t++) hist[rgb[t * HW * 3 + p]]++;
        int64_t half = (T + 1) / 2, acc = 0;
        int v = 0;
        while (v < 255 && (acc += hist[v]) < half) v++;
        out[p] = (float)v;
    }
}

/* Robust plane a + b u + c v per channel through img (u, v in [-0.5, 0.5]): least
 * squares over the pixels within `thr` (RGB distance) of the previous fit, thresholds
 * shrinking 1e9 -> 60 -> 35 -> 25.  Writes the fitted plane over img. */
static void fit_plane(float *img, int64_t H, int64_t W) {
    const float thr[4] = {1e9f, 60.f, 35.f, 25.f};
    double coef[3][3] = {{0}};
    for (int it = 0; it < 4; it++) {
        double A[3][3] = {{0}}, b[3][3] = {{0}};
        int64_t used = 0;
        for (int64_t y = 0; y < H; y++) {
            double v = ((double)y + 0.5) / (double)H - 0.5;
            for (int64_t x = 0; x < W; x++) {
                double u = ((double)x + 0.5) / (double)W - 0.5, f[3] = {1.0, u, v};
                const float *px = img + (y * W + x) * 3;
                if (it > 0) {
                    double d2 = 0;
                    for (int c = 0; c < 3; c++) {
                        double e = px[c] - (coef[c][0] + coef[c][1] * u + coef[c][2] * v);
                        d2 += e * e;
                    }
                    if (d2 > (double)thr[it] * thr[it]) continue;
                }
                used++;
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 3; j++) A[i][j] += f[i] * f[j];
                    for (int c = 0; c < 3; c++) b[c][i] += f[i] * px[c];
                }
            }
        }
        if (used < (H * W) / 10) break; /* too few inliers: keep the previous fit */
        for (int c = 0; c < 3; c++) { /* solve the 3x3 system by Cramer's rule */
            double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                         A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                         A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
            if (fabs(det) < 1e-12) continue;
            for (int k = 0; k < 3; k++) {
                double M[3][3];
                memcpy(M, A, sizeof M);
                for (int i = 0; i < 3; i++) M[i][k] = b[c][i];
                coef[c][k] = (M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) -
                              M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) +
                              M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0])) /
                             det;
            }
        }
    }
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            double u = ((double)x + 0.5) / (double)W - 0.5, v = ((double)y + 0.5) / (double)H - 0.5;
            for (int c = 0; c < 3; c++) img[(y * W + x) * 3 + c] = (float)(coef[c][0] + coef[c][1] * u + coef[c][2] * v);
        }
}

/* --- 2. labels ---------------------------------------------------------------------- */

static void label_frame(const uint8_t *f, const float *plane, int64_t HW, const float pal[][3], int8_t *lab) {
    for (int64_t p = 0; p < HW; p++) {
        const uint8_t *px = f + p * 3;
        const float *bg = plane + p * 3;
        float db = 0;
        for (int c = 0; c < 3; c++) db += (px[c] - bg[c]) * (px[c] - bg[c]);
        int best = -1;
        float dbest = db;
        for (int k = 0; k < TINY_OBJECT_COLOURS; k++) {
            float d = 0;
            for (int c = 0; c < 3; c++) d += (px[c] - pal[k][c]) * (px[c] - pal[k][c]);
            if (d < dbest) dbest = d, best = k;
        }
        lab[p] = (int8_t)(db > FG_MIN_DIST * FG_MIN_DIST ? best : -1);
    }
}

/* --- 3. the main object's component --------------------------------------------------- */

typedef struct blob {
    int64_t area;
    double cx, cy;
    int64_t x0, y0, x1, y1;
} blob;

/* Largest 4-connected component of label `k`; comp[] gets 1 on it, 0 elsewhere. */
static blob largest_component(work *w, int k) {
    int64_t H = w->H, W = w->W, HW = H * W;
    blob best = {0, 0, 0, 0, 0, 0, 0};
    int32_t best_id = 0, id = 0;
    memset(w->comp, 0, (size_t)HW * sizeof(int32_t));
    for (int64_t s = 0; s < HW; s++) {
        if (w->lab[s] != k || w->comp[s]) continue;
        blob b = {0, 0, 0, W, H, -1, -1};
        int64_t top = 0;
        w->stack[top++] = (int32_t)s;
        w->comp[s] = ++id;
        while (top > 0) {
            int64_t p = w->stack[--top], x = p % W, y = p / W;
            b.area++, b.cx += (double)x + 0.5, b.cy += (double)y + 0.5;
            if (x < b.x0) b.x0 = x;
            if (x > b.x1) b.x1 = x;
            if (y < b.y0) b.y0 = y;
            if (y > b.y1) b.y1 = y;
            int64_t nb[4] = {x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1, y < H - 1 ? p + W : -1};
            for (int j = 0; j < 4; j++)
                if (nb[j] >= 0 && w->lab[nb[j]] == k && !w->comp[nb[j]]) {
                    w->comp[nb[j]] = id;
                    w->stack[top++] = (int32_t)nb[j];
                }
        }
        if (b.area > best.area) best = b, best_id = id;
    }
    for (int64_t p = 0; p < HW; p++) w->comp[p] = w->comp[p] == best_id && best_id > 0;
    if (best.area > 0) best.cx /= (double)best.area, best.cy /= (double)best.area;
    return best;
}

/* IoU of comp[] (the blob) with shape s fitted to the blob's bounding box. */
static double shape_iou(const work *w, const blob *b, int s) {
    float xy[2 * TINY_MAX_VERTICES];
    int n = tiny_shape_polygon(s, xy);
    float tx0 = -1, tx1 = 1, ty0 = -1, ty1 = 1;
    if (n > 0) {
        tx0 = tx1 = xy[0], ty0 = ty1 = xy[1];
        for (int i = 1; i < n; i++) {
            tx0 = fminf(tx0, xy[2 * i]), tx1 = fmaxf(tx1, xy[2 * i]);
            ty0 = fminf(ty0, xy[2 * i + 1]), ty1 = fmaxf(ty1, xy[2 * i + 1]);
        }
    }
    double bw = (double)(b->x1 - b->x0 + 1), bh = (double)(b->y1 - b->y0 + 1);
    double r = 0.5 * (bw / (tx1 - tx0) + bh / (ty1 - ty0));
    double ox = 0.5 * (double)(b->x0 + b->x1 + 1) - r * 0.5 * (tx0 + tx1);
    double oy = 0.5 * (double)(b->y0 + b->y1 + 1) - r * 0.5 * (ty0 + ty1);
    int64_t inter = 0, uni = 0;
    for (int64_t y = b->y0 - 2; y <= b->y1 + 2; y++) {
        if (y < 0 || y >= w->H) continue;
        for (int64_t x = b->x0 - 2; x <= b->x1 + 2; x++) {
            if (x < 0 || x >= w->W) continue;
            int m = w->comp[y * w->W + x] != 0;
            int t = tiny_shape_inside(s, xy, n, (float)(((double)x + 0.5 - ox) / r), (float)(((double)y + 0.5 - oy) / r));
            inter += m && t, uni += m || t;
        }
    }
    return uni ? (double)inter / (double)uni : 0.0;
}

/* --- 4. motion ---------------------------------------------------------------------- */

/* Intercept a and slope b of the least-squares line y = a + b t through the n rows of
 * track[n][4] = (t, cx, cy, sqrt area), using column `col` as y. */
static void line_fit(const double *track, int col, int n, double *a, double *b) {
    double st = 0, sy = 0, stt = 0, sty = 0;
    for (int i = 0; i < n; i++) {
        double t = track[4 * i], y = track[4 * i + col];
        st += t, sy += y, stt += t * t, sty += t * y;
    }
    double den = n * stt - st * st;
    *b = fabs(den) > 1e-12 ? (n * sty - st * sy) / den : 0.0;
    *a = (sy - *b * st) / n;
}

static int classify_motion(double dx, double dy, double ratio) {
    double move = hypot(dx, dy);
    if (move < GROW_MOVE_MAX && ratio >= GROW_RATIO) return TINY_MOTION_GROWS;
    if (move < GROW_MOVE_MAX && ratio <= 1.0 / GROW_RATIO) return TINY_MOTION_SHRINKS;
    if (move < MOVE_MIN) return -1;
    /* 8 sectors of 45 degrees, y pointing down: 0 right, 1 down-right, 2 down, ... */
    static const int sector_motion[8] = {TINY_MOTION_RIGHT, TINY_MOTION_DOWN_RIGHT, TINY_MOTION_DOWN,
                                         TINY_MOTION_DOWN_LEFT, TINY_MOTION_LEFT, TINY_MOTION_UP_LEFT,
                                         TINY_MOTION_UP, TINY_MOTION_UP_RIGHT};
    double a = atan2(dy, dx) / (3.14159265358979 / 4.0); /* in units of 45 degrees */
    int k = (int)floor(a + 0.5);
    return sector_motion[((k % 8) + 8) % 8];
}

/* Per frame: the main colour's largest blob, its track and shape fit; then the motion. */
static void track_object(const uint8_t *rgb, int64_t T, work *w, const float pal[][3], int main_c, int64_t min_area,
                         double *track, tiny_detection *out) {
    int64_t H = w->H, W = w->W, HW = H * W;
    double iou_sum[TINY_SHAPE_COUNT] = {0};
    int n = 0, n_shape = 0;
    for (int64_t t = 0; t < T; t++) {
        label_frame(rgb + t * HW * 3, w->plane, HW, pal, w->lab);
        blob b = largest_component(w, main_c);
        if (b.area < min_area) continue;
        track[4 * n + 0] = T > 1 ? (double)t / (double)(T - 1) : 0.0;
        track[4 * n + 1] = b.cx, track[4 * n + 2] = b.cy, track[4 * n + 3] = sqrt((double)b.area);
        n++;
        if (b.x0 > 0 && b.y0 > 0 && b.x1 < W - 1 && b.y1 < H - 1 && b.area >= 2 * min_area) {
            for (int s = 0; s < TINY_SHAPE_COUNT; s++) iou_sum[s] += shape_iou(w, &b, s);
            n_shape++;
        }
    }
    out->frames_found = n, out->frames_shape = n_shape;
    if (n_shape > 0) {
        int best = 0, second = -1;
        for (int s = 1; s < TINY_SHAPE_COUNT; s++)
            if (iou_sum[s] > iou_sum[best]) best = s;
        for (int s = 0; s < TINY_SHAPE_COUNT; s++)
            if (s != best && (second < 0 || iou_sum[s] > iou_sum[second])) second = s;
        out->shape = best;
        out->shape_iou = iou_sum[best] / n_shape;
        out->shape_margin = (iou_sum[best] - iou_sum[second]) / n_shape;
    }
    if (n >= 2 && T > 1) {
        double a, bx, by, as, bs;
        line_fit(track, 1, n, &a, &bx);
        line_fit(track, 2, n, &a, &by);
        line_fit(track, 3, n, &as, &bs);
        out->dx = bx / (double)W, out->dy = by / (double)H;
        out->size_ratio = as > 1e-3 ? (as + bs > 0 ? (as + bs) / as : 0.0) : 1.0;
        out->motion = classify_motion(out->dx, out->dy, out->size_ratio);
    }
}

/* --- the detector ------------------------------------------------------------------- */

dit_status tiny_detect(const uint8_t *rgb, int64_t T, int64_t H, int64_t W, tiny_detection *out, dit_err *err) {
    if (!rgb || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "adherence: NULL frames or output");
    if (T < 1 || H < 8 || W < 8 || T > 4096 || H > 8192 || W > 8192)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "adherence: frames %lldx%lldx%lld; need T >= 1, 8 <= H, W <= 8192",
                        (long long)T, (long long)H, (long long)W);
    memset(out, 0, sizeof *out);
    out->colour = out->shape = out->motion = -1;
    out->size_ratio = 1.0;
    int64_t HW = H * W;
    work w = {H, W, calloc((size_t)HW * 3, sizeof(float)), calloc((size_t)HW, 1), calloc((size_t)HW, sizeof(int32_t)),
              calloc((size_t)HW, sizeof(int32_t))};
    double *track = calloc((size_t)T * 4, sizeof(double));
    if (!w.plane || !w.lab || !w.comp || !w.stack || !track) {
        work_free(&w), free(track);
        return DIT_FAIL(err, DIT_ERR_OOM, "adherence: workspace for %lldx%lld frames", (long long)H, (long long)W);
    }
    float pal[TINY_OBJECT_COLOURS][3];
    for (int k = 0; k < TINY_OBJECT_COLOURS; k++) {
        uint8_t c[3];
        tiny_colour_rgb(k, c);
        for (int j = 0; j < 3; j++) pal[k][j] = c[j];
    }
    temporal_median(rgb, T, HW, w.plane);
    fit_plane(w.plane, H, W);

    /* colour votes from core pixels */
    int64_t votes[TINY_OBJECT_COLOURS] = {0}, total = 0;
    for (int64_t t = 0; t < T; t++) {
        label_frame(rgb + t * HW * 3, w.plane, HW, pal, w.lab);
        for (int64_t y = 1; y < H - 1; y++)
            for (int64_t x = 1; x < W - 1; x++) {
                int8_t k = w.lab[y * W + x];
                if (k >= 0 && w.lab[y * W + x - 1] == k && w.lab[y * W + x + 1] == k && w.lab[(y - 1) * W + x] == k &&
                    w.lab[(y + 1) * W + x] == k)
                    votes[k]++, total++;
            }
    }
    int main_c = 0;
    for (int k = 1; k < TINY_OBJECT_COLOURS; k++)
        if (votes[k] > votes[main_c]) main_c = k;
    int64_t min_area = HW / 2500 > 8 ? HW / 2500 : 8; /* 14 px at 192x192 */
    if (votes[main_c] >= min_area) {                  /* else nothing looks like an object */
        out->colour = main_c;
        out->colour_share = (double)votes[main_c] / (double)total;
        for (int k = 0; k < TINY_OBJECT_COLOURS; k++) out->n_colours += votes[k] >= SHARE_SEEN * (double)votes[main_c];
        track_object(rgb, T, &w, pal, main_c, min_area, track, out);
    }
    work_free(&w);
    free(track);
    return DIT_OK;
}

dit_status tiny_adherence_judge(const tiny_detection *det, const char *caption, tiny_adherence *out, dit_err *err) {
    if (!det || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "adherence: NULL detection or output");
    memset(out, 0, sizeof *out);
    DIT_TRY(tiny_caption_parse(caption, &out->caption, err));
    out->det = *det;
    const tiny_object *o = &out->caption.obj[0];
    out->colour_ok = det->colour == (int)o->colour;
    out->shape_ok = det->shape == (int)o->shape;
    out->motion_ok = det->motion == (int)o->motion;
    out->score = (out->colour_ok + out->shape_ok + out->motion_ok) / 3.0;
    return DIT_OK;
}

dit_status tiny_adherence_score(const uint8_t *rgb, int64_t T, int64_t H, int64_t W, const char *caption,
                                tiny_adherence *out, dit_err *err) {
    if (!out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "adherence: NULL output");
    memset(out, 0, sizeof *out);
    tiny_caption probe; /* a bad caption fails before the (longer) detection */
    DIT_TRY(tiny_caption_parse(caption, &probe, err));
    tiny_detection det;
    DIT_TRY(tiny_detect(rgb, T, H, W, &det, err));
    return tiny_adherence_judge(&det, caption, out, err);
}
