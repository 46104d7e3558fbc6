/* caption.h — the tiny model's caption language: named colours, shapes, motions, and a
 * parser for the template grammar that tools/tiny/data.py generates:
 *
 *   caption    := object motion [ "and" object motion ] [ "on a" background ]
 *   object     := ("a" | "an") [ "small" | "big" ] COLOUR SHAPE
 *   motion     := "moves to the left" | "moves to the right" | "moves up" | "moves down"
 *               | "moves up and to the left" | "moves up and to the right"
 *               | "moves down and to the left" | "moves down and to the right"
 *               | "grows" | "shrinks"
 *   background := COLOUR "background" | COLOUR "to" COLOUR "gradient"   (top to bottom)
 *
 * Words are separated by blanks; upper case is accepted.  The tables (names, sRGB values,
 * shape polygons) mirror data.py and must stay in its order; tests/test_adherence.c checks
 * the parser and, through clips rendered by data.py, the tables.
 */
#ifndef SPADIT_TINY_CAPTION_H
#define SPADIT_TINY_CAPTION_H

#include <stdint.h> /* uint8_t */

#include "../../dit/status.h" /* dit_status, dit_err */

/* Object colours come first (TINY_OBJECT_COLOURS of them); black and gray are background only. */
typedef enum tiny_colour {
    TINY_COLOUR_RED = 0,
    TINY_COLOUR_ORANGE,
    TINY_COLOUR_YELLOW,
    TINY_COLOUR_GREEN,
    TINY_COLOUR_CYAN,
    TINY_COLOUR_BLUE,
    TINY_COLOUR_PURPLE,
    TINY_COLOUR_WHITE,
    TINY_COLOUR_BLACK,
    TINY_COLOUR_GRAY,
    TINY_COLOUR_COUNT
} tiny_colour;
#define TINY_OBJECT_COLOURS 8

typedef enum tiny_shape {
    TINY_SHAPE_CIRCLE = 0,
    TINY_SHAPE_SQUARE,
    TINY_SHAPE_TRIANGLE,
    TINY_SHAPE_STAR,
    TINY_SHAPE_DIAMOND,
    TINY_SHAPE_CROSS,
    TINY_SHAPE_COUNT
} tiny_shape;

typedef enum tiny_motion {
    TINY_MOTION_LEFT = 0,
    TINY_MOTION_RIGHT,
    TINY_MOTION_UP,
    TINY_MOTION_DOWN,
    TINY_MOTION_UP_LEFT,
    TINY_MOTION_UP_RIGHT,
    TINY_MOTION_DOWN_LEFT,
    TINY_MOTION_DOWN_RIGHT,
    TINY_MOTION_GROWS,
    TINY_MOTION_SHRINKS,
    TINY_MOTION_COUNT
} tiny_motion;

typedef enum tiny_size { TINY_SIZE_MEDIUM = 0, TINY_SIZE_SMALL, TINY_SIZE_BIG } tiny_size;

typedef struct tiny_object {
    tiny_colour colour;
    tiny_shape shape;
    tiny_motion motion;
    tiny_size size; /* MEDIUM when the caption names no size */
} tiny_object;

#define TINY_MAX_OBJECTS 2

typedef struct tiny_caption {
    int n_objects;                     /* 1 or 2; obj[0] is the main (first-named) object */
    tiny_object obj[TINY_MAX_OBJECTS];
    int has_background;                /* 0: the caption names none */
    tiny_colour bg_top, bg_bottom;     /* equal for a plain background */
} tiny_caption;

/* Parse a caption; unknown words and broken grammar fail with DIT_ERR_INVALID_ARG and a
 * message naming the word, its position and what was expected. */
dit_status tiny_caption_parse(const char *text, tiny_caption *out, dit_err *err);

/* Names ("red", "star", "moves up and to the left" -> "up-left"); "?" when out of range. */
const char *tiny_colour_name(int c);
const char *tiny_shape_name(int s);
const char *tiny_motion_name(int m);

/* sRGB of a colour (0..255); returns 0, or -1 when c is out of range. */
int tiny_colour_rgb(int c, uint8_t rgb[3]);

/* Unit displacement of a motion (x right, y down; 0 for grows/shrinks) and its growth
 * (+1 grows, -1 shrinks, 0 otherwise).  Returns -1 for an out-of-range motion. */
int tiny_motion_vector(int m, int *dx, int *dy, int *growth);

/* Shape outline: polygon vertices (x right, y down) in units of the object radius, as
 * data.py draws them; returns the vertex count (0 for the circle, the unit disc), or -1.
 * xy must hold 2 * TINY_MAX_VERTICES floats. */
#define TINY_MAX_VERTICES 12
int tiny_shape_polygon(int s, float *xy);
/* 1 when (u, v) (radius units, shape centred at 0) lies inside shape s. */
int tiny_shape_inside(int s, const float *xy, int n, float u, float v);

#endif
