/* patch_set.h — activation patching over a set of clean/corrupted prompt pairs: the ablation that
 * supplies each patch (the other run, zeros, the set's mean, another prompt), the direction, and
 * the grids averaged over the set and normalised as TransformerLens's IOI notebook does.
 *
 * Definitions (per grid cell; LD = logit(answer) - logit(wrong) at the last position):
 *   direction  denoise: run the corrupted prompt, patch in the source; noise: run the clean prompt
 *   ablation   patch: the other run's activation (denoise: the clean run's, noise: the corrupted
 *              run's); zero: 0; mean: at each position, the mean of the set's clean activations;
 *              resample: the clean activation of another prompt of the set, drawn with the seed
 *   logit_diff (mean_i LD_patched,i - mean_i LD_corrupted,i) / (mean_i LD_clean,i - mean_i LD_corrupted,i):
 *              the normalised mean (TransformerLens's ioi_metric on a batch), 0 = corrupted,
 *              1 = clean; not bounded: a patch can overshoot either end. NaN when the clean and
 *              corrupted means are equal.
 *   kl         mean_i KL(P_clean,i || P_patched,i) at the last position, in nats (0 = clean).
 * Per-position grids, mean and resample need every prompt of the set to have one length (their
 * grids and sources are indexed by position); over all positions lengths may differ. */
#ifndef HS_ANALYSES_CIRCUITS_PATCH_SET_H
#define HS_ANALYSES_CIRCUITS_PATCH_SET_H

#include "analyses/circuits/patch.h"

typedef enum hs_patch_ablation {
    HS_ABLATE_PATCH,
    HS_ABLATE_ZERO,
    HS_ABLATE_MEAN,
    HS_ABLATE_RESAMPLE
} hs_patch_ablation;

typedef enum hs_patch_direction { HS_PATCH_DENOISE, HS_PATCH_NOISE } hs_patch_direction;

const char *hs_patch_ablation_name(hs_patch_ablation a);   /* "patch", "zero", "mean", "resample" */
const char *hs_patch_direction_name(hs_patch_direction d); /* "denoise", "noise" */

/* One prompt pair: ids of equal length n (the caller checks or this refuses, naming `name`). */
typedef struct hs_patch_pair {
    const int32_t *clean, *corrupted; /* [n] each */
    int n;
    int32_t answer, wrong;
    const char *name; /* for messages, e.g. "prompt 3 (ioi-3)" */
} hs_patch_pair;

typedef struct hs_patch_options {
    int components[HS_PATCH_COMPONENT_COUNT]; /* non-zero: compute this grid */
    int per_position;                         /* z, q, k, v, attn_out, mlp_out per position too */
    hs_patch_ablation ablation;
    hs_patch_direction direction;
    uint64_t seed;                            /* resample's draw */
    void (*progress)(void *user, int done, int total); /* prompts; may be NULL */
    void *progress_user;
} hs_patch_options;

typedef struct hs_patch_grid {
    hs_patch_grid_shape shape; /* n_pos_cells is the set's length for per-position grids */
    double *logit_diff;        /* [cells] normalised as above; NULL: not computed */
    double *kl;                /* [cells] */
} hs_patch_grid;

typedef struct hs_patch_result {
    hs_patch_grid grids[HS_PATCH_COMPONENT_COUNT];
    int n_pairs;
    double ld_clean, ld_corrupted; /* the set's mean logit differences of the two unpatched runs */
} hs_patch_result;

/* Computes every asked grid over pairs [n_pairs]. On success *out holds malloc'd grids (free with
 * hs_patch_result_free); on failure it holds nothing. */
hs_status hs_patch_set_run(const hs_model *m, const hs_patch_pair *pairs, int n_pairs, const hs_patch_options *opt,
                           hs_patch_result *out, hs_error *err);
void hs_patch_result_free(hs_patch_result *r);

#endif
