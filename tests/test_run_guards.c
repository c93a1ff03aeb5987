/* test_run_guards.c — what `headscope run` checks and says before and while it records: selections
 * the model cannot satisfy are refused before anything is written, positions beyond a prompt are
 * reported once, full TransformerLens hook names select hooks and layers, and the messages a user
 * reads (counts, progress without a terminal, the size estimate, an interrupt) say what happened. */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hooks/run.h"
#include "model/random_model.h"
#include "tests/test.h"

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* One integer from a query on the database at path (or -1). */
static long long db_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "SQL on %s failed: %s\n  in: %s\n", path, sqlite3_errmsg(db), sql);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* A fresh directory holding a random GPT-2 (DIR/model) of the given shape; dir gets its path. */
static int make_model(char *dir, size_t cap, int n_layers, int n_heads)
{
    snprintf(dir, cap, "%s", test_tmpdir());
    char model[600];
    snprintf(model, sizeof model, "%s/model", dir);
    hs_error err = {0};
    hs_random_model_spec spec = {.n_layers = n_layers, .d_model = 8 * n_heads, .n_heads = n_heads, .n_ctx = 64,
                                 .d_vocab = 257, .init_std = 0.2f, .seed = 11};
    CHECK_OK(hs_random_model_write(model, &spec, &err), &err);
    return TEST_PASS;
}

int test_run_counts_read_as_english(void)
{
    char dir[256], args[4096], out[16384];
    CHECK(make_model(dir, sizeof dir, 1, 2) == TEST_PASS);
    snprintf(args, sizeof args, "%s/one.jsonl", dir);
    CHECK(write_file(args, "{\"text\": \"one prompt\"}\n") == 0);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/one.jsonl --db %s/one.db --quiet", dir, dir, dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, ": 1 prompt recorded (") && !strstr(out, "prompts"), "%s", out);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "already recorded its 1 prompt; nothing to do") && !strstr(out, "prompts"), "%s", out);
    return TEST_PASS;
}

/* --layers and --heads beyond the model are refused, naming the model's range, and write nothing. */
int test_run_refuses_layers_heads_beyond_model(void)
{
    char dir[256], args[4096], out[16384], db[600];
    CHECK(make_model(dir, sizeof dir, 2, 4) == TEST_PASS);
    snprintf(args, sizeof args, "%s/p.jsonl", dir);
    CHECK(write_file(args, "{\"text\": \"a prompt\"}\n") == 0);
    snprintf(db, sizeof db, "%s/run.db", dir);
    struct { const char *opts, *expect; } cases[] = {
        {"--layers 2", "headscope run: --layers 2: the model has 2 layers (0-1)"},
        {"--layers 0,1-3", "headscope run: --layers 0,1-3: the model has 2 layers (0-1)"},
        {"--heads 4", "headscope run: --heads 4: the model has 4 heads (0-3)"},
        {"--heads 1,9 --layers 1", "headscope run: --heads 1,9: the model has 4 heads (0-3)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s %s", dir, dir, db,
                 cases[i].opts);
        int rc = test_run_headscope(args, out, sizeof out);
        CHECK_MSG(rc == 2, "case %zu: exit %d: %s", i, rc, out);
        CHECK_MSG(strstr(out, cases[i].expect), "case %zu: expected '%s' in: %s", i, cases[i].expect, out);
        CHECK_MSG(!exists(db), "case %zu: a store was written for a selection the model cannot satisfy", i);
    }
    /* the last layer and head are accepted */
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --layers 1 --heads 3 --quiet", dir,
             dir, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK(db_int(db, "SELECT count(*) FROM activations WHERE layer = 1 AND (head = 3 OR head IS NULL)") == 3);
    CHECK(db_int(db, "SELECT count(*) FROM activations") == 3);
    return TEST_PASS;
}

/* --positions beyond a prompt's length: what the prompt has is recorded, the shortfall is said
 * once (naming the first short prompt and its length), and the run finishes. */
int test_run_positions_beyond_prompt(void)
{
    char dir[256], args[4096], out[16384], db[600];
    CHECK(make_model(dir, sizeof dir, 1, 2) == TEST_PASS);
    snprintf(args, sizeof args, "%s/p.jsonl", dir);
    CHECK(write_file(args, "{\"tokens\": [256, 72, 105, 33, 33]}\n"                             /* 5 tokens */
                           "{\"tokens\": [256, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]}\n"   /* 14 */
                           "{\"tokens\": [256, 65, 66, 67, 68, 69, 70, 71]}\n") == 0);      /* 8 */
    snprintf(db, sizeof db, "%s/run.db", dir);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --positions 10 --record z", dir,
             dir, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "3 prompts recorded"), "%s", out);
    const char *note = strstr(out, "--positions 10: 2 of 3 prompts are shorter than the 11 tokens it needs "
                                   "(the first: ");
    CHECK_MSG(note && strstr(note, "/p.jsonl:1, 5 tokens)"), "%s", out);
    CHECK_MSG(!strstr(note + 1, "--positions 10:"), "said more than once: %s", out);
    CHECK_MSG(strstr(out, "2 prompts have none of the positions"), "%s", out);
    CHECK(db_int(db, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL") == 1);
    CHECK(db_int(db, "SELECT count(*) FROM prompts") == 3);
    CHECK(db_int(db, "SELECT count(*) FROM activations a JOIN prompts p ON p.id = a.prompt_id "
                     "WHERE p.idx = 1 AND a.positions = '[10]'") == 2);
    CHECK(db_int(db, "SELECT count(*) FROM activations a JOIN prompts p ON p.id = a.prompt_id WHERE p.idx != 1") == 0);
    /* summaries do not depend on --positions: every prompt has them */
    CHECK(db_int(db, "SELECT count(DISTINCT prompt_id) FROM head_scores") == 3);
    /* a range that runs past the end keeps the positions the prompt has; -1 is always there */
    snprintf(db, sizeof db, "%s/range.db", dir);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --positions 3-6,-1 --record z "
             "--quiet", dir, dir, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "--positions 3-6,-1: 1 of 3 prompts is shorter than the 7 tokens it needs "
                          "(the first: ") && strstr(out, "/p.jsonl:1, 5 tokens)") && !strstr(out, "none of"),
              "%s", out);
    CHECK(db_int(db, "SELECT count(*) FROM activations a JOIN prompts p ON p.id = a.prompt_id "
                     "WHERE p.idx = 0 AND a.positions = '[3,4]'") == 2);
    CHECK(db_int(db, "SELECT count(*) FROM activations a JOIN prompts p ON p.id = a.prompt_id "
                     "WHERE p.idx = 2 AND a.positions = '[3,4,5,6,7]'") == 2);
    /* a position before the start is missing too */
    snprintf(db, sizeof db, "%s/neg.db", dir);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --positions -6 --record z --quiet",
             dir, dir, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "--positions -6: 1 of 3 prompts is shorter than the 6 tokens it needs"), "%s", out);
    return TEST_PASS;
}

