"""preview.py - what a training call shows the lead without a second GPU call: a contact sheet
OUT/preview.ppm (first, middle and last frame per row) holding, in order,
  vae  4 held-out clips and their reconstructions (alternating rows)
  dit  the default prompt + 3 held-out captions, sampled (Euler, CFG, the shipped shift)
  sla  the same captions and noise through the SLA transformer
The captions of every row are written to train.log.  The sampler here is plain flow
Euler (x += (s_next - s) v, v = v_u + g (v_c - v_u)), enough to see whether training works;
the shipped sampler is UniPC.  Checked by the dry run (the file is written and stays
within the transfer limits).
"""
import os

import torch

import data
import models


def frames_row(video):
    """[n, 3, T, H, W] in [-1, 1] -> list of uint8 [H, 3W, 3] rows (frames 0, T/2, T-1)."""
    u8 = data.to_uint8(video.float().cpu())
    T = u8.shape[1]
    return [torch.cat([u8[i, 0], u8[i, T // 2], u8[i, T - 1]], 1) for i in range(u8.shape[0])]


def add_rows(run, stage, rows, captions):
    run.preview.extend(rows)
    data.write_ppm(os.path.join(run.out, "preview.ppm"), torch.cat(run.preview, 0))
    run.log(stage, "preview.ppm rows %d-%d: %s" % (len(run.preview) - len(rows) + 1, len(run.preview),
                                                   " | ".join(captions)))


def preview_captions(cfg):
    return [data.DEFAULT_PROMPT] + data.captions(data.eval_specs(cfg))[:3]


@torch.no_grad()
def flow_sample(run, te, tok, dit, vae, captions, steps, guidance, shift, seed=0):
    """Videos [n, 3, T, H, W] in [-1, 1] for the captions (negative prompt "")."""
    from stage_dit import text_context
    dev = run.device
    n = len(captions)
    g = torch.Generator(device=dev).manual_seed(seed)
    from config import latent_shape
    x = torch.randn((n,) + latent_shape(run.cfg), generator=g, device=dev)
    with run.autocast():
        ctx = text_context(run, te, tok, list(captions) + [""] * n)
    lin = torch.linspace(1.0, 0.0, steps + 1, device=dev)
    sig = shift * lin / (1 + (shift - 1) * lin)
    was = dit.training
    dit.eval()
    for i in range(steps):
        t = torch.full((2 * n,), float(sig[i]) * 1000.0, device=dev)
        with run.autocast():
            v = dit(hidden_states=torch.cat([x, x]), timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
        v = v.float()
        v = v[n:] + guidance * (v[:n] - v[n:])
        x = x + (sig[i + 1] - sig[i]) * v
    dit.train(was)
    mean, std = models.latent_stats(vae, dev)
    with run.autocast():
        return vae.decode(x * std + mean).sample.float()
