"""config.py - every size and hyper-parameter of the tiny Wan-architecture model.

Two presets share one code path:
  full  the shipped model (192x192, 33 frames; trained on the H100 by tools/tiny/gpu_train.sh)
  toy   a few-second CPU dry run of the whole pipeline (tools/tiny/dry_run.sh)

The caption language (colours, shapes, motions) lives in data.py; the C adherence
checker (models/tiny/adherence.c) mirrors it.  Sizes are justified in docs/tiny_model.md
(CPU budget of `spadit generate`: DiT forward timing and FLOP counts).
"""
import copy

# ---------------------------------------------------------------------------
# full: what ships in models/tiny/wan-tiny-t2v
FULL = {
    "name": "full",
    # video: 33 frames at 192x192 -> latent 16 x 9 x 24 x 24 -> 9 x 12 x 12 = 1296 DiT tokens
    "frames": 33, "height": 192, "width": 192, "fps": 16,
    "text_len": 512,         # rows the DiT context is zero-padded to (diffusers WanPipeline default)
    "token_len": 32,         # tokenizer padding used in training (captions are < 32 tokens)
    "vae": dict(base_dim=16, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1, attn_scales=[],
                temperal_downsample=[False, True, True], dropout=0.0),
    "text_encoder": dict(d_model=256, d_kv=64, num_heads=4, d_ff=512, num_layers=3,
                         relative_attention_num_buckets=32, relative_attention_max_distance=128,
                         feed_forward_proj="gated-gelu", dropout_rate=0.0, layer_norm_epsilon=1e-6),
    "dit": dict(patch_size=[1, 2, 2], num_attention_heads=2, attention_head_dim=128, in_channels=16,
                out_channels=16, text_dim=256, freq_dim=256, ffn_dim=1024, num_layers=5,
                cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6),
    "train": {
        "vae": dict(batch=16, frames=9, crop=96, lr=2e-4, head_lr_mult=3.0, warmup=100, kl_weight=1e-4, l1_weight=1.0,
                    l2_weight=1.0, fg_weight=4.0, probe_weight=1.0, stat_clips=256, total_minutes=4.0, lr_min_frac=0.1,
                    logvar_init=-6.0, restart=0, long_every=0, frames_long=33),
        "dec": dict(batch=48, frames=33, crop=96, lr=2e-4, head_lr_mult=3.0, warmup=100, l1_weight=1.0,
                    l2_weight=1.0, fg_weight=4.0, total_minutes=16.0, lr_min_frac=0.05),
        "dit": dict(batch=64, lr=2e-4, warmup=300, weight_decay=0.01, total_minutes=10.0, pool=2048,
                    refresh=16, caption_dropout=0.1, shift=3.0, lr_min_frac=0.05, restart=0, refresh_every=1,
                    encode_chunk=32, ema=0.0),
        "sla": dict(batch=32, lr=5e-5, warmup=50, weight_decay=0.01, total_minutes=3.0, pool=2048,
                    refresh=16, caption_dropout=0.1, shift=3.0, lr_min_frac=0.1, topk=0.1,
                    block_q=128, block_k=64, distill_weight=0.5, restart=0, refresh_every=1,
                    encode_chunk=32, ema=0.0),
        "eval_batch": 64,
        "grad_clip": 1.0,
        "log_every_s": 15.0,
    },
    # defaults for `spadit generate` (spadit.json)
    "generate": dict(steps=20, shift=3.0, guidance=5.0, sampler="unipc", negative_prompt="", seed=0),
}

# ---------------------------------------------------------------------------
# toy: same code, CPU-sized.  128x128 and 9 frames -> latent 3 x 16 x 16 -> 192 tokens,
# i.e. two 128-token query blocks and three 64-token key blocks, so SLA still selects.
TOY = copy.deepcopy(FULL)
TOY.update({
    "name": "toy",
    "frames": 9, "height": 128, "width": 128,
    "vae": dict(base_dim=8, z_dim=16, dim_mult=[1, 2, 2, 2], num_res_blocks=1, attn_scales=[],
                temperal_downsample=[False, True, True], dropout=0.0),
    "text_encoder": dict(d_model=64, d_kv=32, num_heads=2, d_ff=128, num_layers=1,
                         relative_attention_num_buckets=32, relative_attention_max_distance=128,
                         feed_forward_proj="gated-gelu", dropout_rate=0.0, layer_norm_epsilon=1e-6),
    "dit": dict(FULL["dit"], num_attention_heads=1, text_dim=64, ffn_dim=256, num_layers=2),
})
TOY["train"] = copy.deepcopy(FULL["train"])
TOY["train"]["vae"].update(batch=2, frames=5, crop=64, stat_clips=8, warmup=2, total_minutes=0.5)
TOY["train"]["dec"].update(batch=2, frames=5, crop=64, warmup=2, total_minutes=0.3)
TOY["train"]["dit"].update(batch=4, pool=16, refresh=4, warmup=2, total_minutes=0.3)
TOY["train"]["sla"].update(batch=4, pool=16, refresh=4, warmup=2, total_minutes=0.2)
TOY["train"].update(eval_batch=4, log_every_s=2.0)
TOY["generate"] = dict(FULL["generate"], steps=4)

PRESETS = {"full": FULL, "toy": TOY}


def get(name):
    if name not in PRESETS:
        raise SystemExit("unknown preset '%s' (choose from %s)" % (name, ", ".join(PRESETS)))
    return copy.deepcopy(PRESETS[name])


def latent_shape(cfg):
    """(C, F', H', W') of the VAE latent of one clip."""
    return (16, (cfg["frames"] - 1) // 4 + 1, cfg["height"] // 8, cfg["width"] // 8)


def num_tokens(cfg):
    _, f, h, w = latent_shape(cfg)
    return f * (h // 2) * (w // 2)
