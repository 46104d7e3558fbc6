#!/usr/bin/env python3
"""Golden files for the CPU references of Rectified SpaAttn and SLA (attention/rectified_cpu.c,
attention/sla_cpu.c): a second, independent implementation of docs/attention.md in float64
torch, written with whole-tensor operations (token-level masks, argsort/cumsum, einsum) rather
than the C loops.  Independent on purpose:
  - the block selection is a boolean [H, nqb, nkb] tensor expanded to a token mask [H, S, S];
    sparse attention is a masked dense softmax;
  - GAPR / IPAR are einsums over all (i, j) at once;
  - the SLA linear branch uses the kernel form o_l,t = Σ_u m_tu (φ(q_t)·φ(k_u)) v_u /
    (Σ_u m_tu φ(q_t)·φ(k_u) + 1e-5) with m = 1 (main) or the non-selected token mask (sla1),
    instead of the state H = Σ φ(k)vᵀ the C code builds;
  - the neighbour mask is built from the Gilbert order of the reference Python
    (tests/data/gilbert_golden.safetensors, tools/gen_gilbert_goldens.py) with vectorised
    numpy, not with attention/gilbert.c.

Usage:  /opt/gold/bin/python tools/gen_sparse_goldens.py [OUT_DIR=tests/data]
Needs numpy, torch (CPU) and safetensors; deterministic.  Run gen_gilbert_goldens.py first.

Every decision (ranking boundary, cumsum vs tau, GAPR gain vs error, SLA top-T boundary) is
checked to have a margin (1e-9 relative) so that the C code in double precision must take
the same one; a seed whose inputs come closer is skipped.  Parameters are float32 values
(what the C structs hold), used as float64.

Input sets (inputs float32, [S, H, D]; "x" = q, k, v):
  wan    S = 180 tokens of a 3x6x10 latent grid in Gilbert order, H = 2, D = 32, blocks of 16
         (12 video blocks, the last with 4 tokens), latent_frames = 3 (forced square F = 4);
         wan_neighbor [12, 12] u8 (26-neighbour block mask), wan_proj_w [32, 32], wan_proj_b [32].
  joint  S = 190: 150 video tokens (10 blocks of 16, the last with 6) + 40 text tokens of which
         27 valid, H = 3, D = 24.
  b128   S = 520, H = 1, D = 16, the published block size 128 (5 blocks, the last with 8);
         b128_proj_w, b128_proj_b.
Cases (<case>_params F64; rectified: [1, drop_rate, tau, gapr, neighbors, forced_square, block,
latent_frames, n_video, n_text_valid]; sla: [2, topk, variant (0 main, 1 sla1), block_q, block_k]):
  wan_rect      drop 0.75, tau 0.3, GAPR, neighbours, forced square (the Wan preset at B = 16)
  wan_nogapr    the same without GAPR (R = 1, c = 0)
  wan_top1      drop 0.95, tau 0: one ranked block per row, GAPR on, no neighbours / square
  wan_topp      drop 0.9, tau 0.5: the top-p rule decides n_i
  wan_sla       SLA main, topk 0.25, block_q 32, block_k 16
  wan_sla1      SLA-1, same
  joint_rect    IPAR: drop 0.7, tau 0.3, GAPR on
  joint_nogapr  IPAR without GAPR
  b128_rect     B = 128: drop 0.6, tau 0.3, GAPR, forced square with latent_frames 2
  b128_sla      SLA main, topk 0.2, block_q 128, block_k 64
Outputs per case: <case>_out F32 [S, H, D]; <case>_sel U8 [H, nqb, nkb] (1 kept, 2 GAPR-
compensated, 0 dropped); <case>_nrank I32 [H, nqb] (n_i, or T for SLA); rectified also
<case>_R F32 [H, nqb] and <case>_c F32 [H, nqb, D].
The C test (tests/test_attn_sparse.c) requires out within 1e-5 relative L2, the same selection,
n_ranked, R and c within 1e-6.
"""
import math
import os
import sys

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

torch.set_default_dtype(torch.float64)
MARGIN = 1e-9
EPS = 1e-5


def f32(x):
    return float(np.float32(x))


# ---------------------------------------------------------------- Rectified SpaAttn

