/* axes.c — nice ticks, tick labels, value -> pixel mapping, and numeric and category axes drawn
 * onto a display list; shared by the heatmap's colour bar, the line plot and the bar chart. */
#include "viz/axes.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

enum { TICK = 4, GAP = 3 };
static const double TICK_PT = HS_AXIS_TICK_PT, LABEL_PT = 11;
static const uint8_t INK[3] = {0x22, 0x22, 0x22}, GRID[3] = {0xe4, 0xe4, 0xe4};

double hs_nice_step(double span, int target)
{
    if (!(span > 0) || !isfinite(span))
        return 1.0;
    double raw = span / (target > 0 ? target : 5), mag = pow(10.0, floor(log10(raw))), norm = raw / mag;
    return (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
}

/* Ticks on a log axis: the candidates are m x 10^e (m = 1, 2, 5 over at most two decades, else
 * m = 1 with e a multiple of a nice number of decades). */
static void log_ticks(hs_axis *a, double lo, double hi, int target, int extend)
{
    if (!(hi > 0))
        lo = 1, hi = 10;
    else if (!(lo > 0))
        lo = hi / 10;
    if (hi <= lo * (1 + 1e-12))
        lo /= 2, hi *= 2;
    int e0 = (int)floor(log10(lo) + 1e-9), e1 = (int)ceil(log10(hi) - 1e-9);
    if (e1 <= e0)
        e1 = e0 + 1;
    static const double fine[3] = {1, 2, 5};
    int nm = 1, dstep = 1;
    if (e1 - e0 <= 2) {
        nm = 3;
    } else {
        dstep = (int)ceil(hs_nice_step(e1 - e0, target) - 1e-9);
        if (dstep < 1)
            dstep = 1;
        e0 = (int)floor((double)e0 / dstep) * dstep;
        e1 = (int)ceil((double)e1 / dstep) * dstep;
    }
    a->step = nm == 3 ? 0 : dstep;
    /* the candidates in ascending order; the range grows to the ones just outside when extending */
    double below = NAN, above = NAN;
    for (int e = e0; e <= e1; e += dstep)
        for (int k = 0; k < nm; k++) {
            double v = fine[k] * pow(10.0, e);
            if (v <= lo * (1 + 1e-9))
                below = v;
            if (isnan(above) && v >= hi * (1 - 1e-9))
                above = v;
        }
    if (extend) {
        if (!isnan(below))
            lo = below;
        if (!isnan(above))
            hi = above;
    }
    a->lo = lo, a->hi = hi;
    a->n = 0;
    for (int e = e0; e <= e1; e += dstep)
        for (int k = 0; k < nm; k++) {
            double v = fine[k] * pow(10.0, e);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) && a->n < HS_AXIS_MAX_TICKS)
                a->ticks[a->n++] = v;
        }
}

