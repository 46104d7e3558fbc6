#!/usr/bin/env python3
"""Golden files for the Wan VAE decoder: diffusers' AutoencoderKLWan with small
random configs, fp32 decode (untiled and tiled), saved with the weights.

Usage:  python3 tools/gen_vae_goldens.py [OUT_DIR=tests/data]
Needs torch, diffusers and safetensors (CPU is enough).  Deterministic for the
fixed seeds below.  tests/test_vae.c decodes the stored latents with the C
decoder and requires relative L2 <= 1e-4 against the stored videos.

Configs (weights rounded to bf16 before the fp32 reference decode, stored bf16):
  vae_a   base_dim 8, dim_mult [1,2,2,2], 1 res block (2 per up block),
          temporal [F,T,T]; diffusers layout plus a few encoder / quant_conv
          tensors (the loader must skip them).  Cases:
            untiled: latent 16x4x3x5 (T = 4 -> 13 frames of 24x40), plus the
                     uint8 frames of Wan's cache_video;
            tiled:   latent 16x2x7x9 decoded with enable_tiling(tile 48x40,
                     stride 32x24 pixels): 2x3 tiles of unequal sizes.
  vae_b   base_dim 4, dim_mult [1,2,4,4], 2 res blocks (the Wan2.1 structure,
          so original key indices 0-2, 3, 4-6, 7, ...), temporal [F,T,T];
          diffusers layout and the original layout (single file, renamed by
          to_original() below and checked against diffusers'
          convert_wan_vae_to_diffusers); latent 16x3x4x6 untiled.
Latents are the normalised latents a sampler produces; like WanPipeline, the
reference de-normalises them with z / (1 / latents_std) + latents_mean before
vae.decode.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from diffusers import AutoencoderKLWan
from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")

RES_SUB = [("norm1.gamma", "residual.0.gamma"), ("conv1.", "residual.2."), ("norm2.gamma", "residual.3.gamma"),
           ("conv2.", "residual.6."), ("conv_shortcut.", "shortcut.")]


def to_original(name, nres):
    """diffusers AutoencoderKLWan key -> original Wan2.1 vae.py key (decoder side, quant convs,
    encoder conv_in / mid block).  nres = num_res_blocks + 1 residual blocks per up block."""
    if name.startswith("post_quant_conv."):
        return "conv2." + name[len("post_quant_conv."):]
    if name.startswith("quant_conv."):
        return "conv1." + name[len("quant_conv."):]
    for side in ("encoder", "decoder"):
        p = side + "."
        if not name.startswith(p):
            continue
        rest = name[len(p):]
        if rest.startswith("conv_in."):
            return p + "conv1." + rest[len("conv_in."):]
        if rest.startswith("norm_out."):
            return p + "head.0." + rest[len("norm_out."):]
        if rest.startswith("conv_out."):
            return p + "head.2." + rest[len("conv_out."):]
        if rest.startswith("mid_block.attentions.0."):
            return p + "middle.1." + rest[len("mid_block.attentions.0."):]
        if rest.startswith("mid_block.resnets."):
            k, sub = rest[len("mid_block.resnets."):].split(".", 1)
            head = p + "middle.%d." % (0 if k == "0" else 2)
        elif rest.startswith("up_blocks."):
            i, kind, tail = rest[len("up_blocks."):].split(".", 2)
            i = int(i)
            if kind == "resnets":
                r, sub = tail.split(".", 1)
                head = p + "upsamples.%d." % (i * (nres + 1) + int(r))
            else:  # upsamplers.0.<resample.1|time_conv>...
                return p + "upsamples.%d." % (i * (nres + 1) + nres) + tail.split(".", 1)[1]
        else:
            raise ValueError("no original name for " + name)
        for a, b in RES_SUB:
            if sub.startswith(a):
                return head + b + sub[len(a):]
        raise ValueError("no original name for " + name)
    raise ValueError("no original name for " + name)


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                v = torch.randn(p.shape, generator=g) * 0.1
            elif name.endswith("gamma"):
                v = 1.0 + torch.randn(p.shape, generator=g) * 0.2
            else:
                fan_in = p[0].numel()
                v = torch.randn(p.shape, generator=g) / fan_in ** 0.5
                if "conv_out" in name:
                    v = v * 1.5  # about 10% of outputs saturate: the clamp is exercised, most values still compare
            p.copy_(v.to(torch.bfloat16).to(torch.float32))


def build(cfg, seed):
    torch.manual_seed(seed)
    m = AutoencoderKLWan(z_dim=16, attn_scales=[], temperal_downsample=[False, True, True], **cfg).float().eval()
    randomize(m, seed)
    return m


def denorm(m, z):
    mean = torch.tensor(m.config.latents_mean).view(1, 16, 1, 1, 1)
    inv_std = 1.0 / torch.tensor(m.config.latents_std).view(1, 16, 1, 1, 1)
    return z / inv_std + mean  # WanPipeline: latents / latents_std + latents_mean with latents_std = 1 / std


def cache_video_u8(video):
    """Wan's cache_video on [3, F, H, W]: clamp, (x+1)/2, *255, truncate -> [F, H, W, 3] uint8."""
    x = video.clamp(-1, 1)
    x = x.sub(-1.0).div(2.0)
    return (x * 255).type(torch.uint8).permute(1, 2, 3, 0).contiguous()