def pad_blocks(x, n, B):
    """x[:n] zero-padded to whole blocks: [nb, B, H, D]."""
    nb = -(-n // B)
    out = torch.zeros(nb * B, *x.shape[1:])
    out[:n] = x[:n]
    return out.view(nb, B, *x.shape[1:])


def rectified(q, k, v, prm, neighbor):
    """Returns out [S,H,D], sel [H,nqb,nkb] (0/1/2), nrank [H,nqb], R [H,nqb], c [H,nqb,D], margins."""
    _, drop, tau, gapr, use_nb, forced, B, T_lat, n_video, n_text = prm
    B, T_lat, n_video, n_text = int(B), int(T_lat), int(n_video), int(n_text)
    S, H, D = q.shape
    sc = 1.0 / math.sqrt(D)
    joint = n_video < S
    nv = -(-n_video // B)
    nqb = nv + -(-(S - n_video) // B)
    nkb = nv + -(-n_text // B)
    qb, kb, vb = (pad_blocks(x, n_video, B) for x in (q, k, v))          # [nv, B, H, D]
    Qb, Kb, Vb = (x.mean(1).permute(1, 0, 2) for x in (qb, kb, vb))    # pad-mean, [H, nv, D]
    mq = (qb - Qb.permute(1, 0, 2)[:, None]).abs().mean(1).permute(1, 0, 2)
    mk = (kb - Kb.permute(1, 0, 2)[:, None]).abs().mean(1).permute(1, 0, 2)
    s = sc * torch.einsum("hid,hjd->hij", Qb, Kb)
    if joint:
        kt = k[n_video:n_video + n_text]                                   # [n_text, H, D]
        st = sc * torch.einsum("hid,thd->hit", Qb, kt)
        p = torch.softmax(torch.cat([s, st], -1), -1)
        Sv, Tt = p[..., :nv].sum(-1, keepdim=True), p[..., nv:].sum(-1, keepdim=True)
        A = torch.cat([B * p[..., :nv] / (B * Sv + Tt), Tt / (B * Sv + Tt)], -1)
    else:
        A = torch.softmax(s, -1)
    ncols = A.shape[-1]
    An = A.numpy()
    order = np.argsort(-An, axis=-1, kind="stable")                      # ties: lower column first
    sA = np.take_along_axis(An, order, -1)
    cum = np.cumsum(sA, -1)
    top_k = min(nv, max(1, math.floor((1.0 - drop) * nv + 1e-4)))
    n = np.minimum(ncols, np.maximum(top_k, 1 + (cum <= tau).sum(-1)))  # [H, nv]
    rank = np.argsort(order, axis=-1)                                     # position of each column
    crit = rank < n[..., None]
    sel_vv = crit[..., :nv].copy()
    if use_nb:
        sel_vv |= neighbor[None].astype(bool)
    F = nv // T_lat if forced else 0
    sel_vv[:, :F, :F] = True
    gain = torch.einsum("hid,hjd->hij", Qb, Kb).abs().numpy()
    err = (torch.einsum("hid,hjd->hij", mq, Kb).abs() + torch.einsum("hid,hjd->hij", Qb, mk).abs()).numpy()
    comp = (~sel_vv) & (gain > err) if gapr else np.zeros_like(sel_vv)
    Av = An[..., :nv] * comp
    R = 1.0 - Av.sum(-1)
    c = np.einsum("hij,hjd->hid", Av, Vb.numpy())
    # block selection [H, nqb, nkb]
    sel = np.ones((H, nqb, nkb), np.uint8)
    sel[:, :nv, :nv] = np.where(sel_vv, 1, np.where(comp, 2, 0))
    nrank = np.full((H, nqb), nkb, np.int32)
    nrank[:, :nv] = n
    Rf = np.ones((H, nqb))
    Rf[:, :nv] = R
    cf = np.zeros((H, nqb, D))
    cf[:, :nv] = c
    # token-level attention
    tok = np.arange(S)
    qblk = np.where(tok < n_video, tok // B, nv + (tok - n_video) // B)
    kvalid = tok < n_video + n_text
    kblk = np.where(tok < n_video, tok // B, nv + np.maximum(tok - n_video, 0) // B)
    kblk = np.where(kvalid, kblk, 0)
    M = torch.from_numpy((sel[:, qblk][:, :, kblk] == 1) & kvalid[None, None, :])  # [H, S, S]
    logits = sc * torch.einsum("thd,uhd->htu", q, k)
    P = torch.softmax(logits.masked_fill(~M, -math.inf), -1)
    o = torch.einsum("htu,uhd->thd", P, v).numpy()
    o = Rf[:, qblk].T[..., None] * o + cf[:, qblk].transpose(1, 0, 2)
    # decision margins: cumsum vs tau, ranking boundary, GAPR
    marg = [np.abs(cum - tau).min() if tau > 0 else 1.0]
    nn = n[..., None]
    at = np.take_along_axis(sA, np.minimum(nn, ncols - 1), -1) - np.take_along_axis(sA, nn - 1, -1)
    marg.append(np.where(nn < ncols, np.abs(at), 1.0).min())
    if gapr:
        marg.append((np.abs(gain - err) / (gain + err + 1e-300)).min())
    return o, sel, nrank, Rf, cf, min(marg)


# ---------------------------------------------------------------- SLA

def seg_mean(x, blk, nb):
    out = torch.zeros(nb, *x.shape[1:]).index_add_(0, torch.from_numpy(blk), x)
    cnt = torch.from_numpy(np.bincount(blk, minlength=nb)).to(x.dtype)
    return out / cnt[:, None, None]


def sla(q, k, v, W, b, prm):
    _, topk, variant, bq, bk = prm
    bq, bk = int(bq), int(bk)
    S, H, D = q.shape
    Sk = k.shape[0]
    sc = 1.0 / math.sqrt(D)
    qblk, kblk = np.arange(S) // bq, np.arange(Sk) // bk
    nqb, nkb = qblk.max() + 1, kblk.max() + 1
    qm = seg_mean(q, qblk, nqb)                                  # [nqb, H, D]
    km = seg_mean(k - k.mean(0, keepdim=True), kblk, nkb)        # smooth-K
    score = torch.einsum("ihd,jhd->hij", qm, km).numpy()
    T = min(nkb, max(1, math.floor(topk * nkb + 1e-4)))
    order = np.argsort(-score, axis=-1, kind="stable")
    keep = np.argsort(order, axis=-1) < T                        # [H, nqb, nkb]
    ss = np.take_along_axis(score, order, -1)
    marg = np.abs(ss[..., T - 1] - ss[..., T]).min() / (np.abs(ss).max() + 1e-300) if T < nkb else 1.0
    M = torch.from_numpy(keep[:, qblk][:, :, kblk])              # [H, S, Sk]
    logits = sc * torch.einsum("thd,uhd->htu", q, k)
    os_ = torch.einsum("htu,uhd->thd", torch.softmax(logits.masked_fill(~M, -math.inf), -1), v)
    G = torch.einsum("tha,uha->htu", torch.softmax(q, -1), torch.softmax(k, -1))
    m = torch.ones_like(G) if int(variant) == 0 else (~M).to(G.dtype)
    ol = torch.einsum("htu,uhd->thd", m * G, v) / ((m * G).sum(-1).T[..., None] + EPS)
    out = os_ + ol @ W.T + b
    return out.numpy(), keep.astype(np.uint8), np.full((H, nqb), T, np.int32), marg


# ---------------------------------------------------------------- inputs

def grid_inputs(rng, order, T, Hh, W, H, D):
    """Smooth functions of the latent position plus noise, rows in the given token order."""
    f, i, j = order // (Hh * W), order // W % Hh, order % W
    pos = np.stack([f / T, i / Hh, j / W], 1)                   # [S, 3]
    out = []
    for _ in range(3):
        freq = rng.normal(0, 4.0, (3, H, D))
        phase = rng.uniform(0, 2 * np.pi, (H, D))
        amp = rng.uniform(0.5, 2.0, (H, D))
        x = amp * np.sin(np.einsum("sc,chd->shd", pos, freq) + phase) + 0.5 * rng.normal(0, 1, (len(order), H, D))
        out.append(x)
    return out


def block_inputs(rng, S, H, D, B):
    """Per-block offsets plus noise (plain sequences)."""
    out = []
    for _ in range(3):
        off = rng.normal(0, 1.0, (-(-S // B), H, D))
        out.append(np.repeat(off, B, 0)[:S] + rng.normal(0, 1.0, (S, H, D)))
    return out


def neighbor_mask(order, T, Hh, W, B):
    n = T * Hh * W
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    blk = (rank // B).reshape(T, Hh, W)
    nb = -(-n // B)
    m = np.zeros((nb, nb), np.uint8)
    for df in (-1, 0, 1):
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                a = blk[max(0, -df):T - max(0, df), max(0, -di):Hh - max(0, di), max(0, -dj):W - max(0, dj)]
                b = blk[max(0, df):T + min(0, df), max(0, di):Hh + min(0, di), max(0, dj):W + min(0, dj)]
                m[a.ravel(), b.ravel()] = 1
    return m


def t64(x):
    return torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(torch.float64)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                                 "tests", "data")
    gil = load_file(os.path.join(out_dir, "gilbert_golden.safetensors"))
    order = gil["order_3x6x10"].astype(np.int64)
    wan_nb = neighbor_mask(order, 3, 6, 10, 16)
    R = lambda drop, tau, gapr, nbr, forced, B, T, nvid, ntxt: [1, f32(drop), f32(tau), gapr, nbr, forced, B, T, nvid, ntxt]
    cases = {
        "wan_rect": R(0.75, 0.3, 1, 1, 1, 16, 3, 180, 0),
        "wan_nogapr": R(0.75, 0.3, 0, 1, 1, 16, 3, 180, 0),
        "wan_top1": R(0.95, 0.0, 1, 0, 0, 16, 3, 180, 0),
        "wan_topp": R(0.9, 0.5, 1, 0, 0, 16, 3, 180, 0),
        "wan_sla": [2, f32(0.25), 0, 32, 16],
        "wan_sla1": [2, f32(0.25), 1, 32, 16],
        "joint_rect": R(0.7, 0.3, 1, 0, 0, 16, 1, 150, 27),
        "joint_nogapr": R(0.7, 0.3, 0, 0, 0, 16, 1, 150, 27),
        "b128_rect": R(0.6, 0.3, 1, 0, 1, 128, 2, 520, 0),
        "b128_sla": [2, f32(0.2), 0, 128, 64],
    }
    shapes = {"wan": (180, 2, 32), "joint": (190, 3, 24), "b128": (520, 1, 16)}
    for seed in range(100):
        rng = np.random.default_rng(20250 + seed)
        tensors = {"wan_neighbor": wan_nb}
        inputs = {}
        for name, (S, H, D) in shapes.items():
            x = grid_inputs(rng, order, 3, 6, 10, H, D) if name == "wan" else block_inputs(rng, S, H, D, 16 if name == "joint" else 128)
            for nm, arr in zip("qkv", x):
                tensors["%s_%s" % (name, nm)] = np.ascontiguousarray(arr, np.float32)
            inputs[name] = [t64(a) for a in x]
            if name != "joint":
                w = rng.normal(0, 0.3, (D, D))
                bb = rng.normal(0, 0.1, D)
                tensors[name + "_proj_w"] = np.ascontiguousarray(w, np.float32)
                tensors[name + "_proj_b"] = np.ascontiguousarray(bb, np.float32)
                inputs[name] += [t64(w), t64(bb)]
        worst = 1.0
        report = []
        for case, prm in cases.items():
            set_name = case.split("_")[0]
            q, k, v = inputs[set_name][:3]
            tensors[case + "_params"] = np.asarray(prm, np.float64)
            if prm[0] == 1:
                o, sel, nrank, Rf, cf, marg = rectified(q, k, v, prm, wan_nb if set_name == "wan" else None)
                tensors[case + "_R"] = Rf.astype(np.float32)
                tensors[case + "_c"] = cf.astype(np.float32)
                report.append("%-13s kept %4d comp %3d of %4d, n_i %s, R in [%.3f, %.3f]" % (
                    case, (sel == 1).sum(), (sel == 2).sum(), sel.size, sorted(set(nrank.ravel().tolist())),
                    Rf.min(), Rf.max()))
            else:
                W, bb = inputs[set_name][3:]
                o, sel, nrank, marg = sla(q, k, v, W, bb, prm)
                report.append("%-13s kept %4d of %4d, T %d" % (case, (sel == 1).sum(), sel.size, nrank[0, 0]))
            tensors[case + "_out"] = np.ascontiguousarray(o, np.float32)
            tensors[case + "_sel"] = sel
            tensors[case + "_nrank"] = nrank
            worst = min(worst, marg)
        if worst > MARGIN:
            break
        print("seed %d: a decision margin is %.2e, trying the next seed" % (seed, worst))
    else:
        raise SystemExit("no seed with safe margins")
    print("\n".join(report))
    print("seed %d, smallest decision margin %.2e" % (20250 + seed, worst))
    dst = os.path.join(out_dir, "sparse_golden.safetensors")
    save_file(tensors, dst, metadata={"generator": "tools/gen_sparse_goldens.py", "seed": str(20250 + seed)})
    print("wrote", dst, os.path.getsize(dst), "bytes")


if __name__ == "__main__":
    main()
