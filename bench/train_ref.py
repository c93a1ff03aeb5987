#!/usr/bin/env python3
"""train_ref.py — PyTorch's training throughput on the GPT-2 configuration bench/bench-train runs,
for bench/train.sh: transformers' GPT2LMHeadModel (eager attention, gelu_new, no dropout, tied
unembedding), AdamW (0.9, 0.95, wd 0.1; fused=False, foreach default), gradient clipping at 1.0,
cross-entropy over every position; random windows of one random token stream. Warm-up steps are
not timed; prints one line like bench-train's:

    pytorch layers=L d_model=C heads=H ctx=T batch=B vocab=V steps=N median_tok_s=.. best_tok_s=..
            median_ms=.. loss_first=.. loss_last=..

Threads: --threads (torch.set_num_threads); run with OMP_WAIT_POLICY=PASSIVE.
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from transformers import GPT2Config, GPT2LMHeadModel


def main():
    ap = argparse.ArgumentParser()
    for k, v in [("layers", 4), ("d-model", 128), ("heads", 4), ("ctx", 128), ("batch", 8), ("vocab", 257),
                 ("steps", 20), ("warmup", 3), ("seed", 0), ("threads", 2)]:
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    cfg = GPT2Config(vocab_size=a.vocab, n_positions=a.ctx, n_embd=a.d_model, n_layer=a.layers, n_head=a.heads,
                     activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                     tie_word_embeddings=True)
    cfg._attn_implementation = "eager"
    model = GPT2LMHeadModel(cfg).float().train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    stream = torch.randint(0, a.vocab, (1 << 16,))
    times, loss_first, loss = [], None, None
    for s in range(a.warmup + a.steps):
        starts = torch.randint(0, stream.numel() - a.ctx - 1, (a.batch,))
        win = torch.stack([stream[i:i + a.ctx + 1] for i in starts.tolist()])
        x, y = win[:, :-1], win[:, 1:]
        t0 = time.perf_counter()
        logits = model(input_ids=x).logits
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if s == 0:
            loss_first = loss.item()
        if s >= a.warmup:
            times.append(dt)
    med, best = statistics.median(times), min(times)
    tok = a.batch * a.ctx
    print(f"pytorch layers={a.layers} d_model={a.d_model} heads={a.heads} ctx={a.ctx} batch={a.batch} "
          f"vocab={a.vocab} steps={a.steps} median_tok_s={tok / med:.0f} best_tok_s={tok / best:.0f} "
          f"median_ms={1e3 * med:.2f} loss_first={loss_first:.4f} loss_last={loss.item():.4f}")


if __name__ == "__main__":
    main()
