/* section_scores.c — one report section per analysis in head_scores: for each metric a layer x
 * head heatmap of its value over the prompt set (the row with prompt_id NULL when the analysis
 * stored one, else the mean of the per-prompt rows), the top heads, and the metric's definition. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "report/metric_info.h"
#include "report/report_ctx.h"
#include "viz/heatmap.h"

typedef struct head_value {
    int layer, head;
    double value;
    int n_prompts;
} head_value;

/* The metric's per-head values over the run's prompts (set NULL: the whole-set row where stored) or
 * over one prompt set's (the mean of their per-prompt rows). *out is malloc'd. */
static hs_status read_metric(hs_report_ctx *ctx, const hs_report_run *run, const char *analysis, const char *metric,
                             const hs_report_set *set, head_value **out, int *n_out, hs_error *err)
{
    *out = NULL;
    *n_out = 0;
    sqlite3_stmt *st;
    if (!set)
        HS_TRY(hs_report_prepare(ctx,
                                 "SELECT layer, head, "
                                 "  CASE WHEN sum(prompt_id IS NULL) > 0 THEN avg(CASE WHEN prompt_id IS NULL THEN "
                                 "       value END) ELSE avg(value) END, "
                                 "  count(prompt_id) "
                                 "FROM head_scores WHERE run_id = ?1 AND analysis = ?2 AND metric = ?3 "
                                 "  AND layer IS NOT NULL AND head IS NOT NULL "
                                 "GROUP BY layer, head ORDER BY layer, head",
                                 &st, err));
    else
        HS_TRY(hs_report_prepare(ctx,
                                 "SELECT s.layer, s.head, avg(s.value), count(s.prompt_id) FROM head_scores s "
                                 "JOIN prompts p ON p.id = s.prompt_id WHERE s.run_id = ?1 AND s.analysis = ?2 AND "
                                 "s.metric = ?3 AND s.layer IS NOT NULL AND s.head IS NOT NULL AND " HS_REPORT_SET_OF_P
                                 " IS ?4 GROUP BY s.layer, s.head ORDER BY s.layer, s.head",
                                 &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    sqlite3_bind_text(st, 2, analysis, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    if (set && set->name)
        sqlite3_bind_text(st, 4, set->name, -1, SQLITE_STATIC);
    head_value *v = NULL;
    int n = 0, cap = 0;
    hs_status rc = HS_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            head_value *g = realloc(v, (size_t)cap * sizeof *v);
            if (!g) {
                rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
                break;
            }
            v = g;
        }
        v[n].layer = sqlite3_column_int(st, 0);
        v[n].head = sqlite3_column_int(st, 1);
        v[n].value = sqlite3_column_type(st, 2) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 2);
        v[n].n_prompts = sqlite3_column_int(st, 3);
        n++;
    }
    sqlite3_finalize(st);
    if (rc != HS_OK) {
        free(v);
        return rc;
    }
    *out = v;
    *n_out = n;
    return HS_OK;
}

static int by_value_desc(const void *a, const void *b)
{
    double x = ((const head_value *)a)->value, y = ((const head_value *)b)->value;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x < y) - (x > y);
}

static int by_abs_desc(const void *a, const void *b)
{
    double x = fabs(((const head_value *)a)->value), y = fabs(((const head_value *)b)->value);
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return (x < y) - (x > y);
}

/* What a run's section has drawn so far: each metric's grid, to recognise the same numbers under
 * another name (the recording's attention entropy, the sinks and the head detectors' entropy are one
 * quantity, drawn as identical heatmaps three times). */
typedef struct drawn_grid {
    char *name;      /* "analysis / metric" */
    char anchor[64]; /* the id of its heading */
    int L, H;
    float *grid;     /* [L, H], NaN where a head has no value */
} drawn_grid;

typedef struct drawn_list {
    drawn_grid *g;
    int n;
    int headings; /* metric headings written: their ids are run-R-metric-1, -2, ... */
} drawn_list;

