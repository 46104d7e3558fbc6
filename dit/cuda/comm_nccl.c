/* comm_nccl.c — the communicator interface over NCCL (one process per GPU).
 * alltoallv is one NCCL group of point-to-point sends and receives on the
 * backend's stream, so it is ordered with the kernels around it; the copy to
 * oneself is a device memcpy.  Every NCCL call is checked and reports file:line,
 * NCCL's message and its last error text.  Built only when NCCL is found. */
#include <nccl.h>
#include <stdlib.h> /* calloc, free */
#include <string.h> /* memcpy */

#include "../comm.h"
#include "cuda_backend.h" /* dit_cuda_stream, dit_cuda_device, CUDA_TRY */

typedef struct nccl_comm {
    ncclComm_t comm;
} nccl_comm;

static dit_status nccl_check(dit_err *err, ncclComm_t comm, ncclResult_t r, const char *what, const char *file,
                             int line) {
    if (r == ncclSuccess) return DIT_OK;
    const char *last = comm ? ncclGetLastError(comm) : ncclGetLastError(NULL);
    return dit_err_set(err, DIT_ERR_DEVICE, file, line, "NCCL: %s failed: %s%s%s", what, ncclGetErrorString(r),
                       last && last[0] ? ": " : "", last ? last : "");
}
#define NCCL_TRY(err, comm, call) DIT_TRY(nccl_check((err), (comm), (call), #call, __FILE__, __LINE__))

int dit_comm_nccl_available(void) { return 1; }

dit_status dit_comm_nccl_unique_id(unsigned char id[DIT_NCCL_ID_BYTES], dit_err *err) {
    ncclUniqueId u;
    NCCL_TRY(err, NULL, ncclGetUniqueId(&u));
    memcpy(id, u.internal, DIT_NCCL_ID_BYTES);
    return DIT_OK;
}

static dit_status nccl_alltoallv(dit_comm *c, const void *send, const size_t *soff, const size_t *sbytes, void *recv,
                                 const size_t *roff, const size_t *rbytes) {
    nccl_comm *n = c->impl;
    cudaStream_t st = dit_cuda_stream(c->be);
    if (sbytes[c->rank] != rbytes[c->rank])
        return DIT_FAIL(&c->err, DIT_ERR_INTERNAL, "all-to-all: rank %d sends itself %zu bytes but expects %zu", c->rank,
                        sbytes[c->rank], rbytes[c->rank]);
    if (sbytes[c->rank])
        DIT_TRY(dit_cuda_check(c->be,
                               cudaMemcpyAsync((char *)recv + roff[c->rank], (const char *)send + soff[c->rank],
                                               sbytes[c->rank], cudaMemcpyDeviceToDevice, st),
                               "all-to-all self copy", __FILE__, __LINE__));
    NCCL_TRY(&c->err, n->comm, ncclGroupStart());
    ncclResult_t r = ncclSuccess;
    for (int p = 0; p < c->size && r == ncclSuccess; p++) {
        if (p == c->rank) continue;
        if (sbytes[p]) r = ncclSend((const char *)send + soff[p], sbytes[p], ncclChar, p, n->comm, st);
        if (r == ncclSuccess && rbytes[p]) r = ncclRecv((char *)recv + roff[p], rbytes[p], ncclChar, p, n->comm, st);
    }
    ncclResult_t r2 = ncclGroupEnd();
    NCCL_TRY(&c->err, n->comm, r);
    NCCL_TRY(&c->err, n->comm, r2);
    return DIT_OK;
}

static void nccl_destroy(dit_comm *c) {
    nccl_comm *n = c->impl;
    if (n && n->comm) ncclCommDestroy(n->comm);
    free(n);
    free(c);
}

static const dit_comm_ops nccl_ops = {nccl_alltoallv, nccl_destroy};

static dit_status wrap(ncclComm_t comm, int size, int rank, dit_backend *be, dit_comm **out, dit_err *err) {
    dit_comm *c = calloc(1, sizeof *c);
    nccl_comm *n = calloc(1, sizeof *n);
    if (!c || !n) {
        free(c), free(n);
        ncclCommDestroy(comm);
        return DIT_FAIL(err, DIT_ERR_OOM, "communicator");
    }
    n->comm = comm;
    c->rank = rank, c->size = size, c->kind = "nccl", c->ops = &nccl_ops, c->impl = n, c->be = be;
    *out = c;
    return DIT_OK;
}

dit_status dit_comm_nccl_create(const unsigned char id[DIT_NCCL_ID_BYTES], int size, int rank, dit_backend *be,
                                dit_comm **out, dit_err *err) {
    *out = NULL;
    if (!be || !dit_cuda_ctx_of(be))
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "NCCL communicators need the CUDA backend");
    DIT_TRY(dit_cuda_check(be, cudaSetDevice(dit_cuda_device(be)), "cudaSetDevice", __FILE__, __LINE__));
    ncclUniqueId u;
    memcpy(u.internal, id, DIT_NCCL_ID_BYTES);
    ncclComm_t comm = NULL;
    NCCL_TRY(err, NULL, ncclCommInitRank(&comm, size, u, rank));
    return wrap(comm, size, rank, be, out, err);
}

dit_status dit_comm_nccl_split(dit_comm *world, int color, int key, dit_comm **out, dit_err *err) {
    *out = NULL;
    if (!world || strcmp(world->kind, "nccl"))
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "dit_comm_nccl_split needs an NCCL communicator");
    nccl_comm *n = world->impl;
    ncclComm_t sub = NULL;
    NCCL_TRY(err, n->comm, ncclCommSplit(n->comm, color, key, &sub, NULL));
    int size = 0, rank = 0;
    NCCL_TRY(err, sub, ncclCommCount(sub, &size));
    NCCL_TRY(err, sub, ncclCommUserRank(sub, &rank));
    return wrap(sub, size, rank, world->be, out, err);
}
