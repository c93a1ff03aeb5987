/* atp.h — attribution patching (AtP, Nanda 2023): the first-order estimate of activation patching's
 * grids from two forward passes and one backward pass per prompt pair, instead of a patched pass per
 * cell. Same pairs, options, grids and normalisation as analyses/circuits/patch_set.h (ablation patch
 * only; logit_diff only: the KL of the clean output has a zero gradient at the clean run).
 *
 * Definitions (per pair i; a cell's slice s of a component's hook; LD = logit(answer) - logit(wrong)
 * at the last position; g = dLD/da taken on the base run by hs_backward):
 *   denoise  base = the corrupted run:  LD_patched,i ≈ LD_corr,i  + Σ_s (a_clean - a_corr) · g_corr
 *   noise    base = the clean run:      LD_patched,i ≈ LD_clean,i + Σ_s (a_corr - a_clean) · g_clean
 * (the gradient at the run that is patched, as Nanda's and TransformerLens-style AtP code take it:
 * "clean minus corrupted activation times the corrupted gradient" for denoising), then the cell's
 * value is normalised as activation patching's: (mean LD_patched - mean LD_corr) / (mean LD_clean -
 * mean LD_corr), so a denoise cell is mean_i Σ_s(...) / span and a noise cell 1 + mean_i Σ_s(...) / span.
 * AtP is exact where LD is linear in the patched slice (a path through no nonlinearity) and its error
 * is second order in a_clean - a_corr elsewhere; saturated softmaxes and LayerNorm scales hide
 * effects from it. */
#ifndef HS_ANALYSES_CIRCUITS_ATP_H
#define HS_ANALYSES_CIRCUITS_ATP_H

#include "analyses/circuits/patch_set.h"

/* Computes every asked grid's AtP estimate over pairs [n_pairs] (opt->ablation must be
 * HS_ABLATE_PATCH; resample's seed is unused). On success *out holds malloc'd logit_diff grids and
 * kl = NULL (free with hs_patch_result_free); on failure it holds nothing. */
hs_status hs_atp_set_run(const hs_model *m, const hs_patch_pair *pairs, int n_pairs, const hs_patch_options *opt,
                         hs_patch_result *out, hs_error *err);

/* One pair's first-order terms: runs base_ids [n] with a tape, back-propagates its LD, and adds, for
 * every component with want[c] set, Σ_slice (src - base) · dLD/da of each cell of its grid
 * (hs_patch_grid_shape_of with per_position) into sums[c] [cells]. src[c] must be a cache of that
 * component over n positions (e.g. hs_patch_capture of the other prompt, or any activation a caller
 * builds). *ld_base receives the base run's LD. On failure sums may be partly added to. */
hs_status hs_atp_pair(const hs_model *m, const int want[HS_PATCH_COMPONENT_COUNT], int per_position,
                      const int32_t *base_ids, int n, int32_t answer, int32_t wrong,
                      const hs_patch_cache src[HS_PATCH_COMPONENT_COUNT], double *sums[HS_PATCH_COMPONENT_COUNT],
                      double *ld_base, hs_error *err);

#endif
