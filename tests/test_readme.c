/* test_readme.c — every console example of README.md, run verbatim from a copy of the repository
 * root, prints what the README shows: the README cannot drift from the program.
 *
 * A ```console block is a sequence of `$ COMMAND` lines (a command goes on over the next lines while
 * a quote is open) each followed by its expected output. In the expected output a line "..." stands
 * for any number of lines. Two HTML comments just above a block change how it is checked:
 *   <!-- readme-test: varies WORD ... -->   in lines holding one of the words, numbers may differ
 *                                           (timings: tok/s, ETA)
 *   <!-- readme-test: not run: REASON -->   the block is not run (say why; e.g. a benchmark)
 * The blocks run in order in one sandbox (later examples read what earlier ones wrote): a folder
 * whose entries link to the source tree's, with `headscope` the built program and `../shared`
 * the shared models. Skipped without ../shared, which nearly every example reads. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/test.h"

typedef struct example {
    char *command;  /* the shell text after "$ " (newlines kept) */
    char **want;    /* expected output lines */
    int n_want;
    int block_line; /* line of README.md where its block starts */
    int skip;       /* the block is marked "not run" */
    char varies[256];
} example;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* Splits text into lines in place (the array is malloc'd). */
static char **split_lines(char *text, int *n)
{
    int cap = 64;
    char **lines = malloc(sizeof *lines * (size_t)cap);
    *n = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*n == cap)
            lines = realloc(lines, sizeof *lines * (size_t)(cap *= 2));
        lines[(*n)++] = p;
        p = nl ? nl + 1 : NULL;
    }
    return lines;
}

/* Updates the shell quote state (0, '\'' or '"') over one line. */
static int quote_state(const char *s, int q)
{
    for (char prev = ' '; *s; prev = *s, s++) {
        if (q == '\'') {
            if (*s == '\'')
                q = 0;
        } else if (q == '"') {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == '"')
                q = 0;
        } else if (*s == '\\' && s[1]) {
            s++;
        } else if (*s == '\'' || *s == '"') {
            q = *s;
        } else if (*s == '#' && (prev == ' ' || prev == '\t')) {
            break; /* a comment to the end of the line */
        }
    }
    return q;
}

/* The examples of README.md, in order. */
static example *parse_readme(char **lines, int n_lines, int *n_examples)
{
    example *ex = calloc((size_t)n_lines + 1, sizeof *ex);
    int n = 0, skip = 0;
    char varies[256] = "";
    for (int i = 0; i < n_lines; i++) {
        const char *l = lines[i];
        if (!strncmp(l, "<!-- readme-test: not run:", 26))
            skip = 1;
        else if (!strncmp(l, "<!-- readme-test: varies ", 25)) {
            snprintf(varies, sizeof varies, "%s", l + 25);
            char *end = strstr(varies, "-->");
            if (end)
                *end = '\0';
        } else if (!strcmp(l, "```console")) {
            int start = i + 1;
            example *cur = NULL;
            for (i = start; i < n_lines && strcmp(lines[i], "```") != 0; i++) {
                if (!strncmp(lines[i], "$ ", 2)) {
                    if (cur)
                        while (cur->n_want && cur->want[cur->n_want - 1][0] == '\0')
                            cur->n_want--; /* the blank line before the next command */
                    cur = &ex[n++];
                    cur->block_line = start;
                    cur->skip = skip;
                    snprintf(cur->varies, sizeof cur->varies, "%s", varies);
                    size_t len = strlen(lines[i] + 2) + 1;
                    cur->command = malloc(len);
                    memcpy(cur->command, lines[i] + 2, len);
                    int q = quote_state(cur->command, 0);
                    while (q && i + 1 < n_lines && strcmp(lines[i + 1], "```") != 0) {
                        i++;
                        len += strlen(lines[i]) + 1;
                        cur->command = realloc(cur->command, len);
                        strcat(cur->command, "\n");
                        strcat(cur->command, lines[i]);
                        q = quote_state(lines[i], q);
                    }
                    cur->want = malloc(sizeof *cur->want * (size_t)n_lines);
                } else if (cur) {
                    cur->want[cur->n_want++] = lines[i];
                }
            }
            if (cur)
                while (cur->n_want && cur->want[cur->n_want - 1][0] == '\0')
                    cur->n_want--; /* the blank line before the next command */
            skip = 0;
            varies[0] = '\0';
        } else if (l[0] != '\0' && strncmp(l, "<!--", 4) != 0) {
            skip = 0; /* a marker belongs to the block right below it */
            varies[0] = '\0';
        }
    }
    *n_examples = n;
    return ex;
}

/* A line as compared: trailing blanks cut; where it holds one of the words of `varies`, every run
 * of digits (with its decimal point) becomes '#'. */
