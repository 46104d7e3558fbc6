"""random_pipeline.py - the shipped tiny model's exact shapes with random weights, saved like the
export (diffusers WanPipeline layout, bf16, the committed tokenizer, spadit.json with the shipped
defaults), so `spadit generate`'s CPU time at the default settings can be measured before any
training (docs/tiny_model.md §4).  The video is noise: only the time means anything.

usage: python3 tools/tiny/random_pipeline.py OUT_DIR [--preset full] [--seed 0]
"""
import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import config  # noqa: E402
import models  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
TOK = os.path.join(REPO, "models", "tiny", "wan-tiny-t2v", "tokenizer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--preset", default="full")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    from diffusers import UniPCMultistepScheduler, WanPipeline
    cfg = config.get(a.preset)
    torch.manual_seed(a.seed)
    tok = models.load_tokenizer(TOK)
    bf = torch.bfloat16
    te = models.build_text_encoder(cfg, len(tok)).to(bf)
    vae = models.build_vae(cfg).to(bf)
    dit = models.build_dit(cfg).to(bf)
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                                    flow_shift=cfg["generate"]["shift"])
    WanPipeline(tokenizer=tok, text_encoder=te, transformer=dit, vae=vae, scheduler=sched).save_pretrained(
        a.out, safe_serialization=True)
    tdir = os.path.join(a.out, "tokenizer")
    shutil.rmtree(tdir)
    shutil.copytree(TOK, tdir)
    g = cfg["generate"]
    spec = {"_comment": "random weights at the tiny model's shapes (tools/tiny/random_pipeline.py): timing only",
            "family": "wan2.1-t2v", "frames": cfg["frames"], "height": cfg["height"], "width": cfg["width"],
            "fps": cfg["fps"], "steps": g["steps"], "shift": g["shift"], "guidance": g["guidance"],
            "sampler": g["sampler"], "negative_prompt": g["negative_prompt"], "seed": g["seed"],
            "text_len": cfg["text_len"], "transformer": "transformer"}
    with open(os.path.join(a.out, "spadit.json"), "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
