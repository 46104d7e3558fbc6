#!/usr/bin/env bash
# test_compare.sh — spadit compare end to end on the tiny random pipeline: the JSON
# report holds every metric, and the HTML report renders in a real headless browser
# (Chromium): summary table, charts, attention heatmap and the embedded side-by-side video.
# Usage: test_compare.sh SPADIT_BINARY DATA_DIR
set -u
BIN=$1
DATA=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi; }

cat > "$tmp/rect.json" <<'JSON'
{"name": "rectified-test", "method": "rectified", "dense_layers": 0, "dense_steps": 0,
 "rectified": {"drop_rate": 0.9, "tau": 0.0, "block": 128}}
JSON
"$BIN" compare "a red circle moves to the right" --model "$DATA/pipe_tiny" --attention "$tmp/rect.json" \
  --out-dir "$tmp/out" --no-cache --shadow-steps 2 --quiet > "$tmp/stdout" 2> "$tmp/stderr"
rc=$?
check "[ $rc -eq 0 ]" "compare exit code $rc: $(tail -3 "$tmp/stderr")"
check "[ -s $tmp/out/report.json ] && [ -s $tmp/out/report.html ]" "reports written"
check "grep -q report.html $tmp/stdout" "report path printed"
python3 - "$tmp/out/report.json" <<'PY' > "$tmp/json_check" 2>&1
import json, math, sys
r = json.load(open(sys.argv[1]))
m = r["methods"]
assert [x["label"] for x in m] == ["dense", "rectified-test"], m
d, s = m
assert len(s["psnr_per_frame"]) == r["frames"] == 5 and len(s["ssim_per_frame"]) == 5
assert len(s["latent_rel_error_per_step"]) == r["steps"]
assert all(v is None for v in d["psnr_per_frame"]), "dense against itself is identical"
ae = s["attention_rel_error"]
assert len(ae) == 4 and all(len(row) == 2 for row in ae), ae          # 2 steps x 2 CFG calls, 2 layers
assert all(v is not None and 0 <= v < 1 for row in ae for v in row), ae
assert 0 <= s["ssim_mean"] <= 1 and s["video_lossless"].endswith(".mkv") and s["side_by_side"].endswith(".webm")
# the prompt is in the tiny model's caption language: the checker scores every method (thirds)
for x in m:
    a = x["caption_adherence"]
    assert a in (0, 1/3, 2/3, 1) or abs(a * 3 - round(a * 3)) < 1e-9, a
print("ok")
PY
check "grep -qx ok $tmp/json_check" "report.json content: $(cat "$tmp/json_check")"
if command -v chromium >/dev/null 2>&1; then
  dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=3000 --dump-dom \
        "file://$tmp/out/report.html" 2>/dev/null)
  check "printf '%s' \"\$dom\" | grep -q 'id=\"summary\"'" "rendered DOM has the summary table"
  check "[ \$(printf '%s' \"\$dom\" | grep -o 'class=\"chart\"' | wc -l) -ge 3 ]" "rendered DOM has the charts"
  check "printf '%s' \"\$dom\" | grep -q 'class=\"heatmap\"'" "rendered DOM has the attention heatmap"
  check "printf '%s' \"\$dom\" | grep -q '<video class=\"sbs\"[^>]*src=\"data:video/webm;base64,'" "embedded video"
  timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1100,1600 --screenshot="$tmp/shot.png" \
    "file://$tmp/out/report.html" >/dev/null 2>&1
  check "[ \$(stat -c %s $tmp/shot.png 2>/dev/null || echo 0) -gt 20000 ]" "screenshot of the rendered report"
else
  echo "FAIL: chromium not installed (run ./setup.sh): the report must be rendered by a real browser"
  fail=$((fail + 1))
fi
echo "test_compare: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
