/* test_heads.c — `analyze heads` and what it stands on: detection patterns and scores against
 * hand-computed answers, the "tokens" prompt field, the repeated-block prompt set, the planted-heads
 * model (each analysis must find exactly the heads built into it, with the values their
 * construction implies), the pattern source's two routes (stored patterns and the run's model)
 * agreeing, and agreement with TransformerLens's detect_head (tools/gen_head_detector_ref.py). */
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/heads/head_detectors.h"
#include "datasets/prompts.h"
#include "datasets/repeated_blocks.h"
#include "model/planted_model.h"
#include "store/store.h"
#include "tests/test.h"

/* ---------------------------------------------------------------- helpers */

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static double query_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "SQL error: %s\n  in: %s\n", sqlite3_errmsg(db), sql);
        return NAN;
    }
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Runs `headscope ARGS` (printf-style) and returns its exit status; its output lands in out. */
static int headscope(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int headscope(char *out, size_t cap, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return test_run_headscope(args, out, cap);
}

/* ---------------------------------------------------------------- detection patterns and scores */

static int check_pattern(const float *D, int T, const int (*ones)[2], int n_ones, const char *what)
{
    for (int i = 0; i < T; i++)
        for (int k = 0; k < T; k++) {
            float want = 0;
            for (int j = 0; j < n_ones; j++)
                if (ones[j][0] == i && ones[j][1] == k)
                    want = 1;
            CHECK_MSG(D[i * T + k] == want, "%s: D[%d][%d] = %g, expected %g", what, i, k, D[i * T + k], want);
        }
    return TEST_PASS;
}

/* Tokens [9, 1, 2, 1, 1, 2]: the three TL detection patterns written out by hand, including the
 * induction pattern's diagonal entry where a token repeats at once (4: tok[3] == tok[4]). */
int test_heads_detection_patterns(void)
{
    const int32_t ids[6] = {9, 1, 2, 1, 1, 2};
    float D[36];
    static const int prev[][2] = {{1, 0}, {2, 1}, {3, 2}, {4, 3}, {5, 4}};
    static const int dup[][2] = {{3, 1}, {4, 1}, {4, 3}, {5, 2}};
    static const int ind[][2] = {{3, 2}, {4, 2}, {4, 4}, {5, 3}};
    hs_detect_previous_token(6, D);
    if (check_pattern(D, 6, prev, 5, "previous token"))
        return TEST_FAIL;
    hs_detect_duplicate_token(ids, 6, D);
    if (check_pattern(D, 6, dup, 4, "duplicate token"))
        return TEST_FAIL;
    hs_detect_induction(ids, 6, D);
    if (check_pattern(D, 6, ind, 4, "induction"))
        return TEST_FAIL;
    return TEST_PASS;
}

/* Scores of a hand-made pattern, worked out on paper. */
int test_heads_scores_known_answers(void)
{
    const float A[16] = {1.0f, 0, 0, 0, 0.5f, 0.5f, 0, 0, 0.2f, 0.6f, 0.2f, 0, 0.1f, 0.2f, 0.3f, 0.4f};
    float D[16];
    hs_detect_previous_token(4, D);
    hs_detect_options none = {0, 0}, bos = {1, 0}, cur = {0, 1}, both = {1, 1};
    /* numerator 0.5 + 0.6 + 0.3; denominator: all attention (4), minus column 0 (1.8), minus the
     * diagonal (2.1), minus both (2.9) */
    CHECK_NEAR(hs_detect_score_mul(A, D, 4, NULL, &none), 1.4 / 4.0, 1e-7);
    CHECK_NEAR(hs_detect_score_mul(A, D, 4, NULL, &bos), 0.9 / 2.2, 1e-7);
    CHECK_NEAR(hs_detect_score_mul(A, D, 4, NULL, &cur), 1.4 / 1.9, 1e-7);
    CHECK_NEAR(hs_detect_score_mul(A, D, 4, NULL, &both), 0.9 / 1.1, 1e-7);
    const unsigned char rows23[4] = {0, 0, 1, 1};
    CHECK_NEAR(hs_detect_score_mul(A, D, 4, rows23, &none), 0.9 / 2.0, 1e-7);
    /* nothing left after both exclusions: NaN, as TL's 0/0 */
    const float A2[4] = {1, 0, 1, 0};
    float D2[4];
    hs_detect_previous_token(2, D2);
    CHECK(isnan(hs_detect_score_mul(A2, D2, 2, NULL, &both)));
    /* distance: rows 0, 0.5, 1.0, 1.0; entropy: 0, ln 2, 0.95027054, 1.27985423 */
    CHECK_NEAR(hs_attention_distance(A, 4, NULL), 2.5 / 4.0, 1e-7);
    CHECK_NEAR(hs_attention_distance(A, 4, rows23), 1.0, 1e-7);
    CHECK_NEAR(hs_attention_entropy(A, 4, NULL), 0.7308179864, 1e-7);
    /* retrieval on BOS + 2 copies of 2 tokens (T = 5): queries 3 and 4 */
    const float R[25] = {1, 0, 0, 0, 0,            0.5f, 0.5f, 0, 0, 0,          0.2f, 0.3f, 0.5f, 0, 0,
                         0.1f, 0.6f, 0.2f, 0.1f, 0, 0.1f, 0.1f, 0.4f, 0.3f, 0.1f};
    double echo, ind;
    hs_retrieval_scores(R, 5, 1, 2, 2, NULL, &echo, &ind);
    CHECK_NEAR(echo, (0.6 + 0.4) / 2, 1e-7);  /* A[3][1], A[4][2] */
    CHECK_NEAR(ind, (0.2 + 0.3) / 2, 1e-7);   /* A[3][2], A[4][3] */
    hs_retrieval_scores(R, 5, 1, 2, 1, NULL, &echo, &ind);
    CHECK(isnan(echo) && isnan(ind));        /* one copy: nothing to retrieve */
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the "tokens" prompt field */

int test_heads_prompt_tokens_field(void)
{
    char dir[512], path[600], db[600], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(path, sizeof path, "%s/p.jsonl", dir);
    hs_error err = {0};
    hs_prompt_set *set = NULL;
    CHECK(write_text(path, "{\"id\": 1, \"tokens\": [150, 5, 7, 5]}\n{\"text\": \"x\", \"tokens\": [3]}\n") == 0);
    CHECK_OK(hs_prompt_set_load(path, &set, &err), &err);
    CHECK(set->n == 2 && set->prompts[0].n_tokens == 4 && set->prompts[0].tokens[3] == 5 && !set->prompts[0].text);
    CHECK(set->prompts[1].n_tokens == 1 && !strcmp(set->prompts[1].text, "x"));
    hs_prompt_set_free(set);
    static const struct {
        const char *line, *expect;
    } bad[] = {
        {"{\"tokens\": []}", "non-empty array"},
        {"{\"tokens\": [1, -2]}", "\"tokens\"[1] is not a token id"},
        {"{\"tokens\": [1, 2.5]}", "\"tokens\"[1] is not a token id"},
        {"{\"tokens\": \"1 2\"}", "non-empty array"},
        {"{\"meta\": {}}", "(or give \"tokens\")"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(write_text(path, bad[i].line) == 0);
        CHECK_MSG(hs_prompt_set_load(path, &set, &err) == HS_ERR_FORMAT, "case %zu", i);
        CHECK_MSG(strstr(err.msg, bad[i].expect) && strstr(err.msg, "p.jsonl:1"), "case %zu: %s", i, err.msg);
    }
    /* recorded through a model without a tokenizer: ids verbatim (no BOS added), text = the ids */
    const char *fixture = test_src_path("tests/fixtures/models/gpt2");
    char model[600];
    snprintf(model, sizeof model, "%s", fixture);
    snprintf(db, sizeof db, "%s/t.db", dir);
    CHECK(write_text(path, "{\"tokens\": [5, 7, 9, 5]}\n{\"tokens\": [150, 1], \"text\": \"mine\"}\n") == 0);
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --record pattern --quiet", model, path,
                        db) == 0, "%s", out);
    sqlite3 *s = open_db(db);
    CHECK(s);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(s, "SELECT p.text, (SELECT group_concat(token_id, ' ') FROM (SELECT token_id FROM tokens "
                                "WHERE prompt_id = p.id ORDER BY pos)), (SELECT count(text) FROM tokens WHERE "
                                "prompt_id = p.id) FROM prompts p ORDER BY idx", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_MSG(!strcmp((const char *)sqlite3_column_text(st, 0), "5 7 9 5"), "%s", sqlite3_column_text(st, 0));
    CHECK(!strcmp((const char *)sqlite3_column_text(st, 1), "5 7 9 5"));
    CHECK(sqlite3_column_int(st, 2) == 0); /* no tokenizer: token texts are NULL */
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(!strcmp((const char *)sqlite3_column_text(st, 0), "mine") &&
          !strcmp((const char *)sqlite3_column_text(st, 1), "150 1"));
    sqlite3_finalize(st);
    sqlite3_close(s);
    /* an id outside the vocabulary, and text that needs a tokenizer the model lacks */
    CHECK(write_text(path, "{\"tokens\": [5, 151]}\n") == 0);
    CHECK(headscope(out, sizeof out, "run --model %s --prompts %s --db %s/u.db --quiet", model, path, dir) == 1);
    CHECK_MSG(strstr(out, "p.jsonl:1: tokens[1] = 151 is outside the model's vocabulary (151 ids)"), "%s", out);
    CHECK(write_text(path, "{\"tokens\": [5]}\n{\"text\": \"hello\"}\n") == 0);
    CHECK(headscope(out, sizeof out, "run --model %s --prompts %s --db %s/u.db --quiet", model, path, dir) == 1);
    CHECK_MSG(strstr(out, "p.jsonl:2: the model") && strstr(out, "give the prompt's \"tokens\""), "%s", out);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- repeated blocks */

int test_heads_repeated_blocks_dataset(void)
{
    char dir[512], a[600], b[600];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(a, sizeof a, "%s/a.jsonl", dir);
    snprintf(b, sizeof b, "%s/b.jsonl", dir);
    hs_error err = {0};
    const int32_t special[2] = {7, 3};
    hs_repeated_blocks_spec spec = {.n_prompts = 20, .block_len = 9, .copies = 4, .bos_id = 99, .lo = 0, .hi = 12,
                                    .exclude = special, .n_exclude = 2, .seed = 5};
    CHECK_OK(hs_repeated_blocks_write(a, &spec, &err), &err);
    CHECK_OK(hs_repeated_blocks_write(b, &spec, &err), &err);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    CHECK_MSG(system(cmd) == 0, "the same seed wrote different files");
    spec.seed = 6;
    CHECK_OK(hs_repeated_blocks_write(b, &spec, &err), &err);
    CHECK_MSG(system(cmd) != 0, "another seed wrote the same file");
    hs_prompt_set *set = NULL;
    CHECK_OK(hs_prompt_set_load(a, &set, &err), &err);
    CHECK(set->n == 20);
    int first_tokens_differ = 0;
    for (int p = 0; p < set->n; p++) {
        const hs_prompt *q = &set->prompts[p];
        CHECK(q->n_tokens == 1 + 4 * 9 && q->tokens[0] == 99 && q->meta_json);
        for (int j = 0; j < 9; j++) {
            int32_t t = q->tokens[1 + j];
            CHECK_MSG(t >= 0 && t < 12 && t != 7 && t != 3, "token %d drawn", t);
            for (int k = 0; k < j; k++)
                CHECK_MSG(q->tokens[1 + k] != t, "a block repeats token %d", t);
            for (int c = 1; c < 4; c++)
                CHECK(q->tokens[1 + c * 9 + j] == t);
        }
        first_tokens_differ |= q->tokens[1] != set->prompts[0].tokens[1];
        hs_repeat_layout lay;
        int found;
        CHECK_OK(hs_repeat_layout_read(q->meta_json, q->tokens, q->n_tokens, &lay, &found, &err), &err);
        CHECK(found && lay.offset == 1 && lay.block_len == 9 && lay.copies == 4);
        /* a corrupted copy is refused, naming the positions */
        q->tokens[1 + 2 * 9 + 4] ^= 1;
        CHECK(hs_repeat_layout_read(q->meta_json, q->tokens, q->n_tokens, &lay, &found, &err) == HS_ERR_FORMAT);
        CHECK_MSG(strstr(err.msg, "token 23"), "%s", err.msg);
    }
    CHECK(first_tokens_differ);
    hs_prompt_set_free(set);
    /* meta without the layout is simply not repeated blocks; a layout that does not fit is an error */
    hs_repeat_layout lay;
    int found = 1;
    const int32_t ids[5] = {1, 2, 3, 2, 3};
    CHECK_OK(hs_repeat_layout_read("{\"task\": \"x\"}", ids, 5, &lay, &found, &err), &err);
    CHECK(!found);
    CHECK(hs_repeat_layout_read("{\"offset\": 1, \"block_len\": 2, \"copies\": 3}", ids, 5, &lay, &found, &err) ==
          HS_ERR_FORMAT);
    /* too few ids for a block of distinct tokens */
    spec.hi = 9;
    CHECK(hs_repeated_blocks_write(a, &spec, &err) == HS_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "7 distinct token ids"), "%s", err.msg);
    /* a pool replaces the range: only its ids (once each, minus the excluded) are drawn */
    const int32_t pool[] = {40, 41, 7, 42, 41, 43, 44};
    spec = (hs_repeated_blocks_spec){.n_prompts = 10, .block_len = 5, .copies = 2, .bos_id = -1, .exclude = special,
                                     .n_exclude = 2, .pool = pool, .n_pool = 7, .seed = 1};
    CHECK_OK(hs_repeated_blocks_write(a, &spec, &err), &err);
    CHECK_OK(hs_prompt_set_load(a, &set, &err), &err);
    for (int p = 0; p < set->n; p++)
        for (int j = 0; j < set->prompts[p].n_tokens; j++)
            CHECK_MSG(set->prompts[p].tokens[j] >= 40 && set->prompts[p].tokens[j] <= 44, "token %d drawn",
                      set->prompts[p].tokens[j]);
    hs_prompt_set_free(set);
    spec.block_len = 6; /* 40..44: five distinct ids once 7 and the second 41 are dropped */
    CHECK(hs_repeated_blocks_write(a, &spec, &err) == HS_ERR_ARG);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the planted model */

#define PL_N 6
#define PL_L 10
#define PL_C 4
#define PL_T (1 + PL_C * PL_L)

/* Writes the planted model and its repeated-block prompts under dir. */
static int planted_setup(const char *dir, char *model, size_t cap_model, char *prompts, size_t cap_prompts)
{
    hs_error err = {0};
    char out[4096];
    snprintf(model, cap_model, "%s/planted", dir);
    snprintf(prompts, cap_prompts, "%s/rep.jsonl", dir);
    CHECK_OK(hs_planted_model_write(model, &err), &err);
    CHECK_MSG(headscope(out, sizeof out, "dataset repeated-blocks --model %s --out %s --n %d --block-len %d --copies %d",
                        model, prompts, PL_N, PL_L, PL_C) == 0, "%s", out);
    return TEST_PASS;
}

enum { M_PREV, M_DUP, M_IND, M_ECHO, M_RIND, M_DIST, M_ENT, N_M };
static const char *const metric_names[N_M] = {"previous_token", "duplicate_token", "induction", "retrieval_echo",
                                               "retrieval_induction", "attn_distance", "entropy"};

/* What a head of `kind` scores on BOS + C copies of L distinct tokens (T = 1 + C*L), from its
 * construction: rows that can follow their rule do; rows that cannot fall back to key 0 (the
 * duplicate and induction heads: the first copy) or spread uniformly (the two-back head's row 1).
 * The uniform head's values are sums over rows of 1/(i+1)-weighted counts. */
static double planted_expected(hs_planted_kind kind, int m)
{
    const double T = PL_T, L = PL_L;
    double v[N_M] = {0};
    switch (kind) {
    case HS_PLANTED_PREVIOUS_TOKEN:
        v[M_PREV] = (T - 1) / T;
        v[M_DIST] = (T - 1) / T;
        break;
    case HS_PLANTED_FIRST_TOKEN:
        v[M_PREV] = 1 / T; /* row 1's first token is its previous token */
        v[M_DIST] = (T - 1) / 2;
        break;
    case HS_PLANTED_DUPLICATE_TOKEN:
        v[M_PREV] = 1 / T;
        v[M_DUP] = (T - 1 - L) / T;
        v[M_ECHO] = 1;
        v[M_DIST] = (L * (L + 1) / 2 + (T - 1 - L) * L) / T;
        break;
    case HS_PLANTED_INDUCTION:
        v[M_PREV] = 1 / T;
        v[M_IND] = (T - 1 - L) / T;
        v[M_RIND] = 1;
        v[M_DIST] = (L * (L + 1) / 2 + (T - 1 - L) * (L - 1)) / T;
        break;
    case HS_PLANTED_CURRENT_TOKEN:
        break;
    case HS_PLANTED_TWO_BACK:
        v[M_PREV] = 0.5 / T;
        v[M_DIST] = (0.5 + 2 * (T - 2)) / T;
        v[M_ENT] = log(2.0) / T;
        break;
    case HS_PLANTED_UNIFORM: {
        double prev = 0, copies = 0, ret = 0, dist = 0, ent = 0;
        int n_ret = 0;
        for (int i = 0; i < PL_T; i++) {
            int earlier = i == 0 ? 0 : (i - 1) / PL_L; /* earlier copies of token i */
            prev += i ? 1.0 / (i + 1) : 0;
            copies += (double)earlier / (i + 1);
            dist += i / 2.0;
            ent += log(i + 1.0);
            if (i >= 1 + PL_L) {
                ret += 1.0 / (i + 1);
                n_ret++;
            }
        }
        v[M_PREV] = prev / T;
        v[M_DUP] = v[M_IND] = copies / T;
        v[M_ECHO] = v[M_RIND] = ret / n_ret;
        v[M_DIST] = dist / T;
        v[M_ENT] = ent / T;
        break;
    }
    }
    return v[m];
}

/* Every head_scores row of a run's 'heads' analysis equals its planted value within tol. */
static int check_planted_rows(sqlite3 *db, int run, double tol)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT metric, layer, head, value, prompt_id IS NULL FROM head_scores WHERE analysis = 'heads' AND "
             "run_id = %d", run);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    int n = 0, n_mean = 0;
    double worst = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *metric = (const char *)sqlite3_column_text(st, 0);
        int l = sqlite3_column_int(st, 1), h = sqlite3_column_int(st, 2), m = -1;
        for (int k = 0; k < N_M; k++)
            if (!strcmp(metric, metric_names[k]))
                m = k;
        CHECK_MSG(m >= 0 && l >= 0 && l < 2 && h >= 0 && h < 4, "unexpected row %s L%dH%d", metric, l, h);
        CHECK_MSG(sqlite3_column_type(st, 3) == SQLITE_FLOAT, "%s L%dH%d is NULL", metric, l, h);
        double got = sqlite3_column_double(st, 3), want = planted_expected(hs_planted_heads[l][h], m);
        if (fabs(got - want) > worst)
            worst = fabs(got - want);
        CHECK_MSG(fabs(got - want) <= tol, "run %d: %s of L%dH%d = %.6f, planted %.6f", run, metric, l, h, got, want);
        n++;
        n_mean += sqlite3_column_int(st, 4);
    }
    sqlite3_finalize(st);
    CHECK_MSG(n == (PL_N + 1) * N_M * 8 && n_mean == N_M * 8, "%d rows, %d means", n, n_mean);
    if (getenv("HS_TEST_VERBOSE"))
        fprintf(stderr, "planted run %d: largest deviation from the planted values %.3g\n", run, worst);
    return TEST_PASS;
}

