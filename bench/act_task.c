/* act_task.c — the ACT calibration's effect on a task, measured honestly: heads are chosen on a
 * calibration set (each head alone against the baseline, the authors' procedure) and the effect
 * is reported on held-out prompts built from other names and templates. The task is an
 * indirect-object completion the model can only sometimes do ("Lily and Tom went to the park.
 * Tom gave the ball to" -> " Lily", wrong " Tom"). Prints figures; not a test.
 *
 *   make bench/bench-act && bench/bench-act MODEL [beta tau]     (MODEL: e.g. stories260K.bin) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/act.h"
#include "headscope.h"

static const char *names_cal[] = {"Lily", "Tom", "Ben", "Sue", "Mia", "Max"};
static const char *names_test[] = {"Anna", "Sam", "Tim", "Lucy", "Jack", "Amy"};
static const char *templates_cal[] = {
    "%s and %s went to the park. %s gave the ball to",
    "%s and %s were playing with a toy. %s gave the toy to",
    "%s and %s had a cake. %s gave a piece to",
};
static const char *templates_test[] = {
    "%s and %s went to the store. %s gave the apple to",
    "%s and %s found a big box. %s showed the box to",
    "One day, %s and %s saw a bird. %s said to",
};

/* Builds the prompts of one set; returns the count. Pairs whose names start with the same token
 * are skipped (answer and wrong would be one token). */
static int build(const hs_tokenizer *tok, const char **names, int n_names, const char **templates, int n_templates,
                 hs_act_task_prompt *out, int cap)
{
    int n = 0;
    hs_error err = {0};
    for (int t = 0; t < n_templates; t++)
        for (int a = 0; a < n_names; a++)
            for (int b = 0; b < n_names; b++) {
                if (a == b || n == cap)
                    continue;
                char text[512], with_a[600], with_b[600];
                snprintf(text, sizeof text, templates[t], names[a], names[b], names[b]);
                snprintf(with_a, sizeof with_a, "%s %s", text, names[a]);
                snprintf(with_b, sizeof with_b, "%s %s", text, names[b]);
                /* the answer is the first token the continuation adds to the prompt's own tokens */
                int32_t *ids = NULL, *ia = NULL, *iw = NULL;
                size_t n_ids, na, nw;
                if (hs_tokenizer_encode(tok, text, strlen(text), 1, &ids, &n_ids, &err) != HS_OK ||
                    hs_tokenizer_encode(tok, with_a, strlen(with_a), 1, &ia, &na, &err) != HS_OK ||
                    hs_tokenizer_encode(tok, with_b, strlen(with_b), 1, &iw, &nw, &err) != HS_OK || na <= n_ids ||
                    nw <= n_ids || memcmp(ia, ids, n_ids * sizeof *ids) || memcmp(iw, ids, n_ids * sizeof *ids) ||
                    ia[n_ids] == iw[n_ids]) {
                    free(ids), free(ia), free(iw);
                    continue;
                }
                ia[0] = ia[n_ids];
                iw[0] = iw[n_ids];
                out[n++] = (hs_act_task_prompt){.ids = ids, .n_ids = (int)n_ids, .answer = ia[0], .wrong = iw[0]};
                free(ia), free(iw);
            }
    return n;
}

static double metric(hs_act_task *task, const hs_act_head *heads, int n_heads, float beta, float tau)
{
    hs_error err = {0};
    hs_hooks *hooks = NULL;
    hs_act *act = NULL;
    double v = -1;
    if (hs_hooks_new(&hooks, &err) == HS_OK && hs_act_install(hooks, heads, n_heads, beta, tau, &act, &err) == HS_OK &&
        hs_act_task_metric(task, heads, n_heads, hooks, &v, &err) == HS_OK) {
    } else {
        fprintf(stderr, "act_task: %s\n", err.msg);
        exit(1);
    }
    hs_act_free(act);
    hs_hooks_free(hooks);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL [beta tau]\n", argv[0]);
        return 2;
    }
    float beta = argc > 2 ? (float)atof(argv[2]) : 0.4f, tau = argc > 3 ? (float)atof(argv[3]) : 0.1f;
    hs_error err = {0};
    hs_model *m;
    if (hs_model_open(argv[1], NULL, &m, &err) != HS_OK) {
        fprintf(stderr, "act_task: %s\n", err.msg);
        return 1;
    }
    hs_model_info info;
    hs_model_get_info(m, &info);
    static hs_act_task_prompt cal[256], test[256];
    int n_cal = build(hs_model_tokenizer(m), names_cal, 6, templates_cal, 3, cal, 256);
    int n_test = build(hs_model_tokenizer(m), names_test, 6, templates_test, 3, test, 256);
    hs_act_task tc = {.model = m, .backend = HS_BACKEND_CPU, .prompts = cal, .n_prompts = n_cal,
                      .kind = HS_ACT_TASK_ACCURACY};
    hs_act_task tt = {.model = m, .backend = HS_BACKEND_CPU, .prompts = test, .n_prompts = n_test,
                      .kind = HS_ACT_TASK_ACCURACY};
    int L = info.n_layers, H = info.n_heads;
    hs_act_head *cand = malloc(sizeof *cand * (size_t)(L * H));
    for (int i = 0; i < L * H; i++)
        cand[i] = (hs_act_head){i / H, i % H};
    hs_act_selection sel;
    if (hs_act_select(cand, L * H, beta, tau, HS_ACT_SELECT_EACH, hs_act_task_metric, &tc, &sel, &err) != HS_OK) {
        fprintf(stderr, "act_task: %s\n", err.msg);
        return 1;
    }
    printf("model %s: %d layers x %d heads; ACT beta %.2f tau %.2f; calibration %d prompts, held-out %d prompts\n",
           argv[1], L, H, beta, tau, n_cal, n_test);
    printf("heads kept on the calibration set (each alone improves accuracy):");
    for (int i = 0; i < sel.n_heads; i++)
        printf(" L%dH%d", sel.heads[i].layer, sel.heads[i].head);
    printf("%s\n", sel.n_heads ? "" : " none");
    printf("calibration accuracy: %.3f -> %.3f\n", sel.baseline, sel.final);
    double acc0 = metric(&tt, NULL, 0, beta, tau), acc1 = metric(&tt, sel.heads, sel.n_heads, beta, tau);
    tt.kind = HS_ACT_TASK_LOGIT_DIFF;
    double ld0 = metric(&tt, NULL, 0, beta, tau), ld1 = metric(&tt, sel.heads, sel.n_heads, beta, tau);
    printf("held-out accuracy:    %.3f -> %.3f\n", acc0, acc1);
    printf("held-out logit diff:  %.3f -> %.3f\n", ld0, ld1);
    hs_act_selection_free(&sel);
    for (int i = 0; i < n_cal; i++)
        free((void *)cal[i].ids);
    for (int i = 0; i < n_test; i++)
        free((void *)test[i].ids);
    free(cand);
    hs_model_close(m);
    return 0;
}
