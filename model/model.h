/* model.h — the in-memory model: its configuration and its weights in the one canonical float32
 * layout the forward pass reads, whatever file format and architecture they came from.
 *
 * Canonical layout (row-major; "linear" weights are [out, in] like torch.nn.Linear, so y = x·Wᵀ):
 *   W_E   [d_vocab, d_model]          token embedding
 *   W_pos [n_ctx, d_model]            learned positions (NULL for rotary models)
 *   per layer:
 *     ln1_w, ln1_b [d_model]          (ln*_b NULL for RMSNorm)
 *     W_Q [n_heads*d_head, d_model],   b_Q [n_heads*d_head] or NULL
 *     W_K [n_kv_heads*d_head, d_model], b_K or NULL
 *     W_V [n_kv_heads*d_head, d_model], b_V or NULL
 *     W_O [d_model, n_heads*d_head],   b_O [d_model] or NULL
 *     ln2_w, ln2_b [d_model]
 *     W_gate [d_mlp, d_model] (gated MLPs only, else NULL)
 *     W_in  [d_mlp, d_model], b_in [d_mlp] or NULL
 *     W_out [d_model, d_mlp], b_out [d_model] or NULL
 *   ln_f_w, ln_f_b [d_model]
 *   W_U [d_vocab, d_model] (may alias W_E when tied), b_U [d_vocab] or NULL
 * Rotary models store W_Q/W_K in the Hugging Face "rotate half" order: within each head, the
 * first d_head/2 rotary dims pair with the next d_head/2 (loaders of interleaved formats permute).
 */
#ifndef HS_MODEL_MODEL_H
#define HS_MODEL_MODEL_H

#include "headscope.h"
#include "base/dtype.h"

typedef enum hs_norm_kind { HS_NORM_LAYERNORM, HS_NORM_RMSNORM } hs_norm_kind;
typedef enum hs_act_kind { HS_ACT_GELU_TANH, HS_ACT_GELU_ERF, HS_ACT_SILU, HS_ACT_RELU } hs_act_kind;

typedef struct hs_config {
    char arch[16];           /* "gpt2", "llama", "neox" */
    int n_layers, d_model, n_heads, n_kv_heads, d_head, d_mlp, d_vocab, n_ctx;
    hs_norm_kind norm;
    float norm_eps;
    hs_act_kind act;
    int gated_mlp;           /* SwiGLU-style: act(gate) * up */
    int learned_pos;         /* absolute learned position embeddings (gpt2) */
    int rotary_dim;          /* number of rotary dims per head (0: no rotary) */
    float rope_theta;
    int parallel_residual;   /* neox: x + attn(ln1 x) + mlp(ln2 x) */
    int tied_embeddings;     /* W_U aliases W_E */
    int32_t bos_id, eos_id;  /* -1 when unknown */
    int add_bos;             /* the model's BOS rule: prepend bos_id to prompts */
    hs_dtype stored_dtype;   /* dtype of the weights as stored on disk */
} hs_config;

typedef struct hs_layer_weights {
    float *ln1_w, *ln1_b;
    float *W_Q, *b_Q, *W_K, *b_K, *W_V, *b_V, *W_O, *b_O;
    float *ln2_w, *ln2_b;
    float *W_gate, *W_in, *b_in, *W_out, *b_out;
} hs_layer_weights;

struct hs_model {
    hs_config cfg;
    char *path;              /* as given to hs_model_open */
    float *W_E, *W_pos;
    hs_layer_weights *layers; /* [n_layers], calloc'd by the loader, freed by hs_model_close */
    float *ln_f_w, *ln_f_b;
    float *W_U, *b_U;
    hs_tokenizer *tokenizer; /* may be NULL */
    int64_t n_params;
    /* every weight array above is a separate malloc recorded here, so closing frees exactly these */
    void **owned;
    int n_owned, cap_owned;
};

/* Allocates a zeroed float array of n elements owned by the model (freed by hs_model_close). */
float *hs_model_alloc(hs_model *m, size_t n);

/* Allocates an empty model (cfg zeroed, bos/eos = -1), or NULL when out of memory. */
hs_model *hs_model_new(void);

/* Checks the config for values the forward pass cannot run (zero sizes, d_head mismatch,
 * n_heads not a multiple of n_kv_heads, rotary_dim odd or > d_head); err names the field,
 * prefixed by `source` (a file name). */
hs_status hs_config_validate(const hs_config *cfg, const char *source, hs_error *err);

/* Counts parameters from the config (tied embeddings once). */
int64_t hs_config_param_count(const hs_config *cfg);

#endif
