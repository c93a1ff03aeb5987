#!/usr/bin/env python3
"""gen_head_detector_ref.py — TransformerLens's own head-detector scores on a fixture model, the
reference `analyze heads` is tested against (developer-only; the outputs are committed).

Run from the repository root:

    python3 tools/gen_head_detector_ref.py

Needs torch, transformers, tokenizers and transformer_lens (4.x: TransformerBridge). It boots the
parity fixture tests/fixtures/models/gpt2 (a random GPT-2, vocabulary 151, <|endoftext|> = 150)
into TransformerLens with a word-level tokenizer whose token "tK" is id K, so that a prompt string
"t5 t7 ..." is exactly the ids [150, 5, 7, ...] after TL's to_tokens prepends BOS. Then, for each
of the four (exclude_bos, exclude_current_token) settings and each detector, it calls
transformer_lens.head_detector.detect_head on every prompt alone (per-prompt scores) and on the
list of prompts (TL's mean over prompts), with error_measure "mul".

Writes:
    tests/fixtures/heads/tl_prompts.jsonl   the prompts, as {"id", "tokens", "meta"} lines with the
                                            ids TL ran (BOS included); repeated-block prompts carry
                                            their layout in meta
    tests/fixtures/heads/tl_detect_head.json
        {"format": "headscope-tl-detect-head", "format_version": 1, versions, "model",
         "prompts": [[ids]...],
         "scores": [{"detector": "previous_token_head" | "duplicate_token_head" | "induction_head",
                     "exclude_bos": bool, "exclude_current_token": bool,
                     "mean": [layer][head], "per_prompt": [prompt][layer][head]}]}
Deterministic: the prompts come from a seeded numpy generator.
"""

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import tokenizers
import torch
import transformer_lens
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoTokenizer, PreTrainedTokenizerFast
from transformer_lens.head_detector import detect_head
from transformer_lens.model_bridge import TransformerBridge

FIXTURE = "tests/fixtures/models/gpt2"
OUT = "tests/fixtures/heads"
DETECTORS = ["previous_token_head", "duplicate_token_head", "induction_head"]


def make_prompts(vocab, bos):
    """Prompt bodies (without BOS): TL's induction probe, RazorAttention's repeated blocks, prompts
    drawn from few ids (many duplicates), and one with consecutive repeats (the induction pattern's
    diagonal case)."""
    rng = np.random.default_rng(1234)
    prompts = []  # (body ids, meta or None)
    for _ in range(3):  # [BOS, seq, seq]
        seq = rng.integers(0, vocab, 12).tolist()
        prompts.append((seq + seq, {"set": "repeated_blocks", "offset": 1, "block_len": 12, "copies": 2}))
    for _ in range(2):  # BOS + 4 copies
        seq = rng.choice(vocab, 6, replace=False).tolist()
        prompts.append((seq * 4, {"set": "repeated_blocks", "offset": 1, "block_len": 6, "copies": 4}))
    for n in (10, 23, 40):  # few distinct ids
        prompts.append((rng.integers(0, 8, n).tolist(), None))
    prompts.append(([3, 3, 7, 7, 7, 3, 9, 9, 3, 7], None))
    return [([bos] + body, meta) for body, meta in prompts]


def boot(tmp):
    with open(os.path.join(FIXTURE, "config.json")) as f:
        cfg = json.load(f)
    vocab, bos = cfg["vocab_size"], cfg["bos_token_id"]
    words = {f"t{i}": i for i in range(vocab) if i != bos}
    words["<|endoftext|>"] = bos
    tk = Tokenizer(models.WordLevel(words, unk_token="<|endoftext|>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>")
    shutil.copy(os.path.join(FIXTURE, "config.json"), tmp)
    shutil.copy(os.path.join(FIXTURE, "model.safetensors"), tmp)
    fast.save_pretrained(tmp)  # TL reloads the tokenizer by path to give it a BOS
    bridge = TransformerBridge.boot_transformers(tmp, tokenizer=AutoTokenizer.from_pretrained(tmp), device="cpu")
    return bridge, vocab, bos


def main():
    torch.set_grad_enabled(False)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        model, vocab, bos = boot(tmp)
        prompts = make_prompts(vocab - 1, bos)  # ids below BOS (150 = the last id)
        strings = [" ".join(f"t{i}" for i in ids[1:]) for ids, _ in prompts]
        for (ids, _), s in zip(prompts, strings):
            got = model.to_tokens(s)[0].tolist()
            assert got == ids, f"TL tokenised {s!r} as {got}, expected {ids}"
            assert 1 < len(ids) < model.cfg.n_ctx
        scores = []
        for exclude_bos in (False, True):
            for exclude_current in (False, True):
                for det in DETECTORS:
                    kw = dict(exclude_bos=exclude_bos, exclude_current_token=exclude_current, error_measure="mul")
                    per = [detect_head(model, s, det, **kw) for s in strings]
                    mean = detect_head(model, strings, det, **kw)
                    # TL's list path is the unweighted mean of its single-prompt scores
                    assert torch.allclose(mean, torch.stack(per).mean(0), atol=1e-7, equal_nan=True)
                    scores.append({"detector": det, "exclude_bos": exclude_bos,
                                   "exclude_current_token": exclude_current,
                                   "mean": mean.tolist(), "per_prompt": [p.tolist() for p in per]})
    with open(os.path.join(OUT, "tl_prompts.jsonl"), "w") as f:
        for k, (ids, meta) in enumerate(prompts):
            line = {"id": f"tl-{k}", "tokens": ids}
            if meta:
                line["meta"] = meta
            f.write(json.dumps(line) + "\n")
    ref = {"format": "headscope-tl-detect-head", "format_version": 1,
           "transformer_lens": transformer_lens.__version__ if hasattr(transformer_lens, "__version__") else
           __import__("importlib.metadata").metadata.version("transformer_lens"),
           "torch": torch.__version__, "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
           "model": FIXTURE, "prompts": [ids for ids, _ in prompts], "scores": scores}
    with open(os.path.join(OUT, "tl_detect_head.json"), "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(f"wrote {len(prompts)} prompts and {len(scores)} score sets to {OUT}/")


if __name__ == "__main__":
    sys.exit(main())
