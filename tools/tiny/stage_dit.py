"""stage_dit.py - train.py's `dit` and `sla` stages: flow matching as Wan is sampled.

Per training example (diffusers WanPipeline conventions, ../../../shared/specs/wan.md section 5):
  x0  = (mu_VAE(clip) - latents_mean) / latents_std          (the decoder gets z*std + mean)
  s   = shift * u / (1 + (shift - 1) u),  u = sigmoid(N(0, 1))  (logit-normal, then the same
        time shift the sampler uses; shift 3 puts more weight on high noise, where layout
        and motion are decided)
  x_t = (1 - s) x0 + s eps,  target v = eps - x0,  the DiT gets t = 1000 s
  ctx = UMT5(caption) rows of real tokens, zero rows up to 512; caption -> "" with p 0.1
        (classifier-free guidance; spadit's negative prompt is "")
The text encoder is trained jointly with the DiT (no pretrained encoder exists for this
caption language, and it is 2M parameters: learning it end to end costs nothing).

Latents come from a pool on the device: `pool` clips encoded at the stage start, then
`refresh` new clips per step replace the oldest (each clip is used about
batch / refresh times), so the VAE encoder is not the bottleneck.

`sla`: the student DiT gets SLA self-attention (sla.py, topk, 128 x 64 blocks) from the
dense weights, zero proj_l; the text encoder and a dense teacher copy are frozen; loss =
(1 - w) * flow matching + w * |student - teacher|^2 (TurboDiffusion trains SLA against the
full-attention teacher).  Validation loss: held-out captions, 8 fixed noise levels, fixed
noise; reported for the dense model and for SLA at topk 0.05 / 0.1 / 0.15 / 0.2.

Checked by the dry run (tools/tiny/dry_run.sh) and by export.py --check.
"""
import copy
import time

import torch
import torch.nn.functional as F

import ckpt
import config
import data
import models
import preview
import sla
from train import TOKENIZER_DIR, lr_at, set_lr

RESERVE_S = 15.0
VAL_SIGMAS = [(k + 0.5) / 8 for k in range(8)]


def enc_step(vmeta):
    """The training step of the VAE's encoder (stage `dec` trains the decoder alone)."""
    return vmeta.get("encoder_step", vmeta["step"])


def load_vae(run):
    src = run.find("vae")
    if not src:
        raise SystemExit("no VAE checkpoint in %s or %s: run the vae stage first" % (run.out, run.resume))
    tensors, meta = ckpt.load(src, "vae")
    vae = models.build_vae(run.cfg, meta["latents_mean"], meta["latents_std"])
    ckpt.load_into(vae, {k: v for k, v in tensors.items() if not k.startswith("aux.")})  # aux: training-only probe
    vae.to(run.device).eval().requires_grad_(False)
    return vae, meta


class LatentPool:
    """Normalised latents of generated clips and their captions, kept on the device."""

    def __init__(self, run, vae, size, stage):
        self.run, self.vae, self.size, self.stage = run, vae, size, stage
        self.lat = torch.empty((size,) + config.latent_shape(run.cfg), dtype=torch.bfloat16, device=run.device)
        self.caps = [""] * size
        self.ptr = 0
        self.mean, self.std = models.latent_stats(vae, run.device)

    @torch.no_grad()
    def add(self, n, gen, chunk=32):
        """Encode n new clips (specs from the host generator `gen`) over the oldest ones."""
        while n > 0:
            b = min(chunk, n)
            x, caps, _ = data.make_batch(b, self.run.cfg, gen, device=self.run.device)
            with self.run.autocast():
                mu = models.vae_encode_mu(self.vae, x).float()
            z = ((mu - self.mean) / self.std).to(torch.bfloat16)
            idx = [(self.ptr + i) % self.size for i in range(b)]
            self.lat[data.to_device(torch.tensor(idx), z.device)] = z
            for i, j in enumerate(idx):
                self.caps[j] = caps[i]
            self.ptr = (self.ptr + b) % self.size
            n -= b

    def refresh(self, tc, gen):
        """Every `refresh_every` calls, encode `refresh` new clips over the oldest (large encode
        batches keep the VAE's many small kernels off the per-step path)."""
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls % max(1, tc.get("refresh_every", 1)) == 0:
            self.add(tc["refresh"], gen, chunk=tc.get("encode_chunk", 32))

    def sample(self, b, gen):
        """b latents and captions, indices drawn from the host generator `gen`."""
        idx = torch.randint(self.size, (b,), generator=gen)
        return self.lat[data.to_device(idx, self.run.device)].float(), [self.caps[i] for i in idx.tolist()]


