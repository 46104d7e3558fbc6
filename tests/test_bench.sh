#!/usr/bin/env bash
# test_bench.sh — spadit bench on the CPU with the tiny random pipeline: the JSON holds
# per-step and per-layer figures for dense and each preset, the derived speedups are the
# ratios of the reported times, the phases (dense warm-up, sparse) are where the preset
# puts them, and bad flags fail with messages naming them.  (Times are not asserted.)
# Usage: test_bench.sh SPADIT_BINARY DATA_DIR
set -u
BIN=$1
DATA=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi; }

cat > "$tmp/rect.json" <<'JSON'
{"name": "rect-test", "method": "rectified", "dense_layers": 1, "dense_steps": 2,
 "rectified": {"drop_rate": 0.9, "tau": 0.0, "neighbors": false, "forced_square": false, "block": 128}}
JSON
cat > "$tmp/sla.json" <<'JSON'
{"name": "sla-test", "method": "sla", "dense_layers": 0, "dense_steps": 1, "sla": {"topk": 0.2, "block_q": 128, "block_k": 64}}
JSON
# 256x256, 9 frames: latent 3x32x32, 768 tokens = 6 query blocks of 128
"$BIN" bench --backend cpu --model "$DATA/pipe_tiny" --size 256x256 --frames 9 --steps 6 --repeat 2 --warmup 0 \
  --attention "$tmp/rect.json,$tmp/sla.json" --per-layer --json "$tmp/b.json" > "$tmp/out" 2> "$tmp/err"
rc=$?
check "[ $rc -eq 0 ]" "bench exit code $rc: $(tail -3 "$tmp/err")"
check "grep -q 'rect-test' $tmp/out && grep -q 'Amdahl' $tmp/out && grep -q 'per-layer' $tmp/out" "table printed"
check "grep -q 'random proj_l' $tmp/err" "random proj_l announced"
python3 - "$tmp/b.json" <<'PY' > "$tmp/json_check" 2>&1
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["tokens"] == 768 and r["latent"] == [3, 32, 32] and r["steps"] == 6 and r["calls_per_step"] == 2, r
L = r["layers"]
d, rect, sla = r["methods"]
assert [m["label"] for m in r["methods"]] == ["dense", "rect-test", "sla-test"]
for m in r["methods"]:
    assert len(m["per_step"]) == 6 and len(m["per_layer"]) == L
    assert abs(sum(s["step_ms"] for s in m["per_step"]) - m["total_ms"]) < 1e-6 * max(1, m["total_ms"])
    assert all(s["step_ms"] > 0 and 0 <= s["attention_ms"] <= s["step_ms"] for s in m["per_step"])
    assert abs(d["total_ms"] / m["total_ms"] - m["run_speedup"]) < 1e-9
# phases: dense measured on step 0 only; presets on step 0 and their first sparse step
assert [s["measured"] for s in d["per_step"]] == [True] + [False] * 5
assert rect["first_sparse_step"] == 2 and [s["measured"] for s in rect["per_step"]] == [True, False, True, False, False, False]
assert sla["first_sparse_step"] == 1 and [s["measured"] for s in sla["per_step"]] == [True, True] + [False] * 4
assert rect["per_step"][1]["sparse_layers"] == 0 and rect["per_step"][2]["sparse_layers"] == L - 1
assert sla["per_step"][0]["sparse_layers"] == 0 and sla["per_step"][1]["sparse_layers"] == L
assert 0 < rect["per_step"][2]["sparsity"] < 1 and 0 < sla["per_step"][1]["sparsity"] < 1, (rect["per_step"][2], sla["per_step"][1])
# unmeasured steps take the figures of the measured step of their phase
assert rect["per_step"][5]["step_ms"] == rect["per_step"][2]["step_ms"]
# derived figures are ratios of the reported times
for m, s in ((rect, 2), (sla, 1)):
    st, ds = m["per_step"][s], d["per_step"][s]
    assert abs(m["attention_speedup"] - ds["attention_ms"] / st["attention_ms"]) < 1e-9
    assert abs(m["step_speedup"] - ds["step_ms"] / st["step_ms"]) < 1e-9
    assert m["amdahl_bound"] > 1, m["amdahl_bound"]
    lay = m["per_layer"]
    assert all(l["step"] == s for l in lay)
    assert all((l["sparsity"] > 0) == (i >= m["dense_layers"]) for i, l in enumerate(lay)), lay
    # Amdahl bound from the per-layer figures
    dl = d["per_layer"]
    dense_step = d["per_step"][0]["step_ms"]; rest = dense_step - d["per_step"][0]["attention_ms"]
    bound = dense_step / (rest + sum(x["attention_ms"] * (1 - y["sparsity"]) for x, y in zip(dl, lay)))
    assert abs(bound - m["amdahl_bound"]) < 1e-6 * bound, (bound, m["amdahl_bound"])
print("ok")
PY
check "grep -qx ok $tmp/json_check" "bench JSON: $(cat "$tmp/json_check")"

"$BIN" bench --backend cpu --model "$DATA/pipe_tiny" --size 64x64 --frames 5 --steps 3 --repeat 1 --warmup 0 \
  --attention "$tmp/rect.json" --all-steps --no-cfg --json "$tmp/all.json" --quiet > /dev/null 2> "$tmp/err"
check "[ $? -eq 0 ] && [ ! -s $tmp/err ]" "--all-steps --quiet run: $(cat "$tmp/err")"
check "python3 -c \"import json;r=json.load(open('$tmp/all.json'));assert r['calls_per_step']==1 and all(s['measured'] for m in r['methods'] for s in m['per_step'])\"" "--all-steps measures every step"

# bad input: clear messages naming the flag, non-zero exit, no JSON left behind
"$BIN" bench --backend cpu --model "$DATA/pipe_tiny" --frames 6 --json "$tmp/bad.json" > /dev/null 2> "$tmp/err"
check "[ $? -ne 0 ] && grep -q '4n + 1' $tmp/err && [ ! -e $tmp/bad.json ]" "--frames 6 rejected: $(cat "$tmp/err")"
"$BIN" bench --backend cpu --model "$DATA/pipe_tiny" --attention no-such-preset > /dev/null 2> "$tmp/err"
check "[ $? -ne 0 ] && grep -q 'no-such-preset' $tmp/err" "unknown preset named: $(cat "$tmp/err")"
"$BIN" bench --backend cpu --config 3B > /dev/null 2> "$tmp/err"
check "[ $? -ne 0 ] && grep -q -- '--config' $tmp/err" "unknown config named: $(cat "$tmp/err")"
"$BIN" bench --backend cpu --model "$tmp/nowhere" > /dev/null 2> "$tmp/err"
check "[ $? -ne 0 ] && grep -q 'nowhere' $tmp/err" "missing model named: $(cat "$tmp/err")"
"$BIN" bench --repeat 0 > /dev/null 2> "$tmp/err"
check "[ $? -ne 0 ] && grep -q -- '--repeat' $tmp/err" "--repeat 0 rejected: $(cat "$tmp/err")"
if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi > /dev/null 2>&1; then
  "$BIN" bench --model "$DATA/pipe_tiny" > /dev/null 2> "$tmp/err"
  check "[ $? -ne 0 ] && grep -q -- '--backend cpu' $tmp/err" "no GPU: clear message: $(cat "$tmp/err")"
fi

echo "test_bench: $pass passed, $fail failed"
[ $fail -eq 0 ]
