/* adherence_hook.c — the caption-adherence scorer handed to spadit compare: the tiny
 * model's checker (models/tiny/adherence.h).  It applies to captions of the tiny model's
 * template language ("a red circle moves to the right ..."); for any other prompt it
 * reports "not available" (< 0) rather than a meaningless score. */
#include <stdint.h> /* uint8_t */

#include "../models/tiny/adherence.h" /* tiny_adherence_score */

double cli_adherence(void *user, const char *caption, const uint8_t *rgb, int frames, int height, int width);

double cli_adherence(void *user, const char *caption, const uint8_t *rgb, int frames, int height, int width) {
    (void)user;
    tiny_caption parsed;
    dit_err err = {0};
    if (!caption || tiny_caption_parse(caption, &parsed, &err) != DIT_OK) return -1; /* not the tiny language */
    if (frames < 1 || height < 8 || width < 8) return -1;
    tiny_adherence a;
    if (tiny_adherence_score(rgb, frames, height, width, caption, &a, &err) != DIT_OK) return -1;
    return a.score;
}
