/* patch_run.c — activation patching over a recorded run: find the run and check its model, read
 * every prompt pair (stored clean ids, the corrupted text tokenised, the answer pair), patch, and
 * write patch_grid, head_scores and analysis_runs in one transaction. */
#include "analyses/circuits/patch_run.h"

#include <gsl/gsl_statistics_double.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/circuits/atp.h"
#include "analyses/common/run_info.h"
#include "analyses/common/score_table.h"
#include "analyses/tasks/answer_token.h"
#include "base/error.h"
#include "model/model.h"

/* the analysis name, and what stands in a metric name where the ablation does */
static const char *method_analysis(const hs_patch_request *req)
{
    return req->method == HS_METHOD_ATP ? "atp" : "patch";
}

static const char *method_ablation(const hs_patch_request *req)
{
    return req->method == HS_METHOD_ATP ? "atp" : hs_patch_ablation_name(req->ablation);
}

void hs_patch_request_default(hs_patch_request *req)
{
    memset(req, 0, sizeof *req);
    req->run_id = -1;
    req->components[HS_PATCH_Z] = 1;
    req->ablation = HS_ABLATE_PATCH;
    req->direction = HS_PATCH_DENOISE;
    req->metric_logit_diff = 1;
}

static hs_status sql_fail(sqlite3 *db, hs_error *err, const char *what)
{
    return hs_fail(err, HS_ERR_IO, "%s: %s: %s", sqlite3_db_filename(db, "main"), what, sqlite3_errmsg(db));
}

/* One prompt of the run, with the pair it gives. */
typedef struct prompt_pair {
    int64_t id;
    int idx;
    char name[160];       /* "prompt 3 (ioi-3)" */
    int32_t *clean, *corrupted;
    int n;
} prompt_pair;

static void pairs_free(prompt_pair *p, int n)
{
    for (int i = 0; p && i < n; i++) {
        free(p[i].clean);
        free(p[i].corrupted);
    }
    free(p);
}

