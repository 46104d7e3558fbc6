/* backend_cuda_stub.c — CPU-only builds: asking for the CUDA backend is a clear error. */
#include "../backend.h"

dit_status dit_backend_cuda_create(int device, dit_backend **out, dit_err *err) {
    (void)device;
    *out = NULL;
    return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                    "this spadit was built without CUDA (nvcc or cuDNN 9 not found at configure time); use --backend cpu "
                    "or rebuild on a machine with the CUDA toolkit and cuDNN");
}

int dit_backend_cuda_available(void) { return 0; }

size_t dit_backend_cuda_free_bytes(dit_backend *be) {
    (void)be;
    return 0;
}
