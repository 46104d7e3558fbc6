#!/usr/bin/env python3
"""export.py - turn training checkpoints into the shipped diffusers-pipeline folder.

  python3 tools/tiny/export.py CKPT_DIR [OUT=models/tiny/wan-tiny-t2v] [--preset full] [--check]

CKPT_DIR holds vae.safetensors, dit-*.safetensors and (optionally) sla-*.safetensors from
train.py.  OUT gets (all weights bf16 except SLA's proj_l, kept f32):
  model_index.json          WanPipeline (diffusers 0.42), loads with WanPipeline.from_pretrained
  transformer/              WanTransformer3DModel: config.json + diffusion_pytorch_model.safetensors
  transformer_sla/          the SLA fine-tune: same config, + blocks.{i}.attn1.attn_impl.proj_l.*
  text_encoder/             UMT5EncoderModel: config.json + model.safetensors
  tokenizer/                tokenizer.json, tokenizer_config.json, spiece.model (the committed files)
  vae/                      AutoencoderKLWan, latents_mean / latents_std in config.json
  scheduler/                UniPCMultistepScheduler (flow_prediction, flow_shift = training shift)
  spadit.json               defaults of `spadit generate`
  MODEL_CARD.md             recipe and the numbers recorded in the checkpoints
Runs on the CPU in seconds.  --check reloads OUT with diffusers/transformers and compares
every component with the checkpoint modules (bf16-rounded), loads transformer_sla with its
proj_l, and runs the WanPipeline for 2 steps to see frames of the configured shape come out.
"""
import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ckpt  # noqa: E402
import config  # noqa: E402
import data  # noqa: E402
import models  # noqa: E402
import sla  # noqa: E402

REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "models", "tiny", "wan-tiny-t2v")
TOKENIZER_DIR = os.path.join(DEFAULT_OUT, "tokenizer")
TOKENIZER_FILES = ("spiece.model", "tokenizer.json", "tokenizer_config.json")


def load_all(ck, cfg):
    tok = models.load_tokenizer(TOKENIZER_DIR)
    vt, vmeta = ckpt.load(ck, "vae")
    vae = models.build_vae(cfg, vmeta["latents_mean"], vmeta["latents_std"])
    ckpt.load_into(vae, {k: v for k, v in vt.items() if not k.startswith("aux.")})  # aux: training-only probe
    dt, dmeta = ckpt.load(ck, "dit")
    te = models.build_text_encoder(cfg, len(tok))
    ckpt.load_into(te, ckpt.unprefix(dt, "text_encoder."))
    dit = models.build_dit(cfg)
    ckpt.load_into(dit, ckpt.unprefix(dt, "transformer."))
    student, smeta = None, None
    if ckpt.exists(ck, "sla"):
        st, smeta = ckpt.load(ck, "sla")
        student = models.build_dit(cfg)
        sla.install_sla(student, smeta["topk"], smeta["block_q"], smeta["block_k"])
        ckpt.load_into(student, ckpt.unprefix(st, "transformer."))
        if smeta.get("dit_step") != dmeta["step"]:
            print("warning: the SLA checkpoint was tuned from DiT step %s, the DiT checkpoint is at step %s" % (
                smeta.get("dit_step"), dmeta["step"]))
    for m in (vae, te, dit) + ((student,) if student is not None else ()):
        m.eval()
    return dict(tok=tok, vae=vae, te=te, dit=dit, sla=student, vmeta=vmeta, dmeta=dmeta, smeta=smeta)


def load_sla_transformer(path, dtype=torch.float32):
    """A transformer_sla/ folder as a WanTransformer3DModel with SLA attention installed."""
    from diffusers import WanTransformer3DModel
    from safetensors.torch import load_file
    with open(os.path.join(os.path.dirname(os.path.abspath(path)), "spadit.json")) as f:
        s = json.load(f)["attention"]["sla"]
    m = WanTransformer3DModel.from_config(WanTransformer3DModel.load_config(path))
    sla.install_sla(m, s["topk"], s["block_q"], s["block_k"])
    ckpt.load_into(m, load_file(os.path.join(path, "diffusion_pytorch_model.safetensors")))
    return m.to(dtype).eval()