void hs_axis_ticks(hs_axis *a, double lo, double hi, int target, unsigned flags)
{
    memset(a, 0, sizeof *a);
    a->p0 = 0, a->p1 = 1;
    target = target < 2 ? 2 : target > 20 ? 20 : target;
    if (!isfinite(lo) && !isfinite(hi))
        lo = 0, hi = 1;
    else if (!isfinite(lo))
        lo = hi;
    else if (!isfinite(hi))
        hi = lo;
    if (lo > hi) {
        double t = lo;
        lo = hi, hi = t;
    }
    if (flags & HS_AXIS_LOG) {
        a->log = 1;
        log_ticks(a, lo, hi, target, flags & HS_AXIS_EXTEND);
        return;
    }
    /* keep the span finite, and wide enough against the magnitude to give distinct ticks */
    lo = fmax(lo, -1e300), hi = fmin(hi, 1e300);
    if (!(hi - lo > 1e-12 * fmax(fabs(lo), fabs(hi)))) {
        double mid = 0.5 * (lo + hi), d = mid == 0 ? 1.0 : fabs(mid) * 0.5;
        lo = mid - d, hi = mid + d;
    }
    double step = hs_nice_step(hi - lo, target);
    /* in units of the step, forgiving only rounding noise (relative), so 0.30000000000000004 is
     * on the tick 0.3 but -3e-6 with a step of 5000 is below the tick 0 */
    double qlo = lo / step, qhi = hi / step;
    if (flags & HS_AXIS_EXTEND) {
        qlo = floor(qlo + 1e-9 * fabs(qlo)), qhi = ceil(qhi - 1e-9 * fabs(qhi));
        lo = qlo * step, hi = qhi * step;
    }
    a->lo = lo, a->hi = hi, a->step = step;
    double first = ceil(qlo - 1e-9 * fabs(qlo)), last = floor(qhi + 1e-9 * fabs(qhi));
    int ends = (flags & HS_AXIS_ENDS) && !(flags & HS_AXIS_EXTEND);
    if (ends) {
        a->ends = 1;
        a->ticks[a->n++] = lo;
    }
    for (double k = first; k <= last && a->n < HS_AXIS_MAX_TICKS - ends; k++) {
        double v = k * step;
        v = fabs(v) < step * 1e-9 ? 0.0 : v; /* no -0, no 1e-17 */
        /* beside an end label, a round tick would crowd it (on the end itself, the end is the tick) */
        if (ends && (v - lo < 0.75 * step || hi - v < 0.75 * step))
            continue;
        a->ticks[a->n++] = v;
    }
    if (ends)
        a->ticks[a->n++] = hi;
}

/* "%.*e" without the exponent's plus sign and leading zeros: 2.5e+06 -> 2.5e6, 1e-05 -> 1e-5. */
static void compact_exp(double v, int sig, char *buf, size_t cap)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*e", sig > 1 ? sig - 1 : 0, v);
    char *e = strchr(tmp, 'e');
    if (e) {
        char *d = e + 1, *s = e + 1;
        if (*s == '+')
            s++;
        else if (*s == '-')
            *d++ = *s++;
        while (*s == '0' && s[1])
            s++;
        memmove(d, s, strlen(s) + 1);
    }
    snprintf(buf, cap, "%s", tmp);
}

/* A power of ten as "10" and a superscript exponent, times 2 or 5 when the mantissa is: "10⁵",
 * "2×10⁻³"; other values in compact exponent form. */
static void pow10_label(double v, char *buf, size_t cap)
{
    static const char *const sup[10] = {"\xe2\x81\xb0", "\xc2\xb9", "\xc2\xb2", "\xc2\xb3", "\xe2\x81\xb4",
                                        "\xe2\x81\xb5", "\xe2\x81\xb6", "\xe2\x81\xb7", "\xe2\x81\xb8", "\xe2\x81\xb9"};
    int e = (int)floor(log10(v) + 1e-9);
    double m = v / pow(10.0, e);
    long mi = lround(m);
    if (!(v > 0) || fabs(m - (double)mi) > 1e-9 * m || (mi != 1 && mi != 2 && mi != 5)) {
        compact_exp(v, 2, buf, cap);
        return;
    }
    char digits[16], exp[64] = "";
    snprintf(digits, sizeof digits, "%d", e < 0 ? -e : e);
    if (e < 0)
        strcat(exp, "\xe2\x81\xbb"); /* superscript minus */
    for (const char *d = digits; *d; d++)
        strcat(exp, sup[*d - '0']);
    if (mi == 1)
        snprintf(buf, cap, "10%s", exp);
    else
        snprintf(buf, cap, "%ld\xc3\x97" "10%s", mi, exp); /* multiplication sign */
}

