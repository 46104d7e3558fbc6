/* tensor.c — tensor descriptors, dtype sizes and float conversions (see tensor.h). */
#include "tensor.h"

#include <math.h>   /* isfinite */
#include <stdio.h>  /* snprintf */
#include <string.h> /* memcpy */

size_t dit_dtype_size(dit_dtype t) {
    switch (t) {
    case DIT_DTYPE_F32: return 4;
    case DIT_DTYPE_BF16: return 2;
    case DIT_DTYPE_F16: return 2;
    case DIT_DTYPE_F64: return 8;
    case DIT_DTYPE_I32: return 4;
    case DIT_DTYPE_I64: return 8;
    case DIT_DTYPE_U8: return 1;
    default: return 0;
    }
}

const char *dit_dtype_name(dit_dtype t) {
    switch (t) {
    case DIT_DTYPE_F32: return "F32";
    case DIT_DTYPE_BF16: return "BF16";
    case DIT_DTYPE_F16: return "F16";
    case DIT_DTYPE_F64: return "F64";
    case DIT_DTYPE_I32: return "I32";
    case DIT_DTYPE_I64: return "I64";
    case DIT_DTYPE_U8: return "U8";
    default: return "?";
    }
}

dit_tensor dit_tensor_make(dit_dtype dtype, dit_device dev, void *data, int ndim, const int64_t *ne) {
    dit_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.device = dev;
    t.data = data;
    if (ndim < 0) ndim = 0;
    if (ndim > DIT_MAX_DIMS) ndim = DIT_MAX_DIMS;
    t.ndim = ndim;
    for (int i = 0; i < DIT_MAX_DIMS; i++) t.ne[i] = i < ndim ? ne[i] : 1;
    return t;
}

dit_tensor dit_tensor_1d(dit_dtype dtype, dit_device dev, void *data, int64_t n0) {
    int64_t ne[1] = {n0};
    return dit_tensor_make(dtype, dev, data, 1, ne);
}
dit_tensor dit_tensor_2d(dit_dtype dtype, dit_device dev, void *data, int64_t n0, int64_t n1) {
    int64_t ne[2] = {n0, n1};
    return dit_tensor_make(dtype, dev, data, 2, ne);
}
dit_tensor dit_tensor_3d(dit_dtype dtype, dit_device dev, void *data, int64_t n0, int64_t n1, int64_t n2) {
    int64_t ne[3] = {n0, n1, n2};
    return dit_tensor_make(dtype, dev, data, 3, ne);
}

int64_t dit_tensor_numel(const dit_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->ne[i];
    return n;
}

size_t dit_tensor_nbytes(const dit_tensor *t) { return (size_t)dit_tensor_numel(t) * dit_dtype_size(t->dtype); }

int64_t dit_tensor_cols(const dit_tensor *t) { return t->ndim ? t->ne[t->ndim - 1] : 1; }
int64_t dit_tensor_rows(const dit_tensor *t) {
    int64_t c = dit_tensor_cols(t);
    return c ? dit_tensor_numel(t) / c : 0;
}

int dit_tensor_same_shape(const dit_tensor *a, const dit_tensor *b) {
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->ne[i] != b->ne[i]) return 0;
    return 1;
}

char *dit_shape_str(const dit_tensor *t, char *buf, size_t cap) {
    size_t o = 0;
    if (cap == 0) return buf;
    buf[0] = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int i = 0; i < t->ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, i ? ", %lld" : "%lld", (long long)t->ne[i]);
    if (o < cap) snprintf(buf + o, cap - o, "]");
    return buf;
}

dit_tensor dit_tensor_rows_view(const dit_tensor *t, int64_t r0, int64_t n) {
    dit_tensor v = *t;
    int64_t inner = t->ndim ? dit_tensor_numel(t) / t->ne[0] : 1;
    v.ne[0] = n;
    v.data = (char *)t->data + (size_t)(r0 * inner) * dit_dtype_size(t->dtype);
    return v;
}

uint16_t dit_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float dit_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t dit_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000u;
    int32_t exp = (int32_t)((u >> 23) & 0xff) - 127 + 15;
    uint32_t man = u & 0x7fffffu;
    if (((u >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    if (exp >= 31) return (uint16_t)(sign | 0x7c00u);
    if (exp <= 0) {
        if (exp < -10) return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - exp);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)exp << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) half++;
    return (uint16_t)half;
}

int dit_convert_to_f32(float *dst, const void *src, dit_dtype st, size_t n) {
    switch (st) {
    case DIT_DTYPE_F32: memcpy(dst, src, n * 4); return 0;
    /* Sources may be unaligned (safetensors offsets need not be): read through memcpy. */
    case DIT_DTYPE_BF16: {
        const unsigned char *s = (const unsigned char *)src;
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = dit_bf16_to_f32(h);
        }
        return 0;
    }
    case DIT_DTYPE_F16: {
        const unsigned char *s = (const unsigned char *)src;
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = dit_f16_to_f32(h);
        }
        return 0;
    }
    case DIT_DTYPE_F64: {
        const unsigned char *s = (const unsigned char *)src;
        for (size_t i = 0; i < n; i++) {
            double d;
            memcpy(&d, s + 8 * i, 8);
            dst[i] = (float)d;
        }
        return 0;
    }
    default: return -1;
    }
}

int dit_convert_from_f32(void *dst, dit_dtype dt, const float *src, size_t n) {
    switch (dt) {
    case DIT_DTYPE_F32: memcpy(dst, src, n * 4); return 0;
    case DIT_DTYPE_BF16: {
        uint16_t *d = (uint16_t *)dst;
        for (size_t i = 0; i < n; i++) d[i] = dit_f32_to_bf16(src[i]);
        return 0;
    }
    case DIT_DTYPE_F16: {
        uint16_t *d = (uint16_t *)dst;
        for (size_t i = 0; i < n; i++) d[i] = dit_f32_to_f16(src[i]);
        return 0;
    }
    default: return -1;
    }
}

dit_status dit_check_finite(const float *x, size_t n, const char *stage, dit_err *err) {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]) && bad++ == 0) first = i;
    if (!bad) return DIT_OK;
    return DIT_FAIL(err, DIT_ERR_FORMAT,
                    "%s: %zu of %zu values are NaN or Inf (first at index %zu); the weights or inputs of this stage "
                    "are corrupt", stage, bad, n, first);
}
