/* arch_gpt2.c — GPT-2 checkpoints (model_type "gpt2"): config.json fields and the Conv1D
 * weights of modeling_gpt2.py, transposed into the canonical [out, in] layout of model.h.
 *
 * GPT-2 stores every projection as a Conv1D whose weight is [in, out] (y = x·W + b), and fuses
 * Q, K and V into one c_attn of [d_model, 3·d_model] whose output columns are Q | K | V. Tensor
 * names carry a "transformer." prefix when saved from GPT2LMHeadModel and none when saved from
 * GPT2Model; both are accepted. The unembedding is tied to wte unless tie_word_embeddings is false. */
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

/* ---- config */

static hs_status gpt2_config(const json_t *root, const char *src, hs_config *cfg, hs_error *err)
{
    TRY(hf_int(root, src, "n_embd", 1, 0, 1, &cfg->d_model, err));
    TRY(hf_int(root, src, "n_layer", 1, 0, 1, &cfg->n_layers, err));
    TRY(hf_int(root, src, "n_head", 1, 0, 1, &cfg->n_heads, err));
    TRY(hf_int(root, src, "vocab_size", 1, 0, 1, &cfg->d_vocab, err));
    /* n_positions is the current name; very old configs call it n_ctx */
    const char *ctx_key = hf_get(root, "n_positions") || !hf_get(root, "n_ctx") ? "n_positions" : "n_ctx";
    TRY(hf_int(root, src, ctx_key, 1, 0, 1, &cfg->n_ctx, err));
    if (cfg->d_model % cfg->n_heads != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"n_head\" = %d does not divide n_embd = %d", src,
                       cfg->n_heads, cfg->d_model);
    if (cfg->d_model > INT_MAX / 4)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"n_embd\" = %d is out of range", src, cfg->d_model);
    TRY(hf_int(root, src, "n_inner", 0, 4 * cfg->d_model, 1, &cfg->d_mlp, err));

    double eps = 0;
    TRY(hf_num(root, src, "layer_norm_epsilon", 1e-5, &eps, err));
    if (!(eps > 0) || eps > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"layer_norm_epsilon\" = %g is out of range (0, 1]", src, eps);
    cfg->norm_eps = (float)eps;
    const char *act = "";
    TRY(hf_str(root, src, "activation_function", "gelu_new", &act, err));
    TRY(hf_act(src, "activation_function", act, &cfg->act, err));

    /* attention variants the shared forward pass does not implement */
    int scale_weights = 1, scale_by_layer = 0;
    TRY(hf_bool(root, src, "scale_attn_weights", 1, &scale_weights, err));
    TRY(hf_bool(root, src, "scale_attn_by_inverse_layer_idx", 0, &scale_by_layer, err));
    if (!scale_weights)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: field \"scale_attn_weights\": unscaled attention is not supported",
                       src);
    if (scale_by_layer)
        return hs_fail(err, HS_ERR_UNSUPPORTED,
                       "%s: field \"scale_attn_by_inverse_layer_idx\": per-layer attention scaling is not supported",
                       src);
    TRY(hf_bool(root, src, "tie_word_embeddings", 1, &cfg->tied_embeddings, err));

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

typedef struct gpt2_loader {
    hs_model *m;
    const hs_st_archive *st;
    hs_error *err;
    hs_status rc;            /* the first failure; every later read is skipped */
    const char *prefix;      /* "transformer." or "" */
    float *scratch;          /* one Conv1D weight as stored, [in, out] */
    char name[256];
} gpt2_loader;

static void ld_name(gpt2_loader *ld, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ld_name(gpt2_loader *ld, const char *fmt, ...)
{
    size_t n = (size_t)snprintf(ld->name, sizeof ld->name, "%s", ld->prefix);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->name + n, sizeof ld->name - n, fmt, ap);
    va_end(ap);
}

/* Reads tensor ld->name of shape [d0] (d1 == 0) or [d0, d1] into dst, or into a new model array
 * when dst is NULL. Returns the array, or NULL after recording the failure. */
static float *ld_read(gpt2_loader *ld, float *dst, int64_t d0, int64_t d1)
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

/* Copies columns [col, col + n_out) of the Conv1D weight in scratch ([n_in, n_cols]) into a new
 * model array of [n_out, n_in]: the torch.nn.Linear orientation. */
static float *ld_conv1d_slice(gpt2_loader *ld, int64_t n_in, int64_t n_cols, int64_t col, int64_t n_out)
{
    if (ld->rc != HS_OK)
        return NULL;
    float *w = hs_model_alloc(ld->m, (size_t)(n_out * n_in));
    if (!w) {
        ld->rc = hs_fail(ld->err, HS_ERR_NOMEM, "%s: out of memory", ld->name);
        return NULL;
    }
    for (int64_t i = 0; i < n_in; i++)
        for (int64_t o = 0; o < n_out; o++)
            w[o * n_in + i] = ld->scratch[i * n_cols + col + o];
    return w;
}

