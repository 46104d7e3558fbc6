#!/usr/bin/env python3
"""Golden files for the Wan DiT: diffusers' WanTransformer3DModel with small
random configs, saved in both checkpoint layouts, plus inputs and the fp32 output.

Usage:  python3 tools/gen_wan_goldens.py [OUT_DIR=tests/data]
Needs torch, diffusers and safetensors (CPU is enough).  Deterministic for the
fixed seeds below.  The C test (tests/test_wan_golden.c) runs the C forward on
both layouts and compares with the stored output (relative L2 <= 1e-4).

Configs:
  wan_small   dim 128 = 1 head x 128 (the real 22/21/21 RoPE split), 2 layers,
              latent 16x3x8x12 (F, H, W all different), BF16 weights; diffusers
              layout sharded in two files with an index.json
  wan_tiny32  dim 64 = 2 heads x 32 (split 6/5/5), 2 layers, latent 16x2x6x10,
              F16 weights in the original layout, F32 in the diffusers layout
Weights are rounded to the stored dtype before the fp32 forward, so both files
hold exactly the weights the reference used.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from diffusers import WanTransformer3DModel

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")

# diffusers name -> original name (scripts/convert_wan_to_diffusers.py, reversed)
def to_original(name):
    rules = [
        ("condition_embedder.text_embedder.linear_1.", "text_embedding.0."),
        ("condition_embedder.text_embedder.linear_2.", "text_embedding.2."),
        ("condition_embedder.time_embedder.linear_1.", "time_embedding.0."),
        ("condition_embedder.time_embedder.linear_2.", "time_embedding.2."),
        ("condition_embedder.time_proj.", "time_projection.1."),
        ("proj_out.", "head.head."),
        (".attn1.to_out.0.", ".self_attn.o."),
        (".attn2.to_out.0.", ".cross_attn.o."),
        (".attn1.to_", ".self_attn."),
        (".attn2.to_", ".cross_attn."),
        (".attn1.norm_", ".self_attn.norm_"),
        (".attn2.norm_", ".cross_attn.norm_"),
        (".ffn.net.0.proj.", ".ffn.0."),
        (".ffn.net.2.", ".ffn.2."),
        (".norm2.", ".norm3."),
        (".scale_shift_table", ".modulation"),
    ]
    if name == "scale_shift_table":
        return "head.modulation"
    for a, b in rules:
        name = name.replace(a, b)
    return name


def randomize(model, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                v = torch.randn(p.shape, generator=g) * 0.1
            elif "norm" in name:
                v = 1.0 + torch.randn(p.shape, generator=g) * 0.2
            elif "scale_shift_table" in name:
                v = torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5
            else:
                fan_in = p[0].numel()
                v = torch.randn(p.shape, generator=g) / fan_in ** 0.5
            p.copy_(v.to(dtype).to(torch.float32))


def save_layouts(model, cfg, name, orig_dtype, diff_dtype, shards):
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    # diffusers layout
    d = os.path.join(OUT, name + "_diffusers")
    os.makedirs(d, exist_ok=True)
    conf = dict(model.config)
    conf = {k: (list(v) if isinstance(v, tuple) else v) for k, v in conf.items() if not k.startswith("_") or k == "_class_name"}
    conf["_class_name"] = "WanTransformer3DModel"
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
    keys = sorted(sd)
    if shards == 1:
        save_file({k: sd[k].to(diff_dtype) for k in keys}, os.path.join(d, "diffusion_pytorch_model.safetensors"))
    else:
        wm = {}
        per = (len(keys) + shards - 1) // shards
        for s in range(shards):
            fn = "diffusion_pytorch_model-%05d-of-%05d.safetensors" % (s + 1, shards)
            part = keys[s * per:(s + 1) * per]
            save_file({k: sd[k].to(diff_dtype) for k in part}, os.path.join(d, fn))
            wm.update({k: fn for k in part})
        with open(os.path.join(d, "diffusion_pytorch_model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": wm}, f, indent=1, sort_keys=True)
    # original layout
    o = os.path.join(OUT, name + "_original")
    os.makedirs(o, exist_ok=True)
    osd = {to_original(k): v.to(orig_dtype) for k, v in sd.items()}
    save_file(osd, os.path.join(o, "diffusion_pytorch_model.safetensors"))
    oconf = {
        "_class_name": "WanModel", "model_type": "t2v", "dim": cfg["num_attention_heads"] * cfg["attention_head_dim"],
        "num_heads": cfg["num_attention_heads"], "num_layers": cfg["num_layers"], "ffn_dim": cfg["ffn_dim"],
        "freq_dim": 256, "in_dim": 16, "out_dim": 16, "text_dim": cfg["text_dim"], "text_len": 512,
        "patch_size": [1, 2, 2], "window_size": [-1, -1], "qk_norm": True, "cross_attn_norm": True, "eps": 1e-6,
    }
    with open(os.path.join(o, "config.json"), "w") as f:
        json.dump(oconf, f, indent=2, sort_keys=True)


def make(name, cfg, latent, ctx_len, t, seed, orig_dtype, diff_dtype, shards):
    torch.manual_seed(seed)
    model = WanTransformer3DModel(patch_size=(1, 2, 2), in_channels=16, out_channels=16, freq_dim=256,
                                  cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6, **cfg).float().eval()
    store = orig_dtype if orig_dtype != torch.float32 else diff_dtype
    randomize(model, seed, store)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn((1, 16) + latent, generator=g)
    ctx = torch.zeros(1, 512, cfg["text_dim"])
    ctx[:, :ctx_len] = torch.randn(1, ctx_len, cfg["text_dim"], generator=g)
    ts = torch.tensor([float(t)])
    with torch.no_grad():
        out = model(hidden_states=x, timestep=ts, encoder_hidden_states=ctx, return_dict=False)[0]
    save_layouts(model, cfg, name, orig_dtype, diff_dtype, shards)
    save_file({"latent": x[0].contiguous(), "context": ctx[0, :ctx_len].contiguous(),
               "timestep": ts.to(torch.float64), "velocity": out[0].contiguous()},
              os.path.join(OUT, name + "_io.safetensors"))
    print("%s: tokens %d, |out| %.4f" % (name, latent[0] * latent[1] * latent[2] // 4, out.norm().item()))


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    os.makedirs(OUT, exist_ok=True)
    make("wan_small", dict(num_attention_heads=1, attention_head_dim=128, text_dim=32, ffn_dim=256, num_layers=2),
         latent=(3, 8, 12), ctx_len=37, t=617, seed=1234, orig_dtype=torch.bfloat16, diff_dtype=torch.bfloat16, shards=2)
    make("wan_tiny32", dict(num_attention_heads=2, attention_head_dim=32, text_dim=24, ffn_dim=96, num_layers=2),
         latent=(2, 6, 10), ctx_len=11, t=999, seed=99, orig_dtype=torch.float16, diff_dtype=torch.float32, shards=1)
