/* adherence.h — does a clip show what its caption says?  A caption-adherence checker for
 * the tiny model's template language (caption.h), by plain image analysis:
 *
 *   1. background: per-pixel temporal median, then a robust (trimmed) least-squares plane
 *      per channel — the backgrounds are plain colours or vertical linear gradients
 *   2. per frame, a pixel is labelled with the nearest of {background there, the 8 object
 *      colours}; "core" pixels (all 4 neighbours share the label) vote for colours
 *   3. main object = the colour with most votes over the clip (a second object is always
 *      "small" in the grammar, so the first-named object is the largest); its mask per
 *      frame is the largest 4-connected component of that colour
 *   4. shape: IoU of the mask with each shape outline (the polygons data.py draws) fitted
 *      to the mask's bounding box, summed over frames; the best template wins
 *   5. motion: least-squares lines through the centroid track and sqrt(area): a
 *      displacement >= 8% of the frame gives one of 8 directions (45-degree sectors);
 *      otherwise a size change of >= 1.3x (within 12% displacement) gives grows / shrinks
 * The score is the fraction of the main object's colour, shape and motion that match.
 * Frames are RGB uint8 [T, H, W, 3].  Checked by tests/test_adherence.c on committed clips
 * rendered by tools/tiny/data.py, with right and deliberately wrong captions.
 */
#ifndef SPADIT_TINY_ADHERENCE_H
#define SPADIT_TINY_ADHERENCE_H

#include <stdint.h> /* uint8_t, int64_t */

#include "../../dit/status.h" /* dit_status, dit_err */
#include "caption.h"          /* tiny_caption, tiny_colour, tiny_shape, tiny_motion */

typedef struct tiny_detection {
    int colour;          /* main object's tiny_colour; -1: no object found (then shape, motion are -1 too) */
    int shape;           /* tiny_shape; -1: the object was never seen whole */
    int motion;          /* tiny_motion; -1: no clear motion or size change */
    int n_colours;       /* object colours holding >= 4% of the main colour's votes (objects seen) */
    double colour_share; /* main colour's share of all object-core pixels */
    double shape_iou;    /* mean IoU of the chosen outline over the frames used for shape */
    double shape_margin; /* that minus the runner-up's mean IoU */
    double dx, dy;       /* fitted centroid displacement over the clip, in frame widths / heights */
    double size_ratio;   /* fitted linear size (sqrt area) at the end / at the start */
    int frames_found;    /* frames in which the main object was found */
    int frames_shape;    /* of those, frames used for the shape (object clear of the border) */
} tiny_detection;

typedef struct tiny_adherence {
    tiny_caption caption;  /* the parsed caption */
    tiny_detection det;    /* what the clip shows */
    int colour_ok, shape_ok, motion_ok;
    double score;          /* (colour_ok + shape_ok + motion_ok) / 3 */
} tiny_adherence;

/* Detect the main object's colour, shape and motion in frames [T, H, W, 3]
 * (T >= 1, H, W >= 8).  Allocates a workspace for the call (DIT_ERR_OOM if it cannot). */
dit_status tiny_detect(const uint8_t *rgb, int64_t T, int64_t H, int64_t W, tiny_detection *out, dit_err *err);

/* Parse `caption` (tiny_caption_parse: unknown words are an error), detect, and score
 * the main (first-named) object's attributes. */
dit_status tiny_adherence_score(const uint8_t *rgb, int64_t T, int64_t H, int64_t W, const char *caption,
                                tiny_adherence *out, dit_err *err);

/* Score `caption` against a detection made earlier (one tiny_detect, many captions). */
dit_status tiny_adherence_judge(const tiny_detection *det, const char *caption, tiny_adherence *out, dit_err *err);

#endif
