/* barchart.c — lays a bar chart out onto a display list: the frame (viz/plot.c), then one rect per
 * finite value, its edges on whole pixels (so PNG bars carry their exact colours and stacked parts
 * meet without seams), cut at the plot's edges. */
#include "viz/barchart.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "viz/plot.h"

struct hs_barchart {
    int n;
    hs_series *series;
    int n_series;
    char **labels;          /* n strings, or NULL: numbered */
    char *title, *xlabel, *ylabel;
    hs_bar_mode mode;
    int digits, plot_w, plot_h; /* 0: automatic size */
    double lo, hi;          /* requested y range; NaN = automatic */
    hs_plot_frame frame;    /* the last layout */
    double slot;            /* pixels per category */
};

hs_status hs_barchart_create(int n, hs_barchart **out, hs_error *err)
{
    *out = NULL;
    if (n <= 0)
        return hs_fail(err, HS_ERR_ARG, "barchart: needs n > 0 categories (got %d)", n);
    hs_barchart *b = calloc(1, sizeof *b);
    if (!b)
        return hs_fail(err, HS_ERR_NOMEM, "barchart: out of memory");
    b->n = n;
    b->lo = b->hi = NAN;
    b->digits = 4;
    *out = b;
    return HS_OK;
}

void hs_barchart_free(hs_barchart *b)
{
    if (!b)
        return;
    hs_series_free(b->series, b->n_series);
    hs_labels_free(b->labels, b->n);
    free(b->title), free(b->xlabel), free(b->ylabel);
    free(b);
}

hs_status hs_barchart_add_series(hs_barchart *b, const char *name, const float *values, hs_error *err)
{
    return hs_series_add(&b->series, &b->n_series, b->n, name, values, "barchart", err);
}

hs_status hs_barchart_set_series_color(hs_barchart *b, int series, const uint8_t rgb[3], hs_error *err)
{
    if (series < 0 || series >= b->n_series)
        return hs_fail(err, HS_ERR_RANGE, "barchart: no series %d (%d series)", series, b->n_series);
    memcpy(b->series[series].rgb, rgb, 3);
    return HS_OK;
}

hs_status hs_barchart_set_labels(hs_barchart *b, const char *const *labels, int as_tokens, hs_error *err)
{
    return hs_labels_copy(&b->labels, b->n, labels, as_tokens, "barchart", err);
}

hs_status hs_barchart_set_title(hs_barchart *b, const char *title, hs_error *err)
{
    return hs_string_copy(&b->title, title, "barchart", err);
}

hs_status hs_barchart_set_axis_labels(hs_barchart *b, const char *xlabel, const char *ylabel, hs_error *err)
{
    /* copy both first, so a failure leaves both as they were */
    char *x = NULL, *y = NULL;
    hs_status rc = hs_string_copy(&x, xlabel, "barchart", err);
    if (rc == HS_OK)
        rc = hs_string_copy(&y, ylabel, "barchart", err);
    if (rc != HS_OK) {
        free(x);
        return rc;
    }
    free(b->xlabel), free(b->ylabel);
    b->xlabel = x, b->ylabel = y;
    return HS_OK;
}

void hs_barchart_set_mode(hs_barchart *b, hs_bar_mode mode) { b->mode = mode; }
void hs_barchart_set_y_range(hs_barchart *b, double lo, double hi) { b->lo = lo, b->hi = hi; }
void hs_barchart_set_digits(hs_barchart *b, int digits) { b->digits = digits < 1 ? 1 : digits > 17 ? 17 : digits; }

void hs_barchart_set_plot_size(hs_barchart *b, int width, int height)
{
    b->plot_w = width <= 0 ? 0 : width < 40 ? 40 : width;
    b->plot_h = height <= 0 ? 0 : height < 40 ? 40 : height;
}

void hs_barchart_range_used(const hs_barchart *b, double *lo, double *hi)
{
    *lo = b->frame.y.lo, *hi = b->frame.y.hi;
}

double hs_barchart_value_to_y(const hs_barchart *b, double value)
{
    return hs_axis_to_px(&b->frame.y, value);
}

/* Where bars grow from: zero, or the range's nearer end when zero is outside it. */
static double base_value(const hs_barchart *b)
{
    return fmin(fmax(0.0, b->frame.y.lo), b->frame.y.hi);
}

/* The pixel row of a value, whole, within the plot. */
static double snap_y(const hs_barchart *b, double v)
{
    const hs_plot_frame *f = &b->frame;
    return fmin(fmax(round(hs_axis_to_px(&f->y, v)), f->plot_y), f->plot_y + f->plot_h);
}

