/* test_adherence.c — the tiny model's caption parser, .tclip reader and adherence checker.
 *
 * Clips in tests/data/tiny_clips/ were rendered by tools/tiny/data.py and written by
 *   python3 tools/tiny/dump_clips.py tests/data/tiny_clips --n 8 --seed 1 --prefix clip
 *   python3 tools/tiny/dump_clips.py tests/data/tiny_clips --n 2 --seed 2 --stride 4 --prefix short
 *   python3 tools/tiny/dump_clips.py tests/data/tiny_clips --n 2 --seed 3 --degrade --stride 2 --prefix soft
 * (all six shapes, grows / shrinks, diagonals, two objects, gradients, 9- and 17-frame
 * clips, blurred + colour-cast clips).  Checks: every clip scores 1 with its caption; a
 * caption with a wrong colour, shape or motion loses exactly that attribute; a fully
 * wrong caption scores 0; empty frames find nothing; bad captions, bad frames and
 * corrupted .tclip buffers fail with the right status and a message. */
#include <stdlib.h> /* malloc, free */
#include <string.h> /* strstr, memset */

#include "../models/tiny/adherence.h" /* tiny_adherence_score, tiny_detect */
#include "../models/tiny/tclip.h"     /* tiny_clip_read, tiny_clip_parse */
#include "test_util.h"

static const char *k_clips[] = {"clip_0000", "clip_0001", "clip_0002", "clip_0003", "clip_0004", "clip_0005",
                                "clip_0006", "clip_0007", "short_0000", "short_0001", "soft_0000", "soft_0001"};
#define N_CLIPS (int)(sizeof k_clips / sizeof k_clips[0])

static const char *k_motion_phrase[TINY_MOTION_COUNT] = {
    "moves to the left",        "moves to the right",        "moves up",   "moves down", "moves up and to the left",
    "moves up and to the right", "moves down and to the left", "moves down and to the right", "grows", "shrinks"};

/* A single-object caption "a COLOUR SHAPE MOTION". */
static void caption_of(char *buf, size_t cap, int colour, int shape, int motion) {
    snprintf(buf, cap, "a %s %s %s", tiny_colour_name(colour), tiny_shape_name(shape), k_motion_phrase[motion]);
}

static int opposite_motion(int m) {
    static const int opp[TINY_MOTION_COUNT] = {TINY_MOTION_RIGHT,     TINY_MOTION_LEFT,     TINY_MOTION_DOWN,
                                               TINY_MOTION_UP,        TINY_MOTION_DOWN_RIGHT, TINY_MOTION_DOWN_LEFT,
                                               TINY_MOTION_UP_RIGHT,  TINY_MOTION_UP_LEFT,  TINY_MOTION_SHRINKS,
                                               TINY_MOTION_GROWS};
    return opp[m];
}

