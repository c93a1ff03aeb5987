/* lineplot.c — lays a line plot out onto a display list: the frame (viz/plot.c), then per series
 * its line segments (broken at gaps, cut at the plot's edges) and a ringed marker per point. */
#include "viz/lineplot.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "viz/plot.h"

struct hs_lineplot {
    int n;
    hs_series *series;
    int n_series;
    char **x_labels;        /* n strings, or NULL: numbered */
    char *title, *xlabel, *ylabel;
    int log_y, digits, plot_w, plot_h;
    double lo, hi;          /* requested y range; NaN = automatic */
    hs_plot_frame frame;    /* the last layout */
    double spacing;         /* between neighbouring points, pixels */
};

enum { Y_INSET = 8 };
static const double LINE_W = 2.0;
static const uint8_t WHITE[3] = {0xff, 0xff, 0xff};

hs_status hs_lineplot_create(int n, hs_lineplot **out, hs_error *err)
{
    *out = NULL;
    if (n <= 0)
        return hs_fail(err, HS_ERR_ARG, "lineplot: needs n > 0 points (got %d)", n);
    hs_lineplot *p = calloc(1, sizeof *p);
    if (!p)
        return hs_fail(err, HS_ERR_NOMEM, "lineplot: out of memory");
    p->n = n;
    p->lo = p->hi = NAN;
    p->digits = 4, p->plot_w = 480, p->plot_h = 300;
    *out = p;
    return HS_OK;
}

void hs_lineplot_free(hs_lineplot *p)
{
    if (!p)
        return;
    hs_series_free(p->series, p->n_series);
    hs_labels_free(p->x_labels, p->n);
    free(p->title), free(p->xlabel), free(p->ylabel);
    free(p);
}

hs_status hs_lineplot_add_series(hs_lineplot *p, const char *name, const float *values, hs_error *err)
{
    return hs_series_add(&p->series, &p->n_series, p->n, name, values, "lineplot", err);
}

hs_status hs_lineplot_set_series_color(hs_lineplot *p, int series, const uint8_t rgb[3], hs_error *err)
{
    if (series < 0 || series >= p->n_series)
        return hs_fail(err, HS_ERR_RANGE, "lineplot: no series %d (%d series)", series, p->n_series);
    memcpy(p->series[series].rgb, rgb, 3);
    return HS_OK;
}

hs_status hs_lineplot_set_x_labels(hs_lineplot *p, const char *const *labels, int as_tokens, hs_error *err)
{
    return hs_labels_copy(&p->x_labels, p->n, labels, as_tokens, "lineplot", err);
}

hs_status hs_lineplot_set_title(hs_lineplot *p, const char *title, hs_error *err)
{
    return hs_string_copy(&p->title, title, "lineplot", err);
}

hs_status hs_lineplot_set_axis_labels(hs_lineplot *p, const char *xlabel, const char *ylabel, hs_error *err)
{
    /* copy both first, so a failure leaves both as they were */
    char *x = NULL, *y = NULL;
    hs_status rc = hs_string_copy(&x, xlabel, "lineplot", err);
    if (rc == HS_OK)
        rc = hs_string_copy(&y, ylabel, "lineplot", err);
    if (rc != HS_OK) {
        free(x);
        return rc;
    }
    free(p->xlabel), free(p->ylabel);
    p->xlabel = x, p->ylabel = y;
    return HS_OK;
}

void hs_lineplot_set_log_y(hs_lineplot *p, int on) { p->log_y = on != 0; }
void hs_lineplot_set_y_range(hs_lineplot *p, double lo, double hi) { p->lo = lo, p->hi = hi; }
void hs_lineplot_set_digits(hs_lineplot *p, int digits) { p->digits = digits < 1 ? 1 : digits > 17 ? 17 : digits; }

void hs_lineplot_set_plot_size(hs_lineplot *p, int width, int height)
{
    p->plot_w = width < 40 ? 40 : width;
    p->plot_h = height < 40 ? 40 : height;
}

void hs_lineplot_range_used(const hs_lineplot *p, double *lo, double *hi)
{
    *lo = p->frame.y.lo, *hi = p->frame.y.hi;
}

double hs_lineplot_value_to_y(const hs_lineplot *p, double value)
{
    return hs_axis_to_px(&p->frame.y, value);
}

/* A value the y axis can show (finite; positive on a log axis). */
static int plottable(const hs_lineplot *p, double v)
{
    return isfinite(v) && (!p->log_y || v > 0);
}

void hs_lineplot_point(const hs_lineplot *p, int series, int i, double *x, double *y)
{
    *x = p->frame.x.x0 + i * p->spacing;
    double v = series >= 0 && series < p->n_series && i >= 0 && i < p->n ? p->series[series].values[i] : NAN;
    *y = plottable(p, v) ? hs_axis_to_px(&p->frame.y, v) : NAN;
}

