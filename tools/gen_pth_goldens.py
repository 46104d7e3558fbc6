#!/usr/bin/env python3
"""Golden files for the C .pth reader (io/pth.c): torch.save archives and, for each
good one, a safetensors file with the tensors it must yield (same names after
flattening, contiguous copies, same dtypes and bytes).

Usage:  /opt/gold/bin/python tools/gen_pth_goldens.py [OUT_DIR=tests/data/pth]
Needs torch and safetensors (CPU).  Deterministic (fixed seed).  The C test
tests/test_pth.c loads every X.pth, compares each tensor with X.safetensors
byte for byte and checks the malformed cases' status and message.

Good files (X.pth + X.safetensors):
  state_dict   nn.Module.state_dict() (OrderedDict + _metadata), f32, 5-D Conv3d
  dtypes       f32 bf16 f16 f64 i64 i32 i16 i8 u8 bool, 0-d, empty, 5-D bf16
  views        tensors sharing one storage at offsets, incl. non-contiguous
               (transposed, strided) views that the reader must copy, and one
               tensor saved under two names
  nested       {"state_dict": {...}, "epoch": 3, ...}: wrapper stripped
  multi        {"model": {...}, "ema": {...}, "list": [t, {"x": t}]}: flattened
  proto4       pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL) with
               nn.Parameter values (_rebuild_parameter)
  v3           float8_e4m3fn and uint16 tensors (_rebuild_tensor_v3, UntypedStorage)
  zip64        `dtypes` re-packed by hand with zip64 extra fields in every
               central entry (torch.load reads it back: checked here)
Bad files (bad_*.pth; expected status/message in tests/test_pth.c):
  bad_opcode, bad_global, bad_key, bad_extent, bad_storage_size (crafted
  pickles in a torch-like zip), bad_deflate (entries deflated), bad_legacy
  (_use_new_zipfile_serialization=False), bad_bigendian (byteorder 'big'),
  bad_expand (a real stride-0 expand view), bad_complex (ComplexFloatStorage).
Truncated / corrupted-directory cases are made by the C test from good files.
"""
import collections
import io
import os
import pickle
import struct
import sys
import zipfile
import zlib

import torch
from safetensors.torch import save_file

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "pth")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(1234)


def save_pair(name, obj, expected, **kw):
    """torch.save obj as name.pth and the expected flat tensors as name.safetensors."""
    path = os.path.join(OUT, name + ".pth")
    torch.save(obj, path, **kw)
    save_file({k: v.contiguous().clone() for k, v in expected.items()}, os.path.join(OUT, name + ".safetensors"))
    back = torch.load(path, weights_only=False)
    assert back is not None
    return path


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv3d(3, 4, (3, 3, 3))
        self.norm = torch.nn.LayerNorm(8)
        self.head = torch.nn.Sequential(torch.nn.Linear(8, 5), torch.nn.GELU(), torch.nn.Linear(5, 2, bias=False))
        self.register_buffer("scale", torch.tensor(0.5))


def gen_good():
    sd = Tiny().state_dict()
    save_pair("state_dict", sd, dict(sd))

    dt = collections.OrderedDict()
    dt["f32"] = torch.randn(3, 4)
    dt["bf16"] = torch.randn(2, 3, 5).to(torch.bfloat16)
    dt["f16"] = torch.randn(7).to(torch.float16)
    dt["f64"] = torch.randn(2, 2, dtype=torch.float64)
    dt["i64"] = torch.arange(-3, 6, dtype=torch.int64)
    dt["i32"] = torch.arange(-70000, 70000, 20000, dtype=torch.int32)
    dt["i16"] = torch.arange(-5, 5, dtype=torch.int16)
    dt["i8"] = torch.arange(-4, 4, dtype=torch.int8)
    dt["u8"] = torch.arange(250, 256, dtype=torch.uint8)
    dt["bool"] = torch.tensor([True, False, True])
    dt["scalar"] = torch.tensor(3.25)
    dt["empty"] = torch.zeros(0, 3)
    dt["five_d"] = torch.randn(2, 1, 3, 2, 2).to(torch.bfloat16)
    save_pair("dtypes", dt, dict(dt))

    base = torch.arange(60, dtype=torch.float32) * 0.5 - 7
    views = {
        "whole": base,
        "slice": base[10:20],
        "mat": base[20:44].view(4, 6),
        "row": base.view(6, 10)[3],
        "elem": base[7],
        "transposed": base.view(6, 10).t(),
        "strided": base[1::3],
        "block": base.view(6, 10)[1:4, 2:7],
    }
    views["transposed_again"] = views["transposed"]  # one tensor object under two names (memo BINGET)
    save_pair("views", views, views)

    inner = collections.OrderedDict(("blocks.%d.w" % i, torch.randn(2, 3)) for i in range(3))
    save_pair("nested", {"state_dict": inner, "epoch": 3, "name": "run1", "opt": {"lr": 0.1, "steps": [1, 2]}},
              dict(inner))

    t = [torch.randn(4) for _ in range(4)]
    multi = {"model": {"a.weight": t[0]}, "ema": {"a.weight": t[1]}, "list": [t[2], {"x": t[3]}], "meta": None}
    save_pair("multi", multi, {"model.a.weight": t[0], "ema.a.weight": t[1], "list.0": t[2], "list.1.x": t[3]})

    m = torch.nn.Linear(3, 2)
    p4 = m.state_dict(keep_vars=True)  # nn.Parameter values
    assert isinstance(p4["weight"], torch.nn.Parameter)
    save_pair("proto4", p4, {k: v.detach() for k, v in p4.items()}, pickle_protocol=4)

    v3 = {"fp8": torch.randn(3, 4).to(torch.float8_e4m3fn), "u16": torch.arange(0, 60000, 7000).to(torch.uint16)}
    save_pair("v3", v3, v3)


