#!/usr/bin/env python3
"""The diffusers baseline for bench_dit: WanTransformer3DModel in bf16 (fp32 for the
modules diffusers keeps in fp32) with PyTorch SDPA forced to the cuDNN backend; one
forward = one CFG branch, random weights, same latent/context shapes as bench_dit.

usage: bench_diffusers_wan.py --config 1.3B|14B --latent FxHxW [--warmup 1] [--repeat 3]
Prints a table line and a JSON line (time per forward, peak memory).
"""
import argparse
import json

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from diffusers import WanTransformer3DModel

CONFIGS = {"1.3B": dict(num_attention_heads=12, ffn_dim=8960, num_layers=30),
           "14B": dict(num_attention_heads=40, ffn_dim=13824, num_layers=40)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="1.3B")
    ap.add_argument("--latent", default="21x60x104")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ctx-len", type=int, default=120)
    a = ap.parse_args()
    F, H, W = map(int, a.latent.split("x"))
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = WanTransformer3DModel(attention_head_dim=128, in_channels=16, out_channels=16, text_dim=4096,
                                      freq_dim=256, cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6,
                                      **CONFIGS[a.config])
    torch.set_default_dtype(torch.float32)
    # what from_pretrained(torch_dtype=bfloat16) does: keep these modules in fp32
    for name, mod in model.named_modules():
        if any(k in name.split(".") for k in model._keep_in_fp32_modules):
            mod.float()
    model.scale_shift_table.data = model.scale_shift_table.data.float()
    for b in model.blocks:
        b.scale_shift_table.data = b.scale_shift_table.data.float()
    model.eval()
    x = torch.randn(1, 16, F, H, W, device="cuda", dtype=torch.bfloat16)
    ctx = torch.zeros(1, 512, 4096, device="cuda", dtype=torch.bfloat16)
    ctx[:, :a.ctx_len] = torch.randn(1, a.ctx_len, 4096, device="cuda", dtype=torch.bfloat16)
    t = torch.tensor([999], device="cuda")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    times = []
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    with torch.no_grad(), sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        for r in range(a.warmup + a.repeat):
            e0.record()
            model(hidden_states=x, timestep=t, encoder_hidden_states=ctx, return_dict=False)
            e1.record()
            torch.cuda.synchronize()
            if r >= a.warmup:
                times.append(e0.elapsed_time(e1))
    free, total = torch.cuda.mem_get_info()
    peak_alloc = torch.cuda.max_memory_allocated() / 1e9
    mean = sum(times) / len(times)
    tokens = F * (H // 2) * (W // 2)
    print("diffusers %s %s (%d tokens): forward %.1f ms (best %.1f), peak allocated %.2f GB, device in use %.2f GB"
          % (a.config, a.latent, tokens, mean, min(times), peak_alloc, (total - free) / 1e9))
    print("JSON " + json.dumps(dict(impl="diffusers", config=a.config, tokens=tokens, ms=mean, best_ms=min(times),
                                    peak_gb=peak_alloc, device_gb=(total - free) / 1e9)))


if __name__ == "__main__":
    main()
