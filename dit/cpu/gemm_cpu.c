/* gemm_cpu.c — dit_cpu_sgemm: OpenBLAS sgemm tiled over our own OpenMP threads (cpu_gemm.h). */
#include "../cpu_gemm.h"

#include <omp.h>

#define GEMM_PAR_MIN_FLOPS ((double)(1 << 21)) /* below: one call (a region costs ~10 us) */
#define TILES_PER_THREAD 4

int dit_cpu_blas_serial_begin(void) {
    int nt = omp_get_max_threads();
    openblas_set_num_threads(1); /* (the OpenMP build also sets this thread's OpenMP count to 1) */
    return nt;
}

void dit_cpu_blas_serial_end(int nt) {
    openblas_set_num_threads(nt);
    omp_set_num_threads(nt);
}

int dit_cpu_tile(int n, int nt, int min_tile) {
    int tiles = nt * TILES_PER_THREAD, t = (n + tiles - 1) / (tiles > 0 ? tiles : 1);
    if (t < min_tile) t = min_tile;
    if (t < 1) t = 1;
    return t;
}

void dit_cpu_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
    if (nt <= 1 || (double)M * N * K < GEMM_PAR_MIN_FLOPS) {
        int t = dit_cpu_blas_serial_begin();
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        dit_cpu_blas_serial_end(t);
        return;
    }
    /* Split the rows unless there are too few of them for the threads; then the columns. */
    int by_rows = M >= N || M >= 64 * nt;
    int n = by_rows ? M : N, tile = dit_cpu_tile(n, nt, by_rows ? 16 : 64);
    int tiles = (n + tile - 1) / tile;
    nt = dit_cpu_blas_serial_begin();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int i = 0; i < tiles; i++) {
        int s = i * tile, len = n - s < tile ? n - s : tile;
        if (by_rows)
            cblas_sgemm(CblasRowMajor, ta, tb, len, N, K, alpha, ta == CblasNoTrans ? A + (long)s * lda : A + s, lda,
                        B, ldb, beta, C + (long)s * ldc, ldc);
        else
            cblas_sgemm(CblasRowMajor, ta, tb, M, len, K, alpha, A, lda, tb == CblasNoTrans ? B + s : B + (long)s * ldb,
                        ldb, beta, C + s, ldc);
    }
    dit_cpu_blas_serial_end(nt);
}

long dit_cpu_chunk(long n) {
    long c = n / ((long)omp_get_max_threads() * 16);
    return c > 0 ? c : 1;
}
