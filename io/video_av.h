/* video_av.h — internal to io/: the FFmpeg half of io/video.c (libavformat,
 * libavcodec, libswscale), compiled only when SPADIT_HAVE_FFMPEG.  io/video.c
 * owns the public API, the temp file and the PNG path; this side encodes into
 * an already created temp file and decodes for probing.  Checked by
 * tests/test_video.c. */
#ifndef SPADIT_VIDEO_AV_H
#define SPADIT_VIDEO_AV_H

#include <stdint.h> /* uint8_t */

#include "video.h" /* io_video_format, io_video_opts, io_video_info */

typedef struct io_av_enc io_av_enc;

/* Encoder writing `tmp` (which must exist); `target` names the file in errors. */
dit_status io_av_enc_open(const char *target, const char *tmp, io_video_format f, int width, int height,
                          const io_video_opts *o, io_av_enc **out, dit_err *err);
dit_status io_av_enc_frame(io_av_enc *e, const uint8_t *rgb, dit_err *err);
/* Drain the encoder, write the trailer, close the file. */
dit_status io_av_enc_finish(io_av_enc *e, dit_err *err);
void io_av_enc_free(io_av_enc **e);

dit_status io_av_probe(const char *path, io_video_info *info, dit_err *err);
dit_status io_av_read_frames(const char *path, uint8_t **rgb, int64_t *n, int *width, int *height, dit_err *err);
void io_av_set_quiet(int quiet);

#endif
