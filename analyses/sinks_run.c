/* sinks_run.c — the sinks analysis: stream prompts from the pattern source, accumulate the sink
 * rate (analyses/sinks.c) and hidden sinks per head, replace the run's 'sinks' rows. */
#include "analyses/sinks_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/score_table.h"
#include "analyses/run_info.h"
#include "analyses/sinks.h"
#include "base/error.h"

void hs_sinks_options_default(hs_sinks_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->run_id = -1;
    opt->eps = 0.3f;
    opt->t_cut = 64;
    opt->tau = 0.1f;
    opt->per_prompt = 1;
}

void hs_sinks_result_free(hs_sinks_result *res)
{
    if (res) {
        free(res->layer_rate);
        res->layer_rate = NULL;
    }
}

hs_status hs_sinks_analyze(hs_store *store, const hs_model *model, const hs_sinks_options *opt, hs_sinks_result *res,
                           hs_error *err)
{
    memset(res, 0, sizeof *res);
    hs_pattern_source *src = NULL;
    hs_score_table *table = NULL;
    hs_sink_rate *rate = NULL;
    float *alpha = NULL;
    double *hidden_sum = NULL;
    int *hidden_n = NULL;
    int cap_T = 0;
    hs_status rc;
    if ((rc = hs_pattern_source_open(store, opt->run_id, model, opt->source_flags, &src, err)) != HS_OK ||
        (rc = hs_score_table_new(HS_SINKS_ANALYSIS, &table, err)) != HS_OK)
        goto done;
    res->source = *hs_pattern_source_info_of(src);
    int L = res->source.run.n_layers, H = res->source.run.n_heads, LH = L * H;
    if ((rc = hs_sink_rate_new(L, H, opt->eps, opt->t_cut, &rate, err)) != HS_OK)
        goto done;
    if (!(hidden_sum = calloc((size_t)LH, sizeof *hidden_sum)) || !(hidden_n = calloc((size_t)LH, sizeof *hidden_n)) ||
        !(res->layer_rate = malloc((size_t)L * sizeof *res->layer_rate))) {
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
            if (opt->per_prompt &&
                ((rc = hs_score_table_add(table, "alpha0", lh / H, lh % H, p->prompt_id, a0, err)) != HS_OK ||
                 (rc = hs_score_table_add(table, "sink", lh / H, lh % H, p->prompt_id, a0 > opt->eps ? 1.0 : 0.0,
                                          err)) != HS_OK ||
                 (rc = hs_score_table_add(table, "hidden_sinks", lh / H, lh % H, p->prompt_id, hidden, err)) != HS_OK))
                goto done;
        }
    }
    if (rc != HS_OK)
        goto done;
    for (int lh = 0; lh < LH && rc == HS_OK; lh++) {
        if (!hidden_n[lh])
            continue;
        int l = lh / H, h = lh % H;
        if ((rc = hs_score_table_add(table, "alpha0", l, h, -1, hs_sink_rate_mean_alpha0(rate, l, h), err)) == HS_OK &&
            (rc = hs_score_table_add(table, "sink", l, h, -1, hs_sink_rate_head(rate, l, h), err)) == HS_OK)
            rc = hs_score_table_add(table, "hidden_sinks", l, h, -1, hidden_sum[lh] / hidden_n[lh], err);
    }
    for (int l = 0; l < L && rc == HS_OK; l++) {
        res->layer_rate[l] = hs_sink_rate_layer(rate, l);
        rc = hs_score_table_add(table, "sink_rate", l, -1, -1, res->layer_rate[l], err);
    }
    res->rate = hs_sink_rate_overall(rate);
    res->n_short = (int)hs_sink_rate_n_short(rate);
    if (rc == HS_OK)
        rc = hs_score_table_add(table, "sink_rate", -1, -1, -1, res->rate, err);
    if (rc == HS_OK && (rc = hs_score_table_replace(table, store, res->source.run.id, err)) == HS_OK)
        res->n_rows = hs_score_table_rows(table);
done:
    if (rc != HS_OK)
        hs_sinks_result_free(res);
    free(alpha), free(hidden_sum), free(hidden_n);
    hs_sink_rate_free(rate);
    hs_score_table_free(table);
    hs_pattern_source_close(src);
    return rc;
}
