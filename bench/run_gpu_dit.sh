#!/usr/bin/env bash
# run_gpu_dit.sh — one device call for the CUDA backend (issue 3): build for sm_90a,
# run the test suite (GPU tests included), the full-size accuracy check against
# diffusers fp32, and the forward benchmark next to diffusers on the same card.
# Logs go to $OUT.  Usage on the GPU machine: bash bench/run_gpu_dit.sh [quick]
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
source tools/gpu_env.sh
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DSPADIT_CUDA_ARCH=90a -DSPADIT_FFMPEG=OFF >"$OUT/cmake.log" 2>&1 || { tail -30 "$OUT/cmake.log"; exit 1; }
cmake --build build-gpu -j16 >"$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -30; exit 1; }
ctest --test-dir build-gpu --output-on-failure 2>&1 | tee "$OUT/ctest.log" | tail -25
python3 tools/wan_gpu_check.py build-gpu/cli/spadit /tmp/wan13 2>&1 | tee "$OUT/accuracy.log"
[ "${1:-}" = quick ] && exit 0
for cfg in "1.3B 21x60x104" "14B 21x90x160"; do
  set -- $cfg
  ./build-gpu/bench/bench_dit --config "$1" --latent "$2" --warmup 1 --repeat 3 2>&1 | tee -a "$OUT/bench.log"
  python3 bench/bench_diffusers_wan.py --config "$1" --latent "$2" --warmup 1 --repeat 3 2>&1 | grep -v Warning | tee -a "$OUT/bench.log"
done
python3 - "$OUT/bench.log" <<'PY'
import json, sys
rows = [json.loads(l.split("JSON ", 1)[1]) for l in open(sys.argv[1]) if "JSON " in l]
for cfg in ("1.3B", "14B"):
    s = [r for r in rows if r["config"] == cfg and r["impl"] == "spadit"]
    d = [r for r in rows if r["config"] == cfg and r["impl"] == "diffusers"]
    if s and d:
        print("%-5s spadit %.1f ms (attention %.0f%%, peak %.1f GB) | diffusers %.1f ms (peak %.1f GB) | ratio %.3f"
              % (cfg, s[0]["ms"], 100 * s[0]["attn_ms"] / s[0]["ms"], s[0]["peak_gb"], d[0]["ms"], d[0]["device_gb"],
                 s[0]["ms"] / d[0]["ms"]))
PY