/* With --exclude-bos the planted head of each TL detector scores >= 0.99 and every other head
 * <= 0.1: the heads found are exactly the planted ones. */
static int check_planted_found(sqlite3 *db)
{
    static const struct {
        const char *metric;
        hs_planted_kind kind;
    } planted[] = {{"previous_token", HS_PLANTED_PREVIOUS_TOKEN}, {"duplicate_token", HS_PLANTED_DUPLICATE_TOKEN},
                   {"induction", HS_PLANTED_INDUCTION}, {"retrieval_echo", HS_PLANTED_DUPLICATE_TOKEN},
                   {"retrieval_induction", HS_PLANTED_INDUCTION}};
    for (size_t k = 0; k < sizeof planted / sizeof planted[0]; k++)
        for (int l = 0; l < 2; l++)
            for (int h = 0; h < 4; h++) {
                char where[200], sql[300];
                snprintf(where, sizeof where, "FROM head_scores WHERE analysis = 'heads' AND metric = '%s' AND layer = %d "
                         "AND head = %d", planted[k].metric, l, h);
                int is = hs_planted_heads[l][h] == planted[k].kind;
                snprintf(sql, sizeof sql, "SELECT min(value) %s", where); /* over the prompts and the mean */
                double v = query_double(db, sql);
                snprintf(sql, sizeof sql, "SELECT max(value) %s", where);
                double vmax = query_double(db, sql);
                if (is)
                    CHECK_MSG(v >= 0.99, "--exclude-bos: planted %s head L%dH%d scores %.4f", planted[k].metric, l, h, v);
                else
                    CHECK_MSG(vmax <= 0.1, "--exclude-bos: L%dH%d scores %.4f on %s", l, h, vmax, planted[k].metric);
            }
    return TEST_PASS;
}

