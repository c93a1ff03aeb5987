/* heatmap.c — lays a heatmap out onto a display list: labels measured with pango so margins fit,
 * cells on whole pixels (so PNG cells carry their exact colours), a colour bar with "nice" ticks
 * (viz/axes.c). */
#include "viz/heatmap.h"

#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "viz/axes.h"

struct hs_heatmap {
    int rows, cols;
    float *values;          /* [rows, cols] */
    char **row_labels;      /* rows strings, or NULL: numbered */
    char **col_labels;      /* cols strings, or NULL */
    char *title, *xlabel, *ylabel, *join;
    hs_colormap map;
    double lo, hi;          /* requested range; NaN = automatic */
    int cell, digits;
    /* the last layout */
    double grid_x, grid_y, used_lo, used_hi;
};

enum { PAD = 10, LABEL_GAP = 5, BAR_GAP = 14, BAR_W = 14, BAR_MIN_H = 120 };
static const double TITLE_PT = 15, LABEL_PT = 11, AXIS_PT = 12;
static const uint8_t INK[3] = {0x22, 0x22, 0x22}, MISSING[3] = {0xcc, 0xcc, 0xcc}, HATCH[3] = {0x99, 0x99, 0x99};

static void free_labels(char **labels, int n)
{
    if (!labels)
        return;
    for (int i = 0; i < n; i++)
        free(labels[i]);
    free(labels);
}

hs_status hs_heatmap_create(int rows, int cols, const float *values, hs_heatmap **out, hs_error *err)
{
    *out = NULL;
    if (rows <= 0 || cols <= 0 || !values)
        return hs_fail(err, HS_ERR_ARG, "heatmap: needs rows > 0, cols > 0 and values (got %d x %d)", rows, cols);
    if ((size_t)rows > SIZE_MAX / sizeof(float) / (size_t)cols)
        return hs_fail(err, HS_ERR_RANGE, "heatmap: %d x %d is too large", rows, cols);
    hs_heatmap *h = calloc(1, sizeof *h);
    size_t n = (size_t)rows * (size_t)cols;
    if (h)
        h->values = malloc(n * sizeof *h->values);
    if (h)
        h->join = strdup(" / ");
    if (!h || !h->values || !h->join) {
        hs_heatmap_free(h);
        return hs_fail(err, HS_ERR_NOMEM, "heatmap: out of memory");
    }
    memcpy(h->values, values, n * sizeof *h->values);
    h->rows = rows, h->cols = cols;
    h->map = HS_COLORMAP_SEQUENTIAL;
    h->lo = h->hi = NAN;
    h->cell = 28, h->digits = 4;
    *out = h;
    return HS_OK;
}

void hs_heatmap_free(hs_heatmap *h)
{
    if (!h)
        return;
    free(h->values);
    free_labels(h->row_labels, h->rows);
    free_labels(h->col_labels, h->cols);
    free(h->title), free(h->xlabel), free(h->ylabel), free(h->join);
    free(h);
}

static hs_status set_labels(char ***slot, int n, const char *const *labels, int as_tokens, hs_error *err)
{
    char **copy = NULL;
    if (labels) {
        copy = calloc((size_t)n, sizeof *copy);
        if (!copy)
            return hs_fail(err, HS_ERR_NOMEM, "heatmap: out of memory");
        for (int i = 0; i < n; i++) {
            const char *s = labels[i] ? labels[i] : "";
            copy[i] = as_tokens ? hs_viz_visible_token(s, strlen(s)) : strdup(s);
            if (!copy[i]) {
                free_labels(copy, n);
                return hs_fail(err, HS_ERR_NOMEM, "heatmap: out of memory");
            }
        }
    }
    free_labels(*slot, n);
    *slot = copy;
    return HS_OK;
}

hs_status hs_heatmap_set_row_labels(hs_heatmap *h, const char *const *labels, int as_tokens, hs_error *err)
{
    return set_labels(&h->row_labels, h->rows, labels, as_tokens, err);
}

hs_status hs_heatmap_set_col_labels(hs_heatmap *h, const char *const *labels, int as_tokens, hs_error *err)
{
    return set_labels(&h->col_labels, h->cols, labels, as_tokens, err);
}

