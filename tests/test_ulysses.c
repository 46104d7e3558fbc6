/* test_ulysses.c — sequence parallelism (Ulysses) and the rank launcher on the CPU.
 *
 * The CPU model of the multi-GPU path: P rank processes (dit_launch_ranks), each with its own CPU
 * backend and the same random Wan DiT, exchanging through the shared-memory communicator.
 * 1. swap01 (the all-to-all packing) against a hand loop; the shared-memory all-to-all and
 *    all-gather with uneven message sizes.
 * 2. The DiT forward with P = 2, 3 (uneven token split) and 4 ranks equals P = 1 (f32: rel L2
 *    <= 1e-5) for dense, Rectified SpaAttn (Gilbert order, neighbour mask) and SLA (proj_l),
 *    on a sequence whose length is not a multiple of the rank count or of 128.
 * 3. Errors: heads not divisible by P names both; a failing rank stops the others (which wait in
 *    a collective) and the launcher reports the rank and its message instead of hanging.
 */
#include "../dit/comm.h"          /* dit_comm_* */
#include "../dit/launch.h"        /* dit_launch_ranks */
#include "../models/wan/wan_dit.h" /* wan_dit_*, wan_run_* */
#include "test_util.h"            /* CHECK, rel_l2, test_summary */

#include <sys/mman.h> /* mmap */

static dit_err err;

/* ---- 1. packing and collectives ------------------------------------------------------------------ */

static void test_swap01(void) {
    dit_backend *be = NULL;
    CHECK(dit_backend_cpu_create(1, &be, &err) == DIT_OK, "%s", err.msg);
    if (!be) return;
    const int64_t A = 5, B = 3, C = 7;
    float x[5 * 3 * 7], o[5 * 3 * 7];
    for (int i = 0; i < A * B * C; i++) x[i] = (float)i;
    int64_t ne[1] = {A * B * C};
    dit_tensor tx = dit_tensor_make(DIT_DTYPE_F32, DIT_DEVICE_CPU, x, 1, ne), to = dit_tensor_make(DIT_DTYPE_F32, DIT_DEVICE_CPU, o, 1, ne);
    CHECK(dit_op_swap01(be, &to, &tx, A, B) == DIT_OK, "%s", be->err.msg);
    int bad = 0;
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++) bad += o[(b * A + a) * C + c] != x[(a * B + b) * C + c];
    CHECK(bad == 0, "swap01 [5,3,7] -> [3,5,7]: %d wrong", bad);
    CHECK(dit_op_swap01(be, &to, &tx, 4, 3) != DIT_OK && strstr(be->err.msg, "[4, 3, C]"), "105 elements are not [4, 3, C]: %s",
          be->err.msg);
    CHECK(dit_op_swap01(be, &tx, &tx, A, B) != DIT_OK && strstr(be->err.msg, "alias"), "aliasing refused: %s", be->err.msg);
    dit_backend_destroy(&be);
}

typedef struct coll_job {
    float *result; /* shared: [ranks][96]: all-to-all at 0, all-gather at 48 */
} coll_job;

/* rank r sends (r+1)*(p+1) floats valued 100r + p to rank p; then all-gathers r+1 copies of r. */
static dit_status coll_rank(const dit_rank_ctx *ctx, void *user, dit_err *e) {
    coll_job *j = user;
    dit_comm *c = NULL;
    DIT_TRY(dit_comm_shm_create(ctx->world, 0, ctx->rank, NULL, &c, e));
    float send[64], recv[64];
    size_t soff[16], sb[16], roff[16], rb[16], cur = 0, rcur = 0;
    for (int p = 0; p < c->size; p++) {
        soff[p] = cur * sizeof(float);
        sb[p] = (size_t)((ctx->rank + 1) * (p + 1)) * sizeof(float);
        for (int i = 0; i < (ctx->rank + 1) * (p + 1); i++) send[cur++] = (float)(100 * ctx->rank + p);
        roff[p] = rcur * sizeof(float);
        rb[p] = (size_t)((p + 1) * (ctx->rank + 1)) * sizeof(float);
        rcur += (size_t)((p + 1) * (ctx->rank + 1));
    }
    dit_status s = c->ops->alltoallv(c, send, soff, sb, recv, roff, rb);
    float *out = j->result + 96 * ctx->rank;
    for (size_t i = 0; i < rcur && s == DIT_OK; i++) out[i] = recv[i];
    float g[16];
    size_t bytes[16];
    for (int p = 0; p < c->size; p++) bytes[p] = (size_t)(p + 1) * sizeof(float);
    for (int i = 0; i <= ctx->rank; i++) send[i] = (float)ctx->rank;
    if (s == DIT_OK) s = dit_comm_all_gather(c, send, bytes, g);
    for (int i = 0; i < 10 && s == DIT_OK; i++) out[48 + i] = g[i];
    if (s != DIT_OK) *e = c->err;
    dit_comm_destroy(&c);
    return s;
}

