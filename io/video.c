/* video.c — the public video writer (see video.h): argument checks, format choice,
 * temp file + rename, the PNG-sequence path, and dispatch to the FFmpeg side
 * (io/video_av.c) when built with SPADIT_HAVE_FFMPEG.  Checked by
 * tests/test_video.c (every format, metadata, failures leave no file). */
#include "video.h"

#include <stdio.h>   /* snprintf */
#include <stdlib.h>  /* calloc, free */
#include <string.h>  /* strlen, strdup, strrchr */
#include <strings.h> /* strcasecmp */
#include <unistd.h>  /* unlink */

#include "atomic_file.h" /* io_tmp_create, io_tmp_commit, io_tmp_discard */
#include "image.h"       /* io_image_write_seq, io_image_seq_path */
#ifdef SPADIT_HAVE_FFMPEG
#include "video_av.h" /* io_av_enc_open, io_av_probe */
#endif

#define MAX_DIM 16384

struct io_video_writer {
    io_video_format format;
    char *path;      /* the target (mp4/mkv/webm) or the PNG prefix */
    char tmp[4096];  /* FFmpeg formats: the temp file being written */
    char *comment;   /* PNG: written to <prefix>.json at close */
    int width, height;
    int64_t frames;
    dit_status failed; /* first write failure, DIT_OK if none */
#ifdef SPADIT_HAVE_FFMPEG
    io_av_enc *av;
#endif
};

io_video_opts io_video_opts_default(void) {
    io_video_opts o = {IO_VIDEO_AUTO, IO_VIDEO_DEFAULT_FPS, 1, -1, NULL};
    return o;
}

int io_video_have_ffmpeg(void) {
#ifdef SPADIT_HAVE_FFMPEG
    return 1;
#else
    return 0;
#endif
}

const char *io_video_format_name(io_video_format f) {
    switch (f) {
    case IO_VIDEO_AUTO: return "auto";
    case IO_VIDEO_MP4: return "mp4 (H.264 yuv420p)";
    case IO_VIDEO_MKV: return "mkv (FFV1 bgr0, lossless)";
    case IO_VIDEO_WEBM: return "webm (VP9 yuv420p)";
    case IO_VIDEO_PNG: return "png (frame sequence)";
    }
    return "?";
}

dit_status io_video_format_from_path(const char *path, io_video_format *f, dit_err *err) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: no extension to choose a format (.mp4, .mkv, .webm or .png)",
                        path);
    static const struct { const char *ext; io_video_format f; } k[] = {
        {".mp4", IO_VIDEO_MP4}, {".mkv", IO_VIDEO_MKV}, {".webm", IO_VIDEO_WEBM}, {".png", IO_VIDEO_PNG}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (!strcasecmp(dot, k[i].ext)) {
            *f = k[i].f;
            return DIT_OK;
        }
    return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: unknown video extension '%s' (use .mp4, .mkv, .webm or .png)", path,
                    dot);
}

static void writer_free(io_video_writer *w) {
    free(w->path);
    free(w->comment);
    free(w);
}

/* Check sizes, fps and CRF for the chosen format. */
static dit_status check_args(const char *path, io_video_format f, int width, int height, io_video_opts *o,
                             dit_err *err) {
    if (width <= 0 || height <= 0 || width > MAX_DIM || height > MAX_DIM)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: frame size %dx%d outside 1..%d", path, width, height, MAX_DIM);
    if ((f == IO_VIDEO_MP4 || f == IO_VIDEO_WEBM) && (width % 2 || height % 2))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG,
                        "%s: frame size %dx%d (width x height) is odd; %s needs even dimensions (use .mkv or .png for "
                        "odd sizes)",
                        path, width, height, io_video_format_name(f));
    if (o->fps_num == 0 && o->fps_den == 0) o->fps_num = IO_VIDEO_DEFAULT_FPS;
    if (o->fps_den == 0) o->fps_den = 1;
    if (o->fps_num <= 0 || o->fps_den <= 0 || o->fps_num / o->fps_den > 1000)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: frame rate %d/%d must be positive and at most 1000", path,
                        o->fps_num, o->fps_den);
    int max_crf = f == IO_VIDEO_MP4 ? 51 : f == IO_VIDEO_WEBM ? 63 : 1 << 30;
    if (o->crf > max_crf)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: CRF %d out of range for %s (0..%d, or -1 for the default)", path,
                        o->crf, io_video_format_name(f), max_crf);
    return DIT_OK;
}