static hs_status set_string(char **slot, const char *s, hs_error *err)
{
    char *copy = NULL;
    if (s && !(copy = strdup(s)))
        return hs_fail(err, HS_ERR_NOMEM, "heatmap: out of memory");
    free(*slot);
    *slot = copy;
    return HS_OK;
}

hs_status hs_heatmap_set_title(hs_heatmap *h, const char *title, hs_error *err)
{
    return set_string(&h->title, title, err);
}

hs_status hs_heatmap_set_axis_labels(hs_heatmap *h, const char *xlabel, const char *ylabel, hs_error *err)
{
    /* copy both first, so a failure leaves both as they were */
    char *x = xlabel ? strdup(xlabel) : NULL, *y = ylabel ? strdup(ylabel) : NULL;
    if ((xlabel && !x) || (ylabel && !y)) {
        free(x), free(y);
        return hs_fail(err, HS_ERR_NOMEM, "heatmap: out of memory");
    }
    free(h->xlabel), free(h->ylabel);
    h->xlabel = x, h->ylabel = y;
    return HS_OK;
}

hs_status hs_heatmap_set_label_join(hs_heatmap *h, const char *join, hs_error *err)
{
    return set_string(&h->join, join ? join : "", err);
}

void hs_heatmap_set_colormap(hs_heatmap *h, hs_colormap map) { h->map = map; }
void hs_heatmap_set_range(hs_heatmap *h, double lo, double hi) { h->lo = lo, h->hi = hi; }
void hs_heatmap_set_cell_size(hs_heatmap *h, int px) { h->cell = px < 2 ? 2 : px; }
void hs_heatmap_set_digits(hs_heatmap *h, int digits) { h->digits = digits < 1 ? 1 : digits > 17 ? 17 : digits; }

void hs_heatmap_cell_rect(const hs_heatmap *h, int r, int c, double *x, double *y, double *w, double *ht)
{
    *x = h->grid_x + (double)c * h->cell;
    *y = h->grid_y + (double)r * h->cell;
    *w = *ht = h->cell;
}

void hs_heatmap_range_used(const hs_heatmap *h, double *lo, double *hi)
{
    *lo = h->used_lo, *hi = h->used_hi;
}

/* The range in use: the requested ends, the others derived from the finite values; never empty. */
static void resolve_range(hs_heatmap *h)
{
    double lo = h->lo, hi = h->hi;
    if (isnan(lo) || isnan(hi)) {
        double mn = INFINITY, mx = -INFINITY;
        for (size_t i = 0; i < (size_t)h->rows * (size_t)h->cols; i++)
            if (isfinite(h->values[i]))
                mn = fmin(mn, h->values[i]), mx = fmax(mx, h->values[i]);
        if (mn > mx)
            mn = 0, mx = 1;
        if (h->map == HS_COLORMAP_DIVERGING) {
            double m = fmax(fabs(mn), fabs(mx));
            mn = -m, mx = m;
        }
        lo = isnan(lo) ? mn : lo;
        hi = isnan(hi) ? mx : hi;
    }
    if (!(hi > lo)) { /* a constant field: centre it, or widen the automatic end when one is fixed */
        double d = lo == 0 ? 1.0 : fabs(lo) * 0.5;
        if (isnan(h->hi) && !isnan(h->lo))
            hi = lo + 2 * d;
        else if (isnan(h->lo) && !isnan(h->hi))
            lo = hi - 2 * d;
        else
            lo -= d, hi += d;
    }
    h->used_lo = lo, h->used_hi = hi;
}

double hs_heatmap_position(const hs_heatmap *h, double value)
{
    if (isnan(value))
        return NAN;
    double t = (value - h->used_lo) / (h->used_hi - h->used_lo);
    return fmin(fmax(t, 0.0), 1.0);
}

static const char *label_of(char **labels, int i, char *buf, size_t cap)
{
    if (labels)
        return labels[i];
    snprintf(buf, cap, "%d", i);
    return buf;
}

