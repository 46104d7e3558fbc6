#!/usr/bin/env python3
"""Golden trajectories for the rCM few-step sampler (sampler/rcm.c, SMP_SOLVER_RCM).

Usage:  python3 tools/gen_rcm_goldens.py [--turbo PATH] [OUT_DIR=tests/data]
Needs torch and safetensors; CPU only; deterministic.  Writes rcm_golden.safetensors (~60 KB).

Reference: TurboDiffusion (github.com/thu-ml/TurboDiffusion @aaecff5),
turbodiffusion/inference/wan2.1_t2v_infer.py, the sampling loop after the DiT is
loaded.  That loop lives inside the script's __main__ (it imports CUDA-only
modules), so it cannot be imported; `reference_loop` below re-implements its
behaviour operation by operation (no code copied):

  t = float64 tensor [atan(sigma_max), *mid_t[:S-1], 0], mid_t = [1.5, 1.4, 1.0]
  t = sin(t) / (cos(t) + sin(t))                     TrigFlow -> rectified-flow time
  x = init_noise.to(float64) * t[0]                  init_noise: float32 randn from `generator`
  for each (t_cur, t_next):
      v = net(x.to(model dtype), timesteps = (t_cur.float() * ones(f64) * 1000).to(bf16)).to(float64)
      x = (1 - t_next) * (x - t_cur * v) + t_next * randn(float32, same generator)
  (one fresh draw per step, the last one too, where t_next = 0 multiplies it away)

With --turbo PATH (a TurboDiffusion checkout or git directory; default
/work/.mirror/thu-ml+TurboDiffusion/repo when present) the mid_t table is read
from that script with `ast` and checked against ours.

Differences from their pipeline, on purpose:
  * The model input: their DiT takes x in bf16; spadit's model callback takes
    float32, so here the toy model gets x.float().  (Precision of the network,
    not of the sampler.)  The timestep keeps their bf16 rounding: it is part of
    what the sampler hands the network (their training does the same).
  * The noise: spadit draws from its own RNG (dit/rng.h), which cannot equal
    PyTorch's stream, so the draws made here are stored and the C test feeds
    them back through the noise callback.

Toy model (n = 256, tau = timestep / 1000, sigma = rectified-flow time t_cur):
  v_j = a(tau) x_j + 0.35 tanh(x_j) + c(tau) sin(0.37 j + 0.5) + 0.2 sigma cos(0.11 j)
  a(tau) = -0.6 + 0.4 cos(2.5 tau),  c(tau) = 0.8 tau^2 - 0.3
computed in float64 and returned as float32 (as spadit's callback returns it).

Stored, for each case <K> = S<steps>_sm<sigma_max> (float64 unless noted):
  <K>_sigma  [S+1]      rectified-flow times (sigma[S] = 0)
  <K>_t      [S]        timesteps the model sees (bf16 values)
  <K>_init   [n] F32    the initial standard-normal draw (before scaling by sigma[0])
  <K>_noise  [S, n] F32 the per-step draws, in order (row S-1 is unused: t_next = 0)
  <K>_states [S, n] F32 the latent the model sees at each step
  <K>_x0     [n]        the final x (float64)
  cases      [C, 2]     (steps, sigma_max) rows
tests/test_sampler_rcm.c requires t equal, sigma within 1e-15 relative, every state
and x0 within 1e-6 relative L2.
"""
import ast
import math
import os
import subprocess
import sys

import numpy as np
import torch
from safetensors.numpy import save_file

N = 256
MID_T = [1.5, 1.4, 1.0]
CASES = [(1, 80.0), (2, 80.0), (3, 80.0), (4, 80.0), (4, 200.0), (2, 20.0)]


def check_mid_t(turbo):
    """Read `mid_t = [...]` (the active assignment) from their inference script."""
    rel = "turbodiffusion/inference/wan2.1_t2v_infer.py"
    path = os.path.join(turbo, rel)
    if os.path.isfile(path):
        src = open(path).read()
    elif os.path.isdir(turbo):
        src = subprocess.run(["git", "--git-dir", turbo, "show", "HEAD:" + rel], check=True,
                             capture_output=True, text=True).stdout
    else:
        print("note: no TurboDiffusion checkout at %s; mid_t not cross-checked" % turbo)
        return
    found = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "mid_t" for t in node.targets):
            val = node.value.value if isinstance(node.value, ast.Subscript) else node.value
            found.append(ast.literal_eval(val))
    assert found == [MID_T], "their mid_t %r differs from ours %r" % (found, MID_T)
    print("mid_t matches %s" % rel)


def toy_velocity(x32, timestep_bf16, sigma):
    j = torch.arange(N, dtype=torch.float64)
    x = x32.to(torch.float64)
    tau = float(timestep_bf16) / 1000.0
    a = -0.6 + 0.4 * math.cos(2.5 * tau)
    c = 0.8 * tau * tau - 0.3
    v = a * x + 0.35 * torch.tanh(x) + c * torch.sin(0.37 * j + 0.5) + 0.2 * float(sigma) * torch.cos(0.11 * j)
    return v.to(torch.float32)


def reference_loop(steps, sigma_max, seed):
    gen = torch.Generator().manual_seed(seed)
    init = torch.randn(1, N, dtype=torch.float32, generator=gen)
    t = torch.tensor([math.atan(sigma_max), *MID_T[: steps - 1], 0], dtype=torch.float64)
    t = torch.sin(t) / (torch.cos(t) + torch.sin(t))
    x = init.to(torch.float64) * t[0]
    ones = torch.ones(x.size(0), 1, dtype=x.dtype)
    ts, states, noises = [], [], []
    for t_cur, t_next in zip(t[:-1], t[1:]):
        timestep = (t_cur.float() * ones * 1000).to(torch.bfloat16)
        x_in = x.to(torch.float32)
        v = toy_velocity(x_in[0], timestep[0, 0], t_cur).reshape(1, N).to(torch.float64)
        eps = torch.randn(*x.shape, dtype=torch.float32, generator=gen)
        x = (1 - t_next) * (x - t_cur * v) + t_next * eps
        ts.append(float(timestep[0, 0]))
        states.append(x_in[0].numpy())
        noises.append(eps[0].numpy())
    return {
        "sigma": t.numpy(),
        "t": np.array(ts, dtype=np.float64),
        "init": init[0].numpy(),
        "noise": np.stack(noises),
        "states": np.stack(states),
        "x0": x[0].numpy(),
    }


def main():
    args = sys.argv[1:]
    turbo = "/work/.mirror/thu-ml+TurboDiffusion/repo"
    if args[:1] == ["--turbo"]:
        turbo, args = args[1], args[2:]
    out_dir = args[0] if args else "tests/data"
    check_mid_t(turbo)
    tensors = {}
    for k, (steps, sm) in enumerate(CASES):
        r = reference_loop(steps, sm, 100 + k)
        key = "S%d_sm%d" % (steps, int(sm))
        for name, arr in r.items():
            tensors["%s_%s" % (key, name)] = np.ascontiguousarray(arr)
        print("%s: t = %s, |x0| = %.4f" % (key, r["t"].tolist(), float(np.linalg.norm(r["x0"]))))
    tensors["cases"] = np.array(CASES, dtype=np.float64)
    path = os.path.join(out_dir, "rcm_golden.safetensors")
    save_file(tensors, path, metadata={"generator": "tools/gen_rcm_goldens.py",
                                       "reference": "thu-ml/TurboDiffusion@aaecff5 wan2.1_t2v_infer.py"})
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
