/* magnitudes_run.c — the magnitudes pass: one forward pass per stored prompt with observers on the
 * block outputs, keys and values; norms per position, massive activations, sink tokens. */
#include "analyses/sinks/magnitudes_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/sinks/massive.h"
#include "base/error.h"
#include "model/model.h"

#define MAX_SINK_DIMS 8
#define BOS_TOP_DIMS 4 /* dims counted as the largest of position 0 */

typedef struct pass {
    hs_magnitudes *m;
    int d_model;
    int64_t prompt_id;
    int T;
    float *scratch; /* [T, d_model] */
    float *norms;   /* [T * n_kv_heads] */
    hs_error *err;
} pass;

static hs_status nomem(hs_error *err)
{
    return hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

static hs_status keep_massive(hs_magnitudes *m, const hs_massive_act *a, hs_error *err)
{
    if (m->n_kept == HS_MAGNITUDES_MAX_KEPT)
        return HS_OK;
    if (m->n_kept == m->cap_kept) {
        int64_t cap = m->cap_kept ? 2 * m->cap_kept : 256;
        hs_massive_act *p = realloc(m->massive, (size_t)cap * sizeof *p);
        if (!p)
            return nomem(err);
        m->massive = p, m->cap_kept = cap;
    }
    m->massive[m->n_kept++] = *a;
    return HS_OK;
}

/* Block output of layer l: norms, RMS magnitudes, sink tokens, Sun et al.'s massive activations.
 *   x: [T, d] */
static hs_status add_resid(pass *p, int l, const float *x)
{
    hs_magnitudes *m = p->m;
    int T = p->T, d = p->d_model, P = T < m->max_pos ? T : m->max_pos;
    hs_massive_row_norms(x, T, d, p->norms);
    for (int t = 0; t < P; t++)
        m->norm_sum[HS_MAG_RESID][(size_t)l * m->max_pos + t] += p->norms[t];
    hs_massive_rms_magnitudes(x, T, d, p->scratch);
    for (int64_t i = 0; i < (int64_t)T * d; i++)
        if (p->scratch[i] > m->max_rms_magnitude[l])
            m->max_rms_magnitude[l] = p->scratch[i];
    int dims[MAX_SINK_DIMS];
    for (int j = 0; j < d; j++) /* row 0 of the magnitudes: position 0 */
        m->bos_h_sum[(size_t)l * d + j] += p->scratch[j];
    int n_top = hs_massive_sink_dims(x, d, 0.0f, BOS_TOP_DIMS, dims);
    for (int j = 0; j < n_top; j++)
        m->bos_top_count[(size_t)l * d + dims[j]]++;
    int n_dims = hs_massive_sink_dims(x, d, HS_SINK_DIM_TAU, MAX_SINK_DIMS, dims);
    if (T > 1)
        m->n_sink_tokens[l] += hs_massive_token_sinks(x + d, T - 1, d, dims, n_dims, HS_SINK_DIM_TAU, NULL, NULL);
    float median;
    int64_t n_massive;
    HS_TRY(hs_massive_sun(x, T, d, HS_MASSIVE_MIN_ABS, HS_MASSIVE_MIN_RATIO, NULL, &median, &n_massive, p->err));
    m->n_massive[l] += n_massive;
    for (int64_t i = 0; n_massive > 0 && i < (int64_t)T * d; i++) {
        float a = fabsf(x[i]);
        if (a > HS_MASSIVE_MIN_ABS && a > HS_MASSIVE_MIN_RATIO * median) {
            hs_massive_act act = {.prompt_id = p->prompt_id, .layer = l, .pos = (int)(i / d), .dim = (int)(i % d),
                                  .value = x[i], .ratio = median > 0 ? a / median : INFINITY};
            HS_TRY(keep_massive(m, &act, p->err));
        }
    }
    return HS_OK;
}

/* Keys or values of layer l: norms per position, averaged over the kv heads.
 *   x: [T, n_kv, dh] */
static void add_kv(pass *p, int tensor, int l, const float *x, int n_kv, int dh)
{
    hs_magnitudes *m = p->m;
    int T = p->T, P = T < m->max_pos ? T : m->max_pos;
    hs_massive_row_norms(x, (int64_t)T * n_kv, dh, p->norms);
    for (int t = 0; t < P; t++) {
        double s = 0;
        for (int g = 0; g < n_kv; g++)
            s += p->norms[(size_t)t * n_kv + g];
        m->norm_sum[tensor][(size_t)l * m->max_pos + t] += s / n_kv;
    }
}

static hs_status observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    pass *p = user;
    int l = hp->layer;
    if (l < 0 || l >= p->m->n_layers || t->shape[0] != 1 || t->shape[1] != p->T)
        return hs_fail(p->err, HS_ERR_INTERNAL, "magnitudes: hook of layer %d has an unexpected shape", l);
    if (hp->kind == HS_HOOK_RESID_POST)
        return add_resid(p, l, t->data);
    add_kv(p, hp->kind == HS_HOOK_K ? HS_MAG_K : HS_MAG_V, l, t->data, (int)t->shape[2], (int)t->shape[3]);
    return HS_OK;
}