/* The whole path on the planted model: dataset -> run (float32 patterns) -> analyze heads. */
int test_heads_planted_truth(void)
{
    char dir[512], model[600], prompts[600], db[600], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    if (planted_setup(dir, model, sizeof model, prompts, sizeof prompts))
        return TEST_FAIL;
    snprintf(db, sizeof db, "%s/p.db", dir);
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --dtype f32 --record pattern --quiet",
                        model, prompts, db) == 0, "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s", db) == 0, "%s", out);
    CHECK_MSG(strstr(out, "6 prompts (6 repeated blocks), 2 layers x 4 heads, patterns stored (f32): 392 head_scores"),
              "%s", out);
    sqlite3 *s = open_db(db);
    CHECK(s);
    if (check_planted_rows(s, 1, 1e-3))
        return TEST_FAIL;
    /* rerun with --exclude-bos: the earlier rows are replaced, not added to */
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --exclude-bos --quiet", db) == 0, "%s", out);
    CHECK(query_double(s, "SELECT count(*) FROM head_scores WHERE analysis = 'heads'") == (PL_N + 1) * N_M * 8);
    if (check_planted_found(s))
        return TEST_FAIL;
    /* the same prompts stored as float16 (run 2): the same values within float16 rounding */
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --record pattern --quiet", model, prompts,
                        db) == 0, "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --run 2", db) == 0, "%s", out);
    CHECK_MSG(strstr(out, "run 2:") && strstr(out, "(f16)"), "%s", out);
    if (check_planted_rows(s, 2, 2e-3))
        return TEST_FAIL;
    CHECK(query_double(s, "SELECT count(*) FROM head_scores WHERE analysis = 'heads' AND run_id = 1") ==
          (PL_N + 1) * N_M * 8);
    sqlite3_close(s);
    return TEST_PASS;
}

