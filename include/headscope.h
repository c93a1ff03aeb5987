/* headscope.h — the public C API of headscope: models, tokenizers, the instrumented forward pass.
 *
 * Conventions (read once, they hold everywhere):
 *   - Every subsystem is an opaque handle with a matched open/close pair; closing NULL is a no-op.
 *   - Every fallible call returns an hs_status and, when `err` is not NULL, fills it with a
 *     message that names the file, line or field at fault. Nothing here prints or exits.
 *   - Tensors handed to callers are float32, row-major, with the shape written beside them in
 *     TransformerLens order, with a leading batch dimension: e.g. hook_z is [batch, pos, head, d_head].
 *   - Ownership is written at each declaration.
 */
#ifndef HEADSCOPE_H
#define HEADSCOPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- status and errors */

typedef enum hs_status {
    HS_OK = 0,
    HS_ERR_NOMEM,       /* an allocation failed */
    HS_ERR_IO,          /* a file could not be opened, read, mapped or written */
    HS_ERR_FORMAT,      /* a file is malformed: bad header, bad JSON, truncated, inconsistent */
    HS_ERR_UNSUPPORTED, /* well-formed but not supported: unknown architecture, dtype, option */
    HS_ERR_MISSING,     /* a required tensor, field or file is absent */
    HS_ERR_SHAPE,       /* a tensor has a shape that disagrees with the config */
    HS_ERR_RANGE,       /* a value is out of range: token id, sequence length, layer, head */
    HS_ERR_ARG,         /* the caller passed an invalid argument */
    HS_ERR_CALLBACK,    /* a hook callback asked to stop */
    HS_ERR_INTERNAL
} hs_status;

#define HS_ERROR_MSG_MAX 512

/* A caller-owned error record; functions write into it only on failure. */
typedef struct hs_error {
    hs_status status;
    char msg[HS_ERROR_MSG_MAX];
} hs_error;

/* Returns a static string such as "format error" for a status. */
const char *hs_status_name(hs_status status);

/* ---------------------------------------------------------------- tensors */

#define HS_MAX_DIMS 5

/* A view of float32 data owned by someone else (the forward pass, a model, a caller). */
typedef struct hs_tensor {
    float *data;
    int ndim;
    int64_t shape[HS_MAX_DIMS];
} hs_tensor;

int64_t hs_tensor_numel(const hs_tensor *t);

/* ---------------------------------------------------------------- tokenizers */

typedef struct hs_tokenizer hs_tokenizer;

/* Opens a tokenizer from a file or a model directory:
 *   - HF `tokenizer.json` (byte-level BPE or SentencePiece-style BPE with byte fallback),
 *   - a directory holding tokenizer.json, or encoder.json + vocab.bpe, or vocab.json + merges.txt,
 *   - a llama2.c `tokenizer.bin` (the file does not store its vocabulary size: with
 *     `vocab_size_hint` 0 it is the number of records the file holds, a hint > 0 must equal it).
 * On success *out owns the tokenizer; free it with hs_tokenizer_close. On failure *out is NULL. */
hs_status hs_tokenizer_open(const char *path, int vocab_size_hint, hs_tokenizer **out, hs_error *err);
void hs_tokenizer_close(hs_tokenizer *tok);

/* Encodes UTF-8 text (len bytes; it need not be NUL-terminated). When add_bos is non-zero the
 * model's BOS rule applies (a BOS id is prepended when the tokenizer has one and its model uses it).
 * On success *ids_out is a malloc'd array of *n_out ids that the caller frees with free(). */
hs_status hs_tokenizer_encode(const hs_tokenizer *tok, const char *text, size_t len, int add_bos,
                              int32_t **ids_out, size_t *n_out, hs_error *err);

/* Decodes ids into a malloc'd NUL-terminated UTF-8 string (caller frees). Special tokens are
 * rendered as their text. An out-of-range id is HS_ERR_RANGE. */
hs_status hs_tokenizer_decode(const hs_tokenizer *tok, const int32_t *ids, size_t n, char **text_out,
                              hs_error *err);

/* The raw piece of one token, as the vocabulary stores it (e.g. "Ġthe" for byte-level BPE).
 * The pointer is owned by the tokenizer. NULL for an out-of-range id. */
const char *hs_tokenizer_piece(const hs_tokenizer *tok, int32_t id);

/* The text one token decodes to on its own, into a caller buffer; returns bytes written
 * (not counting the NUL), or -1 for an out-of-range id. Partial UTF-8 bytes are kept as bytes. */
int hs_tokenizer_token_text(const hs_tokenizer *tok, int32_t id, char *buf, size_t cap);

