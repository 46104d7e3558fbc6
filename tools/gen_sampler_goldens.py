#!/usr/bin/env python3
"""Golden files for the samplers (sampler/): schedules and whole trajectories
from the reference implementations, on a fixed toy velocity field.

Usage:  /opt/gold/bin/python tools/gen_sampler_goldens.py [--wan PATH] [OUT_DIR=tests/data]
  PATH is a Wan2.1 checkout or its git directory (default: $WAN21_REPO, else
  /work/.mirror/Wan-Video+Wan2.1/repo).  The two Wan solver files
  (wan/utils/fm_solvers_unipc.py, wan/utils/fm_solvers.py) are copied to a
  temporary directory and imported from there; they are never committed.
Needs torch, numpy, diffusers (0.42) and safetensors; CPU only; deterministic.

References (the C names in brackets):
  wan_unipc        Wan FlowUniPCMultistepScheduler(shift=1) + set_timesteps(S, shift=s)
                   exactly as wan/text2video.py does for sample_solver='unipc'
                   [smp_schedule_wan_unipc + SMP_SOLVER_UNIPC]
  wan_dpmpp        Wan FlowDPMSolverMultistepScheduler(shift=1) + retrieve_timesteps(
                   sigmas=get_sampling_sigmas(S, s)), as text2video.py for 'dpm++'
                   [smp_schedule_wan_dpmpp + SMP_SOLVER_DPMPP_2M]
  euler            diffusers FlowMatchEulerDiscreteScheduler(shift=s) + set_timesteps(S)
                   [smp_schedule_diffusers_euler + SMP_SOLVER_EULER]
  diffusers_unipc  diffusers UniPCMultistepScheduler(prediction_type='flow_prediction',
                   use_flow_sigmas=True, flow_shift=s) + set_timesteps(S)
                   [smp_schedule_diffusers_unipc + SMP_SOLVER_UNIPC]

Settings (S steps, shift s): (50, 5), (20, 3), (7, 1).  The loop is the one of
wan/text2video.py: for t in timesteps: v = model(x, t); x = step(v, t, x).

Toy model (n = 256 elements, tau = t / 1000 with t the timestep the model sees):
  v_j(x, t) = a(tau) x_j + B tanh(x_j) + c(tau) sin(K j + PHI)
  a(tau) = -0.6 + 0.4 cos(2.5 tau),  c(tau) = 0.8 tau^2 - 0.3,  B = 0.35, K = 0.37, PHI = 0.5
Noise: numpy default_rng(1000 + S).standard_normal(n), rounded to float32 (so
the C sampler, which takes a float32 latent, starts from the same values).

Two runs per reference and setting:
  float64: the reference code with its sigma table converted to float64 after
    set_timesteps (same values: they are float32 numbers) and float64 samples.
    Wan's dpm++ step and diffusers' Euler step start with
    `sample = sample.to(torch.float32)`; for this run that one line is replaced
    by a no-op in the temporary copy (checked to match exactly once).
  float32: the unmodified code with float32 samples, as Wan runs it (final x0 only).

Stored (safetensors, all float64 unless noted; <K> = reference, <S> = steps):
  noise_S<S>        [n]            initial latent
  <K>_S<S>_sigma    [S+1]          the sigmas the solver uses (sigma[S] = 0)
  <K>_S<S>_t        [S]            the timesteps the model is called with
  <K>_S<S>_traj     [S+1, n/4]     elements 0, 4, 8, ... of the latent the model
                                   sees at each step, then of the final x0 (float64 run)
  <K>_S<S>_x0       [n]            final latent, float64 run
  <K>_S<S>_x0_f32   [n] (F32)      final latent, float32 run
  settings          [3, 2]         (S, shift) rows
  wan_negative_prompt [bytes] (U8) wan/configs/shared_config.py sample_neg_prompt, UTF-8
The C test (tests/test_sampler.c) requires t equal, sigma within 1e-12
relative, every trajectory state and x0 within 1e-6 relative L2.
"""
import ast
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
import torch
from safetensors.numpy import save_file

import diffusers
from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

N = 256
STRIDE = 4
A0, A1, A_W, B, C2, C0, K, PHI = -0.6, 0.4, 2.5, 0.35, 0.8, -0.3, 0.37, 0.5
SETTINGS = [(50, 5.0), (20, 3.0), (7, 1.0)]
UPCAST = "sample = sample.to(torch.float32)"


