/* act.c — the ACT rewrite of attention rows, installed as hook_pattern interventions, and the
 * selection of the heads to calibrate on a task metric (definitions in act.h). */
#include "analyses/sinks/act.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/sinks/sinks.h"
#include "base/error.h"
#include "model/model.h"

int hs_act_sink_set(const float *pattern, int T, float tau, float *alpha, unsigned char *in_s)
{
    hs_sinks_scores(pattern, T, T, alpha);
    int count = 0;
    in_s[0] = 0;
    for (int k = 1; k < T; k++) {
        in_s[k] = (double)alpha[k] > (double)tau;
        count += in_s[k];
    }
    return count;
}

int hs_act_rewrite_rows(float *pattern, int T, const unsigned char *in_s, float beta)
{
    int changed = 0;
    for (int i = 0; i < T; i++) {
        float *row = pattern + (size_t)i * T;
        double sink = 0.0, rest = 0.0;
        for (int k = 0; k <= i; k++) {
            if (in_s[k])
                sink += row[k];
            else
                rest += row[k];
        }
        if (!(sink > 0.0) || !(rest > 0.0))
            continue; /* nothing to move, or nowhere to put it */
        /* every non-sink key grows by the same factor, so the freed mass is shared in proportion */
        double grow = 1.0 + (1.0 - (double)beta) * sink / rest;
        for (int k = 0; k <= i; k++) {
            if (in_s[k])
                row[k] = beta * row[k];
            else
                row[k] = (float)(row[k] * grow);
        }
        changed++;
    }
    return changed;
}

int hs_act_calibrate(float *pattern, int T, float beta, float tau, float *alpha, unsigned char *in_s)
{
    int n = hs_act_sink_set(pattern, T, tau, alpha, in_s);
    if (n > 0)
        hs_act_rewrite_rows(pattern, T, in_s, beta);
    return n;
}

/* ------------------------------------------------------------------ the intervention */

struct hs_act {
    hs_act_head *heads; /* [n_heads] sorted by (layer, head), no duplicates */
    int n_heads;
    float beta, tau;
    int64_t n_patterns, n_sinks, n_rows;
};

static int head_cmp(const void *a, const void *b)
{
    const hs_act_head *x = a, *y = b;
    if (x->layer != y->layer)
        return x->layer < y->layer ? -1 : 1;
    return (x->head > y->head) - (x->head < y->head);
}

/* hook_pattern of one layer: t is [batch, head, query_pos, key_pos]. */
static hs_status act_intervene(void *user, const hs_hook_point *hp, hs_tensor *t)
{
    hs_act *act = user;
    if (t->ndim != 4 || t->shape[2] != t->shape[3])
        return HS_ERR_SHAPE;
    int64_t B = t->shape[0], H = t->shape[1];
    int T = (int)t->shape[2];
    float *alpha = malloc((size_t)T * sizeof *alpha);
    unsigned char *in_s = malloc((size_t)T);
    hs_status rc = HS_OK;
    if (!alpha || !in_s) {
        rc = HS_ERR_NOMEM;
        goto done;
    }
    for (int j = 0; j < act->n_heads; j++) {
        const hs_act_head *h = &act->heads[j];
        if (h->layer != hp->layer)
            continue;
        if (h->head >= H) {
            rc = HS_ERR_RANGE;
            goto done;
        }
        for (int64_t b = 0; b < B; b++) {
            float *pattern = t->data + (size_t)(b * H + h->head) * (size_t)T * (size_t)T;
            int n = hs_act_sink_set(pattern, T, act->tau, alpha, in_s);
            act->n_patterns++;
            act->n_sinks += n;
            if (n > 0)
                act->n_rows += hs_act_rewrite_rows(pattern, T, in_s, act->beta);
        }
    }
done:
    free(alpha);
    free(in_s);
    return rc;
}