static hs_status load_ids(sqlite3 *db, int64_t prompt_id, int32_t **ids, int *n, int *image, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    int cap = 0, step;
    hs_status rc = HS_OK;
    *ids = NULL;
    *n = *image = 0;
    if (sqlite3_prepare_v2(db, "SELECT token_id, is_image FROM tokens WHERE prompt_id = ?1 ORDER BY pos", -1, &st,
                           NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the tokens");
    sqlite3_bind_int64(st, 1, prompt_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            int32_t *np = realloc(*ids, (size_t)cap * sizeof *np);
            if (!np) {
                rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the tokens");
                break;
            }
            *ids = np;
        }
        (*ids)[(*n)++] = sqlite3_column_int(st, 0);
        *image |= sqlite3_column_int(st, 1);
    }
    if (rc == HS_OK && step != SQLITE_DONE)
        rc = sql_fail(db, err, "reading the tokens");
    sqlite3_finalize(st);
    if (rc != HS_OK) {
        free(*ids);
        *ids = NULL;
    }
    return rc;
}

/* Reads every prompt of the run into pairs (the clean ids stored, the corrupted text tokenised)
 * and answer pairs; refuses, by name, a prompt that cannot be patched. */
static hs_status load_pairs(sqlite3 *db, const hs_tokenizer *tok, int64_t run_id, prompt_pair **out,
                            hs_patch_pair **pairs_out, int *n_out, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    prompt_pair *pp = NULL;
    hs_patch_pair *pairs = NULL;
    int n = 0, cap = 0, step;
    hs_status rc = HS_OK;
    *out = NULL;
    *pairs_out = NULL;
    *n_out = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, idx, ext_id, text, corrupted, answer, wrong FROM prompts "
                               "WHERE run_id = ?1 ORDER BY idx", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the prompts");
    sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            prompt_pair *np = realloc(pp, (size_t)cap * sizeof *np);
            hs_patch_pair *nq = np ? realloc(pairs, (size_t)cap * sizeof *nq) : NULL;
            if (np)
                pp = np;
            if (nq)
                pairs = nq;
            if (!np || !nq) {
                rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the prompts");
                goto done;
            }
        }
        prompt_pair *p = &pp[n];
        memset(p, 0, sizeof *p);
        p->id = sqlite3_column_int64(st, 0);
        p->idx = sqlite3_column_int(st, 1);
        const char *ext = (const char *)sqlite3_column_text(st, 2);
        snprintf(p->name, sizeof p->name, ext ? "prompt %d (%s)" : "prompt %d", p->idx, ext);
        n++;
        const char *text = (const char *)sqlite3_column_text(st, 3);
        const char *corrupted = (const char *)sqlite3_column_text(st, 4);
        const char *answer = (const char *)sqlite3_column_text(st, 5);
        const char *wrong = (const char *)sqlite3_column_text(st, 6);
        const char *missing = !corrupted || !*corrupted ? "corrupted" : !answer || !*answer ? "answer"
                              : !wrong || !*wrong ? "wrong" : NULL;
        if (missing) {
            rc = hs_fail(err, HS_ERR_MISSING, "%s has no \"%s\" field: patching needs prompts with \"clean\" (or "
                         "\"text\"), \"corrupted\", \"answer\" and \"wrong\" (e.g. headscope dataset ioi)",
                         p->name, missing);
            goto done;
        }
        int image = 0;
        if ((rc = load_ids(db, p->id, &p->clean, &p->n, &image, err)) != HS_OK)
            goto done;
        if (image || p->n == 0) {
            rc = hs_fail(err, HS_ERR_UNSUPPORTED, "%s: %s", p->name,
                         image ? "holds image tokens, whose embeddings the store does not keep" : "has no tokens");
            goto done;
        }
        size_t nc = 0;
        if ((rc = hs_tokenizer_encode(tok, corrupted, strlen(corrupted), 1, &p->corrupted, &nc, err)) != HS_OK)
            goto named;
        if ((int)nc != p->n) {
            rc = hs_fail(err, HS_ERR_ARG, "%s: the clean prompt has %d tokens and the corrupted one %zu; patching "
                         "needs a clean and a corrupted prompt of one length", p->name, p->n, nc);
            goto done;
        }
        int32_t a = -1, w = -1;
        if ((rc = hs_answer_token(tok, text ? text : "", answer, p->clean, p->n, &a, err)) != HS_OK ||
            (rc = hs_answer_token(tok, text ? text : "", wrong, p->clean, p->n, &w, err)) != HS_OK)
            goto named;
        if (a < 0 || w < 0) {
            rc = hs_fail(err, HS_ERR_ARG, "%s: its \"%s\" gives no token", p->name, a < 0 ? "answer" : "wrong");
            goto done;
        }
        pairs[n - 1] = (hs_patch_pair){.clean = p->clean, .corrupted = p->corrupted, .n = p->n, .answer = a,
                                       .wrong = w, .name = p->name};
    }
    if (step != SQLITE_DONE)
        rc = sql_fail(db, err, "reading the prompts");
    else if (n == 0)
        rc = hs_fail(err, HS_ERR_MISSING, "run %lld has no prompts", (long long)run_id);
    goto done;
named:
    hs_error_prefix(err, "%s", pp[n - 1].name);
done:
    sqlite3_finalize(st);
    if (rc != HS_OK) {
        pairs_free(pp, n);
        free(pairs);
        return rc;
    }
    *out = pp;
    *pairs_out = pairs;
    *n_out = n;
    return HS_OK;
}

