#!/usr/bin/env bash
# gpu_train.sh — one call on the GPU machine: train STAGE(s) of the tiny Wan model for
# MINUTES each and leave the checkpoints, log and previews in $OUT/ckpt (at most 8 files of
# <= 15 MB: vae.safetensors, dit-0000k-of-00003.safetensors, sla-0000k-of-00002.safetensors,
# train.log, preview.ppm).
#
# Usage (from the repo root, on the GPU machine):
#   OUT=/path/that/comes/back  bash tools/tiny/gpu_train.sh STAGE[,STAGE..] MINUTES[,MINUTES..] [RESUME_DIR]
#   e.g.  bash tools/tiny/gpu_train.sh vae,dit 4.0,4.5
#         bash tools/tiny/gpu_train.sh dit,sla 5.5,3.0 .tiny/ckpt
# RESUME_DIR holds the previous call's $OUT/ckpt files (carried in); stages continue from
# them.  The minutes of one call must add up to at most 8.8 (the command limit is 10 min;
# pip, imports and CUDA start-up take well under a minute).  Env: PRESET (default full),
# EXTRA (more train.py flags, e.g. "--total-minutes dit=12"), PYTHON (default python3).
# Checked: the same train.py runs end to end on the CPU in tools/tiny/dry_run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=${1:?usage: gpu_train.sh STAGE[,STAGE..] MINUTES[,MINUTES..] [RESUME_DIR]}
MINUTES=${2:?usage: gpu_train.sh STAGE[,STAGE..] MINUTES[,MINUTES..] [RESUME_DIR]}
RESUME=${3:-}
: "${OUT:?set OUT to the folder whose files come back}"
PY=${PYTHON:-python3}
total=$($PY -c "print(sum(float(m) for m in '$MINUTES'.split(',')))")
if $PY -c "import sys; sys.exit(0 if $total <= 8.8 else 1)"; then :; else
  echo "gpu_train.sh: stage minutes add up to $total > 8.8: the call would pass the 10-minute limit" >&2
  exit 2
fi
if ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch, diffusers, transformers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
'diffusers', diffusers.__version__, 'transformers', transformers.__version__)"
mkdir -p "$OUT/ckpt"
args=(--stage "$STAGE" --minutes "$MINUTES" --out "$OUT/ckpt" --preset "${PRESET:-full}")
if [ -n "$RESUME" ]; then
  [ -d "$RESUME" ] || { echo "gpu_train.sh: resume folder '$RESUME' not found (carry it in)" >&2; exit 2; }
  args+=(--resume "$RESUME")
fi
# shellcheck disable=SC2086
$PY tools/tiny/train.py "${args[@]}" ${EXTRA:-}
ls -la "$OUT/ckpt"
du -sh "$OUT/ckpt"
