/* heads.c — the head-detector analysis: stream prompts from the pattern source, score every head,
 * average over prompts, replace the run's 'heads' rows in head_scores. */
#include "analyses/heads/heads.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/common/score_table.h"
#include "base/error.h"
#include "datasets/repeated_blocks.h"
#include "model/model.h"

enum { M_PREV, M_DUP, M_IND, M_ECHO, M_RIND, M_DIST, M_ENT };

const char *const hs_heads_metric_names[HS_HEADS_N_METRICS] = {
    [M_PREV] = "previous_token", [M_DUP] = "duplicate_token", [M_IND] = "induction",
    [M_ECHO] = "retrieval_echo", [M_RIND] = "retrieval_induction", [M_DIST] = "attn_distance",
    [M_ENT] = "entropy",
};

void hs_heads_options_default(hs_heads_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->run_id = -1;
    opt->per_prompt = 1;
}

/* Running means over prompts, per metric and head; NaN values (nothing to score) are left out. */
typedef struct means {
    double *sum;  /* [M, L*H] */
    int *n;       /* [M, L*H] */
} means;

hs_status hs_heads_analyze(hs_store *store, const hs_model *model, const hs_heads_options *opt, hs_heads_result *res,
                           hs_error *err)
{
    memset(res, 0, sizeof *res);
    hs_pattern_source *src = NULL;
    hs_score_table *table = NULL;
    float *D = NULL;
    means mean = {0};
    int cap_T = 0;
    hs_status rc;
    if ((rc = hs_pattern_source_open(store, opt->run_id, model, opt->source_flags, &src, err)) != HS_OK ||
        (rc = hs_score_table_new(HS_HEADS_ANALYSIS, &table, err)) != HS_OK)
        goto done;
    res->source = *hs_pattern_source_info_of(src);
    int L = res->source.run.n_layers, H = res->source.run.n_heads, LH = L * H;
    if (!(mean.sum = calloc((size_t)HS_HEADS_N_METRICS * (size_t)LH, sizeof *mean.sum)) ||
        !(mean.n = calloc((size_t)HS_HEADS_N_METRICS * (size_t)LH, sizeof *mean.n))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    const hs_pattern_prompt *p;
    while ((rc = hs_pattern_source_next(src, &p, err)) == HS_OK && p) {
        int T = p->T;
        size_t TT = (size_t)T * (size_t)T;
        if (T > cap_T) {
            free(D);
            if (!(D = malloc(3 * TT * sizeof *D))) {
                rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
                goto done;
            }
            cap_T = T;
        }
        float *Dprev = D, *Ddup = D + TT, *Dind = D + 2 * TT;
        hs_detect_previous_token(T, Dprev);
        hs_detect_duplicate_token(p->ids, T, Ddup);
        hs_detect_induction(p->ids, T, Dind);
        hs_repeat_layout lay;
        int repeated = 0;
        if ((rc = hs_repeat_layout_read(p->meta_json, p->ids, T, &lay, &repeated, err)) != HS_OK) {
            hs_error_prefix(err, "%s: prompt %d", hs_store_path_of(store), p->idx);
            goto done;
        }
        res->n_prompts++;
        res->n_repeated += repeated;
        for (int lh = 0; lh < LH; lh++) {
            if (!p->head_kept[lh])
                continue;
            const float *A = p->pattern + (size_t)lh * TT;
            double v[HS_HEADS_N_METRICS];
            v[M_PREV] = hs_detect_score_mul(A, Dprev, T, p->row_kept, &opt->detect);
            v[M_DUP] = hs_detect_score_mul(A, Ddup, T, p->row_kept, &opt->detect);
            v[M_IND] = hs_detect_score_mul(A, Dind, T, p->row_kept, &opt->detect);
            v[M_ECHO] = v[M_RIND] = NAN;
            if (repeated)
                hs_retrieval_scores(A, T, lay.offset, lay.block_len, lay.copies, p->row_kept, &v[M_ECHO], &v[M_RIND]);
            v[M_DIST] = hs_attention_distance(A, T, p->row_kept);
            v[M_ENT] = hs_attention_entropy(A, T, p->row_kept);
            for (int m = 0; m < HS_HEADS_N_METRICS; m++) {
                if ((m == M_ECHO || m == M_RIND) && !repeated)
                    continue;
                if (opt->per_prompt && (rc = hs_score_table_add(table, hs_heads_metric_names[m], lh / H, lh % H,
                                                                p->prompt_id, v[m], err)) != HS_OK)
                    goto done;
                if (!isnan(v[m])) {
                    mean.sum[m * LH + lh] += v[m];
                    mean.n[m * LH + lh]++;
                }
            }
        }
    }
    if (rc != HS_OK)
        goto done;
    for (int m = 0; m < HS_HEADS_N_METRICS; m++)
        for (int lh = 0; lh < LH; lh++) {
            int n = mean.n[m * LH + lh];
            if (n && (rc = hs_score_table_add(table, hs_heads_metric_names[m], lh / H, lh % H, -1,
                                              mean.sum[m * LH + lh] / n, err)) != HS_OK)
                goto done;
        }
    int from_model = res->source.origin == HS_PATTERNS_FROM_MODEL;
    if ((rc = hs_score_table_set_provenance(
             table,
             json_pack("{s:b, s:b, s:s}", "exclude_bos", opt->detect.exclude_bos, "exclude_current_token",
                       opt->detect.exclude_current_token, "patterns", from_model ? "model" : "store"),
             from_model ? model->path : NULL, from_model ? res->source.run.model_sha256 : NULL, err)) != HS_OK ||
        (rc = hs_score_table_replace(table, store, res->source.run.id, err)) != HS_OK)
        goto done;
    res->n_rows = hs_score_table_rows(table);
done:
    free(D);
    free(mean.sum);
    free(mean.n);
    hs_score_table_free(table);
    hs_pattern_source_close(src);
    return rc;
}
