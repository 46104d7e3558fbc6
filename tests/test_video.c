/* test_video.c — the FFmpeg writers of io/video.c, read back through libavformat.
 *
 * A synthetic moving pattern (9 frames, 4n+1 like Wan) goes to .mp4 (H.264),
 * .mkv (FFV1) and .webm (VP9) with a JSON comment; io_video_probe must report
 * the codec, pixel format, size, frame count, fps and the exact comment, FFV1
 * must round-trip bit-exactly (also at an odd size), H.264/VP9 must keep PSNR
 * high.  Failures (odd size for yuv420p, missing folder, NULL frame, abort
 * midway, zero frames) must leave no file — not even a temp — and must not
 * touch an existing target.  Without FFmpeg the test exits 77 (CTest SKIP). */
#include <dirent.h>   /* opendir, readdir */
#include <stdint.h>   /* uint8_t */
#include <sys/stat.h> /* stat */
#include <unistd.h>   /* unlink, rmdir */

#include "../io/video.h"
#include "test_util.h"

#define W 64
#define H 48
#define F 9

static char g_dir[64];

static void make_frames(uint8_t *f, int w, int h, int n) {
    for (int t = 0; t < n; t++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                uint8_t *p = f + (((size_t)t * h + y) * w + x) * 3;
                p[0] = (uint8_t)(128 + 100 * sin(2 * M_PI * (x + 3.0 * t) / w));
                p[1] = (uint8_t)(20 + 200 * y / h);
                p[2] = (uint8_t)(128 + 90 * cos(2 * M_PI * (x + y - 2.0 * t) / 40.0));
            }
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return se == 0 ? 99.0 : 10 * log10(255.0 * 255.0 * (double)n / se);
}

/* Entries of the test folder (a failed write must leave none: no temp files). */
static int dir_entries(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static int exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static char k_comment[8192]; /* filled in main: the fields below plus ~5 KB of notes */
static const char *k_fields =
    "{\"prompt\": \"A cat walks on the grass, realistic \\\"style\\\" — café 漢字\", \"negative_prompt\": \"blurry\", "
    "\"seed\": 42, \"steps\": 50, \"shift\": 5.0, \"guidance\": 5.0, \"sampler\": \"unipc\", \"model\": "
    "\"Wan2.1-T2V-1.3B\", \"attention\": {\"method\": \"sla\", \"topk\": 0.1, \"dense_first_steps\": 10}, \"notes\": \"";

/* Offset of a 4-byte atom/box name in a file, or -1. */
static long find_box(const char *path, const char *name) {
    FILE *f = fopen(path, "rb");
    long pos = -1, i = 0;
    int c;
    char win[4] = {0};
    while (f && (c = fgetc(f)) != EOF) {
        memmove(win, win + 1, 3);
        win[3] = (char)c;
        if (++i >= 4 && !memcmp(win, name, 4)) {
            pos = i - 4;
            break;
        }
    }
    if (f) fclose(f);
    return pos;
}

static void check_format(const char *name, const char *codec, const char *pix, const char *color, int w, int h,
                         const uint8_t *frames, double min_psnr) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    dit_err err = {0};
    io_video_opts o = io_video_opts_default();
    o.comment = k_comment;
    io_video_writer *vw = NULL;
    dit_status s = io_video_open(path, w, h, &o, &vw, &err);
    CHECK(s == DIT_OK, "open %s: %s", name, err.msg);
    if (s != DIT_OK) return;
    size_t fb = (size_t)w * h * 3;
    for (int i = 0; i < F && s == DIT_OK; i++) s = io_video_write_frame(vw, frames + i * fb, &err);
    CHECK(s == DIT_OK && io_video_frames_written(vw) == F, "write %s: %s", name, err.msg);
    CHECK(dir_entries() == 1 && !exists(path), "%s: only the temp file exists before close", name);
    s = io_video_close(&vw, &err);
    CHECK(s == DIT_OK && !vw, "close %s: %s", name, err.msg);
    CHECK(dir_entries() == 1 && exists(path), "%s: after close only the target remains", name);

    io_video_info info;
    s = io_video_probe(path, &info, &err);
    CHECK(s == DIT_OK, "probe %s: %s", name, err.msg);
    if (s == DIT_OK) {
        CHECK(!strcmp(info.codec, codec), "%s: codec %s, expected %s", name, info.codec, codec);
        CHECK(!strcmp(info.pix_fmt, pix), "%s: pixel format %s, expected %s", name, info.pix_fmt, pix);
        CHECK(!strcmp(info.color, color), "%s: colour matrix %s, expected %s", name, info.color, color);
        CHECK(info.width == w && info.height == h, "%s: %dx%d", name, info.width, info.height);
        CHECK(info.frames == F, "%s: %lld frames, expected %d", name, (long long)info.frames, F);
        CHECK(info.fps_den > 0 && info.fps_num == 16 * info.fps_den, "%s: fps %d/%d, expected 16", name, info.fps_num,
              info.fps_den);
        CHECK(info.comment && !strcmp(info.comment, k_comment), "%s: comment tag '%s'", name,
              info.comment ? info.comment : "(none)");
        printf("%-10s container %-24s codec %-5s %-8s %-6s %dx%d %lld frames %d/%d fps, comment %zu bytes\n", name,
               info.container, info.codec, info.pix_fmt, info.color, info.width, info.height, (long long)info.frames,
               info.fps_num, info.fps_den, info.comment ? strlen(info.comment) : 0);
        io_video_info_free(&info);
    }
    if (strstr(name, ".mp4")) { /* +faststart: the index (moov) precedes the media data (mdat) */
        long moov = find_box(path, "moov"), mdat = find_box(path, "mdat");
        CHECK(moov > 0 && mdat > moov, "%s: moov at %ld, mdat at %ld: not faststart", name, moov, mdat);
    }
    uint8_t *back = NULL;
    int64_t n = 0;
    int bw = 0, bh = 0;
    s = io_video_read_frames(path, &back, &n, &bw, &bh, &err);
    CHECK(s == DIT_OK && n == F && bw == w && bh == h, "read %s: %s (%lld frames %dx%d)", name, err.msg, (long long)n,
          bw, bh);
    if (s == DIT_OK && n == F && bw == w && bh == h) {
        double p = psnr(back, frames, fb * F);
        if (min_psnr >= 99) {
            CHECK(memcmp(back, frames, fb * F) == 0, "%s: lossless round trip is not bit-exact (PSNR %.2f dB)", name, p);
            printf("%-10s round trip bit-exact\n", name);
        } else {
            CHECK(p >= min_psnr, "%s: PSNR %.2f dB < %.1f", name, p, min_psnr);
            printf("%-10s round trip PSNR %.2f dB (need >= %.1f)\n", name, p, min_psnr);
        }
    }
    free(back);
    unlink(path);
}

