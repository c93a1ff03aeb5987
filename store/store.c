/* store.c — the SQLite activation store: one connection per hs_store, tuned for one writer and
 * many readers (WAL), with every statement prepared once and re-bound per row.
 *
 * Workload: a recorder writes, per prompt, one transaction of a prompt row, tens to thousands of
 * token rows and hundreds to thousands of activation BLOBs (kilobytes to megabytes each), while
 * analyses and `sqlite3 run.db` may read concurrently. Inserts dominate; so statements are cached
 * in the handle and the BLOB encoding buffer is reused from row to row. */
#include "store/store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/tensor_blob.h"
#include "store/schema.h"
#include "store/sqlext.h"

/* How long a statement waits for another connection's lock before failing with "database is
 * locked". The connection is public (hs_store_db), so a caller that wants another bound sets it
 * with sqlite3_busy_timeout(hs_store_db(s), ms); error messages read the value then in force. */
#define HS_STORE_BUSY_TIMEOUT_MS 5000

/* The cached statements, prepared on first use. */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_FIND_RUN,
    ST_INSERT_MODEL,
    ST_FIND_MODEL,
    ST_INSERT_RUN,
    ST_FINISH_RUN,
    ST_FIND_PROMPT,
    ST_INSERT_PROMPT,
    ST_INSERT_TOKEN,
    ST_INSERT_ACTIVATION,
    ST_INSERT_HEAD_SCORE,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_FIND_RUN] = "SELECT id, finished_at IS NOT NULL FROM runs WHERE model_sha256 = ?1 AND prompts_sha256 = ?2 "
                    "AND options = ?3 AND dtype = ?4 AND backend = ?5 ORDER BY id DESC LIMIT 1",
    [ST_INSERT_MODEL] = "INSERT OR IGNORE INTO models (path, sha256, architecture, n_layers, n_heads, n_kv_heads, "
                        "d_model, d_head, d_mlp, d_vocab, n_ctx, dtype) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [ST_FIND_MODEL] = "SELECT id FROM models WHERE path = ?1 AND sha256 = ?2",
    [ST_INSERT_RUN] = "INSERT INTO runs (model_id, model_path, model_sha256, architecture, tool_version, options, "
                      "dtype, backend, prompts_path, prompts_sha256, started_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
    [ST_FINISH_RUN] = "UPDATE runs SET finished_at = coalesce(finished_at, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) "
                      "WHERE id = ?1",
    [ST_FIND_PROMPT] = "SELECT 1 FROM prompts WHERE run_id = ?1 AND idx = ?2",
    [ST_INSERT_PROMPT] = "INSERT INTO prompts (run_id, idx, ext_id, text, meta, clean, corrupted, answer, wrong, image, "
                         "n_tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [ST_INSERT_TOKEN] = "INSERT INTO tokens (run_id, prompt_id, pos, token_id, text, is_image) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_INSERT_ACTIVATION] = "INSERT INTO activations (run_id, prompt_id, hook, layer, head, dtype, shape, positions, "
                             "data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_INSERT_HEAD_SCORE] = "INSERT INTO head_scores (run_id, analysis, metric, layer, head, prompt_id, value) "
                             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
};

/* A prompt put inside the open transaction: in the table for this connection, but not recorded
 * until the transaction commits. */
typedef struct pending_prompt {
    int64_t run_id;
    int idx;
} pending_prompt;

struct hs_store {
    sqlite3 *db;
    char *path;                      /* as the caller named it: every message starts with it */
    hs_store_mode mode;
    sqlite3_stmt *stmts[ST_COUNT];   /* NULL until first used */
    unsigned char *blob;             /* BLOB encoding buffer, reused; blob_cap bytes */
    size_t blob_cap;
    int in_begin;                    /* between hs_store_begin and commit/rollback */
    pending_prompt *pending;         /* prompts put since hs_store_begin; n_pending of cap_pending */
    size_t n_pending, cap_pending;
};

/* ---------------------------------------------------------------- errors */

static int busy_timeout_ms(sqlite3 *db)
{
    int ms = -1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA busy_timeout", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        ms = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return ms;
}

/* Records an SQLite failure `rc` of the step described by the printf-style `fmt`, as
 * "PATH: STEP: REASON", with the status the failure's kind calls for. */
