/* cpu_internal.h — what the CPU backend's op files share: the backend's private
 * state (a grow-only scratch workspace, so ops such as conv3d need no malloc per
 * call once warmed up) and the op entry points defined outside backend_cpu.c.
 * Private to dit/cpu/; models never include it. */
#ifndef SPADIT_CPU_INTERNAL_H
#define SPADIT_CPU_INTERNAL_H

#include "../backend.h" /* dit_backend, dit_tensor, dit_status */

typedef struct dit_cpu_state {
    float *ws;      /* scratch workspace (64-byte aligned) */
    size_t ws_cap;  /* its size in bytes */
} dit_cpu_state;

/* Scratch of at least `bytes`, valid until the next call on this backend (grows, never shrinks). */
dit_status dit_cpu_workspace(dit_backend *be, size_t bytes, float **out);

/* ops_cpu_vae.c: the video VAE ops declared in backend.h. */
dit_status dit_cpu_conv3d(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                          const dit_tensor *b, int pt0, int pt1, int ph, int pw);
dit_status dit_cpu_channel_norm(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                const dit_tensor *beta);
dit_status dit_cpu_upsample2x(dit_backend *be, dit_tensor *out, const dit_tensor *x);
dit_status dit_cpu_transpose(dit_backend *be, dit_tensor *out, const dit_tensor *x);
dit_status dit_cpu_copy_frames(dit_backend *be, dit_tensor *dst, int64_t d0, const dit_tensor *src, int64_t s0,
                               int64_t n);

#endif
