/* cuda_backend.h — what the CUDA backend shares with the rest of spadit:
 * its stream, cuBLASLt and cuDNN handles, scratch workspace, and the error-check
 * helpers that turn CUDA/cuBLAS/cuDNN failures into dit_status + a message with
 * file:line and the library's own text.  Only compiled with SPADIT_HAVE_CUDA. */
#ifndef SPADIT_CUDA_BACKEND_H
#define SPADIT_CUDA_BACKEND_H

#include <cublasLt.h>         /* cublasLtHandle_t */
#include <cuda_runtime_api.h> /* cudaStream_t, cudaError_t */
#include <cudnn.h>            /* cudnnHandle_t */

#include "../backend.h" /* dit_backend */

typedef struct dit_cuda_ctx dit_cuda_ctx;

dit_cuda_ctx *dit_cuda_ctx_of(dit_backend *be); /* NULL unless be is a CUDA backend */
cudaStream_t dit_cuda_stream(dit_backend *be);
cudnnHandle_t dit_cuda_cudnn(dit_backend *be);
cublasLtHandle_t dit_cuda_cublaslt(dit_backend *be);
int dit_cuda_device(dit_backend *be);
int dit_cuda_sm_count(dit_backend *be);
/* A scratch buffer of at least `bytes`, owned by the backend, valid until the next call
 * (grown on demand; stream-ordered use only). */
dit_status dit_cuda_scratch(dit_backend *be, size_t bytes, void **ptr);
/* Peak device memory in use (cudaMemGetInfo sampled at allocations), bytes. */
size_t dit_cuda_peak_bytes(dit_backend *be);
void dit_cuda_reset_peak(dit_backend *be);

dit_status dit_cuda_check(dit_backend *be, cudaError_t e, const char *what, const char *file, int line);
dit_status dit_cudnn_check(dit_backend *be, cudnnStatus_t s, const char *what, const char *file, int line);
dit_status dit_cublas_check(dit_backend *be, cublasStatus_t s, const char *what, const char *file, int line);
/* Check the last kernel launch (cudaGetLastError). */
dit_status dit_cuda_check_launch(dit_backend *be, const char *kernel, const char *file, int line);

#define CUDA_TRY(be, call) DIT_TRY(dit_cuda_check((be), (call), #call, __FILE__, __LINE__))
#define CUDNN_TRY(be, call) DIT_TRY(dit_cudnn_check((be), (call), #call, __FILE__, __LINE__))
#define CUBLAS_TRY(be, call) DIT_TRY(dit_cublas_check((be), (call), #call, __FILE__, __LINE__))
#define LAUNCH_TRY(be, name) DIT_TRY(dit_cuda_check_launch((be), (name), __FILE__, __LINE__))

/* GEMM through cuBLASLt (gemm_cublaslt.c). */
dit_status dit_cuda_linear(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                           const dit_tensor *b, dit_act act);
void dit_cuda_gemm_cache_free(dit_backend *be);

/* Video-VAE ops (ops_vae_cuda.c). */
dit_status dit_cuda_conv3d(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *w,
                           const dit_tensor *b, int pt0, int pt1, int ph, int pw);
dit_status dit_cuda_channel_norm_op(dit_backend *be, dit_tensor *out, const dit_tensor *x, const dit_tensor *gamma,
                                    const dit_tensor *beta);
dit_status dit_cuda_upsample2x_op(dit_backend *be, dit_tensor *out, const dit_tensor *x);
dit_status dit_cuda_transpose_op(dit_backend *be, dit_tensor *out, const dit_tensor *x);
dit_status dit_cuda_copy_frames(dit_backend *be, dit_tensor *dst, int64_t d0, const dit_tensor *src, int64_t s0,
                                int64_t n);

#endif
