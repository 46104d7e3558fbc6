#!/usr/bin/env bash
# gpu_round.sh — one GPU call of the tiny model's training, with everything that belongs to it:
#   0. optionally (VAE_MIN > 0) the whole VAE first; the DiT then learns the new encoder's latents;
#   1. the DiT (stage dit, then optionally sla) and the VAE decoder (stage dec: encoder frozen,
#      so the DiT's latents stay valid) train side by side, two processes on the one GPU
#      (each alone leaves most of an H200 idle);
#   2. the checkpoints are assembled in $OUT/ckpt, exported to a diffusers pipeline folder, and
#      sampled through diffusers' WanPipeline (batched, bf16 DiT) on the 60 held-out captions
#      (guidance 5 and 8), 60 training captions and, after an SLA stage, the SLA fine-tune;
#   3. the C caption checker (models/tiny/adherence.c, built here with gcc) scores every set.
# $OUT gets ckpt/ (vae, dit x3 [, sla x2]) and logs.tgz (train logs, previews, contact sheets,
# eval.txt); the summary is printed last.  Every step has a deadline inside the 600 s limit.
#
# Usage (repo root, GPU machine; carry .whl, .deps and RESUME_DIR):
#   OUT=... bash tools/tiny/gpu_round.sh RESUME_DIR DIT_MIN DEC_MIN [SLA_MIN]
# Env: DIT_SET / DEC_SET / SLA_SET (train.py --set items), DIT_TOTAL / DEC_TOTAL / SLA_TOTAL
# (--total-minutes), VAE_MIN / VAE_SET / VAE_TOTAL (step 0), COMPILE=1 (torch.compile the DiT),
# EVAL=0 to skip steps 2-3, EVAL_SETS=held (held-out set only), EVAL_N / EVAL_BATCH, MARGIN_S
# (seconds a process may run past its minutes before `timeout` stops it).
# Checked on the CPU at toy scale (PRESET=toy EVAL_N=2 EVAL_BATCH=2 MARGIN_S=900) and in three
# H200 calls (docs/tiny_model.md §11).
set -uo pipefail
cd "$(dirname "$0")/../.."
RESUME=${1:?usage: gpu_round.sh RESUME_DIR DIT_MIN DEC_MIN [SLA_MIN]}
DIT_MIN=${2:?} DEC_MIN=${3:?} SLA_MIN=${4:-0}
: "${OUT:?set OUT to the folder whose files come back}"
source tools/gpu_env.sh
PY=${PYTHON:-python3}
PRESET=${PRESET:-full}
DEVICE=$($PY -c "import torch; print('cuda' if torch.cuda.is_available() else 'cpu')")
BF16=$([ "$DEVICE" = cuda ] && echo --bf16)
T0=$SECONDS
W=/tmp/tiny_round
rm -rf "$W" && mkdir -p "$W/dit" "$W/dec" "$W/logs" "$OUT/ckpt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$W/logs/gpu.txt"
gcc -O2 -std=c11 -D_GNU_SOURCE -o "$W/adherence_run" tools/adherence_run.c models/tiny/adherence.c \
  models/tiny/caption.c models/tiny/tclip.c dit/status.c -lm || echo "adherence_run did not build"

VAE_MIN=${VAE_MIN:-0}
calc() { $PY -c "print(int($1))"; }
if [ "$(calc "$VAE_MIN > 0")" = 1 ]; then  # phase A: the whole VAE first; the DiT then learns its latents
  vae_args=(--stage vae --minutes "$VAE_MIN" --out "$W/vae" --resume "$RESUME" --preset "$PRESET")
  [ -n "${VAE_SET:-}" ] && vae_args+=(--set "$VAE_SET")
  [ -n "${VAE_TOTAL:-}" ] && vae_args+=(--total-minutes "vae=$VAE_TOTAL")
  echo "== vae [${vae_args[*]}]"
  timeout "$(calc "$VAE_MIN * 60 + ${MARGIN_S:-60}")" $PY tools/tiny/train.py "${vae_args[@]}" > "$W/logs/vae_process.log" 2>&1
  echo "vae rc=$? at $((SECONDS - T0)) s: $(grep -h PSNR "$W/vae/train.log" | tail -1)"
  cp "$W/vae/train.log" "$W/logs/vae_train.log"; cp "$W/vae/preview.ppm" "$W/logs/vae_preview.ppm"
  if [ -e "$W/vae/vae.safetensors" ]; then
    mkdir -p "$W/res" && cp "$RESUME"/dit*.safetensors "$W/res/" && cp "$W/vae/vae.safetensors" "$W/res/"
    cp "$W/vae/vae.safetensors" "$OUT/ckpt/"  # comes back even if a later step runs out of time
    RESUME=$W/res
  fi
