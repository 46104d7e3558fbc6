/* comm_nccl_stub.c — NCCL entry points of builds without NCCL: clear errors. */
#include "comm.h"

#define NO_NCCL                                                                                              \
    DIT_FAIL(err, DIT_ERR_UNSUPPORTED,                                                                       \
             "this build has no NCCL (multi-GPU needs a CUDA build with nccl.h and libnccl: install libnccl-dev " \
             "or pass -DSPADIT_NCCL_ROOT=DIR to cmake)")

int dit_comm_nccl_available(void) { return 0; }

dit_status dit_comm_nccl_unique_id(unsigned char id[DIT_NCCL_ID_BYTES], dit_err *err) {
    (void)id;
    return NO_NCCL;
}

dit_status dit_comm_nccl_create(const unsigned char id[DIT_NCCL_ID_BYTES], int size, int rank, dit_backend *be,
                                dit_comm **out, dit_err *err) {
    (void)id, (void)size, (void)rank, (void)be;
    *out = NULL;
    return NO_NCCL;
}

dit_status dit_comm_nccl_split(dit_comm *world, int color, int key, dit_comm **out, dit_err *err) {
    (void)world, (void)color, (void)key;
    *out = NULL;
    return NO_NCCL;
}
