/* section_patch.c — the report's activation patching section (`analyze patch`, table patch_grid):
 * one heatmap per component and metric of the grids that head_scores cannot hold, [layer, pos] for
 * resid_pre and the per-position layer outputs, [layer, 1] for a layer output patched at every
 * position, [layer·head, pos] for per-position head grids. The all-position [layer, head] grids of
 * z, q, k, v are head_scores rows, drawn by the per-analysis section (section_scores.c). */
#define _GNU_SOURCE /* asprintf */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/metric_info.h"
#include "report/report_ctx.h"
#include "viz/canvas.h"
#include "viz/heatmap.h"

/* One grid's cells as read: row keys (layer, head) in order, columns by position. */
typedef struct grid_read {
    int n_rows, n_cols;
    int *row_layer, *row_head; /* [n_rows]; head -1 for none */
    float *v;                  /* [n_rows, n_cols] */
} grid_read;

static void grid_free(grid_read *g)
{
    free(g->row_layer), free(g->row_head), free(g->v);
    memset(g, 0, sizeof *g);
}

static hs_status read_grid(hs_report_ctx *ctx, int64_t run_id, const char *component, const char *metric,
                           grid_read *g, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    memset(g, 0, sizeof *g);
    HS_TRY(hs_report_prepare(ctx, "SELECT count(DISTINCT layer * 100000 + coalesce(head, -1)), "
                                  "coalesce(max(pos) + 1, 1) FROM patch_grid WHERE run_id = ?1 AND component = ?2 "
                                  "AND metric = ?3", &st, err));
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, component, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        g->n_rows = sqlite3_column_int(st, 0);
        g->n_cols = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st), st = NULL;
    if (g->n_rows < 1 || g->n_cols < 1 || g->n_cols > 4096)
        return HS_OK;
    g->row_layer = malloc((size_t)g->n_rows * sizeof *g->row_layer);
    g->row_head = malloc((size_t)g->n_rows * sizeof *g->row_head);
    g->v = malloc((size_t)g->n_rows * g->n_cols * sizeof *g->v);
    if (!g->row_layer || !g->row_head || !g->v) {
        grid_free(g);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < (size_t)g->n_rows * g->n_cols; i++)
        g->v[i] = NAN;
    hs_status rc = hs_report_prepare(ctx, "SELECT layer, coalesce(head, -1), coalesce(pos, 0), value FROM patch_grid "
                                          "WHERE run_id = ?1 AND component = ?2 AND metric = ?3 "
                                          "ORDER BY layer, head, pos", &st, err);
    if (rc != HS_OK) {
        grid_free(g);
        return rc;
    }
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, component, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    int r = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int layer = sqlite3_column_int(st, 0), head = sqlite3_column_int(st, 1), pos = sqlite3_column_int(st, 2);
        if (r < 0 || g->row_layer[r] != layer || g->row_head[r] != head) {
            if (++r >= g->n_rows)
                break;
            g->row_layer[r] = layer, g->row_head[r] = head;
        }
        if (pos >= 0 && pos < g->n_cols && sqlite3_column_type(st, 3) != SQLITE_NULL)
            g->v[(size_t)r * g->n_cols + pos] = (float)sqlite3_column_double(st, 3);
    }
    sqlite3_finalize(st);
    return HS_OK;
}

/* The first prompt's tokens as column labels (per-position grids need prompts of one length), or
 * NULL labels (numbered axes) when the store has fewer. */
static hs_status token_labels(hs_report_ctx *ctx, int64_t run_id, int n, char ***out, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    char **labels = calloc((size_t)n, sizeof *labels);
    if (!labels)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status rc = hs_report_prepare(ctx, "SELECT pos, text FROM tokens WHERE prompt_id = (SELECT id FROM prompts "
                                          "WHERE run_id = ?1 ORDER BY idx LIMIT 1) ORDER BY pos", &st, err);
    if (rc != HS_OK) {
        free(labels);
        return rc;
    }
    sqlite3_bind_int64(st, 1, run_id);
    int got = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int p = sqlite3_column_int(st, 0);
        if (p >= 0 && p < n && !labels[p]) {
            const char *t = hs_report_col(st, 1);
            if (!(labels[p] = strdup(t ? t : "")))
                break;
            got++;
        }
    }
    sqlite3_finalize(st);
    if (got != n) {
        hs_report_free_strings(labels, n);
        return HS_OK;
    }
    *out = labels;
    return HS_OK;
}