static void drawn_free(drawn_list *d)
{
    for (int i = 0; i < d->n; i++)
        free(d->g[i].name), free(d->g[i].grid);
    free(d->g);
    d->g = NULL, d->n = 0;
}

/* Whether two grids show the same numbers: the same heads present, and every value within 1e-4 of
 * the larger |value| of either (what 4 significant digits and a colour map cannot tell apart);
 * *max_diff is the largest difference. */
static int same_grid(const float *a, const float *b, size_t n, double *max_diff)
{
    double scale = 0, diff = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) != isnan(b[i]))
            return 0;
        if (!isnan(a[i]))
            scale = fmax(scale, fmax(fabs(a[i]), fabs(b[i]))), diff = fmax(diff, fabs((double)a[i] - b[i]));
    }
    *max_diff = diff;
    return diff <= 1e-4 * scale;
}

/* The top heads of v (n values, sorted here) as a table. */
static void top_heads_table(hs_report_ctx *ctx, head_value *v, int n, int rank_abs)
{
    hs_html *h = ctx->h;
    qsort(v, (size_t)n, sizeof *v, rank_abs ? by_abs_desc : by_value_desc);
    hs_html_start(h, "table", "class", "top-heads", NULL);
    hs_html_start(h, "tr", NULL);
    hs_html_element(h, "th", "rank", NULL);
    hs_html_element(h, "th", "head", NULL);
    hs_html_element(h, "th", "value", NULL);
    hs_html_element(h, "th", "prompts", NULL);
    hs_html_end(h);
    for (int i = 0; i < n && i < ctx->opt->top_heads; i++) {
        hs_html_start(h, "tr", NULL);
        hs_html_start(h, "td", "class", "num", NULL);
        hs_html_textf(h, "%d", i + 1);
        hs_html_end(h);
        hs_html_start(h, "td", NULL);
        hs_html_textf(h, "L%dH%d", v[i].layer, v[i].head);
        hs_html_end(h);
        hs_html_start(h, "td", "class", "num", NULL);
        hs_html_textf(h, "%.4g", v[i].value);
        hs_html_end(h);
        hs_html_start(h, "td", "class", "num", NULL);
        if (v[i].n_prompts > 0)
            hs_html_textf(h, "%d", v[i].n_prompts);
        else /* only the whole-set row is stored: how many prompts it is over is not recorded */
            hs_html_text(h, "\xe2\x80\x93");
        hs_html_end(h);
        hs_html_end(h);
    }
    hs_html_end(h);
}

/* The [L, H] grid of n values, NaN where a head has none; NULL when out of memory. */
static float *to_grid(const head_value *v, int n, int L, int H)
{
    float *grid = malloc((size_t)L * (size_t)H * sizeof *grid);
    if (!grid)
        return NULL;
    for (int i = 0; i < L * H; i++)
        grid[i] = NAN;
    for (int i = 0; i < n; i++)
        if (v[i].layer >= 0 && v[i].head >= 0)
            grid[v[i].layer * H + v[i].head] = (float)v[i].value;
    return grid;
}

/* The heatmap of grid [L, H] (colour range lo..hi, NaN ends automatic) and the table of its top
 * heads, side by side; slug and caption name the figure. */
