/* act.h — the Attention Calibration Technique (ACT; Yu et al., "Unveiling and Harnessing Hidden
 * Attention Sinks", ICML 2024) as an intervention on the forward pass, and its head selection.
 *
 * For a selected head, on every input, after the softmax and before A·V:
 *   1. the head's hidden sinks are found on that input: S = {k > 0 : alpha_k > tau}, with
 *      alpha_k = sum_{i>=k} A[i,k] / (T-k) over the whole input (ACT computes them "on the fly, in
 *      an input-adaptive manner": the authors' code derives S from each input's own pattern; only
 *      the choice of heads comes from calibration data);
 *   2. every row i is rewritten: A[i,s] <- beta·A[i,s] for s in S, and the freed mass
 *      (1-beta)·sum_{s in S} A[i,s] is added to the other keys of row i (key 0 and the query itself
 *      included) in proportion to their attention, so each row still sums to what it summed to.
 * Defaults beta = 0.4, tau = 0.1 (the authors' calibration script). Two deliberate readings of their
 * code: S excludes key 0 by definition (their code drops the first key found above tau, which is
 * key 0 whenever key 0 is a sink, as in the models they study); and a row with no attention left
 * outside S (nowhere to put the freed mass; their code divides by zero there) is left unchanged.
 *
 * Head selection (their calibration): each candidate head is tried on a calibration set with a
 * task metric; HS_ACT_SELECT_EACH (what their calibration script does) keeps every head that alone
 * beats the uncalibrated metric; HS_ACT_SELECT_GREEDY adds heads one at a time, in the order given,
 * keeping a head when the set so far plus that head beats the set so far. */
#ifndef HS_ANALYSES_SINKS_ACT_H
#define HS_ANALYSES_SINKS_ACT_H

#include "headscope.h"

#define HS_ACT_BETA 0.4f
#define HS_ACT_TAU 0.1f

/* ------------------------------------------------------------------ one head's pattern */

/* The hidden-sink set of one head on one input.
 *   pattern: [T, T]; alpha: [T] written (the sink scores); in_s: [T] written, 1 for k in S.
 * Returns |S|. in_s[0] is always 0. */
int hs_act_sink_set(const float *pattern, int T, float tau, float *alpha, unsigned char *in_s);

/* Rewrites the rows of pattern [T, T] in place for the set in_s [T] (step 2 above). Returns the
 * number of rows changed (rows with sink mass and some mass outside S). */
int hs_act_rewrite_rows(float *pattern, int T, const unsigned char *in_s, float beta);

/* Both steps on one head's pattern [T, T] in place; alpha [T] and in_s [T] are scratch (and keep the
 * scores and the set afterwards). Returns |S|. */
int hs_act_calibrate(float *pattern, int T, float beta, float tau, float *alpha, unsigned char *in_s);

/* ------------------------------------------------------------------ the intervention */

typedef struct hs_act_head {
    int layer, head;
} hs_act_head;

/* An installed calibration: what its interventions read. Owned by the caller, who frees it with
 * hs_act_free after the last forward pass that uses the hooks it was installed into. */
typedef struct hs_act hs_act;

/* Registers the ACT rewrite of the given heads on `hooks` (one custom intervention per layer
 * involved, on blocks.L.attn.hook_pattern, which the forward pass feeds to A·V; observers of the
 * pattern and everything downstream see the calibrated values). heads: [n_heads] (copied; a head
 * listed twice is calibrated once). beta in [0, 1], tau >= 0. n_heads may be 0 (nothing is
 * registered). A head beyond the model's heads makes the forward pass fail with HS_ERR_RANGE.
 * On failure *out is NULL and registrations already made stay in hooks, so free the hooks too. */
hs_status hs_act_install(hs_hooks *hooks, const hs_act_head *heads, int n_heads, float beta, float tau,
                         hs_act **out, hs_error *err);
void hs_act_free(hs_act *act);

/* Counts since installation: head patterns rewritten (one per batch row and selected head), hidden
 * sinks found in them, and rows changed. The interventions update these counts, so one hs_act serves
 * one forward pass at a time. */
void hs_act_stats(const hs_act *act, int64_t *n_patterns, int64_t *n_sinks, int64_t *n_rows);

/* ------------------------------------------------------------------ head selection */

/* A task metric on a calibration set, higher is better. It runs the model with `hooks` (which hold
 * the ACT rewrite of `heads`, or nothing when n_heads is 0) and writes the metric to *value; on
 * failure it fills err and returns its status. heads is given too so that synthetic metrics can be
 * written without a model. */
typedef hs_status (*hs_act_metric_fn)(void *user, const hs_act_head *heads, int n_heads, hs_hooks *hooks,
                                      double *value, hs_error *err);

typedef enum hs_act_select_mode {
    HS_ACT_SELECT_EACH,   /* each head alone against the baseline (the authors' calibration) */
    HS_ACT_SELECT_GREEDY  /* heads added one at a time against the set so far */
} hs_act_select_mode;

typedef struct hs_act_selection {
    hs_act_head *heads; /* [n_heads] the kept heads, in candidate order; malloc'd, see hs_act_selection_free */
    int n_heads;
    double baseline;    /* the metric without calibration */
    double final;       /* the metric with every kept head calibrated */
    double *trial;      /* [n_candidates] the metric of each candidate's trial (EACH: that head alone;
                           GREEDY: the set so far plus that head); malloc'd */
} hs_act_selection;

/* Tries the candidates [n_candidates] with the metric and fills *sel (owned by the caller). A metric
 * that fails stops the selection with its status; *sel is then empty. A head improves the metric
 * when its value is strictly greater (NaN never improves). */
hs_status hs_act_select(const hs_act_head *candidates, int n_candidates, float beta, float tau,
                        hs_act_select_mode mode, hs_act_metric_fn metric, void *user, hs_act_selection *sel,
                        hs_error *err);
void hs_act_selection_free(hs_act_selection *sel);

/* ------------------------------------------------------------------ a task metric */

/* Prompts with an answer and a wrong token, the model's prediction read at the last position. */
typedef struct hs_act_task_prompt {
    const int32_t *ids; /* [n_ids] tokens as the model's tokenizer and BOS rule give them */
    int n_ids;
    int32_t answer, wrong;
} hs_act_task_prompt;

typedef enum hs_act_task_kind {
    HS_ACT_TASK_ACCURACY, /* fraction of prompts with logit[answer] > logit[wrong] */
    HS_ACT_TASK_LOGIT_DIFF /* mean of logit[answer] - logit[wrong] */
} hs_act_task_kind;

typedef struct hs_act_task {
    const hs_model *model;
    hs_backend_id backend;
    const hs_act_task_prompt *prompts; /* [n_prompts] */
    int n_prompts;
    hs_act_task_kind kind;
} hs_act_task;

/* An hs_act_metric_fn over an hs_act_task (user = the task): one forward pass per prompt. */
hs_status hs_act_task_metric(void *user, const hs_act_head *heads, int n_heads, hs_hooks *hooks, double *value,
                             hs_error *err);

#endif
