/* test_image.c — PNG output (io/image.c) and the PNG-sequence path of io/video.c.
 *
 * Checks a bit-exact PNG round trip at an odd size, the <prefix>_%05d.png
 * sequence names and the <prefix>.json comment sidecar written through
 * io_video_*, that an aborted or failed sequence leaves no file (and no temp),
 * that bad sizes and missing folders fail with messages naming the path, and
 * that mp4 output without FFmpeg says how to enable it.  Needs no FFmpeg. */
#include <dirent.h>   /* opendir */
#include <stdint.h>   /* uint8_t */
#include <sys/stat.h> /* stat */
#include <unistd.h>   /* unlink, rmdir */

#include "../io/image.h"
#include "../io/json_file.h" /* io_file_read_all */
#include "../io/video.h"
#include "test_util.h"

static char g_dir[64];

static int dir_entries(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void fill(uint8_t *p, int w, int h, int t) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) p[((size_t)y * w + x) * 3 + c] = (uint8_t)(x * 7 + y * 13 + c * 85 + t * 31);
}

static void check_png(void) {
    enum { w = 37, h = 23 };
    uint8_t img[w * h * 3];
    fill(img, w, h, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/one.png", g_dir);
    dit_err err = {0};
    CHECK(io_image_write_png(path, img, w, h, &err) == DIT_OK, "%s", err.msg);
    uint8_t *back = NULL;
    int bw = 0, bh = 0;
    CHECK(io_image_read_png(path, &back, &bw, &bh, &err) == DIT_OK, "%s", err.msg);
    CHECK(back && bw == w && bh == h && !memcmp(back, img, sizeof img), "PNG round trip %dx%d not bit-exact", bw, bh);
    free(back);
    CHECK(dir_entries() == 1, "only one.png (no temp) after a write");
    unlink(path);

    CHECK(io_image_write_png(path, img, 0, h, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "one.png"),
          "zero width: %s", err.msg);
    CHECK(io_image_write_png("/nonexistent_spadit_dir/a.png", img, w, h, &err) == DIT_ERR_IO &&
              strstr(err.msg, "/nonexistent_spadit_dir"),
          "missing folder: %s", err.msg);
    snprintf(path, sizeof path, "%s/nothing.png", g_dir);
    CHECK(io_image_read_png(path, &back, &bw, &bh, &err) == DIT_ERR_MISSING && strstr(err.msg, "nothing.png"),
          "missing file: %s", err.msg);
    FILE *f = fopen(path, "wb");
    fputs("not a png", f);
    fclose(f);
    CHECK(io_image_read_png(path, &back, &bw, &bh, &err) == DIT_ERR_FORMAT && strstr(err.msg, "nothing.png"),
          "garbage file: %s", err.msg);
    unlink(path);
    CHECK(dir_entries() == 0, "failed PNG writes leave nothing");
}

static void check_sequence(void) {
    enum { w = 16, h = 10, n = 5 };
    uint8_t frames[n][w * h * 3];
    for (int t = 0; t < n; t++) fill(frames[t], w, h, t);
    char path[128], p[256];
    snprintf(path, sizeof path, "%s/seq.png", g_dir);
    const char *comment = "{\"prompt\": \"a red fox\", \"seed\": 7}";
    io_video_opts o = io_video_opts_default();
    o.comment = comment;
    dit_err err = {0};
    io_video_writer *vw = NULL;
    CHECK(io_video_open(path, w, h, &o, &vw, &err) == DIT_OK, "%s", err.msg);
    for (int t = 0; vw && t < n; t++) CHECK(io_video_write_frame(vw, frames[t], &err) == DIT_OK, "%s", err.msg);
    CHECK(io_video_close(&vw, &err) == DIT_OK && !vw, "%s", err.msg);
    CHECK(dir_entries() == n + 1, "%d frames + seq.json, got %d entries", n, dir_entries());
    for (int t = 0; t < n; t++) {
        snprintf(p, sizeof p, "%s/seq_%05d.png", g_dir, t);
        uint8_t *back = NULL;
        int bw = 0, bh = 0;
        CHECK(io_image_read_png(p, &back, &bw, &bh, &err) == DIT_OK && bw == w && bh == h &&
                  !memcmp(back, frames[t], sizeof frames[t]),
              "frame %d: %s", t, err.msg);
        free(back);
        unlink(p);
    }
    char *meta = NULL;
    snprintf(p, sizeof p, "%s/seq.json", g_dir);
    CHECK(io_file_read_all(p, &meta, NULL, &err) == DIT_OK && !strncmp(meta, comment, strlen(comment)),
          "sidecar: %s", meta ? meta : err.msg);
    free(meta);
    unlink(p);

    /* aborting midway removes the frames written so far */
    o.comment = NULL;
    CHECK(io_video_open(path, w, h, &o, &vw, &err) == DIT_OK, "%s", err.msg);
    for (int t = 0; vw && t < 3; t++) io_video_write_frame(vw, frames[t], &err);
    CHECK(dir_entries() == 3, "3 frames before the abort");
    io_video_abort(&vw);
    CHECK(!vw && dir_entries() == 0, "abort leaves nothing, got %d entries", dir_entries());

    /* a failed frame poisons the writer; close reports it and removes the rest */
    CHECK(io_video_open(path, w, h, &o, &vw, &err) == DIT_OK, "%s", err.msg);
    io_video_write_frame(vw, frames[0], &err);
    CHECK(io_video_write_frame(vw, NULL, &err) == DIT_ERR_INVALID_ARG, "NULL frame: %s", err.msg);
    CHECK(io_video_close(&vw, &err) == DIT_ERR_INVALID_ARG && strstr(err.msg, "frame 1 failed") && !vw,
          "close: %s", err.msg);
    CHECK(dir_entries() == 0, "failed sequence leaves nothing");

    /* a missing folder fails at the first frame, naming the file */
    CHECK(io_video_open("/nonexistent_spadit_dir/s.png", w, h, NULL, &vw, &err) == DIT_OK, "%s", err.msg);
    CHECK(io_video_write_frame(vw, frames[0], &err) == DIT_ERR_IO && strstr(err.msg, "/nonexistent_spadit_dir/s_00000"),
          "missing folder: %s", err.msg);
    io_video_abort(&vw);
}

static void check_no_ffmpeg_message(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/x.mp4", g_dir);
    dit_err err = {0};
    io_video_writer *vw = NULL;
    dit_status s = io_video_open(path, 64, 48, NULL, &vw, &err);
    if (io_video_have_ffmpeg()) {
        CHECK(s == DIT_OK, "%s", err.msg);
        io_video_abort(&vw);
    } else {
        CHECK(s == DIT_ERR_UNSUPPORTED && strstr(err.msg, "setup.sh") && strstr(err.msg, "SPADIT_FFMPEG"),
              "without FFmpeg: %s", err.msg);
        printf("without FFmpeg, mp4 says: %s\n", err.msg);
    }
    CHECK(dir_entries() == 0, "nothing left by the mp4 probe");
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/spadit_image_XXXXXX");
    if (!mkdtemp(g_dir)) {
        printf("mkdtemp failed\n");
        return 1;
    }
    io_video_set_quiet(1);
    check_png();
    check_sequence();
    check_no_ffmpeg_message();
    CHECK(dir_entries() == 0, "test folder left with %d entries", dir_entries());
    rmdir(g_dir);
    return test_summary("test_image");
}
