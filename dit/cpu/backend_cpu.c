/* backend_cpu.c — the CPU backend: f32 everywhere, OpenBLAS GEMM, OpenMP loops.
 *
 * This is the reference every other backend is tested against, so each op is
 * the plain formula (statistics accumulated in double).  Checked by
 * tests/test_ops.c against hand-computed values and by the Wan goldens; the
 * video-VAE ops live in ops_cpu_vae.c (tests/test_ops_vae.c).
 */
#include "../backend.h"
#include "../op_check.h"
#include "../cpu_threads.h" /* dit_cpu_cores_available, dit_cpu_wait_policy */
#include "cpu_internal.h"   /* dit_cpu_state, dit_cpu_workspace, VAE op entries */
#include "../cpu_gemm.h"      /* dit_cpu_blas_serial_begin/end, dit_cpu_tile */

#include <cblas.h>  /* cblas_sgemm (OpenBLAS) */
#include <math.h>   /* tanhf, erff, expf, sqrt */
#include <stdio.h>  /* snprintf */
#include <stdlib.h> /* malloc, free, getenv */
#include <string.h> /* memcpy, memset */
#ifdef _OPENMP
#include <omp.h> /* omp_get_max_threads */
#endif

#define F32 DIT_MASK(DIT_DTYPE_F32)

static void cpu_destroy(dit_backend *be) {
    dit_cpu_state *st = be->impl;
    if (st) free(st->ws);
    free(st);
    free(be);
}

dit_status dit_cpu_workspace(dit_backend *be, size_t bytes, float **out) {
    dit_cpu_state *st = be->impl;
    if (bytes > st->ws_cap) {
        size_t n = (bytes + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, n);
        if (!p) return DIT_FAIL(&be->err, DIT_ERR_OOM, "cpu: cannot grow the op workspace to %zu bytes", bytes);
        free(st->ws);
        st->ws = p;
        st->ws_cap = n;
    }
    *out = st->ws;
    return DIT_OK;
}

static dit_status cpu_alloc(dit_backend *be, size_t bytes, void **ptr) {
    /* 64-byte alignment for vector loads; round the size up as aligned_alloc requires. */
    size_t n = (bytes + 63) & ~(size_t)63;
    *ptr = aligned_alloc(64, n ? n : 64);
    if (!*ptr) return DIT_FAIL(&be->err, DIT_ERR_OOM, "cpu: cannot allocate %zu bytes of host memory", bytes);
    return DIT_OK;
}
static void cpu_free(dit_backend *be, void *p) {
    (void)be;
    free(p);
}
static dit_status cpu_copy(dit_backend *be, void *dst, const void *src, size_t bytes) {
    (void)be;
    if (bytes) memmove(dst, src, bytes);
    return DIT_OK;
}
static dit_status cpu_memset0(dit_backend *be, void *dst, size_t bytes) {
    (void)be;
    memset(dst, 0, bytes);
    return DIT_OK;
}
static dit_status cpu_sync(dit_backend *be) {
    (void)be;
    return DIT_OK;
}

static dit_status cpu_convert(dit_backend *be, dit_tensor *dst, const dit_tensor *src) {
    DIT_TRY(dit_check_operand(be, "convert", "src", src, DIT_MASK_FLOAT));
    DIT_TRY(dit_check_operand(be, "convert", "dst", dst, DIT_MASK_FLOAT));
    DIT_TRY(dit_check_numel(be, "convert", "dst", dst, dit_tensor_numel(src)));
    size_t n = (size_t)dit_tensor_numel(src);
    if (src->dtype == dst->dtype) return cpu_copy(be, dst->data, src->data, n * dit_dtype_size(src->dtype));
    if (src->dtype == DIT_DTYPE_F32) {
        dit_convert_from_f32(dst->data, dst->dtype, (const float *)src->data, n);
        return DIT_OK;
    }
    if (dst->dtype == DIT_DTYPE_F32) {
        dit_convert_to_f32((float *)dst->data, src->data, src->dtype, n);
        return DIT_OK;
    }
    float *tmp = malloc(n * 4 + 4);
    if (!tmp) return DIT_FAIL(&be->err, DIT_ERR_OOM, "convert: staging %zu floats", n);
    dit_convert_to_f32(tmp, src->data, src->dtype, n);
    dit_convert_from_f32(dst->data, dst->dtype, tmp, n);
    free(tmp);
    return DIT_OK;
}

