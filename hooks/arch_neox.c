/* arch_neox.c — GPT-NeoX checkpoints (model_type "gpt_neox", e.g. Pythia): LayerNorm, partial
 * rotary attention, parallel residual, following modeling_gpt_neox.py.
 *
 * The fused query_key_value Linear is [3·d_model, d_model] whose output rows are grouped per head:
 * row h·3·d_head + j·d_head + i is component j (0 = Q, 1 = K, 2 = V) of head h, dim i (the module
 * views its output as [.., n_heads, 3·d_head] and chunks the last dim in three). The loader
 * de-interleaves it into W_Q, W_K, W_V. The unembedding is "embed_out.weight" as checkpoints store
 * it ("lm_head.weight" is transformers 5's in-memory name, accepted too). As with Llama, hs_config
 * has no bias flags, so attention biases come from the checkpoint (layer 0 decides). */
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

static hs_status neox_config(const json_t *root, const char *src, hs_config *cfg, hs_error *err)
{
    TRY(hf_int(root, src, "hidden_size", 1, 0, 1, &cfg->d_model, err));
    TRY(hf_int(root, src, "num_hidden_layers", 1, 0, 1, &cfg->n_layers, err));
    TRY(hf_int(root, src, "num_attention_heads", 1, 0, 1, &cfg->n_heads, err));
    TRY(hf_int(root, src, "intermediate_size", 1, 0, 1, &cfg->d_mlp, err));
    TRY(hf_int(root, src, "vocab_size", 1, 0, 1, &cfg->d_vocab, err));
    TRY(hf_int(root, src, "max_position_embeddings", 1, 0, 1, &cfg->n_ctx, err));
    if (cfg->d_model % cfg->n_heads != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"num_attention_heads\" = %d does not divide hidden_size = %d",
                       src, cfg->n_heads, cfg->d_model);
    cfg->n_kv_heads = cfg->n_heads;
    cfg->d_head = cfg->d_model / cfg->n_heads;

    double eps = 0, theta = 0, pct = 0;
    TRY(hf_num(root, src, "layer_norm_eps", 1e-5, &eps, err));
    if (!(eps > 0) || eps > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"layer_norm_eps\" = %g is out of range (0, 1]", src, eps);
    cfg->norm_eps = (float)eps;
    /* transformers 5 writes rope_parameters {rope_theta, partial_rotary_factor}; older configs
     * rotary_emb_base and rotary_pct at the top level */
    const char *theta_key = hf_get(root, "rotary_emb_base") || !hf_get(root, "rope_theta") ? "rotary_emb_base"
                                                                                            : "rope_theta";
    TRY(hf_rope(root, src, theta_key, "rotary_pct", 10000.0, 0.25, &theta, &pct, err));
    cfg->rope_theta = (float)theta;
    cfg->rotary_dim = (int)((double)cfg->d_head * pct); /* as int(head_size * partial_rotary_factor) */

    const char *act = "";
    TRY(hf_str(root, src, "hidden_act", "gelu", &act, err));
    TRY(hf_act(src, "hidden_act", act, &cfg->act, err));
    int flag = 0;
    TRY(hf_bool(root, src, "attention_bias", 1, &flag, err)); /* checked; biases come from the checkpoint */
    TRY(hf_bool(root, src, "use_parallel_residual", 1, &cfg->parallel_residual, err));
    TRY(hf_bool(root, src, "tie_word_embeddings", 0, &cfg->tied_embeddings, err));

    cfg->norm = HS_NORM_LAYERNORM;
    cfg->gated_mlp = 0;
    cfg->learned_pos = 0;
    cfg->add_bos = 0; /* the GPT-NeoX tokenizer adds no BOS */
    return HS_OK;
}

/* ---- weights */

typedef struct neox_loader {
    hs_model *m;
    const hs_st_archive *st;
    hs_error *err;
    hs_status rc;            /* the first failure; every later read is skipped */
    float *scratch;          /* the fused query_key_value weight as stored, [3·d_model, d_model] */
    char name[256];
} neox_loader;

static void ld_name(neox_loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ld_name(neox_loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->name, sizeof ld->name, fmt, ap);
    va_end(ap);
}

/* Reads tensor ld->name of shape [d0] (d1 == 0) or [d0, d1] into dst, or into a new model array
 * when dst is NULL. Returns the array, or NULL after recording the failure. */
static float *ld_read(neox_loader *ld, float *dst, int64_t d0, int64_t d1)
{
    if (ld->rc != HS_OK)
        return NULL;
    int64_t shape[2] = {d0, d1};
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    if (!dst && !(dst = hs_model_alloc(ld->m, n))) {
        ld->rc = hs_fail(ld->err, HS_ERR_NOMEM, "%s: out of memory", ld->name);
        return NULL;
    }
    ld->rc = hs_st_read_f32(ld->st, ld->name, d1 ? 2 : 1, shape, dst, ld->err);
    if (ld->rc != HS_OK)
        return NULL;
    ld->m->n_params += (int64_t)n;
    return dst;
}

/* Component j (0 Q, 1 K, 2 V) of the per-head-interleaved rows in scratch ([n_heads·3·d_head, cols])
 * as a new [n_heads·d_head, cols] array; cols = 1 for the bias. */
