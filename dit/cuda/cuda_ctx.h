/* cuda_ctx.h — the CUDA backend's private state (backend_cuda.c, gemm_cublaslt.c). */
#ifndef SPADIT_CUDA_CTX_H
#define SPADIT_CUDA_CTX_H

#include <cublasLt.h>         /* cublasLtHandle_t */
#include <cuda_runtime_api.h> /* cudaStream_t */
#include <cudnn.h>            /* cudnnHandle_t */

struct dit_cuda_ctx {
    int device;
    int sm_count;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    cudnnHandle_t cudnn;
    void *scratch;        /* dit_cuda_scratch */
    size_t scratch_bytes;
    size_t peak;          /* sampled device memory in use */
    void *gemm;           /* gemm_cublaslt.c: plan cache, workspace, bf16 bias copies */
};

#endif
