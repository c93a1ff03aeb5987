/* logit_lens_run.c — the logit-lens analysis over a recorded run: find the run and check the model
 * is the one it recorded, settle resume-or-replace against analysis_runs, then per prompt one
 * observed pass, the lens, DLA and component lens, and one transaction of rows. */
#include "analyses/lens/logit_lens_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/tasks/answer_token.h"
#include "analyses/lens/component_lens.h"
#include "analyses/lens/dla.h"
#include "analyses/lens/lens_store.h"
#include "analyses/lens/lens_trace.h"
#include "analyses/lens/logit_lens.h"
#include "base/error.h"
#include "config.h"
#include "model/model.h"
#include "model/model_hash.h"

#define ANALYSIS "logit_lens"

void hs_lens_request_default(hs_lens_request *req)
{
    memset(req, 0, sizeof *req);
    req->top_k = 10;
    req->n_neurons = 5;
    req->component_lens = 1;
}

/* ---------------------------------------------------------------- reading the run */

typedef struct run_info {
    int64_t id, model_id;
    char model_path[4096];
    char model_sha256[65];
} run_info;

typedef struct prompt_info {
    int64_t id;
    int idx;
    char *text, *answer, *wrong; /* answer, wrong may be NULL */
} prompt_info;

static hs_status sql_fail(sqlite3 *db, hs_error *err, const char *what)
{
    return hs_fail(err, HS_ERR_IO, "%s: %s: %s", sqlite3_db_filename(db, "main"), what, sqlite3_errmsg(db));
}

static char *dup_column(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? strdup((const char *)t) : NULL;
}

static hs_status find_run(sqlite3 *db, const char *path, int64_t want, run_info *ri, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    int n = 0;
    char ids[256] = "";
    if (sqlite3_prepare_v2(db, "SELECT id, model_id, model_path, model_sha256 FROM runs WHERE ?1 = 0 OR id = ?1 "
                               "ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the runs");
    sqlite3_bind_int64(st, 1, want);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n++ == 0) {
            ri->id = sqlite3_column_int64(st, 0);
            ri->model_id = sqlite3_column_int64(st, 1);
            snprintf(ri->model_path, sizeof ri->model_path, "%s", (const char *)sqlite3_column_text(st, 2));
            snprintf(ri->model_sha256, sizeof ri->model_sha256, "%s", (const char *)sqlite3_column_text(st, 3));
        }
        size_t len = strlen(ids);
        snprintf(ids + len, sizeof ids - len, "%s%lld", len ? ", " : "", (long long)sqlite3_column_int64(st, 0));
    }
    sqlite3_finalize(st);
    if (n == 0)
        return want ? hs_fail(err, HS_ERR_MISSING, "%s: there is no run %lld", path, (long long)want)
                    : hs_fail(err, HS_ERR_MISSING, "%s: the store holds no run (record one with headscope run)", path);
    if (n > 1)
        return hs_fail(err, HS_ERR_ARG, "%s: the store holds %d runs (%s); choose one with --run", path, n, ids);
    return HS_OK;
}

static void prompts_free(prompt_info *p, int n)
{
    for (int i = 0; p && i < n; i++) {
        free(p[i].text);
        free(p[i].answer);
        free(p[i].wrong);
    }
    free(p);
}

/* Every prompt of the run in set order (read whole first: no statement stays open across the
 * per-prompt transactions). */
static hs_status load_prompts(sqlite3 *db, int64_t run_id, prompt_info **out, int *n_out, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    prompt_info *p = NULL;
    int n = 0, cap = 0;
    hs_status rc = HS_OK;
    *out = NULL;
    *n_out = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, idx, text, answer, wrong FROM prompts WHERE run_id = ?1 ORDER BY idx", -1,
                           &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the prompts");
    sqlite3_bind_int64(st, 1, run_id);
    int step_rc;
    while ((step_rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            prompt_info *np = realloc(p, (size_t)cap * sizeof *np);
            if (!np) {
                rc = hs_fail(err, HS_ERR_NOMEM, "lens: out of memory for the prompts");
                goto done;
            }
            p = np;
        }
        prompt_info *q = &p[n++];
        q->id = sqlite3_column_int64(st, 0);
        q->idx = sqlite3_column_int(st, 1);
        q->text = dup_column(st, 2);
        q->answer = dup_column(st, 3);
        q->wrong = dup_column(st, 4);
        if (!q->text) {
            rc = hs_fail(err, HS_ERR_NOMEM, "lens: out of memory for the prompts");
            goto done;
        }
    }
    if (step_rc != SQLITE_DONE)
        rc = sql_fail(db, err, "reading the prompts");
done:
    sqlite3_finalize(st);
    if (rc != HS_OK) {
        prompts_free(p, n);
        return rc;
    }
    *out = p;
    *n_out = n;
    return HS_OK;
}

