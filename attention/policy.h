/* policy.h — which attention method each layer and step uses.
 *
 * Dense warm-up: layers [0, dense_layers) are always dense, and so are all
 * layers during the first dense_steps denoising steps.  Steps are counted from
 * transformer calls: with CFG a step makes calls_per_step = 2 calls (cond and
 * uncond), so call c belongs to step c / calls_per_step.  Presets live in
 * configs/attention/ (one JSON file per preset) (see configs/README.md).
 */
#ifndef SPADIT_POLICY_H
#define SPADIT_POLICY_H

#include "attn.h" /* attn_params */

typedef struct attn_policy {
    char name[64];
    attn_params sparse;   /* the method used outside the dense warm-up */
    int dense_layers;
    int dense_steps;
    int calls_per_step;   /* set by the sampler: 2 with CFG, 1 without */
} attn_policy;

/* A policy that is dense everywhere. */
attn_policy attn_policy_dense(void);
/* Parameters for (layer, call) under the policy. */
attn_params attn_policy_select(const attn_policy *p, int layer, int call_index);

#endif
