#!/usr/bin/env bash
# run_gpu_final.sh — device calls that check and time everything at full size, in two
# phases so the correctness work can share a call with the tiny model's training:
#
#   prep    build for sm_90a; GPU tests (CUDA ops, sparse kernels vs CPU references, VAE
#           ops); Wan2.1-1.3B forward vs diffusers fp32 (saves the random DiT in /tmp/wan13);
#           umT5-XXL vs transformers (random weights in /tmp/umt5_xxl); the Wan VAE at
#           720p x 81 vs diffusers (random weights in /tmp/vae720); a pipeline folder
#           /tmp/pipe13 of those three for the end-to-end run.  No timings are kept from here.
#   timing  (GPU to itself) bench_attn at the three shapes (cuDNN dense in the same run);
#           spadit bench on Wan2.1-1.3B 480p with every preset; text to video end to end at
#           480p x 81, 50 steps, dense and Rectified (seconds per step and total).
#
# Each step is logged to $OUT/<step>.log and summarised in $OUT/summary.txt; a step is
# skipped when fewer seconds are left than it needs (DEADLINE, default 560 s per call).
# Usage on the GPU machine: bash bench/run_gpu_final.sh prep|timing
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
source tools/gpu_env.sh
PHASE=${1:?usage: run_gpu_final.sh prep|timing}
T0=$SECONDS
DEADLINE=${DEADLINE:-560}
left() { echo $((DEADLINE - (SECONDS - T0))); }
step() { # NAME SECONDS_NEEDED COMMAND...
  local name=$1 need=$2 t=$SECONDS rc
  shift 2
  if [ "$(left)" -lt "$need" ]; then
    echo "SKIP $name: $(left) s left, needs $need" | tee -a "$OUT/summary.txt"
    return 1
  fi
  timeout $(($(left) - 3)) "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  echo "$name: rc=$rc, $((SECONDS - t)) s" | tee -a "$OUT/summary.txt"
  return $rc
}
BUILD="cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DSPADIT_CUDA_ARCH=90a -DSPADIT_FFMPEG=OFF && \
  cmake --build build-gpu -j${JOBS:-14}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
step build 60 bash -c "$BUILD" || { grep -E "error" "$OUT/build.log" | head -20; exit 1; }

if [ "$PHASE" = prep ]; then
  step gpu_tests 60 ctest --test-dir build-gpu --output-on-failure -L gpu
  step wan_accuracy 90 python3 tools/wan_gpu_check.py build-gpu/cli/spadit /tmp/wan13
  step umt5_xxl 150 python3 tools/umt5_gpu_check.py --build build-gpu --workdir /tmp/umt5_xxl --tokens 120
  step vae_720p 150 python3 tools/vae_gpu_check.py --device cuda --backend cuda --latent 21,90,160 \
    --vae-run build-gpu/tools/vae_run --workdir /tmp/vae720
  # the end-to-end folder: random 1.3B DiT, umT5-XXL and VAE from the checks above
  if [ -d /tmp/wan13 ] && [ -d /tmp/umt5_xxl/model_hf ] && [ -d /tmp/vae720/vae ]; then
    mkdir -p /tmp/pipe13/tokenizer
    ln -sfn /tmp/wan13 /tmp/pipe13/transformer
    ln -sfn /tmp/umt5_xxl/model_hf /tmp/pipe13/text_encoder
    ln -sfn /tmp/vae720/vae /tmp/pipe13/vae
    cp tests/data/tok_sp8k.json /tmp/pipe13/tokenizer/tokenizer.json
    echo '{"_class_name": "WanPipeline"}' >/tmp/pipe13/model_index.json
    echo '{"width": 832, "height": 480, "frames": 81, "fps": 16, "steps": 50, "shift": 5.0, "guidance": 5.0}' \
      >/tmp/pipe13/spadit.json
    echo "pipeline folder /tmp/pipe13 ready" | tee -a "$OUT/summary.txt"
  fi
  for f in gpu_tests wan_accuracy umt5_xxl vae_720p; do
    [ -f "$OUT/$f.log" ] && { echo "== $f"; tail -6 "$OUT/$f.log"; }
  done
  exit 0
fi

# timing: nothing else on the GPU
step bench_attn 120 build-gpu/bench/bench_attn --check --iters "${ITERS:-5}" --shape all
grep -v JSON "$OUT/bench_attn.log" | tail -40
step spadit_bench 150 build-gpu/cli/spadit bench --config 1.3B --size 832x480 --frames 81 \
  --attention rectified-wan,rectified-90,sla-15,sla-10,sla-5 --per-layer --json "$OUT/spadit_bench_13b.json"
tail -25 "$OUT/spadit_bench.log"
if [ -d /tmp/pipe13 ]; then
  P="a red fox runs through fresh snow, cinematic lighting"
  step e2e_dense 140 build-gpu/cli/spadit generate "$P" --model /tmp/pipe13 --backend cuda --no-cache \
    --out /tmp/e2e_dense/frame.png
  tail -8 "$OUT/e2e_dense.log"
  step e2e_rectified 100 build-gpu/cli/spadit generate "$P" --model /tmp/pipe13 --backend cuda --no-cache \
    --attention rectified-wan --out /tmp/e2e_rect/frame.png
  tail -8 "$OUT/e2e_rectified.log"
  cp /tmp/e2e_dense/frame_00040.png "$OUT/e2e_dense_frame40.png" 2>/dev/null || true
fi
cat "$OUT/summary.txt"
