/* sparse_kernels.h — C-linkage launchers of the sparse attention kernels (sparse_pool.cu,
 * sparse_select.cu, sparse_fa.cu, sparse_fa_sm90.cu, sparse_sla_state.cu) used by sparse_cuda.c. */
#ifndef SPADIT_SPARSE_KERNELS_H
#define SPADIT_SPARSE_KERNELS_H

#include <cuda_runtime_api.h> /* cudaStream_t */

#include "sparse_fa.cuh"     /* sp_fa_params */
#include "sparse_select.cuh" /* sp_pool_params, sp_*_select_params, sp_phi_params */

#ifdef __cplusplus
extern "C" {
#endif
cudaError_t sp_pool_launch(const sp_pool_params *p, cudaStream_t st);
cudaError_t sp_kall_launch(const float *mean, float *kall, int H, int nb, int B, int64_t S, cudaStream_t st);
cudaError_t sp_phi_launch(const sp_phi_params *p, cudaStream_t st);
cudaError_t sp_fold_launch(const float *Hs, const float *W, void *out, int nstates, cudaStream_t st);
cudaError_t sp_zblk_launch(const void *phik, float *zblk, int64_t S, int H, int B, int nkb, cudaStream_t st);
cudaError_t sp_sla1_state_launch(const float *Htot, const float *ztot, const float *hblk, const float *zblk,
                                 const int *lut, const int *cnt, int lut_stride, int H, int nqb, int nkb, float *Hi,
                                 float *zi, cudaStream_t st);
cudaError_t sp_sla_state_launch(const void *k, const void *v, float *Hs, float *z, int64_t S, int H,
                                 cudaStream_t st);
size_t sp_sla_select_smem(int nkb);
cudaError_t sp_sla_select_launch(const sp_sla_select_params *p, cudaStream_t st);
size_t sp_rect_select_smem(int nvb, int ntb, int ntext);
cudaError_t sp_rect_select_launch(const sp_rect_select_params *p, cudaStream_t st);
cudaError_t sp_fa_launch(const sp_fa_params *p, cudaStream_t st);
cudaError_t sp_fa_sm90_launch(const sp_fa_params *p, cudaStream_t st);
cudaError_t sp_fa_sm90_v4_launch(const sp_fa_params *p, cudaStream_t st);
#ifdef __cplusplus
}
#endif

#endif
