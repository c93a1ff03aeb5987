/* task_eval.h — how well a model does a task: on a task set (analyses/tasks/task_prompts.h), one forward pass
 * per prompt, read at the prompt's last position. */
#ifndef HS_ANALYSES_TASKS_TASK_EVAL_H
#define HS_ANALYSES_TASKS_TASK_EVAL_H

#include "headscope.h"
#include "analyses/tasks/task_prompts.h"

typedef struct hs_task_eval {
    int n;             /* prompts scored */
    double top1;       /* fraction whose most likely next token is the answer's first token */
    double p_answer;   /* mean probability of the answer token */
    int n_pair;        /* prompts with a wrong answer */
    double pair_acc;   /* fraction of those with logit[answer] > logit[wrong] (NaN when n_pair = 0) */
    double logit_diff; /* mean logit[answer] - logit[wrong] over those (NaN when n_pair = 0) */
} hs_task_eval;

/* hooks (may be NULL) are passed to every forward pass: an intervention such as ACT's is measured
 * with the same code as the plain model. */
hs_status hs_task_eval_run(const hs_model *model, const hs_task_prompts *set, hs_hooks *hooks, hs_task_eval *out,
                           hs_error *err);

#endif