hs_status hs_heatmap_draw(hs_heatmap *h, hs_canvas **out, hs_error *err)
{
    hs_status rc = HS_OK;
    hs_canvas *cv = NULL;
    char *tip = NULL;
    char nbuf[32], nbuf2[32];
    *out = NULL;
    resolve_range(h);

    /* measure: label extents decide the margins */
    double th = 0, lh, rw = 0, cw = 0, xh = 0, yh = 0, tmp;
    hs_canvas_text_size("Ag", LABEL_PT, 0, NULL, &lh, NULL);
    if (h->title)
        hs_canvas_text_size(h->title, TITLE_PT, 1, NULL, &th, NULL);
    if (h->xlabel)
        hs_canvas_text_size(h->xlabel, AXIS_PT, 0, NULL, &xh, NULL);
    if (h->ylabel)
        hs_canvas_text_size(h->ylabel, AXIS_PT, 0, NULL, &yh, NULL);
    for (int r = 0; r < h->rows; r++) {
        hs_canvas_text_size(label_of(h->row_labels, r, nbuf, sizeof nbuf), LABEL_PT, 0, &tmp, NULL, NULL);
        rw = fmax(rw, tmp);
    }
    for (int c = 0; c < h->cols; c++) {
        hs_canvas_text_size(label_of(h->col_labels, c, nbuf, sizeof nbuf), LABEL_PT, 0, &tmp, NULL, NULL);
        cw = fmax(cw, tmp);
    }
    int rotate_cols = cw > h->cell - 2; /* too wide to sit under a cell: turn them upright */
    double col_extent = rotate_cols ? cw : lh;

    hs_axis bar; /* the colour bar's scale: exactly the range in use, its ends labelled, round ticks between */
    hs_axis_ticks(&bar, h->used_lo, h->used_hi, 5, HS_AXIS_ENDS);
    double tick_w = hs_axis_extent(&bar, HS_AXIS_RIGHT);

    double gw = (double)h->cols * h->cell, gh = (double)h->rows * h->cell;
    double left = ceil(PAD + (h->ylabel ? yh + LABEL_GAP : 0) + rw + LABEL_GAP);
    double top = ceil(PAD + (h->title ? th + PAD : 0));
    double bar_h = fmax(gh, BAR_MIN_H), bar_x = left + gw + BAR_GAP;
    double width = ceil(bar_x + BAR_W + tick_w + PAD);
    double title_w = 0;
    if (h->title)
        hs_canvas_text_size(h->title, TITLE_PT, 1, &title_w, NULL, NULL);
    width = fmax(width, ceil(title_w + 2 * PAD));
    double height = ceil(top + fmax(gh, bar_h) + LABEL_GAP + col_extent + (h->xlabel ? LABEL_GAP + xh : 0) + PAD);
    h->grid_x = left, h->grid_y = top;

    HS_TRY(hs_canvas_create(width, height, &cv, err));
#define DO(call)                  \
    do {                          \
        if ((rc = (call)) != HS_OK) \
            goto done;            \
    } while (0)
    if (h->title)
        DO(hs_canvas_text(cv, fmin(fmax(left + gw / 2, PAD + title_w / 2), width - PAD - title_w / 2),
                          PAD + th / 2, h->title, TITLE_PT, 1, HS_ANCHOR_MIDDLE, 0, INK, NULL, "title", err));

    /* cells */
    for (int r = 0; r < h->rows; r++) {
        const char *rl = label_of(h->row_labels, r, nbuf, sizeof nbuf);
        for (int c = 0; c < h->cols; c++) {
            const char *cl = label_of(h->col_labels, c, nbuf2, sizeof nbuf2);
            double v = h->values[(size_t)r * h->cols + c];
            uint8_t rgb[3];
            g_free(tip);
            if (isnan(v)) {
                memcpy(rgb, MISSING, 3);
                tip = g_strdup_printf("%s%s%s = missing", rl, h->join, cl);
            } else {
                hs_colormap_rgb(h->map, hs_heatmap_position(h, v), rgb);
                tip = g_strdup_printf("%s%s%s = %.*g", rl, h->join, cl, h->digits, v);
            }
            double x = left + (double)c * h->cell, y = top + (double)r * h->cell;
            DO(hs_canvas_rect(cv, x, y, h->cell, h->cell, rgb, tip, "cell", err));
            if (isnan(v))
                DO(hs_canvas_line(cv, x + 2, y + h->cell - 2, x + h->cell - 2, y + 2, 1.0, HATCH, err));
        }
    }

    /* row labels right-aligned beside the grid, column labels under it */
    for (int r = 0; r < h->rows; r++)
        DO(hs_canvas_text(cv, left - LABEL_GAP, top + (r + 0.5) * h->cell, label_of(h->row_labels, r, nbuf, sizeof nbuf),
                          LABEL_PT, 0, HS_ANCHOR_END, 0, INK, NULL, "row-label", err));
    for (int c = 0; c < h->cols; c++) {
        const char *cl = label_of(h->col_labels, c, nbuf, sizeof nbuf);
        double cx = left + (c + 0.5) * h->cell;
        if (rotate_cols)
            DO(hs_canvas_text(cv, cx, top + gh + LABEL_GAP, cl, LABEL_PT, 0, HS_ANCHOR_END, -90, INK, NULL,
                              "col-label", err));
        else
            DO(hs_canvas_text(cv, cx, top + gh + LABEL_GAP + lh / 2, cl, LABEL_PT, 0, HS_ANCHOR_MIDDLE, 0, INK, NULL,
                              "col-label", err));
    }
    if (h->xlabel)
        DO(hs_canvas_text(cv, left + gw / 2, top + gh + LABEL_GAP + col_extent + LABEL_GAP + xh / 2, h->xlabel,
                          AXIS_PT, 0, HS_ANCHOR_MIDDLE, 0, INK, NULL, "x-label", err));
    if (h->ylabel)
        DO(hs_canvas_text(cv, PAD + yh / 2, top + gh / 2, h->ylabel, AXIS_PT, 0, HS_ANCHOR_MIDDLE, -90, INK, NULL,
                          "y-label", err));

    /* colour bar: one whole-pixel strip per row of pixels, high values on top */
    int strips = (int)bar_h;
    for (int i = 0; i < strips; i++) {
        uint8_t rgb[3];
        hs_colormap_rgb(h->map, 1.0 - (i + 0.5) / strips, rgb);
        DO(hs_canvas_rect(cv, bar_x, top + i, BAR_W, 1, rgb, NULL, "colorbar", err));
    }
    bar.p0 = top + bar_h, bar.p1 = top;
    DO(hs_axis_draw(cv, &bar, HS_AXIS_RIGHT, bar_x + BAR_W, 0, err));
#undef DO
    *out = cv;
    cv = NULL;
done:
    g_free(tip);
    hs_canvas_free(cv);
    return rc;
}

