#!/usr/bin/env python3
"""vae_ceiling.py - the caption adherence a VAE allows: real clips are encoded (posterior
mean) and decoded by the VAE, then scored by the C checker.  A DiT that produced perfect
latents could not score higher, so this separates the VAE's share of an adherence gap from
the DiT's.

  python3 tools/tiny/vae_ceiling.py CKPT_DIR OUT_DIR [--n 24] [--split heldout|train]
  build/tools/adherence_run OUT_DIR          # (run by this script when it exists)

CKPT_DIR holds vae.safetensors from train.py.  Also prints the PSNR of the reconstructions and
writes OUT_DIR/contact.ppm (input and reconstruction, first / middle / last frame).
"""
import argparse
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ckpt  # noqa: E402
import config  # noqa: E402
import data  # noqa: E402
import dump_clips  # noqa: E402
import models  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ckpt")
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--split", default="heldout", choices=["heldout", "train"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="full")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--adherence", default=os.path.join(REPO, "build", "tools", "adherence_run"))
    a = ap.parse_args()
    cfg = config.get(a.preset)
    tensors, meta = ckpt.load(a.ckpt, "vae")
    vae = models.build_vae(cfg, meta["latents_mean"], meta["latents_std"])
    ckpt.load_into(vae, {k: v for k, v in tensors.items() if not k.startswith("aux.")})
    vae.to(a.device).eval()
    if a.split == "heldout":
        spec = data.eval_specs(cfg)
        spec = {k: v[:a.n] for k, v in spec.items()}
    else:
        spec = data.sample_specs(a.n, cfg, torch.Generator().manual_seed(a.seed))
    caps = data.captions(spec)
    os.makedirs(a.out, exist_ok=True)
    rows, mse = [], 0.0
    for i in range(0, len(caps), 4):
        part = {k: v[i:i + 4] for k, v in spec.items()}
        x = data.render(part, cfg, device=a.device)
        rec = vae.decode(models.vae_encode_mu(vae, x)).sample.float().clamp(-1, 1)
        mse += ((rec - x) ** 2).mean().item() / 4.0 * x.shape[0]
        u8 = data.to_uint8(rec.cpu())
        for j in range(u8.shape[0]):
            dump_clips.write_tclip(os.path.join(a.out, "rec_%04d.tclip" % (i + j)), u8[j].numpy(), caps[i + j])
        if len(rows) < 8:
            import preview
            for r_in, r_out in zip(preview.frames_row(x[:2]), preview.frames_row(rec[:2])):
                rows += [r_in, r_out]
        print("%d/%d" % (min(i + 4, len(caps)), len(caps)), flush=True)
    psnr = 10 * torch.log10(torch.tensor(len(caps) / max(mse, 1e-12))).item()
    data.write_ppm(os.path.join(a.out, "contact.ppm"), torch.cat(rows[:8], 0))
    print("VAE (encoder step %s, decoder step %s): PSNR %.2f dB on %d %s clips" % (
        meta.get("encoder_step", meta.get("step")), meta.get("decoder_step", "-"), psnr, len(caps), a.split))
    if os.path.exists(a.adherence):
        r = subprocess.run([a.adherence, a.out, "--quiet"], capture_output=True, text=True)
        print("adherence of the reconstructions (the VAE's ceiling): %s" % r.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