/* every rank sends 16 KiB to each peer: more than a 4 KiB window */
static dit_status big_rank(const dit_rank_ctx *ctx, void *user, dit_err *e) {
    (void)user;
    dit_comm *c = NULL;
    DIT_TRY(dit_comm_shm_create(ctx->world, 0, ctx->rank, NULL, &c, e));
    static float a[2 * 4096], b[2 * 4096];
    size_t off[2] = {0, sizeof a / 2}, bytes[2] = {sizeof a / 2, sizeof a / 2};
    dit_status s = c->ops->alltoallv(c, a, off, bytes, b, off, bytes);
    if (s != DIT_OK) *e = c->err;
    dit_comm_destroy(&c);
    return s;
}

static dit_shm_world *world_of(int P, size_t window) {
    int nm[1] = {P};
    int mem[1][DIT_COMM_MAX_RANKS];
    for (int i = 0; i < P; i++) mem[0][i] = i;
    dit_shm_world *w = NULL;
    CHECK(dit_shm_world_create(P, 1, nm, (const int(*)[DIT_COMM_MAX_RANKS])mem, window, &w, &err) == DIT_OK, "%s", err.msg);
    return w;
}

static void test_collectives(void) {
    const int P = 4;
    float *res = mmap(NULL, 96 * P * sizeof(float), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    dit_shm_world *w = world_of(P, 1 << 16);
    if (!w || res == MAP_FAILED) return;
    coll_job j = {res};
    CHECK(dit_launch_ranks(P, w, coll_rank, &j, &err) == DIT_OK, "%s", err.msg);
    int bad = 0;
    for (int r = 0; r < P; r++) {
        size_t k = 0;
        for (int p = 0; p < P; p++)
            for (int i = 0; i < (p + 1) * (r + 1); i++) bad += res[96 * r + k++] != (float)(100 * p + r);
        k = 0;
        for (int p = 0; p < P; p++)
            for (int i = 0; i <= p; i++) bad += res[96 * r + 48 + k++] != (float)p;
    }
    CHECK(bad == 0, "all-to-all with uneven sizes and all-gather over 4 ranks: %d wrong", bad);
    dit_shm_world_destroy(&w);
    /* a message bigger than the window: an error on every rank, not a hang or an overrun */
    w = world_of(2, 4096);
    if (w) {
        dit_status s = dit_launch_ranks(2, w, coll_rank, &j, &err);
        CHECK(s == DIT_OK, "small messages fit a 4 KiB window: %s", err.msg);
        s = dit_launch_ranks(2, w, big_rank, NULL, &err);
        CHECK(s != DIT_OK && strstr(err.msg, "window holds 4096"), "32 KiB through a 4 KiB window: %s", err.msg);
        dit_shm_world_destroy(&w);
    }
    munmap(res, 96 * P * sizeof(float));
}

/* ---- 2. the DiT forward over P ranks ---------------------------------------------------------- */

#define GF 3
#define GH 18
#define GW 30
#define NLAT (16 * GF * GH * GW)

typedef struct dit_job {
    const char *preset; /* NULL: dense */
    int heads;
    float *out;         /* shared [NLAT]: rank 0's velocity */
} dit_job;

static wan_config small_config(int heads) {
    wan_config c;
    wan_config_preset("1.3B", &c);
    c.heads = heads, c.head_dim = 64, c.dim = heads * 64, c.ffn_dim = 256, c.layers = 2, c.text_dim = 64;
    return c;
}

static dit_status dit_rank(const dit_rank_ctx *ctx, void *user, dit_err *e) {
    dit_job *j = user;
    dit_backend *be = NULL;
    DIT_TRY(dit_backend_cpu_create(1, &be, e));
    dit_comm *c = NULL;
    wan_dit *m = NULL;
    wan_run run;
    memset(&run, 0, sizeof run);
    attn_policy pol = attn_policy_dense();
    wan_config cfg = small_config(j->heads);
    float *x = malloc(NLAT * sizeof(float)), *v = malloc(NLAT * sizeof(float)), *ctxt = malloc(20 * 64 * sizeof(float));
    dit_status s = x && v && ctxt ? DIT_OK : DIT_FAIL(e, DIT_ERR_OOM, "buffers");
    for (int i = 0; s == DIT_OK && i < NLAT; i++) x[i] = dit_hash_uniform(7, (uint64_t)i) * 2 - 1;
    for (int i = 0; s == DIT_OK && i < 20 * 64; i++) ctxt[i] = dit_hash_uniform(8, (uint64_t)i) * 2 - 1;
    if (s == DIT_OK) s = dit_comm_shm_create(ctx->world, 0, ctx->rank, be, &c, e);
    if (s == DIT_OK) s = wan_dit_init_random(&cfg, be, 11, &m, e);
    if (s == DIT_OK && j->preset) s = wan_dit_add_random_proj_l(m, 12, e);
    if (s == DIT_OK && j->preset) {
        s = attn_policy_load(j->preset, &pol, e);
        pol.dense_layers = 0, pol.dense_steps = 0;
    }
    if (s == DIT_OK) s = wan_run_init_parallel(&run, m, GF, GH, GW, c, e);
    if (s == DIT_OK) s = wan_run_set_policy(&run, &pol, e);
    if (s == DIT_OK) s = wan_dit_forward(&run, x, 900.0, ctxt, 20, v, e);
    if (s == DIT_OK && ctx->rank == 0) memcpy(j->out, v, NLAT * sizeof(float));
    wan_run_free(&run);
    wan_dit_free(&m);
    dit_comm_destroy(&c);
    dit_backend_destroy(&be);
    free(x), free(v), free(ctxt);
    return s;
}

static dit_status run_dit(int P, dit_job *j) {
    dit_shm_world *w = world_of(P, 16u << 20);
    if (!w) return DIT_ERR_INTERNAL;
    dit_status s = dit_launch_ranks(P, w, dit_rank, j, &err);
    dit_shm_world_destroy(&w);
    return s;
}

static void test_dit(void) {
    float *ref = mmap(NULL, 2 * NLAT * sizeof(float), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ref == MAP_FAILED) return;
    float *got = ref + NLAT;
    const char *presets[] = {NULL, "rectified-90", "sla-10"};
    for (int k = 0; k < 3; k++) {
        dit_job j1 = {presets[k], 12, ref};
        dit_status s = run_dit(1, &j1);
        CHECK(s == DIT_OK, "%s, 1 rank: %s", presets[k] ? presets[k] : "dense", err.msg);
        if (s != DIT_OK) continue;
        const int ranks[] = {2, 3, 4};
        for (int i = 0; i < 3; i++) {
            memset(got, 0, NLAT * sizeof(float));
            dit_job jp = {presets[k], 12, got};
            s = run_dit(ranks[i], &jp);
            double e = rel_l2(got, ref, NLAT);
            printf("%-12s P=%d: rel L2 vs P=1 %.3e\n", presets[k] ? presets[k] : "dense", ranks[i], e);
            CHECK(s == DIT_OK && e <= 1e-5, "%s with %d ranks: %s, rel L2 %.3e", presets[k] ? presets[k] : "dense",
                  ranks[i], s == DIT_OK ? "ok" : err.msg, e);
        }
    }
    /* 8 heads over 3 ranks */
    dit_job jb = {NULL, 8, got};
    dit_status s = run_dit(3, &jb);
    CHECK(s != DIT_OK && strstr(err.msg, " of 3: ") && strstr(err.msg, "divisible by 3") && strstr(err.msg, "8 heads"),
          "8 heads over 3 ranks: %s", err.msg);
    munmap(ref, 2 * NLAT * sizeof(float));
}

/* ---- 3. one rank fails while the other waits in a collective ------------------------------------ */

static dit_status failing_rank(const dit_rank_ctx *ctx, void *user, dit_err *e) {
    (void)user;
    dit_comm *c = NULL;
    DIT_TRY(dit_comm_shm_create(ctx->world, 0, ctx->rank, NULL, &c, e));
    if (ctx->rank == 1) {
        dit_comm_destroy(&c);
        return DIT_FAIL(e, DIT_ERR_OOM, "out of GPU memory while loading the DiT (simulated)");
    }
    float a = 1, b = 0;
    size_t off[2] = {0, 0}, bytes[2] = {sizeof a, sizeof a};
    dit_status s = c->ops->alltoallv(c, &a, off, bytes, &b, off, bytes); /* waits for rank 1 forever */
    dit_comm_destroy(&c);
    return s;
}

static void test_failure(void) {
    dit_shm_world *w = world_of(2, 4096);
    if (!w) return;
    dit_status s = dit_launch_ranks(2, w, failing_rank, NULL, &err);
    CHECK(s != DIT_OK && strstr(err.msg, "rank 1 of 2") && strstr(err.msg, "out of GPU memory"),
          "a failing rank stops the run and is named: %s", err.msg);
    dit_shm_world_destroy(&w);
}

int main(void) {
    test_swap01();
    test_collectives();
    test_dit();
    test_failure();
    return test_summary("test_ulysses");
}
