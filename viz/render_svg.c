/* render_svg.c — writes a display list as SVG with libxml2's xmlTextWriter: every item is one
 * element, tooltips are <title> children (what browsers show on hover), and all text goes through
 * the writer, which escapes it, so labels from user data can never become markup. */
#include "viz/canvas.h"

#include <errno.h>
#include <libxml/xmlwriter.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"

#define SVG_NS "http://www.w3.org/2000/svg"

static void hex(const uint8_t rgb[3], char out[8])
{
    static const char digits[] = "0123456789abcdef";
    out[0] = '#';
    for (int k = 0; k < 3; k++) {
        out[1 + 2 * k] = digits[rgb[k] >> 4];
        out[2 + 2 * k] = digits[rgb[k] & 15];
    }
    out[7] = '\0';
}

#define A(name, value) (xmlTextWriterWriteAttribute(w, BAD_CAST(name), BAD_CAST(value)) < 0)
#define AF(name, ...) (xmlTextWriterWriteFormatAttribute(w, BAD_CAST(name), __VA_ARGS__) < 0)

/* Writes one item; non-zero on a writer failure. */
static int write_item(xmlTextWriterPtr w, const hs_canvas_item *it)
{
    char colour[8];
    hex(it->rgb, colour);
    int bad = 0;
    switch (it->kind) {
    case HS_CANVAS_RECT:
        bad |= xmlTextWriterStartElement(w, BAD_CAST "rect") < 0;
        if (it->cls)
            bad |= A("class", it->cls);
        bad |= AF("x", "%g", it->x) || AF("y", "%g", it->y) || AF("width", "%g", it->w) ||
               AF("height", "%g", it->h) || A("fill", colour);
        break;
    case HS_CANVAS_CIRCLE:
        bad |= xmlTextWriterStartElement(w, BAD_CAST "circle") < 0;
        if (it->cls)
            bad |= A("class", it->cls);
        bad |= AF("cx", "%g", it->x) || AF("cy", "%g", it->y) || AF("r", "%g", it->w) || A("fill", colour);
        break;
    case HS_CANVAS_LINE:
        bad |= xmlTextWriterStartElement(w, BAD_CAST "line") < 0;
        bad |= AF("x1", "%g", it->x) || AF("y1", "%g", it->y) || AF("x2", "%g", it->w) ||
               AF("y2", "%g", it->h) || A("stroke", colour) || AF("stroke-width", "%g", it->line_width);
        break;
    case HS_CANVAS_TEXT: {
        static const char *anchors[] = {"start", "middle", "end"};
        /* (x, y) is the vertical centre; SVG places the baseline, pango measured where it lies */
        double base = it->y - 0.5 * it->text_h + it->baseline;
        bad |= xmlTextWriterStartElement(w, BAD_CAST "text") < 0;
        if (it->cls)
            bad |= A("class", it->cls);
        bad |= AF("x", "%g", it->x) || AF("y", "%g", base) || A("text-anchor", anchors[it->anchor]) ||
               AF("font-size", "%gpx", it->font_size) || A("fill", colour);
        if (it->bold)
            bad |= A("font-weight", "bold");
        if (it->rotate_deg != 0)
            bad |= AF("transform", "rotate(%g %g %g)", it->rotate_deg, it->x, it->y);
        break;
    }
    }
    if (it->tooltip) {
        bad |= xmlTextWriterStartElement(w, BAD_CAST "title") < 0;
        bad |= xmlTextWriterWriteString(w, BAD_CAST it->tooltip) < 0;
        bad |= xmlTextWriterEndElement(w) < 0;
    }
    if (it->kind == HS_CANVAS_TEXT)
        bad |= xmlTextWriterWriteString(w, BAD_CAST it->text) < 0;
    bad |= xmlTextWriterEndElement(w) < 0;
    return bad;
}

hs_status hs_canvas_write_svg(const hs_canvas *c, const char *path, hs_error *err)
{
    /* we open the file ourselves: libxml2 would report a failed open on stderr */
    FILE *f = fopen(path, "wb");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    xmlOutputBufferPtr buf = xmlOutputBufferCreateFile(f, NULL); /* does not close f */
    xmlTextWriterPtr w = buf ? xmlNewTextWriter(buf) : NULL;     /* owns buf from here */
    if (!w) {
        if (buf)
            xmlOutputBufferClose(buf);
        fclose(f);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    }
    int bad = 0;
    double width = hs_canvas_width(c), height = hs_canvas_height(c);
    bad |= xmlTextWriterSetIndent(w, 0) < 0;
    bad |= xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL) < 0;
    bad |= xmlTextWriterStartElement(w, BAD_CAST "svg") < 0;
    bad |= A("xmlns", SVG_NS) || AF("width", "%g", width) || AF("height", "%g", height) ||
           AF("viewBox", "0 0 %g %g", width, height) || A("font-family", HS_CANVAS_FONT);
    /* white background, as in PNG and PDF */
    bad |= xmlTextWriterStartElement(w, BAD_CAST "rect") < 0;
    bad |= A("width", "100%") || A("height", "100%") || A("fill", "#ffffff");
    bad |= xmlTextWriterEndElement(w) < 0;
    size_t n = hs_canvas_count(c);
    for (size_t i = 0; i < n && !bad; i++)
        bad |= write_item(w, hs_canvas_item_at(c, i));
    bad |= xmlTextWriterEndElement(w) < 0;
    bad |= xmlTextWriterEndDocument(w) < 0;
    bad |= xmlTextWriterFlush(w) < 0;
    xmlFreeTextWriter(w);
    bad |= ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad)
        return hs_fail(err, HS_ERR_IO, "%s: writing SVG failed", path);
    return HS_OK;
}
