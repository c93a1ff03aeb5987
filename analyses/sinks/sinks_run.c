/* sinks_run.c — the sinks analysis: stream prompts from the pattern source, accumulate the sink
 * rate (analyses/sinks/sinks.c) and hidden sinks per head, replace the run's 'sinks' rows. */
#include "analyses/sinks/sinks_run.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/sinks/magnitudes_run.h"
#include "analyses/common/score_table.h"
#include "analyses/common/run_info.h"
#include "analyses/sinks/sinks.h"
#include "base/error.h"
#include "model/model.h"

void hs_sinks_options_default(hs_sinks_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->run_id = -1;
    opt->eps = 0.3f;
    opt->t_cut = 64;
    opt->tau = 0.1f;
    opt->per_prompt = 1;
    opt->max_pos = 256;
    opt->magnitudes = 1;
}

void hs_sinks_result_free(hs_sinks_result *res)
{
    if (res) {
        free(res->layer_rate), free(res->head_hidden);
        res->layer_rate = NULL, res->head_hidden = NULL;
    }
}

/* Replaces the run's sink_positions rows (inside the caller's transaction).
 *   pos_alpha, pos_hidden: [L, H, P]; pos_n: [P] */
static hs_status write_positions(hs_store *store, int64_t run_id, int L, int H, int P, const double *pos_alpha,
                                 const int64_t *pos_hidden, const int64_t *pos_n, hs_error *err)
{
    sqlite3 *db = hs_store_db(store);
    sqlite3_stmt *del = NULL, *ins = NULL;
    hs_status rc = HS_OK;
    if (sqlite3_prepare_v2(db, "DELETE FROM sink_positions WHERE run_id = ?1", -1, &del, NULL) != SQLITE_OK ||
        sqlite3_bind_int64(del, 1, run_id) != SQLITE_OK || sqlite3_step(del) != SQLITE_DONE ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO sink_positions (run_id, layer, head, pos, alpha, hidden_freq, n_prompts) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = hs_fail(err, HS_ERR_IO, "%s: writing sink_positions: %s", hs_store_path_of(store), sqlite3_errmsg(db));
        goto done;
    }
    for (int lh = 0; lh < L * H; lh++)
        for (int k = 0; k < P && pos_n[k]; k++) {
            double n = (double)pos_n[k];
            sqlite3_reset(ins);
            sqlite3_bind_int64(ins, 1, run_id);
            sqlite3_bind_int(ins, 2, lh / H);
            sqlite3_bind_int(ins, 3, lh % H);
            sqlite3_bind_int(ins, 4, k);
            sqlite3_bind_double(ins, 5, pos_alpha[(size_t)lh * P + k] / n);
            if (k > 0)
                sqlite3_bind_double(ins, 6, (double)pos_hidden[(size_t)lh * P + k] / n);
            else
                sqlite3_bind_null(ins, 6);
            sqlite3_bind_int64(ins, 7, pos_n[k]);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                rc = hs_fail(err, HS_ERR_IO, "%s: writing sink_positions: %s", hs_store_path_of(store),
                             sqlite3_errmsg(db));
                goto done;
            }
        }
done:
    sqlite3_finalize(del), sqlite3_finalize(ins);
    return rc;
}

