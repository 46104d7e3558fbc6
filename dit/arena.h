/* arena.h — a bump allocator over one backend buffer, for activations.
 *
 * The model computes how many bytes one forward needs before the first step,
 * creates the arena once, and resets it at the start of every forward: no
 * allocation happens inside the denoising loop.  Asking for more than the
 * capacity is an error that names the tensor, not a crash.
 */
#ifndef SPADIT_ARENA_H
#define SPADIT_ARENA_H

#include "backend.h" /* dit_backend, dit_tensor */

typedef struct dit_arena {
    dit_backend *be;
    char *base;
    size_t cap;
    size_t used;
    size_t peak;
} dit_arena;

#define DIT_ARENA_ALIGN 256

/* Bytes an arena needs for a tensor of n elements of dtype dt (aligned). */
size_t dit_arena_bytes(dit_dtype dt, int64_t n);

dit_status dit_arena_init(dit_arena *a, dit_backend *be, size_t cap);
void dit_arena_free(dit_arena *a);
void dit_arena_reset(dit_arena *a);
/* Carve a tensor; `what` names it in the error if the arena is too small. */
dit_status dit_arena_tensor(dit_arena *a, dit_tensor *t, const char *what, dit_dtype dtype, int ndim,
                            const int64_t *ne);
dit_status dit_arena_tensor_2d(dit_arena *a, dit_tensor *t, const char *what, dit_dtype dtype, int64_t n0,
                               int64_t n1);

#endif
