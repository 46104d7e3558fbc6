/* adherence_hook.c — the caption-adherence scorer handed to spadit compare: the tiny
 * model's checker (models/tiny/adherence.h).  It applies only to models of the tiny
 * family, trained on its caption language (spadit.json: "caption_checker": "tiny",
 * written by tools/tiny/export.py): on random-weight or other models a score would
 * mean nothing, and the report shows "n/a".  For a prompt outside the template
 * language ("a red circle moves to the right ...") it reports "not available" (< 0). */
#include <stdint.h> /* uint8_t */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp */

#include "../io/json_file.h"          /* io_json_load, io_json_str */
#include "../models/tiny/adherence.h" /* tiny_adherence_score */

int cli_adherence_applies(const char *model_dir);
double cli_adherence(void *user, const char *caption, const uint8_t *rgb, int frames, int height, int width);

int cli_adherence_applies(const char *model_dir) {
    char p[4200];
    snprintf(p, sizeof p, "%s/spadit.json", model_dir ? model_dir : ".");
    if (!io_path_exists(p)) return 0;
    cJSON *j;
    dit_err err = {0};
    if (io_json_load(p, &j, &err) != DIT_OK) return 0;
    int tiny = !strcmp(io_json_str(j, "caption_checker", ""), "tiny");
    cJSON_Delete(j);
    return tiny;
}

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