static hs_status db_fail(hs_store *s, hs_error *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static hs_status db_fail(hs_store *s, hs_error *err, int rc, const char *fmt, ...)
{
    char what[200], detail[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* Copy SQLite's message before anything else runs on the connection and replaces it. */
    snprintf(detail, sizeof detail, "%s", s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    int sys = s->db ? sqlite3_system_errno(s->db) : 0;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return hs_fail(err, HS_ERR_IO,
                       "%s: %s: database is locked (another connection is writing and held its lock past the "
                       "%d ms busy timeout)",
                       s->path, what, busy_timeout_ms(s->db));
    case SQLITE_FULL:
        return hs_fail(err, HS_ERR_IO, "%s: %s: disk full (%s)", s->path, what, detail);
    case SQLITE_NOMEM:
        return hs_fail(err, HS_ERR_NOMEM, "%s: %s: out of memory", s->path, what);
    case SQLITE_NOTADB:
        return hs_fail(err, HS_ERR_FORMAT, "%s: %s: not an SQLite database (%s)", s->path, what, detail);
    case SQLITE_CORRUPT:
        return hs_fail(err, HS_ERR_FORMAT, "%s: %s: the database is corrupt (%s)", s->path, what, detail);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
        return hs_fail(err, HS_ERR_ARG, "%s: %s: %s", s->path, what, detail);
    case SQLITE_TOOBIG:
        return hs_fail(err, HS_ERR_RANGE, "%s: %s: %s", s->path, what, detail);
    case SQLITE_READONLY:
        return hs_fail(err, HS_ERR_IO, "%s: %s: the database is read-only (%s)", s->path, what, detail);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM:
        if (sys)
            return hs_fail(err, HS_ERR_IO, "%s: %s: %s (%s)", s->path, what, detail, strerror(sys));
        return hs_fail(err, HS_ERR_IO, "%s: %s: %s", s->path, what, detail);
    default:
        return hs_fail(err, HS_ERR_IO, "%s: %s: %s", s->path, what, detail);
    }
}

/* ---------------------------------------------------------------- statements */

static int stmt_get(hs_store *s, int id, sqlite3_stmt **out)
{
    if (!s->stmts[id]) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    *out = s->stmts[id];
    return SQLITE_OK;
}

/* Steps a statement that returns no row (or whose row is not wanted) and readies it for reuse. */
static int stmt_exec(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return SQLITE_OK;
}

/* Binds text, NULL for a NULL pointer. The string must outlive the statement's step. */
static int bind_text(sqlite3_stmt *st, int i, const char *text)
{
    return text ? sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Binds an integer, NULL for a value below zero (layer/head/prompt -1). */
static int bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
    return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
}

static int in_transaction(const hs_store *s)
{
    return !sqlite3_get_autocommit(s->db);
}

/* Forgets the caller's transaction (after its commit or rollback). */
static void begin_clear(hs_store *s)
{
    s->in_begin = 0;
    s->n_pending = 0;
}

/* ---------------------------------------------------------------- open and close */

static hs_status set_connection_options(hs_store *s, hs_error *err)
{
    int rc;
    if (s->mode == HS_STORE_CREATE) {
        /* Large pages for a database that is mostly tensor BLOBs of tens of KB: fewer overflow pages
         * to chain, write and checksum per BLOB. Takes effect only on a new, empty file. */
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA page_size = %d", HS_STORE_PAGE_SIZE);
        rc = sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return db_fail(s, err, rc, "setting the page size");
        /* WAL: the writer appends to the log while readers keep their snapshot, and a commit is one
         * append, so a killed run leaves whole prompts. The mode is persistent in the file, but
         * asking costs nothing and checking the answer catches file systems without shared memory. */
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                const char *mode = (const char *)sqlite3_column_text(st, 0);
                if (!mode || strcmp(mode, "wal") != 0) {
                    hs_status status = hs_fail(err, HS_ERR_IO,
                                               "%s: could not switch to the WAL journal (the journal mode stays "
                                               "\"%s\"; the file system may lack shared-memory support)",
                                               s->path, mode ? mode : "?");
                    sqlite3_finalize(st);
                    return status;
                }
                rc = SQLITE_OK;
            }
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_OK)
            return db_fail(s, err, rc, "switching to the WAL journal");
        /* NORMAL under WAL: a commit is durable against a process crash, and the database stays
         * consistent across a power loss (the last commits may be lost), at a fraction of FULL's
         * fsyncs. */
        rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return db_fail(s, err, rc, "setting synchronous = NORMAL");
    }
    rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, err, rc, "enabling foreign keys");
    return HS_OK;
}

