/* wan_variant.c — checkpoint variants and config inference (see wan_variant.h).
 * Key names of TurboDiffusion's files: thu-ml/TurboDiffusion @aaecff5,
 * turbodiffusion/inference/modify_model.py and rcm/networks/wan2pt1.py (docs/turbowan.md). */
#include "wan_variant.h"

#include <stdio.h>  /* snprintf */
#include <string.h> /* memset */

#include "wan_dit.h" /* wan_dit_locate */

#define TURBO_PROJ_L "blocks.0.self_attn.attn_op.local_attn.proj_l.weight"

wan_variant wan_variant_detect(const io_weights *iw) {
    if (io_weights_find(iw, "blocks.0.self_attn.q.int8_weight")) return WAN_VARIANT_TURBOWAN_INT8;
    if (io_weights_find(iw, TURBO_PROJ_L)) return WAN_VARIANT_TURBOWAN;
    if (io_weights_find(iw, "blocks.0.attn1.attn_impl.proj_l.weight") ||
        io_weights_find(iw, "blocks.0.attn1.local_attn.proj_l.weight"))
        return WAN_VARIANT_SLA;
    return WAN_VARIANT_DENSE;
}

const char *wan_variant_name(wan_variant v) {
    switch (v) {
    case WAN_VARIANT_DENSE: return "Wan2.1 (dense)";
    case WAN_VARIANT_SLA: return "SLA fine-tune";
    case WAN_VARIANT_TURBOWAN: return "TurboWan (SLA fine-tune)";
    case WAN_VARIANT_TURBOWAN_INT8: return "TurboWan int8 (-quant, SLA fine-tune)";
    }
    return "?";
}

dit_status wan_dit_probe_variant(const char *path, wan_variant *out, dit_err *err) {
    *out = WAN_VARIANT_DENSE;
    char cfg_path[8192], wpath[8192];
    DIT_TRY(wan_dit_locate(path, cfg_path, sizeof cfg_path, wpath, sizeof wpath, err));
    io_weights *iw = NULL;
    DIT_TRY(io_weights_open(wpath, "diffusion_pytorch_model", &iw, err));
    *out = wan_variant_detect(iw);
    io_weights_close(&iw);
    return DIT_OK;
}

/* The 2-D weight of block b's linear `fmt` (%d = block, %s = "weight", or "int8_weight" in the
 * Int8Linear form); NULL if absent. */
static const io_st_tensor *linear_w(const io_weights *iw, const char *fmt, int b) {
    char nm[160];
    snprintf(nm, sizeof nm, fmt, b, "weight");
    const io_st_tensor *t = io_weights_find(iw, nm);
    if (!t) {
        snprintf(nm, sizeof nm, fmt, b, "int8_weight");
        t = io_weights_find(iw, nm);
    }
    return t && t->ndim == 2 ? t : NULL;
}

static const io_st_tensor *need2(const io_weights *iw, const char *name, const char *path, dit_err *err) {
    const io_st_tensor *t = io_weights_find(iw, name);
    if (!t || t->ndim != 2) {
        DIT_FAIL(err, t ? DIT_ERR_SHAPE : DIT_ERR_MISSING, "%s: cannot infer the config: tensor '%s' %s", path, name,
                 t ? "is not 2-D" : "is missing");
        return NULL;
    }
    return t;
}

dit_status wan_config_infer(const io_weights *iw, const char *path, wan_config *c, dit_err *err) {
    memset(c, 0, sizeof *c);
    c->text_len = 512, c->eps = 1e-6f;
    snprintf(c->model_type, sizeof c->model_type, "t2v");
    const io_st_tensor *pe = io_weights_find(iw, "patch_embedding.weight");
    if (!pe) return DIT_FAIL(err, DIT_ERR_MISSING, "%s: cannot infer the config: no 'patch_embedding.weight' "
                                                   "(not an original-layout Wan DiT)", path);
    c->dim = (int)pe->shape[0];
    if (pe->ndim == 5) {
        c->in_dim = (int)pe->shape[1];
        for (int i = 0; i < 3; i++) c->patch[i] = (int)pe->shape[2 + i];
    } else if (pe->ndim == 2 && pe->shape[1] % 4 == 0) { /* TurboDiffusion: nn.Linear over (c kt kh kw) */
        c->patch[0] = 1, c->patch[1] = c->patch[2] = 2;
        c->in_dim = (int)(pe->shape[1] / 4);
    } else {
        return DIT_FAIL(err, DIT_ERR_SHAPE,
                        "%s: cannot infer the config: patch_embedding.weight has %d dims, expected 5 (Conv3d "
                        "[dim, in, pt, ph, pw]) or 2 (Linear [dim, in*1*2*2])",
                        path, pe->ndim);
    }
    const io_st_tensor *t;
    if (!(t = need2(iw, "text_embedding.0.weight", path, err))) return err->code;
    c->text_dim = (int)t->shape[1];
    if (!(t = need2(iw, "time_embedding.0.weight", path, err))) return err->code;
    c->freq_dim = (int)t->shape[1];
    if (!(t = need2(iw, "head.head.weight", path, err))) return err->code;
    int pvol = c->patch[0] * c->patch[1] * c->patch[2];
    c->out_dim = pvol > 0 && t->shape[0] % pvol == 0 ? (int)(t->shape[0] / pvol) : 0;
    if (!(t = linear_w(iw, "blocks.%d.ffn.0.%s", 0)))
        return DIT_FAIL(err, DIT_ERR_MISSING, "%s: cannot infer the config: no 2-D 'blocks.0.ffn.0.weight'", path);
    c->ffn_dim = (int)t->shape[0];
    while (linear_w(iw, "blocks.%d.self_attn.q.%s", c->layers)) c->layers++;
    const io_st_tensor *pl = io_weights_find(iw, TURBO_PROJ_L);
    if (!pl) pl = io_weights_find(iw, "blocks.0.attn1.attn_impl.proj_l.weight");
    c->head_dim = pl && pl->ndim == 2 ? (int)pl->shape[0] : 128;
    c->heads = c->head_dim > 0 ? c->dim / c->head_dim : 0;
    c->qk_norm = io_weights_find(iw, "blocks.0.self_attn.norm_q.weight") != NULL;
    c->cross_attn_norm = io_weights_find(iw, "blocks.0.norm3.weight") != NULL;
    if (c->dim <= 0 || c->layers <= 0 || c->heads <= 0 || c->dim % c->head_dim || c->in_dim <= 0 ||
        c->out_dim <= 0 || c->ffn_dim <= 0)
        return DIT_FAIL(err, DIT_ERR_FORMAT,
                        "%s: cannot infer the config: dim %d, %d layers, head_dim %d, in/out %d/%d (need positive "
                        "sizes, dim divisible by head_dim)",
                        path, c->dim, c->layers, c->head_dim, c->in_dim, c->out_dim);
    return DIT_OK;
}
