/* random_model.h — writing small random-initialised GPT-2 checkpoints in Hugging Face layout
 * (config.json, model.safetensors, a byte-level tokenizer.json): the demo's embedded default until
 * headscope ships a trained model, and shapes for benchmarks. */
#ifndef HS_MODEL_RANDOM_MODEL_H
#define HS_MODEL_RANDOM_MODEL_H

#include "headscope.h"

typedef struct hs_random_model_spec {
    int n_layers, d_model, n_heads, n_ctx;
    int d_vocab;       /* >= 257: 256 byte tokens + <|endoftext|>; larger vocabularies get unused ids */
    float init_std;    /* weights ~ N(0, init_std²) */
    uint64_t seed;
} hs_random_model_spec;

/* Creates DIR (must not exist or be empty of these files) and writes the checkpoint. */
hs_status hs_random_model_write(const char *dir, const hs_random_model_spec *spec, hs_error *err);

#endif
