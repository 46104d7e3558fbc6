#!/usr/bin/env bash
# test_cli.sh — the spadit program on good and bad input: exit codes and messages.
# Usage: test_cli.sh SPADIT_BINARY DATA_DIR
set -u
BIN=$1
DATA=$2
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect CODE NEEDLE -- command...: exit code equals CODE and stderr+stdout contains NEEDLE
expect() {
  local code=$1 needle=$2
  shift 3
  local out
  out=$("$@" 2>&1)
  local rc=$?
  if [ "$rc" -eq "$code" ] && printf '%s' "$out" | grep -qF -- "$needle"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $* -> rc $rc (want $code), output:"
    printf '%s\n' "$out" | head -5
    echo "  (wanted to find: $needle)"
  fi
}

expect 0 "layout:      diffusers" -- "$BIN" info "$DATA/wan_small_diffusers"
expect 0 "parameters:  585152" -- "$BIN" info "$DATA/wan_small_original"
expect 0 "F16 x69" -- "$BIN" info "$DATA/wan_tiny32_original"
expect 0 "velocity rms" -- "$BIN" forward "$DATA/wan_tiny32_diffusers" --latent 2x6x10 --ctx-len 5
expect 2 "unknown command 'frobnicate'" -- "$BIN" frobnicate
expect 2 "usage: spadit" -- "$BIN"
expect 2 "usage: spadit info" -- "$BIN" info
expect 1 "no such file" -- "$BIN" info "$tmp/nothing"
mkdir -p "$tmp/empty"
expect 1 "no model here" -- "$BIN" info "$tmp/empty"
expect 2 "--latent expects FxHxW" -- "$BIN" forward "$DATA/wan_tiny32_diffusers" --latent 2x6
expect 2 "--t expects a number in [0, 1000]" -- "$BIN" forward --t 5000
expect 2 "--seed expects an integer" -- "$BIN" forward --seed abc
expect 2 "unknown option '--frames'" -- "$BIN" forward --frames 3
expect 1 "must be positive multiples of the patch" -- "$BIN" forward "$DATA/wan_tiny32_diffusers" --latent 2x5x10
expect 1 "unknown backend 'tpu'" -- "$BIN" forward "$DATA/wan_tiny32_diffusers" --backend tpu
# threading (issue 21): --threads N, the affinity mask as the default, passive waiting
expect 0 "(CPU, 1 thread, passive wait)" -- "$BIN" forward "$DATA/wan_tiny32_diffusers" --latent 2x6x10 --threads 1
expect 0 "(CPU, 3 threads, passive wait)" -- "$BIN" forward "$DATA/wan_tiny32_diffusers" --latent 2x6x10 --threads 3
expect 0 "OMP_WAIT_POLICY=active from the environment" -- env OMP_WAIT_POLICY=active "$BIN" forward "$DATA/wan_tiny32_diffusers" --latent 2x6x10 --threads 1
expect 2 "--threads expects an integer in [1, 1024]" -- "$BIN" forward --threads 0
expect 2 "--threads expects an integer in [1, 1024]" -- "$BIN" generate "x" --threads many
if command -v taskset > /dev/null && taskset -c 0 true 2> /dev/null; then
  expect 0 "(CPU, 1 thread, passive wait)" -- env -u OMP_NUM_THREADS taskset -c 0 "$BIN" forward "$DATA/wan_tiny32_diffusers" --latent 2x6x10
fi
printf 'garbage' > "$tmp/bad.safetensors"
echo '{"_class_name":"WanModel","dim":64,"num_heads":2,"num_layers":2,"ffn_dim":96}' > "$tmp/config.json"
expect 1 "too short for a safetensors header" -- "$BIN" info "$tmp/bad.safetensors"

# outputs: a missing folder is reported before any work starts
expect 2 "does not exist (flag --out)" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --out "$tmp/nowhere/v.png"
expect 2 "does not exist (flag --json)" -- "$BIN" bench --backend cpu --model "$DATA/pipe_tiny" --json "$tmp/nowhere/b.json"

# compare refuses an SLA preset on a DiT without proj_l before running anything (no output folder)
expect 1 "needs the per-layer proj_l weights, and the DiT" -- "$BIN" compare "a red circle" --model "$DATA/pipe_tiny" \
  --attention sla-10 --out-dir "$tmp/cmp_sla" --no-cache
