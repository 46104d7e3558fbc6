#!/usr/bin/env bash
# run_gpu_mgpu.sh — multi-GPU check and scaling benchmark (issue 9) for a 2- or 4-GPU machine.
#
#   1. build for sm_90a against the NCCL that PyTorch ships (site-packages/nvidia/nccl) or the system's;
#   2. correctness: one CFG step of Wan2.1-1.3B at 480p (latent 21x60x104, random weights) on
#      1 GPU and on 2 (CFG), 2 (Ulysses), 4 (CFG x Ulysses) GPUs, for dense, rectified-90 and
#      sla-5: the velocity must equal the 1-GPU one within rel L2 1e-2 (tools/st_diff);
#   3. scaling: one CFG step of Wan2.1-14B at 720p (21x90x160, 75,600 tokens) on 1, 2 and 4 GPUs,
#      dense and sla-5, median of 2 after 1 warm-up (bars: dense >= 1.8x on 2, >= 3.3x on 4);
#   4. `spadit generate --gpus N` end to end on the tiny pipeline (rank 0 writes, others do not).
#
# Logs and a summary go to a tar under $OUT (few files: the transfer back limits the count).
# Usage on the GPU machine: bash bench/run_gpu_mgpu.sh
# Dry run of the script's flow on a CPU machine: SIM=1 bash bench/run_gpu_mgpu.sh (CPU ranks, the
# `test` config and small latents; proves the plumbing, measures nothing).
set -uo pipefail
OUT=${OUT:-/tmp/out}
LOG=/tmp/mgpu-logs
mkdir -p "$OUT" "$LOG"
source tools/gpu_env.sh
T0=$SECONDS
DEADLINE=${DEADLINE:-570}
left() { echo $((DEADLINE - (SECONDS - T0))); }
S=$LOG/summary.txt
finish() { tar -C "$LOG" -czf "$OUT/mgpu-logs.tgz" . ; cp "$S" "$OUT/summary.txt"; }
trap finish EXIT
SIM=${SIM:-0}
if [ "$SIM" = 1 ]; then
  NGPU=4 BK=cpu C13="--config test --latent 3x18x30" C14="--config test --latent 5x24x24"
else
  NGPU=$(nvidia-smi -L | wc -l) BK=cuda C13="--config 1.3B --latent 21x60x104" C14="--config 14B --latent 21x90x160"
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee -a "$S"
fi
NCCL=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__) if nvidia.nccl.__file__ else list(nvidia.nccl.__path__)[0])' 2>/dev/null)
echo "NCCL root: ${NCCL:-system}" | tee -a "$S"
[ -n "$NCCL" ] && export LD_LIBRARY_PATH=$NCCL/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
cmake -S . -B build-mgpu -DCMAKE_BUILD_TYPE=Release -DSPADIT_CUDA_ARCH=90a -DSPADIT_FFMPEG=OFF \
  $([ "$SIM" = 1 ] && echo -DSPADIT_CUDA=OFF) \
  ${NCCL:+-DSPADIT_NCCL_ROOT=$NCCL} >"$LOG/cmake.log" 2>&1
grep -q "NCCL ON" "$LOG/cmake.log" || [ "$SIM" = 1 ] || { echo "NCCL not found" | tee -a "$S"; exit 1; }
cmake --build build-mgpu -j${JOBS:-30} --target bench_parallel st_diff spadit >"$LOG/build.log" 2>&1 ||
  { grep error "$LOG/build.log" | head | tee -a "$S"; exit 1; }
echo "build: $((SECONDS - T0)) s" | tee -a "$S"
B=build-mgpu/bench/bench_parallel
D=build-mgpu/tools/st_diff

run() { # NAME ARGS...: bench_parallel with a time guard
  local name=$1
  shift
  if [ "$(left)" -lt 40 ]; then echo "SKIP $name (time)" | tee -a "$S"; return 1; fi
  timeout $(($(left) - 10)) $B "$@" >"$LOG/$name.log" 2>&1
  local rc=$?
  grep RESULT "$LOG/$name.log" | sed "s/^/$name: /" | tee -a "$S"
  [ $rc -eq 0 ] || { echo "$name: rc $rc: $(tail -2 "$LOG/$name.log")" | tee -a "$S"; }
  return $rc
}

# 2. correctness at 1.3B 480p
for preset in dense rectified-90 sla-5; do
  run "c1-$preset" --backend $BK $C13 --attention $preset --ranks 1 --repeat 1 \
    --save /tmp/c1-$preset.st || continue
  for cfg in "2 on" "2 off" "4 on" "4 off"; do
    set -- $cfg
    [ "$1" -le "$NGPU" ] || continue
    run "c$1$2-$preset" --backend $BK $C13 --attention $preset --ranks $1 \
      --cfg-parallel $2 --repeat 1 --save /tmp/c$1$2-$preset.st &&
      echo "c$1$2-$preset vs 1 GPU: $($D /tmp/c1-$preset.st /tmp/c$1$2-$preset.st --tol 1e-2)" | tee -a "$S"
  done
done

# 3. scaling at 14B 720p
for preset in dense sla-5; do
  for cfg in "1 on" "2 on" "2 off" "4 on" "4 off"; do
    set -- $cfg
    [ "$1" -le "$NGPU" ] || continue
    run "s$1$2-$preset" --backend $BK $C14 --attention $preset --ranks $1 \
      --cfg-parallel $2 --warmup 1 --repeat 2
  done
done

# 4. generate end to end on the tiny pipeline
if [ "$(left)" -gt 30 ]; then
  build-mgpu/cli/spadit generate "a red circle moves to the right" --model tests/data/pipe_tiny --ranks 2 --backend $BK \
    --out /tmp/g2.png --no-cache >"$LOG/generate.log" 2>&1
  echo "generate --gpus 2: rc $? $(tail -1 "$LOG/generate.log")" | tee -a "$S"
fi
echo "total $((SECONDS - T0)) s" | tee -a "$S"
