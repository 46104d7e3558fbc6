/* comm_shm.c — the communicator interface's generic helpers and its shared-memory
 * implementation: ranks on one host (forked processes or threads) exchange messages
 * through one MAP_SHARED mapping, synchronised by process-shared barriers.  It is
 * the CPU model of the NCCL path: the same collectives, the same call order. */
#include "comm.h"

#include <pthread.h>  /* pthread_barrier_* */
#include <stdint.h>   /* SIZE_MAX */
#include <stdlib.h>   /* calloc, free */
#include <string.h>   /* memcpy, memset */
#include <sys/mman.h> /* mmap, munmap */

#define SHM_MAX_GROUPS 40
#define SHM_SCRATCH (128 + 16 * 1024)
#define SHM_BAD ((size_t)-1) /* a member's message table is void (window overflow) */

typedef struct shm_group {
    int n;
    int members[DIT_COMM_MAX_RANKS];       /* world ranks */
    pthread_barrier_t bar;
    size_t off[DIT_COMM_MAX_RANKS][DIT_COMM_MAX_RANKS];   /* [src][dst] offset in src's window */
    size_t bytes[DIT_COMM_MAX_RANKS][DIT_COMM_MAX_RANKS]; /* [src][dst] message size */
    size_t data;                            /* offset of the group's windows from the mapping */
} shm_group;

typedef struct shm_header {
    int world, ngroups;
    size_t window, map_bytes;
    pthread_barrier_t world_bar;
    unsigned char scratch[SHM_SCRATCH];
    shm_group groups[SHM_MAX_GROUPS];
} shm_header;

struct dit_shm_world {
    shm_header *h; /* the mapping */
};

static size_t align_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

dit_status dit_shm_world_create(int world_size, int ngroups, const int *nmembers,
                                const int (*members)[DIT_COMM_MAX_RANKS], size_t window, dit_shm_world **out,
                                dit_err *err) {
    *out = NULL;
    if (world_size < 1 || world_size > DIT_COMM_MAX_RANKS)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%d ranks: between 1 and %d are supported", world_size,
                        DIT_COMM_MAX_RANKS);
    if (ngroups < 0 || ngroups > SHM_MAX_GROUPS)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "%d communicator groups: at most %d", ngroups, SHM_MAX_GROUPS);
    window = align_up(window ? window : 1, 4096);
    size_t hdr = align_up(sizeof(shm_header), 4096), total = hdr;
    for (int g = 0; g < ngroups; g++) {
        if (nmembers[g] < 1 || nmembers[g] > world_size)
            return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "group %d has %d members (world of %d)", g, nmembers[g],
                            world_size);
        for (int i = 0; i < nmembers[g]; i++)
            if (members[g][i] < 0 || members[g][i] >= world_size)
                return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "group %d: member %d is not a rank of the world of %d", g,
                                members[g][i], world_size);
        total += (size_t)nmembers[g] * window;
    }
    void *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return DIT_FAIL(err, DIT_ERR_OOM, "shared-memory communicator: mapping %zu bytes failed", total);
    shm_header *h = p;
    memset(h, 0, sizeof *h);
    h->world = world_size, h->ngroups = ngroups, h->window = window, h->map_bytes = total;
    pthread_barrierattr_t at;
    pthread_barrierattr_init(&at);
    pthread_barrierattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
    int bad = pthread_barrier_init(&h->world_bar, &at, (unsigned)world_size);
    size_t data = hdr;
    for (int g = 0; g < ngroups && !bad; g++) {
        shm_group *G = &h->groups[g];
        G->n = nmembers[g];
        memcpy(G->members, members[g], sizeof G->members);
        G->data = data;
        data += (size_t)G->n * window;
        bad = pthread_barrier_init(&G->bar, &at, (unsigned)G->n);
    }
    pthread_barrierattr_destroy(&at);
    if (bad) {
        munmap(p, total);
        return DIT_FAIL(err, DIT_ERR_INTERNAL, "shared-memory communicator: process-shared barriers unavailable");
    }
    dit_shm_world *w = calloc(1, sizeof *w);
    if (!w) {
        munmap(p, total);
        return DIT_FAIL(err, DIT_ERR_OOM, "shared-memory world");
    }
    w->h = h;
    *out = w;
    return DIT_OK;
}

void dit_shm_world_destroy(dit_shm_world **w) {
    if (!w || !*w) return;
    munmap((*w)->h, (*w)->h->map_bytes);
    free(*w);
    *w = NULL;
}

void *dit_shm_world_scratch(dit_shm_world *w, size_t *bytes) {
    if (bytes) *bytes = SHM_SCRATCH;
    return w->h->scratch;
}

dit_status dit_shm_world_barrier(dit_shm_world *w, dit_err *err) {
    int r = pthread_barrier_wait(&w->h->world_bar);
    if (r != 0 && r != PTHREAD_BARRIER_SERIAL_THREAD)
        return DIT_FAIL(err, DIT_ERR_INTERNAL, "shared-memory barrier failed (%d)", r);
    return DIT_OK;
}

