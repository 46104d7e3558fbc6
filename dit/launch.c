/* launch.c — fork the ranks, collect their exit, stop everyone on the first failure. */
#include "launch.h"

#include "cpu_threads.h" /* dit_cpu_cores_available */

#include <errno.h>     /* errno, EINTR */
#include <signal.h>    /* kill, SIGKILL */
#include <stdio.h>     /* fflush, snprintf */
#include <string.h>    /* memset, strerror, strcmp */
#include <sys/types.h> /* pid_t */
#include <sys/wait.h>  /* waitpid */
#include <unistd.h>    /* fork, _exit */
#ifdef __linux__
#include <sys/prctl.h> /* prctl(PR_SET_PDEATHSIG) */
#endif

#define MSG_BYTES 1024

static char *msg_slot(dit_shm_world *w, int rank) {
    size_t n = 0;
    unsigned char *s = dit_shm_world_scratch(w, &n);
    return (char *)s + DIT_NCCL_ID_BYTES + (size_t)rank * MSG_BYTES;
}

dit_status dit_launch_ranks(int size, dit_shm_world *world, dit_rank_fn fn, void *user, dit_err *err) {
    if (size < 1 || size > DIT_COMM_MAX_RANKS)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%d ranks: between 1 and %d are supported", size, DIT_COMM_MAX_RANKS);
    for (int r = 0; r < size; r++) msg_slot(world, r)[0] = 0;
    pid_t pid[DIT_COMM_MAX_RANKS];
    int started = 0;
    fflush(stdout), fflush(stderr);
    for (int r = 0; r < size; r++) {
        pid_t p = fork();
        if (p < 0) {
            dit_status s = DIT_FAIL(err, DIT_ERR_INTERNAL, "starting rank %d: fork failed: %s", r, strerror(errno));
            for (int i = 0; i < started; i++) kill(pid[i], SIGKILL);
            for (int i = 0; i < started; i++) waitpid(pid[i], NULL, 0);
            return s;
        }
        if (p == 0) {
#ifdef __linux__
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* a killed launcher takes its ranks with it (no orphan holds a GPU) */
#endif
            dit_rank_ctx ctx = {r, size, world, dit_shm_world_scratch(world, NULL)};
            dit_err e;
            memset(&e, 0, sizeof e);
            dit_status s = fn(&ctx, user, &e);
            if (s != DIT_OK) { /* keep the end of the message: the innermost detail, after file:line */
                const char *m = e.msg[0] ? e.msg : "failed";
                size_t len = strlen(m);
                const char *tail = len < MSG_BYTES ? m : m + len - (MSG_BYTES - 4);
                snprintf(msg_slot(world, r), MSG_BYTES, "%s%.*s", tail == m ? "" : "...", MSG_BYTES - 4, tail);
            }
            fflush(stdout), fflush(stderr);
            _exit(s == DIT_OK ? 0 : 1);
        }
        pid[started++] = p;
    }
    int alive = size, failed = -1, how = 0;
    while (alive > 0) {
        int status = 0;
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0) {
            if (errno == EINTR) continue;
            break;
        }
        int r = -1;
        for (int i = 0; i < size; i++)
            if (pid[i] == p) r = i;
        if (r < 0) continue;
        pid[r] = 0;
        alive--;
        int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && failed < 0) {
            failed = r;
            how = status;
            for (int i = 0; i < size; i++)
                if (pid[i] > 0) kill(pid[i], SIGKILL); /* peers may be blocked in a collective */
        }
    }
    if (failed < 0) return DIT_OK;
    const char *m = msg_slot(world, failed);
    if (m[0]) return DIT_FAIL(err, DIT_ERR_INTERNAL, "rank %d of %d: %.*s", failed, size, MSG_BYTES, m);
    if (WIFSIGNALED(how))
        return DIT_FAIL(err, DIT_ERR_INTERNAL, "rank %d of %d was killed by signal %d", failed, size, WTERMSIG(how));
    return DIT_FAIL(err, DIT_ERR_INTERNAL, "rank %d of %d exited with status %d", failed, size, WEXITSTATUS(how));
}

dit_status dit_parallel_world_create(int ranks, int cfg_degree, int cpu, size_t window, dit_shm_world **out,
                                     dit_err *err) {
    *out = NULL;
    if (cfg_degree != 1 && cfg_degree != 2)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "CFG degree %d: 1 or 2", cfg_degree);
    if (ranks < 1 || ranks > DIT_COMM_MAX_RANKS || ranks % cfg_degree)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%d ranks cannot be split into %d CFG halves (at most %d ranks)",
                        ranks, cfg_degree, DIT_COMM_MAX_RANKS);
    const int c = cfg_degree, u = ranks / c;
    int nm[1 + 2 + DIT_COMM_MAX_RANKS];
    int mem[1 + 2 + DIT_COMM_MAX_RANKS][DIT_COMM_MAX_RANKS];
    memset(nm, 0, sizeof nm);
    memset(mem, 0, sizeof mem);
    int ng = 1;
    nm[0] = ranks;
    for (int r = 0; r < ranks; r++) mem[0][r] = r;
    if (cpu) {
        for (int g = 0; g < c; g++, ng++)
            for (int i = 0; i < u; i++) mem[ng][nm[ng]++] = g * u + i;
        if (c == 2)
            for (int i = 0; i < u; i++, ng++)
                for (int g = 0; g < c; g++) mem[ng][nm[ng]++] = g * u + i;
    }
    return dit_shm_world_create(ranks, ng, nm, (const int(*)[DIT_COMM_MAX_RANKS])mem, cpu ? window : 4096, out, err);
}

dit_status dit_parallel_comms(const dit_rank_ctx *ctx, int cfg_degree, dit_backend *be, dit_comm **world,
                              dit_comm **sp, dit_comm **cfg, dit_err *err) {
    *world = *sp = *cfg = NULL;
    const int P = ctx->size, r = ctx->rank, c = cfg_degree, u = P / c;
    if (be->device == DIT_DEVICE_CPU) {
        DIT_TRY(dit_comm_shm_create(ctx->world, 0, r, be, world, err));
        if (u > 1) DIT_TRY(dit_comm_shm_create(ctx->world, 1 + r / u, r, be, sp, err));
        if (c == 2) DIT_TRY(dit_comm_shm_create(ctx->world, 1 + c + r % u, r, be, cfg, err));
        return DIT_OK;
    }
    if (r == 0) DIT_TRY(dit_comm_nccl_unique_id(ctx->bootstrap, err));
    DIT_TRY(dit_shm_world_barrier(ctx->world, err));
    DIT_TRY(dit_comm_nccl_create(ctx->bootstrap, P, r, be, world, err));
    if (u > 1) DIT_TRY(dit_comm_nccl_split(*world, r / u, r % u, sp, err));
    if (c == 2) DIT_TRY(dit_comm_nccl_split(*world, r % u, r / u, cfg, err));
    return DIT_OK;
}

dit_status dit_rank_backend(const char *name, int threads, const dit_rank_ctx *ctx, dit_backend **out, dit_err *err) {
    if (!ctx || ctx->size == 1) return dit_backend_create_threads(name, threads, out, err);
    if (!strcmp(name, "cpu")) {
        int cores = dit_cpu_cores_available();
        return dit_backend_cpu_create(threads > 0 ? threads : cores / ctx->size > 1 ? cores / ctx->size : 1, out, err);
    }
    dit_status s = dit_backend_cuda_create(ctx->rank, out, err);
    if (s != DIT_OK) dit_err_wrap(err, "rank %d needs GPU %d", ctx->rank, ctx->rank);
    return s;
}
