#!/usr/bin/env python3
"""gen_fixtures.py — writes the parity fixtures under tests/fixtures/models/ (developer-only).

Run it from the repository root:

    python3 tools/gen_fixtures.py            # regenerates tests/fixtures/models/<name>/
    python3 tools/gen_fixtures.py llama neox # only these fixtures

Needs torch, transformers (5.x) and safetensors; the C build never runs it (the outputs are
committed). It is deterministic: each fixture draws its weights and input ids from its own
seeded torch.Generator, so the same torch build rewrites the same bytes.

For each fixture it builds a tiny Hugging Face causal LM, gives it random weights (scaled so
that attention patterns are peaked and LayerNorm gains/biases are not 1/0, see init_weights),
saves it with save_pretrained (config.json + model.safetensors, weights in the fixture's
dtype), runs it once in float32 (weights up-cast from the stored dtype) with eager attention
on a random batch of ids, and writes reference.safetensors:

    input_ids                              I32 [batch, pos]
    <TransformerLens hook name>            F32, TL shape with a leading batch dim (headscope.h)
    __metadata__: format "headscope-parity", format_version "1", fixture, torch, transformers

Where the values come from (HF = a forward hook / pre-hook on the Hugging Face module, so the
value is HF's own float32 tensor):
    hook_embed                  HF: token-embedding module output
    hook_pos_embed              HF: wpe output, broadcast over batch (gpt2 only)
    blocks.L.hook_resid_pre     HF: decoder layer input
    attn.hook_q/k/v             HF: q_proj/k_proj/v_proj outputs; gpt2 c_attn output split in
                                three; neox query_key_value output de-interleaved per head
    attn.hook_rot_q/rot_k       HF: the query/key that HF's eager attention function receives
                                (after rotary; captured by wrapping eager_attention_forward)
    attn.hook_pattern           HF: attention weights returned by eager attention
    attn.hook_z                 HF: input of o_proj / c_proj / dense
    hook_attn_out               HF: attention module output
    hook_resid_mid              HF: input of ln2 (post_attention_layernorm / ln_2), which in a
                                sequential block is exactly resid_pre + attn_out
    mlp.hook_pre                HF: c_fc / gate_proj / dense_h_to_4h output
    mlp.hook_pre_linear         HF: up_proj output (gated MLPs)
    mlp.hook_post               HF: input of the down projection (c_proj / down_proj / dense_4h_to_h)
    hook_mlp_out                HF: MLP module output
    hook_resid_post             HF: decoder layer output
    unembed.hook_out            HF: logits
Computed here in float64 from HF's own intermediate tensors and weights, because HF never
materialises them, then rounded to float32:
    ln*.hook_scale              LayerNorm: sqrt(mean((x - mean x)^2) + eps); RMSNorm:
                                sqrt(mean(x^2) + eps); x = HF's norm input          [b, pos, 1]
    ln*.hook_normalized         x̂ = (x - mean x) / scale (LayerNorm), x / scale (RMSNorm): the
                                norm before its gain and bias, as TransformerLens's default
                                (fold_ln: LayerNormPre / RMSNormPre) stores it      [b, pos, d_model]
    attn.hook_attn_scores       (rot_)q · (rot_)k * HF's scaling, GQA keys repeated, entries
                                above the diagonal set to -inf (HF adds a large negative
                                number instead; TL stores -inf)                    [b, h, q, k]
    attn.hook_result            z_h · W_O^h (no bias), W_O from HF's o_proj/c_proj/dense [b, pos, h, d_model]
Self-checks before writing (the script fails if any does not hold; 2e-6 normalised): softmax(
scores) equals HF's pattern, masked pattern entries are exactly 0 and rows sum to 1, pattern · v
equals z, rotary recomputed independently in float64 from hook_q/k equals rot_q/k (this pins
the "rotate half" pairing over the first rotary dims), sum_h result + b_O equals attn_out,
resid_mid equals resid_pre + attn_out, normalized * w + b equals HF's norm output, no NaN.
It also reruns each model in float64 and prints, per hook kind, the normalised error of the
float32 reference against float64: the float32 noise floor the C tolerances must sit above.
"""

import copy
import json
import math
import os
import shutil
import struct
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file
from transformers import (GPT2Config, GPT2LMHeadModel, GPTNeoXConfig, GPTNeoXForCausalLM,
                          LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM)
