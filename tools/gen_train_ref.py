#!/usr/bin/env python3
"""gen_train_ref.py — writes tests/fixtures/train/ (developer-only): PyTorch's loss and gradients
of a tiny GPT-2 on one batch, the golden values tests/test_train.c (train_pytorch_reference)
checks headscope's training forward and backward against.

Run from the repository root:   python3 tools/gen_train_ref.py

Needs torch, transformers and safetensors; the C build never runs it (the outputs are committed).
Deterministic for a torch build: weights and the batch come from a seeded torch.Generator.

The model is transformers' GPT2LMHeadModel (eager attention, gelu_new, dropout 0, tied
unembedding), with random weights scaled so attention is peaked and LayerNorm gains and biases are
not 1 and 0. Writes:

    model/config.json, model/model.safetensors   save_pretrained (float32)
    reference.safetensors
        input_ids     I32 [B, T]
        targets       I32 [B, T]   next tokens, with some -1 (ignored) positions
        loss          F32 [1]      F.cross_entropy(logits, targets, ignore_index=-1), mean
        grad.<name>   F32          d loss / d parameter for every named parameter of the model,
                                   in its HF layout (Conv1D weights [in, out]); the tied
                                   wte gradient includes the unembedding's
        __metadata__: format "headscope-train-ref", format_version "1", torch, transformers
"""
import os

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

OUT = "tests/fixtures/train"
B, T = 2, 12


def main():
    g = torch.Generator().manual_seed(20261202)
    cfg = GPT2Config(vocab_size=300, n_positions=16, n_embd=32, n_layer=2, n_head=4,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     layer_norm_epsilon=1e-5, tie_word_embeddings=True, bos_token_id=256, eos_token_id=256)
    cfg._attn_implementation = "eager"
    model = GPT2LMHeadModel(cfg).float().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "ln_" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))
    os.makedirs(f"{OUT}/model", exist_ok=True)
    model.save_pretrained(f"{OUT}/model", safe_serialization=True)

    ids = torch.randint(0, cfg.vocab_size, (B, T + 1), generator=g)
    input_ids, targets = ids[:, :T].contiguous(), ids[:, 1:].contiguous()
    targets[0, 3] = -1
    targets[1, 7] = -1
    logits = model(input_ids=input_ids).logits
    loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), targets.reshape(-1), ignore_index=-1)
    loss.backward()

    tensors = {"input_ids": input_ids.to(torch.int32), "targets": targets.to(torch.int32),
               "loss": loss.detach().reshape(1).float()}
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().float().contiguous()
    meta = {"format": "headscope-train-ref", "format_version": "1", "torch": torch.__version__,
            "transformers": transformers.__version__}
    save_file(tensors, f"{OUT}/reference.safetensors", metadata=meta)
    print(f"loss {loss.item():.6f}; {len(tensors) - 3} gradients -> {OUT}/")


if __name__ == "__main__":
    main()