static hs_status draw_metric(hs_report_ctx *ctx, const hs_metric_info *info, const char *title, head_value *v, int n,
                             int L, int H, const float *grid, double lo, double hi, int any_negative, const char *slug,
                             const char *caption, hs_error *err)
{
    hs_status rc = HS_OK;
    hs_heatmap *map = NULL;
    hs_canvas *canvas = NULL;
    char **rows = calloc((size_t)L, sizeof *rows), **cols = calloc((size_t)H, sizeof *cols);
    if (!rows || !cols) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int l = 0; l < L && rc == HS_OK; l++)
        if (asprintf(&rows[l], "L%d", l) < 0)
            rows[l] = NULL, rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (int k = 0; k < H && rc == HS_OK; k++)
        if (asprintf(&cols[k], "H%d", k) < 0)
            cols[k] = NULL, rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (rc != HS_OK)
        goto done;
    hs_colormap cmap = info ? info->colormap : (any_negative ? HS_COLORMAP_DIVERGING : HS_COLORMAP_SEQUENTIAL);
    if ((rc = hs_heatmap_create(L, H, grid, &map, err)) != HS_OK ||
        (rc = hs_heatmap_set_row_labels(map, (const char *const *)rows, 0, err)) != HS_OK ||
        (rc = hs_heatmap_set_col_labels(map, (const char *const *)cols, 0, err)) != HS_OK ||
        (rc = hs_heatmap_set_label_join(map, "", err)) != HS_OK ||
        (rc = hs_heatmap_set_title(map, title, err)) != HS_OK ||
        (rc = hs_heatmap_set_axis_labels(map, "head", "layer", err)) != HS_OK)
        goto done;
    hs_heatmap_set_colormap(map, cmap);
    hs_heatmap_set_range(map, lo, hi);
    hs_heatmap_set_cell_size(map, H > 24 ? 16 : 28);
    if ((rc = hs_heatmap_draw(map, &canvas, err)) != HS_OK)
        goto done;
    hs_html_start(ctx->h, "div", "class", "metric", NULL); /* figure and top heads side by side */
    if ((rc = hs_report_figure(ctx, canvas, slug, caption, err)) == HS_OK)
        top_heads_table(ctx, v, n, info ? info->rank_by_abs : any_negative);
    hs_html_end(ctx->h);
done:
    hs_canvas_free(canvas);
    hs_heatmap_free(map);
    hs_report_free_strings(rows, L);
    hs_report_free_strings(cols, H);
    return rc;
}

/* "colours on the metric's fixed scale 0 to 1" and the like, for a caption. */
static void scale_words(double lo, double hi, char *buf, size_t cap)
{
    if (!isnan(lo) && !isnan(hi))
        snprintf(buf, cap, "colours on the metric's fixed scale %g to %g", lo, hi);
    else if (!isnan(lo))
        snprintf(buf, cap, "colours from %g to the largest value", lo);
    else
        snprintf(buf, cap, "colours over the values' range");
}

/* A metric of several prompt sets: a heatmap and top heads per set, on one colour scale. */
static hs_status write_metric_by_set(hs_report_ctx *ctx, const hs_report_run *run, const char *analysis,
                                     const char *metric, const hs_metric_info *info, const char *title,
                                     const hs_report_set *sets, int n_sets, hs_error *err)
{
    hs_status rc = HS_OK;
    head_value **v = calloc((size_t)n_sets, sizeof *v);
    int *n = calloc((size_t)n_sets, sizeof *n), L = run->n_layers, H = run->n_heads, any_negative = 0;
    float *grid = NULL;
    if (!v || !n) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < n_sets && rc == HS_OK; i++) {
        rc = read_metric(ctx, run, analysis, metric, &sets[i], &v[i], &n[i], err);
        for (int j = 0; rc == HS_OK && j < n[i]; j++) {
            const head_value *x = &v[i][j];
            L = x->layer >= L ? x->layer + 1 : L, H = x->head >= H ? x->head + 1 : H;
            any_negative |= x->value < 0;
            if (isfinite(x->value))
                mn = fmin(mn, x->value), mx = fmax(mx, x->value);
        }
    }
    if (rc != HS_OK)
        goto done;
    /* one scale for every set, so their heatmaps compare: the metric's bounds, else all sets' values */
    double lo = info->lo, hi = info->hi;
    if (mn <= mx && info->colormap == HS_COLORMAP_DIVERGING)
        mx = fmax(fabs(mn), fabs(mx)), mn = -mx;
    if (mn <= mx)
        lo = isnan(lo) ? mn : lo, hi = isnan(hi) ? mx : hi;
    hs_html_start(ctx->h, "div", "class", "sets", NULL); /* the sets' heatmaps and tables side by side */
    for (int i = 0; i < n_sets && rc == HS_OK; i++) {
        if (n[i] == 0)
            continue;
        int prompts = 0;
        for (int j = 0; j < n[i]; j++)
            prompts = v[i][j].n_prompts > prompts ? v[i][j].n_prompts : prompts;
        free(grid);
        if (!(grid = to_grid(v[i], n[i], L, H))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            break;
        }
        char slug[160], caption[640], which[160], set_title[320];
        if (sets[i].name)
            snprintf(which, sizeof which, "set %s", sets[i].name);
        else
            snprintf(which, sizeof which, "no meta.set");
        /* short (the metric's name, as in its heading): the heatmap is small, and sets stand side by side */
        snprintf(set_title, sizeof set_title, "%s / %s, %s", analysis, metric, which);
        snprintf(slug, sizeof slug, "%s-%s-run%lld-%s", analysis, metric, (long long)run->id,
                 sets[i].name ? sets[i].name : "noset");
        snprintf(caption, sizeof caption,
                 "%s by layer and head, mean over the %d prompt%s of %s (%s; one colour scale for every set). Hover "
                 "a cell for its exact value.",
                 title, prompts, prompts == 1 ? "" : "s", which, run->label);
        rc = draw_metric(ctx, info, set_title, v[i], n[i], L, H, grid, lo, hi, any_negative, slug, caption, err);
    }
    hs_html_end(ctx->h);
