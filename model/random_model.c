/* random_model.c — deterministic random GPT-2 checkpoints in HF layout with a byte-level tokenizer. */
#include "model/random_model.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/rng.h"
#include "model/gpt2_checkpoint.h"

hs_status hs_random_model_write(const char *dir, const hs_random_model_spec *s, hs_error *err)
{
    if (s->n_layers < 1 || s->d_model < 1 || s->n_heads < 1 || s->d_model % s->n_heads || s->d_vocab < 257 ||
        s->n_ctx < 1)
        return hs_fail(err, HS_ERR_ARG, "random model: invalid spec (layers %d, d_model %d, heads %d, vocab %d, ctx %d)",
                       s->n_layers, s->d_model, s->n_heads, s->d_vocab, s->n_ctx);
    int64_t d = s->d_model, f = 4 * d, L = s->n_layers;
    int n_entries = 3 + 12 * (int)L + 2;
    hs_st_write_entry *e = calloc((size_t)n_entries, sizeof *e);
    char (*names)[64] = calloc((size_t)n_entries, 64);
    float **bufs = calloc((size_t)n_entries, sizeof *bufs);
    hs_rng rng = hs_rng_seed(s->seed);
    int n = 0;
    hs_status rc = HS_OK;
    if (!e || !names || !bufs) {
        rc = hs_fail(err, HS_ERR_NOMEM, "random model: out of memory");
        goto done;
    }
    /* name, shape, kind: 0 = normal(std), 1 = ones (gain), 2 = zeros (bias) */
#define ADD(kind, nd, s0, s1, ...)                                                    \
    do {                                                                              \
        snprintf(names[n], 64, __VA_ARGS__);                                          \
        int64_t numel_ = (s0) * ((nd) > 1 ? (s1) : 1);                                \
        if (!(bufs[n] = malloc((size_t)numel_ * sizeof(float)))) {                    \
            rc = hs_fail(err, HS_ERR_NOMEM, "random model: out of memory");           \
            goto done;                                                                \
        }                                                                             \
        for (int64_t i_ = 0; i_ < numel_; i_++)                                       \
            bufs[n][i_] = (kind) == 0 ? s->init_std * hs_rng_normal(&rng) : (kind) == 1 ? 1.0f : 0.0f; \
        e[n] = (hs_st_write_entry){.name = names[n], .dtype = HS_DTYPE_F32, .ndim = (nd), .shape = {(s0), (s1)}, .data = bufs[n]}; \
        n++;                                                                          \
    } while (0)
    ADD(0, 2, (int64_t)s->d_vocab, d, "wte.weight");
    ADD(0, 2, (int64_t)s->n_ctx, d, "wpe.weight");
    for (int64_t l = 0; l < L; l++) {
        ADD(1, 1, d, 0, "h.%lld.ln_1.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.ln_1.bias", (long long)l);
        ADD(0, 2, d, 3 * d, "h.%lld.attn.c_attn.weight", (long long)l);
        ADD(2, 1, 3 * d, 0, "h.%lld.attn.c_attn.bias", (long long)l);
        ADD(0, 2, d, d, "h.%lld.attn.c_proj.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.attn.c_proj.bias", (long long)l);
        ADD(1, 1, d, 0, "h.%lld.ln_2.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.ln_2.bias", (long long)l);
        ADD(0, 2, d, f, "h.%lld.mlp.c_fc.weight", (long long)l);
        ADD(2, 1, f, 0, "h.%lld.mlp.c_fc.bias", (long long)l);
        ADD(0, 2, f, d, "h.%lld.mlp.c_proj.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.mlp.c_proj.bias", (long long)l);
    }
    ADD(1, 1, d, 0, "ln_f.weight");
    ADD(2, 1, d, 0, "ln_f.bias");
#undef ADD
    hs_gpt2_ckpt_spec ck = {s->n_layers, s->d_model, s->n_heads, s->n_ctx, s->d_vocab, 256, 256, 0};
    rc = hs_gpt2_checkpoint_write(dir, &ck, e, n, NULL, err);
done:
    if (bufs)
        for (int i = 0; i < n_entries; i++)
            free(bufs[i]);
    free(bufs);
    free(names);
    free(e);
    return rc;
}
