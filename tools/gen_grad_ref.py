#!/usr/bin/env python3
"""gen_grad_ref.py — writes PyTorch autograd's gradients at the hook points of the parity fixture
models to tests/fixtures/grad/<name>.safetensors (developer-only; the C build never runs it).
Run it from the repository root after tools/gen_fixtures.py:
    python3 tools/gen_grad_ref.py              # gpt2 llama qwen2 mistral neox neox_seq
    python3 tools/gen_grad_ref.py llama        # only these

Each fixture model (tests/fixtures/models/<name>/, loaded with Hugging Face transformers in
float32, eager attention) runs on its reference's fixed input_ids [batch, pos]; the metric is the
logit difference of two fixed tokens at the last position summed over the batch,
    L = sum_b logits[b, -1, ANSWER] - logits[b, -1, WRONG],
and L.backward() gives dL/d(tensor) for the tensors the parity reference reads (tools/
gen_fixtures.py, run_captured), each kept with retain_grad:
    hook_embed, blocks.L.hook_resid_pre/mid/post, attn.hook_q/k/v (the projection outputs, split
    as there), attn.hook_rot_q/rot_k (the query/key eager attention receives, before GQA
    repetition, so a kv head's gradient sums over its query heads), attn.hook_pattern (the weights
    eager attention returns and multiplies by v), attn.hook_z, hook_attn_out, mlp.hook_pre,
    mlp.hook_pre_linear, mlp.hook_post, hook_mlp_out, unembed.hook_out (the logits).
Computed in float64 from those gradients, as the parity reference computes the hooks HF never
materialises:
    ln*.hook_normalized   dL/dx̂ = dL/d(norm output) * gain
    ln*.hook_scale        dL/dscale = -sum_k dL/dx̂_k * x̂_k / scale (TransformerLens's separate node)
    attn.hook_attn_scores dL/dscores = p * (dL/dp - sum_j dL/dp_j p_j), 0 above the diagonal
    hook_pos_embed        (gpt2) dL/d(embed + pos) per batch row; the script checks its sum over
                          the batch is the gradient of HF's wpe output
Written: input_ids I32, "metric" F32 [1], "answer"/"wrong" I32 [1], and "grad.<hook name>" F32
in the hook's TransformerLens shape with a leading batch dim. It also reruns in float64 and
prints the float32 noise floor per hook kind (normalised error max|g32 - g64| / max|g64|).
"""
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (adapter, FIXTURES, write_safetensors, ln_normalized64)

NAMES = ["gpt2", "llama", "qwen2", "mistral", "neox", "neox_seq"]
ANSWER, WRONG = 7, 11
OUT_DIR = os.path.join(gf.ROOT, "tests", "fixtures", "grad")