void hs_magnitudes_free(hs_magnitudes *m)
{
    if (!m)
        return;
    for (int i = 0; i < HS_MAG_TENSORS; i++)
        free(m->norm_sum[i]);
    free(m->pos_count), free(m->max_rms_magnitude), free(m->n_massive), free(m->n_sink_tokens), free(m->massive);
    free(m->bos_h_sum), free(m->bos_top_count);
    memset(m, 0, sizeof *m);
}

static hs_status db_fail(hs_store *store, const char *what, hs_error *err)
{
    return hs_fail(err, HS_ERR_IO, "%s: %s: %s", hs_store_path_of(store), what, sqlite3_errmsg(hs_store_db(store)));
}

hs_status hs_magnitudes_collect(hs_store *store, const hs_run_info *run, const hs_model *model, int max_pos,
                                hs_magnitudes *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    if (max_pos < 1)
        return hs_fail(err, HS_ERR_ARG, "magnitudes: max_pos must be at least 1");
    HS_TRY(hs_run_info_check_model(store, run, model, err));
    int L = run->n_layers, d = model->cfg.d_model;
    int kv_cols = model->cfg.n_kv_heads > model->cfg.n_heads ? model->cfg.n_kv_heads : model->cfg.n_heads;
    out->n_layers = L, out->max_pos = max_pos, out->d_model = d;
    sqlite3 *db = hs_store_db(store);
    sqlite3_stmt *st_prompts = NULL, *st_tokens = NULL;
    hs_hooks *hooks = NULL;
    int32_t *ids = NULL;
    pass p = {.m = out, .d_model = d, .err = err};
    hs_status rc = HS_OK;
    for (int i = 0; i < HS_MAG_TENSORS; i++)
        if (!(out->norm_sum[i] = calloc((size_t)L * max_pos, sizeof(double))))
            rc = nomem(err);
    if (rc != HS_OK || !(out->pos_count = calloc((size_t)max_pos, sizeof *out->pos_count)) ||
        !(out->max_rms_magnitude = calloc((size_t)L, sizeof(double))) ||
        !(out->n_massive = calloc((size_t)L, sizeof(int64_t))) ||
        !(out->n_sink_tokens = calloc((size_t)L, sizeof(int64_t))) ||
        !(out->bos_h_sum = calloc((size_t)L * d, sizeof(double))) ||
        !(out->bos_top_count = calloc((size_t)L * d, sizeof(int64_t)))) {
        rc = nomem(err);
        goto done;
    }
    if ((rc = hs_hooks_new(&hooks, err)) != HS_OK ||
        (rc = hs_hooks_observe(hooks, "blocks.*.hook_resid_post", observe, &p, err)) != HS_OK ||
        (rc = hs_hooks_observe(hooks, "blocks.*.attn.hook_k", observe, &p, err)) != HS_OK ||
        (rc = hs_hooks_observe(hooks, "blocks.*.attn.hook_v", observe, &p, err)) != HS_OK)
        goto done;
    if (sqlite3_prepare_v2(db, "SELECT id, idx, n_tokens FROM prompts WHERE run_id = ?1 ORDER BY idx", -1, &st_prompts,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT token_id FROM tokens WHERE prompt_id = ?1 ORDER BY pos", -1, &st_tokens, NULL) !=
            SQLITE_OK) {
        rc = db_fail(store, "reading the run's prompts", err);
        goto done;
    }
    sqlite3_bind_int64(st_prompts, 1, run->id);
    int cap_T = 0, step;
    while ((step = sqlite3_step(st_prompts)) == SQLITE_ROW) {
        int64_t prompt_id = sqlite3_column_int64(st_prompts, 0);
        int idx = sqlite3_column_int(st_prompts, 1), T = sqlite3_column_int(st_prompts, 2);
        if (T < 1)
            continue;
        if (T > cap_T) {
            free(ids), free(p.scratch), free(p.norms);
            ids = malloc((size_t)T * sizeof *ids);
            p.scratch = malloc((size_t)T * d * sizeof(float));
            p.norms = malloc((size_t)T * (d > kv_cols ? d : kv_cols) * sizeof(float));
            if (!ids || !p.scratch || !p.norms) {
                rc = nomem(err);
                goto done;
            }
            cap_T = T;
        }
        sqlite3_reset(st_tokens);
        sqlite3_bind_int64(st_tokens, 1, prompt_id);
        int n = 0;
        while (n < T && sqlite3_step(st_tokens) == SQLITE_ROW)
            ids[n++] = sqlite3_column_int(st_tokens, 0);
        if (n != T) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d: %d tokens stored, %d expected", hs_store_path_of(store),
                         idx, n, T);
            goto done;
        }
        p.prompt_id = prompt_id, p.T = T;
        hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = T};
        if ((rc = hs_forward(model, &batch, hooks, HS_BACKEND_CPU, NULL, err)) != HS_OK) {
            hs_error_prefix(err, "%s: prompt %d", hs_store_path_of(store), idx);
            goto done;
        }
        for (int t = 0; t < T && t < max_pos; t++)
            out->pos_count[t]++;
        out->n_prompts++;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(store, "reading the run's prompts", err);
