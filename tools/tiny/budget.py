#!/usr/bin/env python3
"""budget.py - the CPU budget of `spadit generate` with the tiny model: FLOPs per component,
parameter counts, shipped size, and a random-weight DiT folder to time with the C runtime.

  python3 tools/tiny/budget.py [--preset full] [--steps 20] [--write-dit DIR]
  ./build/cli/spadit forward DIR --latent 9x24x24 --ctx-len 16 --repeat 10   # C forward time

FLOPs are counted by torch.utils.flop_counter (matmuls, convolutions, attention; one
multiply-add = 2 FLOPs) on the diffusers/transformers modules with the preset's config,
random weights, at the shipped shape: text encoder on one prompt, one DiT forward with
the context zero-padded to 512 rows, one VAE decode of all frames.  A generation is
text + 2 x steps DiT forwards (classifier-free guidance) + one decode.
"""
import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import config  # noqa: E402
import models  # noqa: E402


def count(fn):
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="full")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--write-dit", default=None, help="save a random-weight DiT (diffusers layout) here")
    a = ap.parse_args()
    cfg = config.get(a.preset)
    steps = a.steps or cfg["generate"]["steps"]
    torch.manual_seed(0)
    te = models.build_text_encoder(cfg, 60).eval()
    dit = models.build_dit(cfg).eval()
    vae = models.build_vae(cfg).eval()
    lat = config.latent_shape(cfg)
    ids = torch.ones(1, 9, dtype=torch.long)
    f_te = count(lambda: te(input_ids=ids))
    x = torch.randn((1,) + lat)
    ctx = torch.randn(1, cfg["text_len"], cfg["dit"]["text_dim"])
    f_dit = count(lambda: dit(x, torch.tensor([500.0]), ctx, return_dict=False))
    f_dec = count(lambda: vae.decode(torch.randn((1,) + lat)))
    n, dim, ffn, L, ctxl = (config.num_tokens(cfg), cfg["dit"]["num_attention_heads"] * 128, cfg["dit"]["ffn_dim"],
                            cfg["dit"]["num_layers"], cfg["text_len"])
    per_layer = {"self q,k,v,o": 8 * n * dim * dim, "self attention": 4 * n * n * dim,
                 "cross q,o": 4 * n * dim * dim, "cross k,v (512 rows)": 4 * ctxl * dim * dim,
                 "cross attention": 4 * n * ctxl * dim, "ffn": 4 * n * dim * ffn}
    print("preset %s: %d frames %dx%d -> latent %s, %d DiT tokens" % (cfg["name"], cfg["frames"], cfg["height"],
                                                                     cfg["width"], lat, n))
    print("DiT per layer (analytic, GFLOP): " + ", ".join("%s %.3f" % (k, v / 1e9) for k, v in per_layer.items()) +
          "; x %d layers = %.2f" % (L, L * sum(per_layer.values()) / 1e9))
    print("%-22s %10s %12s %12s" % ("component", "params", "GFLOP/call", "bf16 MB"))
    for name, mod, fl in (("text encoder", te, f_te), ("DiT forward", dit, f_dit), ("VAE decode", vae.decoder, f_dec)):
        print("%-22s %9.2fM %12.2f %12.2f" % (name, models.count_params(mod) / 1e6, fl / 1e9,
                                               2 * models.count_params(mod) / 1e6))
    vae_all = models.count_params(vae)
    total = f_te + 2 * steps * f_dit + f_dec
    print("generation (%d steps, CFG): text %.2f + DiT 2x%dx%.2f = %.1f + VAE %.1f = %.1f GFLOP" % (
        steps, f_te / 1e9, steps, f_dit / 1e9, 2 * steps * f_dit / 1e9, f_dec / 1e9, total / 1e9))
    tok_mb = sum(os.path.getsize(os.path.join(HERE, "..", "..", "models", "tiny", "wan-tiny-t2v", "tokenizer", f))
                 for f in ("spiece.model", "tokenizer.json", "tokenizer_config.json")) / 1e6
    ship = 2 * (2 * models.count_params(dit) + models.count_params(te) + vae_all) / 1e6 + tok_mb
    print("shipped size estimate: transformer + transformer_sla %.1f + text encoder %.1f + VAE (enc+dec) %.1f + "
          "tokenizer %.1f = %.1f MB (bf16)" % (4 * models.count_params(dit) / 1e6, 2 * models.count_params(te) / 1e6,
                                              2 * vae_all / 1e6, tok_mb, ship))
    if a.write_dit:
        dit.save_pretrained(a.write_dit, safe_serialization=True)
        print("random-weight DiT written to %s; time it with:\n  ./build/cli/spadit forward %s --latent %dx%dx%d "
              "--ctx-len 16 --repeat 10" % (a.write_dit, a.write_dit, lat[1], lat[2], lat[3]))


if __name__ == "__main__":
    main()
