/* arch_llama.c — Llama-family checkpoints (model_type "llama", "mistral", "qwen2"): RMSNorm,
 * rotary attention with grouped K/V heads, SwiGLU MLP, following modeling_llama.py, modeling_mistral.py
 * and modeling_qwen2.py. The nn.Linear weights are already [out, in], and Q/K rows are already in the
 * "rotate half" order of model.h, so loading is a straight copy (converted to float32).
 *
 * Biases: Llama and Mistral have none unless attention_bias (then q, k, v and o); Qwen2 always has
 * q, k, v biases and no o bias. hs_config records no bias flags, so the loader takes them from the
 * checkpoint: what layer 0 has, every layer must have. Mistral's sliding window is exact full
 * attention for sequences no longer than the window, so n_ctx is capped at the window. */
#include "hooks/arch.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define TRY(call)                        \
    do {                                 \
        hs_status rc_ = (call);          \
        if (rc_ != HS_OK)                \
            return rc_;                  \
    } while (0)

/* ---- config.json field readers (the same few lines in each arch_*.c; arch.h has no shared
 * JSON helpers). A null field counts as absent, as transformers writes null for "default". */

static const json_t *hf_get(const json_t *root, const char *key)
{
    const json_t *v = json_object_get(root, key);
    return v && !json_is_null(v) ? v : NULL;
}

