#!/usr/bin/env python3
"""sla.py - Sparse-Linear Attention (SLA, `main` formula) in plain PyTorch, and a diffusers
attention processor that puts it into the self-attention of WanTransformer3DModel.

Per batch b and head h, with Q, K, V [N, d] after the q/k RMSNorm and RoPE, tokens in
their natural (frame, row, col) order (../../../shared/specs/sla.md section 1):
  q_bar_i = mean of the rows of query block i (block_q rows; a partial last block divides
            by its real row count);  k_bar_j = the same over key blocks (block_k rows) of
            K - mean_over_all_tokens(K)
  score   = q_bar k_bar^T;  T = max(1, floor(topk * num_key_blocks));  critical set C(i) =
            the T highest scores of row i (ties: lower block index first)
  o_s     = softmax(Q K^T / sqrt(d)) V over the keys of C(i) only (renormalised there)
  phi(x)  = softmax over the head dim of each token;  H = sum_n phi(k_n) v_n^T,
            z = sum_n phi(k_n) over ALL tokens;  o_l = phi(q) H / (phi(q) . z + 1e-5)
  out     = o_s + o_l W_l^T + b_l,  proj_l = Linear(d, d) per layer, shared by heads, zero-init
The sparse branch is a dense masked computation (fine at 1296 tokens); block selection is
computed in fp32 and carries no gradient.  proj_l is stored under
blocks.{i}.attn1.attn_impl.proj_l.{weight,bias}, a name the C loader accepts.

Checked by `python3 tools/tiny/sla.py --selftest`: against a loop-by-loop reference on
shapes with partial blocks, ties, topk = 1 (== dense attention when proj_l is zero), and
a WanTransformer3DModel whose attention is swapped gives the dense output at topk = 1.
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def _block_mean(x, b):
    """x [..., N, d] -> [..., ceil(N/b), d]: mean of each block of b rows (partial last block
    divided by its real count)."""
    n = x.shape[-2]
    nb = (n + b - 1) // b
    pad = nb * b - n
    xs = F.pad(x, (0, 0, 0, pad)).unflatten(-2, (nb, b)).sum(-2)
    cnt = torch.full((nb,), float(b), device=x.device, dtype=x.dtype)
    cnt[-1] = n - (nb - 1) * b
    return xs / cnt[:, None]


def sla_select(q, k, topk, block_q=128, block_k=64):
    """Critical key blocks per query block.  q, k [B, H, N, d] -> bool [B, H, nq, nk]."""
    with torch.no_grad():
        dt = torch.promote_types(q.dtype, torch.float32)
        qf, kf = q.to(dt), k.to(dt)
        qb = _block_mean(qf, block_q)
        kb = _block_mean(kf - kf.mean(dim=-2, keepdim=True), block_k)
        score = qb @ kb.transpose(-1, -2)  # [B, H, nq, nk]
        nk = score.shape[-1]
        t = max(1, int(math.floor(topk * nk)))
        order = torch.sort(score, dim=-1, descending=True, stable=True).indices[..., :t]
        sel = torch.zeros_like(score, dtype=torch.bool).scatter_(-1, order, True)
    return sel


def sla_attention(q, k, v, proj_l, topk, block_q=128, block_k=64, return_parts=False):
    """SLA output [B, H, N, d] for q, k, v [B, H, N, d] (see the module docstring)."""
    B, H, N, d = q.shape
    sel = sla_select(q, k, topk, block_q, block_k)
    qi = torch.arange(N, device=q.device) // block_q
    ki = torch.arange(N, device=q.device) // block_k
    mask = sel[:, :, qi][:, :, :, ki]  # [B, H, N, N] token-level
    o_s = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    # linear branch in fp32 (or the inputs' wider type)
    dt = torch.promote_types(q.dtype, torch.float32)
    pq = torch.softmax(q.to(dt), dim=-1)
    pk = torch.softmax(k.to(dt), dim=-1)
    hk = pk.transpose(-1, -2) @ v.to(dt)  # [B, H, d, d]
    z = pk.sum(dim=-2)  # [B, H, d]
    o_l = (pq @ hk) / ((pq * z[:, :, None, :]).sum(-1, keepdim=True) + 1e-5)
    o_l = proj_l(o_l.to(proj_l.weight.dtype))  # bf16 under autocast, like every Linear
    out = o_s + o_l.to(o_s.dtype)
    if return_parts:
        return out, o_s, o_l, sel
    return out


class SLAAttnImpl(nn.Module):
    """The per-layer SLA state: proj_l (zero-initialised) and the selection settings."""

    def __init__(self, head_dim=128, topk=0.1, block_q=128, block_k=64):
        super().__init__()
        self.proj_l = nn.Linear(head_dim, head_dim)
        nn.init.zeros_(self.proj_l.weight)
        nn.init.zeros_(self.proj_l.bias)
        self.topk, self.block_q, self.block_k = topk, block_q, block_k

    def forward(self, q, k, v):
        """q, k, v [B, N, H, d] (diffusers layout) -> [B, N, H, d]."""
        o = sla_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), self.proj_l, self.topk,
                          self.block_q, self.block_k)
        return o.transpose(1, 2)


def _rope(x, cos, sin):
    """Rotate interleaved pairs (x[2p], x[2p+1]) by the angle whose cos/sin diffusers'
    WanRotaryPosEmbed gives (each value repeated for both members of a pair)."""
    xr, xi = x.unflatten(-1, (-1, 2)).unbind(-1)
    c, s = cos[..., 0::2], sin[..., 1::2]
    return torch.stack((xr * c - xi * s, xr * s + xi * c), dim=-1).flatten(-2).type_as(x)


class SLAProcessor:
    """Self-attention processor for diffusers' WanAttention: projections, full-width q/k
    RMSNorm and RoPE exactly as the stock processor, then SLA through attn.attn_impl."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        assert encoder_hidden_states is None, "SLA replaces self-attention only"
        q = attn.norm_q(attn.to_q(hidden_states)).unflatten(2, (attn.heads, -1))
        k = attn.norm_k(attn.to_k(hidden_states)).unflatten(2, (attn.heads, -1))
        v = attn.to_v(hidden_states).unflatten(2, (attn.heads, -1))
        if rotary_emb is not None:
            q = _rope(q, *rotary_emb)
            k = _rope(k, *rotary_emb)
        o = attn.attn_impl(q, k, v).flatten(2, 3).type_as(q)
        o = attn.to_out[0](o)
        return attn.to_out[1](o)


