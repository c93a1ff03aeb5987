/* section_lens.c — the logit lens in the report (tables of analyses/lens/lens_store.h): for the first
 * prompts of a run, the classic layer x position grid of top tokens coloured by their probability
 * (a long prompt's last LENS_WINDOW positions, with a note naming the rest), and the target token's
 * probability and rank across layers at the last position; for the run, a stacked bar per layer of
 * the mean direct logit attribution to answer minus wrong. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/report_ctx.h"
#include "viz/barchart.h"
#include "viz/colormap.h"
#include "viz/heatmap.h"
#include "viz/lineplot.h"

#define LENS_PROMPTS 3 /* prompts drawn as grids and curves */
#define LENS_WINDOW 24  /* positions a grid shows (24 cells fit the page unscaled): a longer prompt's last ones */

/* Layer names of the lens rows: "L0" .. "L{n-1}" (input of block l), then "final". */
static char **layer_names(int n_layers)
{
    char **names = calloc((size_t)n_layers + 1, sizeof *names);
    if (!names)
        return NULL;
    for (int l = 0; l <= n_layers; l++)
        if ((l < n_layers ? asprintf(&names[l], "L%d", l) : asprintf(&names[l], "final")) < 0) {
            names[l] = NULL;
            hs_report_free_strings(names, n_layers + 1);
            return NULL;
        }
    return names;
}

/* The grid of one prompt of T positions: rows layers 0..L (L = final), columns positions first..T-1,
 * value top_prob, the top token written in each cell. */
