/* cmd_analyze.c — `headscope analyze NAME ...`: the table of analyses (one line each; each analysis
 * parses its own options in cli/cmd_analyze_NAME.c) and what they share: opening the store they
 * write into and the optional model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"

static const cli_subcommand analyses[] = {
    {"heads", cmd_analyze_heads, "head detectors: previous-token, duplicate, induction, retrieval, distance, entropy"},
    {"sinks", cmd_analyze_sinks, "attention sinks: first-token sink scores, sink rate, hidden sinks"},
    {"logit-lens", cmd_analyze_logit_lens, "logit lens, direct logit attribution and the component lens"},
    {"patch", cmd_analyze_patch, "activation patching: z, q, k, v, attn_out, mlp_out, resid_pre grids"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: headscope analyze ANALYSIS --db DB [--model PATH] [--run ID] [options]\n\nanalyses:\n");
    for (size_t i = 0; i < sizeof analyses / sizeof analyses[0]; i++)
        fprintf(f, "  %-12s %s\n", analyses[i].name, analyses[i].summary);
    fprintf(f, "\n`headscope analyze ANALYSIS --help` gives its definitions, defaults and options.\n");
}

int cmd_analyze(int argc, char **argv)
{
    return cli_dispatch("analyze", "analysis", analyses, sizeof analyses / sizeof analyses[0], usage, argc, argv);
}

int cli_store_exists(const char *cmd, const char *db_path)
{
    struct stat st;
    if (stat(db_path, &st) == 0)
        return 1;
    fprintf(stderr, "headscope %s: %s: no such store; record one first with `headscope run`\n", cmd, db_path);
    return 0;
}

hs_store *cli_open_store_for_analysis(const char *cmd, const char *db_path)
{
    if (!cli_store_exists(cmd, db_path))
        return NULL;
    hs_error err = {0};
    hs_store *store = NULL;
    if (hs_store_open(db_path, HS_STORE_CREATE, NULL, &store, &err) != HS_OK) {
        cli_fail(cmd, &err);
        return NULL;
    }
    return store;
}

int cli_parse_run_id(const char *cmd, const char *arg, int64_t *run_id)
{
    char *end;
    long long v = strtoll(arg, &end, 10);
    if (end == arg || *end || v < 1) {
        fprintf(stderr, "headscope %s: --run '%s' is not a run id\n", cmd, arg);
        return 2;
    }
    *run_id = v;
    return 0;
}