/* The largest difference between two stores' 'heads' rows, matched by metric, layer, head and
 * prompt index (-1 when they do not hold the same rows). */
static double max_diff_between(const char *db_a, const char *db_b)
{
    sqlite3 *s = open_db(db_a);
    if (!s)
        return -1;
    char sql[8192];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS b", db_b);
    double d = -1;
    if (sqlite3_exec(s, sql, NULL, NULL, NULL) == SQLITE_OK) {
        const char *rows = "SELECT h.metric, h.layer, h.head, coalesce(p.idx, -1) AS idx, h.value FROM %s.head_scores "
                           "h LEFT JOIN %s.prompts p ON p.id = h.prompt_id WHERE h.analysis = 'heads'";
        char a[600], b[600];
        snprintf(a, sizeof a, rows, "main", "main");
        snprintf(b, sizeof b, rows, "b", "b");
        snprintf(sql, sizeof sql,
                 "SELECT CASE WHEN (SELECT count(*) FROM (%s)) = (SELECT count(*) FROM (%s)) AND "
                 "(SELECT count(*) FROM (%s)) = (SELECT count(*) FROM (%s) x JOIN (%s) y USING (metric, layer, head, idx)) "
                 "THEN (SELECT max(abs(x.value - y.value)) FROM (%s) x JOIN (%s) y USING (metric, layer, head, idx)) "
                 "ELSE -1 END",
                 a, b, a, a, b, a, b);
        d = query_double(s, sql);
    }
    sqlite3_close(s);
    return d;
}

/* Patterns from the run's model when the store has none (or only some): equal to the stored route. */
int test_heads_planted_from_model(void)
{
    char dir[512], model[600], prompts[600], db_pat[600], db_z[600], db_part[600], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    if (planted_setup(dir, model, sizeof model, prompts, sizeof prompts))
        return TEST_FAIL;
    snprintf(db_pat, sizeof db_pat, "%s/pat.db", dir);
    snprintf(db_z, sizeof db_z, "%s/z.db", dir);
    snprintf(db_part, sizeof db_part, "%s/part.db", dir);
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --dtype f32 --record pattern --quiet",
                        model, prompts, db_pat) == 0, "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --quiet", db_pat) == 0, "%s", out);
    /* recorded without patterns: no model is an error that says what to do */
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --record z --no-summaries --quiet", model,
                        prompts, db_z) == 0, "%s", out);
    CHECK(headscope(out, sizeof out, "analyze heads --db %s", db_z) == 1);
    CHECK_MSG(strstr(out, "run 1 stored no attention patterns (hook attn.hook_pattern") && strstr(out, "--model ") &&
              strstr(out, "planted"), "%s", out);
    /* another model with the same shape is refused (its patterns would not be the run's) */
    CHECK(headscope(out, sizeof out, "analyze heads --db %s --model %s", db_z,
                    test_src_path("tests/fixtures/models/gpt2")) == 1);
    CHECK_MSG(strstr(out, "is a different one"), "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --model %s", db_z, model) == 0, "%s", out);
    CHECK_MSG(strstr(out, "patterns computed by the model (f32)"), "%s", out);
    double d = max_diff_between(db_pat, db_z);
    CHECK_MSG(d >= 0 && d <= 1e-6, "model route vs stored route: %g", d);
    /* --recompute on a store that has every pattern gives the same rows too */
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --model %s --recompute", db_pat, model) == 0, "%s", out);
    CHECK_MSG(strstr(out, "computed by the model"), "%s", out);
    d = max_diff_between(db_pat, db_z);
    CHECK_MSG(d >= 0 && d <= 1e-6, "--recompute vs the model route: %g", d);
    /* only layer 1, queries 11..40 (the copies after the first): without a model the analysis uses
     * what is there (layer 1 only; the induction head's kept rows all follow their rule, so its
     * score is 1); with the model it is complete again */
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --dtype f32 --record pattern --layers 1 "
                        "--positions 11-40 --quiet", model, prompts, db_part) == 0, "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s", db_part) == 0, "%s", out);
    CHECK_MSG(strstr(out, "stored (f32, some heads or rows missing)"), "%s", out);
    sqlite3 *s = open_db(db_part);
    CHECK(s);
    CHECK(query_double(s, "SELECT count(*) FROM head_scores WHERE analysis = 'heads' AND layer = 0") == 0);
    CHECK_NEAR(query_double(s, "SELECT min(value) FROM head_scores WHERE analysis = 'heads' AND metric = 'induction' "
                               "AND layer = 1 AND head = 0"), 1.0, 1e-3);
    CHECK_NEAR(query_double(s, "SELECT min(value) FROM head_scores WHERE analysis = 'heads' AND metric = "
                               "'retrieval_induction' AND layer = 1 AND head = 0"), 1.0, 1e-3);
    CHECK_NEAR(query_double(s, "SELECT max(value) FROM head_scores WHERE analysis = 'heads' AND metric = "
                               "'attn_distance' AND layer = 1 AND head = 1"), 0.0, 1e-6);
    sqlite3_close(s);
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --model %s", db_part, model) == 0, "%s", out);
    CHECK_MSG(strstr(out, "computed by the model"), "%s", out);
    d = max_diff_between(db_pat, db_part);
    CHECK_MSG(d >= 0 && d <= 1e-6, "partial store + model vs stored route: %g", d);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- TransformerLens agreement */