int hs_tokenizer_vocab_size(const hs_tokenizer *tok);
int32_t hs_tokenizer_bos_id(const hs_tokenizer *tok); /* -1 when there is none */
int32_t hs_tokenizer_eos_id(const hs_tokenizer *tok); /* -1 when there is none */

/* ---------------------------------------------------------------- models */

typedef struct hs_model hs_model;

/* What `headscope info` prints. Strings are owned by the model. */
typedef struct hs_model_info {
    const char *architecture; /* "gpt2", "llama", "neox" */
    const char *path;
    const char *dtype;        /* dtype of the stored weights: "F32", "F16", "BF16" */
    int n_layers, n_heads, n_kv_heads, d_model, d_head, d_mlp, d_vocab, n_ctx;
    int64_t n_params;
} hs_model_info;

/* Opens a model: a directory in Hugging Face layout (config.json + model.safetensors or a
 * sharded model.safetensors.index.json, and usually tokenizer files), or a llama2.c `.bin` file.
 * Weights are converted once to float32 in the canonical layout the forward pass uses.
 * `tokenizer_path` may be NULL (the model directory's own tokenizer is used when present).
 * On success *out owns everything; free it with hs_model_close. */
hs_status hs_model_open(const char *path, const char *tokenizer_path, hs_model **out, hs_error *err);
void hs_model_close(hs_model *model);

void hs_model_get_info(const hs_model *model, hs_model_info *info);

/* The model's tokenizer, or NULL if it has none. Owned by the model. */
const hs_tokenizer *hs_model_tokenizer(const hs_model *model);

/* ---------------------------------------------------------------- hook points */

/* Hook point kinds; names follow TransformerLens (see hs_hook_kind_name). */
typedef enum hs_hook_kind {
    HS_HOOK_EMBED,            /* hook_embed                  [batch, pos, d_model] */
    HS_HOOK_POS_EMBED,        /* hook_pos_embed              [batch, pos, d_model] (learned positions only) */
    HS_HOOK_RESID_PRE,        /* blocks.L.hook_resid_pre     [batch, pos, d_model] */
    HS_HOOK_LN1_SCALE,        /* blocks.L.ln1.hook_scale     [batch, pos, 1] */
    HS_HOOK_LN1_NORMALIZED,   /* blocks.L.ln1.hook_normalized [batch, pos, d_model] (x̂, before gain and bias) */
    HS_HOOK_Q,                /* blocks.L.attn.hook_q        [batch, pos, head, d_head] (before rotary) */
    HS_HOOK_K,                /* blocks.L.attn.hook_k        [batch, pos, kv_head, d_head] */
    HS_HOOK_V,                /* blocks.L.attn.hook_v        [batch, pos, kv_head, d_head] */
    HS_HOOK_ROT_Q,            /* blocks.L.attn.hook_rot_q    [batch, pos, head, d_head] (rotary models) */
    HS_HOOK_ROT_K,            /* blocks.L.attn.hook_rot_k    [batch, pos, kv_head, d_head] */
    HS_HOOK_ATTN_SCORES,      /* blocks.L.attn.hook_attn_scores [batch, head, query_pos, key_pos] (scaled, masked = -inf) */
    HS_HOOK_PATTERN,          /* blocks.L.attn.hook_pattern  [batch, head, query_pos, key_pos] */
    HS_HOOK_Z,                /* blocks.L.attn.hook_z        [batch, pos, head, d_head] */
    HS_HOOK_RESULT,           /* blocks.L.attn.hook_result   [batch, pos, head, d_model] (z·W_O per head, no bias) */
    HS_HOOK_ATTN_OUT,         /* blocks.L.hook_attn_out      [batch, pos, d_model] */
    HS_HOOK_RESID_MID,        /* blocks.L.hook_resid_mid     [batch, pos, d_model] (sequential residual only) */
    HS_HOOK_LN2_SCALE,        /* blocks.L.ln2.hook_scale     [batch, pos, 1] */
    HS_HOOK_LN2_NORMALIZED,   /* blocks.L.ln2.hook_normalized [batch, pos, d_model] (x̂, as ln1) */
    HS_HOOK_MLP_PRE,          /* blocks.L.mlp.hook_pre       [batch, pos, d_mlp] (gate pre-activation when gated) */
    HS_HOOK_MLP_PRE_LINEAR,   /* blocks.L.mlp.hook_pre_linear [batch, pos, d_mlp] (gated MLPs: the up projection) */
    HS_HOOK_MLP_POST,         /* blocks.L.mlp.hook_post      [batch, pos, d_mlp] */
    HS_HOOK_MLP_OUT,          /* blocks.L.hook_mlp_out       [batch, pos, d_model] */
    HS_HOOK_RESID_POST,       /* blocks.L.hook_resid_post    [batch, pos, d_model] */
    HS_HOOK_LN_FINAL_SCALE,   /* ln_final.hook_scale         [batch, pos, 1] */
    HS_HOOK_LN_FINAL_NORMALIZED, /* ln_final.hook_normalized [batch, pos, d_model] (x̂, as ln1) */
    HS_HOOK_LOGITS,           /* unembed.hook_out            [batch, pos, d_vocab] */
    /* Per-head attention inputs (TransformerLens's use_split_qkv_input): one copy of
     * hook_resid_pre per query head (q) or kv head (k, v), before ln1, which is applied to each
     * copy on its own; an intervention on head h's copy changes only head h's q (k, v). They cost
     * nothing unless someone asks for them; recorded only by name (not by --record all). */
    HS_HOOK_Q_INPUT,          /* blocks.L.hook_q_input       [batch, pos, head, d_model] */
    HS_HOOK_K_INPUT,          /* blocks.L.hook_k_input       [batch, pos, kv_head, d_model] */
    HS_HOOK_V_INPUT,          /* blocks.L.hook_v_input       [batch, pos, kv_head, d_model] */
    /* The MLP's input before ln2 (TransformerLens's use_hook_mlp_in): a copy of hook_resid_mid
     * (parallel residual: hook_resid_pre); an intervention reaches the MLP only. */
    HS_HOOK_MLP_IN,           /* blocks.L.hook_mlp_in        [batch, pos, d_model] */
    HS_HOOK_KIND_COUNT
} hs_hook_kind;

