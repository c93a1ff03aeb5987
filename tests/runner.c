/* runner.c — the one test runner: runs each test of test_list.h in its own process and prints
 * "N passed, N failed, N skipped". Arguments select tests by name prefix; -l lists them. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/test.h"
#include "backend/blas_kernels.h"

static const struct { const char *name; int (*fn)(void); } tests[] = {
#define HS_TEST(name) {#name, test_##name},
#include "tests/test_list.h"
#undef HS_TEST
};

static char path_buf[4096];

const char *test_src_path(const char *rel)
{
    const char *src = getenv("HS_SRCDIR");
    snprintf(path_buf, sizeof path_buf, "%s/%s", src ? src : ".", rel);
    return path_buf;
}

const char *test_shared_path(const char *rel)
{
    const char *sh = getenv("HS_SHARED");
    if (sh)
        snprintf(path_buf, sizeof path_buf, "%s/%s", sh, rel);
    else
        snprintf(path_buf, sizeof path_buf, "%s/../shared/%s", getenv("HS_SRCDIR") ? getenv("HS_SRCDIR") : ".", rel);
    struct stat st;
    return stat(path_buf, &st) == 0 ? path_buf : NULL;
}

const char *test_headscope_program(void)
{
    const char *p = getenv("HS_HEADSCOPE");
    snprintf(path_buf, sizeof path_buf, "%s", p ? p : "./headscope");
    return path_buf;
}

/* Each test's temporary directories live under one directory per test (HS_TEST_TMP, made by the
 * runner before the test starts), removed after the test unless it failed or HS_TEST_KEEP is set
 * (to look at what a test wrote: HS_TEST_KEEP=1 tests/hs-test viz_heatmap_png). */
const char *test_tmpdir(void)
{
    static char dir[512];
    const char *base = getenv("HS_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(dir))
        return "/tmp";
    return dir;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int test_run_shell(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int test_run_headscope(const char *args, char *out, size_t cap)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", test_headscope_program(), args);
    return test_run_shell(cmd, out, cap);
}

double test_norm_err(const float *a, const float *b, size_t n)
{
    double maxdiff = 0, maxref = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > maxdiff || d != d)
            maxdiff = d != d ? INFINITY : d;
        if (fabs(b[i]) > maxref)
            maxref = fabs(b[i]);
    }
    return maxdiff / maxref;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc <= 1)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strncmp(name, argv[i], strlen(argv[i])) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    hs_pick_blas_kernels(argv);
    size_t n_tests = sizeof tests / sizeof tests[0];
    if (argc == 2 && strcmp(argv[1], "-l") == 0) {
        for (size_t i = 0; i < n_tests; i++)
            printf("%s\n", tests[i].name);
        return 0;
    }
    int passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < n_tests; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        char tmp[256];
        snprintf(tmp, sizeof tmp, "/tmp/hs-test-%s-XXXXXX", tests[i].name);
        if (mkdtemp(tmp)) {
            chmod(tmp, 0755); /* tests that drop privileges must still reach their own directories */
            setenv("HS_TEST_TMP", tmp, 1);
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            exit(tests[i].fn()); /* exit, not _exit: LeakSanitizer checks at exit */
        int status = 0;
        waitpid(pid, &status, 0);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
        const char *verdict;
        if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_PASS) {
            verdict = "PASS";
            passed++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP) {
            verdict = "SKIP";
            skipped++;
        } else {
            verdict = "FAIL";
            failed++;
            if (WIFSIGNALED(status))
                fprintf(stderr, "%s: killed by signal %d\n", tests[i].name, WTERMSIG(status));
        }
        if (verdict[0] == 'F' || getenv("HS_TEST_KEEP"))
            fprintf(stderr, "%s: its temporary files are kept in %s\n", tests[i].name, tmp);
        else
            nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        printf("%s: %s (%.2fs)\n", verdict, tests[i].name, secs);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
