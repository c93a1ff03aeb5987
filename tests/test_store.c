/* test_store.c — the SQLite activation store: the schema and its version, refusal of files that are
 * not ours (left untouched), run resumption, every row read back with plain SQL, transactions that
 * leave whole prompts or nothing, read-only and locked databases, and a fault sweep that fills the
 * disk at every write of a prompt's recording and checks the database survives each one. */
#define _GNU_SOURCE
#include "tests/test.h"

#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/tensor_blob.h"
#include "model/model.h"
#include "store/fault_vfs.h"
#include "store/store.h"

/* ---------------------------------------------------------------- helpers */

static const char *join(char *buf, size_t cap, const char *dir, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
    return buf;
}

static int contains(const char *s, const char *sub)
{
    return s && sub && strstr(s, sub) != NULL;
}

/* Reads a whole file into a malloc'd buffer (caller frees); NULL when it cannot be read. */
static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n > 0 ? (size_t)n : 0;
    return buf;
}

static int write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

/* Copies a database file and removes any -wal/-shm left beside the copy. */
static int copy_db(const char *src, const char *dst)
{
    char side[600];
    snprintf(side, sizeof side, "%s-wal", dst);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", dst);
    unlink(side);
    size_t len;
    unsigned char *buf = read_all(src, &len);
    if (!buf)
        return -1;
    int rc = write_all(dst, buf, len);
    free(buf);
    return rc;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A plain SQLite connection, as a user's `sqlite3 run.db` would have (no headscope code). */
static sqlite3 *raw_open(const char *path, int flags)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw open %s: %s\n", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 2000);
    return db;
}

/* The first column of the first row of sql, as an integer; -999 when the query fails. */
static long long sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

/* The first column of the first row as text, into buf ("" when NULL, "?" on failure). */
static const char *sql_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    snprintf(buf, cap, "?");
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(buf, cap, "%s", t ? (const char *)t : "");
    }
    sqlite3_finalize(st);
    return buf;
}

/* The query plan of sql, its detail lines joined by "; ", into buf. */
static const char *query_plan(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
    char full[512];
    snprintf(full, sizeof full, "EXPLAIN QUERY PLAN %s", sql);
    buf[0] = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, full, -1, &st, NULL) != SQLITE_OK) {
        snprintf(buf, cap, "(%s)", sqlite3_errmsg(db));
        return buf;
    }
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s; ", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    return buf;
}

static hs_run_desc test_desc(const char *options_json)
{
    return (hs_run_desc){
        .model_path = "/models/tiny", .model_sha256 = "ab12cd34", .architecture = "gpt2",
        .n_layers = 2, .n_heads = 2, .n_kv_heads = 2, .d_model = 8, .d_head = 4, .d_mlp = 32,
        .d_vocab = 50, .n_ctx = 64, .model_dtype = "F32", .tool_version = "test",
        .options_json = options_json, .dtype = "f16", .backend = "cpu",
        .prompts_path = "/data/prompts.jsonl", .prompts_sha256 = "ffee0011",
    };
}

/* ---------------------------------------------------------------- a prompt's worth of rows */

#define N_POS 5
#define N_HEAD_SCORES 4

/* What every recorded prompt holds: one activation per slot, in each storable dtype, with and
 * without layer and head, one of them large enough to span several database pages. */
static const struct slot {
    const char *hook;
    int layer, head;
    const char *positions;
    hs_dtype dtype;
    int64_t shape[2];
} slots[] = {
    {"hook_embed", -1, -1, NULL, HS_DTYPE_F32, {N_POS, 8}},
    {"attn.hook_pattern", 0, 0, NULL, HS_DTYPE_F16, {N_POS, N_POS}},
    {"attn.hook_pattern", 0, 1, "[1,3]", HS_DTYPE_F16, {2, N_POS}},
    {"hook_resid_post", 1, -1, NULL, HS_DTYPE_BF16, {N_POS, 8}},
    {"hook_resid_post", 0, -1, NULL, HS_DTYPE_F32, {128, 64}},
};
#define N_SLOTS ((int)(sizeof slots / sizeof slots[0]))

static float act_value(int k, int slot, int64_t i)
{
    return sinf(0.37f * (float)i + 1.3f * (float)k + 0.7f * (float)slot) * (1.0f + 3.0f * (float)slot);
}

/* Puts prompt k's rows (inside whatever transaction the caller has open). */
static hs_status put_prompt_rows(hs_store *s, int64_t run_id, int k, hs_error *err)
{
    char ext[32], text[64], meta[32];
    snprintf(ext, sizeof ext, "p%d", k);
    snprintf(text, sizeof text, "prompt number %d", k);
    snprintf(meta, sizeof meta, "{\"k\":%d}", k);
    hs_prompt_row row = {.idx = k, .ext_id = ext, .text = text, .meta_json = meta,
                         .answer = k == 1 ? " Paris" : NULL, .n_tokens = N_POS};
    int64_t pid;
    hs_status st = hs_store_put_prompt(s, run_id, &row, &pid, err);
    for (int pos = 0; st == HS_OK && pos < N_POS; pos++) {
        char tt[16];
        snprintf(tt, sizeof tt, "t%d", pos);
        st = hs_store_put_token(s, run_id, pid, pos, 100 * k + pos, tt, k == 2 && pos == 1, err);
    }
    float values[128 * 64];
    for (int j = 0; st == HS_OK && j < N_SLOTS; j++) {
        int64_t n = slots[j].shape[0] * slots[j].shape[1];
        for (int64_t i = 0; i < n; i++)
            values[i] = act_value(k, j, i);
        st = hs_store_put_activation(s, run_id, pid, slots[j].hook, slots[j].layer, slots[j].head, slots[j].positions,
                                     slots[j].dtype, 2,
                                     slots[j].shape, values, err);
    }
    for (int i = 0; st == HS_OK && i < N_HEAD_SCORES; i++)
        st = hs_store_put_head_score(s, run_id, "summary", "sink_rate", i / 2, i % 2, pid, k + 0.1 * i, err);
    return st;
}

/* Records prompt k in its own transaction; rolls back on failure. */
static hs_status record_prompt(hs_store *s, int64_t run_id, int k, hs_error *err)
{
    hs_status st = hs_store_begin(s, err);
    if (st == HS_OK)
        st = put_prompt_rows(s, run_id, k, err);
    if (st == HS_OK)
        st = hs_store_commit(s, err);
    if (st != HS_OK)
        hs_store_rollback(s);
    return st;
}

/* Checks, with plain SQL, that prompt k of the run is recorded exactly as put_prompt_rows wrote
 * it. Returns 0, or -1 after saying what differs. */
