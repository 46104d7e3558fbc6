/* sparse_cpu.h — internals shared by the CPU references of the sparse methods
 * (sparse_cpu.c: operand checks, selection storage, the block-sparse kernel, stats;
 * rectified_cpu.c and sla_cpu.c: pooling, maps, selection, epilogues).  The parameter checks
 * and top-k budgets they share with the CUDA path are in sparse_common.h.  Not a public API. */
#ifndef SPADIT_SPARSE_CPU_H
#define SPADIT_SPARSE_CPU_H

#include "selection.h"     /* attn_selection, attn_call, attn_stats */
#include "sparse_common.h" /* attn_sparse_check, attn_rectified_top_k, attn_sla_top_k */

/* Selection flags per (row, key block) while a selection is built. */
enum { SEL_NONE = 0, SEL_KEPT = 1, SEL_COMPENSATED = 2 };

/* The effective softmax scale: call->scale, or 1/sqrt(D). */
double attn_cpu_scale(const attn_call *call, int64_t D);

/* Fails unless the operands are f32 CPU tensors [S, H, D] (out may be NULL: selection only). */
dit_status attn_cpu_check_f32(dit_backend *be, const char *what, const dit_tensor *q, const dit_tensor *k,
                              const dit_tensor *v, const dit_tensor *out);

/* Allocate q_start / k_start / row_ptr / n_ranked (+ comp_ptr, R, c when rectified) and a
 * zeroed flags array [heads * nqb * nkb] for the builder. */
dit_status attn_sel_alloc(dit_backend *be, attn_selection *sel, attn_method m, int64_t heads, int64_t D,
                          int64_t nqb, int64_t nkb, uint8_t **flags);
/* Turn the flags into the CSR lists (kept, compensated) and the totals; frees nothing. */
dit_status attn_sel_finish(dit_backend *be, attn_selection *sel, const uint8_t *flags);

/* Method builders (fill geometry, flags, n_ranked and, for Rectified, R and c): rectified_cpu.c,
 * sla_cpu.c; attn_select_cpu (attn.c) dispatches to them. */
dit_status attn_rectified_select(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k,
                                 const dit_tensor *v, attn_selection *sel);
dit_status attn_sla_select(dit_backend *be, const attn_call *call, const dit_tensor *q, const dit_tensor *k,
                           attn_selection *sel);

/* out[t, h, :] = sum_{u in the row's key blocks} softmax_u(scale q_t.k_u) v_u for every query t of
 * every row r = (h, i) (the renormalised block-sparse attention): per row, two sgemms in f32 per
 * run of consecutive listed key blocks, read in place (the work of dense attention restricted to
 * the visited blocks, rows spread over the OpenMP threads).  _f64: the same sum one query at a time in
 * double (the exact oracle for tests; ~10x slower). */
dit_status attn_cpu_block_sparse(dit_backend *be, const attn_selection *sel, double scale, const float *q,
                                 const float *k, const float *v, float *out);
dit_status attn_cpu_block_sparse_f64(dit_backend *be, const attn_selection *sel, double scale, const float *q,
                                     const float *k, const float *v, float *out);

/* Around an OpenMP parallel region whose threads each call sgemm:
 *     int nt = attn_cpu_blas_serial_begin();  #pragma omp parallel num_threads(nt) {...}  attn_cpu_blas_serial_end(nt);
 * OpenBLAS 0.3.21's OpenMP build runs its threaded path even when called inside a parallel region,
 * and there the callers serialise on one buffer slot (measured: 61% of the time spinning in
 * exec_blas_async, the block-sparse kernel 3-30x slower with 2 threads than with 1).  begin() makes
 * OpenBLAS single-threaded and returns the team size; end() restores both counts. */
int attn_cpu_blas_serial_begin(void);
void attn_cpu_blas_serial_end(int nt);

/* blocks_total / selected / compensated, sparsity and selected_per_head from sel. */
void attn_cpu_fill_stats(const attn_selection *sel, attn_stats *st);

#endif
