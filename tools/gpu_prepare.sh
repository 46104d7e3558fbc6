#!/usr/bin/env bash
# gpu_prepare.sh — on the dev machine: fetch what the GPU machine lacks into the
# git-ignored folders that `carry` sends along (.deps: libcjson unpacked from
# Debian packages; .whl: the diffusers wheel and its missing dependency).
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.deps/' .git/info/exclude 2>/dev/null || echo '/.deps/' >> .git/info/exclude
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .deps/root .whl
tmp=$(mktemp -d)
(cd "$tmp" && apt-get download libcjson1 libcjson-dev libstb0 libstb-dev >/dev/null 2>&1)
for f in "$tmp"/*.deb; do dpkg -x "$f" .deps/root; done
python3 -m pip download -q --no-deps -d .whl diffusers==0.42.1
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_17_x86_64 -d .whl importlib_metadata
rm -rf "$tmp"
echo "prepared .deps and .whl"
