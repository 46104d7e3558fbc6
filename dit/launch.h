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

/* The backend of one rank: "cpu" -> a CPU backend with `threads` threads (> 0: `--threads`, per rank)
 * or this rank's share of the cores available (dit_cpu_cores_available / size, at least 1); anything
 * else -> the CUDA backend on GPU `rank`.  ctx NULL (one process): dit_backend_create_threads. */
dit_status dit_rank_backend(const char *name, int threads, const dit_rank_ctx *ctx, dit_backend **out, dit_err *err);

/* --- the parallel layout of a generation: ranks = cfg_degree (1 or 2) x Ulysses degree u ---------
 * Rank r runs CFG half r / u (0: conditional) and holds Ulysses shard r % u.  The world of a CPU run
 * has the shared-memory groups 0 = all ranks, 1..c = the Ulysses groups, c+1..c+u = the CFG pairs
 * (`window` bytes per member and group); a GPU run's world carries only NCCL's unique id. */
dit_status dit_parallel_world_create(int ranks, int cfg_degree, int cpu, size_t window, dit_shm_world **out,
                                     dit_err *err);
/* This rank's communicators on its backend: world (all ranks), sp (its Ulysses group; NULL when u = 1)
 * and cfg (its CFG pair; NULL when cfg_degree = 1).  NCCL on a CUDA backend (bootstrapped through the
 * world's scratch area; every rank must call this at the same point), shared memory on the CPU. */
dit_status dit_parallel_comms(const dit_rank_ctx *ctx, int cfg_degree, dit_backend *be, dit_comm **world,
                              dit_comm **sp, dit_comm **cfg, dit_err *err);

#endif
