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

#include <cjson/cJSON.h> /* cJSON */

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
/* Load a preset: a bare name ("rectified-wan") is configs/attention/<name>.json of the source
 * tree (SPADIT_CONFIG_DIR); anything with a '/' or ending in ".json" is a file path.
 * Keys (all optional but "method"; defaults are attn_params_default):
 *   name, description, method ("dense" | "rectified" | "sla"), dense_layers, dense_steps,
 *   rectified: {drop_rate, tau, gapr, neighbors, forced_square, block},
 *   sla: {topk, variant ("main" | "sla1"), block_q, block_k}.
 * Unknown keys, a section of another method, wrong types and out-of-range values are errors
 * naming the key and the file.  calls_per_step is left at 1 for the sampler to set. */
dit_status attn_policy_load(const char *name_or_path, attn_policy *out, dit_err *err);
/* The same from a parsed preset; `label` names it in messages, `stem` is its default name. */
dit_status attn_policy_from_json(const cJSON *j, const char *label, const char *stem, attn_policy *out, dit_err *err);
/* Parameters for (layer, call) under the policy. */
attn_params attn_policy_select(const attn_policy *p, int layer, int call_index);

#endif
