#!/usr/bin/env python3
"""sample.py - generate videos with the exported tiny model through diffusers' WanPipeline and
write them as .tclip files (caption = prompt) for the C adherence checker.

  python3 tools/tiny/sample.py MODEL_DIR OUT_DIR [--split heldout|train] [--n 20] [--sla]
                               [--steps S] [--device cpu|cuda] [--seed 0] [--batch B] [--guidance G]
                               [--bf16]
  build/tools/adherence_run OUT_DIR          # caption adherence of the generated videos

--split heldout uses the held-out captions (compositions never seen in training),
train draws training captions (data.py, --seed).  --sla swaps in transformer_sla/ (SLA
self-attention at the exported topk).  Sampling settings come from MODEL_DIR/spadit.json
(steps, guidance, negative prompt "") and the scheduler config (UniPC, flow shift).
Also writes OUT_DIR/contact.ppm (first / middle / last frame of the first 8 videos).
Generated frames are noisy, so .tclip files are large (~4 MB each at 33x192x192).
Checked by the dry run (tools/tiny/dry_run.sh) on the toy export.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import config  # noqa: E402
import data  # noqa: E402
import dump_clips  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--split", default="heldout", choices=["heldout", "train"])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--sla", action="store_true")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="full")
    ap.add_argument("--batch", type=int, default=1, help="prompts per pipeline call (same noise per video)")
    ap.add_argument("--guidance", type=float, default=None, help="override spadit.json's guidance")
    ap.add_argument("--bf16", action="store_true", help="run the pipeline in bf16 (GPU)")
    a = ap.parse_args()
    from diffusers import WanPipeline

    import export
    with open(os.path.join(a.model, "spadit.json")) as f:
        sj = json.load(f)
    dtype = torch.bfloat16 if a.bf16 else torch.float32
    pipe = WanPipeline.from_pretrained(a.model, torch_dtype=dtype)
    pipe.vae.to(torch.float32)
    if a.sla:
        pipe.transformer = export.load_sla_transformer(os.path.join(a.model, "transformer_sla"), dtype)
    pipe.to(a.device)
    pipe.set_progress_bar_config(disable=True)
    cfg = config.get(a.preset)
    if a.split == "heldout":
        caps = data.captions(data.eval_specs(cfg))[:a.n]
    else:
        caps = data.captions(data.sample_specs(a.n, cfg, torch.Generator().manual_seed(a.seed)))
    os.makedirs(a.out, exist_ok=True)
    thumbs = []
    t0 = time.time()
    guidance = sj["guidance"] if a.guidance is None else a.guidance
    for i0 in range(0, len(caps), a.batch):
        part = caps[i0:i0 + a.batch]
        gens = [torch.Generator(device="cpu").manual_seed(a.seed * 1000 + i) for i in range(i0, i0 + len(part))]
        vids = pipe(prompt=part, negative_prompt=[sj["negative_prompt"]] * len(part), height=sj["height"],
                    width=sj["width"], num_frames=sj["frames"], num_inference_steps=a.steps or sj["steps"],
                    guidance_scale=guidance, generator=gens, output_type="np").frames
        for j, cap in enumerate(part):
            i = i0 + j
            u8 = (np.clip(np.asarray(vids[j], dtype=np.float32), 0, 1) * 255).round().astype(np.uint8)
            dump_clips.write_tclip(os.path.join(a.out, "gen_%04d.tclip" % i), u8, cap)
            if len(thumbs) < 8:
                T = u8.shape[0]
                thumbs.append(np.concatenate([u8[0], u8[T // 2], u8[T - 1]], 1))
            print("%3d/%d %.0fs  %s" % (i + 1, len(caps), time.time() - t0, cap), flush=True)
    data.write_ppm(os.path.join(a.out, "contact.ppm"), torch.from_numpy(np.concatenate(thumbs, 0)))
    print("wrote %d videos to %s (%s transformer); score them with: build/tools/adherence_run %s" % (
        len(caps), a.out, "SLA" if a.sla else "dense", a.out))


if __name__ == "__main__":
    main()