hs_status hs_act_install(hs_hooks *hooks, const hs_act_head *heads, int n_heads, float beta, float tau,
                         hs_act **out, hs_error *err)
{
    *out = NULL;
    if (!hooks || n_heads < 0 || (n_heads > 0 && !heads))
        return hs_fail(err, HS_ERR_ARG, "ACT: missing hooks or heads");
    if (!(beta >= 0.0f && beta <= 1.0f) || !(tau >= 0.0f))
        return hs_fail(err, HS_ERR_ARG, "ACT: beta %g must be in [0, 1] and tau %g >= 0", (double)beta, (double)tau);
    for (int j = 0; j < n_heads; j++)
        if (heads[j].layer < 0 || heads[j].head < 0)
            return hs_fail(err, HS_ERR_RANGE, "ACT: head %d.%d is invalid", heads[j].layer, heads[j].head);
    hs_act *act = calloc(1, sizeof *act);
    hs_status rc = HS_OK;
    if (!act || (n_heads > 0 && !(act->heads = malloc((size_t)n_heads * sizeof *act->heads)))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "ACT: out of memory");
        goto fail;
    }
    act->beta = beta;
    act->tau = tau;
    if (n_heads > 0) {
        memcpy(act->heads, heads, (size_t)n_heads * sizeof *heads);
        qsort(act->heads, (size_t)n_heads, sizeof *act->heads, head_cmp);
    }
    for (int j = 0; j < n_heads; j++)
        if (act->n_heads == 0 || head_cmp(&act->heads[act->n_heads - 1], &act->heads[j]) != 0)
            act->heads[act->n_heads++] = act->heads[j];
    /* one registration per layer, so only those layers' patterns are asked for */
    for (int j = 0; j < act->n_heads; j++) {
        if (j > 0 && act->heads[j].layer == act->heads[j - 1].layer)
            continue;
        char name[64];
        hs_hook_point hp = {HS_HOOK_PATTERN, act->heads[j].layer};
        hs_hook_point_name(&hp, name, sizeof name);
        if ((rc = hs_hooks_intervene_fn(hooks, name, act_intervene, act, err)) != HS_OK)
            goto fail;
    }
    *out = act;
    return HS_OK;
fail:
    hs_act_free(act);
    return rc;
}

void hs_act_free(hs_act *act)
{
    if (!act)
        return;
    free(act->heads);
    free(act);
}

void hs_act_stats(const hs_act *act, int64_t *n_patterns, int64_t *n_sinks, int64_t *n_rows)
{
    if (n_patterns)
        *n_patterns = act ? act->n_patterns : 0;
    if (n_sinks)
        *n_sinks = act ? act->n_sinks : 0;
    if (n_rows)
        *n_rows = act ? act->n_rows : 0;
}

/* ------------------------------------------------------------------ head selection */

/* The metric with the given heads calibrated (none: the baseline). */
static hs_status trial(const hs_act_head *heads, int n, float beta, float tau, hs_act_metric_fn metric, void *user,
                       double *value, hs_error *err)
{
    hs_hooks *hooks = NULL;
    hs_act *act = NULL;
    hs_status rc = hs_hooks_new(&hooks, err);
    if (rc != HS_OK)
        goto done;
    if ((rc = hs_act_install(hooks, heads, n, beta, tau, &act, err)) != HS_OK)
        goto done;
    rc = metric(user, heads, n, hooks, value, err);
done:
    hs_hooks_free(hooks);
    hs_act_free(act);
    return rc;
}

void hs_act_selection_free(hs_act_selection *sel)
{
    if (!sel)
        return;
    free(sel->heads);
    free(sel->trial);
    memset(sel, 0, sizeof *sel);
}