/* headscope's scores on the gpt2 fixture equal TransformerLens's detect_head (TL 4.3, values
 * committed by tools/gen_head_detector_ref.py) for every detector and exclusion setting, per
 * prompt and averaged. Tolerance 1e-5: the forward pass agrees with PyTorch to ~1e-6 per pattern
 * entry (test_parity), and a score is a ratio of sums of those entries. */
int test_heads_transformer_lens_agreement(void)
{
    char dir[512], db[600], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(db, sizeof db, "%s/tl.db", dir);
    char model[600], prompts[600], refpath[600];
    snprintf(model, sizeof model, "%s", test_src_path("tests/fixtures/models/gpt2"));
    snprintf(prompts, sizeof prompts, "%s", test_src_path("tests/fixtures/heads/tl_prompts.jsonl"));
    snprintf(refpath, sizeof refpath, "%s", test_src_path("tests/fixtures/heads/tl_detect_head.json"));
    json_error_t jerr;
    json_t *ref = json_load_file(refpath, 0, &jerr);
    CHECK_MSG(ref, "%s: %s", refpath, jerr.text);
    CHECK(!strcmp(json_string_value(json_object_get(ref, "format")), "headscope-tl-detect-head") &&
          json_integer_value(json_object_get(ref, "format_version")) == 1);
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --dtype f32 --record pattern --quiet",
                        model, prompts, db) == 0, "%s", out);
    sqlite3 *s = open_db(db);
    CHECK(s);
    /* the stored tokens are the ids TL ran */
    json_t *ref_prompts = json_object_get(ref, "prompts");
    int n_prompts = (int)json_array_size(ref_prompts);
    CHECK(n_prompts > 0);
    for (int p = 0; p < n_prompts; p++) {
        json_t *ids = json_array_get(ref_prompts, (size_t)p);
        for (size_t i = 0; i < json_array_size(ids); i++) {
            char sql[300];
            snprintf(sql, sizeof sql,
                     "SELECT token_id FROM tokens t JOIN prompts p ON p.id = t.prompt_id WHERE p.idx = %d AND t.pos = %zu",
                     p, i);
            CHECK(query_double(s, sql) == (double)json_integer_value(json_array_get(ids, i)));
        }
    }
    static const char *const tl_names[3][2] = {{"previous_token_head", "previous_token"},
                                               {"duplicate_token_head", "duplicate_token"},
                                               {"induction_head", "induction"}};
    double worst = 0;
    int compared = 0;
    for (int ex = 0; ex < 4; ex++) {
        int ex_bos = ex >> 1, ex_cur = ex & 1;
        CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --quiet%s%s", db, ex_bos ? " --exclude-bos" : "",
                            ex_cur ? " --exclude-current-token" : "") == 0, "%s", out);
        size_t k;
        json_t *set;
        json_array_foreach(json_object_get(ref, "scores"), k, set) {
            if (json_is_true(json_object_get(set, "exclude_bos")) != ex_bos ||
                json_is_true(json_object_get(set, "exclude_current_token")) != ex_cur)
                continue;
            const char *metric = NULL, *det = json_string_value(json_object_get(set, "detector"));
            for (int d = 0; d < 3; d++)
                if (!strcmp(det, tl_names[d][0]))
                    metric = tl_names[d][1];
            CHECK(metric);
            for (int p = -1; p < n_prompts; p++) {
                json_t *mat = p < 0 ? json_object_get(set, "mean")
                                    : json_array_get(json_object_get(set, "per_prompt"), (size_t)p);
                for (int l = 0; l < 2; l++)
                    for (int h = 0; h < 4; h++) {
                        double want = json_real_value(json_array_get(json_array_get(mat, (size_t)l), (size_t)h));
                        char sql[400];
                        snprintf(sql, sizeof sql,
                                 "SELECT value FROM head_scores h LEFT JOIN prompts p ON p.id = h.prompt_id WHERE "
                                 "h.analysis = 'heads' AND h.metric = '%s' AND h.layer = %d AND h.head = %d AND %s",
                                 metric, l, h, p < 0 ? "h.prompt_id IS NULL" : "p.idx = ");
                        if (p >= 0)
                            snprintf(sql + strlen(sql), sizeof sql - strlen(sql), "%d", p);
                        double got = query_double(s, sql);
                        CHECK_MSG(fabs(got - want) <= 1e-5, "%s (exclude_bos %d, exclude_current_token %d) L%dH%d %s: "
                                  "headscope %.8f, TransformerLens %.8f", det, ex_bos, ex_cur, l, h,
                                  p < 0 ? "mean" : "prompt", got, want);
                        if (fabs(got - want) > worst)
                            worst = fabs(got - want);
                        compared++;
                    }
            }
        }
    }
    CHECK(compared == 4 * 3 * (n_prompts + 1) * 8);
    /* retrieval scores exist for the repeated-block prompts only (5 of 9) */
    CHECK(query_double(s, "SELECT count(DISTINCT prompt_id) FROM head_scores WHERE metric = 'retrieval_echo'") == 5);
    if (getenv("HS_TEST_VERBOSE"))
        fprintf(stderr, "TransformerLens agreement: %d scores, max |headscope - TL| = %.3g\n", compared, worst);
    sqlite3_close(s);
    json_decref(ref);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the command line */

