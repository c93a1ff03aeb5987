/* canvas.h — a tiny display list (rectangles, circles, lines, text; each with an optional tooltip)
 * and the renderers that draw one list into PNG and PDF (cairo + pango) or SVG (libxml2's
 * xmlTextWriter).
 * Figure builders (heatmap.c, ...) only append items; the same list gives all three formats.
 *
 * Coordinates are in pixels (PNG) = points (PDF) = user units (SVG), origin top left, y down.
 * Text is UTF-8; it is measured with pango when added (hs_canvas_text_size), so builders can lay
 * labels out to fit, and every renderer places it from the same anchor rule:
 *   the anchor point (x, y) is on the text's vertical centre, at its start, middle or end;
 *   a rotation (degrees, clockwise as y points down) turns the text about the anchor point. */
#ifndef HS_VIZ_CANVAS_H
#define HS_VIZ_CANVAS_H

#include <stdint.h>

#include "headscope.h"

typedef enum hs_viz_format { HS_VIZ_PNG = 0, HS_VIZ_SVG, HS_VIZ_PDF } hs_viz_format;

typedef enum hs_canvas_kind { HS_CANVAS_RECT = 0, HS_CANVAS_LINE, HS_CANVAS_TEXT, HS_CANVAS_CIRCLE } hs_canvas_kind;

typedef enum hs_text_anchor { HS_ANCHOR_START = 0, HS_ANCHOR_MIDDLE, HS_ANCHOR_END } hs_text_anchor;

/* One item. Strings are owned by the canvas. */
typedef struct hs_canvas_item {
    hs_canvas_kind kind;
    double x, y;        /* rect: top left; line: first end; text: anchor point; circle: centre */
    double w, h;        /* rect: size; line: second end (x2, y2); circle: w = radius */
    uint8_t rgb[3];     /* fill (rect, circle), stroke (line), colour (text) */
    double line_width;  /* line only */
    char *text;         /* text only (UTF-8) */
    double font_size;   /* text only, in pixels */
    int bold;           /* text only */
    hs_text_anchor anchor;
    double rotate_deg;  /* text only */
    double text_w, text_h, baseline; /* text only: pango's logical extents, baseline from the top */
    char *tooltip;      /* NULL or UTF-8: SVG <title>; ignored by PNG/PDF */
    char *cls;          /* NULL or an SVG class name (e.g. "cell") */
} hs_canvas_item;

typedef struct hs_canvas hs_canvas;

/* A blank canvas of width x height (both > 0) with a white background. Free with hs_canvas_free. */
hs_status hs_canvas_create(double width, double height, hs_canvas **out, hs_error *err);
void hs_canvas_free(hs_canvas *c);
/* The canvas size may change while a builder lays out (it grows to fit the labels). */
void hs_canvas_set_size(hs_canvas *c, double width, double height);

/* Appenders copy every string; on failure the canvas is unchanged. tooltip and cls may be NULL. */
hs_status hs_canvas_rect(hs_canvas *c, double x, double y, double w, double h, const uint8_t rgb[3],
                         const char *tooltip, const char *cls, hs_error *err);
hs_status hs_canvas_circle(hs_canvas *c, double cx, double cy, double r, const uint8_t rgb[3],
                           const char *tooltip, const char *cls, hs_error *err);
hs_status hs_canvas_line(hs_canvas *c, double x1, double y1, double x2, double y2, double width,
                         const uint8_t rgb[3], hs_error *err);
hs_status hs_canvas_text(hs_canvas *c, double x, double y, const char *text, double font_size, int bold,
                         hs_text_anchor anchor, double rotate_deg, const uint8_t rgb[3],
                         const char *tooltip, const char *cls, hs_error *err);

/* Pango's logical size of text (UTF-8) in the canvas font: *w wide, *h high, *baseline below the
 * top. Invalid UTF-8 is measured as pango shows it (replacement glyphs); any pointer may be NULL. */
void hs_canvas_text_size(const char *text, double font_size, int bold, double *w, double *h, double *baseline);

/* Read access for renderers. */
double hs_canvas_width(const hs_canvas *c);
double hs_canvas_height(const hs_canvas *c);
size_t hs_canvas_count(const hs_canvas *c);
const hs_canvas_item *hs_canvas_item_at(const hs_canvas *c, size_t i);

/* The canvas font (a fontconfig family list), shared by all renderers. */
#define HS_CANVAS_FONT "DejaVu Sans, sans-serif"

/* Renderers. On failure err names the path; a partial file may be left behind. */
hs_status hs_canvas_write(const hs_canvas *c, const char *path, hs_viz_format format, hs_error *err);
hs_status hs_canvas_write_cairo(const hs_canvas *c, const char *path, hs_viz_format format, hs_error *err);
hs_status hs_canvas_write_svg(const hs_canvas *c, const char *path, hs_error *err);

#endif
