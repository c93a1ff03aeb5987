#!/usr/bin/env python3
"""make_gpt2_small.py — writes a random GPT-2-small-shaped checkpoint for the forward benchmark.

    python3 bench/make_gpt2_small.py OUT_DIR

GPT2LMHeadModel(GPT2Config()) — 12 layers, d_model 768, 12 heads, vocab 50257, n_ctx 1024 —
with torch.manual_seed(0), saved with save_pretrained(safe_serialization=True) in float32
(config.json + model.safetensors, Hugging Face layout). No tokenizer: the benchmark feeds ids.
The weights are random, so the figures measure speed only; the shapes are GPT-2 small's.
Writes into OUT_DIR.tmp first and renames, so an interrupted run never leaves a half model.
"""
import os
import shutil
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_gpt2_small.py OUT_DIR")
    out = sys.argv[1].rstrip("/")
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config()).to(torch.float32).eval()
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    os.rename(tmp, out)
    n = sum(p.numel() for p in model.parameters())
    print(f"make_gpt2_small: wrote {out} ({n / 1e6:.1f} M parameters, float32)")


if __name__ == "__main__":
    main()