static void check_failures(const uint8_t *frames) {
    dit_err err = {0};
    io_video_writer *vw = NULL;
    char path[128];
    size_t fb = (size_t)W * H * 3;

    snprintf(path, sizeof path, "%s/odd.mp4", g_dir);
    dit_status s = io_video_open(path, 63, 47, NULL, &vw, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "63x47") && strstr(err.msg, "even"), "odd mp4: %s", err.msg);
    snprintf(path, sizeof path, "%s/odd.webm", g_dir);
    s = io_video_open(path, 64, 47, NULL, &vw, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "64x47"), "odd webm: %s", err.msg);
    CHECK(dir_entries() == 0, "odd sizes leave nothing");

    s = io_video_open("/nonexistent_spadit_dir/x.mp4", W, H, NULL, &vw, &err);
    CHECK(s == DIT_ERR_IO && strstr(err.msg, "/nonexistent_spadit_dir") && !vw, "missing folder: %s", err.msg);
    snprintf(path, sizeof path, "%s/clip.avi", g_dir);
    s = io_video_open(path, W, H, NULL, &vw, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "'.avi'"), "unknown extension: %s", err.msg);
    io_video_opts o = io_video_opts_default();
    o.crf = 52;
    snprintf(path, sizeof path, "%s/crf.mp4", g_dir);
    s = io_video_open(path, W, H, &o, &vw, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "CRF 52"), "CRF range: %s", err.msg);

    /* an existing target survives an aborted and a failed write, then gets replaced atomically */
    snprintf(path, sizeof path, "%s/keep.mp4", g_dir);
    FILE *f = fopen(path, "wb");
    fputs("old", f);
    fclose(f);
    CHECK(io_video_open(path, W, H, NULL, &vw, &err) == DIT_OK, "%s", err.msg);
    for (int i = 0; vw && i < 3; i++) io_video_write_frame(vw, frames + i * fb, &err);
    CHECK(dir_entries() == 2, "while writing: target + temp");
    io_video_abort(&vw);
    CHECK(!vw && dir_entries() == 1, "abort midway leaves only the old target");
    CHECK(io_video_open(path, W, H, NULL, &vw, &err) == DIT_OK, "%s", err.msg);
    io_video_write_frame(vw, frames, &err);
    s = io_video_write_frame(vw, NULL, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "frame 1"), "NULL frame: %s", err.msg);
    s = io_video_write_frame(vw, frames, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "earlier frame failed"), "write after failure: %s", err.msg);
    s = io_video_close(&vw, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && !vw && strstr(err.msg, "nothing was kept"), "close after failure: %s", err.msg);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size == 3 && dir_entries() == 1, "old target untouched by failed writes");
    CHECK(io_video_write_all(path, frames, F, W, H, NULL, &err) == DIT_OK, "write_all: %s", err.msg);
    CHECK(stat(path, &sb) == 0 && sb.st_size > 100 && dir_entries() == 1, "successful write replaced the target");
    unlink(path);

    /* zero frames: an error, and nothing kept */
    snprintf(path, sizeof path, "%s/empty.mkv", g_dir);
    CHECK(io_video_open(path, W, H, NULL, &vw, &err) == DIT_OK, "%s", err.msg);
    s = io_video_close(&vw, &err);
    CHECK(s == DIT_ERR_INVALID_ARG && strstr(err.msg, "no frames"), "zero frames: %s", err.msg);
    CHECK(dir_entries() == 0, "zero-frame close leaves nothing");

    /* explicit format beats the extension */
    snprintf(path, sizeof path, "%s/clip.bin", g_dir);
    o = io_video_opts_default();
    o.format = IO_VIDEO_MKV;
    o.fps_num = 24;
    CHECK(io_video_write_all(path, frames, 2, W, H, &o, &err) == DIT_OK, "explicit mkv: %s", err.msg);
    io_video_info info;
    CHECK(io_video_probe(path, &info, &err) == DIT_OK && !strcmp(info.codec, "ffv1") && info.frames == 2 &&
              info.fps_num == 24 * info.fps_den && !info.comment,
          "explicit mkv probe: %s", err.msg);
    io_video_info_free(&info);
    unlink(path);

    /* reading things that are not videos */
    snprintf(path, sizeof path, "%s/none.mp4", g_dir);
    CHECK(io_video_probe(path, &info, &err) == DIT_ERR_MISSING && strstr(err.msg, "none.mp4"), "missing: %s", err.msg);
    f = fopen(path, "wb");
    fputs("this is not a video", f);
    fclose(f);
    CHECK(io_video_probe(path, &info, &err) == DIT_ERR_FORMAT && strstr(err.msg, "none.mp4"), "garbage: %s", err.msg);
    unlink(path);
}

