/* score_table.c — gathering head_scores rows and replacing an analysis's rows atomically. */
#include "analyses/common/score_table.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/common/run_info.h"
#include "base/error.h"
#include "config.h"

typedef struct score_row {
    const char *metric;
    int32_t layer, head;
    int64_t prompt_id;
    double value;
} score_row;

struct hs_score_table {
    char *analysis;
    score_row *rows;
    size_t n, cap;
    char *options, *model_path, *model_sha256; /* provenance for analysis_runs, or NULL */
};

hs_status hs_score_table_new(const char *analysis, hs_score_table **out, hs_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out || !((*out)->analysis = strdup(analysis))) {
        free(*out);
        *out = NULL;
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    return HS_OK;
}

void hs_score_table_free(hs_score_table *t)
{
    if (!t)
        return;
    free(t->rows);
    free(t->analysis);
    free(t->options), free(t->model_path), free(t->model_sha256);
    free(t);
}

hs_status hs_score_table_set_provenance(hs_score_table *t, json_t *options, const char *model_path,
                                        const char *model_sha256, hs_error *err)
{
    free(t->options), free(t->model_path), free(t->model_sha256);
    t->options = options ? json_dumps(options, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(7)) : strdup("{}");
    json_decref(options);
    t->model_path = model_path ? strdup(model_path) : NULL;
    t->model_sha256 = model_sha256 ? strdup(model_sha256) : NULL;
    if (!t->options || (model_path && !t->model_path) || (model_sha256 && !t->model_sha256))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    return HS_OK;
}

/* Deletes the rows of (run_id, analysis) from table; an SQLite result code. */
static int delete_rows(sqlite3 *db, const char *table, int64_t run_id, const char *analysis)
{
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE run_id = ?1 AND analysis = ?2", table);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_bind_int64(st, 1, run_id)) == SQLITE_OK &&
        (rc = sqlite3_bind_text(st, 2, analysis, -1, SQLITE_STATIC)) == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_finalize(st);
    return rc;
}

/* Replaces the (run, analysis) row of analysis_runs: the options it ran with, finished now. */
static hs_status record_run(const hs_score_table *t, hs_store *store, int64_t run_id, hs_error *err)
{
    sqlite3 *db = hs_store_db(store);
    sqlite3_stmt *st = NULL;
    hs_status rc = HS_OK;
    if (delete_rows(db, "analysis_runs", run_id, t->analysis) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO analysis_runs (run_id, analysis, options, model_path, model_sha256, "
                           "tool_version, started_at, finished_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                           "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, t->analysis, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, t->options, -1, SQLITE_STATIC);
    if (t->model_path)
        sqlite3_bind_text(st, 4, t->model_path, -1, SQLITE_STATIC);
    if (t->model_sha256)
        sqlite3_bind_text(st, 5, t->model_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, PACKAGE_VERSION, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    return HS_OK;
fail:
    rc = hs_fail(err, HS_ERR_IO, "%s: recording the '%s' analysis of run %lld: %s", hs_store_path_of(store),
                 t->analysis, (long long)run_id, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

hs_status hs_score_table_add(hs_score_table *t, const char *metric, int layer, int head, int64_t prompt_id,
                             double value, hs_error *err)
{
    if (t->n == t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 1024;
        score_row *r = realloc(t->rows, ncap * sizeof *r);
        if (!r)
            return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory for %zu score rows", t->analysis, ncap);
        t->rows = r;
        t->cap = ncap;
    }
    t->rows[t->n++] = (score_row){.metric = metric, .layer = layer, .head = head, .prompt_id = prompt_id,
                                  .value = value};
    return HS_OK;
}

size_t hs_score_table_rows(const hs_score_table *t)
{
    return t->n;
}

hs_status hs_score_table_write(const hs_score_table *t, hs_store *store, int64_t run_id, hs_error *err)
{
    sqlite3 *db = hs_store_db(store);
    hs_status rc = HS_OK;
    if (delete_rows(db, "head_scores", run_id, t->analysis) != SQLITE_OK)
        return hs_fail(err, HS_ERR_IO, "%s: deleting the earlier '%s' scores of run %lld: %s", hs_store_path_of(store),
                       t->analysis, (long long)run_id, sqlite3_errmsg(db));
    for (size_t i = 0; i < t->n && rc == HS_OK; i++) {
        const score_row *r = &t->rows[i];
        rc = hs_store_put_head_score(store, run_id, t->analysis, r->metric, r->layer, r->head, r->prompt_id, r->value,
                                     err);
    }
    if (rc == HS_OK && t->options)
        rc = record_run(t, store, run_id, err);
    return rc;
}

hs_status hs_score_table_replace(const hs_score_table *t, hs_store *store, int64_t run_id, hs_error *err)
{
    hs_status rc = hs_store_begin(store, err);
    if (rc != HS_OK)
        return rc;
    if ((rc = hs_score_table_write(t, store, run_id, err)) != HS_OK) {
        hs_store_rollback(store);
        return rc;
    }
    return hs_store_commit(store, err);
}