/* --record takes TransformerLens's full names: blocks.L.NAME selects that layer of that hook,
 * blocks.*.NAME and hook_NAME every layer --layers selects; a layer outside --layers or the model,
 * a block prefix on a hook outside the blocks and an ambiguous hook_NAME are refused. */
int test_run_record_full_hook_names(void)
{
    char dir[256], args[4096], out[16384], db[600];
    CHECK(make_model(dir, sizeof dir, 2, 4) == TEST_PASS);
    snprintf(args, sizeof args, "%s/p.jsonl", dir);
    CHECK(write_file(args, "{\"text\": \"a prompt\"}\n{\"text\": \"another prompt\"}\n") == 0);
    struct { const char *opts; long long rows; const char *sql; long long expect; } ok[] = {
        {"--record blocks.0.attn.hook_pattern,blocks.*.hook_resid_post,hook_z --no-summaries", 2 * (4 + 2 + 8),
         "SELECT count(*) FROM activations WHERE hook = 'attn.hook_pattern' AND layer = 0", 2 * 4},
        {"--record blocks.0.attn.hook_pattern", 2 * 4,
         "SELECT count(DISTINCT layer) FROM head_scores", 2},  /* summaries follow --layers */
        {"--record hook_pattern --layers 1", 2 * 4,
         "SELECT count(*) FROM activations WHERE hook = 'attn.hook_pattern' AND layer = 1", 2 * 4},
        {"--record blocks.1.attn.hook_z,blocks.0.attn.hook_z,resid_post --layers 0-1", 2 * (8 + 2),
         "SELECT count(*) FROM runs WHERE options LIKE '%\"hook_layers\":{\"attn.hook_z\":\"0-1\"}%'", 1},
        {"--record blocks.1.hook_resid_post,hook_resid_post --layers 0,1", 2 * 2,
         "SELECT count(*) FROM runs WHERE options NOT LIKE '%hook_layers%'", 1},  /* the whole hook wins */
        {"--record unembed.hook_out,hook_embed,ln_final.hook_scale", 2 * 3,
         "SELECT count(*) FROM activations WHERE layer IS NULL", 2 * 3},
        /* the short names --help lists, scores among them, and the kind's own short name */
        {"--record scores,attn_scores,hook_attn_scores --no-summaries", 2 * 8,
         "SELECT count(*) FROM activations WHERE hook = 'attn.hook_attn_scores'", 2 * 8},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        snprintf(db, sizeof db, "%s/ok%zu.db", dir, i);
        snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --quiet %s", dir, dir, db,
                 ok[i].opts);
        CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "case %zu: %s", i, out);
        CHECK_MSG(db_int(db, "SELECT count(*) FROM activations") == ok[i].rows, "case %zu: %lld rows", i,
                  db_int(db, "SELECT count(*) FROM activations"));
        CHECK_MSG(db_int(db, ok[i].sql) == ok[i].expect, "case %zu: %s", i, ok[i].sql);
    }
    struct { const char *opts, *expect; } bad[] = {
        {"--record blocks.1.hook_resid_post --layers 0",
         "headscope run: --record blocks.1.hook_resid_post: layer 1 is not among --layers 0"},
        {"--record blocks.2.hook_resid_post",
         "headscope run: --record blocks.2.hook_resid_post: the model has 2 layers (0-1)"},
        {"--record blocks.0.hook_embed", "headscope run: --record: 'blocks.0.hook_embed': hook_embed is outside the "
                                         "blocks, so it takes no layer (write hook_embed)"},
        {"--record blocks.0.hook_pattern", "headscope run: --record: 'blocks.0.hook_pattern': no hook 'hook_pattern' "
                                           "in a block (e.g. blocks.0.attn.hook_pattern"},
        {"--record blocks.x.hook_z", "headscope run: --record: 'blocks.x.hook_z': expected blocks.LAYER.NAME or "
                                     "blocks.*.NAME"},
        {"--record blocks.-1.attn.hook_z", "headscope run: --record: 'blocks.-1.attn.hook_z': expected "
                                           "blocks.LAYER.NAME or blocks.*.NAME"},
        {"--record hook_scale", "headscope run: --record: 'hook_scale' is ambiguous: ln1.hook_scale, ln2.hook_scale, "
                                "ln_final.hook_scale"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(db, sizeof db, "%s/bad%zu.db", dir, i);
        snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s %s", dir, dir, db, bad[i].opts);
        int rc = test_run_headscope(args, out, sizeof out);
        CHECK_MSG(rc == 2, "case %zu: exit %d: %s", i, rc, out);
        CHECK_MSG(strstr(out, bad[i].expect), "case %zu: expected '%s' in: %s", i, bad[i].expect, out);
        CHECK_MSG(!exists(db), "case %zu: a store was written", i);
    }
    CHECK(test_run_headscope("run --help", out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "blocks.0.attn.hook_pattern") && strstr(out, "blocks.*.hook_resid_post"), "%s", out);
    return TEST_PASS;
}

