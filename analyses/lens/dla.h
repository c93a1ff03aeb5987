/* dla.h — direct logit attribution (TransformerLens convention): at the trace's position, how much
 * each component that writes to the residual stream adds to logit(answer) - logit(wrong):
 *
 *   dla(c) = (u · centre(c)) / sigma_final,   u = w_ln ⊙ (W_U[answer] - W_U[wrong])
 *
 * with centre() subtracting the mean over d_model for LayerNorm models (nothing for RMSNorm) and
 * sigma_final the cached ln_final.hook_scale at that position: apply_ln_to_stack + logit_attrs on
 * a model whose final-norm gain w_ln is folded into W_U (TransformerLens' default fold_ln; headscope
 * never rewrites weights, so the gain goes into u). The components are the token embedding, the
 * learned position embedding, every head's result, every attention output bias b_O and every MLP
 * output; they sum to the final residual stream, so
 *
 *   Σ dla(c) + ln_final_bias + unembed_bias = logit_diff   (the model's own, to float rounding)
 *
 * where ln_final_bias = b_ln · (W_U[answer] - W_U[wrong]) and unembed_bias = b_U[answer] - b_U[wrong]
 * belong to no component. Centring each component is what makes the sum exact: the final norm
 * centres their sum. Without a wrong token the attributed quantity is logit(answer) alone. */
#ifndef HS_ANALYSES_LENS_DLA_H
#define HS_ANALYSES_LENS_DLA_H

#include "analyses/lens/lens_trace.h"

typedef struct hs_dla {
    int n_layers, n_heads;
    int pos;                /* the trace's component position */
    int32_t answer, wrong;  /* wrong -1: logit(answer) alone */
    double scale;           /* sigma_final at pos */
    double embed;           /* hook_embed */
    double pos_embed;       /* hook_pos_embed; 0 for models without learned positions */
    double *heads;          /* [n_layers, n_heads] attn.hook_result */
    double *attn_bias;      /* [n_layers] b_O; 0 where the model has none */
    double *mlp;            /* [n_layers] hook_mlp_out */
    double ln_final_bias;   /* b_ln · (W_U[answer] - W_U[wrong]); 0 for RMSNorm */
    double unembed_bias;    /* b_U[answer] - b_U[wrong]; 0 without b_U */
    double logit_diff;      /* the model's logits[pos, answer] - logits[pos, wrong] */
} hs_dla;

/* Attributes the trace's logit difference at its component position. On success *out is the
 * caller's to free with hs_dla_free. */
hs_status hs_dla_compute(const hs_model *model, const hs_lens_trace *t, int32_t answer, int32_t wrong, hs_dla **out,
                         hs_error *err);
void hs_dla_free(hs_dla *d);

/* Σ of every term (components and both biases): equals d->logit_diff up to float rounding. */
double hs_dla_total(const hs_dla *d);

/* The cached-scale logit difference of each residual row out [n_layers + 1] (row l: the input of
 * block l; row n_layers: the final stream), bias terms excluded: the running sum of the components
 * in layer order, i.e. TransformerLens' accumulated_resid + apply_ln_to_stack + logit_attrs. */
void hs_dla_accumulated(const hs_dla *d, double *out);

/* u = w_ln ⊙ (W_U[answer] - W_U[wrong]) into u [d_model] (W_U[answer] alone when wrong is -1). */
void hs_dla_direction(const hs_model *model, int32_t answer, int32_t wrong, double *u);

/* dla of one residual-stream vector v [d_model] along u [d_model] with scale sigma. */
double hs_dla_of(const hs_model *model, const double *u, const float *v, double sigma);

#endif
