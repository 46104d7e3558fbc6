/* attn_cuda.h — CUDA side of the attention interface (built with SPADIT_HAVE_CUDA):
 * per-context state (cuDNN SDPA plans, events) and the CUDA implementations
 * attn_forward dispatches to. */
#ifndef SPADIT_ATTN_CUDA_H
#define SPADIT_ATTN_CUDA_H

#include "attn.h" /* attn_call, attn_stats */

typedef struct attn_cuda attn_cuda;

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

#endif
