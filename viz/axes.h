/* axes.h — what the figures share about axes: "nice" ticks over a numeric range (1, 2 or 5 times a
 * power of ten; powers of ten on a log scale), their labels, the value -> pixel mapping, drawing a
 * numeric axis (tick marks, grid lines, labels) and a category axis (one label per category,
 * turned upright or thinned when they crowd) onto a canvas, and the number format of tooltips.
 *
 *   hs_axis y;
 *   hs_axis_ticks(&y, data_min, data_max, 5, HS_AXIS_EXTEND);  // nice ends covering the data
 *   y.p0 = plot_y + plot_h, y.p1 = plot_y;                      // lo at the bottom, hi at the top
 *   double room = hs_axis_extent(&y, HS_AXIS_LEFT);             // ticks + labels, for the margin
 *   hs_axis_draw(cv, &y, HS_AXIS_LEFT, plot_x, plot_w, &err);   // before the data: grid under it
 *   double py = hs_axis_to_px(&y, value);
 *
 *   hs_category_axis cx;                                        // categories at x0 + i * spacing
 *   hs_category_axis_layout(&cx, 12, labels, plot_x + slot / 2, slot);
 *   hs_category_axis_draw(cv, &cx, plot_y + plot_h, &err);      // cx.extent: the room it took
 */
#ifndef HS_VIZ_AXES_H
#define HS_VIZ_AXES_H

#include <stddef.h>

#include "headscope.h"
#include "viz/canvas.h"

#define HS_AXIS_MAX_TICKS 40
#define HS_AXIS_TICK_PT 10.0 /* the font size of tick labels */

/* hs_axis_ticks flags */
enum {
    HS_AXIS_EXTEND = 1, /* widen [lo, hi] out to the nearest ticks, so the ends carry ticks */
    HS_AXIS_LOG = 2,    /* log10 scale: ticks at 1, 2, 5 x 10^k over a short range, else 10^k */
    HS_AXIS_ENDS = 4    /* linear, without EXTEND: lo and hi are ticks too (a colour bar names its
                           minimum and maximum), and round ticks within 3/4 of a step of them are dropped */
};

typedef struct hs_axis {
    double lo, hi;                   /* the range shown: lo < hi (both > 0 on a log axis) */
    int log;                         /* log10 scale */
    int ends;                        /* HS_AXIS_ENDS: ticks[0] = lo and ticks[n - 1] = hi */
    double step;                     /* linear: the tick spacing; log: decades between ticks
                                        (0 when the ticks are 1, 2, 5 x 10^k) */
    int n;                           /* ticks, ascending, all within [lo, hi] */
    double ticks[HS_AXIS_MAX_TICKS];
    double p0, p1;                   /* the pixels of lo and hi: the caller's layout sets them */
} hs_axis;

/* A tick spacing of 1, 2 or 5 times a power of ten giving about target intervals over span (> 0). */
double hs_nice_step(double span, int target);

/* Sets a's range and ticks (about target, clamped to 2..20) for data spanning [lo, hi]. Ends given
 * the wrong way round are swapped; a non-finite end takes the other's value, and two give [0, 1];
 * an empty range (lo == hi) is widened about its value (by half of it, or by 1 around 0; a factor
 * of 2 either way on a log axis); on a log axis an end <= 0 is replaced by one tenth of the other
 * end (by 1 when both are). Without HS_AXIS_EXTEND the range stays [lo, hi] with the ticks inside
 * it (a colour bar); with it the range grows to the ticks just outside (a plot's y axis).
 * p0 = 0 and p1 = 1 until the caller sets them. */
void hs_axis_ticks(hs_axis *a, double lo, double hi, int target, unsigned flags);

/* The label of tick value v: a linear axis prints as many decimals as the step needs ("0.0",
 * "0.5", "1.0"; "-20", "0", "20"), and one more for an end of an HS_AXIS_ENDS axis that falls
 * between round ticks ("0.012" on a step of 0.01), switching to "2.5e6" style beyond 1e6 or below a
 * step of 1e-4;
 * a log axis prints plain numbers ("0.01", "2", "1000") when its range lies within [1e-4, 1e4],
 * else every tick as a power of ten with a superscript exponent ("10⁰", "10⁵", "2×10⁻³"). */
void hs_axis_tick_label(const hs_axis *a, double v, char *buf, size_t cap);

/* The pixel of value v: p0 at lo, p1 at hi, linear in v or in log10(v) (NaN for v <= 0 there).
 * Values outside [lo, hi] map outside [p0, p1]. */
double hs_axis_to_px(const hs_axis *a, double v);

typedef enum hs_axis_side {
    HS_AXIS_LEFT = 0, /* a y axis: tick marks and right-aligned labels left of the line x = pos */
    HS_AXIS_RIGHT,    /* a colour bar: tick marks and labels right of the line x = pos */
    HS_AXIS_BOTTOM    /* an x axis: tick marks and centred labels under the line y = pos */
} hs_axis_side;

/* The room tick marks and labels take beside the axis line: a width for LEFT and RIGHT, a height
 * for BOTTOM. */
double hs_axis_extent(const hs_axis *a, hs_axis_side side);

/* Draws a's tick marks and labels (class "tick") on the given side of the axis line at pos (an x
 * for LEFT and RIGHT, a y for BOTTOM); the line itself is the caller's. With grid > 0 each tick
 * also gets a light grid line that long across the plot (rightwards from a LEFT axis, leftwards
 * from a RIGHT one, upwards from a BOTTOM one): draw the axis before the data, so the data
 * covers the grid. Lines lie on pixel centres, so they are crisp in PNG. */
hs_status hs_axis_draw(hs_canvas *cv, const hs_axis *a, hs_axis_side side, double pos, double grid, hs_error *err);

/* A category axis under a plot: n categories centred at x0 + i * spacing, labelled labels[i]
 * (borrowed; NULL numbers them from 0). The layout keeps labels level when the widest fits
 * between neighbours, else turns them upright, and shows only every k-th (k = 1, 2, 5, 10, ...)
 * when even upright ones would touch; numbered axes stay level and thin out instead. */
typedef struct hs_category_axis {
    int n;
    const char *const *labels;
    double x0, spacing;
    int upright;                /* labels turned -90 degrees, reading upwards */
    int every;                  /* only categories i % every == 0 are labelled */
    double extent;              /* the height tick marks and labels take under the axis line */
    double over_left, over_right; /* how far labels reach past x0 - spacing / 2 and
                                     x0 + (n - 0.5) * spacing (>= 0), for the margins */
} hs_category_axis;

void hs_category_axis_layout(hs_category_axis *c, int n, const char *const *labels, double x0, double spacing);
/* The widest of the n labels (NULL: the numbers 0 .. n-1) as the axis draws them; level labels
 * need a spacing of that + HS_CATEGORY_LABEL_GAP. */
double hs_category_label_width(int n, const char *const *labels);
#define HS_CATEGORY_LABEL_GAP 6
/* Draws the tick marks and labels (class "category") under the axis line at y. */
hs_status hs_category_axis_draw(hs_canvas *cv, const hs_category_axis *c, double y, hs_error *err);

/* A value as tooltips print it: "missing" for NaN; whole numbers below 1e15 in full ("42",
 * "-3", "50257"); others with digits significant digits (1..17; more when an integer part below
 * 1e15 needs them, so 12345.6 prints "12346", not "1.235e+04"). */
void hs_viz_format_value(double v, int digits, char *buf, size_t cap);

#endif