static inline float act_apply(float v, dit_act act) {
    switch (act) {
    case DIT_ACT_GELU_TANH: {
        const float c = 0.7978845608028654f; /* sqrt(2/pi) */
        return 0.5f * v * (1.0f + tanhf(c * (v + 0.044715f * v * v * v)));
    }
    case DIT_ACT_GELU_ERF: return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
    case DIT_ACT_SILU: return v / (1.0f + expf(-v));
    default: return v;
    }
}

static void linear_epilogue(float *o, int64_t rows, int64_t N, const float *bias, dit_act act) {
    if (!bias && act == DIT_ACT_NONE) return;
    for (int64_t i = 0; i < rows; i++) {
        float *row = o + i * N;
        for (int64_t j = 0; j < N; j++) row[j] = act_apply(row[j] + (bias ? bias[j] : 0.0f), act);
    }
}

/* out = act(x W^T + b): tiles of rows over the OpenMP threads (dynamic), each a single-threaded
 * sgemm followed by its bias/activation while the tile is in cache (cpu_gemm.h says why). */
static dit_status cpu_linear(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                             const dit_tensor *b, dit_act act) {
    DIT_TRY(dit_check_linear(be, out, x, w, b, F32, F32));
    int64_t M = dit_tensor_rows(x), K = dit_tensor_cols(x), N = w->ne[0];
    float *o = (float *)out->data;
    const float *xd = (const float *)x->data, *wd = (const float *)w->data;
    const float *bias = b ? (const float *)b->data : NULL;
    if (M <= 0 || N <= 0) return DIT_OK;
    int nt = dit_cpu_blas_serial_begin();
    int tile = dit_cpu_tile((int)M, nt, 16), tiles = (int)((M + tile - 1) / tile);
    if ((double)M * N * K < (double)(1 << 21)) tiles = 1, tile = (int)M; /* small: one thread */
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (tiles > 1)
    for (int t = 0; t < tiles; t++) {
        int64_t r0 = (int64_t)t * tile, m = M - r0 < tile ? M - r0 : tile;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)N, (int)K, 1.0f, xd + r0 * K, (int)K, wd,
                    (int)K, 0.0f, o + r0 * N, (int)N);
        linear_epilogue(o + r0 * N, m, N, bias, act);
    }
    dit_cpu_blas_serial_end(nt);
    return DIT_OK;
}

static dit_status cpu_layer_norm(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                 const dit_tensor *beta, const dit_tensor *scale, const dit_tensor *shift, float eps) {
    DIT_TRY(dit_check_layer_norm(be, out, x, gamma, beta, scale, shift, F32, F32));
    int64_t M = dit_tensor_rows(x), C = dit_tensor_cols(x);
    const float *g = gamma ? gamma->data : NULL, *bt = beta ? beta->data : NULL;
    const float *sc = scale ? scale->data : NULL, *sh = shift ? shift->data : NULL;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(M))
    for (int64_t i = 0; i < M; i++) {
        const float *xr = (const float *)x->data + i * C;
        float *orow = (float *)out->data + i * C;
        double mu = 0, var = 0;
        for (int64_t j = 0; j < C; j++) mu += xr[j];
        mu /= (double)C;
        for (int64_t j = 0; j < C; j++) var += (xr[j] - mu) * (xr[j] - mu);
        var /= (double)C;
        float r = (float)(1.0 / sqrt(var + (double)eps));
        for (int64_t j = 0; j < C; j++) {
            float v = (float)(xr[j] - mu) * r;
            if (g) v *= g[j];
            if (bt) v += bt[j];
            if (sc) v *= 1.0f + sc[j];
            if (sh) v += sh[j];
            orow[j] = v;
        }
    }
    return DIT_OK;
}

