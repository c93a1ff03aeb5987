/* plot.c — the parts line plots and bar charts share: series and label lists, and the frame around
 * a plot area (layout measured with pango so nothing overlaps; title, axis names, axes, legend). */
#include "viz/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "viz/colormap.h"
#include "viz/heatmap.h" /* hs_viz_visible_token */

enum { PAD = 10, LABEL_GAP = 6, LEGEND_GAP = 16, SWATCH = 20, SWATCH_GAP = 6, ROW_GAP = 4 };
static const double TITLE_PT = 15, AXIS_PT = 12, LEGEND_PT = 11;
static const uint8_t INK[3] = {0x22, 0x22, 0x22}, ZERO[3] = {0x77, 0x77, 0x77}, WHITE[3] = {0xff, 0xff, 0xff};

hs_status hs_series_add(hs_series **list, int *n, int len, const char *name, const float *values, const char *what,
                        hs_error *err)
{
    if (!values)
        return hs_fail(err, HS_ERR_ARG, "%s: a series needs values", what);
    hs_series *grown = realloc(*list, (size_t)(*n + 1) * sizeof *grown);
    if (!grown)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", what);
    *list = grown;
    hs_series *s = &grown[*n];
    memset(s, 0, sizeof *s);
    s->values = malloc((size_t)len * sizeof *s->values);
    s->name = name ? strdup(name) : NULL;
    if (!s->values || (name && !s->name)) {
        free(s->values), free(s->name);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", what);
    }
    memcpy(s->values, values, (size_t)len * sizeof *s->values);
    hs_palette_rgb(*n, s->rgb);
    (*n)++;
    return HS_OK;
}

void hs_series_free(hs_series *list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i].name), free(list[i].values);
    free(list);
}

