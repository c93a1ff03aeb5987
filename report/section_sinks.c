/* section_sinks.c — the report's attention-sink section (what `analyze sinks` wrote beyond per-head
 * heatmaps): the sink rate by layer, sink scores by key position and head, where hidden sinks sit,
 * norms by position, massive activations per layer, and the ACT calibration's held-out effect. */
#define _GNU_SOURCE /* asprintf */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/report_ctx.h"
#include "viz/barchart.h"
#include "viz/canvas.h"
#include "viz/colormap.h"
#include "viz/heatmap.h"
#include "viz/lineplot.h"

#define SINK_POSITIONS_SHOWN 64 /* key positions drawn (the table keeps up to --max-pos) */
#define NORM_LAYERS_SHOWN 8     /* layers drawn as curves (evenly spaced when the model has more) */

/* n labels "<prefix><i>" (or "L<i/H>H<i%H>" when H > 0). NULL when out of memory. */
static char **labels(int n, const char *prefix, int H)
{
    char **s = calloc((size_t)n, sizeof *s);
    for (int i = 0; s && i < n; i++)
        if ((H > 0 ? asprintf(&s[i], "L%dH%d", i / H, i % H) : asprintf(&s[i], "%s%d", prefix, i)) < 0) {
            s[i] = NULL;
            hs_report_free_strings(s, n);
            return NULL;
        }
    return s;
}

/* Per-layer values of a head_scores metric with head NULL: v [L], NaN where absent. Returns rows read. */
static int layer_metric(hs_report_ctx *ctx, const hs_report_run *run, const char *analysis, const char *metric,
                        float *v, int L)
{
    for (int l = 0; l < L; l++)
        v[l] = NAN;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ctx->db,
                           "SELECT layer, value FROM head_scores WHERE run_id = ?1 AND analysis = ?2 AND metric = ?3 "
                           "AND head IS NULL AND layer IS NOT NULL AND prompt_id IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_text(st, 2, analysis, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int l = sqlite3_column_int(st, 0);
        if (l >= 0 && l < L && sqlite3_column_type(st, 1) != SQLITE_NULL)
            v[l] = (float)sqlite3_column_double(st, 1), n++;
    }
    sqlite3_finalize(st);
    return n;
}

