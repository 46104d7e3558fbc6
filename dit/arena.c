/* arena.c — bump allocator over one backend buffer (see arena.h). */
#include "arena.h"

#include <string.h> /* memset */

size_t dit_arena_bytes(dit_dtype dt, int64_t n) {
    size_t b = (size_t)n * dit_dtype_size(dt);
    return (b + DIT_ARENA_ALIGN - 1) & ~(size_t)(DIT_ARENA_ALIGN - 1);
}

dit_status dit_arena_init(dit_arena *a, dit_backend *be, size_t cap) {
    memset(a, 0, sizeof *a);
    a->be = be;
    void *p = NULL;
    cap = (cap + DIT_ARENA_ALIGN - 1) & ~(size_t)(DIT_ARENA_ALIGN - 1);
    dit_status s = be->ops->alloc(be, cap ? cap : DIT_ARENA_ALIGN, &p);
    if (s != DIT_OK) return dit_err_wrap(&be->err, "activation arena of %.1f MiB", (double)cap / (1 << 20));
    a->base = p;
    a->cap = cap;
    return DIT_OK;
}

void dit_arena_free(dit_arena *a) {
    if (a->base) a->be->ops->free(a->be, a->base);
    a->base = NULL;
    a->cap = a->used = 0;
}

void dit_arena_reset(dit_arena *a) { a->used = 0; }

dit_status dit_arena_tensor(dit_arena *a, dit_tensor *t, const char *what, dit_dtype dtype, int ndim,
                            const int64_t *ne) {
    *t = dit_tensor_make(dtype, a->be->device, NULL, ndim, ne);
    size_t need = dit_arena_bytes(dtype, dit_tensor_numel(t));
    if (a->used + need > a->cap)
        return DIT_FAIL(&a->be->err, DIT_ERR_INTERNAL,
                        "activation arena too small for '%s': %zu bytes used of %zu, %zu more needed", what, a->used,
                        a->cap, need);
    t->data = a->base + a->used;
    a->used += need;
    if (a->used > a->peak) a->peak = a->used;
    return DIT_OK;
}

dit_status dit_arena_tensor_2d(dit_arena *a, dit_tensor *t, const char *what, dit_dtype dtype, int64_t n0,
                               int64_t n1) {
    int64_t ne[2] = {n0, n1};
    return dit_arena_tensor(a, t, what, dtype, 2, ne);
}
