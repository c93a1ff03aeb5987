/* magnitudes_run.h — the magnitudes pass of `analyze sinks`: runs a recorded run's own model on every
 * stored prompt and gathers what sits behind attention sinks (analyses/sinks/massive.h has the
 * definitions):
 *   - per layer and position (positions < max_pos): the L2 norm of the residual stream after the
 *     block (blocks.L.hook_resid_post), of the keys and of the values (blocks.L.attn.hook_k / hook_v,
 *     averaged over the kv heads), averaged over the prompts long enough to have that position;
 *   - per layer: Sun et al.'s massive activations of the block output (each one kept with its
 *     prompt, position, dimension, value and ratio to the layer's median |x|), the largest
 *     RMS-normalised magnitude max |x| / rms(x), and the sink tokens of "See What You Are Told"
 *     (positions t > 0 whose RMS-normalised state exceeds 20 on a sink dimension found from
 *     position 0 of the same prompt and layer), and the sink dimensions themselves: per layer and
 *     dimension, the mean |x| / rms(x) of position 0 and how often the dimension is among the 4
 *     largest there (the dims "where the BOS state is largest").
 *
 * Workload: one forward pass per prompt (the store keeps residual streams only when asked to, and
 * keys and values not at all by default, so the model is always run); memory is one prompt's
 * hooks plus [3, n_layers, max_pos] sums and the list of massive activations. */
#ifndef HS_ANALYSES_SINKS_MAGNITUDES_RUN_H
#define HS_ANALYSES_SINKS_MAGNITUDES_RUN_H

#include "headscope.h"
#include "analyses/common/run_info.h"
#include "analyses/common/score_table.h"
#include "store/store.h"

enum { HS_MAG_RESID, HS_MAG_K, HS_MAG_V, HS_MAG_TENSORS };

typedef struct hs_massive_act {
    int64_t prompt_id;
    int layer, pos, dim;
    float value, ratio; /* x[pos, dim] and |x| / median |x| of the layer on that prompt */
} hs_massive_act;

typedef struct hs_magnitudes {
    int n_layers, max_pos, n_prompts;
    double *norm_sum[HS_MAG_TENSORS]; /* each [n_layers, max_pos] */
    int64_t *pos_count;               /* [max_pos] prompts that reach the position */
    double *max_rms_magnitude;        /* [n_layers] max over prompts, positions and dims of |x| / rms */
    int64_t *n_massive;               /* [n_layers] massive activations over all prompts */
    int64_t *n_sink_tokens;           /* [n_layers] sink tokens (t > 0) over all prompts */
    int d_model;
    double *bos_h_sum;                /* [n_layers, d_model] sums over prompts of |x| / rms at position 0 */
    int64_t *bos_top_count;           /* [n_layers, d_model] prompts where the dim is among the 4 largest */
    hs_massive_act *massive;          /* [n_kept] the first max_kept massive activations */
    int64_t n_kept, cap_kept;
} hs_magnitudes;

#define HS_MAGNITUDES_MAX_KEPT 100000 /* massive activations listed in the store per run */

/* Runs `model` (which must be run `run`'s own: hs_run_info_check_model) on every prompt of the
 * run as stored in `store` and fills *out (owned by the caller: hs_magnitudes_free). max_pos >= 1. */
hs_status hs_magnitudes_collect(hs_store *store, const hs_run_info *run, const hs_model *model, int max_pos,
                                hs_magnitudes *out, hs_error *err);
void hs_magnitudes_free(hs_magnitudes *m);

/* Mean norm of a tensor at (layer, pos): NaN when no prompt reached pos. */
double hs_magnitudes_norm(const hs_magnitudes *m, int tensor, int layer, int pos);

/* Adds the per-layer values to `scores` (layer rows, head NULL, prompt NULL): massive_acts (mean
 * per prompt), max_rms_magnitude, sink_tokens (mean per prompt); and, inside the caller's
 * transaction, replaces the run's position_norms, massive_activations and sink_dims rows. */
hs_status hs_magnitudes_add_scores(const hs_magnitudes *m, hs_score_table *scores, hs_error *err);
hs_status hs_magnitudes_write(const hs_magnitudes *m, hs_store *store, int64_t run_id, hs_error *err);

#endif