def write_spadit_json(out, cfg, m):
    g = cfg["generate"]
    spec = {
        "_comment": "defaults of `spadit generate` for this model (docs/tiny_model.md)",
        "family": "wan2.1-t2v", "frames": cfg["frames"], "height": cfg["height"], "width": cfg["width"],
        "fps": cfg["fps"], "steps": g["steps"], "shift": g["shift"], "guidance": g["guidance"],
        "sampler": g["sampler"], "negative_prompt": g["negative_prompt"], "seed": g["seed"],
        "text_len": cfg["text_len"], "transformer": "transformer",
        "example_prompt": data.DEFAULT_PROMPT,
        "caption_checker": "tiny",  # trained on the caption language: `spadit compare` scores adherence
    }
    if m["smeta"]:
        spec["attention"] = {"sla": {"transformer": "transformer_sla", "variant": "main", "topk": m["smeta"]["topk"],
                                     "block_q": m["smeta"]["block_q"], "block_k": m["smeta"]["block_k"]}}
    with open(os.path.join(out, "spadit.json"), "w") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")


def folder_mb(path):
    tot = 0
    for root, _, files in os.walk(path):
        tot += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return tot / 1e6


def write_model_card(out, cfg, m):
    v, d, s = m["vmeta"], m["dmeta"], m["smeta"] or {}
    n = lambda mod: "%.2fM" % (models.count_params(mod) / 1e6)  # noqa: E731
    sv = s.get("val_loss", {})
    lines = [
        "# wan-tiny-t2v — a tiny text-to-video model with Wan2.1's architecture",
        "",
        "Trained from scratch on synthetic clips (tools/tiny/data.py) so that `spadit generate` has a",
        "default model that runs on two CPU cores with no download, and so sparse-attention A/B tests",
        "have a trained attention pattern.  Recipe and commands: docs/tiny_model.md.",
        "",
        "| component | class | size | config |",
        "|---|---|---|---|",
        "| transformer | diffusers WanTransformer3DModel | %s | %s |" % (n(m["dit"]), json.dumps(cfg["dit"])),
        ("| transformer_sla | same + SLA proj_l per layer | %s | topk %s, blocks %sx%s, `main` formula |" % (
            n(m["sla"]), s.get("topk"), s.get("block_q"), s.get("block_k")) if m["sla"] is not None else
         "| transformer_sla | (not exported: no SLA checkpoint) | - | - |"),
        "| text_encoder | transformers UMT5EncoderModel | %s | %s |" % (n(m["te"]), json.dumps(cfg["text_encoder"])),
        "| vae | diffusers AutoencoderKLWan | %s | %s |" % (n(m["vae"]), json.dumps(cfg["vae"])),
        "| tokenizer | SentencePiece unigram (nmt_nfkc) as T5TokenizerFast | %d pieces | pad 0, eos 1, unk 2 |" % len(
            m["tok"]),
        "",
        "Video: %d frames, %dx%d, %d fps; latent 16x%dx%dx%d, %d DiT tokens." % (
            (cfg["frames"], cfg["height"], cfg["width"], cfg["fps"]) + config.latent_shape(cfg)[1:] +
            (config.num_tokens(cfg),)),
        "Sampling defaults (spadit.json): UniPC, %d steps, shift %s, guidance %s, negative prompt \"\"." % (
            cfg["generate"]["steps"], cfg["generate"]["shift"], cfg["generate"]["guidance"]),
        "",
        "## Training (numbers recorded in the checkpoints)",
        "",
        "| stage | steps | GPU minutes | result |",
        "|---|---|---|---|",
        "| vae | %d (%d clips of %d frames) | %.2f | PSNR %.2f dB on held-out clips |" % (
            v["step"], v.get("clips_seen", 0), cfg["train"]["vae"]["frames"], v["minutes"], v.get("psnr_db", 0)),
        "| dit (+ text encoder) | %d (%d clips) | %.2f | val loss %.4f |" % (
            d["step"], d.get("samples_seen", 0), d["minutes"], d.get("val_loss", float("nan"))),
        "| sla | %s | %s | val loss %s |" % (
            s.get("step", "-"), "%.2f" % s["minutes"] if s else "-",
            ", ".join("%s %.4f" % kv for kv in sv.items()) if sv else "-"),
        "",
        "Validation loss: flow-matching MSE on the %d held-out captions at 8 fixed noise levels" % min(
            cfg["train"]["eval_batch"], len(data.triples(True))),
        "(tools/tiny/stage_dit.py ValSet); latents_mean / latents_std measured on %s clips." % v.get(
            "stat_clips", "?"),
        "",
        "## Measured (the lead fills these in)",
        "",
        "- GPU: ____ ; total GPU minutes: ____",
        "- caption adherence (models/tiny/adherence.c, `tools/tiny/sample.py` + `adherence_run`):",
        "  training clips (ceiling) ____ ; generated, training captions ____ ; generated, held-out captions ____",
        "- `spadit generate \"%s\"` on 2 CPU cores: ____ s" % data.DEFAULT_PROMPT,
        "",
        "Shipped size: %.1f MB." % folder_mb(out),
        "",
    ]
    with open(os.path.join(out, "MODEL_CARD.md"), "w") as f:
        f.write("\n".join(lines))


