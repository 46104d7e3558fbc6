#!/usr/bin/env python3
"""End-to-end golden for `spadit generate`: a tiny random Wan text-to-video pipeline
in the diffusers layout (tokenizer from tests/data/tok_sp4k.json, UMT5 encoder,
WanTransformer3DModel, AutoencoderKLWan), run by diffusers' own WanPipeline with
FlowMatchEulerDiscreteScheduler on stored initial latents, fp32 on the CPU.

tests/test_generate.c runs spadit's pipeline (same folder, same latents, sampler
"euler" on diffusers' schedule) and compares the decoded frames.

usage: python3 tools/gen_pipeline_golden.py [OUT=tests/data]
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, WanPipeline, WanTransformer3DModel
from transformers import T5TokenizerFast, UMT5Config, UMT5EncoderModel

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")
D = os.path.join(OUT, "pipe_tiny")
W, H, F, STEPS, SHIFT, GUIDE = 64, 48, 5, 4, 3.0, 4.0
PROMPT, NEG = "a red circle moves to the right", "blurry"


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                v = torch.randn(p.shape, generator=g) * 0.05
            elif "norm" in name or name.endswith("gamma"):
                v = 1.0 + torch.randn(p.shape, generator=g) * 0.1
            elif "scale_shift_table" in name:
                v = torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5
            else:
                v = torch.randn(p.shape, generator=g) / max(1, p[0].numel()) ** 0.5
            p.copy_(v.bfloat16().float())


def main():
    torch.manual_seed(0)
    os.makedirs(D, exist_ok=True)
    tok = T5TokenizerFast(tokenizer_file=os.path.join(OUT, "tok_sp4k.json"))
    enc = UMT5EncoderModel(UMT5Config(vocab_size=len(tok), d_model=32, d_kv=8, num_heads=4, d_ff=48, num_layers=2,
                                      relative_attention_num_buckets=32, relative_attention_max_distance=128,
                                      feed_forward_proj="gated-gelu", dense_act_fn="gelu_new")).eval()
    randomize(enc, 1)
    dit = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=32, in_channels=16,
                                out_channels=16, text_dim=32, freq_dim=256, ffn_dim=96, num_layers=2,
                                cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6).eval()
    randomize(dit, 2)
    vae = AutoencoderKLWan(base_dim=8, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1,
                           temperal_downsample=[False, True, True]).eval()
    randomize(vae, 3)
    sched = FlowMatchEulerDiscreteScheduler(shift=SHIFT)
    pipe = WanPipeline(tokenizer=tok, text_encoder=enc, transformer=dit, vae=vae, scheduler=sched)
    pipe.save_pretrained(D, safe_serialization=True)
    # store the weights in bf16 (exactly what the reference used) to keep the folder small
    for sub in ("text_encoder", "transformer", "vae"):
        for fn in os.listdir(os.path.join(D, sub)):
            if fn.endswith(".safetensors"):
                from safetensors.torch import load_file
                p = os.path.join(D, sub, fn)
                sd = load_file(p)
                save_file({k: v.bfloat16() for k, v in sd.items()}, p)
    g = torch.Generator().manual_seed(4)
    lat = torch.randn(1, 16, (F - 1) // 4 + 1, H // 8, W // 8, generator=g)
    with torch.no_grad():
        video = pipe(prompt=PROMPT, negative_prompt=NEG, height=H, width=W, num_frames=F, num_inference_steps=STEPS,
                     guidance_scale=GUIDE, latents=lat, output_type="np").frames[0]  # [F, H, W, 3] in [0, 1]
    json.dump({"width": W, "height": H, "frames": F, "fps": 16, "steps": STEPS, "shift": SHIFT, "guidance": GUIDE,
               "sampler": "euler", "negative_prompt": NEG}, open(os.path.join(D, "spadit.json"), "w"), indent=1)
    save_file({"latent": lat[0].contiguous(), "video": torch.from_numpy(np.ascontiguousarray(video)).float()},
              os.path.join(OUT, "pipe_tiny_io.safetensors"))
    print("video", video.shape, float(video.mean()), float(video.std()))


if __name__ == "__main__":
    main()
