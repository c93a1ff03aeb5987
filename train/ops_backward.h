/* ops_backward.h — the backward pass of every operation of the forward passes: given dL/d(output)
 * and what the forward saved, each kernel returns dL/d(inputs) and accumulates dL/d(weights). The
 * forward ops are those of backend/kernels.h; the training loss is cross-entropy over the
 * vocabulary. The first group serves GPT-2 training (train/gpt2_train.c); the second the other
 * architectures' ops for the inference model's backward pass (hooks/backward.c), which needs only
 * gradients with respect to activations.
 *
 * Conventions: "=" outputs are overwritten, "+=" outputs are accumulated into (so gradients of a
 * tensor used twice, like the tied wte, add up). Matrix products go through cblas_sgemm. Each
 * kernel is checked against double-precision central finite differences in tests/test_train.c. */
#ifndef HS_TRAIN_OPS_BACKWARD_H
#define HS_TRAIN_OPS_BACKWARD_H

#include <stdint.h>

/* Linear y [n, out] = x [n, in] · W [out, in]ᵀ + b [out].
 * dx [n, in] (= dy·W, or += when acc_dx; NULL: not wanted), dW [out, in] += dyᵀ·x (NULL: not
 * wanted, and x may then be NULL), db [out] += Σ_rows dy (NULL when there is no bias); dy [n, out]. */
void hs_bw_linear(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int n, int in,
                  int out, int acc_dx);

/* LayerNorm y = (x - mean) / scale · w + b over rows of x [n, d] with the forward's mean, scale [n].
 * dx [n, d] +=, dw [d] +=, db [d] +=; dy [n, d]. */
void hs_bw_layernorm(float *dx, float *dw, float *db, const float *dy, const float *x, const float *mean,
                     const float *scale, const float *w, int n, int d);

/* GELU, tanh approximation, y = 0.5 x (1 + tanh(c (x + 0.044715 x³))).
 * dx [n] = dy · gelu'(x) (dx may alias dy); x [n] is the forward's input. */
void hs_bw_gelu_tanh(float *dx, const float *dy, const float *x, int64_t n);

/* Row softmax pattern = softmax(scores) over rows [rows, T]: dscores [rows, T] =
 * pattern ⊙ (dpattern - Σ_j dpattern·pattern) (may alias dpattern). Masked entries (pattern 0)
 * get 0. When causal, row r is query position r % T of a [.., T, T] block and only its entries
 * j <= r % T are read; the rest of dscores is set to 0 (half the work). */
void hs_bw_softmax_rows(float *dscores, const float *dpattern, const float *pattern, int64_t rows, int T,
                        int causal);

/* z [B, T, H, dh] = pattern [B, H, T, T] · v [B, T, H, dh] per head (n_kv_heads = n_heads).
 * dpattern [B, H, T, T] = dz_h · v_hᵀ, 0 above the diagonal; dv [B, T, H, dh] = pattern_hᵀ · dz_h,
 * its rows ld_dv floats apart (H·dh when dv is a tensor of its own; 3·H·dh when dq | dk | dv are
 * packed in one [B, T, 3, H, dh] buffer for a single Q/K/V weight-gradient product). */
void hs_bw_attn_apply(float *dpattern, float *dv, const float *dz, const float *pattern, const float *v, int B,
                      int T, int H, int dh, int ld_dv);

/* Causal scores [B, H, T, T] = scale · q_h · k_hᵀ, q and k [B, T, H, dh].
 * dq [B, T, H, dh] = scale · dscores_h · k_h, dk [B, T, H, dh] = scale · dscores_hᵀ · q_h, rows
 * ld_dqk floats apart as for hs_bw_attn_apply (dscores is 0 above the diagonal, as
 * hs_bw_softmax_rows leaves it). */
void hs_bw_attn_scores(float *dq, float *dk, const float *dscores, const float *q, const float *k, int B, int T,
                       int H, int dh, float scale, int ld_dqk);

