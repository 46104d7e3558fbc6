/* attn_cuda.h — the CUDA attention context (attn_cuda.c; built with SPADIT_HAVE_CUDA): one per
 * attn_ctx on a CUDA backend.  It owns the timing events, the sparse methods' device workspace
 * and the cuDNN SDPA plan cache (dense_cuda.h); the CUDA implementations (dense_cuda.h,
 * sparse_cuda.h) borrow them.  Nothing else in spadit keeps attention state on the GPU. */
#ifndef SPADIT_ATTN_CUDA_H
#define SPADIT_ATTN_CUDA_H

#include "attn.h" /* dit_backend, dit_status */

typedef struct attn_cuda attn_cuda;
typedef struct attn_sdpa_cache attn_sdpa_cache; /* dense_cuda.h */

/* Event slots of attn_cuda_mark: 0..3 the phases of a sparse call (sparse_cuda.c), 6 and 7 the
 * whole call (attn.c). */
#define ATTN_CUDA_EVENTS 8

/* Device workspace of the sparse methods, grown on demand, plus the uploaded neighbour mask. */
typedef struct attn_cuda_ws {
    void *buf;
    size_t bytes;
    void *lt_ws;          /* cuBLASLt workspace for the SLA state GEMMs */
    const uint8_t *nb_host; /* host neighbour mask currently uploaded */
    int64_t nb_n;
    void *nb_dev;
    int *host_counts;     /* pinned-free host staging for stats */
    size_t host_counts_n;
} attn_cuda_ws;

dit_status attn_cuda_create(dit_backend *be, attn_cuda **out);
void attn_cuda_destroy(attn_cuda **c);

attn_cuda_ws *attn_cuda_workspace(attn_cuda *c);
attn_sdpa_cache *attn_cuda_sdpa(attn_cuda *c);

/* Event-timed region markers: record event k in [0, ATTN_CUDA_EVENTS) on the backend's stream. */
dit_status attn_cuda_mark(attn_cuda *c, int k);
/* Milliseconds between marks a and b (synchronises on b); -1 when an event query fails. */
double attn_cuda_elapsed(attn_cuda *c, int a, int b);

#endif
