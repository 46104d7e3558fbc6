"""models.py - the tiny model's three networks, built from library classes with small configs,
plus the glue that makes training see exactly what diffusers' WanPipeline feeds them.

  text encoder  transformers UMT5EncoderModel (pad 0, eos 1; gated-gelu; 32 buckets)
  VAE           diffusers AutoencoderKLWan (Wan2.1 causal 3-D VAE, z 16, 4x8x8)
  DiT           diffusers WanTransformer3DModel (head_dim 128, patch 1x2x2)

Text conditioning follows WanPipeline._get_t5_prompt_embeds: tokenize with EOS, run the
encoder with the attention mask, keep the first L = (tokens incl. EOS) rows and zero the
rest up to 512 rows (the DiT's cross-attention is unmasked, so the pad rows matter).
Latents follow WanPipeline: z = (mu - mean) / std for the DiT; the decoder gets z*std + mean.

Checked by the dry run (tools/tiny/dry_run.sh): export.py --check reloads the exported
folder with diffusers/transformers and compares outputs with these modules.
"""
import torch
import torch.nn.functional as F


def build_text_encoder(cfg, vocab_size):
    from transformers import UMT5Config, UMT5EncoderModel
    tc = UMT5Config(vocab_size=vocab_size, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
                    is_encoder_decoder=False, use_cache=False, **cfg["text_encoder"])
    return UMT5EncoderModel(tc)


def build_vae(cfg, latents_mean=None, latents_std=None):
    from diffusers import AutoencoderKLWan
    kw = dict(cfg["vae"])
    kw["latents_mean"] = list(latents_mean) if latents_mean is not None else [0.0] * 16
    kw["latents_std"] = list(latents_std) if latents_std is not None else [1.0] * 16
    return AutoencoderKLWan(**kw)


def build_dit(cfg):
    from diffusers import WanTransformer3DModel
    kw = dict(cfg["dit"])
    kw["patch_size"] = tuple(kw["patch_size"])
    assert kw["attention_head_dim"] == 128, "Wan heads are 128 wide"
    return WanTransformer3DModel(**kw)


def load_tokenizer(path):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(path)


def tokenize(tok, captions, length, device):
    """ids [B, length], mask [B, length] (EOS appended, pad 0), as WanPipeline with max_length=length."""
    t = tok(list(captions), padding="max_length", max_length=length, truncation=True, add_special_tokens=True,
            return_attention_mask=True, return_tensors="pt")
    if torch.device(device).type == "cuda":  # pinned + non-blocking: no wait for the GPU queue
        return (t.input_ids.pin_memory().to(device, non_blocking=True),
                t.attention_mask.pin_memory().to(device, non_blocking=True))
    return t.input_ids.to(device), t.attention_mask.to(device)


def encode_text(te, ids, mask, text_len):
    """Context [B, text_len, d_model]: encoder rows of real tokens, zero rows after (WanPipeline)."""
    h = te(input_ids=ids, attention_mask=mask).last_hidden_state
    h = h * mask[..., None].to(h.dtype)
    if h.shape[1] < text_len:
        h = F.pad(h, (0, 0, 0, text_len - h.shape[1]))
    return h[:, :text_len]


def latent_stats(vae, device, dtype=torch.float32):
    c = vae.config
    mean = torch.tensor(c.latents_mean, device=device, dtype=dtype).view(1, -1, 1, 1, 1)
    std = torch.tensor(c.latents_std, device=device, dtype=dtype).view(1, -1, 1, 1, 1)
    return mean, std


def vae_encode_mu(vae, video):
    """Posterior mean of the VAE latent, unnormalised.  video [B, 3, T, H, W] in [-1, 1]."""
    return vae.encode(video).latent_dist.mean


def vae_decode_raw(vae, z):
    """AutoencoderKLWan._decode without the final clamp to [-1, 1] (so training gets gradients
    where the output overshoots).  Same per-latent-frame streaming with causal caches."""
    vae.clear_cache()
    x = vae.post_quant_conv(z)
    outs = []
    for i in range(z.shape[2]):
        vae._conv_idx = [0]
        outs.append(vae.decoder(x[:, :, i:i + 1], feat_cache=vae._feat_map, feat_idx=vae._conv_idx,
                                first_chunk=(i == 0)))
    vae.clear_cache()
    return torch.cat(outs, 2)


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def round_to_bf16_(module):
    """Round every parameter to the nearest bf16 value in place (kept in its dtype)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.to(torch.bfloat16).to(p.dtype))