done:
    for (int i = 0; v && i < n_sets; i++)
        free(v[i]);
    free(v), free(n), free(grid);
    return rc;
}

static hs_status write_metric(hs_report_ctx *ctx, const hs_report_run *run, const char *analysis, const char *metric,
                              drawn_list *drawn, hs_error *err)
{
    head_value *v;
    int n;
    HS_TRY(read_metric(ctx, run, analysis, metric, NULL, &v, &n, err));
    const hs_metric_info *info = hs_metric_info_find(analysis, metric);
    hs_html *h = ctx->h;
    char title[256], anchor[64];
    snprintf(title, sizeof title, "%s", info ? info->title : metric);
    snprintf(anchor, sizeof anchor, "run-%lld-metric-%d", (long long)run->id, ++drawn->headings);
    hs_html_start(h, "h4", "id", anchor, NULL);
    hs_html_text(h, title);
    hs_html_text(h, " ");
    hs_html_start(h, "code", NULL);
    hs_html_textf(h, "%s / %s", analysis, metric);
    hs_html_end(h);
    hs_html_end(h);
    hs_html_element(h, "p", info ? info->definition : "No definition is registered for this metric.", "class", "def",
                    NULL);
    if (n == 0) {
        hs_html_element(h, "p", "No per-head values (the rows have no layer or head).", NULL);
        free(v);
        return HS_OK;
    }
    if (info && info->by_set) { /* a run of several prompt sets: one heatmap each */
        hs_report_set *sets = NULL;
        int n_sets = 0;
        hs_status rc = hs_report_prompt_sets(ctx, run, &sets, &n_sets, err);
        if (rc == HS_OK && n_sets > 1) {
            free(v);
            rc = write_metric_by_set(ctx, run, analysis, metric, info, title, sets, n_sets, err);
            hs_report_sets_free(sets, n_sets);
            return rc;
        }
        hs_report_sets_free(sets, n_sets);
        if (rc != HS_OK) {
            free(v);
            return rc;
        }
    }

    int L = run->n_layers, H = run->n_heads, any_negative = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].layer >= L)
            L = v[i].layer + 1;
        if (v[i].head >= H)
            H = v[i].head + 1;
        any_negative |= v[i].value < 0;
    }
    hs_status rc = HS_OK;
    float *grid = to_grid(v, n, L, H);
    char *name = NULL;
    if (!grid || asprintf(&name, "%s / %s", analysis, metric) < 0) {
        name = NULL;
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* the same numbers as a metric drawn above: say so and point there, rather than draw them again */
    for (int i = 0; i < drawn->n; i++) {
        double diff;
        if (drawn->g[i].L != L || drawn->g[i].H != H || !same_grid(drawn->g[i].grid, grid, (size_t)L * H, &diff))
            continue;
        char href[80];
        snprintf(href, sizeof href, "#%s", drawn->g[i].anchor);
        hs_html_start(h, "p", "class", "note", NULL);
        hs_html_text(h, "The same values as ");
        hs_html_element(h, "a", drawn->g[i].name, "href", href, NULL);
        hs_html_textf(h, " (every head within %.2g): not drawn again.", diff);
        hs_html_end(h);
        goto done;
    }
    /* a bounded metric keeps its own scale, so a weak score looks weak; unbounded ends follow the data */
    double lo = info ? info->lo : NAN, hi = info ? info->hi : NAN;
    char slug[128], caption[512], scale[96];
    scale_words(lo, hi, scale, sizeof scale);
    snprintf(slug, sizeof slug, "%s-%s-run%lld", analysis, metric, (long long)run->id);
    snprintf(caption, sizeof caption, "%s by layer and head (%s; %s). Hover a cell for its exact value.", title,
             run->label, scale);
    if ((rc = draw_metric(ctx, info, title, v, n, L, H, grid, lo, hi, any_negative, slug, caption, err)) != HS_OK)
        goto done;
    drawn_grid *g = realloc(drawn->g, (size_t)(drawn->n + 1) * sizeof *g);
    if (!g) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    drawn->g = g;
    g[drawn->n] = (drawn_grid){.name = name, .L = L, .H = H, .grid = grid};
    snprintf(g[drawn->n].anchor, sizeof g[drawn->n].anchor, "%s", anchor);
    drawn->n++;
    name = NULL, grid = NULL; /* the list owns them */
done:
    free(name), free(grid), free(v);
    return rc;
}