def decoder_keys(m):
    sd = {k: v.detach().clone().contiguous() for k, v in m.state_dict().items()}
    keep = {k: v for k, v in sd.items() if k.startswith("decoder.") or k.startswith("post_quant_conv.")}
    extra = {k: v for k, v in sd.items() if k.startswith("quant_conv.") or k.startswith("encoder.conv_in.")
             or k.startswith("encoder.mid_block.resnets.0.")}
    return keep, extra


def save_diffusers(m, name, tensors):
    d = os.path.join(OUT, name + "_diffusers")
    os.makedirs(d, exist_ok=True)
    conf = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(m.config).items() if not k.startswith("_")}
    conf["_class_name"] = "AutoencoderKLWan"
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(conf, f, indent=2, sort_keys=True)
    save_file({k: v.to(torch.bfloat16) for k, v in sorted(tensors.items())},
              os.path.join(d, "diffusion_pytorch_model.safetensors"))


def make_a():
    m = build(dict(base_dim=8, dim_mult=[1, 2, 2, 2], num_res_blocks=1), seed=4242)
    g = torch.Generator().manual_seed(7)
    z = torch.randn(1, 16, 4, 3, 5, generator=g)
    zt = torch.randn(1, 16, 2, 7, 9, generator=g)
    with torch.no_grad():
        out = m.decode(denorm(m, z)).sample
        tile = dict(tile_sample_min_height=48, tile_sample_min_width=40,
                    tile_sample_stride_height=32, tile_sample_stride_width=24)
        m.enable_tiling(**tile)
        out_t = m.decode(denorm(m, zt)).sample
        m.disable_tiling()
        out_whole = m.decode(denorm(m, zt)).sample
    keep, extra = decoder_keys(m)
    save_diffusers(m, "vae_a", {**keep, **extra})
    tp = torch.tensor([tile["tile_sample_min_height"], tile["tile_sample_min_width"],
                       tile["tile_sample_stride_height"], tile["tile_sample_stride_width"]], dtype=torch.int32)
    save_file({"latent": z[0].contiguous(), "video": out[0].contiguous(), "rgb8": cache_video_u8(out[0]),
               "tiled_latent": zt[0].contiguous(), "tiled_video": out_t[0].contiguous(), "tiling": tp},
              os.path.join(OUT, "vae_a_io.safetensors"))
    print("vae_a: video %s |x| %.3f, saturated %.1f%%; tiled %s, differs from untiled by rel %.3e"
          % (tuple(out.shape[1:]), out.norm().item(), 100 * (out.abs() >= 1).float().mean().item(),
             tuple(out_t.shape[1:]), ((out_t - out_whole).norm() / out_whole.norm()).item()))


def make_b():
    nrb = 2
    m = build(dict(base_dim=4, dim_mult=[1, 2, 4, 4], num_res_blocks=nrb), seed=777)
    g = torch.Generator().manual_seed(8)
    z = torch.randn(1, 16, 3, 4, 6, generator=g)
    with torch.no_grad():
        out = m.decode(denorm(m, z)).sample
    keep, extra = decoder_keys(m)
    save_diffusers(m, "vae_b", keep)
    both = {**keep, **extra}
    orig = {to_original(k, nrb + 1): v for k, v in both.items()}
    assert len(orig) == len(both), "renaming collided"
    back = convert_wan_vae_to_diffusers(dict(orig))  # diffusers' own converter must undo to_original
    assert set(back) == set(both), sorted(set(back) ^ set(both))[:8]
    assert all(torch.equal(back[k], both[k]) for k in both)
    save_file({k: v.to(torch.bfloat16) for k, v in sorted(orig.items())}, os.path.join(OUT, "vae_b_original.safetensors"))
    save_file({"latent": z[0].contiguous(), "video": out[0].contiguous()}, os.path.join(OUT, "vae_b_io.safetensors"))
    print("vae_b: video %s |x| %.3f, saturated %.1f%%" % (tuple(out.shape[1:]), out.norm().item(),
                                                       100 * (out.abs() >= 1).float().mean().item()))


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    os.makedirs(OUT, exist_ok=True)
    make_a()
    make_b()