done:
    sqlite3_finalize(st_prompts), sqlite3_finalize(st_tokens);
    hs_hooks_free(hooks);
    free(ids), free(p.scratch), free(p.norms);
    if (rc != HS_OK)
        hs_magnitudes_free(out);
    return rc;
}

double hs_magnitudes_norm(const hs_magnitudes *m, int tensor, int layer, int pos)
{
    if (tensor < 0 || tensor >= HS_MAG_TENSORS || layer < 0 || layer >= m->n_layers || pos < 0 || pos >= m->max_pos ||
        !m->pos_count[pos])
        return NAN;
    return m->norm_sum[tensor][(size_t)layer * m->max_pos + pos] / (double)m->pos_count[pos];
}

hs_status hs_magnitudes_add_scores(const hs_magnitudes *m, hs_score_table *scores, hs_error *err)
{
    double n = m->n_prompts ? m->n_prompts : NAN;
    for (int l = 0; l < m->n_layers; l++) {
        HS_TRY(hs_score_table_add(scores, "massive_acts", l, -1, -1, (double)m->n_massive[l] / n, err));
        HS_TRY(hs_score_table_add(scores, "max_rms_magnitude", l, -1, -1, m->n_prompts ? m->max_rms_magnitude[l] : NAN,
                                  err));
        HS_TRY(hs_score_table_add(scores, "sink_tokens", l, -1, -1, (double)m->n_sink_tokens[l] / n, err));
    }
    return HS_OK;
}

static const char *const tensor_names[HS_MAG_TENSORS] = {"resid_post", "k", "v"};

hs_status hs_magnitudes_write(const hs_magnitudes *m, hs_store *store, int64_t run_id, hs_error *err)
{
    sqlite3 *db = hs_store_db(store);
    sqlite3_stmt *st = NULL;
    hs_status rc = HS_OK;
    char sql[160];
    static const char *const tables[] = {"position_norms", "massive_activations", "sink_dims"};
    for (int i = 0; i < 3; i++) {
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE run_id = ?1", tables[i]);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_bind_int64(st, 1, run_id) != SQLITE_OK ||
            sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(store, "replacing the run's magnitudes", err);
            goto done;
        }
        sqlite3_finalize(st), st = NULL;
    }
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO position_norms (run_id, tensor, layer, pos, norm, n_prompts) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(store, "writing position_norms", err);
        goto done;
    }
    for (int k = 0; k < HS_MAG_TENSORS; k++)
        for (int l = 0; l < m->n_layers; l++)
            for (int t = 0; t < m->max_pos && m->pos_count[t]; t++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, run_id);
                sqlite3_bind_text(st, 2, tensor_names[k], -1, SQLITE_STATIC);
                sqlite3_bind_int(st, 3, l);
                sqlite3_bind_int(st, 4, t);
                sqlite3_bind_double(st, 5, hs_magnitudes_norm(m, k, l, t));
                sqlite3_bind_int64(st, 6, m->pos_count[t]);
                if (sqlite3_step(st) != SQLITE_DONE) {
                    rc = db_fail(store, "writing position_norms", err);
                    goto done;
                }
            }
    sqlite3_finalize(st), st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO massive_activations (run_id, prompt_id, layer, pos, dim, value, ratio) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(store, "writing massive_activations", err);
        goto done;
    }
    for (int64_t i = 0; i < m->n_kept; i++) {
        const hs_massive_act *a = &m->massive[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, a->prompt_id);
        sqlite3_bind_int(st, 3, a->layer);
        sqlite3_bind_int(st, 4, a->pos);
        sqlite3_bind_int(st, 5, a->dim);
        sqlite3_bind_double(st, 6, a->value);
        if (isfinite(a->ratio))
            sqlite3_bind_double(st, 7, a->ratio);
        else
            sqlite3_bind_double(st, 7, 1e300);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(store, "writing massive_activations", err);
            goto done;
        }
    }
    sqlite3_finalize(st), st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO sink_dims (run_id, layer, dim, bos_magnitude, top_frac, n_prompts) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(store, "writing sink_dims", err);
        goto done;
    }
    for (int l = 0; l < m->n_layers && m->n_prompts > 0; l++)
        for (int j = 0; j < m->d_model; j++) {
            int64_t c = m->bos_top_count[(size_t)l * m->d_model + j];
            if (!c)
                continue;
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, run_id);
            sqlite3_bind_int(st, 2, l);
            sqlite3_bind_int(st, 3, j);
            sqlite3_bind_double(st, 4, m->bos_h_sum[(size_t)l * m->d_model + j] / m->n_prompts);
            sqlite3_bind_double(st, 5, (double)c / m->n_prompts);
            sqlite3_bind_int(st, 6, m->n_prompts);
            if (sqlite3_step(st) != SQLITE_DONE) {
                rc = db_fail(store, "writing sink_dims", err);
                goto done;
            }
        }
done:
    sqlite3_finalize(st);
    return rc;
}
