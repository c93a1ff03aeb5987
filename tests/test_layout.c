/* test_layout.c — the house rules of the source tree: every .c/.h opens with its purpose line
 * ("/" "* NAME — ...") and every source of a folder is built from its section of Makefile.am. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test.h"

/* The folders that hold C sources (README.md, "Layout"); tests/fuzz is built by tools/fuzz.sh. */
static const char *const source_folders[] = {"include", "base",    "model", "tokenizer", "backend", "hooks",
                                             "store",   "train",   "datasets", "analyses", "viz",   "report",
                                             "cli",     "tests",   "bench"};

static char *makefile_am;  /* the text of Makefile.am */
static size_t src_len;     /* strlen of the source root, to make paths relative */
static int n_files, n_bad;

static int listed_in_makefile(const char *rel)
{
    size_t n = strlen(rel);
    for (const char *p = makefile_am; (p = strstr(p, rel)); p += n) {
        char before = p == makefile_am ? ' ' : p[-1], after = p[n];
        if ((before == ' ' || before == '\t') && (after == ' ' || after == '\t' || after == '\n' || after == '\0'))
            return 1;
    }
    return 0;
}

static int check_file(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    size_t len = strlen(path);
    if (flag != FTW_F || len < 3 || (strcmp(path + len - 2, ".c") && strcmp(path + len - 2, ".h")))
        return 0;
    const char *rel = path + src_len + 1, *base = strrchr(path, '/') + 1;
    if (!strncmp(rel, "tests/fixtures/", 15))
        return 0;
    n_files++;
    char line[512] = "", want[300];
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    snprintf(want, sizeof want, "/* %s \xe2\x80\x94 ", base);
    if (strncmp(line, want, strlen(want)) != 0) {
        fprintf(stderr, "%s: the first line is not its purpose line (\"%s...\"): %s", rel, want, line);
        n_bad++;
    }
    if (strncmp(rel, "tests/fuzz/", 11) != 0 && !listed_in_makefile(rel)) {
        fprintf(stderr, "%s: not listed in Makefile.am\n", rel);
        n_bad++;
    }
    return 0;
}

int test_layout_purpose_lines_and_makefile(void)
{
    char root[4096], path[4200];
    snprintf(root, sizeof root, "%s", test_src_path(""));
    src_len = strlen(root);
    while (src_len > 1 && root[src_len - 1] == '/')
        root[--src_len] = '\0';
    snprintf(path, sizeof path, "%s/Makefile.am", root);
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f, "%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    makefile_am = calloc(1, (size_t)n + 1);
    CHECK(makefile_am && fread(makefile_am, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    n_files = n_bad = 0;
    for (size_t i = 0; i < sizeof source_folders / sizeof *source_folders; i++) {
        snprintf(path, sizeof path, "%s/%s", root, source_folders[i]);
        CHECK_MSG(nftw(path, check_file, 16, FTW_PHYS) == 0, "%s: cannot walk", path);
    }
    free(makefile_am);
    CHECK_MSG(n_files > 200, "only %d source files found under %s", n_files, root);
    CHECK_MSG(n_bad == 0, "%d of %d source files break the rules above", n_bad, n_files);
    return TEST_PASS;
}
