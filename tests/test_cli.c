/* test_cli.c — the command line as a user runs it: output of info/tokenize/generate on real files,
 * and a clear message (naming the file or field) with a non-zero exit status on bad input. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "tests/test.h"

int test_cli_stories_generate_ids(void)
{
    const char *shared = test_shared_path("models/stories260K/stories260K.bin");
    if (!shared)
        return TEST_SKIP;
    char model[4096], args[8192], out[65536];
    snprintf(model, sizeof model, "%s", shared);
    snprintf(args, sizeof args, "generate --model %s --prompt '' --max-new-tokens 60 --ids", model);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    CHECK_MSG(strncmp(out, "1 403 407 261 378 432 383 286 261 376 298", 41) == 0, "got: %s", out);
    CHECK(strstr(out, " 270 333 415\n"));
    snprintf(args, sizeof args, "info --model %s", model);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "architecture: llama") && strstr(out, "kv heads:     4") && strstr(out, "d_mlp:        172"),
              "got: %s", out);
    snprintf(args, sizeof args, "generate --model %s --prompt 'Once upon a time' --max-new-tokens 8", model);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    CHECK_MSG(strncmp(out, "Once upon a time", 16) == 0, "got: %s", out);
    return TEST_PASS;
}

int test_cli_bad_input_messages(void)
{
    char out[65536], args[8192];
    const char *dir = test_tmpdir();
    /* a missing model */
    snprintf(args, sizeof args, "info --model %s/nope", dir);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "nope") && strstr(out, "no such file"), "got: %s", out);
    /* a truncated llama2.c file */
    snprintf(args, sizeof args, "info --model %s/short.bin", dir);
    char path[4096];
    snprintf(path, sizeof path, "%s/short.bin", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f);
    int32_t hdr[7] = {64, 172, 5, 8, 4, 512, 512};
    fwrite(hdr, sizeof hdr, 1, f);
    fclose(f);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "short.bin") && strstr(out, "implies"), "got: %s", out);
    /* unknown command and missing options */
    CHECK(test_run_headscope("frobnicate", out, sizeof out) == 2);
    CHECK(strstr(out, "unknown command 'frobnicate'"));
    CHECK(test_run_headscope("generate --prompt hi", out, sizeof out) == 2);
    CHECK(strstr(out, "--model PATH"));
    /* a prompt longer than the context */
    const char *shared = test_shared_path("models/stories260K/stories260K.bin");
    if (shared) {
        char model[4096];
        snprintf(model, sizeof model, "%s", shared);
        snprintf(args, sizeof args, "generate --model %s --prompt 'Once upon a time' --max-new-tokens 600 --ids", model);
        CHECK(test_run_headscope(args, out, sizeof out) == 1);
        CHECK_MSG(strstr(out, "exceed the model's context (512)"), "got: %s", out);
    }
    return TEST_PASS;
}