static hs_status lens_grid(hs_report_ctx *ctx, const hs_report_run *run, int64_t prompt_id, int idx, int n_layers,
                           int first, int T_all, hs_error *err)
{
    int R = n_layers + 1, T = T_all - first; /* T: the columns drawn */
    hs_status rc = HS_OK;
    float *prob = malloc((size_t)R * (size_t)T * sizeof *prob);
    char **top = calloc((size_t)R * (size_t)T, sizeof *top), **tokens = calloc((size_t)T, sizeof *tokens);
    char **rows = layer_names(n_layers);
    hs_heatmap *map = NULL;
    hs_canvas *cv = NULL;
    sqlite3_stmt *st = NULL;
    if (!prob || !top || !tokens || !rows) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < R * T; i++)
        prob[i] = NAN;
    if ((rc = hs_report_prepare(ctx,
                                "SELECT l.layer, l.pos, l.top_prob, v.text FROM logit_lens l JOIN runs r ON r.id = "
                                "l.run_id LEFT JOIN vocab v ON v.model_id = r.model_id AND v.token_id = l.top_id "
                                "WHERE l.prompt_id = ?1 AND l.pos >= ?2",
                                &st, err)) != HS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, prompt_id);
    sqlite3_bind_int(st, 2, first);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int l = sqlite3_column_int(st, 0), p = sqlite3_column_int(st, 1) - first;
        if (l < 0 || l >= R || p < 0 || p >= T)
            continue;
        prob[l * T + p] = (float)sqlite3_column_double(st, 2);
        const char *t = (const char *)sqlite3_column_blob(st, 3);
        top[l * T + p] = hs_viz_visible_token(t ? t : "?", t ? (size_t)sqlite3_column_bytes(st, 3) : 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = hs_report_prepare(ctx, "SELECT pos, text FROM tokens WHERE prompt_id = ?1 AND pos >= ?2 ORDER BY pos",
                                &st, err)) != HS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, prompt_id);
    sqlite3_bind_int(st, 2, first);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int p = sqlite3_column_int(st, 0) - first;
        const char *t = (const char *)sqlite3_column_blob(st, 1);
        if (p >= 0 && p < T && !tokens[p])
            tokens[p] = strndup(t ? t : "", t ? (size_t)sqlite3_column_bytes(st, 1) : 0);
    }
    sqlite3_finalize(st);
    st = NULL;
    for (int p = 0; p < T; p++)
        if (!tokens[p] && !(tokens[p] = strdup(""))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
    char title[160], xlabel[160], shown[96] = "";
    if (first > 0)
        snprintf(shown, sizeof shown, "positions %d\xe2\x80\x93%d of %d", first, T_all - 1, T_all);
    snprintf(title, sizeof title, "Logit lens, prompt #%d: top token and its probability%s%s%s", idx,
             first > 0 ? " (" : "", shown, first > 0 ? ")" : "");
    snprintf(xlabel, sizeof xlabel, "input token%s%s (prediction of the next)", first > 0 ? " at " : "", shown);
    if ((rc = hs_heatmap_create(R, T, prob, &map, err)) != HS_OK ||
        (rc = hs_heatmap_set_row_labels(map, (const char *const *)rows, 0, err)) != HS_OK ||
        (rc = hs_heatmap_set_col_labels(map, (const char *const *)tokens, 1, err)) != HS_OK ||
        (rc = hs_heatmap_set_title(map, title, err)) != HS_OK ||
        (rc = hs_heatmap_set_axis_labels(map, xlabel, "layer", err)) != HS_OK)
        goto done;
    hs_heatmap_set_range(map, 0.0, 1.0);
    hs_heatmap_set_cell_size(map, 46);
    if ((rc = hs_heatmap_draw(map, &cv, err)) != HS_OK)
        goto done;
    for (int l = 0; l < R && rc == HS_OK; l++)
        for (int p = 0; p < T && rc == HS_OK; p++) {
            if (!top[l * T + p])
                continue;
            double x, y, w, h;
            hs_heatmap_cell_rect(map, l, p, &x, &y, &w, &h);
            uint8_t bg[3];
            hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, hs_heatmap_position(map, prob[l * T + p]), bg);
            static const uint8_t dark[3] = {20, 20, 28}, light[3] = {250, 250, 250};
            char text[24];
            snprintf(text, sizeof text, "%.8s", top[l * T + p]); /* cut to fit; may split a character: made valid */
            rc = hs_canvas_text(cv, x + w / 2, y + h / 2, text, 9, 0, HS_ANCHOR_MIDDLE, 0,
                                hs_srgb8_lightness(bg) > 0.6 ? dark : light, NULL, NULL, err);
        }
    if (rc != HS_OK)
        goto done;
    char slug[64], caption[320];
    snprintf(slug, sizeof slug, "lens-grid-run%lld-p%d", (long long)run->id, idx);
    snprintf(caption, sizeof caption,
             "Logit lens of prompt #%d (%s): at each layer's input (rows) and position (columns%s%s) the most probable "
             "next token and its probability (colour).",
             idx, run->label, first > 0 ? ": " : "", shown);
    if ((rc = hs_report_figure(ctx, cv, slug, caption, err)) != HS_OK)
        goto done;
    if (first > 0) { /* never a silent cut: what the grid leaves out, and where it is */
        hs_html_start(ctx->h, "p", "class", "note", NULL);
        hs_html_textf(ctx->h,
                      "The logit lens of prompt #%d (%d tokens) is drawn for its last %d positions (%d\xe2\x80\x93%d), "
                      "where the answer is read; positions 0\xe2\x80\x93%d are left out here. Every position is in "
                      "the table logit_lens: SELECT * FROM logit_lens WHERE prompt_id = %lld AND pos < %d.",
                      idx, T_all, T, first, T_all - 1, first - 1, (long long)prompt_id, first);
        hs_html_end(ctx->h);
    }
done:
    sqlite3_finalize(st);
    hs_canvas_free(cv);
    hs_heatmap_free(map);
    hs_report_free_strings(top, R * T);
    hs_report_free_strings(tokens, T);
    hs_report_free_strings(rows, R);
    free(prob);
    return rc;
}

