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
    while ((c = getopt_long(argc, argv, "m:t:h", opts, NULL)) != -1) {
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
    int status = 0;
    if (csv)
        printf("set,prompts,top1,p_answer,pair_acc,logit_diff,skipped\n");
    else
        printf("%-32s %7s %7s %9s %9s %10s\n", "set", "prompts", "top-1", "P(answer)", "ans>wrong", "logit diff");
    for (int i = optind; i < argc && status == 0; i++) {
        hs_error err = {0};
        hs_task_prompts set = {0};
        hs_task_eval ev;
        if (hs_task_prompts_load(m, argv[i], 0, &set, &err) != HS_OK ||
            hs_task_eval_run(m, &set, NULL, &ev, &err) != HS_OK) {
            status = cli_fail("eval", &err);
        } else if (csv) {
            printf("%s,%d,%.6f,%.6f,%.6f,%.6f,%d\n", argv[i], ev.n, ev.top1, ev.p_answer, ev.pair_acc, ev.logit_diff,
                   set.n_skipped);
        } else {
            const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
            printf("%-32s %7d %7.3f %9.3f %9.3f %10.3f", name, ev.n, ev.top1, ev.p_answer, ev.pair_acc, ev.logit_diff);
            if (set.n_skipped)
                printf("  (%d left out: answer and wrong share their first token)", set.n_skipped);
            printf("\n");
        }
        hs_task_prompts_free(&set);
    }
    hs_model_close(m);
    return status;
}
