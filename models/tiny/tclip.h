/* tclip.h — the .tclip file: a captioned RGB clip, run-length coded (the tiny model's clips
 * are flat colours, so a 33-frame 192x192 clip takes ~50-100 kB instead of 3.6 MB).
 *
 *   "TCLIP1 T H W\n"            ASCII header, 1 <= T <= 4096, 1 <= H, W <= 4096
 *   caption "\n"                one line, < 512 bytes
 *   runs                        for every frame, row by row: [count 1..255][r][g][b],
 *                               a run never crosses the end of a row
 * Written by tools/tiny/dump_clips.py (write_tclip).  Every malformed input (bad header,
 * zero or overlong run, truncation, trailing bytes) is an error, never a crash: checked by
 * tests/test_adherence.c on corrupted buffers.
 */
#ifndef SPADIT_TINY_TCLIP_H
#define SPADIT_TINY_TCLIP_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t, int64_t */

#include "../../dit/status.h" /* dit_status, dit_err */

typedef struct tiny_clip {
    int64_t T, H, W;
    uint8_t *rgb;      /* [T, H, W, 3], owned */
    char caption[512];
} tiny_clip;

/* Decode a .tclip held in memory. */
dit_status tiny_clip_parse(const uint8_t *buf, size_t n, tiny_clip *out, dit_err *err);
/* Read and decode a .tclip file. */
dit_status tiny_clip_read(const char *path, tiny_clip *out, dit_err *err);
void tiny_clip_free(tiny_clip *c);

#endif
