/* video.h — streaming video writer (FFmpeg) and PNG-sequence writer, plus read-back.
 *
 * Formats (chosen from the extension unless given):
 *   .mp4   H.264 (libx264), yuv420p, BT.709 limited range (tagged), CRF (default 10
 *          = Wan's reference imageio quality 8), preset medium, +faststart
 *   .mkv   FFV1 level 3, bgr0 (8-bit RGB, lossless RCT): bit-exact RGB24 round trip (A/B)
 *   .webm  VP9 (libvpx-vp9), yuv420p BT.709, constant quality CRF (default 15)
 *   .png   PNG sequence <prefix>_%05d.png (prefix = path minus ".png"), plus
 *          <prefix>.json holding the comment when one is given; needs no FFmpeg
 * yuv420p formats need even width and height: an odd size is refused with
 * DIT_ERR_INVALID_ARG naming it (no silent padding or cropping).
 *
 * Metadata: `comment` (a JSON string from the caller: prompt, seed, steps, ...)
 * goes into the container's "comment" tag (mp4 ilst ©cmt, Matroska/WebM tag).
 *
 * Atomic output: the video is written to a hidden temp file in the target's
 * folder and renamed over the target only when io_video_close succeeds; a failed
 * write, a failed close or io_video_abort removes it (PNG: every frame written
 * so far), so a failed run never leaves a partial video.
 *
 * FFmpeg is optional at build time (SPADIT_HAVE_FFMPEG): without it mp4/mkv/webm
 * return DIT_ERR_UNSUPPORTED saying how to enable them; PNG still works.
 * Checked by tests/test_video.c.
 */
#ifndef SPADIT_VIDEO_H
#define SPADIT_VIDEO_H

#include <stdint.h> /* uint8_t, int64_t */

#include "../dit/status.h" /* dit_status, dit_err */

typedef enum io_video_format {
    IO_VIDEO_AUTO = 0, /* from the path's extension */
    IO_VIDEO_MP4,      /* H.264 yuv420p in MP4 */
    IO_VIDEO_MKV,      /* FFV1 bgr0 in Matroska (lossless) */
    IO_VIDEO_WEBM,     /* VP9 yuv420p in WebM */
    IO_VIDEO_PNG       /* PNG sequence */
} io_video_format;

#define IO_VIDEO_DEFAULT_FPS 16     /* Wan2.1 */
#define IO_VIDEO_DEFAULT_CRF_H264 10 /* = imageio quality 8 (Wan's cache_video) */
#define IO_VIDEO_DEFAULT_CRF_VP9 15

typedef struct io_video_opts {
    io_video_format format; /* IO_VIDEO_AUTO: from the extension */
    int fps_num, fps_den;   /* frame rate fps_num/fps_den; 0 -> 16/1 */
    int crf;                /* -1 -> the format's default; H.264 0..51, VP9 0..63; ignored by mkv/png */
    const char *comment;    /* JSON for the "comment" tag, or NULL */
} io_video_opts;

/* Defaults: AUTO, 16 fps, default CRF, no comment. */
io_video_opts io_video_opts_default(void);
int io_video_have_ffmpeg(void);
const char *io_video_format_name(io_video_format f);
/* Format for a path's extension (.mp4 .mkv .webm .png, case-insensitive). */
dit_status io_video_format_from_path(const char *path, io_video_format *f, dit_err *err);

typedef struct io_video_writer io_video_writer;

dit_status io_video_open(const char *path, int width, int height, const io_video_opts *opts, io_video_writer **out,
                         dit_err *err);
/* One RGB24 frame [height, width, 3].  After a failure the writer only accepts close/abort. */
dit_status io_video_write_frame(io_video_writer *w, const uint8_t *rgb, dit_err *err);
/* Flush the encoder, finish the file and rename it into place; frees *w (also on failure,
 * when nothing is left behind). */
dit_status io_video_close(io_video_writer **w, dit_err *err);
/* Drop everything written so far; frees *w. */
void io_video_abort(io_video_writer **w);
int64_t io_video_frames_written(const io_video_writer *w);
/* open + n frames of [n, height, width, 3] + close. */
dit_status io_video_write_all(const char *path, const uint8_t *frames, int64_t n, int width, int height,
                              const io_video_opts *opts, dit_err *err);

/* FFmpeg's process-wide log level: quiet -> errors only (x264 prints stats at info). */
void io_video_set_quiet(int quiet);

typedef struct io_video_info {
    char container[64]; /* libavformat demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
    char codec[32];     /* "h264", "ffv1", "vp9" */
    char pix_fmt[32];   /* "yuv420p", "bgr0" */
    char color[32];     /* colour matrix tag: "bt709" (mp4/webm), "gbr" (mkv), "unknown" */
    int width, height;
    int fps_num, fps_den;
    int64_t frames; /* counted by decoding */
    char *comment;  /* the "comment" tag (malloc'd) or NULL */
} io_video_info;

dit_status io_video_probe(const char *path, io_video_info *info, dit_err *err);
void io_video_info_free(io_video_info *info);
/* Decode every frame to RGB24: *rgb = [*n, *height, *width, 3], malloc'd (free()). */
dit_status io_video_read_frames(const char *path, uint8_t **rgb, int64_t *n, int *width, int *height, dit_err *err);

#endif