/* A prompt's stored token ids (malloc'd into *ids) and whether any position is an image. */
static hs_status load_tokens(sqlite3 *db, int64_t prompt_id, int32_t **ids, int *n, int *has_image, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    int cap = 0;
    *ids = NULL;
    *n = 0;
    *has_image = 0;
    if (sqlite3_prepare_v2(db, "SELECT token_id, is_image FROM tokens WHERE prompt_id = ?1 ORDER BY pos", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the tokens");
    sqlite3_bind_int64(st, 1, prompt_id);
    hs_status rc = HS_OK;
    int step_rc;
    while ((step_rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            int32_t *np = realloc(*ids, (size_t)cap * sizeof *np);
            if (!np) {
                rc = hs_fail(err, HS_ERR_NOMEM, "lens: out of memory for the tokens");
                goto done;
            }
            *ids = np;
        }
        (*ids)[(*n)++] = sqlite3_column_int(st, 0);
        *has_image |= sqlite3_column_int(st, 1);
    }
    if (step_rc != SQLITE_DONE)
        rc = sql_fail(db, err, "reading the tokens");
done:
    sqlite3_finalize(st);
    if (rc != HS_OK) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

/* ---------------------------------------------------------------- the analysis row */

static char *options_json(const hs_lens_request *req)
{
    json_t *o = json_pack("{s:i, s:i, s:b, s:s?, s:s?}", "top_k", req->top_k, "neurons",
                          req->component_lens ? req->n_neurons : 0, "component_lens", req->component_lens ? 1 : 0,
                          "target", req->target, "wrong", req->target ? req->wrong : NULL);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    return s;
}

static hs_status exec_bound(sqlite3 *db, const char *sql, int64_t run_id, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? HS_OK : sql_fail(db, err, "updating the analysis");
}

/* Resume, finish or replace: looks up the run's logit_lens analysis row; a different one (or none)
 * is replaced, with every row it wrote, by a new row with these options. */
static hs_status begin_analysis(hs_store *s, const run_info *ri, const char *options, const char *model_path,
                                hs_run_state *state, hs_error *err)
{
    sqlite3 *db = hs_store_db(s);
    sqlite3_stmt *st = NULL;
    int found = 0, same = 0, finished = 0;
    if (sqlite3_prepare_v2(db, "SELECT options, finished_at IS NOT NULL FROM analysis_runs WHERE run_id = ?1 AND "
                               "analysis = '" ANALYSIS "'", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the analysis runs");
    sqlite3_bind_int64(st, 1, ri->id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = 1;
        same = strcmp((const char *)sqlite3_column_text(st, 0), options) == 0;
        finished = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    if (found && same) {
        *state = finished ? HS_RUN_COMPLETE : HS_RUN_RESUMED;
        return HS_OK;
    }
    *state = HS_RUN_NEW;
    HS_TRY(hs_store_begin(s, err));
    static const char *const wipe[] = {
        "DELETE FROM logit_lens WHERE run_id = ?1",
        "DELETE FROM lens_prompts WHERE run_id = ?1",
        "DELETE FROM dla WHERE run_id = ?1",
        "DELETE FROM component_lens WHERE run_id = ?1",
        "DELETE FROM head_scores WHERE run_id = ?1 AND analysis = 'dla'",
        "DELETE FROM analysis_runs WHERE run_id = ?1 AND analysis = '" ANALYSIS "'",
    };
    hs_status rc = HS_OK;
    for (size_t i = 0; i < sizeof wipe / sizeof wipe[0] && rc == HS_OK; i++)
        rc = exec_bound(db, wipe[i], ri->id, err);
    if (rc == HS_OK) {
        if (sqlite3_prepare_v2(db, "INSERT INTO analysis_runs (run_id, analysis, options, model_path, model_sha256, "
                                   "tool_version, started_at) VALUES (?1, '" ANALYSIS "', ?2, ?3, ?4, ?5, "
                                   "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))", -1, &st, NULL) != SQLITE_OK) {
            rc = sql_fail(db, err, "recording the analysis");
        } else {
            sqlite3_bind_int64(st, 1, ri->id);
            sqlite3_bind_text(st, 2, options, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, model_path, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, ri->model_sha256, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 5, PACKAGE_VERSION, -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = sql_fail(db, err, "recording the analysis");
            sqlite3_finalize(st);
        }
    }
    if (rc != HS_OK) {
        hs_store_rollback(s);
        return rc;
    }
    return hs_store_commit(s, err);
}

/* Per-head means over the analysed prompts, and the finish mark, in one transaction. */
static hs_status finish_analysis(hs_store *s, int64_t run_id, hs_error *err)
{
    sqlite3 *db = hs_store_db(s);
    HS_TRY(hs_store_begin(s, err));
    static const char *const steps[] = {
        "DELETE FROM head_scores WHERE run_id = ?1 AND analysis = 'dla' AND prompt_id IS NULL",
        "INSERT INTO head_scores (run_id, analysis, metric, layer, head, prompt_id, value) "
        "SELECT run_id, 'dla', 'dla', layer, head, NULL, avg(value) FROM head_scores "
        "WHERE run_id = ?1 AND analysis = 'dla' AND metric = 'dla' AND prompt_id IS NOT NULL GROUP BY layer, head",
        "UPDATE analysis_runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') "
        "WHERE run_id = ?1 AND analysis = '" ANALYSIS "'",
    };
    hs_status rc = HS_OK;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && rc == HS_OK; i++)
        rc = exec_bound(db, steps[i], run_id, err);
    if (rc != HS_OK) {
        hs_store_rollback(s);
        return rc;
    }
    return hs_store_commit(s, err);
}

static hs_status prompt_done(sqlite3 *db, int64_t prompt_id, int *done, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM lens_prompts WHERE prompt_id = ?1", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the lens prompts");
    sqlite3_bind_int64(st, 1, prompt_id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(db, err, "reading the lens prompts");
    *done = rc == SQLITE_ROW;
    return HS_OK;
}

/* ---------------------------------------------------------------- one prompt */

/* Computes and writes one prompt's rows in one transaction. *no_answer is set when it had none. */
static hs_status analyse_prompt(const hs_lens_request *req, const hs_model *m, hs_store *s, hs_lens_writer *w,
                                int64_t run_id, const prompt_info *p, const int32_t *ids, int n, int *no_answer,
                                hs_error *err)
{
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    const char *answer_text = req->target ? req->target : p->answer;
    const char *wrong_text = req->target ? req->wrong : p->wrong;
    int32_t answer = -1, wrong = -1;
    hs_status rc = HS_OK;
    hs_lens_trace *t = NULL;
    hs_lens *lens = NULL;
    hs_dla *dla = NULL;
    hs_component_lens *cl = NULL;
    int32_t *target = malloc((size_t)n * sizeof *target);
    if (!target)
        return hs_fail(err, HS_ERR_NOMEM, "lens: out of memory");
    if (answer_text && *answer_text && tok &&
        (rc = hs_answer_token(tok, p->text, answer_text, ids, n, &answer, err)) != HS_OK)
        goto done;
    if (answer >= 0 && wrong_text && *wrong_text && tok &&
        (rc = hs_answer_token(tok, p->text, wrong_text, ids, n, &wrong, err)) != HS_OK)
        goto done;
    if (answer >= m->cfg.d_vocab || wrong >= m->cfg.d_vocab) {
        rc = hs_fail(err, HS_ERR_RANGE, "prompt %d: the answer or wrong token is outside the model's vocabulary",
                     p->idx);
        goto done;
    }
    *no_answer = answer < 0;
    for (int i = 0; i + 1 < n; i++)
        target[i] = ids[i + 1];
    target[n - 1] = answer;
    if ((rc = hs_lens_trace_run(m, ids, n, -1, &t, err)) != HS_OK)
        goto done;
    hs_lens_targets tg = {.target = target, .answer = answer, .wrong = answer >= 0 ? wrong : -1};
    if ((rc = hs_lens_compute(m, t, &tg, req->top_k, &lens, err)) != HS_OK)
        goto done;
    if (answer >= 0 && (rc = hs_dla_compute(m, t, answer, wrong, &dla, err)) != HS_OK)
        goto done;
    if (req->component_lens &&
        (rc = hs_component_lens_compute(m, t, req->top_k, req->n_neurons, &cl, err)) != HS_OK)
        goto done;
    if ((rc = hs_store_begin(s, err)) != HS_OK)
        goto done;
    rc = hs_lens_put_prompt(w, run_id, p->id, t->pos, t->scale_final[t->pos], lens, dla, cl, err);
    if (rc == HS_OK)
        rc = hs_store_commit(s, err);
    else
        hs_store_rollback(s);
done:
    if (rc != HS_OK)
        hs_error_prefix(err, "prompt %d", p->idx);
    free(target);
    hs_lens_trace_free(t);
    hs_lens_free(lens);
    hs_dla_free(dla);
    hs_component_lens_free(cl);
    return rc;
}

/* ---------------------------------------------------------------- the analysis */

hs_status hs_lens_analyze(const hs_lens_request *req, hs_lens_summary *res, hs_error *err)
{
    memset(res, 0, sizeof *res);
    if (!req || !req->db_path)
        return hs_fail(err, HS_ERR_ARG, "logit lens: no store given");
    if (req->top_k < 1 || req->top_k > HS_LENS_MAX_K)
        return hs_fail(err, HS_ERR_RANGE, "logit lens: top-k %d is not in 1..%d", req->top_k, HS_LENS_MAX_K);
    if (req->n_neurons < 0)
        return hs_fail(err, HS_ERR_RANGE, "logit lens: %d neurons per layer", req->n_neurons);
    hs_store *s = NULL;
    hs_model *m = NULL;
    hs_lens_writer *w = NULL;
    prompt_info *prompts = NULL;
    int n_prompts = 0;
    int32_t *ids = NULL;
    char *options = NULL;
    run_info ri;
    char sha[65];
    hs_status rc;
    if ((rc = hs_store_open(req->db_path, HS_STORE_CREATE, req->vfs, &s, err)) != HS_OK)
        goto done;
    sqlite3 *db = hs_store_db(s);
    if ((rc = find_run(db, req->db_path, req->run_id, &ri, err)) != HS_OK)
        goto done;
    res->run_id = ri.id;
    const char *model_path = req->model_path ? req->model_path : ri.model_path;
    if ((rc = hs_model_sha256(model_path, sha, err)) != HS_OK)
        goto done;
    if (strcmp(sha, ri.model_sha256) != 0) {
        rc = hs_fail(err, HS_ERR_ARG, "%s is not the model run %lld recorded (its sha256 is %.16s..., the run's %.16s...)",
                     model_path, (long long)ri.id, sha, ri.model_sha256);
        goto done;
    }
    if ((rc = hs_model_open(model_path, req->tokenizer_path, &m, err)) != HS_OK)
        goto done;
    if (req->component_lens && req->n_neurons > m->cfg.d_mlp) {
        rc = hs_fail(err, HS_ERR_RANGE, "logit lens: %d neurons per layer, the model has %d", req->n_neurons,
                     m->cfg.d_mlp);
        goto done;
    }
    if ((rc = load_prompts(db, ri.id, &prompts, &n_prompts, err)) != HS_OK)
        goto done;
    res->n_prompts = n_prompts;
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    int wants_tokens = req->target != NULL;
    for (int i = 0; i < n_prompts && !wants_tokens; i++)
        wants_tokens = prompts[i].answer && *prompts[i].answer;
    if (wants_tokens && !tok) {
        rc = hs_fail(err, HS_ERR_MISSING, "%s has no tokenizer to encode the answers with; give one with --tokenizer",
                     model_path);
        goto done;
    }
    if (!(options = options_json(req))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(res->options_json, sizeof res->options_json, "%s", options);
    res->store_opened = 1;
    if ((rc = begin_analysis(s, &ri, options, model_path, &res->state, err)) != HS_OK)
        goto done;
    if (res->state == HS_RUN_COMPLETE)
        goto done;
    if (tok && (rc = hs_lens_put_vocab(s, ri.model_id, tok, err)) != HS_OK)
        goto done;
    if ((rc = hs_lens_writer_open(s, &w, err)) != HS_OK)
        goto done;
    for (int i = 0; i < n_prompts; i++) {
        int finished = 0, n = 0, has_image = 0, no_answer = 0;
        if ((rc = prompt_done(db, prompts[i].id, &finished, err)) != HS_OK)
            goto done;
        if (!finished) {
            free(ids);
            ids = NULL;
            if ((rc = load_tokens(db, prompts[i].id, &ids, &n, &has_image, err)) != HS_OK)
                goto done;
            if (has_image || n == 0) {
                res->n_images += has_image;
            } else {
                if ((rc = analyse_prompt(req, m, s, w, ri.id, &prompts[i], ids, n, &no_answer, err)) != HS_OK)
                    goto done;
                res->n_analysed++;
                res->n_no_answer += no_answer;
            }
        }
        if (req->progress) {
            hs_lens_progress pr = {.done = i + 1, .total = n_prompts};
            req->progress(req->progress_user, &pr);
        }
    }
    rc = finish_analysis(s, ri.id, err);
done:
    free(ids);
    free(options);
    prompts_free(prompts, n_prompts);
    hs_lens_writer_close(w);
    hs_model_close(m);
    hs_store_close(s);
    return rc;
}
