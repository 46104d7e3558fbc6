#!/usr/bin/env python3
"""dump_clips.py - write generated clips with their captions as .tclip files (the format
models/tiny/tclip.h reads), for the C adherence checker.

  python3 tools/tiny/dump_clips.py OUT_DIR [--n 64] [--split train|heldout] [--seed 0]
                                   [--preset full] [--stride 1]
Then:  build/tools/adherence_run OUT_DIR   (the checker's score on real clips = its ceiling)

--stride k keeps every k-th frame (tests/data/tiny_clips uses full clips; stride is for
smaller files).  --degrade blurs every frame twice with a 5x5 binomial kernel and adds a
random colour cast of up to +-25 per channel (seeded): the kind of softness a VAE decode
and a video codec add, for robustness tests.  --split heldout dumps the evaluation set (one clip per held-out triple,
--n ignored).  Checked by tests/test_adherence.c, which decodes committed files written
by this script.
"""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import config  # noqa: E402
import data  # noqa: E402


def encode_tclip(frames, caption):
    """frames uint8 [T, H, W, 3] -> .tclip bytes (runs of <= 255 equal pixels per row)."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    T, H, W, _ = frames.shape
    assert "\n" not in caption and len(caption.encode()) < 512
    head = b"TCLIP1 %d %d %d\n" % (T, H, W) + caption.encode() + b"\n"
    px = frames.reshape(-1, 3)
    packed = px[:, 0].astype(np.uint32) << 16 | px[:, 1].astype(np.uint32) << 8 | px[:, 2]
    col = np.arange(packed.size) % W
    start = np.ones(packed.size, dtype=bool)  # a run starts at every row start, every 255th pixel, every change
    start[1:] = (packed[1:] != packed[:-1]) | (col[1:] % 255 == 0)
    idx = np.flatnonzero(start)
    lens = np.diff(np.append(idx, packed.size))
    rec = np.empty((idx.size, 4), dtype=np.uint8)
    rec[:, 0] = lens
    rec[:, 1:] = px[idx]
    return head + rec.tobytes()


def _encode_tclip_loop(frames, caption):
    """The row-by-row reference encoder (kept to check encode_tclip)."""
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    T, H, W, _ = frames.shape
    out = [b"TCLIP1 %d %d %d\n" % (T, H, W), caption.encode() + b"\n"]
    rows = frames.reshape(T * H, W, 3)
    packed = rows[..., 0].astype(np.uint32) << 16 | rows[..., 1].astype(np.uint32) << 8 | rows[..., 2]
    for r in range(T * H):
        row = packed[r]
        starts = np.flatnonzero(np.concatenate(([True], row[1:] != row[:-1])))
        lens = np.diff(np.concatenate((starts, [W])))
        buf = bytearray()
        for s, n in zip(starts.tolist(), lens.tolist()):
            v = int(row[s])
            rgb = bytes(((v >> 16) & 255, (v >> 8) & 255, v & 255))
            while n > 0:
                k = min(n, 255)
                buf += bytes((k,)) + rgb
                n -= k
        out.append(bytes(buf))
    return b"".join(out)


def degrade(video, gen):
    """[n, 3, T, H, W] in [-1, 1]: two 5x5 binomial blurs + a per-clip colour cast."""
    import torch.nn.functional as F
    n, _, T, H, W = video.shape
    k = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
    k = (k[:, None] * k[None, :] / 256.0).expand(3, 1, 5, 5)
    x = video.permute(0, 2, 1, 3, 4).reshape(n * T, 3, H, W)
    for _ in range(2):
        x = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k, groups=3)
    x = x.reshape(n, T, 3, H, W).permute(0, 2, 1, 3, 4)
    return x + (torch.rand((n, 3, 1, 1, 1), generator=gen) - 0.5) * (50.0 / 127.5)


def write_tclip(path, frames, caption):
    with open(path + ".tmp", "wb") as f:
        f.write(encode_tclip(frames, caption))
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--split", default="train", choices=["train", "heldout"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preset", default="full")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--prefix", default="clip")
    ap.add_argument("--degrade", action="store_true", help="blur + colour cast (robustness tests)")
    a = ap.parse_args()
    cfg = config.get(a.preset)
    os.makedirs(a.out, exist_ok=True)
    if a.split == "heldout":
        spec = data.eval_specs(cfg)
    else:
        spec = data.sample_specs(a.n, cfg, torch.Generator().manual_seed(a.seed))
    caps = data.captions(spec)
    n = len(caps)
    total = 0
    for i0 in range(0, n, 8):
        part = {k: v[i0:i0 + 8] for k, v in spec.items()}
        video = data.render(part, cfg)
        if a.degrade:
            video = degrade(video, torch.Generator().manual_seed(a.seed * 1000 + i0))
        u8 = data.to_uint8(video).numpy()[:, ::a.stride]
        for j in range(u8.shape[0]):
            path = os.path.join(a.out, "%s_%04d.tclip" % (a.prefix, i0 + j))
            write_tclip(path, u8[j], caps[i0 + j])
            total += os.path.getsize(path)
    print("wrote %d clips (%d frames of %dx%d) to %s, %.1f kB each" % (
        n, len(range(0, cfg["frames"], a.stride)), cfg["height"], cfg["width"], a.out, total / n / 1e3))


if __name__ == "__main__":
    main()
