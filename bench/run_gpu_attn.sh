#!/usr/bin/env bash
# run_gpu_attn.sh — one device call for sparse attention (issue 4): build for
# sm_90a, GPU tests (sparse vs CPU references), compute-sanitizer memcheck and
# racecheck on the quick sparse test, and bench_attn (cuDNN dense baseline in the
# same run) at the three shapes.  Logs under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
source tools/gpu_env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DSPADIT_CUDA_ARCH=90a -DSPADIT_FFMPEG=OFF >"$OUT/cmake.log" 2>&1 || { tail -30 "$OUT/cmake.log"; exit 1; }
cmake --build build-gpu -j16 >"$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -30; exit 1; }
ctest --test-dir build-gpu --output-on-failure -L gpu 2>&1 | tee "$OUT/ctest.log" | grep -vE "^\s*$" | tail -40
if [ "${SANITIZE:-1}" = 1 ]; then
  for tool in memcheck racecheck synccheck; do
    k=0; [ $tool = racecheck ] && k=2   # racecheck cannot follow wgmma's async-proxy accesses: v2 kernel there
    timeout 150 compute-sanitizer --tool $tool --error-exitcode 9 --kernel-name-exclude kns=nvjet --kernel-name-exclude kns=cudnn build-gpu/tests/test_attn_cuda --quick --kernel $k >"$OUT/sanitizer_$tool.log" 2>&1
    echo "compute-sanitizer $tool: rc=$? $(grep -E "ERROR SUMMARY|RACECHECK SUMMARY|SYNCCHECK" "$OUT/sanitizer_$tool.log" | tail -1)"
  done
fi
build-gpu/bench/bench_attn --check --iters ${ITERS:-7} --shape ${SHAPE:-all} 2>&1 | tee "$OUT/bench_attn.log" | grep -v JSON
