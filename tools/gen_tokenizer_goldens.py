#!/usr/bin/env python3
"""Golden files for the C unigram tokenizer (io/tokenizer_unigram.c).

Usage:  /opt/gold/bin/python tools/gen_tokenizer_goldens.py [OUT_DIR=tests/data]
Needs sentencepiece, tokenizers, transformers (any CPU env; no network).
Deterministic for the fixed seeds below (given the same library versions).

1. Builds a multilingual training corpus locally: English from the docstrings
   of the Python standard library, generated sentences in Chinese, Japanese,
   Korean, Russian, Greek, Arabic, Hebrew, Hindi, Thai, Vietnamese and accented
   Latin, emoji and symbols.
2. Trains two SentencePiece unigram models like umT5's (nmt_nfkc, pad 0, eos 1,
   unk 2, no bos, byte_fallback off): sp4k (4000 pieces) and sp8k (8000).
3. Converts each with transformers' T5TokenizerFast (as google/umt5-xxl's
   tokenizer.json was made; extra_ids 100 and 300) and saves tok_<name>.json.
4. Encodes >= 1000 test strings (generated below, see make_cases) with
   - HF tokenizers (Tokenizer.from_file, truncation to 512) == transformers
     T5TokenizerFast(text, truncation=True, max_length=512) (asserted equal),
   - sentencepiece itself (raw ids, no EOS),
   and, for sp4k, with VARIANTS: the same vocabulary under other pipelines
   (older / newer converter outputs and stress pipelines exercising Replace,
   Strip, Prepend, Split, Metaspace and added-token flags).
5. Prompt-cleaning goldens: Python's html.unescape twice + strip + \\s+ -> ' '.

Output (tests/data): tok_sp4k.json, tok_sp8k.json, tok_goldens.json with
  {"max_length", "models", "variants": [{name, normalizer?, pre_tokenizer?,
   added_tokens?, post_processor?, sample}], "cases": [{"s", "cat",
   "hf": {model: ids}, "spm"?: {model: ids}, "var"?: {variant: ids}}],
   "clean": [[in, out], ...]}
A variant's normalizer may contain {"type": "Precompiled"} without a charsmap:
the base file's charsmap goes there.  "var" lists only ids that differ from
hf["sp4k"]; stress variants ran on every fourth case outside long/boundary
("sample": 4).  "spm" (sentencepiece's raw ids, no EOS, cut to 511) is stored
only where it differs from HF.  Size budget: tok_sp8k.json holds no charsmap
("precompiled_charsmap": null, "charsmap_from": "tok_sp4k.json"; the test
copies it over; the generator asserts both models' charsmaps are equal).
The C test (tests/test_tokenizer.c) requires zero mismatches against the HF
ids and reports how sentencepiece differs from HF.
"""
import html
import json
import os
import random
import re
import shutil
import sys
import tempfile
import unicodedata

import sentencepiece as spm
import tokenizers
import transformers
from tokenizers import Tokenizer
from transformers import T5TokenizerFast

sys.path.insert(0, os.path.dirname(__file__))
from gen_tok_text import boundary_text, make_cases, make_clean_cases, training_corpus  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data")
MAX_LEN = 512
MODELS = [("sp4k", 4000, 100), ("sp8k", 8000, 300)]

