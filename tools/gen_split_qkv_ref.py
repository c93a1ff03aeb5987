#!/usr/bin/env python3
"""gen_split_qkv_ref.py — TransformerLens's per-head attention inputs (use_split_qkv_input) on the parity
fixtures, the reference tests/test_split_qkv.c checks blocks.L.hook_q_input / hook_k_input / hook_v_input
against, and blocks.L.hook_mlp_in (use_hook_mlp_in) with them (developer-only; the outputs are committed).

Run from the repository root:

    /tmp/d1-venv/bin/python tools/gen_split_qkv_ref.py

Needs torch, transformers, tokenizers and transformer_lens 4.x (TransformerBridge). It boots each of the
fixtures gpt2, llama (RMSNorm, 4 query heads over 2 kv heads) and neox (parallel residual) into
TransformerLens without weight processing (so its hooks are headscope's), with a word-level tokenizer it
never uses (ids go in directly), turns on set_use_split_qkv_input(True) and runs a fixed batch of ids.
TransformerLens 4.3 forks the residual stream before ln1 (hook_resid_pre) into one copy per query head
(hook_q_input, [batch, pos, n_heads, d_model]) and one per kv head (hook_k_input, hook_v_input,
[batch, pos, n_kv_heads, d_model]), applies ln1 (gain and bias included) to each copy on its own and
projects head h's copy with head h's slice of W_Q / W_K / W_V only. With set_use_hook_mlp_in(True),
hook_mlp_in ([batch, pos, d_model]) fires on ln2's input (resid_mid; resid_pre in a parallel block) and
what it returns is what ln2 reads.

Writes tests/fixtures/split_qkv/NAME.safetensors (float32 unless said):
    input_ids [B, T] int32, answer [1] int32, wrong [1] int32
    blocks.L.hook_q_input / hook_k_input / hook_v_input     the forward values
    blocks.L.hook_mlp_in                                     the forward values
    logits                                                   [B, T, V] with the split path, no intervention
    k_add.vector [d_model], k_add.logits [B, T, V]           blocks.1.hook_k_input[:, :, 1, :] += vector
    mlp_add.vector [d_model], mlp_add.logits [B, T, V]       blocks.0.hook_mlp_in += vector
    metric [1]                                               Σ_b logits[b, -1, answer] - logits[b, -1, wrong]
    grad.blocks.L.hook_q_input / hook_k_input / hook_v_input dmetric / d(copy), by PyTorch autograd
    grad.blocks.L.hook_mlp_in
Deterministic: ids and the vector come from a seeded torch.Generator.
"""

import json
import os
import shutil
import sys
import tempfile

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import AutoTokenizer, PreTrainedTokenizerFast
from transformer_lens.model_bridge import TransformerBridge

FIXTURES = ["gpt2", "llama", "neox"]
OUT = "tests/fixtures/split_qkv"
B, T = 2, 6
K_LAYER, K_HEAD = 1, 1
KINDS = ["hook_q_input", "hook_k_input", "hook_v_input", "hook_mlp_in"]


