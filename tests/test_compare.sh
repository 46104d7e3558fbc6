#!/usr/bin/env bash
# test_compare.sh — spadit compare end to end on the tiny random pipeline: the JSON
# report holds every metric, and the HTML report renders in a real headless browser
# (Chromium): summary table, charts, attention heatmap and the embedded side-by-side video;
# at 800 and 1400 px no label is clipped or overlaps, x ticks are integers, the table
# stays in its box and the videos are tall enough for their controls (report_layout.js).
# A dense preset gives identical curves and frames (PSNR = inf); caption adherence is
# n/a on the random-weight model and scored on a model marked as the tiny family.
# Usage: test_compare.sh SPADIT_BINARY DATA_DIR
set -u
BIN=$1
DATA=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
check() { if eval "$1"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $2"; fi; }

cat > "$tmp/rect.json" <<'JSON'
{"name": "rectified-test", "method": "rectified", "dense_layers": 0, "dense_steps": 0,
 "rectified": {"drop_rate": 0.9, "tau": 0.0, "block": 128}}
JSON
"$BIN" compare "a red circle moves to the right" --model "$DATA/pipe_tiny" --attention "$tmp/rect.json,dense" \
  --out-dir "$tmp/out" --no-cache --shadow-steps 2 --quiet > "$tmp/stdout" 2> "$tmp/stderr"
rc=$?
check "[ $rc -eq 0 ]" "compare exit code $rc: $(tail -3 "$tmp/stderr")"
check "[ -s $tmp/out/report.json ] && [ -s $tmp/out/report.html ]" "reports written"
check "grep -q report.html $tmp/stdout" "report path printed"
python3 - "$tmp/out/report.json" <<'PY' > "$tmp/json_check" 2>&1
import json, math, sys
r = json.load(open(sys.argv[1]))
m = r["methods"]
assert [x["label"] for x in m] == ["dense", "rectified-test", "dense"], m
d, s, d2 = m
assert all(v is None for v in d2["psnr_per_frame"]) and d2["ssim_per_frame"] == [1] * 5, "dense preset = dense"
assert len(s["psnr_per_frame"]) == r["frames"] == 5 and len(s["ssim_per_frame"]) == 5
assert len(s["latent_rel_error_per_step"]) == r["steps"]
assert all(v is None for v in d["psnr_per_frame"]), "dense against itself is identical"
ae = s["attention_rel_error"]
assert len(ae) == 4 and all(len(row) == 2 for row in ae), ae          # 2 steps x 2 CFG calls, 2 layers
assert all(v is not None and 0 <= v < 1 for row in ae for v in row), ae
assert 0 <= s["ssim_mean"] <= 1 and s["video_lossless"].endswith(".mkv") and s["side_by_side"].endswith(".webm")
# random weights: the caption checker does not apply (the report says n/a)
assert all("caption_adherence" not in x for x in m), m
print("ok")
PY
check "grep -qx ok $tmp/json_check" "report.json content: $(cat "$tmp/json_check")"

# the same random weights marked as the tiny family: the checker scores every method (thirds)
mkdir -p "$tmp/tinyfam"
for c in scheduler text_encoder tokenizer transformer vae model_index.json; do ln -s "$DATA/pipe_tiny/$c" "$tmp/tinyfam/$c"; done
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["caption_checker"]="tiny"; json.dump(j,open(sys.argv[2],"w"))' \
  "$DATA/pipe_tiny/spadit.json" "$tmp/tinyfam/spadit.json"
"$BIN" compare "a red circle moves to the right" --model "$tmp/tinyfam" --attention "$tmp/rect.json" \
  --out-dir "$tmp/fam" --no-cache --shadow-steps 0 --quiet > /dev/null 2> "$tmp/stderr_fam"
rc=$?
check "[ $rc -eq 0 ]" "compare on a tiny-family model exit code $rc: $(tail -3 "$tmp/stderr_fam")"
python3 - "$tmp/fam/report.json" <<'PY' > "$tmp/fam_check" 2>&1
import json, sys
for x in json.load(open(sys.argv[1]))["methods"]:
    a = x["caption_adherence"]
    assert 0 <= a <= 1 and abs(a * 3 - round(a * 3)) < 1e-9, a
print("ok")
PY
check "grep -qx ok $tmp/fam_check" "tiny-family adherence scored: $(cat "$tmp/fam_check")"
check "! grep -q adherence-na $tmp/fam/report.html" "tiny-family report shows scores, not n/a"
if command -v chromium >/dev/null 2>&1; then
  dom=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=3000 --dump-dom \
        "file://$tmp/out/report.html" 2>/dev/null)
  check "printf '%s' \"\$dom\" | grep -q 'id=\"summary\"'" "rendered DOM has the summary table"
  check "[ \$(printf '%s' \"\$dom\" | grep -o 'class=\"chart\"' | wc -l) -ge 3 ]" "rendered DOM has the charts"
  check "printf '%s' \"\$dom\" | grep -q 'class=\"heatmap\"'" "rendered DOM has the attention heatmap"
  check "printf '%s' \"\$dom\" | grep -q '<video class=\"sbs\"[^>]*src=\"data:video/webm;base64,'" "embedded video"
  check "[ \$(printf '%s' \"\$dom\" | grep -o 'class=\"adherence-na\">n/a<' | wc -l) -eq 3 ]" "adherence n/a for random weights"
  check "printf '%s' \"\$dom\" | grep -q '<div class=\"tablewrap\"><table id=\"summary\"'" "table inside its scroll box"
  check "printf '%s' \"\$dom\" | grep -q 'class=\"caplabel\"[^>]*>identical to dense (infinite): drawn at 100 dB<'" \
    "PSNR chart states where identical frames are drawn"
  check "printf '%s' \"\$dom\" | grep -q 'dense: 5 of 5 frames identical to dense'" "legend: the dense preset is identical"
  check "printf '%s' \"\$dom\" | grep -q 'Nothing to show: every cell is grey'" "all-grey heatmap says so"
  # pipe_tiny is one 128-token block per frame group: the rectified preset keeps every block, and the
  # CPU kernel then equals dense bit for bit, so the heatmap says its values are all equal (test_report_svg
  # checks the colour bar over a range of values)
  check "printf '%s' \"\$dom\" | grep -q -e 'linearGradient' -e 'computed values are equal'" \
    "heatmap shows its value range (a colour bar, or that every value is equal)"
  ticks=$(printf '%s' "$dom" | grep -o 'class="xtick"[^>]*>[^<]*<' | sed 's/.*>\(.*\)</\1/')
  check "[ -n \"\$ticks\" ] && ! printf '%s\n' \"\$ticks\" | grep -qv '^[0-9][0-9]*\$'" "integer x ticks only: $(echo $ticks)"
  # layout in a real browser at two widths (report_layout.js appends <pre id="layout">OK</pre> or the problems)
  { cat "$tmp/out/report.html"; echo "<script>"; cat "$HERE/report_layout.js"; echo "</script>"; } > "$tmp/out/layout.html"
  for w in 800 1400; do
    lay=$(timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 --window-size=$w,2000 \
          --dump-dom "file://$tmp/out/layout.html" 2>/dev/null | grep -o '<pre id="layout">[^<]*</pre>')
    check "[ \"\$lay\" = '<pre id=\"layout\">OK</pre>' ]" "layout at $w px: $lay"
  done
  timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1100,1600 --screenshot="$tmp/shot.png" \
    "file://$tmp/out/report.html" >/dev/null 2>&1
  check "[ \$(stat -c %s $tmp/shot.png 2>/dev/null || echo 0) -gt 20000 ]" "screenshot of the rendered report"
else
  echo "FAIL: chromium not installed (run ./setup.sh): the report must be rendered by a real browser"
  fail=$((fail + 1))
fi
# without --shadow-steps the attention error covers the preset's dense warm-up + 2 sparse steps
# (tiny-rectified-75: 2 dense steps -> 4 of pipe_tiny's 4 steps, x2 CFG calls = 8 rows)
"$BIN" compare "a red circle moves to the right" --model "$DATA/pipe_tiny" --attention tiny-rectified-75 \
  --out-dir "$tmp/out_shadow" --no-cache --quiet > /dev/null 2> "$tmp/stderr_shadow"
check "python3 -c \"import json,sys; m=json.load(open('$tmp/out_shadow/report.json'))['methods'][1]; \
sys.exit(0 if len(m['attention_rel_error']) == 8 else 1)\"" "default shadow steps reach the sparse steps: $(tail -2 "$tmp/stderr_shadow")"
echo "test_compare: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
