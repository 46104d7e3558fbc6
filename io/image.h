/* image.h — PNG frames through stb_image_write / stb_image (Debian libstb).
 *
 * Frames are RGB24: [height, width, 3] uint8, rows top to bottom, no padding.
 * Every PNG is written to a temporary file in the same folder and renamed into
 * place (io/atomic_file.h), so a failed write never leaves a partial image.
 * Sequences are named <prefix>_%05d.png (frame 0 = <prefix>_00000.png).
 * Checked by tests/test_video.c (round trip, sequence names, failures).
 */
#ifndef SPADIT_IMAGE_H
#define SPADIT_IMAGE_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t, int64_t */

#include "../dit/status.h" /* dit_status, dit_err */

#define IO_IMAGE_MAX_DIM 16384

/* Write one RGB24 frame as a PNG at `path` (atomic). */
dit_status io_image_write_png(const char *path, const uint8_t *rgb, int width, int height, dit_err *err);
/* "<prefix>_%05d.png" for frame `index` into buf; DIT_ERR_INVALID_ARG when it does not fit. */
dit_status io_image_seq_path(const char *prefix, int64_t index, char *buf, size_t cap, dit_err *err);
/* Write frame `index` of a PNG sequence (atomic per file). */
dit_status io_image_write_seq(const char *prefix, int64_t index, const uint8_t *rgb, int width, int height,
                              dit_err *err);
/* Read a PNG (any channel count) as RGB24; *rgb is malloc'd (free()). */
dit_status io_image_read_png(const char *path, uint8_t **rgb, int *width, int *height, dit_err *err);

#endif
