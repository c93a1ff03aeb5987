#!/usr/bin/env python3
"""gen_trained_tokenizer_vectors.py — reference encodings of a tokenizer trained by headscope itself
(developer-only): Hugging Face `tokenizers` loads the tokenizer.json that `headscope tokenizer train`
wrote, and its ids for varied strings become the expected ids of headscope's own loader.

Regenerate from the repository root after building (needs `pip install tokenizers`, tested with 0.23):

    python3 tools/gen_trained_tokenizer_vectors.py

Outputs (deterministic: the same headscope gives byte-identical files), in tests/fixtures/tokenizers:

  trained_corpus.txt         a small training text made here from a fixed seed: sentences with names,
                             numbers and years, contractions, punctuation, runs of spaces and newlines,
                             accented letters, CJK and emoji, documents separated by <|endoftext|>.
  trained.tokenizer.json     `headscope tokenizer train --corpus trained_corpus.txt --vocab-size 800
                             --force " Mary" --force " Copenhagen"` (the test retrains and compares bytes).
  trained.jsonl              header {"format": "headscope-tokenizer-vectors", "version": 1, ...}, then one
                             {"text", "ids", "decoded"} per string: HF's encoding (no special-token
                             post-processing) and HF's decoding of those ids.
"""
import json
import os
import random
import subprocess
import sys

from tokenizers import Tokenizer

FIX = "tests/fixtures/tokenizers"
FORMAT = {"format": "headscope-tokenizer-vectors", "version": 1,
          "regenerate": "python3 tools/gen_trained_tokenizer_vectors.py"}
TRAIN_ARGS = ["--vocab-size", "800", "--force", " Mary", "--force", " Copenhagen"]

NAMES = ["Mary", "John", "Anne", "Tom", "Zoë", "José", "Łukasz", "Copenhagen"]
WORDS = ["the", "cat", "sat", "on", "a", "mat", "and", "went", "to", "store", "gave", "drink", "lasted",
         "from", "year", "café", "naïve", "résumé", "über", "日本", "語", "😀", "—", "don't", "we're", "I'll"]


def corpus(rng):
    docs = []
    for _ in range(300):
        sents = []
        for _ in range(rng.randint(1, 4)):
            a, b = rng.sample(NAMES, 2)
            w = rng.sample(WORDS, 6)
            y = rng.randint(1000, 1999)
            kind = rng.randint(0, 4)
            if kind == 0:
                sents.append(f"When {a} and {b} {w[0]} {w[1]}, {b} gave a {w[2]} to {a}.")
            elif kind == 1:
                sents.append(f"The {w[0]} lasted from the year {y} to the year {y // 100}{rng.randint(0, 99):02d}.")
            elif kind == 2:
                sents.append(f"{rng.randint(0, 50)} + {rng.randint(0, 50)} = {rng.randint(0, 100)}; {w[3]}!  {w[4]}?")
            elif kind == 3:
                sents.append(" ".join(w) + "\n\n" + "  ".join(w[:3]))
            else:
                sents.append(f"\"{a}'s {w[5]}\" ({y}) — {b} said: it's {w[0]}\t{w[1]}...")
        docs.append(" ".join(sents))
    return "<|endoftext|>".join(docs) + "\n"


TESTS = [
    "Hello world", "When Mary and John went to the store, John gave a drink to",
    "The war lasted from the year 1745 to the year 17", "1832 1745 17 45 007 123456 3.14",
    "café naïve résumé über Zoë José Łukasz", "日本語のテキスト 😀😀 emoji", "don't we're I'll it's 'tis",
    "  leading and trailing spaces  ", "tabs\tand\nnewlines\n\n\nmore", "Copenhagen Mary Mary Mary",
    "a<|endoftext|>b", "<|endoftext|>", "", " ", "!!!???...,,,", "x" * 40, "\u00a0non-breaking\u2009thin",
    "mixed123abc456 def", "UPPER lower MiXeD", "The cat sat on the mat.",
]


def main():
    if not os.path.exists("headscope"):
        sys.exit("build headscope first (tools/setup.sh)")
    rng = random.Random(20261202)
    text = corpus(rng)
    cpath = os.path.join(FIX, "trained_corpus.txt")
    with open(cpath, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    tpath = os.path.join(FIX, "trained.tokenizer.json")
    subprocess.run(["./headscope", "tokenizer", "train", "--corpus", cpath, "--out", tpath] + TRAIN_ARGS,
                   check=True)
    tok = Tokenizer.from_file(tpath)
    lines = [json.dumps(dict(FORMAT, tokenizer="trained.tokenizer.json", **{"in": "fixtures"},
                             reference="tokenizers Tokenizer.from_file"), sort_keys=True)]
    samples = TESTS + [d[:200] for d in text.split("<|endoftext|>")[:10]]
    for s in samples:
        ids = tok.encode(s, add_special_tokens=False).ids
        lines.append(json.dumps({"text": s, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False)},
                                ensure_ascii=False))
    with open(os.path.join(FIX, "trained.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
