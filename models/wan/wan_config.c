/* wan_config.c — Wan2.1 DiT configs (see wan_config.h and ../shared/specs/wan.md §1.1). */
#include "wan_config.h"

#include <stdint.h> /* int64_t */
#include <stdio.h>  /* snprintf */
#include <string.h> /* strcmp, memset */

#include "../../io/json_file.h" /* io_json_int */

static void base_config(wan_config *c) {
    memset(c, 0, sizeof *c);
    c->in_dim = c->out_dim = 16;
    c->text_dim = 4096;
    c->text_len = 512;
    c->freq_dim = 256;
    c->patch[0] = 1;
    c->patch[1] = c->patch[2] = 2;
    c->eps = 1e-6f;
    c->qk_norm = c->cross_attn_norm = 1;
    snprintf(c->model_type, sizeof c->model_type, "t2v");
}

int wan_config_preset(const char *name, wan_config *c) {
    base_config(c);
    if (!strcmp(name, "1.3B")) {
        c->dim = 1536, c->ffn_dim = 8960, c->heads = 12, c->layers = 30;
    } else if (!strcmp(name, "14B")) {
        c->dim = 5120, c->ffn_dim = 13824, c->heads = 40, c->layers = 40;
    } else {
        return -1;
    }
    c->head_dim = c->dim / c->heads;
    return 0;
}

static int read_patch(const cJSON *j, int patch[3]) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "patch_size");
    if (!p) return 0;
    if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) != 3) return -1;
    for (int i = 0; i < 3; i++) {
        int64_t v;
        if (!io_json_int_in(cJSON_GetArrayItem(p, i), 1, 64, &v)) return -1;
        patch[i] = (int)v;
    }
    return 0;
}

/* Bounds far beyond any real Wan model (14B: dim 5120, ffn 13824, 40 layers, 40 heads) that keep every
 * size product below 2^62: parameter counts and activation sizes cannot overflow. */
#define WAN_MAX_DIM (1 << 16)
#define WAN_MAX_FFN (1 << 18)
#define WAN_MAX_LAYERS 1024
#define WAN_MAX_HEADS 1024
#define WAN_MAX_CH 4096