/* Creates or upgrades the schema in one write transaction. The version is judged again inside it:
 * another process may have created the schema between our first look and our lock. */
static hs_status migrate(hs_store *s, hs_error *err)
{
    int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(s, err, rc, "starting the schema transaction");
    hs_status status = HS_OK;
    hs_schema_info info;
    int needs = 0;
    const char *what = "reading the schema";
    rc = hs_schema_inspect(s->db, &info);
    if (rc != SQLITE_OK)
        goto db_error;
    status = hs_schema_judge(&info, s->path, 1, &needs, err);
    if (status != HS_OK || !needs)
        goto done;
    rc = hs_schema_migrate(s->db, info.version, &what);
    if (rc != SQLITE_OK)
        goto db_error;
    rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    what = "committing the schema";
    if (rc != SQLITE_OK)
        goto db_error;
    return HS_OK;

db_error:
    status = db_fail(s, err, rc, "%s", what);
done:
    if (in_transaction(s))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

/* SQLite reports a file it could not create with the errno of its last attempt (a read-only
 * open, after the read-write one failed): "No such file" for a directory that refused it. Say
 * what is wrong with the directory instead. */
static hs_status cantopen_fail(hs_store *s, hs_error *err, int rc)
{
    struct stat st;
    if (stat(s->path, &st) != 0 && errno == ENOENT) {
        char dir[4096];
        const char *slash = strrchr(s->path, '/');
        if (!slash)
            snprintf(dir, sizeof dir, ".");
        else if (slash == s->path)
            snprintf(dir, sizeof dir, "/");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - s->path), s->path);
        if (access(dir, W_OK | X_OK) != 0)
            return hs_fail(err, HS_ERR_IO, "%s: cannot create the database: directory %s: %s", s->path, dir,
                           strerror(errno));
    }
    return db_fail(s, err, rc, "cannot create or open the database");
}

hs_status hs_store_open(const char *path, hs_store_mode mode, const char *vfs, hs_store **out, hs_error *err)
{
    if (out)
        *out = NULL;
    if (!path || !out || (mode != HS_STORE_CREATE && mode != HS_STORE_READONLY))
        return hs_fail(err, HS_ERR_ARG, "hs_store_open: %s", !path ? "no path" : !out ? "no out" : "bad mode");
    hs_status status = HS_OK;
    hs_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        status = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory opening the store", path);
        goto fail;
    }
    s->mode = mode;

    int flags = mode == HS_STORE_CREATE ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    int rc = sqlite3_open_v2(path, &s->db, flags, vfs);
    if (rc != SQLITE_OK) {
        if (!s->db)
            status = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory opening the store", path);
        else if ((rc & 0xff) == SQLITE_CANTOPEN && mode == HS_STORE_CREATE)
            status = cantopen_fail(s, err, rc);
        else
            status = db_fail(s, err, rc, "cannot open the database");
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, HS_STORE_BUSY_TIMEOUT_MS);
    /* SQLite quietly falls back to read-only when a file is not writable; a store opened to record
     * must say so now, not at the first insert. */
    if (mode == HS_STORE_CREATE && sqlite3_db_readonly(s->db, "main") == 1) {
        status = hs_fail(err, HS_ERR_IO,
                         "%s: the file is read-only (check its permissions); it can be opened read-only to "
                         "query it, not to record into it",
                         path);
        goto fail;
    }

    /* Look before touching anything: a file that is not ours must be left byte for byte as it was,
     * and switching to WAL would rewrite its header. */
    hs_schema_info info;
    rc = hs_schema_inspect(s->db, &info);
    if (rc != SQLITE_OK) {
        status = db_fail(s, err, rc, "reading the database");
        goto fail;
    }
    int needs_migration = 0;
    status = hs_schema_judge(&info, path, mode == HS_STORE_CREATE, &needs_migration, err);
    if (status != HS_OK)
        goto fail;
    status = set_connection_options(s, err);
    if (status != HS_OK)
        goto fail;
    if (needs_migration) {
        status = migrate(s, err);
        if (status != HS_OK)
            goto fail;
    }
    rc = hs_sqlext_register(s->db);
    if (rc != SQLITE_OK) {
        status = db_fail(s, err, rc, "registering the SQL tensor functions");
        goto fail;
    }
    *out = s;
    return HS_OK;

