/* arch_gpt2.c — GPT-2 checkpoints (model_type "gpt2"): config.json fields and the Conv1D
 * weights of modeling_gpt2.py, transposed into the canonical [out, in] layout of model.h.
 *
 * GPT-2 stores every projection as a Conv1D whose weight is [in, out] (y = x·W + b), and fuses
 * Q, K and V into one c_attn of [d_model, 3·d_model] whose output columns are Q | K | V. Tensor
 * names carry a "transformer." prefix when saved from GPT2LMHeadModel and none when saved from
 * GPT2Model; both are accepted. The unembedding is tied to wte unless tie_word_embeddings is false. */
#include "model/arch.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/hf_json.h"
#include "model/weight_reader.h"

/* ---- config */

static hs_status gpt2_config(const json_t *root, const char *src, hs_config *cfg, hs_error *err)
{
    HS_TRY(hs_hf_int(root, src, "n_embd", 1, 0, 1, &cfg->d_model, err));
    HS_TRY(hs_hf_int(root, src, "n_layer", 1, 0, 1, &cfg->n_layers, err));
    HS_TRY(hs_hf_int(root, src, "n_head", 1, 0, 1, &cfg->n_heads, err));
    HS_TRY(hs_hf_int(root, src, "vocab_size", 1, 0, 1, &cfg->d_vocab, err));
    /* n_positions is the current name; very old configs call it n_ctx */
    const char *ctx_key = hs_hf_get(root, "n_positions") || !hs_hf_get(root, "n_ctx") ? "n_positions" : "n_ctx";
    HS_TRY(hs_hf_int(root, src, ctx_key, 1, 0, 1, &cfg->n_ctx, err));
    if (cfg->d_model % cfg->n_heads != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"n_head\" = %d does not divide n_embd = %d", src,
                       cfg->n_heads, cfg->d_model);
    if (cfg->d_model > INT_MAX / 4)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"n_embd\" = %d is out of range", src, cfg->d_model);
    HS_TRY(hs_hf_int(root, src, "n_inner", 0, 4 * cfg->d_model, 1, &cfg->d_mlp, err));

    double eps = 0;
    HS_TRY(hs_hf_num(root, src, "layer_norm_epsilon", 1e-5, &eps, err));
    if (!(eps > 0) || eps > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"layer_norm_epsilon\" = %g is out of range (0, 1]", src, eps);
    cfg->norm_eps = (float)eps;
    const char *act = "";
    HS_TRY(hs_hf_str(root, src, "activation_function", "gelu_new", &act, err));
    HS_TRY(hs_hf_act(src, "activation_function", act, &cfg->act, err));

    /* attention variants the shared forward pass does not implement */
    int scale_weights = 1, scale_by_layer = 0;
    HS_TRY(hs_hf_bool(root, src, "scale_attn_weights", 1, &scale_weights, err));
    HS_TRY(hs_hf_bool(root, src, "scale_attn_by_inverse_layer_idx", 0, &scale_by_layer, err));
    if (!scale_weights)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: field \"scale_attn_weights\": unscaled attention is not supported",
                       src);
    if (scale_by_layer)
        return hs_fail(err, HS_ERR_UNSUPPORTED,
                       "%s: field \"scale_attn_by_inverse_layer_idx\": per-layer attention scaling is not supported",
                       src);
    HS_TRY(hs_hf_bool(root, src, "tie_word_embeddings", 1, &cfg->tied_embeddings, err));

    cfg->n_kv_heads = cfg->n_heads;
    cfg->d_head = cfg->d_model / cfg->n_heads;
    cfg->norm = HS_NORM_LAYERNORM;
    cfg->gated_mlp = 0;
    cfg->learned_pos = 1;
    cfg->rotary_dim = 0;
    cfg->rope_theta = 0;
    cfg->parallel_residual = 0;
    cfg->add_bos = 0; /* the HF tokenizer does not prepend <|endoftext|> */
    return HS_OK;
}

/* ---- weights */

/* Copies columns [col, col + n_out) of a Conv1D weight as stored (conv, [n_in, n_cols]) into a
 * new model array of [n_out, n_in]: the torch.nn.Linear orientation. */
static float *conv1d_slice(hs_weight_reader *wr, const float *conv, int64_t n_in, int64_t n_cols, int64_t col,
                           int64_t n_out)
{
    float *w = hs_wr_alloc(wr, (size_t)(n_out * n_in));
    if (!w)
        return NULL;
    for (int64_t i = 0; i < n_in; i++)
        for (int64_t o = 0; o < n_out; o++)
            w[o * n_in + i] = conv[i * n_cols + col + o];
    return w;
}

/* A new model array holding bias[at, at + n). */
static float *bias_slice(hs_weight_reader *wr, const float *bias, int64_t at, int64_t n)
{
    float *b = hs_wr_alloc(wr, (size_t)n);
    if (!b)
        return NULL;
    memcpy(b, bias + at, (size_t)n * sizeof *b);
    return b;
}