static void test_parse(void) {
    dit_err err = {0};
    tiny_caption c;
    CHECK(tiny_caption_parse("a red circle moves to the right", &c, &err) == DIT_OK, "%s", err.msg);
    CHECK(c.n_objects == 1 && c.obj[0].colour == TINY_COLOUR_RED && c.obj[0].shape == TINY_SHAPE_CIRCLE &&
              c.obj[0].motion == TINY_MOTION_RIGHT && c.obj[0].size == TINY_SIZE_MEDIUM && !c.has_background,
          "default prompt parsed wrong");
    const char *two = "A big Orange star  moves up and to the left and a small white cross shrinks on a blue to "
                      "black gradient";
    CHECK(tiny_caption_parse(two, &c, &err) == DIT_OK, "%s", err.msg);
    CHECK(c.n_objects == 2 && c.obj[0].colour == TINY_COLOUR_ORANGE && c.obj[0].size == TINY_SIZE_BIG &&
              c.obj[0].motion == TINY_MOTION_UP_LEFT && c.obj[1].shape == TINY_SHAPE_CROSS &&
              c.obj[1].motion == TINY_MOTION_SHRINKS && c.obj[1].size == TINY_SIZE_SMALL && c.has_background &&
              c.bg_top == TINY_COLOUR_BLUE && c.bg_bottom == TINY_COLOUR_BLACK,
          "two-object caption parsed wrong");
    CHECK(tiny_caption_parse("a cyan diamond moves down and a small red square grows on a gray background", &c,
                             &err) == DIT_OK && c.obj[0].motion == TINY_MOTION_DOWN && c.n_objects == 2 &&
              c.bg_top == TINY_COLOUR_GRAY && c.bg_bottom == TINY_COLOUR_GRAY,
          "'moves down and a ...' must not read as a diagonal: %s", err.msg);
    struct { const char *text, *needle; } bad[] = {
        {"a red zebra moves up", "'zebra'"},
        {"a magenta circle grows", "'magenta'"},
        {"a black circle grows", "background colour"},
        {"a red circle", "ends after 3 words"},
        {"a red circle moves sideways", "'sideways'"},
        {"a red circle grows on a blue", "ends after"},
        {"a red circle grows quickly", "'quickly'"},
        {"", "empty"},
        {"red circle grows", "'a' or 'an'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dit_err e = {0};
        dit_status s = tiny_caption_parse(bad[i].text, &c, &e);
        CHECK(s == DIT_ERR_INVALID_ARG && strstr(e.msg, bad[i].needle), "'%s' -> status %d, message '%s'",
              bad[i].text, (int)s, e.msg);
    }
    CHECK(tiny_caption_parse(NULL, &c, &err) == DIT_ERR_INVALID_ARG, "NULL caption accepted");
}

static void test_shapes(void) {
    float xy[2 * TINY_MAX_VERTICES];
    for (int s = 0; s < TINY_SHAPE_COUNT; s++) {
        int n = tiny_shape_polygon(s, xy);
        CHECK(n >= 0 && n <= TINY_MAX_VERTICES, "shape %d: %d vertices", s, n);
        CHECK(tiny_shape_inside(s, xy, n, 0.01f, 0.02f) && !tiny_shape_inside(s, xy, n, 1.3f, 1.3f),
              "shape %s: centre must be inside, (1.3, 1.3) outside", tiny_shape_name(s));
    }
    CHECK(tiny_shape_polygon(TINY_SHAPE_COUNT, xy) == -1, "out-of-range shape");
    /* the triangle points up (y down): its apex at v = -1.2 */
    int n = tiny_shape_polygon(TINY_SHAPE_TRIANGLE, xy);
    CHECK(tiny_shape_inside(TINY_SHAPE_TRIANGLE, xy, n, 0.0f, -1.1f) &&
              !tiny_shape_inside(TINY_SHAPE_TRIANGLE, xy, n, 0.0f, 1.1f),
          "triangle orientation");
}

static void test_clips(void) {
    for (int i = 0; i < N_CLIPS; i++) {
        char path[512], cap[256];
        snprintf(path, sizeof path, "%s/tiny_clips/%s.tclip", SPADIT_TEST_DATA, k_clips[i]);
        dit_err err = {0};
        tiny_clip clip;
        if (tiny_clip_read(path, &clip, &err) != DIT_OK) {
            CHECK(0, "%s", err.msg);
            continue;
        }
        tiny_adherence a;
        CHECK(tiny_adherence_score(clip.rgb, clip.T, clip.H, clip.W, clip.caption, &a, &err) == DIT_OK, "%s", err.msg);
        CHECK(a.score == 1.0, "%s '%s': score %.2f (detected %s %s %s)", k_clips[i], clip.caption, a.score,
              tiny_colour_name(a.det.colour), tiny_shape_name(a.det.shape), tiny_motion_name(a.det.motion));
        CHECK(a.det.shape_iou > 0.85 && a.det.shape_margin > 0.05, "%s: shape IoU %.3f, margin %.3f", k_clips[i],
              a.det.shape_iou, a.det.shape_margin);
        CHECK(a.det.frames_found == (int)clip.T, "%s: object found in %d of %lld frames", k_clips[i],
              a.det.frames_found, (long long)clip.T);
        const tiny_object *o = &a.caption.obj[0];
        CHECK(a.det.n_colours == a.caption.n_objects, "%s: %d object colours seen, caption has %d objects",
              k_clips[i], a.det.n_colours, a.caption.n_objects);
        /* one wrong attribute at a time: exactly that one is lost */
        int wrong[3][3] = {{((int)o->colour + 3) % TINY_OBJECT_COLOURS, o->shape, o->motion},
                           {o->colour, ((int)o->shape + 1) % TINY_SHAPE_COUNT, o->motion},
                           {o->colour, o->shape, opposite_motion(o->motion)}};
        for (int k = 0; k < 3; k++) {
            tiny_adherence b;
            caption_of(cap, sizeof cap, wrong[k][0], wrong[k][1], wrong[k][2]);
            CHECK(tiny_adherence_judge(&a.det, cap, &b, &err) == DIT_OK, "%s", err.msg);
            int lost = k == 0 ? !b.colour_ok && b.shape_ok && b.motion_ok
                              : k == 1 ? b.colour_ok && !b.shape_ok && b.motion_ok : b.colour_ok && b.shape_ok && !b.motion_ok;
            CHECK(lost && fabs(b.score - 2.0 / 3.0) < 1e-9, "%s with wrong caption '%s': score %.2f", k_clips[i], cap,
                  b.score);
        }
        caption_of(cap, sizeof cap, wrong[0][0], wrong[1][1], wrong[2][2]);
        tiny_adherence z;
        CHECK(tiny_adherence_judge(&a.det, cap, &z, &err) == DIT_OK && z.score == 0.0,
              "%s with '%s': score %.2f, expected 0", k_clips[i], cap, z.score);
        tiny_clip_free(&clip);
    }
}

static void test_degenerate(void) {
    dit_err err = {0};
    int64_t T = 5, H = 32, W = 40;
    uint8_t *f = malloc((size_t)(T * H * W * 3));
    memset(f, 90, (size_t)(T * H * W * 3)); /* a plain gray clip: no object */
    tiny_adherence a;
    CHECK(tiny_adherence_score(f, T, H, W, "a red circle grows", &a, &err) == DIT_OK, "%s", err.msg);
    CHECK(a.det.colour == -1 && a.det.shape == -1 && a.det.motion == -1 && a.score == 0.0,
          "empty clip: detected %d %d %d, score %.2f", a.det.colour, a.det.shape, a.det.motion, a.score);
    /* one still frame with a red square: colour and shape, no motion */
    for (int64_t y = 10; y < 22; y++)
        for (int64_t x = 12; x < 24; x++) f[(y * W + x) * 3 + 0] = 215, f[(y * W + x) * 3 + 1] = 30, f[(y * W + x) * 3 + 2] = 40;
    CHECK(tiny_adherence_score(f, 1, H, W, "a red square moves up", &a, &err) == DIT_OK, "%s", err.msg);
    CHECK(a.colour_ok && a.shape_ok && a.det.motion == -1, "single frame: %s %s %s", tiny_colour_name(a.det.colour),
          tiny_shape_name(a.det.shape), tiny_motion_name(a.det.motion));
    CHECK(tiny_detect(f, 0, H, W, &a.det, &err) == DIT_ERR_INVALID_ARG, "T = 0 accepted");
    CHECK(tiny_detect(f, T, 4, W, &a.det, &err) == DIT_ERR_INVALID_ARG, "H = 4 accepted");
    CHECK(tiny_detect(NULL, T, H, W, &a.det, &err) == DIT_ERR_INVALID_ARG, "NULL frames accepted");
    CHECK(tiny_adherence_score(f, T, H, W, "a red circle flies", &a, &err) == DIT_ERR_INVALID_ARG &&
              strstr(err.msg, "flies"),
          "unknown motion word: %s", err.msg);
    free(f);
}

static void test_tclip_corrupt(void) {
    /* a valid 2-frame 2x3 clip: each row one run of 3, except row 1 of frame 1 (two runs) */
    const uint8_t good[] = "TCLIP1 2 2 3\na red circle grows\n"
                           "\x03\x01\x02\x03" "\x03\x04\x05\x06"
                           "\x03\x07\x08\x09" "\x01\x0a\x0b\x0c\x02\x0d\x0e\x0f";
    size_t n = sizeof good - 1;
    dit_err err = {0};
    tiny_clip c;
    CHECK(tiny_clip_parse(good, n, &c, &err) == DIT_OK, "%s", err.msg);
    CHECK(c.T == 2 && c.H == 2 && c.W == 3 && !strcmp(c.caption, "a red circle grows") && c.rgb[0] == 1 &&
              c.rgb[3 * 9] == 10 && c.rgb[3 * 11 + 2] == 15,
          "decoded clip wrong");
    tiny_clip_free(&c);
    uint8_t buf[sizeof good];
    struct { size_t len; int pos; uint8_t val; const char *needle; } cases[] = {
        {n - 1, -1, 0, "ends in frame 1"},     /* truncated */
        {n, (int)n - 12, 0, "run of 0"},      /* zero-length run */
        {n, (int)n - 12, 4, "run of 4"},      /* run past the end of the row */
        {n, 0, 'X', "header"},                /* bad magic */
        {n, 7, '0', "bad header"},            /* T = 0 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(buf, good, n);
        if (cases[i].pos >= 0) buf[cases[i].pos] = cases[i].val;
        dit_err e = {0};
        dit_status s = tiny_clip_parse(buf, cases[i].len, &c, &e);
        CHECK(s == DIT_ERR_FORMAT && strstr(e.msg, cases[i].needle), "case %zu: status %d, '%s'", i, (int)s, e.msg);
        CHECK(c.rgb == NULL, "case %zu leaked a buffer", i);
    }
    uint8_t longer[sizeof good + 1];
    memcpy(longer, good, n);
    longer[n] = 7;
    CHECK(tiny_clip_parse(longer, n + 1, &c, &err) == DIT_ERR_FORMAT && strstr(err.msg, "unexpected bytes"),
          "trailing byte: %s", err.msg);
    CHECK(tiny_clip_read("/nonexistent/x.tclip", &c, &err) == DIT_ERR_MISSING && strstr(err.msg, "x.tclip"), "missing file");
}

int main(void) {
    test_parse();
    test_shapes();
    test_clips();
    test_degenerate();
    test_tclip_corrupt();
    return test_summary("test_adherence");
}
