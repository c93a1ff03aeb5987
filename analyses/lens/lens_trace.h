/* lens_trace.h — one observed forward pass holding what the logit lens, direct logit attribution
 * and the component lens read: the residual stream entering every block and leaving the last, the
 * final norm's scale, the model's logits, and every component that writes to the residual stream
 * at one chosen position (embeddings, each head's result, each attention output bias, each MLP
 * output and its neuron activations).
 *
 * Layer rows: row l < n_layers is blocks.l.hook_resid_pre; row n_layers is the last block's
 * hook_resid_post (what ln_final reads), as TransformerLens' accumulated_resid orders them. */
#ifndef HS_ANALYSES_LENS_LENS_TRACE_H
#define HS_ANALYSES_LENS_LENS_TRACE_H

#include "headscope.h"

typedef struct hs_lens_trace {
    int n_layers, n_heads, d_model, d_mlp, d_vocab;
    int n_pos;          /* tokens in the sequence */
    int pos;            /* the position the components below were taken at */
    float *resid;       /* [n_layers + 1, n_pos, d_model] the rows described above */
    float *scale_final; /* [n_pos] ln_final.hook_scale */
    float *logits;      /* [n_pos, d_vocab] unembed.hook_out */
    /* components at `pos`; they sum to resid[n_layers, pos] (up to float rounding) */
    float *embed;       /* [d_model] hook_embed */
    float *pos_embed;   /* [d_model] hook_pos_embed, NULL for models without learned positions */
    float *result;      /* [n_layers, n_heads, d_model] attn.hook_result (no output bias) */
    float *mlp_out;     /* [n_layers, d_model] hook_mlp_out (with the MLP's output bias) */
    float *mlp_post;    /* [n_layers, d_mlp] mlp.hook_post: the activations a_i that scale W_out[:, i] */
} hs_lens_trace;

/* Runs `model` once on ids [n] (one sequence) and keeps the trace, with components at position
 * `pos` (negative counts from the end: -1 is the last token). On success *out owns every array;
 * free it with hs_lens_trace_free. On failure *out is NULL. */
hs_status hs_lens_trace_run(const hs_model *model, const int32_t *ids, int n, int pos, hs_lens_trace **out,
                            hs_error *err);
void hs_lens_trace_free(hs_lens_trace *t);

#endif
