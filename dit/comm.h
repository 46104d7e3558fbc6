/* comm.h — collective communication between ranks (multi-GPU and its CPU model).
 *
 * A communicator joins the `size` ranks of one group; every member calls each
 * collective in the same order (as in NCCL and MPI).  Buffers are memory of the
 * rank's backend: device memory with the NCCL implementation (CUDA backend;
 * collectives are stream-ordered on the backend's stream), host memory with the
 * shared-memory implementation (CPU backend; ranks are forked processes or
 * threads that share one `dit_shm_world`).
 *
 * The one primitive is an all-to-all with per-peer byte counts and offsets;
 * sequence parallelism (Ulysses), the head-output gather and the CFG exchange
 * are all expressed with it (dit_comm_all_gather below).
 */
#ifndef SPADIT_COMM_H
#define SPADIT_COMM_H

#include <stddef.h> /* size_t */

#include "backend.h" /* dit_backend */
#include "status.h"  /* dit_status, dit_err */

#define DIT_COMM_MAX_RANKS 16

typedef struct dit_comm dit_comm;

typedef struct dit_comm_ops {
    /* For every member p: send sbytes[p] bytes at send + soff[p] to p; receive rbytes[p] bytes from p
     * into recv + roff[p].  rbytes[p] must equal what p sends to this rank.  send and recv must not
     * overlap. */
    dit_status (*alltoallv)(dit_comm *c, const void *send, const size_t *soff, const size_t *sbytes, void *recv,
                            const size_t *roff, const size_t *rbytes);
    void (*destroy)(dit_comm *c);
} dit_comm_ops;

struct dit_comm {
    int rank, size;          /* this member's index in the group, members */
    const char *kind;        /* "shm", "nccl" */
    const dit_comm_ops *ops;
    void *impl;
    dit_backend *be;         /* whose memory the buffers are */
    dit_err err;             /* detail of the last failure */
};

void dit_comm_destroy(dit_comm **c);

/* Every member contributes bytes[rank] bytes at `send`; afterwards recv holds all contributions in
 * rank order (member p's at offset sum(bytes[0..p-1])). */
dit_status dit_comm_all_gather(dit_comm *c, const void *send, const size_t *bytes, void *recv);

/* Even split of n items over `size` members: the first n % size members get one more. */
void dit_comm_split_range(int64_t n, int size, int rank, int64_t *start, int64_t *count);

/* --- shared-memory implementation (CPU) ---------------------------------------------------------
 * A world is one MAP_SHARED mapping created before the ranks fork (or start as threads): for each
 * group a process-shared barrier and a message window of `window` bytes per member.  Groups are
 * fixed at creation: group g has members[g][0..nmembers[g]-1] (world ranks). */
typedef struct dit_shm_world dit_shm_world;

dit_status dit_shm_world_create(int world_size, int ngroups, const int *nmembers,
                                const int (*members)[DIT_COMM_MAX_RANKS], size_t window, dit_shm_world **out,
                                dit_err *err);
void dit_shm_world_destroy(dit_shm_world **w);
/* A small scratch area (16.1 KiB) every rank can read and write: the launcher's bootstrap data
 * (the NCCL unique id) and per-rank error messages. */
void *dit_shm_world_scratch(dit_shm_world *w, size_t *bytes);
/* Barrier over every rank of the world. */
dit_status dit_shm_world_barrier(dit_shm_world *w, dit_err *err);
/* The communicator of group g for world rank `rank` (which must be a member); buffers in be's
 * (host) memory. */
dit_status dit_comm_shm_create(dit_shm_world *w, int group, int rank, dit_backend *be, dit_comm **out,
                               dit_err *err);

/* --- NCCL implementation (CUDA builds with NCCL) ------------------------------------------------ */
#define DIT_NCCL_ID_BYTES 128
int dit_comm_nccl_available(void);
/* Rank 0 makes the id; every rank passes the same bytes to dit_comm_nccl_create. */
dit_status dit_comm_nccl_unique_id(unsigned char id[DIT_NCCL_ID_BYTES], dit_err *err);
/* The world communicator on be's GPU (be must be a CUDA backend). */
dit_status dit_comm_nccl_create(const unsigned char id[DIT_NCCL_ID_BYTES], int size, int rank, dit_backend *be,
                                dit_comm **out, dit_err *err);
/* Sub-communicator of the members with the same color (ranks ordered by key), ncclCommSplit. */
dit_status dit_comm_nccl_split(dit_comm *world, int color, int key, dit_comm **out, dit_err *err);

#endif