static void normalise(const char *line, const char *varies, char *out, size_t cap)
{
    snprintf(out, cap, "%s", line);
    size_t n = strlen(out);
    while (n && isspace((unsigned char)out[n - 1]))
        out[--n] = '\0';
    int vary = 0;
    char words[256];
    snprintf(words, sizeof words, "%s", varies);
    for (char *w = strtok(words, " "); w && !vary; w = strtok(NULL, " "))
        vary = strstr(out, w) != NULL;
    if (!vary)
        return;
    char *r = out, *w = out;
    while (*r) {
        if (isdigit((unsigned char)*r)) {
            while (isdigit((unsigned char)*r) || (*r == '.' && isdigit((unsigned char)r[1])))
                r++;
            *w++ = '#';
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* Does got[0..n_got) match want[0..n_want), "..." matching any run of lines? */
static int lines_match(char **want, int n_want, char **got, int n_got, const char *varies)
{
    if (n_want == 0)
        return n_got == 0;
    if (!strcmp(want[0], "...")) {
        for (int k = 0; k <= n_got; k++)
            if (lines_match(want + 1, n_want - 1, got + k, n_got - k, varies))
                return 1;
        return 0;
    }
    if (n_got == 0)
        return 0;
    char a[8192], b[8192];
    normalise(want[0], varies, a, sizeof a);
    normalise(got[0], varies, b, sizeof b);
    return strcmp(a, b) == 0 && lines_match(want + 1, n_want - 1, got + 1, n_got - 1, varies);
}

/* The sandbox: DIR/shared -> the shared folder, DIR/root/X -> SRC/X for every entry of the source
 * root but the build products, DIR/root/headscope -> the built program, DIR/root/build -> its folder. */
static int make_sandbox(const char *dir, const char *src, const char *shared, const char *program)
{
    char a[8192], b[8192];
    snprintf(a, sizeof a, "%s/shared", dir);
    if (symlink(shared, a) != 0)
        return -1;
    snprintf(a, sizeof a, "%s/root", dir);
    if (mkdir(a, 0755) != 0)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));) {
        const char *nm = e->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, "..") || !strcmp(nm, ".git") || !strcmp(nm, "build") ||
            !strcmp(nm, "demo-out") || !strcmp(nm, "headscope"))
            continue;
        snprintf(a, sizeof a, "%s/%s", src, nm);
        snprintf(b, sizeof b, "%s/root/%s", dir, nm);
        if (symlink(a, b) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    snprintf(b, sizeof b, "%s/root/headscope", dir);
    if (symlink(program, b) != 0)
        return -1;
    snprintf(a, sizeof a, "%s", program);
    snprintf(b, sizeof b, "%s/root/build", dir);
    return symlink(dirname(a), b);
}

int test_readme_examples(void)
{
    char shared[4096], src[4096], program[PATH_MAX], dir[512], path[8192];
    const char *sh = test_shared_path("models");
    if (!sh)
        return TEST_SKIP;
    snprintf(shared, sizeof shared, "%s", sh);
    shared[strlen(shared) - strlen("/models")] = '\0';
    snprintf(src, sizeof src, "%s", test_src_path(""));
    CHECK_MSG(realpath(test_headscope_program(), program), "%s: no such program", test_headscope_program());
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK_MSG(make_sandbox(dir, src, shared, program) == 0, "cannot lay out the sandbox in %s", dir);

    snprintf(path, sizeof path, "%s/README.md", src);
    char *readme = read_file(path);
    CHECK_MSG(readme, "%s: cannot read", path);
    int n_lines, n_ex;
    char **lines = split_lines(readme, &n_lines);
    example *ex = parse_readme(lines, n_lines, &n_ex);
    CHECK_MSG(n_ex >= 20, "only %d console examples found in %s", n_ex, path);

    /* one shell runs every example, each delimited by markers carrying its exit status */
    snprintf(path, sizeof path, "%s/examples.sh", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fprintf(f, "cd '%s/root' || exit 1\n", dir);
    /* the benchmark scripts' scratch folder (bench/act.sh), inside the sandbox too */
    fprintf(f, "export WORK='%s/bench-work'\n", dir);
    int n_run = 0;
    for (int i = 0; i < n_ex; i++) {
        if (ex[i].skip)
            continue;
        n_run++;
        fprintf(f, "echo '@@readme-example %d'\n{ %s\n} </dev/null 2>&1\necho \"@@readme-status $?\"\n", i,
                ex[i].command);
    }
    fclose(f);
    size_t cap = 1 << 20, len = 0;
    char *out = malloc(cap);
    snprintf(path, sizeof path, "bash '%s/examples.sh' 2>&1", dir);
    FILE *p = popen(path, "r");
    CHECK(p && out);
    for (size_t r; (r = fread(out + len, 1, cap - len - 1, p)) > 0;) {
        len += r;
        if (cap - len < 4096)
            out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    pclose(p);

    int n_out, failures = 0, checked = 0;
    char **got = split_lines(out, &n_out);
    for (int k = 0; k < n_out; k++) {
        int i;
        if (sscanf(got[k], "@@readme-example %d", &i) != 1 || i < 0 || i >= n_ex)
            continue;
        int start = k + 1, end = start, status = -1;
        while (end < n_out && sscanf(got[end], "@@readme-status %d", &status) != 1)
            end++;
        checked++;
        if (status != 0 || !lines_match(ex[i].want, ex[i].n_want, got + start, end - start, ex[i].varies)) {
            failures++;
            fprintf(stderr, "=== README.md block at line %d: `%s` (exit status %d)\n=== README shows:\n", ex[i].block_line,
                    ex[i].command, status);
            for (int j = 0; j < ex[i].n_want; j++)
                fprintf(stderr, "%s\n", ex[i].want[j]);
            fprintf(stderr, "=== it printed:\n");
            for (int j = start; j < end; j++)
                fprintf(stderr, "%s\n", got[j]);
            fprintf(stderr, "=== end of example\n");
        }
        k = end;
    }
    fprintf(stderr, "README examples: %d of %d commands run (%d in blocks marked not run), %d differ\n", checked, n_ex,
            n_ex - n_run, failures);
    CHECK_MSG(checked == n_run, "the example shell stopped early: %d of %d commands ran", checked, n_run);
    CHECK_MSG(failures == 0, "%d README examples print something else than README.md shows", failures);
    for (int i = 0; i < n_ex; i++) {
        free(ex[i].command);
        free(ex[i].want);
    }
    free(ex);
    free(lines);
    free(got);
    free(out);
    free(readme);
    return TEST_PASS;
}
