/* adherence_run.c — score a folder of .tclip clips against their own captions with the
 * tiny model's caption-adherence checker (models/tiny/adherence.h).
 *
 *   adherence_run DIR [--quiet]
 *
 * Prints one line per clip (caption, what was detected, which attributes are right) and
 * a summary: mean score and per-attribute accuracy.  Clips come from
 * tools/tiny/dump_clips.py (real training clips: the checker's ceiling) or
 * tools/tiny/sample.py (generated videos).  Exit status: 0 when every clip was scored,
 * 1 when a clip could not be read or its caption parsed, 2 on bad usage.
 * Checked by running it on dump_clips.py output (docs/tiny_model.md reports the ceiling).
 */
#include <dirent.h> /* opendir, readdir */
#include <stdio.h>  /* printf */
#include <stdlib.h> /* malloc, qsort */
#include <string.h> /* strcmp, strlen */

#include "../models/tiny/adherence.h" /* tiny_adherence_score */
#include "../models/tiny/tclip.h"     /* tiny_clip_read */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), k = strlen(suf);
    return n >= k && !strcmp(s + n - k, suf);
}

int main(int argc, char **argv) {
    const char *dir = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quiet")) quiet = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: adherence_run DIR [--quiet]   (scores DIR/*.tclip against their captions)\n");
            return 0;
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "adherence_run: unexpected argument '%s' (usage: adherence_run DIR [--quiet])\n", argv[i]);
            return 2;
        } else dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "usage: adherence_run DIR [--quiet]\n");
        return 2;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "adherence_run: cannot open directory '%s'\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!ends_with(e->d_name, ".tclip")) continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) break;
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    int failures = 0, scored = 0, ok_c = 0, ok_s = 0, ok_m = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        dit_err err = {0};
        tiny_clip clip;
        tiny_adherence a;
        if (tiny_clip_read(names[i], &clip, &err) != DIT_OK ||
            tiny_adherence_score(clip.rgb, clip.T, clip.H, clip.W, clip.caption, &a, &err) != DIT_OK) {
            fprintf(stderr, "adherence_run: %s: %s\n", names[i], err.msg);
            failures++;
            tiny_clip_free(&clip);
            continue;
        }
        scored++, sum += a.score, ok_c += a.colour_ok, ok_s += a.shape_ok, ok_m += a.motion_ok;
        if (!quiet)
            printf("%.2f  %-58s | %s%s %s%s %s%s (iou %.2f, d %+.2f %+.2f, size x%.2f, %d colours)\n", a.score, clip.caption,
                   tiny_colour_name(a.det.colour), a.colour_ok ? "" : "*", tiny_shape_name(a.det.shape),
                   a.shape_ok ? "" : "*", tiny_motion_name(a.det.motion), a.motion_ok ? "" : "*", a.det.shape_iou,
                   a.det.dx, a.det.dy, a.det.size_ratio, a.det.n_colours);
        tiny_clip_free(&clip);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (scored == 0) {
        fprintf(stderr, "adherence_run: no .tclip clip scored in '%s'\n", dir);
        return 1;
    }
    printf("%d clips: mean score %.3f; colour %.3f, shape %.3f, motion %.3f%s\n", scored, sum / scored,
           (double)ok_c / scored, (double)ok_s / scored, (double)ok_m / scored,
           failures ? " (some clips failed, see above)" : "");
    return failures ? 1 : 0;
}
