/* backend.c — backend creation by name and the generic helpers built on the vtable. */
#include "backend.h"

#include <stdio.h>  /* fopen, fgets, sscanf */
#include <stdlib.h> /* malloc, free, atoi */
#include <unistd.h> /* sysconf */
#include <string.h> /* strcmp, strncmp */

dit_status dit_backend_create(const char *name, dit_backend **out, dit_err *err) {
    return dit_backend_create_threads(name, 0, out, err);
}

dit_status dit_backend_create_threads(const char *name, int threads, dit_backend **out, dit_err *err) {
    *out = NULL;
    if (!name || !strcmp(name, "cpu")) return dit_backend_cpu_create(threads, out, err);
    if (!strcmp(name, "cuda")) return dit_backend_cuda_create(0, out, err);
    if (!strncmp(name, "cuda:", 5)) return dit_backend_cuda_create(atoi(name + 5), out, err);
    return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "unknown backend '%s' (expected 'cpu', 'cuda' or 'cuda:N')", name);
}

void dit_backend_destroy(dit_backend **be) {
    if (!be || !*be) return;
    (*be)->ops->destroy(*be);
    *be = NULL;
}

dit_status dit_backend_tensor_alloc(dit_backend *be, dit_tensor *t, dit_dtype dtype, int ndim, const int64_t *ne) {
    *t = dit_tensor_make(dtype, be->device, NULL, ndim, ne);
    size_t bytes = dit_tensor_nbytes(t);
    void *p = NULL;
    DIT_TRY(be->ops->alloc(be, bytes ? bytes : 1, &p));
    t->data = p;
    return DIT_OK;
}

void dit_backend_tensor_free(dit_backend *be, dit_tensor *t) {
    if (t && t->data) be->ops->free(be, t->data);
    if (t) t->data = NULL;
}

dit_status dit_backend_upload_f32(dit_backend *be, dit_tensor *t, const float *host) {
    size_t n = (size_t)dit_tensor_numel(t);
    if (t->dtype == DIT_DTYPE_F32) return be->ops->upload(be, t->data, host, n * 4);
    void *tmp = malloc(n * dit_dtype_size(t->dtype) + 1);
    if (!tmp) return DIT_FAIL(&be->err, DIT_ERR_OOM, "host staging buffer of %zu elements", n);
    if (dit_convert_from_f32(tmp, t->dtype, host, n) != 0) {
        free(tmp);
        return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "cannot convert f32 to %s", dit_dtype_name(t->dtype));
    }
    dit_status s = be->ops->upload(be, t->data, tmp, n * dit_dtype_size(t->dtype));
    free(tmp);
    return s;
}

dit_status dit_backend_download_f32(dit_backend *be, float *host, const dit_tensor *t) {
    size_t n = (size_t)dit_tensor_numel(t);
    if (t->dtype == DIT_DTYPE_F32) return be->ops->download(be, host, t->data, n * 4);
    void *tmp = malloc(n * dit_dtype_size(t->dtype) + 1);
    if (!tmp) return DIT_FAIL(&be->err, DIT_ERR_OOM, "host staging buffer of %zu elements", n);
    dit_status s = be->ops->download(be, tmp, t->data, n * dit_dtype_size(t->dtype));
    if (s == DIT_OK && dit_convert_to_f32(host, tmp, t->dtype, n) != 0)
        s = DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "cannot convert %s to f32", dit_dtype_name(t->dtype));
    free(tmp);
    return s;
}

dit_status dit_backend_weight_from_f32(dit_backend *be, dit_tensor *t, dit_weight_kind kind, const float *host,
                                       int ndim, const int64_t *ne) {
    dit_dtype dt = kind == DIT_WEIGHT_GEMM ? be->gemm_dtype : DIT_DTYPE_F32;
    DIT_TRY(dit_backend_tensor_alloc(be, t, dt, ndim, ne));
    dit_status s = dit_backend_upload_f32(be, t, host);
    if (s != DIT_OK) dit_backend_tensor_free(be, t);
    return s;
}

dit_status dit_op_rms_norm_rope(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                const dit_tensor *table, int heads, float eps) {
    if (be->ops->rms_norm_rope) return be->ops->rms_norm_rope(be, out, x, gamma, table, heads, eps);
    DIT_TRY(be->ops->rms_norm(be, out, x, gamma, eps));
    if (!table) return DIT_OK;
    dit_tensor v = *out;
    int64_t N = dit_tensor_rows(out), C = dit_tensor_cols(out);
    if (heads <= 0 || C % heads) return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "rms_norm_rope: %lld columns not divisible by %d heads", (long long)C, heads);
    int64_t ne[3] = {N, heads, C / heads};
    v = dit_tensor_make(out->dtype, out->device, out->data, 3, ne);
    return be->ops->rope(be, &v, table);
}

dit_status dit_op_swap01(dit_backend *be, dit_tensor *out, const dit_tensor *x, int64_t A, int64_t B) {
    const int64_t n = dit_tensor_numel(x);
    if (!be->ops->copy_2d) return DIT_FAIL(&be->err, DIT_ERR_UNSUPPORTED, "swap01: backend '%s' has no copy_2d", be->name);
    if (A < 1 || B < 1 || n % (A * B))
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "swap01: %lld elements cannot be viewed as [%lld, %lld, C]",
                        (long long)n, (long long)A, (long long)B);
    if (out->dtype != x->dtype || dit_tensor_numel(out) != n)
        return DIT_FAIL(&be->err, DIT_ERR_SHAPE, "swap01: out must have x's dtype and %lld elements", (long long)n);
    if (out->data == x->data && n > 0 && A > 1 && B > 1)
        return DIT_FAIL(&be->err, DIT_ERR_INVALID_ARG, "swap01: out must not alias x");
    const size_t row = (size_t)(n / (A * B)) * dit_dtype_size(x->dtype);
    for (int64_t b = 0; b < B; b++) /* slice b of x: A rows at pitch B*row -> out rows [b*A, (b+1)*A) */
        DIT_TRY(be->ops->copy_2d(be, (char *)out->data + (size_t)(b * A) * row, row,
                                 (const char *)x->data + (size_t)b * row, (size_t)B * row, row, (size_t)A));
    return DIT_OK;
}

size_t dit_host_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb = 0;
        int found = 0;
        while (!found && fgets(line, sizeof line, f)) found = sscanf(line, "MemAvailable: %llu kB", &kb) == 1;
        fclose(f);
        if (found) return (size_t)kb * 1024;
    }
    long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
}

size_t dit_backend_device_free(dit_backend *be) {
    return be && be->device == DIT_DEVICE_CUDA ? dit_backend_cuda_free_bytes(be) : 0;
}
