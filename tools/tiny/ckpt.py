"""ckpt.py - training checkpoints as safetensors shards of at most 15 MB each.

A checkpoint NAME in a folder is either NAME.safetensors or NAME-0000k-of-0000n.safetensors
(the GPU machine returns files of at most 16 MB).  Every shard carries the same JSON
metadata (stage, step, minutes trained, configs, metrics) under the key "spadit_tiny", so
a checkpoint needs no side files.  Saving removes stale shards of the same NAME first and
writes through a temp file + rename.

Checked by the dry run (tools/tiny/dry_run.sh), which trains, saves, resumes and exports.
"""
import glob
import json
import os
import re

import torch
from safetensors import safe_open
from safetensors.torch import save_file

MAX_SHARD_BYTES = 15_000_000
META_KEY = "spadit_tiny"


def shard_files(folder, name):
    one = os.path.join(folder, name + ".safetensors")
    many = sorted(glob.glob(os.path.join(folder, glob.escape(name) + "-[0-9][0-9][0-9][0-9][0-9]-of-*.safetensors")))
    return ([one] if os.path.exists(one) else []) + many


def exists(folder, name):
    return folder is not None and len(shard_files(folder, name)) > 0


def save(folder, name, tensors, meta, max_bytes=MAX_SHARD_BYTES):
    """Write tensors (dict name -> tensor) as NAME[-k-of-n].safetensors; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    for f in shard_files(folder, name):
        os.remove(f)
    groups, cur, size = [], {}, 0
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().clone()  # clone: tied weights (UMT5 shared/embed_tokens) share storage
        nb = t.numel() * t.element_size()
        if cur and size + nb > max_bytes - 65536:  # leave room for the header
            groups.append(cur)
            cur, size = {}, 0
        cur[k] = t
        size += nb
    groups.append(cur)
    md = {META_KEY: json.dumps(meta, sort_keys=True)}
    paths = []
    for i, g in enumerate(groups):
        fn = name + (".safetensors" if len(groups) == 1 else "-%05d-of-%05d.safetensors" % (i + 1, len(groups)))
        path = os.path.join(folder, fn)
        save_file(g, path + ".tmp", metadata=md)
        os.replace(path + ".tmp", path)
        assert os.path.getsize(path) <= max_bytes, "%s is %d bytes" % (path, os.path.getsize(path))
        paths.append(path)
    return paths


def load(folder, name, device="cpu"):
    """(tensors, meta) of checkpoint NAME in folder."""
    files = shard_files(folder, name)
    if not files:
        raise FileNotFoundError("no checkpoint '%s' in %s" % (name, folder))
    n = re.search(r"-of-(\d+)\.safetensors$", files[-1])
    if n and int(n.group(1)) != len(files):
        raise FileNotFoundError("checkpoint '%s' in %s: %d of %s shards present" % (name, folder, len(files),
                                                                                   n.group(1)))
    tensors, meta = {}, None
    for f in files:
        with safe_open(f, framework="pt", device=str(device)) as s:
            meta = json.loads((s.metadata() or {}).get(META_KEY, "{}"))
            for k in s.keys():
                tensors[k] = s.get_tensor(k)
    return tensors, meta


def meta_only(folder, name):
    files = shard_files(folder, name)
    with safe_open(files[0], framework="pt") as s:
        return json.loads((s.metadata() or {}).get(META_KEY, "{}"))


def prefixed(module, prefix, dtype=None):
    sd = module.state_dict()
    return {prefix + k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v) for k, v in sd.items()}


def unprefix(tensors, prefix):
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_into(module, tensors, strict=True):
    sd = module.state_dict()
    missing = sorted(set(sd) - set(tensors))
    unexpected = sorted(set(tensors) - set(sd))
    if strict and (missing or unexpected):
        raise KeyError("checkpoint mismatch: missing %s, unexpected %s" % (missing[:8], unexpected[:8]))
    with torch.no_grad():
        for k, v in tensors.items():
            if k in sd:
                sd[k].copy_(v.to(sd[k].dtype))
