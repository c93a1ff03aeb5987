/* test_run.c — `headscope run` end to end: what it stores is checked through SQL alone (patterns
 * sum to 1, stored tensors equal what the hook saw, summaries equal their recomputation), and the
 * store survives kill -9, disk-full faults and bad input, resuming without loss or duplicates. */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/tensor_blob.h"
#include "model/random_model.h"
#include "store/sqlext.h"
#include "store/store.h"
#include "tests/test.h"

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* One integer from a query (or -1). */
static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "SQL error: %s\n  in: %s\n", sqlite3_errmsg(db), sql);
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
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

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK || hs_sqlext_register(db) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static const char prompts_text[] =
    "{\"id\": \"p0\", \"text\": \"Once upon a time, there was a little girl\"}\n"
    "{\"id\": 1, \"text\": \"The cat sat on the mat. The cat sat on the\", \"meta\": {\"task\": \"induction\"}}\n"
    "\n"
    "{\"text\": \"Lily and Ben went to the park. Ben gave a ball to\", \"answer\": \" Lily\", \"wrong\": \" Ben\"}\n";

/* The SQL checks shared by both models. */
static int check_store_by_sql(sqlite3 *db, int n_prompts)
{
    CHECK(query_int(db, "PRAGMA user_version") == HS_STORE_SCHEMA_VERSION);
    CHECK(query_int(db, "SELECT count(*) FROM prompts") == n_prompts);
    CHECK(query_int(db, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL") == 1);
    CHECK(query_int(db, "SELECT count(*) FROM prompts p WHERE n_tokens != (SELECT count(*) FROM tokens t WHERE t.prompt_id = p.id)") == 0);
    /* every stored pattern row sums to 1 and is causal */
    CHECK(query_int(db, "SELECT count(*) FROM activations a WHERE hook = 'attn.hook_pattern'") > 0);
    CHECK(query_int(db, "SELECT count(*) FROM (SELECT a.rowid, e.i0, sum(e.value) AS s FROM activations a, "
                        "tensor_each(a.data) e WHERE a.hook = 'attn.hook_pattern' GROUP BY a.rowid, e.i0 "
                        "HAVING abs(s - 1) > 1e-5)") == 0);
    CHECK(query_int(db, "SELECT count(*) FROM activations a, tensor_each(a.data) e "
                        "WHERE a.hook = 'attn.hook_pattern' AND e.i1 > e.i0 AND e.value != 0") == 0);
    /* the per-head summaries equal their recomputation from the stored patterns */
    CHECK(query_int(db, "SELECT count(*) FROM head_scores WHERE analysis = 'run'") > 0);
    double worst_first = query_double(db,
        "SELECT max(abs(h.value - r.v)) FROM head_scores h JOIN ("
        "  SELECT a.prompt_id, a.layer, a.head, avg(e.value) AS v FROM activations a, tensor_each(a.data) e"
        "  WHERE a.hook = 'attn.hook_pattern' AND e.i1 = 0 GROUP BY a.prompt_id, a.layer, a.head) r"
        " ON h.prompt_id = r.prompt_id AND h.layer = r.layer AND h.head = r.head"
        " WHERE h.analysis = 'run' AND h.metric = 'attn_first'");
    CHECK_MSG(worst_first < 1e-6, "attn_first vs SQL recomputation: %g", worst_first);
    double worst_entropy = query_double(db,
        "SELECT max(abs(h.value - r.v)) FROM head_scores h JOIN ("
        "  SELECT prompt_id, layer, head, avg(row_entropy) AS v FROM ("
        "    SELECT a.prompt_id, a.layer, a.head, e.i0, -sum(CASE WHEN e.value > 0 THEN e.value * ln(e.value) ELSE 0 END) AS row_entropy"
        "    FROM activations a, tensor_each(a.data) e WHERE a.hook = 'attn.hook_pattern'"
        "    GROUP BY a.prompt_id, a.layer, a.head, e.i0) GROUP BY prompt_id, layer, head) r"
        " ON h.prompt_id = r.prompt_id AND h.layer = r.layer AND h.head = r.head"
        " WHERE h.analysis = 'run' AND h.metric = 'attn_entropy'");
    CHECK_MSG(worst_entropy < 1e-5, "attn_entropy vs SQL recomputation: %g", worst_entropy);
    double worst_max = query_double(db,
        "SELECT max(abs(h.value - r.v)) FROM head_scores h JOIN ("
        "  SELECT prompt_id, layer, head, avg(m) AS v FROM ("
        "    SELECT a.prompt_id, a.layer, a.head, e.i0, max(e.value) AS m FROM activations a, tensor_each(a.data) e"
        "    WHERE a.hook = 'attn.hook_pattern' GROUP BY a.prompt_id, a.layer, a.head, e.i0)"
        "  GROUP BY prompt_id, layer, head) r ON h.prompt_id = r.prompt_id AND h.layer = r.layer AND h.head = r.head"
        " WHERE h.analysis = 'run' AND h.metric = 'attn_max'");
    CHECK_MSG(worst_max < 1e-6, "attn_max vs SQL recomputation: %g", worst_max);
    return TEST_PASS;
}

/* Captures one hook of one prompt during an in-process forward pass. */
typedef struct capture_one {
    hs_hook_point want;
    float *data;
    int64_t n;
} capture_one;

static hs_status capture_fn(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    capture_one *c = user;
    if (hp->kind != c->want.kind || hp->layer != c->want.layer)
        return HS_OK;
    c->n = hs_tensor_numel(t);
    c->data = malloc((size_t)c->n * sizeof(float));
    if (!c->data)
        return HS_ERR_NOMEM;
    memcpy(c->data, t->data, (size_t)c->n * sizeof(float));
    return HS_OK;
}

/* The stored tensor equals the value the hook saw: compared in SQL against the same values put
 * into the database as a BLOB. */
static int check_equals_hook(sqlite3 *db, const char *model, const char *tokenizer)
{
    hs_error err = {0};
    hs_model *m;
    CHECK_OK(hs_model_open(model, tokenizer, &m, &err), &err);
    const char *text = "The cat sat on the mat. The cat sat on the";
    int32_t *ids;
    size_t n;
    CHECK_OK(hs_tokenizer_encode(hs_model_tokenizer(m), text, strlen(text), 1, &ids, &n, &err), &err);
    hs_hooks *h;
    capture_one z = {.want = {HS_HOOK_Z, 1}}, pat = {.want = {HS_HOOK_PATTERN, 0}};
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    CHECK_OK(hs_hooks_observe(h, "blocks.1.attn.hook_z", capture_fn, &z, &err), &err);
    CHECK_OK(hs_hooks_observe(h, "blocks.0.attn.hook_pattern", capture_fn, &pat, &err), &err);
    hs_batch b = {.ids = ids, .n_batch = 1, .n_pos = (int)n};
    CHECK_OK(hs_forward(m, &b, h, HS_BACKEND_CPU, NULL, &err), &err);
    hs_model_info info;
    hs_model_get_info(m, &info);
    /* z [1, pos, head, d_head]: head 2's slice [pos, d_head]; pattern [1, head, q, k]: head 1 */
    int H = info.n_heads, dh = info.d_head, T = (int)n;
    float *zh = malloc(sizeof(float) * (size_t)(T * dh));
    CHECK(zh && z.data && pat.data);
    for (int p = 0; p < T; p++)
        memcpy(zh + p * dh, z.data + ((size_t)p * H + 2) * dh, sizeof(float) * (size_t)dh);
    int64_t zshape[2] = {T, dh}, pshape[2] = {T, T};
    size_t zn = hs_blob_size(HS_DTYPE_F32, 2, zshape), pn = hs_blob_size(HS_DTYPE_F32, 2, pshape);
    void *zb = malloc(zn), *pb = malloc(pn);
    CHECK(zb && pb);
    hs_blob_encode(zb, HS_DTYPE_F32, 2, zshape, zh);
    hs_blob_encode(pb, HS_DTYPE_F32, 2, pshape, pat.data + (size_t)1 * T * T);
    CHECK(sqlite3_exec(db, "CREATE TEMP TABLE seen(name TEXT, data BLOB)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO seen VALUES (?, ?)", -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, "z", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, zb, (int)zn, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, "pattern", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, pb, (int)pn, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    double dz = query_double(db,
        "SELECT max(abs(e1.value - e2.value)) FROM activations a JOIN prompts p ON a.prompt_id = p.id, seen s,"
        " tensor_each(a.data) e1 JOIN tensor_each(s.data) e2 ON e1.idx = e2.idx"
        " WHERE p.text LIKE 'The cat%' AND a.hook = 'attn.hook_z' AND a.layer = 1 AND a.head = 2 AND s.name = 'z'");
    double dp = query_double(db,
        "SELECT max(abs(e1.value - e2.value)) FROM activations a JOIN prompts p ON a.prompt_id = p.id, seen s,"
        " tensor_each(a.data) e1 JOIN tensor_each(s.data) e2 ON e1.idx = e2.idx"
        " WHERE p.text LIKE 'The cat%' AND a.hook = 'attn.hook_pattern' AND a.layer = 0 AND a.head = 1 AND s.name = 'pattern'");
    CHECK_MSG(dz == 0 && dp == 0, "stored vs observed: z %g, pattern %g (f32 storage must be exact)", dz, dp);
    CHECK(query_int(db, "SELECT count(*) FROM activations a JOIN prompts p ON a.prompt_id = p.id "
                        "WHERE p.text LIKE 'The cat%' AND a.hook = 'attn.hook_z' AND a.layer = 1 AND a.head = 2 "
                        "AND a.positions IS NULL AND tensor_shape(a.data) = '[' || p.n_tokens || ',' || "
                        "(SELECT d_head FROM models) || ']'") == 1);
    free(zb), free(pb), free(zh), free(z.data), free(pat.data), free(ids);
    hs_hooks_free(h);
    hs_model_close(m);
    return TEST_PASS;
}

int test_run_stories_sql_checks(void)
{
    const char *shared = test_shared_path("models/stories260K/stories260K.bin");
    if (!shared)
        return TEST_SKIP;
    char model[4096], dir[256], prompts[512], db[512], args[16384], out[65536];
    snprintf(model, sizeof model, "%s", shared);
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(prompts, sizeof prompts, "%s/prompts.jsonl", dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    CHECK(write_file(prompts, prompts_text) == 0);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --dtype f32", model, prompts, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "3 prompts recorded"), "%s", out);
    sqlite3 *d = open_db(db);
    CHECK(d);
    CHECK(check_store_by_sql(d, 3) == TEST_PASS);
    CHECK(check_equals_hook(d, model, NULL) == TEST_PASS);
    /* defaults: pattern, z, resid_post of every layer and head */
    CHECK(query_int(d, "SELECT count(*) FROM activations WHERE prompt_id = (SELECT min(id) FROM prompts)") ==
          5 * 8 + 5 * 8 + 5);
    CHECK(query_int(d, "SELECT count(*) FROM prompts WHERE answer = ' Lily' AND wrong = ' Ben' AND idx = 2") == 1);
    CHECK(query_int(d, "SELECT count(*) FROM prompts WHERE ext_id = '1' AND meta = '{\"task\":\"induction\"}'") == 1);
    sqlite3_close(d);
    /* the same command again has nothing to do */
    CHECK(test_run_headscope(args, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "nothing to do"), "%s", out);
    return TEST_PASS;
}

int test_run_fixture_model_sql_checks(void)
{
    char dir[256], model[512], prompts[512], db[512], args[16384], out[65536];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(prompts, sizeof prompts, "%s/prompts.jsonl", dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    hs_error err = {0};
    hs_random_model_spec spec = {.n_layers = 2, .d_model = 32, .n_heads = 4, .n_ctx = 128, .d_vocab = 257,
                                 .init_std = 0.2f, .seed = 7};
    CHECK_OK(hs_random_model_write(model, &spec, &err), &err);
    CHECK(write_file(prompts, prompts_text) == 0);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --dtype f32 --record pattern,z,resid_post,q",
             model, prompts, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    sqlite3 *d = open_db(db);
    CHECK(d);
    CHECK(check_store_by_sql(d, 3) == TEST_PASS);
    CHECK(check_equals_hook(d, model, NULL) == TEST_PASS);
    CHECK(query_int(d, "SELECT count(*) FROM runs WHERE architecture = 'gpt2' AND options LIKE '%attn.hook_q%'") == 1);
    sqlite3_close(d);
    /* a selection: layer 1, heads 0 and 3, the last position, float16 */
    snprintf(db, sizeof db, "%s/sel.db", dir);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --record z,resid_post --layers 1 --heads 0,3 "
             "--positions -1", model, prompts, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    d = open_db(db);
    CHECK(d);
    CHECK(query_int(d, "SELECT count(*) FROM activations WHERE layer != 1") == 0);
    CHECK(query_int(d, "SELECT count(*) FROM activations WHERE hook = 'attn.hook_z' AND head NOT IN (0, 3)") == 0);
    CHECK(query_int(d, "SELECT count(*) FROM activations WHERE hook = 'attn.hook_z'") == 3 * 2);
    CHECK(query_int(d, "SELECT count(*) FROM activations a JOIN prompts p ON a.prompt_id = p.id "
                       "WHERE a.positions = '[' || (p.n_tokens - 1) || ']' AND a.dtype = 'f16' "
                       "AND tensor_shape(a.data) = (CASE a.hook WHEN 'attn.hook_z' THEN '[1,8]' ELSE '[1,32]' END)") == 3 * 3);
    sqlite3_close(d);
    return TEST_PASS;
}

/* A prompt set big enough that a run can be killed in the middle. */
static int write_many_prompts(const char *path, int n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < n; i++)
        fprintf(f, "{\"id\": %d, \"text\": \"Once upon a time, prompt number %d went to the park and saw a big dog.\"}\n",
                i, i);
    return fclose(f);
}

int test_run_resume_after_kill9(void)
{
    const char *shared = test_shared_path("models/stories260K/stories260K.bin");
    if (!shared)
        return TEST_SKIP;
    char model[4096], dir[256], prompts[512], db[512], args[16384], out[65536];
    snprintf(model, sizeof model, "%s", shared);
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(prompts, sizeof prompts, "%s/many.jsonl", dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    const int N = 400;
    CHECK(write_many_prompts(prompts, N) == 0);
    int killed_partway = 0;
    for (int attempt = 0; attempt < 5 && !killed_partway; attempt++) {
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1), dup2(devnull, 2);
            execl(test_headscope_program(), "headscope", "run", "--model", model, "--prompts", prompts, "--db", db,
                  "--quiet", (char *)NULL);
            _exit(127);
        }
        /* wait until some prompts are committed, then kill -9 at an arbitrary moment */
        long long done = 0;
        for (int i = 0; i < 400 && done < 20 + 30 * attempt; i++) {
            usleep(20000);
            sqlite3 *d = NULL;
            if (sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
                sqlite3_busy_timeout(d, 1000);
                done = query_int(d, "SELECT count(*) FROM prompts");
            }
            sqlite3_close(d);
        }
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        sqlite3 *d = open_db(db);
        CHECK(d);
        long long have = query_int(d, "SELECT count(*) FROM prompts");
        sqlite3_close(d);
        killed_partway = WIFSIGNALED(st) && have > 0 && have < N;
    }
    CHECK_MSG(killed_partway, "could not kill the run part-way through");
    sqlite3 *d = open_db(db);
    CHECK(d);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(d, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
    sqlite3_finalize(st);
    long long before = query_int(d, "SELECT count(*) FROM prompts");
    /* every recorded prompt is complete: 5 layers x 8 heads x (pattern, z) + 5 resid_post */
    CHECK(query_int(d, "SELECT count(*) FROM prompts p WHERE (SELECT count(*) FROM activations a WHERE a.prompt_id = p.id) != 85") == 0);
    sqlite3_close(d);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s", model, prompts, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "resumed"), "%s", out);
    d = open_db(db);
    CHECK(d);
    CHECK(query_int(d, "SELECT count(*) FROM prompts") == N);
    CHECK(query_int(d, "SELECT count(DISTINCT idx) FROM prompts") == N);
    CHECK(query_int(d, "SELECT min(idx) = 0 AND max(idx) = 399 FROM prompts") == 1);
    CHECK(query_int(d, "SELECT count(*) FROM runs") == 1);
    CHECK(query_int(d, "SELECT count(*) FROM activations") == 85LL * N);
    CHECK(query_int(d, "SELECT count(*) FROM head_scores") == 3LL * 40 * N);
    sqlite3_close(d);
    fprintf(stderr, "kill -9 after %lld of %d prompts; resumed to %d\n", before, N, N);
    return TEST_PASS;
}

/* Disk full at many points of a run (the fault VFS fails the n-th write and every later one): each
 * failure is a clear message, the database stays valid, and the same command finishes the job. */
int test_run_disk_full_then_resume(void)
{
    const char *shared = test_shared_path("models/stories260K/stories260K.bin");
    if (!shared)
        return TEST_SKIP;
    char model[4096], dir[256], prompts[512], db[512], args[16384], out[65536];
    snprintf(model, sizeof model, "%s", shared);
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(prompts, sizeof prompts, "%s/many.jsonl", dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    CHECK(write_many_prompts(prompts, 30) == 0);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s", model, prompts, db);
    static const int fault_at[] = {5, 30, 45, 70, 120, 200, 400, 800};
    int mid_run_failures = 0;
    long long last = 0;
    for (size_t k = 0; k < sizeof fault_at / sizeof fault_at[0]; k++) {
        char fargs[16500];
        snprintf(fargs, sizeof fargs, "env HS_TEST_FAULT_WRITES=%d %s %s 2>&1", fault_at[k], test_headscope_program(),
                 args);
        FILE *p = popen(fargs, "r");
        CHECK(p);
        size_t n = fread(out, 1, sizeof out - 1, p);
        out[n] = '\0';
        int st = pclose(p);
        CHECK(WIFEXITED(st));
        if (WEXITSTATUS(st) == 0)
            break; /* the fault came after the last prompt (e.g. at close): nothing to check */
        CHECK_MSG(WEXITSTATUS(st) == 1, "%s", out);
        CHECK_MSG(strstr(out, "disk full") && strstr(out, "run.db") && strstr(out, "run the same command"), "%s", out);
        sqlite3 *d = open_db(db);
        CHECK(d);
        sqlite3_stmt *ic;
        CHECK(sqlite3_prepare_v2(d, "PRAGMA integrity_check", -1, &ic, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(ic) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(ic, 0), "ok") == 0);
        sqlite3_finalize(ic);
        /* a fault while the schema was being created leaves a valid database without one */
        long long have = query_int(d, "SELECT count(*) FROM sqlite_master WHERE name = 'prompts'") == 1
                             ? query_int(d, "SELECT count(*) FROM prompts")
                             : 0;
        if (have > 0) {
            CHECK(query_int(d, "SELECT count(*) FROM prompts p WHERE (SELECT count(*) FROM activations a "
                               "WHERE a.prompt_id = p.id) != 85") == 0);
            CHECK(have >= last && have < 30);
            mid_run_failures += have > last;
            last = have;
        }
        sqlite3_close(d);
    }
    CHECK_MSG(mid_run_failures > 0, "no fault landed while prompts were being recorded");
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    sqlite3 *d = open_db(db);
    CHECK(d);
    CHECK(query_int(d, "SELECT count(*) FROM prompts") == 30);
    CHECK(query_int(d, "SELECT count(*) FROM activations") == 85 * 30);
    CHECK(query_int(d, "SELECT count(*) FROM runs") == 1);
    sqlite3_close(d);
    return TEST_PASS;
}

int test_run_bad_input(void)
{
    char dir[256], prompts[512], db[512], args[16384], out[65536], model[512];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(model, sizeof model, "%s/model", dir);
    hs_error err = {0};
    hs_random_model_spec spec = {.n_layers = 1, .d_model = 16, .n_heads = 2, .n_ctx = 16, .d_vocab = 257,
                                 .init_std = 0.2f, .seed = 3};
    CHECK_OK(hs_random_model_write(model, &spec, &err), &err);
    snprintf(prompts, sizeof prompts, "%s/bad.jsonl", dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    struct { const char *jsonl, *expect; } cases[] = {
        {"{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": \"broken\"\n", "bad.jsonl:3:"},
        {"{\"text\": \"ok\"}\n[1, 2]\n", "bad.jsonl:2: expected a JSON object"},
        {"{\"txt\": \"typo\"}\n", "bad.jsonl:1: unknown field \"txt\""},
        {"{\"text\": 5}\n", "bad.jsonl:1: field \"text\" must be a string"},
        {"{\"id\": 1}\n", "bad.jsonl:1: field \"text\" (or \"clean\") is missing"},
        {"", "no prompts"},
        {"{\"text\": \"ok\"}\n{\"text\": \"this prompt is longer than sixteen bytes\"}\n",
         "bad.jsonl:2: the prompt has 40 tokens, more than the model's context (16)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(write_file(prompts, cases[i].jsonl) == 0);
        snprintf(args, sizeof args, "run --model %s --prompts %s --db %s", model, prompts, db);
        CHECK(test_run_headscope(args, out, sizeof out) == 1);
        CHECK_MSG(strstr(out, cases[i].expect), "case %zu: expected '%s' in: %s", i, cases[i].expect, out);
        struct stat sb;
        CHECK_MSG(stat(db, &sb) != 0, "case %zu: a database was written for a prompt set that does not parse", i);
    }
    /* a database from the future is refused and left alone */
    CHECK(write_file(prompts, "{\"text\": \"ok\"}\n") == 0);
    sqlite3 *d;
    CHECK(sqlite3_open(db, &d) == SQLITE_OK);
    CHECK(sqlite3_exec(d, "CREATE TABLE runs(x); PRAGMA user_version = 99;", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(d);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s", model, prompts, db);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "run.db") && strstr(out, "newer headscope"), "%s", out);
    /* bad options */
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --record patern", model, prompts, db);
    CHECK(test_run_headscope(args, out, sizeof out) == 2);
    CHECK_MSG(strstr(out, "unknown hook 'patern'"), "%s", out);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --layers 3-1", model, prompts, db);
    CHECK(test_run_headscope(args, out, sizeof out) == 2);
    CHECK_MSG(strstr(out, "--layers"), "%s", out);
    return TEST_PASS;
}
