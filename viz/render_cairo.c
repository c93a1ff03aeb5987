/* render_cairo.c — draws a display list with cairo (shapes) and pangocairo (text) onto an image
 * surface written as PNG, or a PDF surface. Text keeps vector outlines in PDF. */
#include "viz/canvas.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <cairo-pdf.h>

#include "base/error.h"

static void set_rgb(cairo_t *cr, const uint8_t rgb[3])
{
    /* c/255 survives cairo's double -> 16-bit -> 8-bit conversion exactly, so PNG pixels carry
     * the very bytes the colour map returned */
    cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
}

static void draw_text(cairo_t *cr, const hs_canvas_item *it)
{
    PangoLayout *layout = pango_cairo_create_layout(cr);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(pango_layout_get_context(layout), fo);
    cairo_font_options_destroy(fo);
    pango_layout_context_changed(layout);
    PangoFontDescription *fd = pango_font_description_from_string(HS_CANVAS_FONT);
    pango_font_description_set_absolute_size(fd, it->font_size * PANGO_SCALE);
    pango_font_description_set_weight(fd, it->bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(layout, fd);
    pango_layout_set_text(layout, it->text, -1); /* valid UTF-8: the canvas repaired it */

    double shift = it->anchor == HS_ANCHOR_START ? 0.0 : it->anchor == HS_ANCHOR_MIDDLE ? 0.5 : 1.0;
    cairo_save(cr);
    cairo_translate(cr, it->x, it->y);
    cairo_rotate(cr, it->rotate_deg * M_PI / 180.0);
    cairo_move_to(cr, -shift * it->text_w, -0.5 * it->text_h);
    set_rgb(cr, it->rgb);
    pango_cairo_show_layout(cr, layout);
    cairo_restore(cr);
    pango_font_description_free(fd);
    g_object_unref(layout);
}

static void draw(cairo_t *cr, const hs_canvas *c)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    size_t n = hs_canvas_count(c);
    for (size_t i = 0; i < n; i++) {
        const hs_canvas_item *it = hs_canvas_item_at(c, i);
        switch (it->kind) {
        case HS_CANVAS_RECT:
            set_rgb(cr, it->rgb);
            cairo_rectangle(cr, it->x, it->y, it->w, it->h);
            cairo_fill(cr);
            break;
        case HS_CANVAS_CIRCLE:
            set_rgb(cr, it->rgb);
            cairo_new_sub_path(cr);
            cairo_arc(cr, it->x, it->y, it->w, 0, 2 * M_PI);
            cairo_fill(cr);
            break;
        case HS_CANVAS_LINE:
            set_rgb(cr, it->rgb);
            cairo_set_line_width(cr, it->line_width);
            cairo_move_to(cr, it->x, it->y);
            cairo_line_to(cr, it->w, it->h);
            cairo_stroke(cr);
            break;
        case HS_CANVAS_TEXT:
            draw_text(cr, it);
            break;
        }
    }
}

hs_status hs_canvas_write_cairo(const hs_canvas *c, const char *path, hs_viz_format format, hs_error *err)
{
    hs_status rc = HS_OK;
    cairo_surface_t *surface = NULL;
    cairo_t *cr = NULL;
    if (format == HS_VIZ_PNG)
        surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)ceil(hs_canvas_width(c)),
                                             (int)ceil(hs_canvas_height(c)));
    else if (format == HS_VIZ_PDF)
        surface = cairo_pdf_surface_create(path, hs_canvas_width(c), hs_canvas_height(c));
    else
        return hs_fail(err, HS_ERR_ARG, "%s: the cairo renderer writes PNG or PDF only", path);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot create surface: %s", path,
                     cairo_status_to_string(cairo_surface_status(surface)));
        goto done;
    }
    cr = cairo_create(surface);
    draw(cr, c);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        rc = hs_fail(err, HS_ERR_INTERNAL, "%s: drawing failed: %s", path, cairo_status_to_string(cairo_status(cr)));
        goto done;
    }
    cairo_destroy(cr);
    cr = NULL;
    cairo_status_t st;
    if (format == HS_VIZ_PNG) {
        st = cairo_surface_write_to_png(surface, path);
    } else {
        cairo_surface_finish(surface);
        st = cairo_surface_status(surface);
    }
    if (st != CAIRO_STATUS_SUCCESS)
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", path, cairo_status_to_string(st));
done:
    if (cr)
        cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return rc;
}
