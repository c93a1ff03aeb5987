#!/usr/bin/env python3
"""gen_atp_ref.py — PyTorch autograd reference grids for attribution patching (developer-only; the
output is committed and tests/test_atp.c compares with it).

Run it from the repository root, after tools/gen_patch_ref.py (it reuses that fixture's prompt pairs):

    python3 tools/gen_atp_ref.py               # writes tests/fixtures/atp/<fixture>.safetensors
    python3 tools/gen_atp_ref.py llama         # only these fixtures

Needs torch, transformers, safetensors and transformer_lens (4.x), only to name the hook points as
headscope does: the parity fixture (tests/fixtures/models/{gpt2,llama}) is booted with TransformerBridge
in compatibility mode without weight processing, as gen_patch_ref.py does. The clean / corrupted ids
[B, T] and answer / wrong [B] are those of tests/fixtures/patch/<fixture>.safetensors. AtP itself is
plain autograd, written out here: one run of each prompt batch keeps every hooked activation
(retain_grad), the normalised logit difference of the base run

    M(logits) = (LD(logits) - LD(corrupted)) / (LD(clean) - LD(corrupted)),
    LD = the batch mean of logits[b, -1, answer_b] - logits[b, -1, wrong_b]

is back-propagated, and a cell's value is M(base) + sum over the batch and the cell's slice of
(a_source - a_base) * dM/da_base. Denoise: base = corrupted (M = 0), source = clean; noise: base =
clean (M = 1), source = corrupted.

Tensors written (F32; L layers, H heads, Hkv kv heads, T positions):
    DIR.atp.logit_diff.COMP    COMP in z q ([L, H]), k v ([L, Hkv]), z_pos ([L, H, T], headscope's
                               order), resid_pre_pos, attn_out_pos, mlp_out_pos ([L, T]), attn_out,
                               mlp_out ([L])
__metadata__: format "headscope-atp", format_version "1", fixture, transformer_lens, torch.
"""
import importlib.metadata
import os
import sys

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = ["gpt2", "llama"]
HOOKS = {"z": "attn.hook_z", "q": "attn.hook_q", "k": "attn.hook_k", "v": "attn.hook_v",
         "attn_out": "hook_attn_out", "mlp_out": "hook_mlp_out", "resid_pre": "hook_resid_pre"}


def dummy_tokenizer():
    """The fixture has no tokenizer and the reference needs none (it runs ids); the bridge wants one."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
                                   unk_token="<unk>")


def run_keeping(model, tokens, L):
    """One forward pass of tokens that keeps every hooked activation with its gradient retained."""
    acts = {}

    def keeper(name):  # by the name asked for: an alias (hook_resid_pre) reports its target's name
        def keep(act, hook):
            if act.requires_grad:
                act.retain_grad()
            acts[name] = act
            return act
        return keep

    names = [f"blocks.{layer}.{h}" for layer in range(L) for h in HOOKS.values()]
    logits = model.run_with_hooks(tokens, fwd_hooks=[(n, keeper(n)) for n in names])
    return logits, acts


def generate(name):
    from transformer_lens.model_bridge import TransformerBridge

    src = os.path.join(ROOT, "tests", "fixtures", "models", name)
    pairs = load_file(os.path.join(ROOT, "tests", "fixtures", "patch", f"{name}.safetensors"))
    model = TransformerBridge.boot_transformers(src, device="cpu", dtype=torch.float32, tokenizer=dummy_tokenizer())
    model.enable_compatibility_mode(disable_warnings=True, no_processing=True)
    L = model.cfg.n_layers
    clean, corrupted = pairs["clean_ids"].long(), pairs["corrupted_ids"].long()
    answer, wrong = pairs["answer"].long(), pairs["wrong"].long()
    rows = torch.arange(clean.shape[0])

    def ld(logits):
        return (logits[rows, -1, answer] - logits[rows, -1, wrong]).double().mean()

    with torch.no_grad():
        ld_clean, ld_corr = ld(model(clean)), ld(model(corrupted))

    def metric(logits):
        return (ld(logits) - ld_corr) / (ld_clean - ld_corr)

    tensors = {}
    for direction in ("denoise", "noise"):
        base, source = (corrupted, clean) if direction == "denoise" else (clean, corrupted)
        logits, acts = run_keeping(model, base, L)
        m = metric(logits)
        m.backward()
        with torch.no_grad():
            _, src_acts = run_keeping(model, source, L)
        for comp, hook in HOOKS.items():
            per = []
            for layer in range(L):
                n = f"blocks.{layer}.{hook}"
                a = acts[n]
                d = ((src_acts[n].detach() - a.detach()) * a.grad).double()  # [B, T, ...]
                per.append(d)
            base_value = float(m.detach())
            if comp in ("z", "q", "k", "v"):  # [B, T, H, d_head]
                tensors[f"{direction}.atp.logit_diff.{comp}"] = torch.stack(
                    [d.sum((0, 1, 3)) for d in per]) + base_value
                if comp == "z":
                    tensors[f"{direction}.atp.logit_diff.z_pos"] = torch.stack(
                        [d.sum((0, 3)).T for d in per]) + base_value  # [L, H, T]
            else:  # [B, T, d_model]
                if comp != "resid_pre":
                    tensors[f"{direction}.atp.logit_diff.{comp}"] = torch.stack([d.sum() for d in per]) + base_value
                tensors[f"{direction}.atp.logit_diff.{comp}_pos"] = torch.stack(
                    [d.sum((0, 2)) for d in per]) + base_value
        model.zero_grad(set_to_none=True)
    tensors = {k: v.float().contiguous() for k, v in tensors.items()}
    for k, v in tensors.items():
        print(name, k, tuple(v.shape), file=sys.stderr)
    meta = {"format": "headscope-atp", "format_version": "1", "fixture": name,
            "transformer_lens": importlib.metadata.version("transformer_lens"), "torch": torch.__version__}
    os.makedirs(os.path.join(ROOT, "tests", "fixtures", "atp"), exist_ok=True)
    out = os.path.join(ROOT, "tests", "fixtures", "atp", f"{name}.safetensors")
    save_file(tensors, out, metadata=meta)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    for n in sys.argv[1:] or FIXTURES:
        generate(n)