def export(ck, out, cfg):
    from diffusers import UniPCMultistepScheduler, WanPipeline
    from safetensors.torch import save_file
    m = load_all(ck, cfg)
    os.makedirs(out, exist_ok=True)
    sched = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                                    flow_shift=cfg["generate"]["shift"])
    bf = torch.bfloat16
    pipe = WanPipeline(tokenizer=m["tok"], text_encoder=m["te"].to(bf), transformer=m["dit"].to(bf),
                       vae=m["vae"].to(bf), scheduler=sched)
    keep_tok = os.path.abspath(out) == os.path.abspath(DEFAULT_OUT)
    tok_backup = {}
    if keep_tok:  # the pipeline re-saves the tokenizer; keep the committed files byte for byte
        for fn in TOKENIZER_FILES:
            with open(os.path.join(TOKENIZER_DIR, fn), "rb") as f:
                tok_backup[fn] = f.read()
    pipe.save_pretrained(out, safe_serialization=True)
    tdir = os.path.join(out, "tokenizer")
    for fn in os.listdir(tdir):
        os.remove(os.path.join(tdir, fn))
    for fn in TOKENIZER_FILES:
        if keep_tok:
            with open(os.path.join(tdir, fn), "wb") as f:
                f.write(tok_backup[fn])
        else:
            shutil.copyfile(os.path.join(TOKENIZER_DIR, fn), os.path.join(tdir, fn))
    with open(os.path.join(out, "model_index.json")) as f:
        mi = json.load(f)
    mi["tokenizer"] = ["transformers", "T5TokenizerFast"]  # what Wan2.1-Diffusers names (an alias in transformers 5)
    with open(os.path.join(out, "model_index.json"), "w") as f:
        json.dump(mi, f, indent=2, sort_keys=True)
        f.write("\n")
    sdir = os.path.join(out, "transformer_sla")
    if os.path.isdir(sdir):
        shutil.rmtree(sdir)
    if m["sla"] is not None:
        os.makedirs(sdir)
        m["sla"].save_config(sdir)
        sd = {k: (v.float() if "proj_l" in k else v.to(bf)).contiguous() for k, v in m["sla"].state_dict().items()}
        save_file(sd, os.path.join(sdir, "diffusion_pytorch_model.safetensors"), metadata={"format": "pt"})
    write_spadit_json(out, cfg, m)
    write_model_card(out, cfg, m)
    print("exported %s: %.1f MB" % (out, folder_mb(out)))
    return m