dit_status io_video_open(const char *path, int width, int height, const io_video_opts *opts, io_video_writer **out,
                         dit_err *err) {
    *out = NULL;
    io_video_opts o = opts ? *opts : io_video_opts_default();
    io_video_format f = o.format;
    if (f == IO_VIDEO_AUTO) DIT_TRY(io_video_format_from_path(path, &f, err));
    if (f < IO_VIDEO_MP4 || f > IO_VIDEO_PNG) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: unknown format %d", path, (int)f);
    DIT_TRY(check_args(path, f, width, height, &o, err));
#ifndef SPADIT_HAVE_FFMPEG
    if (f != IO_VIDEO_PNG)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: %s output needs FFmpeg, and this build has none: install libavformat-dev libavcodec-dev "
                        "libavutil-dev libswscale-dev (./setup.sh) and reconfigure with -DSPADIT_FFMPEG=ON, or write "
                        "PNG frames (.png)",
                        path, io_video_format_name(f));
#endif
    io_video_writer *w = calloc(1, sizeof *w);
    if (!w) return DIT_FAIL(err, DIT_ERR_OOM, "%s: writer", path);
    w->format = f;
    w->width = width;
    w->height = height;
    if (f == IO_VIDEO_PNG) {
        size_t n = strlen(path);
        w->path = strdup(path);
        if (w->path && n >= 4 && !strcasecmp(path + n - 4, ".png")) w->path[n - 4] = 0;
        if (!w->path || (o.comment && !(w->comment = strdup(o.comment)))) {
            writer_free(w);
            return DIT_FAIL(err, DIT_ERR_OOM, "%s: writer", path);
        }
        *out = w;
        return DIT_OK;
    }
#ifdef SPADIT_HAVE_FFMPEG
    dit_status s = (w->path = strdup(path)) ? DIT_OK : DIT_FAIL(err, DIT_ERR_OOM, "%s: writer", path);
    if (s == DIT_OK) s = io_tmp_create(path, w->tmp, sizeof w->tmp, err);
    if (s == DIT_OK) s = io_av_enc_open(path, w->tmp, f, width, height, &o, &w->av, err);
    if (s != DIT_OK) {
        io_tmp_discard(w->tmp);
        writer_free(w);
        return s;
    }
#endif
    *out = w;
    return DIT_OK;
}

dit_status io_video_write_frame(io_video_writer *w, const uint8_t *rgb, dit_err *err) {
    if (w->failed) return DIT_FAIL(err, w->failed, "%s: an earlier frame failed; close or abort the writer", w->path);
    dit_status s = DIT_ERR_INTERNAL;
    if (!rgb) s = DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: frame %lld is NULL", w->path, (long long)w->frames);
    else if (w->format == IO_VIDEO_PNG) s = io_image_write_seq(w->path, w->frames, rgb, w->width, w->height, err);
#ifdef SPADIT_HAVE_FFMPEG
    else s = io_av_enc_frame(w->av, rgb, err);
#endif
    if (s != DIT_OK) {
        w->failed = s;
        return s;
    }
    w->frames++;
    return DIT_OK;
}

int64_t io_video_frames_written(const io_video_writer *w) { return w->frames; }

static void remove_pngs(io_video_writer *w) {
    char p[4200];
    for (int64_t i = 0; i < w->frames; i++)
        if (io_image_seq_path(w->path, i, p, sizeof p, NULL) == DIT_OK) unlink(p);
}