/* Without a terminal (here a pipe) progress is a line every --progress-every seconds on stderr. */
int test_run_progress_without_terminal(void)
{
    char dir[256], args[4096], out[65536], prompts[600];
    CHECK(make_model(dir, sizeof dir, 1, 2) == TEST_PASS);
    snprintf(prompts, sizeof prompts, "%s/p.jsonl", dir);
    FILE *f = fopen(prompts, "w");
    CHECK(f);
    for (int i = 0; i < 12; i++)
        fprintf(f, "{\"text\": \"prompt %d\"}\n", i);
    CHECK(fclose(f) == 0);
    /* stderr alone, into the pipe */
    snprintf(args, sizeof args, "%s run --model %s/model --prompts %s --db %s/run.db --progress-every 0 "
             "2>&1 >/dev/null", test_headscope_program(), dir, prompts, dir);
    CHECK_MSG(test_run_shell(args, out, sizeof out) == 0, "%s", out);
    int lines = 0;
    for (const char *p = out; (p = strstr(p, "/12 prompts, ")) != NULL; p++)
        lines++;
    CHECK_MSG(strstr(out, "headscope run: 1/12 prompts, ") && strstr(out, "headscope run: 12/12 prompts, "), "%s", out);
    CHECK_MSG(strstr(out, " prompts/s, ") && strstr(out, "ETA 0:00"), "%s", out);
    CHECK_MSG(!strchr(out, '\r'), "a terminal's progress bar on a pipe: %s", out);
    CHECK_MSG(lines >= 12, "%d progress lines: %s", lines, out);
    /* resumed: the prompts found recorded are counted apart; --quiet says nothing */
    snprintf(args, sizeof args, "run --model %s/model --prompts %s --db %s/run.db --progress-every 0 --quiet 2>&1",
             dir, prompts, dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0 && strstr(out, "nothing to do") &&
              !strstr(out, "prompts/s"), "%s", out);
    /* the default interval (10 s) prints nothing for a run this short */
    snprintf(args, sizeof args, "%s run --model %s/model --prompts %s --db %s/b.db 2>&1 >/dev/null",
             test_headscope_program(), dir, prompts, dir);
    CHECK_MSG(test_run_shell(args, out, sizeof out) == 0 && !strstr(out, "prompts/s"), "%s", out);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s --db %s/c.db --progress-every -1", dir, prompts,
             dir);
    CHECK(test_run_headscope(args, out, sizeof out) == 2);
    CHECK_MSG(strstr(out, "headscope run: --progress-every '-1'"), "%s", out);
    return TEST_PASS;
}