int test_cli_demo_runs(void)
{
    char out[65536], args[8192];
    const char *dir = test_tmpdir();
    snprintf(args, sizeof args, "demo --out %s/demo", dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "got: %s", out);
    CHECK(strstr(out, "result: "));
    char path[4096];
    snprintf(path, sizeof path, "%s/demo/summary.txt", dir);
    FILE *f = fopen(path, "r");
    CHECK(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    CHECK_MSG(strstr(out, "Held-out task prompts") && strstr(out, "induction heads"), "%s", out);
    /* every task is measured */
    static const char *const tasks[] = {"ioi", "greater-than", "colored-objects", "factual", "mcq", "arithmetic", "mqar"};
    for (int i = 0; i < 7; i++) {
        char row[64];
        snprintf(row, sizeof row, "\n  %s ", tasks[i]);
        CHECK_MSG(strstr(out, row), "the summary lacks %s: %s", tasks[i], out);
    }
    snprintf(path, sizeof path, "%s/demo/report/index.html", dir);
    CHECK(access(path, R_OK) == 0);
    /* every analysis reached the store: heads on run 2, sinks and the lens on run 1 */
    snprintf(args, sizeof args,
             "sql %s/demo/run.db \"SELECT group_concat(run_id || analysis, ' ') FROM (SELECT DISTINCT run_id, "
             "analysis FROM head_scores WHERE analysis != 'run' ORDER BY run_id, analysis)\"",
             dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0 && strstr(out, "1dla 1sinks 2heads"), "got: %s", out);
    /* a second demo into the same folder replaces its store and report; the folder is recognised as
     * the demo's by its marker, or, written by a headscope from before the marker (as CI's and
     * ./quickstart's reruns may find it), by its summary.txt and run.db */
    char marker[4200];
    snprintf(marker, sizeof marker, "%s/demo/.headscope-demo", dir);
    CHECK_MSG(access(marker, F_OK) == 0, "the demo wrote no %s", marker);
    CHECK(unlink(marker) == 0);
    snprintf(args, sizeof args, "demo --out %s/demo", dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "got: %s", out);
    CHECK(access(path, R_OK) == 0);
    CHECK(access(marker, F_OK) == 0);
    return TEST_PASS;
}

/* demo --out writes only into a new or empty folder or an earlier demo's (the marker, or summary.txt
 * beginning "headscope demo" beside run.db); anything else is refused before the model is read,
 * naming --out and --force, and left as it was. Nothing is created when the model cannot be opened
 * (issue 14). */
int test_cli_demo_out_folder(void)
{
    char out[8192], args[4096], cmd[4096];
    const char *dir = test_tmpdir();
    snprintf(args, sizeof args, "demo --model %s/no-model --out %s/d", dir, dir);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "no-model"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s/d", dir);
    CHECK_MSG(access(cmd, F_OK) != 0, "a failed demo created %s", cmd);
    /* someone's files, and a look-alike whose summary.txt is not the demo's */
    snprintf(cmd, sizeof cmd, "mkdir %s/mine %s/alike && echo notes > %s/mine/keep.txt && echo notes > "
             "%s/alike/summary.txt && touch %s/alike/run.db", dir, dir, dir, dir, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    const char *folders[] = {"mine", "alike"}, *holds[] = {"keep.txt\n", "run.db\nsummary.txt\n"};
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "demo --out %s/%s", dir, folders[i]);
        CHECK(test_run_headscope(args, out, sizeof out) == 1);
        CHECK_MSG(strstr(out, "headscope demo: --out ") && strstr(out, folders[i]) && strstr(out, "--force"), "%s",
                  out);
        snprintf(cmd, sizeof cmd, "ls -A %s/%s", dir, folders[i]);
        CHECK(test_run_shell(cmd, out, sizeof out) == 0);
        CHECK_MSG(strcmp(out, holds[i]) == 0, "the refused folder %s now holds: %s", folders[i], out);
    }
    /* --force gets past the folder check (to the model, here one that does not open) */
    snprintf(args, sizeof args, "demo --out %s/mine --force --model %s/no-model", dir, dir);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "no-model") && !strstr(out, "--force"), "%s", out);
    CHECK(test_run_headscope("demo --help", out, sizeof out) == 0 && strstr(out, "--force"));
    return TEST_PASS;
}

/* ./headscope at the repository root is a wrapper of build/headscope (the build is out of tree):
 * it runs the built program with the same arguments and exit status, also when called through a
 * symbolic link from elsewhere, and names what to run when nothing is built yet. Skipped in a
 * release tarball's build (make distcheck), which has no wrapper. */
int test_cli_root_wrapper(void)
{
    char out[65536], cmd[16384], dir[512], direct[65536], wrapper[4096];
    snprintf(wrapper, sizeof wrapper, "%s", test_src_path("headscope"));
    FILE *f = fopen(wrapper, "r");
    if (!f)
        return TEST_SKIP;
    int is_script = fgets(out, sizeof out, f) && strcmp(out, "#!/bin/sh\n") == 0;
    fclose(f);
    CHECK_MSG(is_script, "%s is not the wrapper script", wrapper);
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    /* a checkout with nothing built */
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/headscope' && '%s/headscope' --version 2>&1", wrapper, dir, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 127);
    CHECK_MSG(strstr(out, "not built yet") && strstr(out, "./quickstart"), "got: %s", out);
    /* built: the same output and exit status as the program itself */
    char program[PATH_MAX];
    CHECK_MSG(realpath(test_headscope_program(), program), "%s: no such program", test_headscope_program());
    snprintf(cmd, sizeof cmd, "mkdir '%s/build' && ln -s '%s' '%s/build/headscope'", dir, program, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK(test_run_headscope("--version", direct, sizeof direct) == 0);
    snprintf(cmd, sizeof cmd, "'%s/headscope' --version 2>&1", dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, direct) == 0 && strstr(out, "headscope "), "got: %s", out);
    snprintf(cmd, sizeof cmd, "'%s/headscope' frobnicate 2>&1", dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 2);
    /* called through a link from another folder */
    snprintf(cmd, sizeof cmd, "mkdir '%s/bin' && ln -s '%s/headscope' '%s/bin/hs' && cd / && '%s/bin/hs' --version 2>&1",
             dir, dir, dir, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, direct) == 0, "got: %s", out);
    return TEST_PASS;
}

/* The command line's wording (issue 14): an unknown option names the whole command and where its
 * options are listed, for every command and subcommand; a value missing or given where none is
 * taken says so; a library message that already begins with the command's name is not prefixed
 * twice; generate prints the prompt the user typed, without the BOS the model's rule adds; eval
 * prints no table header for a set it cannot read; the top-level help names every analysis; a
 * model that is neither a file nor a directory, named like a hub model, says hub names are not
 * fetched. */
