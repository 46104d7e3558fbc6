/* caption.c — tables and template-grammar parser of the tiny model's captions (caption.h).
 * Checked by tests/test_adherence.c (valid captions, unknown words, broken grammar, and
 * clips rendered by tools/tiny/data.py that use these tables). */
#include "caption.h"

#include <ctype.h>  /* tolower, isspace */
#include <math.h>   /* cosf, sinf */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp, strlen */

static const char *const k_colour_names[TINY_COLOUR_COUNT] = {"red",    "orange", "yellow", "green", "cyan",
                                                               "blue",   "purple", "white",  "black", "gray"};
static const uint8_t k_colour_rgb[TINY_COLOUR_COUNT][3] = {
    {215, 30, 40}, {250, 130, 0}, {240, 225, 40}, {40, 170, 60},   {40, 205, 215},
    {40, 70, 225}, {140, 50, 190}, {240, 240, 240}, {20, 20, 20}, {128, 128, 128}};
static const char *const k_shape_names[TINY_SHAPE_COUNT] = {"circle", "square", "triangle",
                                                             "star",   "diamond", "cross"};
static const char *const k_motion_names[TINY_MOTION_COUNT] = {"left",      "right",      "up",    "down",
                                                               "up-left",   "up-right",   "down-left",
                                                               "down-right", "grows",     "shrinks"};
static const int k_motion_vec[TINY_MOTION_COUNT][3] = {{-1, 0, 0}, {1, 0, 0},  {0, -1, 0}, {0, 1, 0},  {-1, -1, 0},
                                                        {1, -1, 0}, {-1, 1, 0}, {1, 1, 0},  {0, 0, 1},  {0, 0, -1}};

const char *tiny_colour_name(int c) { return c >= 0 && c < TINY_COLOUR_COUNT ? k_colour_names[c] : "?"; }
const char *tiny_shape_name(int s) { return s >= 0 && s < TINY_SHAPE_COUNT ? k_shape_names[s] : "?"; }
const char *tiny_motion_name(int m) { return m >= 0 && m < TINY_MOTION_COUNT ? k_motion_names[m] : "?"; }

int tiny_colour_rgb(int c, uint8_t rgb[3]) {
    if (c < 0 || c >= TINY_COLOUR_COUNT) return -1;
    memcpy(rgb, k_colour_rgb[c], 3);
    return 0;
}

int tiny_motion_vector(int m, int *dx, int *dy, int *growth) {
    if (m < 0 || m >= TINY_MOTION_COUNT) return -1;
    *dx = k_motion_vec[m][0], *dy = k_motion_vec[m][1], *growth = k_motion_vec[m][2];
    return 0;
}

int tiny_shape_polygon(int s, float *xy) {
    const float pi = 3.14159265358979f;
    int n = 0;
    switch (s) {
    case TINY_SHAPE_CIRCLE: return 0;
    case TINY_SHAPE_SQUARE: {
        const float a = 0.85f, v[8] = {-a, -a, a, -a, a, a, -a, a};
        memcpy(xy, v, sizeof v);
        return 4;
    }
    case TINY_SHAPE_DIAMOND: {
        const float r = 1.15f, v[8] = {0, -r, r, 0, 0, r, -r, 0};
        memcpy(xy, v, sizeof v);
        return 4;
    }
    case TINY_SHAPE_TRIANGLE: { /* equilateral, apex up, centroid at 0 */
        const float r = 1.2f, ang[3] = {-pi / 2, pi / 6, 5 * pi / 6};
        for (n = 0; n < 3; n++) xy[2 * n] = r * cosf(ang[n]), xy[2 * n + 1] = r * sinf(ang[n]);
        return 3;
    }
    case TINY_SHAPE_STAR: /* five points, apex up, inner radius 0.5 */
        for (n = 0; n < 10; n++) {
            float rr = n % 2 == 0 ? 1.25f : 0.5f, a = -pi / 2 + (float)n * pi / 5;
            xy[2 * n] = rr * cosf(a), xy[2 * n + 1] = rr * sinf(a);
        }
        return 10;
    case TINY_SHAPE_CROSS: {
        const float w = 0.36f, l = 1.0f;
        const float v[24] = {-w, -l, w, -l, w, -w, l, -w, l, w, w, w, w, l, -w, l, -w, w, -l, w, -l, -w, -w, -w};
        memcpy(xy, v, sizeof v);
        return 12;
    }
    }
    return -1;
}