void hs_axis_tick_label(const hs_axis *a, double v, char *buf, size_t cap)
{
    if (a->log) {
        /* one style per axis: plain numbers when they all stay short, else powers of ten */
        if (a->lo >= 1e-4 * (1 - 1e-9) && a->hi <= 1e4 * (1 + 1e-9))
            snprintf(buf, cap, "%g", v);
        else
            pow10_label(v, buf, cap);
        return;
    }
    double step = a->step > 0 ? a->step : 1.0;
    if (fabs(v) < step * 1e-9)
        v = 0;
    double m = fmax(fabs(a->lo), fabs(a->hi)), q = v / step;
    /* an end between round ticks gets one more digit than they need, so it reads as itself */
    int more = a->ends && (v == a->lo || v == a->hi) && fabs(q - round(q)) > 1e-6 * fmax(1.0, fabs(q));
    if (m < 1e6 && step >= 1e-4 - 1e-12) {
        int dec = (int)fmax(0.0, ceil(-log10(step) - 1e-9)) + more;
        snprintf(buf, cap, "%.*f", dec, v);
    } else if (v == 0) {
        snprintf(buf, cap, "0");
    } else {
        int sig = (int)floor(log10(fmax(fabs(v), step)) + 1e-9) - (int)floor(log10(step) + 1e-9) + 1 + more;
        compact_exp(v, sig < 1 ? 1 : sig > 17 ? 17 : sig, buf, cap);
    }
}

double hs_axis_to_px(const hs_axis *a, double v)
{
    double t;
    if (a->log)
        t = v > 0 ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : NAN;
    else
        t = (v - a->lo) / (a->hi - a->lo);
    return a->p0 + t * (a->p1 - a->p0);
}

/* The centre of the pixel row or column holding coordinate p: 1-pixel lines there are crisp. */
static double crisp(double p)
{
    return floor(p) + 0.5;
}

double hs_axis_extent(const hs_axis *a, hs_axis_side side)
{
    char buf[64];
    double w, h, widest = 0;
    hs_canvas_text_size("0", TICK_PT, 0, NULL, &h, NULL);
    if (side == HS_AXIS_BOTTOM)
        return TICK + GAP + h;
    for (int k = 0; k < a->n; k++) {
        hs_axis_tick_label(a, a->ticks[k], buf, sizeof buf);
        hs_canvas_text_size(buf, TICK_PT, 0, &w, NULL, NULL);
        widest = fmax(widest, w);
    }
    return TICK + GAP + widest;
}

hs_status hs_axis_draw(hs_canvas *cv, const hs_axis *a, hs_axis_side side, double pos, double grid, hs_error *err)
{
    char buf[64];
    double h;
    hs_canvas_text_size("0", TICK_PT, 0, NULL, &h, NULL);
    for (int k = 0; k < a->n; k++) {
        double p = crisp(hs_axis_to_px(a, a->ticks[k]));
        hs_axis_tick_label(a, a->ticks[k], buf, sizeof buf);
        switch (side) {
        case HS_AXIS_LEFT:
            if (grid > 0)
                HS_TRY(hs_canvas_line(cv, pos, p, pos + grid, p, 1.0, GRID, err));
            HS_TRY(hs_canvas_line(cv, pos - TICK, p, pos, p, 1.0, INK, err));
            HS_TRY(hs_canvas_text(cv, pos - TICK - GAP, p, buf, TICK_PT, 0, HS_ANCHOR_END, 0, INK, NULL, "tick", err));
            break;
        case HS_AXIS_RIGHT:
            if (grid > 0)
                HS_TRY(hs_canvas_line(cv, pos - grid, p, pos, p, 1.0, GRID, err));
            HS_TRY(hs_canvas_line(cv, pos, p, pos + TICK, p, 1.0, INK, err));
            HS_TRY(hs_canvas_text(cv, pos + TICK + GAP, p, buf, TICK_PT, 0, HS_ANCHOR_START, 0, INK, NULL, "tick", err));
            break;
        case HS_AXIS_BOTTOM:
            if (grid > 0)
                HS_TRY(hs_canvas_line(cv, p, pos - grid, p, pos, 1.0, GRID, err));
            HS_TRY(hs_canvas_line(cv, p, pos, p, pos + TICK, 1.0, INK, err));
            HS_TRY(hs_canvas_text(cv, p, pos + TICK + GAP + h / 2, buf, TICK_PT, 0, HS_ANCHOR_MIDDLE, 0, INK, NULL,
                                  "tick", err));
            break;
        }
    }
    return HS_OK;
}

static const char *category_label(const hs_category_axis *c, int i, char *buf, size_t cap)
{
    if (c->labels)
        return c->labels[i] ? c->labels[i] : "";
    snprintf(buf, cap, "%d", i);
    return buf;
}