int main(void) {
    if (!io_video_have_ffmpeg()) {
        printf("SKIP test_video: built without FFmpeg (install libavformat-dev libavcodec-dev libavutil-dev "
               "libswscale-dev via ./setup.sh and reconfigure)\n");
        return 77;
    }
    io_video_set_quiet(1);
    size_t k = (size_t)snprintf(k_comment, sizeof k_comment, "%s", k_fields);
    for (; k < 5000; k++) k_comment[k] = (char)('a' + k % 26);
    snprintf(k_comment + k, sizeof k_comment - k, "\"}");
    snprintf(g_dir, sizeof g_dir, "/tmp/spadit_video_XXXXXX");
    if (!mkdtemp(g_dir)) {
        printf("mkdtemp failed\n");
        return 1;
    }
    uint8_t *frames = malloc((size_t)F * W * H * 3), *odd = malloc((size_t)F * 63 * 47 * 3);
    make_frames(frames, W, H, F);
    make_frames(odd, 63, 47, F);
    check_format("clip.mp4", "h264", "yuv420p", "bt709", W, H, frames, 40.0);
    check_format("clip.mkv", "ffv1", "bgr0", "gbr", W, H, frames, 99);
    check_format("odd.mkv", "ffv1", "bgr0", "gbr", 63, 47, odd, 99);
    check_format("clip.webm", "vp9", "yuv420p", "bt709", W, H, frames, 38.0);
    check_failures(frames);
    free(frames);
    free(odd);
    CHECK(dir_entries() == 0, "test folder %s left with %d entries", g_dir, dir_entries());
    rmdir(g_dir);
    return test_summary("test_video");
}