def parse_args(argv):
    wan = os.environ.get("WAN21_REPO", "/work/.mirror/Wan-Video+Wan2.1/repo")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] == "--wan":
            wan = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if rest:
        out = rest[0]
    return wan, out


def wan_source(repo, rel):
    """Text of a file of the Wan2.1 repo (checkout or bare git dir) and the commit read."""
    if os.path.isfile(os.path.join(repo, rel)):
        commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
        with open(os.path.join(repo, rel)) as f:
            return f.read(), commit or "unknown"
    commit = subprocess.run(["git", "--git-dir", repo, "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    text = subprocess.run(["git", "--git-dir", repo, "show", "HEAD:" + rel], capture_output=True, text=True,
                          check=True).stdout
    return text, commit


def load_module(name, path, package=None, patch=None):
    """Import a source file as a fresh module; patch = (old, new) must occur exactly once."""
    with open(path) as f:
        src = f.read()
    if patch:
        if src.count(patch[0]) != 1:
            raise SystemExit("%s: expected exactly one '%s'" % (path, patch[0]))
        src = src.replace(patch[0], patch[1])
    mod = types.ModuleType(name)
    mod.__file__ = path
    if package:
        mod.__package__ = package
    sys.modules[name] = mod
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


def negative_prompt(repo):
    """wan_shared_cfg.sample_neg_prompt, read with ast from the Wan repo's shared_config.py."""
    text, _ = wan_source(repo, "wan/configs/shared_config.py")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "sample_neg_prompt"
                                                for t in node.targets):
            return node.value.value
    raise SystemExit("sample_neg_prompt not found in wan/configs/shared_config.py")


def velocity(x, t, dtype):
    """The toy model: x is the latent (torch), t the timestep the model is given."""
    tau = float(t) / 1000.0
    a = A0 + A1 * np.cos(A_W * tau)
    c = C2 * tau * tau + C0
    x64 = x.to(torch.float64)
    idx = torch.arange(x.numel(), dtype=torch.float64)
    v = a * x64 + B * torch.tanh(x64) + c * torch.sin(K * idx + PHI)
    return v.to(dtype)


def run(sched, timesteps, noise, dtype):
    """wan/text2video.py's loop; returns (states seen by the model + final, timesteps seen)."""
    x = torch.from_numpy(noise).to(dtype)
    states, seen = [], []
    for t in timesteps:
        states.append(x.to(torch.float64).numpy().copy())
        seen.append(float(t))
        v = velocity(x, t, dtype)
        x = sched.step(v.unsqueeze(0), t, x.unsqueeze(0), return_dict=False)[0].squeeze(0)
        if x.dtype != dtype:
            raise SystemExit("step changed the dtype to %s" % x.dtype)
    states.append(x.to(torch.float64).numpy().copy())
    return np.stack(states), np.array(seen)


def make_scheduler(kind, S, shift, mods, f64):
    """A fresh scheduler for the given reference, set up exactly as its caller does."""
    if kind == "wan_unipc":
        s = mods["unipc"].FlowUniPCMultistepScheduler(num_train_timesteps=1000, shift=1, use_dynamic_shifting=False)
        s.set_timesteps(S, device="cpu", shift=shift)
        timesteps = s.timesteps
    elif kind == "wan_dpmpp":
        m = mods["dpm64" if f64 else "dpm32"]
        s = m.FlowDPMSolverMultistepScheduler(num_train_timesteps=1000, shift=1, use_dynamic_shifting=False)
        timesteps, _ = m.retrieve_timesteps(s, device="cpu", sigmas=m.get_sampling_sigmas(S, shift))
    elif kind == "euler":
        cls = mods["euler64"].FlowMatchEulerDiscreteScheduler if f64 else FlowMatchEulerDiscreteScheduler
        s = cls(num_train_timesteps=1000, shift=shift)
        s.set_timesteps(S, device="cpu")
        timesteps = s.timesteps
    elif kind == "diffusers_unipc":
        s = UniPCMultistepScheduler(num_train_timesteps=1000, prediction_type="flow_prediction",
                                    use_flow_sigmas=True, flow_shift=shift, solver_order=2)
        s.set_timesteps(S, device="cpu")
        timesteps = s.timesteps
    else:
        raise ValueError(kind)
    if f64:
        s.sigmas = s.sigmas.to(torch.float64)
    return s, timesteps


