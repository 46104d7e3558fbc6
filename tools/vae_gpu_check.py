#!/usr/bin/env python3
"""Compare spadit's Wan VAE decoder (tools/vae_run, backend cuda or cpu) with
diffusers' AutoencoderKLWan in fp32 on the same random weights and latent, and
report time and peak memory of both.

Typical runs (from the repository root, after building):
  # the lead, on the GPU machine: full-size Wan2.1 VAE, 720p x 81, tiled
  python3 tools/vae_gpu_check.py --device cuda --backend cuda --latent 21,90,160
  # the same shapes untiled (diffusers needs ~tens of GB here)
  python3 tools/vae_gpu_check.py --device cuda --backend cuda --latent 21,60,104 --no-tiling
  # CPU smoke test of the whole path at a small size (what CI-less machines can run)
  python3 tools/vae_gpu_check.py --device cpu --backend cpu --base-dim 16 --latent 3,8,12 --tol 1e-4

Weights: diffusers' default (Wan2.1) config unless --base-dim etc. change it;
random, with norm gammas around 1 and convolutions scaled by 1/sqrt(fan_in),
saved fp32 in the diffusers layout under --workdir.  The latent is N(0, 1)
(normalised latents); both sides de-normalise it with latents_mean/std as
WanPipeline does.  Exit status 1 when rel L2 > --tol (default 1e-2: the CUDA
backend runs the mid attention with bf16 operands).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import torch
from safetensors.torch import save_file, load_file
from diffusers import AutoencoderKLWan


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                v = torch.randn(p.shape, generator=g) * 0.05
            elif name.endswith("gamma"):
                v = 1.0 + torch.randn(p.shape, generator=g) * 0.1
            else:
                v = torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5
            p.copy_(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="torch device for diffusers (cuda or cpu)")
    ap.add_argument("--backend", default="cuda", help="spadit backend (cuda or cpu)")
    ap.add_argument("--vae-run", default=os.path.join("build", "tools", "vae_run"), help="path of the vae_run program")
    ap.add_argument("--workdir", default=os.path.join("out", "vae_gpu_check"))
    ap.add_argument("--base-dim", type=int, default=96)
    ap.add_argument("--dim-mult", default="1,2,4,4")
    ap.add_argument("--num-res-blocks", type=int, default=2)
    ap.add_argument("--temporal", default="", help="temperal_downsample as 0/1 list (default: 0 then 1s)")
    ap.add_argument("--latent", default="21,90,160", help="T,h,w of the latent (21,90,160 = 81 frames of 720x1280)")
    ap.add_argument("--no-tiling", action="store_true", help="decode whole frames on both sides")
    ap.add_argument("--tile", default="256,256,192,192", help="tile_h,tile_w,stride_h,stride_w in pixels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-2)
    ap.add_argument("--skip-diffusers", action="store_true", help="only time spadit (reuses a saved reference if any)")
    a = ap.parse_args()

    os.makedirs(a.workdir, exist_ok=True)
    vdir = os.path.join(a.workdir, "vae")
    T, h, w = (int(x) for x in a.latent.split(","))
    tile = [int(x) for x in a.tile.split(",")]
    torch.set_grad_enabled(False)

    mult = [int(x) for x in a.dim_mult.split(",")]
    td = [x == "1" for x in a.temporal.split(",")] if a.temporal else [False] + [True] * (len(mult) - 2)
    cfg = dict(base_dim=a.base_dim, z_dim=16, dim_mult=mult, num_res_blocks=a.num_res_blocks, attn_scales=[],
               temperal_downsample=td)
    tr = 2 ** sum(td)
    torch.manual_seed(a.seed)
    model = AutoencoderKLWan(**cfg).float().eval()
    randomize(model, a.seed)
    os.makedirs(vdir, exist_ok=True)
    conf = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(model.config).items() if not k.startswith("_")}
    conf["_class_name"] = "AutoencoderKLWan"
    with open(os.path.join(vdir, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
    sd = {k: v.contiguous() for k, v in model.state_dict().items()
          if k.startswith("decoder.") or k.startswith("post_quant_conv.")}
    save_file(sd, os.path.join(vdir, "diffusion_pytorch_model.safetensors"))
    z = torch.randn(1, 16, T, h, w, generator=torch.Generator().manual_seed(a.seed + 1))
    lat_path = os.path.join(a.workdir, "latent.safetensors")
    save_file({"latent": z[0].contiguous()}, lat_path)
    ref_path = os.path.join(a.workdir, "reference.safetensors")

    ref = None
    if not a.skip_diffusers:
        dev = torch.device(a.device)
        m = model.to(dev)
        if not a.no_tiling:
            m.enable_tiling(tile_sample_min_height=tile[0], tile_sample_min_width=tile[1],
                            tile_sample_stride_height=tile[2], tile_sample_stride_width=tile[3])
        mean = torch.tensor(m.config.latents_mean).view(1, 16, 1, 1, 1)
        inv_std = 1.0 / torch.tensor(m.config.latents_std).view(1, 16, 1, 1, 1)
        zd = (z / inv_std + mean).to(dev)
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        ref = m.decode(zd).sample[0].float()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        dt = time.time() - t0
        peak = torch.cuda.max_memory_allocated() / 2 ** 20 if dev.type == "cuda" else float("nan")
        ref = ref.cpu()
        save_file({"video": ref.contiguous()}, ref_path)
        print("diffusers %s: %s -> %s in %.1f ms, peak allocated %.1f MiB" % (a.device, tuple(z.shape[2:]),
                                                                            tuple(ref.shape), dt * 1e3, peak))
        del m
    elif os.path.exists(ref_path):
        ref = load_file(ref_path)["video"]

    out_path = os.path.join(a.workdir, "spadit.safetensors")
    cmd = [a.vae_run, "--vae", vdir, "--latent", lat_path, "--out", out_path, "--backend", a.backend]
    cmd += ["--no-tiling"] if a.no_tiling else ["--tile", a.tile]
    r = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        print("vae_gpu_check: vae_run failed (exit %d)" % r.returncode)
        return 1
    est = subprocess.run([a.vae_run, "--estimate", "%d,%d,%d" % (1 + tr * (T - 1), 2 ** (len(mult) - 1) * h, 2 ** (len(mult) - 1) * w), "--config",
                          os.path.join(vdir, "config.json")] + (["--no-tiling"] if a.no_tiling else ["--tile", a.tile]),
                         capture_output=True, text=True)
    sys.stdout.write(est.stdout)
    if ref is None:
        return 0
    out = load_file(out_path)["video"]
    if tuple(out.shape) != tuple(ref.shape):
        print("vae_gpu_check: shape %s vs diffusers %s" % (tuple(out.shape), tuple(ref.shape)))
        return 1
    rel = ((out.double() - ref.double()).norm() / ref.double().norm()).item()
    mx = (out - ref).abs().max().item()
    ok = rel <= a.tol
    m = re.search(r"([0-9.]+) ms", r.stdout)
    print("vae_gpu_check: rel L2 %.3e (tol %.0e), max abs %.3e, spadit %s ms -> %s"
          % (rel, a.tol, mx, m.group(1) if m else "?", "OK" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