from transformers.models.gpt2 import modeling_gpt2
from transformers.models.gpt_neox import modeling_gpt_neox
from transformers.models.llama import modeling_llama
from transformers.models.mistral import modeling_mistral
from transformers.models.qwen2 import modeling_qwen2

FORMAT_VERSION = "1"
N_BATCH, N_POS = 2, 13
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "models")

# ------------------------------------------------------------------ the fixtures

COMMON = dict(num_hidden_layers=2, max_position_embeddings=64)


def cfg_gpt2(vocab=151, d=48):
    return GPT2Config(n_embd=d, n_head=4, n_layer=2, n_positions=64, vocab_size=vocab,
                      activation_function="gelu_new", layer_norm_epsilon=1e-5,
                      bos_token_id=vocab - 1, eos_token_id=vocab - 1,
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)


def cfg_llama(vocab=173):
    return LlamaConfig(hidden_size=48, num_attention_heads=4, num_key_value_heads=2,
                       intermediate_size=80, vocab_size=vocab, hidden_act="silu",
                       rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1,
                       eos_token_id=2, **COMMON)


FIXTURES = {
    # name: (model class, config factory, weight dtype, seed, what it is)
    "gpt2": (GPT2LMHeadModel, cfg_gpt2, torch.float32, 1,
             "GPT-2: learned positions, LayerNorm, gelu_new MLP, tied unembedding, Conv1D weights"),
    "llama": (LlamaForCausalLM, cfg_llama, torch.float32, 2,
              "Llama: RMSNorm, rotary (full), GQA 4 heads / 2 kv heads, SwiGLU, untied lm_head"),
    "qwen2": (Qwen2ForCausalLM, lambda: Qwen2Config(
        hidden_size=48, num_attention_heads=4, num_key_value_heads=2, intermediate_size=72,
        vocab_size=139, hidden_act="silu", rms_norm_eps=1e-6, tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        use_sliding_window=False, **COMMON), torch.float32, 3,
        "Qwen2: like Llama plus q/k/v biases, rope_theta 1e6, tied embeddings, GQA 4/2"),
    "mistral": (MistralForCausalLM, lambda: MistralConfig(
        hidden_size=32, num_attention_heads=4, num_key_value_heads=1, intermediate_size=56,
        vocab_size=127, hidden_act="silu", rms_norm_eps=1e-5, tie_word_embeddings=False,
        sliding_window=4096, bos_token_id=1, eos_token_id=2, **COMMON), torch.float32, 4,
        "Mistral: Llama-like, multi-query (4 heads / 1 kv head), sliding_window 4096 > n_ctx"),
    "neox": (GPTNeoXForCausalLM, lambda: GPTNeoXConfig(
        hidden_size=64, num_attention_heads=4, intermediate_size=128, vocab_size=157,
        rotary_pct=0.25, use_parallel_residual=True, hidden_act="gelu", layer_norm_eps=1e-5,
        tie_word_embeddings=False, hidden_dropout=0.0, attention_dropout=0.0, **COMMON),
        torch.float32, 5,
        "GPT-NeoX (Pythia): parallel residual, partial rotary 25% (4 of 16 dims), erf GELU, fused interleaved qkv"),
    "neox_seq": (GPTNeoXForCausalLM, lambda: GPTNeoXConfig(
        hidden_size=64, num_attention_heads=4, intermediate_size=96, vocab_size=131,
        rotary_pct=0.5, use_parallel_residual=False, hidden_act="gelu", layer_norm_eps=1e-5,
        tie_word_embeddings=False, hidden_dropout=0.0, attention_dropout=0.0, **COMMON),
        torch.float32, 6,
        "GPT-NeoX with sequential residual (has resid_mid), partial rotary 50% (8 of 16 dims)"),
    "gpt2_f16": (GPT2LMHeadModel, lambda: cfg_gpt2(vocab=113, d=32), torch.float16, 7,
                 "GPT-2 as gpt2 (d_model 32), weights stored in float16"),
    "llama_bf16": (LlamaForCausalLM, lambda: cfg_llama(vocab=109), torch.bfloat16, 8,
                   "Llama as llama, weights stored in bfloat16"),
}

# ------------------------------------------------------------------ architecture adapters
# Each names the HF modules that carry the hook points; the capture code is shared.


