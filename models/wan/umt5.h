/* umt5.h — the umT5 text encoder of Wan2.1 (umT5-XXL): config, weights, forward.
 *
 * Forward (../shared/specs/wan.md §3), ids[L] -> ctx[L, d_model]:
 *   x = E[ids]                                   (host gather from the mapped table, f32)
 *   per layer l:
 *     h = RMS(x) * w1
 *     x += Wo . softmax(q k^T + bias_l[h, bucket(j - i)] + mask) v     (no 1/sqrt(d) scale)
 *     u = RMS(x) * w2
 *     x += Wff_o (GELU_tanh(Wi0 u) * (Wi1 u))
 *   ctx = RMS(x) * w_final
 * RMS(x) = x / sqrt(mean(x^2) + eps) (T5's norm: no mean subtraction, eps 1e-6).
 * The relative-position bias has 32 buckets (16 per direction: 8 exact, 8
 * logarithmic up to max_distance 128), one table per layer for umT5 (one shared
 * table from layer 0 for T5 v1.1 configs).  Keys at positions >= n_valid are
 * masked (right padding).  Math goes through the backend vtable and
 * attn_forward only; the embedding table never leaves the host mapping (only
 * the gathered rows are converted), GEMM weights are DIT_WEIGHT_GEMM (bf16 on
 * CUDA), norms DIT_WEIGHT_PARAM (f32), residual stream f32.
 *
 * Weights come in the HF UMT5EncoderModel / T5EncoderModel layout
 * (encoder.block.N.layer.0.SelfAttention.q.weight ...) or Wan's original layout
 * (models_t5_umt5-xxl-enc-bf16: blocks.N.attn.q.weight ...), detected from the
 * keys.  Checked by tests/test_umt5.c against transformers (docs/umt5.md).
 */
#ifndef SPADIT_WAN_UMT5_H
#define SPADIT_WAN_UMT5_H

#include <cjson/cJSON.h> /* cJSON */
#include <stddef.h>       /* size_t */
#include <stdint.h>       /* int32_t, int64_t */

#include "../../dit/backend.h" /* dit_backend, dit_tensor, dit_act, dit_status */
#include "../../io/weights.h"  /* io_weights, io_st_tensor */

typedef struct wan_umt5_config {
    int64_t vocab;     /* rows of the embedding table (256384) */
    int d_model;       /* width of the residual stream (4096) */
    int d_kv;          /* per-head width (64); attention width = heads * d_kv */
    int heads;         /* 64 */
    int d_ff;          /* gated FFN width (10240) */
    int layers;        /* 24 */
    int num_buckets;   /* relative-position buckets, both directions together (32) */
    int max_distance;  /* |j - i| >= max_distance share the last bucket (128) */
    float eps;         /* RMSNorm epsilon (1e-6) */
    dit_act act;       /* activation of the gated branch (GELU_TANH for "gated-gelu") */
    int shared_bias;   /* 0: a bias table in every layer (umT5); 1: layer 0's table for all (T5 v1.1) */
} wan_umt5_config;

/* "umt5-xxl" (Wan2.1's encoder); returns -1 for an unknown name. */
int wan_umt5_config_preset(const char *name, wan_umt5_config *cfg);
/* Parse an HF config.json (model_type "umt5", "t5" or "mt5"; UMT5EncoderModel /
 * T5EncoderModel).  Only gated feed-forwards are supported ("gated-gelu" ->
 * tanh GELU as in HF, "gated-gelu_new", "gated-gelu_pytorch_tanh", "gated-silu"). */
dit_status wan_umt5_config_from_json(const cJSON *j, const char *path, wan_umt5_config *cfg, dit_err *err);
/* Parameters of the encoder (embedding included). */
int64_t wan_umt5_config_param_count(const wan_umt5_config *cfg);

/* Bucket of relative position rel = j - i (key minus query), exactly as
 * transformers' T5Attention._relative_position_bucket (float32 log). */
int wan_umt5_bucket(int64_t rel, int bidirectional, int num_buckets, int max_distance);

typedef enum wan_umt5_layout { WAN_UMT5_LAYOUT_ORIGINAL = 0, WAN_UMT5_LAYOUT_HF = 1 } wan_umt5_layout;

typedef struct wan_umt5_block {
    dit_tensor norm1;          /* [d_model] f32 */
    dit_tensor q_w, k_w, v_w;  /* [heads*d_kv, d_model] */
    dit_tensor o_w;            /* [d_model, heads*d_kv] */
    float *rel_bias;           /* host [num_buckets, heads] f32; NULL in layers > 0 when shared_bias */
    dit_tensor norm2;          /* [d_model] f32 */
    dit_tensor wi0_w;          /* [d_ff, d_model] activated (gate) branch */
    dit_tensor wi1_w;          /* [d_ff, d_model] linear branch */
    dit_tensor wo_w;           /* [d_model, d_ff] */
} wan_umt5_block;

typedef struct wan_umt5 {
    wan_umt5_config cfg;
    wan_umt5_layout layout;
    dit_backend *be;
    io_weights *w;             /* kept open: the embedding rows are read from its mapping */
    const io_st_tensor *embed; /* [vocab, d_model], any float dtype, host */
    dit_tensor final_norm;     /* [d_model] f32 */
    wan_umt5_block *blocks;
    char identity[96];         /* wan_umt5_identity() of the loaded checkpoint */
    int64_t bytes_on_device;
    dit_tensor bias;           /* [tables, heads, L, L] f32 for L = bias_len (tables = layers, or 1 shared) */
    int64_t bias_len;
    double ms_load;            /* wall time of wan_umt5_load */
    double ms_encode;          /* wall time of the last encode */
} wan_umt5;

/* Resolve a checkpoint: a diffusers pipeline folder (text_encoder/), an HF
 * folder (config.json + model*.safetensors), a Wan folder holding
 * models_t5_umt5-xxl-enc-bf16.safetensors, or a weights file.  cfg_path is
 * set to "" when there is no T5 config.json (the config is then inferred from
 * the tensor shapes, with the umT5-XXL preset for what shapes cannot tell). */
dit_status wan_umt5_locate(const char *path, char *cfg_path, size_t cap1, char *weights_path, size_t cap2,
                           dit_err *err);
/* Load onto `be`.  Missing, unexpected and mis-shaped tensors are reported together. */
dit_status wan_umt5_load(const char *path, dit_backend *be, wan_umt5 **out, dit_err *err);
/* Release everything: device weights, bias tables and the checkpoint mapping
 * (call it before loading the DiT; the XXL encoder holds ~9.3 GB on CUDA). */
void wan_umt5_free(wan_umt5 **m);

/* A content identity of a checkpoint without loading it (config, tensor
 * dtypes/shapes and sampled bytes of every tensor, hashed), e.g.
 * "umt5-4096x24-1f2e...": the embedding cache key.  Same value as m->identity. */
dit_status wan_umt5_identity(const char *path, char *id, size_t cap, dit_err *err);

/* out[n, d_model] (host f32) = encoder(ids[0..n)); every token is real. */
dit_status wan_umt5_encode(wan_umt5 *m, const int32_t *ids, int64_t n, float *out, dit_err *err);
/* As above with right padding: keys at positions >= n_valid are masked
 * (1 <= n_valid <= n); rows >= n_valid are computed too (as transformers does)
 * but callers keep only the first n_valid. */
dit_status wan_umt5_encode_padded(wan_umt5 *m, const int32_t *ids, int64_t n, int64_t n_valid, float *out,
                                  dit_err *err);

#endif
