/* task_prompts.h — a task prompt set as the model sees it: JSONL prompts (datasets/prompts.h) with an
 * answer (and usually a wrong answer), tokenised with the model's tokenizer and BOS rule, each
 * answer reduced to the first token it adds to its prompt (analyses/tasks/answer_token.h). What task
 * metrics (accuracy, logit difference) and the ACT calibration read. */
#ifndef HS_ANALYSES_TASKS_TASK_PROMPTS_H
#define HS_ANALYSES_TASKS_TASK_PROMPTS_H

#include "headscope.h"
#include "analyses/sinks/act.h"

typedef struct hs_task_prompts {
    hs_act_task_prompt *prompts; /* [n]; each ids malloc'd; wrong = -1 when the line has none */
    int n;
    int n_skipped;               /* lines left out: answer and wrong begin with the same token */
} hs_task_prompts;

/* Loads `path`: every line needs "text" (or "clean") and "answer"; with need_wrong also "wrong".
 * A line whose answer and wrong answer begin with the same token cannot be scored by a pairwise
 * metric and is left out (counted in n_skipped). Errors name the file and line. On failure *ts is
 * empty. */
hs_status hs_task_prompts_load(const hs_model *model, const char *path, int need_wrong, hs_task_prompts *ts, hs_error *err);
void hs_task_prompts_free(hs_task_prompts *ts);

#endif