static dit_status cpu_rms_norm(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                               float eps) {
    DIT_TRY(dit_check_rms_norm(be, out, x, gamma, F32, F32));
    int64_t M = dit_tensor_rows(x), C = dit_tensor_cols(x);
    const float *g = gamma ? gamma->data : NULL;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(M))
    for (int64_t i = 0; i < M; i++) {
        const float *xr = (const float *)x->data + i * C;
        float *orow = (float *)out->data + i * C;
        double ss = 0;
        for (int64_t j = 0; j < C; j++) ss += (double)xr[j] * xr[j];
        float r = (float)(1.0 / sqrt(ss / (double)C + (double)eps));
        for (int64_t j = 0; j < C; j++) orow[j] = xr[j] * r * (g ? g[j] : 1.0f);
    }
    return DIT_OK;
}

static dit_status cpu_rope(dit_backend *be, dit_tensor *x, const dit_tensor *table) {
    DIT_TRY(dit_check_operand(be, "rope", "x", x, F32));
    DIT_TRY(dit_check_operand(be, "rope", "table", table, F32));
    if (x->ndim != 3 || x->ne[2] % 2)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "rope: x must be [N, H, D] with even D (got %d dims)", x->ndim);
    int64_t N = x->ne[0], H = x->ne[1], D = x->ne[2];
    DIT_TRY(dit_check_numel(be, "rope", "table", table, N * D));
    const float *tb = (const float *)table->data;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(N))
    for (int64_t n = 0; n < N; n++) {
        const float *cs = tb + n * D; /* D/2 pairs of (cos, sin) */
        for (int64_t h = 0; h < H; h++) {
            float *v = (float *)x->data + (n * H + h) * D;
            for (int64_t p = 0; p < D / 2; p++) {
                float c = cs[2 * p], s = cs[2 * p + 1];
                float re = v[2 * p], im = v[2 * p + 1];
                v[2 * p] = re * c - im * s;
                v[2 * p + 1] = re * s + im * c;
            }
        }
    }
    return DIT_OK;
}

static dit_status cpu_gated_add(dit_backend *be, dit_tensor *x, const dit_tensor *y, const dit_tensor *gate) {
    DIT_TRY(dit_check_gated_add(be, x, y, gate, F32));
    int64_t M = dit_tensor_rows(x), C = dit_tensor_cols(x);
    const float *g = gate ? gate->data : NULL;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(M))
    for (int64_t i = 0; i < M; i++) {
        float *xr = (float *)x->data + i * C;
        const float *yr = (const float *)y->data + i * C;
        for (int64_t j = 0; j < C; j++) xr[j] += yr[j] * (g ? g[j] : 1.0f);
    }
    return DIT_OK;
}

static dit_status cpu_activation(dit_backend *be, dit_tensor *out, const dit_tensor *x, dit_act act) {
    DIT_TRY(dit_check_unary(be, "activation", out, x, F32));
    int64_t n = dit_tensor_numel(x);
    const float *xi = x->data;
    float *o = out->data;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(n))
    for (int64_t i = 0; i < n; i++) o[i] = act_apply(xi[i], act);
    return DIT_OK;
}

static dit_status cpu_binary(dit_backend *be, const char *op, dit_tensor *out, const dit_tensor *a,
                             const dit_tensor *b, int mul) {
    DIT_TRY(dit_check_binary(be, op, out, a, b, F32));
    int64_t n = dit_tensor_numel(a);
    const float *pa = a->data, *pb = b->data;
    float *o = out->data;
#pragma omp parallel for schedule(dynamic, dit_cpu_chunk(n))
    for (int64_t i = 0; i < n; i++) o[i] = mul ? pa[i] * pb[i] : pa[i] + pb[i];
    return DIT_OK;
}
static dit_status cpu_add(dit_backend *be, dit_tensor *out, const dit_tensor *a, const dit_tensor *b) {
    return cpu_binary(be, "add", out, a, b, 0);
}
static dit_status cpu_mul(dit_backend *be, dit_tensor *out, const dit_tensor *a, const dit_tensor *b) {
    return cpu_binary(be, "mul", out, a, b, 1);
}