/* Target probability and rank across layers at the last position, one series per prompt. */
static hs_status lens_curves(hs_report_ctx *ctx, const hs_report_run *run, const int64_t *ids, const int *idxs, int n,
                             int n_layers, hs_error *err)
{
    int R = n_layers + 1;
    hs_status rc = HS_OK;
    hs_lineplot *plot[2] = {NULL, NULL};
    hs_canvas *cv = NULL;
    sqlite3_stmt *st = NULL;
    float *v = malloc(2 * (size_t)R * sizeof *v);
    char **rows = layer_names(n_layers);
    if (!v || !rows) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < 2 && rc == HS_OK; k++)
        if ((rc = hs_lineplot_create(R, &plot[k], err)) == HS_OK)
            rc = hs_lineplot_set_x_labels(plot[k], (const char *const *)rows, 0, err);
    if (rc != HS_OK)
        goto done;
    if ((rc = hs_report_prepare(ctx,
                                "SELECT layer, target_prob, target_rank FROM logit_lens WHERE prompt_id = ?1 AND pos = "
                                "(SELECT max(pos) FROM logit_lens WHERE prompt_id = ?1)",
                                &st, err)) != HS_OK)
        goto done;
    int any = 0;
    for (int i = 0; i < n && rc == HS_OK; i++) {
        for (int l = 0; l < 2 * R; l++)
            v[l] = NAN;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, ids[i]);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int l = sqlite3_column_int(st, 0);
            if (l < 0 || l >= R || sqlite3_column_type(st, 1) == SQLITE_NULL)
                continue;
            v[l] = (float)sqlite3_column_double(st, 1);
            v[R + l] = (float)sqlite3_column_int(st, 2);
            any = 1;
        }
        char name[32];
        snprintf(name, sizeof name, "prompt #%d", idxs[i]);
        if ((rc = hs_lineplot_add_series(plot[0], name, v, err)) == HS_OK)
            rc = hs_lineplot_add_series(plot[1], name, v + R, err);
    }
    if (rc != HS_OK || !any)
        goto done;
    hs_lineplot_set_log_y(plot[1], 1);
    static const char *titles[2] = {"Logit lens: target probability", "Logit lens: target rank"};
    static const char *ylabels[2] = {"P(target)", "rank (1 = top)"};
    static const char *slugs[2] = {"lens-target-prob", "lens-target-rank"};
    for (int k = 0; k < 2 && rc == HS_OK; k++) {
        if ((rc = hs_lineplot_set_title(plot[k], titles[k], err)) != HS_OK ||
            (rc = hs_lineplot_set_axis_labels(plot[k], "layer (input of block; final = output)", ylabels[k], err)) !=
                HS_OK ||
            (rc = hs_lineplot_draw(plot[k], &cv, err)) != HS_OK)
            break;
        char slug[64], caption[256];
        snprintf(slug, sizeof slug, "%s-run%lld", slugs[k], (long long)run->id);
        snprintf(caption, sizeof caption,
                 "%s at the last position, across layers, for the first prompts of %s (the target is the prompt's "
                 "answer token).",
                 titles[k] + strlen("Logit lens: "), run->label);
        rc = hs_report_figure(ctx, cv, slug, caption, err);
        hs_canvas_free(cv);
        cv = NULL;
    }
done:
    sqlite3_finalize(st);
    hs_canvas_free(cv);
    hs_lineplot_free(plot[0]);
    hs_lineplot_free(plot[1]);
    hs_report_free_strings(rows, R);
    free(v);
    return rc;
}

/* Mean DLA per layer over one prompt set's prompts (set NULL: all of the run's), stacked by kind of
 * component: categories "embed", L0.., "final". Nothing for a set without DLA rows. */
