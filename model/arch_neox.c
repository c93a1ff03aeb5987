/* arch_neox.c — GPT-NeoX checkpoints (model_type "gpt_neox", e.g. Pythia): LayerNorm, partial
 * rotary attention, parallel residual, following modeling_gpt_neox.py.
 *
 * The fused query_key_value Linear is [3·d_model, d_model] whose output rows are grouped per head:
 * row h·3·d_head + j·d_head + i is component j (0 = Q, 1 = K, 2 = V) of head h, dim i (the module
 * views its output as [.., n_heads, 3·d_head] and chunks the last dim in three). The loader
 * de-interleaves it into W_Q, W_K, W_V. The unembedding is "embed_out.weight" as checkpoints store
 * it ("lm_head.weight" is transformers 5's in-memory name, accepted too). As with Llama, hs_config
 * has no bias flags, so attention biases come from the checkpoint (layer 0 decides). */
#include "model/arch.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/hf_json.h"
#include "model/weight_reader.h"

/* ---- config */

static hs_status neox_config(const json_t *root, const char *src, hs_config *cfg, hs_error *err)
{
    HS_TRY(hs_hf_int(root, src, "hidden_size", 1, 0, 1, &cfg->d_model, err));
    HS_TRY(hs_hf_int(root, src, "num_hidden_layers", 1, 0, 1, &cfg->n_layers, err));
    HS_TRY(hs_hf_int(root, src, "num_attention_heads", 1, 0, 1, &cfg->n_heads, err));
    HS_TRY(hs_hf_int(root, src, "intermediate_size", 1, 0, 1, &cfg->d_mlp, err));
    HS_TRY(hs_hf_int(root, src, "vocab_size", 1, 0, 1, &cfg->d_vocab, err));
    HS_TRY(hs_hf_int(root, src, "max_position_embeddings", 1, 0, 1, &cfg->n_ctx, err));
    if (cfg->d_model % cfg->n_heads != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"num_attention_heads\" = %d does not divide hidden_size = %d",
                       src, cfg->n_heads, cfg->d_model);
    cfg->n_kv_heads = cfg->n_heads;
    cfg->d_head = cfg->d_model / cfg->n_heads;

    double eps = 0, theta = 0, pct = 0;
    HS_TRY(hs_hf_num(root, src, "layer_norm_eps", 1e-5, &eps, err));
    if (!(eps > 0) || eps > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"layer_norm_eps\" = %g is out of range (0, 1]", src, eps);
    cfg->norm_eps = (float)eps;
    /* transformers 5 writes rope_parameters {rope_theta, partial_rotary_factor}; older configs
     * rotary_emb_base and rotary_pct at the top level */
    const char *theta_key = hs_hf_get(root, "rotary_emb_base") || !hs_hf_get(root, "rope_theta") ? "rotary_emb_base"
                                                                                            : "rope_theta";
    HS_TRY(hs_hf_rope(root, src, theta_key, "rotary_pct", 10000.0, 0.25, &theta, &pct, err));
    cfg->rope_theta = (float)theta;
    cfg->rotary_dim = (int)((double)cfg->d_head * pct); /* as int(head_size * partial_rotary_factor) */

    const char *act = "";
    HS_TRY(hs_hf_str(root, src, "hidden_act", "gelu", &act, err));
    HS_TRY(hs_hf_act(src, "hidden_act", act, &cfg->act, err));
    int flag = 0;
    HS_TRY(hs_hf_bool(root, src, "attention_bias", 1, &flag, err)); /* checked; biases come from the checkpoint */
    HS_TRY(hs_hf_bool(root, src, "use_parallel_residual", 1, &cfg->parallel_residual, err));
    HS_TRY(hs_hf_bool(root, src, "tie_word_embeddings", 0, &cfg->tied_embeddings, err));

    cfg->norm = HS_NORM_LAYERNORM;
    cfg->gated_mlp = 0;
    cfg->learned_pos = 0;
    cfg->add_bos = 0; /* the GPT-NeoX tokenizer adds no BOS */
    return HS_OK;
}

/* ---- weights */

/* Component j (0 Q, 1 K, 2 V) of the per-head-interleaved rows of a fused query_key_value
 * tensor as stored (qkv, [n_heads·3·d_head, cols]) as a new [n_heads·d_head, cols] array;
 * cols = 1 for the bias. */
static float *qkv_part(hs_weight_reader *wr, const float *qkv, int j, int64_t n_heads, int64_t d_head, int64_t cols)
{
    float *w = hs_wr_alloc(wr, (size_t)(n_heads * d_head * cols));
    if (!w)
        return NULL;
    for (int64_t h = 0; h < n_heads; h++)
        memcpy(w + h * d_head * cols, qkv + (h * 3 + j) * d_head * cols, (size_t)(d_head * cols) * sizeof *w);
    return w;
}