static int verify_prompt(sqlite3 *db, int64_t run_id, int k)
{
    int bad = 0;
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "SELECT id, ext_id, text, meta, n_tokens, answer, corrupted FROM prompts "
                           "WHERE run_id = ?1 AND idx = ?2", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, k);
    if (sqlite3_step(st) != SQLITE_ROW) {
        fprintf(stderr, "prompt %d: no row\n", k);
        sqlite3_finalize(st);
        return -1;
    }
    int64_t pid = sqlite3_column_int64(st, 0);
    char ext[32], text[64], meta[32];
    snprintf(ext, sizeof ext, "p%d", k);
    snprintf(text, sizeof text, "prompt number %d", k);
    snprintf(meta, sizeof meta, "{\"k\":%d}", k);
    const char *answer = (const char *)sqlite3_column_text(st, 5);
    if (strcmp((const char *)sqlite3_column_text(st, 1), ext) || strcmp((const char *)sqlite3_column_text(st, 2), text) ||
        strcmp((const char *)sqlite3_column_text(st, 3), meta) || sqlite3_column_int(st, 4) != N_POS ||
        (k == 1 ? !answer || strcmp(answer, " Paris") : answer != NULL) ||
        sqlite3_column_type(st, 6) != SQLITE_NULL) {
        fprintf(stderr, "prompt %d: prompt row differs\n", k);
        bad = 1;
    }
    sqlite3_finalize(st);

    sqlite3_prepare_v2(db, "SELECT pos, token_id, text, is_image, run_id FROM tokens WHERE prompt_id = ?1 ORDER BY pos",
                       -1, &st, NULL);
    sqlite3_bind_int64(st, 1, pid);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char tt[16];
        snprintf(tt, sizeof tt, "t%d", n);
        if (sqlite3_column_int(st, 0) != n || sqlite3_column_int(st, 1) != 100 * k + n ||
            strcmp((const char *)sqlite3_column_text(st, 2), tt) ||
            sqlite3_column_int(st, 3) != (k == 2 && n == 1) || sqlite3_column_int64(st, 4) != run_id) {
            fprintf(stderr, "prompt %d: token %d differs\n", k, n);
            bad = 1;
        }
        n++;
    }
    sqlite3_finalize(st);
    if (n != N_POS) {
        fprintf(stderr, "prompt %d: %d tokens, expected %d\n", k, n, N_POS);
        bad = 1;
    }

    sqlite3_prepare_v2(db, "SELECT dtype, shape, data, run_id, positions FROM activations WHERE prompt_id = ?1 AND hook = ?2 "
                           "AND layer IS ?3 AND head IS ?4", -1, &st, NULL);
    for (int j = 0; j < N_SLOTS; j++) {
        sqlite3_bind_int64(st, 1, pid);
        sqlite3_bind_text(st, 2, slots[j].hook, -1, SQLITE_STATIC);
        if (slots[j].layer < 0)
            sqlite3_bind_null(st, 3);
        else
            sqlite3_bind_int(st, 3, slots[j].layer);
        if (slots[j].head < 0)
            sqlite3_bind_null(st, 4);
        else
            sqlite3_bind_int(st, 4, slots[j].head);
        if (sqlite3_step(st) != SQLITE_ROW) {
            fprintf(stderr, "prompt %d: activation %d missing\n", k, j);
            bad = 1;
            sqlite3_reset(st);
            continue;
        }
        const char *dt = (const char *)sqlite3_column_text(st, 0);
        const char *want_dt = slots[j].dtype == HS_DTYPE_F32 ? "f32" : slots[j].dtype == HS_DTYPE_F16 ? "f16" : "bf16";
        char want_shape[64];
        snprintf(want_shape, sizeof want_shape, "[%lld,%lld]", (long long)slots[j].shape[0],
                 (long long)slots[j].shape[1]);
        hs_blob_view v;
        const void *blob = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        const char *positions = (const char *)sqlite3_column_text(st, 4);
        if (strcmp(dt, want_dt) || strcmp((const char *)sqlite3_column_text(st, 1), want_shape) ||
            (slots[j].positions ? !positions || strcmp(positions, slots[j].positions) : positions != NULL) ||
            sqlite3_column_int64(st, 3) != run_id || hs_blob_parse(blob, len, &v) != 0 ||
            v.dtype != slots[j].dtype || v.ndim != 2 || v.shape[0] != slots[j].shape[0] ||
            v.shape[1] != slots[j].shape[1]) {
            fprintf(stderr, "prompt %d: activation %d: dtype %s, shape %s, blob of %zu bytes differ\n", k, j, dt,
                    (const char *)sqlite3_column_text(st, 1), len);
            bad = 1;
        } else {
            /* f32 exact; f16 and bf16 within half an ulp of their 11- and 8-bit significands
             * (plus half the smallest f16 subnormal for values near zero). */
            double rel = v.dtype == HS_DTYPE_F32 ? 0 : v.dtype == HS_DTYPE_F16 ? 0x1p-11 : 0x1p-8;
            double abs_tol = v.dtype == HS_DTYPE_F16 ? 0x1p-25 : 0;
            for (int64_t i = 0; i < v.numel; i++) {
                float want = act_value(k, j, i), got = hs_blob_get(&v, i);
                if (!(fabs((double)got - (double)want) <= rel * fabs((double)want) + abs_tol)) {
                    fprintf(stderr, "prompt %d: activation %d element %lld: %.9g, wrote %.9g\n", k, j, (long long)i,
                            got, want);
                    bad = 1;
                    break;
                }
            }
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);

    sqlite3_prepare_v2(db, "SELECT layer, head, value FROM head_scores WHERE prompt_id = ?1 AND analysis = 'summary' "
                           "AND metric = 'sink_rate' ORDER BY layer, head", -1, &st, NULL);
    sqlite3_bind_int64(st, 1, pid);
    n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_int(st, 0) != n / 2 || sqlite3_column_int(st, 1) != n % 2 ||
            sqlite3_column_double(st, 2) != k + 0.1 * n) {
            fprintf(stderr, "prompt %d: head score %d differs\n", k, n);
            bad = 1;
        }
        n++;
    }
    sqlite3_finalize(st);
    if (n != N_HEAD_SCORES) {
        fprintf(stderr, "prompt %d: %d head scores, expected %d\n", k, n, N_HEAD_SCORES);
        bad = 1;
    }
    return bad ? -1 : 0;
}

/* Checks a whole store after whatever happened to it: integrity_check ok, foreign keys consistent,
 * prompts 0..n_prompts-1 recorded exactly, and no row that belongs to no recorded prompt (a
 * half-written prompt leaves nothing). Returns 0, or -1 after saying what is wrong. */
static int verify_store(const char *path, int64_t run_id, int n_prompts)
{
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READONLY);
    if (!db)
        return -1;
    char buf[256];
    int bad = 0;
    if (strcmp(sql_text(db, "PRAGMA integrity_check", buf, sizeof buf), "ok") != 0) {
        fprintf(stderr, "%s: integrity_check: %s\n", path, buf);
        bad = 1;
    }
    if (sql_int(db, "SELECT count(*) FROM pragma_foreign_key_check") != 0) {
        fprintf(stderr, "%s: foreign key violations\n", path);
        bad = 1;
    }
    if (sql_int(db, "PRAGMA user_version") != HS_STORE_SCHEMA_VERSION) {
        fprintf(stderr, "%s: user_version is not %d\n", path, HS_STORE_SCHEMA_VERSION);
        bad = 1;
    }
    for (int k = 0; k < n_prompts; k++)
        if (verify_prompt(db, run_id, k) != 0)
            bad = 1;
    long long np = sql_int(db, "SELECT count(*) FROM prompts"), nt = sql_int(db, "SELECT count(*) FROM tokens"),
              na = sql_int(db, "SELECT count(*) FROM activations"), nh = sql_int(db, "SELECT count(*) FROM head_scores");
    if (np != n_prompts || nt != (long long)n_prompts * N_POS || na != (long long)n_prompts * N_SLOTS ||
        nh != (long long)n_prompts * N_HEAD_SCORES) {
        fprintf(stderr, "%s: %lld prompts, %lld tokens, %lld activations, %lld head scores; expected %d prompts' worth\n",
                path, np, nt, na, nh, n_prompts);
        bad = 1;
    }
    sqlite3_close(db);
    return bad ? -1 : 0;
}

/* Creates a store at path with one run and prompts 0..n-1 recorded, closed (checkpointed). */
static int make_store(const char *path, int n, int64_t *run_id)
{
    hs_error err = {0};
    hs_store *s = NULL;
    hs_run_desc d = test_desc("{\"record\":\"all\"}");
    hs_run_state state;
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    CHECK_OK(hs_store_run_open(s, &d, run_id, &state, &err), &err);
    for (int k = 0; k < n; k++)
        CHECK_OK(record_prompt(s, *run_id, k, &err), &err);
    hs_store_close(s);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- schema */

int test_store_schema(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    join(path, sizeof path, dir, "run.db");
    hs_error err = {0};
    hs_store *s = NULL;
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    sqlite3 *db = hs_store_db(s);
    CHECK(db != NULL);
    CHECK(sql_int(db, "PRAGMA user_version") == HS_STORE_SCHEMA_VERSION);
    CHECK(sql_int(db, "PRAGMA application_id") == 0x48534350);
    CHECK(sql_int(db, "PRAGMA foreign_keys") == 1);
    CHECK(sql_int(db, "PRAGMA synchronous") == 1); /* NORMAL */
    char buf[256];
    CHECK(strcmp(sql_text(db, "PRAGMA journal_mode", buf, sizeof buf), "wal") == 0);
    CHECK(sql_int(db, "PRAGMA busy_timeout") == 5000);
    static const char *const tables[] = {"models", "runs", "prompts", "tokens", "activations", "head_scores",
                                         "analysis_runs", "vocab", "logit_lens", "lens_prompts", "dla",
                                         "component_lens"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", tables[i]);
        CHECK_MSG(sql_int(db, sql) == 1, "table %s", tables[i]);
    }
    /* The indexes the common queries need are used by the planner. */
    static const struct { const char *sql, *index; } plans[] = {
        {"SELECT data FROM activations WHERE run_id = 1 AND hook = 'attn.hook_z' AND layer = 3 AND head = 2",
         "activations_by_hook"},
        {"SELECT data FROM activations WHERE run_id = 1 AND hook = 'attn.hook_z' AND layer = 3", "activations_by_hook"},
        {"SELECT data FROM activations WHERE prompt_id = 7 AND hook = 'hook_embed'", "activations_slice"},
        {"SELECT value FROM head_scores WHERE run_id = 1 AND analysis = 'heads' AND metric = 'induction' AND layer = 1",
         "head_scores_by_metric"},
        {"SELECT token_id FROM tokens WHERE prompt_id = 7", "PRIMARY KEY"},
        {"SELECT id FROM runs WHERE model_sha256 = 'a' AND prompts_sha256 = 'b' AND dtype = 'f16' AND backend = 'cpu'",
         "runs_identity"},
    };
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++)
        CHECK_MSG(contains(query_plan(db, plans[i].sql, buf, sizeof buf), plans[i].index), "%s: %s", plans[i].sql, buf);
    long long n_objects = sql_int(db, "SELECT count(*) FROM sqlite_master");
    sql_text(db, "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master ORDER BY name)", buf, sizeof buf);
    char schema_before[256];
    snprintf(schema_before, sizeof schema_before, "%s", buf);
    hs_store_close(s);

    /* Reopening, for writing or reading, changes nothing. */
    for (int pass = 0; pass < 2; pass++) {
        CHECK_OK(hs_store_open(path, pass ? HS_STORE_READONLY : HS_STORE_CREATE, NULL, &s, &err), &err);
        db = hs_store_db(s);
        CHECK(sql_int(db, "PRAGMA user_version") == HS_STORE_SCHEMA_VERSION);
        CHECK(sql_int(db, "SELECT count(*) FROM sqlite_master") == n_objects);
        sql_text(db, "SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master ORDER BY name)", buf, sizeof buf);
        CHECK(strcmp(buf, schema_before) == 0);
        hs_store_close(s);
    }
    hs_store_close(NULL);
    return TEST_PASS;
}