fail:
    hs_store_close(s);
    return status;
}

void hs_store_close(hs_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    if (s->db) {
        if (in_transaction(s))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close_v2(s->db);
    }
    free(s->blob);
    free(s->pending);
    free(s->path);
    free(s);
}

sqlite3 *hs_store_db(hs_store *s)
{
    return s ? s->db : NULL;
}

/* ---------------------------------------------------------------- transactions */

/* Every write goes through write_enter/write_leave: inside the caller's transaction it just joins
 * it; outside one it makes its own BEGIN IMMEDIATE ... COMMIT, so that the write lock is taken up
 * front, where the busy timeout applies, rather than by upgrading a read snapshot midway. */
static hs_status write_enter(hs_store *s, const char *what, int *own, hs_error *err)
{
    *own = 0;
    if (s->mode == HS_STORE_READONLY)
        return hs_fail(err, HS_ERR_ARG, "%s: %s: the store was opened read-only", s->path, what);
    if (in_transaction(s))
        return HS_OK;
    /* SQLite rolls a transaction back by itself after some errors (a full disk, an I/O error).
     * Writing on would commit the rest of the prompt on its own: refuse until the caller has
     * acknowledged the failure with hs_store_rollback. */
    if (s->in_begin)
        return hs_fail(err, HS_ERR_IO,
                       "%s: %s: the transaction was rolled back after an earlier error (call hs_store_rollback "
                       "and record the prompt again)",
                       s->path, what);
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_BEGIN, &st);
    if (rc == SQLITE_OK)
        rc = stmt_exec(st);
    if (rc != SQLITE_OK)
        return db_fail(s, err, rc, "%s: starting a transaction", what);
    *own = 1;
    return HS_OK;
}

/* Ends what write_enter began: commits an own transaction after success, rolls it back after a
 * failure (status), and passes status on. */
static hs_status write_leave(hs_store *s, int own, hs_status status, const char *what, hs_error *err)
{
    if (!own)
        return status;
    sqlite3_stmt *st;
    if (status == HS_OK) {
        int rc = stmt_get(s, ST_COMMIT, &st);
        if (rc == SQLITE_OK)
            rc = stmt_exec(st);
        if (rc == SQLITE_OK)
            return HS_OK;
        status = db_fail(s, err, rc, "%s: committing", what);
    }
    if (in_transaction(s) && stmt_get(s, ST_ROLLBACK, &st) == SQLITE_OK)
        stmt_exec(st);
    return status;
}

hs_status hs_store_begin(hs_store *s, hs_error *err)
{
    if (!s)
        return hs_fail(err, HS_ERR_ARG, "hs_store_begin: no store");
    if (in_transaction(s))
        return hs_fail(err, HS_ERR_ARG, "%s: a transaction is already open", s->path);
    begin_clear(s); /* a transaction that SQLite ended after an error and nobody rolled back */
    int own;
    HS_TRY(write_enter(s, "starting a prompt's transaction", &own, err));
    s->in_begin = 1;
    return HS_OK;
}

hs_status hs_store_commit(hs_store *s, hs_error *err)
{
    if (!s)
        return hs_fail(err, HS_ERR_ARG, "hs_store_commit: no store");
    if (!in_transaction(s)) {
        int was_open = s->in_begin;
        begin_clear(s);
        if (was_open)
            return hs_fail(err, HS_ERR_IO, "%s: committing the prompt: the transaction was rolled back after an "
                                           "earlier error; nothing of the prompt was recorded", s->path);
        return hs_fail(err, HS_ERR_ARG, "%s: commit without hs_store_begin", s->path);
    }
    /* A failed COMMIT may leave the transaction open (or SQLite may have rolled it back already):
     * write_leave rolls back whatever remains, so a failed commit leaves nothing of the prompt. */
    hs_status status = write_leave(s, 1, HS_OK, "committing the prompt", err);
    begin_clear(s);
    return status;
}

void hs_store_rollback(hs_store *s)
{
    if (!s || !s->db)
        return;
    sqlite3_stmt *st;
    if (in_transaction(s) && stmt_get(s, ST_ROLLBACK, &st) == SQLITE_OK)
        stmt_exec(st);
    begin_clear(s);
}

/* ---------------------------------------------------------------- runs */

