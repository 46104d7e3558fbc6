/* vae_config.c — Wan VAE hyper-parameters: the Wan2.1 defaults and diffusers'
 * AutoencoderKLWan config.json (see vae.h, ../shared/specs/wan.md §4).
 * Checked by tests/test_vae.c (both golden configs load through config.json;
 * bad configs are rejected with the field named). */
#include "vae.h"

#include <math.h>   /* isfinite */
#include <string.h> /* memset, strcmp */

#include "../../io/json_file.h" /* io_json_int, io_json_str */
#include "vae_internal.h"        /* vae_config_check */

static const float k_mean[16] = {-0.7571f, -0.7089f, -0.9113f, 0.1075f, -0.1745f, 0.9653f, -0.1517f, 1.5508f,
                                 0.4134f,  -0.0715f, 0.5517f,  -0.3632f, -0.1922f, -0.9497f, 0.2503f, -0.2921f};
static const float k_std[16] = {2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f, 2.6052f, 2.0743f,
                                3.2687f, 2.1526f, 2.8652f, 1.5579f, 1.6382f, 1.1253f, 2.8251f, 1.9160f};

void wan_vae_config_default(wan_vae_config *c) {
    memset(c, 0, sizeof *c);
    c->base_dim = 96;
    c->z_dim = 16;
    c->n_levels = 4;
    const int mult[4] = {1, 2, 4, 4};
    for (int i = 0; i < 4; i++) c->dim_mult[i] = mult[i];
    c->num_res_blocks = 2;
    c->temporal_down[0] = 0, c->temporal_down[1] = 1, c->temporal_down[2] = 1;
    c->out_channels = 3;
    memcpy(c->latents_mean, k_mean, sizeof k_mean);
    memcpy(c->latents_std, k_std, sizeof k_std);
}

int wan_vae_spatial_ratio(const wan_vae_config *c) { return 1 << (c->n_levels - 1); }

int wan_vae_temporal_ratio(const wan_vae_config *c) {
    int r = 1;
    for (int i = 0; i < c->n_levels - 1; i++) r *= c->temporal_down[i] ? 2 : 1;
    return r;
}

int64_t wan_vae_out_frames(const wan_vae_config *c, int64_t T) {
    return T > 0 ? 1 + (int64_t)wan_vae_temporal_ratio(c) * (T - 1) : 0;
}

/* Read a JSON array of numbers (or bools when want_bool) into dst; returns its length or -1. */
static int read_array(const cJSON *j, const char *key, int want_bool, double *dst, int cap) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsArray(a)) return -1;
    int n = cJSON_GetArraySize(a);
    if (n > cap) return -1;
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(a, i);
        if (want_bool ? !cJSON_IsBool(v) : !cJSON_IsNumber(v)) return -1;
        dst[i] = want_bool ? (cJSON_IsTrue(v) ? 1.0 : 0.0) : v->valuedouble;
    }
    return n;
}

static int is_set(const cJSON *j, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    return v && !cJSON_IsNull(v) && !cJSON_IsFalse(v);
}