/* The store size a run announces against the real file it then writes. */
typedef struct plan_capture {
    hs_run_plan plan;
    int calls;
} plan_capture;

static void capture_plan(void *user, const hs_run_plan *plan)
{
    plan_capture *pc = user;
    pc->plan = *plan;
    pc->calls++;
}

/* Records `prompts` into a new store `db` with the options of `record`/`positions`/`dtype` through
 * hs_run_record, and compares the estimate with the file's size: *ratio = real / estimated. */
static int estimate_against_file(const char *model, const char *prompts, const char *db, const char *record,
                                 const char *positions, hs_dtype dtype, double *ratio)
{
    hs_error err = {0};
    hs_record_options opt;
    hs_record_options_default(&opt);
    opt.dtype = dtype;
    if (record)
        CHECK_OK(hs_record_parse_hooks(record, &opt, &err), &err);
    if (positions)
        CHECK_OK(hs_index_ranges_parse(positions, 1, "--positions", &opt.positions, &err), &err);
    plan_capture pc = {0};
    hs_run_request req = {.model_path = model, .prompts_path = prompts, .db_path = db, .opt = &opt,
                          .plan = capture_plan, .progress_user = &pc};
    hs_run_result res;
    CHECK_OK(hs_run_record(&req, &res, &err), &err);
    CHECK(pc.calls == 1 && pc.plan.new_store && pc.plan.n_todo == pc.plan.n_prompts);
    struct stat sb;
    CHECK(stat(db, &sb) == 0);
    *ratio = (double)sb.st_size / (double)pc.plan.store_bytes;
    fprintf(stderr, "%-12s %-9s %-5s estimated %10lld bytes, real %10lld: real/estimated %.4f\n",
            record ? record : "default", positions ? positions : "all",
            dtype == HS_DTYPE_F32 ? "f32" : dtype == HS_DTYPE_BF16 ? "bf16" : "f16", (long long)pc.plan.store_bytes,
            (long long)sb.st_size, *ratio);
    return TEST_PASS;
}

/* The estimate is computed from the selection and each prompt's tokens, and matches the real store
 * within 5 % whatever dominates it: many small slices and their index entries (--positions -1),
 * BLOBs of a few kB packed on pages, BLOBs past a page in overflow chains (f32 patterns of 200
 * tokens), or summaries alone. */