/* A version-1 store written by headscope before schema 2 (tests/fixtures/store/v1.db: `headscope
 * run` of stories260K on tests/fixtures/store/v1_prompts.jsonl, --record pattern --layers 0, then
 * VACUUMed to 4 KiB pages). Opened read-only it is refused as older; opened for writing it is
 * migrated in place, every row it held is still there, the version-2 tables are usable, and the
 * schema equals that of a store created at version 2. */
int test_store_migrate_v1(void)
{
    const char *dir = test_tmpdir();
    char path[512], fresh[512], buf[256];
    hs_error err = {0};
    hs_store *s = NULL;
    join(path, sizeof path, dir, "v1.db");
    CHECK(copy_db(test_src_path("tests/fixtures/store/v1.db"), path) == 0);
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(db && sql_int(db, "PRAGMA user_version") == 1);
    CHECK(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'logit_lens'") == 0);
    const char *counts = "SELECT (SELECT count(*) FROM runs) || ',' || (SELECT count(*) FROM prompts) || ',' || "
                         "(SELECT count(*) FROM tokens) || ',' || (SELECT count(*) FROM activations) || ',' || "
                         "(SELECT count(*) FROM head_scores) || ',' || (SELECT sum(length(data)) FROM activations)";
    char before[128];
    snprintf(before, sizeof before, "%s", sql_text(db, counts, buf, sizeof buf));
    CHECK_MSG(strncmp(before, "1,2,26,16,48,", 13) == 0, "%s", before); /* the fixture's rows, then BLOB bytes */
    sqlite3_close(db);

    CHECK(hs_store_open(path, HS_STORE_READONLY, NULL, &s, &err) == HS_ERR_UNSUPPORTED && s == NULL);
    snprintf(buf, sizeof buf, "schema version 1 is older than this headscope's (%d)", HS_STORE_SCHEMA_VERSION);
    CHECK_MSG(contains(err.msg, buf), "%s", err.msg);

    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    db = hs_store_db(s);
    CHECK(sql_int(db, "PRAGMA user_version") == HS_STORE_SCHEMA_VERSION);
    CHECK(sql_int(db, "PRAGMA application_id") == 0x48534350);
    CHECK_MSG(strcmp(sql_text(db, counts, buf, sizeof buf), before) == 0, "%s vs %s", buf, before);
    CHECK(sql_int(db, "SELECT count(*) FROM pragma_foreign_key_check") == 0);
    /* the new tables take rows that name the old ones, and go with them */
    CHECK(sqlite3_exec(db,
                       "INSERT INTO analysis_runs (run_id, analysis, options, started_at) VALUES (1, 'x', '{}', 'now');"
                       "INSERT INTO vocab VALUES (1, 403, ' Once');"
                       "INSERT INTO logit_lens VALUES (1, 1, 0, 0, 403, 0.5, '[403]', '[0.5]', NULL, NULL, NULL, NULL, 0);"
                       "INSERT INTO dla (run_id, prompt_id, component, layer, head, value) VALUES (1, 1, 'head', 0, 1, 0.25);",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "INSERT INTO dla (run_id, prompt_id, component, value) VALUES (1, 1, 'bogus', 0)", NULL,
                       NULL, NULL) != SQLITE_OK);
    CHECK(sqlite3_exec(db, "DELETE FROM runs WHERE id = 1", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sql_int(db, "SELECT (SELECT count(*) FROM analysis_runs) + (SELECT count(*) FROM logit_lens) + "
                      "(SELECT count(*) FROM dla)") == 0);
    hs_store_close(s);

    /* the migrated schema is the one a new store gets */
    join(fresh, sizeof fresh, dir, "fresh.db");
    CHECK_OK(hs_store_open(fresh, HS_STORE_CREATE, NULL, &s, &err), &err);
    hs_store_close(s);
    const char *schema = "SELECT group_concat(name || ':' || sql, ';') FROM (SELECT name, sql FROM sqlite_master "
                         "WHERE sql IS NOT NULL ORDER BY name)";
    static char a[16384], b[16384];
    db = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(db);
    sql_text(db, schema, a, sizeof a);
    sqlite3_close(db);
    db = raw_open(fresh, SQLITE_OPEN_READONLY);
    CHECK(db);
    sql_text(db, schema, b, sizeof b);
    sqlite3_close(db);
    CHECK(strlen(a) > 1000 && strcmp(a, b) == 0);
    return TEST_PASS;
}

/* Observes every ln*.hook_normalized of a forward pass: x̂ [n_pos, d_model] per hook point, in
 * pass order (ln1, ln2 of each layer, then ln_final), copied into xhat[i]. */
typedef struct norm_capture {
    int n, d;
    float *xhat[16];
} norm_capture;

static hs_status capture_normalized(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    (void)hp;
    norm_capture *c = user;
    size_t n = (size_t)hs_tensor_numel(t);
    if (c->n == 16 || !(c->xhat[c->n] = malloc(n * sizeof(float))))
        return HS_ERR_NOMEM;
    memcpy(c->xhat[c->n++], t->data, n * sizeof(float));
    c->d = (int)t->shape[2];
    return HS_OK;
}

/* The largest |stored - (x̂ · w + b)| and |stored - x̂| over a recorded [n_pos, d] row. */
static void norm_distances(const void *blob, int len, const float *xhat, const float *w, const float *b, int d,
                           double *to_affine, double *to_xhat)
{
    hs_blob_view v;
    *to_affine = *to_xhat = INFINITY;
    if (hs_blob_parse(blob, (size_t)len, &v) != 0 || v.ndim != 2 || v.shape[1] != d)
        return;
    *to_affine = *to_xhat = 0;
    for (int64_t i = 0; i < v.numel; i++) {
        double got = hs_blob_get(&v, i), x = xhat[i];
        int j = (int)(i % d);
        *to_affine = fmax(*to_affine, fabs(got - (x * w[j] + (b ? b[j] : 0))));
        *to_xhat = fmax(*to_xhat, fabs(got - x));
    }
}

/* A version-3 store written by headscope before hook_normalized became x̂ (tests/fixtures/store/v3.db:
 * `headscope run` of the gpt2 parity fixture on v3_prompts.jsonl recording ln1/ln2/ln_final
 * normalized, ln1.scale and resid_pre as f32). Its rows named *.hook_normalized hold x̂·w+b, which
 * the migration cannot turn into x̂: it renames them *.hook_normalized_affine (and so in the run's
 * options, so the same command records a new run instead of resuming this one under the new
 * meaning), so that at version 4 a hook_normalized row always holds x̂. The renamed rows are
 * checked to be x̂·w+b of the model (and not x̂), the new run's rows to be x̂; nothing else moves. */
int test_store_migrate_v3_normalized(void)
{
    const char *dir = test_tmpdir();
    char path[512], orig[512], fresh[512], buf[512], cmd[10240], out[4096];
    hs_error err = {0};
    hs_store *s = NULL;
    join(path, sizeof path, dir, "v3.db");
    join(orig, sizeof orig, dir, "orig.db");
    CHECK(copy_db(test_src_path("tests/fixtures/store/v3.db"), path) == 0);
    CHECK(copy_db(test_src_path("tests/fixtures/store/v3.db"), orig) == 0);
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(db && sql_int(db, "PRAGMA user_version") == 3);
    CHECK(sql_int(db, "SELECT count(*) FROM activations WHERE hook LIKE '%.hook_normalized'") == 10);
    sqlite3_close(db);

    CHECK(hs_store_open(path, HS_STORE_READONLY, NULL, &s, &err) == HS_ERR_UNSUPPORTED && s == NULL);
    snprintf(buf, sizeof buf, "schema version 3 is older than this headscope's (%d)", HS_STORE_SCHEMA_VERSION);
    CHECK_MSG(contains(err.msg, buf), "%s", err.msg);

    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    db = hs_store_db(s);
    /* the upgrade goes on to the latest version: 5 adds patch_grid */
    CHECK(sql_int(db, "PRAGMA user_version") == HS_STORE_SCHEMA_VERSION && HS_STORE_SCHEMA_VERSION == 5);
    CHECK(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('patch_grid', 'patch_grid_key')") == 2);
    snprintf(cmd, sizeof cmd, "ATTACH '%s' AS orig", orig);
    CHECK(sqlite3_exec(db, cmd, NULL, NULL, NULL) == SQLITE_OK);
    /* every row is still there with its bytes; only the normalized ones have a new name */
    CHECK(sql_int(db, "SELECT count(*) FROM activations") == 18);
    CHECK(sql_int(db, "SELECT count(*) FROM activations WHERE hook LIKE '%.hook_normalized'") == 0);
    CHECK(sql_int(db, "SELECT count(*) FROM activations a JOIN orig.activations o ON a.rowid = o.rowid "
                      "WHERE a.data = o.data AND a.shape = o.shape AND a.layer IS o.layer AND "
                      "a.prompt_id = o.prompt_id AND CASE WHEN o.hook LIKE '%.hook_normalized' "
                      "THEN a.hook = o.hook || '_affine' ELSE a.hook = o.hook END") == 18);
    CHECK(sql_int(db, "SELECT count(*) FROM activations WHERE hook = 'ln_final.hook_normalized_affine'") == 2);
    CHECK(sql_int(db, "SELECT count(*) FROM runs r JOIN orig.runs o ON r.id = o.id WHERE r.options = "
                      "replace(replace(replace(o.options, "
                      "'\"ln1.hook_normalized\"', '\"ln1.hook_normalized_affine\"'), "
                      "'\"ln2.hook_normalized\"', '\"ln2.hook_normalized_affine\"'), "
                      "'\"ln_final.hook_normalized\"', '\"ln_final.hook_normalized_affine\"') "
                      "AND r.options != o.options") == 1);
    CHECK(sqlite3_exec(db, "DETACH orig", NULL, NULL, NULL) == SQLITE_OK);
    hs_store_close(s);

    /* the renamed rows are what the old code stored: x̂·w + b of the model, not x̂ */
    hs_model *m = NULL;
    CHECK_OK(hs_model_open(test_src_path("tests/fixtures/models/gpt2"), NULL, &m, &err), &err);
    db = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(db);
    sqlite3_stmt *pr = NULL, *tok = NULL, *act = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT id FROM prompts WHERE run_id = 1 ORDER BY idx", -1, &pr, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT token_id FROM tokens WHERE prompt_id = ?1 ORDER BY pos", -1, &tok, NULL) ==
          SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT data FROM activations WHERE prompt_id = ?1 AND hook = ?2 AND "
                             "coalesce(layer, -1) = ?3", -1, &act, NULL) == SQLITE_OK);
    int n_prompts = 0;
    while (sqlite3_step(pr) == SQLITE_ROW) {
        int32_t ids[64];
        int n = 0;
        sqlite3_reset(tok);
        sqlite3_bind_int64(tok, 1, sqlite3_column_int64(pr, 0));
        while (n < 64 && sqlite3_step(tok) == SQLITE_ROW)
            ids[n++] = sqlite3_column_int(tok, 0);
        norm_capture c = {0};
        hs_hooks *h = NULL;
        CHECK_OK(hs_hooks_new(&h, &err), &err);
        CHECK_OK(hs_hooks_observe(h, "*.hook_normalized", capture_normalized, &c, &err), &err);
        hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = n};
        CHECK_OK(hs_forward(m, &batch, h, HS_BACKEND_CPU, NULL, &err), &err);
        hs_hooks_free(h);
        CHECK(c.n == 2 * m->cfg.n_layers + 1);
        for (int i = 0; i < c.n; i++) {
            int layer = i < c.n - 1 ? i / 2 : -1, ln2 = i < c.n - 1 && i % 2;
            const char *hook = layer < 0 ? "ln_final.hook_normalized_affine"
                               : ln2 ? "ln2.hook_normalized_affine" : "ln1.hook_normalized_affine";
            const float *w = layer < 0 ? m->ln_f_w : ln2 ? m->layers[layer].ln2_w : m->layers[layer].ln1_w;
            const float *b = layer < 0 ? m->ln_f_b : ln2 ? m->layers[layer].ln2_b : m->layers[layer].ln1_b;
            sqlite3_reset(act);
            sqlite3_bind_int64(act, 1, sqlite3_column_int64(pr, 0));
            sqlite3_bind_text(act, 2, hook, -1, SQLITE_STATIC);
            sqlite3_bind_int(act, 3, layer);
            CHECK_MSG(sqlite3_step(act) == SQLITE_ROW, "no %s of layer %d", hook, layer);
            double to_affine, to_xhat;
            norm_distances(sqlite3_column_blob(act, 0), sqlite3_column_bytes(act, 0), c.xhat[i], w, b, c.d,
                           &to_affine, &to_xhat);
            CHECK_MSG(to_affine < 1e-5 && to_xhat > 0.1, "%s layer %d: %g from x̂·w+b, %g from x̂", hook, layer,
                      to_affine, to_xhat);
            free(c.xhat[i]);
        }
        n_prompts++;
    }
    CHECK(n_prompts == 2);
    sqlite3_finalize(pr);
    sqlite3_finalize(tok);
    sqlite3_finalize(act);
    sqlite3_close(db);
    hs_model_close(m);

    /* the same command again records a new run (its options no longer match the old one's), and
     * its hook_normalized rows are x̂: per position mean 0 and mean square 1 - eps / scale² (LayerNorm) */
    char model_dir[4096];
    snprintf(model_dir, sizeof model_dir, "%s", test_src_path("tests/fixtures/models/gpt2"));
    snprintf(cmd, sizeof cmd, "run --model '%s' --prompts '%s' --db '%s' --record "
             "ln1.normalized,ln2.normalized,ln_final.normalized,ln1.scale,resid_pre --dtype f32 --no-summaries --quiet",
             model_dir, test_src_path("tests/fixtures/store/v3_prompts.jsonl"), path);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(contains(out, "run 2: 2 prompts recorded"), "%s", out);
    db = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(db);
    CHECK(sql_int(db, "SELECT count(*) FROM activations WHERE run_id = 2 AND hook LIKE '%.hook_normalized'") == 10);
    CHECK(sql_int(db, "SELECT count(*) FROM activations WHERE hook LIKE '%_affine' AND run_id != 1") == 0);
    sqlite3_stmt *rows = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT data FROM activations WHERE run_id = 2 AND hook LIKE '%.hook_normalized'",
                             -1, &rows, NULL) == SQLITE_OK);
    int n_rows = 0;
    while (sqlite3_step(rows) == SQLITE_ROW) {
        hs_blob_view v;
        CHECK(hs_blob_parse(sqlite3_column_blob(rows, 0), (size_t)sqlite3_column_bytes(rows, 0), &v) == 0);
        CHECK(v.ndim == 2);
        for (int64_t p = 0; p < v.shape[0]; p++) {
            double mean = 0, sq = 0;
            for (int64_t j = 0; j < v.shape[1]; j++) {
                double x = hs_blob_get(&v, p * v.shape[1] + j);
                mean += x / (double)v.shape[1];
                sq += x * x / (double)v.shape[1];
            }
            CHECK_MSG(fabs(mean) < 1e-5 && sq > 0.9 && sq < 1 + 1e-5, "mean %g, mean square %g", mean, sq);
        }
        n_rows++;
    }
    CHECK(n_rows == 10);
    sqlite3_finalize(rows);
    sqlite3_close(db);

    /* the migrated schema is the one a new store gets */
    join(fresh, sizeof fresh, dir, "fresh.db");
    CHECK_OK(hs_store_open(fresh, HS_STORE_CREATE, NULL, &s, &err), &err);
    hs_store_close(s);
    const char *schema = "SELECT group_concat(name || ':' || sql, ';') FROM (SELECT name, sql FROM sqlite_master "
                         "WHERE sql IS NOT NULL ORDER BY name)";
    static char a[16384], b[16384];
    db = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(db);
    sql_text(db, schema, a, sizeof a);
    sqlite3_close(db);
    db = raw_open(fresh, SQLITE_OPEN_READONLY);
    CHECK(db);
    sql_text(db, schema, b, sizeof b);
    sqlite3_close(db);
    CHECK(strlen(a) > 1000 && strcmp(a, b) == 0);
    return TEST_PASS;
}

