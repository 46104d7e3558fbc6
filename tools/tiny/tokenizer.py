#!/usr/bin/env python3
"""tokenizer.py - the tiny model's tokenizer: a SentencePiece unigram model (nmt_nfkc
normaliser, like umT5's) trained on the caption language, converted with transformers
to a T5TokenizerFast `tokenizer.json`, the same kind of file as google/umt5-xxl's.

Ids: pad 0, eos 1 (</s>, appended), unk 2, no BOS, no <extra_id_*> tokens.

Usage:
  python3 tools/tiny/tokenizer.py [OUT_DIR=models/tiny/wan-tiny-t2v/tokenizer]   # train + convert
  python3 tools/tiny/tokenizer.py --check [DIR]                                    # verify only
Deterministic: the caption language enumerated (corpus_lines) and single-threaded training, so
rerunning reproduces the committed files byte for byte (checked by --check against a
fresh training run in a temp dir).  Checked also: every caption word is one piece, the
special ids, and that the fast tokenizer and the SentencePiece model give the same ids.
"""
import argparse
import filecmp
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
DEFAULT_OUT = os.path.join(HERE, "..", "..", "models", "tiny", "wan-tiny-t2v", "tokenizer")
VOCAB_SIZE = 64


def corpus_lines():
    """The caption language enumerated (not sampled, so the tokenizer does not depend on
    data.py's sampling probabilities): every (colour, shape, motion) with every size word,
    with and without a background phrase, plus one two-object caption each."""
    import data
    bgs = data.bg_specs()
    lines, i = [], 0
    for c in range(len(data.OBJ_COLOURS)):
        for s in range(len(data.SHAPES)):
            for m in range(len(data.MOTIONS)):
                for size in (1, 0, 2):  # no size word, "small", "big"
                    first = data.object_phrase(c, s, size, True) + " " + data.MOTIONS[m][3]
                    top, bot = bgs[i % len(bgs)]
                    bg = " on a " + (data.BG_COLOURS[top] + " background" if top == bot else
                                     data.BG_COLOURS[top] + " to " + data.BG_COLOURS[bot] + " gradient")
                    second = " and " + data.object_phrase((c + 1 + i) % len(data.OBJ_COLOURS), (s + i) % len(
                        data.SHAPES), 0, True) + " " + data.MOTIONS[(m + i) % len(data.MOTIONS)][3]
                    lines += [first, first + bg, first + second + bg]
                    i += 1
    return lines


def seed_pieces(lines):
    """Seed vocabulary: every caption word (with the metaspace prefix) and every letter.

    SentencePiece's own seeding takes repeated substrings that end where their right
    context varies; in template captions a word is always followed by a space, so words
    like '\u2581red' never become seeds and common words end up split into letters.  EM
    then scores these seeds on the corpus as usual."""
    import collections
    cnt = collections.Counter(w for line in lines for w in line.split())
    pieces = [("\u2581" + w, c) for w, c in sorted(cnt.items())]
    chars = sorted(set("".join(cnt)))
    return pieces + [(ch, 1) for ch in chars] + [("\u2581", 1)]


def train(out_dir):
    import sentencepiece as spm
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        txt = os.path.join(tmp, "corpus.txt")
        lines = corpus_lines()
        with open(txt, "w") as f:
            f.write("\n".join(lines) + "\n")
        seeds = os.path.join(tmp, "seeds.tsv")
        with open(seeds, "w") as f:
            f.write("".join("%s\t%d\n" % p for p in seed_pieces(lines)))
        prefix = os.path.join(tmp, "spiece")
        spm.SentencePieceTrainer.train(
            input=txt, model_prefix=prefix, model_type="unigram", vocab_size=VOCAB_SIZE,
            normalization_rule_name="nmt_nfkc", character_coverage=1.0, hard_vocab_limit=False,
            pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
            num_threads=1, shuffle_input_sentence=False, add_dummy_prefix=True, remove_extra_whitespaces=True,
            split_by_whitespace=True, byte_fallback=False, minloglevel=2, seed_sentencepieces_file=seeds)
        # the model records its training file names: make them independent of the temp dir
        from sentencepiece import sentencepiece_model_pb2 as pb
        proto = pb.ModelProto()
        with open(prefix + ".model", "rb") as f:
            proto.ParseFromString(f.read())
        del proto.trainer_spec.input[:]
        proto.trainer_spec.input.append("captions.txt")
        proto.trainer_spec.model_prefix = "spiece"
        proto.trainer_spec.seed_sentencepieces_file = "seeds.tsv"
        with open(prefix + ".model", "wb") as f:
            f.write(proto.SerializeToString())
        # transformers converts spiece.model (pieces, scores, nmt_nfkc precompiled charsmap)
        # into a tokenizers Unigram model when it loads a folder holding only spiece.model.
        from transformers import T5TokenizerFast
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        shutil.copyfile(prefix + ".model", os.path.join(src, "spiece.model"))
        tok = T5TokenizerFast.from_pretrained(src, extra_ids=0, legacy=False, model_max_length=512)
        tok.save_pretrained(out_dir)
        cfg_path = os.path.join(out_dir, "tokenizer_config.json")
        with open(cfg_path) as f:
            tcfg = json.load(f)
        for k in ("is_local", "local_files_only"):  # facts about this machine, not the tokenizer
            tcfg.pop(k, None)
        with open(cfg_path, "w") as f:
            json.dump(tcfg, f, indent=2, sort_keys=True)
            f.write("\n")
        shutil.copyfile(prefix + ".model", os.path.join(out_dir, "spiece.model"))
    return out_dir


def check(dir_):
    import sentencepiece as spm
    from transformers import AutoTokenizer

    import data
    tok = AutoTokenizer.from_pretrained(dir_)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(dir_, "spiece.model"))
    assert tok.pad_token_id == 0 and tok.eos_token_id == 1 and tok.unk_token_id == 2, "special ids"
    assert sp.pad_id() == 0 and sp.eos_id() == 1 and sp.unk_id() == 2 and sp.bos_id() == -1
    for w in data.vocabulary():
        ids = sp.encode(w)
        assert len(ids) == 1 and ids[0] > 2, "word '%s' is not one piece: %s" % (w, sp.encode(w, out_type=str))
    caps = [data.DEFAULT_PROMPT, ""] + corpus_lines()[::37]
    for c in caps:
        a = tok(c).input_ids
        b = sp.encode(c) + [1]
        assert a == b, (c, a, b)
    ids = tok(data.DEFAULT_PROMPT).input_ids
    assert tok("a zebra").input_ids.count(2) >= 1, "unknown words must map to <unk>"
    print("tokenizer ok: %s, %d tokens; '%s' -> %s" % (dir_, len(tok), data.DEFAULT_PROMPT, ids))
    return len(tok)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true", help="verify OUT and that retraining reproduces it")
    a = ap.parse_args()
    if a.check:
        check(a.out)
        with tempfile.TemporaryDirectory() as tmp:
            train(tmp)
            for fn in sorted(os.listdir(tmp)):
                same = filecmp.cmp(os.path.join(tmp, fn), os.path.join(a.out, fn), shallow=False)
                assert same, "%s differs from a fresh training run" % fn
        print("tokenizer reproducible: files identical to a fresh run")
    else:
        train(a.out)
        check(a.out)


if __name__ == "__main__":
    main()
