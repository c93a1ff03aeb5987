/* arch_llama.c — Llama-family checkpoints (model_type "llama", "mistral", "qwen2"): RMSNorm,
 * rotary attention with grouped K/V heads, SwiGLU MLP, following modeling_llama.py, modeling_mistral.py
 * and modeling_qwen2.py. The nn.Linear weights are already [out, in], and Q/K rows are already in the
 * "rotate half" order of model.h, so loading is a straight copy (converted to float32).
 *
 * Biases: Llama and Mistral have none unless attention_bias (then q, k, v and o); Qwen2 always has
 * q, k, v biases and no o bias. hs_config records no bias flags, so the loader takes them from the
 * checkpoint: what layer 0 has, every layer must have. Mistral's sliding window is exact full
 * attention for sequences no longer than the window, so n_ctx is capped at the window. */
#include "model/arch.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/hf_json.h"
#include "model/weight_reader.h"

/* ---- config */

static hs_status llama_config(const json_t *root, const char *src, hs_config *cfg, hs_error *err)
{
    const char *model_type = "llama";
    HS_TRY(hs_hf_str(root, src, "model_type", "llama", &model_type, err));
    int is_qwen2 = strcmp(model_type, "qwen2") == 0, is_mistral = strcmp(model_type, "mistral") == 0;

    HS_TRY(hs_hf_int(root, src, "hidden_size", 1, 0, 1, &cfg->d_model, err));
    HS_TRY(hs_hf_int(root, src, "num_hidden_layers", 1, 0, 1, &cfg->n_layers, err));
    HS_TRY(hs_hf_int(root, src, "num_attention_heads", 1, 0, 1, &cfg->n_heads, err));
    HS_TRY(hs_hf_int(root, src, "num_key_value_heads", 0, cfg->n_heads, 1, &cfg->n_kv_heads, err));
    if (!hs_hf_get(root, "head_dim") && cfg->d_model % cfg->n_heads != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"num_attention_heads\" = %d does not divide hidden_size = %d "
                       "(and there is no head_dim)", src, cfg->n_heads, cfg->d_model);
    HS_TRY(hs_hf_int(root, src, "head_dim", 0, cfg->d_model / cfg->n_heads, 1, &cfg->d_head, err));
    HS_TRY(hs_hf_int(root, src, "intermediate_size", 1, 0, 1, &cfg->d_mlp, err));
    HS_TRY(hs_hf_int(root, src, "vocab_size", 1, 0, 1, &cfg->d_vocab, err));
    HS_TRY(hs_hf_int(root, src, "max_position_embeddings", 1, 0, 1, &cfg->n_ctx, err));

    double eps = 0, theta = 0, partial = 0;
    HS_TRY(hs_hf_num(root, src, "rms_norm_eps", 1e-6, &eps, err));
    if (!(eps > 0) || eps > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"rms_norm_eps\" = %g is out of range (0, 1]", src, eps);
    cfg->norm_eps = (float)eps;
    HS_TRY(hs_hf_rope(root, src, "rope_theta", NULL, 10000.0, 1.0, &theta, &partial, err));
    if (partial != 1.0)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: field \"partial_rotary_factor\" = %g: partial rotary embeddings "
                       "are not supported for model_type %s", src, partial, model_type);
    cfg->rope_theta = (float)theta;
    cfg->rotary_dim = cfg->d_head;

    const char *act = "";
    HS_TRY(hs_hf_str(root, src, "hidden_act", "silu", &act, err));
    HS_TRY(hs_hf_act(src, "hidden_act", act, &cfg->act, err));
    int flag = 0;
    HS_TRY(hs_hf_bool(root, src, "attention_bias", 0, &flag, err)); /* checked; biases come from the checkpoint */
    HS_TRY(hs_hf_bool(root, src, "mlp_bias", 0, &flag, err));
    if (flag)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: field \"mlp_bias\": MLP biases are not supported", src);
    HS_TRY(hs_hf_bool(root, src, "tie_word_embeddings", 0, &cfg->tied_embeddings, err));

    /* A sliding window of W keys is full attention for positions < W: cap the context there.
     * Mistral slides in every layer when sliding_window is set; Qwen2 only in the layers that
     * layer_types marks, or (older configs) from max_window_layers on when use_sliding_window. */
    int window = 0, slides = is_mistral;
    if (is_qwen2) {
        const json_t *types = hs_hf_get(root, "layer_types");
        if (types) {
            if (!json_is_array(types))
                return hs_fail(err, HS_ERR_FORMAT, "%s: field \"layer_types\" is not an array", src);
            for (size_t i = 0; i < json_array_size(types); i++) {
                const json_t *t = json_array_get(types, i);
                if (!json_is_string(t))
                    return hs_fail(err, HS_ERR_FORMAT, "%s: field \"layer_types\" entry %zu is not a string", src, i);
                if (strcmp(json_string_value(t), "full_attention") != 0)
                    slides = 1;
            }
        } else {
            int use = 0, from = 0;
            HS_TRY(hs_hf_bool(root, src, "use_sliding_window", 0, &use, err));
            HS_TRY(hs_hf_int(root, src, "max_window_layers", 0, 28, 0, &from, err));
            slides = use && from < cfg->n_layers;
        }
    }
    if (slides)
        HS_TRY(hs_hf_int(root, src, "sliding_window", 0, 0, 1, &window, err));
    if (window > 0 && window < cfg->n_ctx)
        cfg->n_ctx = window;

    cfg->norm = HS_NORM_RMSNORM;
    cfg->gated_mlp = 1;
    cfg->learned_pos = 0;
    cfg->parallel_residual = 0;
    cfg->add_bos = !is_qwen2; /* Llama/Mistral tokenizers prepend <s>; Qwen2's add nothing */
    return HS_OK;
}