static hs_status hf_int(const json_t *root, const char *src, const char *key, int required, int dflt, int min,
                        int *out, hs_error *err)
{
    const json_t *v = hf_get(root, key);
    if (!v) {
        if (required)
            return hs_fail(err, HS_ERR_MISSING, "%s: field \"%s\" is missing", src, key);
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_integer(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not an integer", src, key);
    json_int_t x = json_integer_value(v);
    if (x < min || x > INT_MAX)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"%s\" = %lld is out of range (at least %d)", src, key,
                       (long long)x, min);
    *out = (int)x;
    return HS_OK;
}

static hs_status hf_num(const json_t *root, const char *src, const char *key, double dflt, double *out,
                        hs_error *err)
{
    const json_t *v = hf_get(root, key);
    if (!v) {
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_number(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not a number", src, key);
    *out = json_number_value(v);
    return HS_OK;
}

static hs_status hf_bool(const json_t *root, const char *src, const char *key, int dflt, int *out, hs_error *err)
{
    const json_t *v = hf_get(root, key);
    if (!v) {
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_boolean(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not true or false", src, key);
    *out = json_is_true(v);
    return HS_OK;
}

static hs_status hf_str(const json_t *root, const char *src, const char *key, const char *dflt, const char **out,
                        hs_error *err)
{
    const json_t *v = hf_get(root, key);
    if (!v) {
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_string(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not a string", src, key);
    *out = json_string_value(v);
    return HS_OK;
}

/* transformers' ACT2FN names: gelu = exact erf GELU; gelu_new, gelu_fast, gelu_pytorch_tanh = the
 * tanh approximation (gelu_fast differs only in how its constant is rounded). */
static hs_status hf_act(const char *src, const char *key, const char *name, hs_act_kind *out, hs_error *err)
{
    static const struct { const char *name; hs_act_kind act; } acts[] = {
        {"gelu", HS_ACT_GELU_ERF},           {"gelu_python", HS_ACT_GELU_ERF}, {"gelu_new", HS_ACT_GELU_TANH},
        {"gelu_fast", HS_ACT_GELU_TANH},     {"gelu_pytorch_tanh", HS_ACT_GELU_TANH},
        {"silu", HS_ACT_SILU},               {"swish", HS_ACT_SILU},           {"relu", HS_ACT_RELU},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(name, acts[i].name) == 0) {
            *out = acts[i].act;
            return HS_OK;
        }
    return hs_fail(err, HS_ERR_UNSUPPORTED,
                   "%s: field \"%s\": activation \"%s\" is not supported (supported: gelu, gelu_new, gelu_fast, "
                   "gelu_pytorch_tanh, silu, relu)", src, key, name);
}

/* Rotary settings as transformers reads them: "rope_scaling" (older) or "rope_parameters" (v5)
 * may hold rope_type, rope_theta and partial_rotary_factor, and win over the legacy top-level keys
 * theta_key / partial_key (partial_key may be NULL). Only the default rope type is supported. */
static hs_status hf_rope(const json_t *root, const char *src, const char *theta_key, const char *partial_key,
                         double dflt_theta, double dflt_partial, double *theta, double *partial, hs_error *err)
{
    static const char *const obj_keys[] = {"rope_scaling", "rope_parameters"};
    int have_theta = 0, have_partial = 0;
    for (int i = 0; i < 2; i++) {
        const json_t *o = hf_get(root, obj_keys[i]);
        if (!o)
            continue;
        if (!json_is_object(o))
            return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not a JSON object", src, obj_keys[i]);
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)o, k, v) {
            if (json_is_object(v))
                return hs_fail(err, HS_ERR_UNSUPPORTED,
                               "%s: field \"%s\": per-layer-type rope parameters (\"%s\") are not supported", src,
                               obj_keys[i], k);
        }
        const char *type = "default";
        TRY(hf_str(o, src, "rope_type", "default", &type, err));
        if (strcmp(type, "default") == 0)
            TRY(hf_str(o, src, "type", "default", &type, err));
        if (strcmp(type, "default") != 0)
            return hs_fail(err, HS_ERR_UNSUPPORTED,
                           "%s: field \"%s\": rope type \"%s\" is not supported (only \"default\")", src, obj_keys[i],
                           type);
        if (!have_theta && hf_get(o, "rope_theta")) {
            TRY(hf_num(o, src, "rope_theta", dflt_theta, theta, err));
            have_theta = 1;
        }
        if (!have_partial && hf_get(o, "partial_rotary_factor")) {
            TRY(hf_num(o, src, "partial_rotary_factor", dflt_partial, partial, err));
            have_partial = 1;
        }
    }
    if (!have_theta)
        TRY(hf_num(root, src, theta_key, dflt_theta, theta, err));
    if (!have_partial) {
        if (partial_key)
            TRY(hf_num(root, src, partial_key, dflt_partial, partial, err));
        else
            *partial = dflt_partial;
    }
    if (!(*theta > 0) || *theta > 1e30)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"%s\" = %g is out of range", src, have_theta ? "rope_theta" : theta_key,
                       *theta);
    if (!(*partial > 0) || *partial > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"%s\" = %g is out of range (0, 1]", src,
                       have_partial || !partial_key ? "partial_rotary_factor" : partial_key, *partial);
    return HS_OK;
}

/* ---- config */

static hs_status llama_config(const json_t *root, const char *src, hs_config *cfg, hs_error *err)
{
    const char *model_type = "llama";
    TRY(hf_str(root, src, "model_type", "llama", &model_type, err));
    int is_qwen2 = strcmp(model_type, "qwen2") == 0, is_mistral = strcmp(model_type, "mistral") == 0;

    TRY(hf_int(root, src, "hidden_size", 1, 0, 1, &cfg->d_model, err));
    TRY(hf_int(root, src, "num_hidden_layers", 1, 0, 1, &cfg->n_layers, err));
    TRY(hf_int(root, src, "num_attention_heads", 1, 0, 1, &cfg->n_heads, err));
    TRY(hf_int(root, src, "num_key_value_heads", 0, cfg->n_heads, 1, &cfg->n_kv_heads, err));
    if (!hf_get(root, "head_dim") && cfg->d_model % cfg->n_heads != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"num_attention_heads\" = %d does not divide hidden_size = %d "
                       "(and there is no head_dim)", src, cfg->n_heads, cfg->d_model);
    TRY(hf_int(root, src, "head_dim", 0, cfg->d_model / cfg->n_heads, 1, &cfg->d_head, err));
    TRY(hf_int(root, src, "intermediate_size", 1, 0, 1, &cfg->d_mlp, err));
    TRY(hf_int(root, src, "vocab_size", 1, 0, 1, &cfg->d_vocab, err));
    TRY(hf_int(root, src, "max_position_embeddings", 1, 0, 1, &cfg->n_ctx, err));

    double eps = 0, theta = 0, partial = 0;
    TRY(hf_num(root, src, "rms_norm_eps", 1e-6, &eps, err));
    if (!(eps > 0) || eps > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"rms_norm_eps\" = %g is out of range (0, 1]", src, eps);
    cfg->norm_eps = (float)eps;
    TRY(hf_rope(root, src, "rope_theta", NULL, 10000.0, 1.0, &theta, &partial, err));
    if (partial != 1.0)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: field \"partial_rotary_factor\" = %g: partial rotary embeddings "
                       "are not supported for model_type %s", src, partial, model_type);
    cfg->rope_theta = (float)theta;
    cfg->rotary_dim = cfg->d_head;

    const char *act = "";
    TRY(hf_str(root, src, "hidden_act", "silu", &act, err));
    TRY(hf_act(src, "hidden_act", act, &cfg->act, err));
    int flag = 0;
    TRY(hf_bool(root, src, "attention_bias", 0, &flag, err)); /* checked; biases come from the checkpoint */
    TRY(hf_bool(root, src, "mlp_bias", 0, &flag, err));
    if (flag)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: field \"mlp_bias\": MLP biases are not supported", src);
    TRY(hf_bool(root, src, "tie_word_embeddings", 0, &cfg->tied_embeddings, err));

    /* A sliding window of W keys is full attention for positions < W: cap the context there.
     * Mistral slides in every layer when sliding_window is set; Qwen2 only in the layers that
     * layer_types marks, or (older configs) from max_window_layers on when use_sliding_window. */
    int window = 0, slides = is_mistral;
    if (is_qwen2) {
        const json_t *types = hf_get(root, "layer_types");
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
            TRY(hf_bool(root, src, "use_sliding_window", 0, &use, err));
            TRY(hf_int(root, src, "max_window_layers", 0, 28, 0, &from, err));
            slides = use && from < cfg->n_layers;
        }
    }
    if (slides)
        TRY(hf_int(root, src, "sliding_window", 0, 0, 1, &window, err));
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

typedef struct llama_loader {
    hs_model *m;
    const hs_st_archive *st;
    hs_error *err;
    hs_status rc;            /* the first failure; every later read is skipped */
    char name[256];
} llama_loader;

static void ld_name(llama_loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ld_name(llama_loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->name, sizeof ld->name, fmt, ap);
    va_end(ap);
}

/* Reads tensor ld->name of shape [d0] (d1 == 0) or [d0, d1] into a new model array; NULL after
 * recording the failure. */
static float *ld_read(llama_loader *ld, int64_t d0, int64_t d1)
{
    if (ld->rc != HS_OK)
        return NULL;
    int64_t shape[2] = {d0, d1};
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    float *dst = hs_model_alloc(ld->m, n);
    if (!dst) {
        ld->rc = hs_fail(ld->err, HS_ERR_NOMEM, "%s: out of memory", ld->name);
        return NULL;
    }
    ld->rc = hs_st_read_f32(ld->st, ld->name, d1 ? 2 : 1, shape, dst, ld->err);
    if (ld->rc != HS_OK)
        return NULL;
    ld->m->n_params += (int64_t)n;
    return dst;
}

/* Reads an optional bias ([d0]) that is present exactly when `want`. */
static float *ld_bias(llama_loader *ld, int want, int64_t d0)
{
    return want ? ld_read(ld, d0, 0) : NULL;
}

static hs_status llama_load(hs_model *m, const hs_st_archive *st, hs_error *err)
{
    const hs_config *c = &m->cfg;
    const int64_t D = c->d_model, F = c->d_mlp, V = c->d_vocab;
    const int64_t Q = (int64_t)c->n_heads * c->d_head, KV = (int64_t)c->n_kv_heads * c->d_head;
    llama_loader ld = {.m = m, .st = st, .err = err, .rc = HS_OK};
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "llama");
    m->n_params = 0;
    const int qkv_bias = hs_st_find(st, "model.layers.0.self_attn.q_proj.bias") != NULL;
    const int o_bias = hs_st_find(st, "model.layers.0.self_attn.o_proj.bias") != NULL;

    ld_name(&ld, "model.embed_tokens.weight");
    const hs_st_tensor *emb = hs_st_find(st, ld.name);
    if (emb)
        m->cfg.stored_dtype = emb->dtype;
    m->W_E = ld_read(&ld, V, D);
    m->W_pos = NULL;

    for (int l = 0; l < c->n_layers && ld.rc == HS_OK; l++) {
        hs_layer_weights *w = &m->layers[l];
        ld_name(&ld, "model.layers.%d.input_layernorm.weight", l);
        w->ln1_w = ld_read(&ld, D, 0);
        ld_name(&ld, "model.layers.%d.self_attn.q_proj.weight", l);
        w->W_Q = ld_read(&ld, Q, D);
        ld_name(&ld, "model.layers.%d.self_attn.q_proj.bias", l);
        w->b_Q = ld_bias(&ld, qkv_bias, Q);
        ld_name(&ld, "model.layers.%d.self_attn.k_proj.weight", l);
        w->W_K = ld_read(&ld, KV, D);
        ld_name(&ld, "model.layers.%d.self_attn.k_proj.bias", l);
        w->b_K = ld_bias(&ld, qkv_bias, KV);
        ld_name(&ld, "model.layers.%d.self_attn.v_proj.weight", l);
        w->W_V = ld_read(&ld, KV, D);
        ld_name(&ld, "model.layers.%d.self_attn.v_proj.bias", l);
        w->b_V = ld_bias(&ld, qkv_bias, KV);
        ld_name(&ld, "model.layers.%d.self_attn.o_proj.weight", l);
        w->W_O = ld_read(&ld, D, Q);
        ld_name(&ld, "model.layers.%d.self_attn.o_proj.bias", l);
        w->b_O = ld_bias(&ld, o_bias, D);

        ld_name(&ld, "model.layers.%d.post_attention_layernorm.weight", l);
        w->ln2_w = ld_read(&ld, D, 0);
        ld_name(&ld, "model.layers.%d.mlp.gate_proj.weight", l);
        w->W_gate = ld_read(&ld, F, D);
        ld_name(&ld, "model.layers.%d.mlp.up_proj.weight", l);
        w->W_in = ld_read(&ld, F, D);
        ld_name(&ld, "model.layers.%d.mlp.down_proj.weight", l);
        w->W_out = ld_read(&ld, D, F);
    }

    ld_name(&ld, "model.norm.weight");
    m->ln_f_w = ld_read(&ld, D, 0);
    m->ln_f_b = NULL;
    if (c->tied_embeddings) {
        m->W_U = m->W_E;
    } else {
        ld_name(&ld, "lm_head.weight");
        m->W_U = ld_read(&ld, V, D);
    }
    m->b_U = NULL;
    return ld.rc;
}

static const char *const llama_model_types[] = {"llama", "mistral", "qwen2", NULL};

const hs_arch hs_arch_llama = {
    .name = "llama",
    .hf_model_types = llama_model_types,
    .config_from_json = llama_config,
    .load_weights = llama_load,
};