hs_status hs_sinks_analyze(hs_store *store, const hs_model *model, const hs_sinks_options *opt, hs_sinks_result *res,
                           hs_error *err)
{
    memset(res, 0, sizeof *res);
    hs_pattern_source *src = NULL;
    hs_score_table *table = NULL;
    hs_sink_rate *rate = NULL;
    float *alpha = NULL;
    double *hidden_sum = NULL, *entropy_sum = NULL;
    int *hidden_n = NULL;
    double *pos_alpha = NULL;   /* [L, H, max_pos] sums of alpha_k */
    int64_t *pos_hidden = NULL; /* [L, H, max_pos] prompts where k is a hidden sink */
    int64_t *pos_n = NULL;      /* [max_pos] prompts reaching k */
    hs_magnitudes mag = {0};
    int cap_T = 0;
    hs_status rc;
    if ((rc = hs_pattern_source_open(store, opt->run_id, model, opt->source_flags, &src, err)) != HS_OK ||
        (rc = hs_score_table_new(HS_SINKS_ANALYSIS, &table, err)) != HS_OK)
        goto done;
    res->source = *hs_pattern_source_info_of(src);
    int L = res->source.run.n_layers, H = res->source.run.n_heads, LH = L * H;
    int P = opt->max_pos > 0 ? opt->max_pos : 256;
    if ((rc = hs_sink_rate_new(L, H, opt->eps, opt->t_cut, &rate, err)) != HS_OK)
        goto done;
    if (!(hidden_sum = calloc((size_t)LH, sizeof *hidden_sum)) || !(hidden_n = calloc((size_t)LH, sizeof *hidden_n)) ||
        !(entropy_sum = calloc((size_t)LH, sizeof *entropy_sum)) ||
        !(pos_alpha = calloc((size_t)LH * P, sizeof *pos_alpha)) ||
        !(pos_hidden = calloc((size_t)LH * P, sizeof *pos_hidden)) || !(pos_n = calloc((size_t)P, sizeof *pos_n)) ||
        !(res->layer_rate = malloc((size_t)L * sizeof *res->layer_rate)) ||
        !(res->head_hidden = malloc((size_t)LH * sizeof *res->head_hidden))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    const hs_pattern_prompt *p;
    while ((rc = hs_pattern_source_next(src, &p, err)) == HS_OK && p) {
        int T = p->T;
        for (int i = 0; i < T; i++)
            if (!p->row_kept[i]) {
                rc = hs_fail(err, HS_ERR_MISSING,
                             "%s: prompt %d: sink scores need every query row, but the run stored only some "
                             "positions; pass --model and --recompute",
                             hs_store_path_of(store), p->idx);
                goto done;
            }
        if (T > cap_T) {
            free(alpha);
            if (!(alpha = malloc((size_t)T * sizeof *alpha))) {
                rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
                goto done;
            }
            cap_T = T;
        }
        res->n_prompts++;
        for (int k = 0; k < T && k < P; k++)
            pos_n[k]++;
        for (int lh = 0; lh < LH; lh++) {
            if (!p->head_kept[lh])
                continue;
            const float *A = p->pattern + (size_t)lh * (size_t)T * (size_t)T;
            float a0;
            if ((rc = hs_sink_rate_add(rate, lh / H, lh % H, A, T, &a0, err)) != HS_OK)
                goto done;
            hs_sinks_scores(A, T, T, alpha);
            int hidden = 0;
            for (int k = 1; k < T; k++)
                hidden += alpha[k] > opt->tau;
            hidden_sum[lh] += hidden;
            hidden_n[lh]++;
            double entropy = hs_sinks_entropy(A, T);
            entropy_sum[lh] += entropy;
            for (int k = 0; k < T && k < P; k++) {
                pos_alpha[(size_t)lh * P + k] += alpha[k];
                pos_hidden[(size_t)lh * P + k] += k > 0 && alpha[k] > opt->tau;
            }
            if (opt->per_prompt &&
                ((rc = hs_score_table_add(table, "alpha0", lh / H, lh % H, p->prompt_id, a0, err)) != HS_OK ||
                 (rc = hs_score_table_add(table, "sink", lh / H, lh % H, p->prompt_id, a0 > opt->eps ? 1.0 : 0.0,
                                          err)) != HS_OK ||
                 (rc = hs_score_table_add(table, "hidden_sinks", lh / H, lh % H, p->prompt_id, hidden, err)) != HS_OK ||
                 (rc = hs_score_table_add(table, "entropy", lh / H, lh % H, p->prompt_id, entropy, err)) != HS_OK))
                goto done;
        }
    }
    if (rc != HS_OK)
        goto done;
    for (int lh = 0; lh < LH && rc == HS_OK; lh++) {
        res->head_hidden[lh] = hidden_n[lh] ? hidden_sum[lh] / hidden_n[lh] : NAN;
        if (!hidden_n[lh])
            continue;
        int l = lh / H, h = lh % H;
        if ((rc = hs_score_table_add(table, "alpha0", l, h, -1, hs_sink_rate_mean_alpha0(rate, l, h), err)) == HS_OK &&
            (rc = hs_score_table_add(table, "sink", l, h, -1, hs_sink_rate_head(rate, l, h), err)) == HS_OK &&
            (rc = hs_score_table_add(table, "hidden_sinks", l, h, -1, hidden_sum[lh] / hidden_n[lh], err)) == HS_OK)
            rc = hs_score_table_add(table, "entropy", l, h, -1, entropy_sum[lh] / hidden_n[lh], err);
    }
    for (int l = 0; l < L && rc == HS_OK; l++) {
        res->layer_rate[l] = hs_sink_rate_layer(rate, l);
        rc = hs_score_table_add(table, "sink_rate", l, -1, -1, res->layer_rate[l], err);
    }
    res->rate = hs_sink_rate_overall(rate);
    res->n_short = (int)hs_sink_rate_n_short(rate);
    if (rc == HS_OK)
        rc = hs_score_table_add(table, "sink_rate", -1, -1, -1, res->rate, err);
    if (rc == HS_OK && model && opt->magnitudes) {
        if ((rc = hs_magnitudes_collect(store, &res->source.run, model, P, &mag, err)) != HS_OK ||
            (rc = hs_magnitudes_add_scores(&mag, table, err)) != HS_OK)
            goto done;
        res->magnitudes = 1;
        for (int l = 0; l < L; l++) {
            res->n_massive += mag.n_massive[l];
            if (mag.max_rms_magnitude[l] > res->max_rms_magnitude)
                res->max_rms_magnitude = mag.max_rms_magnitude[l];
        }
    }
    int used_model = res->magnitudes || res->source.origin == HS_PATTERNS_FROM_MODEL;
    if (rc == HS_OK)
        rc = hs_score_table_set_provenance(
            table,
            json_pack("{s:f, s:i, s:f, s:i, s:b, s:s}", "eps", (double)opt->eps, "t", opt->t_cut, "tau",
                      (double)opt->tau, "max_pos", P, "magnitudes", res->magnitudes,
                      "patterns", res->source.origin == HS_PATTERNS_FROM_MODEL ? "model" : "store"),
            used_model ? model->path : NULL, used_model ? res->source.run.model_sha256 : NULL, err);
    if (rc == HS_OK && (rc = hs_store_begin(store, err)) == HS_OK) {
        int64_t run_id = res->source.run.id;
        if ((rc = hs_score_table_write(table, store, run_id, err)) != HS_OK ||
            (rc = write_positions(store, run_id, L, H, P, pos_alpha, pos_hidden, pos_n, err)) != HS_OK ||
            (res->magnitudes && (rc = hs_magnitudes_write(&mag, store, run_id, err)) != HS_OK))
            hs_store_rollback(store);
        else
            rc = hs_store_commit(store, err);
    }
    if (rc == HS_OK)
        res->n_rows = hs_score_table_rows(table);
done:
    if (rc != HS_OK)
        hs_sinks_result_free(res);
    free(alpha), free(hidden_sum), free(hidden_n), free(entropy_sum), free(pos_alpha), free(pos_hidden), free(pos_n);
    hs_magnitudes_free(&mag);
    hs_sink_rate_free(rate);
    hs_score_table_free(table);
    hs_pattern_source_close(src);
    return rc;
}
