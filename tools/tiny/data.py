#!/usr/bin/env python3
"""data.py - synthetic captioned clips for the tiny Wan model, generated on the GPU (or CPU).

A clip shows one or two flat-coloured objects (circle, square, triangle, star, diamond,
cross) in one of 8 named colours moving (4 directions, 4 diagonals) or growing /
shrinking over a plain or vertical-gradient background, with anti-aliased edges (1-px
coverage ramp from exact signed distances).  Every clip comes with a template caption:

  caption  := object motion [ "and" object motion ] [ "on a" background ]
  object   := "a"|"an" [ "small" | "big" ] COLOUR SHAPE
  motion   := "moves to the left" | "moves to the right" | "moves up" | "moves down"
            | "moves up and to the left" | ... (4 diagonals) | "grows" | "shrinks"
  background := COLOUR "background" | COLOUR "to" COLOUR "gradient"   (top to bottom)

A second object is always "small", the first is medium or big when there are two, and the
second never covers more than 60% of the first's area at any time, so the first-named
object is the largest: the C checker (models/tiny/adherence.c) relies on it.
Held-out split: the (colour, shape, motion) triples with (7c + 3s + m) % 8 == 0 never occur
in training (for either object); eval_specs() gives one clip per held-out triple (60).

Everything is vectorised torch and deterministic for a seed on a given device.
Checked by `python3 tools/tiny/data.py --selftest` (determinism, held-out exclusion,
objects inside the frame and apart, caption grammar) and by tests/test_adherence.c on
committed clips.  `--preview OUT.ppm` writes a contact sheet.
"""
import argparse
import math
import os
import sys

import torch

# ---------------------------------------------------------------------------
# vocabulary (the C checker mirrors these tables; keep the order)
COLOURS = {  # name -> sRGB 0..255
    "red": (215, 30, 40), "orange": (250, 130, 0), "yellow": (240, 225, 40), "green": (40, 170, 60),
    "cyan": (40, 205, 215), "blue": (40, 70, 225), "purple": (140, 50, 190), "white": (240, 240, 240),
    "black": (20, 20, 20), "gray": (128, 128, 128),
}
OBJ_COLOURS = ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "white"]
BG_COLOURS = ["black", "gray", "white", "blue", "green", "red"]
SHAPES = ["circle", "square", "triangle", "star", "diamond", "cross"]
# name, unit direction (x right, y down), growth (+1 grows, -1 shrinks), caption phrase
MOTIONS = [
    ("left", (-1, 0), 0, "moves to the left"),
    ("right", (1, 0), 0, "moves to the right"),
    ("up", (0, -1), 0, "moves up"),
    ("down", (0, 1), 0, "moves down"),
    ("up-left", (-1, -1), 0, "moves up and to the left"),
    ("up-right", (1, -1), 0, "moves up and to the right"),
    ("down-left", (-1, 1), 0, "moves down and to the left"),
    ("down-right", (1, 1), 0, "moves down and to the right"),
    ("grows", (0, 0), 1, "grows"),
    ("shrinks", (0, 0), -1, "shrinks"),
]
SIZES = ["small", "medium", "big"]         # medium has no word in captions
RADIUS_192 = [(11.0, 14.0), (16.0, 20.0), (22.0, 27.0)]  # object radius range in px at 192x192
EXTENT = 1.25      # every shape fits in a disc of EXTENT * radius
# area of each shape in radius^2 units (circle, square, triangle, star, diamond, cross)
AREA = [math.pi, 1.7 ** 2, 3 * math.sqrt(3) / 4 * 1.2 ** 2, 5 * 1.25 * 0.5 * math.sin(math.pi / 5), 2 * 1.15 ** 2,
        2 * 2 * 1.0 * 0.72 - 0.72 ** 2]
SECOND_AREA_MAX = 0.6  # a second object never covers more than this fraction of the main one
GROWTH = (1.6, 1.9)  # grows: radius x g over the clip; shrinks: / g
TRAVEL = (0.30, 0.45)  # displacement as a fraction of the frame side (diagonals x1.2)
MIN_BG_DIST = 120.0  # an object colour is at least this far (RGB) from every background pixel
DEFAULT_PROMPT = "a red circle moves to the right"