static dit_status cpu_fill_uniform(dit_backend *be, dit_tensor *t, uint64_t seed, float lo, float hi) {
    DIT_TRY(dit_check_operand(be, "fill_uniform", "t", t, DIT_MASK_FLOAT));
    int64_t n = dit_tensor_numel(t);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float v = lo + (hi - lo) * dit_hash_uniform(seed, (uint64_t)i);
        if (t->dtype == DIT_DTYPE_F32) ((float *)t->data)[i] = v;
        else if (t->dtype == DIT_DTYPE_BF16) ((uint16_t *)t->data)[i] = dit_f32_to_bf16(v);
        else ((uint16_t *)t->data)[i] = dit_f32_to_f16(v);
    }
    return DIT_OK;
}

static dit_status cpu_copy_2d(dit_backend *be, void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                              size_t rows) {
    if (rows > 1 && (dpitch < width || spitch < width))
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "copy_2d: pitches %zu / %zu are smaller than the row of %zu bytes",
                        dpitch, spitch, width);
    for (size_t r = 0; r < rows; r++) memcpy((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return DIT_OK;
}

static const dit_backend_ops cpu_ops = {
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .memset0 = cpu_memset0,
    .sync = cpu_sync,
    .convert = cpu_convert,
    .linear = cpu_linear,
    .layer_norm = cpu_layer_norm,
    .rms_norm = cpu_rms_norm,
    .rope = cpu_rope,
    .rms_norm_rope = NULL, /* composed from rms_norm + rope */
    .gated_add = cpu_gated_add,
    .activation = cpu_activation,
    .add = cpu_add,
    .mul = cpu_mul,
    .fill_uniform = cpu_fill_uniform,
    .conv3d = dit_cpu_conv3d,
    .channel_norm = dit_cpu_channel_norm,
    .upsample2x = dit_cpu_upsample2x,
    .transpose = dit_cpu_transpose,
    .copy_frames = dit_cpu_copy_frames,
    .copy_2d = cpu_copy_2d,
};

dit_status dit_backend_cpu_create(int threads, dit_backend **out, dit_err *err) {
    dit_backend *be = calloc(1, sizeof *be);
    dit_cpu_state *st = calloc(1, sizeof *st);
    if (!be || !st) {
        free(be);
        free(st);
        return DIT_FAIL(err, DIT_ERR_OOM, "cpu backend: out of host memory");
    }
    be->impl = st;
    be->name = "cpu";
    be->device = DIT_DEVICE_CPU;
    be->act_dtype = DIT_DTYPE_F32;
    be->gemm_dtype = DIT_DTYPE_F32;
#ifdef _OPENMP
    /* The count sets the process's OpenMP team (which OpenBLAS's OpenMP build shares).  Default: the
     * cores this process may use (affinity, cgroup quota; ../cpu_threads.h) unless OMP_NUM_THREADS
     * says otherwise; rank processes on one machine pass their share. */
    if (threads <= 0) threads = getenv("OMP_NUM_THREADS") ? omp_get_max_threads() : dit_cpu_cores_available();
    omp_set_num_threads(threads);
    be->threads = threads;
#else
    (void)dit_cpu_cores_available;
    be->threads = 1;
#endif
    snprintf(be->device_name, sizeof be->device_name, "CPU, %d thread%s, %s", be->threads,
             be->threads == 1 ? "" : "s", dit_cpu_wait_policy());
    be->ops = &cpu_ops;
    *out = be;
    return DIT_OK;
}
