#!/usr/bin/env bash
# test_parallel.sh — `spadit generate --ranks N` (the CPU model of --gpus N): rank processes over
# shared memory, CFG parallelism and Ulysses sequence parallelism on the tiny pipeline, against the
# single-process run; outputs written once, by rank 0; errors of any rank stop the run.
# Then bench_parallel (the multi-GPU benchmark's program) on CPU ranks: one CFG step of a random DiT
# with 2 and 4 ranks equals 1 rank for dense, Rectified and SLA.
# Usage: test_parallel.sh SPADIT_BINARY ST_DIFF_BINARY DATA_DIR BENCH_PARALLEL_BINARY
set -u
BIN=$1
DIFF=$2
DATA=$3
BENCH=$4
MODEL=$DATA/pipe_tiny
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

expect() { # CODE NEEDLE -- command...
  local code=$1 needle=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$code" ] && printf '%s' "$out" | grep -qF -- "$needle"; then ok; else
    bad "$* -> rc $rc (want $code), wanted '$needle' in:"
    printf '%s\n' "$out" | tail -5
  fi
}

gen() { # NAME [flags...]: generate into $tmp/NAME.png (+ latent)
  local name=$1
  shift
  "$BIN" generate "a red circle moves to the right" --model "$MODEL" --no-cache --seed 3 \
    --out "$tmp/$name.png" --save-latent "$tmp/$name.st" "$@" >"$tmp/$name.log" 2>&1
}

for preset in dense rectified-90; do
  gen "one-$preset" --attention $preset || bad "single-process run ($preset): $(tail -2 "$tmp/one-$preset.log")"
  # 2 ranks: CFG parallel (conditional | unconditional); --cfg-parallel off: Ulysses over 2 (2 heads);
  # 4 ranks: CFG x2 and Ulysses x2
  for cfg in "2 on" "2 off" "4 on"; do
    set -- $cfg
    name="r$1-$2-$preset"
    if gen "$name" --attention $preset --ranks "$1" --cfg-parallel "$2"; then
      if "$DIFF" "$tmp/one-$preset.st" "$tmp/$name.st" --tol 1e-5 >"$tmp/$name.diff"; then ok; else
        bad "$name: latent differs from the single-process run: $(cat "$tmp/$name.diff")"
      fi
    else
      bad "$name: $(tail -3 "$tmp/$name.log")"
    fi
  done
done
# the ranks line is printed once (rank 0), one set of frames, progress once per step
grep -q "4 ranks: CFG parallel x2, Ulysses sequence parallel x2" "$tmp/r4-on-dense.log" && ok || bad "ranks line: $(head -3 "$tmp/r4-on-dense.log")"
n=$(grep -c "^step " "$tmp/r4-on-dense.log")
[ "$n" -eq 4 ] && ok || bad "4 progress lines expected (rank 0 only), got $n"
n=$(ls "$tmp" | grep -c "^r4-on-dense_.*\.png$")
[ "$n" -eq 5 ] && ok || bad "5 frames written once, got $n"

# errors
expect 1 "divisible by 3" -- "$BIN" generate "a red circle" --model "$MODEL" --no-cache --ranks 3 --out "$tmp/r3.png"
[ ! -e "$tmp/r3_00000.png" ] && [ ! -e "$tmp/r3.png" ] && ok || bad "a failed parallel run left output behind"
expect 1 "rank " -- "$BIN" generate "a red circle" --model "$MODEL" --no-cache --ranks 3 --out "$tmp/r3.png"
expect 2 "--cfg-parallel on needs an even rank count" -- "$BIN" generate "a red circle" --model "$MODEL" --ranks 3 --cfg-parallel on
expect 2 "--cfg-parallel on needs an even rank count and guidance != 1" -- "$BIN" generate "x" --model "$MODEL" --ranks 2 --cfg-parallel on --guidance 1
expect 2 "--cfg-parallel expects 'on' or 'off'" -- "$BIN" generate "x" --model "$MODEL" --ranks 2 --cfg-parallel maybe
expect 2 "--ranks" -- "$BIN" generate "x" --model "$MODEL" --ranks 17
expect 2 "--gpus" -- "$BIN" generate "x" --model "$MODEL" --gpus 0
# --gpus without NCCL (CI) or without GPUs: a clear error, never a hang
out=$("$BIN" generate "x" --model "$MODEL" --no-cache --gpus 2 --out "$tmp/g2.png" 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -qE "NCCL|GPU|CUDA"; then ok; else bad "--gpus 2 here: rc $rc: $out"; fi

# bench_parallel: the step's velocity over 1, 2 (CFG), 2 (Ulysses) and 4 ranks
for preset in dense rectified-90 sla-10; do
  "$BENCH" --ranks 1 --attention $preset --repeat 1 --warmup 0 --save "$tmp/b1-$preset.st" >"$tmp/b1.log" 2>&1 ||
    bad "bench_parallel 1 rank $preset: $(tail -2 "$tmp/b1.log")"
  for cfg in "2 on" "2 off" "4 on"; do
    set -- $cfg
    if "$BENCH" --ranks "$1" --cfg-parallel "$2" --attention $preset --repeat 1 --warmup 0 \
      --save "$tmp/b$1$2-$preset.st" >"$tmp/b.log" 2>&1 && grep -q "RESULT .*ranks=$1 " "$tmp/b.log"; then
      "$DIFF" "$tmp/b1-$preset.st" "$tmp/b$1$2-$preset.st" --tol 1e-5 >"$tmp/b.diff" && ok ||
        bad "bench_parallel $preset $cfg: $(cat "$tmp/b.diff")"
    else
      bad "bench_parallel $preset $cfg: $(tail -2 "$tmp/b.log")"
    fi
  done
done

echo "test_parallel: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
