/* cli_common.c — helpers shared by the subcommands: error printing, model opening, subcommand dispatch, JSON strings. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int cli_fail(const char *cmd, const hs_error *err)
{
    fprintf(stderr, "headscope %s: %s\n", cmd, err->msg[0] ? err->msg : hs_status_name(err->status));
    return 1;
}

hs_model *cli_open_model(const char *cmd, const char *model_path, const char *tokenizer_path)
{
    hs_error err = {0};
    hs_model *m = NULL;
    if (hs_model_open(model_path, tokenizer_path, &m, &err) != HS_OK) {
        cli_fail(cmd, &err);
        return NULL;
    }
    return m;
}

void cli_print_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

int cli_dispatch(const char *cmd, const char *kind, const cli_subcommand *subs, size_t n_subs,
                 void (*usage)(FILE *f), int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < n_subs; i++)
        if (!strcmp(argv[1], subs[i].name))
            return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "headscope %s: unknown %s '%s'\n\n", cmd, kind, argv[1]);
    usage(stderr);
    return 2;
}