def text_context(run, te, tok, caps):
    ids, mask = models.tokenize(tok, caps, run.cfg["token_len"], run.device)
    return models.encode_text(te, ids, mask, run.cfg["text_len"])


def noisy(x0, gen, shift):
    B = x0.shape[0]
    eps = torch.randn(x0.shape, generator=gen, device=x0.device)
    u = torch.sigmoid(torch.randn(B, generator=gen, device=x0.device))
    s = shift * u / (1 + (shift - 1) * u)
    sv = s.view(B, 1, 1, 1, 1)
    return (1 - sv) * x0 + sv * eps, s * 1000.0, eps - x0


def dit_call(dit, xt, t, ctx):
    return dit(hidden_states=xt, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]


class ValSet:
    """Held-out captions, fixed noise, 8 noise levels: a loss that is comparable across runs."""

    @torch.no_grad()
    def __init__(self, run, vae, n):
        cfg, dev = run.cfg, run.device
        spec = data.eval_specs(cfg, device=dev)
        spec = {k: v[:n] for k, v in spec.items()}
        self.caps = data.captions(spec)
        mean, std = models.latent_stats(vae, dev)
        zs = []
        for i in range(0, len(self.caps), 16):
            part = {k: v[i:i + 16] for k, v in spec.items()}
            with run.autocast():
                zs.append(((models.vae_encode_mu(vae, data.render(part, cfg)).float() - mean) / std))
        self.x0 = torch.cat(zs)
        g = run.gen("eval", 0)
        self.eps = torch.randn((len(VAL_SIGMAS),) + self.x0.shape, generator=g, device=dev)
        self.run = run

    @torch.no_grad()
    def loss(self, te, tok, dit):
        run = self.run
        was = dit.training
        dit.eval()
        with run.autocast():
            ctx = text_context(run, te, tok, self.caps)
        tot = 0.0
        for k, s in enumerate(VAL_SIGMAS):
            xt = (1 - s) * self.x0 + s * self.eps[k]
            t = torch.full((self.x0.shape[0],), s * 1000.0, device=run.device)
            with run.autocast():
                v = dit_call(dit, xt, t, ctx).float()
            tot += F.mse_loss(v, self.eps[k] - self.x0).item()
        dit.train(was)
        return tot / len(VAL_SIGMAS)


def _preview(run, stage, te, tok, dit, vae):
    g = run.cfg["generate"]
    caps = preview.preview_captions(run.cfg)
    vids = preview.flow_sample(run, te, tok, dit, vae, caps, g["steps"], g["guidance"], g["shift"])
    preview.add_rows(run, stage, preview.frames_row(vids), caps)


def _pool(run, vae, tc, stage):
    t = time.time()
    pool = LatentPool(run, vae, tc["pool"], stage)
    pool.add(tc["pool"], run.gen(stage, 0, salt=2, device="cpu"))
    run.sync()
    run.log(stage, "latent pool: %d clips encoded in %.1fs" % (tc["pool"], time.time() - t))
    return pool


