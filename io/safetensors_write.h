/* safetensors_write.h — write a list of named tensors (and string metadata) as
 * one safetensors file, atomically.
 *
 * File layout (the format io/safetensors.h reads): u64 little-endian header
 * length N, N bytes of JSON (padded with spaces so the data section starts on
 * an 8-byte boundary), then the tensors back to back with no gaps.  Tensors are
 * stored widest dtype first (8-byte, then 4-, 2-, 1-byte; the caller's order
 * within one width), as the reference safetensors writer does, so every tensor
 * starts aligned to its element size.  Shapes and offsets are written as exact
 * integers.  The file appears under its final name only when complete: it is
 * written to a temporary name in the same folder, fsync'ed, then renamed.
 * Checked by tests/test_safetensors_write.c (round trip through the reader for
 * every dtype, alignment, metadata, errors, no temp file left behind).
 */
#ifndef SPADIT_SAFETENSORS_WRITE_H
#define SPADIT_SAFETENSORS_WRITE_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint8_t */

#include "safetensors.h" /* io_st_dtype, IO_ST_MAX_DIMS, dit_status, dit_err */

/* One tensor to write.  `data` holds numel x dtype-size bytes (little-endian),
 * written as is.  Alternatively, for dtype F32, BF16 or F16, `f32` may hold
 * numel floats that are converted while writing (bf16: round to nearest even);
 * exactly one of data / f32 must be set (both may be NULL when numel is 0). */
typedef struct io_st_out {
    const char *name;
    io_st_dtype dtype;
    int ndim;
    int64_t shape[IO_ST_MAX_DIMS];
    const void *data;
    const float *f32;
} io_st_out;

/* One "__metadata__" entry (both strings, as the format requires). */
typedef struct io_st_meta {
    const char *key;
    const char *value;
} io_st_meta;

/* Build the whole file image in memory (heap buffer, free() it). */
dit_status io_safetensors_serialize(const io_st_out *t, int n, const io_st_meta *meta, int n_meta, uint8_t **buf,
                                    size_t *len, dit_err *err);

/* Write `path` atomically (temp file beside it + fsync + rename).  Errors name
 * the path and the tensor; on failure no file and no temp file is left. */
dit_status io_safetensors_write(const char *path, const io_st_out *t, int n, const io_st_meta *meta, int n_meta,
                                dit_err *err);

/* Convenience: an io_st_out for a host f32 array stored as `dtype` (F32/BF16/F16). */
io_st_out io_st_out_f32(const char *name, io_st_dtype dtype, const float *data, int ndim, const int64_t *shape);

#endif