fi
stages=dit minutes=$DIT_MIN
if [ "$(calc "$SLA_MIN > 0")" = 1 ]; then stages=dit,sla minutes=$DIT_MIN,$SLA_MIN; fi
dit_args=(--stage "$stages" --minutes "$minutes" --out "$W/dit" --resume "$RESUME" --preset "$PRESET")
[ -n "${DIT_SET:-}${SLA_SET:-}" ] && dit_args+=(--set "$(echo "${DIT_SET:-},${SLA_SET:-}" | sed 's/^,//; s/,$//')")
[ -n "${DIT_TOTAL:-}${SLA_TOTAL:-}" ] && dit_args+=(--total-minutes "$(echo "${DIT_TOTAL:+dit=$DIT_TOTAL},${SLA_TOTAL:+sla=$SLA_TOTAL}" | sed 's/^,//; s/,$//')")
[ "${COMPILE:-0}" = 1 ] && dit_args+=(--compile)
dec_args=(--stage dec --minutes "$DEC_MIN" --out "$W/dec" --resume "$RESUME" --preset "$PRESET")
[ -n "${DEC_SET:-}" ] && dec_args+=(--set "$DEC_SET")
[ -n "${DEC_TOTAL:-}" ] && dec_args+=(--total-minutes "dec=$DEC_TOTAL")
lim=$(calc "($DIT_MIN + $SLA_MIN) * 60 + ${MARGIN_S:-60}")
echo "== train: dit process [${dit_args[*]}], dec process [${dec_args[*]}], limit ${lim}s"
timeout "$lim" $PY tools/tiny/train.py "${dit_args[@]}" > "$W/logs/dit_process.log" 2>&1 &
P1=$!
DEC_LIM=$(calc "$DEC_MIN * 60 + ${MARGIN_S:-60}")
timeout "$DEC_LIM" $PY tools/tiny/train.py "${dec_args[@]}" > "$W/logs/dec_process.log" 2>&1 &
P2=$!
wait $P1; rc1=$?
wait $P2; rc2=$?
echo "== train done at $((SECONDS - T0)) s: dit rc=$rc1, dec rc=$rc2"
tail -4 "$W/logs/dit_process.log"; tail -3 "$W/logs/dec_process.log"
cp "$W"/dit/*.safetensors "$OUT/ckpt/" 2>/dev/null
cp "$W"/dec/vae.safetensors "$OUT/ckpt/" 2>/dev/null || cp "$RESUME"/vae.safetensors "$OUT/ckpt/"
for f in train.log preview.ppm; do
  cp "$W/dit/$f" "$W/logs/dit_$f" 2>/dev/null; cp "$W/dec/$f" "$W/logs/dec_$f" 2>/dev/null
done
# the DiT stage needs the VAE checkpoint it was trained with: the resumed one's encoder
ls "$OUT"/ckpt/dit*.safetensors >/dev/null 2>&1 || cp "$RESUME"/dit*.safetensors "$OUT/ckpt/"

if [ "${EVAL:-1}" = 1 ]; then
  E=$W/eval
  mkdir -p "$E"
  timeout 60 $PY tools/tiny/export.py "$OUT/ckpt" "$E/model" --preset "$PRESET" > "$W/logs/export.log" 2>&1 ||
    echo "export failed: $(tail -3 "$W/logs/export.log")"
  run_set() { # NAME ARGS...: sample with diffusers, score with the C checker
    local name=$1; shift
    local left=$((570 - (SECONDS - T0)))
    if [ "$left" -lt 25 ]; then echo "SKIP eval $name: ${left}s left" | tee -a "$W/logs/eval.txt"; return; fi
    timeout "$left" $PY tools/tiny/sample.py "$E/model" "$E/$name" --device "$DEVICE" $BF16 --batch "${EVAL_BATCH:-60}" "$@" \
      > "$W/logs/sample_$name.log" 2>&1 || { echo "sample $name failed: $(tail -2 "$W/logs/sample_$name.log")"; return; }
    cp "$E/$name/contact.ppm" "$W/logs/contact_$name.ppm" 2>/dev/null
    "$W/adherence_run" "$E/$name" > "$W/logs/adherence_$name.txt" 2>&1
    echo "eval $name ($*): $(tail -1 "$W/logs/adherence_$name.txt")" | tee -a "$W/logs/eval.txt"
  }
  N=${EVAL_N:-60}
  run_set held_g5 --split heldout --n "$N"
  [ "${EVAL_SETS:-all}" = all ] && run_set train_g5 --split train --n "$N" --seed 7
  [ "${EVAL_SETS:-all}" = all ] && run_set held_g8 --split heldout --n "$N" --guidance 8
  if ls "$OUT"/ckpt/sla-*.safetensors >/dev/null 2>&1; then run_set held_sla --split heldout --n "$N" --sla; fi
fi
tar -czf "$OUT/logs.tgz" -C "$W" logs
ls -la "$OUT" "$OUT/ckpt"
echo "== summary ($((SECONDS - T0)) s)"
grep -hE "val loss|PSNR|steps [0-9]+ \(" "$W/logs/vae_train.log" "$W/logs/dit_train.log" "$W/logs/dec_train.log" 2>/dev/null | sed 's/; latent mean.*//' | tail -10
cat "$W/logs/eval.txt" 2>/dev/null
