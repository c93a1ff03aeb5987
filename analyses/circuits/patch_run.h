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

/* How the grids are computed: patch = a patched pass per cell (patch_set.h); atp = attribution
 * patching's first-order estimate (atp.h; ablation patch, metric logit_diff only). AtP's rows take
 * "atp" where patching's take the ablation: patch_grid metric "DIRECTION_atp_logit_diff", head_scores
 * and analysis_runs under analysis 'atp' (metric "COMPONENT_DIRECTION_atp_logit_diff"), so both
 * methods' grids of a run live side by side and a rerun of one replaces only its own rows. */
typedef enum hs_patch_method { HS_METHOD_PATCH, HS_METHOD_ATP } hs_patch_method;

typedef struct hs_patch_request {
    const char *db_path;
    int64_t run_id;             /* < 1: the latest run */
    const char *model_path;     /* NULL: the path the run recorded */
    const char *tokenizer_path; /* NULL: the model's own */
    hs_patch_method method;
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

/* How well AtP's all-position grid of one component (resid_pre: its [layer, pos] grid) agrees with
 * activation patching's in a store: the Pearson and Spearman correlations over the cells both hold
 * (patch_grid rows of metric "DIRECTION_patch_logit_diff" and "DIRECTION_atp_logit_diff"). *n_cells = 0 (and no
 * error) when the run lacks either grid; the correlations are NaN with fewer than 3 cells. */
hs_status hs_patch_atp_agreement(hs_store *s, int64_t run_id, hs_patch_component c, hs_patch_direction d,
                                 int *n_cells, double *pearson, double *spearman, hs_error *err);

#endif
