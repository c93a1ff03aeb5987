/* cmd_analyze.c — `headscope analyze ANALYSIS --db DB [...]`: the table of analyses that read a
 * recorded store and write their result tables into it; each lives in its own tools/ file. */
#include <stdio.h>
#include <string.h>

#include "tools/commands.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} analyses[] = {
    {"logit-lens", cmd_analyze_logit_lens, "logit lens, direct logit attribution and the component lens"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: headscope analyze ANALYSIS --db DB [options]\n\nanalyses:\n");
    for (size_t i = 0; i < sizeof analyses / sizeof analyses[0]; i++)
        fprintf(f, "  %-12s %s\n", analyses[i].name, analyses[i].summary);
    fprintf(f, "\n`headscope analyze ANALYSIS --help` describes its options.\n");
}

int cmd_analyze(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof analyses / sizeof analyses[0]; i++)
        if (!strcmp(argv[1], analyses[i].name))
            return analyses[i].run(argc - 1, argv + 1);
    fprintf(stderr, "headscope analyze: unknown analysis '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
