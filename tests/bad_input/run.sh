#!/usr/bin/env bash
# run.sh — the bad-input corpus: every reader and every flag of spadit given malformed, hostile or
# careless input.  Each case names what was tried, the exit code it must give and the words its
# message must contain (the file, flag or tensor, and the problem).  A crash (exit >= 128), a hang
# (every command runs under `timeout`), a leftover temp file or a changed existing output fails.
# Usage: run.sh SPADIT ST_POISON DATA_DIR
set -u
BIN=$1
POISON=$2
DATA=$3
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# case WHAT CODE WORD... -- COMMAND...: the exit code is CODE and the output holds every WORD
case_() {
  local what=$1 code=$2
  shift 2
  local words=()
  while [ "$1" != "--" ]; do words+=("$1"); shift; done
  shift
  local out rc
  out=$(timeout 120 "$@" 2>&1)
  rc=$?
  local ok=1
  [ "$rc" -eq "$code" ] || ok=0
  for w in "${words[@]}"; do printf '%s' "$out" | grep -qF -- "$w" || ok=0; done
  if [ $ok -eq 1 ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL: $what: rc $rc (want $code); wanted: ${words[*]}"
    printf '%s\n' "$out" | tail -4 | sed 's/^/    /'
  fi
}
# check WHAT CONDITION...: a shell test that must hold
check() {
  local what=$1
  shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what"; fi
}
no_temp_in() { [ -z "$(find "$1" -name '.*.tmp-*' -o -name '*.tmp-*' | head -1)" ]; }

# a writable copy of the tiny pipeline to break one piece at a time
model() { # model NAME: a fresh copy in $tmp/NAME
  rm -rf "${tmp:?}/$1"
  cp -r "$DATA/pipe_tiny" "$tmp/$1"
  echo "$tmp/$1"
}
GEN=(generate "a red circle" --no-cache --quiet)

# ---- flags ----
M=$DATA/pipe_tiny
case_ "--size 0x0" 2 "--size" "0x0" -- "$BIN" "${GEN[@]}" --model "$M" --size 0x0
case_ "--size wraps 2^32" 2 "--size" "4294967312x48" -- "$BIN" "${GEN[@]}" --model "$M" --size 4294967312x48
case_ "--size trailing garbage" 2 "--size" "64x48garbage" -- "$BIN" "${GEN[@]}" --model "$M" --size 64x48garbage
case_ "--size negative" 2 "--size" -- "$BIN" "${GEN[@]}" --model "$M" --size -64x48
case_ "--size no value" 2 "--size" -- "$BIN" generate "p" --size
case_ "--size odd multiple" 2 "multiples of 16" "--size" -- "$BIN" "${GEN[@]}" --model "$M" --size 65x48
case_ "--size out of memory" 1 "needs" "GiB of host memory" "available" -- "$BIN" "${GEN[@]}" --model "$M" --size 100000x100000
case_ "--max-memory too small" 1 "needs" "GiB available (--max-memory)" -- "$BIN" "${GEN[@]}" --model "$M" --max-memory 0.001
case_ "--max-memory not a number" 2 "--max-memory" -- "$BIN" "${GEN[@]}" --model "$M" --max-memory lots
case_ "--frames not 4n+1" 2 "4n + 1" "--frames" -- "$BIN" "${GEN[@]}" --model "$M" --frames 6
case_ "--frames 0" 2 "--frames" -- "$BIN" "${GEN[@]}" --model "$M" --frames 0
case_ "--frames overflow" 2 "--frames" -- "$BIN" "${GEN[@]}" --model "$M" --frames 99999999999999999999
case_ "--steps 0" 2 "--steps" -- "$BIN" "${GEN[@]}" --model "$M" --steps 0
case_ "--seed negative" 2 "--seed" -- "$BIN" "${GEN[@]}" --model "$M" --seed -1
case_ "--shift nan" 2 "--shift" -- "$BIN" "${GEN[@]}" --model "$M" --shift nan
case_ "--guidance inf" 2 "--guidance" -- "$BIN" "${GEN[@]}" --model "$M" --guidance inf
case_ "--fps 0" 2 "--fps" -- "$BIN" "${GEN[@]}" --model "$M" --fps 0
case_ "--crf 99" 2 "--crf" -- "$BIN" "${GEN[@]}" --model "$M" --crf 99
case_ "--gpus 0" 2 "--gpus" -- "$BIN" "${GEN[@]}" --model "$M" --gpus 0
case_ "--ranks 1000" 2 "--ranks" -- "$BIN" "${GEN[@]}" --model "$M" --ranks 1000
case_ "--cfg-parallel maybe" 2 "--cfg-parallel" -- "$BIN" "${GEN[@]}" --model "$M" --cfg-parallel maybe
case_ "--sampler unknown" 1 "solver 'foo' unknown" -- "$BIN" "${GEN[@]}" --model "$M" --sampler foo
case_ "--backend unknown" 1 "unknown backend 'tpu'" -- "$BIN" "${GEN[@]}" --model "$M" --backend tpu --out "$tmp/v.png"
case_ "--attention unknown preset" 1 "no preset 'nope'" -- "$BIN" "${GEN[@]}" --model "$M" --attention nope
case_ "--attention bad name" 1 "bad preset name" -- "$BIN" "${GEN[@]}" --model "$M" --attention 'a b'
case_ "--model missing" 1 "model folder not found" -- "$BIN" "${GEN[@]}" --model "$tmp/none"
case_ "--dit missing" 1 "$tmp/none" -- "$BIN" "${GEN[@]}" --model "$M" --dit "$tmp/none" --out "$tmp/v.png"
case_ "--out unknown extension" 2 "--out" ".avi" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/v.avi"
case_ "--out missing folder" 2 "does not exist (flag --out)" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/nowhere/v.png"
case_ "--out is a folder" 2 "--out" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/"
case_ "--negative-prompt without value" 2 "--negative-prompt needs a value" -- "$BIN" generate "p" --negative-prompt
case_ "unknown flag" 2 "unknown option '--frobnicate'" -- "$BIN" generate "p" --frobnicate
case_ "two prompts" 2 "more than one prompt" -- "$BIN" generate "p" "q"

# --save-latent: never the video itself; its folder checked before the run; an existing video kept
printf 'old video' > "$tmp/keep.png"
case_ "--save-latent equals --out" 2 "--save-latent" "is the video's own file" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/keep.png" --save-latent "$tmp/keep.png"
case_ "--save-latent same file, other spelling" 2 "is the video's own file" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/keep.png" --save-latent "$tmp/./keep.png"
case_ "--save-latent missing folder" 2 "does not exist (flag --save-latent)" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/keep.png" --save-latent "$tmp/nowhere/l.safetensors"
check "existing --out untouched after the refusals" [ "$(cat "$tmp/keep.png")" = "old video" ]

# forward
W32=$DATA/wan_tiny32_diffusers
case_ "forward --latent garbage" 2 "--latent" -- "$BIN" forward "$W32" --latent 2x6x10junk
case_ "forward --latent huge" 2 "--latent" -- "$BIN" forward "$W32" --latent 2x6x99999999999
case_ "forward --ctx-len 513" 2 "--ctx-len" -- "$BIN" forward "$W32" --ctx-len 513
mkfifo "$tmp/fifo.safetensors"
case_ "forward --input FIFO" 1 "fifo.safetensors" "not a regular file" -- "$BIN" forward "$W32" --input "$tmp/fifo.safetensors"
# bench / compare
case_ "bench --size garbage" 2 "--size" -- "$BIN" bench --backend cpu --model "$M" --size 64x48x
case_ "bench out of memory" 1 "needs" "GiB of host memory" "available" -- "$BIN" bench --backend cpu --model "$M" --size 100000x100000
case_ "forward out of memory" 1 "latent grid 4096x4096x4096 needs" "GiB available" -- "$BIN" forward "$W32" --latent 4096x4096x4096
case_ "compare without presets" 2 "--attention" -- "$BIN" compare "p" --model "$M"
printf 'one\ntwo\n' > "$tmp/prompts.txt"
printf 'x' > "$tmp/afile'q"
case_ "compare --out-dir through a file (quote in the name, no shell)" 1 "--out-dir" "is not a folder" -- "$BIN" compare "@$tmp/prompts.txt" --model "$M" --attention dense --out-dir "$tmp/afile'q/sub" --no-cache --quiet
case_ "compare @prompt FIFO" 1 "prompt file" "not a regular file" -- "$BIN" compare "@$tmp/fifo.safetensors" --model "$M" --attention dense --out-dir "$tmp/c"
: > "$tmp/empty.txt"
case_ "compare --max-memory too small" 1 "needs" "(--max-memory)" -- "$BIN" compare "p" --model "$M" --attention dense --out-dir "$tmp/c" --no-cache --max-memory 0.001
mkdir -p "$tmp/isdir.png"
case_ "--out names an existing folder" 2 "isdir.png" "is a folder" "--out" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/isdir.png"
case_ "--save-latent names an existing folder" 2 "is a folder" "--save-latent" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/v.png" --save-latent "$tmp/isdir.png"
case_ "compare @empty prompt file" 1 "empty.txt holds no prompt" -- "$BIN" compare "@$tmp/empty.txt" --model "$M" --attention dense --out-dir "$tmp/c"

# ---- readers ----
# attention presets
case_ "--attention FIFO" 1 "fifo.safetensors" "not a regular file" -- "$BIN" "${GEN[@]}" --model "$M" --attention "$tmp/fifo.safetensors"
echo '[1, 2]' > "$tmp/arr.json"
case_ "--attention not an object" 1 "arr.json" "expected a JSON object" -- "$BIN" "${GEN[@]}" --model "$M" --attention "$tmp/arr.json"
echo '{"method":"rectified","dense_layers":4294967297}' > "$tmp/p1.json"
case_ "preset integer beyond int" 1 "p1.json" "dense_layers" -- "$BIN" "${GEN[@]}" --model "$M" --attention "$tmp/p1.json"
echo '{"method":"rectified","rectified":{"drop_rate":1e999}}' > "$tmp/p2.json"
case_ "preset number overflow" 1 "p2.json" "drop_rate" -- "$BIN" "${GEN[@]}" --model "$M" --attention "$tmp/p2.json"
echo '{"method":' > "$tmp/p3.json"
case_ "preset truncated JSON" 1 "p3.json" "invalid JSON" -- "$BIN" "${GEN[@]}" --model "$M" --attention "$tmp/p3.json"
mkdir -p "$tmp/dir.json"
case_ "preset is a folder" 1 "dir.json" "is a folder" -- "$BIN" "${GEN[@]}" --model "$M" --attention "$tmp/dir.json"

# spadit.json
m=$(model sj1); echo '[832, 480]' > "$m/spadit.json"
case_ "spadit.json not an object" 1 "spadit.json" "expected a JSON object" -- "$BIN" "${GEN[@]}" --model "$m"
m=$(model sj2); echo '{"width": 4294967312}' > "$m/spadit.json"
case_ "spadit.json width wraps" 1 "spadit.json" "'width'" "expected an integer" -- "$BIN" "${GEN[@]}" --model "$m"
m=$(model sj3); echo '{"steps": 2.5}' > "$m/spadit.json"
case_ "spadit.json steps not an integer" 1 "spadit.json" "'steps'" -- "$BIN" "${GEN[@]}" --model "$m"
m=$(model sj4); echo '{"sampler": 3}' > "$m/spadit.json"
case_ "spadit.json sampler not a string" 1 "spadit.json" "sampler" -- "$BIN" "${GEN[@]}" --model "$m"

# DiT config.json (spadit info reads config + weights)
dit_cfg() { # dit_cfg NAME JSON: the small original-layout DiT with another config.json
  rm -rf "${tmp:?}/$1"; mkdir -p "$tmp/$1"
  for f in "$DATA/wan_small_original"/*; do ln -s "$f" "$tmp/$1/"; done
  rm "$tmp/$1/config.json"; printf '%s' "$2" > "$tmp/$1/config.json"; echo "$tmp/$1"
}
d=$(dit_cfg c1 '{"_class_name":"WanModel","dim":64,"num_heads":2,"num_layers":4294967298,"ffn_dim":96}')
case_ "num_layers 2^32+2 (was run as 2 layers)" 1 "config.json" "'num_layers' is 4294967298" -- "$BIN" info "$d"
d=$(dit_cfg c2 '{"_class_name":"WanModel","dim":2147483647,"num_heads":1,"num_layers":2147483647,"ffn_dim":2147483647}')
case_ "absurd dim/num_layers (parameter count wrapped)" 1 "config.json" "'dim'" -- "$BIN" info "$d"
d=$(dit_cfg c3 '{"num_attention_heads":65536,"attention_head_dim":65536,"num_layers":2,"ffn_dim":96}')
case_ "heads x head_dim overflows int" 1 "config.json" "num_attention_heads" -- "$BIN" info "$d"
d=$(dit_cfg c4 '{"num_attention_heads":2,"attention_head_dim":32,"num_layers":2,"ffn_dim":96,"eps":-1}')
case_ "eps negative" 1 "config.json" "'eps'" -- "$BIN" info "$d"
d=$(dit_cfg c5 '{"num_attention_heads":2,"attention_head_dim":32,"num_layers":2,"ffn_dim":96,"patch_size":[1,2,4294967298]}')
case_ "patch_size beyond int" 1 "config.json" "patch_size" -- "$BIN" info "$d"
d=$(dit_cfg c6 '"WanModel"')
case_ "config.json not an object" 1 "config.json" "expected a JSON object" -- "$BIN" info "$d"
d=$(dit_cfg c7 '{"num_heads": 2, "dim": 64')
case_ "config.json truncated" 1 "config.json" "invalid JSON" -- "$BIN" info "$d"
# umT5 and VAE configs inside a pipeline
m=$(model te1); sed -i 's/"num_layers": 2,/"num_layers": 4294967298,/' "$m/text_encoder/config.json"
case_ "text encoder num_layers beyond int" 1 "text_encoder/config.json" "'num_layers'" -- "$BIN" "${GEN[@]}" --model "$m" --out "$tmp/v.png"
m=$(model va1); sed -i 's/"base_dim": 8,/"base_dim": 1e300,/' "$m/vae/config.json"
case_ "VAE base_dim absurd" 1 "vae/config.json" "'base_dim'" -- "$BIN" "${GEN[@]}" --model "$m" --out "$tmp/v.png"

# tokenizer.json
m=$(model tk1)
awk '{ if (!done && $0 ~ /"type": "WhitespaceSplit"/) { p = "("; while (length(p) < 200000) p = p p; p = substr(p, 1, 200000);
       q = p; gsub(/\(/, ")", q); print "\"type\": \"Split\", \"pattern\": {\"Regex\": \"" p "a" q "\"}, \"behavior\": \"Isolated\", \"invert\": false"; done = 1 }
       else print }' "$DATA/pipe_tiny/tokenizer/tokenizer.json" > "$m/tokenizer/tokenizer.json"
case_ "tokenizer Split regex nested 200000 deep" 1 "tokenizer.json" "nested deeper than 100" -- "$BIN" "${GEN[@]}" --model "$m"
m=$(model tk2); sed -i '7s/"id": 0,/"id": 2147483647,/' "$m/tokenizer/tokenizer.json"
case_ "tokenizer added token id INT32_MAX" 1 "tokenizer.json" "added_tokens[0]" -- "$BIN" "${GEN[@]}" --model "$m"
m=$(model tk3); printf '{"model": {"type": "BPE"}}' > "$m/tokenizer/tokenizer.json"
case_ "tokenizer not unigram" 1 "tokenizer.json" "BPE" -- "$BIN" "${GEN[@]}" --model "$m"
m=$(model tk4); rm "$m/tokenizer/tokenizer.json"; mkfifo "$m/tokenizer/tokenizer.json"
case_ "tokenizer.json FIFO" 1 "tokenizer.json" "not a regular file" -- "$BIN" "${GEN[@]}" --model "$m"

# safetensors (a little-endian u64 header length, the JSON header, the data), read by `spadit info FILE`
# with a valid config.json beside them, so the weights reader is what refuses
mkdir -p "$tmp/st"
cp "$DATA/wan_small_original/config.json" "$tmp/st/"
st() { # st FILE HEADER DATA_BYTES
  local h=$2 n=${#2}
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x00\\x00\\x00\\x00' $((n & 255)) $(((n >> 8) & 255)) $(((n >> 16) & 255)) $(((n >> 24) & 255)))" > "$1"
  printf '%s' "$h" >> "$1"
  head -c "$3" /dev/zero >> "$1"
}
st "$tmp/st/ovl.safetensors" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' 12
case_ "safetensors overlap hidden by an empty tensor" 1 "ovl.safetensors" "overlap" -- "$BIN" info "$tmp/st/ovl.safetensors"
st "$tmp/st/gap.safetensors" '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}' 12
case_ "safetensors gap" 1 "gap.safetensors" "leaves a gap" -- "$BIN" info "$tmp/st/gap.safetensors"
st "$tmp/st/big.safetensors" '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}}' 4
case_ "safetensors offset beyond 2^64" 1 "big.safetensors" "data_offsets" -- "$BIN" info "$tmp/st/big.safetensors"
st "$tmp/st/trunc.safetensors" '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}' 8
case_ "safetensors truncated data" 1 "trunc.safetensors" "truncated" -- "$BIN" info "$tmp/st/trunc.safetensors"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' > "$tmp/st/hl.safetensors"
case_ "safetensors header length absurd" 1 "hl.safetensors" "header length" -- "$BIN" info "$tmp/st/hl.safetensors"
mkfifo "$tmp/st/fifo.safetensors"
case_ "safetensors FIFO" 1 "fifo.safetensors" "not a regular file" -- "$BIN" info "$tmp/st/fifo.safetensors"
# .pth
head -c 700 "$DATA/pth/dtypes.pth" > "$tmp/st/cut.pth"
case_ "pth truncated" 1 "cut.pth" "zip" -- "$BIN" info "$tmp/st/cut.pth"
cp "$DATA/pth/bad_global.pth" "$tmp/st/"
case_ "pth with os.system global" 1 "bad_global.pth" "unsupported global" -- "$BIN" info "$tmp/st/bad_global.pth"

# NaN weights: the stage that produced them is named, no video is written, an existing one is kept
m=$(model nan1)
"$POISON" "$DATA/pipe_tiny/vae/diffusion_pytorch_model.safetensors" "$m/vae/diffusion_pytorch_model.safetensors" decoder.conv_in.weight nan
printf 'old video' > "$tmp/nan.png"
case_ "NaN VAE weights" 1 "VAE decoder output" "NaN or Inf" -- "$BIN" "${GEN[@]}" --model "$m" --out "$tmp/nan.png" --save-latent "$tmp/nan.safetensors"
check "NaN VAE: existing video kept" [ "$(cat "$tmp/nan.png")" = "old video" ]
check "NaN VAE: no latent written" [ ! -e "$tmp/nan.safetensors" ]
m=$(model nan2)
"$POISON" "$DATA/pipe_tiny/transformer/diffusion_pytorch_model.safetensors" "$m/transformer/diffusion_pytorch_model.safetensors" proj_out.weight inf
case_ "Inf DiT weights" 1 "DiT output at step 1" "NaN or Inf" -- "$BIN" "${GEN[@]}" --model "$m" --out "$tmp/inf.png"

m=$(model nan3)
"$POISON" "$DATA/pipe_tiny/text_encoder/model.safetensors" "$m/text_encoder/model.safetensors" encoder.final_layer_norm.weight nan
case_ "NaN text encoder weights" 1 "text encoder output for the prompt" "NaN or Inf" -- "$BIN" "${GEN[@]}" --model "$m" --out "$tmp/te.png"

check "no temp file left behind" no_temp_in "$tmp"
# --noise: a file with several tensors, a FIFO, a truncated file: refused, naming the flag
case_ "--noise with several tensors" 2 "--noise" "holds" "expected one initial latent" -- "$BIN" "${GEN[@]}" --model "$M" \
  --out "$tmp/nz.png" --noise "$DATA/sampler_golden.safetensors"
mkfifo "$tmp/noise_fifo.safetensors"
case_ "--noise is a FIFO" 2 "--noise" "noise_fifo.safetensors" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/nz.png" \
  --noise "$tmp/noise_fifo.safetensors"
head -c 20 "$DATA/sampler_golden.safetensors" > "$tmp/noise_cut.safetensors"
case_ "--noise truncated" 2 "--noise" "noise_cut.safetensors" -- "$BIN" "${GEN[@]}" --model "$M" --out "$tmp/nz.png" \
  --noise "$tmp/noise_cut.safetensors"
check "--noise refusals leave no output" test ! -e "$tmp/nz_00000.png"
echo "bad_input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
