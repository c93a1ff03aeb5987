#!/usr/bin/env python3
"""gen_lens_ref.py — TransformerLens reference values for the logit lens, DLA and the component
lens (developer-only; the outputs are committed and tests/test_lens.c compares with them).

Run it from the repository root:

    python3 tools/gen_lens_ref.py              # writes tests/fixtures/lens/<fixture>.safetensors
    python3 tools/gen_lens_ref.py gpt2         # only these fixtures

Needs torch, transformers, safetensors and transformer_lens (4.x: TransformerBridge). For each
parity fixture under tests/fixtures/models/ it boots the checkpoint with
TransformerBridge.boot_transformers and enables HookedTransformer compatibility with fold_ln=True
and nothing else (center_writing_weights, center_unembed and fold_value_biases off): folding the
final norm's gain into W_U and its bias into b_U is what TransformerLens' logit_attrs and
apply_ln_to_stack assume, and the other three would change head results, logits or biases
relative to the unprocessed model headscope runs. It runs the fixture's own input_ids (from
reference.safetensors) through run_with_cache and writes, with R = n_layers + 1 residual rows
(accumulated_resid order: resid_pre of each block, then the final resid_post):

    input_ids               I32 [B, T]       the fixture's ids
    answer, wrong           I32 [B]          token pair per sequence (seeded random draw)
    target                  I32 [B, T]       next input id, and `answer` at the last position
    logit_diff              F32 [B]          the model's logits[-1, answer] - logits[-1, wrong]
    bias_terms              F32 [B]          folded b_U[answer] - b_U[wrong] (= b_ln·ΔW_U + Δb_U)
    lens_logits             F32 [R, B, T, V] apply_ln_to_stack(accumulated_resid, recompute_ln=True) @ W_U + b_U
    lens_kl                 F32 [R, B, T]    KL(final || row) of the lens distributions, in float64
    lens_target_prob        F32 [R, B, T]
    lens_target_rank        I32 [R, B, T]    1 + #tokens with a strictly larger logit
    lens_logit_diff         F32 [R, B, T]    lens logits[answer] - logits[wrong]
    lens_topk_ids           I32 [R, B, T, K] torch.topk of the lens logits, K = 5
    lens_topk_probs         F32 [R, B, T, K]
    accumulated_logit_diff  F32 [R, B]       logit_attrs(accumulated_resid, pos -1): cached final scale
    dla_heads               F32 [L, H, B]    logit_attrs(stack_head_results(pos -1))
    dla_embed, dla_pos_embed, dla_bias  F32 [B]  from get_full_resid_decomposition(expand_neurons=False)
    dla_mlp                 F32 [L, B]       same decomposition, per-layer MLP outputs
    dla_neurons             F32 [L, d_mlp, B] get_full_resid_decomposition(expand_neurons=True): a_i·W_out[i]
    head_logits             F32 [L, H, B, V] apply_ln_to_stack(head results, pos -1) @ W_U: the component lens

__metadata__: format "headscope-lens", format_version "1", fixture, transformer_lens, torch,
transformers. It is deterministic for a given torch build (the pair is drawn from a seeded
torch.Generator).
"""
import importlib.metadata
import os
import sys

import torch
from safetensors.torch import load_file, save_file