def is_held_out(c, s, m):
    """Held-out (colour, shape, motion) triple: never in training."""
    return (7 * c + 3 * s + m) % 8 == 0


def triples(held_out):
    return [(c, s, m) for c in range(len(OBJ_COLOURS)) for s in range(len(SHAPES)) for m in range(len(MOTIONS))
            if is_held_out(c, s, m) == held_out]


def shape_polygon(name):
    """Vertices (x right, y down) in units of the object radius; None for the circle."""
    if name == "circle":
        return None
    if name == "square":
        a = 0.85
        return [(-a, -a), (a, -a), (a, a), (-a, a)]
    if name == "diamond":
        r = 1.15
        return [(0, -r), (r, 0), (0, r), (-r, 0)]
    if name == "triangle":  # equilateral, apex up, centroid at the origin
        r = 1.2
        return [(r * math.cos(a), r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    if name == "star":  # five points, apex up
        out = []
        for k in range(10):
            rr = 1.25 if k % 2 == 0 else 0.5
            a = -math.pi / 2 + k * math.pi / 5
            out.append((rr * math.cos(a), rr * math.sin(a)))
        return out
    if name == "cross":  # plus sign
        w, l = 0.36, 1.0
        return [(-w, -l), (w, -l), (w, -w), (l, -w), (l, w), (w, w), (w, l), (-w, l), (-w, w), (-l, w), (-l, -w),
                (-w, -w)]
    raise ValueError(name)


# ---------------------------------------------------------------------------
# geometry
def polygon_sdf(u, v, verts):
    """Signed distance (negative inside) from points (u, v) to a closed polygon."""
    d = None
    inside = torch.zeros(u.shape, dtype=torch.bool, device=u.device)
    n = len(verts)
    for i in range(n):
        ax, ay = verts[i]
        bx, by = verts[(i + 1) % n]
        ex, ey = bx - ax, by - ay
        wx, wy = u - ax, v - ay
        h = ((wx * ex + wy * ey) / (ex * ex + ey * ey)).clamp(0.0, 1.0)
        di = torch.hypot(wx - ex * h, wy - ey * h)
        d = di if d is None else torch.minimum(d, di)
        if ay != by:  # crossing-number test along +x
            cond = (ay > v) != (by > v)
            xi = ax + (v - ay) * (ex / ey)
            inside ^= cond & (u < xi)
    return torch.where(inside, -d, d)


def shape_sdf(name, u, v):
    verts = shape_polygon(name)
    if verts is None:
        return torch.hypot(u, v) - 1.0
    return polygon_sdf(u, v, verts)


def _colour_table(names, device):
    return torch.tensor([COLOURS[n] for n in names], dtype=torch.float32, device=device)


def _seg_dist(p, a, b):
    """Distance from colours p [..., 3] to segments a-b [..., 3] (RGB)."""
    ab = b - a
    t = ((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-9)
    t = t.clamp(0, 1)
    return (p - (a + ab * t.unsqueeze(-1))).norm(dim=-1)


def bg_specs():
    """All backgrounds: (top colour index, bottom colour index) into BG_COLOURS, plain first."""
    n = len(BG_COLOURS)
    return [(i, i) for i in range(n)] + [(i, j) for i in range(n) for j in range(n) if i != j]


def bg_compat(device="cpu"):
    """compat[o, b]: object colour o is at least MIN_BG_DIST from every pixel of background b."""
    obj = _colour_table(OBJ_COLOURS, device)
    bgc = _colour_table(BG_COLOURS, device)
    specs = torch.tensor(bg_specs(), device=device)
    a, b = bgc[specs[:, 0]], bgc[specs[:, 1]]
    d = _seg_dist(obj[:, None, :], a[None], b[None])
    return d >= MIN_BG_DIST


# ---------------------------------------------------------------------------
# sampling clip specifications
def _uniform(gen, shape, lo, hi, device):
    return lo + (hi - lo) * torch.rand(shape, generator=gen, device=device)


def _choice(gen, weights, n):
    """n draws from rows of categorical weights ([n, k] or [k])."""
    if weights.dim() == 1:
        weights = weights.expand(n, -1)
    return torch.multinomial(weights.float(), 1, generator=gen).squeeze(1)


def _object_track(gen, n, size, motion, T, S, device):
    """Centre (x, y) [n, T] and radius [n, T] in px for objects of the given size class and motion."""
    scale = S / 192.0
    lo = torch.tensor([r[0] for r in RADIUS_192], device=device)[size] * scale
    hi = torch.tensor([r[1] for r in RADIUS_192], device=device)[size] * scale
    r0 = lo + (hi - lo) * torch.rand(n, generator=gen, device=device)
    mv = torch.tensor([m[1] for m in MOTIONS], dtype=torch.float32, device=device)[motion]  # [n, 2]
    grow = torch.tensor([m[2] for m in MOTIONS], dtype=torch.float32, device=device)[motion]
    g = _uniform(gen, (n,), GROWTH[0], GROWTH[1], device)
    tt = torch.linspace(0, 1, T, device=device)[None, :]
    f_start = torch.where(grow < 0, g, torch.ones_like(g))
    f_end = torch.where(grow > 0, g, torch.ones_like(g))
    radius = r0[:, None] * (f_start[:, None] + (f_end - f_start)[:, None] * tt)  # [n, T]
    margin = EXTENT * radius.max(1).values + 2.0
    room = (S - 2 * margin).clamp_min(0.0)
    dist = _uniform(gen, (n,), TRAVEL[0], TRAVEL[1], device) * S
    norm = mv.norm(dim=1).clamp_min(1e-6)
    diag = (mv.abs().sum(1) > 1.5).float()
    dvec = mv / norm[:, None] * (dist * (1 + 0.2 * diag))[:, None]
    # shrink the displacement (keeping its direction) until the object stays in frame
    need = dvec.abs().max(1).values
    dvec = dvec * torch.where(need > room, room / need.clamp_min(1e-6), torch.ones_like(need))[:, None]
    lo_xy = margin[:, None] + (-dvec).clamp_min(0)
    hi_xy = S - margin[:, None] - dvec.clamp_min(0)
    start = lo_xy + (hi_xy - lo_xy).clamp_min(0) * torch.rand((n, 2), generator=gen, device=device)
    cx = start[:, 0:1] + dvec[:, 0:1] * tt
    cy = start[:, 1:2] + dvec[:, 1:2] * tt
    return cx, cy, radius


def sample_specs(n, cfg, gen, split="train", device="cpu", frames=None):
    """Random clip specifications (a dict of tensors of length n).

    split "train": main and second objects from the training triples;
          "heldout": main object from the held-out triples, single object."""
    T = frames or cfg["frames"]
    S = cfg["height"]
    assert cfg["width"] == S, "square frames only"
    pool = torch.tensor(triples(held_out=(split == "heldout")), device=device)
    k = _choice(gen, torch.ones(len(pool), device=device), n)
    c1, s1, m1 = pool[k, 0], pool[k, 1], pool[k, 2]
    two = torch.rand(n, generator=gen, device=device) < (0.5 if split == "train" else 0.0)
    size1 = torch.where(two, 1 + (torch.rand(n, generator=gen, device=device) < 0.5).long(),
                        _choice(gen, torch.ones(3, device=device), n))
    cx1, cy1, r1 = _object_track(gen, n, size1, m1, T, S, device)
    compat = bg_compat(device)
    specs_t = torch.tensor(bg_specs(), device=device)
    plain = (specs_t[:, 0] == specs_t[:, 1]).float()
    w = compat[c1].float() * (plain / plain.sum() + (1 - plain) / (1 - plain).sum())
    bg = _choice(gen, w, n)
    # second object: K candidates, keep the first valid one
    train = torch.tensor(triples(held_out=False), device=device)
    K = 8
    k2 = _choice(gen, torch.ones(len(train), device=device), n * K)
    c2, s2, m2 = train[k2, 0], train[k2, 1], train[k2, 2]
    cx2, cy2, r2 = _object_track(gen, n * K, torch.zeros(n * K, dtype=torch.long, device=device), m2, T, S, device)
    rep = lambda x: x.repeat_interleave(K, 0)  # noqa: E731
    dist = torch.hypot(cx2 - rep(cx1), cy2 - rep(cy1))
    apart = (dist >= EXTENT * (r2 + rep(r1)) + 3.0).all(1)
    area = torch.tensor(AREA, device=device)
    smaller = area[s2] * (r2 ** 2).max(1).values <= SECOND_AREA_MAX * rep(area[s1] * (r1 ** 2).min(1).values)
    ok = apart & smaller & (c2 != rep(c1)) & compat[c2, rep(bg)]
    ok = ok.view(n, K)
    first = torch.argmax(ok.int(), dim=1)
    has2 = two & ok.any(1)
    pick = torch.arange(n, device=device) * K + first
    spec = {
        "colour": torch.stack([c1, c2[pick]], 1), "shape": torch.stack([s1, s2[pick]], 1),
        "motion": torch.stack([m1, m2[pick]], 1), "size": torch.stack([size1, torch.zeros_like(size1)], 1),
        "cx": torch.stack([cx1, cx2[pick]], 1), "cy": torch.stack([cy1, cy2[pick]], 1),
        "r": torch.stack([r1, r2[pick]], 1),  # [n, 2, T]
        "n_obj": 1 + has2.long(), "bg": bg,
        "bg_word": torch.rand(n, generator=gen, device=device) < (0.8 if split == "train" else 1.0),
    }
    return spec


def eval_specs(cfg, device="cpu", seed=12345):
    """One single-object clip per held-out triple (sorted), medium size, with a background phrase."""
    gen = torch.Generator(device=device).manual_seed(seed)
    held = torch.tensor(triples(held_out=True), device=device)
    n = len(held)
    spec = sample_specs(n, cfg, gen, split="heldout", device=device)
    T = cfg["frames"]
    cx, cy, r = _object_track(gen, n, torch.ones(n, dtype=torch.long, device=device), held[:, 2], T, cfg["height"],
                              device)
    spec["colour"][:, 0], spec["shape"][:, 0], spec["motion"][:, 0] = held[:, 0], held[:, 1], held[:, 2]
    spec["size"][:, 0] = 1
    spec["cx"][:, 0], spec["cy"][:, 0], spec["r"][:, 0] = cx, cy, r
    compat = bg_compat(device)
    specs_t = torch.tensor(bg_specs(), device=device)
    plain = (specs_t[:, 0] == specs_t[:, 1]).float()
    spec["bg"] = _choice(gen, compat[held[:, 0]].float() * (0.5 * plain / plain.sum() + 0.5 * (1 - plain) /
                                                             (1 - plain).sum()), n)
    return spec


# ---------------------------------------------------------------------------
# captions
def object_phrase(c, s, size, with_size):
    words = []
    if with_size and size != 1:
        words.append(SIZES[size])
    words += [OBJ_COLOURS[c], SHAPES[s]]
    art = "an" if words[0][0] in "aeiou" else "a"
    return art + " " + " ".join(words)


def captions(spec):
    col, shp, mot, siz = (spec[k].tolist() for k in ("colour", "shape", "motion", "size"))
    n_obj, bg, bgw = spec["n_obj"].tolist(), spec["bg"].tolist(), spec["bg_word"].tolist()
    bgs = bg_specs()
    out = []
    for i in range(len(n_obj)):
        txt = object_phrase(col[i][0], shp[i][0], siz[i][0], True) + " " + MOTIONS[mot[i][0]][3]
        if n_obj[i] == 2:
            txt += " and " + object_phrase(col[i][1], shp[i][1], 0, True) + " " + MOTIONS[mot[i][1]][3]
        if bgw[i]:
            a, b = bgs[bg[i]]
            txt += " on a " + (BG_COLOURS[a] + " background" if a == b else
                               BG_COLOURS[a] + " to " + BG_COLOURS[b] + " gradient")
        out.append(txt)
    return out


def vocabulary():
    """Every word the caption grammar can produce."""
    words = {"a", "an", "and", "on", "background", "to", "gradient", "small", "big"}
    words |= set(OBJ_COLOURS) | set(BG_COLOURS) | set(SHAPES)
    for m in MOTIONS:
        words |= set(m[3].split())
    return sorted(words)


# ---------------------------------------------------------------------------
# rendering
def to_device(t, dev):
    """Host tensor -> dev without a stream sync (pinned, non-blocking) when dev is a GPU."""
    dev = torch.device(dev)
    if dev.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(dev, non_blocking=True)
    return t.to(dev)


def render(spec, cfg, frames=None, chunk=None, device=None):
    """Clips as float [n, 3, T, H, W] in [-1, 1] (8-bit quantised) on `device` (default: the
    spec's), `chunk` clips at a time (default 64 on a GPU, 8 on the CPU).  With a host spec
    and a GPU device the GPU work is queued without a single host-device sync."""
    T = frames or spec["cx"].shape[-1]
    S = cfg["height"]
    dev = torch.device(device) if device is not None else spec["cx"].device
    host = {k: v.cpu() for k, v in spec.items()}  # no-op for a host spec
    sd = {k: to_device(host[k], dev) for k in ("cx", "cy", "r", "colour")}
    chunk = chunk or (64 if dev.type == "cuda" else 8)
    n = host["cx"].shape[0]
    bg_cols = torch.tensor([COLOURS[c] for c in BG_COLOURS], dtype=torch.float32)
    specs_t = torch.tensor(bg_specs())
    top_all = to_device(bg_cols[specs_t[host["bg"], 0]], dev)  # [n, 3]
    bot_all = to_device(bg_cols[specs_t[host["bg"], 1]], dev)
    objc = _colour_table(OBJ_COLOURS, dev)
    ys = (torch.arange(S, device=dev, dtype=torch.float32) + 0.5) / S
    out = torch.empty((n, 3, T, S, S), device=dev)
    px = torch.arange(S, device=dev, dtype=torch.float32) + 0.5
    for i0 in range(0, n, chunk):
        i1 = min(n, i0 + chunk)
        top, bot = top_all[i0:i1], bot_all[i0:i1]
        col = top[:, :, None] + (bot - top)[:, :, None] * ys[None, None, :]  # [b, 3, H]
        img = col[:, :, None, :, None].expand(-1, -1, T, -1, S).clone()  # [b, 3, T, H, W]
        for o in (1, 0):  # second object first, main object on top
            present = (host["n_obj"][i0:i1] > o) if o == 1 else torch.ones(i1 - i0, dtype=torch.bool)
            for s, name in enumerate(SHAPES):
                sel_h = torch.nonzero(present & (host["shape"][i0:i1, o] == s)).squeeze(1)  # on the host
                if sel_h.numel() == 0:
                    continue
                sel = to_device(sel_h, dev)
                g = sel + i0
                r = sd["r"][g, o][:, :T, None, None]
                u = (px[None, None, None, :] - sd["cx"][g, o][:, :T, None, None]) / r
                v = (px[None, None, :, None] - sd["cy"][g, o][:, :T, None, None]) / r
                u, v = torch.broadcast_tensors(u, v)
                alpha = (0.5 - shape_sdf(name, u, v) * r).clamp(0.0, 1.0)  # [k, T, H, W]
                c = objc[sd["colour"][g, o]][:, :, None, None, None]
                img[sel] = img[sel] * (1 - alpha[:, None]) + c * alpha[:, None]
        out[i0:i1] = torch.round(img).clamp(0, 255) / 127.5 - 1.0
    return out


def to_uint8(video):
    """[n, 3, T, H, W] in [-1, 1] -> uint8 [n, T, H, W, 3]."""
    return ((video.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 4, 1).contiguous()


def make_batch(n, cfg, gen, split="train", device="cpu", frames=None):
    """(clips on `device`, captions, spec).  The spec is sampled where `gen` lives: with a
    host generator and a GPU device nothing waits for the GPU (training does this)."""
    spec = sample_specs(n, cfg, gen, split=split, device=gen.device, frames=frames)
    return render(spec, cfg, frames=frames, device=device), captions(spec), spec


# ---------------------------------------------------------------------------
def write_ppm(path, img):
    """img uint8 [H, W, 3]."""
    h, w, _ = img.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(img.cpu().numpy().tobytes())


def selftest():
    import config
    cfg = config.get("full")
    n_held = len(triples(True))
    assert n_held >= 50, n_held
    assert not is_held_out(0, SHAPES.index("circle"), 1), "default prompt must be a training triple"
    # every colour, shape, motion appears in training
    tr = triples(False)
    for i, vals in enumerate((OBJ_COLOURS, SHAPES, MOTIONS)):
        assert {t[i] for t in tr} == set(range(len(vals)))
    g1 = torch.Generator().manual_seed(7)
    g2 = torch.Generator().manual_seed(7)
    v1, c1, s1 = make_batch(6, cfg, g1)
    v2, c2, _ = make_batch(6, cfg, g2)
    assert torch.equal(v1, v2) and c1 == c2, "not deterministic"
    gen = torch.Generator().manual_seed(1)
    spec = sample_specs(4096, cfg, gen)
    held = torch.tensor([is_held_out(c, s, m) for c, s, m in zip(spec["colour"].flatten().tolist(),
                                                                    spec["shape"].flatten().tolist(),
                                                                    spec["motion"].flatten().tolist())])
    held = held.view(-1, 2)
    assert not held[:, 0].any() and not held[spec["n_obj"] == 2, 1].any(), "held-out triple in training"
    S = cfg["height"]
    for o in (0, 1):
        m = spec["n_obj"] > o
        ext = EXTENT * spec["r"][m, o]
        assert ((spec["cx"][m, o] - ext) >= 0).all() and ((spec["cx"][m, o] + ext) <= S).all()
        assert ((spec["cy"][m, o] - ext) >= 0).all() and ((spec["cy"][m, o] + ext) <= S).all()
    two = spec["n_obj"] == 2
    frac2 = two.float().mean().item()
    assert 0.2 < frac2 < 0.4, frac2
    d = torch.hypot(spec["cx"][two, 0] - spec["cx"][two, 1], spec["cy"][two, 0] - spec["cy"][two, 1])
    assert (d >= EXTENT * (spec["r"][two, 0] + spec["r"][two, 1])).all(), "objects overlap"
    assert (spec["colour"][two, 0] != spec["colour"][two, 1]).all()
    a1 = torch.tensor(AREA)[spec["shape"][two, 0]] * spec["r"][two, 0].square().min(1).values
    a2 = torch.tensor(AREA)[spec["shape"][two, 1]] * spec["r"][two, 1].square().max(1).values
    assert (a2 <= SECOND_AREA_MAX * a1 + 1e-3).all(), "second object too large"
    caps = captions(spec)
    vocab = set(vocabulary())
    for c in caps:
        assert set(c.split()) <= vocab, c
    ev = eval_specs(cfg)
    ec = captions(ev)
    assert len(set(ec)) == n_held and all(" on a " in c for c in ec)
    for c, s, m in zip(ev["colour"][:, 0].tolist(), ev["shape"][:, 0].tolist(), ev["motion"][:, 0].tolist()):
        assert is_held_out(c, s, m)
    # rendered colours: the main object's centre pixel has its colour (frame 0)
    v, caps, spec = make_batch(8, cfg, torch.Generator().manual_seed(3))
    u8 = to_uint8(v)
    for i in range(8):
        x, y = int(spec["cx"][i, 0, 0]), int(spec["cy"][i, 0, 0])
        want = torch.tensor(COLOURS[OBJ_COLOURS[spec["colour"][i, 0]]], dtype=torch.int32)
        got = u8[i, 0, y, x].int()
        assert (got - want).abs().max() <= 1, (caps[i], got, want)
    print("data selftest ok: %d held-out triples, %d training triples, %.0f%% two-object clips, e.g. '%s'" %
          (n_held, len(tr), 100 * frac2, caps[0]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selftest", action="store_true")
    ap.add_argument("--preview", help="write a contact sheet PPM (first, middle, last frame of 8 clips)")
    ap.add_argument("--preset", default="full")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--heldout", action="store_true", help="print the held-out captions")
    a = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import config
    if a.selftest:
        selftest()
    if a.heldout:
        for c in captions(eval_specs(config.get(a.preset))):
            print(c)
    if a.preview:
        cfg = config.get(a.preset)
        v, caps, _ = make_batch(8, cfg, torch.Generator().manual_seed(a.seed))
        u8 = to_uint8(v)
        T = u8.shape[1]
        rows = [torch.cat([u8[i, t] for t in (0, T // 2, T - 1)], 1) for i in range(8)]
        write_ppm(a.preview, torch.cat(rows, 0))
        for c in caps:
            print(c)


if __name__ == "__main__":
    main()
