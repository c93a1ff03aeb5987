/* section_heads.c — the report's per-layer view of the head detectors (`analyze heads`): for each
 * detector, the best head's score in every layer, so where previous-token, duplicate-token,
 * induction and retrieval heads appear in depth reads off one figure. */
#define _GNU_SOURCE /* asprintf */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/report_ctx.h"
#include "viz/canvas.h"
#include "viz/lineplot.h"

static const char *const detectors[] = {"previous_token", "duplicate_token", "induction", "retrieval_echo",
                                        "retrieval_induction"};
#define N_DETECTORS (int)(sizeof detectors / sizeof detectors[0])

hs_status hs_report_section_heads(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    int L = run->n_layers;
    if (L < 1)
        return HS_OK;
    float *v = malloc((size_t)N_DETECTORS * L * sizeof *v);
    char **x = calloc((size_t)L, sizeof *x);
    hs_lineplot *p = NULL;
    hs_canvas *cv = NULL;
    sqlite3_stmt *st = NULL;
    hs_status rc = HS_OK;
    if (!v || !x) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < N_DETECTORS * L; i++)
        v[i] = NAN;
    if ((rc = hs_report_prepare(ctx,
                                "SELECT metric, layer, max(value) FROM head_scores WHERE run_id = ?1 AND "
                                "analysis = 'heads' AND prompt_id IS NULL AND head IS NOT NULL GROUP BY metric, layer",
                                &st, err)) != HS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, run->id);
    int any[N_DETECTORS] = {0}, n_any = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *metric = hs_report_col(st, 0);
        int l = sqlite3_column_int(st, 1);
        for (int d = 0; d < N_DETECTORS; d++)
            if (strcmp(metric, detectors[d]) == 0 && l >= 0 && l < L && sqlite3_column_type(st, 2) != SQLITE_NULL) {
                v[(size_t)d * L + l] = (float)sqlite3_column_double(st, 2);
                n_any += !any[d];
                any[d] = 1;
            }
    }
    sqlite3_finalize(st), st = NULL;
    if (n_any == 0)
        goto done;
    for (int l = 0; l < L; l++)
        if (asprintf(&x[l], "L%d", l) < 0) {
            x[l] = NULL;
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
    if ((rc = hs_lineplot_create(L, &p, err)) != HS_OK ||
        (rc = hs_lineplot_set_x_labels(p, (const char *const *)x, 0, err)) != HS_OK)
        goto done;
    for (int d = 0; d < N_DETECTORS && rc == HS_OK; d++)
        if (any[d])
            rc = hs_lineplot_add_series(p, detectors[d], v + (size_t)d * L, err);
    if (rc != HS_OK || (rc = hs_lineplot_set_title(p, "Strongest head of each layer, per detector", err)) != HS_OK ||
        (rc = hs_lineplot_set_axis_labels(p, "layer", "best head's score (mean over prompts)", err)) != HS_OK)
        goto done;
    hs_lineplot_set_y_range(p, 0, 1);
    if ((rc = hs_lineplot_draw(p, &cv, err)) != HS_OK)
        goto done;
    char id[64], slug[64], caption[320];
    snprintf(id, sizeof id, "run-%lld-heads-by-layer", (long long)run->id);
    if ((rc = hs_report_section_begin(ctx, 2, id, "analysis", "Head detectors by layer", err)) != HS_OK)
        goto done;
    snprintf(slug, sizeof slug, "heads-by-layer-run%lld", (long long)run->id);
    snprintf(caption, sizeof caption,
             "For each detector of headscope analyze heads, the largest score of any head in each layer (%s; "
             "TransformerLens detect_head semantics, retrieval scores of RazorAttention). The per-head heatmaps are in "
             "the 'heads' analysis below.",
             run->label);
    rc = hs_report_figure(ctx, cv, slug, caption, err);
    hs_html_end(ctx->h);
    ctx->sum->analyses++;
done:
    sqlite3_finalize(st);
    hs_canvas_free(cv);
    hs_lineplot_free(p);
    if (x)
        for (int l = 0; l < L; l++)
            free(x[l]);
    free(x), free(v);
    return rc;
}
