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

#endif