static hs_status gpt2_load(hs_model *m, const hs_st_archive *st, hs_error *err)
{
    const hs_config *c = &m->cfg;
    const int64_t D = c->d_model, F = c->d_mlp, V = c->d_vocab, T = c->n_ctx;
    hs_weight_reader wr = {.m = m, .st = st, .err = err, .rc = HS_OK};
    wr.prefix = hs_st_find(st, "transformer.wte.weight") ? "transformer." : "";
    /* one Conv1D weight or fused bias as stored, at most [D, max(F, 3D)] */
    float *scratch = malloc((size_t)D * (size_t)(F > 3 * D ? F : 3 * D) * sizeof(float));
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!scratch || !m->layers) {
        free(scratch);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "gpt2");
    }
    m->n_params = 0;

    hs_wr_name(&wr, "wte.weight");
    m->W_E = hs_wr_read_embedding(&wr, V, D);
    hs_wr_name(&wr, "wpe.weight");
    m->W_pos = hs_wr_read(&wr, NULL, T, D);

    for (int l = 0; l < c->n_layers && wr.rc == HS_OK; l++) {
        hs_layer_weights *w = &m->layers[l];
        hs_wr_name(&wr, "h.%d.ln_1.weight", l);
        w->ln1_w = hs_wr_read(&wr, NULL, D, 0);
        hs_wr_name(&wr, "h.%d.ln_1.bias", l);
        w->ln1_b = hs_wr_read(&wr, NULL, D, 0);

        hs_wr_name(&wr, "h.%d.attn.c_attn.weight", l); /* [D, 3D]: columns Q | K | V */
        hs_wr_read(&wr, scratch, D, 3 * D);
        w->W_Q = conv1d_slice(&wr, scratch, D, 3 * D, 0, D);
        w->W_K = conv1d_slice(&wr, scratch, D, 3 * D, D, D);
        w->W_V = conv1d_slice(&wr, scratch, D, 3 * D, 2 * D, D);
        hs_wr_name(&wr, "h.%d.attn.c_attn.bias", l);
        hs_wr_read(&wr, scratch, 3 * D, 0);
        w->b_Q = bias_slice(&wr, scratch, 0, D);
        w->b_K = bias_slice(&wr, scratch, D, D);
        w->b_V = bias_slice(&wr, scratch, 2 * D, D);

        hs_wr_name(&wr, "h.%d.attn.c_proj.weight", l); /* [D, D] */
        hs_wr_read(&wr, scratch, D, D);
        w->W_O = conv1d_slice(&wr, scratch, D, D, 0, D);
        hs_wr_name(&wr, "h.%d.attn.c_proj.bias", l);
        w->b_O = hs_wr_read(&wr, NULL, D, 0);

        hs_wr_name(&wr, "h.%d.ln_2.weight", l);
        w->ln2_w = hs_wr_read(&wr, NULL, D, 0);
        hs_wr_name(&wr, "h.%d.ln_2.bias", l);
        w->ln2_b = hs_wr_read(&wr, NULL, D, 0);

        hs_wr_name(&wr, "h.%d.mlp.c_fc.weight", l); /* [D, F] */
        hs_wr_read(&wr, scratch, D, F);
        w->W_in = conv1d_slice(&wr, scratch, D, F, 0, F);
        hs_wr_name(&wr, "h.%d.mlp.c_fc.bias", l);
        w->b_in = hs_wr_read(&wr, NULL, F, 0);
        hs_wr_name(&wr, "h.%d.mlp.c_proj.weight", l); /* [F, D] */
        hs_wr_read(&wr, scratch, F, D);
        w->W_out = conv1d_slice(&wr, scratch, F, D, 0, D);
        hs_wr_name(&wr, "h.%d.mlp.c_proj.bias", l);
        w->b_out = hs_wr_read(&wr, NULL, D, 0);
    }

    hs_wr_name(&wr, "ln_f.weight");
    m->ln_f_w = hs_wr_read(&wr, NULL, D, 0);
    hs_wr_name(&wr, "ln_f.bias");
    m->ln_f_b = hs_wr_read(&wr, NULL, D, 0);
    if (c->tied_embeddings) {
        m->W_U = m->W_E;
    } else { /* GPT2LMHeadModel names its head without the "transformer." prefix */
        wr.prefix = "";
        hs_wr_name(&wr, "lm_head.weight");
        m->W_U = hs_wr_read(&wr, NULL, V, D);
    }
    m->b_U = NULL;
    free(scratch);
    return wr.rc;
}

static const char *const gpt2_model_types[] = {"gpt2", NULL};

const hs_arch hs_arch_gpt2 = {
    .name = "gpt2",
    .hf_model_types = gpt2_model_types,
    .config_from_json = gpt2_config,
    .load_weights = gpt2_load,
};
