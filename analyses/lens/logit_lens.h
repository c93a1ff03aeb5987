/* logit_lens.h — the logit lens (nostalgebraist 2020): read every residual row of a trace as if it
 * were the last, logits_l = W_U · LN_final(x_l) + b_U with the final norm recomputed on x_l itself
 * (LayerNorm for GPT-2/NeoX, RMSNorm for Llama; gain and bias applied), and summarise each layer and
 * position: top-k tokens, the target token's rank and probability, an answer-minus-wrong logit
 * difference, and KL(final || layer). This is TransformerLens' accumulated_resid followed by
 * apply_ln_to_stack(..., recompute_ln=True) and the unembedding; at the last row it is the model's
 * own logits. */
#ifndef HS_ANALYSES_LENS_LOGIT_LENS_H
#define HS_ANALYSES_LENS_LOGIT_LENS_H

#include "analyses/lens/lens_trace.h"

#define HS_LENS_MAX_K 100

/* What the lens tracks besides its top-k. */
typedef struct hs_lens_targets {
    const int32_t *target; /* [n_pos] the token whose rank and probability are kept at each
                            * position (-1: none); NULL: none anywhere */
    int32_t answer, wrong; /* logit difference answer - wrong at every cell; -1 (either): none */
} hs_lens_targets;

/* The lens of one sequence. Rows are the trace's residual rows: 0..n_layers-1 the input of each
 * block, n_layers the final residual stream. Every array is [n_rows, n_pos] unless noted. */
typedef struct hs_lens {
    int n_rows, n_pos, k;
    int32_t *topk_id;     /* [n_rows, n_pos, k] most probable first */
    float *topk_prob;     /* [n_rows, n_pos, k] */
    int32_t *target_id;   /* [n_pos] as given, -1 where none */
    int32_t *target_rank; /* 1 + the number of tokens with a strictly larger logit; 0 where no target */
    float *target_prob;   /* NAN where no target */
    float *logit_diff;    /* logits[answer] - logits[wrong]; NAN without a pair */
    float *kl;            /* KL(P_final || P_row) in nats: 0 on the last row */
} hs_lens;

/* The lens logits of one residual row of the trace: out [n_pos, d_vocab]. Row n_layers reproduces
 * the model's logits (the same kernels on the same input). */
hs_status hs_lens_logits(const hs_model *model, const hs_lens_trace *t, int row, float *out, hs_error *err);

/* Computes the lens of every row and position, keeping the k (1..HS_LENS_MAX_K) most probable
 * tokens. Targets must be inside the vocabulary. On success *out is the caller's to free with
 * hs_lens_free; on failure it is NULL. */
hs_status hs_lens_compute(const hs_model *model, const hs_lens_trace *t, const hs_lens_targets *targets, int k,
                          hs_lens **out, hs_error *err);

/* An empty lens of n_rows x n_pos cells with room for k tokens each: targets -1, ranks 0, the
 * floats NAN (what the store reader fills). NULL when out of memory. */
hs_lens *hs_lens_new(int n_rows, int n_pos, int k);
void hs_lens_free(hs_lens *lens);

#endif
