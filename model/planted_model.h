/* planted_model.h — a small GPT-2 checkpoint (HF layout: config.json, model.safetensors,
 * tokenizer.json) whose attention heads are set by hand to do known things: the planted truth that
 * head analyses must recover.
 *
 * Two layers, four heads each, d_model 512, d_head 128, n_ctx 64, attention only (MLP weights and
 * biases zero, so the MLPs add exactly 0). Vocabulary: 32 ids, "a".."z" and "0".."4" (ids 0..30,
 * byte-level tokenizer) and <|endoftext|> = 31 (BOS and EOS). The residual stream holds three
 * one-hot subspaces: the token (dims 0..31), the position (32..95) and, written by the layer-0
 * previous-token head, the previous token (96..127). LayerNorm gains are 1 and biases 0; since every
 * position has the same number of ones, LayerNorm scales them all by the same 1/sigma and shifts
 * every coordinate by the same amount, so the weights are set from the exact sigma (and shifts
 * drop out of softmax). Attention logits (after the 1/sqrt(d_head) scale) are:
 *
 *   L0H0 previous token  +30 on key i-1
 *   L0H1 first token     +20 on key 0
 *   L0H2 duplicate token +160 on earlier copies of token i, -15 net on key i itself, +80 on key 0
 *                        (so queries without an earlier copy attend to the first token), and +1
 *                        per position of recency (so the latest copy wins by e^(block length))
 *   L0H3 uniform         all weights zero
 *   L1H0 induction       +160 on keys j whose previous token (read from the subspace L0H0 wrote:
 *                        K-composition) equals token i, +80 on key 0, +1 per position of recency
 *   L1H1 current token   +30 on key i
 *   L1H2 uniform         all weights zero
 *   L1H3 two back        +30 on key i-2
 * Only L0H0 writes into the residual stream (through W_V, W_O and an output bias that makes the
 * written vector exactly one-hot). Prompts must be at most 64 tokens; duplicate and induction
 * heads behave as described on prompts whose repeated tokens are at least 2 apart. */
#ifndef HS_MODEL_PLANTED_MODEL_H
#define HS_MODEL_PLANTED_MODEL_H

#include "headscope.h"

#define HS_PLANTED_LAYERS 2
#define HS_PLANTED_HEADS 4
#define HS_PLANTED_VOCAB 32
#define HS_PLANTED_BOS 31
#define HS_PLANTED_CTX 64

typedef enum hs_planted_kind {
    HS_PLANTED_PREVIOUS_TOKEN,
    HS_PLANTED_FIRST_TOKEN,
    HS_PLANTED_DUPLICATE_TOKEN,
    HS_PLANTED_UNIFORM,
    HS_PLANTED_INDUCTION,
    HS_PLANTED_CURRENT_TOKEN,
    HS_PLANTED_TWO_BACK
} hs_planted_kind;

/* What each head was built to do: hs_planted_heads[layer][head]. */
extern const hs_planted_kind hs_planted_heads[HS_PLANTED_LAYERS][HS_PLANTED_HEADS];

/* Writes DIR/tokenizer.json: the 32-id byte-level vocabulary above (one token per character of
 * "a".."z", "0".."4"; <|endoftext|> = 31). Shared with the planted circuits model. */
hs_status hs_planted_tokenizer_write(const char *dir, hs_error *err);

/* Writes DIR/config.json of the planted shape (2 layers, 4 heads, d_model 512, n_inner 4, n_ctx 64,
 * the vocabulary above, tied embeddings). Shared with the planted circuits model. */
hs_status hs_planted_config_write(const char *dir, hs_error *err);

/* Creates DIR (or reuses an empty one) and writes the checkpoint and its tokenizer. */
hs_status hs_planted_model_write(const char *dir, hs_error *err);

#endif