def adapter(model):
    t = model.config.model_type
    if t == "gpt2":
        tr = model.transformer
        return dict(embed=tr.wte, pos=tr.wpe, layers=list(tr.h), ln_final=tr.ln_f,
                    ln1=lambda b: b.ln_1, ln2=lambda b: b.ln_2, attn=lambda b: b.attn,
                    o=lambda b: b.attn.c_proj, mlp=lambda b: b.mlp, mlp_in=lambda b: b.mlp.c_fc,
                    up=None, down=lambda b: b.mlp.c_proj, sequential=True,
                    W_O=lambda b: b.attn.c_proj.weight.detach().T,   # Conv1D stores [in, out]
                    b_O=lambda b: b.attn.c_proj.bias, module=modeling_gpt2)
    if t in ("llama", "qwen2", "mistral"):
        m = model.model
        mod = {"llama": modeling_llama, "qwen2": modeling_qwen2, "mistral": modeling_mistral}[t]
        return dict(embed=m.embed_tokens, pos=None, layers=list(m.layers), ln_final=m.norm,
                    ln1=lambda b: b.input_layernorm, ln2=lambda b: b.post_attention_layernorm,
                    attn=lambda b: b.self_attn, o=lambda b: b.self_attn.o_proj,
                    mlp=lambda b: b.mlp, mlp_in=lambda b: b.mlp.gate_proj,
                    up=lambda b: b.mlp.up_proj, down=lambda b: b.mlp.down_proj, sequential=True,
                    W_O=lambda b: b.self_attn.o_proj.weight.detach(),
                    b_O=lambda b: b.self_attn.o_proj.bias, module=mod)
    if t == "gpt_neox":
        m = model.gpt_neox
        return dict(embed=m.embed_in, pos=None, layers=list(m.layers), ln_final=m.final_layer_norm,
                    ln1=lambda b: b.input_layernorm, ln2=lambda b: b.post_attention_layernorm,
                    attn=lambda b: b.attention, o=lambda b: b.attention.dense,
                    mlp=lambda b: b.mlp, mlp_in=lambda b: b.mlp.dense_h_to_4h, up=None,
                    down=lambda b: b.mlp.dense_4h_to_h,
                    sequential=not model.config.use_parallel_residual,
                    W_O=lambda b: b.attention.dense.weight.detach(),
                    b_O=lambda b: b.attention.dense.bias, module=modeling_gpt_neox)
    raise ValueError(t)


# ------------------------------------------------------------------ weights


def init_weights(model, gen):
    """Replaces every parameter with seeded random values, less degenerate than HF's init:
    linear weights N(0, (g/sqrt(fan_in))^2) with g = 2 for the attention input projections (so
    scores spread over several units and patterns are peaked) and 1 elsewhere, embeddings
    N(0, 0.02^2) (as small as in trained checkpoints: mean(x^2) of the first norm's input is
    then ~4e-4, so its eps (1e-5, 1e-6) moves the numbers by ~1e-2, well above tolerance, and
    a loader that ignores the configured eps fails), every bias N(0, 0.1^2), norm gains
    1 + N(0, 0.2^2), norm biases N(0, 0.1^2). Parameters are visited in name order so the
    draw does not depend on module construction order."""
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            def draw(std):
                return torch.randn(p.shape, generator=gen, dtype=torch.float32) * std
            is_norm = any(s in name for s in ("ln_", "norm", "layernorm"))
            if is_norm and name.endswith("weight"):
                p.copy_(1.0 + draw(0.2))
            elif name.endswith("bias"):
                p.copy_(draw(0.1))
            elif p.dim() == 1:
                p.copy_(draw(0.1))
            elif any(s in name for s in ("wte", "wpe", "embed_tokens", "embed_in")):
                p.copy_(draw(0.02))
            else:
                fan_in = p.shape[0] if type(model).__name__.startswith("GPT2") and ".h." in name \
                    else p.shape[1]
                gain = 2.0 if any(s in name for s in ("c_attn", "q_proj", "k_proj", "query_key_value")) else 1.0
                p.copy_(draw(gain / math.sqrt(fan_in)))


# ------------------------------------------------------------------ capture


def ln_scale64(norm, x):
    """hook_scale as TransformerLens defines it, in float64, from the norm's input x."""
    x = x.double()
    if isinstance(norm, torch.nn.LayerNorm):
        x = x - x.mean(-1, keepdim=True)
        eps = norm.eps
    else:
        eps = norm.variance_epsilon
    return torch.sqrt((x * x).mean(-1, keepdim=True) + eps)