int tiny_shape_inside(int s, const float *xy, int n, float u, float v) {
    if (s == TINY_SHAPE_CIRCLE || n == 0) return u * u + v * v < 1.0f;
    int in = 0;
    for (int i = 0; i < n; i++) { /* crossing number along +x, as data.py */
        float ax = xy[2 * i], ay = xy[2 * i + 1];
        float bx = xy[2 * ((i + 1) % n)], by = xy[2 * ((i + 1) % n) + 1];
        if (ay == by || (ay > v) == (by > v)) continue;
        if (u < ax + (v - ay) * ((bx - ax) / (by - ay))) in ^= 1;
    }
    return in;
}

/* --- parser ------------------------------------------------------------------------- */

#define MAX_WORDS 48
#define MAX_CHARS 512

typedef struct words {
    char buf[MAX_CHARS];
    const char *w[MAX_WORDS];
    int n, i;
} words;

static const char *peek(const words *ws, int k) { return ws->i + k < ws->n ? ws->w[ws->i + k] : ""; }

static int lookup(const char *w, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(w, names[i])) return i;
    return -1;
}

static dit_status expected(const words *ws, dit_err *err, const char *what) {
    if (ws->i >= ws->n)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "caption ends after %d words; expected %s", ws->n, what);
    return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "caption word %d '%s': expected %s", ws->i + 1, ws->w[ws->i], what);
}

static dit_status want_word(words *ws, const char *w, dit_err *err) {
    if (strcmp(peek(ws, 0), w) != 0) {
        char what[64];
        snprintf(what, sizeof what, "'%s'", w);
        return expected(ws, err, what);
    }
    ws->i++;
    return DIT_OK;
}

static dit_status parse_colour(words *ws, int object, tiny_colour *c, dit_err *err) {
    int k = lookup(peek(ws, 0), k_colour_names, TINY_COLOUR_COUNT);
    if (k < 0)
        return expected(ws, err, "a colour (red, orange, yellow, green, cyan, blue, purple, white, black, gray)");
    if (object && k >= TINY_OBJECT_COLOURS)
        return expected(ws, err, "an object colour (black and gray are background colours)");
    *c = (tiny_colour)k;
    ws->i++;
    return DIT_OK;
}

static dit_status parse_object(words *ws, tiny_object *o, dit_err *err) {
    if (strcmp(peek(ws, 0), "a") != 0 && strcmp(peek(ws, 0), "an") != 0) return expected(ws, err, "'a' or 'an'");
    ws->i++;
    o->size = TINY_SIZE_MEDIUM;
    if (!strcmp(peek(ws, 0), "small")) o->size = TINY_SIZE_SMALL, ws->i++;
    else if (!strcmp(peek(ws, 0), "big")) o->size = TINY_SIZE_BIG, ws->i++;
    DIT_TRY(parse_colour(ws, 1, &o->colour, err));
    int s = lookup(peek(ws, 0), k_shape_names, TINY_SHAPE_COUNT);
    if (s < 0) return expected(ws, err, "a shape (circle, square, triangle, star, diamond, cross)");
    o->shape = (tiny_shape)s;
    ws->i++;
    return DIT_OK;
}

static dit_status parse_side(words *ws, int *left, dit_err *err) { /* "to the left|right" */
    DIT_TRY(want_word(ws, "to", err));
    DIT_TRY(want_word(ws, "the", err));
    if (!strcmp(peek(ws, 0), "left")) *left = 1;
    else if (!strcmp(peek(ws, 0), "right")) *left = 0;
    else return expected(ws, err, "'left' or 'right'");
    ws->i++;
    return DIT_OK;
}