def run_grads(model, ids):
    """One forward + backward of the metric; returns ({hook: grad}, metric)."""
    cfg = model.config
    A = gf.adapter(model)
    H = cfg.num_attention_heads
    d_model = cfg.hidden_size
    dh = d_model // H
    G = getattr(cfg, "num_key_value_heads", None) or H
    b, n = ids.shape
    kept = {}      # name -> (tensor with retain_grad, function of its grad -> hook-shaped grad)
    norms = []     # (prefix, norm module, its input, its output)
    handles = []

    def keep(name, t, shape=lambda g: g):
        assert name not in kept, name
        t.retain_grad()
        kept[name] = (t, shape)

    def fwd(mod, fn):
        handles.append(mod.register_forward_hook(lambda m, i, o: fn(o[0] if isinstance(o, tuple) else o)))

    def pre(mod, fn):
        def h(m, args, kwargs):
            fn(args[0] if args else next(iter(kwargs.values())))
        handles.append(mod.register_forward_pre_hook(h, with_kwargs=True))

    fwd(A["embed"], lambda o: keep("hook_embed", o))
    if A["pos"] is not None:
        fwd(A["pos"], lambda o: keep("__wpe", o))
    for L, blk in enumerate(A["layers"]):
        P = f"blocks.{L}."
        pre(blk, lambda x, P=P, L=L: keep(P + "hook_resid_pre", x) if L > 0 or A["pos"] is not None else None)
        for ln_name, mod in (("ln1", A["ln1"](blk)), ("ln2", A["ln2"](blk))):
            def ln_in(x, P=P, ln_name=ln_name, mod=mod):
                if ln_name == "ln2" and A["sequential"]:
                    keep(P + "hook_resid_mid", x)
                norms.append([P + ln_name, mod, x, None])

            def ln_out(o):
                o.retain_grad()
                norms[-1][3] = o
            pre(mod, ln_in)
            fwd(mod, ln_out)
        attn = A["attn"](blk)
        if cfg.model_type == "gpt2":
            def qkv(o, P=P):
                o.retain_grad()
                for i, x in enumerate("qkv"):
                    kept[P + "attn.hook_" + x] = (o, lambda g, i=i: g.split(d_model, 2)[i].reshape(b, n, H, dh))
            fwd(attn.c_attn, qkv)
        elif cfg.model_type == "gpt_neox":
            def qkv(o, P=P):
                o.retain_grad()
                for i, x in enumerate("qkv"):
                    kept[P + "attn.hook_" + x] = (
                        o, lambda g, i=i: g.reshape(b, n, H, 3 * dh)[..., i * dh:(i + 1) * dh])
            fwd(attn.query_key_value, qkv)
        else:
            fwd(attn.q_proj, lambda o, P=P: keep(P + "attn.hook_q", o, lambda g: g.reshape(b, n, H, dh)))
            fwd(attn.k_proj, lambda o, P=P: keep(P + "attn.hook_k", o, lambda g: g.reshape(b, n, G, dh)))
            fwd(attn.v_proj, lambda o, P=P: keep(P + "attn.hook_v", o, lambda g: g.reshape(b, n, G, dh)))
        pre(A["o"](blk), lambda x, P=P: keep(P + "attn.hook_z", x, lambda g: g.reshape(b, n, H, dh)))
        fwd(attn, lambda o, P=P: keep(P + "hook_attn_out", o))
        fwd(A["mlp_in"](blk), lambda o, P=P: keep(P + "mlp.hook_pre", o))
        if A["up"] is not None:
            fwd(A["up"](blk), lambda o, P=P: keep(P + "mlp.hook_pre_linear", o))
        pre(A["down"](blk), lambda x, P=P: keep(P + "mlp.hook_post", x))
        fwd(A["mlp"](blk), lambda o, P=P: keep(P + "hook_mlp_out", o))
        fwd(blk, lambda o, P=P: keep(P + "hook_resid_post", o))

    def lnf_in(x):
        norms.append(["ln_final", A["ln_final"], x, None])

    def lnf_out(o):
        o.retain_grad()
        norms[-1][3] = o
    pre(A["ln_final"], lnf_in)
    fwd(A["ln_final"], lnf_out)

    # the query/key eager attention receives (after rotary) and the weights it returns
    mod = A["module"]
    orig = mod.eager_attention_forward
    pats = {}

    def wrapped(module, query, key, value, attention_mask, *args, **kwargs):
        L = module.layer_idx
        P = f"blocks.{L}."
        if cfg.model_type != "gpt2":
            keep(P + "attn.hook_rot_q", query, lambda g: g.transpose(1, 2))
            keep(P + "attn.hook_rot_k", key, lambda g: g.transpose(1, 2))
        out, w = orig(module, query, key, value, attention_mask, *args, **kwargs)
        keep(P + "attn.hook_pattern", w)
        pats[L] = w
        return out, w
    mod.eager_attention_forward = wrapped
    try:
        logits = model(input_ids=ids, use_cache=False).logits
    finally:
        mod.eager_attention_forward = orig
        for h in handles:
            h.remove()
    logits.retain_grad()
    kept["unembed.hook_out"] = (logits, lambda g: g)
    metric = (logits[:, -1, ANSWER] - logits[:, -1, WRONG]).sum()
    metric.backward()

    grads = {k: f(t.grad).detach().clone() for k, (t, f) in kept.items() if not k.startswith("__")}
    if "blocks.0.hook_resid_pre" not in grads:   # rotary models: the layer-0 input is the embedding
        grads["blocks.0.hook_resid_pre"] = grads["hook_embed"].clone()
    if A["pos"] is not None:
        # x = wte(ids) + wpe(pos): the two gradients are the same per batch row
        grads["hook_pos_embed"] = grads["hook_embed"].clone()
        wpe = kept["__wpe"][0].grad
        s = grads["hook_pos_embed"].double().sum(0)
        err = (s - wpe.double().reshape(s.shape)).abs().max() / wpe.abs().max()
        assert err < 1e-5, f"pos_embed sum over batch vs wpe grad: {err}"
    for name, norm, x, out in norms:
        xhat = gf.ln_normalized64(norm, x.detach())
        dxhat = out.grad.double() * norm.weight.detach().double()
        scale = gf.ln_scale64(norm, x.detach())
        grads[name + ".hook_normalized"] = dxhat
        grads[name + ".hook_scale"] = -(dxhat * xhat).sum(-1, keepdim=True) / scale
    causal = torch.ones(n, n, dtype=torch.bool).triu(1)
    for L, w in pats.items():
        p, dp = w.detach().double(), grads[f"blocks.{L}.attn.hook_pattern"].double()
        ds = p * (dp - (dp * p).sum(-1, keepdim=True))
        grads[f"blocks.{L}.attn.hook_attn_scores"] = ds.masked_fill(causal, 0.0)
    return grads, float(metric.detach())