static json_t *options_object(const hs_patch_request *req)
{
    json_t *comps = json_array(), *metrics = json_array();
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
        if (req->components[c])
            json_array_append_new(comps, json_string(hs_patch_component_name((hs_patch_component)c)));
    if (req->metric_logit_diff)
        json_array_append_new(metrics, json_string("logit_diff"));
    if (req->metric_kl)
        json_array_append_new(metrics, json_string("kl"));
    json_t *o = json_pack("{s:o, s:o, s:s, s:s, s:b}", "components", comps, "metrics", metrics, "ablation",
                          hs_patch_ablation_name(req->ablation), "direction", hs_patch_direction_name(req->direction),
                          "per_position", req->per_position);
    if (o && req->method == HS_METHOD_ATP)
        json_object_set_new(o, "method", json_string("atp"));
    if (o && req->ablation == HS_ABLATE_RESAMPLE)
        json_object_set_new(o, "seed", json_integer((json_int_t)req->seed));
    return o;
}

/* The grids into patch_grid (inside the caller's transaction). */
static hs_status write_grids(sqlite3 *db, int64_t run_id, const hs_patch_request *req, const hs_patch_result *r,
                             int64_t *n_rows, hs_error *err)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    hs_status rc = HS_OK;
    /* replace this method's rows only: AtP's metrics name "atp" where patching's name the ablation */
    const char *del_sql = req->method == HS_METHOD_ATP
                              ? "DELETE FROM patch_grid WHERE run_id = ?1 AND metric LIKE '%\\_atp\\_%' ESCAPE '\\'"
                              : "DELETE FROM patch_grid WHERE run_id = ?1 AND "
                                "metric NOT LIKE '%\\_atp\\_%' ESCAPE '\\'";
    if (sqlite3_prepare_v2(db, del_sql, -1, &del, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO patch_grid (run_id, component, metric, layer, head, pos, value, "
                               "n_prompts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &ins, NULL) != SQLITE_OK) {
        rc = sql_fail(db, err, "writing the patching grids");
        goto done;
    }
    sqlite3_bind_int64(del, 1, run_id);
    if (sqlite3_step(del) != SQLITE_DONE) {
        rc = sql_fail(db, err, "replacing the patching grids");
        goto done;
    }
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        const hs_patch_grid *g = &r->grids[c];
        if (!g->logit_diff)
            continue;
        const hs_patch_grid_shape *s = &g->shape;
        for (int metric = 0; metric < 2; metric++) {
            if (!(metric ? req->metric_kl : req->metric_logit_diff))
                continue;
            char name[64];
            snprintf(name, sizeof name, "%s_%s_%s", hs_patch_direction_name(req->direction), method_ablation(req),
                     metric ? "kl" : "logit_diff");
            const double *v = metric ? g->kl : g->logit_diff;
            for (int k = 0; k < hs_patch_grid_cells(s); k++) {
                int layer = k / (s->n_units * s->n_pos_cells), unit = k / s->n_pos_cells % s->n_units;
                sqlite3_reset(ins);
                sqlite3_bind_int64(ins, 1, run_id);
                sqlite3_bind_text(ins, 2, hs_patch_component_name((hs_patch_component)c), -1, SQLITE_STATIC);
                sqlite3_bind_text(ins, 3, name, -1, SQLITE_TRANSIENT);
                sqlite3_bind_int(ins, 4, layer);
                if (hs_patch_component_has_heads((hs_patch_component)c))
                    sqlite3_bind_int(ins, 5, unit);
                else
                    sqlite3_bind_null(ins, 5);
                if (s->per_position)
                    sqlite3_bind_int(ins, 6, k % s->n_pos_cells);
                else
                    sqlite3_bind_null(ins, 6);
                if (isnan(v[k]))
                    sqlite3_bind_null(ins, 7);
                else
                    sqlite3_bind_double(ins, 7, v[k]);
                sqlite3_bind_int(ins, 8, r->n_pairs);
                if (sqlite3_step(ins) != SQLITE_DONE) {
                    rc = sql_fail(db, err, "writing the patching grids");
                    goto done;
                }
                (*n_rows)++;
            }
        }
    }
done:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return rc;
}

