/* run_info.c — resolving an analysis's run and reading what the store says about its model. */
#include "analyses/common/run_info.h"

#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "model/model_hash.h"
#include "model/model.h"

const char *hs_store_path_of(hs_store *store)
{
    const char *p = sqlite3_db_filename(hs_store_db(store), "main");
    return p ? p : "";
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
    snprintf(dst, cap, "%s", src ? (const char *)src : "");
}

/* "runs 1, 2 and 5" (at most the last few), for messages. */
static void list_runs(sqlite3 *db, char *buf, size_t cap)
{
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT id FROM runs ORDER BY id DESC LIMIT 8", -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", n ? ", " : "", (long long)sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
}

hs_status hs_run_info_read(hs_store *store, int64_t run_id, hs_run_info *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    sqlite3 *db = hs_store_db(store);
    sqlite3_stmt *st = NULL;
    hs_status rc = HS_OK;
    const char *sql =
        "SELECT r.id, r.model_path, r.model_sha256, r.architecture, m.n_layers, m.n_heads, r.finished_at IS NOT NULL, "
        "(SELECT count(*) FROM prompts p WHERE p.run_id = r.id) "
        "FROM runs r JOIN models m ON m.id = r.model_id WHERE r.id = ?1 OR (?1 < 0 AND r.id = (SELECT max(id) FROM runs))";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return hs_fail(err, HS_ERR_IO, "%s: reading the runs: %s", hs_store_path_of(store), sqlite3_errmsg(db));
    sqlite3_bind_int64(st, 1, run_id);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        copy_text(out->model_path, sizeof out->model_path, sqlite3_column_text(st, 1));
        copy_text(out->model_sha256, sizeof out->model_sha256, sqlite3_column_text(st, 2));
        copy_text(out->architecture, sizeof out->architecture, sqlite3_column_text(st, 3));
        out->n_layers = sqlite3_column_int(st, 4);
        out->n_heads = sqlite3_column_int(st, 5);
        out->finished = sqlite3_column_int(st, 6);
        out->n_prompts = sqlite3_column_int(st, 7);
        if (out->n_layers < 1 || out->n_heads < 1)
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: run %lld: its model row has %d layers and %d heads",
                         hs_store_path_of(store), (long long)out->id, out->n_layers, out->n_heads);
    } else if (step == SQLITE_DONE) {
        char runs[200];
        list_runs(db, runs, sizeof runs);
        if (run_id < 0)
            rc = hs_fail(err, HS_ERR_MISSING, "%s: the store has no runs; record one with `headscope run`",
                         hs_store_path_of(store));
        else
            rc = hs_fail(err, HS_ERR_MISSING, "%s: there is no run %lld (the store has run%s %s)",
                         hs_store_path_of(store), (long long)run_id, strchr(runs, ',') ? "s" : "", runs);
    } else {
        rc = hs_fail(err, HS_ERR_IO, "%s: reading the runs: %s", hs_store_path_of(store), sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return rc;
}

hs_status hs_run_info_check_model(hs_store *store, const hs_run_info *r, const hs_model *m, hs_error *err)
{
    if (m->cfg.n_layers != r->n_layers || m->cfg.n_heads != r->n_heads)
        return hs_fail(err, HS_ERR_ARG,
                       "%s: run %lld was recorded with %s (%d layers, %d heads); the model %s has %d layers and %d heads",
                       hs_store_path_of(store), (long long)r->id, r->model_path, r->n_layers, r->n_heads, m->path,
                       m->cfg.n_layers, m->cfg.n_heads);
    char sha[65];
    HS_TRY(hs_model_sha256(m->path, sha, err));
    if (strcmp(sha, r->model_sha256) != 0)
        return hs_fail(err, HS_ERR_ARG,
                       "%s: run %lld was recorded with %s (sha256 %.12s...); the model %s is a different one "
                       "(sha256 %.12s...): its activations would not be the run's",
                       hs_store_path_of(store), (long long)r->id, r->model_path, r->model_sha256, m->path, sha);
    return HS_OK;
}
