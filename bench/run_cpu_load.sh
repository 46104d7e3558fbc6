#!/usr/bin/env bash
# run_cpu_load.sh — the default generate command on the CPU, idle and under a controlled
# background load (two busy processes pinned one per core with taskset), for issue 21
# (bench/NOTES.md "CPU threading under load").
#
# usage: bench/run_cpu_load.sh SPADIT MODEL_DIR idle|load RUNS [extra spadit flags...]
#   MODEL_DIR: e.g. the random-weight pipeline at the tiny model's shapes
#              (python3 tools/tiny/random_pipeline.py /tmp/tinyrand)
# Prints one line per run: mode, wall seconds, the load averages before the run, and
# spadit's own timing line.  Extra environment (OMP_WAIT_POLICY=...) passes through.
set -euo pipefail
bin=$1 model=$2 mode=$3 runs=$4
shift 4
out=$(mktemp -d)
hogs=()
stop_hogs() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap 'stop_hogs; rm -rf "$out"' EXIT
if [ "$mode" = load ]; then
  ncpu=$(nproc)
  for ((c = 0; c < ncpu && c < 2; c++)); do
    taskset -c "$c" sh -c 'exec yes > /dev/null' &
    hogs+=($!)
  done
  sleep 1
fi
for ((r = 1; r <= runs; r++)); do
  la=$(cut -d' ' -f1-3 /proc/loadavg)
  t0=$(date +%s.%N)
  "$bin" generate "a red circle moves to the right" --model "$model" --out "$out/v.mp4" --quiet "$@" \
    2> "$out/err" > /dev/null
  t1=$(date +%s.%N)
  printf '%s run %d: %.1f s wall (load %s) | %s\n' "$mode" "$r" "$(echo "$t1 - $t0" | bc)" "$la" \
    "$(grep -o 'text .*total [0-9.]* s' "$out/err" | head -1)"
done