static hs_status dla_bars(hs_report_ctx *ctx, const hs_report_run *run, int n_layers, const hs_report_set *set,
                          hs_error *err)
{
    int C = n_layers + 2;
    enum { S_EMBED, S_HEADS, S_ATTN_BIAS, S_MLP, S_FINAL, N_SERIES };
    static const char *series[N_SERIES] = {"embeddings", "attention heads", "attention bias", "MLP",
                                           "final-norm and unembedding biases"};
    hs_status rc = HS_OK;
    sqlite3_stmt *st = NULL;
    hs_barchart *bars = NULL;
    hs_canvas *cv = NULL;
    float *v = calloc((size_t)N_SERIES * (size_t)C, sizeof *v);
    char **labels = calloc((size_t)C, sizeof *labels);
    if (!v || !labels) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int c = 0; c < C; c++)
        if ((c == 0 ? asprintf(&labels[c], "embed")
                    : c == C - 1 ? asprintf(&labels[c], "final") : asprintf(&labels[c], "L%d", c - 1)) < 0) {
            labels[c] = NULL;
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
    /* ?3 = 0: every prompt of the run; 1: those of set ?2 */
    if ((rc = hs_report_prepare(ctx,
                                "SELECT d.component, d.layer, sum(d.value), count(DISTINCT d.prompt_id), "
                                "(SELECT count(DISTINCT d.prompt_id) FROM dla d JOIN prompts p ON p.id = d.prompt_id "
                                "WHERE d.run_id = ?1 AND (?3 = 0 OR " HS_REPORT_SET_OF_P " IS ?2)) "
                                "FROM dla d JOIN prompts p ON p.id = d.prompt_id WHERE d.run_id = ?1 "
                                "AND (?3 = 0 OR " HS_REPORT_SET_OF_P " IS ?2) GROUP BY d.component, d.layer",
                                &st, err)) != HS_OK)
        goto done;
    sqlite3_bind_int64(st, 1, run->id);
    if (set && set->name)
        sqlite3_bind_text(st, 2, set->name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, set != NULL);
    int rows = 0, n_prompts = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *comp = hs_report_col(st, 0);
        int layer = sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 1);
        n_prompts = sqlite3_column_int(st, 4);
        float value = n_prompts > 0 ? (float)(sqlite3_column_double(st, 2) / n_prompts) : NAN;
        int s, c;
        if (!strcmp(comp, "embed") || !strcmp(comp, "pos_embed"))
            s = S_EMBED, c = 0;
        else if (!strcmp(comp, "ln_final_bias") || !strcmp(comp, "unembed_bias"))
            s = S_FINAL, c = C - 1;
        else if (layer >= 0 && layer < n_layers)
            s = !strcmp(comp, "head") ? S_HEADS : !strcmp(comp, "attn_bias") ? S_ATTN_BIAS : S_MLP, c = layer + 1;
        else
            continue;
        v[s * C + c] += value;
        rows++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rows == 0)
        goto done;
    if ((rc = hs_barchart_create(C, &bars, err)) != HS_OK ||
        (rc = hs_barchart_set_labels(bars, (const char *const *)labels, 0, err)) != HS_OK)
        goto done;
    for (int s = 0; s < N_SERIES && rc == HS_OK; s++)
        rc = hs_barchart_add_series(bars, series[s], v + s * C, err);
    if (rc != HS_OK)
        goto done;
    hs_barchart_set_mode(bars, HS_BARS_STACKED);
    char title[160], slug[96], caption[400], over[160];
    if (!set) {
        snprintf(title, sizeof title, "Direct logit attribution by layer");
        snprintf(over, sizeof over, " (%s)", run->label);
    } else if (set->name) {
        snprintf(title, sizeof title, "Direct logit attribution by layer: %s", set->name);
        snprintf(over, sizeof over, " over the %d prompt%s of set %s (%s)", n_prompts, n_prompts == 1 ? "" : "s",
                 set->name, run->label);
    } else {
        snprintf(title, sizeof title, "Direct logit attribution by layer: prompts without a set");
        snprintf(over, sizeof over, " over the %d prompt%s without a meta.set (%s)", n_prompts,
                 n_prompts == 1 ? "" : "s", run->label);
    }
    if ((rc = hs_barchart_set_title(bars, title, err)) != HS_OK ||
        (rc = hs_barchart_set_axis_labels(bars, "component", "logit difference (answer - wrong)", err)) != HS_OK ||
        (rc = hs_barchart_draw(bars, &cv, err)) != HS_OK)
        goto done;
    snprintf(slug, sizeof slug, "dla-layers-run%lld%s%s", (long long)run->id, set && set->name ? "-" : "",
             set && set->name ? set->name : "");
    snprintf(caption, sizeof caption,
             "Mean direct logit attribution%s: each layer's heads, attention bias and MLP, the embeddings and the "
             "final biases; the bars sum to the mean final logit difference.",
             over);
    rc = hs_report_figure(ctx, cv, slug, caption, err);
