/* checkpoint.c — saving a trainable GPT-2 as a Hugging Face checkpoint, and loading one. */
#include "train/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/gpt2_checkpoint.h"
#include "model/model.h"

hs_status hs_train_save(hs_train_model *tm, const char *dir, const char *tokenizer_src, int32_t bos_id,
                        int32_t eos_id, int add_bos, hs_error *err)
{
    const hs_gpt2_dims *d = hs_train_dims(tm);
    int nt = hs_gpt2_tensor_count(d);
    hs_gpt2_tensor *t = calloc((size_t)nt, sizeof *t);
    hs_st_write_entry *e = calloc((size_t)nt, sizeof *e);
    size_t n_params = hs_gpt2_layout(d, NULL);
    float *conv = malloc(n_params * sizeof *conv); /* Conv1D tensors, transposed */
    hs_status rc;
    if (!t || !e || !conv) {
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", dir);
        goto done;
    }
    hs_gpt2_layout(d, t);
    const float *params = hs_train_params(tm, NULL);
    for (int i = 0; i < nt; i++) {
        const float *src = params + t[i].offset;
        int64_t R = t[i].rows, Cn = t[i].cols;
        e[i].name = t[i].name;
        e[i].dtype = HS_DTYPE_F32;
        e[i].ndim = Cn ? 2 : 1;
        e[i].shape[0] = R;
        e[i].shape[1] = Cn;
        e[i].data = src;
        if (t[i].conv1d) { /* canonical [out = R, in = Cn] -> Conv1D [in, out] */
            float *dst = conv + t[i].offset;
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < Cn; c++)
                    dst[c * R + r] = src[r * Cn + c];
            e[i].shape[0] = Cn;
            e[i].shape[1] = R;
            e[i].data = dst;
        }
    }
    hs_gpt2_ckpt_spec spec = {d->n_layers, d->d_model, d->n_heads, d->n_ctx, d->d_vocab, bos_id, eos_id, add_bos};
    rc = hs_gpt2_checkpoint_write(dir, &spec, e, nt, tokenizer_src, err);
done:
    free(conv);
    free(e);
    free(t);
    return rc;
}

hs_status hs_train_dims_of_model(const hs_model *m, hs_gpt2_dims *dims, hs_error *err)
{
    const hs_config *c = &m->cfg;
    const char *src = m->path ? m->path : "model";
    if (strcmp(c->arch, "gpt2") != 0)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: architecture %s: training supports gpt2 only", src, c->arch);
    if (c->norm != HS_NORM_LAYERNORM || c->act != HS_ACT_GELU_TANH || c->gated_mlp || !c->learned_pos ||
        c->parallel_residual || c->rotary_dim)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: training supports GPT-2 blocks only (LayerNorm, gelu_new)", src);
    if (c->d_mlp != 4 * c->d_model)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: d_mlp %d is not 4 x d_model %d", src, c->d_mlp, c->d_model);
    if (!c->tied_embeddings || m->b_U)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: training needs the unembedding tied to wte", src);
    if (c->norm_eps != 1e-5f)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: layer_norm_epsilon %g: training uses 1e-5", src,
                       (double)c->norm_eps);
    *dims = (hs_gpt2_dims){c->n_layers, c->d_model, c->n_heads, c->d_vocab, c->n_ctx};
    return hs_gpt2_dims_check(dims, err);
}

static void copy(float *dst, const float *src, size_t n)
{
    memcpy(dst, src, n * sizeof *dst);
}

hs_status hs_train_load_model(hs_train_model *tm, const hs_model *m, hs_error *err)
{
    hs_gpt2_dims md;
    HS_TRY(hs_train_dims_of_model(m, &md, err));
    const hs_gpt2_dims *d = hs_train_dims(tm);
    if (memcmp(&md, d, sizeof md) != 0)
        return hs_fail(err, HS_ERR_SHAPE, "%s: dimensions (%d layers, d_model %d, %d heads, vocab %d, ctx %d) differ from the training model's",
                       m->path ? m->path : "model", md.n_layers, md.d_model, md.n_heads, md.d_vocab, md.n_ctx);
    const hs_gpt2_view *p = hs_train_param_view(tm);
    size_t C = (size_t)d->d_model, F = 4 * C;
    copy(p->wte, m->W_E, (size_t)d->d_vocab * C);
    copy(p->wpe, m->W_pos, (size_t)d->n_ctx * C);
    for (int l = 0; l < d->n_layers; l++) {
        const hs_layer_weights *w = &m->layers[l];
        const hs_gpt2_layer_view *v = &p->layer[l];
        copy(v->ln1_w, w->ln1_w, C);
        copy(v->ln1_b, w->ln1_b, C);
        copy(v->W_qkv, w->W_Q, C * C);
        copy(v->W_qkv + C * C, w->W_K, C * C);
        copy(v->W_qkv + 2 * C * C, w->W_V, C * C);
        copy(v->b_qkv, w->b_Q, C);
        copy(v->b_qkv + C, w->b_K, C);
        copy(v->b_qkv + 2 * C, w->b_V, C);
        copy(v->W_O, w->W_O, C * C);
        copy(v->b_O, w->b_O, C);
        copy(v->ln2_w, w->ln2_w, C);
        copy(v->ln2_b, w->ln2_b, C);
        copy(v->W_in, w->W_in, F * C);
        copy(v->b_in, w->b_in, F);
        copy(v->W_out, w->W_out, C * F);
        copy(v->b_out, w->b_out, C);
    }
    copy(p->lnf_w, m->ln_f_w, C);
    copy(p->lnf_b, m->ln_f_b, C);
    return HS_OK;
}