hs_status hs_store_run_find(hs_store *s, const hs_run_desc *d, int64_t *run_id, hs_run_state *state, hs_error *err)
{
    if (!s || !d || !run_id || !state || !d->model_sha256 || !d->prompts_sha256 || !d->options_json || !d->dtype ||
        !d->backend)
        return hs_fail(err, HS_ERR_ARG, "hs_store_run_find: missing argument");
    *run_id = -1;
    *state = HS_RUN_NEW;
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_FIND_RUN, &st);
    if (rc != SQLITE_OK)
        return db_fail(s, err, rc, "looking for the run");
    sqlite3_bind_text(st, 1, d->model_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->prompts_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->options_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->dtype, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->backend, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(st, 0);
        *state = sqlite3_column_int(st, 1) ? HS_RUN_COMPLETE : HS_RUN_RESUMED;
    }
    stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(s, err, rc, "looking for the run");
    return HS_OK;
}

hs_status hs_store_run_open(hs_store *s, const hs_run_desc *d, int64_t *run_id, hs_run_state *state, hs_error *err)
{
    if (!s || !d || !run_id || !state)
        return hs_fail(err, HS_ERR_ARG, "hs_store_run_open: missing argument");
    const char *lacking = !d->model_path ? "model_path" : !d->model_sha256 ? "model_sha256"
                        : !d->options_json ? "options_json" : !d->dtype ? "dtype"
                        : !d->backend ? "backend" : !d->prompts_sha256 ? "prompts_sha256" : NULL;
    if (lacking)
        return hs_fail(err, HS_ERR_ARG, "%s: opening a run: the run description has no %s", s->path, lacking);
    const char *what = "opening the run";
    int own;
    HS_TRY(write_enter(s, what, &own, err));

    hs_status status = HS_OK;
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_FIND_RUN, &st);
    if (rc != SQLITE_OK)
        goto db_error;
    sqlite3_bind_text(st, 1, d->model_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->prompts_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->options_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->dtype, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->backend, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(st, 0);
        *state = sqlite3_column_int(st, 1) ? HS_RUN_COMPLETE : HS_RUN_RESUMED;
        stmt_done(st);
        return write_leave(s, own, HS_OK, what, err);
    }
    stmt_done(st);
    if (rc != SQLITE_DONE)
        goto db_error;

    what = "recording the model";
    if ((rc = stmt_get(s, ST_INSERT_MODEL, &st)) != SQLITE_OK)
        goto db_error;
    const int dims[8] = {d->n_layers, d->n_heads, d->n_kv_heads, d->d_model, d->d_head,
                         d->d_mlp, d->d_vocab, d->n_ctx};
    bind_text(st, 1, d->model_path);
    bind_text(st, 2, d->model_sha256);
    bind_text(st, 3, d->architecture);
    for (int i = 0; i < 8; i++)
        sqlite3_bind_int(st, 4 + i, dims[i]);
    bind_text(st, 12, d->model_dtype);
    if ((rc = stmt_exec(st)) != SQLITE_OK)
        goto db_error;
    if ((rc = stmt_get(s, ST_FIND_MODEL, &st)) != SQLITE_OK)
        goto db_error;
    bind_text(st, 1, d->model_path);
    bind_text(st, 2, d->model_sha256);
    rc = sqlite3_step(st);
    int64_t model_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    stmt_done(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            rc = SQLITE_INTERNAL;
        goto db_error;
    }

    what = "recording the run";
    if ((rc = stmt_get(s, ST_INSERT_RUN, &st)) != SQLITE_OK)
        goto db_error;
    sqlite3_bind_int64(st, 1, model_id);
    bind_text(st, 2, d->model_path);
    bind_text(st, 3, d->model_sha256);
    bind_text(st, 4, d->architecture);
    bind_text(st, 5, d->tool_version);
    bind_text(st, 6, d->options_json);
    bind_text(st, 7, d->dtype);
    bind_text(st, 8, d->backend);
    bind_text(st, 9, d->prompts_path);
    bind_text(st, 10, d->prompts_sha256);
    if ((rc = stmt_exec(st)) != SQLITE_OK)
        goto db_error;
    *run_id = sqlite3_last_insert_rowid(s->db);
    *state = HS_RUN_NEW;
    return write_leave(s, own, HS_OK, what, err);

db_error:
    status = db_fail(s, err, rc, "%s", what);
    return write_leave(s, own, status, what, err);
}

