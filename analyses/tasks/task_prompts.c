/* task_prompts.c — loading a task prompt set for a model: tokenise, find the answer tokens. */
#include "analyses/tasks/task_prompts.h"

#include <stdlib.h>
#include <string.h>

#include "analyses/tasks/answer_token.h"
#include "base/error.h"
#include "datasets/prompts.h"
#include "model/model.h"

void hs_task_prompts_free(hs_task_prompts *ts)
{
    for (int i = 0; i < ts->n; i++)
        free((void *)ts->prompts[i].ids);
    free(ts->prompts);
    ts->prompts = NULL, ts->n = 0;
}

hs_status hs_task_prompts_load(const hs_model *model, const char *path, int need_wrong, hs_task_prompts *ts, hs_error *err)
{
    memset(ts, 0, sizeof *ts);
    const hs_tokenizer *tok = hs_model_tokenizer(model);
    if (!tok)
        return hs_fail(err, HS_ERR_MISSING, "%s: the model has no tokenizer to encode %s with", model->path, path);
    hs_prompt_set *set = NULL;
    HS_TRY(hs_prompt_set_load(path, &set, err));
    hs_status rc = HS_OK;
    if (set->n < 1) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: no prompts", path);
        goto done;
    }
    if (!(ts->prompts = calloc((size_t)set->n, sizeof *ts->prompts))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < set->n; i++) {
        const hs_prompt *p = &set->prompts[i];
        int has_wrong = p->wrong && *p->wrong;
        if (!p->text || !p->answer || !*p->answer || (need_wrong && !has_wrong)) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s:%d: a task prompt needs \"text\" (or \"clean\"), \"answer\"%s", path,
                         p->line, need_wrong ? " and \"wrong\"" : "");
            goto done;
        }
        int32_t *ids = NULL;
        size_t n_ids = 0;
        if ((rc = hs_tokenizer_encode(tok, p->text, strlen(p->text), 1, &ids, &n_ids, err)) != HS_OK) {
            hs_error_prefix(err, "%s:%d", path, p->line);
            goto done;
        }
        hs_act_task_prompt *tp = &ts->prompts[ts->n++];
        tp->ids = ids, tp->n_ids = (int)n_ids;
        if (n_ids < 1) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s:%d: the text gives no tokens", path, p->line);
            goto done;
        }
        tp->wrong = -1;
        if ((rc = hs_answer_token(tok, p->text, p->answer, ids, (int)n_ids, &tp->answer, err)) != HS_OK ||
            (has_wrong && (rc = hs_answer_token(tok, p->text, p->wrong, ids, (int)n_ids, &tp->wrong, err)) != HS_OK)) {
            hs_error_prefix(err, "%s:%d", path, p->line);
            goto done;
        }
        if (tp->answer < 0 || (has_wrong && tp->wrong < 0)) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s:%d: answer \"%s\" or wrong \"%s\" gives no token", path, p->line,
                         p->answer, has_wrong ? p->wrong : "");
            goto done;
        }
        if (tp->answer == tp->wrong) { /* the first tokens cannot tell them apart: not scorable */
            free(ids);
            ts->n--, ts->n_skipped++;
        }
    }
    if (rc == HS_OK && ts->n == 0)
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: every answer begins with the same token as its wrong answer", path);
done:
    hs_prompt_set_free(set);
    if (rc != HS_OK)
        hs_task_prompts_free(ts);
    return rc;
}