static float *ld_qkv_part(neox_loader *ld, int j, int64_t n_heads, int64_t d_head, int64_t cols)
{
    if (ld->rc != HS_OK)
        return NULL;
    float *w = hs_model_alloc(ld->m, (size_t)(n_heads * d_head * cols));
    if (!w) {
        ld->rc = hs_fail(ld->err, HS_ERR_NOMEM, "%s: out of memory", ld->name);
        return NULL;
    }
    for (int64_t h = 0; h < n_heads; h++)
        memcpy(w + h * d_head * cols, ld->scratch + (h * 3 + j) * d_head * cols, (size_t)(d_head * cols) * sizeof *w);
    return w;
}

static hs_status neox_load(hs_model *m, const hs_st_archive *st, hs_error *err)
{
    const hs_config *c = &m->cfg;
    const int64_t D = c->d_model, F = c->d_mlp, V = c->d_vocab, H = c->n_heads, DH = c->d_head;
    neox_loader ld = {.m = m, .st = st, .err = err, .rc = HS_OK};
    ld.scratch = malloc((size_t)(3 * D) * (size_t)D * sizeof(float));
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!ld.scratch || !m->layers) {
        free(ld.scratch);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "gpt_neox");
    }
    m->n_params = 0;
    const int qkv_bias = hs_st_find(st, "gpt_neox.layers.0.attention.query_key_value.bias") != NULL;
    const int o_bias = hs_st_find(st, "gpt_neox.layers.0.attention.dense.bias") != NULL;

    ld_name(&ld, "gpt_neox.embed_in.weight");
    const hs_st_tensor *emb = hs_st_find(st, ld.name);
    if (emb)
        m->cfg.stored_dtype = emb->dtype;
    m->W_E = ld_read(&ld, NULL, V, D);
    m->W_pos = NULL;

    for (int l = 0; l < c->n_layers && ld.rc == HS_OK; l++) {
        hs_layer_weights *w = &m->layers[l];
        ld_name(&ld, "gpt_neox.layers.%d.input_layernorm.weight", l);
        w->ln1_w = ld_read(&ld, NULL, D, 0);
        ld_name(&ld, "gpt_neox.layers.%d.input_layernorm.bias", l);
        w->ln1_b = ld_read(&ld, NULL, D, 0);

        ld_name(&ld, "gpt_neox.layers.%d.attention.query_key_value.weight", l);
        ld_read(&ld, ld.scratch, 3 * D, D);
        w->W_Q = ld_qkv_part(&ld, 0, H, DH, D);
        w->W_K = ld_qkv_part(&ld, 1, H, DH, D);
        w->W_V = ld_qkv_part(&ld, 2, H, DH, D);
        if (qkv_bias) {
            ld_name(&ld, "gpt_neox.layers.%d.attention.query_key_value.bias", l);
            ld_read(&ld, ld.scratch, 3 * D, 0);
            w->b_Q = ld_qkv_part(&ld, 0, H, DH, 1);
            w->b_K = ld_qkv_part(&ld, 1, H, DH, 1);
            w->b_V = ld_qkv_part(&ld, 2, H, DH, 1);
        }
        ld_name(&ld, "gpt_neox.layers.%d.attention.dense.weight", l);
        w->W_O = ld_read(&ld, NULL, D, D);
        if (o_bias) {
            ld_name(&ld, "gpt_neox.layers.%d.attention.dense.bias", l);
            w->b_O = ld_read(&ld, NULL, D, 0);
        }

        ld_name(&ld, "gpt_neox.layers.%d.post_attention_layernorm.weight", l);
        w->ln2_w = ld_read(&ld, NULL, D, 0);
        ld_name(&ld, "gpt_neox.layers.%d.post_attention_layernorm.bias", l);
        w->ln2_b = ld_read(&ld, NULL, D, 0);
        ld_name(&ld, "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight", l);
        w->W_in = ld_read(&ld, NULL, F, D);
        ld_name(&ld, "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias", l);
        w->b_in = ld_read(&ld, NULL, F, 0);
        ld_name(&ld, "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight", l);
        w->W_out = ld_read(&ld, NULL, D, F);
        ld_name(&ld, "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias", l);
        w->b_out = ld_read(&ld, NULL, D, 0);
    }

    ld_name(&ld, "gpt_neox.final_layer_norm.weight");
    m->ln_f_w = ld_read(&ld, NULL, D, 0);
    ld_name(&ld, "gpt_neox.final_layer_norm.bias");
    m->ln_f_b = ld_read(&ld, NULL, D, 0);
    if (c->tied_embeddings) {
        m->W_U = m->W_E;
    } else {
        ld_name(&ld, "%s", hs_st_find(st, "embed_out.weight") || !hs_st_find(st, "lm_head.weight") ? "embed_out.weight"
                                                                                                  : "lm_head.weight");
        m->W_U = ld_read(&ld, NULL, V, D);
    }
    m->b_U = NULL;
    free(ld.scratch);
    return ld.rc;
}

static const char *const neox_model_types[] = {"gpt_neox", NULL};

const hs_arch hs_arch_neox = {
    .name = "neox",
    .hf_model_types = neox_model_types,
    .config_from_json = neox_config,
    .load_weights = neox_load,
};
