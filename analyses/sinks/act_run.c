/* act_run.c — ACT on a task: load and tokenise the task sets, choose heads on the calibration set,
 * measure before and after on the held-out set. */
#include "analyses/sinks/act_run.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/tasks/task_eval.h"
#include "analyses/tasks/task_prompts.h"
#include "base/error.h"
#include "model/model.h"

void hs_act_run_options_default(hs_act_run_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->beta = HS_ACT_BETA;
    opt->tau = HS_ACT_TAU;
    opt->mode = HS_ACT_SELECT_GREEDY;
    opt->metric = HS_ACT_TASK_ACCURACY;
}

void hs_act_run_result_free(hs_act_run_result *res)
{
    if (!res)
        return;
    free(res->heads), free(res->candidates), free(res->trial);
    memset(res, 0, sizeof *res);
}

/* The task metric of `ts` with `heads` calibrated (none: the plain model). */
static hs_status measure(const hs_model *model, const hs_task_prompts *ts, hs_act_task_kind kind, const hs_act_head *heads,
                         int n_heads, float beta, float tau, double *value, hs_error *err)
{
    hs_hooks *hooks = NULL;
    hs_act *act = NULL;
    hs_act_task task = {.model = model, .backend = HS_BACKEND_CPU, .prompts = ts->prompts, .n_prompts = ts->n,
                        .kind = kind};
    hs_status rc;
    if ((rc = hs_hooks_new(&hooks, err)) == HS_OK && (rc = hs_act_install(hooks, heads, n_heads, beta, tau, &act, err)) == HS_OK)
        rc = hs_act_task_metric(&task, heads, n_heads, hooks, value, err);
    hs_act_free(act);
    hs_hooks_free(hooks);
    return rc;
}

static hs_act_head *copy_heads(const hs_act_head *h, int n)
{
    hs_act_head *c = malloc((size_t)(n > 0 ? n : 1) * sizeof *c);
    if (c && n > 0)
        memcpy(c, h, (size_t)n * sizeof *c);
    return c;
}