void hs_labels_free(char **labels, int n)
{
    if (!labels)
        return;
    for (int i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

hs_status hs_labels_copy(char ***slot, int n, const char *const *labels, int as_tokens, const char *what,
                         hs_error *err)
{
    char **copy = NULL;
    if (labels) {
        copy = calloc((size_t)n, sizeof *copy);
        if (!copy)
            return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", what);
        for (int i = 0; i < n; i++) {
            const char *s = labels[i] ? labels[i] : "";
            copy[i] = as_tokens ? hs_viz_visible_token(s, strlen(s)) : strdup(s);
            if (!copy[i]) {
                hs_labels_free(copy, n);
                return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", what);
            }
        }
    }
    hs_labels_free(*slot, n);
    *slot = copy;
    return HS_OK;
}

hs_status hs_string_copy(char **slot, const char *s, const char *what, hs_error *err)
{
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", what);
    free(*slot);
    *slot = copy;
    return HS_OK;
}

static int legend_rows(const hs_plot_frame *f)
{
    int named = 0;
    for (int i = 0; i < f->n_series; i++)
        named += f->series[i].name != NULL;
    return named >= 2 ? named : 0;
}

static void legend_size(const hs_plot_frame *f, double *w, double *h, double *row)
{
    double lh, tw;
    hs_canvas_text_size("Ag", LEGEND_PT, 0, NULL, &lh, NULL);
    *row = fmax(lh, 12) + ROW_GAP;
    *w = *h = 0;
    int rows = legend_rows(f);
    if (!rows)
        return;
    for (int i = 0; i < f->n_series; i++)
        if (f->series[i].name) {
            hs_canvas_text_size(f->series[i].name, LEGEND_PT, 0, &tw, NULL, NULL);
            *w = fmax(*w, SWATCH + SWATCH_GAP + tw);
        }
    *h = rows * *row;
}

void hs_plot_layout(hs_plot_frame *f)
{
    double th = 0, tw = 0, xh = 0, yh = 0, lw, lgh, row;
    if (f->title)
        hs_canvas_text_size(f->title, TITLE_PT, 1, &tw, &th, NULL);
    if (f->xlabel)
        hs_canvas_text_size(f->xlabel, AXIS_PT, 0, NULL, &xh, NULL);
    if (f->ylabel)
        hs_canvas_text_size(f->ylabel, AXIS_PT, 0, NULL, &yh, NULL);
    legend_size(f, &lw, &lgh, &row);

    double left = PAD + (f->ylabel ? yh + LABEL_GAP : 0) + hs_axis_extent(&f->y, HS_AXIS_LEFT);
    f->plot_x = ceil(fmax(left, PAD + f->x.over_left));
    /* room above the plot for the title, or else for the top tick label's upper half */
    double tick_h;
    hs_canvas_text_size("0", HS_AXIS_TICK_PT, 0, NULL, &tick_h, NULL);
    f->plot_y = ceil(f->title ? PAD + th + PAD : fmax(PAD, PAD + tick_h / 2 - f->y_inset));
    double plot_r = f->plot_x + f->plot_w, plot_b = f->plot_y + f->plot_h;
    /* the legend sits beside the plot; should it reach below the plot, it steps clear of
     * category labels overhanging the right edge */
    double right = plot_r + f->x.over_right + PAD;
    if (lw > 0) {
        double lx = plot_r + LEGEND_GAP;
        if (lgh > f->plot_h)
            lx = fmax(lx, plot_r + f->x.over_right + LABEL_GAP);
        right = fmax(right, lx + lw + PAD);
    }
    f->width = ceil(fmax(right, tw + 2 * PAD));
    double bottom = plot_b + f->x.extent + (f->xlabel ? LABEL_GAP + xh : 0) + PAD;
    f->height = ceil(fmax(bottom, f->plot_y + lgh + PAD)); /* a long legend may reach lower */

    f->y.p0 = plot_b - f->y_inset, f->y.p1 = f->plot_y + f->y_inset;
    f->x.x0 += f->plot_x;
}

hs_status hs_plot_draw_back(hs_canvas *cv, const hs_plot_frame *f, hs_error *err)
{
    double th, tw, xh, yh;
    double plot_r = f->plot_x + f->plot_w, plot_b = f->plot_y + f->plot_h;
    if (f->title) {
        hs_canvas_text_size(f->title, TITLE_PT, 1, &tw, &th, NULL);
        double cx = fmin(fmax(f->plot_x + f->plot_w / 2, PAD + tw / 2), f->width - PAD - tw / 2);
        HS_TRY(hs_canvas_text(cv, cx, PAD + th / 2, f->title, TITLE_PT, 1, HS_ANCHOR_MIDDLE, 0, INK, NULL, "title",
                              err));
    }
    if (f->xlabel) {
        hs_canvas_text_size(f->xlabel, AXIS_PT, 0, NULL, &xh, NULL);
        HS_TRY(hs_canvas_text(cv, f->plot_x + f->plot_w / 2, plot_b + f->x.extent + LABEL_GAP + xh / 2, f->xlabel,
                              AXIS_PT, 0, HS_ANCHOR_MIDDLE, 0, INK, NULL, "x-label", err));
    }
    if (f->ylabel) {
        hs_canvas_text_size(f->ylabel, AXIS_PT, 0, NULL, &yh, NULL);
        HS_TRY(hs_canvas_text(cv, PAD + yh / 2, f->plot_y + f->plot_h / 2, f->ylabel, AXIS_PT, 0, HS_ANCHOR_MIDDLE,
                              -90, INK, NULL, "y-label", err));
    }
    HS_TRY(hs_axis_draw(cv, &f->y, HS_AXIS_LEFT, f->plot_x, f->plot_w, err));
    /* zero inside the range: a line across, under the data */
    if (!f->y.log && f->y.lo < 0 && f->y.hi > 0) {
        double y0 = floor(hs_axis_to_px(&f->y, 0.0)) + 0.5;
        HS_TRY(hs_canvas_line(cv, f->plot_x, y0, plot_r, y0, 1.0, ZERO, err));
    }
    return HS_OK;
}

hs_status hs_plot_draw_front(hs_canvas *cv, const hs_plot_frame *f, hs_error *err)
{
    double plot_r = f->plot_x + f->plot_w, plot_b = f->plot_y + f->plot_h;
    /* axis lines on the pixel column left of the plot and the row under it */
    HS_TRY(hs_canvas_line(cv, f->plot_x - 0.5, f->plot_y, f->plot_x - 0.5, plot_b + 1, 1.0, INK, err));
    HS_TRY(hs_canvas_line(cv, f->plot_x - 1, plot_b + 0.5, plot_r, plot_b + 0.5, 1.0, INK, err));
    HS_TRY(hs_category_axis_draw(cv, &f->x, plot_b + 1, err));

    double lw, lgh, row;
    legend_size(f, &lw, &lgh, &row);
    if (lw <= 0)
        return HS_OK;
    double lx = plot_r + LEGEND_GAP;
    if (lgh > f->plot_h)
        lx = fmax(lx, plot_r + f->x.over_right + LABEL_GAP);
    double y = f->plot_y + row / 2;
    for (int i = 0; i < f->n_series; i++) {
        const hs_series *s = &f->series[i];
        if (!s->name)
            continue;
        if (f->legend == HS_LEGEND_LINE) {
            HS_TRY(hs_canvas_line(cv, lx, y, lx + SWATCH, y, 2.0, s->rgb, err));
            HS_TRY(hs_canvas_circle(cv, lx + SWATCH / 2.0, y, 4.5, WHITE, NULL, NULL, err));
            HS_TRY(hs_canvas_circle(cv, lx + SWATCH / 2.0, y, 3.5, s->rgb, NULL, "legend-swatch", err));
        } else {
            HS_TRY(hs_canvas_rect(cv, lx + 4, floor(y) - 6, 12, 12, s->rgb, NULL, "legend-swatch", err));
        }
        HS_TRY(hs_canvas_text(cv, lx + SWATCH + SWATCH_GAP, y, s->name, LEGEND_PT, 0, HS_ANCHOR_START, 0, INK, NULL,
                              "legend", err));
        y += row;
    }
    return HS_OK;
}