@torch.no_grad()
def check(out, ck, cfg):
    from diffusers import AutoencoderKLWan, WanPipeline, WanTransformer3DModel
    from transformers import AutoTokenizer, UMT5EncoderModel
    m = load_all(ck, cfg)
    for k in ("te", "dit", "vae", "sla"):
        if m[k] is not None:
            models.round_to_bf16_(m[k])
            if k == "sla":  # proj_l ships in f32: take it unrounded from the checkpoint
                st, _ = ckpt.load(ck, "sla")
                ckpt.load_into(m[k], {kk: v for kk, v in ckpt.unprefix(st, "transformer.").items() if "proj_l" in kk},
                               strict=False)
    tok = AutoTokenizer.from_pretrained(os.path.join(out, "tokenizer"))
    te = UMT5EncoderModel.from_pretrained(os.path.join(out, "text_encoder"), torch_dtype=torch.float32).eval()
    ids, mask = models.tokenize(tok, [data.DEFAULT_PROMPT, ""], 16, "cpu")
    a = models.encode_text(te, ids, mask, cfg["text_len"])
    b = models.encode_text(m["te"], ids, mask, cfg["text_len"])
    assert (a - b).abs().max() < 1e-4, "text encoder differs"
    dit = WanTransformer3DModel.from_pretrained(os.path.join(out, "transformer"), torch_dtype=torch.float32).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn((1,) + config.latent_shape(cfg), generator=g)
    ts = torch.tensor([700.0])
    y1 = dit(x, ts, a[:1], return_dict=False)[0]
    y2 = m["dit"](x, ts, a[:1], return_dict=False)[0]
    assert (y1 - y2).abs().max() < 1e-3, ("transformer differs", (y1 - y2).abs().max())
    vae = AutoencoderKLWan.from_pretrained(os.path.join(out, "vae"), torch_dtype=torch.float32).eval()
    assert list(vae.config.latents_std) == list(m["vae"].config.latents_std)
    z = torch.randn((1, 16, 2, 4, 4), generator=g)
    assert (vae.decode(z).sample - m["vae"].decode(z).sample).abs().max() < 1e-4, "vae differs"
    if m["sla"] is not None:
        s = load_sla_transformer(os.path.join(out, "transformer_sla"))
        assert sum(1 for k in s.state_dict() if "attn_impl.proj_l" in k) == 2 * cfg["dit"]["num_layers"]
        y3 = s(x, ts, a[:1], return_dict=False)[0]
        y4 = m["sla"](x, ts, a[:1], return_dict=False)[0]
        assert (y3 - y4).abs().max() < 1e-3, ("transformer_sla differs", (y3 - y4).abs().max())
    pipe = WanPipeline.from_pretrained(out, torch_dtype=torch.float32)
    vid = pipe(prompt=data.DEFAULT_PROMPT, negative_prompt="", height=cfg["height"], width=cfg["width"],
               num_frames=cfg["frames"], num_inference_steps=2, guidance_scale=cfg["generate"]["guidance"],
               generator=torch.Generator().manual_seed(0), output_type="np").frames[0]
    assert vid.shape == (cfg["frames"], cfg["height"], cfg["width"], 3), vid.shape
    with open(os.path.join(out, "spadit.json")) as f:
        sj = json.load(f)
    assert sj["frames"] == cfg["frames"] and sj["negative_prompt"] == ""
    print("export check ok: %s (%.1f MB) loads with diffusers %s / transformers; components match the "
          "checkpoints; WanPipeline gives %s frames" % (out, folder_mb(out), __import__("diffusers").__version__,
                                                        vid.shape))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ckpt")
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT)
    ap.add_argument("--preset", default="full", choices=sorted(config.PRESETS))
    ap.add_argument("--check", action="store_true", help="after exporting, reload and compare")
    ap.add_argument("--check-only", action="store_true")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    cfg = config.get(a.preset)
    if not a.check_only:
        export(a.ckpt, a.out, cfg)
    if a.check or a.check_only:
        check(a.out, a.ckpt, cfg)


if __name__ == "__main__":
    main()
