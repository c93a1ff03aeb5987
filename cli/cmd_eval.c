/* cmd_eval.c — `headscope eval`: a model's accuracy on task prompt sets (JSONL with answers). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/tasks/task_eval.h"
#include "cli/commands.h"

static const char eval_help[] =
    "usage: headscope eval --model PATH [--tokenizer PATH] [--csv] SET.jsonl...\n"
    "How well the model does each task prompt set (JSONL lines with \"text\" or \"clean\", \"answer\" and\n"
    "usually \"wrong\", as `headscope dataset` writes them), read at each prompt's last position:\n"
    "  top-1       fraction of prompts whose most likely next token is the answer's first token\n"
    "  P(answer)   mean probability of that token\n"
    "  ans>wrong   fraction with logit(answer) > logit(wrong) (lines with a wrong answer)\n"
    "  logit diff  mean logit(answer) - logit(wrong)\n"
    "Lines whose answer and wrong answer begin with the same token are left out and counted.\n"
    "\n"
    "  --model PATH      the model (required)\n"
    "  --tokenizer PATH  a tokenizer.json when the model has none beside it\n"
    "  --csv             print CSV (set,prompts,top1,p_answer,pair_acc,logit_diff,skipped)\n";

int cmd_eval(int argc, char **argv)
{
    const char *model_path = NULL, *tokenizer = NULL;
    int csv = 0;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"tokenizer", required_argument, 0, 't'},
                                         {"csv", no_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 't': tokenizer = optarg; break;
        case 'c': csv = 1; break;
        case 'h': fputs(eval_help, stdout); return 0;
        default: return 2;
        }
    }
    if (!model_path || optind >= argc) {
        fprintf(stderr, "headscope eval: %s\n", model_path ? "name at least one prompt set" : "--model PATH is required");
        return 2;
    }
    hs_model *m = cli_open_model("eval", model_path, tokenizer);
    if (!m)
        return 1;
    /* every set is read before anything is printed: a set that cannot be read stops the command
     * before the table starts (and before the others are evaluated) */
    int n_sets = argc - optind, status = 0;
    hs_task_prompts *sets = calloc((size_t)n_sets, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "headscope eval: out of memory\n");
        hs_model_close(m);
        return 1;
    }
    for (int i = 0; i < n_sets && status == 0; i++) {
        hs_error err = {0};
        if (hs_task_prompts_load(m, argv[optind + i], 0, &sets[i], &err) != HS_OK)
            status = cli_fail("eval", &err);
    }
    if (status == 0 && csv)
        printf("set,prompts,top1,p_answer,pair_acc,logit_diff,skipped\n");
    else if (status == 0)
        printf("%-32s %7s %7s %9s %9s %10s\n", "set", "prompts", "top-1", "P(answer)", "ans>wrong", "logit diff");
    for (int i = 0; i < n_sets && status == 0; i++) {
        hs_error err = {0};
        hs_task_eval ev;
        const char *path = argv[optind + i];
        if (hs_task_eval_run(m, &sets[i], NULL, &ev, &err) != HS_OK) {
            status = cli_fail("eval", &err);
        } else if (csv) {
            printf("%s,%d,%.6f,%.6f,%.6f,%.6f,%d\n", path, ev.n, ev.top1, ev.p_answer, ev.pair_acc, ev.logit_diff,
                   sets[i].n_skipped);
        } else {
            const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
            printf("%-32s %7d %7.3f %9.3f %9.3f %10.3f", name, ev.n, ev.top1, ev.p_answer, ev.pair_acc, ev.logit_diff);
            if (sets[i].n_skipped)
                printf("  (%d left out: answer and wrong share their first token)", sets[i].n_skipped);
            printf("\n");
        }
    }
    for (int i = 0; i < n_sets; i++)
        hs_task_prompts_free(&sets[i]);
    free(sets);
    hs_model_close(m);
    return status;
}