static dit_status parse_motion(words *ws, tiny_motion *m, dit_err *err) {
    const char *w = peek(ws, 0);
    if (!strcmp(w, "grows") || !strcmp(w, "shrinks")) {
        *m = w[0] == 'g' ? TINY_MOTION_GROWS : TINY_MOTION_SHRINKS;
        ws->i++;
        return DIT_OK;
    }
    if (strcmp(w, "moves") != 0) return expected(ws, err, "'moves', 'grows' or 'shrinks'");
    ws->i++;
    int left;
    if (!strcmp(peek(ws, 0), "to")) {
        DIT_TRY(parse_side(ws, &left, err));
        *m = left ? TINY_MOTION_LEFT : TINY_MOTION_RIGHT;
        return DIT_OK;
    }
    int up = !strcmp(peek(ws, 0), "up");
    if (!up && strcmp(peek(ws, 0), "down") != 0) return expected(ws, err, "'to', 'up' or 'down'");
    ws->i++;
    *m = up ? TINY_MOTION_UP : TINY_MOTION_DOWN;
    if (!strcmp(peek(ws, 0), "and") && !strcmp(peek(ws, 1), "to")) { /* diagonal */
        ws->i++;
        DIT_TRY(parse_side(ws, &left, err));
        *m = up ? (left ? TINY_MOTION_UP_LEFT : TINY_MOTION_UP_RIGHT)
                : (left ? TINY_MOTION_DOWN_LEFT : TINY_MOTION_DOWN_RIGHT);
    }
    return DIT_OK;
}

dit_status tiny_caption_parse(const char *text, tiny_caption *out, dit_err *err) {
    if (!text || !out) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "caption or output is NULL");
    memset(out, 0, sizeof *out);
    words ws;
    memset(&ws, 0, sizeof ws);
    size_t len = strlen(text);
    if (len >= MAX_CHARS) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "caption is %zu characters; at most %d", len,
                                          MAX_CHARS - 1);
    for (size_t k = 0; k <= len; k++) ws.buf[k] = (char)tolower((unsigned char)text[k]);
    for (char *p = ws.buf; *p;) {
        while (*p && isspace((unsigned char)*p)) *p++ = 0;
        if (!*p) break;
        if (ws.n == MAX_WORDS) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "caption has more than %d words", MAX_WORDS);
        ws.w[ws.n++] = p;
        while (*p && !isspace((unsigned char)*p)) p++;
    }
    if (ws.n == 0) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "caption is empty");
    DIT_TRY(parse_object(&ws, &out->obj[0], err));
    DIT_TRY(parse_motion(&ws, &out->obj[0].motion, err));
    out->n_objects = 1;
    if (!strcmp(peek(&ws, 0), "and")) {
        ws.i++;
        DIT_TRY(parse_object(&ws, &out->obj[1], err));
        DIT_TRY(parse_motion(&ws, &out->obj[1].motion, err));
        out->n_objects = 2;
    }
    if (!strcmp(peek(&ws, 0), "on")) {
        ws.i++;
        if (strcmp(peek(&ws, 0), "a") != 0 && strcmp(peek(&ws, 0), "an") != 0) return expected(&ws, err, "'a'");
        ws.i++;
        DIT_TRY(parse_colour(&ws, 0, &out->bg_top, err));
        out->bg_bottom = out->bg_top;
        if (!strcmp(peek(&ws, 0), "to")) {
            ws.i++;
            DIT_TRY(parse_colour(&ws, 0, &out->bg_bottom, err));
            DIT_TRY(want_word(&ws, "gradient", err));
        } else {
            DIT_TRY(want_word(&ws, "background", err));
        }
        out->has_background = 1;
    }
    if (ws.i < ws.n) return expected(&ws, err, "the end of the caption, 'and' or 'on'");
    return DIT_OK;
}