/* One run-level head_scores value (layer and head NULL); NaN when absent. */
static double run_metric(hs_report_ctx *ctx, const hs_report_run *run, const char *analysis, const char *metric)
{
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(ctx->db,
                           "SELECT value FROM head_scores WHERE run_id = ?1 AND analysis = ?2 AND metric = ?3 "
                           "AND layer IS NULL AND head IS NULL AND prompt_id IS NULL",
                           -1, &st, NULL) != SQLITE_OK)
        return v;
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_text(st, 2, analysis, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* How many positions of a per-position table (sink_positions, position_norms) the figures draw: the
 * run's positions, at most SINK_POSITIONS_SHOWN; 0 when the run has no rows. */
static hs_status positions_shown(hs_report_ctx *ctx, const hs_report_run *run, const char *table, int *P,
                                 hs_error *err)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT max(pos) + 1 FROM %s WHERE run_id = ?1", table);
    sqlite3_stmt *st;
    *P = 0;
    HS_TRY(hs_report_prepare(ctx, sql, &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    if (sqlite3_step(st) == SQLITE_ROW)
        *P = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (*P > SINK_POSITIONS_SHOWN)
        *P = SINK_POSITIONS_SHOWN;
    return HS_OK;
}

static hs_status sink_rate_curve(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    int L = run->n_layers;
    float *v = malloc((size_t)L * sizeof *v);
    char **x = labels(L, "L", 0);
    hs_lineplot *p = NULL;
    hs_canvas *cv = NULL;
    hs_status rc = HS_OK;
    if (!v || !x) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!layer_metric(ctx, run, "sinks", "sink_rate", v, L))
        goto done;
    if ((rc = hs_lineplot_create(L, &p, err)) != HS_OK ||
        (rc = hs_lineplot_set_x_labels(p, (const char *const *)x, 0, err)) != HS_OK ||
        (rc = hs_lineplot_add_series(p, NULL, v, err)) != HS_OK ||
        (rc = hs_lineplot_set_title(p, "Sink rate by layer", err)) != HS_OK ||
        (rc = hs_lineplot_set_axis_labels(p, "layer", "fraction of (prompt, head) with alpha_0 > eps", err)) != HS_OK)
        goto done;
    hs_lineplot_set_y_range(p, 0, 1);
    if ((rc = hs_lineplot_draw(p, &cv, err)) != HS_OK)
        goto done;
    char slug[64], caption[320];
    snprintf(slug, sizeof slug, "sink-rate-run%lld", (long long)run->id);
    snprintf(caption, sizeof caption,
             "Sink rate per layer (%s): the fraction of (prompt, head) pairs whose first-token sink score alpha_0, "
             "over the first T tokens, exceeds eps (Gu et al.; head_scores metric sink_rate). Model: %.2f %%.",
             run->label, 100 * run_metric(ctx, run, "sinks", "sink_rate"));
    rc = hs_report_figure(ctx, cv, slug, caption, err);
done:
    hs_canvas_free(cv);
    hs_lineplot_free(p);
    hs_report_free_strings(x, L);
    free(v);
    return rc;
}

/* Sink scores alpha_k per head and key position, and the hidden-sink frequency per position. */
static hs_status sink_positions(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    int L = run->n_layers, H = run->n_heads, LH = L * H, P;
    sqlite3_stmt *st;
    HS_TRY(positions_shown(ctx, run, "sink_positions", &P, err));
    if (P <= 0)
        return HS_OK;
    float *alpha = malloc((size_t)LH * P * sizeof *alpha), *freq = calloc((size_t)P, sizeof *freq);
    int *freq_n = calloc((size_t)P, sizeof *freq_n);
    char **rows = labels(LH, NULL, H), **cols = labels(P, "", 0);
    hs_heatmap *map = NULL;
    hs_barchart *bars = NULL;
    hs_canvas *cv = NULL;
    hs_status rc = HS_OK;
    if (!alpha || !freq || !freq_n || !rows || !cols) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < LH * P; i++)
        alpha[i] = NAN;
    if ((rc = hs_report_prepare(ctx,
                                "SELECT layer, head, pos, alpha, hidden_freq FROM sink_positions WHERE run_id = ?1 "
                                "AND pos < ?2",
                                &st, err)) != HS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_int(st, 2, P);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int l = sqlite3_column_int(st, 0), h = sqlite3_column_int(st, 1), k = sqlite3_column_int(st, 2);
        if (l < 0 || l >= L || h < 0 || h >= H || k < 0 || k >= P)
            continue;
        alpha[((size_t)l * H + h) * P + k] = (float)sqlite3_column_double(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            freq[k] += (float)sqlite3_column_double(st, 4), freq_n[k]++;
    }
    sqlite3_finalize(st);
    if ((rc = hs_heatmap_create(LH, P, alpha, &map, err)) != HS_OK ||
        (rc = hs_heatmap_set_row_labels(map, (const char *const *)rows, 0, err)) != HS_OK ||
        (rc = hs_heatmap_set_col_labels(map, (const char *const *)cols, 0, err)) != HS_OK ||
        (rc = hs_heatmap_set_label_join(map, ", key ", err)) != HS_OK ||
        (rc = hs_heatmap_set_title(map, "Sink score alpha_k by head and key position", err)) != HS_OK ||
        (rc = hs_heatmap_set_axis_labels(map, "key position k", "head", err)) != HS_OK)
        goto done;
    hs_heatmap_set_colormap(map, HS_COLORMAP_SEQUENTIAL);
    hs_heatmap_set_cell_size(map, LH > 64 ? 8 : 12);
    char slug[64], caption[400];
    if ((rc = hs_heatmap_draw(map, &cv, err)) != HS_OK)
        goto done;
    snprintf(slug, sizeof slug, "sink-positions-run%lld", (long long)run->id);
    snprintf(caption, sizeof caption,
             "alpha_k = sum_{i>=k} A[i, k] / (T - k) over the whole prompt, the mean attention key k receives from the "
             "queries that see it, averaged over the prompts that reach k (%s; table sink_positions). Column 0 is "
             "the first-token sink; bright cells further right are hidden sinks. Late keys are seen by few queries, so "
             "their scores are noisy.",
             run->label);
    if ((rc = hs_report_figure(ctx, cv, slug, caption, err)) != HS_OK)
        goto done;
    hs_canvas_free(cv), cv = NULL;
    for (int k = 0; k < P; k++)
        freq[k] = freq_n[k] ? freq[k] / freq_n[k] : NAN;
    /* hidden sinks are keys k >= 1: the categories start there, so on a thinned axis no bar stands
     * over the label of a position it is not (the bar of k = 1 sat over the "0" tick) */
    if (P < 2)
        goto done;
    if ((rc = hs_barchart_create(P - 1, &bars, err)) != HS_OK ||
        (rc = hs_barchart_set_labels(bars, (const char *const *)cols + 1, 0, err)) != HS_OK ||
        (rc = hs_barchart_add_series(bars, NULL, freq + 1, err)) != HS_OK ||
        (rc = hs_barchart_set_title(bars, "Where hidden sinks sit", err)) != HS_OK ||
        (rc = hs_barchart_set_axis_labels(bars, "key position k", "fraction of (prompt, head) with alpha_k > tau", err)) !=
            HS_OK ||
        (rc = hs_barchart_draw(bars, &cv, err)) != HS_OK)
        goto done;
    snprintf(slug, sizeof slug, "hidden-sink-positions-run%lld", (long long)run->id);
    snprintf(caption, sizeof caption,
             "Hidden (non-initial) sinks by absolute key position (%s): how often position k > 0 has alpha_k > tau "
             "(ACT), over the prompts that reach k and every head.",
             run->label);
    rc = hs_report_figure(ctx, cv, slug, caption, err);
done:
    hs_canvas_free(cv);
    hs_heatmap_free(map);
    hs_barchart_free(bars);
    hs_report_free_strings(rows, LH), hs_report_free_strings(cols, P);
    free(alpha), free(freq), free(freq_n);
    return rc;
}

/* Mean L2 norm by position, one curve per layer (at most NORM_LAYERS_SHOWN), one figure per tensor. */
static hs_status norm_curves(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    static const char *tensors[3] = {"resid_post", "k", "v"};
    static const char *titles[3] = {"Residual stream norm by position (block outputs)", "Key norm by position",
                                    "Value norm by position"};
    int L = run->n_layers, P;
    sqlite3_stmt *st;
    HS_TRY(positions_shown(ctx, run, "position_norms", &P, err));
    if (P <= 0)
        return HS_OK;
    float *v = malloc((size_t)L * P * sizeof *v);
    char **x = labels(P, "", 0);
    hs_status rc = HS_OK;
    if (!v || !x) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    int shown = L < NORM_LAYERS_SHOWN ? L : NORM_LAYERS_SHOWN;
    for (int t = 0; t < 3 && rc == HS_OK; t++) {
        for (int i = 0; i < L * P; i++)
            v[i] = NAN;
        if ((rc = hs_report_prepare(ctx,
                                    "SELECT layer, pos, norm FROM position_norms WHERE run_id = ?1 AND tensor = ?2 "
                                    "AND pos < ?3",
                                    &st, err)) != HS_OK)
            break;
        sqlite3_bind_int64(st, 1, run->id);
        sqlite3_bind_text(st, 2, tensors[t], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, P);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int l = sqlite3_column_int(st, 0), k = sqlite3_column_int(st, 1);
            if (l >= 0 && l < L && k >= 0 && k < P)
                v[(size_t)l * P + k] = (float)sqlite3_column_double(st, 2);
        }
        sqlite3_finalize(st);
        hs_lineplot *p = NULL;
        hs_canvas *cv = NULL;
        if ((rc = hs_lineplot_create(P, &p, err)) == HS_OK &&
            (rc = hs_lineplot_set_x_labels(p, (const char *const *)x, 0, err)) == HS_OK) {
            for (int s = 0; s < shown && rc == HS_OK; s++) {
                int l = shown == L ? s : (int)lround((double)s * (L - 1) / (shown - 1));
                char name[16];
                snprintf(name, sizeof name, "L%d", l);
                rc = hs_lineplot_add_series(p, name, v + (size_t)l * P, err);
            }
        }
        if (rc == HS_OK && (rc = hs_lineplot_set_title(p, titles[t], err)) == HS_OK &&
            (rc = hs_lineplot_set_axis_labels(p, "position", "mean L2 norm", err)) == HS_OK &&
            (rc = hs_lineplot_draw(p, &cv, err)) == HS_OK) {
            char slug[64], caption[320];
            snprintf(slug, sizeof slug, "norms-%s-run%lld", tensors[t], (long long)run->id);
            snprintf(caption, sizeof caption,
                     "Mean L2 norm of %s per position and layer over the prompts (%s; table position_norms%s). "
                     "A sink token usually stands out by a much larger residual norm and a smaller value norm.",
                     t == 0 ? "the block output" : t == 1 ? "the keys (averaged over kv heads)"
                                                         : "the values (averaged over kv heads)",
                     run->label, shown < L ? "; evenly spaced layers shown" : "");
            rc = hs_report_figure(ctx, cv, slug, caption, err);
        }
        hs_canvas_free(cv);
        hs_lineplot_free(p);
    }
done:
    hs_report_free_strings(x, P);
    free(v);
    return rc;
}

