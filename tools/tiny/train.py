#!/usr/bin/env python3
"""train.py - train the tiny Wan-architecture text-to-video model in time-boxed chunks.

  python3 tools/tiny/train.py --stage vae,dit --minutes 4.0,4.5 --out OUT [--resume DIR]
                              [--preset full|toy] [--device cuda|cpu] [--seed 0]

Stages (run in the order given, each with its own wall-clock budget in minutes, counted
from the stage's start and including its data-pool setup and final save):
  vae  AutoencoderKLWan on generated clips: L1 + L2 + edge (finite-difference L1) + small
       KL; then weights rounded to bf16 and per-channel latent mean/std measured on clips
  dit  WanTransformer3DModel + UMT5 text encoder trained jointly by flow matching
       (x_t = (1-s) x0 + s eps, target eps - x0, t = 1000 s, s = shift(logit-normal))
  sla  full fine-tune of the DiT with SLA self-attention (sla.py), text encoder frozen,
       loss = flow matching + distillation to the dense DiT; val loss per topk at the end
Checkpoints (OUT/vae.safetensors, OUT/dit-*-of-*.safetensors, OUT/sla-*-of-*.safetensors,
shards <= 15 MB, metadata inside), OUT/train.log and OUT/preview.ppm (preview.py: VAE
reconstructions and sampled videos of this call's stages).  --resume DIR continues from the
checkpoints in DIR (default: OUT itself); a stage that finds its own checkpoint continues
it (step count, minutes trained, learning-rate schedule position).  AdamW moments are not
stored (the carry budget between GPU calls is 50 MB), so a resumed run re-warms the
learning rate over `warmup` steps.  OUT gets only what this call wrote (the files that come
back from a GPU call are limited to 64 MB): copy them over the carried folder.

bf16 autocast on CUDA (fp32 master weights), fp32 on the CPU; data are generated on the
training device (data.py); torch.compile only with --compile.  Checked end to end at toy
scale on the CPU by tools/tiny/dry_run.sh.
"""
import argparse
import contextlib
import math
import os
import shutil
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ckpt  # noqa: E402
import config  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
TOKENIZER_DIR = os.path.join(REPO, "models", "tiny", "wan-tiny-t2v", "tokenizer")
STAGE_IDS = {"vae": 1, "dit": 2, "sla": 3, "eval": 4, "dec": 5}


class Run:
    """What every stage needs: config, device, folders, log, per-step random generators."""

    def __init__(self, args):
        self.args = args
        self.cfg = config.get(args.preset)
        self.device = torch.device(args.device)
        self.out = os.path.abspath(args.out)
        self.resume = os.path.abspath(args.resume) if args.resume else None
        os.makedirs(self.out, exist_ok=True)
        self.log_path = os.path.join(self.out, "train.log")
        if self.resume and self.resume != self.out:
            old = os.path.join(self.resume, "train.log")
            if os.path.exists(old) and not os.path.exists(self.log_path):
                shutil.copyfile(old, self.log_path)
        self.t_start = time.time()
        self.preview = []  # rows of OUT/preview.ppm (preview.py)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
            torch.backends.cudnn.benchmark = True

    def log(self, stage, msg):
        line = "%s [%s] %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), stage, msg)
        print(line, flush=True)
        with open(self.log_path, "a") as f:
            f.write(line + "\n")

    def find(self, name):
        """Folder holding checkpoint `name`: OUT (written earlier in this call) or --resume."""
        for d in (self.out, self.resume):
            if d and ckpt.exists(d, name):
                return d
        return None

    def gen(self, stage, step, salt=0, device=None):
        """A generator seeded by (seed, stage, step, salt) on `device` (default: the training device)."""
        g = torch.Generator(device=device or self.device)
        g.manual_seed((self.args.seed * 1000003 + STAGE_IDS[stage] * 7919 + salt * 104729 + step) % (2 ** 62))
        return g

    def gens(self, stage, step):
        """(host generator: data specs, pool indices, caption dropout; device generator: noise).
        Sampling on the host keeps the GPU queue free of host-device syncs."""
        return self.gen(stage, step, salt=3, device="cpu"), self.gen(stage, step)

    def autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize()


def lr_at(tc, minutes_done, run_step):
    """Warm-up over the first `warmup` steps of this process, then a cosine over the stage's
    planned total minutes (wall-clock based, so the schedule fits any GPU speed)."""
    warm = min(1.0, (run_step + 1) / max(1, tc["warmup"]))
    p = min(1.0, minutes_done / max(1e-6, tc["total_minutes"]))
    floor = tc.get("lr_min_frac", 0.0)
    return tc["lr"] * warm * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * p)))


def set_lr(opt, lr):
    for pg in opt.param_groups:
        pg["lr"] = lr * pg.get("mult", 1.0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--stage", required=True, help="comma-separated: vae, dec, dit, sla")
    ap.add_argument("--minutes", required=True, help="comma-separated wall-clock budget per stage")
    ap.add_argument("--out", required=True)
    ap.add_argument("--resume", default=None)
    ap.add_argument("--preset", default="full", choices=sorted(config.PRESETS))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--total-minutes", default=None,
                    help="override planned total minutes per stage for the LR schedule, e.g. dit=10.5,sla=3")
    ap.add_argument("--set", default=None,
                    help="override training settings, e.g. dit.batch=128,dit.lr=2e-4,sla.topk=0.15")
    ap.add_argument("--compile", action="store_true", help="torch.compile the DiT (off by default)")
    a = ap.parse_args(argv)
    stages = a.stage.split(",")
    minutes = [float(m) for m in a.minutes.split(",")]
    if len(stages) != len(minutes) or any(s not in ("vae", "dec", "dit", "sla") for s in stages):
        ap.error("--stage and --minutes must list the same number of items; stages are vae, dit, sla")
    run = Run(a)
    if a.total_minutes:
        for item in a.total_minutes.split(","):
            k, v = item.split("=")
            run.cfg["train"][k]["total_minutes"] = float(v)
    if a.set:
        for item in a.set.split(","):
            key, v = item.split("=")
            stage, name = key.split(".")
            old = run.cfg["train"][stage][name]
            run.cfg["train"][stage][name] = type(old)(v)
    dev = run.device
    run.log("run", "preset %s, device %s%s, stages %s, minutes %s, out %s, resume %s, torch %s" % (
        a.preset, dev, " (%s)" % torch.cuda.get_device_name(dev) if dev.type == "cuda" else "", stages, minutes,
        run.out, run.resume, torch.__version__))
    run.log("run", "settings: " + "; ".join("%s %s" % (k, run.cfg["train"][k]) for k in stages))
    import stage_dit
    import stage_vae
    for s, m in zip(stages, minutes):
        t0 = time.time()
        {"vae": stage_vae.train_vae, "dec": stage_vae.train_decoder, "dit": stage_dit.train_dit,
         "sla": stage_dit.train_sla}[s](run, m)
        run.log(s, "stage done in %.2f min (budget %.2f)" % ((time.time() - t0) / 60, m))
    run.log("run", "all done in %.2f min; files: %s" % ((time.time() - run.t_start) / 60,
                                                      ", ".join(sorted(os.listdir(run.out)))))


if __name__ == "__main__":
    main()