int test_store_refuses_foreign_files(void)
{
    const char *dir = test_tmpdir();
    char path[512], side[600];
    hs_error err = {0};
    hs_store *s = NULL;

    /* A store whose schema a newer headscope wrote: refused for writing and for reading. */
    join(path, sizeof path, dir, "future.db");
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    hs_store_close(s);
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READWRITE);
    CHECK(db && sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    for (int pass = 0; pass < 2; pass++) {
        s = (hs_store *)1;
        hs_status st = hs_store_open(path, pass ? HS_STORE_READONLY : HS_STORE_CREATE, NULL, &s, &err);
        CHECK(st == HS_ERR_UNSUPPORTED && s == NULL);
        char want[128];
        snprintf(want, sizeof want, "future.db: schema version 99 was written by a newer headscope (this one reads up to %d)",
                 HS_STORE_SCHEMA_VERSION);
        CHECK_MSG(contains(err.msg, want), "%s", err.msg);
    }

    /* Another application's SQLite database: refused, and left byte for byte as it was. */
    join(path, sizeof path, dir, "other.db");
    db = raw_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    CHECK(db && sqlite3_exec(db, "CREATE TABLE birds (name TEXT); INSERT INTO birds VALUES ('wren')", NULL, NULL,
                             NULL) == SQLITE_OK);
    sqlite3_close(db);
    size_t len0, len1;
    unsigned char *before = read_all(path, &len0);
    CHECK(before != NULL);
    for (int pass = 0; pass < 2; pass++) {
        hs_status st = hs_store_open(path, pass ? HS_STORE_READONLY : HS_STORE_CREATE, NULL, &s, &err);
        CHECK(st == HS_ERR_FORMAT && s == NULL);
        CHECK_MSG(contains(err.msg, "other.db: not a headscope store"), "%s", err.msg);
    }
    unsigned char *after = read_all(path, &len1);
    CHECK(after && len0 == len1 && memcmp(before, after, len0) == 0);
    CHECK(!file_exists(join(side, sizeof side, dir, "other.db-wal")));
    free(before);
    free(after);

    /* One that set a user_version of its own but is not ours. */
    join(path, sizeof path, dir, "versioned.db");
    db = raw_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    CHECK(db && sqlite3_exec(db, "CREATE TABLE t (x); PRAGMA user_version = 1", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err) == HS_ERR_FORMAT);
    CHECK_MSG(contains(err.msg, "versioned.db: not a headscope store"), "%s", err.msg);

    /* A text file. */
    join(path, sizeof path, dir, "notes.txt");
    const char *text = "these are not the bytes you are looking for\n";
    CHECK(write_all(path, text, strlen(text)) == 0);
    CHECK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err) == HS_ERR_FORMAT && s == NULL);
    CHECK_MSG(contains(err.msg, "notes.txt") && contains(err.msg, "not an SQLite database"), "%s", err.msg);
    before = read_all(path, &len0);
    CHECK(before && len0 == strlen(text) && memcmp(before, text, len0) == 0);
    free(before);

    /* Read-only mode needs an existing store. */
    join(path, sizeof path, dir, "absent.db");
    CHECK(hs_store_open(path, HS_STORE_READONLY, NULL, &s, &err) == HS_ERR_IO && s == NULL);
    CHECK_MSG(contains(err.msg, "absent.db") && contains(err.msg, "No such file"), "%s", err.msg);
    CHECK(!file_exists(path));
    join(path, sizeof path, dir, "empty.db");
    CHECK(write_all(path, "", 0) == 0);
    CHECK(hs_store_open(path, HS_STORE_READONLY, NULL, &s, &err) == HS_ERR_FORMAT);
    CHECK_MSG(contains(err.msg, "empty.db: not a headscope store"), "%s", err.msg);
    /* ... while an empty file is a fine place to create one. */
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    hs_store_close(s);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- runs */