static void cell(hs_html *h, const char *tag, const char *fmt, double v)
{
    hs_html_start(h, tag, "class", "num", NULL);
    if (isnan(v))
        hs_html_text(h, "\xe2\x80\x93");
    else
        hs_html_textf(h, fmt, v);
    hs_html_end(h);
}

/* Massive activations, largest RMS-normalised magnitude and sink tokens per layer. */
static void magnitudes_table(hs_report_ctx *ctx, const hs_report_run *run)
{
    int L = run->n_layers;
    float *m = malloc((size_t)3 * L * sizeof *m);
    if (!m)
        return;
    static const char *metrics[3] = {"massive_acts", "max_rms_magnitude", "sink_tokens"};
    int any = 0;
    for (int i = 0; i < 3; i++)
        any += layer_metric(ctx, run, "sinks", metrics[i], m + (size_t)i * L, L);
    if (any) {
        hs_html *h = ctx->h;
        hs_html_element(h, "p",
                        "Per layer, over the prompts: massive activations per prompt (block-output activations with "
                        "|x| > 100 and > 1000 x the layer's median |x|, Sun et al.; each is a row of "
                        "massive_activations), the largest |x| / rms(x) of any activation (at most sqrt(d_model)), and "
                        "sink tokens per prompt (positions t > 0 whose |x| / rms exceeds 20 on a sink dimension of "
                        "position 0, \"See What You Are Told\"), and the dimensions where position 0 is largest "
                        "(table sink_dims; they are sink dimensions in that paper's sense when above 20).",
                        "class", "def", NULL);
        hs_html_start(h, "table", "class", "top-heads", NULL);
        hs_html_start(h, "tr", NULL);
        hs_html_element(h, "th", "layer", NULL);
        hs_html_element(h, "th", "massive activations / prompt", NULL);
        hs_html_element(h, "th", "max |x| / rms", NULL);
        hs_html_element(h, "th", "sink tokens / prompt", NULL);
        hs_html_element(h, "th", "largest dims of position 0 (mean |x| / rms there)", NULL);
        hs_html_end(h);
        sqlite3_stmt *st = NULL;
        if (hs_report_has_table(ctx, "sink_dims") &&
            sqlite3_prepare_v2(ctx->db,
                               "SELECT dim, bos_magnitude FROM sink_dims WHERE run_id = ?1 AND layer = ?2 "
                               "ORDER BY top_frac DESC, bos_magnitude DESC LIMIT 3",
                               -1, &st, NULL) != SQLITE_OK)
            st = NULL;
        for (int l = 0; l < L; l++) {
            hs_html_start(h, "tr", NULL);
            cell(h, "td", "L%.0f", l);
            cell(h, "td", "%.2f", m[l]);
            cell(h, "td", "%.1f", m[L + l]);
            cell(h, "td", "%.2f", m[2 * L + l]);
            char dims[128] = "";
            size_t n = 0;
            if (st) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, run->id);
                sqlite3_bind_int(st, 2, l);
                while (sqlite3_step(st) == SQLITE_ROW && n + 24 < sizeof dims)
                    n += (size_t)snprintf(dims + n, sizeof dims - n, "%sd%d (%.1f)", n ? ", " : "",
                                          sqlite3_column_int(st, 0), sqlite3_column_double(st, 1));
            }
            hs_html_element(h, "td", n ? dims : "\xe2\x80\x93", NULL);
            hs_html_end(h);
        }
        sqlite3_finalize(st);
        hs_html_end(h);
    }
    free(m);
}

