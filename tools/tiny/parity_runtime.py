#!/usr/bin/env python3
"""parity_runtime.py - is a gap in caption adherence the model's or spadit's?  Generates the same
captions from the same initial noise with diffusers' WanPipeline (the reference) and with
`spadit generate --noise`, then compares the two videos frame by frame and scores both with the
C adherence checker.

  python3 tools/tiny/parity_runtime.py MODEL_DIR OUT_DIR [--spadit build/cli/spadit]
          [--adherence build/tools/adherence_run] [--split heldout|train] [--n 8] [--seed 0]
          [--backend cpu] [--sla]

OUT_DIR/diffusers/*.tclip and OUT_DIR/spadit/*.tclip hold the videos (caption = prompt); the
noise of caption i is torch.randn with a CPU generator seeded seed*1000 + i, the same noise as
tools/tiny/sample.py draws, so the diffusers half equals sample.py's output.  Prints per-clip
PSNR between the two runtimes (8-bit frames) and both adherence summaries.  Exit status 1 when
the runtimes disagree by more than --min-psnr dB on any clip.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import config  # noqa: E402
import data  # noqa: E402
import dump_clips  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def read_png_frames(prefix):
    from PIL import Image
    files = sorted(glob.glob(glob.escape(prefix) + "_[0-9][0-9][0-9][0-9][0-9].png"))
    if not files:
        raise SystemExit("no frames %s_NNNNN.png written" % prefix)
    return np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--spadit", default=os.path.join(REPO, "build", "cli", "spadit"))
    ap.add_argument("--adherence", default=os.path.join(REPO, "build", "tools", "adherence_run"))
    ap.add_argument("--split", default="heldout", choices=["heldout", "train"])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--sla", action="store_true", help="the SLA fine-tune (transformer_sla) with its preset")
    ap.add_argument("--min-psnr", type=float, default=30.0)
    a = ap.parse_args()
    from diffusers import WanPipeline
    from safetensors.torch import save_file

    with open(os.path.join(a.model, "spadit.json")) as f:
        sj = json.load(f)
    pipe = WanPipeline.from_pretrained(a.model, torch_dtype=torch.float32)
    if a.sla:
        import export
        pipe.transformer = export.load_sla_transformer(os.path.join(a.model, "transformer_sla"))
    pipe.set_progress_bar_config(disable=True)
    cfg = config.get("full")
    cfg.update(frames=sj["frames"], height=sj["height"], width=sj["width"])
    if a.split == "heldout":
        caps = data.captions(data.eval_specs(cfg))[:a.n]
    else:
        caps = data.captions(data.sample_specs(a.n, cfg, torch.Generator().manual_seed(a.seed)))
    shape = (1,) + config.latent_shape(cfg)
    dd, sd = os.path.join(a.out, "diffusers"), os.path.join(a.out, "spadit")
    os.makedirs(dd, exist_ok=True)
    os.makedirs(sd, exist_ok=True)
    worst = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for i, cap in enumerate(caps):
            noise = torch.randn(shape, generator=torch.Generator().manual_seed(a.seed * 1000 + i))
            npath = os.path.join(tmp, "noise.safetensors")
            save_file({"latent": noise[0].contiguous()}, npath)
            ref = pipe(prompt=cap, negative_prompt=sj["negative_prompt"], height=sj["height"], width=sj["width"],
                       num_frames=sj["frames"], num_inference_steps=sj["steps"], guidance_scale=sj["guidance"],
                       latents=noise, output_type="np").frames[0]
            ref = (np.clip(ref, 0, 1) * 255).round().astype(np.uint8)
            prefix = os.path.join(tmp, "f%04d" % i)
            cmd = [a.spadit, "generate", cap, "--model", a.model, "--noise", npath, "--out", prefix + ".png",
                   "--quiet", "--no-cache", "--backend", a.backend]
            if a.sla:
                cmd += ["--attention", sj["attention"]["sla"].get("preset", "sla-10")]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            got = read_png_frames(prefix)
            p = psnr(ref, got)
            worst = min(worst, p)
            dump_clips.write_tclip(os.path.join(dd, "gen_%04d.tclip" % i), ref, cap)
            dump_clips.write_tclip(os.path.join(sd, "gen_%04d.tclip" % i), got, cap)
            print("%2d  PSNR spadit vs diffusers %6.2f dB  %s" % (i, p, cap), flush=True)
    print("worst PSNR spadit vs diffusers over %d clips: %.2f dB" % (len(caps), worst))
    if os.path.exists(a.adherence):
        for name, d in (("diffusers", dd), ("spadit", sd)):
            r = subprocess.run([a.adherence, d, "--quiet"], capture_output=True, text=True)
            print("adherence (%s): %s" % (name, r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr))
    sys.exit(0 if worst >= a.min_psnr else 1)


if __name__ == "__main__":
    main()
