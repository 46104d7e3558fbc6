/* policy.c — per-layer / per-step attention choice (see policy.h). */
#include "policy.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* memset */

attn_policy attn_policy_dense(void) {
    attn_policy p;
    memset(&p, 0, sizeof p);
    snprintf(p.name, sizeof p.name, "dense");
    p.sparse = attn_params_default(ATTN_METHOD_DENSE);
    p.calls_per_step = 1;
    return p;
}

attn_params attn_policy_select(const attn_policy *p, int layer, int call_index) {
    if (!p || p->sparse.method == ATTN_METHOD_DENSE) return attn_params_default(ATTN_METHOD_DENSE);
    int cps = p->calls_per_step > 0 ? p->calls_per_step : 1;
    int step = call_index / cps;
    if (layer < p->dense_layers || step < p->dense_steps) return attn_params_default(ATTN_METHOD_DENSE);
    return p->sparse;
}