dit_status wan_config_from_json(const cJSON *j, const char *path, wan_config *c, dit_err *err) {
    base_config(c);
    const char *cls = io_json_str(j, "_class_name", "");
    /* every integer is range-checked before it is narrowed to int (4294967298 layers must not become 2) */
    if (cJSON_GetObjectItemCaseSensitive(j, "num_attention_heads")) { /* diffusers */
        DIT_TRY(io_json_get_int(j, "num_attention_heads", 0, 1, WAN_MAX_HEADS, &c->heads, path, err));
        DIT_TRY(io_json_get_int(j, "attention_head_dim", 128, 2, 512, &c->head_dim, path, err));
        if ((int64_t)c->heads * c->head_dim > WAN_MAX_DIM)
            return DIT_FAIL(err, DIT_ERR_FORMAT,
                            "%s: num_attention_heads %d x attention_head_dim %d = %lld exceeds the largest width %d", path,
                            c->heads, c->head_dim, (long long)c->heads * c->head_dim, WAN_MAX_DIM);
        c->dim = c->heads * c->head_dim;
        DIT_TRY(io_json_get_int(j, "in_channels", 16, 1, WAN_MAX_CH, &c->in_dim, path, err));
        DIT_TRY(io_json_get_int(j, "out_channels", c->in_dim, 1, WAN_MAX_CH, &c->out_dim, path, err));
        DIT_TRY(io_json_get_int(j, "text_dim", 4096, 1, WAN_MAX_DIM, &c->text_dim, path, err));
        DIT_TRY(io_json_get_int(j, "freq_dim", 256, 2, WAN_MAX_DIM, &c->freq_dim, path, err));
        DIT_TRY(io_json_get_int(j, "ffn_dim", 0, 1, WAN_MAX_FFN, &c->ffn_dim, path, err));
        DIT_TRY(io_json_get_int(j, "num_layers", 0, 1, WAN_MAX_LAYERS, &c->layers, path, err));
        double eps;
        DIT_TRY(io_json_get_num(j, "eps", 1e-6, 1e-30, 1, &eps, path, err));
        c->eps = (float)eps;
        const cJSON *qk = cJSON_GetObjectItemCaseSensitive(j, "qk_norm");
        c->qk_norm = qk && !cJSON_IsNull(qk) && !cJSON_IsFalse(qk);
        c->cross_attn_norm = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "cross_attn_norm"));
        const cJSON *img = cJSON_GetObjectItemCaseSensitive(j, "image_dim");
        if (img && !cJSON_IsNull(img))
            return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: image_dim is set (an i2v model); only text-to-video is supported",
                            path);
    } else if (cJSON_GetObjectItemCaseSensitive(j, "num_heads") || !strcmp(cls, "WanModel")) { /* original */
        DIT_TRY(io_json_get_int(j, "dim", 0, 1, WAN_MAX_DIM, &c->dim, path, err));
        DIT_TRY(io_json_get_int(j, "num_heads", 0, 1, WAN_MAX_HEADS, &c->heads, path, err));
        c->head_dim = c->heads > 0 ? c->dim / c->heads : 0;
        DIT_TRY(io_json_get_int(j, "in_dim", 16, 1, WAN_MAX_CH, &c->in_dim, path, err));
        DIT_TRY(io_json_get_int(j, "out_dim", 16, 1, WAN_MAX_CH, &c->out_dim, path, err));
        DIT_TRY(io_json_get_int(j, "text_dim", 4096, 1, WAN_MAX_DIM, &c->text_dim, path, err));
        DIT_TRY(io_json_get_int(j, "text_len", 512, 1, 1 << 16, &c->text_len, path, err));
        DIT_TRY(io_json_get_int(j, "freq_dim", 256, 2, WAN_MAX_DIM, &c->freq_dim, path, err));
        DIT_TRY(io_json_get_int(j, "ffn_dim", 0, 1, WAN_MAX_FFN, &c->ffn_dim, path, err));
        DIT_TRY(io_json_get_int(j, "num_layers", 0, 1, WAN_MAX_LAYERS, &c->layers, path, err));
        double eps;
        DIT_TRY(io_json_get_num(j, "eps", 1e-6, 1e-30, 1, &eps, path, err));
        c->eps = (float)eps;
        c->qk_norm = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "qk_norm"));
        c->cross_attn_norm = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "cross_attn_norm"));
        const char *mt = io_json_str(j, "model_type", "t2v");
        if (strcmp(mt, "t2v") && strcmp(mt, "t2i"))
            return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: model_type '%s'; only 't2v' is supported", path, mt);
        snprintf(c->model_type, sizeof c->model_type, "%s", mt);
    } else {
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: not a Wan DiT config (expected 'num_attention_heads' (diffusers) or 'num_heads' (original))",
                        path);
    }
    if (read_patch(j, c->patch) != 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: patch_size must be an array of 3 integers in [1, 64]", path);
    if (c->dim <= 0 || c->heads <= 0 || c->layers <= 0 || c->ffn_dim <= 0 || c->dim % c->heads)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: invalid sizes dim=%d heads=%d layers=%d ffn_dim=%d (need positive, dim divisible by heads)",
                        path, c->dim, c->heads, c->layers, c->ffn_dim);
    if (c->head_dim % 2 || c->head_dim > 512)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: head_dim %d must be even and at most 512", path, c->head_dim);
    return DIT_OK;
}

/* The bounds wan_config_from_json enforces keep this below 2^62 (d*f*layers < 2^16 * 2^18 * 2^10). */
int64_t wan_config_param_count(const wan_config *c) {
    int64_t d = c->dim, f = c->ffn_dim, pd = (int64_t)c->in_dim * c->patch[0] * c->patch[1] * c->patch[2];
    int64_t od = (int64_t)c->out_dim * c->patch[0] * c->patch[1] * c->patch[2];
    int64_t n = pd * d + d;                                         /* patch embedding */
    n += (int64_t)c->text_dim * d + d + d * d + d;                  /* text embedding */
    n += (int64_t)c->freq_dim * d + d + d * d + d + d * 6 * d + 6 * d; /* time embedding + projection */
    int64_t blk = 6 * d                                             /* modulation */
                  + 4 * (d * d + d) + 2 * d                         /* self-attention + q/k norm */
                  + 4 * (d * d + d) + 2 * d                         /* cross-attention + q/k norm */
                  + 2 * d                                           /* norm3 affine */
                  + d * f + f + f * d + d;                          /* FFN */
    n += blk * c->layers;
    n += 2 * d + d * od + od; /* head */
    return n;
}