/* ---- weights */

/* Reads an optional bias ([d0]) named wr->name that is present exactly when `want`. */
static float *read_bias(hs_weight_reader *wr, int want, int64_t d0)
{
    return want ? hs_wr_read(wr, NULL, d0, 0) : NULL;
}

static hs_status llama_load(hs_model *m, const hs_st_archive *st, hs_error *err)
{
    const hs_config *c = &m->cfg;
    const int64_t D = c->d_model, F = c->d_mlp, V = c->d_vocab;
    const int64_t Q = (int64_t)c->n_heads * c->d_head, KV = (int64_t)c->n_kv_heads * c->d_head;
    hs_weight_reader wr = {.m = m, .st = st, .err = err, .rc = HS_OK, .prefix = ""};
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "llama");
    m->n_params = 0;
    const int qkv_bias = hs_st_find(st, "model.layers.0.self_attn.q_proj.bias") != NULL;
    const int o_bias = hs_st_find(st, "model.layers.0.self_attn.o_proj.bias") != NULL;

    hs_wr_name(&wr, "model.embed_tokens.weight");
    m->W_E = hs_wr_read_embedding(&wr, V, D);
    m->W_pos = NULL;

    for (int l = 0; l < c->n_layers && wr.rc == HS_OK; l++) {
        hs_layer_weights *w = &m->layers[l];
        hs_wr_name(&wr, "model.layers.%d.input_layernorm.weight", l);
        w->ln1_w = hs_wr_read(&wr, NULL, D, 0);
        hs_wr_name(&wr, "model.layers.%d.self_attn.q_proj.weight", l);
        w->W_Q = hs_wr_read(&wr, NULL, Q, D);
        hs_wr_name(&wr, "model.layers.%d.self_attn.q_proj.bias", l);
        w->b_Q = read_bias(&wr, qkv_bias, Q);
        hs_wr_name(&wr, "model.layers.%d.self_attn.k_proj.weight", l);
        w->W_K = hs_wr_read(&wr, NULL, KV, D);
        hs_wr_name(&wr, "model.layers.%d.self_attn.k_proj.bias", l);
        w->b_K = read_bias(&wr, qkv_bias, KV);
        hs_wr_name(&wr, "model.layers.%d.self_attn.v_proj.weight", l);
        w->W_V = hs_wr_read(&wr, NULL, KV, D);
        hs_wr_name(&wr, "model.layers.%d.self_attn.v_proj.bias", l);
        w->b_V = read_bias(&wr, qkv_bias, KV);
        hs_wr_name(&wr, "model.layers.%d.self_attn.o_proj.weight", l);
        w->W_O = hs_wr_read(&wr, NULL, D, Q);
        hs_wr_name(&wr, "model.layers.%d.self_attn.o_proj.bias", l);
        w->b_O = read_bias(&wr, o_bias, D);

        hs_wr_name(&wr, "model.layers.%d.post_attention_layernorm.weight", l);
        w->ln2_w = hs_wr_read(&wr, NULL, D, 0);
        hs_wr_name(&wr, "model.layers.%d.mlp.gate_proj.weight", l);
        w->W_gate = hs_wr_read(&wr, NULL, F, D);
        hs_wr_name(&wr, "model.layers.%d.mlp.up_proj.weight", l);
        w->W_in = hs_wr_read(&wr, NULL, F, D);
        hs_wr_name(&wr, "model.layers.%d.mlp.down_proj.weight", l);
        w->W_out = hs_wr_read(&wr, NULL, D, F);
    }

    hs_wr_name(&wr, "model.norm.weight");
    m->ln_f_w = hs_wr_read(&wr, NULL, D, 0);
    m->ln_f_b = NULL;
    if (c->tied_embeddings) {
        m->W_U = m->W_E;
    } else {
        hs_wr_name(&wr, "lm_head.weight");
        m->W_U = hs_wr_read(&wr, NULL, V, D);
    }
    m->b_U = NULL;
    return wr.rc;
}

static const char *const llama_model_types[] = {"llama", "mistral", "qwen2", NULL};

const hs_arch hs_arch_llama = {
    .name = "llama",
    .hf_model_types = llama_model_types,
    .config_from_json = llama_config,
    .load_weights = llama_load,
};