def read_zip_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip64_by_hand(path, entries):
    """A zip whose every central entry stores sizes and offset as 0xFFFFFFFF with
    a zip64 extra field, plus zip64 end records (what >4 GiB archives look like)."""
    out = io.BytesIO()
    central = []
    for name, data in entries:
        nb = name.encode()
        off = out.tell()
        crc = zlib.crc32(data)
        pad = (-(off + 30 + len(nb) + 4)) % 64  # align data to 64 like torch
        extra = struct.pack("<HH", 0xCAFE, pad) + b"\0" * pad
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, len(data), len(data), len(nb),
                              len(extra)))
        out.write(nb + extra + data)
        central.append((nb, crc, len(data), off))
    cd_off = out.tell()
    for nb, crc, size, off in central:
        z64 = struct.pack("<HHQQQ", 1, 24, size, size, off)
        out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                              len(nb), len(z64), 0, 0, 0, 0, 0xFFFFFFFF))
        out.write(nb + z64)
    cd_size = out.tell() - cd_off
    e64 = out.tell()
    n = len(central)
    out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, cd_size, cd_off))
    out.write(struct.pack("<IIQI", 0x07064B50, 0, e64, 1))
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
    with open(path, "wb") as f:
        f.write(out.getvalue())


def gen_zip64():
    src = os.path.join(OUT, "dtypes.pth")
    dst = os.path.join(OUT, "zip64.pth")
    write_zip64_by_hand(dst, read_zip_entries(src))
    a, b = torch.load(src), torch.load(dst)  # an independent reader accepts the hand-made archive
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    with zipfile.ZipFile(dst) as z:
        assert z.testzip() is None
    with open(os.path.join(OUT, "dtypes.safetensors"), "rb") as f, \
            open(os.path.join(OUT, "zip64.safetensors"), "wb") as g:
        g.write(f.read())


# ---- malformed archives: crafted pickles in a torch-like zip ----

class Storage:
    def __init__(self, key, typ=torch.FloatStorage, numel=8):
        self.key, self.typ, self.numel = key, typ, numel


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.typ, obj.key, "cpu", obj.numel)
        return None


def dump(obj):
    b = io.BytesIO()
    Pickler(b, protocol=2).dump(obj)
    return b.getvalue()


def write_archive(name, pkl, storages, method=zipfile.ZIP_STORED, byteorder=b"little"):
    with zipfile.ZipFile(os.path.join(OUT, name + ".pth"), "w", compression=method) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", byteorder)
        for key, data in storages.items():
            z.writestr("archive/data/" + key, data)
        z.writestr("archive/version", b"3\n")


def gen_bad():
    f8 = struct.pack("<8f", *range(8))
    good = dump({"w": Tensor(Storage("0"), 0, (2, 4), (4, 1))})
    # sanity: the crafted good archive loads in torch
    write_archive("crafted_ok", good, {"0": f8})
    assert torch.equal(torch.load(os.path.join(OUT, "crafted_ok.pth"))["w"], torch.arange(8.0).view(2, 4))
    os.remove(os.path.join(OUT, "crafted_ok.pth"))

    pos = good.index(b"q\x01")  # BINPUT after the key 'w'
    write_archive("bad_opcode", good[:pos] + b"\xfe" + good[pos + 1:], {"0": f8})
    write_archive("bad_global", b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.", {})
    write_archive("bad_key", dump({"w": Tensor(Storage("7"), 0, (8,), (1,))}), {"0": f8})
    write_archive("bad_extent", dump({"w": Tensor(Storage("0"), 2, (2, 4), (4, 1))}), {"0": f8})
    write_archive("bad_storage_size", dump({"w": Tensor(Storage("0", numel=100), 0, (8,), (1,))}), {"0": f8})
    write_archive("bad_deflate", good, {"0": f8}, method=zipfile.ZIP_DEFLATED)
    write_archive("bad_bigendian", good, {"0": f8}, byteorder=b"big")
    torch.save({"w": torch.ones(3)}, os.path.join(OUT, "bad_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save({"e": torch.ones(3).expand(4, 3)}, os.path.join(OUT, "bad_expand.pth"))
    torch.save({"c": torch.ones(2, dtype=torch.complex64)}, os.path.join(OUT, "bad_complex.pth"))


if __name__ == "__main__":
    gen_good()
    gen_zip64()
    gen_bad()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, OUT))
