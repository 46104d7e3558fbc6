/* tensor.h — the engine's tensor: dtype, up to 5 dims, contiguous, host or device.
 *
 * Shapes are listed outermost first, exactly as PyTorch prints them
 * (an activation is [tokens, channels]; attention inputs are [tokens, heads, 128]).
 * Tensors never own memory: data points into a weight buffer, an arena or a
 * caller's array.  Element counts and byte offsets are int64_t/size_t throughout
 * (Wan-14B attention has S^2 > 2^31).
 */
#ifndef SPADIT_TENSOR_H
#define SPADIT_TENSOR_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int64_t, uint16_t */
#include "status.h" /* dit_status, dit_err */

#define DIT_MAX_DIMS 5

typedef enum dit_dtype {
    DIT_DTYPE_F32 = 0,
    DIT_DTYPE_BF16,
    DIT_DTYPE_F16,
    DIT_DTYPE_F64,
    DIT_DTYPE_I32,
    DIT_DTYPE_I64,
    DIT_DTYPE_U8,
    DIT_DTYPE_COUNT
} dit_dtype;

typedef enum dit_device { DIT_DEVICE_CPU = 0, DIT_DEVICE_CUDA = 1 } dit_device;

typedef struct dit_tensor {
    dit_dtype dtype;
    int ndim;
    int64_t ne[DIT_MAX_DIMS]; /* shape, outermost first; unused dims are 1 */
    void *data;
    dit_device device;
} dit_tensor;

size_t dit_dtype_size(dit_dtype t);
const char *dit_dtype_name(dit_dtype t);

/* A tensor descriptor over `data` with the given shape (ndim <= 5). */
dit_tensor dit_tensor_make(dit_dtype dtype, dit_device dev, void *data, int ndim, const int64_t *ne);
/* Convenience constructors for 1..3-D shapes. */
dit_tensor dit_tensor_1d(dit_dtype dtype, dit_device dev, void *data, int64_t n0);
dit_tensor dit_tensor_2d(dit_dtype dtype, dit_device dev, void *data, int64_t n0, int64_t n1);
dit_tensor dit_tensor_3d(dit_dtype dtype, dit_device dev, void *data, int64_t n0, int64_t n1, int64_t n2);

int64_t dit_tensor_numel(const dit_tensor *t);
size_t dit_tensor_nbytes(const dit_tensor *t);
/* Rows = product of all dims but the last; cols = last dim. */
int64_t dit_tensor_rows(const dit_tensor *t);
int64_t dit_tensor_cols(const dit_tensor *t);
/* Same dims (ndim and every ne). */
int dit_tensor_same_shape(const dit_tensor *a, const dit_tensor *b);
/* "[a, b, c]" into buf; returns buf. */
char *dit_shape_str(const dit_tensor *t, char *buf, size_t cap);
/* A view of rows [r0, r0+n) of a tensor (along its outermost dim). */
dit_tensor dit_tensor_rows_view(const dit_tensor *t, int64_t r0, int64_t n);

/* Scalar conversions (round-to-nearest-even for bf16; IEEE half for f16). */
static inline float dit_bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v;
    v.u = (uint32_t)h << 16;
    return v.f;
}
uint16_t dit_f32_to_bf16(float f);
float dit_f16_to_f32(uint16_t h);
uint16_t dit_f32_to_f16(float f);

/* Convert n elements of `src` (dtype st) into f32 `dst`.  Returns 0, or -1 for
 * a dtype that has no float meaning. */
int dit_convert_to_f32(float *dst, const void *src, dit_dtype st, size_t n);
/* DIT_OK when x[0..n) are all finite; otherwise DIT_ERR_FORMAT with "<stage>: K of N values are NaN or
 * Inf (first at index i)" and a hint that weights or inputs are corrupt.  Run after every stage
 * (text encoder, each DiT call, VAE) so a broken checkpoint never yields a silent black video. */
dit_status dit_check_finite(const float *x, size_t n, const char *stage, dit_err *err);
/* Convert n f32 elements into dtype dt (F32/BF16/F16). */
int dit_convert_from_f32(void *dst, dit_dtype dt, const float *src, size_t n);

#endif
