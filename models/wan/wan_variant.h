/* wan_variant.h — which Wan DiT checkpoint a weights file is (dense Wan2.1, an SLA
 * fine-tune, TurboDiffusion's TurboWan and its int8 "-quant" form), and the config of
 * a lone checkpoint file read from its tensor shapes (TurboWan .pth files ship without
 * a config.json).  Layouts: docs/turbowan.md.  Checked by tests/test_turbowan.c.
 */
#ifndef SPADIT_WAN_VARIANT_H
#define SPADIT_WAN_VARIANT_H

#include "../../dit/status.h" /* dit_status, dit_err */
#include "../../io/weights.h" /* io_weights */
#include "wan_config.h"       /* wan_config */

typedef enum wan_variant {
    WAN_VARIANT_DENSE = 0,      /* no proj_l: Wan2.1 as released (or another dense fine-tune) */
    WAN_VARIANT_SLA,            /* proj_l under another SLA code base's name (e.g. attn1.attn_impl) */
    WAN_VARIANT_TURBOWAN,       /* blocks.N.self_attn.attn_op.local_attn.proj_l: TurboDiffusion's SLA + rCM */
    WAN_VARIANT_TURBOWAN_INT8,  /* the same with Int8Linear blocks (X.int8_weight + X.scale): -quant.pth */
} wan_variant;

/* Detect from the tensor names (block 0). */
wan_variant wan_variant_detect(const io_weights *iw);
/* "Wan2.1 (dense)", "SLA fine-tune", "TurboWan (SLA fine-tune)", "TurboWan int8 (-quant, SLA fine-tune)". */
const char *wan_variant_name(wan_variant v);
/* Open the DiT at `path` (folder or file, as wan_dit_load takes it), read only the headers. */
dit_status wan_dit_probe_variant(const char *path, wan_variant *out, dit_err *err);

/* The config of an original-layout checkpoint from its tensor shapes: dim, in_dim and patch from
 * patch_embedding.weight (Conv3d [dim, in, pt, ph, pw], or TurboDiffusion's Linear [dim, in*4]
 * with patch (1, 2, 2)), text_dim, freq_dim, ffn_dim, out_dim, the layer count, qk_norm and
 * cross_attn_norm from their tensors; head_dim from proj_l [hd, hd] when present, else 128 (every
 * Wan2.1 size; TurboDiffusion's select_model too); eps 1e-6, text_len 512, t2v.
 * `path` names the file in errors. */
dit_status wan_config_infer(const io_weights *iw, const char *path, wan_config *cfg, dit_err *err);

#endif
