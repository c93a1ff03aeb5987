/* sinks.h — attention sinks read from attention patterns: the sink score alpha_k of every key, the
 * sink rate of Gu et al. ("When Attention Sink Emerges in Language Models", ICLR 2025) per model,
 * layer and head, the hidden (non-initial) sinks of ACT (Yu et al., ICML 2024), and per-head
 * attention entropy.
 *
 * Everything here is arithmetic over arrays, so the patterns may come from the store or from a
 * forward pass. A pattern is one head's post-softmax causal attention for one prompt: [n, n]
 * row-major float32, rows are queries i, columns keys k, A[i,k] = 0 for k > i, positions 0-based.
 * Sums are accumulated in double. */
#ifndef HS_ANALYSES_SINKS_SINKS_H
#define HS_ANALYSES_SINKS_SINKS_H

#include "headscope.h"

/* The published defaults (ANALYSES.md section 1). */
#define HS_SINK_RATE_EPS 0.3f  /* Gu et al.: a head has a sink on the first token when alpha_0 > eps */
#define HS_SINK_RATE_T 64      /* Gu et al.: prompts are cut to their first 64 tokens */
#define HS_HIDDEN_SINK_TAU 0.1f /* ACT: key k > 0 is a hidden sink of a head when alpha_k > tau */

/* Sink scores of the first T positions: alpha[k] = sum_{i=k}^{T-1} A[i,k] / (T-k), the mean
 * attention key k receives from the queries that can see it.
 *   pattern: [n, n] one head's pattern; only its top-left [T, T] block is read
 *   alpha:   [T] written
 * 1 <= T <= n. Because attention is causal, the top-left block of a longer prompt's pattern is exactly
 * the pattern the model computes for that prompt cut to its first T tokens, so cutting needs no
 * second forward pass. */
void hs_sinks_scores(const float *pattern, int n, int T, float *alpha);

/* Mean over the n queries of the row entropy H_i = -sum_k A[i,k] ln A[i,k], in nats (0 ln 0 = 0;
 * query 0, which sees only itself, contributes 0, as in the recorder's attn_entropy summary).
 *   pattern: [n, n] */
double hs_sinks_entropy(const float *pattern, int n);

/* ------------------------------------------------------------------ sink rate (Gu et al.) */

/* The sink rate accumulates, over prompts, the indicator alpha_0 > eps of every (layer, head):
 *   rate = #{(prompt, layer, head) : alpha_0 > eps} / #(prompt, layer, head),
 * overall, per layer (over prompts and the layer's heads) and per head (over prompts); with every
 * head of every prompt added this equals Gu et al.'s per-sample mean over layers and heads,
 * averaged over samples. alpha_0 is computed over the first t_cut tokens of the prompt as the
 * caller tokenised it: the model's own BOS rule is kept, so a BOS the tokenizer prepends is
 * position 0 and counts among the t_cut tokens (Llama: <s> + 63 text tokens; GPT-2 prepends
 * nothing, so its first text token is position 0). A prompt shorter than t_cut is used whole at its
 * own length and counted in n_short, so a caller can warn that Gu et al. used prompts of at least
 * 64 tokens. Not thread-safe; one accumulator per analysis. */
typedef struct hs_sink_rate hs_sink_rate;

/* eps <= 0 or t_cut < 1 select the defaults (0.3, 64). On success *out is owned by the caller
 * (free with hs_sink_rate_free). */
hs_status hs_sink_rate_new(int n_layers, int n_heads, float eps, int t_cut, hs_sink_rate **out, hs_error *err);
void hs_sink_rate_free(hs_sink_rate *sr);

/* Adds one prompt's pattern of head (layer, head): pattern [n, n], n >= 1. HS_ERR_RANGE for a
 * layer or head outside the accumulator (nothing is added). When alpha0_out is not NULL it
 * receives this prompt's alpha_0. A prompt is counted as short once, on its (0, 0) pattern. */
hs_status hs_sink_rate_add(hs_sink_rate *sr, int layer, int head, const float *pattern, int n, float *alpha0_out,
                           hs_error *err);

/* Rates in [0, 1]; NaN where nothing was added. */
double hs_sink_rate_overall(const hs_sink_rate *sr);
double hs_sink_rate_layer(const hs_sink_rate *sr, int layer);
double hs_sink_rate_head(const hs_sink_rate *sr, int layer, int head);
/* The mean of alpha_0 over the prompts added for a head (NaN when none). */
double hs_sink_rate_mean_alpha0(const hs_sink_rate *sr, int layer, int head);
/* Number of patterns added for a head, and of prompts shorter than t_cut. */
int64_t hs_sink_rate_count(const hs_sink_rate *sr, int layer, int head);
int64_t hs_sink_rate_n_short(const hs_sink_rate *sr);

/* ------------------------------------------------------------------ hidden sinks (ACT) */

/* Hidden sinks of a head on one prompt are S = {k > 0 : alpha_k > tau}, alpha over the prompt's
 * whole length (ACT computes them on each input, uncut). Accumulated over prompts, per head:
 *   - mean |S| per prompt, and the fraction of prompts with |S| > 0;
 *   - by absolute position k (0 < k < max_pos): the fraction of the prompts long enough to have a
 *     key k in which k is in S. Positions are absolute, not relative to the prompt length,
 *     because ACT's hidden sinks sit on particular tokens (punctuation, newlines) whose positions
 *     follow the text, and relative bins would blur prompts of different lengths; positions at
 *     or beyond max_pos are counted in |S| but not binned;
 *   - by token id, over all heads (when d_vocab > 0 and ids are given): of the (prompt, layer,
 *     head, position k > 0) where token id sits, the fraction where it is a hidden sink.
 * Note alpha_{n-1} = A[n-1, n-1] is a single weight: keys near the end of a prompt are seen by few
 * queries, so their scores are noisy; the definition keeps them, as ACT does. */
typedef struct hs_hidden_sinks hs_hidden_sinks;

/* tau <= 0 selects the default 0.1. max_pos >= 1; d_vocab >= 0 (0: no per-token counts). */
hs_status hs_hidden_sinks_new(int n_layers, int n_heads, int max_pos, int d_vocab, float tau,
                              hs_hidden_sinks **out, hs_error *err);
void hs_hidden_sinks_free(hs_hidden_sinks *hs);

/* Adds one prompt's pattern [n, n] of head (layer, head). ids: [n] the prompt's token ids, or NULL.
 * sinks_out: [n] or NULL, receives the positions in S, ascending; *n_sinks_out (may be NULL) |S|.
 * HS_ERR_RANGE for a layer, head or token id outside the accumulator (nothing is added). */
hs_status hs_hidden_sinks_add(hs_hidden_sinks *hs, int layer, int head, const float *pattern, int n,
                              const int32_t *ids, int *sinks_out, int *n_sinks_out, hs_error *err);

double hs_hidden_sinks_mean_count(const hs_hidden_sinks *hs, int layer, int head);   /* NaN when none */
double hs_hidden_sinks_frac_prompts(const hs_hidden_sinks *hs, int layer, int head); /* NaN when none */
/* NaN when no prompt reached position pos, or pos is outside 1..max_pos-1. */
double hs_hidden_sinks_pos_freq(const hs_hidden_sinks *hs, int layer, int head, int pos);
/* NaN when the token never occurred at a position > 0 (or per-token counts are off). */
double hs_hidden_sinks_token_freq(const hs_hidden_sinks *hs, int32_t id);
/* How many (prompt, layer, head, position k > 0) held token id (0 when per-token counts are off). */
int64_t hs_hidden_sinks_token_seen(const hs_hidden_sinks *hs, int32_t id);

#endif
