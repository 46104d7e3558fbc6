/* cpu_gemm.h — sgemm for the CPU backend that degrades gracefully on shared cores.
 *
 * OpenBLAS's threaded level-3 path splits one GEMM over its threads, which then wait for each
 * other's packed panels inside the call (lock-step, several times per call).  On cores shared with
 * other processes each thread runs only part of the time, and lock-step progress needs both to run
 * at once: with one busy process per core that is ~1/4 of the time instead of 1/2 (bench/NOTES.md,
 * "CPU threading under load": attention 5.5x and VAE 4.2x their idle time).  Instead, dit_cpu_sgemm
 * cuts C into tiles and hands them to our OpenMP threads with dynamic scheduling, each tile one
 * single-threaded OpenBLAS call: a thread that is descheduled only delays its own tile, the others
 * take the rest.  Kernels that run sgemm inside their own parallel region use the
 * serial_begin/end pair around it (same reason).
 */
#ifndef SPADIT_CPU_GEMM_H
#define SPADIT_CPU_GEMM_H

#include <cblas.h>

/* Around an OpenMP parallel region whose threads each call sgemm:
 *     int nt = dit_cpu_blas_serial_begin();  #pragma omp parallel num_threads(nt) {...}
 *     dit_cpu_blas_serial_end(nt);
 * OpenBLAS 0.3.21's OpenMP build takes its threaded path even when called inside a parallel
 * region (its thread count follows omp_get_max_threads()), and there the callers serialise on one
 * buffer slot.  begin() makes OpenBLAS single-threaded and returns the team size; end() restores
 * both counts.  Not from inside a parallel region. */
int dit_cpu_blas_serial_begin(void);
void dit_cpu_blas_serial_end(int nt);

/* Row-major C[M,N] = alpha op(A) op(B) + beta C, exactly cblas_sgemm's contract, computed as tiles
 * of C (rows, or columns when M is small) over the OpenMP threads, dynamic schedule, one
 * single-threaded sgemm per tile.  Small products and calls from inside a parallel region are one
 * single-threaded call.  Each element of C is produced by one sgemm over the full K, so results
 * do not depend on the thread count beyond OpenBLAS's own kernel choice per tile shape. */
void dit_cpu_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc);

/* Tile count for n items over nt threads: about 4 tiles per thread (so a descheduled thread's
 * share is small), tiles of at least min_tile items; returns the tile size. */
int dit_cpu_tile(int n, int nt, int min_tile);

/* Chunk size for `schedule(dynamic, c)` over n iterations: ~16 chunks per thread, >= 1.  The
 * elementwise loops use it instead of a static split, so that a thread whose core is taken by
 * another process delays one chunk, not half the loop. */
long dit_cpu_chunk(long n);

#endif