def ln_normalized64(norm, x):
    """hook_normalized as TransformerLens's LayerNormPre / RMSNormPre define it (the norm with its
    gain and bias folded into the next layer): x̂ = (x - mean x) / scale, or x / scale for RMSNorm,
    in float64 from the norm's input x."""
    xc = x.double()
    if isinstance(norm, torch.nn.LayerNorm):
        xc = xc - xc.mean(-1, keepdim=True)
    return xc / ln_scale64(norm, x)


class exact_float64:
    """For the float64 comparison run only: HF computes RMSNorm variance, softmax and rotary
    angles in float32 whatever the model dtype; this swaps in float64 versions of those three
    so the run is float64 throughout. Does nothing when `on` is false."""

    def __init__(self, mod, on):
        self.mod, self.on, self.saved = mod, on, []

    def __enter__(self):
        if not self.on:
            return self
        m = self.mod

        def rms_forward(norm, x):
            return norm.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon))

        def rope_forward(rope, x, position_ids):
            c = rope.config
            dim = int(c.hidden_size // c.num_attention_heads
                      * c.rope_parameters.get("partial_rotary_factor", 1.0))
            inv = 1.0 / (c.rope_parameters["rope_theta"]
                         ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
            freqs = position_ids[..., None].double() * inv
            emb = torch.cat((freqs, freqs), dim=-1)
            return emb.cos().to(x.dtype), emb.sin().to(x.dtype)

        def eager(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kw):
            rep = query.shape[1] // key.shape[1]
            key, value = key.repeat_interleave(rep, 1), value.repeat_interleave(rep, 1)
            if scaling is None:
                scaling = query.size(-1) ** -0.5
            w = (query @ key.transpose(-1, -2)) * scaling
            n = w.shape[-1]
            w = w.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
            return (w @ value).transpose(1, 2).contiguous(), w

        for name in dir(m):
            obj = getattr(m, name)
            if isinstance(obj, type) and name.endswith("RMSNorm"):
                self.saved.append((obj, "forward", obj.forward))
                obj.forward = rms_forward
            if isinstance(obj, type) and name.endswith("RotaryEmbedding"):
                self.saved.append((obj, "forward", obj.forward))
                obj.forward = rope_forward
        self.saved.append((m, "eager_attention_forward", m.eager_attention_forward))
        m.eager_attention_forward = eager
        return self

    def __exit__(self, *exc):
        for obj, attr, val in reversed(self.saved):
            setattr(obj, attr, val)
        return False


def run_captured(model, ids):
    """One eager forward pass with hooks; returns {TL name: tensor} (dtype of the model)."""
    cfg = model.config
    A = adapter(model)
    n_heads = cfg.num_attention_heads
    d_model = cfg.hidden_size
    d_head = d_model // n_heads
    n_kv = getattr(cfg, "num_key_value_heads", None) or n_heads
    rotary = cfg.model_type != "gpt2"
    b, n = ids.shape
    acts = {}
    raw = {}   # per layer: HF tensors needed for the computed hooks
    handles = []

    def fwd(mod, fn):
        handles.append(mod.register_forward_hook(lambda m, i, o: fn(o)))

    def pre(mod, fn):
        def h(m, args, kwargs):
            fn(args[0] if args else next(iter(kwargs.values())))
        handles.append(mod.register_forward_pre_hook(h, with_kwargs=True))

    def first(o):
        return o[0] if isinstance(o, tuple) else o

    def put(name, t):
        assert name not in acts, name
        acts[name] = t.detach().clone()

    fwd(A["embed"], lambda o: put("hook_embed", o))
    if A["pos"] is not None:
        fwd(A["pos"], lambda o: put("hook_pos_embed", o.expand(b, n, d_model)))
    for L, blk in enumerate(A["layers"]):
        P = f"blocks.{L}."
        raw[L] = {}
        pre(blk, lambda x, P=P: put(P + "hook_resid_pre", x))
        for ln_name, mod in (("ln1", A["ln1"](blk)), ("ln2", A["ln2"](blk))):
            def ln_in(x, P=P, ln_name=ln_name, mod=mod, L=L):
                put(P + ln_name + ".hook_scale", ln_scale64(mod, x))
                put(P + ln_name + ".hook_normalized", ln_normalized64(mod, x))
                if ln_name == "ln2" and A["sequential"]:
                    put(P + "hook_resid_mid", x)
            pre(mod, ln_in)

            def ln_out(o, L=L, ln_name=ln_name):   # for the self-check only: x̂·w + b
                raw[L][ln_name + "_out"] = o.detach().clone()
            fwd(mod, ln_out)
        attn = A["attn"](blk)
        if cfg.model_type == "gpt2":
            def qkv(o, P=P):
                q, k, v = o.split(d_model, dim=2)
                put(P + "attn.hook_q", q.reshape(b, n, n_heads, d_head))
                put(P + "attn.hook_k", k.reshape(b, n, n_heads, d_head))
                put(P + "attn.hook_v", v.reshape(b, n, n_heads, d_head))
            fwd(attn.c_attn, qkv)
        elif cfg.model_type == "gpt_neox":
            def qkv(o, P=P):
                o = o.reshape(b, n, n_heads, 3 * d_head)   # per head: [q | k | v]
                put(P + "attn.hook_q", o[..., :d_head])
                put(P + "attn.hook_k", o[..., d_head:2 * d_head])
                put(P + "attn.hook_v", o[..., 2 * d_head:])
            fwd(attn.query_key_value, qkv)
        else:
            fwd(attn.q_proj, lambda o, P=P: put(P + "attn.hook_q", o.reshape(b, n, n_heads, d_head)))
            fwd(attn.k_proj, lambda o, P=P: put(P + "attn.hook_k", o.reshape(b, n, n_kv, d_head)))
            fwd(attn.v_proj, lambda o, P=P: put(P + "attn.hook_v", o.reshape(b, n, n_kv, d_head)))
        pre(A["o"](blk), lambda x, P=P: put(P + "attn.hook_z", x.reshape(b, n, n_heads, d_head)))
        fwd(attn, lambda o, P=P: put(P + "hook_attn_out", first(o)))
        mlp = A["mlp"](blk)
        fwd(A["mlp_in"](blk), lambda o, P=P: put(P + "mlp.hook_pre", o))
        if A["up"] is not None:
            fwd(A["up"](blk), lambda o, P=P: put(P + "mlp.hook_pre_linear", o))
        pre(A["down"](blk), lambda x, P=P: put(P + "mlp.hook_post", x))
        fwd(mlp, lambda o, P=P: put(P + "hook_mlp_out", first(o)))
        fwd(blk, lambda o, P=P: put(P + "hook_resid_post", first(o)))

    def lnf_in(x):
        put("ln_final.hook_scale", ln_scale64(A["ln_final"], x))
        put("ln_final.hook_normalized", ln_normalized64(A["ln_final"], x))
    pre(A["ln_final"], lnf_in)

    def lnf_out(o):
        raw["lnf_out"] = o.detach().clone()
    fwd(A["ln_final"], lnf_out)

    # Wrap the module's eager attention to see the query/key it is handed (after rotary, before
    # GQA repetition), its scaling, and the weights it returns. "eager" resolves to this module
    # global at call time (AttentionInterface.get_interface("eager", default)).
    mod = A["module"]
    exact = exact_float64(mod, model.dtype == torch.float64).__enter__()
    orig = mod.eager_attention_forward

    def wrapped(module, query, key, value, attention_mask, *args, **kwargs):
        out, w = orig(module, query, key, value, attention_mask, *args, **kwargs)
        L = module.layer_idx
        scaling = kwargs.get("scaling")
        if scaling is None:
            scaling = args[0] if args else query.size(-1) ** -0.5
        raw[L]["q"] = query.detach().clone()
        raw[L]["k"] = key.detach().clone()
        raw[L]["scaling"] = float(scaling)
        acts[f"blocks.{L}.attn.hook_pattern"] = w.detach().clone()
        return out, w
    mod.eager_attention_forward = wrapped
    try:
        with torch.no_grad():
            logits = model(input_ids=ids, use_cache=False).logits
    finally:
        mod.eager_attention_forward = orig
        exact.__exit__()
        for h in handles:
            h.remove()
    acts["unembed.hook_out"] = logits.detach().clone()

    # the hooks HF never materialises, in float64 from HF's own tensors
    causal = torch.ones(n, n, dtype=torch.bool).triu(1)
    for L, blk in enumerate(A["layers"]):
        P = f"blocks.{L}."
        q, k = raw[L]["q"].double(), raw[L]["k"].double()     # [b, h, pos, d], [b, kv, pos, d]
        if rotary:
            acts[P + "attn.hook_rot_q"] = raw[L]["q"].transpose(1, 2).clone()
            acts[P + "attn.hook_rot_k"] = raw[L]["k"].transpose(1, 2).clone()
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
        scores = (q @ k.transpose(-1, -2)) * raw[L]["scaling"]
        acts[P + "attn.hook_attn_scores"] = scores.masked_fill(causal, float("-inf"))
        z = acts[P + "attn.hook_z"].double()                    # [b, pos, h, d_head]
        W_O = A["W_O"](blk).double()                           # [d_model, h*d_head]
        W_O = W_O.T.reshape(n_heads, d_head, d_model)
        acts[P + "attn.hook_result"] = torch.einsum("bphd,hdm->bphm", z, W_O)
        raw[L]["b_O"] = A["b_O"](blk)
    return acts, raw, A


def rope64(x, cfg):
    """Rotary in float64, "rotate half" pairing (i, i + rot/2) over the first rot dims of each
    head: an independent check of what HF's rot_q/rot_k are. x: [b, pos, head, d_head]."""
    x = x.double()
    d_head = x.shape[-1]
    rp = cfg.rope_parameters
    rot = int(d_head * rp.get("partial_rotary_factor", 1.0))
    inv = 1.0 / (rp["rope_theta"] ** (torch.arange(0, rot, 2, dtype=torch.float64) / rot))
    ang = torch.arange(x.shape[1], dtype=torch.float64)[:, None] * inv     # [pos, rot/2]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x1, x2, rest = x[..., :rot // 2], x[..., rot // 2:rot], x[..., rot:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin, rest), dim=-1)


def self_check(name, acts, raw, A, cfg):
    """Fails loudly if the computed hooks disagree with HF's own tensors."""
    def close(tag, a, b, tol):
        a, b = a.double(), b.double()
        err = (a - b).abs().max().item() / max(b.abs().max().item(), 1e-6)
        assert err <= tol, f"{name}: self-check {tag}: normalised error {err:.3g} > {tol}"

    def close_norm(tag, mod, xhat, out):
        """x̂ with the norm's gain and bias applied is HF's own norm output."""
        y = xhat.double() * mod.weight.double()
        if getattr(mod, "bias", None) is not None:
            y = y + mod.bias.double()
        close(tag + " normalized * w + b", y, out, 2e-6)
    for k, v in acts.items():
        assert not torch.isnan(v).any(), f"{name}: {k} has NaN"
    for L, blk in enumerate(A["layers"]):
        P = f"blocks.{L}."
        pat = acts[P + "attn.hook_pattern"]
        close(P + "pattern rows", pat.double().sum(-1), torch.ones(pat.shape[:-1]), 1e-5)
        close(P + "softmax(scores)", torch.softmax(acts[P + "attn.hook_attn_scores"], -1), pat, 2e-6)
        n = pat.shape[-1]
        assert (pat[..., torch.ones(n, n, dtype=torch.bool).triu(1)] == 0).all(), f"{name}: {P} mask"
        v = acts[P + "attn.hook_v"].double()                   # [b, pos, kv, d]
        v = v.repeat_interleave(pat.shape[1] // v.shape[2], dim=2)
        close(P + "z = pattern v", torch.einsum("bhqk,bkhd->bqhd", pat.double(), v), acts[P + "attn.hook_z"], 2e-6)
        if P + "attn.hook_rot_q" in acts:
            for x in ("q", "k"):
                close(P + "rot_" + x, rope64(acts[P + "attn.hook_" + x], cfg), acts[P + "attn.hook_rot_" + x], 2e-6)
        attn_out = acts[P + "attn.hook_result"].sum(2)
        if raw[L]["b_O"] is not None:
            attn_out = attn_out + raw[L]["b_O"].double()
        close(P + "sum result + b_O", attn_out, acts[P + "hook_attn_out"], 2e-6)
        if A["sequential"]:
            close(P + "resid_mid", acts[P + "hook_resid_pre"].double() + acts[P + "hook_attn_out"].double(),
                  acts[P + "hook_resid_mid"], 2e-6)
        for ln_name, mod in (("ln1", A["ln1"](blk)), ("ln2", A["ln2"](blk))):
            close_norm(P + ln_name, mod, acts[P + ln_name + ".hook_normalized"], raw[L][ln_name + "_out"])
    close_norm("ln_final", A["ln_final"], acts["ln_final.hook_normalized"], raw["lnf_out"])


def write_safetensors(path, tensors, meta):
    """A byte-deterministic safetensors writer (the library orders __metadata__ by hash):
    header keys in insertion order, padded with spaces to 8 bytes; read back to check."""
    header, blobs, off = {"__metadata__": meta}, [], 0
    names = {torch.float32: "F32", torch.int32: "I32"}
    for k, t in tensors.items():
        blob = t.contiguous().numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    back = load_file(path)
    assert back.keys() == tensors.keys() and all(torch.equal(back[k], v) for k, v in tensors.items())


def tl_kind(name):
    return name.split(".", 2)[2] if name.startswith("blocks.") else name


def generate(name):
    cls, make_cfg, dtype, seed, _ = FIXTURES[name]
    gen = torch.Generator().manual_seed(1000 + seed)
    torch.manual_seed(seed)
    cfg = make_cfg()
    cfg._attn_implementation = "eager"
    model = cls(cfg).eval()
    model.config._attn_implementation = "eager"
    init_weights(model, gen)
    ids = torch.randint(0, cfg.vocab_size, (N_BATCH, N_POS), generator=gen, dtype=torch.int64)

    # round the parameters to the stored dtype and save a copy in that dtype; the reference is
    # computed from the rounded weights up-cast to float32 (what the C loader does). Only the
    # parameters round-trip: buffers such as rotary inv_freq stay float32.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).float())
    d = os.path.join(OUT_DIR, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    with tempfile.TemporaryDirectory() as tmp:
        copy.deepcopy(model).to(dtype).save_pretrained(tmp)
        os.makedirs(d)
        for f in ("config.json", "model.safetensors"):
            shutil.copy(os.path.join(tmp, f), os.path.join(d, f))

    acts, raw, A = run_captured(model, ids)
    self_check(name, acts, raw, A, cfg)

    # the float32 noise floor: the same model in float64
    acts64, _, _ = run_captured(model.double(), ids)
    floor = {}
    for k, v in acts.items():
        ref, v64 = v.double(), acts64[k].double()
        fin = torch.isfinite(ref)
        err = (ref[fin] - v64[fin]).abs().max().item() / max(v64[fin].abs().max().item(), 1e-6)
        floor[tl_kind(k)] = max(floor.get(tl_kind(k), 0.0), err)

    tensors = {"input_ids": ids.to(torch.int32).contiguous()}
    for k, v in sorted(acts.items()):
        tensors[k] = v.to(torch.float32).contiguous()
    meta = {"format": "headscope-parity", "format_version": FORMAT_VERSION, "fixture": name,
            "torch": torch.__version__, "transformers": transformers.__version__,
            "batch": str(N_BATCH), "pos": str(N_POS)}
    write_safetensors(os.path.join(d, "reference.safetensors"), tensors, meta)
    return acts, floor, d


def describe(name, acts, floor, d):
    sizes = {f: os.path.getsize(os.path.join(d, f)) for f in sorted(os.listdir(d))}
    print(f"{name}: {len(acts)} hooks, " + ", ".join(f"{f} {s}" for f, s in sizes.items()))
    for L in range(2):
        pat = acts[f"blocks.{L}.attn.hook_pattern"]
        top = pat[:, :, 1:, :].max(-1).values    # the first query row is trivially 1
        print(f"  layer {L} pattern: mean max prob {top.mean():.3f}, min {top.min():.3f}; "
              f"scores std {acts[f'blocks.{L}.attn.hook_attn_scores'].nan_to_num(0, 0, 0).std():.2f}")
    print(f"  logits std {acts['unembed.hook_out'].std():.2f}, resid_post[-1] max "
          f"{acts['blocks.1.hook_resid_post'].abs().max():.2f}")
    worst = sorted(floor.items(), key=lambda kv: -kv[1])[:4]
    print("  float32 vs float64 worst: " + ", ".join(f"{k} {v:.2g}" for k, v in worst))
    return sum(sizes.values())


def main(argv):
    names = argv[1:] or list(FIXTURES)
    for n in names:
        if n not in FIXTURES:
            sys.exit(f"unknown fixture {n}; known: {' '.join(FIXTURES)}")
    torch.set_num_threads(1)   # one summation order, whatever the machine
    total = 0
    for n in names:
        acts, floor, d = generate(n)
        total += describe(n, acts, floor, d)
    print(f"total {total} bytes in {len(names)} fixtures under {os.path.relpath(OUT_DIR, ROOT)}")


if __name__ == "__main__":
    main(sys.argv)