hs_status hs_store_run_finish(hs_store *s, int64_t run_id, hs_error *err)
{
    if (!s)
        return hs_fail(err, HS_ERR_ARG, "hs_store_run_finish: no store");
    const char *what = "finishing the run";
    int own;
    HS_TRY(write_enter(s, what, &own, err));
    hs_status status = HS_OK;
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_FINISH_RUN, &st);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        rc = stmt_exec(st);
    }
    if (rc != SQLITE_OK)
        status = db_fail(s, err, rc, "%s", what);
    else if (sqlite3_changes(s->db) != 1)
        status = hs_fail(err, HS_ERR_MISSING, "%s: %s: there is no run %lld", s->path, what, (long long)run_id);
    return write_leave(s, own, status, what, err);
}

hs_status hs_store_prompt_recorded(hs_store *s, int64_t run_id, int idx, int *done, hs_error *err)
{
    if (!s || !done)
        return hs_fail(err, HS_ERR_ARG, "hs_store_prompt_recorded: missing argument");
    *done = 0;
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_FIND_PROMPT, &st);
    if (rc != SQLITE_OK)
        return db_fail(s, err, rc, "looking up prompt %d", idx);
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, idx);
    rc = sqlite3_step(st);
    stmt_done(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(s, err, rc, "looking up prompt %d", idx);
    int found = rc == SQLITE_ROW;
    /* This connection sees its own uncommitted rows; those are not recorded yet. */
    for (size_t i = 0; found && s->in_begin && i < s->n_pending; i++)
        if (s->pending[i].run_id == run_id && s->pending[i].idx == idx)
            found = 0;
    *done = found;
    return HS_OK;
}

/* ---------------------------------------------------------------- rows */

hs_status hs_store_put_prompt(hs_store *s, int64_t run_id, const hs_prompt_row *p, int64_t *prompt_id,
                              hs_error *err)
{
    if (!s || !p)
        return hs_fail(err, HS_ERR_ARG, "hs_store_put_prompt: missing argument");
    const char *what = "recording a prompt";
    int own;
    HS_TRY(write_enter(s, what, &own, err));
    hs_status status = HS_OK;
    if (s->in_begin && s->n_pending == s->cap_pending) {
        size_t cap = s->cap_pending ? 2 * s->cap_pending : 16;
        pending_prompt *np = realloc(s->pending, cap * sizeof *np);
        if (!np)
            return hs_fail(err, HS_ERR_NOMEM, "%s: recording prompt %d: out of memory", s->path, p->idx);
        s->pending = np;
        s->cap_pending = cap;
    }
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_INSERT_PROMPT, &st);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int(st, 2, p->idx);
        bind_text(st, 3, p->ext_id);
        bind_text(st, 4, p->text);
        bind_text(st, 5, p->meta_json);
        bind_text(st, 6, p->clean);
        bind_text(st, 7, p->corrupted);
        bind_text(st, 8, p->answer);
        bind_text(st, 9, p->wrong);
        bind_text(st, 10, p->image);
        sqlite3_bind_int(st, 11, p->n_tokens);
        rc = stmt_exec(st);
    }
    if (rc != SQLITE_OK) {
        status = db_fail(s, err, rc, "recording prompt %d", p->idx);
    } else {
        if (prompt_id)
            *prompt_id = sqlite3_last_insert_rowid(s->db);
        if (s->in_begin)
            s->pending[s->n_pending++] = (pending_prompt){run_id, p->idx};
    }
    return write_leave(s, own, status, what, err);
}

hs_status hs_store_put_token(hs_store *s, int64_t run_id, int64_t prompt_id, int pos, int32_t token_id,
                             const char *text, int is_image, hs_error *err)
{
    if (!s)
        return hs_fail(err, HS_ERR_ARG, "hs_store_put_token: no store");
    const char *what = "recording a token";
    int own;
    HS_TRY(write_enter(s, what, &own, err));
    hs_status status = HS_OK;
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_INSERT_TOKEN, &st);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, prompt_id);
        sqlite3_bind_int(st, 3, pos);
        sqlite3_bind_int(st, 4, token_id);
        bind_text(st, 5, text);
        sqlite3_bind_int(st, 6, is_image ? 1 : 0);
        rc = stmt_exec(st);
    }
    if (rc != SQLITE_OK)
        status = db_fail(s, err, rc, "recording token %d of prompt row %lld", pos, (long long)prompt_id);
    return write_leave(s, own, status, what, err);
}