int test_store_run_states(void)
{
    const char *dir = test_tmpdir();
    char path[512], buf[64];
    join(path, sizeof path, dir, "run.db");
    hs_error err = {0};
    hs_store *s = NULL;
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    hs_run_desc d = test_desc("{\"record\":[\"pattern\"]}");
    int64_t id1, id2, id3, id4;
    hs_run_state state;
    CHECK_OK(hs_store_run_open(s, &d, &id1, &state, &err), &err);
    CHECK(state == HS_RUN_NEW && id1 > 0);
    CHECK_OK(hs_store_run_open(s, &d, &id2, &state, &err), &err);
    CHECK(state == HS_RUN_RESUMED && id2 == id1);
    sqlite3 *db = hs_store_db(s);
    CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE finished_at IS NULL") == 1);
    /* started_at is ISO-8601 UTC: 2024-05-01T12:34:56Z */
    sql_text(db, "SELECT started_at FROM runs", buf, sizeof buf);
    CHECK_MSG(strlen(buf) == 20 && buf[4] == '-' && buf[10] == 'T' && buf[19] == 'Z', "%s", buf);
    CHECK(sql_int(db, "SELECT count(*) FROM runs r JOIN models m ON m.id = r.model_id WHERE m.sha256 = 'ab12cd34' "
                      "AND m.n_layers = 2 AND m.dtype = 'F32' AND r.options = '{\"record\":[\"pattern\"]}' "
                      "AND r.prompts_path = '/data/prompts.jsonl' AND r.tool_version = 'test'") == 1);

    CHECK_OK(hs_store_run_finish(s, id1, &err), &err);
    CHECK_OK(hs_store_run_open(s, &d, &id2, &state, &err), &err);
    CHECK(state == HS_RUN_COMPLETE && id2 == id1);
    sql_text(db, "SELECT finished_at FROM runs", buf, sizeof buf);
    CHECK_MSG(strlen(buf) == 20 && buf[19] == 'Z', "%s", buf);

    /* Other options, another dtype: other runs, of the same model row. */
    hs_run_desc d2 = test_desc("{\"record\":[\"pattern\",\"z\"]}");
    CHECK_OK(hs_store_run_open(s, &d2, &id3, &state, &err), &err);
    CHECK(state == HS_RUN_NEW && id3 != id1);
    d2.dtype = "f32";
    CHECK_OK(hs_store_run_open(s, &d2, &id4, &state, &err), &err);
    CHECK(state == HS_RUN_NEW && id4 != id3 && id4 != id1);
    CHECK(sql_int(db, "SELECT count(*) FROM models") == 1);
    CHECK(sql_int(db, "SELECT count(*) FROM runs") == 3);

    /* And the state survives reopening. */
    hs_store_close(s);
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    CHECK_OK(hs_store_run_open(s, &d, &id2, &state, &err), &err);
    CHECK(state == HS_RUN_COMPLETE && id2 == id1);
    CHECK_OK(hs_store_run_open(s, &d2, &id2, &state, &err), &err);
    CHECK(state == HS_RUN_RESUMED && id2 == id4);

    CHECK(hs_store_run_finish(s, 12345, &err) == HS_ERR_MISSING);
    CHECK_MSG(contains(err.msg, "run.db") && contains(err.msg, "no run 12345"), "%s", err.msg);
    d2.prompts_sha256 = NULL;
    CHECK(hs_store_run_open(s, &d2, &id2, &state, &err) == HS_ERR_ARG);
    CHECK_MSG(contains(err.msg, "prompts_sha256"), "%s", err.msg);
    hs_store_close(s);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- rows */

int test_store_rows_read_back(void)
{
    const char *dir = test_tmpdir();
    char path[512], buf[128];
    join(path, sizeof path, dir, "run.db");
    int64_t run_id;
    if (make_store(path, 3, &run_id) != TEST_PASS)
        return TEST_FAIL;
    CHECK(verify_store(path, run_id, 3) == 0);

    hs_error err = {0};
    hs_store *s = NULL;
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    /* A score over the whole prompt set: layer and prompt NULL. Outside a transaction it commits
     * on its own. */
    CHECK_OK(hs_store_put_head_score(s, run_id, "heads", "induction", -1, -1, -1, 0.75, &err), &err);
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(db);
    CHECK(sql_int(db, "SELECT count(*) FROM head_scores WHERE analysis = 'heads' AND layer IS NULL AND head IS NULL "
                      "AND prompt_id IS NULL AND value = 0.75") == 1);
    CHECK(sql_int(db, "SELECT count(*) FROM activations WHERE hook = 'hook_embed' AND layer IS NULL AND head IS NULL") == 3);
    CHECK(strcmp(sql_text(db, "SELECT shape FROM activations WHERE hook = 'hook_resid_post' AND layer = 0 LIMIT 1", buf,
                          sizeof buf), "[128,64]") == 0);
    CHECK(sql_int(db, "SELECT length(data) FROM activations WHERE hook = 'attn.hook_pattern' LIMIT 1") ==
          8 + 2 * 4 + N_POS * N_POS * 2);
    sqlite3_close(db);

    /* The slice key is unique even where layer and head are NULL. */
    int64_t shape[2] = {N_POS, 8};
    float zeros[N_POS * 8] = {0};
    int64_t pid = sql_int(hs_store_db(s), "SELECT id FROM prompts WHERE idx = 0");
    hs_status st = hs_store_put_activation(s, run_id, pid, "hook_embed", -1, -1, NULL, HS_DTYPE_F32, 2, shape, zeros, &err);
    CHECK(st == HS_ERR_ARG);
    CHECK_MSG(contains(err.msg, "run.db") && contains(err.msg, "UNIQUE"), "%s", err.msg);
    /* Bad arguments are refused before SQLite sees them. */
    CHECK(hs_store_put_activation(s, run_id, pid, "hook_x", 0, -1, NULL, HS_DTYPE_I32, 2, shape, zeros, &err) ==
          HS_ERR_UNSUPPORTED);
    CHECK(hs_store_put_activation(s, run_id, pid, "hook_x", 0, -1, NULL, HS_DTYPE_F32, 0, shape, zeros, &err) == HS_ERR_SHAPE);
    int64_t neg[2] = {-1, 8};
    CHECK(hs_store_put_activation(s, run_id, pid, "hook_x", 0, -1, NULL, HS_DTYPE_F32, 2, neg, zeros, &err) == HS_ERR_SHAPE);
    /* A row whose prompt does not exist breaks a foreign key. */
    CHECK(hs_store_put_token(s, run_id, 9999, 0, 1, "x", 0, &err) == HS_ERR_ARG);
    CHECK_MSG(contains(err.msg, "FOREIGN KEY"), "%s", err.msg);
    hs_store_close(s);
    CHECK(verify_store(path, run_id, 3) != 0); /* the extra prompt-set score: the checker notices */

    /* Deleting a run takes all of its rows with it. */
    db = raw_open(path, SQLITE_OPEN_READWRITE);
    CHECK(db);
    CHECK(sqlite3_exec(db, "PRAGMA foreign_keys = ON; DELETE FROM runs", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(sql_int(db, "SELECT (SELECT count(*) FROM prompts) + (SELECT count(*) FROM tokens) + "
                      "(SELECT count(*) FROM activations) + (SELECT count(*) FROM head_scores)") == 0);
    sqlite3_close(db);
    return TEST_PASS;
}

/* The checker the fault sweep relies on must notice a prompt that lost a row. */
int test_store_checker_catches_planted_loss(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    join(path, sizeof path, dir, "run.db");
    int64_t run_id;
    if (make_store(path, 2, &run_id) != TEST_PASS)
        return TEST_FAIL;
    CHECK(verify_store(path, run_id, 2) == 0);
    sqlite3 *db = raw_open(path, SQLITE_OPEN_READWRITE);
    CHECK(db && sqlite3_exec(db, "DELETE FROM tokens WHERE pos = 3 AND prompt_id = (SELECT id FROM prompts "
                                 "WHERE idx = 1)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    fprintf(stderr, "(expected complaints follow)\n");
    CHECK(verify_store(path, run_id, 2) != 0);
    /* ... and a flipped bit in a stored tensor. */
    CHECK(make_store(join(path, sizeof path, dir, "run2.db"), 2, &run_id) == TEST_PASS);
    db = raw_open(path, SQLITE_OPEN_READWRITE);
    CHECK(db && sqlite3_exec(db, "UPDATE activations SET data = substr(data, 1, 16) || x'00004040' || substr(data, 21) "
                                 "WHERE hook = 'hook_embed' AND prompt_id = (SELECT id FROM prompts WHERE idx = 0)",
                             NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(verify_store(path, run_id, 2) != 0);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- transactions */

int test_store_rollback(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    join(path, sizeof path, dir, "run.db");
    int64_t run_id;
    if (make_store(path, 1, &run_id) != TEST_PASS)
        return TEST_FAIL;
    hs_error err = {0};
    hs_store *s = NULL;
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    int done = -1;
    CHECK_OK(hs_store_prompt_recorded(s, run_id, 0, &done, &err), &err);
    CHECK(done == 1);
    CHECK_OK(hs_store_prompt_recorded(s, run_id, 1, &done, &err), &err);
    CHECK(done == 0);

    /* Mid-transaction: the prompt is not recorded, for this connection or a reader. */
    sqlite3 *reader = raw_open(path, SQLITE_OPEN_READONLY);
    CHECK(reader);
    CHECK_OK(hs_store_begin(s, &err), &err);
    CHECK(hs_store_begin(s, &err) == HS_ERR_ARG);
    CHECK_OK(put_prompt_rows(s, run_id, 1, &err), &err);
    CHECK_OK(hs_store_prompt_recorded(s, run_id, 1, &done, &err), &err);
    CHECK(done == 0);
    CHECK(sql_int(reader, "SELECT count(*) FROM prompts") == 1);
    CHECK(sql_int(reader, "SELECT count(*) FROM activations") == N_SLOTS);
    hs_store_rollback(s);
    hs_store_rollback(s); /* nothing open: a no-op */
    CHECK_OK(hs_store_prompt_recorded(s, run_id, 1, &done, &err), &err);
    CHECK(done == 0);
    CHECK(hs_store_commit(s, &err) == HS_ERR_ARG);
    CHECK(verify_store(path, run_id, 1) == 0);

    /* Committed: recorded, and the reader sees it whole. */
    CHECK_OK(record_prompt(s, run_id, 1, &err), &err);
    CHECK_OK(hs_store_prompt_recorded(s, run_id, 1, &done, &err), &err);
    CHECK(done == 1);
    CHECK(sql_int(reader, "SELECT count(*) FROM prompts") == 2);
    CHECK(sql_int(reader, "SELECT count(*) FROM tokens") == 2 * N_POS);
    sqlite3_close(reader);

    /* A failure midway (a duplicate prompt) rolled back leaves the store as it was. */
    CHECK_OK(hs_store_begin(s, &err), &err);
    hs_prompt_row row = {.idx = 2, .text = "two", .n_tokens = 1};
    int64_t pid;
    CHECK_OK(hs_store_put_prompt(s, run_id, &row, &pid, &err), &err);
    CHECK_OK(hs_store_put_token(s, run_id, pid, 0, 7, "x", 0, &err), &err);
    row.idx = 1;
    CHECK(hs_store_put_prompt(s, run_id, &row, &pid, &err) == HS_ERR_ARG);
    CHECK_MSG(contains(err.msg, "run.db") && contains(err.msg, "prompt 1"), "%s", err.msg);
    hs_store_rollback(s);
    CHECK(verify_store(path, run_id, 2) == 0);

    /* Closing with a transaction open rolls it back. */
    CHECK_OK(hs_store_begin(s, &err), &err);
    CHECK_OK(put_prompt_rows(s, run_id, 2, &err), &err);
    hs_store_close(s);
    CHECK(verify_store(path, run_id, 2) == 0);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- read-only and locked */

/* Permission checks, run as an unprivileged user: CREATE on a 0444 file and in a 0555 directory. */
static int check_permissions(const char *dir)
{
    char path[512];
    hs_error err = {0};
    hs_store *s = NULL;
    join(path, sizeof path, dir, "ro.db");
    hs_status st = hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err);
    CHECK(st == HS_ERR_IO && s == NULL);
    CHECK_MSG(contains(err.msg, "ro.db: the file is read-only"), "%s", err.msg);
    join(path, sizeof path, dir, "ro-dir/new.db");
    st = hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err);
    CHECK(st == HS_ERR_IO && s == NULL);
    CHECK_MSG(contains(err.msg, "ro-dir/new.db") && contains(err.msg, "Permission denied"), "%s", err.msg);
    CHECK(!file_exists(path));
    return TEST_PASS;
}

int test_store_readonly(void)
{
    const char *dir = test_tmpdir();
    char path[512], sub[512];
    join(path, sizeof path, dir, "ro.db");
    int64_t run_id;
    if (make_store(path, 1, &run_id) != TEST_PASS)
        return TEST_FAIL;

    /* HS_STORE_READONLY: queries work, every write is refused with a message, and the connection
     * itself is read-only (SQLITE_OPEN_READONLY), not just the API. */
    hs_error err = {0};
    hs_store *s = NULL;
    CHECK_OK(hs_store_open(path, HS_STORE_READONLY, NULL, &s, &err), &err);
    int done = 0;
    CHECK_OK(hs_store_prompt_recorded(s, run_id, 0, &done, &err), &err);
    CHECK(done == 1);
    hs_run_desc d = test_desc("{\"record\":\"all\"}");
    hs_run_state state;
    int64_t id;
    CHECK(hs_store_run_open(s, &d, &id, &state, &err) == HS_ERR_ARG);
    CHECK_MSG(contains(err.msg, "ro.db") && contains(err.msg, "opened read-only"), "%s", err.msg);
    CHECK(hs_store_begin(s, &err) == HS_ERR_ARG);
    CHECK(hs_store_put_head_score(s, run_id, "a", "b", 0, 0, -1, 1.0, &err) == HS_ERR_ARG);
    CHECK_MSG(contains(err.msg, "ro.db") && contains(err.msg, "opened read-only"), "%s", err.msg);
    CHECK(sqlite3_db_readonly(hs_store_db(s), "main") == 1);
    CHECK(sqlite3_exec(hs_store_db(s), "DELETE FROM head_scores", NULL, NULL, NULL) == SQLITE_READONLY);
    hs_store_close(s);
    CHECK(verify_store(path, run_id, 1) == 0);

    /* File permissions. Root ignores them, so as root the checks run in a child that has become
     * `nobody`. */
    CHECK(chmod(path, 0444) == 0);
    join(sub, sizeof sub, dir, "ro-dir");
    CHECK(mkdir(sub, 0555) == 0);
    if (geteuid() != 0)
        return check_permissions(dir);
    CHECK(chmod(dir, 0755) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(TEST_SKIP);
        _exit(check_permissions(dir));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == TEST_SKIP) {
        fprintf(stderr, "running as root and cannot become nobody: permission checks skipped\n");
        return TEST_PASS; /* HS_STORE_READONLY was still checked above */
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == TEST_PASS);
    return TEST_PASS;
}

int test_store_locked(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    join(path, sizeof path, dir, "run.db");
    int64_t run_id;
    if (make_store(path, 1, &run_id) != TEST_PASS)
        return TEST_FAIL;
    hs_error err = {0};
    hs_store *s = NULL;
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, NULL, &s, &err), &err);
    /* The store's busy timeout is the connection's; shorten it for the test. */
    CHECK(sqlite3_busy_timeout(hs_store_db(s), 200) == SQLITE_OK);

    sqlite3 *other = raw_open(path, SQLITE_OPEN_READWRITE);
    CHECK(other && sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
    double t0 = now_s();
    hs_status st = hs_store_begin(s, &err);
    double waited = now_s() - t0;
    CHECK(st == HS_ERR_IO);
    CHECK_MSG(contains(err.msg, "run.db") && contains(err.msg, "database is locked") && contains(err.msg, "200 ms"),
              "%s", err.msg);
    CHECK_MSG(waited >= 0.15 && waited < 3.0, "waited %.3f s", waited);
    /* A write outside a transaction waits and fails the same way. */
    CHECK(hs_store_put_head_score(s, run_id, "a", "b", 0, 0, -1, 1.0, &err) == HS_ERR_IO);
    CHECK_MSG(contains(err.msg, "database is locked"), "%s", err.msg);
    /* Readers are not blocked by the writer (WAL). */
    int done = 0;
    CHECK_OK(hs_store_prompt_recorded(s, run_id, 0, &done, &err), &err);
    CHECK(done == 1);
    hs_store *reader = NULL;
    CHECK_OK(hs_store_open(path, HS_STORE_READONLY, NULL, &reader, &err), &err);
    hs_store_close(reader);

    /* Once the other writer is done, so is the wait. */
    CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_OK(record_prompt(s, run_id, 1, &err), &err);
    /* And the other way round: while the store writes, the other connection is the one that waits. */
    CHECK_OK(hs_store_begin(s, &err), &err);
    sqlite3_busy_timeout(other, 50);
    CHECK(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_BUSY);
    hs_store_rollback(s);
    sqlite3_close(other);
    hs_store_close(s);
    CHECK(verify_store(path, run_id, 2) == 0);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- fault injection */

int test_store_fault_vfs(void)
{
    CHECK(hs_fault_vfs_register() == SQLITE_OK);
    CHECK(hs_fault_vfs_register() == SQLITE_OK); /* idempotent */
    CHECK(sqlite3_vfs_find(HS_FAULT_VFS_NAME) != NULL);
    CHECK(sqlite3_vfs_find(NULL) != sqlite3_vfs_find(HS_FAULT_VFS_NAME)); /* not the default */
    const char *dir = test_tmpdir();
    char path[512];
    join(path, sizeof path, dir, "f.db");
    /* Unarmed it is a faithful pass-through that counts. */
    hs_error err = {0};
    hs_store *s = NULL;
    hs_fault_vfs_arm(0);
    CHECK_OK(hs_store_open(path, HS_STORE_CREATE, HS_FAULT_VFS_NAME, &s, &err), &err);
    long after_create = hs_fault_vfs_count();
    CHECK(after_create > 0);
    hs_run_desc d = test_desc("{}");
    int64_t run_id;
    hs_run_state state;
    CHECK_OK(hs_store_run_open(s, &d, &run_id, &state, &err), &err);
    CHECK_OK(record_prompt(s, run_id, 0, &err), &err);
    CHECK(hs_fault_vfs_count() > after_create);
    /* Armed at the next call: the next commit fails as a full disk, with the file named. */
    hs_fault_vfs_arm(1);
    hs_status st = record_prompt(s, run_id, 1, &err);
    CHECK(st == HS_ERR_IO);
    CHECK_MSG(contains(err.msg, "f.db") && contains(err.msg, "disk full"), "%s", err.msg);
    CHECK(hs_fault_vfs_count() >= 1);
    hs_fault_vfs_disarm();
    CHECK_OK(record_prompt(s, run_id, 1, &err), &err);

    /* A full disk midway through a prompt (pages spilling from a small cache) makes SQLite roll
     * the transaction back by itself. A caller that carries on regardless, with the disk freed
     * again, must not get the rest of the prompt committed row by row: every later write and the
     * commit fail until it calls rollback. */
    CHECK(sqlite3_exec(hs_store_db(s), "PRAGMA cache_size = 10", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_OK(hs_store_begin(s, &err), &err);
    hs_fault_vfs_arm(1);
    st = put_prompt_rows(s, run_id, 2, &err);
    hs_fault_vfs_disarm();
    CHECK(st == HS_ERR_IO);
    CHECK_MSG(contains(err.msg, "f.db") && contains(err.msg, "disk full"), "%s", err.msg);
    CHECK(sqlite3_get_autocommit(hs_store_db(s))); /* SQLite has rolled back */
    CHECK(put_prompt_rows(s, run_id, 3, &err) == HS_ERR_IO);
    CHECK_MSG(contains(err.msg, "rolled back after an earlier error"), "%s", err.msg);
    CHECK(hs_store_commit(s, &err) == HS_ERR_IO);
    CHECK_MSG(contains(err.msg, "nothing of the prompt was recorded"), "%s", err.msg);
    hs_store_rollback(s);
    CHECK(verify_store(path, run_id, 2) == 0);
    CHECK_OK(record_prompt(s, run_id, 2, &err), &err);
    hs_store_close(s);
    CHECK(verify_store(path, run_id, 3) == 0);
    return TEST_PASS;
}

/* What a sweep saw: failure points, and where each failure surfaced. */
typedef struct sweep_tally {
    int n_points;      /* writes the recording reached, each failed once */
    int at_open;       /* reported by hs_store_open or hs_store_run_open */
    int at_begin, at_put, at_commit;
    int disk_full;     /* reports that say "disk full" */
    int after_commit;  /* recording succeeded; the fault struck later, in the checkpoint at close */
} sweep_tally;

/* One sweep of recording prompt 2 into copies of base (prompts 0 and 1 recorded). cache_pages > 0
 * shrinks the page cache so that dirty pages spill into the WAL mid-transaction, and faults strike
 * inside the puts, not only at commit. */
static int sweep_record(const char *base, const char *work, int64_t run_id, int cache_pages, sweep_tally *t)
{
    hs_run_desc d = test_desc("{\"record\":\"all\"}");
    memset(t, 0, sizeof *t);
    for (long n = 1; n < 100000; n++) {
        CHECK(copy_db(base, work) == 0);
        hs_error err = {0};
        hs_store *s = NULL;
        int64_t id = -1;
        hs_run_state state;
        int *stage = &t->at_open;
        hs_fault_vfs_arm(n);
        hs_status st = hs_store_open(work, HS_STORE_CREATE, HS_FAULT_VFS_NAME, &s, &err);
        if (st == HS_OK && cache_pages > 0) {
            char sql[64];
            snprintf(sql, sizeof sql, "PRAGMA cache_size = %d", cache_pages);
            CHECK(sqlite3_exec(hs_store_db(s), sql, NULL, NULL, NULL) == SQLITE_OK);
        }
        if (st == HS_OK)
            st = hs_store_run_open(s, &d, &id, &state, &err);
        if (st == HS_OK) {
            CHECK(state == HS_RUN_RESUMED && id == run_id);
            stage = &t->at_begin;
            st = hs_store_begin(s, &err);
        }
        if (st == HS_OK) {
            stage = &t->at_put;
            st = put_prompt_rows(s, run_id, 2, &err);
        }
        if (st == HS_OK) {
            stage = &t->at_commit;
            st = hs_store_commit(s, &err);
        }
        if (st != HS_OK)
            hs_store_rollback(s);
        hs_store_close(s); /* still armed: a failing checkpoint at close is part of the sweep */
        long count = hs_fault_vfs_count();
        hs_fault_vfs_disarm();
        if (count < n) { /* the recording no longer reaches the n-th write: the sweep is done */
            CHECK_MSG(st == HS_OK, "n=%ld: %s without an injected fault", n, err.msg);
            CHECK(verify_store(work, run_id, 3) == 0);
            return TEST_PASS;
        }
        t->n_points++;
        if (st != HS_OK) {
            CHECK_MSG(contains(err.msg, "work.db"), "n=%ld: %s", n, err.msg);
            (*stage)++;
            t->disk_full += contains(err.msg, "disk full");
        } else {
            t->after_commit++;
        }
        /* A failure leaves the two committed prompts and nothing of the third; a recording that
         * reported success keeps all three even when the fault struck later, at close. */
        CHECK_MSG(verify_store(work, run_id, st == HS_OK ? 3 : 2) == 0, "n=%ld (%s)", n,
                  st == HS_OK ? "recorded" : err.msg);
        if (st != HS_OK) {
            CHECK_OK(hs_store_open(work, HS_STORE_CREATE, NULL, &s, &err), &err);
            CHECK_OK(hs_store_run_open(s, &d, &id, &state, &err), &err);
            CHECK(state == HS_RUN_RESUMED && id == run_id);
            int done = 1;
            CHECK_OK(hs_store_prompt_recorded(s, run_id, 2, &done, &err), &err);
            CHECK(done == 0);
            CHECK_OK(record_prompt(s, run_id, 2, &err), &err);
            hs_store_close(s);
            CHECK_MSG(verify_store(work, run_id, 3) == 0, "n=%ld: after recording again", n);
        }
    }
    fprintf(stderr, "fault sweep did not end\n");
    return TEST_FAIL;
}

/* Fills the disk at the n-th write of one prompt's recording into a store that already holds two,
 * for every n until the recording no longer reaches the n-th write; after each failure the store,
 * reopened normally, must be intact, hold the two prompts exactly, hold nothing of the third, and
 * accept it when recorded again. Twice: with the default page cache (the prompt reaches the WAL at
 * commit) and with a tiny one (pages spill into the WAL during the puts). */
int test_store_fault_sweep(void)
{
    CHECK(hs_fault_vfs_register() == SQLITE_OK);
    const char *dir = test_tmpdir();
    char base[512], work[512];
    join(base, sizeof base, dir, "base.db");
    join(work, sizeof work, dir, "work.db");
    int64_t run_id;
    if (make_store(base, 2, &run_id) != TEST_PASS)
        return TEST_FAIL;
    static const int cache_pages[2] = {0, 10};
    for (int i = 0; i < 2; i++) {
        sweep_tally t;
        if (sweep_record(base, work, run_id, cache_pages[i], &t) != TEST_PASS)
            return TEST_FAIL;
        fprintf(stderr,
                "fault sweep (recording a prompt, %s page cache): %d failure points: reported at open %d, "
                "begin %d, put %d, commit %d (%d of them \"disk full\"); %d struck after the commit, at close\n",
                cache_pages[i] ? "10-page" : "default", t.n_points, t.at_open, t.at_begin, t.at_put, t.at_commit,
                t.disk_full, t.after_commit);
        CHECK(t.at_commit > 0);
        if (cache_pages[i])
            CHECK(t.at_put > 0);
    }
    return TEST_PASS;
}

/* The same sweep over creating a store: a fault at any write of creating the schema, opening a run
 * and recording its first prompt leaves a file that opens normally and is then completed. */
int test_store_fault_sweep_create(void)
{
    CHECK(hs_fault_vfs_register() == SQLITE_OK);
    const char *dir = test_tmpdir();
    char work[512], side[600];
    join(work, sizeof work, dir, "new.db");
    hs_run_desc d = test_desc("{\"record\":\"all\"}");
    int n_points = 0;
    for (long n = 1; n < 100000; n++) {
        unlink(work);
        unlink((snprintf(side, sizeof side, "%s-wal", work), side));
        unlink((snprintf(side, sizeof side, "%s-shm", work), side));
        hs_error err = {0};
        hs_store *s = NULL;
        int64_t run_id = -1;
        hs_run_state state = HS_RUN_COMPLETE;
        hs_fault_vfs_arm(n);
        hs_status st = hs_store_open(work, HS_STORE_CREATE, HS_FAULT_VFS_NAME, &s, &err);
        if (st == HS_OK)
            st = hs_store_run_open(s, &d, &run_id, &state, &err);
        if (st == HS_OK)
            st = record_prompt(s, run_id, 0, &err);
        hs_store_close(s);
        long count = hs_fault_vfs_count();
        hs_fault_vfs_disarm();
        if (count < n) {
            CHECK_MSG(st == HS_OK, "n=%ld: %s without an injected fault", n, err.msg);
            CHECK(verify_store(work, run_id, 1) == 0);
            break;
        }
        n_points++;
        if (st != HS_OK)
            CHECK_MSG(contains(err.msg, "new.db"), "n=%ld: %s", n, err.msg);
        /* Reopened normally: a valid store (created now if the fault struck before its schema was
         * committed) where the run resumes and the prompt is recorded once. */
        CHECK_OK(hs_store_open(work, HS_STORE_CREATE, NULL, &s, &err), &err);
        CHECK_OK(hs_store_run_open(s, &d, &run_id, &state, &err), &err);
        int done = 0;
        CHECK_OK(hs_store_prompt_recorded(s, run_id, 0, &done, &err), &err);
        CHECK_MSG(done == (st == HS_OK), "n=%ld: prompt recorded %d after status %s", n, done, hs_status_name(st));
        if (!done)
            CHECK_OK(record_prompt(s, run_id, 0, &err), &err);
        hs_store_close(s);
        CHECK_MSG(verify_store(work, run_id, 1) == 0, "n=%ld", n);
    }
    fprintf(stderr, "fault sweep (creating a store): %d failure points\n", n_points);
    CHECK(n_points > 0);
    return TEST_PASS;
}
