/* safetensors.h — a validating, memory-mapped safetensors reader.
 *
 * Layout: u64 little-endian header length N, N bytes of JSON
 *   { "name": {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}, ...,
 *     "__metadata__": {...} }
 * then the data section; offsets are relative to it.
 *
 * Everything is checked before any tensor is handed out: header length within
 * the file, JSON well formed, every dtype known, shape x dtype size equal to the
 * byte range, ranges inside the data section and not overlapping, no duplicate
 * names.  Errors name the file, the tensor and what was expected.
 */
#ifndef SPADIT_SAFETENSORS_H
#define SPADIT_SAFETENSORS_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint8_t */

#include "../dit/status.h" /* dit_status, dit_err */
#include "../dit/tensor.h" /* dit_dtype */

#define IO_ST_MAX_DIMS 8

typedef enum io_st_dtype {
    IO_ST_F32 = 0, IO_ST_BF16, IO_ST_F16, IO_ST_F64, IO_ST_I64, IO_ST_I32, IO_ST_I16, IO_ST_I8, IO_ST_U8,
    IO_ST_BOOL, IO_ST_F8_E4M3, IO_ST_F8_E5M2, IO_ST_U16, IO_ST_U32, IO_ST_U64, IO_ST_DTYPE_COUNT
} io_st_dtype;

typedef struct io_st_tensor {
    char *name;
    io_st_dtype dtype;
    int ndim;
    int64_t shape[IO_ST_MAX_DIMS];
    size_t begin, end;  /* byte range within the data section */
    const void *data;   /* points into the mapping */
} io_st_tensor;

typedef struct io_safetensors {
    char *path;
    void *map;          /* whole-file mapping (or caller buffer for io_safetensors_parse) */
    size_t map_size;
    int owns_map;
    const uint8_t *data;  /* data section */
    size_t data_len;
    int n;
    io_st_tensor *tensors;
} io_safetensors;

const char *io_st_dtype_name(io_st_dtype d);
size_t io_st_dtype_size(io_st_dtype d);
/* The engine dtype for float tensors; -1 when the dtype has no float conversion. */
int io_st_dtype_to_dit(io_st_dtype d);

/* mmap and validate a file. */
dit_status io_safetensors_open(const char *path, io_safetensors **out, dit_err *err);
/* Validate an in-memory image (used by the fuzzer and tests); `label` names it in errors.
 * The buffer must outlive the result. */
dit_status io_safetensors_parse(const uint8_t *buf, size_t len, const char *label, io_safetensors **out,
                                dit_err *err);
void io_safetensors_close(io_safetensors **st);
const io_st_tensor *io_safetensors_find(const io_safetensors *st, const char *name);
int64_t io_st_tensor_numel(const io_st_tensor *t);

/* Convert a float tensor's data to f32 (n must equal its numel). */
dit_status io_st_tensor_to_f32(const io_st_tensor *t, float *dst, int64_t n, const char *file, dit_err *err);

#endif