hs_status hs_act_select(const hs_act_head *candidates, int n_candidates, float beta, float tau,
                        hs_act_select_mode mode, hs_act_metric_fn metric, void *user, hs_act_selection *sel,
                        hs_error *err)
{
    memset(sel, 0, sizeof *sel);
    if (!metric || n_candidates < 0 || (n_candidates > 0 && !candidates))
        return hs_fail(err, HS_ERR_ARG, "ACT selection: missing metric or candidates");
    if (mode != HS_ACT_SELECT_EACH && mode != HS_ACT_SELECT_GREEDY)
        return hs_fail(err, HS_ERR_ARG, "ACT selection: unknown mode %d", (int)mode);
    size_t n = n_candidates > 0 ? (size_t)n_candidates : 1;
    /* kept heads, with one spare slot for the candidate on trial */
    hs_act_head *kept = malloc((n + 1) * sizeof *kept);
    sel->trial = malloc(n * sizeof *sel->trial);
    hs_status rc = HS_OK;
    if (!kept || !sel->trial) {
        rc = hs_fail(err, HS_ERR_NOMEM, "ACT selection: out of memory");
        goto fail;
    }
    if ((rc = trial(NULL, 0, beta, tau, metric, user, &sel->baseline, err)) != HS_OK)
        goto fail;
    int n_kept = 0;
    double best = sel->baseline;
    for (int c = 0; c < n_candidates; c++) {
        double v;
        if (mode == HS_ACT_SELECT_EACH) {
            if ((rc = trial(&candidates[c], 1, beta, tau, metric, user, &v, err)) != HS_OK)
                goto fail;
            if (v > sel->baseline)
                kept[n_kept++] = candidates[c];
        } else {
            kept[n_kept] = candidates[c];
            if ((rc = trial(kept, n_kept + 1, beta, tau, metric, user, &v, err)) != HS_OK)
                goto fail;
            if (v > best) {
                best = v;
                n_kept++;
            }
        }
        sel->trial[c] = v;
    }
    if (mode == HS_ACT_SELECT_EACH && n_kept > 0) {
        if ((rc = trial(kept, n_kept, beta, tau, metric, user, &best, err)) != HS_OK)
            goto fail;
    }
    sel->final = best;
    sel->heads = kept;
    sel->n_heads = n_kept;
    return HS_OK;
fail:
    free(kept);
    hs_act_selection_free(sel);
    return rc;
}

/* ------------------------------------------------------------------ a task metric */

hs_status hs_act_task_metric(void *user, const hs_act_head *heads, int n_heads, hs_hooks *hooks, double *value,
                             hs_error *err)
{
    (void)heads;
    (void)n_heads;
    const hs_act_task *task = user;
    if (!task || !task->model || task->n_prompts < 1 || !task->prompts)
        return hs_fail(err, HS_ERR_ARG, "ACT task: no model or no prompts");
    int V = task->model->cfg.d_vocab, max_n = 0;
    for (int p = 0; p < task->n_prompts; p++) {
        const hs_act_task_prompt *pr = &task->prompts[p];
        if (!pr->ids || pr->n_ids < 1)
            return hs_fail(err, HS_ERR_ARG, "ACT task: prompt %d is empty", p);
        if (pr->answer < 0 || pr->answer >= V || pr->wrong < 0 || pr->wrong >= V)
            return hs_fail(err, HS_ERR_RANGE, "ACT task: prompt %d: answer %d or wrong %d outside the vocabulary (%d)",
                           p, (int)pr->answer, (int)pr->wrong, V);
        if (pr->n_ids > max_n)
            max_n = pr->n_ids;
    }
    float *logits = malloc((size_t)max_n * (size_t)V * sizeof *logits);
    if (!logits)
        return hs_fail(err, HS_ERR_NOMEM, "ACT task: out of memory for logits");
    hs_status rc = HS_OK;
    double sum = 0.0;
    for (int p = 0; p < task->n_prompts; p++) {
        const hs_act_task_prompt *pr = &task->prompts[p];
        hs_batch b = {.ids = pr->ids, .n_batch = 1, .n_pos = pr->n_ids};
        if ((rc = hs_forward(task->model, &b, hooks, task->backend, logits, err)) != HS_OK) {
            hs_error_prefix(err, "ACT task: prompt %d", p);
            goto done;
        }
        const float *last = logits + (size_t)(pr->n_ids - 1) * V;
        double diff = (double)last[pr->answer] - (double)last[pr->wrong];
        sum += task->kind == HS_ACT_TASK_ACCURACY ? (diff > 0.0) : diff;
    }
    *value = sum / task->n_prompts;
done:
    free(logits);
    return rc;
}
