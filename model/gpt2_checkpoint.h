/* gpt2_checkpoint.h — writing GPT-2 checkpoints in Hugging Face layout (config.json,
 * model.safetensors, tokenizer.json) that model/arch_gpt2.c loads back: shared by the random
 * checkpoints of random_model.c and the trained ones of train/checkpoint.c. */
#ifndef HS_MODEL_GPT2_CHECKPOINT_H
#define HS_MODEL_GPT2_CHECKPOINT_H

#include "headscope.h"
#include "model/safetensors.h"

typedef struct hs_gpt2_ckpt_spec {
    int n_layers, d_model, n_heads, n_ctx, d_vocab;
    int32_t bos_id, eos_id; /* written to config.json; -1 writes null */
    int add_bos;            /* 1: DIR/tokenizer_config.json says {"add_bos_token": true} (prompts begin
                               with bos_id); 0: no such file (an old one is removed) */
} hs_gpt2_ckpt_spec;

/* Creates DIR if needed and writes DIR/config.json, DIR/model.safetensors holding the n entries
 * (HF names, with or without the "transformer." prefix; Conv1D weights as [in, out]) and
 * the tokenizer: tokenizer_src copied byte for byte (a file becomes DIR/tokenizer.json; a directory
 * gives its tokenizer.json, encoder.json, vocab.bpe, vocab.json, merges.txt), or when NULL the byte-level
 * DIR/tokenizer.json (256 byte tokens, <|endoftext|> = 256, no merges); and the BOS rule (add_bos
 * above). Existing files are replaced; on failure some of them may already be written. */
hs_status hs_gpt2_checkpoint_write(const char *dir, const hs_gpt2_ckpt_spec *spec, const hs_st_write_entry *entries,
                                   int n, const char *tokenizer_src, hs_error *err);

/* Writes the byte-level tokenizer.json described above to path. */
hs_status hs_byte_tokenizer_write(const char *path, hs_error *err);

#endif
