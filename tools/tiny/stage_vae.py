"""stage_vae.py - train.py's `vae` stage: AutoencoderKLWan reconstruction training on
generated clips, then bf16 rounding and latent statistics.

Loss per clip batch (x in [-1, 1], z ~ q(z|x), mu its mean, w = 1 + fg_weight on pixels
that differ from the clip's temporal median, i.e. on moving objects, normalised to mean 1):
  w |D(z) - x| + w (D(z) - x)^2 + |grad D(z) - grad x| (spatial finite differences, sharp edges)
  + kl_weight * mean KL(q(z|x) || N(0, I)) + probe_weight * |P mu - pool(x)|
P is an auxiliary 1x1x1 conv (16 -> 3, not shipped) that must read each latent voxel's mean
colour (pool: 8x8 pixels, frames of that latent frame) off mu.  Without it the Wan encoder
collapses to an input-independent latent within ~150 steps from scratch (measured on
64x64 images: all inputs decoded to the same colour; with it L1 0.16 after 250 steps),
because the RMS-normalised decoder cannot use z early on.  It also keeps the latent
colour-aligned, which suits the DiT.
The posterior log-variance starts at logvar_init (-6, i.e. std 0.05: quant_conv's bias on
the log-variance half).  From the default 0 the posterior noise is as large as the signal,
the decoder can only learn a blurry average, and the tiny KL weight takes thousands of steps
to shrink it (measured at toy scale: PSNR 13 dB after 340 steps).
AdamW at `lr` (2e-4: the Wan VAE's RMS-normalised convs train slower and noisier at 1e-3
than at 1e-4, measured on a toy decoder), with head_lr_mult x that for the output conv and
the RMS-norm gains, which alone set the output scale.
Objects cover a few percent of the pixels; without the weight the first thousand steps
reproduce backgrounds only (toy run).
Training clips are `frames` long (9 by default: 3 latent frames, i.e. the first-frame path
and two cached 4-frame chunks; the causal convolutions do not care about length) and
`crop` pixels square (96: random crops of the 192 frames, 4x cheaper per clip than whole
frames, so 4x more steps; the convolutions do not care either, and the mid-block's
per-frame attention sees 12x12 instead of 24x24 latents); statistics and PSNR use full 33-frame clips and the posterior
mean, after the weights are rounded to bf16 (what ships), so the stored latents_mean /
latents_std describe exactly the shipped encoder.

Checked by the dry run (tools/tiny/dry_run.sh) and by export.py --check.
"""
import time

import torch
import torch.nn.functional as F

import ckpt
import data
import models
import preview
from train import lr_at, set_lr

RESERVE_S = 20.0  # final statistics + PSNR + save


def _probe_target(x):
    """x [B, 3, T, H, W] -> [B, 3, T', H/8, W/8]: the mean colour of the pixels behind each
    latent voxel (latent frame 0 = frame 0, latent frame t = frames 4t-3 .. 4t)."""
    first = F.avg_pool3d(x[:, :, :1], (1, 8, 8))
    if x.shape[2] == 1:  # an image (1-frame clip): the first-frame path only
        return first
    rest = F.avg_pool3d(x[:, :, 1:], (4, 8, 8))
    return torch.cat([first, rest], 2)


def _edge_l1(a, b):
    dx = (a[..., :, 1:] - a[..., :, :-1]) - (b[..., :, 1:] - b[..., :, :-1])
    dy = (a[..., 1:, :] - a[..., :-1, :]) - (b[..., 1:, :] - b[..., :-1, :])
    return dx.abs().mean() + dy.abs().mean()


