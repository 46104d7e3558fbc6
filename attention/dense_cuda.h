/* dense_cuda.h — dense attention on CUDA (built with SPADIT_HAVE_CUDA): cuDNN's fused SDPA node
 * with its plan cache (dense_cudnn.c) and the simple kernel for biases and key masks
 * (dense_cuda.c).  Neither calls anything else in attention/. */
#ifndef SPADIT_DENSE_CUDA_H
#define SPADIT_DENSE_CUDA_H

#include "attn.h" /* attn_call, dit_backend, dit_tensor */

/* cuDNN SDPA execution plans, cached per (Sq, Sk, H, D, scale); owned by the attn_cuda context. */
typedef struct attn_sdpa_cache attn_sdpa_cache;
dit_status attn_sdpa_cache_create(dit_backend *be, attn_sdpa_cache **out);
void attn_sdpa_cache_free(attn_sdpa_cache **cache);

/* Dense SDPA through cuDNN's fused SDPA node (no bias, no key mask; head dim 64 or 128). */
dit_status attn_dense_cudnn(dit_backend *be, attn_sdpa_cache *cache, const attn_call *call, dit_tensor *out,
                            const dit_tensor *q, const dit_tensor *k, const dit_tensor *v);
/* Dense attention with additive bias and key mask (umT5), simple kernel; any Sq, Sk. */
dit_status attn_dense_cuda_bias(dit_backend *be, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                                const dit_tensor *k, const dit_tensor *v);

#endif
