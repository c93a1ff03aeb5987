/* commands.h — the subcommands of the command line, each in its own file under cli/, and the
 * few helpers they share (error reporting and model opening). */
#ifndef HS_CLI_COMMANDS_H
#define HS_CLI_COMMANDS_H

#include <stdio.h>

#include "headscope.h"
#include "store/store.h"

/* Each takes argv with argv[0] = the command name; returns the process exit status. */
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_dataset(int argc, char **argv);
int cmd_tokenizer(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* The analyses under `headscope analyze` (table in cli/cmd_analyze.c), one file each; argv[0] = the analysis name. */
int cmd_analyze_logit_lens(int argc, char **argv);
int cmd_analyze_heads(int argc, char **argv);
int cmd_analyze_sinks(int argc, char **argv);

/* A command with subcommands (analyze, dataset, tokenizer): one table row each. */
typedef struct cli_subcommand {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] = the subcommand's name */
    const char *summary;
} cli_subcommand;

/* Runs the subcommand argv[1] names, or prints `usage` (to stdout for --help, exit 0; to stderr
 * with "headscope CMD: unknown KIND 'x'" otherwise, exit 2). */
int cli_dispatch(const char *cmd, const char *kind, const cli_subcommand *subs, size_t n_subs,
                 void (*usage)(FILE *f), int argc, char **argv);

/* Prints "headscope CMD: <message>" for a failed call and returns exit status 1. */
int cli_fail(const char *cmd, const hs_error *err);

/* Opens a model or prints why not (returns NULL). */
hs_model *cli_open_model(const char *cmd, const char *model_path, const char *tokenizer_path);

/* Opens an existing store read-write for an analysis to write into, or prints why not (returns
 * NULL). A missing file is an error, not a new empty store. */
hs_store *cli_open_store_for_analysis(const char *cmd, const char *db_path);

/* Prints `s` as a JSON string literal (with quotes) to f. */
void cli_print_json_string(FILE *f, const char *s);

#endif