/* The all-position head grids into a score table: metric names live in `names` (they must outlive
 * the table). */
static hs_status head_rows(const hs_patch_request *req, const hs_patch_result *r, hs_score_table *t,
                           char names[][64], hs_error *err)
{
    int i = 0;
    for (int c = 0; c <= HS_PATCH_V; c++) {
        const hs_patch_grid *g = &r->grids[c];
        if (!g->logit_diff || g->shape.per_position)
            continue;
        for (int metric = 0; metric < 2; metric++, i++) {
            if (!(metric ? req->metric_kl : req->metric_logit_diff))
                continue;
            snprintf(names[i], 64, "%s_%s_%s_%s", hs_patch_component_name((hs_patch_component)c),
                     hs_patch_direction_name(req->direction), method_ablation(req), metric ? "kl" : "logit_diff");
            const double *v = metric ? g->kl : g->logit_diff;
            for (int k = 0; k < hs_patch_grid_cells(&g->shape); k++)
                HS_TRY(hs_score_table_add(t, names[i], k / g->shape.n_units, k % g->shape.n_units, -1, v[k], err));
        }
    }
    return HS_OK;
}

hs_status hs_patch_analyze(const hs_patch_request *req, hs_patch_summary *res, hs_error *err)
{
    memset(res, 0, sizeof *res);
    if (!req || !req->db_path)
        return hs_fail(err, HS_ERR_ARG, "patch: no store given");
    if (!req->metric_logit_diff && !req->metric_kl)
        return hs_fail(err, HS_ERR_ARG, "patch: no metric asked for");
    int any = 0;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
        any |= req->components[c];
    if (!any)
        return hs_fail(err, HS_ERR_ARG, "patch: no component asked for");
    if (req->method == HS_METHOD_ATP && (req->metric_kl || req->ablation != HS_ABLATE_PATCH))
        return hs_fail(err, HS_ERR_UNSUPPORTED, "patch: attribution patching (atp) estimates the logit_diff metric "
                       "of the patch ablation only (%s asked)", req->metric_kl ? "kl" : "another ablation");
    hs_store *s = NULL;
    hs_model *m = NULL;
    prompt_pair *pp = NULL;
    hs_patch_pair *pairs = NULL;
    hs_score_table *t = NULL;
    hs_patch_result r;
    memset(&r, 0, sizeof r);
    int n = 0;
    char names[2 * HS_PATCH_COMPONENT_COUNT][64];
    hs_run_info ri;
    hs_status rc;
    if ((rc = hs_store_open(req->db_path, HS_STORE_CREATE, NULL, &s, err)) != HS_OK ||
        (rc = hs_run_info_read(s, req->run_id, &ri, err)) != HS_OK)
        goto done;
    res->run_id = ri.id;
    const char *model_path = req->model_path ? req->model_path : ri.model_path;
    if ((rc = hs_model_open(model_path, req->tokenizer_path, &m, err)) != HS_OK ||
        (rc = hs_run_info_check_model(s, &ri, m, err)) != HS_OK)
        goto done;
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    if (!tok) {
        rc = hs_fail(err, HS_ERR_MISSING, "%s has no tokenizer to encode the corrupted prompts and answers with; "
                     "give one with --tokenizer", model_path);
        goto done;
    }
    sqlite3 *db = hs_store_db(s);
    if ((rc = load_pairs(db, tok, ri.id, &pp, &pairs, &n, err)) != HS_OK)
        goto done;
    res->n_prompts = n;
    hs_patch_options opt = {.per_position = req->per_position, .ablation = req->ablation,
                            .direction = req->direction, .seed = req->seed, .progress = req->progress,
                            .progress_user = req->progress_user};
    memcpy(opt.components, req->components, sizeof opt.components);
    if ((rc = (req->method == HS_METHOD_ATP ? hs_atp_set_run : hs_patch_set_run)(m, pairs, n, &opt, &r, err)) != HS_OK)
        goto done;
    res->ld_clean = r.ld_clean;
    res->ld_corrupted = r.ld_corrupted;
    if ((rc = hs_score_table_new(method_analysis(req), &t, err)) != HS_OK)
        goto done;
    json_t *o = options_object(req); /* the table steals it below */
    char *js = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    snprintf(res->options_json, sizeof res->options_json, "%s", js ? js : "{}");
    free(js);
    if ((rc = hs_score_table_set_provenance(t, o, model_path, ri.model_sha256, err)) != HS_OK ||
        (rc = head_rows(req, &r, t, names, err)) != HS_OK)
        goto done;
    if ((rc = hs_store_begin(s, err)) != HS_OK)
        goto done;
    if ((rc = write_grids(db, ri.id, req, &r, &res->n_cells, err)) != HS_OK ||
        (rc = hs_score_table_write(t, s, ri.id, err)) != HS_OK) {
        hs_store_rollback(s);
        goto done;
    }
    rc = hs_store_commit(s, err);
done:
    hs_score_table_free(t);
    hs_patch_result_free(&r);
    pairs_free(pp, n);
    free(pairs);
    hs_model_close(m);
    hs_store_close(s);
    return rc;
}