int test_heads_cli_errors(void)
{
    char dir[512], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(headscope(out, sizeof out, "analyze") == 2);
    CHECK(headscope(out, sizeof out, "analyze nosuch --db x.db") == 2 && strstr(out, "unknown analysis 'nosuch'"));
    CHECK(headscope(out, sizeof out, "analyze heads") == 2 && strstr(out, "--db DB is required"));
    CHECK(headscope(out, sizeof out, "analyze heads --db %s/none.db", dir) == 1);
    CHECK_MSG(strstr(out, "none.db: no such store"), "%s", out);
    CHECK(headscope(out, sizeof out, "analyze heads --help") == 0 && strstr(out, "sum(A*D) / sum(A)"));
    CHECK(headscope(out, sizeof out, "analyze --help") == 0 && strstr(out, "heads"));
    /* an empty store, and a run that is not there */
    char path[600];
    snprintf(path, sizeof path, "%s/p.jsonl", dir);
    CHECK(write_text(path, "{\"tokens\": [1, 2, 3]}\n") == 0);
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s/a.db --quiet",
                        test_src_path("tests/fixtures/models/gpt2"), path, dir) == 0, "%s", out);
    CHECK(headscope(out, sizeof out, "analyze heads --db %s/a.db --run 7", dir) == 1);
    CHECK_MSG(strstr(out, "there is no run 7 (the store has run 1)"), "%s", out);
    CHECK(headscope(out, sizeof out, "analyze heads --db %s/a.db --recompute", dir) == 1);
    CHECK_MSG(strstr(out, "recomputing the patterns needs the run's model"), "%s", out);
    /* a damaged pattern BLOB is an error naming the prompt, not a wrong score */
    char db[600];
    snprintf(db, sizeof db, "%s/a.db", dir);
    sqlite3 *w = NULL;
    CHECK(sqlite3_open(db, &w) == SQLITE_OK);
    CHECK(sqlite3_exec(w, "UPDATE activations SET data = x'4853540100' WHERE rowid = (SELECT min(rowid) FROM "
                          "activations WHERE hook = 'attn.hook_pattern')", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(w);
    CHECK(headscope(out, sizeof out, "analyze heads --db %s", db) == 1);
    CHECK_MSG(strstr(out, "prompt 0: a pattern row (layer 0, head 0) is not a valid [rows, 3] tensor"), "%s", out);
    CHECK(headscope(out, sizeof out, "dataset repeated-blocks --out %s/r.jsonl", dir) == 2);
    CHECK(headscope(out, sizeof out, "dataset repeated-blocks --out %s/r.jsonl --vocab 5 --block-len 8", dir) == 1);
    CHECK_MSG(strstr(out, "5 distinct token ids"), "%s", out);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- analyze sinks */

/* On the planted model only the first-token head (L0H1) is a sink: its alpha_0 is ~1, every other
 * head's is at most 11/41 (rows that fall back to key 0) < eps. So the sink rate is exactly 1/8
 * overall, 1/4 in layer 0 and 0 in layer 1; the uniform heads' alpha_0 is H_T / T by
 * construction; and every stored alpha_0 equals its recomputation from the stored patterns in SQL. */
int test_analyze_sinks_planted_model(void)
{
    char dir[256], model[512], prompts[512], db[600], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(planted_setup(dir, model, sizeof model, prompts, sizeof prompts) == TEST_PASS);
    snprintf(db, sizeof db, "%s/run.db", dir);
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --dtype f32 --quiet", model, prompts, db) == 0,
              "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "analyze sinks --db %s", db) == 0, "%s", out);
    CHECK_MSG(strstr(out, "sink rate (eps 0.3, T 64): 12.50 %") && strstr(out, "6 shorter than 64"), "%s", out);
    hs_error err = {0};
    hs_store *store;
    CHECK_OK(hs_store_open(db, HS_STORE_READONLY, NULL, &store, &err), &err);
    sqlite3 *d = hs_store_db(store);
    CHECK_NEAR(query_double(d, "SELECT value FROM head_scores WHERE analysis = 'sinks' AND metric = 'sink_rate' "
                               "AND layer IS NULL"), 0.125, 1e-12);
    CHECK_NEAR(query_double(d, "SELECT value FROM head_scores WHERE metric = 'sink_rate' AND layer = 0 AND head IS NULL"),
               0.25, 1e-12);
    CHECK_NEAR(query_double(d, "SELECT value FROM head_scores WHERE metric = 'sink_rate' AND layer = 1 AND head IS NULL"),
               0.0, 1e-12);
    CHECK_NEAR(query_double(d, "SELECT value FROM head_scores WHERE metric = 'sink' AND prompt_id IS NULL "
                               "AND layer = 0 AND head = 1"), 1.0, 1e-12);
    CHECK_NEAR(query_double(d, "SELECT max(value) FROM head_scores WHERE metric = 'sink' AND NOT (layer = 0 AND head = 1)"),
               0.0, 1e-12);
    CHECK(query_double(d, "SELECT min(value) FROM head_scores WHERE metric = 'alpha0' AND layer = 0 AND head = 1") > 0.99);
    CHECK(query_double(d, "SELECT max(value) FROM head_scores WHERE metric = 'alpha0' AND NOT (layer = 0 AND head = 1)") <
          0.3);
    double harmonic = 0;
    for (int i = 1; i <= PL_T; i++)
        harmonic += 1.0 / i;
    for (int l = 0; l < HS_PLANTED_LAYERS; l++)
        for (int h = 0; h < HS_PLANTED_HEADS; h++)
            if (hs_planted_heads[l][h] == HS_PLANTED_UNIFORM) {
                char sql[256];
                snprintf(sql, sizeof sql,
                         "SELECT value FROM head_scores WHERE metric = 'alpha0' AND prompt_id IS NULL AND layer = %d "
                         "AND head = %d", l, h);
                CHECK_NEAR(query_double(d, sql), harmonic / PL_T, 1e-5);
            }
    /* alpha_0 of every (prompt, head) recomputed from the stored patterns: column 0's mean */
    CHECK_NEAR(query_double(d,
                            "SELECT max(abs(s.value - r.alpha0)) FROM head_scores s JOIN ("
                            "  SELECT a.prompt_id, a.layer, a.head, sum(e.value) / count(*) AS alpha0"
                            "  FROM activations a, tensor_each(a.data) e"
                            "  WHERE a.hook = 'attn.hook_pattern' AND e.i1 = 0 GROUP BY a.prompt_id, a.layer, a.head"
                            ") r ON r.prompt_id = s.prompt_id AND r.layer = s.layer AND r.head = s.head "
                            "WHERE s.analysis = 'sinks' AND s.metric = 'alpha0'"),
               0.0, 1e-6);
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM head_scores WHERE analysis = 'sinks' AND metric = 'alpha0' "
                               "AND prompt_id IS NOT NULL"), PL_N * 8, 0);
    /* entropy too has a row per prompt and head (the report counts them), and its whole-set row is their mean */
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM head_scores WHERE analysis = 'sinks' AND metric = 'entropy' "
                               "AND prompt_id IS NOT NULL"), PL_N * 8, 0);
    CHECK_NEAR(query_double(d, "SELECT max(abs(s.value - m.mean)) FROM head_scores s JOIN (SELECT layer, head, "
                               "avg(value) AS mean FROM head_scores WHERE analysis = 'sinks' AND metric = 'entropy' AND "
                               "prompt_id IS NOT NULL GROUP BY layer, head) m ON m.layer = s.layer AND m.head = s.head "
                               "WHERE s.analysis = 'sinks' AND s.metric = 'entropy' AND s.prompt_id IS NULL"),
               0.0, 1e-9);
    hs_store_close(store);
    /* rerun with another eps: rows replaced, not added */
    CHECK_MSG(headscope(out, sizeof out, "analyze sinks --db %s --eps 0.2 --quiet", db) == 0, "%s", out);
    CHECK_OK(hs_store_open(db, HS_STORE_READONLY, NULL, &store, &err), &err);
    CHECK_NEAR(query_double(hs_store_db(store), "SELECT count(*) FROM head_scores WHERE analysis = 'sinks' AND "
                                                "metric = 'alpha0'"), PL_N * 8 + 8, 0);
    hs_store_close(store);
    return TEST_PASS;
}

