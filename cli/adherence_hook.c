/* adherence_hook.c — the caption-adherence scorer handed to spadit compare.  It
 * delegates to the tiny model's checker when that is built in; until then it
 * reports "not available" (< 0). */
#include <stdint.h> /* uint8_t */

double cli_adherence(void *user, const char *caption, const uint8_t *rgb, int frames, int height, int width);

double cli_adherence(void *user, const char *caption, const uint8_t *rgb, int frames, int height, int width) {
    (void)user, (void)caption, (void)rgb, (void)frames, (void)height, (void)width;
    return -1;
}
