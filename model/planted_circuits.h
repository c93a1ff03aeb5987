/* planted_circuits.h — a small GPT-2 checkpoint (HF layout: config.json, model.safetensors,
 * tokenizer.json, tokenizer_config.json) with two hand-set circuits for two tasks that share exactly
 * one head, and the ground truth (heads and edges) that circuit discovery must recover.
 *
 * Two layers, four heads each, d_model 512, d_head 128, n_ctx 64, attention only (MLP weights and
 * biases zero). Vocabulary: the 32 ids of planted_model.h ("a".."z" = 0..25, "0".."4" = 26..30,
 * <|endoftext|> = 31), one token per character; the tokenizer prepends BOS to every prompt
 * (add_bos_token), and BOS is the attention sink every head falls back on: no value weight reads
 * the BOS token, so a head attending to BOS writes exactly nothing.
 *
 * Residual subspaces (one-hot, magnitude 1 unless said): token TOK 0..31, position POS 32..95,
 * previous token PREV 96..127 (written by L0H0), three junk subspaces that no weight reads
 * (J1 128..159, J2 160..191, J3 192..223) and an anchor: +B at dim 510 and -B at 511 (B = 64) at
 * every position. The anchor fixes LayerNorm's scale: sigma^2 = (2B^2 + n)/512 - (n/512)^2 with n
 * ones, so a one-hot more or less changes 1/sigma by about 1/(4B^2) = 6e-5 of itself, and heads
 * that write into junk subspaces move nothing downstream by more than that. Gains of ln_1 are 1,
 * biases 0; every Q/K/V read carries a bias w*s*mu that cancels LayerNorm's mean shift, so on clean
 * prompts each head channel is exactly w * x[dim] / sigma (s = 1/sigma of the layer's clean input,
 * mu = n/512). ln_f's gain is G_F = 8 and the unembedding is tied to wte (reads TOK only), so a
 * layer-1 head that writes a one-hot of magnitude a at TOK+t raises logit t by about G_F*a*s_f,
 * s_f ~ 0.249.
 *
 * Attention logits (after 1/sqrt(d_head)) and writes:
 *   L0H0 previous token  +30 on key i-1; value = token, written to PREV+t (exact one-hot).   SHARED
 *   L0H1 first token     +30 on key 0 (BOS); value written to J1.                           irrelevant
 *   L0H2 current token   +30 on key i; value written to J2.                                 irrelevant
 *   L0H3 uniform         all weights zero: writes nothing.                                  irrelevant
 *   L1H0 induction       +160 on keys j with PREV_j = token_i for letters (K-composition with L0H0;
 *                        the marker and digits have no query), +80 on key 0, +1 per position of
 *                        recency; value = token (BOS excluded), written to TOK+t with magnitude 8.
 *                                                                                          circuit A
 *   L1H1 marker lookup   +160 from a query whose token is the marker "0" on keys whose previous
 *                        token is the marker (K-composition with L0H0), +80 on key 0; value =
 *                        token, written to TOK+t with magnitude 8.                          circuit B
 *   L1H2 previous token  +30 on key i-1; value written to J3.                               irrelevant
 *   L1H3 current token   +30 on key i; value written to TOK+t with magnitude 1: a decoy that
 *                        raises the current token's logit, which is never answer or wrong. irrelevant
 *
 * Task A (induction, set "A"): "s0 s1 ... s(k-1) X" with distinct letters, X = s(j), j <= k-2;
 * answer s(j+1), wrong another letter of the prompt (not X). L0H0 writes PREV_{j+2} = X, so L1H0 at
 * the last position attends position j+2 and writes the answer: logit difference ~ 8*8*s_f ~ 16.
 * Without L0H0 (no PREV) or L1H0 it is 0. Corrupted: s(j) replaced by a letter absent from the
 * prompt, so nothing matches, L1H0 rests on BOS and the difference is ~0.
 * Task B (marker lookup, set "B"): "s0 .. s(m-1) 0 s(m) .. s(k-1) 0" -> s(m), the letter that
 * followed the earlier marker; wrong another letter. L0H0 writes PREV = "0" at s(m)'s position, so
 * L1H1 at the final marker attends there and writes s(m). Without L0H0 or L1H1 the difference is 0.
 * Corrupted: the earlier marker replaced by a letter absent from the prompt.
 * On A prompts L1H1 has no marker query and on B prompts L1H0 has no query at the marker, so each
 * rests on BOS and writes nothing: each circuit's output head is silent on the other task. Both
 * corruptions change what L0H0 writes (PREV at the answer's position) and what the output head
 * reads, so activation patching sees both heads of each circuit (tested).
 *
 * Circuits (heads and edges; logits = the unembedding):
 *   A: {L0H0, L1H0}; L0H0 -> L1H0 (k), L1H0 -> logits.
 *   B: {L0H0, L1H1}; L0H0 -> L1H1 (k), L1H1 -> logits.
 *   A ∩ B = {L0H0}: |A ∩ B| / |A| = 1/2, Jaccard 1/3. Every other (sender, receiver, input) is not
 *   an edge: e.g. L0H0 -> logits directly writes PREV, which the unembedding does not read. */
#ifndef HS_MODEL_PLANTED_CIRCUITS_H
#define HS_MODEL_PLANTED_CIRCUITS_H

#include "headscope.h"

#define HS_PC_LAYERS 2
#define HS_PC_HEADS 4
#define HS_PC_VOCAB 32
#define HS_PC_BOS 31
#define HS_PC_CTX 64
#define HS_PC_LETTERS 26 /* "a".."z" = ids 0..25: the tokens of the prompts besides the marker */
#define HS_PC_MARKER 26  /* "0": the key and query token of task B */

/* Which input of a receiver an edge enters; HS_PC_LOGITS: the unembedding (receiver {-1, -1}). */
typedef enum hs_pc_input { HS_PC_Q, HS_PC_K, HS_PC_V, HS_PC_LOGITS } hs_pc_input;

typedef struct hs_pc_head {
    int layer, head;
} hs_pc_head;

typedef struct hs_pc_edge {
    hs_pc_head sender;
    hs_pc_head receiver; /* {-1, -1} when input is HS_PC_LOGITS */
    hs_pc_input input;
} hs_pc_edge;

/* The planted truth of one task. Static storage: never freed. */
typedef struct hs_pc_circuit {
    const char *set;  /* "A" or "B": the prompt set's meta.set */
    const char *task; /* "induction", "marker-lookup" */
    int n_heads;
    const hs_pc_head *heads; /* [n_heads], by layer then head */
    int n_edges;
    const hs_pc_edge *edges; /* [n_edges] */
} hs_pc_circuit;

/* The circuit of set "A" or "B"; NULL for any other name. */
const hs_pc_circuit *hs_pc_circuit_get(const char *set);

/* Whether the circuit holds head (layer, head) / the edge (sender, receiver, input); for
 * HS_PC_LOGITS the receiver is ignored. */
int hs_pc_circuit_has_head(const hs_pc_circuit *c, int layer, int head);
int hs_pc_circuit_has_edge(const hs_pc_circuit *c, int s_layer, int s_head, int r_layer, int r_head, hs_pc_input in);

/* "q", "k", "v", "logits". */
const char *hs_pc_input_name(hs_pc_input in);

/* Creates DIR (or reuses it) and writes the checkpoint and its tokenizer. */
hs_status hs_planted_circuits_write(const char *dir, hs_error *err);

#endif
