/* barchart.h — the bar chart figure: one bar per category (sink counts per key position, top heads
 * "L9H6" with their scores), several series side by side per category (grouped), or stacked, with
 * positive parts stacked up from zero and negative parts down from it (a per-layer direct logit
 * attribution, components in series). Each bar carries a tooltip ("L3, attn = -0.25"); series
 * take the qualitative palette's colours; a legend names them; a zero line crosses the plot when
 * the range holds both signs. Written as PNG, SVG or PDF from one display list.
 *
 *   hs_barchart *b;
 *   hs_barchart_create(12, &b, &err);                      // 12 categories
 *   hs_barchart_set_labels(b, layer_names, 0, &err);       // "L0".."L11" (default: numbers)
 *   hs_barchart_add_series(b, "attn", attn, &err);         // [12] values each, copied
 *   hs_barchart_add_series(b, "mlp", mlp, &err);
 *   hs_barchart_set_mode(b, HS_BARS_STACKED);              // default HS_BARS_GROUPED
 *   hs_barchart_set_title(b, "Direct logit attribution", &err);
 *   hs_barchart_set_axis_labels(b, "layer", "logit", &err);
 *   hs_barchart_write(b, "dla.png", HS_VIZ_PNG, &err);
 *   hs_barchart_free(b);
 *
 * Simple bars are one series (its name may be NULL: tooltips then read "L9H6 = 0.8312").
 */
#ifndef HS_VIZ_BARCHART_H
#define HS_VIZ_BARCHART_H

#include <stdint.h>

#include "headscope.h"
#include "viz/canvas.h"

typedef struct hs_barchart hs_barchart;

typedef enum hs_bar_mode {
    HS_BARS_GROUPED = 0, /* the series' bars side by side within each category */
    HS_BARS_STACKED      /* one bar per category: positive values stacked upwards from zero in
                            series order, negative ones downwards from zero in series order */
} hs_bar_mode;

/* A chart of n (> 0) categories. Free with hs_barchart_free. */
hs_status hs_barchart_create(int n, hs_barchart **out, hs_error *err);
void hs_barchart_free(hs_barchart *b);

/* Adds a series: values [n] copied; a non-finite value draws no bar (and adds nothing to a
 * stack). name (copied) labels the legend, shown when two or more series have names, and the
 * tooltips "category, name = value"; NULL gives "category = value". Series i takes palette
 * colour i. */
hs_status hs_barchart_add_series(hs_barchart *b, const char *name, const float *values, hs_error *err);
/* Overrides series i's colour (HS_ERR_RANGE for no such series). */
hs_status hs_barchart_set_series_color(hs_barchart *b, int series, const uint8_t rgb[3], hs_error *err);

/* n category labels (UTF-8, copied), under the bars and in tooltips; as_tokens shows each through
 * hs_viz_visible_token. Without them categories are numbered from 0 (labels thinned to every
 * 1, 2, 5, 10, ...th when crowded); given labels that do not fit turn upright. */
hs_status hs_barchart_set_labels(hs_barchart *b, const char *const *labels, int as_tokens, hs_error *err);
/* Title and axis names; NULL removes one. Copied. */
hs_status hs_barchart_set_title(hs_barchart *b, const char *title, hs_error *err);
hs_status hs_barchart_set_axis_labels(hs_barchart *b, const char *xlabel, const char *ylabel, hs_error *err);

void hs_barchart_set_mode(hs_barchart *b, hs_bar_mode mode);
/* The y range; a NaN end (the default for both) is automatic: the data's (stack totals when
 * stacked) and zero, widened to nice ticks. Bars grow from zero, or from the range's nearer end
 * when zero is outside it, and are cut at the plot's edges. */
void hs_barchart_set_y_range(hs_barchart *b, double lo, double hi);
/* The plot area in pixels (at least 40 x 40); a 0 (the default for both) is automatic: 300 high,
 * and 40 pixels a category (grouped: 14 a series + 12) kept within 160..480 wide, but never under
 * 3 pixels a category (grouped: 2 a series + 1). Significant digits in tooltips (default 4; whole
 * numbers always print in full). */
void hs_barchart_set_plot_size(hs_barchart *b, int width, int height);
void hs_barchart_set_digits(hs_barchart *b, int digits);

/* As the last hs_barchart_draw or hs_barchart_write laid the figure out: the y range in use, the
 * pixel row of a value, and the rectangle of series s's bar in category c (its part of the stack
 * when stacked; all zero for a non-finite value). Bar edges lie on whole pixels: a stacked part
 * spans round(value_to_y(sum before it)) to round(value_to_y(sum with it)). */
void hs_barchart_range_used(const hs_barchart *b, double *lo, double *hi);
double hs_barchart_value_to_y(const hs_barchart *b, double value);
void hs_barchart_bar_rect(const hs_barchart *b, int series, int category, double *x, double *y, double *w,
                          double *h);

/* Lays the figure out into a new display list (*out, freed with hs_canvas_free): bars are rects of
 * class "bar", legend names texts of class "legend". */
hs_status hs_barchart_draw(hs_barchart *b, hs_canvas **out, hs_error *err);
/* Draws and writes to path in the given format. */
hs_status hs_barchart_write(hs_barchart *b, const char *path, hs_viz_format format, hs_error *err);

#endif
