/* plot.h — internal to viz/: what the line plot and the bar chart share. Named series of values,
 * copied label lists, and the frame around a plot area: title, axis names, a numeric y axis on the
 * left, a category axis underneath, and a legend to the right of the plot (never over the data).
 *
 *   hs_plot_frame f = {.title = t, .xlabel = x, .ylabel = y, .plot_w = 480, .plot_h = 300};
 *   hs_axis_ticks(&f.y, lo, hi, 6, HS_AXIS_EXTEND);
 *   hs_category_axis_layout(&f.x, n, labels, slot / 2, slot);  // x0 relative to the plot's left
 *   f.series = series, f.n_series = k, f.legend = HS_LEGEND_LINE;
 *   hs_plot_layout(&f);                                        // plot_x, plot_y, width, height
 *   hs_canvas_create(f.width, f.height, &cv, &err);
 *   hs_plot_draw_back(cv, &f, &err);                           // grid, zero line, y axis, names
 *   ... the data, through hs_axis_to_px(&f.y, v) ...
 *   hs_plot_draw_front(cv, &f, &err);                          // axis lines, categories, legend
 */
#ifndef HS_VIZ_PLOT_H
#define HS_VIZ_PLOT_H

#include <stdint.h>

#include "headscope.h"
#include "viz/axes.h"
#include "viz/canvas.h"

typedef struct hs_series {
    char *name;     /* NULL: not in the legend */
    float *values;  /* [len] */
    uint8_t rgb[3];
} hs_series;

/* Appends a series (name and len values copied; colour: palette entry *n) to *list. */
hs_status hs_series_add(hs_series **list, int *n, int len, const char *name, const float *values, const char *what,
                        hs_error *err);
void hs_series_free(hs_series *list, int n);

/* Replaces *slot with a copy of n labels (as_tokens: through hs_viz_visible_token; NULL labels:
 * *slot becomes NULL); on failure *slot stays. */
hs_status hs_labels_copy(char ***slot, int n, const char *const *labels, int as_tokens, const char *what,
                         hs_error *err);
void hs_labels_free(char **labels, int n);
/* Replaces *slot with a copy of s (NULL: none); on failure *slot stays. */
hs_status hs_string_copy(char **slot, const char *s, const char *what, hs_error *err);

typedef enum hs_legend_kind { HS_LEGEND_LINE = 0, HS_LEGEND_BOX } hs_legend_kind;

typedef struct hs_plot_frame {
    /* set by the figure */
    const char *title, *xlabel, *ylabel;
    double plot_w, plot_h;     /* the plot area, whole pixels */
    double y_inset;            /* pixels between the plot's top and bottom edges and the y range */
    hs_axis y;                 /* range and ticks; hs_plot_layout sets p0 and p1 */
    hs_category_axis x;        /* laid out with x0 relative to the plot's left edge */
    const hs_series *series;
    int n_series;
    hs_legend_kind legend;     /* shown when two or more series have names */
    /* set by hs_plot_layout */
    double plot_x, plot_y, width, height;
} hs_plot_frame;

void hs_plot_layout(hs_plot_frame *f);
hs_status hs_plot_draw_back(hs_canvas *cv, const hs_plot_frame *f, hs_error *err);
hs_status hs_plot_draw_front(hs_canvas *cv, const hs_plot_frame *f, hs_error *err);

#endif