def boot(name, tmp):
    src = os.path.join("tests/fixtures/models", name)
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    vocab, bos = cfg["vocab_size"], cfg.get("bos_token_id", 0)
    words = {f"t{i}": i for i in range(vocab) if i != bos}
    words["<bos>"] = bos
    tk = Tokenizer(models.WordLevel(words, unk_token="<bos>"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<bos>", eos_token="<bos>", unk_token="<bos>")
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(src, f), tmp)
    fast.save_pretrained(tmp)
    bridge = TransformerBridge.boot_transformers(tmp, tokenizer=AutoTokenizer.from_pretrained(tmp), device="cpu")
    bridge.set_use_split_qkv_input(True)
    bridge.set_use_hook_mlp_in(True)
    return bridge, vocab


def run(bridge, ids, answer, wrong, n_layers, add=None, mlp_add=None):
    """One forward and backward with the split path; returns logits, metric and per-hook values, grads."""
    kept = {}

    def keeper(name):
        def keep(t, hook):
            # a new tensor that only the hook's consumer reads: hook_mlp_in's input is resid_mid itself,
            # whose own gradient also carries the residual path (a backward hook on the HookPoint would
            # see this tensor's gradient too)
            t = t.clone()
            t.retain_grad()
            kept[name] = t
            return t
        return keep

    def add_k(t, hook):
        t = t.clone()
        t[:, :, K_HEAD, :] += add
        return t

    def add_mlp(t, hook):
        return t + mlp_add

    fwd = [(f"blocks.{l}.{k}", keeper(f"blocks.{l}.{k}")) for l in range(n_layers) for k in KINDS]
    if add is not None:
        fwd.insert(0, (f"blocks.{K_LAYER}.hook_k_input", add_k))
    if mlp_add is not None:
        fwd.insert(0, ("blocks.0.hook_mlp_in", add_mlp))
    logits = bridge.run_with_hooks(ids, fwd_hooks=fwd, return_type="logits")
    metric = (logits[:, -1, answer] - logits[:, -1, wrong]).sum()
    metric.backward()
    return logits.detach(), metric.detach(), {n: (t.detach().clone(), t.grad.clone()) for n, t in kept.items()}


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for name in FIXTURES:
        with tempfile.TemporaryDirectory() as tmp:
            bridge, vocab = boot(name, tmp)
            cfg = bridge.cfg
            g = torch.Generator().manual_seed(1515)
            ids = torch.randint(0, vocab, (B, T), generator=g)
            answer, wrong = 3, 7
            vec = 0.5 * torch.randn(cfg.d_model, generator=g)
            vec_mlp = 0.5 * torch.randn(cfg.d_model, generator=g)
            logits, metric, vals = run(bridge, ids, answer, wrong, cfg.n_layers)
            k_logits, _, _ = run(bridge, ids, answer, wrong, cfg.n_layers, add=vec)
            m_logits, _, _ = run(bridge, ids, answer, wrong, cfg.n_layers, mlp_add=vec_mlp)
            # the copies are resid_pre repeated (TL forks before ln1)
            _, cache = bridge.run_with_cache(ids,
                                             names_filter=lambda n: n.endswith(("hook_resid_pre", "hook_resid_mid")))
            out = {"input_ids": ids.to(torch.int32).contiguous(), "answer": torch.tensor([answer], dtype=torch.int32),
                   "wrong": torch.tensor([wrong], dtype=torch.int32), "logits": logits.contiguous(),
                   "metric": metric.reshape(1).contiguous(), "k_add.vector": vec.contiguous(),
                   "k_add.logits": k_logits.contiguous(), "mlp_add.vector": vec_mlp.contiguous(),
                   "mlp_add.logits": m_logits.contiguous()}
            for hook, (v, gr) in vals.items():
                layer = int(hook.split(".")[1])
                if hook.endswith("hook_mlp_in"):
                    src = "hook_resid_mid" if f"blocks.{layer}.hook_resid_mid" in cache else "hook_resid_pre"
                    assert torch.equal(v, cache[f"blocks.{layer}.{src}"]), f"{name} {hook} is not {src}"
                else:
                    pre = cache[f"blocks.{layer}.hook_resid_pre"]
                    assert torch.equal(v, pre.unsqueeze(2).expand_as(v)), f"{name} {hook} is not resid_pre repeated"
                out[hook] = v.contiguous()
                out["grad." + hook] = gr.contiguous()
            diff = (k_logits - logits).abs().max().item()
            print(f"{name}: heads {cfg.n_heads}, kv heads {getattr(cfg, 'n_key_value_heads', None)}, "
                  f"q_input {tuple(vals['blocks.0.hook_q_input'][0].shape)}, "
                  f"k_input {tuple(vals['blocks.0.hook_k_input'][0].shape)}, metric {metric.item():.6f}, "
                  f"k_add moves logits by up to {diff:.4f}", file=sys.stderr)
            save_file(out, os.path.join(OUT, f"{name}.safetensors"), metadata={"format": "headscope-split-qkv",
                                                                                 "format_version": "1"})


if __name__ == "__main__":
    main()