/* analyze sinks with the model: sink_positions recomputed from the stored patterns in SQL, the
 * residual-stream norms from the stored block outputs, and the magnitudes the planted model's
 * construction fixes (its stream holds only one-hot parts and values of 1, so nothing is massive). */
int test_analyze_sinks_positions_and_norms(void)
{
    char dir[256], model[512], prompts[512], db[600], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(planted_setup(dir, model, sizeof model, prompts, sizeof prompts) == TEST_PASS);
    snprintf(db, sizeof db, "%s/run.db", dir);
    CHECK_MSG(headscope(out, sizeof out,
                        "run --model %s --prompts %s --db %s --dtype f32 --record pattern,resid_post --quiet", model,
                        prompts, db) == 0,
              "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "analyze sinks --db %s --model %s --max-pos 32", db, model) == 0, "%s", out);
    CHECK_MSG(strstr(out, "magnitudes: 0 massive activations"), "%s", out);
    hs_error err = {0};
    hs_store *store;
    CHECK_OK(hs_store_open(db, HS_STORE_READONLY, NULL, &store, &err), &err);
    sqlite3 *d = hs_store_db(store);
    /* one row per layer, head and position below max-pos; every prompt has PL_T > 32 tokens */
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM sink_positions"), HS_PLANTED_LAYERS * HS_PLANTED_HEADS * 32, 0);
    CHECK_NEAR(query_double(d, "SELECT min(n_prompts) FROM sink_positions"), PL_N, 0);
    /* alpha_k = sum_i A[i][k] / (T - k), i1 the key, averaged over prompts: as the analysis stored it */
    static const char recompute[] =
        "WITH per_prompt AS ("
        "  SELECT a.prompt_id, a.layer, a.head, e.i1 AS pos, sum(e.value) / (count(*) - e.i1) AS alpha"
        "  FROM activations a, tensor_each(a.data) e WHERE a.hook = 'attn.hook_pattern' AND e.i1 < 32"
        "  GROUP BY a.prompt_id, a.layer, a.head, e.i1), "
        "mean AS (SELECT layer, head, pos, avg(alpha) AS alpha, avg(alpha > 0.1) AS freq FROM per_prompt "
        "  GROUP BY layer, head, pos) ";
    char sql[2048];
    snprintf(sql, sizeof sql,
             "%s SELECT max(abs(m.alpha - s.alpha)) FROM mean m JOIN sink_positions s USING (layer, head, pos)",
             recompute);
    CHECK_NEAR(query_double(d, sql), 0.0, 1e-6);
    snprintf(sql, sizeof sql,
             "%s SELECT max(abs(m.freq - s.hidden_freq)) FROM mean m JOIN sink_positions s USING (layer, head, pos) "
             "WHERE pos > 0 AND abs(m.alpha - 0.1) > 1e-6", /* alpha = 1/10 exactly sits on tau (float vs double) */
             recompute);
    CHECK_NEAR(query_double(d, sql), 0.0, 1e-12);
    CHECK(query_double(d, "SELECT count(*) FROM sink_positions WHERE pos = 0 AND hidden_freq IS NOT NULL") == 0);
    /* the first-token head puts everything on key 0 */
    CHECK(query_double(d, "SELECT alpha FROM sink_positions WHERE layer = 0 AND head = 1 AND pos = 0") > 0.99);
    /* entropy per head: the uniform heads' mean row entropy is mean_i ln(i + 1) */
    double want = 0;
    for (int i = 0; i < PL_T; i++)
        want += log(i + 1.0) / PL_T;
    CHECK_NEAR(query_double(d, "SELECT value FROM head_scores WHERE analysis = 'sinks' AND metric = 'entropy' "
                               "AND layer = 0 AND head = 3"),
               want, 1e-5);
    /* residual-stream norms from the stored block outputs (i0 the position, i1 the dimension) */
    CHECK_NEAR(query_double(d, "WITH per_prompt AS ("
                               "  SELECT a.prompt_id, a.layer, e.i0 AS pos, sqrt(sum(e.value * e.value)) AS norm"
                               "  FROM activations a, tensor_each(a.data) e WHERE a.hook = 'hook_resid_post' AND e.i0 < 32"
                               "  GROUP BY a.prompt_id, a.layer, e.i0) "
                               "SELECT max(abs(m.norm - n.norm) / n.norm) FROM (SELECT layer, pos, avg(norm) AS norm "
                               "  FROM per_prompt GROUP BY layer, pos) m "
                               "JOIN position_norms n USING (layer, pos) WHERE n.tensor = 'resid_post'"),
               0.0, 1e-5);
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM position_norms"), 3 * HS_PLANTED_LAYERS * 32, 0);
    CHECK(query_double(d, "SELECT min(norm) FROM position_norms WHERE tensor IN ('k', 'v')") >= 0);
    /* nothing massive: every |x| <= sqrt(d_model) after RMS normalisation, and no value reaches 100 */
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM massive_activations"), 0, 0);
    CHECK_NEAR(query_double(d, "SELECT sum(value) FROM head_scores WHERE metric = 'massive_acts'"), 0, 0);
    CHECK(query_double(d, "SELECT max(value) FROM head_scores WHERE metric = 'max_rms_magnitude'") <= sqrt(512.0));
    /* sink dims: each prompt names the 4 largest dims of position 0 in every layer; their mean
     * |x| / rms(x) there recomputed from the stored block outputs */
    CHECK_NEAR(query_double(d, "SELECT max(abs(s - 4)) FROM (SELECT sum(top_frac) AS s FROM sink_dims GROUP BY layer)"),
               0, 1e-9);
    CHECK_NEAR(query_double(d, "WITH bos AS (SELECT a.prompt_id, a.layer, e.i1 AS dim, e.value AS x FROM activations a, "
                               "  tensor_each(a.data) e WHERE a.hook = 'hook_resid_post' AND e.i0 = 0), "
                               "rms AS (SELECT prompt_id, layer, sqrt(avg(x * x) + 1e-6) AS r FROM bos "
                               "  GROUP BY prompt_id, layer), "
                               "h AS (SELECT b.layer, b.dim, avg(abs(b.x) / r.r) AS m FROM bos b JOIN rms r "
                               "  USING (prompt_id, layer) GROUP BY b.layer, b.dim) "
                               "SELECT max(abs(h.m - s.bos_magnitude)) FROM h JOIN sink_dims s USING (layer, dim)"),
               0, 1e-5);
    hs_store_close(store);
    /* the report draws them: sink rate by layer, alpha_k by position, hidden-sink positions, three norm plots */
    char rep[700], path[800];
    snprintf(rep, sizeof rep, "%s/report", dir);
    CHECK_MSG(headscope(out, sizeof out, "analyze heads --db %s --quiet", db) == 0, "%s", out);
    CHECK_MSG(headscope(out, sizeof out, "report --db %s --out %s --formats svg", db, rep) == 0, "%s", out);
    static const char *const figs[] = {"001-sink-rate-run1.svg",        "002-sink-positions-run1.svg",
                                       "003-hidden-sink-positions-run1.svg", "004-norms-resid_post-run1.svg",
                                       "005-norms-k-run1.svg",          "006-norms-v-run1.svg",
                                       "007-heads-by-layer-run1.svg"};
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        snprintf(path, sizeof path, "%s/fig/%s", rep, figs[i]);
        FILE *fig = fopen(path, "r");
        CHECK_MSG(fig, "%s is missing", path);
        fclose(fig);
    }
    /* without the model: no magnitudes, and a rerun replaces them (none stay behind) */
    CHECK_MSG(headscope(out, sizeof out, "analyze sinks --db %s --max-pos 8", db) == 0, "%s", out);
    CHECK_MSG(!strstr(out, "magnitudes:"), "%s", out);
    CHECK_OK(hs_store_open(db, HS_STORE_READONLY, NULL, &store, &err), &err);
    CHECK_NEAR(query_double(hs_store_db(store), "SELECT count(*) FROM sink_positions"),
               HS_PLANTED_LAYERS * HS_PLANTED_HEADS * 8, 0);
    hs_store_close(store);
    return TEST_PASS;
}

