/* wan_config.h — Wan2.1 DiT hyper-parameters, presets and config.json parsing. */
#ifndef SPADIT_WAN_CONFIG_H
#define SPADIT_WAN_CONFIG_H

#include <cjson/cJSON.h> /* cJSON */
#include <stdint.h>       /* int64_t */

#include "../../dit/status.h" /* dit_status, dit_err */

typedef struct wan_config {
    int dim;        /* model width (1536 for 1.3B, 5120 for 14B) */
    int ffn_dim;    /* FFN hidden width */
    int heads;      /* attention heads; head_dim = dim / heads */
    int head_dim;
    int layers;
    int in_dim, out_dim; /* latent channels (16) */
    int text_dim;   /* T5 width (4096) */
    int text_len;   /* context rows after zero padding (512) */
    int freq_dim;   /* sinusoid width of the time embedding (256) */
    int patch[3];   /* (t, h, w) = (1, 2, 2) */
    float eps;      /* 1e-6 */
    int qk_norm, cross_attn_norm;
    char model_type[16]; /* "t2v" */
} wan_config;

/* "1.3B" or "14B" (Wan2.1 T2V); returns -1 for an unknown name. */
int wan_config_preset(const char *name, wan_config *cfg);
/* Parse config.json of either layout (original WanModel or diffusers
 * WanTransformer3DModel).  Unknown model types (i2v, flf2v) are rejected with a
 * clear message. */
dit_status wan_config_from_json(const cJSON *j, const char *path, wan_config *cfg, dit_err *err);
/* Number of parameters of the T2V DiT with this config. */
int64_t wan_config_param_count(const wan_config *cfg);

#endif
