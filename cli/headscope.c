/* headscope.c — the `headscope` command line: parses arguments, calls the library, prints results
 * and exits. The only code in headscope that prints errors or exits. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "headscope.h"
#include "backend/blas_kernels.h"
#include "cli/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"info", cmd_info, "print a model's architecture, sizes and parameter count"},
    {"tokenize", cmd_tokenize, "print the token ids (and strings) of a text"},
    {"tokenizer", cmd_tokenizer, "train a byte-level BPE tokenizer (tokenizer.json) on a corpus"},
    {"generate", cmd_generate, "greedy decoding from a prompt"},
    {"run", cmd_run, "record a prompt set's activations into an SQLite store"},
    {"analyze", cmd_analyze, "analyses over a recorded run (heads, sinks, logit-lens) into the store"},
    {"dataset", cmd_dataset, "generate a prompt set (JSONL)"},
    {"eval", cmd_eval, "a model's accuracy on task prompt sets (JSONL with answers)"},
    {"demo", cmd_demo, "run the embedded default model on the default prompts"},
    {"sql", cmd_sql, "query a store read-only, with the tensor functions"},
    {"report", cmd_report, "write a store's static HTML report with its figures"},
    {"train", cmd_train, "train a GPT-2-architecture model on a text file"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: headscope COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`headscope COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    hs_pick_blas_kernels(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("headscope %s\n", PACKAGE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) {
            cli_enter_command(commands[i].name);
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "headscope: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
