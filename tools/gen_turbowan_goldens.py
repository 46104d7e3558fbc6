#!/usr/bin/env python3
"""Tiny TurboWan checkpoints in TurboDiffusion's own file layout, for the loader tests
(tests/test_turbowan.c).

Usage:  python3 tools/gen_turbowan_goldens.py [OUT_DIR=tests/data]
Needs torch and safetensors; CPU only; deterministic.  Writes (~200 KB in all):
  turbowan_tiny/turbowan_tiny.pth        TurboWan2.1-T2V-*.pth layout, no config.json beside it
  turbowan_tiny/turbowan_tiny-quant.pth  the -quant.pth layout (int8 linear layers), same model
  turbowan_tiny_ref/config.json + diffusion_pytorch_model.safetensors
                                         the same values in the original Wan layout (Conv3d patch
                                         weight, a config), for an equality check of the forward

The layout is TurboDiffusion's (github.com/thu-ml/TurboDiffusion @aaecff5), learned from
turbodiffusion/inference/modify_model.py (the released files are `torch.save(net.state_dict())`
of their WanModel after replace_attention + replace_linear_norm) and
turbodiffusion/rcm/networks/wan2pt1.py; their modules need CUDA/flash-attn, so the keys are
written here from that reading, not by instantiating their classes:
  * a flat state dict: no wrapper dict, no "net." prefix (modify_model strips it from the
    training checkpoint before saving);
  * the original Wan key names (blocks.N.self_attn.q.weight, ..., head.head.weight);
  * patch_embedding.weight is 2-D [dim, in*pt*ph*pw]: their patch embedding is an nn.Linear
    over "(c kt kh kw)"-flattened patches (Wan's Conv3d weight reshaped);
  * blocks.N.self_attn.attn_op.local_attn.proj_l.{weight [hd, hd], bias [hd]} in float32 (their
    SparseLinearAttention builds proj_l with dtype=torch.float32);
  * RMSNorm / affine LayerNorm weights in float32 (FastRMSNorm copies .float(), FastLayerNorm's
    buffers are float32); the other tensors bf16 (the network runs in bf16).
  * -quant: every nn.Linear under blocks except proj_l becomes Int8Linear with buffers
    X.int8_weight int8 [out, in], X.scale float32 [ceil(out/128), ceil(in/128)] (one scale per
    128x128 block: amax / 128, amax floored at 1e-8), X.bias in the weight's dtype (bf16).
    The quantization here mirrors their quant kernel's math (round to nearest, clamp) only to make
    plausible values: the loader test needs the layout, not the numbers.

Tiny config: dim 32, 2 heads (head_dim 16), ffn 48, 2 layers, text_dim 32 (pipe_tiny's encoder), freq_dim 64,
patch (1, 2, 2), in/out 16, qk_norm, cross_attn_norm.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

DIM, HEADS, FFN, LAYERS, TEXT, FREQ, IN, OUT = 32, 2, 48, 2, 32, 64, 16, 16
HD = DIM // HEADS


def build(gen):
    def r(*shape, scale=None):
        s = scale if scale is not None else 1.0 / (shape[-1] ** 0.5)
        return (torch.randn(*shape, generator=gen) * s).to(torch.bfloat16)

    def norm(n):
        return (1.0 + 0.1 * torch.randn(n, generator=gen)).to(torch.bfloat16).float()

    sd = {}
    sd["patch_embedding.weight"] = r(DIM, IN * 4)
    sd["patch_embedding.bias"] = r(DIM, scale=0.05)
    sd["text_embedding.0.weight"] = r(DIM, TEXT)
    sd["text_embedding.0.bias"] = r(DIM, scale=0.05)
    sd["text_embedding.2.weight"] = r(DIM, DIM)
    sd["text_embedding.2.bias"] = r(DIM, scale=0.05)
    sd["time_embedding.0.weight"] = r(DIM, FREQ)
    sd["time_embedding.0.bias"] = r(DIM, scale=0.05)
    sd["time_embedding.2.weight"] = r(DIM, DIM)
    sd["time_embedding.2.bias"] = r(DIM, scale=0.05)
    sd["time_projection.1.weight"] = r(6 * DIM, DIM)
    sd["time_projection.1.bias"] = r(6 * DIM, scale=0.05)
    for b in range(LAYERS):
        p = "blocks.%d." % b
        sd[p + "modulation"] = r(1, 6, DIM, scale=DIM ** -0.5)
        for att in ("self_attn", "cross_attn"):
            for x in "qkvo":
                sd[p + "%s.%s.weight" % (att, x)] = r(DIM, DIM)
                sd[p + "%s.%s.bias" % (att, x)] = r(DIM, scale=0.05)
            sd[p + att + ".norm_q.weight"] = norm(DIM)
            sd[p + att + ".norm_k.weight"] = norm(DIM)
            if att == "self_attn":
                sd[p + "self_attn.attn_op.local_attn.proj_l.weight"] = torch.randn(HD, HD, generator=gen) * 0.1
                sd[p + "self_attn.attn_op.local_attn.proj_l.bias"] = torch.randn(HD, generator=gen) * 0.02
        sd[p + "norm3.weight"] = norm(DIM)
        sd[p + "norm3.bias"] = (0.05 * torch.randn(DIM, generator=gen)).to(torch.bfloat16).float()
        sd[p + "ffn.0.weight"] = r(FFN, DIM)
        sd[p + "ffn.0.bias"] = r(FFN, scale=0.05)
        sd[p + "ffn.2.weight"] = r(DIM, FFN)
        sd[p + "ffn.2.bias"] = r(DIM, scale=0.05)
    sd["head.modulation"] = r(1, 2, DIM, scale=DIM ** -0.5)
    sd["head.head.weight"] = r(OUT * 4, DIM)
    sd["head.head.bias"] = r(OUT * 4, scale=0.05)
    return sd


def quantize(sd):
    """The -quant layout: block linears (not proj_l) -> int8_weight + per-128x128-block scale."""
    q = {}
    for k, v in sd.items():
        lin = k.startswith("blocks.") and k.endswith(".weight") and v.dim() == 2 and "proj_l" not in k
        if not lin:
            q[k] = v
            continue
        base = k[: -len("weight")]
        w = v.float()
        n, kk = w.shape
        rb, cb = (n + 127) // 128, (kk + 127) // 128
        scale = torch.empty(rb, cb, dtype=torch.float32)
        w8 = torch.empty(n, kk, dtype=torch.int8)
        for i in range(rb):
            for j in range(cb):
                blk = w[i * 128:(i + 1) * 128, j * 128:(j + 1) * 128]
                amax = max(float(blk.abs().max()), 1e-8)
                scale[i, j] = amax / 128.0
                w8[i * 128:(i + 1) * 128, j * 128:(j + 1) * 128] = \
                    torch.round(blk * (128.0 / amax)).clamp(-128, 127).to(torch.int8)
        q[base + "int8_weight"] = w8
        q[base + "scale"] = scale
    return q


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data"
    gen = torch.Generator().manual_seed(15)
    sd = build(gen)
    d = os.path.join(out, "turbowan_tiny")
    os.makedirs(d, exist_ok=True)
    torch.save(sd, os.path.join(d, "turbowan_tiny.pth"))
    torch.save(quantize(sd), os.path.join(d, "turbowan_tiny-quant.pth"))

    ref = {}
    for k, v in sd.items():
        if k == "patch_embedding.weight":
            v = v.reshape(DIM, IN, 1, 2, 2)  # Wan's Conv3d weight: the Linear's (c kt kh kw) order
        ref[k] = v.contiguous()
    rd = os.path.join(out, "turbowan_tiny_ref")
    os.makedirs(rd, exist_ok=True)
    save_file(ref, os.path.join(rd, "diffusion_pytorch_model.safetensors"))
    cfg = {"_class_name": "WanModel", "model_type": "t2v", "dim": DIM, "ffn_dim": FFN, "num_heads": HEADS,
           "num_layers": LAYERS, "text_dim": TEXT, "freq_dim": FREQ, "in_dim": IN, "out_dim": OUT,
           "patch_size": [1, 2, 2], "eps": 1e-6, "qk_norm": True, "cross_attn_norm": True, "text_len": 512,
           "window_size": [-1, -1]}
    with open(os.path.join(rd, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    for p in (os.path.join(d, "turbowan_tiny.pth"), os.path.join(d, "turbowan_tiny-quant.pth"),
              os.path.join(rd, "diffusion_pytorch_model.safetensors")):
        print("wrote %s (%d bytes)" % (p, os.path.getsize(p)))


if __name__ == "__main__":
    main()
