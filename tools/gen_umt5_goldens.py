#!/usr/bin/env python3
"""Golden files for the umT5 encoder: transformers' UMT5EncoderModel /
T5EncoderModel with small random configs, weights saved in the HF layout
(save_pretrained) and in Wan's original layout (wan/modules/t5.py names),
input ids, attention masks and the fp32 encoder outputs.

Usage:  /opt/gold/bin/python tools/gen_umt5_goldens.py [OUT_DIR=tests/data]
Needs torch, transformers and safetensors (CPU is enough).  Deterministic for
the fixed seeds below.  The C tests (tests/test_umt5.c) load both layouts,
encode the stored ids and require relative L2 <= 1e-4 against the outputs.

Cases:
  umt5_small  UMT5 (a bias table in every layer), d_model 64, 4 heads x d_kv 16,
              d_ff 96, 3 layers, vocab 300, 32 buckets, max distance 128, eps 1e-6,
              gated-gelu.  BF16 weights.  Folders:
                umt5_small_hf/        config.json + model.safetensors (save_pretrained)
                umt5_small_original/  models_t5_umt5-xxl-enc-bf16.safetensors only
                                      (no config: the C loader infers it from shapes)
              io: a 200-token sequence (> max distance: log buckets and the clamp),
                  a 40-token sequence with 29 real tokens + padding (attention mask),
                  and transformers' bucket of every relative position in [-600, 600].
  t5_tiny     T5 v1.1 style (T5EncoderModel: one bias table in layer 0, shared),
              d_model 32, 2 heads x d_kv 24 (attention width 48 != d_model), d_ff 40,
              2 layers, vocab 260, 16 buckets, max distance 20, eps 1e-5, gated-gelu.
              F16 weights, HF layout only; io: 37 tokens incl. ids 0 and vocab-1,
              and the bucket table for (16, 20).
Weights are rounded to the stored dtype before the fp32 forward, so the files
hold exactly the weights the reference used.
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import T5Config, T5EncoderModel, UMT5Config, UMT5EncoderModel

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")


def to_original(name):
    """HF UMT5EncoderModel key -> Wan's T5Encoder key (wan/modules/t5.py)."""
    if name in ("shared.weight", "encoder.embed_tokens.weight"):
        return "token_embedding.weight"
    if name == "encoder.final_layer_norm.weight":
        return "norm.weight"
    p = name.split(".")  # encoder.block.{i}.layer.{0,1}.<rest>
    i, sub, rest = p[2], p[4], ".".join(p[5:])
    table = {
        ("0", "layer_norm.weight"): "norm1.weight",
        ("0", "SelfAttention.q.weight"): "attn.q.weight",
        ("0", "SelfAttention.k.weight"): "attn.k.weight",
        ("0", "SelfAttention.v.weight"): "attn.v.weight",
        ("0", "SelfAttention.o.weight"): "attn.o.weight",
        ("0", "SelfAttention.relative_attention_bias.weight"): "pos_embedding.embedding.weight",
        ("1", "layer_norm.weight"): "norm2.weight",
        ("1", "DenseReluDense.wi_0.weight"): "ffn.gate.0.weight",
        ("1", "DenseReluDense.wi_1.weight"): "ffn.fc1.weight",
        ("1", "DenseReluDense.wo.weight"): "ffn.fc2.weight",
    }
    return "blocks.%s.%s" % (i, table[(sub, rest)])


def randomize(model, cfg, seed, dtype):
    """Weights that make every term matter: unit-scale attention logits, bias ~ N(0, 1), norms != 1."""
    g = torch.Generator().manual_seed(seed)
    D, dk, F = cfg.d_model, cfg.d_kv, cfg.d_ff
    inner = cfg.num_heads * dk
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                std, mean = 0.2, 1.0
            elif "relative_attention_bias" in name:
                std, mean = 1.0, 0.0
            elif name.endswith((".q.weight", ".k.weight")):
                std, mean = D ** -0.5 * dk ** -0.25, 0.0
            elif name.endswith(".v.weight") or "wi_" in name:
                std, mean = D ** -0.5, 0.0
            elif name.endswith(".o.weight"):
                std, mean = inner ** -0.5, 0.0
            elif name.endswith("wo.weight"):
                std, mean = F ** -0.5, 0.0
            else:  # embedding
                std, mean = 1.0, 0.0
            v = mean + std * torch.randn(p.shape, generator=g)
            p.copy_(v.to(dtype).to(torch.float32))