static const char *store_dtype_name(hs_dtype dt)
{
    switch (dt) {
    case HS_DTYPE_F32: return "f32";
    case HS_DTYPE_F16: return "f16";
    case HS_DTYPE_BF16: return "bf16";
    default: return NULL;
    }
}

hs_status hs_store_put_activation(hs_store *s, int64_t run_id, int64_t prompt_id, const char *hook, int layer,
                                  int head, const char *positions_json, hs_dtype dtype, int ndim,
                                  const int64_t *shape, const float *values, hs_error *err)
{
    if (!s || !hook || !shape || !values)
        return hs_fail(err, HS_ERR_ARG, "hs_store_put_activation: missing argument");
    const char *dtname = store_dtype_name(dtype);
    if (!dtname)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: recording %s: activations are stored as f32, f16 or bf16, not %s",
                       s->path, hook, hs_dtype_name(dtype));
    if (layer < -1 || head < -1)
        return hs_fail(err, HS_ERR_RANGE, "%s: recording %s: layer %d, head %d (-1 means none)", s->path, hook, layer,
                       head);
    if (ndim < 1 || ndim > HS_MAX_DIMS)
        return hs_fail(err, HS_ERR_SHAPE, "%s: recording %s: %d dimensions (1 to %d can be stored)", s->path, hook,
                       ndim, HS_MAX_DIMS);
    /* The shape as JSON, "[64,64]": at most 5 dimensions of at most 20 digits. */
    char shape_json[HS_MAX_DIMS * 21 + 3];
    size_t n = 0;
    shape_json[n++] = '[';
    for (int i = 0; i < ndim; i++)
        n += (size_t)snprintf(shape_json + n, sizeof shape_json - n, "%s%lld", i ? "," : "", (long long)shape[i]);
    snprintf(shape_json + n, sizeof shape_json - n, "]");
    size_t size = hs_blob_size(dtype, ndim, shape);
    if (!size)
        return hs_fail(err, HS_ERR_SHAPE, "%s: recording %s: shape %s cannot be stored (negative or too large)",
                       s->path, hook, shape_json);
    if (size > s->blob_cap) {
        unsigned char *nb = realloc(s->blob, size);
        if (!nb)
            return hs_fail(err, HS_ERR_NOMEM, "%s: recording %s: out of memory for a %zu-byte tensor", s->path, hook,
                           size);
        s->blob = nb;
        s->blob_cap = size;
    }
    hs_blob_encode(s->blob, dtype, ndim, shape, values);

    const char *what = "recording an activation";
    int own;
    HS_TRY(write_enter(s, what, &own, err));
    hs_status status = HS_OK;
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_INSERT_ACTIVATION, &st);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, prompt_id);
        sqlite3_bind_text(st, 3, hook, -1, SQLITE_STATIC);
        bind_opt_int(st, 4, layer);
        bind_opt_int(st, 5, head);
        sqlite3_bind_text(st, 6, dtname, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, shape_json, -1, SQLITE_STATIC);
        bind_text(st, 8, positions_json);
        sqlite3_bind_blob64(st, 9, s->blob, size, SQLITE_STATIC);
        rc = stmt_exec(st);
    }
    if (rc != SQLITE_OK)
        status = db_fail(s, err, rc, "recording %s layer %d head %d of prompt row %lld", hook, layer, head,
                         (long long)prompt_id);
    return write_leave(s, own, status, what, err);
}

hs_status hs_store_put_head_score(hs_store *s, int64_t run_id, const char *analysis, const char *metric, int layer,
                                  int head, int64_t prompt_id, double value, hs_error *err)
{
    if (!s || !analysis || !metric)
        return hs_fail(err, HS_ERR_ARG, "hs_store_put_head_score: missing argument");
    const char *what = "recording a head score";
    int own;
    HS_TRY(write_enter(s, what, &own, err));
    hs_status status = HS_OK;
    sqlite3_stmt *st;
    int rc = stmt_get(s, ST_INSERT_HEAD_SCORE, &st);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_text(st, 2, analysis, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
        bind_opt_int(st, 4, layer);
        bind_opt_int(st, 5, head);
        bind_opt_int(st, 6, prompt_id);
        sqlite3_bind_double(st, 7, value);
        rc = stmt_exec(st);
    }
    if (rc != SQLITE_OK)
        status = db_fail(s, err, rc, "recording %s.%s layer %d head %d", analysis, metric, layer, head);
    return write_leave(s, own, status, what, err);
}
