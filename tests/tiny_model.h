/* tiny_model.h — small random in-memory models of each architecture for unit tests of the forward
 * pass, built directly in the canonical layout (no files). */
#ifndef HS_TESTS_TINY_MODEL_H
#define HS_TESTS_TINY_MODEL_H

#include "model/model.h"

typedef enum tiny_kind { TINY_GPT2, TINY_LLAMA_GQA, TINY_NEOX_PARALLEL } tiny_kind;

/* A random model (seeded) of the given kind: 2 layers, d_model 16, 4 heads (2 kv heads for llama),
 * d_mlp 24, vocab 40, context 32. Free with hs_model_close. NULL when out of memory. */
hs_model *tiny_model_new(tiny_kind kind, unsigned seed);

/* Fills a with n uniform values in [-scale, scale] from a seeded stream. */
void tiny_fill(float *a, size_t n, float scale, unsigned *seed);

#endif