def install_sla(transformer, topk=0.1, block_q=128, block_k=64):
    """Give every block's self-attention an SLA implementation (new zero proj_l)."""
    for blk in transformer.blocks:
        a = blk.attn1
        if not hasattr(a, "attn_impl"):
            a.attn_impl = SLAAttnImpl(a.to_q.out_features // a.heads, topk, block_q, block_k).to(
                a.to_q.weight.device, a.to_q.weight.dtype)
        a.set_processor(SLAProcessor())
    set_topk(transformer, topk)
    return transformer


def set_topk(transformer, topk):
    for blk in transformer.blocks:
        if hasattr(blk.attn1, "attn_impl"):
            blk.attn1.attn_impl.topk = topk


# ---------------------------------------------------------------------------
def _reference(q, k, v, W, b, topk, bq, bk):
    """Loop-by-loop SLA for one (batch, head): q, k, v [N, d] float64."""
    N, d = q.shape
    nq, nk = -(-N // bq), -(-N // bk)
    kc = k - k.mean(0)
    qbar = [q[i * bq:min(N, (i + 1) * bq)].mean(0) for i in range(nq)]
    kbar = [kc[j * bk:min(N, (j + 1) * bk)].mean(0) for j in range(nk)]
    t = max(1, int(math.floor(topk * nk)))
    out = torch.zeros(N, d, dtype=torch.float64)
    phi = lambda x: torch.softmax(x, -1)  # noqa: E731
    Hs = sum(torch.outer(phi(k[n]), v[n]) for n in range(N))
    zs = sum(phi(k[n]) for n in range(N))
    for i in range(nq):
        sc = [(float(qbar[i] @ kbar[j]), j) for j in range(nk)]
        chosen = sorted(sorted(sc, key=lambda s: s[1]), key=lambda s: -s[0])[:t]
        keys = sorted(j for _, j in chosen)
        idx = torch.cat([torch.arange(j * bk, min(N, (j + 1) * bk)) for j in keys])
        for n in range(i * bq, min(N, (i + 1) * bq)):
            w = torch.softmax(q[n] @ k[idx].T / math.sqrt(d), 0)
            os_ = w @ v[idx]
            pq = phi(q[n])
            ol = (pq @ Hs) / (pq @ zs + 1e-5)
            out[n] = os_ + ol @ W.T + b
    return out


def selftest():
    torch.manual_seed(0)
    d = 128
    # 1. against the loop reference: partial blocks on both sides, two heads, batch 2
    for N, topk in ((300, 0.2), (200, 0.5), (130, 0.01)):
        B, H = 2, 2
        q, k, v = (torch.randn(B, H, N, d, dtype=torch.float64) for _ in range(3))
        q += 0.5 * torch.randn(B, H, 1, d, dtype=torch.float64)  # some structure in the block map
        proj = nn.Linear(d, d).double()
        got = sla_attention(q, k, v, proj, topk)
        for bb in range(B):
            for h in range(H):
                ref = _reference(q[bb, h], k[bb, h], v[bb, h], proj.weight.detach(), proj.bias.detach(), topk, 128, 64)
                err = (got[bb, h].detach() - ref).abs().max().item()
                assert err < 1e-9, ("reference mismatch", N, topk, err)
    # 2. ties: identical query/key rows -> all scores equal -> the first T blocks
    q = torch.ones(1, 1, 640, d)
    k = torch.ones(1, 1, 640, d)
    sel = sla_select(q, k, topk=0.3)
    t = int(0.3 * 10)
    assert sel[0, 0].sum(-1).eq(t).all() and sel[0, 0, :, :t].all(), "ties must pick the lowest blocks"
    # 3. topk = 1 and zero proj_l == dense attention
    q, k, v = (torch.randn(2, 3, 333, d) for _ in range(3))
    impl = SLAAttnImpl(d, topk=1.0)
    dense = F.scaled_dot_product_attention(q, k, v)
    got = impl(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)
    assert (got - dense).abs().max() < 1e-5
    # 4. the processor inside a diffusers WanTransformer3DModel
    from diffusers import WanTransformer3DModel
    m = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=128, in_channels=16,
                              out_channels=16, text_dim=32, freq_dim=256, ffn_dim=64, num_layers=2,
                              cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6).eval()
    x = torch.randn(1, 16, 3, 8, 12)
    ctx = torch.randn(1, 512, 32)
    ts = torch.tensor([500.0])
    with torch.no_grad():
        ref = m(x, ts, ctx, return_dict=False)[0]
        install_sla(m, topk=1.0)
        got = m(x, ts, ctx, return_dict=False)[0]
        assert (got - ref).abs().max() < 1e-4, (got - ref).abs().max()
        set_topk(m, 0.1)
        sp = m(x, ts, ctx, return_dict=False)[0]
        assert (sp - ref).abs().max() > 1e-3, "topk 0.1 should differ from dense"
    keys = [n for n in m.state_dict() if "proj_l" in n]
    assert keys[0] == "blocks.0.attn1.attn_impl.proj_l.weight" and len(keys) == 4, keys
    # 5. gradients reach proj_l and the projections
    m.train()
    for p in m.parameters():
        p.grad = None
    m.blocks[0].attn1.attn_impl.proj_l.weight.data.normal_()
    m(x, ts, ctx, return_dict=False)[0].square().mean().backward()
    assert m.blocks[0].attn1.attn_impl.proj_l.weight.grad.abs().sum() > 0
    assert m.blocks[0].attn1.to_q.weight.grad.abs().sum() > 0
    print("sla selftest ok: loop reference, ties, topk=1 == dense, WanTransformer3DModel processor, gradients")


if __name__ == "__main__":
    if "--selftest" in sys.argv:
        selftest()
    else:
        print(__doc__)
