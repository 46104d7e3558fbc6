#!/usr/bin/env bash
# dry_run.sh — the whole tiny-model pipeline at toy scale on the CPU, exactly as the GPU
# calls will run it (tools/tiny/gpu_train.sh with PRESET=toy), then export and sampling:
#   1. self-tests: data.py, sla.py, tokenizer.py --check
#   2. "call 1": gpu_train.sh vae,dit  -> WORK/call1/ckpt; checks the transfer limits
#      (<= 8 files, each <= 16 MB, <= 2 folder levels)
#   3. "call 2": gpu_train.sh dit,sla resuming from a copy of call 1's files (the carry)
#   4. export.py --check: the diffusers folder loads with diffusers/transformers and matches
#   5. sample.py (2 videos, 2 steps) -> adherence_run; dump_clips.py -> adherence_run
# Usage: tools/tiny/dry_run.sh [WORK_DIR]      (PYTHON=/opt/gold/bin/python by default here)
# Needs torch, diffusers, transformers, sentencepiece, safetensors, and accelerate (diffusers'
# from_pretrained of Wan models needs it: python3 -m pip install --no-deps --target .tiny/site accelerate psutil,
# then PYTHONPATH=.tiny/site).  Takes ~5-8 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHON=${PYTHON:-/opt/gold/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
W=${1:-$(mktemp -d /tmp/tiny_dry.XXXXXX)}
mkdir -p "$W"
echo "== dry run in $W with $PYTHON"
"$PYTHON" -c "import accelerate" 2>/dev/null || {
  echo "dry_run: diffusers needs accelerate to load Wan models: $PYTHON -m pip install --no-deps --target .tiny/site accelerate psutil;" \
       "then rerun with PYTHONPATH=.tiny/site" >&2; exit 2; }

limits() { # DIR: the files that would come back from a GPU call
  local n big deep
  n=$(find "$1" -type f | wc -l)
  big=$(find "$1" -type f -size +16000k | wc -l)
  deep=$(find "$1" -mindepth 3 -type f | wc -l)
  echo "   $1: $n files, $(du -sh "$1" | cut -f1); over 16 MB: $big; deeper than 2 levels: $deep"
  [ "$n" -le 8 ] && [ "$big" -eq 0 ] && [ "$deep" -eq 0 ] || { echo "dry_run: transfer limits broken" >&2; exit 1; }
}

echo "== 1. self-tests"
"$PYTHON" tools/tiny/data.py --selftest
"$PYTHON" tools/tiny/sla.py --selftest
"$PYTHON" tools/tiny/tokenizer.py --check

echo "== 2. call 1: vae + dit"
OUT=$W/call1 PRESET=toy bash tools/tiny/gpu_train.sh vae,dit 0.6,0.6
limits "$W/call1"

echo "== 3. call 2: dit + sla, resuming from the carried files"
rm -rf "$W/carry" && mkdir -p "$W/carry" && cp "$W"/call1/ckpt/*.safetensors "$W/call1/ckpt/train.log" "$W/carry/"
OUT=$W/call2 PRESET=toy bash tools/tiny/gpu_train.sh dit,sla 0.5,0.6 "$W/carry"
limits "$W/call2"
grep -q "\[dit\] resumed from $W/carry" "$W/call2/ckpt/train.log" || { echo "dry_run: call 2 did not resume" >&2; exit 1; }
cp "$W"/call2/ckpt/*.safetensors "$W/call2/ckpt/train.log" "$W/carry/"   # what the lead does

echo "== 4. export + check"
"$PYTHON" tools/tiny/export.py "$W/carry" "$W/export" --preset toy --check

echo "== 5. sampling and the adherence checker"
"$PYTHON" tools/tiny/sample.py "$W/export" "$W/gen" --preset toy --n 2 --steps 2 --split heldout
"$PYTHON" tools/tiny/dump_clips.py "$W/real" --preset toy --n 8
if [ -x build/tools/adherence_run ]; then
  build/tools/adherence_run "$W/gen" || true   # an untrained toy model: plumbing only
  build/tools/adherence_run "$W/real"
else
  echo "   (build/tools/adherence_run not built: cmake -S . -B build -DSPADIT_CUDA=OFF && cmake --build build -j2)"
fi
echo "== dry run ok: $W"