static hs_status neox_load(hs_model *m, const hs_st_archive *st, hs_error *err)
{
    const hs_config *c = &m->cfg;
    const int64_t D = c->d_model, F = c->d_mlp, V = c->d_vocab, H = c->n_heads, DH = c->d_head;
    hs_weight_reader wr = {.m = m, .st = st, .err = err, .rc = HS_OK, .prefix = ""};
    /* the fused query_key_value weight or bias as stored, at most [3·d_model, d_model] */
    float *scratch = malloc((size_t)(3 * D) * (size_t)D * sizeof(float));
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!scratch || !m->layers) {
        free(scratch);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "gpt_neox");
    }
    m->n_params = 0;
    const int qkv_bias = hs_st_find(st, "gpt_neox.layers.0.attention.query_key_value.bias") != NULL;
    const int o_bias = hs_st_find(st, "gpt_neox.layers.0.attention.dense.bias") != NULL;

    hs_wr_name(&wr, "gpt_neox.embed_in.weight");
    m->W_E = hs_wr_read_embedding(&wr, V, D);
    m->W_pos = NULL;

    for (int l = 0; l < c->n_layers && wr.rc == HS_OK; l++) {
        hs_layer_weights *w = &m->layers[l];
        hs_wr_name(&wr, "gpt_neox.layers.%d.input_layernorm.weight", l);
        w->ln1_w = hs_wr_read(&wr, NULL, D, 0);
        hs_wr_name(&wr, "gpt_neox.layers.%d.input_layernorm.bias", l);
        w->ln1_b = hs_wr_read(&wr, NULL, D, 0);

        hs_wr_name(&wr, "gpt_neox.layers.%d.attention.query_key_value.weight", l);
        hs_wr_read(&wr, scratch, 3 * D, D);
        w->W_Q = qkv_part(&wr, scratch, 0, H, DH, D);
        w->W_K = qkv_part(&wr, scratch, 1, H, DH, D);
        w->W_V = qkv_part(&wr, scratch, 2, H, DH, D);
        if (qkv_bias) {
            hs_wr_name(&wr, "gpt_neox.layers.%d.attention.query_key_value.bias", l);
            hs_wr_read(&wr, scratch, 3 * D, 0);
            w->b_Q = qkv_part(&wr, scratch, 0, H, DH, 1);
            w->b_K = qkv_part(&wr, scratch, 1, H, DH, 1);
            w->b_V = qkv_part(&wr, scratch, 2, H, DH, 1);
        }
        hs_wr_name(&wr, "gpt_neox.layers.%d.attention.dense.weight", l);
        w->W_O = hs_wr_read(&wr, NULL, D, D);
        if (o_bias) {
            hs_wr_name(&wr, "gpt_neox.layers.%d.attention.dense.bias", l);
            w->b_O = hs_wr_read(&wr, NULL, D, 0);
        }

        hs_wr_name(&wr, "gpt_neox.layers.%d.post_attention_layernorm.weight", l);
        w->ln2_w = hs_wr_read(&wr, NULL, D, 0);
        hs_wr_name(&wr, "gpt_neox.layers.%d.post_attention_layernorm.bias", l);
        w->ln2_b = hs_wr_read(&wr, NULL, D, 0);
        hs_wr_name(&wr, "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight", l);
        w->W_in = hs_wr_read(&wr, NULL, F, D);
        hs_wr_name(&wr, "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias", l);
        w->b_in = hs_wr_read(&wr, NULL, F, 0);
        hs_wr_name(&wr, "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight", l);
        w->W_out = hs_wr_read(&wr, NULL, D, F);
        hs_wr_name(&wr, "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias", l);
        w->b_out = hs_wr_read(&wr, NULL, D, 0);
    }

    hs_wr_name(&wr, "gpt_neox.final_layer_norm.weight");
    m->ln_f_w = hs_wr_read(&wr, NULL, D, 0);
    hs_wr_name(&wr, "gpt_neox.final_layer_norm.bias");
    m->ln_f_b = hs_wr_read(&wr, NULL, D, 0);
    if (c->tied_embeddings) {
        m->W_U = m->W_E;
    } else {
        const int embed_out = hs_st_find(st, "embed_out.weight") || !hs_st_find(st, "lm_head.weight");
        hs_wr_name(&wr, "%s", embed_out ? "embed_out.weight" : "lm_head.weight");
        m->W_U = hs_wr_read(&wr, NULL, V, D);
    }
    m->b_U = NULL;
    free(scratch);
    return wr.rc;
}

static const char *const neox_model_types[] = {"gpt_neox", NULL};

const hs_arch hs_arch_neox = {
    .name = "neox",
    .hf_model_types = neox_model_types,
    .config_from_json = neox_config,
    .load_weights = neox_load,
};
