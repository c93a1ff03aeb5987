/* canvas.c — the display list: appending items (copying and UTF-8-repairing their strings) and
 * measuring text with pango, so layout and every renderer agree on text extents. */
#include "viz/canvas.h"

#include <glib.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/utf8.h"

struct hs_canvas {
    double width, height;
    hs_canvas_item *items;
    size_t n, cap;
};

hs_status hs_canvas_create(double width, double height, hs_canvas **out, hs_error *err)
{
    *out = NULL;
    if (!(width > 0) || !(height > 0))
        return hs_fail(err, HS_ERR_ARG, "canvas: size %gx%g must be positive", width, height);
    hs_canvas *c = calloc(1, sizeof *c);
    if (!c)
        return hs_fail(err, HS_ERR_NOMEM, "canvas: out of memory");
    c->width = width, c->height = height;
    *out = c;
    return HS_OK;
}

void hs_canvas_free(hs_canvas *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->items[i].text);
        free(c->items[i].tooltip);
        free(c->items[i].cls);
    }
    free(c->items);
    free(c);
}

void hs_canvas_set_size(hs_canvas *c, double width, double height)
{
    c->width = width, c->height = height;
}

double hs_canvas_width(const hs_canvas *c) { return c->width; }
double hs_canvas_height(const hs_canvas *c) { return c->height; }
size_t hs_canvas_count(const hs_canvas *c) { return c->n; }
const hs_canvas_item *hs_canvas_item_at(const hs_canvas *c, size_t i) { return i < c->n ? &c->items[i] : NULL; }

/* A malloc'd copy of s that pango and every renderer can take: valid UTF-8 with only characters
 * XML allows (see base/utf8.h). NULL in, NULL out; *fail set on no memory. */
static char *dup_utf8(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *copy = hs_utf8_xml_safe_str(s);
    if (!copy)
        *fail = 1;
    return copy;
}

/* Appends a zeroed item; NULL when out of memory. */
static hs_canvas_item *push(hs_canvas *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        hs_canvas_item *items = realloc(c->items, cap * sizeof *items);
        if (!items)
            return NULL;
        c->items = items, c->cap = cap;
    }
    hs_canvas_item *it = &c->items[c->n];
    memset(it, 0, sizeof *it);
    return it;
}

static hs_status finish(hs_canvas *c, hs_canvas_item *it, const char *tooltip, const char *cls, hs_error *err)
{
    int fail = 0;
    it->tooltip = dup_utf8(tooltip, &fail);
    it->cls = dup_utf8(cls, &fail);
    if (fail) {
        free(it->text), free(it->tooltip), free(it->cls);
        return hs_fail(err, HS_ERR_NOMEM, "canvas: out of memory");
    }
    c->n++;
    return HS_OK;
}

hs_status hs_canvas_rect(hs_canvas *c, double x, double y, double w, double h, const uint8_t rgb[3],
                         const char *tooltip, const char *cls, hs_error *err)
{
    hs_canvas_item *it = push(c);
    if (!it)
        return hs_fail(err, HS_ERR_NOMEM, "canvas: out of memory");
    it->kind = HS_CANVAS_RECT;
    it->x = x, it->y = y, it->w = w, it->h = h;
    memcpy(it->rgb, rgb, 3);
    return finish(c, it, tooltip, cls, err);
}

hs_status hs_canvas_circle(hs_canvas *c, double cx, double cy, double r, const uint8_t rgb[3],
                           const char *tooltip, const char *cls, hs_error *err)
{
    hs_canvas_item *it = push(c);
    if (!it)
        return hs_fail(err, HS_ERR_NOMEM, "canvas: out of memory");
    it->kind = HS_CANVAS_CIRCLE;
    it->x = cx, it->y = cy, it->w = r;
    memcpy(it->rgb, rgb, 3);
    return finish(c, it, tooltip, cls, err);
}

hs_status hs_canvas_line(hs_canvas *c, double x1, double y1, double x2, double y2, double width,
                         const uint8_t rgb[3], hs_error *err)
{
    hs_canvas_item *it = push(c);
    if (!it)
        return hs_fail(err, HS_ERR_NOMEM, "canvas: out of memory");
    it->kind = HS_CANVAS_LINE;
    it->x = x1, it->y = y1, it->w = x2, it->h = y2;
    it->line_width = width;
    memcpy(it->rgb, rgb, 3);
    return finish(c, it, NULL, NULL, err);
}

hs_status hs_canvas_text(hs_canvas *c, double x, double y, const char *text, double font_size, int bold,
                         hs_text_anchor anchor, double rotate_deg, const uint8_t rgb[3],
                         const char *tooltip, const char *cls, hs_error *err)
{
    if (!text || !(font_size > 0))
        return hs_fail(err, HS_ERR_ARG, "canvas: text needs a string and a positive size");
    hs_canvas_item *it = push(c);
    if (!it)
        return hs_fail(err, HS_ERR_NOMEM, "canvas: out of memory");
    int fail = 0;
    it->kind = HS_CANVAS_TEXT;
    it->text = dup_utf8(text, &fail);
    if (fail)
        return hs_fail(err, HS_ERR_NOMEM, "canvas: out of memory");
    it->x = x, it->y = y;
    it->font_size = font_size, it->bold = bold;
    it->anchor = anchor, it->rotate_deg = rotate_deg;
    memcpy(it->rgb, rgb, 3);
    hs_canvas_text_size(it->text, font_size, bold, &it->text_w, &it->text_h, &it->baseline);
    return finish(c, it, tooltip, cls, err);
}

void hs_canvas_text_size(const char *text, double font_size, int bold, double *w, double *h, double *baseline)
{
    /* unhinted metrics: the same extents whatever the output (PNG, PDF, SVG) */
    PangoFontMap *fm = pango_cairo_font_map_get_default();
    PangoContext *ctx = pango_font_map_create_context(fm);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    PangoLayout *layout = pango_layout_new(ctx);
    PangoFontDescription *fd = pango_font_description_from_string(HS_CANVAS_FONT);
    pango_font_description_set_absolute_size(fd, font_size * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout, fd);
    char *valid = g_utf8_make_valid(text ? text : "", -1);
    pango_layout_set_text(layout, valid, -1);
    g_free(valid);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    if (w)
        *w = (double)logical.width / PANGO_SCALE;
    if (h)
        *h = (double)logical.height / PANGO_SCALE;
    if (baseline)
        *baseline = (double)pango_layout_get_baseline(layout) / PANGO_SCALE;
    pango_font_description_free(fd);
    g_object_unref(layout);
    g_object_unref(ctx);
}

hs_status hs_canvas_write(const hs_canvas *c, const char *path, hs_viz_format format, hs_error *err)
{
    switch (format) {
    case HS_VIZ_PNG:
    case HS_VIZ_PDF:
        return hs_canvas_write_cairo(c, path, format, err);
    case HS_VIZ_SVG:
        return hs_canvas_write_svg(c, path, err);
    }
    return hs_fail(err, HS_ERR_ARG, "%s: unknown figure format %d", path, (int)format);
}