if [ -e "$tmp/cmp_sla" ]; then fail=$((fail + 1)); echo "FAIL: compare created $tmp/cmp_sla before refusing"; else pass=$((pass + 1)); fi
# --noise FILE: the initial latent from a file (a saved latent has the right shape); same file, same video
expect 0 "" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --steps 1 --quiet --no-cache \
  --out "$tmp/n0.png" --save-latent "$tmp/lat.safetensors"
expect 0 "" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --steps 1 --quiet --no-cache \
  --noise "$tmp/lat.safetensors" --out "$tmp/n1.png"
expect 0 "" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --steps 1 --quiet --no-cache \
  --noise "$tmp/lat.safetensors" --out "$tmp/n2.png"
if cmp -s "$tmp/n1_00000.png" "$tmp/n2_00000.png" && ! cmp -s "$tmp/n0_00000.png" "$tmp/n1_00000.png"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: --noise: the same file must give the same frames, and other frames than --seed's noise"
fi
expect 2 "has the wrong shape; expected [16, 2, 4, 4]" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" \
  --size 32x32 --noise "$tmp/lat.safetensors" --out "$tmp/n3.png"
expect 2 "(flag --noise)" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --noise "$tmp/none.safetensors" \
  --out "$tmp/n4.png"
# --sampler rcm (TurboDiffusion's few-step sampler): runs with its defaults (4 steps, no CFG), is
# deterministic for a seed, and refuses flags it would ignore
expect 0 "4 steps (rcm, sigma_max 80, guidance 1)" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" \
  --sampler rcm --no-cache --out "$tmp/r0.png"
expect 0 "2 steps (rcm, sigma_max 30, guidance 1)" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" \
  --sampler rcm --steps 2 --sigma-max 30 --no-cache --out "$tmp/r1.png"
expect 0 "" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --sampler rcm --steps 2 --sigma-max 30 \
  --quiet --no-cache --out "$tmp/r2.png"
if cmp -s "$tmp/r1_00000.png" "$tmp/r2_00000.png" && ! cmp -s "$tmp/r0_00000.png" "$tmp/r1_00000.png"; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAIL: --sampler rcm: the same seed must give the same frames, other settings other frames"
fi
expect 2 "--steps 8 with --sampler rcm, expected 1..4" -- "$BIN" generate "x" --model "$DATA/pipe_tiny" --sampler rcm --steps 8
expect 2 "--guidance 5 with --sampler rcm, expected 1" -- "$BIN" generate "x" --model "$DATA/pipe_tiny" --sampler rcm --guidance 5
expect 2 "--shift has no effect with --sampler rcm" -- "$BIN" generate "x" --model "$DATA/pipe_tiny" --sampler rcm --shift 3
expect 2 "--sigma-max is for --sampler rcm, not euler" -- "$BIN" generate "x" --model "$DATA/pipe_tiny" --sigma-max 80
expect 1 "expected above the first middle time" -- "$BIN" generate "x" --model "$DATA/pipe_tiny" --sampler rcm \
  --sigma-max 5 --no-cache --out "$tmp/r3.png"
# TurboWan (TurboDiffusion's .pth layout, no config.json beside it): info names it; it runs end to end
# with SLA + rCM; other attention or samplers get a note; the int8 -quant file is refused up front
TW="$DATA/turbowan_tiny/turbowan_tiny.pth"
expect 0 "variant:     TurboWan (SLA fine-tune)" -- "$BIN" info "$TW"
expect 0 "inferred from the tensor shapes" -- "$BIN" info "$TW"
expect 0 "4 steps (rcm, sigma_max 80, guidance 1), seed 0, attention sla-10" -- "$BIN" generate "a red circle" \
  --model "$DATA/pipe_tiny" --dit "$TW" --attention sla-10 --sampler rcm --no-cache --out "$tmp/tw0.png"
expect 0 "fine-tuned for SLA attention" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --dit "$TW" \
  --sampler rcm --no-cache --quiet --out "$tmp/tw1.png"
expect 0 "rCM-distilled for 1-4 steps" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" --dit "$TW" \
  --attention sla-10 --steps 1 --no-cache --quiet --out "$tmp/tw2.png"
expect 1 "int8 linear layers are not supported yet" -- "$BIN" generate "a red circle" --model "$DATA/pipe_tiny" \
  --dit "$DATA/turbowan_tiny/turbowan_tiny-quant.pth" --sampler rcm --no-cache --out "$tmp/tw3.png"
echo "test_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