def bucket_table(model, nb, md):
    attn = model.encoder.block[0].layer[0].SelfAttention
    assert attn.relative_attention_num_buckets == nb and attn.relative_attention_max_distance == md
    rel = torch.arange(-600, 601, dtype=torch.long)
    if isinstance(model, UMT5EncoderModel):  # a method reading its config
        return rel, attn._relative_position_bucket(rel)
    # T5: a static method whose defaults are 32 / 128; compute_bias passes the config's values
    return rel, attn._relative_position_bucket(rel, bidirectional=True, num_buckets=nb, max_distance=md)


def encode(model, ids, mask=None):
    with torch.no_grad():
        out = model(input_ids=ids[None], attention_mask=None if mask is None else mask[None]).last_hidden_state
    return out[0].contiguous()


def make_umt5_small():
    cfg = UMT5Config(vocab_size=300, d_model=64, d_kv=16, num_heads=4, d_ff=96, num_layers=3,
                     relative_attention_num_buckets=32, relative_attention_max_distance=128,
                     feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, dropout_rate=0.0,
                     is_encoder_decoder=False)
    cfg._attn_implementation = "eager"
    torch.manual_seed(7)
    model = UMT5EncoderModel(cfg).float().eval()
    randomize(model, cfg, 2024, torch.bfloat16)
    g = torch.Generator().manual_seed(11)
    ids_long = torch.randint(2, cfg.vocab_size, (200,), generator=g)
    ids_long[0], ids_long[57], ids_long[-1] = 0, cfg.vocab_size - 1, 1  # pad id, last id, EOS
    ids_pad = torch.zeros(40, dtype=torch.long)
    ids_pad[:29] = torch.randint(2, cfg.vocab_size, (29,), generator=g)
    ids_pad[28] = 1
    mask_pad = torch.zeros(40, dtype=torch.long)
    mask_pad[:29] = 1
    out_long = encode(model, ids_long)
    out_pad = encode(model, ids_pad, mask_pad)
    rel, bk = bucket_table(model, 32, 128)

    hf = os.path.join(OUT, "umt5_small_hf")
    model.to(torch.bfloat16).save_pretrained(hf, safe_serialization=True)
    model.float()
    sd = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    orig = {}
    for k, v in sd.items():
        orig.setdefault(to_original(k), v.to(torch.bfloat16))
    od = os.path.join(OUT, "umt5_small_original")
    os.makedirs(od, exist_ok=True)
    save_file(orig, os.path.join(od, "models_t5_umt5-xxl-enc-bf16.safetensors"))
    save_file({"ids_long": ids_long, "out_long": out_long, "ids_pad": ids_pad, "mask_pad": mask_pad,
               "out_pad": out_pad, "bucket_rel": rel, "bucket": bk},
              os.path.join(OUT, "umt5_small_io.safetensors"))
    print("umt5_small: |out_long| %.4f, |out_pad| %.4f, %d original tensors" %
          (out_long.norm().item(), out_pad.norm().item(), len(orig)))


def make_t5_tiny():
    cfg = T5Config(vocab_size=260, d_model=32, d_kv=24, num_heads=2, d_ff=40, num_layers=2,
                   relative_attention_num_buckets=16, relative_attention_max_distance=20,
                   feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-5, dropout_rate=0.0,
                   is_encoder_decoder=False)
    cfg._attn_implementation = "eager"
    torch.manual_seed(8)
    model = T5EncoderModel(cfg).float().eval()
    randomize(model, cfg, 77, torch.float16)
    g = torch.Generator().manual_seed(12)
    ids = torch.randint(0, cfg.vocab_size, (37,), generator=g)
    ids[3], ids[20], ids[-1] = 0, cfg.vocab_size - 1, 1
    out = encode(model, ids)
    rel, bk = bucket_table(model, 16, 20)
    model.to(torch.float16).save_pretrained(os.path.join(OUT, "t5_tiny_hf"), safe_serialization=True)
    save_file({"ids": ids, "out": out, "bucket_rel": rel, "bucket": bk}, os.path.join(OUT, "t5_tiny_io.safetensors"))
    print("t5_tiny: |out| %.4f" % out.norm().item())


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    os.makedirs(OUT, exist_ok=True)
    make_umt5_small()
    make_t5_tiny()