int test_run_size_estimate_matches_store(void)
{
    char dir[256], model[600], prompts[600], db[700];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(model, sizeof model, "%s/model", dir);
    hs_error err = {0};
    hs_random_model_spec spec = {.n_layers = 2, .d_model = 32, .n_heads = 4, .n_ctx = 256, .d_vocab = 300,
                                 .init_std = 0.2f, .seed = 5};
    CHECK_OK(hs_random_model_write(model, &spec, &err), &err);
    snprintf(prompts, sizeof prompts, "%s/short.jsonl", dir);
    FILE *f = fopen(prompts, "w");
    CHECK(f);
    for (int i = 0; i < 60; i++)
        fprintf(f, "{\"id\": %d, \"text\": \"Prompt %d of the estimate's test, %.*s\", \"meta\": {\"n\": %d}}\n", i, i,
                i % 30, "which grows by one letter each line", i);
    CHECK(fclose(f) == 0);
    struct { const char *record, *positions; hs_dtype dtype; } cases[] = {
        {NULL, NULL, HS_DTYPE_F16},
        {NULL, NULL, HS_DTYPE_F32},
        {"all", "-1", HS_DTYPE_F16},
        {"all", "0-3,-2", HS_DTYPE_BF16},
        {"resid_post", "-1", HS_DTYPE_F16},
    };
    double lo = 1, hi = 1, ratio;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(db, sizeof db, "%s/s%zu.db", dir, i);
        CHECK(estimate_against_file(model, prompts, db, cases[i].record, cases[i].positions, cases[i].dtype, &ratio) ==
              TEST_PASS);
        lo = ratio < lo ? ratio : lo, hi = ratio > hi ? ratio : hi;
        unlink(db);
    }
    /* long prompts: patterns of 200 x 200 f32 (160 kB) take overflow pages */
    snprintf(prompts, sizeof prompts, "%s/long.jsonl", dir);
    CHECK((f = fopen(prompts, "w")) != NULL);
    for (int i = 0; i < 6; i++) {
        fprintf(f, "{\"tokens\": [256");
        for (int k = 1; k < 200; k++)
            fprintf(f, ", %d", (i * 31 + k * 7) % 256);
        fprintf(f, "]}\n");
    }
    CHECK(fclose(f) == 0);
    snprintf(db, sizeof db, "%s/long.db", dir);
    CHECK(estimate_against_file(model, prompts, db, "pattern", NULL, HS_DTYPE_F32, &ratio) == TEST_PASS);
    lo = ratio < lo ? ratio : lo, hi = ratio > hi ? ratio : hi;
    unlink(db);
    snprintf(db, sizeof db, "%s/long2.db", dir);
    CHECK(estimate_against_file(model, prompts, db, "all", "0-99", HS_DTYPE_F16, &ratio) == TEST_PASS);
    lo = ratio < lo ? ratio : lo, hi = ratio > hi ? ratio : hi;
    unlink(db);
    fprintf(stderr, "real / estimated size: %.4f to %.4f\n", lo, hi);
    CHECK_MSG(lo >= 0.95 && hi <= 1.05, "real / estimated from %.4f to %.4f, beyond 5 %%", lo, hi);
    return TEST_PASS;
}

/* Above --max-size or the free disk space the run is refused before the store exists; --force
 * records anyway; the estimate is printed before recording. */
int test_run_size_limits(void)
{
    char dir[256], args[4096], out[16384], db[600];
    CHECK(make_model(dir, sizeof dir, 2, 4) == TEST_PASS);
    snprintf(args, sizeof args, "%s/p.jsonl", dir);
    CHECK(write_file(args, "{\"text\": \"a prompt\"}\n{\"text\": \"another prompt\"}\n") == 0);
    snprintf(db, sizeof db, "%s/run.db", dir);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --max-size 1M", dir, dir, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 1, "%s", out);
    CHECK_MSG(strstr(out, "run.db: the store would be about 2.") && strstr(out, " MB once its 2 prompts are recorded "
                          "(about ") && strstr(out, "more than --max-size 1.00 MB; record less (--record, --layers, "
                          "--heads, --positions, --dtype) or pass --force"), "%s", out);
    CHECK_MSG(!exists(db), "a store was written past --max-size");
    snprintf(args, sizeof args, "env HS_TEST_FREE_BYTES=1000 %s run --model %s/model --prompts %s/p.jsonl --db %s "
             "2>&1", test_headscope_program(), dir, dir, db);
    CHECK_MSG(test_run_shell(args, out, sizeof out) == 1, "%s", out);
    CHECK_MSG(strstr(out, "run.db: recording 2 prompts would add about ") &&
              strstr(out, "more than the 1.00 kB free on its file system; record less"), "%s", out);
    CHECK_MSG(!exists(db), "a store was written past the free space");
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --max-size 1M --force", dir, dir,
             db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "run.db will be about 2.") && strstr(out, " MB (2 prompts to record, about ") &&
              strstr(out, " free)\n") && strstr(out, "2 prompts recorded"), "%s", out);
    /* a finished run has nothing to add, whatever the room */
    snprintf(args, sizeof args, "env HS_TEST_FREE_BYTES=1000 %s run --model %s/model --prompts %s/p.jsonl --db %s "
             "--max-size 1M 2>&1", test_headscope_program(), dir, dir, db);
    CHECK_MSG(test_run_shell(args, out, sizeof out) == 0 && strstr(out, "nothing to do"), "%s", out);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s/p.jsonl --db %s --max-size 10X", dir, dir, db);
    CHECK(test_run_headscope(args, out, sizeof out) == 2);
    CHECK_MSG(strstr(out, "headscope run: --max-size '10X' is not a size such as 500M or 20G"), "%s", out);
    return TEST_PASS;
}