hs_status hs_report_section_scores(hs_report_ctx *ctx, const hs_report_run *run, hs_error *err)
{
    sqlite3_stmt *st;
    HS_TRY(hs_report_prepare(ctx,
                             "SELECT DISTINCT analysis, metric FROM head_scores WHERE run_id = ?1 "
                             "AND head IS NOT NULL ORDER BY analysis = 'run', analysis, metric",
                             &st, err));
    sqlite3_bind_int64(st, 1, run->id);
    hs_status rc = HS_OK;
    char *current = NULL;
    drawn_list drawn = {0};
    while (rc == HS_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *analysis = hs_report_col(st, 0), *metric = hs_report_col(st, 1);
        if (!current || strcmp(current, analysis) != 0) {
            if (current)
                hs_html_end(ctx->h);
            free(current);
            current = strdup(analysis);
            if (!current) {
                rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
                break;
            }
            char id[160], *heading = NULL;
            snprintf(id, sizeof id, "run-%lld-analysis-%d", (long long)run->id, ctx->sum->analyses + 1);
            if (asprintf(&heading, "Analysis: %s", analysis) < 0) {
                heading = NULL;
                rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
                break;
            }
            rc = hs_report_section_begin(ctx, 2, id, "analysis", heading, err);
            free(heading);
            if (rc != HS_OK) {
                free(current);
                current = NULL; /* nothing opened */
                break;
            }
            const char *about = hs_analysis_description(analysis);
            if (about)
                hs_html_element(ctx->h, "p", about, NULL);
            ctx->sum->analyses++;
        }
        /* copies: write_metric runs other statements, which may not disturb this row's text */
        char *a = strdup(analysis), *m = strdup(metric);
        if (!a || !m)
            rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        else
            rc = write_metric(ctx, run, a, m, &drawn, err);
        free(a), free(m);
    }
    if (current)
        hs_html_end(ctx->h);
    free(current);
    drawn_free(&drawn);
    sqlite3_finalize(st);
    return rc;
}
