/* launch.h — run one function as N rank processes (one per GPU) and stop them all on
 * the first failure.
 *
 * The parent forks `size` children before any backend exists (no CUDA context,
 * no thread pool is inherited); each child runs fn with its rank and the shared
 * world, and exits.  A child that fails leaves its message in the world's scratch
 * area; the parent then kills the remaining ranks (they may be waiting in a
 * collective for the dead one) and returns "rank R: message".  Outputs are the
 * business of fn: by convention only rank 0 writes files and prints progress.
 */
#ifndef SPADIT_LAUNCH_H
#define SPADIT_LAUNCH_H

#include "comm.h" /* dit_shm_world */

typedef struct dit_rank_ctx {
    int rank, size;
    dit_shm_world *world;
    unsigned char *bootstrap; /* DIT_NCCL_ID_BYTES of the scratch area, for the NCCL unique id */
} dit_rank_ctx;

typedef dit_status (*dit_rank_fn)(const dit_rank_ctx *ctx, void *user, dit_err *err);

dit_status dit_launch_ranks(int size, dit_shm_world *world, dit_rank_fn fn, void *user, dit_err *err);

#endif