/* Ctrl-C during a run: it stops after the prompt it is recording, says how many prompts the store
 * keeps and that the same command resumes, exits 130; the store is whole, and the same command
 * records the rest. */
int test_run_sigint_keeps_and_resumes(void)
{
    char dir[256], prompts[600], db[600], log[600], args[4096], out[65536];
    CHECK(make_model(dir, sizeof dir, 1, 2) == TEST_PASS);
    snprintf(prompts, sizeof prompts, "%s/p.jsonl", dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    snprintf(log, sizeof log, "%s/log.txt", dir);
    const int N = 3000;
    FILE *f = fopen(prompts, "w");
    CHECK(f);
    for (int i = 0; i < N; i++)
        fprintf(f, "{\"text\": \"prompt number %d, long enough to take a moment\"}\n", i);
    CHECK(fclose(f) == 0);
    char model[600];
    snprintf(model, sizeof model, "%s/model", dir);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1), dup2(fd, 2);
        execl(test_headscope_program(), "headscope", "run", "--model", model, "--prompts", prompts, "--db", db,
              "--record", "z", "--positions", "-1", "--no-summaries", (char *)NULL);
        _exit(127);
    }
    long long have = 0;
    for (int i = 0; i < 1000 && have < 1; i++) {
        usleep(10000);
        if (exists(db)) {
            sqlite3 *d = NULL;
            sqlite3_stmt *st = NULL;
            if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
                sqlite3_busy_timeout(d, 1000) == SQLITE_OK && sqlite3_prepare_v2(d, "SELECT count(*) FROM prompts", -1, &st, NULL) == SQLITE_OK &&
                sqlite3_step(st) == SQLITE_ROW)
                have = sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            sqlite3_close(d);
        }
    }
    kill(pid, SIGINT);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    f = fopen(log, "r");
    CHECK(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    fclose(f);
    CHECK_MSG(have >= 1, "no prompt was recorded before the interrupt: %s", out);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 130, "status %d: %s", status, out);
    const char *msg = strstr(out, "headscope run: interrupted: ");
    int kept = -1, total = -1;
    CHECK_MSG(msg && sscanf(msg, "headscope run: interrupted: %d of %d prompts", &kept, &total) == 2, "%s", out);
    CHECK_MSG(strstr(msg, " recorded in ") && strstr(msg, "run.db; run the same command to resume"), "%s", out);
    CHECK_MSG(total == N && kept >= have && kept < N, "kept %d of %d (saw %lld): %s", kept, total, have, out);
    CHECK(db_int(db, "SELECT count(*) FROM prompts") == kept);
    CHECK(db_int(db, "SELECT count(*) FROM runs WHERE finished_at IS NULL") == 1);
    /* every kept prompt is whole: z of its 2 heads */
    CHECK(db_int(db, "SELECT count(*) FROM prompts p WHERE (SELECT count(*) FROM activations a "
                     "WHERE a.prompt_id = p.id) != 2") == 0);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --record z --positions -1 --no-summaries", model,
             prompts, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    char expect[64];
    snprintf(expect, sizeof expect, "(%d prompts to record, ", N - kept);
    CHECK_MSG(strstr(out, expect) && strstr(out, "prompts recorded, resumed"), "%s", out);
    CHECK(db_int(db, "SELECT count(*) FROM prompts") == N);
    CHECK(db_int(db, "SELECT count(DISTINCT idx) FROM prompts") == N);
    CHECK(db_int(db, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL") == 1);
    fprintf(stderr, "interrupted after %d of %d prompts; resumed to %d\n", kept, N, N);
    return TEST_PASS;
}
