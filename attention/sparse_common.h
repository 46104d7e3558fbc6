/* sparse_common.h — the parameter rules of the sparse methods that every path obeys: the CPU
 * references (sparse_cpu.c, rectified_cpu.c, sla_cpu.c), the CUDA path (sparse_cuda.c) and the
 * tests.  Checks of a call's parameters, layout and extra operands, and the integer budgets
 * (top-k) the host computes for both.  Depends on attn.h's types only (docs/ARCHITECTURE.md,
 * "Inside attention/"). */
#ifndef SPADIT_SPARSE_COMMON_H
#define SPADIT_SPARSE_COMMON_H

#include <stdint.h> /* int64_t */

#include "attn.h" /* attn_call, dit_backend, dit_tensor, dit_status */

/* Validate the method parameters, layout and extra operands of a sparse call (any device):
 * parameter ranges, Sq == Sk for Rectified, layout sizes, neighbour mask side, proj_l shapes.
 * Shapes of q and k must already be checked ([S, H, D]).  Dense calls pass. */
dit_status attn_sparse_check(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k);

/* Shared integer budgets (host arithmetic that CPU and GPU must agree on):
 * Rectified top_k = max(1, floor((1 - drop_rate) * nv + 1e-4)), at most nv;
 * SLA T = max(1, floor(topk * nkb + 1e-4)), at most nkb.
 * The 1e-4 absorbs the float rounding of the parameter: 0.8f is 0.80000001, and
 * (1 - 0.8f) * 900 = 179.99999 must give the intended 180. */
int64_t attn_rectified_top_k(float drop_rate, int64_t nv);
int64_t attn_sla_top_k(float topk, int64_t nkb);

#endif
