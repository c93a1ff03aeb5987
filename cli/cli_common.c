/* cli_common.c — helpers shared by the subcommands: error printing, option parsing, model opening,
 * subcommand dispatch, JSON strings. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"

/* Whether a path that does not exist reads like a Hugging Face hub name ("gpt2",
 * "openai-community/gpt2"): one or two names of letters, digits and ._- joined by a slash, not
 * starting with '.' (a relative path such as ./gpt2 or ../x is plainly a path). */
static int looks_like_hub_name(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 || !*path || *path == '.' || *path == '/')
        return 0;
    int slashes = 0;
    for (const char *p = path; *p; p++) {
        if (*p == '/') {
            if (++slashes > 1 || p[1] == '\0' || p[1] == '.' || p[1] == '/')
                return 0;
        } else if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') {
            return 0;
        }
    }
    return 1;
}

int cli_fail(const char *cmd, const hs_error *err)
{
    const char *msg = err->msg[0] ? err->msg : hs_status_name(err->status);
    size_t n = strlen(cmd);
    if (strncmp(msg, cmd, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2; /* "headscope generate: generate: ..." says its command once */
    fprintf(stderr, "headscope %s: %s\n", cmd, msg);
    /* "PATH: no such file or directory" is how hs_model_open says a model path does not exist */
    static const char missing[] = ": no such file or directory";
    size_t len = strlen(msg), m = sizeof missing - 1;
    if (len > m && strcmp(msg + len - m, missing) == 0) {
        char path[1024];
        const char *start = msg;
        for (const char *p = msg; p + 1 < msg + len - m; p++)
            if (p[0] == ':' && p[1] == ' ')
                start = p + 2; /* "--init gpt2: gpt2: no such ..." names the path last */
        snprintf(path, sizeof path, "%.*s", (int)(msg + len - m - start), start);
        if (looks_like_hub_name(path))
            fprintf(stderr, "headscope %s: '%s' may be a Hugging Face hub name: those are not fetched (headscope "
                    "downloads nothing); give a local model directory (config.json + model.safetensors) or a "
                    "llama2.c .bin file\n", cmd, path);
    }
    return 1;
}

/* One command runs per process: the words of its name, as typed. */
static char command_path[96];

void cli_enter_command(const char *name)
{
    size_t n = strlen(command_path);
    snprintf(command_path + n, sizeof command_path - n, "%s%s", n ? " " : "", name);
}

/* Says why getopt_long refused an option (opterr off, so it printed nothing). A long option it
 * refuses is the element before optind and optopt is 0 (unknown or ambiguous) or the option's val
 * (a value missing or not taken); a short option is optopt, in an element that may not be over. */
static void report_bad_option(char **argv, const char *shortopts, const struct option *longopts)
{
    const char *cmd = command_path[0] ? command_path : "?";
    const char *arg = optind > 0 ? argv[optind - 1] : "";
    int is_long = strncmp(arg, "--", 2) == 0;
    size_t len = is_long ? strcspn(arg + 2, "=") : 0;
    int n_prefix = 0;
    const struct option *named = NULL;
    for (int i = 0; is_long && longopts[i].name; i++) {
        if (strncmp(longopts[i].name, arg + 2, len) != 0)
            continue;
        n_prefix++;
        if (!named || strlen(longopts[i].name) == len)
            named = &longopts[i];
    }
    if (named && strlen(named->name) != len && n_prefix > 1)
        named = NULL; /* an ambiguous prefix names no option */
    if (is_long && (optopt == 0 || (named && !named->flag && named->val == optopt))) {
        if (optopt && arg[2 + len] == '=')
            fprintf(stderr, "headscope %s: option '--%s' takes no value\n", cmd, named->name);
        else if (optopt)
            fprintf(stderr, "headscope %s: option '--%s' needs a value\n", cmd, named->name);
        else if (n_prefix > 1) {
            fprintf(stderr, "headscope %s: option '--%.*s' is ambiguous (", cmd, (int)len, arg + 2);
            const char *sep = "";
            for (int i = 0; longopts[i].name; i++)
                if (strncmp(longopts[i].name, arg + 2, len) == 0) {
                    fprintf(stderr, "%s--%s", sep, longopts[i].name);
                    sep = ", ";
                }
            fprintf(stderr, ")\n");
        } else
            fprintf(stderr, "headscope %s: unrecognized option '--%.*s'\n", cmd, (int)len, arg + 2);
    } else {
        const char *known = optopt > 0 && optopt < 256 && optopt != ':' ? strchr(shortopts, optopt) : NULL;
        if (known && known[1] == ':')
            fprintf(stderr, "headscope %s: option '-%c' needs a value\n", cmd, optopt);
        else
            fprintf(stderr, "headscope %s: unrecognized option '-%c'\n", cmd, optopt > 0 && optopt < 256 ? optopt : '?');
    }
    fprintf(stderr, "`headscope %s --help` lists its options.\n", cmd);
}

int cli_getopt_long(int argc, char **argv, const char *shortopts, const struct option *longopts, int *longindex)
{
    opterr = 0;
    int c = getopt_long(argc, argv, shortopts, longopts, longindex);
    if (c == '?' || c == ':')
        report_bad_option(argv, shortopts, longopts);
    return c == ':' ? '?' : c;
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
        if (!strcmp(argv[1], subs[i].name)) {
            cli_enter_command(subs[i].name);
            return subs[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "headscope %s: unknown %s '%s'\n\n", cmd, kind, argv[1]);
    usage(stderr);
    return 2;
}