PRE = {"type": "Precompiled"}  # the charsmap is filled in from the base file
VARIANTS = [
    # transformers ~4.31 (2023) SpmConverter: what google/umt5-xxl may carry; old Metaspace fields
    {"name": "legacy_2023",
     "normalizer": {"type": "Sequence", "normalizers": [PRE, {"type": "Replace", "pattern": {"Regex": " {2,}"},
                                                              "content": " "}]},
     "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True,
                       "str_rep": "\u2581"}},
    # transformers 4.36..4.4x T5 conversion
    {"name": "t5_2024",
     "normalizer": {"type": "Sequence", "normalizers": [
         PRE, {"type": "Strip", "strip_left": False, "strip_right": True},
         {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "\u2581"}]},
     "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}},
    # transformers 5 build_tokenizer_from_spm_proto, legacy and not
    {"name": "spm_proto_legacy",
     "normalizer": {"type": "Sequence", "normalizers": [
         PRE, {"type": "Replace", "pattern": {"Regex": "\\A +| +\\z"}, "content": ""},
         {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
         {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
         {"type": "Replace", "pattern": {"Regex": "\\A\u2581"}, "content": "\u2581\u2581"}]},
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
         {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": False}]}},
    {"name": "spm_proto_first",
     "normalizer": {"type": "Sequence", "normalizers": [
         PRE, {"type": "Replace", "pattern": {"Regex": "\\A +| +\\z"}, "content": ""},
         {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
         {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
         {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}]}},
    # stress pipelines (not produced by converters; they exercise every supported option)
    {"name": "stress_a",
     "normalizer": {"type": "Sequence", "normalizers": [
         PRE, {"type": "Strip", "strip_left": True, "strip_right": True},
         {"type": "Replace", "pattern": {"Regex": "[0-9]+(?:[.,][0-9]+)?"}, "content": "#"},
         {"type": "Replace", "pattern": {"String": "the"}, "content": "THE"},
         {"type": "Replace", "pattern": {"Regex": "(?:ab|a)+?c|x{2,3}|[^\\sA-Za-z#]{4}"}, "content": "\u00a7"},
         {"type": "Replace", "pattern": {"Regex": "^ *-|!$|\\.\\Z"}, "content": "\u00b7"},
         {"type": "Prepend", "prepend": "\u2581"}]},
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
         {"type": "Split", "pattern": {"Regex": "\\s+|[,.;:!?]"}, "behavior": "Isolated", "invert": False},
         {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}]}},
    {"name": "stress_b",
     "normalizer": {"type": "Sequence", "normalizers": [
         {"type": "Replace", "pattern": {"Regex": "\\A\\s+|\\s+\\z"}, "content": ""}, PRE,
         {"type": "Strip", "strip_left": True, "strip_right": False}]},
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
         {"type": "WhitespaceSplit"},
         {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}]}},
    {"name": "stress_c",
     "normalizer": {"type": "Sequence", "normalizers": [
         PRE, {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
     "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
         {"type": "Split", "pattern": {"String": "\u2581"}, "behavior": "MergedWithPrevious", "invert": False},
         {"type": "Split", "pattern": {"Regex": "[a-e]+"}, "behavior": "Contiguous", "invert": True},
         {"type": "Split", "pattern": {"Regex": "[0-9]"}, "behavior": "MergedWithNext", "invert": False},
         {"type": "Split", "pattern": {"Regex": "[qz]|\u3002"}, "behavior": "Removed", "invert": False},
         {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "never", "split": False}]}},
    # added-token flags and a two-sided template
    {"name": "added_flags", "added_tokens": "FLAGS", "post_processor": "PADDED"},
]


def train(corpus_path, workdir, name, size):
    prefix = os.path.join(workdir, name)
    spm.SentencePieceTrainer.train(
        input=corpus_path, model_prefix=prefix, vocab_size=size, model_type="unigram",
        normalization_rule_name="nmt_nfkc", byte_fallback=False, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
        character_coverage=0.9995, num_threads=2, max_sentence_length=20000, seed_sentencepiece_size=200000,
        minloglevel=2)
    return prefix + ".model"


def convert(model_path, workdir, name, extra_ids):
    d = os.path.join(workdir, name + "_hf")
    os.makedirs(d, exist_ok=True)
    shutil.copy(model_path, os.path.join(d, "spiece.model"))
    t = T5TokenizerFast.from_pretrained(d, extra_ids=extra_ids)
    out = os.path.join(workdir, name + "_saved")
    t.save_pretrained(out)
    return t, os.path.join(out, "tokenizer.json")


def fill(obj, charsmap):
    """Deep copy of a variant member with the charsmap put into bare Precompiled entries."""
    if isinstance(obj, dict):
        o = {k: fill(v, charsmap) for k, v in obj.items()}
        if o.get("type") == "Precompiled" and "precompiled_charsmap" not in o:
            o["precompiled_charsmap"] = charsmap
        return o
    if isinstance(obj, list):
        return [fill(v, charsmap) for v in obj]
    return obj


def variant_json(base, v):
    """Resolve a variant against the base tokenizer.json dict; returns (stored spec, full json)."""
    j = json.loads(json.dumps(base))
    spec = {"name": v["name"]}
    charsmap = base["normalizer"]["precompiled_charsmap"]
    for key in ("normalizer", "pre_tokenizer"):
        if key in v:
            spec[key] = v[key]
            j[key] = fill(v[key], charsmap)
    if v.get("added_tokens") == "FLAGS":
        added = json.loads(json.dumps(base["added_tokens"]))
        for a in added:
            if a["content"] == "</s>":
                a["lstrip"] = True
            if a["content"] == "<pad>":
                a["rstrip"] = True
            if a["content"] in ("<extra_id_1>", "<extra_id_2>"):
                a["normalized"] = True
        vocab_n = len(base["model"]["vocab"])
        added.append({"id": vocab_n, "content": "<mask>", "single_word": False, "lstrip": True, "rstrip": True,
                      "normalized": False, "special": True})
        added.append({"id": vocab_n + 1, "content": "\uff1cnorm\uff1e", "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": True, "special": False})
        spec["added_tokens"] = added
        j["added_tokens"] = added
    if v.get("post_processor") == "PADDED":
        pp = {"type": "TemplateProcessing",
              "single": [{"SpecialToken": {"id": "<pad>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "</s>", "type_id": 0}}],
              "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
              "special_tokens": {"<pad>": {"id": "<pad>", "ids": [0], "tokens": ["<pad>"]},
                                 "</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}}
        spec["post_processor"] = pp
        j["post_processor"] = pp
    return spec, j


def hf_encode_all(tok, strings):
    tok.enable_truncation(MAX_LEN)
    return [e.ids for e in tok.encode_batch(strings)]


def main():
    rng = random.Random(20260611)
    work = tempfile.mkdtemp(prefix="spadit_tok_")
    corpus = os.path.join(work, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write(training_corpus(rng))
    cases = make_cases(random.Random(7))
    trained = {}
    for name, size, extra in MODELS:
        model_path = train(corpus, work, name, size)
        t5, tj_path = convert(model_path, work, name, extra)
        trained[name] = (model_path, t5, tj_path)
    # prompts cut to exactly 510..513 and 600 text tokens of sp4k (512 = 511 + EOS is the limit)
    full = Tokenizer.from_file(trained["sp4k"][2])
    text = boundary_text(random.Random(5))
    cut = 0
    for target in (510, 511, 512, 513, 600):
        cut = next(c for c in range(cut, len(text)) if len(full.encode(text[:c]).ids) - 1 >= target)
        cases.append({"cat": "boundary", "s": text[:cut]})
        print(f"boundary case: {len(full.encode(text[:cut]).ids) - 1} text tokens (target {target})")
    strings = [c["s"] for c in cases]
    assert len(strings) >= 1000, len(strings)
    out_cases = [{"s": c["s"], "cat": c["cat"], "hf": {}} for c in cases]
    base_sp4k = None
    charsmap = None
    for name, size, extra in MODELS:
        model_path, t5, tj_path = trained[name]
        dst = os.path.join(OUT, f"tok_{name}.json")
        with open(tj_path, encoding="utf-8") as f:
            tj = json.load(f)
        hf = hf_encode_all(Tokenizer.from_file(tj_path), strings)
        # Size budget: the nmt_nfkc charsmap (320 kB of base64) is stored once, in
        # tok_sp4k.json; the other files name it and the C test puts it back.
        stored = json.loads(json.dumps(tj))
        if charsmap is None:
            charsmap = tj["normalizer"]["precompiled_charsmap"]
        else:
            assert tj["normalizer"]["precompiled_charsmap"] == charsmap, "charsmaps differ"
            stored["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": None,
                                    "charsmap_from": "tok_sp4k.json"}
        with open(dst, "w", encoding="utf-8") as f:
            json.dump(stored, f, ensure_ascii=False, separators=(",", ":"))
        tf = [t5(s, truncation=True, max_length=MAX_LEN)["input_ids"] for s in strings]
        assert hf == tf, f"{name}: tokenizers and transformers disagree"
        sp = spm.SentencePieceProcessor(model_file=model_path)
        spm_ids = [sp.encode(s) for s in strings]
        ndiff = 0
        for oc, h, s in zip(out_cases, hf, spm_ids):
            oc["hf"][name] = h
            if h != s[:MAX_LEN - 1] + [1]:  # stored only when sentencepiece differs from HF
                oc.setdefault("spm", {})[name] = s[:MAX_LEN - 1]
                ndiff += 1
        print(f"{name}: vocab {len(tj['model']['vocab'])}, HF vs sentencepiece differ on {ndiff}/{len(strings)}")
        if name == "sp4k":
            base_sp4k = tj
    specs = []
    for v in VARIANTS:
        spec, j = variant_json(base_sp4k, v)
        # converter variants on every case, stress variants on every fourth short one (size budget)
        pick = [i for i, c in enumerate(out_cases)
                if not v["name"].startswith(("stress", "added")) or (i % 4 == 0 and c["cat"] not in ("long", "boundary"))]
        ids = hf_encode_all(Tokenizer.from_str(json.dumps(j)), [strings[i] for i in pick])
        nd = 0
        for i, vid in zip(pick, ids):
            oc = out_cases[i]
            if vid != oc["hf"]["sp4k"]:
                oc.setdefault("var", {})[v["name"]] = vid
                nd += 1
        spec["sample"] = 1 if len(pick) == len(strings) else 4
        specs.append(spec)
        print(f"variant {v['name']}: differs from the base on {nd} strings")
    # wan/modules/tokenizers.py without ftfy: basic_clean then whitespace_clean
    clean = [[s, re.sub(r"\s+", " ", html.unescape(html.unescape(s)).strip()).strip()]
             for s in make_clean_cases(random.Random(11))]
    gold = {"generator": "tools/gen_tokenizer_goldens.py",
            "versions": {"sentencepiece": spm.__version__, "tokenizers": tokenizers.__version__,
                         "transformers": transformers.__version__, "unicodedata": unicodedata.unidata_version},
            "max_length": MAX_LEN, "models": [m[0] for m in MODELS], "variants": specs, "cases": out_cases,
            "clean": clean}
    with open(os.path.join(OUT, "tok_goldens.json"), "w", encoding="utf-8") as f:
        json.dump(gold, f, ensure_ascii=False, separators=(",", ":"))
    shutil.rmtree(work)
    for fn in ["tok_sp4k.json", "tok_sp8k.json", "tok_goldens.json"]:
        print(fn, os.path.getsize(os.path.join(OUT, fn)), "bytes")


if __name__ == "__main__":
    main()
