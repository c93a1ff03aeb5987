/* params.c — the parameter layout of a trainable GPT-2, its views and its initialisation. */
#include "train/params.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"

hs_status hs_gpt2_dims_check(const hs_gpt2_dims *d, hs_error *err)
{
    if (d->n_layers < 1 || d->n_layers > HS_TRAIN_MAX_LAYERS)
        return hs_fail(err, HS_ERR_RANGE, "train: %d layers is outside 1..%d", d->n_layers, HS_TRAIN_MAX_LAYERS);
    if (d->d_model < 1 || d->n_heads < 1 || d->d_model % d->n_heads)
        return hs_fail(err, HS_ERR_RANGE, "train: %d heads do not divide d_model %d", d->n_heads, d->d_model);
    if (d->d_vocab < 1 || d->n_ctx < 1)
        return hs_fail(err, HS_ERR_RANGE, "train: vocabulary %d and context %d must be positive", d->d_vocab,
                       d->n_ctx);
    if ((int64_t)d->d_model * 4 * d->d_model > INT_MAX || (int64_t)d->d_vocab * d->d_model > INT_MAX ||
        (int64_t)d->n_ctx * d->d_model > INT_MAX)
        return hs_fail(err, HS_ERR_RANGE, "train: d_model %d with vocabulary %d is too large", d->d_model,
                       d->d_vocab);
    return HS_OK;
}

int hs_gpt2_tensor_count(const hs_gpt2_dims *d)
{
    return 2 + 12 * d->n_layers + 2;
}

size_t hs_gpt2_layout(const hs_gpt2_dims *d, hs_gpt2_tensor *t)
{
    int C = d->d_model, F = 4 * d->d_model, n = 0;
    size_t off = 0;
    /* name, rows, cols, conv1d, decay */
#define ADD(rows_, cols_, conv_, decay_, ...)                                                   \
    do {                                                                                        \
        if (t) {                                                                                \
            snprintf(t[n].name, sizeof t[n].name, __VA_ARGS__);                                 \
            t[n].offset = off;                                                                  \
            t[n].rows = (rows_);                                                                \
            t[n].cols = (cols_);                                                                \
            t[n].conv1d = (conv_);                                                              \
            t[n].decay = (decay_);                                                              \
        }                                                                                       \
        off += (size_t)(rows_) * (size_t)((cols_) ? (cols_) : 1);                               \
        n++;                                                                                    \
    } while (0)
    ADD(d->d_vocab, C, 0, 1, "transformer.wte.weight");
    ADD(d->n_ctx, C, 0, 1, "transformer.wpe.weight");
    for (int l = 0; l < d->n_layers; l++) {
        ADD(C, 0, 0, 0, "transformer.h.%d.ln_1.weight", l);
        ADD(C, 0, 0, 0, "transformer.h.%d.ln_1.bias", l);
        ADD(3 * C, C, 1, 1, "transformer.h.%d.attn.c_attn.weight", l);
        ADD(3 * C, 0, 0, 0, "transformer.h.%d.attn.c_attn.bias", l);
        ADD(C, C, 1, 1, "transformer.h.%d.attn.c_proj.weight", l);
        ADD(C, 0, 0, 0, "transformer.h.%d.attn.c_proj.bias", l);
        ADD(C, 0, 0, 0, "transformer.h.%d.ln_2.weight", l);
        ADD(C, 0, 0, 0, "transformer.h.%d.ln_2.bias", l);
        ADD(F, C, 1, 1, "transformer.h.%d.mlp.c_fc.weight", l);
        ADD(F, 0, 0, 0, "transformer.h.%d.mlp.c_fc.bias", l);
        ADD(C, F, 1, 1, "transformer.h.%d.mlp.c_proj.weight", l);
        ADD(C, 0, 0, 0, "transformer.h.%d.mlp.c_proj.bias", l);
    }
    ADD(C, 0, 0, 0, "transformer.ln_f.weight");
    ADD(C, 0, 0, 0, "transformer.ln_f.bias");
#undef ADD
    return off;
}

void hs_gpt2_view_at(const hs_gpt2_dims *d, float *base, hs_gpt2_view *v)
{
    hs_gpt2_tensor t[2 + 12 * HS_TRAIN_MAX_LAYERS + 2];
    hs_gpt2_layout(d, t);
    memset(v, 0, sizeof *v);
    int n = 0;
    v->wte = base + t[n++].offset;
    v->wpe = base + t[n++].offset;
    for (int l = 0; l < d->n_layers; l++) {
        hs_gpt2_layer_view *lv = &v->layer[l];
        float **slot[12] = {&lv->ln1_w, &lv->ln1_b, &lv->W_qkv, &lv->b_qkv, &lv->W_O, &lv->b_O,
                            &lv->ln2_w, &lv->ln2_b, &lv->W_in,  &lv->b_in,  &lv->W_out, &lv->b_out};
        for (int i = 0; i < 12; i++)
            *slot[i] = base + t[n++].offset;
    }
    v->lnf_w = base + t[n++].offset;
    v->lnf_b = base + t[n++].offset;
}

void hs_gpt2_init(const hs_gpt2_dims *d, float *params, uint64_t seed)
{
    hs_gpt2_tensor t[2 + 12 * HS_TRAIN_MAX_LAYERS + 2];
    int n = hs_gpt2_tensor_count(d);
    hs_gpt2_layout(d, t);
    hs_rng rng = hs_rng_seed(seed);
    float resid_std = 0.02f / sqrtf(2.0f * (float)d->n_layers);
    for (int i = 0; i < n; i++) {
        float *p = params + t[i].offset;
        size_t numel = (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1);
        int is_gain = strstr(t[i].name, "ln_") != NULL && strstr(t[i].name, ".weight") != NULL;
        if (t[i].cols == 0) { /* biases 0, gains 1 */
            for (size_t j = 0; j < numel; j++)
                p[j] = is_gain ? 1.0f : 0.0f;
            continue;
        }
        float std = strstr(t[i].name, "c_proj.weight") ? resid_std : 0.02f;
        for (size_t j = 0; j < numel; j++)
            p[j] = std * hs_rng_normal(&rng);
    }
}
