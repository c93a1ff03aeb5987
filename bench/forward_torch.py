#!/usr/bin/env python3
"""forward_torch.py — the PyTorch peer of bench-forward: GPT-2 forward throughput (tokens/s) with
Hugging Face transformers, plain or with a run_with_cache-style set of forward hooks.

    forward_torch.py MODEL_DIR --batch B --pos T --reps N [--warmup W] [--observe] [--seed S]
    forward_torch.py --info        (torch version and its BLAS, one line, then exits)

Same work as bench/bench_forward.c, same ids (the same splitmix64 stream), same output line with
"pytorch" in front. Runs under torch.inference_mode() with use_cache=False (no KV cache). Threads:
torch.set_num_threads(--threads, default 2); bench/forward.sh sets OMP_WAIT_POLICY=PASSIVE
(it must be in the environment before torch starts, so it is not set here).

Plain: the default attention (SDPA, PyTorch at its best; it never materialises the pattern).
--observe: eager attention (the only one that returns the pattern) and hooks that clone, into a
dict kept until the pass ends (as TransformerLens's run_with_cache does):
    blocks.L.attn.hook_pattern   the attention weights GPT2Attention returns   [B, H, T, T]
    blocks.L.attn.hook_z         the input of attn.c_proj                      [B, T, H*dh]
    blocks.L.hook_resid_pre      the input of block L                          [B, T, d]
    blocks.L.hook_resid_post     the output of block L                         [B, T, d]
"""
import argparse
import os
import re
import sys
import time

MASK64 = (1 << 64) - 1


def splitmix64_ids(seed, n, vocab):
    s, out = seed, []
    for _ in range(n):
        s = (s + 0x9E3779B97F4A7C15) & MASK64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append((z ^ (z >> 31)) % vocab)
    return out


def blas_line(torch):
    """The line of torch.__config__.show() that names its BLAS, plus BLAS_INFO."""
    show = torch.__config__.show()
    lib = next((l.strip(" -") for l in show.splitlines() if "Math Kernel" in l or "OpenBLAS" in l), "?")
    info = re.search(r"BLAS_INFO=\w+", show)
    return f"{info.group(0) if info else 'BLAS_INFO=?'}; {lib}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", nargs="?")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--pos", type=int, default=128)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--observe", action="store_true")
    ap.add_argument("--info", action="store_true")
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    if a.info:
        print(f"torch version={torch.__version__} threads={torch.get_num_threads()} "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')} blas=\"{blas_line(torch)}\"")
        return
    if not a.model_dir:
        ap.error("MODEL_DIR is required")

    from transformers import GPT2LMHeadModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    model = GPT2LMHeadModel.from_pretrained(a.model_dir, dtype=torch.float32,
                                            attn_implementation="eager" if a.observe else "sdpa").eval()
    vocab = model.config.vocab_size
    ids = torch.tensor(splitmix64_ids(a.seed, a.batch * a.pos, vocab), dtype=torch.long).view(a.batch, a.pos)

    cache = {}
    if a.observe:
        def keep(name, t):
            cache[name] = t.detach().clone()

        for l, blk in enumerate(model.transformer.h):
            def pre_block(mod, args, kwargs, l=l):
                keep(f"blocks.{l}.hook_resid_pre", args[0] if args else kwargs["hidden_states"])

            def post_block(mod, args, out, l=l):
                keep(f"blocks.{l}.hook_resid_post", out[0] if isinstance(out, tuple) else out)

            def post_attn(mod, args, out, l=l):
                keep(f"blocks.{l}.attn.hook_pattern", out[1])

            def pre_cproj(mod, args, l=l):
                keep(f"blocks.{l}.attn.hook_z", args[0])

            blk.register_forward_pre_hook(pre_block, with_kwargs=True)
            blk.register_forward_hook(post_block)
            blk.attn.register_forward_hook(post_attn)
            blk.attn.c_proj.register_forward_pre_hook(pre_cproj)

    times, n_kept, kept_mb, logits = [], 0, 0.0, None
    with torch.inference_mode():
        for r in range(-a.warmup, a.reps):
            t0 = time.perf_counter()
            logits = model(input_ids=ids, use_cache=False).logits
            n_kept = len(cache)
            kept_mb = sum(t.numel() * t.element_size() for t in cache.values()) / (1 << 20)
            cache.clear()  # the pass is over: the user drops its cache
            t1 = time.perf_counter()
            if r >= 0:
                times.append(t1 - t0)
    srt = sorted(times)
    k = len(srt)
    median = srt[k // 2] if k % 2 else 0.5 * (srt[k // 2 - 1] + srt[k // 2])
    n = a.batch * a.pos
    print(f"pytorch batch={a.batch} pos={a.pos} observe={int(a.observe)} reps={a.reps} "
          f"median_tok_s={n / median:.1f} best_tok_s={n / srt[0]:.1f} median_ms={1e3 * median:.2f} "
          f"times_ms={','.join(f'{1e3 * t:.2f}' for t in times)} cached_tensors={n_kept} "
          f"cached_mb={kept_mb:.1f} logits_sum_last={logits[0, -1].double().sum().item():.4f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