def _loop(run, stage, tc, minutes, t0, meta, params, step_fn):
    """Shared training loop: time budget, LR schedule, logging.
    step_fn(host_gen, device_gen) -> (loss, dict of logged tensors)."""
    opt = torch.optim.AdamW(params, lr=tc["lr"], betas=(0.9, 0.99), weight_decay=tc["weight_decay"])
    step0, minutes0 = meta.get("step", 0), meta.get("minutes", 0.0)
    # position in the learning-rate schedule: `restart` starts a new warm-up + cosine this call
    lr0 = 0.0 if tc.get("restart") else meta.get("lr_minutes", minutes0)
    step, n, cnt, acc = step0, 0, 0, {}
    decay = tc.get("ema", 0.0)
    ema = [p.detach().clone() for p in params] if decay > 0 else None
    t_log = time.time()
    budget = minutes * 60 - RESERVE_S
    while time.time() - t0 < budget or n == 0:
        gh, g = run.gens(stage, step)
        loss, parts = step_fn(gh, g)
        lr = lr_at(tc, lr0 + (time.time() - t0) / 60, n)
        set_lr(opt, lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        parts["gnorm"] = torch.nn.utils.clip_grad_norm_(params, run.cfg["train"]["grad_clip"])
        opt.step()
        if ema is not None:  # exponential moving average; short horizon while few steps were taken
            d = min(decay, (1.0 + n) / (10.0 + n))
            with torch.no_grad():
                torch._foreach_lerp_(ema, [p.detach() for p in params], 1.0 - d)
        step, n, cnt = step + 1, n + 1, cnt + 1
        for k, v in parts.items():
            acc[k] = acc.get(k, 0.0) + v.detach().float()
        if time.time() - t_log >= run.cfg["train"]["log_every_s"]:
            dt = time.time() - t_log
            run.log(stage, "step %d | %s | lr %.2e | %.1f it/s, %.0f clips/s | %.0fs" % (
                step, " ".join("%s %.4g" % (k, float(v) / cnt) for k, v in sorted(acc.items())), lr, cnt / dt,
                cnt * tc["batch"] / dt, time.time() - t0))
            acc, cnt, t_log = {}, 0, time.time()
    run.sync()
    meta["lr_minutes"] = lr0 + (time.time() - t0) / 60
    return step, n, minutes0 + (time.time() - t0) / 60, ema


@torch.no_grad()
def apply_ema(params, ema):
    """Copy the moving average into the parameters (what is validated, previewed and saved)."""
    if ema is not None:
        for p, e in zip(params, ema):
            p.copy_(e)


def train_dit(run, minutes):
    cfg, dev = run.cfg, run.device
    tc = cfg["train"]["dit"]
    t0 = time.time()
    vae, vmeta = load_vae(run)
    tok = models.load_tokenizer(TOKENIZER_DIR)
    torch.manual_seed(run.args.seed)
    te = models.build_text_encoder(cfg, len(tok)).to(dev)
    dit = models.build_dit(cfg).to(dev)
    meta = {}
    src = run.find("dit")
    if src:
        tensors, meta = ckpt.load(src, "dit")
        ckpt.load_into(te, ckpt.unprefix(tensors, "text_encoder."))
        ckpt.load_into(dit, ckpt.unprefix(tensors, "transformer."))
        run.log("dit", "resumed from %s: step %d, %.2f of %.2f min trained" % (src, meta["step"], meta["minutes"],
                                                                                tc["total_minutes"]))
        if meta.get("vae_step") != enc_step(vmeta):
            run.log("dit", "WARNING: this DiT was trained on the latents of VAE step %s, the encoder is now at step "
                    "%s" % (meta.get("vae_step"), enc_step(vmeta)))
    run.log("dit", "DiT %.2fM params, text encoder %.2fM params, %d tokens per clip, vocab %d" % (
        models.count_params(dit) / 1e6, models.count_params(te) / 1e6, config.num_tokens(cfg), len(tok)))
    te.train()
    dit.train()
    fwd = dit
    if run.args.compile:
        import torch._dynamo as dynamo
        dynamo.config.suppress_errors = True  # a graph that fails to compile runs eagerly
        fwd = torch.compile(dit)
    val = ValSet(run, vae, cfg["train"]["eval_batch"])
    v0 = val.loss(te, tok, dit)
    run.log("dit", "val loss at start %.5f" % v0)
    pool = _pool(run, vae, tc, "dit")

    def step_fn(gh, g):
        pool.refresh(tc, gh)
        x0, caps = pool.sample(tc["batch"], gh)
        drop = torch.rand(len(caps), generator=gh) < tc["caption_dropout"]
        caps = ["" if d else c for c, d in zip(caps, drop.tolist())]
        xt, t, target = noisy(x0, g, tc["shift"])
        with run.autocast():
            ctx = text_context(run, te, tok, caps)
            v = fwd(hidden_states=xt, timestep=t, encoder_hidden_states=ctx, return_dict=False)[0]
        loss = F.mse_loss(v.float(), target)
        return loss, {"loss": loss}

    params = list(te.parameters()) + list(dit.parameters())
    step, n, minutes_done, ema = _loop(run, "dit", tc, minutes, t0, meta, params, step_fn)
    v1 = val.loss(te, tok, dit)
    if ema is not None:
        apply_ema(params, ema)
        v_ema = val.loss(te, tok, dit)
        run.log("dit", "val loss %.5f (raw weights) -> %.5f (EMA %.4g, kept)" % (v1, v_ema, tc["ema"]))
        v1 = v_ema
    run.log("dit", "steps %d (+%d this call), %.2f min trained, %d clips seen; val loss %.5f -> %.5f" % (
        step, n, minutes_done, meta.get("samples_seen", 0) + n * tc["batch"], v0, v1))
    _preview(run, "dit", te, tok, dit, vae)
    meta = {"stage": "dit", "step": step, "minutes": minutes_done, "total_minutes": tc["total_minutes"],
            "preset": cfg["name"], "val_loss": v1, "vocab_size": len(tok), "text_encoder_config": cfg["text_encoder"],
            "dit_config": cfg["dit"], "samples_seen": meta.get("samples_seen", 0) + n * tc["batch"],
            "shift": tc["shift"], "vae_step": enc_step(vmeta), "lr_minutes": meta["lr_minutes"]}
    tensors = ckpt.prefixed(te, "text_encoder.")
    tensors.update(ckpt.prefixed(dit, "transformer."))
    ckpt.save(run.out, "dit", tensors, meta)


def train_sla(run, minutes):
    cfg, dev = run.cfg, run.device
    tc = cfg["train"]["sla"]
    t0 = time.time()
    vae, _ = load_vae(run)
    tok = models.load_tokenizer(TOKENIZER_DIR)
    src = run.find("dit")
    if not src:
        raise SystemExit("no DiT checkpoint: run the dit stage first")
    tensors, dmeta = ckpt.load(src, "dit")
    te = models.build_text_encoder(cfg, len(tok)).to(dev)
    ckpt.load_into(te, ckpt.unprefix(tensors, "text_encoder."))
    teacher = models.build_dit(cfg).to(dev)
    ckpt.load_into(teacher, ckpt.unprefix(tensors, "transformer."))
    te.eval().requires_grad_(False)
    teacher.eval().requires_grad_(False)
    student = copy.deepcopy(teacher).requires_grad_(True)
    sla.install_sla(student, tc["topk"], tc["block_q"], tc["block_k"])
    meta = {}
    s_src = run.find("sla")
    if s_src and ckpt.meta_only(s_src, "sla").get("dit_step") != dmeta["step"]:
        run.log("sla", "the SLA checkpoint in %s was tuned from an older DiT (step %s, now %s): starting over" % (
            s_src, ckpt.meta_only(s_src, "sla").get("dit_step"), dmeta["step"]))
        s_src = None
    if s_src:
        st, meta = ckpt.load(s_src, "sla")
        ckpt.load_into(student, ckpt.unprefix(st, "transformer."))
        run.log("sla", "resumed from %s: step %d, %.2f min trained" % (s_src, meta["step"], meta["minutes"]))
    nk = -(-config.num_tokens(cfg) // tc["block_k"])
    keep = max(1, int(tc["topk"] * nk))
    run.log("sla", "topk %.3g: %d of %d key blocks (%dx%d) per query block, %.1f%% of key blocks skipped" % (
        tc["topk"], keep, nk, tc["block_q"], tc["block_k"], 100 * (1 - keep / nk)))
    val = ValSet(run, vae, cfg["train"]["eval_batch"])
    v_dense = val.loss(te, tok, teacher)
    v_start = val.loss(te, tok, student)
    run.log("sla", "val loss: dense %.5f, SLA topk %.3g before this call %.5f" % (v_dense, tc["topk"], v_start))
    student.train()
    pool = _pool(run, vae, tc, "sla")
    w = tc["distill_weight"]

    def step_fn(gh, g):
        pool.refresh(tc, gh)
        x0, caps = pool.sample(tc["batch"], gh)
        drop = torch.rand(len(caps), generator=gh) < tc["caption_dropout"]
        caps = ["" if d else c for c, d in zip(caps, drop.tolist())]
        xt, t, target = noisy(x0, g, tc["shift"])
        with run.autocast():
            with torch.no_grad():
                ctx = text_context(run, te, tok, caps)
                vt = dit_call(teacher, xt, t, ctx).float()
            v = dit_call(student, xt, t, ctx).float()
        fm = F.mse_loss(v, target)
        dl = F.mse_loss(v, vt)
        return (1 - w) * fm + w * dl, {"loss": (1 - w) * fm + w * dl, "fm": fm, "distill": dl}

    params = list(student.parameters())
    step, n, minutes_done, ema = _loop(run, "sla", tc, minutes, t0, meta, params, step_fn)
    apply_ema(params, ema)
    _preview(run, "sla", te, tok, student, vae)
    results = {"dense": v_dense}
    for k in (0.05, 0.1, 0.15, 0.2):
        sla.set_topk(student, k)
        results["sla_topk_%g" % k] = val.loss(te, tok, student)
    sla.set_topk(student, tc["topk"])
    run.log("sla", "steps %d (+%d this call), %.2f min trained; val loss %s" % (
        step, n, minutes_done, ", ".join("%s %.5f" % kv for kv in results.items())))
    meta = {"stage": "sla", "step": step, "minutes": minutes_done, "preset": cfg["name"], "topk": tc["topk"],
            "block_q": tc["block_q"], "block_k": tc["block_k"], "formula": "main", "val_loss": results,
            "val_loss_sla_untrained": meta.get("val_loss_sla_untrained", v_start if not s_src else None),
            "dit_step": dmeta["step"], "distill_weight": w, "lr_minutes": meta["lr_minutes"]}
    ckpt.save(run.out, "sla", ckpt.prefixed(student, "transformer."), meta)