hs_status hs_act_run(const hs_model *model, const hs_act_run_options *opt, hs_act_run_result *res, hs_error *err)
{
    memset(res, 0, sizeof *res);
    res->calibration_before = res->calibration_after = NAN;
    if (!opt->heldout_path)
        return hs_fail(err, HS_ERR_ARG, "ACT: a held-out task prompt set is required");
    if (opt->n_heads == 0 && !opt->calibration_path)
        return hs_fail(err, HS_ERR_ARG, "ACT: choosing heads needs a calibration task prompt set");
    hs_task_prompts cal = {0}, held = {0};
    hs_act_selection sel = {0};
    hs_status rc;
    if ((rc = hs_task_prompts_load(model, opt->heldout_path, 1, &held, err)) != HS_OK ||
        (opt->calibration_path && (rc = hs_task_prompts_load(model, opt->calibration_path, 1, &cal, err)) != HS_OK))
        goto done;
    res->n_calibration = cal.n, res->n_heldout = held.n;
    res->n_skipped = cal.n_skipped + held.n_skipped;
    if (opt->n_heads > 0) {
        if (!(res->heads = copy_heads(opt->heads, opt->n_heads))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
        res->n_heads = opt->n_heads;
        if (cal.n &&
            ((rc = measure(model, &cal, opt->metric, NULL, 0, opt->beta, opt->tau, &res->calibration_before, err)) !=
                 HS_OK ||
             (rc = measure(model, &cal, opt->metric, res->heads, res->n_heads, opt->beta, opt->tau,
                           &res->calibration_after, err)) != HS_OK))
            goto done;
    } else {
        hs_act_task task = {.model = model, .backend = HS_BACKEND_CPU, .prompts = cal.prompts, .n_prompts = cal.n,
                            .kind = opt->metric};
        if ((rc = hs_act_select(opt->candidates, opt->n_candidates, opt->beta, opt->tau, opt->mode, hs_act_task_metric,
                                &task, &sel, err)) != HS_OK)
            goto done;
        res->heads = sel.heads, res->n_heads = sel.n_heads, sel.heads = NULL;
        res->trial = sel.trial, sel.trial = NULL;
        res->calibration_before = sel.baseline, res->calibration_after = sel.final;
        res->n_candidates = opt->n_candidates;
        if (!(res->candidates = copy_heads(opt->candidates, opt->n_candidates))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    for (int after = 0; after < 2 && rc == HS_OK; after++) { /* one pass gives both metrics */
        hs_hooks *hooks = NULL;
        hs_act *act = NULL;
        hs_task_eval ev;
        if ((rc = hs_hooks_new(&hooks, err)) == HS_OK &&
            (rc = hs_act_install(hooks, res->heads, after ? res->n_heads : 0, opt->beta, opt->tau, &act, err)) ==
                HS_OK &&
            (rc = hs_task_eval_run(model, &held, hooks, &ev, err)) == HS_OK) {
            res->heldout_accuracy[after] = ev.pair_acc;
            res->heldout_logit_diff[after] = ev.logit_diff;
        }
        hs_act_free(act);
        hs_hooks_free(hooks);
    }
done:
    hs_act_selection_free(&sel);
    hs_task_prompts_free(&cal), hs_task_prompts_free(&held);
    if (rc != HS_OK)
        hs_act_run_result_free(res);
    return rc;
}

hs_status hs_act_run_scores(const hs_act_run_options *opt, const hs_act_run_result *res, const char *model_path,
                            const char *model_sha256, hs_score_table *t, hs_error *err)
{
    json_t *heads = json_array();
    for (int j = 0; j < res->n_heads; j++)
        json_array_append_new(heads, json_pack("[i, i]", res->heads[j].layer, res->heads[j].head));
    HS_TRY(hs_score_table_set_provenance(
        t,
        json_pack("{s:f, s:f, s:s, s:s, s:o, s:s?, s:s, s:b}", "beta", (double)opt->beta, "tau", (double)opt->tau,
                  "select", opt->mode == HS_ACT_SELECT_GREEDY ? "greedy" : "each", "metric",
                  opt->metric == HS_ACT_TASK_ACCURACY ? "accuracy" : "logit_diff", "heads", heads, "calibration",
                  opt->calibration_path, "heldout", opt->heldout_path, "heads_given", opt->n_heads > 0),
        model_path, model_sha256, err));
    for (int i = 0; i < res->n_candidates; i++) {
        const hs_act_head *c = &res->candidates[i];
        int kept = 0;
        for (int j = 0; j < res->n_heads; j++)
            kept |= res->heads[j].layer == c->layer && res->heads[j].head == c->head;
        HS_TRY(hs_score_table_add(t, "act_trial", c->layer, c->head, -1, res->trial ? res->trial[i] : NAN, err));
        HS_TRY(hs_score_table_add(t, "act_selected", c->layer, c->head, -1, kept, err));
    }
    if (res->n_candidates == 0)
        for (int j = 0; j < res->n_heads; j++)
            HS_TRY(hs_score_table_add(t, "act_selected", res->heads[j].layer, res->heads[j].head, -1, 1, err));
    HS_TRY(hs_score_table_add(t, "calibration_before", -1, -1, -1, res->calibration_before, err));
    HS_TRY(hs_score_table_add(t, "calibration_after", -1, -1, -1, res->calibration_after, err));
    HS_TRY(hs_score_table_add(t, "heldout_accuracy_before", -1, -1, -1, res->heldout_accuracy[0], err));
    HS_TRY(hs_score_table_add(t, "heldout_accuracy_after", -1, -1, -1, res->heldout_accuracy[1], err));
    HS_TRY(hs_score_table_add(t, "heldout_logit_diff_before", -1, -1, -1, res->heldout_logit_diff[0], err));
    HS_TRY(hs_score_table_add(t, "heldout_logit_diff_after", -1, -1, -1, res->heldout_logit_diff[1], err));
    return HS_OK;
}
