/* task_eval.c — top-1 accuracy, answer probability and answer-vs-wrong logit difference of a task
 * set, prompt by prompt. */
#include "analyses/tasks/task_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

hs_status hs_task_eval_run(const hs_model *model, const hs_task_prompts *set, hs_hooks *hooks, hs_task_eval *out,
                           hs_error *err)
{
    memset(out, 0, sizeof *out);
    int V = model->cfg.d_vocab, max_n = 0;
    for (int i = 0; i < set->n; i++)
        if (set->prompts[i].n_ids > max_n)
            max_n = set->prompts[i].n_ids;
    float *logits = malloc((size_t)(max_n > 0 ? max_n : 1) * (size_t)V * sizeof *logits);
    if (!logits)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory for logits");
    double top1 = 0, p_sum = 0, pair = 0, diff = 0;
    hs_status rc = HS_OK;
    for (int i = 0; i < set->n; i++) {
        const hs_act_task_prompt *p = &set->prompts[i];
        if (p->answer < 0 || p->answer >= V || p->wrong >= V) {
            rc = hs_fail(err, HS_ERR_RANGE, "task prompt %d: answer %d or wrong %d outside the vocabulary (%d)", i,
                         (int)p->answer, (int)p->wrong, V);
            goto done;
        }
        hs_batch b = {.ids = p->ids, .n_batch = 1, .n_pos = p->n_ids};
        if ((rc = hs_forward(model, &b, hooks, HS_BACKEND_CPU, logits, err)) != HS_OK) {
            hs_error_prefix(err, "task prompt %d", i);
            goto done;
        }
        const float *last = logits + (size_t)(p->n_ids - 1) * V;
        int best = 0;
        float mx = last[0];
        for (int v = 1; v < V; v++)
            if (last[v] > mx)
                mx = last[v], best = v;
        double z = 0;
        for (int v = 0; v < V; v++)
            z += exp((double)last[v] - mx);
        top1 += best == p->answer;
        p_sum += exp((double)last[p->answer] - mx) / z;
        if (p->wrong >= 0) {
            double d = (double)last[p->answer] - (double)last[p->wrong];
            pair += d > 0;
            diff += d;
            out->n_pair++;
        }
    }
    out->n = set->n;
    out->top1 = set->n ? top1 / set->n : NAN;
    out->p_answer = set->n ? p_sum / set->n : NAN;
    out->pair_acc = out->n_pair ? pair / out->n_pair : NAN;
    out->logit_diff = out->n_pair ? diff / out->n_pair : NAN;
done:
    free(logits);
    return rc;
}
