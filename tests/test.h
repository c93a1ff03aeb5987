/* test.h — what every test file needs: the result codes, check macros and fixture paths.
 * A test is `int test_NAME(void)` listed in test_list.h; it returns TEST_PASS, TEST_FAIL or
 * TEST_SKIP (77: something it needs is absent, e.g. ../shared or a GPU). Each runs in its own
 * process, so a crash fails that test only. */
#ifndef HS_TESTS_TEST_H
#define HS_TESTS_TEST_H

#include <math.h>
#include <stdio.h>

#include "headscope.h"

#define TEST_PASS 0
#define TEST_FAIL 1
#define TEST_SKIP 77

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            return TEST_FAIL;                                                           \
        }                                                                               \
    } while (0)

#define CHECK_MSG(cond, ...)                                                            \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            return TEST_FAIL;                                                           \
        }                                                                               \
    } while (0)

/* Checks an hs_status call succeeded, printing the error message if not. */
#define CHECK_OK(call, errp)                                                            \
    do {                                                                                \
        hs_status st_ = (call);                                                         \
        if (st_ != HS_OK) {                                                             \
            fprintf(stderr, "%s:%d: %s failed: %s: %s\n", __FILE__, __LINE__, #call,   \
                    hs_status_name(st_), (errp)->msg);                                  \
            return TEST_FAIL;                                                           \
        }                                                                               \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                           \
    do {                                                                                \
        double a_ = (a), b_ = (b);                                                      \
        if (!(fabs(a_ - b_) <= (tol))) {                                                \
            fprintf(stderr, "%s:%d: %s = %.9g, expected %s = %.9g (tol %g)\n", __FILE__, \
                    __LINE__, #a, a_, #b, b_, (double)(tol));                           \
            return TEST_FAIL;                                                           \
        }                                                                               \
    } while (0)

/* Absolute paths: the source tree, ../shared beside it, and the built ./headscope program.
 * Each writes into a static buffer and returns it; test_shared_path returns NULL when
 * ../shared (or the named file in it) does not exist, and the test should then skip. */
const char *test_src_path(const char *rel);
const char *test_shared_path(const char *rel);
const char *test_headscope_program(void);
/* A fresh empty temporary directory for this test (removed by nobody: under /tmp). */
const char *test_tmpdir(void);

/* Runs a shell command, captures at most cap-1 bytes of its standard output into out and returns
 * its exit status (-1 if it did not exit). */
int test_run_shell(const char *cmd, char *out, size_t cap);

/* Runs `headscope ARGS` (the built program, through the shell, stderr merged into stdout), captures
 * at most cap-1 bytes of its output into out and returns its exit status (-1 if it did not exit). */
int test_run_headscope(const char *args, char *out, size_t cap);

/* Normalised error between two float arrays: max|a-b| / max(max|b|, 1e-6). */
double test_norm_err(const float *a, const float *b, size_t n);

/* Prototypes of every test in the table. */
#define HS_TEST(name) int test_##name(void);
#include "tests/test_list.h"
#undef HS_TEST

#endif
