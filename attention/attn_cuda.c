/* attn_cuda.c — the CUDA attention context (attn_cuda.h): timing events, the sparse methods'
 * workspace, and the cuDNN SDPA plan cache, created with the attn_ctx and freed with it. */
#include "attn_cuda.h"

#include <stdlib.h> /* calloc, free */
#include <string.h> /* memset */

#include "../dit/cuda/cuda_backend.h" /* dit_cuda_stream, dit_cuda_check, CUDA_TRY */
#include "dense_cuda.h"               /* attn_sdpa_cache_create, attn_sdpa_cache_free */

struct attn_cuda {
    dit_backend *be;
    attn_sdpa_cache *sdpa; /* dense_cudnn.c */
    cudaEvent_t ev[ATTN_CUDA_EVENTS];
    attn_cuda_ws ws; /* sparse methods' workspace (sparse_cuda.c) */
};

attn_cuda_ws *attn_cuda_workspace(attn_cuda *c) { return &c->ws; }
attn_sdpa_cache *attn_cuda_sdpa(attn_cuda *c) { return c->sdpa; }

static void ws_free(attn_cuda_ws *w) {
    if (w->buf) cudaFree(w->buf);
    if (w->lt_ws) cudaFree(w->lt_ws);
    if (w->nb_dev) cudaFree(w->nb_dev);
    free(w->host_counts);
    memset(w, 0, sizeof *w);
}

dit_status attn_cuda_create(dit_backend *be, attn_cuda **out) {
    attn_cuda *c = calloc(1, sizeof *c);
    if (!c) return DIT_FAIL(&be->err, DIT_ERR_OOM, "attention CUDA state");
    c->be = be;
    dit_status s = attn_sdpa_cache_create(be, &c->sdpa);
    if (s != DIT_OK) {
        attn_cuda_destroy(&c);
        return s;
    }
    for (int i = 0; i < ATTN_CUDA_EVENTS; i++) {
        cudaError_t e = cudaEventCreate(&c->ev[i]);
        if (e != cudaSuccess) {
            attn_cuda_destroy(&c);
            return dit_cuda_check(be, e, "cudaEventCreate", __FILE__, __LINE__);
        }
    }
    *out = c;
    return DIT_OK;
}

void attn_cuda_destroy(attn_cuda **pc) {
    if (!pc || !*pc) return;
    attn_cuda *c = *pc;
    attn_sdpa_cache_free(&c->sdpa);
    ws_free(&c->ws);
    for (int i = 0; i < ATTN_CUDA_EVENTS; i++)
        if (c->ev[i]) cudaEventDestroy(c->ev[i]);
    free(c);
    *pc = NULL;
}

dit_status attn_cuda_mark(attn_cuda *c, int k) {
    CUDA_TRY(c->be, cudaEventRecord(c->ev[k], dit_cuda_stream(c->be)));
    return DIT_OK;
}

double attn_cuda_elapsed(attn_cuda *c, int a, int b) {
    float ms = 0;
    if (cudaEventSynchronize(c->ev[b]) != cudaSuccess) return -1;
    if (cudaEventElapsedTime(&ms, c->ev[a], c->ev[b]) != cudaSuccess) return -1;
    return ms;
}