def _clip_batch(run, tc, gh, frames):
    """A training batch of clips [B, 3, T, crop, crop] in [-1, 1]: `frames` long, random crops
    (8-pixel aligned: the conv VAE is translation equivariant) drawn from the host generator."""
    cfg = run.cfg
    x, _, _ = data.make_batch(tc["batch"], cfg, gh, device=run.device, frames=frames)
    c = tc["crop"]
    if c and c < cfg["height"]:
        off = (torch.randint(0, (cfg["height"] - c) // 8 + 1, (x.shape[0], 2), generator=gh) * 8).tolist()
        x = torch.stack([x[i, :, :, oy:oy + c, ox:ox + c] for i, (oy, ox) in enumerate(off)])
    return x


def _object_weight(x, fg_weight):
    """Per-pixel loss weight, mean 1: 1 + fg_weight on pixels away from the clip's temporal median
    (the moving objects; the median is the background).  An image (1 frame) has no temporal median:
    its spatial median colour stands in (objects cover a few percent of the pixels)."""
    if x.shape[2] == 1:
        bg = x.flatten(2).median(dim=2).values[:, :, None, None, None]
    else:
        bg = x.median(dim=2, keepdim=True).values
    fg = ((x - bg).abs().sum(1, keepdim=True) > 0.1).float()
    w = 1.0 + fg_weight * fg
    return w / w.mean()


@torch.no_grad()
def latent_statistics(run, vae, n_clips):
    cfg, dev = run.cfg, run.device
    s1 = torch.zeros(16, dtype=torch.float64, device=dev)
    s2 = torch.zeros(16, dtype=torch.float64, device=dev)
    cnt = 0
    done = 0
    while done < n_clips:
        b = min(16, n_clips - done)
        x, _, _ = data.make_batch(b, cfg, run.gen("vae", done, salt=1, device="cpu"), device=dev)
        with run.autocast():
            mu = models.vae_encode_mu(vae, x).double()
        s1 += mu.sum((0, 2, 3, 4))
        s2 += (mu * mu).sum((0, 2, 3, 4))
        cnt += mu.numel() // 16
        done += b
    mean = s1 / cnt
    std = (s2 / cnt - mean * mean).clamp_min(1e-12).sqrt()
    return [round(float(v), 6) for v in mean], [round(float(v), 6) for v in std]


@torch.no_grad()
def psnr(run, vae, n_clips=8):
    """PSNR (dB, 8-bit scale) of encode(mean) -> decode on held-out 33-frame clips; the first
    4 clips and their reconstructions go to preview.ppm."""
    cfg, dev = run.cfg, run.device
    spec = data.eval_specs(cfg, device=dev)
    spec = {k: v[:n_clips] for k, v in spec.items()}
    x = data.render(spec, cfg)
    with run.autocast():
        rec = torch.cat([vae.decode(models.vae_encode_mu(vae, x[i:i + 4])).sample.float()
                         for i in range(0, n_clips, 4)])
    rows = []
    for a, b in zip(preview.frames_row(x[:4]), preview.frames_row(rec[:4])):
        rows += [a, b]
    preview.add_rows(run, "vae", rows, ["%s (input, reconstruction)" % c for c in data.captions(spec)[:4]])
    mse = ((rec - x) ** 2).mean().item() / 4.0  # [-1, 1] -> [0, 1]
    return 10 * torch.log10(torch.tensor(1.0 / max(mse, 1e-12))).item()


def train_vae(run, minutes):
    cfg, dev = run.cfg, run.device
    tc = cfg["train"]["vae"]
    t0 = time.time()
    torch.manual_seed(run.args.seed)
    vae = models.build_vae(cfg).to(dev)
    meta = {"step": 0, "minutes": 0.0}
    probe = torch.nn.Conv3d(cfg["vae"]["z_dim"], 3, 1).to(dev)  # auxiliary, not shipped
    src = run.find("vae")
    if src:
        tensors, meta = ckpt.load(src, "vae")
        ckpt.load_into(vae, {k: v for k, v in tensors.items() if not k.startswith("aux.")})
        if "aux.probe.weight" in tensors:
            ckpt.load_into(probe, ckpt.unprefix(tensors, "aux.probe."))
        run.log("vae", "resumed from %s: step %d, %.2f min trained" % (src, meta["step"], meta["minutes"]))
    else:  # start with a narrow posterior (std e^-3): see the module docstring
        with torch.no_grad():
            vae.quant_conv.bias[cfg["vae"]["z_dim"]:] = tc["logvar_init"]
    run.log("vae", "AutoencoderKLWan %s: %.2fM params (decoder %.2fM)" % (
        cfg["vae"], models.count_params(vae) / 1e6, models.count_params(vae.decoder) / 1e6))
    vae.train()
    # the output conv and the RMS-norm gains set the output scale (every other weight feeds a
    # scale-free RMS norm); they get head_lr_mult x the learning rate
    head = [p for n, p in vae.named_parameters() if n.startswith("decoder.conv_out") or n.endswith("gamma")]
    head_ids = {id(p) for p in head}
    rest = [p for p in vae.parameters() if id(p) not in head_ids] + list(probe.parameters())
    opt = torch.optim.AdamW([{"params": rest, "mult": 1.0}, {"params": head, "mult": tc["head_lr_mult"]}],
                            lr=tc["lr"], betas=(0.9, 0.99), weight_decay=0.0)
    step0, minutes0 = meta["step"], meta["minutes"]
    lr0 = 0.0 if tc.get("restart") else meta.get("lr_minutes", minutes0)  # LR schedule position
    step, n, acc, cnt = step0, 0, {}, 0
    t_log = time.time()
    budget = minutes * 60 - RESERVE_S
    while time.time() - t0 < budget or n == 0:
        gh, g = run.gens("vae", step)
        with torch.no_grad():
            long_clip = tc.get("long_every", 0) and step % tc["long_every"] == 0
            x = _clip_batch(run, tc, gh, tc.get("frames_long", cfg["frames"]) if long_clip else tc["frames"])
        with run.autocast():
            post = vae.encode(x).latent_dist
            z = post.mean + post.std * torch.randn(post.mean.shape, generator=g, device=dev, dtype=post.mean.dtype)
            rec = models.vae_decode_raw(vae, z)
        rec = rec.float()
        with torch.no_grad():
            w = _object_weight(x, tc["fg_weight"])
        l1 = ((rec - x).abs() * w).mean()
        l2 = ((rec - x) ** 2 * w).mean()
        edge = _edge_l1(rec, x)
        kl = 0.5 * (post.mean.float() ** 2 + post.var.float() - 1.0 - post.logvar.float()).mean()
        with run.autocast():
            pr = (probe(post.mean).float() - _probe_target(x)).abs().mean()
        loss = tc["l1_weight"] * l1 + tc["l2_weight"] * l2 + edge + tc["kl_weight"] * kl + tc["probe_weight"] * pr
        lr = lr_at(tc, lr0 + (time.time() - t0) / 60, n)
        set_lr(opt, lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(rest + head, run.cfg["train"]["grad_clip"])
        opt.step()
        step += 1
        n += 1
        cnt += 1
        for k, v in (("loss", loss), ("l1", l1), ("l2", l2), ("edge", edge), ("kl", kl), ("probe", pr), ("gnorm", gn)):
            acc[k] = acc.get(k, 0.0) + v.detach().float()  # summed on the device, read at log time
        if time.time() - t_log >= cfg["train"]["log_every_s"]:
            dt = time.time() - t_log
            run.log("vae", "step %d | %s | lr %.2e | %.1f clips/s | %.0fs" % (
                step, " ".join("%s %.4g" % (k, float(v) / cnt) for k, v in sorted(acc.items())), lr,
                cnt * tc["batch"] / dt, time.time() - t0))
            acc, cnt, t_log = {}, 0, time.time()
    minutes_done = minutes0 + (time.time() - t0) / 60
    vae.eval()
    models.round_to_bf16_(vae)
    mean, std = latent_statistics(run, vae, tc["stat_clips"])
    vae.register_to_config(latents_mean=mean, latents_std=std)
    p = psnr(run, vae)
    run.log("vae", "steps %d (+%d this call), %.2f min trained; PSNR %.2f dB on held-out clips; latent mean %s; "
            "std %s" % (step, n, minutes_done, p, [round(v, 3) for v in mean], [round(v, 3) for v in std]))
    meta = {"stage": "vae", "step": step, "minutes": minutes_done, "lr_minutes": lr0 + (time.time() - t0) / 60,
            "preset": cfg["name"], "vae_config": cfg["vae"],
            "latents_mean": mean, "latents_std": std, "psnr_db": p, "stat_clips": tc["stat_clips"],
            "clips_seen": meta.get("clips_seen", 0) + n * tc["batch"]}
    tensors = ckpt.prefixed(vae, "", torch.bfloat16)
    tensors.update(ckpt.prefixed(probe, "aux.probe."))
    ckpt.save(run.out, "vae", tensors, meta)
    return vae


def train_decoder(run, minutes):
    """Stage `dec`: fine-tune the decoder (post_quant_conv + decoder) with the encoder frozen.

    The latents the DiT learns from depend only on the encoder, so this stage can run beside
    the DiT's training (a second process on the same GPU) and the DiT stays valid for the
    result: latents_mean / latents_std and `encoder_step` are carried over unchanged.
    Loss: the reconstruction terms of `vae` (foreground-weighted L1 + L2, edge L1) on z ~ q(z|x).
    """
    cfg, dev = run.cfg, run.device
    tc = cfg["train"]["dec"]
    t0 = time.time()
    src = run.find("vae")
    if not src:
        raise SystemExit("stage dec needs a VAE checkpoint (run the vae stage first)")
    tensors, meta = ckpt.load(src, "vae")
    vae = models.build_vae(cfg, meta["latents_mean"], meta["latents_std"]).to(dev)
    ckpt.load_into(vae, {k: v for k, v in tensors.items() if not k.startswith("aux.")})
    aux = {k: v for k, v in tensors.items() if k.startswith("aux.")}
    enc_step = meta.get("encoder_step", meta["step"])
    dec_step0, dec_min0 = meta.get("decoder_step", 0), meta.get("decoder_minutes", 0.0)
    run.log("dec", "resumed from %s: encoder step %d (frozen), decoder fine-tune step %d, %.2f min" % (
        src, enc_step, dec_step0, dec_min0))
    vae.requires_grad_(False)
    train_mods = [vae.post_quant_conv, vae.decoder]
    for m in train_mods:
        m.requires_grad_(True)
    head = [p for n, p in vae.named_parameters() if p.requires_grad and (n.startswith("decoder.conv_out") or
                                                                         n.endswith("gamma"))]
    head_ids = {id(p) for p in head}
    rest = [p for p in vae.parameters() if p.requires_grad and id(p) not in head_ids]
    opt = torch.optim.AdamW([{"params": rest, "mult": 1.0}, {"params": head, "mult": tc["head_lr_mult"]}],
                            lr=tc["lr"], betas=(0.9, 0.99), weight_decay=0.0)
    vae.eval()  # no dropout / batch statistics anywhere; eval() only affects nothing trainable here
    p0 = psnr(run, vae)
    run.log("dec", "PSNR at start %.2f dB on held-out clips" % p0)
    step, n, acc, cnt = dec_step0, 0, {}, 0
    t_log = time.time()
    budget = minutes * 60 - RESERVE_S
    while time.time() - t0 < budget or n == 0:
        gh, g = run.gens("dec", step)
        with torch.no_grad():
            x = _clip_batch(run, tc, gh, tc["frames"])
            with run.autocast():
                post = vae.encode(x).latent_dist
                z = post.mean + post.std * torch.randn(post.mean.shape, generator=g, device=dev,
                                                       dtype=post.mean.dtype)
            w = _object_weight(x, tc["fg_weight"])
        with run.autocast():
            rec = models.vae_decode_raw(vae, z)
        rec = rec.float()
        l1 = ((rec - x).abs() * w).mean()
        l2 = ((rec - x) ** 2 * w).mean()
        edge = _edge_l1(rec, x)
        loss = tc["l1_weight"] * l1 + tc["l2_weight"] * l2 + edge
        lr = lr_at(tc, dec_min0 + (time.time() - t0) / 60, n)
        set_lr(opt, lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(rest + head, run.cfg["train"]["grad_clip"])
        opt.step()
        step, n, cnt = step + 1, n + 1, cnt + 1
        for k, v in (("loss", loss), ("l1", l1), ("l2", l2), ("edge", edge), ("gnorm", gn)):
            acc[k] = acc.get(k, 0.0) + v.detach().float()
        if time.time() - t_log >= cfg["train"]["log_every_s"]:
            dt = time.time() - t_log
            run.log("dec", "step %d | %s | lr %.2e | %.1f clips/s | %.0fs" % (
                step, " ".join("%s %.4g" % (k, float(v) / cnt) for k, v in sorted(acc.items())), lr,
                cnt * tc["batch"] / dt, time.time() - t0))
            acc, cnt, t_log = {}, 0, time.time()
    vae.requires_grad_(False)
    models.round_to_bf16_(vae)
    p = psnr(run, vae)
    minutes_done = dec_min0 + (time.time() - t0) / 60
    run.log("dec", "decoder steps %d (+%d this call), %.2f min; PSNR %.2f -> %.2f dB on held-out clips" % (
        step, n, minutes_done, p0, p))
    meta = dict(meta, psnr_db=p, encoder_step=enc_step, decoder_step=step, decoder_minutes=minutes_done,
                decoder_clips_seen=meta.get("decoder_clips_seen", 0) + n * tc["batch"])
    out = ckpt.prefixed(vae, "", torch.bfloat16)
    out.update(aux)
    ckpt.save(run.out, "vae", out, meta)
    return vae
