/* lineplot.h — the line plot figure: several named series over one shared x (a metric across
 * layers, a target token's probability or rank through the logit lens), each in its own colour of
 * the qualitative palette, with a marker per point carrying a tooltip ("induction, L9 = 0.8312"),
 * a legend beside the plot, a title, axis names, and a linear or log y axis. Written as PNG, SVG or
 * PDF from one display list.
 *
 *   hs_lineplot *p;
 *   hs_lineplot_create(12, &p, &err);                         // 12 points per series: x = 0..11
 *   hs_lineplot_set_x_labels(p, layer_names, 0, &err);        // "L0".."L11" (default: numbers)
 *   hs_lineplot_add_series(p, "induction", induction, &err);  // [12] values, copied; NaN = gap
 *   hs_lineplot_add_series(p, "previous token", prev, &err);
 *   hs_lineplot_set_title(p, "Head scores by layer", &err);
 *   hs_lineplot_set_axis_labels(p, "layer", "score", &err);
 *   hs_lineplot_write(p, "scores.svg", HS_VIZ_SVG, &err);
 *   hs_lineplot_free(p);
 *
 * For ranks, hs_lineplot_set_log_y(p, 1) gives a log10 y axis (ticks 1, 10, 100, ...).
 */
#ifndef HS_VIZ_LINEPLOT_H
#define HS_VIZ_LINEPLOT_H

#include <stdint.h>

#include "headscope.h"
#include "viz/canvas.h"

typedef struct hs_lineplot hs_lineplot;

/* A plot of n (> 0) points per series, at x = 0 .. n-1. Free with hs_lineplot_free. */
hs_status hs_lineplot_create(int n, hs_lineplot **out, hs_error *err);
void hs_lineplot_free(hs_lineplot *p);

/* Adds a series: values [n] copied; a non-finite value (or one <= 0 on a log axis) is a gap: no
 * marker there, and the line breaks. name (copied) labels the legend and tooltips; NULL leaves it
 * out of the legend and gives tooltips "L9 = 0.8312". Series i takes palette colour i. */
hs_status hs_lineplot_add_series(hs_lineplot *p, const char *name, const float *values, hs_error *err);
/* Overrides series i's colour (HS_ERR_RANGE for no such series). */
hs_status hs_lineplot_set_series_color(hs_lineplot *p, int series, const uint8_t rgb[3], hs_error *err);

/* n x-axis labels (UTF-8, copied), shown under the points and in tooltips; with as_tokens non-zero
 * each goes through hs_viz_visible_token. Without them the points are numbered from 0. Labels
 * that do not fit side by side turn upright, and are thinned out when even that crowds them. */
hs_status hs_lineplot_set_x_labels(hs_lineplot *p, const char *const *labels, int as_tokens, hs_error *err);
/* Title and axis names; NULL removes one. Copied. */
hs_status hs_lineplot_set_title(hs_lineplot *p, const char *title, hs_error *err);
hs_status hs_lineplot_set_axis_labels(hs_lineplot *p, const char *xlabel, const char *ylabel, hs_error *err);

/* A log10 y axis (default off). */
void hs_lineplot_set_log_y(hs_lineplot *p, int on);
/* The y range; a NaN end (the default for both) is automatic: the data's, widened to nice ticks.
 * Points outside a set range get no marker, and lines toward them stop at the plot's edge. */
void hs_lineplot_set_y_range(hs_lineplot *p, double lo, double hi);
/* The plot area in pixels (default 480 x 300; at least 40 x 40), and significant digits in
 * tooltips (default 4; whole numbers always print in full). */
void hs_lineplot_set_plot_size(hs_lineplot *p, int width, int height);
void hs_lineplot_set_digits(hs_lineplot *p, int digits);

/* As the last hs_lineplot_draw or hs_lineplot_write laid the figure out: the y range in use, the
 * pixel row of a value (NaN where a log axis cannot show it), and the centre of point i of a
 * series (x, y; y NaN for a gap). For tests and for callers adding marks. */
void hs_lineplot_range_used(const hs_lineplot *p, double *lo, double *hi);
double hs_lineplot_value_to_y(const hs_lineplot *p, double value);
void hs_lineplot_point(const hs_lineplot *p, int series, int i, double *x, double *y);

/* Lays the figure out into a new display list (*out, freed with hs_canvas_free): markers are
 * circles of class "marker", legend names texts of class "legend". */
hs_status hs_lineplot_draw(hs_lineplot *p, hs_canvas **out, hs_error *err);
/* Draws and writes to path in the given format. */
hs_status hs_lineplot_write(hs_lineplot *p, const char *path, hs_viz_format format, hs_error *err);

#endif
