/* umt5_config.c — umT5 / T5 encoder hyper-parameters: the umT5-XXL preset, HF
 * config.json parsing, and the relative-position bucket function.  Checked by
 * tests/test_umt5.c (configs of the goldens, the bucket table of transformers
 * for |rel| <= 600, rejected configs). */
#include "umt5.h"

#include <math.h>   /* logf, log */
#include <string.h> /* strcmp, strncmp, memset */

#include "../../io/json_file.h" /* io_json_int, io_json_num, io_json_str */

static void base_config(wan_umt5_config *c) {
    memset(c, 0, sizeof *c);
    c->num_buckets = 32;
    c->max_distance = 128;
    c->eps = 1e-6f;
    c->act = DIT_ACT_GELU_TANH;
    c->shared_bias = 0;
}

int wan_umt5_config_preset(const char *name, wan_umt5_config *c) {
    base_config(c);
    if (!name || strcmp(name, "umt5-xxl")) return -1;
    c->vocab = 256384;
    c->d_model = 4096;
    c->d_kv = 64;
    c->heads = 64;
    c->d_ff = 10240;
    c->layers = 24;
    return 0;
}

int64_t wan_umt5_config_param_count(const wan_umt5_config *c) {
    int64_t D = c->d_model, I = (int64_t)c->heads * c->d_kv, F = c->d_ff;
    int64_t per_layer = 4 * D * I + 3 * D * F + 2 * D + (c->shared_bias ? 0 : (int64_t)c->num_buckets * c->heads);
    return c->vocab * D + c->layers * per_layer + D + (c->shared_bias ? (int64_t)c->num_buckets * c->heads : 0);
}

/* feed_forward_proj -> activation of the gated branch, as transformers' T5Config does. */
static int parse_ffn(const char *s, dit_act *act) {
    if (strncmp(s, "gated-", 6)) return -1;
    const char *a = s + 6;
    if (!strcmp(a, "gelu") || !strcmp(a, "gelu_new") || !strcmp(a, "gelu_pytorch_tanh")) *act = DIT_ACT_GELU_TANH;
    else if (!strcmp(a, "silu") || !strcmp(a, "swish")) *act = DIT_ACT_SILU;
    else return -1;
    return 0;
}

dit_status wan_umt5_config_from_json(const cJSON *j, const char *path, wan_umt5_config *c, dit_err *err) {
    base_config(c);
    const char *mt = io_json_str(j, "model_type", "");
    if (strcmp(mt, "umt5") && strcmp(mt, "t5") && strcmp(mt, "mt5"))
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: model_type '%s' is not a T5 encoder (expected \"umt5\", \"t5\" or \"mt5\")", path, mt);
    const cJSON *dec = cJSON_GetObjectItemCaseSensitive(j, "is_decoder");
    if (cJSON_IsTrue(dec))
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: is_decoder is true; only the encoder stack is supported", path);
    /* umT5 has a bias table in every layer; T5 v1.1 / mT5 share layer 0's */
    c->shared_bias = strcmp(mt, "umt5") != 0;
    /* every integer range-checked before narrowing (4294967298 layers must not become 2) */
    DIT_TRY(io_json_get_i64(j, "vocab_size", 0, 1, (int64_t)1 << 31, &c->vocab, path, err));
    DIT_TRY(io_json_get_int(j, "d_model", 0, 1, 1 << 16, &c->d_model, path, err));
    DIT_TRY(io_json_get_int(j, "num_heads", 0, 1, 1024, &c->heads, path, err));
    DIT_TRY(io_json_get_int(j, "d_kv", 64, 1, 1 << 12, &c->d_kv, path, err));
    DIT_TRY(io_json_get_int(j, "d_ff", 0, 1, 1 << 18, &c->d_ff, path, err));
    DIT_TRY(io_json_get_int(j, "num_layers", 0, 1, 1024, &c->layers, path, err));
    DIT_TRY(io_json_get_int(j, "relative_attention_num_buckets", 32, 4, 4096, &c->num_buckets, path, err));
    DIT_TRY(io_json_get_int(j, "relative_attention_max_distance", 128, 1, 1 << 24, &c->max_distance, path, err));
    c->eps = (float)io_json_num(j, "layer_norm_epsilon", 1e-6);
    /* transformers' defaults: "gated-gelu" for UMT5Config / MT5Config, "relu" (not gated) for T5Config */
    const char *ffn = io_json_str(j, "feed_forward_proj", strcmp(mt, "t5") ? "gated-gelu" : "relu");
    if (parse_ffn(ffn, &c->act) != 0)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED,
                        "%s: feed_forward_proj \"%s\" is not supported (umT5 uses \"gated-gelu\"; also accepted: "
                        "gated-gelu_new, gated-gelu_pytorch_tanh, gated-silu)",
                        path, ffn);
    struct {
        const char *key;
        int64_t v, lo, hi;
    } chk[] = {
        {"vocab_size", c->vocab, 1, (int64_t)1 << 31},
        {"d_model", c->d_model, 1, 1 << 16},
        {"num_heads", c->heads, 1, 1024},
        {"d_kv", c->d_kv, 1, 1 << 12},
        {"d_ff", c->d_ff, 1, 1 << 18},
        {"num_layers", c->layers, 1, 1024},
        {"relative_attention_num_buckets", c->num_buckets, 4, 4096},
        {"relative_attention_max_distance", c->max_distance, 1, 1 << 24},
    };
    for (size_t i = 0; i < sizeof chk / sizeof chk[0]; i++)
        if (chk[i].v < chk[i].lo || chk[i].v > chk[i].hi)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: '%s' is %lld or missing; expected an integer in [%lld, %lld]", path,
                            chk[i].key, (long long)chk[i].v, (long long)chk[i].lo, (long long)chk[i].hi);
    if (c->num_buckets % 2)
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: relative_attention_num_buckets %d must be even (bidirectional halves)",
                        path, c->num_buckets);
    if (c->max_distance <= c->num_buckets / 4)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: relative_attention_max_distance %d must exceed the %d exact buckets per direction", path,
                        c->max_distance, c->num_buckets / 4);
    if (!(c->eps > 0 && c->eps < 1))
        return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: layer_norm_epsilon %g must be in (0, 1)", path, (double)c->eps);
    return DIT_OK;
}

int wan_umt5_bucket(int64_t rel, int bidirectional, int num_buckets, int max_distance) {
    int64_t b = 0, nb = num_buckets;
    if (rel > ((int64_t)1 << 40)) rel = (int64_t)1 << 40; /* far beyond max_distance: same bucket, no overflow */
    if (rel < -((int64_t)1 << 40)) rel = -((int64_t)1 << 40);
    if (bidirectional) {
        nb /= 2;
        if (rel > 0) b = nb;
        rel = rel < 0 ? -rel : rel;
    } else {
        rel = rel < 0 ? -rel : 0;
    }
    int64_t max_exact = nb / 2;
    if (rel < max_exact) return (int)(b + rel);
    /* float32 throughout, as torch evaluates log(rel / max_exact) / log(max_distance / max_exact) * (nb - max_exact) */
    float r = logf((float)rel / (float)max_exact) / (float)log((double)max_distance / (double)max_exact);
    r = r * (float)(nb - max_exact);
    int64_t large = max_exact + (int64_t)r;
    if (large > nb - 1) large = nb - 1;
    return (int)(b + large);
}