typedef struct hs_hook_point {
    hs_hook_kind kind;
    int layer; /* -1 for hooks outside the blocks */
} hs_hook_point;

/* "blocks.3.attn.hook_z" for {HS_HOOK_Z, 3}; writes at most cap bytes, returns the length. */
int hs_hook_point_name(const hs_hook_point *hp, char *buf, size_t cap);
/* Parses a TransformerLens hook name; HS_ERR_ARG names the bad part. */
hs_status hs_hook_point_parse(const char *name, hs_hook_point *out, hs_error *err);
/* The name of a kind without the "blocks.L." prefix, e.g. "attn.hook_z". */
const char *hs_hook_kind_name(hs_hook_kind kind);
/* Whether the kind lives inside a block (has a layer). */
int hs_hook_kind_in_block(hs_hook_kind kind);
/* Index of the head dimension in the hook's shape, or -1 when the hook has no heads. */
int hs_hook_kind_head_dim(hs_hook_kind kind);

/* ---------------------------------------------------------------- hooks: ask, observe, intervene */

typedef struct hs_hooks hs_hooks;

/* An observer sees a tensor after it is computed and after any intervention on it.
 * `t` is a view into the forward pass's own buffer, valid only during the call: copy what you
 * keep. Return HS_OK to go on; anything else stops the forward pass with that status. */
typedef hs_status (*hs_observe_fn)(void *user, const hs_hook_point *hp, const hs_tensor *t);

/* A custom intervention may rewrite `t` in place (shape fixed). Same return rule. */
typedef hs_status (*hs_intervene_fn)(void *user, const hs_hook_point *hp, hs_tensor *t);

typedef enum hs_intervention_op {
    HS_OP_ZERO,    /* t[...] = 0 */
    HS_OP_SCALE,   /* t[...] *= scalar */
    HS_OP_ADD,     /* t[...] += values (broadcast over batch and pos when values has fewer dims) */
    HS_OP_REPLACE  /* t[...] = values */
} hs_intervention_op;

/* A set of hook registrations; create one, add what you want, pass it to hs_forward. */
hs_status hs_hooks_new(hs_hooks **out, hs_error *err);
void hs_hooks_free(hs_hooks *hooks);

/* Observe hook points whose TransformerLens name matches `pattern`: an exact name, or a
 * glob with '*' (e.g. "blocks.*.attn.hook_pattern", "*hook_resid_post"). */
hs_status hs_hooks_observe(hs_hooks *hooks, const char *pattern, hs_observe_fn fn, void *user, hs_error *err);

/* Built-in intervention at one hook point. `head` selects one head on hooks with a head
 * dimension (-1: all). For ADD/REPLACE, `values` holds the values for the selected slice
 * (with the head dimension removed when a head is chosen); it is copied, so the caller keeps it.
 * Its shape must equal the slice's trailing dimensions or the whole slice including batch/pos. */
