#!/usr/bin/env python3
"""Full-size accuracy check of the CUDA backend: Wan2.1-1.3B config, random weights
(rounded to bf16 and saved in the diffusers layout), one 480p forward
(latent 16x21x60x104 = 32,760 tokens) in diffusers fp32 (TF32 off) against
`spadit forward --backend cuda` on the same files.  Bar: relative L2 <= 2e-2.

usage: wan_gpu_check.py SPADIT_BINARY [WORKDIR=/tmp/wan13] [--latent 21x60x104]
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from diffusers import WanTransformer3DModel


def main():
    spadit = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else "/tmp/wan13"
    latent = "21x60x104"
    if "--latent" in sys.argv:
        latent = sys.argv[sys.argv.index("--latent") + 1]
    F, H, W = map(int, latent.split("x"))
    os.makedirs(work, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = WanTransformer3DModel(num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
                                      text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                                      qk_norm="rms_norm_across_heads", eps=1e-6).float().eval()
    g = torch.Generator(device="cuda").manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g, device="cuda"))
            elif name.endswith("bias"):
                p.copy_(0.02 * torch.randn(p.shape, generator=g, device="cuda"))
            p.copy_(p.bfloat16().float())
    sd = {k: v.detach().bfloat16().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(work, "diffusion_pytorch_model.safetensors"))
    conf = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(model.config).items() if not k.startswith("_")}
    conf["_class_name"] = "WanTransformer3DModel"
    json.dump(conf, open(os.path.join(work, "config.json"), "w"))
    x = torch.randn(1, 16, F, H, W, generator=g, device="cuda")
    L = 97
    ctx = torch.zeros(1, 512, 4096, device="cuda")
    ctx[:, :L] = torch.randn(1, L, 4096, generator=g, device="cuda")
    t = torch.tensor([777.0], device="cuda")
    with torch.no_grad():
        ref = model(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
    save_file({"latent": x[0].cpu().contiguous(), "context": ctx[0, :L].cpu().contiguous(),
               "timestep": t.double().cpu()}, os.path.join(work, "io.safetensors"))
    del model
    torch.cuda.empty_cache()
    out_path = os.path.join(work, "spadit_out.bin")
    r = subprocess.run([spadit, "forward", work, "--backend", "cuda", "--input", os.path.join(work, "io.safetensors"),
                        "--output", out_path], capture_output=True, text=True)
    print(r.stdout.strip())
    if r.returncode != 0:
        print(r.stderr)
        sys.exit(1)
    out = np.fromfile(out_path, dtype=np.float32)
    refn = ref[0].cpu().numpy().ravel().astype(np.float64)
    rel = np.linalg.norm(out - refn) / np.linalg.norm(refn)
    print("wan2.1-1.3B %s: spadit CUDA (bf16) vs diffusers fp32: relative L2 %.3e (bar 2e-2) -> %s"
          % (latent, rel, "PASS" if rel <= 2e-2 else "FAIL"))
    sys.exit(0 if rel <= 2e-2 else 1)


if __name__ == "__main__":
    main()