/* Pearson is gsl_stats_correlation; gsl_stats_spearman ranks itself in a work array of 2n doubles. */
hs_status hs_patch_atp_agreement(hs_store *s, int64_t run_id, hs_patch_component c, hs_patch_direction d,
                                 int *n_cells, double *pearson, double *spearman, hs_error *err)
{
    sqlite3 *db = hs_store_db(s);
    sqlite3_stmt *st = NULL;
    double *a = NULL, *b = NULL, *work = NULL;
    int n = 0, cap = 0, step;
    hs_status rc = HS_OK;
    char mp[64], ma[64];
    *n_cells = 0;
    *pearson = *spearman = NAN;
    snprintf(mp, sizeof mp, "%s_patch_logit_diff", hs_patch_direction_name(d));
    snprintf(ma, sizeof ma, "%s_atp_logit_diff", hs_patch_direction_name(d));
    if (sqlite3_prepare_v2(db, "SELECT p.value, a.value FROM patch_grid p JOIN patch_grid a ON a.run_id = p.run_id "
                               "AND a.component = p.component AND a.layer = p.layer AND a.head IS p.head AND "
                               "a.pos IS p.pos AND a.metric = ?4 WHERE p.run_id = ?1 AND p.component = ?2 AND "
                               "p.metric = ?3 AND (p.pos IS NULL OR p.component = 'resid_pre') AND "
                               "p.value IS NOT NULL AND a.value IS NOT NULL ORDER BY p.layer, p.head, p.pos",
                           -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the patching grids");
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, hs_patch_component_name(c), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, mp, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, ma, -1, SQLITE_TRANSIENT);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            double *na = realloc(a, (size_t)cap * sizeof *na);
            if (na)
                a = na;
            double *nb = na ? realloc(b, (size_t)cap * sizeof *nb) : NULL;
            if (nb)
                b = nb;
            if (!na || !nb) {
                rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the grids");
                goto done;
            }
        }
        a[n] = sqlite3_column_double(st, 0);
        b[n] = sqlite3_column_double(st, 1);
        n++;
    }
    if (step != SQLITE_DONE) {
        rc = sql_fail(db, err, "reading the patching grids");
        goto done;
    }
    *n_cells = n;
    if (n >= 3) {
        if (!(work = malloc(2 * (size_t)n * sizeof *work))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the ranks");
            goto done;
        }
        *pearson = gsl_stats_correlation(a, 1, b, 1, (size_t)n);
        *spearman = gsl_stats_spearman(a, 1, b, 1, (size_t)n, work);
    }
done:
    sqlite3_finalize(st);
    free(a);
    free(b);
    free(work);
    return rc;
}