hs_status hs_hooks_intervene(hs_hooks *hooks, const char *hook_name, hs_intervention_op op, int head,
                             float scalar, const hs_tensor *values, hs_error *err);

/* Custom intervention at hook points matching `pattern`. */
hs_status hs_hooks_intervene_fn(hs_hooks *hooks, const char *pattern, hs_intervene_fn fn, void *user,
                                hs_error *err);

/* ---------------------------------------------------------------- the forward pass */

/* Which kernel set computes the pass. The CPU backend uses BLAS; the reference backend is the
 * plain loops it is checked against. */
typedef enum hs_backend_id { HS_BACKEND_CPU = 0, HS_BACKEND_REFERENCE = 1 } hs_backend_id;

/* One batch of sequences of equal length.
 *   ids:        [n_batch, n_pos] token ids
 *   embeds:     optional precomputed input embeddings that replace the token embedding at chosen
 *               positions (vision patches): embed_pos[n_embeds] = {batch, pos} pairs flattened
 *               as 2*n_embeds ints, embeds [n_embeds, d_model]. The ids at those positions are
 *               ignored (any valid id). */
typedef struct hs_batch {
    const int32_t *ids;
    int n_batch, n_pos;
    int n_embeds;
    const int *embed_pos;
    const float *embeds;
} hs_batch;

/* Runs the model on a batch, calling hooks (may be NULL). When logits_out is not NULL it
 * receives [n_batch, n_pos, d_vocab] floats (caller-allocated); when it is NULL and nobody hooks
 * unembed.hook_out, the unembedding is not computed at all. Fails with HS_ERR_RANGE for ids
 * outside the vocabulary or n_pos beyond the context, naming the offending batch row and
 * position. The model is not modified; one model may serve several threads' passes. */
hs_status hs_forward(const hs_model *model, const hs_batch *batch, hs_hooks *hooks,
                     hs_backend_id backend, float *logits_out, hs_error *err);

/* ---------------------------------------------------------------- the backward pass: gradients at hook points */

/* What a forward pass keeps for the backward pass (the tape): the norms' x̂ and scales, the
 * (rotated) queries and keys, the values, the patterns and the MLP pre-activations of every layer. */
typedef struct hs_tape hs_tape;

/* hs_forward (same arguments, same logits, the same hooks fired) that also keeps a tape for
 * hs_backward. Interventions in `hooks` act as in hs_forward, and the tape holds the values the
 * model used after them. On success *out owns the tape (it refers to the model, which must stay
 * open); free it with hs_tape_free. Memory: per layer 2·N·d_model + N·(n_heads + 2·n_kv_heads)·d_head
 * + n_batch·n_heads·n_pos² + 2·N·d_mlp floats, N = n_batch·n_pos. */
hs_status hs_forward_tape(const hs_model *model, const hs_batch *batch, hs_hooks *hooks, hs_backend_id backend,
                          float *logits_out, hs_tape **out, hs_error *err);

/* The backward pass with the weights frozen: from dlogits [n_batch, n_pos, d_vocab] = dL/dlogits of a
 * scalar metric L the caller chose (for a logit difference at the last position: +1 at the answer,
 * -1 at the wrong token), computes dL/d(activation) at every hook point back to hook_embed, and
 * hands it to the observers of `grads` (hs_hooks_observe) with the activation's own shape, from
 * unembed.hook_out back to hook_embed. Interventions in `grads` act on the gradient in place before
 * it flows further back (HS_OP_ZERO at a hook point cuts the paths through it). Every hook point of
 * hs_forward has a gradient: ln*.hook_scale as TransformerLens's separate node (x̂ = (x - mean) /
 * scale); attn.hook_pattern's is dense (z reads the whole pattern, so an entry above the diagonal
 * would still count, as in PyTorch) and hook_attn_scores' is 0 above the diagonal; hook_result's is
 * hook_attn_out's for every head; hook_pos_embed's equals hook_embed's. The gradient is that of the
 * unintervened model at the tape's values: hook points are identities. May be called several times
 * on one tape (e.g. for several metrics). */
hs_status hs_backward(hs_tape *tape, const float *dlogits, hs_hooks *grads, hs_error *err);
void hs_tape_free(hs_tape *tape);

/* Greedy decoding: appends up to max_new argmax tokens to `prompt` (n_prompt ids), stopping early
 * at EOS when stop_at_eos. *out_ids is malloc'd (prompt + generated; caller frees). */
hs_status hs_generate_greedy(const hs_model *model, const int32_t *prompt, int n_prompt, int max_new,
                             int stop_at_eos, int32_t **out_ids, int *n_out, hs_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HEADSCOPE_H */
