/* selection.h — the block selection of the sparse attention methods, computed by the CPU
 * reference, so that GPU code and tests can compare theirs with it exactly.
 *
 * Rows are (head, query block) pairs, row r = h * nqb + i.  Each row lists the key blocks its
 * queries attend to (ascending; CSR), and for Rectified SpaAttn also the GAPR-compensated
 * blocks and the per-row epilogue O = R * O_sparse + c.  The block geometry (token ranges of
 * the query and key blocks) is part of the result, since the joint video + text layout of
 * Rectified SpaAttn does not tile the sequence uniformly.  docs/attention.md is the contract.
 */
#ifndef SPADIT_SELECTION_H
#define SPADIT_SELECTION_H

#include <stdint.h> /* int64_t, int32_t */

#include "attn.h" /* attn_call, attn_method, dit_backend, dit_tensor */

typedef struct attn_selection {
    attn_method method;
    int64_t heads, head_dim;
    int64_t nqb, nkb;         /* query blocks, key blocks (per head) */
    int64_t n_video_qb;       /* Rectified: rows i >= n_video_qb are text query rows (dense); SLA: nqb */
    int64_t *q_start;         /* [nqb + 1]: query block i covers tokens [q_start[i], q_start[i+1]) */
    int64_t *k_start;         /* [nkb + 1]: key block j covers real keys [k_start[j], k_start[j+1]) */
    int64_t *row_ptr;         /* [heads * nqb + 1]: row r's key blocks are cols[row_ptr[r] .. row_ptr[r+1]) */
    int32_t *cols;            /* ascending key block indices */
    int32_t *n_ranked;        /* [heads * nqb]: Rectified n_i (ranked columns taken, text column included;
                                 nkb for text rows); SLA: T */
    int64_t *comp_ptr;        /* Rectified [heads * nqb + 1], else NULL: GAPR-compensated blocks per row */
    int32_t *comp_cols;       /* ascending */
    float *R;                 /* Rectified [heads * nqb] (1 for text rows and without GAPR), else NULL */
    float *c;                 /* Rectified [heads * nqb, head_dim] (0 for text rows), else NULL */
    int64_t selected;         /* total listed pairs = row_ptr[heads * nqb] */
    int64_t compensated;      /* total compensated pairs */
    int64_t total;            /* heads * nqb * nkb */
    double ms_map, ms_select; /* CPU wall time: pooling + block map, ranking + masks + GAPR */
} attn_selection;

/* The selection that attn_forward would use for this call (method rectified or sla), on the
 * CPU backend with f32 q/k/v [S, H, D].  v is needed by Rectified (pooled V in c), may be NULL
 * for SLA.  sel is overwritten (not freed first); free it with attn_selection_free. */
dit_status attn_select_cpu(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k,
                           const dit_tensor *v, attn_selection *sel); /* attn.c */
void attn_selection_free(attn_selection *sel); /* sparse_cpu.c */

#endif