/* The y range: requested ends as they are, automatic ends from the data widened to nice ticks. */
static void resolve_range(hs_lineplot *p, hs_axis *y)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int s = 0; s < p->n_series; s++)
        for (int i = 0; i < p->n; i++) {
            double v = p->series[s].values[i];
            if (plottable(p, v))
                mn = fmin(mn, v), mx = fmax(mx, v);
        }
    if (mn > mx)
        mn = mx = NAN; /* no data: the axis picks [0, 1] (log: [1, 10]) */
    unsigned log = p->log_y ? HS_AXIS_LOG : 0;
    double lo = isnan(p->lo) ? mn : p->lo, hi = isnan(p->hi) ? mx : p->hi;
    hs_axis_ticks(y, lo, hi, 6, log | HS_AXIS_EXTEND);
    if (!isnan(p->lo) || !isnan(p->hi)) {
        double elo = y->lo, ehi = y->hi;
        hs_axis_ticks(y, isnan(p->lo) ? elo : p->lo, isnan(p->hi) ? ehi : p->hi, 6, log);
    }
}

/* Cuts the segment (x1, y1)-(x2, y2) to top <= y <= bottom; 0 when nothing is left. */
static int clip_y(double *x1, double *y1, double *x2, double *y2, double top, double bottom)
{
    double t0 = 0, t1 = 1, dy = *y2 - *y1;
    double lims[2][2] = {{-dy, *y1 - top}, {dy, bottom - *y1}}; /* p * t <= q */
    for (int k = 0; k < 2; k++) {
        double pp = lims[k][0], q = lims[k][1];
        if (pp == 0) {
            if (q < 0)
                return 0;
        } else if (pp < 0) {
            t0 = fmax(t0, q / pp);
        } else {
            t1 = fmin(t1, q / pp);
        }
    }
    if (t0 > t1)
        return 0;
    double ax = *x1, ay = *y1, dx = *x2 - *x1;
    *x1 = ax + t0 * dx, *y1 = ay + t0 * dy;
    *x2 = ax + t1 * dx, *y2 = ay + t1 * dy;
    return 1;
}

hs_status hs_lineplot_draw(hs_lineplot *p, hs_canvas **out, hs_error *err)
{
    hs_status rc = HS_OK;
    hs_canvas *cv = NULL;
    char *tip = NULL;
    char nbuf[32], vbuf[64];
    *out = NULL;

    hs_plot_frame *f = &p->frame;
    memset(f, 0, sizeof *f);
    f->title = p->title, f->xlabel = p->xlabel, f->ylabel = p->ylabel;
    f->plot_w = p->plot_w, f->plot_h = p->plot_h, f->y_inset = Y_INSET;
    f->series = p->series, f->n_series = p->n_series, f->legend = HS_LEGEND_LINE;
    resolve_range(p, &f->y);
    p->spacing = (double)p->plot_w / p->n; /* points at the centres of n equal slots */
    hs_category_axis_layout(&f->x, p->n, (const char *const *)p->x_labels, p->spacing / 2, p->spacing);
    hs_plot_layout(f);
    double top = f->plot_y, bottom = f->plot_y + f->plot_h;
    double r = fmin(fmax(p->spacing / 3, 1.5), 3.5); /* markers shrink when points crowd */

    HS_TRY(hs_canvas_create(f->width, f->height, &cv, err));
#define DO(call)                    \
    do {                            \
        if ((rc = (call)) != HS_OK) \
            goto done;              \
    } while (0)
    DO(hs_plot_draw_back(cv, f, err));
    for (int s = 0; s < p->n_series; s++) {
        const hs_series *se = &p->series[s];
        for (int i = 0; i + 1 < p->n; i++) {
            double x1, y1, x2, y2;
            hs_lineplot_point(p, s, i, &x1, &y1);
            hs_lineplot_point(p, s, i + 1, &x2, &y2);
            if (isnan(y1) || isnan(y2) || !clip_y(&x1, &y1, &x2, &y2, top, bottom))
                continue;
            DO(hs_canvas_line(cv, x1, y1, x2, y2, LINE_W, se->rgb, err));
        }
        for (int i = 0; i < p->n; i++) {
            double x, y;
            hs_lineplot_point(p, s, i, &x, &y);
            if (isnan(y) || y < top - 1e-9 || y > bottom + 1e-9)
                continue;
            const char *xl = p->x_labels ? p->x_labels[i] : (snprintf(nbuf, sizeof nbuf, "%d", i), nbuf);
            hs_viz_format_value(se->values[i], p->digits, vbuf, sizeof vbuf);
            g_free(tip);
            tip = se->name ? g_strdup_printf("%s, %s = %s", se->name, xl, vbuf) : g_strdup_printf("%s = %s", xl, vbuf);
            DO(hs_canvas_circle(cv, x, y, r + 1, WHITE, NULL, NULL, err));
            DO(hs_canvas_circle(cv, x, y, r, se->rgb, tip, "marker", err));
        }
    }
    DO(hs_plot_draw_front(cv, f, err));
#undef DO
    *out = cv;
    cv = NULL;
done:
    g_free(tip);
    hs_canvas_free(cv);
    return rc;
}

hs_status hs_lineplot_write(hs_lineplot *p, const char *path, hs_viz_format format, hs_error *err)
{
    hs_canvas *cv = NULL;
    HS_TRY(hs_lineplot_draw(p, &cv, err));
    hs_status rc = hs_canvas_write(cv, path, format, err);
    hs_canvas_free(cv);
    return rc;
}