/* The ACT calibration: which heads, and the metrics before and after. */
static void act_table(hs_report_ctx *ctx, const hs_report_run *run)
{
    double acc0 = run_metric(ctx, run, "act", "heldout_accuracy_before");
    if (isnan(acc0))
        return;
    hs_html *h = ctx->h;
    char heads[1024] = "";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(ctx->db,
                           "SELECT layer, head FROM head_scores WHERE run_id = ?1 AND analysis = 'act' AND "
                           "metric = 'act_selected' AND value = 1 ORDER BY layer, head",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run->id);
        size_t n = 0;
        while (sqlite3_step(st) == SQLITE_ROW && n + 16 < sizeof heads)
            n += (size_t)snprintf(heads + n, sizeof heads - n, "%sL%dH%d", n ? ", " : "", sqlite3_column_int(st, 0),
                                  sqlite3_column_int(st, 1));
        sqlite3_finalize(st);
    }
    hs_html_element(h, "h4", "ACT calibration on a task", NULL);
    hs_html_start(h, "p", "class", "def", NULL);
    hs_html_text(h, "Attention Calibration Technique (Yu et al., ICML 2024): in the calibrated heads, attention to each "
                    "hidden sink is scaled by beta and the freed mass is given back to the row's other keys. Heads "
                    "calibrated: ");
    hs_html_text(h, heads[0] ? heads : "none");
    hs_html_text(h, ". The held-out prompts were not used to choose them; a negative or null effect is a result.");
    hs_html_end(h);
    hs_html_start(h, "table", "class", "top-heads", NULL);
    hs_html_start(h, "tr", NULL);
    hs_html_element(h, "th", "prompts", NULL);
    hs_html_element(h, "th", "metric", NULL);
    hs_html_element(h, "th", "before", NULL);
    hs_html_element(h, "th", "after", NULL);
    hs_html_end(h);
    static const struct {
        const char *set, *name, *before, *after;
    } rows[] = {
        {"calibration", "selection metric", "calibration_before", "calibration_after"},
        {"held-out", "accuracy", "heldout_accuracy_before", "heldout_accuracy_after"},
        {"held-out", "logit difference", "heldout_logit_diff_before", "heldout_logit_diff_after"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double b = run_metric(ctx, run, "act", rows[i].before), a = run_metric(ctx, run, "act", rows[i].after);
        if (isnan(b))
            continue;
        hs_html_start(h, "tr", NULL);
        hs_html_element(h, "td", rows[i].set, NULL);
        hs_html_element(h, "td", rows[i].name, NULL);
        cell(h, "td", "%.4f", b);
        cell(h, "td", "%.4f", a);
        hs_html_end(h);
    }
    hs_html_end(h);
}