static hs_status draw_grid(hs_report_ctx *ctx, const hs_report_run *run, const char *component, const char *metric,
                           const grid_read *g, hs_error *err)
{
    const hs_metric_info *info = hs_metric_info_find("patch", metric);
    char **rows = calloc((size_t)g->n_rows, sizeof *rows), **cols = NULL;
    hs_heatmap *map = NULL;
    hs_canvas *cv = NULL;
    hs_status rc = HS_OK;
    if (!rows) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int r = 0; r < g->n_rows; r++) {
        int n = g->row_head[r] >= 0 ? asprintf(&rows[r], "L%dH%d", g->row_layer[r], g->row_head[r])
                                    : asprintf(&rows[r], "L%d", g->row_layer[r]);
        if (n < 0) {
            rows[r] = NULL;
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    int per_pos = g->n_cols > 1;
    if (per_pos && (rc = token_labels(ctx, run->id, g->n_cols, &cols, err)) != HS_OK)
        goto done;
    char title[200], slug[200], caption[1200];
    snprintf(title, sizeof title, "%s %s, %s", component, per_pos ? "by layer and position" : "by layer", metric);
    static const char *const all_pos[] = {"all positions"};
    if ((rc = hs_heatmap_create(g->n_rows, g->n_cols, g->v, &map, err)) != HS_OK ||
        (rc = hs_heatmap_set_row_labels(map, (const char *const *)rows, 0, err)) != HS_OK ||
        (cols && (rc = hs_heatmap_set_col_labels(map, (const char *const *)cols, 1, err)) != HS_OK) ||
        (!per_pos && (rc = hs_heatmap_set_col_labels(map, all_pos, 0, err)) != HS_OK) ||
        (rc = hs_heatmap_set_title(map, title, err)) != HS_OK ||
        (rc = hs_heatmap_set_axis_labels(map, per_pos ? "position (the first prompt's tokens)" : NULL,
                                         g->row_head[0] >= 0 ? "layer, head" : "layer", err)) != HS_OK)
        goto done;
    hs_heatmap_set_colormap(map, info ? info->colormap : HS_COLORMAP_DIVERGING);
    hs_heatmap_set_range(map, info ? info->lo : NAN, info ? info->hi : NAN);
    hs_heatmap_set_cell_size(map, g->n_cols > 32 ? 14 : 24);
    if ((rc = hs_heatmap_draw(map, &cv, err)) != HS_OK)
        goto done;
    snprintf(slug, sizeof slug, "patch-%s-%s-run%lld", component, metric, (long long)run->id);
    snprintf(caption, sizeof caption, "%s (%s). %s Hover a cell for its exact value.", title, run->label,
             info ? info->definition : "");
    rc = hs_report_figure(ctx, cv, slug, caption, err);
done:
    if (rows)
        hs_report_free_strings(rows, g->n_rows);
    if (cols)
        hs_report_free_strings(cols, g->n_cols);
    hs_heatmap_free(map);
    hs_canvas_free(cv);
    return rc;
}

hs_status hs_report_section_patch(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    if (!hs_report_has_table(ctx, "patch_grid"))
        return HS_OK;
    sqlite3_stmt *st = NULL;
    /* the grids head_scores does not hold: those without heads, or by position */
    HS_TRY(hs_report_prepare(ctx, "SELECT component, metric FROM patch_grid WHERE run_id = ?1 AND "
                                  "(head IS NULL OR pos IS NOT NULL) GROUP BY component, metric ORDER BY min(rowid)",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    hs_status rc = HS_OK;
    int opened = 0;
    while (rc == HS_OK && sqlite3_step(st) == SQLITE_ROW) {
        char component[32], metric[96];
        snprintf(component, sizeof component, "%s", hs_report_col(st, 0));
        snprintf(metric, sizeof metric, "%s", hs_report_col(st, 1));
        grid_read g;
        if ((rc = read_grid(ctx, run->id, component, metric, &g, err)) != HS_OK)
            break;
        if (g.n_rows > 0) {
            if (!opened) {
                char id[64];
                snprintf(id, sizeof id, "run-%lld-patch", (long long)run->id);
                if ((rc = hs_report_section_begin(ctx, 2, id, "analysis", "Activation patching", err)) != HS_OK) {
                    grid_free(&g);
                    break;
                }
                hs_html_element(ctx->h, "p",
                                "headscope analyze patch: each cell replaces one component's activation and "
                                "measures the output at the last position. Normalised logit difference: 0 = the "
                                "corrupted run, 1 = the clean run, not bounded (a patch can overshoot either end); "
                                "KL: 0 = the clean output. The per-head grids over all positions are under the "
                                "'patch' analysis below.", "class", "def", NULL);
                opened = 1;
                ctx->sum->analyses++;
            }
            rc = draw_grid(ctx, run, component, metric, &g, err);
        }
        grid_free(&g);
    }
    sqlite3_finalize(st);
    if (opened)
        hs_html_end(ctx->h);
    return rc;
}