def load(name, dtype):
    d = os.path.join(gf.OUT_DIR, name)
    cls = gf.FIXTURES[name][0]
    model = cls.from_pretrained(d, dtype=dtype, attn_implementation="eager").eval()
    ids = load_file(os.path.join(d, "reference.safetensors"))["input_ids"].long()
    return model, ids


def generate(name):
    model, ids = load(name, torch.float32)
    grads, metric = run_grads(model, ids)
    model64, _ = load(name, torch.float64)
    grads64, metric64 = run_grads(model64, ids)
    floor = {}
    for k, g in grads.items():
        g64 = grads64[k]
        e = (g.double() - g64).abs().max().item() / max(g64.abs().max().item(), 1e-30)
        kind = gf.tl_kind(k)
        floor[kind] = max(floor.get(kind, 0.0), e)
    tensors = {"input_ids": ids.to(torch.int32).contiguous(),
               "metric": torch.tensor([metric], dtype=torch.float32),
               "answer": torch.tensor([ANSWER], dtype=torch.int32),
               "wrong": torch.tensor([WRONG], dtype=torch.int32)}
    for k in sorted(grads):
        tensors["grad." + k] = grads[k].to(torch.float32).contiguous()
    meta = {"format": "headscope-grad", "format_version": "1", "fixture": name, "torch": torch.__version__,
            "transformers": gf.transformers.__version__, "answer": str(ANSWER), "wrong": str(WRONG)}
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name + ".safetensors")
    gf.write_safetensors(path, tensors, meta)
    worst = sorted(floor.items(), key=lambda kv: -kv[1])[:4]
    print(f"{name}: metric {metric:.6g} (float64 {metric64:.6g}), {len(grads)} gradients, "
          f"{os.path.getsize(path)} bytes; float32 vs float64 worst: "
          + ", ".join(f"{k} {v:.2g}" for k, v in worst))


def main(argv):
    names = argv[1:] or NAMES
    torch.set_num_threads(1)
    for n in names:
        generate(n)


if __name__ == "__main__":
    main(sys.argv)