FIXTURES = ["gpt2", "llama", "neox"]
K = 5
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def dummy_tokenizer():
    """The fixtures have no tokenizer and the reference needs none (it runs ids); the bridge wants one."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
                                   unk_token="<unk>")


def generate(name):
    from transformer_lens.model_bridge import TransformerBridge

    src = os.path.join(ROOT, "tests", "fixtures", "models", name)
    bridge = TransformerBridge.boot_transformers(src, device="cpu", dtype=torch.float32, tokenizer=dummy_tokenizer())
    bridge.enable_compatibility_mode(disable_warnings=True, fold_ln=True, center_writing_weights=False,
                                     center_unembed=False, fold_value_biases=False)
    cfg = bridge.cfg
    L, H, V = cfg.n_layers, cfg.n_heads, cfg.d_vocab
    ids = load_file(os.path.join(src, "reference.safetensors"))["input_ids"].long()
    B, T = ids.shape
    gen = torch.Generator().manual_seed(6)
    answer = torch.randint(0, V, (B,), generator=gen)
    wrong = (answer + 1 + torch.randint(0, V - 1, (B,), generator=gen)) % V
    target = torch.cat([ids[:, 1:], answer[:, None]], dim=1)

    with torch.no_grad():
        logits, cache = bridge.run_with_cache(ids)
        ref_logits = load_file(os.path.join(src, "reference.safetensors"))["unembed.hook_out"]
        drift = ((logits - ref_logits).abs().max() / ref_logits.abs().max()).item()
        assert drift < 1e-5, f"{name}: the bridge's logits differ from the fixture's by {drift:g}"
        rows = torch.arange(B)
        logit_diff = logits[rows, -1, answer] - logits[rows, -1, wrong]
        bias_terms = bridge.b_U[answer] - bridge.b_U[wrong]

        # the logit lens: final norm recomputed on every residual row
        stack = cache.accumulated_resid(layer=None, incl_mid=False, apply_ln=False)  # [R, B, T, d]
        normed = cache.apply_ln_to_stack(stack, layer=None, recompute_ln=True)
        lens = normed @ bridge.W_U + bridge.b_U  # [R, B, T, V]
        assert (lens[-1] - logits).abs().max() < 1e-5
        lp = torch.log_softmax(lens.double(), dim=-1)
        kl = (lp[-1].exp() * (lp[-1] - lp)).sum(-1)
        tgt = target[None, :, :, None].expand(L + 1, B, T, 1)
        t_logit = lens.gather(-1, tgt)
        t_prob = lp.gather(-1, tgt).exp()[..., 0]
        t_rank = 1 + (lens > t_logit).sum(-1)
        ans = answer[None, :, None, None].expand(L + 1, B, T, 1)
        wro = wrong[None, :, None, None].expand(L + 1, B, T, 1)
        lens_ld = (lens.gather(-1, ans) - lens.gather(-1, wro))[..., 0]
        top_lp, top_ids = lp.topk(K, dim=-1)

        # DLA at the last position with the cached final scale
        acc = cache.logit_attrs(stack[:, :, -1], tokens=answer, incorrect_tokens=wrong, pos_slice=-1)  # [R, B]
        heads = cache.stack_head_results(layer=-1, pos_slice=-1)  # [L*H, B, d]
        dla_heads = cache.logit_attrs(heads, tokens=answer, incorrect_tokens=wrong, pos_slice=-1)
        comp, labels = cache.get_full_resid_decomposition(layer=None, expand_neurons=False, pos_slice=-1,
                                                          return_labels=True)
        dla_comp = cache.logit_attrs(comp, tokens=answer, incorrect_tokens=wrong, pos_slice=-1)
        by_label = dict(zip(labels, dla_comp))
        total = dla_comp.sum(0) + bias_terms
        assert (total - logit_diff).abs().max() < 1e-4, f"{name}: TL's own DLA does not sum: {total} vs {logit_diff}"
        neur, nlabels = cache.get_full_resid_decomposition(layer=None, expand_neurons=True, pos_slice=-1,
                                                           return_labels=True)
        dla_neur = cache.logit_attrs(neur, tokens=answer, incorrect_tokens=wrong, pos_slice=-1)
        first = nlabels.index("L0N0")
        dla_neurons = dla_neur[first:first + L * cfg.d_mlp].reshape(L, cfg.d_mlp, B)
        assert nlabels[first + cfg.d_mlp] == "L1N0"
        head_logits = cache.apply_ln_to_stack(heads, layer=None, pos_slice=-1) @ bridge.W_U  # [L*H, B, V]

    zero = torch.zeros(B)
    out = {
        "input_ids": ids.int(),
        "answer": answer.int(),
        "wrong": wrong.int(),
        "target": target.int(),
        "logit_diff": logit_diff.float(),
        "bias_terms": bias_terms.float(),
        "lens_logits": lens.float(),
        "lens_kl": kl.float(),
        "lens_target_prob": t_prob.float(),
        "lens_target_rank": t_rank.int(),
        "lens_logit_diff": lens_ld.float(),
        "lens_topk_ids": top_ids.int(),
        "lens_topk_probs": top_lp.exp().float(),
        "accumulated_logit_diff": acc.float(),
        "dla_heads": dla_heads.reshape(L, H, B).float(),
        "dla_embed": by_label["embed"].float(),
        "dla_pos_embed": by_label.get("pos_embed", zero).float(),
        "dla_bias": by_label["bias"].float(),
        "dla_mlp": torch.stack([by_label[f"{l}_mlp_out"] for l in range(L)]).float(),
        "dla_neurons": dla_neurons.float(),
        "head_logits": head_logits.reshape(L, H, B, V).float(),
    }
    out = {k: v.contiguous() for k, v in out.items()}
    meta = {
        "format": "headscope-lens",
        "format_version": "1",
        "fixture": name,
        "transformer_lens": importlib.metadata.version("transformer_lens"),
        "torch": torch.__version__,
        "transformers": importlib.metadata.version("transformers"),
    }
    dst = os.path.join(ROOT, "tests", "fixtures", "lens")
    os.makedirs(dst, exist_ok=True)
    path = os.path.join(dst, f"{name}.safetensors")
    save_file(out, path, metadata=meta)
    print(f"{path}: {os.path.getsize(path)} bytes; logit_diff {logit_diff.tolist()}, "
          f"components {[f'{x:.6f}' for x in total.tolist()]}")


def main():
    torch.set_num_threads(1)
    for name in sys.argv[1:] or FIXTURES:
        generate(name)


if __name__ == "__main__":
    main()
