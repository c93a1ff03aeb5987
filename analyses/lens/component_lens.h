/* component_lens.h — the component lens: the logits that the final norm and the unembedding give to
 * one isolated residual-stream vector (a head's result, or an MLP neuron's value vector
 * a_i · W_out[:, i], Geva et al. 2022), and the tokens it promotes and suppresses most:
 *
 *   logits(v) = W_U · (w_ln ⊙ centre(v)) / sigma_final        (no b_ln, no b_U)
 *
 * with centre() and sigma_final (the cached ln_final.hook_scale at the trace's position) as in
 * DLA (analyses/lens/dla.h): logits(v) is v's direct logit attribution to every token, so the logits of
 * all components plus the two bias terms sum to the model's logits, and logits(v)[a] - logits(v)[b]
 * is v's DLA. Applying LN_final to v alone with its own scale ranks tokens identically (one positive
 * factor); the biases are left out because they are the same for every component and would put
 * the same bias-favoured tokens at the top of every list.
 *
 * Neurons: per layer, the n strongest at the position by |a_i| · ||W_out[:, i]||, the norm of the
 * neuron's sub-update, which is how Geva et al. rank them. */
#ifndef HS_ANALYSES_LENS_COMPONENT_LENS_H
#define HS_ANALYSES_LENS_COMPONENT_LENS_H

#include "analyses/lens/lens_trace.h"

typedef struct hs_component_lens_row {
    int layer;
    int head;          /* -1 for a neuron */
    int neuron;        /* -1 for a head */
    float activation;  /* a_i (mlp.hook_post) for a neuron, NAN for a head */
    float norm;        /* ||v|| */
} hs_component_lens_row;

typedef struct hs_component_lens {
    int n_rows, k;
    hs_component_lens_row *rows; /* [n_rows]: every head (layer-major), then each layer's neurons, strongest first */
    int32_t *promoted_id;        /* [n_rows, k] largest logit first */
    float *promoted_logit;       /* [n_rows, k] */
    int32_t *suppressed_id;      /* [n_rows, k] most negative logit first */
    float *suppressed_logit;     /* [n_rows, k] */
} hs_component_lens;

/* out [n, d_vocab] = logits(v) of n vectors v [n, d_model] at the trace's position. */
hs_status hs_component_lens_logits(const hs_model *model, const hs_lens_trace *t, const float *v, int n, float *out,
                                   hs_error *err);

/* The value vector a_i · W_out[:, i] of neuron i of `layer` at the trace's position, into v [d_model]. */
void hs_component_lens_neuron_vector(const hs_model *model, const hs_lens_trace *t, int layer, int neuron, float *v);

/* The lens of every head's result and of the n_neurons (0..d_mlp) strongest neurons of each layer,
 * keeping k (1..d_vocab) tokens each way. On success *out is the caller's to free with
 * hs_component_lens_free. */
hs_status hs_component_lens_compute(const hs_model *model, const hs_lens_trace *t, int k, int n_neurons,
                                    hs_component_lens **out, hs_error *err);
void hs_component_lens_free(hs_component_lens *cl);

#endif
