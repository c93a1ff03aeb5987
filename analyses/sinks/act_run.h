/* act_run.h — the ACT calibration (analyses/sinks/act.h) measured on a task, as `analyze sinks --calibrate`
 * runs it: the heads to calibrate are given, or chosen on a calibration prompt set with a task
 * metric (hs_act_select), and the metric is measured without and with the calibration on held-out
 * prompts, the only figure that says whether it helps.
 *
 * Task prompt sets are JSONL (datasets/prompts.h) whose every line has "text" (or "clean"),
 * "answer" and "wrong": the metric compares the logits of the answer's and the wrong answer's
 * first tokens (analyses/tasks/answer_token.h) at the prompt's last position; a line whose answer and
 * wrong answer begin with the same token cannot be scored and is left out (and counted). Results go to head_scores
 * with analysis = 'act':
 *   act_trial     per candidate head: the calibration-set metric of its trial
 *   act_selected  per candidate head: 1 when kept, 0 when not (explicit heads: 1 each)
 *   and run-level rows (layer and head NULL): calibration_before, calibration_after (the selection
 *   metric on the calibration set), heldout_accuracy_before/after, heldout_logit_diff_before/after. */
#ifndef HS_ANALYSES_SINKS_ACT_RUN_H
#define HS_ANALYSES_SINKS_ACT_RUN_H

#include "headscope.h"
#include "analyses/sinks/act.h"
#include "analyses/common/score_table.h"

#define HS_ACT_ANALYSIS "act"

typedef struct hs_act_run_options {
    float beta, tau;               /* 0.4, 0.1 */
    hs_act_select_mode mode;       /* GREEDY (the paper's; default) or EACH (the authors' script) */
    hs_act_task_kind metric;       /* what selection maximises: accuracy or logit difference */
    const hs_act_head *heads;      /* [n_heads] explicit heads: no selection (calibration set optional) */
    int n_heads;
    const hs_act_head *candidates; /* [n_candidates] tried in this order when heads is empty */
    int n_candidates;
    const char *calibration_path;  /* needed for selection */
    const char *heldout_path;      /* required */
} hs_act_run_options;

void hs_act_run_options_default(hs_act_run_options *opt);

typedef struct hs_act_run_result {
    hs_act_head *heads;  /* [n_heads] the heads calibrated (kept, or given); malloc'd */
    int n_heads;
    hs_act_head *candidates; /* [n_candidates] copies of the candidates; malloc'd */
    double *trial;       /* [n_candidates] their trial metrics (NULL with explicit heads) */
    int n_candidates;
    int n_calibration, n_heldout;
    int n_skipped;       /* task lines left out: answer and wrong begin with the same token */
    double calibration_before, calibration_after; /* NaN without a calibration set */
    double heldout_accuracy[2], heldout_logit_diff[2]; /* [before, after] */
} hs_act_run_result;

void hs_act_run_result_free(hs_act_run_result *res);

/* Runs it with `model` (which needs a tokenizer). Prompt-set errors name the file and line. */
hs_status hs_act_run(const hs_model *model, const hs_act_run_options *opt, hs_act_run_result *res, hs_error *err);

/* The result as head_scores rows (analysis 'act'), with the options as the table's provenance
 * (model_path and model_sha256 name the model it ran with). */
hs_status hs_act_run_scores(const hs_act_run_options *opt, const hs_act_run_result *res, const char *model_path,
                            const char *model_sha256, hs_score_table *table, hs_error *err);

#endif
