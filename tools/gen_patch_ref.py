#!/usr/bin/env python3
"""gen_patch_ref.py — TransformerLens reference grids for activation patching (developer-only; the
output is committed and tests/test_patch.c compares with it).

Run it from the repository root:

    python3 tools/gen_patch_ref.py             # writes tests/fixtures/patch/<fixture>.safetensors
    python3 tools/gen_patch_ref.py llama       # only these fixtures

Needs torch, transformers, safetensors and transformer_lens (4.x). It boots each parity fixture
(tests/fixtures/models/{gpt2,llama,neox}, random weights, no tokenizer) with TransformerBridge and
compatibility mode without any weight processing, so its hooks hold what headscope's hold. The llama
fixture has grouped-query attention (4 query heads, 2 kv heads): TransformerLens's k and v patching
then sweeps n_key_value_heads, indexing the kv head itself, as headscope does. From the fixture's own
input_ids it makes B = 4 clean prompts of T tokens and their corrupted twins (two positions changed
in each, one of them shared by all four at position 2, a seeded draw), and a seeded answer / wrong
pair per prompt. Every grid is TransformerLens's own patching code (transformer_lens.patching:
get_act_patch_resid_pre, get_act_patch_attn_out, get_act_patch_mlp_out,
get_act_patch_attn_head_{out,q,k,v}_all_pos, get_act_patch_attn_head_out_by_pos, and
generic_activation_patch with a whole-layer setter for attn_out / mlp_out over all positions) run on
the whole batch at once, with the metric of TransformerLens's IOI notebook:

    logit_diff  (LD(patched) - LD(corrupted)) / (LD(clean) - LD(corrupted)), LD = the batch mean of
                logits[b, -1, answer_b] - logits[b, -1, wrong_b]  (a normalised mean)
    kl          the batch mean of KL(P_clean || P_patched) at the last position, in nats

Directions: denoise runs the corrupted tokens with the clean cache (TransformerLens's default);
noise runs the clean tokens with the corrupted cache (the metric keeps 0 = corrupted, 1 = clean).
Ablations: patch (the other run's cache), zero (a cache of zeros), mean (a cache holding, at every
prompt, the batch mean of the clean activations).

Tensors written (F32 unless said; L layers, H heads, T positions):
    clean_ids, corrupted_ids   I32 [B, T]
    answer, wrong              I32 [B]
    ld_clean, ld_corrupted     F32 [B]          per-prompt logit differences of the two runs
    DIR.ABL.METRIC.COMP        the grid: COMP in z q k v ([L, H]), z_pos ([L, H, T]), resid_pre_pos,
                               attn_out_pos, mlp_out_pos ([L, T]), attn_out, mlp_out ([L])
__metadata__: format "headscope-patch", format_version "1", fixture, transformer_lens, torch.
"""
import importlib.metadata
import os
import sys

import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = 4
FIXTURES = ["gpt2", "llama", "neox"]


