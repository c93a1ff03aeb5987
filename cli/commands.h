/* commands.h — the subcommands of the command line, each in its own file under cli/, and the
 * few helpers they share (error reporting and model opening). */
#ifndef HS_CLI_COMMANDS_H
#define HS_CLI_COMMANDS_H

#include <getopt.h>
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
int cmd_analyze_patch(int argc, char **argv);
int cmd_analyze_heads(int argc, char **argv);
int cmd_analyze_sinks(int argc, char **argv);

/* A command with subcommands (analyze, dataset, tokenizer): one table row each. */
typedef struct cli_subcommand {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] = the subcommand's name */
    const char *summary;
} cli_subcommand;

/* The command being run as the user typed it ("run", "analyze sinks"): main() enters the command
 * and cli_dispatch the subcommand; cli_getopt_long names it in its messages. */
void cli_enter_command(const char *name);

/* getopt_long for every command: the same arguments and return values, but an unknown option, a
 * missing value or a value given to an option that takes none is reported as
 * "headscope CMD: unrecognized option '--x'" (or "option '--db' needs a value", "option '--json'
 * takes no value", "option '--m' is ambiguous (--model, --max-new-tokens)") followed by a line
 * naming `headscope CMD --help`, and returns '?' (the command then exits with status 2). */
int cli_getopt_long(int argc, char **argv, const char *shortopts, const struct option *longopts, int *longindex);

/* Runs the subcommand argv[1] names, or prints `usage` (to stdout for --help, exit 0; to stderr
 * with "headscope CMD: unknown KIND 'x'" otherwise, exit 2). */
int cli_dispatch(const char *cmd, const char *kind, const cli_subcommand *subs, size_t n_subs,
                 void (*usage)(FILE *f), int argc, char **argv);

/* Prints "headscope CMD: <message>" for a failed call and returns exit status 1; a message that
 * already begins with "CMD: " (the library names its subsystem, which may be the command) is
 * printed without that prefix. */
int cli_fail(const char *cmd, const hs_error *err);

/* Opens a model or prints why not (returns NULL). */
hs_model *cli_open_model(const char *cmd, const char *model_path, const char *tokenizer_path);

/* Opens an existing store read-write for an analysis to write into, or prints why not (returns
 * NULL). A missing file is an error, not a new empty store. */
hs_store *cli_open_store_for_analysis(const char *cmd, const char *db_path);

/* 1 when db_path exists; else prints that there is no such store and how to record one, and returns 0. */
int cli_store_exists(const char *cmd, const char *db_path);

/* Reads `--run ID` (a run id >= 1) into *run_id; returns 0, or prints why not and returns 2. */
int cli_parse_run_id(const char *cmd, const char *arg, int64_t *run_id);

/* Prints `s` as a JSON string literal (with quotes) to f. */
void cli_print_json_string(FILE *f, const char *s);

#endif
