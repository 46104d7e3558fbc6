/* sparse_cuda.h — Rectified SpaAttn and SLA on CUDA (sparse_cuda.c; built with SPADIT_HAVE_CUDA).
 * They use the context's workspace and events (attn_cuda.h), the parameter rules shared with
 * the CPU references (sparse_common.h) and the kernels (sparse_kernels.h). */
#ifndef SPADIT_SPARSE_CUDA_H
#define SPADIT_SPARSE_CUDA_H

#include "attn_cuda.h" /* attn_cuda, attn_call, attn_stats */

dit_status attn_rectified_cuda(dit_backend *be, attn_cuda *c, const attn_call *call, dit_tensor *out,
                               const dit_tensor *q, const dit_tensor *k, const dit_tensor *v, attn_stats *st);
dit_status attn_sla_cuda(dit_backend *be, attn_cuda *c, const attn_call *call, dit_tensor *out, const dit_tensor *q,
                         const dit_tensor *k, const dit_tensor *v, attn_stats *st);

#endif
