/* cmd_analyze_sinks.c — `headscope analyze sinks`: first-token sink scores, the sink rate and hidden
 * sinks of every head into head_scores (analysis 'sinks'), from the stored patterns or the model. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/sinks_run.h"
#include "tools/commands.h"

static const char sinks_help[] =
    "usage: headscope analyze sinks --db DB [--model PATH] [--run ID] [--eps X] [--t N] [--tau X]\n"
    "Attention sinks of every head of a recorded run, into head_scores with analysis = 'sinks' (one\n"
    "row per prompt and one with prompt_id NULL holding the mean; rerunning replaces them).\n"
    "\n"
    "  alpha0        sink score of the first token: alpha_k = sum_{i>=k} A[i][k] / (T-k) at k = 0, the\n"
    "                mean attention position 0 receives, with the prompt cut to its first T tokens\n"
    "                (Gu et al., \"When Attention Sink Emerges\"; T = 64; the model's own BOS rule kept)\n"
    "  sink          1 when alpha0 > eps (eps = 0.3), else 0; its mean over prompts is the head's sink rate\n"
    "  sink_rate     per layer (head NULL) and for the model (layer NULL): the fraction of\n"
    "                (prompt, layer, head) with alpha0 > eps, as Gu et al. report it\n"
    "  hidden_sinks  |S| with S = {k > 0 : alpha_k > tau} over the whole prompt (ACT, \"Unveiling and\n"
    "                Harnessing Hidden Attention Sinks\"; tau = 0.1)\n"
    "Prompts shorter than T are used whole and counted (Gu et al. used prompts of at least 64 tokens).\n"
    "\n"
    "  --db DB          the store (required)\n"
    "  --run ID         the run to analyse (default: the latest)\n"
    "  --model PATH     the run's model, when the store lacks patterns (its sha256 must match)\n"
    "  --recompute      run the model even when the store has every pattern\n"
    "  --eps X          sink threshold on alpha0 (default 0.3)\n"
    "  --t N            cut prompts to N tokens for alpha0 (default 64)\n"
    "  --tau X          hidden-sink threshold (default 0.1)\n"
    "  --no-per-prompt  write only the values over the prompt set\n"
    "  --quiet          print nothing on success\n";

static int parse_float(const char *opt, const char *s, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > 1e6) {
        fprintf(stderr, "headscope analyze sinks: %s '%s' is not a positive number\n", opt, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cmd_analyze_sinks(int argc, char **argv)
{
    const char *db = NULL, *model_path = NULL;
    hs_sinks_options opt;
    hs_sinks_options_default(&opt);
    int quiet = 0;
    enum { O_RUN = 256, O_EPS, O_T, O_TAU, O_RECOMPUTE, O_NOPP, O_QUIET };
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},  {"model", required_argument, 0, 'm'},
        {"run", required_argument, 0, O_RUN}, {"eps", required_argument, 0, O_EPS},
        {"t", required_argument, 0, O_T},    {"tau", required_argument, 0, O_TAU},
        {"recompute", no_argument, 0, O_RECOMPUTE}, {"no-per-prompt", no_argument, 0, O_NOPP},
        {"quiet", no_argument, 0, O_QUIET}, {"help", no_argument, 0, 'h'},
        {0}};
    int c;
    while ((c = getopt_long(argc, argv, "d:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'm': model_path = optarg; break;
        case O_RUN:
        case O_T: {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000000) {
                fprintf(stderr, "headscope analyze sinks: %s '%s' is not a positive integer\n",
                        c == O_RUN ? "--run" : "--t", optarg);
                return 2;
            }
            if (c == O_RUN)
                opt.run_id = v;
            else
                opt.t_cut = (int)v;
            break;
        }
        case O_EPS:
            if (parse_float("--eps", optarg, &opt.eps))
                return 2;
            break;
        case O_TAU:
            if (parse_float("--tau", optarg, &opt.tau))
                return 2;
            break;
        case O_RECOMPUTE: opt.source_flags |= HS_PATTERNS_RECOMPUTE; break;
        case O_NOPP: opt.per_prompt = 0; break;
        case O_QUIET: quiet = 1; break;
        case 'h': fputs(sinks_help, stdout); return 0;
        default: return 2;
        }
    }
    if (!db || optind < argc) {
        fprintf(stderr, "headscope analyze sinks: %s\n", db ? "unexpected argument" : "--db DB is required");
        return 2;
    }
    hs_store *store = cli_open_store_for_analysis("analyze sinks", db);
    if (!store)
        return 1;
    hs_model *model = NULL;
    if (model_path && !(model = cli_open_model("analyze sinks", model_path, NULL))) {
        hs_store_close(store);
        return 1;
    }
    hs_error err = {0};
    hs_sinks_result res;
    int status = 0;
    if (hs_sinks_analyze(store, model, &opt, &res, &err) != HS_OK) {
        status = cli_fail("analyze sinks", &err);
    } else if (!quiet) {
        printf("headscope analyze sinks: %s run %lld: %d prompts (%d shorter than %d tokens), %d layers x %d heads: "
               "%zu head_scores rows\n",
               db, (long long)res.source.run.id, res.n_prompts, res.n_short, opt.t_cut, res.source.run.n_layers,
               res.source.run.n_heads, res.n_rows);
        printf("sink rate (eps %.2g, T %d): %.2f %%; by layer:", opt.eps, opt.t_cut, 100 * res.rate);
        for (int l = 0; l < res.source.run.n_layers; l++)
            printf(" L%d %.1f%%", l, 100 * res.layer_rate[l]);
        printf("\n");
        hs_sinks_result_free(&res);
    }
    hs_model_close(model);
    hs_store_close(store);
    return status;
}