/* The smallest of 1, 2, 5, 10, 20, ... that is at least need (>= 1). */
static int nice_every(double need)
{
    if (!(need > 1))
        return 1;
    for (long k = 1;; k *= 10) {
        if (k >= 1000000000L)
            return (int)k;
        if (need <= k)
            return (int)k;
        if (need <= 2 * k)
            return (int)(2 * k);
        if (need <= 5 * k)
            return (int)(5 * k);
    }
}

double hs_category_label_width(int n, const char *const *labels)
{
    char buf[32];
    hs_category_axis c = {.n = n, .labels = labels};
    double widest = 0, w;
    for (int i = 0; i < n; i++) {
        hs_canvas_text_size(category_label(&c, i, buf, sizeof buf), LABEL_PT, 0, &w, NULL, NULL);
        widest = fmax(widest, w);
    }
    return widest;
}

void hs_category_axis_layout(hs_category_axis *c, int n, const char *const *labels, double x0, double spacing)
{
    char buf[32];
    memset(c, 0, sizeof *c);
    c->n = n, c->labels = labels, c->x0 = x0, c->spacing = spacing;
    double lh, widest = hs_category_label_width(n, labels), w;
    hs_canvas_text_size("Ag", LABEL_PT, 0, NULL, &lh, NULL);
    double room = spacing > 0 ? spacing : 1;
    if (widest + HS_CATEGORY_LABEL_GAP <= room || !labels) {
        c->upright = 0;
        c->every = nice_every((widest + HS_CATEGORY_LABEL_GAP) / room);
        c->extent = TICK + GAP + lh;
    } else {
        c->upright = 1;
        c->every = nice_every((lh + 2) / room);
        c->extent = TICK + GAP + widest;
    }
    /* labels overhanging the ends of the axis (level ones only: upright ones are a line high) */
    double half = c->upright ? lh / 2 : 0;
    for (int i = 0; i < n; i += c->every) {
        if (!c->upright) {
            hs_canvas_text_size(category_label(c, i, buf, sizeof buf), LABEL_PT, 0, &w, NULL, NULL);
            half = w / 2;
        }
        double cx = x0 + i * spacing;
        c->over_left = fmax(c->over_left, (x0 - spacing / 2) - (cx - half));
        c->over_right = fmax(c->over_right, (cx + half) - (x0 + (n - 0.5) * spacing));
    }
}

hs_status hs_category_axis_draw(hs_canvas *cv, const hs_category_axis *c, double y, hs_error *err)
{
    char buf[32];
    double lh;
    hs_canvas_text_size("Ag", LABEL_PT, 0, NULL, &lh, NULL);
    for (int i = 0; i < c->n; i += c->every) {
        double cx = crisp(c->x0 + i * c->spacing);
        const char *s = category_label(c, i, buf, sizeof buf);
        HS_TRY(hs_canvas_line(cv, cx, y, cx, y + TICK, 1.0, INK, err));
        if (c->upright)
            HS_TRY(hs_canvas_text(cv, cx, y + TICK + GAP, s, LABEL_PT, 0, HS_ANCHOR_END, -90, INK, NULL, "category",
                                  err));
        else
            HS_TRY(hs_canvas_text(cv, cx, y + TICK + GAP + lh / 2, s, LABEL_PT, 0, HS_ANCHOR_MIDDLE, 0, INK, NULL,
                                  "category", err));
    }
    return HS_OK;
}

void hs_viz_format_value(double v, int digits, char *buf, size_t cap)
{
    digits = digits < 1 ? 1 : digits > 17 ? 17 : digits;
    if (isnan(v)) {
        snprintf(buf, cap, "missing");
    } else if (v == 0) {
        snprintf(buf, cap, "0"); /* never "-0" */
    } else if (fabs(v) < 1e15 && v == floor(v)) {
        snprintf(buf, cap, "%.0f", v);
    } else {
        int whole = fabs(v) >= 1 && fabs(v) < 1e15 ? (int)floor(log10(fabs(v))) + 1 : 0;
        snprintf(buf, cap, "%.*g", whole > digits ? whole : digits, v);
    }
}
