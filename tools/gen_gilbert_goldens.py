#!/usr/bin/env python3
"""Golden files for the 3D Gilbert token order and the block-neighbour mask
(attention/gilbert.c), produced by the reference Python of Rectified SpaAttn.

Usage:  /opt/gold/bin/python tools/gen_gilbert_goldens.py [--repo PATH] [OUT_DIR=tests/data]
  PATH is a checkout or bare git directory of github.com/BienLuky/Rectified-SpaAttn
  (default: $RECTIFIED_REPO, else /work/.mirror/BienLuky+Rectified-SpaAttn/repo).
  Its utils/jenga_gilbert.py (Jenga's gilbert code with an axis_order argument) is copied
  to a temporary directory and imported from there (matplotlib, which it imports for
  plotting only, is stubbed); it is never committed.  Needs numpy, torch, safetensors.

What is called, exactly as scripts/main_wan21t2v.py does for Wan (axis order w > h > t):
  _, HILBERT_ORDER = gilbert_mapping(T, H, W, axis_order=("w", "h", "t"))
  neighbor = gilbert_block_neighbor_mapping(T, H, W, block_size=B, axis_order=("w", "h", "t"))
HILBERT_ORDER[r] is the grid index (f*H + i)*W + j of the r-th token along the curve:
the C attn_gilbert_order output.

Stored (safetensors):
  order_<T>x<H>x<W>            I32 [T*H*W]   HILBERT_ORDER
  neighbor_<T>x<H>x<W>_b<B>    I32 [nnz, 2]  the (i, j) pairs where neighbor[i, j] is True,
                                             row-major (a [nb, nb] bool mask, nb = ceil(N/B))
The C test (tests/test_gilbert.c) requires both to be equal to its own output.
"""
import os
import subprocess
import sys
import tempfile
import types

import numpy as np
from safetensors.numpy import save_file

REL = "utils/jenga_gilbert.py"
AXES = ("w", "h", "t")
# (T, H, W) grids; the last two are Wan2.1's 480p (832x480) and 720p (1280x720) 81-frame token grids.
GRIDS = [(3, 4, 6), (2, 3, 5), (3, 5, 7), (5, 6, 10), (1, 7, 9), (6, 1, 4), (4, 8, 12), (7, 9, 2),
         (3, 6, 10), (21, 30, 52), (21, 45, 80)]
# (grid, block) pairs whose neighbour masks are stored.
NEIGHBOR = [((3, 4, 6), 8), ((5, 6, 10), 16), ((4, 8, 12), 16), ((3, 6, 10), 16), ((21, 30, 52), 128),
            ((21, 45, 80), 128)]


def parse_args(argv):
    repo = os.environ.get("RECTIFIED_REPO", "/work/.mirror/BienLuky+Rectified-SpaAttn/repo")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] == "--repo":
            repo = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if rest:
        out = rest[0]
    return repo, out


def source(repo, rel):
    if os.path.isfile(os.path.join(repo, rel)):
        with open(os.path.join(repo, rel)) as f:
            return f.read()
    return subprocess.run(["git", "--git-dir", repo, "show", "HEAD:" + rel], capture_output=True, text=True,
                          check=True).stdout


def stub_matplotlib():
    mpl = types.ModuleType("matplotlib")
    mpl.pyplot = types.ModuleType("matplotlib.pyplot")
    tk = types.ModuleType("mpl_toolkits")
    tk.mplot3d = types.ModuleType("mpl_toolkits.mplot3d")
    tk.mplot3d.Axes3D = None
    sys.modules.update({"matplotlib": mpl, "matplotlib.pyplot": mpl.pyplot, "mpl_toolkits": tk,
                        "mpl_toolkits.mplot3d": tk.mplot3d})


def main():
    repo, out = parse_args(sys.argv[1:])
    stub_matplotlib()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "jenga_gilbert.py")
        with open(path, "w") as f:
            f.write(source(repo, REL))
        sys.path.insert(0, tmp)
        import jenga_gilbert as jg  # noqa: E402  (the reference, from the temporary copy)
    tensors = {}
    for (t, h, w) in GRIDS:
        _, order = jg.gilbert_mapping(t, h, w, axis_order=AXES)
        order = np.asarray(order, dtype=np.int32)
        assert sorted(order.tolist()) == list(range(t * h * w)), "reference order is not a permutation"
        tensors["order_%dx%dx%d" % (t, h, w)] = order
    for (t, h, w), b in NEIGHBOR:
        mask = jg.gilbert_block_neighbor_mapping(t, h, w, block_size=b, axis_order=AXES).numpy()
        pairs = np.argwhere(mask).astype(np.int32)
        tensors["neighbor_%dx%dx%d_b%d" % (t, h, w, b)] = np.ascontiguousarray(pairs)
        print("neighbor %dx%dx%d b%d: %d blocks, %.2f per row" % (t, h, w, b, mask.shape[0], mask.sum(1).mean()))
    os.makedirs(out, exist_ok=True)
    dst = os.path.join(out, "gilbert_golden.safetensors")
    save_file(tensors, dst, metadata={"source": "BienLuky/Rectified-SpaAttn " + REL, "axis_order": "w,h,t"})
    print("wrote", dst, os.path.getsize(dst), "bytes")


if __name__ == "__main__":
    main()