/* Embedding x[b, t] = wte[ids[b, t]] + wpe[t] for x [B, T, C]:
 * dwte [V, C] += and dwpe [n_ctx, C] += from dx [B, T, C]; ids [B, T]. */
void hs_bw_embedding(float *dwte, float *dwpe, const float *dx, const int32_t *ids, int B, int T, int C);

/* Cross-entropy of logits [n, V] against targets [n] (-1 = ignored), mean over the counted rows:
 * returns the loss (0 when no row counts) and its count in *n_counted (may be NULL). When dlogits
 * [n, V] is not NULL (it may alias logits) it receives dL/dlogits = (softmax - onehot) / denom,
 * 0 on ignored rows, where denom is the count when denom <= 0 (a part of a batch passes the whole
 * batch's count). Sums in double. */
double hs_cross_entropy(float *dlogits, const float *logits, const int32_t *targets, int n, int V, int denom,
                        int *n_counted);

/* ---- activation gradients of the other architectures (weights frozen) */

/* Grouped-query z [B, T, H, dh] = pattern [B, H, T, T] · v [B, T, G, dh], query head h reading kv
 * head h / (H / G): dpattern [B, H, T, T] = dz_h · v_gᵀ (dense, as PyTorch's: unlike hs_bw_attn_apply's
 * it is not zeroed above the diagonal, where the pattern is 0 but z still reads it), dv [B, T, G, dh] =
 * Σ_{h in group g} pattern_hᵀ · dz_h (overwritten). */
void hs_bw_attn_apply_gqa(float *dpattern, float *dv, const float *dz, const float *pattern, const float *v, int B,
                          int T, int H, int G, int dh);

/* Grouped-query scores [B, H, T, T] = scale · q_h · k_gᵀ, q [B, T, H, dh], k [B, T, G, dh]:
 * dq [B, T, H, dh] = scale · dscores_h · k_g, dk [B, T, G, dh] = scale · Σ_{h in g} dscores_hᵀ · q_h
 * (both overwritten; dscores 0 above the diagonal, as hs_bw_softmax_rows leaves it). */
void hs_bw_attn_scores_gqa(float *dq, float *dk, const float *dscores, const float *q, const float *k, int B,
                           int T, int H, int G, int dh, float scale);

/* The transpose of hs_rope (a rotation, so its inverse): in place on dx [B, T, H, dh], the pairs
 * (j, j + rot/2) rotate back by the forward's angle pos · theta^(-2j/rot), computed as it does. */
void hs_bw_rope(float *dx, int B, int T, int H, int dh, int rot, float theta);

/* dx [n] = dy · act'(x) for the erf GELU, SiLU and ReLU of backend/kernels.h (dx may alias dy);
 * x [n] is the forward's input. */
void hs_bw_gelu_erf(float *dx, const float *dy, const float *x, int64_t n);
void hs_bw_silu(float *dx, const float *dy, const float *x, int64_t n);
void hs_bw_relu(float *dx, const float *dy, const float *x, int64_t n);

/* A norm in TransformerLens's split form, x̂ = (x - mean x) / scale (mean 0 for RMSNorm), with
 * scale = sqrt(mean((x - mean x)²) + eps) a node of its own. From dxhat [n, d] and the forward's
 * xhat [n, d] and scale [n]:
 *   hs_bw_norm_scale: dscale [n] = -Σ_k dxhat_k · xhat_k / scale (x̂'s dependence on the scale);
 *   hs_bw_norm_input: dx [n, d] += (dxhat - [centered] mean(dxhat)) / scale + dscale · xhat / d
 *     (the direct path through x̂ plus the path through the scale, d scale / dx = xhat / d).
 * Together they are the usual LayerNorm / RMSNorm backward; split so that a hook can see (or
 * change) dL/dscale in between. Sums in double. */
void hs_bw_norm_scale(float *dscale, const float *dxhat, const float *xhat, const float *scale, int n, int d);
void hs_bw_norm_input(float *dx, const float *dxhat, const float *xhat, const float *scale, const float *dscale,
                      int n, int d, int centered);

#endif
