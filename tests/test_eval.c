/* test_eval.c — task sets and their evaluation: answers reduced to tokens, lines that cannot be
 * scored left out and counted, every metric against a plain recomputation from the logits, and the
 * `headscope eval` command with its error messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/tasks/task_eval.h"
#include "analyses/tasks/task_prompts.h"
#include "model/model.h"
#include "model/planted_model.h"
#include "tests/test.h"

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(text, f);
    fclose(f);
    return TEST_PASS;
}

int test_eval_task_metrics(void)
{
    char dir[256], model_dir[512], set_path[512], bad[512], out[8192], args[2048];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(model_dir, sizeof model_dir, "%s/planted", dir);
    snprintf(set_path, sizeof set_path, "%s/task.jsonl", dir);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", dir);
    hs_error err = {0};
    CHECK_OK(hs_planted_model_write(model_dir, &err), &err);
    /* line 3 has no wrong answer (top-1 only); line 4's answer and wrong begin alike (left out) */
    CHECK(write_file(set_path, "{\"text\": \"abcdeabcd\", \"answer\": \"e\", \"wrong\": \"a\"}\n"
                               "{\"clean\": \"xyzxy\", \"answer\": \"z\", \"wrong\": \"q\"}\n"
                               "{\"text\": \"mnopmno\", \"answer\": \"p\"}\n"
                               "{\"text\": \"abab\", \"answer\": \"a\", \"wrong\": \"a\"}\n"
                               "{\"text\": \"qrsqr\", \"answer\": \"s\", \"wrong\": \"r\"}\n") == TEST_PASS);
    hs_model *m = NULL;
    CHECK_OK(hs_model_open(model_dir, NULL, &m, &err), &err);
    hs_task_prompts set = {0};
    CHECK_OK(hs_task_prompts_load(m, set_path, 0, &set, &err), &err);
    CHECK(set.n == 4 && set.n_skipped == 1);
    CHECK(set.prompts[2].wrong == -1 && set.prompts[0].wrong >= 0);
    hs_task_eval ev;
    CHECK_OK(hs_task_eval_run(m, &set, NULL, &ev, &err), &err);
    /* recomputed from the logits of each prompt */
    int V = m->cfg.d_vocab;
    float *logits = malloc((size_t)64 * V * sizeof *logits);
    CHECK(logits);
    double top1 = 0, p = 0, pair = 0, diff = 0;
    int n_pair = 0;
    for (int i = 0; i < set.n; i++) {
        const hs_act_task_prompt *tp = &set.prompts[i];
        hs_batch b = {.ids = tp->ids, .n_batch = 1, .n_pos = tp->n_ids};
        CHECK_OK(hs_forward(m, &b, NULL, HS_BACKEND_CPU, logits, &err), &err);
        const float *last = logits + (size_t)(tp->n_ids - 1) * V;
        int best = 0;
        for (int v = 1; v < V; v++)
            best = last[v] > last[best] ? v : best;
        double z = 0;
        for (int v = 0; v < V; v++)
            z += exp((double)last[v]);
        top1 += best == tp->answer;
        p += exp((double)last[tp->answer]) / z;
        if (tp->wrong >= 0) {
            pair += last[tp->answer] > last[tp->wrong];
            diff += (double)last[tp->answer] - last[tp->wrong];
            n_pair++;
        }
    }
    free(logits);
    CHECK(ev.n == 4 && ev.n_pair == 3 && n_pair == 3);
    CHECK_NEAR(ev.top1, top1 / 4, 0);
    CHECK_NEAR(ev.p_answer, p / 4, 1e-9);
    CHECK_NEAR(ev.pair_acc, pair / 3, 0);
    CHECK_NEAR(ev.logit_diff, diff / 3, 1e-9);
    /* the pairwise metrics agree with the ACT task metric's */
    hs_act_task_prompt pairs[3];
    int k = 0;
    for (int i = 0; i < set.n; i++)
        if (set.prompts[i].wrong >= 0)
            pairs[k++] = set.prompts[i];
    hs_act_task task = {.model = m, .backend = HS_BACKEND_CPU, .prompts = pairs, .n_prompts = 3,
                        .kind = HS_ACT_TASK_LOGIT_DIFF};
    double v;
    CHECK_OK(hs_act_task_metric(&task, NULL, 0, NULL, &v, &err), &err);
    CHECK_NEAR(v, ev.logit_diff, 1e-9);
    hs_task_prompts_free(&set);
    /* a set that needs wrong answers refuses line 3, naming it */
    CHECK(hs_task_prompts_load(m, set_path, 1, &set, &err) == HS_ERR_FORMAT && set.n == 0);
    CHECK_MSG(strstr(err.msg, "task.jsonl:3: a task prompt needs"), "%s", err.msg);
    hs_model_close(m);

    /* the command */
    snprintf(args, sizeof args, "eval --model %s %s", model_dir, set_path);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "task.jsonl") && strstr(out, "top-1") && strstr(out, "(1 left out"), "%s", out);
    snprintf(args, sizeof args, "eval --model %s --csv %s", model_dir, set_path);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    char want[128];
    snprintf(want, sizeof want, ",4,%.6f,", ev.top1);
    CHECK_MSG(strstr(out, want), "%s (wanted %s)", out, want);
    CHECK(write_file(bad, "{\"text\": \"abc\", \"answer\": \"d\"}\n{\"text\": \"abc\"}\n") == TEST_PASS);
    snprintf(args, sizeof args, "eval --model %s %s", model_dir, bad);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "bad.jsonl:2: a task prompt needs \"text\" (or \"clean\"), \"answer\""), "%s", out);
    CHECK(test_run_headscope("eval --model x", out, sizeof out) == 2 && strstr(out, "name at least one prompt set"));
    return TEST_PASS;
}