hs_status hs_heatmap_write(hs_heatmap *h, const char *path, hs_viz_format format, hs_error *err)
{
    hs_canvas *cv = NULL;
    HS_TRY(hs_heatmap_draw(h, &cv, err));
    hs_status rc = hs_canvas_write(cv, path, format, err);
    hs_canvas_free(cv);
    return rc;
}

char *hs_viz_visible_token(const char *tok, size_t len)
{
    GString *s = g_string_sized_new(len + 8);
    size_t i = 0;
    while (i < len) {
        unsigned char b = (unsigned char)tok[i];
        if (b == ' ') {
            g_string_append(s, "\xe2\x90\xa3"); /* U+2423 OPEN BOX */
            i++;
        } else if (b == '\n') {
            g_string_append(s, "\xe2\x86\xb5"); /* U+21B5 DOWNWARDS ARROW WITH CORNER LEFTWARDS */
            i++;
        } else if (b == '\t') {
            g_string_append(s, "\xe2\x86\x92"); /* U+2192 RIGHTWARDS ARROW */
            i++;
        } else if (b < 0x20 || b == 0x7f) {
            g_string_append_printf(s, "\\x%02x", b);
            i++;
        } else if (b < 0x80) {
            g_string_append_c(s, (char)b);
            i++;
        } else {
            gunichar u = g_utf8_get_char_validated(tok + i, (gssize)(len - i));
            if (u == (gunichar)-1 || u == (gunichar)-2) { /* invalid or truncated sequence */
                g_string_append_printf(s, "\\x%02x", b);
                i++;
                continue;
            }
            size_t n = (size_t)(g_utf8_next_char(tok + i) - (tok + i));
            if (u >= 0x80 && u <= 0x9f)
                g_string_append_printf(s, "\\u%04x", (unsigned)u);
            else
                g_string_append_len(s, tok + i, (gssize)n);
            i += n;
        }
    }
    /* hand back plain malloc'd memory, as documented */
    char *out = strdup(s->str);
    g_string_free(s, TRUE);
    return out;
}
