/* attn_cuda.h — CUDA side of the attention interface (built with SPADIT_HAVE_CUDA):
 * per-context state (cuDNN SDPA plans, events) and the CUDA implementations
 * attn_forward dispatches to. */
#ifndef SPADIT_ATTN_CUDA_H
#define SPADIT_ATTN_CUDA_H

#include "attn.h" /* attn_call, attn_stats */

typedef struct attn_cuda attn_cuda;

#define N_EVENTS 8

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

attn_cuda_ws *attn_cuda_workspace(attn_cuda *c);
void attn_cuda_ws_free(attn_cuda_ws *w);

dit_status attn_cuda_create(dit_backend *be, attn_cuda **out);
void attn_cuda_destroy(attn_cuda **c);

/* Event-timed region markers (no-ops when timing is off): mark k in [0, 8). */
dit_status attn_cuda_mark(attn_cuda *c, int k);
/* Milliseconds between marks a and b (synchronises on b). */
double attn_cuda_elapsed(attn_cuda *c, int a, int b);

/* Dense SDPA through cuDNN's fused SDPA node (no bias, no key mask). */
dit_status attn_dense_cudnn(dit_backend *be, attn_cuda *c, const attn_call *call, dit_tensor *out,
                            const dit_tensor *q, const dit_tensor *k, const dit_tensor *v);
/* Dense attention with additive bias and key mask (umT5), simple kernel; any Sq, Sk. */
dit_status attn_dense_cuda_bias(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                                const dit_tensor *k, const dit_tensor *v);

/* Rectified SpaAttn and SLA on CUDA (sparse_cuda.c). */
dit_status attn_rectified_cuda(dit_backend *be, attn_cuda *c, const attn_call *call, dit_tensor *out,
                               const dit_tensor *q, const dit_tensor *k, const dit_tensor *v, attn_stats *st);
dit_status attn_sla_cuda(dit_backend *be, attn_cuda *c, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                         const dit_tensor *k, const dit_tensor *v, attn_stats *st);

#endif