dit_status wan_vae_config_from_json(const cJSON *j, const char *path, wan_vae_config *c, dit_err *err) {
    wan_vae_config_default(c);
    const char *cls = io_json_str(j, "_class_name", "AutoencoderKLWan");
    if (strcmp(cls, "AutoencoderKLWan"))
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: _class_name is '%s', expected 'AutoencoderKLWan' (a Wan VAE config)",
                        path, cls);
    if (is_set(j, "is_residual"))
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: is_residual is set (the Wan2.2 VAE); only the Wan2.1 VAE decoder is implemented", path);
    if (is_set(j, "patch_size"))
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: patch_size is set (the Wan2.2 VAE); only the Wan2.1 VAE is implemented",
                        path);
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(j, "attn_scales");
    if (as && !(cJSON_IsArray(as) && cJSON_GetArraySize(as) == 0))
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: attn_scales must be [] (the decoder has attention only in its middle block)", path);
    /* every integer range-checked before narrowing */
    DIT_TRY(io_json_get_int(j, "base_dim", 96, 1, 4096, &c->base_dim, path, err));
    const cJSON *dbd = cJSON_GetObjectItemCaseSensitive(j, "decoder_base_dim");
    if (dbd && !cJSON_IsNull(dbd)) DIT_TRY(io_json_get_int(j, "decoder_base_dim", 96, 1, 4096, &c->base_dim, path, err));
    DIT_TRY(io_json_get_int(j, "z_dim", 16, 1, WAN_VAE_MAX_Z, &c->z_dim, path, err));
    DIT_TRY(io_json_get_int(j, "num_res_blocks", 2, 0, 16, &c->num_res_blocks, path, err));
    DIT_TRY(io_json_get_int(j, "out_channels", 3, 1, 64, &c->out_channels, path, err));
    if (c->z_dim <= 0 || c->z_dim > WAN_VAE_MAX_Z)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: invalid z_dim=%d (need 1..%d)", path, c->z_dim, WAN_VAE_MAX_Z);
    double buf[WAN_VAE_MAX_Z];
    if (cJSON_GetObjectItemCaseSensitive(j, "dim_mult")) {
        int n = read_array(j, "dim_mult", 0, buf, WAN_VAE_MAX_LEVELS);
        if (n < 2)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: dim_mult must be an array of 2..%d positive integers", path,
                            WAN_VAE_MAX_LEVELS);
        c->n_levels = n;
        for (int i = 0; i < n; i++) {
            if (buf[i] < 1 || buf[i] > 64 || buf[i] != (int)buf[i])
                return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: dim_mult[%d] = %g is not a positive integer", path, i, buf[i]);
            c->dim_mult[i] = (int)buf[i];
        }
    }
    if (cJSON_GetObjectItemCaseSensitive(j, "temperal_downsample")) {
        int n = read_array(j, "temperal_downsample", 1, buf, WAN_VAE_MAX_LEVELS);
        if (n != c->n_levels - 1)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: temperal_downsample must be %d booleans (len(dim_mult) - 1)", path,
                            c->n_levels - 1);
        for (int i = 0; i < n; i++) c->temporal_down[i] = buf[i] != 0;
    } else if (c->n_levels != 4) {
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: temperal_downsample is required when dim_mult has %d entries", path,
                        c->n_levels);
    }
    const char *stat_keys[2] = {"latents_mean", "latents_std"};
    float *stat_dst[2] = {c->latents_mean, c->latents_std};
    for (int k = 0; k < 2; k++) {
        if (!cJSON_GetObjectItemCaseSensitive(j, stat_keys[k])) {
            if (c->z_dim != 16)
                return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: %s is required when z_dim is %d (defaults exist for 16)", path,
                                stat_keys[k], c->z_dim);
            continue;
        }
        int n = read_array(j, stat_keys[k], 0, buf, WAN_VAE_MAX_Z);
        if (n != c->z_dim)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: %s must be %d numbers (z_dim)", path, stat_keys[k], c->z_dim);
        for (int i = 0; i < n; i++) {
            if (!isfinite(buf[i]) || (k == 1 && !(buf[i] > 0)))
                return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: %s[%d] = %g (must be finite%s)", path, stat_keys[k], i, buf[i],
                                k == 1 ? " and positive" : "");
            stat_dst[k][i] = (float)buf[i];
        }
    }
    return vae_config_check(c, path, err);
}

dit_status vae_config_check(const wan_vae_config *c, const char *src, dit_err *err) {
    if (c->base_dim <= 0 || c->base_dim > 4096 || c->z_dim <= 0 || c->z_dim > WAN_VAE_MAX_Z || c->num_res_blocks < 0 ||
        c->num_res_blocks > 16 || c->out_channels <= 0 || c->out_channels > 64 || c->n_levels < 2 ||
        c->n_levels > WAN_VAE_MAX_LEVELS)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: invalid sizes base_dim=%d z_dim=%d num_res_blocks=%d out_channels=%d levels=%d (need "
                        "base_dim 1..4096, z_dim 1..%d, num_res_blocks 0..16, out_channels 1..64, 2..%d levels)",
                        src, c->base_dim, c->z_dim, c->num_res_blocks, c->out_channels, c->n_levels, WAN_VAE_MAX_Z,
                        WAN_VAE_MAX_LEVELS);
    for (int i = 0; i < c->n_levels; i++)
        if (c->dim_mult[i] < 1 || c->dim_mult[i] > 64)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: dim_mult[%d] = %d (need 1..64)", src, i, c->dim_mult[i]);
    for (int i = 0; i < c->z_dim; i++)
        if (!isfinite(c->latents_mean[i]) || !(c->latents_std[i] > 0) || !isfinite(c->latents_std[i]))
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: latents_mean/std[%d] = %g/%g (need finite, std > 0)", src, i,
                            c->latents_mean[i], c->latents_std[i]);
    /* every upsampler halves its channels: the widths it sees must be even */
    for (int i = 0; i + 1 < c->n_levels; i++) {
        int d = c->base_dim * c->dim_mult[c->n_levels - 1 - i]; /* up block i output width */
        if (d % 2)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: width %d (base_dim %d x dim_mult) must be even for the upsampler",
                            src, d, c->base_dim);
    }
    return DIT_OK;
}