typedef struct shm_comm {
    dit_shm_world *w;
    shm_group *g;
    unsigned char *window; /* this member's window */
} shm_comm;

static unsigned char *window_of(shm_comm *s, int member) {
    return (unsigned char *)s->w->h + s->g->data + (size_t)member * s->w->h->window;
}

static int barrier(shm_group *g) {
    int r = pthread_barrier_wait(&g->bar);
    return r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : r;
}

static dit_status shm_alltoallv(dit_comm *c, const void *send, const size_t *soff, const size_t *sbytes, void *recv,
                                const size_t *roff, const size_t *rbytes) {
    shm_comm *s = c->impl;
    shm_group *g = s->g;
    const int me = c->rank, n = c->size;
    size_t total = 0;
    for (int p = 0; p < n; p++) total += sbytes[p];
    /* 1. post: copy every outgoing message into this member's window, publish the table */
    int overflow = total > s->w->h->window;
    size_t cur = 0;
    for (int p = 0; p < n; p++) {
        g->off[me][p] = cur;
        g->bytes[me][p] = overflow ? SHM_BAD : sbytes[p];
        if (!overflow) memcpy(s->window + cur, (const unsigned char *)send + soff[p], sbytes[p]);
        cur += sbytes[p];
    }
    if (barrier(g)) return DIT_FAIL(&c->err, DIT_ERR_INTERNAL, "shared-memory barrier failed");
    /* 2. collect what every member posted for this one (every member reaches the second barrier, even
     * on an error, so that no peer waits forever) */
    dit_status st = DIT_OK;
    if (overflow)
        st = DIT_FAIL(&c->err, DIT_ERR_OOM,
                      "shared-memory communicator: rank %d sends %zu bytes in one exchange; the window holds %zu", me,
                      total, s->w->h->window);
    for (int p = 0; p < n && st == DIT_OK; p++) {
        size_t b = g->bytes[p][me];
        if (b == SHM_BAD)
            st = DIT_FAIL(&c->err, DIT_ERR_OOM, "shared-memory communicator: member %d overflowed its window", p);
        else if (b != rbytes[p])
            st = DIT_FAIL(&c->err, DIT_ERR_INTERNAL, "all-to-all: member %d sends %zu bytes, member %d expects %zu", p,
                          b, me, rbytes[p]);
        else
            memcpy((unsigned char *)recv + roff[p], window_of(s, p) + g->off[p][me], b);
    }
    if (barrier(g)) return DIT_FAIL(&c->err, DIT_ERR_INTERNAL, "shared-memory barrier failed");
    return st;
}

static void shm_destroy(dit_comm *c) {
    free(c->impl);
    free(c);
}

static const dit_comm_ops shm_ops = {shm_alltoallv, shm_destroy};

dit_status dit_comm_shm_create(dit_shm_world *w, int group, int rank, dit_backend *be, dit_comm **out,
                               dit_err *err) {
    *out = NULL;
    if (be && be->device != DIT_DEVICE_CPU)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "the shared-memory communicator moves host memory; backend '%s' needs NCCL", be->name);
    if (group < 0 || group >= w->h->ngroups)
        return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "communicator group %d of %d", group, w->h->ngroups);
    shm_group *g = &w->h->groups[group];
    int me = -1;
    for (int i = 0; i < g->n; i++)
        if (g->members[i] == rank) me = i;
    if (me < 0) return DIT_FAIL(err, DIT_ERR_INVALID_ARG, "rank %d is not a member of group %d", rank, group);
    dit_comm *c = calloc(1, sizeof *c);
    shm_comm *s = calloc(1, sizeof *s);
    if (!c || !s) {
        free(c), free(s);
        return DIT_FAIL(err, DIT_ERR_OOM, "communicator");
    }
    s->w = w, s->g = g;
    c->rank = me, c->size = g->n, c->kind = "shm", c->ops = &shm_ops, c->impl = s, c->be = be;
    s->window = window_of(s, me);
    *out = c;
    return DIT_OK;
}

/* --- generic helpers ---------------------------------------------------------------------------- */

void dit_comm_destroy(dit_comm **c) {
    if (!c || !*c) return;
    (*c)->ops->destroy(*c);
    *c = NULL;
}

dit_status dit_comm_all_gather(dit_comm *c, const void *send, const size_t *bytes, void *recv) {
    size_t soff[DIT_COMM_MAX_RANKS], sb[DIT_COMM_MAX_RANKS], roff[DIT_COMM_MAX_RANKS];
    size_t cur = 0;
    for (int p = 0; p < c->size; p++) {
        soff[p] = 0;
        sb[p] = bytes[c->rank];
        roff[p] = cur;
        cur += bytes[p];
    }
    return c->ops->alltoallv(c, send, soff, sb, recv, roff, bytes);
}

void dit_comm_split_range(int64_t n, int size, int rank, int64_t *start, int64_t *count) {
    int64_t base = n / size, rem = n % size;
    *count = base + (rank < rem ? 1 : 0);
    *start = rank * base + (rank < rem ? rank : rem);
}
