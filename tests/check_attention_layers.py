#!/usr/bin/env python3
"""check_attention_layers.py SRC_DIR [LIBSPADIT_ATTENTION.a]

Checks the include and call directions inside attention/ against the layer table of
docs/ARCHITECTURE.md ("Inside attention/"): every file of attention/ sits in exactly one row;
a file includes only headers of its own or a lower layer (and, outside the folder, dit/ and io/
only); with the static library given, every function a member calls in another member is
defined in a strictly lower layer (read with nm), so the folder has no import loop.
Prints the call graph; exits 1 on any violation.
"""
import os
import re
import subprocess
import sys


def layer_table(src):
    text = open(os.path.join(src, "docs", "ARCHITECTURE.md"), encoding="utf-8").read()
    m = re.search(r"^## Inside attention/\n(.*?)(?=^## )", text, re.S | re.M)
    if not m:
        sys.exit("docs/ARCHITECTURE.md has no '## Inside attention/' section")
    layer = {}
    for row in re.finditer(r"^\| (\d+) \| ([^|]*) \|", m.group(1), re.M):
        for name in re.findall(r"`([^`]+)`", row.group(2)):
            if name in layer:
                sys.exit(f"{name} is in two rows of the layer table")
            layer[name] = int(row.group(1))
    return layer


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = sys.argv[1]
    adir = os.path.join(src, "attention")
    layer = layer_table(src)
    bad = []
    files = sorted(f for f in os.listdir(adir) if re.search(r"\.(c|h|cu|cuh)$", f))
    for f in files:
        if f not in layer:
            bad.append(f"{f}: not in the layer table of docs/ARCHITECTURE.md")
    for name in layer:
        if name not in files:
            bad.append(f"{name}: in the layer table but not in attention/")
    for f in files:
        if f not in layer:
            continue
        for n, line in enumerate(open(os.path.join(adir, f), encoding="utf-8"), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not m:
                continue
            inc = m.group(1)
            if "/" in inc:
                if not re.match(r"\.\./(dit|io)/", inc):
                    bad.append(f"{f}:{n}: includes {inc}: attention/ may use dit/ and io/ only")
            elif inc not in layer:
                bad.append(f"{f}:{n}: includes {inc}, which is not in the layer table")
            elif layer[inc] > layer[f]:
                bad.append(f"{f}:{n}: (layer {layer[f]}) includes {inc} (layer {layer[inc]}): up the layers")
    if len(sys.argv) == 3:
        out = subprocess.run(["nm", "-A", sys.argv[2]], check=True, capture_output=True, text=True).stdout
        defined, used = {}, {}
        for line in out.splitlines():
            m = re.match(r"^[^:]*:([^:]+)\.o:\s*(?:[0-9a-fA-F]+)?\s+([A-Za-z])\s+(\S+)$", line)
            if not m:
                continue
            member, kind, sym = m.groups()
            if kind == "U":
                used.setdefault(member, set()).add(sym)
            elif kind.isupper():
                defined[sym] = member
        edges = set()
        for member, syms in used.items():
            for sym in syms:
                d = defined.get(sym)
                if d and d != member:
                    edges.add((member, d, sym))
        print("calls inside attention/ (caller -> callee: functions):")
        graph = {}
        for a, b, sym in sorted(edges):
            graph.setdefault((a, b), []).append(sym)
        for (a, b), syms in sorted(graph.items(), key=lambda e: (-layer.get(e[0][0], 99), e[0])):
            print(f"  {a} ({layer.get(a, '?')}) -> {b} ({layer.get(b, '?')}): {', '.join(sorted(syms))}")
            if a not in layer or b not in layer:
                bad.append(f"{a} -> {b}: object not in the layer table")
            elif layer[b] >= layer[a]:
                bad.append(f"{a} (layer {layer[a]}) calls {b} (layer {layer[b]}): {', '.join(sorted(syms))}")
        if not graph:
            bad.append(f"no call between members of {sys.argv[2]}: nm output not understood?")
    for b in bad:
        print("FAIL", b)
    print(f"attention layers: {len(files)} files, {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