done:
    sqlite3_finalize(st);
    hs_canvas_free(cv);
    hs_barchart_free(bars);
    hs_report_free_strings(labels, C);
    free(v);
    return rc;
}

hs_status hs_report_section_lens(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    if (!hs_report_has_table(ctx, "logit_lens"))
        return HS_OK; /* a store of schema version 1 */
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT p.id, p.idx, max(l.pos) + 1, max(l.layer) FROM prompts p JOIN logit_lens l ON "
                             "l.prompt_id = p.id WHERE p.run_id = ?1 GROUP BY p.id ORDER BY p.idx LIMIT ?2",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_int(st, 2, LENS_PROMPTS);
    int64_t ids[LENS_PROMPTS];
    int idxs[LENS_PROMPTS], Ts[LENS_PROMPTS], n = 0, n_layers = 0;
    while (n < LENS_PROMPTS && sqlite3_step(st) == SQLITE_ROW) {
        ids[n] = sqlite3_column_int64(st, 0);
        idxs[n] = sqlite3_column_int(st, 1);
        Ts[n] = sqlite3_column_int(st, 2);
        n_layers = sqlite3_column_int(st, 3); /* rows 0..L: L = n_layers (the final stream) */
        n++;
    }
    sqlite3_finalize(st);
    if (n == 0)
        return HS_OK;
    hs_html *h = ctx->h;
    char id[64];
    snprintf(id, sizeof id, "run-%lld-logit-lens", (long long)run->id);
    HS_TRY(hs_report_section_begin(ctx, 2, id, "analysis", "Logit lens and direct logit attribution", err));
    hs_html_element(h, "p",
                    "logits_l = W_U \xc2\xb7 LN_final(x_l) + b_U, read at the input of every block and at the final "
                    "residual stream (TransformerLens accumulated_resid with the final norm recomputed per layer). "
                    "Direct logit attribution of a component c: (W_U[:, answer] - W_U[:, wrong]) \xc2\xb7 c / "
                    "sigma_final with the cached final-norm scale (TransformerLens convention). Tables: logit_lens, "
                    "dla, component_lens; per-head DLA is in head_scores (analysis 'dla').",
                    "class", "def", NULL);
    hs_status rc = HS_OK;
    for (int i = 0; i < n && rc == HS_OK; i++)
        rc = lens_grid(ctx, run, ids[i], idxs[i], n_layers, Ts[i] > LENS_WINDOW ? Ts[i] - LENS_WINDOW : 0, Ts[i], err);
    if (rc == HS_OK)
        rc = lens_curves(ctx, run, ids, idxs, n, n_layers, err);
    if (rc == HS_OK && hs_report_has_table(ctx, "dla")) {
        /* one figure per prompt set: a mean over different tasks mixes circuits that have nothing in common */
        hs_report_set *sets = NULL;
        int n_sets = 0;
        rc = hs_report_prompt_sets(ctx, run, &sets, &n_sets, err);
        if (rc == HS_OK && n_sets <= 1)
            rc = dla_bars(ctx, run, n_layers, NULL, err);
        if (n_sets > 1)
            hs_html_start(h, "div", "class", "sets", NULL); /* side by side */
        for (int i = 0; rc == HS_OK && n_sets > 1 && i < n_sets; i++)
            rc = dla_bars(ctx, run, n_layers, &sets[i], err);
        if (n_sets > 1)
            hs_html_end(h);
        hs_report_sets_free(sets, n_sets);
    }
    hs_html_end(h);
    ctx->sum->analyses++;
    return rc;
}