/* A bias slice [n] starting at `at` of the bias in scratch. */
static float *ld_bias_slice(gpt2_loader *ld, int64_t at, int64_t n)
{
    if (ld->rc != HS_OK)
        return NULL;
    float *b = hs_model_alloc(ld->m, (size_t)n);
    if (!b) {
        ld->rc = hs_fail(ld->err, HS_ERR_NOMEM, "%s: out of memory", ld->name);
        return NULL;
    }
    memcpy(b, ld->scratch + at, (size_t)n * sizeof *b);
    return b;
}

static hs_status gpt2_load(hs_model *m, const hs_st_archive *st, hs_error *err)
{
    const hs_config *c = &m->cfg;
    const int64_t D = c->d_model, F = c->d_mlp, V = c->d_vocab, T = c->n_ctx;
    gpt2_loader ld = {.m = m, .st = st, .err = err, .rc = HS_OK};
    ld.prefix = hs_st_find(st, "transformer.wte.weight") ? "transformer." : "";
    ld.scratch = malloc((size_t)D * (size_t)(F > 3 * D ? F : 3 * D) * sizeof(float));
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!ld.scratch || !m->layers) {
        free(ld.scratch);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", m->path ? m->path : "gpt2");
    }
    m->n_params = 0;

    ld_name(&ld, "wte.weight");
    const hs_st_tensor *wte = hs_st_find(st, ld.name);
    if (wte)
        m->cfg.stored_dtype = wte->dtype;
    m->W_E = ld_read(&ld, NULL, V, D);
    ld_name(&ld, "wpe.weight");
    m->W_pos = ld_read(&ld, NULL, T, D);

    for (int l = 0; l < c->n_layers && ld.rc == HS_OK; l++) {
        hs_layer_weights *w = &m->layers[l];
        ld_name(&ld, "h.%d.ln_1.weight", l);
        w->ln1_w = ld_read(&ld, NULL, D, 0);
        ld_name(&ld, "h.%d.ln_1.bias", l);
        w->ln1_b = ld_read(&ld, NULL, D, 0);

        ld_name(&ld, "h.%d.attn.c_attn.weight", l); /* [D, 3D]: columns Q | K | V */
        ld_read(&ld, ld.scratch, D, 3 * D);
        w->W_Q = ld_conv1d_slice(&ld, D, 3 * D, 0, D);
        w->W_K = ld_conv1d_slice(&ld, D, 3 * D, D, D);
        w->W_V = ld_conv1d_slice(&ld, D, 3 * D, 2 * D, D);
        ld_name(&ld, "h.%d.attn.c_attn.bias", l);
        ld_read(&ld, ld.scratch, 3 * D, 0);
        w->b_Q = ld_bias_slice(&ld, 0, D);
        w->b_K = ld_bias_slice(&ld, D, D);
        w->b_V = ld_bias_slice(&ld, 2 * D, D);

        ld_name(&ld, "h.%d.attn.c_proj.weight", l); /* [D, D] */
        ld_read(&ld, ld.scratch, D, D);
        w->W_O = ld_conv1d_slice(&ld, D, D, 0, D);
        ld_name(&ld, "h.%d.attn.c_proj.bias", l);
        w->b_O = ld_read(&ld, NULL, D, 0);

        ld_name(&ld, "h.%d.ln_2.weight", l);
        w->ln2_w = ld_read(&ld, NULL, D, 0);
        ld_name(&ld, "h.%d.ln_2.bias", l);
        w->ln2_b = ld_read(&ld, NULL, D, 0);

        ld_name(&ld, "h.%d.mlp.c_fc.weight", l); /* [D, F] */
        ld_read(&ld, ld.scratch, D, F);
        w->W_in = ld_conv1d_slice(&ld, D, F, 0, F);
        ld_name(&ld, "h.%d.mlp.c_fc.bias", l);
        w->b_in = ld_read(&ld, NULL, F, 0);
        ld_name(&ld, "h.%d.mlp.c_proj.weight", l); /* [F, D] */
        ld_read(&ld, ld.scratch, F, D);
        w->W_out = ld_conv1d_slice(&ld, F, D, 0, D);
        ld_name(&ld, "h.%d.mlp.c_proj.bias", l);
        w->b_out = ld_read(&ld, NULL, D, 0);
    }

    ld_name(&ld, "ln_f.weight");
    m->ln_f_w = ld_read(&ld, NULL, D, 0);
    ld_name(&ld, "ln_f.bias");
    m->ln_f_b = ld_read(&ld, NULL, D, 0);
    if (c->tied_embeddings) {
        m->W_U = m->W_E;
    } else { /* GPT2LMHeadModel names its head without the "transformer." prefix */
        ld.prefix = "";
        ld_name(&ld, "lm_head.weight");
        m->W_U = ld_read(&ld, NULL, V, D);
    }
    m->b_U = NULL;
    free(ld.scratch);
    return ld.rc;
}

static const char *const gpt2_model_types[] = {"gpt2", NULL};

const hs_arch hs_arch_gpt2 = {
    .name = "gpt2",
    .hf_model_types = gpt2_model_types,
    .config_from_json = gpt2_config,
    .load_weights = gpt2_load,
};