hs_status hs_report_section_sinks(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    if (!hs_report_has_table(ctx, "sink_positions"))
        return HS_OK; /* a store older than schema 3 */
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT (SELECT count(*) FROM head_scores WHERE run_id = ?1 AND analysis IN ('sinks', "
                             "'act')) + (SELECT count(*) FROM sink_positions WHERE run_id = ?1)",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (n == 0)
        return HS_OK;
    hs_html *h = ctx->h;
    char id[64];
    snprintf(id, sizeof id, "run-%lld-sinks", (long long)run->id);
    HS_TRY(hs_report_section_begin(ctx, 2, id, "analysis", "Attention sinks by layer and position", err));
    hs_html_element(h, "p",
                    "From headscope analyze sinks: the sink rate per layer, the sink score of every key position for "
                    "every head, where hidden sinks sit, and (when the model was given) the norms and massive "
                    "activations behind them. Per-head heatmaps are in the 'sinks' analysis below.",
                    "class", "def", NULL);
    hs_status rc = sink_rate_curve(ctx, run, err);
    if (rc == HS_OK)
        rc = sink_positions(ctx, run, err);
    if (rc == HS_OK)
        rc = norm_curves(ctx, run, err);
    if (rc == HS_OK) {
        magnitudes_table(ctx, run);
        act_table(ctx, run);
    }
    hs_html_end(h);
    ctx->sum->analyses++;
    return rc;
}
