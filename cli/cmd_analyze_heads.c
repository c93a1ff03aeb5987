/* cmd_analyze_heads.c — `headscope analyze heads`: head-detector scores of every head into
 * head_scores (analysis 'heads'), from the stored patterns or by running the model. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/heads/heads.h"
#include "cli/commands.h"

static const char heads_help[] =
    "usage: headscope analyze heads --db DB [--model PATH] [--run ID] [--exclude-bos] [--exclude-current-token]\n"
    "Scores every attention head of a recorded run and writes head_scores rows with analysis = 'heads':\n"
    "one row per (metric, layer, head, prompt) and one with prompt_id NULL holding the mean over the\n"
    "prompts. Rerunning replaces the run's earlier 'heads' rows (in one transaction).\n"
    "\n"
    "Metrics (A = a head's attention pattern, queries i, keys k):\n"
    "  previous_token, duplicate_token, induction\n"
    "      TransformerLens detect_head with error_measure \"mul\" (its default): sum(A*D) / sum(A), D = 1\n"
    "      on the keys the head type should attend to: k = i-1 (previous token); earlier copies of\n"
    "      token i (duplicate); the token after an earlier copy of token i (induction). The sums run\n"
    "      over all queries of a prompt; the value over the set is the unweighted mean of the\n"
    "      per-prompt scores (as detect_head does for a list of prompts).\n"
    "  retrieval_echo, retrieval_induction\n"
    "      RazorAttention, on prompts that are `copies` copies of a block of L tokens (prompt meta\n"
    "      \"offset\", \"block_len\", \"copies\": see `headscope dataset repeated-blocks`): mean over the\n"
    "      queries of copies 2..n of A[i][i-L] (echo) and A[i][i-L+1] (induction). Other prompts get none.\n"
    "  attn_distance\n"
    "      mean over queries of sum_k A[i][k] * (i - k), in tokens (0: self, 1: previous token,\n"
    "      large: global or first-token heads).\n"
    "  entropy\n"
    "      mean over queries of -sum_k A[i][k] ln A[i][k], in nats.\n"
    "\n"
    "  --db DB                  the store (required)\n"
    "  --run ID                 the run to analyse (default: the latest)\n"
    "  --model PATH             the run's model: used when the run stored no attention patterns (or only\n"
    "                           some), to compute them on the stored tokens; its sha256 must match the run's\n"
    "  --recompute              run the model even when the store has every pattern\n"
    "  --exclude-bos            TL detectors: drop attention to position 0 from both sums (default off,\n"
    "                           as in TL)\n"
    "  --exclude-current-token  TL detectors: drop attention of each query to itself (default off, as in TL)\n"
    "  --no-per-prompt          write only the means over prompts\n"
    "  --quiet                  print nothing on success\n"
    "\n"
    "A score is NULL for a prompt where nothing is left after the exclusions (TL gives NaN); means\n"
    "leave such prompts out. Stored float16 patterns give scores within ~1e-3 of float32 ones.\n";

int cmd_analyze_heads(int argc, char **argv)
{
    const char *db = NULL, *model_path = NULL;
    hs_heads_options opt;
    hs_heads_options_default(&opt);
    int quiet = 0;
    enum { O_RUN = 256, O_EXBOS, O_EXCUR, O_RECOMPUTE, O_NOPP, O_QUIET };
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},       {"model", required_argument, 0, 'm'},
        {"run", required_argument, 0, O_RUN},    {"exclude-bos", no_argument, 0, O_EXBOS},
        {"exclude-current-token", no_argument, 0, O_EXCUR},
        {"recompute", no_argument, 0, O_RECOMPUTE}, {"no-per-prompt", no_argument, 0, O_NOPP},
        {"quiet", no_argument, 0, O_QUIET},      {"help", no_argument, 0, 'h'},
        {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "d:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'm': model_path = optarg; break;
        case O_RUN:
            if (cli_parse_run_id("analyze heads", optarg, &opt.run_id))
                return 2;
            break;
        case O_EXBOS: opt.detect.exclude_bos = 1; break;
        case O_EXCUR: opt.detect.exclude_current_token = 1; break;
        case O_RECOMPUTE: opt.source_flags |= HS_PATTERNS_RECOMPUTE; break;
        case O_NOPP: opt.per_prompt = 0; break;
        case O_QUIET: quiet = 1; break;
        case 'h': fputs(heads_help, stdout); return 0;
        default: return 2;
        }
    }
    if (!db || optind < argc) {
        fprintf(stderr, "headscope analyze heads: %s\n", db ? "unexpected argument" : "--db DB is required");
        return 2;
    }
    hs_store *store = cli_open_store_for_analysis("analyze heads", db);
    if (!store)
        return 1;
    hs_model *model = NULL;
    if (model_path && !(model = cli_open_model("analyze heads", model_path, NULL))) {
        hs_store_close(store);
        return 1;
    }
    hs_error err = {0};
    hs_heads_result res;
    int status = 0;
    if (hs_heads_analyze(store, model, &opt, &res, &err) != HS_OK)
        status = cli_fail("analyze heads", &err);
    else if (!quiet)
        printf("headscope analyze heads: %s run %lld: %d prompts (%d repeated blocks), %d layers x %d heads, patterns "
               "%s (%s%s): %zu head_scores rows\n",
               db, (long long)res.source.run.id, res.n_prompts, res.n_repeated, res.source.run.n_layers,
               res.source.run.n_heads, res.source.origin == HS_PATTERNS_FROM_MODEL ? "computed by the model" : "stored",
               res.source.dtype, res.source.complete ? "" : ", some heads or rows missing", res.n_rows);
    hs_model_close(model);
    hs_store_close(store);
    return status;
}
