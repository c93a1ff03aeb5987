/* patch_run.h — activation patching over a recorded run, end to end: what `headscope analyze patch`
 * does. It reruns the run's model (its sha256 must match the run's) on every prompt's stored token
 * ids (the clean prompt) and on its "corrupted" text tokenised with the model's BOS rule, patches
 * the asked components (analyses/circuits/patch_set.h has the definitions), and writes, in one
 * transaction:
 *   patch_grid   every cell of every grid: component, metric "DIRECTION_ABLATION_METRIC" (e.g.
 *                "denoise_patch_logit_diff"), layer, head (NULL for attn_out, mlp_out, resid_pre;
 *                the kv head for k and v), pos (NULL for a patch of all positions), value
 *   head_scores  analysis 'patch', metric "COMPONENT_DIRECTION_ABLATION_METRIC" (e.g.
 *                "z_denoise_patch_logit_diff"), one row per (layer, head) of the all-position head
 *                grids (z, q, k, v), prompt_id NULL
 *   analysis_runs  the 'patch' row with the options
 * Rerunning replaces every row of the earlier patch analysis of the run, whatever its options.
 *
 * Every prompt needs "corrupted", "answer" and "wrong": the answer and wrong tokens are the first
 * token of each as it continues the clean prompt (analyses/tasks/answer_token.h), used for the
 * corrupted prompt too. A prompt without them, or whose corrupted text tokenises to another length
 * than the clean one, is refused by index and id. */
#ifndef HS_ANALYSES_CIRCUITS_PATCH_RUN_H
#define HS_ANALYSES_CIRCUITS_PATCH_RUN_H

#include "analyses/circuits/patch_set.h"
#include "store/store.h"

typedef struct hs_patch_request {
    const char *db_path;
    int64_t run_id;             /* < 1: the latest run */
    const char *model_path;     /* NULL: the path the run recorded */
    const char *tokenizer_path; /* NULL: the model's own */
    int components[HS_PATCH_COMPONENT_COUNT];
    int per_position;
    hs_patch_ablation ablation;
    hs_patch_direction direction;
    int metric_logit_diff, metric_kl; /* which metrics to store (at least one) */
    uint64_t seed;
    void (*progress)(void *user, int done, int total);
    void *progress_user;
} hs_patch_request;

/* Defaults: the latest run, its model, z over all positions, patch, denoise, logit_diff, seed 0. */
void hs_patch_request_default(hs_patch_request *req);

typedef struct hs_patch_summary {
    int64_t run_id;
    int n_prompts;
    double ld_clean, ld_corrupted; /* mean logit differences of the unpatched runs */
    int64_t n_cells;               /* patch_grid rows written */
    char options_json[512];
} hs_patch_summary;

hs_status hs_patch_analyze(const hs_patch_request *req, hs_patch_summary *res, hs_error *err);

#endif
