/* tiny_model.c — random in-memory models for forward-pass unit tests. */
#include "tests/tiny_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tiny_fill(float *a, size_t n, float scale, unsigned *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        a[i] = scale * (2.0f * (float)((*seed >> 8) & 0xffff) / 65535.0f - 1.0f);
    }
}

static float *rnd(hs_model *m, size_t n, float scale, unsigned *seed)
{
    float *a = hs_model_alloc(m, n);
    if (a)
        tiny_fill(a, n, scale, seed);
    return a;
}

static float *gain(hs_model *m, size_t n, unsigned *seed)
{
    float *a = rnd(m, n, 0.3f, seed);
    if (a)
        for (size_t i = 0; i < n; i++)
            a[i] += 1.0f;
    return a;
}

hs_model *tiny_model_new(tiny_kind kind, unsigned seed)
{
    hs_model *m = hs_model_new();
    if (!m)
        return NULL;
    hs_config *c = &m->cfg;
    c->n_layers = 2;
    c->d_model = 16;
    c->n_heads = 4;
    c->n_kv_heads = kind == TINY_LLAMA_GQA ? 2 : 4;
    c->d_head = 4;
    c->d_mlp = 24;
    c->d_vocab = 40;
    c->n_ctx = 32;
    c->norm = kind == TINY_LLAMA_GQA ? HS_NORM_RMSNORM : HS_NORM_LAYERNORM;
    c->norm_eps = 1e-5f;
    c->act = kind == TINY_GPT2 ? HS_ACT_GELU_TANH : kind == TINY_LLAMA_GQA ? HS_ACT_SILU : HS_ACT_GELU_ERF;
    c->gated_mlp = kind == TINY_LLAMA_GQA;
    c->learned_pos = kind == TINY_GPT2;
    c->rotary_dim = kind == TINY_GPT2 ? 0 : kind == TINY_LLAMA_GQA ? 4 : 2;
    c->rope_theta = 10000.0f;
    c->parallel_residual = kind == TINY_NEOX_PARALLEL;
    c->tied_embeddings = kind == TINY_GPT2;
    snprintf(c->arch, sizeof c->arch, "%s", kind == TINY_GPT2 ? "gpt2" : kind == TINY_LLAMA_GQA ? "llama" : "neox");
    int bias = kind != TINY_LLAMA_GQA, norm_bias = c->norm == HS_NORM_LAYERNORM;
    size_t d = 16, q = 16, kv = (size_t)c->n_kv_heads * 4, f = 24, V = 40;
    m->layers = calloc(2, sizeof *m->layers);
    if (!m->layers)
        goto fail;
    if (!(m->W_E = rnd(m, V * d, 1.0f, &seed)))
        goto fail;
    if (c->learned_pos && !(m->W_pos = rnd(m, 32 * d, 0.5f, &seed)))
        goto fail;
    for (int l = 0; l < 2; l++) {
        hs_layer_weights *w = &m->layers[l];
        float s = 0.6f;
        if (!(w->ln1_w = gain(m, d, &seed)) || (norm_bias && !(w->ln1_b = rnd(m, d, 0.2f, &seed))) ||
            !(w->W_Q = rnd(m, q * d, s, &seed)) || !(w->W_K = rnd(m, kv * d, s, &seed)) ||
            !(w->W_V = rnd(m, kv * d, s, &seed)) || !(w->W_O = rnd(m, d * q, s, &seed)) ||
            (bias && (!(w->b_Q = rnd(m, q, 0.2f, &seed)) || !(w->b_K = rnd(m, kv, 0.2f, &seed)) ||
                      !(w->b_V = rnd(m, kv, 0.2f, &seed)) || !(w->b_O = rnd(m, d, 0.2f, &seed)))) ||
            !(w->ln2_w = gain(m, d, &seed)) || (norm_bias && !(w->ln2_b = rnd(m, d, 0.2f, &seed))) ||
            (c->gated_mlp && !(w->W_gate = rnd(m, f * d, s, &seed))) || !(w->W_in = rnd(m, f * d, s, &seed)) ||
            !(w->W_out = rnd(m, d * f, s, &seed)) ||
            (bias && (!(w->b_in = rnd(m, f, 0.2f, &seed)) || !(w->b_out = rnd(m, d, 0.2f, &seed)))))
            goto fail;
    }
    if (!(m->ln_f_w = gain(m, d, &seed)) || (norm_bias && !(m->ln_f_b = rnd(m, d, 0.2f, &seed))))
        goto fail;
    m->W_U = c->tied_embeddings ? m->W_E : rnd(m, V * d, 1.0f, &seed);
    if (!m->W_U)
        goto fail;
    m->n_params = hs_config_param_count(c);
    return m;
fail:
    hs_model_close(m);
    return NULL;
}