def dummy_tokenizer():
    """The fixture has no tokenizer and the reference needs none (it runs ids); the bridge wants one."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
                                   unk_token="<unk>")


def generate(name):
    from transformer_lens import patching
    from transformer_lens.ActivationCache import ActivationCache
    from transformer_lens.model_bridge import TransformerBridge

    src = os.path.join(ROOT, "tests", "fixtures", "models", name)
    model = TransformerBridge.boot_transformers(src, device="cpu", dtype=torch.float32, tokenizer=dummy_tokenizer())
    model.enable_compatibility_mode(disable_warnings=True, no_processing=True)
    cfg = model.cfg
    V = cfg.d_vocab
    ids = load_file(os.path.join(src, "reference.safetensors"))["input_ids"].long()
    gen = torch.Generator().manual_seed(15)
    T = ids.shape[1]
    clean = torch.cat([ids, ids.flip(1)], dim=0)[:B].clone()
    corrupted = clean.clone()
    for b in range(B):
        for p in (2, 3 + int(torch.randint(0, T - 3, (1,), generator=gen))):
            corrupted[b, p] = (clean[b, p] + 1 + torch.randint(0, V - 1, (1,), generator=gen)) % V
    answer = torch.randint(0, V, (B,), generator=gen)
    wrong = (answer + 1 + torch.randint(0, V - 1, (B,), generator=gen)) % V
    rows = torch.arange(B)

    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(clean)
        corr_logits, corr_cache = model.run_with_cache(corrupted)

    def ld(logits):
        return logits[rows, -1, answer] - logits[rows, -1, wrong]

    ld_clean, ld_corr = ld(clean_logits), ld(corr_logits)
    clean_logp = torch.log_softmax(clean_logits[:, -1].double(), -1)

    def ld_metric(logits):
        return (ld(logits).mean() - ld_corr.mean()) / (ld_clean.mean() - ld_corr.mean())

    def kl_metric(logits):
        logp = torch.log_softmax(logits[:, -1].double(), -1)
        return (clean_logp.exp() * (clean_logp - logp)).sum(-1).mean().float()

    def whole_layer_setter(corrupted_activation, index, clean_activation):
        layer, = index
        corrupted_activation[...] = clean_activation[...]
        return corrupted_activation

    def layer_all_pos(hook):
        def fn(model, tokens, cache, metric):
            return patching.generic_activation_patch(model, tokens, cache, metric, whole_layer_setter, hook,
                                                     index_axis_names=("layer",))
        return fn

    grids = {
        "z": patching.get_act_patch_attn_head_out_all_pos,
        "q": patching.get_act_patch_attn_head_q_all_pos,
        "k": patching.get_act_patch_attn_head_k_all_pos,
        "v": patching.get_act_patch_attn_head_v_all_pos,
        "z_pos": patching.get_act_patch_attn_head_out_by_pos,
        "resid_pre_pos": patching.get_act_patch_resid_pre,
        "attn_out_pos": patching.get_act_patch_attn_out,
        "mlp_out_pos": patching.get_act_patch_mlp_out,
        "attn_out": layer_all_pos("attn_out"),
        "mlp_out": layer_all_pos("mlp_out"),
    }

    def replaced(cache, how):
        out = {}
        for k, v in cache.items():
            if not v.is_floating_point():
                out[k] = v
                continue
            out[k] = torch.zeros_like(v) if how == "zero" else v.mean(0, keepdim=True).expand_as(v).clone()
        return ActivationCache(out, model)

    tensors = {"clean_ids": clean.int(), "corrupted_ids": corrupted.int(), "answer": answer.int(),
               "wrong": wrong.int(), "ld_clean": ld_clean.float(), "ld_corrupted": ld_corr.float()}
    with torch.no_grad():
        for direction in ("denoise", "noise"):
            tokens = corrupted if direction == "denoise" else clean
            other = clean_cache if direction == "denoise" else corr_cache
            for ablation in ("patch", "zero", "mean"):
                # mean ablation replaces with the mean of the clean activations in both directions
                cache = other if ablation == "patch" else replaced(clean_cache, ablation)
                for metric_name, metric in (("logit_diff", ld_metric), ("kl", kl_metric)):
                    for comp, fn in grids.items():
                        g = fn(model, tokens, cache, metric)
                        tensors[f"{direction}.{ablation}.{metric_name}.{comp}"] = g.float().contiguous()
                        print(name, direction, ablation, metric_name, comp, tuple(g.shape), file=sys.stderr)
    meta = {"format": "headscope-patch", "format_version": "1", "fixture": name,
            "transformer_lens": importlib.metadata.version("transformer_lens"), "torch": torch.__version__}
    out = os.path.join(ROOT, "tests", "fixtures", "patch", f"{name}.safetensors")
    save_file(tensors, out, metadata=meta)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    for n in sys.argv[1:] or FIXTURES:
        generate(n)
