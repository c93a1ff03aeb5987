/* params.h — the parameters of a trainable GPT-2: one contiguous float buffer, its layout as a
 * table of named tensors (Hugging Face names, what the checkpoint writer and the optimiser's decay
 * mask read), and named views into any buffer of that layout (parameters, gradients, moments).
 *
 * Every matrix is in the canonical [out, in] layout of model/model.h (y = x·Wᵀ), so a view's
 * pointers can be handed to the forward kernels exactly as a loaded hs_model's are. Q, K and V
 * are one [3C, C] block whose row blocks are W_Q | W_K | W_V: each is a contiguous [C, C] view.
 * d_mlp is 4·d_model, the unembedding is tied to wte and there is no unembedding bias. */
#ifndef HS_TRAIN_PARAMS_H
#define HS_TRAIN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "headscope.h"

#define HS_TRAIN_MAX_LAYERS 64

typedef struct hs_gpt2_dims {
    int n_layers, d_model, n_heads, d_vocab, n_ctx;
} hs_gpt2_dims;

typedef struct hs_gpt2_layer_view {
    float *ln1_w, *ln1_b; /* [C] */
    float *W_qkv;         /* [3C, C]: W_Q = W_qkv, W_K = W_qkv + C·C, W_V = W_qkv + 2·C·C */
    float *b_qkv;         /* [3C] */
    float *W_O, *b_O;     /* [C, C], [C] */
    float *ln2_w, *ln2_b; /* [C] */
    float *W_in, *b_in;   /* [4C, C], [4C] */
    float *W_out, *b_out; /* [C, 4C], [C] */
} hs_gpt2_layer_view;

typedef struct hs_gpt2_view {
    float *wte;            /* [V, C], also the unembedding */
    float *wpe;            /* [n_ctx, C] */
    hs_gpt2_layer_view layer[HS_TRAIN_MAX_LAYERS];
    float *lnf_w, *lnf_b;  /* [C] */
} hs_gpt2_view;

/* One tensor of the layout. */
typedef struct hs_gpt2_tensor {
    char name[64];   /* the GPT2LMHeadModel name, e.g. "transformer.h.3.attn.c_attn.weight" */
    size_t offset;   /* in floats from the start of the buffer */
    int rows, cols;  /* canonical shape [rows, cols]; cols = 0 for a vector [rows] */
    int conv1d;      /* stored transposed ([cols, rows]) in a checkpoint */
    int decay;       /* AdamW decays it: matrices and embeddings yes, biases and norm gains no */
} hs_gpt2_tensor;

/* Checks the dimensions (positive, heads divide d_model, layers <= HS_TRAIN_MAX_LAYERS, sizes
 * that fit in int). */
hs_status hs_gpt2_dims_check(const hs_gpt2_dims *d, hs_error *err);

/* Number of tensors in the layout: 2 + 12·n_layers + 2. */
int hs_gpt2_tensor_count(const hs_gpt2_dims *d);

/* Fills t [hs_gpt2_tensor_count] (may be NULL) and returns the total number of floats. */
size_t hs_gpt2_layout(const hs_gpt2_dims *d, hs_gpt2_tensor *t);

/* Points v's fields into base, a buffer of hs_gpt2_layout(d, NULL) floats. */
void hs_gpt2_view_at(const hs_gpt2_dims *d, float *base, hs_gpt2_view *v);

/* GPT-2 initialisation from seed: matrices and embeddings ~ N(0, 0.02²), the two projections
 * into the residual stream (attn c_proj, mlp c_proj) ~ N(0, (0.02 / sqrt(2·n_layers))²), biases
 * 0, norm gains 1. Deterministic for a seed on every platform. */
void hs_gpt2_init(const hs_gpt2_dims *d, float *params, uint64_t seed);

#endif