/* analyze sinks --calibrate: argument errors, bad task files named with their line, and ACT's
 * identity: with beta = 1 nothing moves, so the held-out metrics after equal those before. */
int test_analyze_sinks_calibrate(void)
{
    char dir[256], model[512], prompts[512], db[600], task[600], bad[600], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(planted_setup(dir, model, sizeof model, prompts, sizeof prompts) == TEST_PASS);
    snprintf(db, sizeof db, "%s/run.db", dir);
    snprintf(task, sizeof task, "%s/task.jsonl", dir);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", dir);
    FILE *f = fopen(task, "w");
    CHECK(f);
    fputs("{\"text\": \"abcdeabcd\", \"answer\": \"e\", \"wrong\": \"a\"}\n"
          "{\"text\": \"xyzxy\", \"answer\": \"z\", \"wrong\": \"q\"}\n"
          "{\"text\": \"mnopmno\", \"answer\": \"p\", \"wrong\": \"n\"}\n",
          f);
    fclose(f);
    CHECK((f = fopen(bad, "w")));
    fputs("{\"text\": \"abc\", \"answer\": \"d\", \"wrong\": \"e\"}\n{\"text\": \"abc\", \"answer\": \"d\"}\n", f);
    fclose(f);
    CHECK_MSG(headscope(out, sizeof out, "run --model %s --prompts %s --db %s --quiet", model, prompts, db) == 0, "%s",
              out);
    CHECK(headscope(out, sizeof out, "analyze sinks --db %s --calibrate --heldout %s", db, task) == 2);
    CHECK_MSG(strstr(out, "--calibrate needs --model"), "%s", out);
    CHECK(headscope(out, sizeof out, "analyze sinks --db %s --model %s --calibrate --heldout %s --act-heads 1x2", db,
                    model, task) == 2);
    CHECK_MSG(strstr(out, "--act-heads '1x2' is not a list of LAYER.HEAD"), "%s", out);
    CHECK(headscope(out, sizeof out, "analyze sinks --db %s --model %s --calibrate --heldout %s --act-heads 1.0", db,
                    model, bad) == 1);
    CHECK_MSG(strstr(out, "bad.jsonl:2: a task prompt needs"), "%s", out);
    CHECK_MSG(headscope(out, sizeof out,
                        "analyze sinks --db %s --model %s --calibrate --heldout %s --calibration %s --act-heads 1.0,1.2 "
                        "--beta 1",
                        db, model, task, task) == 0,
              "%s", out);
    CHECK_MSG(strstr(out, "held-out (3 prompts)"), "%s", out);
    hs_error err = {0};
    hs_store *store;
    CHECK_OK(hs_store_open(db, HS_STORE_READONLY, NULL, &store, &err), &err);
    sqlite3 *d = hs_store_db(store);
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM head_scores WHERE analysis = 'act' AND metric = 'act_selected' "
                               "AND value = 1"),
               2, 0);
    double before = query_double(d, "SELECT value FROM head_scores WHERE metric = 'heldout_logit_diff_before'");
    double after = query_double(d, "SELECT value FROM head_scores WHERE metric = 'heldout_logit_diff_after'");
    CHECK(isfinite(before));
    CHECK_NEAR(after, before, 1e-6 * (1 + fabs(before)));
    /* every analysis records what it ran with */
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM analysis_runs WHERE analysis = 'act' AND model_path IS NOT NULL "
                               "AND json_extract(options, '$.beta') = 1 AND json_extract(options, '$.heads_given') "
                               "AND json_array_length(options, '$.heads') = 2 AND finished_at IS NOT NULL"),
               1, 0);
    CHECK_NEAR(query_double(d, "SELECT count(*) FROM analysis_runs WHERE analysis = 'sinks' AND "
                               "json_extract(options, '$.eps') = 0.3 AND json_extract(options, '$.magnitudes')"),
               1, 0);
    hs_store_close(store);
    /* choosing among heads with hidden sinks: every candidate gets a trial row */
    CHECK_MSG(headscope(out, sizeof out,
                        "analyze sinks --db %s --model %s --calibrate --heldout %s --calibration %s --act-select greedy "
                        "--act-metric logit-diff --act-candidates 3",
                        db, model, task, task) == 0,
              "%s", out);
    CHECK_OK(hs_store_open(db, HS_STORE_READONLY, NULL, &store, &err), &err);
    d = hs_store_db(store);
    double n_trials = query_double(d, "SELECT count(*) FROM head_scores WHERE metric = 'act_trial'");
    CHECK_MSG(n_trials >= 1 && n_trials <= 3, "%g trials", n_trials);
    hs_store_close(store);
    return TEST_PASS;
}