int test_cli_wording(void)
{
    char out[65536], args[8192], want[256];
    static const char *const commands[] = {"info", "tokenize", "tokenizer train", "generate", "run", "analyze heads",
                                           "analyze sinks", "analyze logit-lens", "dataset ioi",
                                           "dataset repeated-blocks", "dataset corpus", "eval", "demo", "sql",
                                           "report", "train"};
    /* the list holds every command of the top-level help (a new one must be added here) */
    CHECK(test_run_headscope("--help", out, sizeof out) == 0);
    int n_help = 0;
    for (char *line = strstr(out, "\n  "); line; line = strstr(line + 1, "\n  ")) {
        char name[32];
        if (sscanf(line + 3, "%31s", name) != 1)
            continue;
        int listed = 0;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            listed |= strncmp(commands[i], name, strlen(name)) == 0 &&
                      (commands[i][strlen(name)] == '\0' || commands[i][strlen(name)] == ' ');
        CHECK_MSG(listed, "command '%s' of the help is not in this test's list", name);
        n_help++;
    }
    CHECK(n_help >= 12);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        snprintf(args, sizeof args, "%s --bogus", commands[i]);
        CHECK_MSG(test_run_headscope(args, out, sizeof out) == 2, "%s: %s", args, out);
        snprintf(want, sizeof want, "headscope %s: unrecognized option '--bogus'\n", commands[i]);
        CHECK_MSG(strncmp(out, want, strlen(want)) == 0, "%s: got: %s", args, out);
        snprintf(want, sizeof want, "`headscope %s --help` lists its options", commands[i]);
        CHECK_MSG(strstr(out, want), "%s: got: %s", args, out);
    }
    CHECK(test_run_headscope("run -Z", out, sizeof out) == 2);
    CHECK_MSG(strncmp(out, "headscope run: unrecognized option '-Z'\n", 40) == 0, "got: %s", out);
    CHECK(test_run_headscope("run --db", out, sizeof out) == 2);
    CHECK_MSG(strncmp(out, "headscope run: option '--db' needs a value\n", 43) == 0, "got: %s", out);
    CHECK(test_run_headscope("tokenize --json=yes x", out, sizeof out) == 2);
    CHECK_MSG(strncmp(out, "headscope tokenize: option '--json' takes no value\n", 51) == 0, "got: %s", out);
    CHECK(test_run_headscope("generate --m x", out, sizeof out) == 2); /* --model or --max-new-tokens */
    CHECK_MSG(strstr(out, "headscope generate: option '--m' is ambiguous") && strstr(out, "--model") &&
              strstr(out, "--max-new-tokens"), "got: %s", out);

    char model[4096];
    snprintf(model, sizeof model, "%s", test_src_path("models/tasks-4l"));
    snprintf(args, sizeof args, "generate --model '%s' --prompt x --max-new-tokens 99999", model);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "headscope generate: ") && !strstr(out, "generate: generate:") &&
              strstr(out, "exceed the model's context (128)"), "got: %s", out);
    snprintf(args, sizeof args, "generate --model '%s' --prompt 'When Mary and John went to the store, John gave a "
             "drink to' --max-new-tokens 2", model);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    CHECK_MSG(strncmp(out, "When Mary and John went to the store, John gave a drink to", 58) == 0, "got: %s", out);
    snprintf(args, sizeof args, "info --model '%s'", model);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    const char *bos = strstr(out, ", bos ");
    CHECK_MSG(bos && atoi(bos + 6) > 0, "got: %s", out);
    snprintf(want, sizeof want, "%d ", atoi(bos + 6)); /* <|endoftext|> */
    snprintf(args, sizeof args, "generate --model '%s' --prompt 'When Mary' --max-new-tokens 1 --ids", model);
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    CHECK_MSG(strncmp(out, want, strlen(want)) == 0, "the ids keep the BOS %s: %s", want, out);

    snprintf(args, sizeof args, "eval --model '%s' '%s/none.jsonl'", model, test_tmpdir());
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "none.jsonl") && !strstr(out, "prompts") && !strstr(out, "logit diff"), "got: %s", out);

    CHECK(test_run_headscope("--help", out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "heads") && strstr(out, "sinks") && strstr(out, "logit-lens"), "got: %s", out);

    CHECK(test_run_headscope("info --model gpt2", out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "gpt2: no such file or directory") && strstr(out, "not fetched") &&
              strstr(out, "local"), "got: %s", out);
    CHECK(test_run_headscope("info --model openai-community/gpt2", out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "not fetched"), "got: %s", out);
    snprintf(args, sizeof args, "run --model gpt2 --prompts '%s' --db '%s/x.db'",
             test_src_path("tests/fixtures/store/v3_prompts.jsonl"), test_tmpdir());
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "headscope run: 'gpt2' may be a Hugging Face hub name"), "got: %s", out);
    snprintf(args, sizeof args, "info --model '%s/nope'", test_tmpdir());
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "no such file") && !strstr(out, "not fetched"), "an absolute path is no hub name: %s", out);
    return TEST_PASS;
}