void io_video_abort(io_video_writer **pw) {
    if (!pw || !*pw) return;
    io_video_writer *w = *pw;
    if (w->format == IO_VIDEO_PNG) remove_pngs(w);
#ifdef SPADIT_HAVE_FFMPEG
    io_av_enc_free(&w->av);
#endif
    io_tmp_discard(w->tmp);
    writer_free(w);
    *pw = NULL;
}

/* PNG: the comment goes next to the frames as <prefix>.json. */
static dit_status write_sidecar(io_video_writer *w, dit_err *err) {
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s.json", w->path);
    DIT_TRY(io_tmp_create(path, tmp, sizeof tmp, err));
    FILE *f = fopen(tmp, "wb");
    size_t n = strlen(w->comment);
    int ok = f && fwrite(w->comment, 1, n, f) == n && fputc('\n', f) != EOF;
    if (f && fclose(f) != 0) ok = 0;
    if (!ok) {
        io_tmp_discard(tmp);
        return DIT_FAIL(err, DIT_ERR_IO, "%s: cannot write the metadata file", path);
    }
    return io_tmp_commit(tmp, path, err);
}

dit_status io_video_close(io_video_writer **pw, dit_err *err) {
    if (!pw || !*pw) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "io_video_close: no writer");
    io_video_writer *w = *pw;
    dit_status s = DIT_OK;
    if (w->failed)
        s = DIT_FAIL(err, w->failed, "%s: not finished because frame %lld failed; nothing was kept", w->path,
                     (long long)w->frames);
    else if (w->frames == 0)
        s = DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%s: no frames were written; nothing was kept", w->path);
    if (s == DIT_OK && w->format == IO_VIDEO_PNG) {
        if (w->comment) s = write_sidecar(w, err);
        if (s == DIT_OK) {
            writer_free(w);
            *pw = NULL;
            return DIT_OK;
        }
    }
#ifdef SPADIT_HAVE_FFMPEG
    if (s == DIT_OK && w->format != IO_VIDEO_PNG) {
        s = io_av_enc_finish(w->av, err);
        io_av_enc_free(&w->av);
        if (s == DIT_OK) {
            s = io_tmp_commit(w->tmp, w->path, err);
            w->tmp[0] = 0;
        }
        if (s == DIT_OK) {
            writer_free(w);
            *pw = NULL;
            return DIT_OK;
        }
    }
#endif
    io_video_abort(pw);
    return s;
}

dit_status io_video_write_all(const char *path, const uint8_t *frames, int64_t n, int width, int height,
                              const io_video_opts *opts, dit_err *err) {
    io_video_writer *w = NULL;
    DIT_TRY(io_video_open(path, width, height, opts, &w, err));
    size_t fb = (size_t)width * (size_t)height * 3;
    for (int64_t i = 0; i < n; i++)
        if (io_video_write_frame(w, frames + (size_t)i * fb, err) != DIT_OK) {
            dit_status s = err->code;
            io_video_abort(&w);
            return s;
        }
    return io_video_close(&w, err);
}

void io_video_set_quiet(int quiet) {
#ifdef SPADIT_HAVE_FFMPEG
    io_av_set_quiet(quiet);
#else
    (void)quiet;
#endif
}

void io_video_info_free(io_video_info *info) {
    if (!info) return;
    free(info->comment);
    info->comment = NULL;
}

dit_status io_video_probe(const char *path, io_video_info *info, dit_err *err) {
#ifdef SPADIT_HAVE_FFMPEG
    return io_av_probe(path, info, err);
#else
    memset(info, 0, sizeof *info);
    return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: reading videos needs FFmpeg, and this build has none (./setup.sh, "
                    "-DSPADIT_FFMPEG=ON)", path);
#endif
}

dit_status io_video_read_frames(const char *path, uint8_t **rgb, int64_t *n, int *width, int *height, dit_err *err) {
#ifdef SPADIT_HAVE_FFMPEG
    return io_av_read_frames(path, rgb, n, width, height, err);
#else
    (void)width, (void)height;
    *rgb = NULL;
    *n = 0;
    return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: reading videos needs FFmpeg, and this build has none (./setup.sh, "
                    "-DSPADIT_FFMPEG=ON)", path);
#endif
}