void hs_barchart_bar_rect(const hs_barchart *b, int series, int category, double *x, double *y, double *w,
                          double *h)
{
    *x = *y = *w = *h = 0;
    if (series < 0 || series >= b->n_series || category < 0 || category >= b->n)
        return;
    double v = b->series[series].values[category];
    if (!isfinite(v))
        return;
    /* horizontally: a bar 70% of the slot, or a group 80% of it split among the series */
    double left = b->frame.plot_x + category * b->slot, xa, xb;
    if (b->mode == HS_BARS_GROUPED && b->n_series > 1) {
        double bw = 0.8 * b->slot / b->n_series;
        xa = round(left + 0.1 * b->slot + series * bw); /* neighbours share the rounded edge */
        xb = round(left + 0.1 * b->slot + (series + 1) * bw);
    } else {
        xa = round(left + 0.15 * b->slot), xb = round(left + 0.85 * b->slot);
    }
    if (xb <= xa)
        xb = xa + 1;
    /* vertically: from the base (or the stack so far) to the value (or the stack with it) */
    double from = base_value(b), to = v;
    if (b->mode == HS_BARS_STACKED) {
        double below = 0;
        for (int s = 0; s < series; s++) {
            double u = b->series[s].values[category];
            if (isfinite(u) && (u < 0) == (v < 0))
                below += u;
        }
        from = below, to = below + v;
    }
    double ya = snap_y(b, from), yb = snap_y(b, to);
    *x = xa, *w = xb - xa;
    *y = fmin(ya, yb), *h = fabs(yb - ya);
}

/* The y range: requested ends as they are, automatic ends from the data (stack totals when
 * stacked) and zero, widened to nice ticks. */
static void resolve_range(hs_barchart *b, hs_axis *y)
{
    double mn = 0, mx = 0;
    for (int c = 0; c < b->n; c++) {
        double pos = 0, neg = 0;
        for (int s = 0; s < b->n_series; s++) {
            double v = b->series[s].values[c];
            if (!isfinite(v))
                continue;
            if (b->mode == HS_BARS_STACKED)
                v < 0 ? (neg += v) : (pos += v);
            else
                mn = fmin(mn, v), mx = fmax(mx, v);
        }
        mn = fmin(mn, neg), mx = fmax(mx, pos);
    }
    if (mn == 0 && mx == 0)
        mx = 1; /* nothing but zeros: an upward axis */
    double lo = isnan(b->lo) ? mn : b->lo, hi = isnan(b->hi) ? mx : b->hi;
    hs_axis_ticks(y, lo, hi, 6, HS_AXIS_EXTEND);
    if (!isnan(b->lo) || !isnan(b->hi)) {
        double elo = y->lo, ehi = y->hi;
        hs_axis_ticks(y, isnan(b->lo) ? elo : b->lo, isnan(b->hi) ? ehi : b->hi, 6, 0);
    }
}

/* The automatic plot width: 40 pixels a category (grouped: 14 a series + 12), or what keeps the
 * labels level when that fits, within 160..480; but never under 3 pixels a category (grouped: 2 a
 * series + 1). */
static int auto_width(const hs_barchart *b)
{
    int grouped = b->mode == HS_BARS_GROUPED && b->n_series > 1;
    double want = grouped ? 14.0 * b->n_series + 12 : 40, least = grouped ? 2.0 * b->n_series + 1 : 3;
    if (b->labels) {
        double level = ceil(hs_category_label_width(b->n, (const char *const *)b->labels) + HS_CATEGORY_LABEL_GAP);
        if (level > want && b->n * level <= 480)
            want = level;
    }
    double w = fmin(fmax(b->n * want, 160), 480);
    return (int)ceil(fmax(w, b->n * least));
}

hs_status hs_barchart_draw(hs_barchart *b, hs_canvas **out, hs_error *err)
{
    hs_status rc = HS_OK;
    hs_canvas *cv = NULL;
    char *tip = NULL;
    char nbuf[32], vbuf[64];
    *out = NULL;

    hs_plot_frame *f = &b->frame;
    memset(f, 0, sizeof *f);
    f->title = b->title, f->xlabel = b->xlabel, f->ylabel = b->ylabel;
    f->plot_w = b->plot_w ? b->plot_w : auto_width(b);
    f->plot_h = b->plot_h ? b->plot_h : 300;
    f->series = b->series, f->n_series = b->n_series, f->legend = HS_LEGEND_BOX;
    resolve_range(b, &f->y);
    b->slot = f->plot_w / b->n;
    hs_category_axis_layout(&f->x, b->n, (const char *const *)b->labels, b->slot / 2, b->slot);
    hs_plot_layout(f);

    HS_TRY(hs_canvas_create(f->width, f->height, &cv, err));
#define DO(call)                    \
    do {                            \
        if ((rc = (call)) != HS_OK) \
            goto done;              \
    } while (0)
    DO(hs_plot_draw_back(cv, f, err));
    for (int s = 0; s < b->n_series; s++) {
        const hs_series *se = &b->series[s];
        for (int c = 0; c < b->n; c++) {
            if (!isfinite(se->values[c]))
                continue;
            double x, y, w, h;
            hs_barchart_bar_rect(b, s, c, &x, &y, &w, &h);
            const char *cl = b->labels ? b->labels[c] : (snprintf(nbuf, sizeof nbuf, "%d", c), nbuf);
            hs_viz_format_value(se->values[c], b->digits, vbuf, sizeof vbuf);
            g_free(tip);
            tip = se->name ? g_strdup_printf("%s, %s = %s", cl, se->name, vbuf) : g_strdup_printf("%s = %s", cl, vbuf);
            DO(hs_canvas_rect(cv, x, y, w, h, se->rgb, tip, "bar", err));
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

hs_status hs_barchart_write(hs_barchart *b, const char *path, hs_viz_format format, hs_error *err)
{
    hs_canvas *cv = NULL;
    HS_TRY(hs_barchart_draw(b, &cv, err));
    hs_status rc = hs_canvas_write(cv, path, format, err);
    hs_canvas_free(cv);
    return rc;
}