def main():
    wan, out = parse_args(sys.argv[1:])
    torch.set_grad_enabled(False)
    tmp = tempfile.mkdtemp(prefix="spadit_wan_ref_")
    commit = None
    for rel in ("wan/utils/fm_solvers_unipc.py", "wan/utils/fm_solvers.py"):
        text, commit = wan_source(wan, rel)
        with open(os.path.join(tmp, os.path.basename(rel)), "w") as f:
            f.write(text)
    euler_path = sys.modules[FlowMatchEulerDiscreteScheduler.__module__].__file__
    mods = {
        "unipc": load_module("wan_fm_solvers_unipc", os.path.join(tmp, "fm_solvers_unipc.py")),
        "dpm32": load_module("wan_fm_solvers", os.path.join(tmp, "fm_solvers.py")),
        "dpm64": load_module("wan_fm_solvers_f64", os.path.join(tmp, "fm_solvers.py"),
                             patch=(UPCAST, "pass  # spadit float64 golden: keep the float64 sample")),
        "euler64": load_module("diffusers.schedulers._spadit_fm_euler_f64", euler_path,
                               package="diffusers.schedulers",
                               patch=(UPCAST, "pass  # spadit float64 golden: keep the float64 sample")),
    }
    tensors = {"settings": np.array(SETTINGS, dtype=np.float64),
               "wan_negative_prompt": np.frombuffer(negative_prompt(wan).encode("utf-8"), dtype=np.uint8).copy()}
    kinds = ["wan_unipc", "wan_dpmpp", "euler", "diffusers_unipc"]
    for S, shift in SETTINGS:
        noise = np.random.default_rng(1000 + S).standard_normal(N).astype(np.float32).astype(np.float64)
        tensors["noise_S%d" % S] = noise
        for kind in kinds:
            s64, ts64 = make_scheduler(kind, S, shift, mods, True)
            sig = s64.sigmas.to(torch.float64).numpy().copy()
            states, seen = run(s64, ts64, noise, torch.float64)
            s32, ts32 = make_scheduler(kind, S, shift, mods, False)
            states32, seen32 = run(s32, ts32, noise.astype(np.float32), torch.float32)
            if not np.array_equal(seen, seen32):
                raise SystemExit("%s S=%d: float32 and float64 runs saw different timesteps" % (kind, S))
            key = "%s_S%d" % (kind, S)
            tensors[key + "_sigma"] = sig
            tensors[key + "_t"] = seen
            tensors[key + "_traj"] = np.ascontiguousarray(states[:, ::STRIDE])
            tensors[key + "_x0"] = states[-1].copy()
            tensors[key + "_x0_f32"] = states32[-1].astype(np.float32)
            d = np.linalg.norm(states32[-1] - states[-1]) / np.linalg.norm(states[-1])
            print("%-16s S=%2d shift=%g  t[:4]=%s t[-3:]=%s  sigma0=%.9f  |x0|=%.6f  f32 vs f64 rel %.2e"
                  % (kind, S, shift, seen[:4].tolist(), seen[-3:].tolist(), sig[0], np.linalg.norm(states[-1]), d))
    # sanity: the numbers wan.md quotes for s = 5, S = 50
    t = tensors["wan_unipc_S50_t"]
    assert t[:5].tolist() == [999, 995, 991, 987, 982] and t[-3:].tolist() == [241, 172, 92], t
    meta = {
        "generator": "tools/gen_sampler_goldens.py",
        "wan2.1_commit": commit,
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "n": str(N),
        "traj_stride": str(STRIDE),
        "field": "v_j = (%g + %g cos(%g tau)) x_j + %g tanh(x_j) + (%g tau^2 + %g) sin(%g j + %g), tau = t/1000"
                 % (A0, A1, A_W, B, C2, C0, K, PHI),
    }
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "sampler_golden.safetensors")
    save_file(tensors, path, metadata=meta)
    print("wrote %s (%d bytes, %d tensors)" % (path, os.path.getsize(path), len(tensors)))


if __name__ == "__main__":
    main()
