/* gpt2_weights.h — every tensor of a GPT-2 checkpoint under its Hugging Face name, allocated in one
 * table for code that sets weights by hand (the planted models): zeros, LayerNorm gains 1, Conv1D
 * weights as [in, out]; then written as a model.safetensors that model/arch_gpt2.c loads. */
#ifndef HS_MODEL_GPT2_WEIGHTS_H
#define HS_MODEL_GPT2_WEIGHTS_H

#include "headscope.h"
#include "model/safetensors.h"

typedef struct hs_gpt2_weights {
    hs_st_write_entry *entries; /* [n]: wte, wpe, per layer h.L.{ln_1, attn.c_attn, attn.c_proj, ln_2,
                                   mlp.c_fc, mlp.c_proj}.{weight, bias}, ln_f.{weight, bias} */
    char (*names)[64];          /* [n] */
    int n;
} hs_gpt2_weights;

/* Allocates the table for n_layers blocks of width d_model, MLP width d_mlp, n_ctx positions and
 * d_vocab tokens. On failure nothing stays allocated. */
hs_status hs_gpt2_weights_new(hs_gpt2_weights *w, int n_layers, int d_model, int d_mlp, int n_ctx, int d_vocab,
                              hs_error *err);

/* The float32 data of the tensor named by the printf-style name ("h.%d.attn.c_attn.weight"), to be
 * written in place; NULL when no tensor has that name. */
float *hs_gpt2_weights_get(const hs_gpt2_weights *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the table to path as safetensors, in the order above. */
hs_status hs_gpt2_weights_write(const hs_gpt2_weights *w, const char *path, hs_error *err);

/* Frees the table; a zeroed table is a no-op. */
void hs_gpt2_weights_free(hs_gpt2_weights *w);

#endif
