/* massive.h — the magnitudes behind attention sinks, read from residual streams, keys and values:
 * L2 norms per position, massive activations (Sun et al., "Massive Activations in Large Language
 * Models", 2024) and sink dimensions / sink tokens ("See What You Are Told: Visual Attention Sink
 * in Large Multimodal Models", Kang et al., ICLR 2025).
 *
 * Inputs are one prompt's hook tensors with the batch dimension removed, float32 row-major:
 * a residual stream x [T, d_model] (blocks.L.hook_resid_pre / hook_resid_post), keys or values
 * [T, n_kv_heads, d_head] (blocks.L.attn.hook_k / hook_v). */
#ifndef HS_ANALYSES_SINKS_MASSIVE_H
#define HS_ANALYSES_SINKS_MASSIVE_H

#include "headscope.h"

#define HS_SINK_DIM_TAU 20.0f        /* See What You Are Told: token t is a sink when max_{d in D} h_d > 20 */
#define HS_MASSIVE_MIN_ABS 100.0f    /* Sun et al.: |x| > 100 ... */
#define HS_MASSIVE_MIN_RATIO 1000.0f /* ... and > 1000 x the median |x| */

/* L2 norm of every row: x [n_rows, row_len] -> out [n_rows]. For a residual stream, n_rows = T and
 * row_len = d_model (one norm per position); for hook_k / hook_v, n_rows = T * n_kv_heads and
 * row_len = d_head, so out is [T, n_kv_heads] (one norm per position and key/value head). */
void hs_massive_row_norms(const float *x, int64_t n_rows, int64_t row_len, float *out);

/* h[t,d] = |x[t,d]| / rms(x[t,:]), rms = sqrt(mean_d x[t,d]^2 + 1e-6): RMS normalisation without the
 * gain, as in See What You Are Told (the 1e-6 is Llama's RMSNorm epsilon).
 *   x: [T, d]   h: [T, d] written (may equal x).
 * Since sum_d h[t,d]^2 <= d, every h <= sqrt(d): the tau = 20 rule can only fire when d > 400
 * (never in stories260K, d = 64; possible in GPT-2 small, d = 768, sqrt = 27.7). */
void hs_massive_rms_magnitudes(const float *x, int T, int d, float *h);

/* Sink dimensions from the state of position 0 (the BOS token when the model prepends one; the
 * first token otherwise): the dims d with h[0,d] > tau, largest first, at most max_dims of them,
 * written to dims [max_dims]; returns how many. With the paper's tau = 20 this picks the few
 * dimensions where BOS carries its massive activation (See What You Are Told lists two for
 * Llama-2-7B, 1415 and 2533, found this way: the dims where the BOS state is largest); tau <= 0
 * gives simply the top max_dims dims, for models too small for the threshold.
 *   x_bos: [d] the residual stream at position 0 of the layer examined. */
int hs_massive_sink_dims(const float *x_bos, int d, float tau, int max_dims, int *dims);

/* Sink tokens at one layer: score[t] = max over the sink dims of h[t, dims[j]], and token t is a
 * sink when score[t] > tau. Sink dims are usually found once per layer from the BOS state of that
 * layer (hs_massive_sink_dims) and reused for every prompt.
 *   x: [T, d]; dims: [n_dims], each in 0..d-1; score: [T] or NULL; is_sink: [T] or NULL.
 * Returns the number of sink tokens (0 when n_dims is 0). */
int hs_massive_token_sinks(const float *x, int T, int d, const int *dims, int n_dims, float tau, float *score,
                           unsigned char *is_sink);

/* Sun et al.'s rule on one layer's hidden states of one prompt: an activation x[t,d] is massive
 * when |x[t,d]| > min_abs and |x[t,d]| > min_ratio * median, the median of |x| over all T x d
 * activations of that layer for that prompt (as their code takes torch.median over the layer
 * output: for an even count the lower of the two middle values). They examine block outputs
 * (hook_resid_post).
 *   x: [T, d]; count_per_pos: [T] or NULL, massive activations at each position;
 *   *median_out (may be NULL) the median; *n_massive_out (may be NULL) the total.
 * HS_ERR_NOMEM when the T x d scratch copy for the median cannot be allocated. */
hs_status hs_massive_sun(const float *x, int T, int d, float min_abs, float min_ratio, int *count_per_pos,
                         float *median_out, int64_t *n_massive_out, hs_error *err);

#endif
