/* test_viz.c — figures: the colour maps' lightness, visible tokens, and a 3x4 heatmap written as
 * SVG (parsed back with libxml2: cells, tooltips, labels, escaping), PNG (size and the exact colour
 * at each cell centre) and PDF. */
#include "tests/test.h"
#include "viz/colormap.h"
#include "viz/heatmap.h"

#include <cairo.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* fontconfig keeps its caches for the life of the process, some reachable only from thread-local
 * storage LeakSanitizer does not scan; they are not ours to free (FcFini asserts while cairo still
 * caches fonts), so --enable-sanitizers builds suppress leaks allocated inside fontconfig. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static const char HOSTILE[] = "<script>alert(1)</script>]]>&\"'";

int test_viz_colormap_sequential(void)
{
    uint8_t rgb[3];
    double prev = -1;
    for (int i = 0; i <= 255; i++) {
        hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, i / 255.0, rgb);
        double L = hs_srgb8_lightness(rgb);
        CHECK_MSG(L > prev, "lightness not strictly rising at t=%d/255: %.5f after %.5f", i, L, prev);
        prev = L;
    }
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, 0, rgb);
    CHECK(hs_srgb8_lightness(rgb) < 0.3);
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, 1, rgb);
    CHECK(hs_srgb8_lightness(rgb) > 0.9);
    /* clamping and NaN */
    uint8_t a[3], b[3];
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, -3, a);
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, 0, b);
    CHECK(memcmp(a, b, 3) == 0);
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, 7, a);
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, 1, b);
    CHECK(memcmp(a, b, 3) == 0);
    /* the lightness of pure black and white anchors the checker itself */
    uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
    CHECK_NEAR(hs_srgb8_lightness(black), 0.0, 1e-6);
    CHECK_NEAR(hs_srgb8_lightness(white), 1.0, 1e-4);
    return TEST_PASS;
}

int test_viz_colormap_diverging(void)
{
    uint8_t mid[3], lo[3], hi[3];
    hs_colormap_rgb(HS_COLORMAP_DIVERGING, 0.5, mid);
    CHECK_MSG(mid[0] == mid[1] && mid[1] == mid[2], "not neutral at 0.5: %u %u %u", mid[0], mid[1], mid[2]);
    double Lmid = hs_srgb8_lightness(mid), prev = Lmid;
    for (int i = 1; i <= 128; i++) {
        double d = i / 256.0;
        hs_colormap_rgb(HS_COLORMAP_DIVERGING, 0.5 - d, lo);
        hs_colormap_rgb(HS_COLORMAP_DIVERGING, 0.5 + d, hi);
        double Llo = hs_srgb8_lightness(lo), Lhi = hs_srgb8_lightness(hi);
        CHECK_MSG(fabs(Llo - Lhi) < 0.01, "lightness asymmetric at 0.5 +- %g: %.4f vs %.4f", d, Llo, Lhi);
        CHECK_MSG(Llo < prev, "lightness does not fall away from the centre at 0.5 - %g", d);
        prev = Llo;
        CHECK(lo[2] > lo[0]); /* the low side is blue */
        CHECK(hi[0] > hi[2]); /* the high side is red */
    }
    CHECK(prev < Lmid - 0.4);
    return TEST_PASS;
}

int test_viz_visible_token(void)
{
    struct { const char *in; size_t len; const char *out; } cases[] = {
        {" the", 4, "\xe2\x90\xa3the"},
        {"a\nb", 3, "a\xe2\x86\xb5" "b"},
        {"\t", 1, "\xe2\x86\x92"},
        {"\r\x01\x7f", 3, "\\x0d\\x01\\x7f"},
        {"caf\xc3\xa9", 5, "caf\xc3\xa9"},
        {"\xff" "x", 2, "\\xffx"},
        {"\xe2\x82", 2, "\\xe2\\x82"},      /* truncated sequence */
        {"\xc2\x85", 2, "\\u0085"},         /* C1 control NEL */
        {"a\0b", 3, "a\\x00b"},
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = hs_viz_visible_token(cases[i].in, cases[i].len);
        CHECK(got);
        int same = strcmp(got, cases[i].out) == 0;
        if (!same)
            fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, got, cases[i].out);
        free(got);
        CHECK(same);
    }
    return TEST_PASS;
}

/* The 3x4 fixture: rows "L0", "L1" and a hostile label; columns H0..H3; values with one per cell. */
static const float VALUES[12] = {0.8312f, 0.1f, 0.25f, 0.5f, 0.0f, 0.75f, 0.33f, 0.9f, 0.42f, 0.6f, 0.05f, 1.0f};
static const char *ROWS[3] = {"L0", "L1", HOSTILE};
static const char *COLS[4] = {"H0", "H1", "H2", "H3"};

static hs_heatmap *fixture(hs_error *err)
{
    hs_heatmap *h = NULL;
    if (hs_heatmap_create(3, 4, VALUES, &h, err) != HS_OK || hs_heatmap_set_row_labels(h, ROWS, 0, err) != HS_OK ||
        hs_heatmap_set_col_labels(h, COLS, 0, err) != HS_OK || hs_heatmap_set_label_join(h, "", err) != HS_OK ||
        hs_heatmap_set_title(h, "Induction score", err) != HS_OK ||
        hs_heatmap_set_axis_labels(h, "head", "layer", err) != HS_OK) {
        hs_heatmap_free(h);
        return NULL;
    }
    return h;
}

static int has_class(xmlNodePtr n, const char *cls)
{
    xmlChar *v = xmlGetProp(n, BAD_CAST "class");
    int yes = v && strcmp((const char *)v, cls) == 0;
    xmlFree(v);
    return yes;
}

/* Walks the tree: counts cells, collects their titles, finds text elements, and flags any element
 * whose name is "script". */
struct walk {
    int cells, scripts, found_hostile_text, found_xlabel, found_ylabel, found_title;
    char titles[12][256];
};

static void walk(xmlNodePtr n, struct walk *w)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)n->name;
        if (strcasecmp(name, "script") == 0)
            w->scripts++;
        if (strcmp(name, "rect") == 0 && has_class(n, "cell")) {
            xmlNodePtr t = n->children;
            while (t && !(t->type == XML_ELEMENT_NODE && strcmp((const char *)t->name, "title") == 0))
                t = t->next;
            if (w->cells < 12 && t) {
                xmlChar *s = xmlNodeGetContent(t);
                snprintf(w->titles[w->cells], sizeof w->titles[0], "%s", s ? (const char *)s : "");
                xmlFree(s);
            }
            w->cells++;
        }
        if (strcmp(name, "text") == 0) {
            xmlChar *s = xmlNodeGetContent(n);
            const char *txt = s ? (const char *)s : "";
            if (has_class(n, "row-label") && strcmp(txt, HOSTILE) == 0)
                w->found_hostile_text++;
            if (has_class(n, "x-label") && strcmp(txt, "head") == 0)
                w->found_xlabel++;
            if (has_class(n, "y-label") && strcmp(txt, "layer") == 0)
                w->found_ylabel++;
            if (has_class(n, "title") && strcmp(txt, "Induction score") == 0)
                w->found_title++;
            xmlFree(s);
        }
        walk(n->children, w);
    }
}

static int count_errors;
static void on_xml_error(void *ctx, const char *msg, ...)
{
    (void)ctx, (void)msg;
    count_errors++;
}

int test_viz_heatmap_svg(void)
{
    hs_error err = {0};
    hs_heatmap *h = fixture(&err);
    CHECK_MSG(h, "%s", err.msg);
    char path[600];
    snprintf(path, sizeof path, "%s/h.svg", test_tmpdir());
    CHECK_OK(hs_heatmap_write(h, path, HS_VIZ_SVG, &err), &err);
    hs_heatmap_free(h);

    xmlSetGenericErrorFunc(NULL, on_xml_error);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    CHECK_MSG(doc && count_errors == 0, "%s: does not parse (%d errors)", path, count_errors);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    CHECK(root && strcmp((const char *)root->name, "svg") == 0);
    CHECK(root->ns && strcmp((const char *)root->ns->href, "http://www.w3.org/2000/svg") == 0);
    static struct walk w; /* zeroed */
    walk(root, &w);
    xmlFreeDoc(doc);

    CHECK_MSG(w.cells == 12, "%d cells", w.cells);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) {
            char want[256];
            snprintf(want, sizeof want, "%s%s = %.4g", ROWS[r], COLS[c], VALUES[r * 4 + c]);
            CHECK_MSG(strcmp(w.titles[r * 4 + c], want) == 0, "cell %d,%d title '%s', want '%s'", r, c,
                      w.titles[r * 4 + c], want);
        }
    CHECK(strcmp(w.titles[0], "L0H0 = 0.8312") == 0);
    CHECK_MSG(w.scripts == 0, "a <script> element made it into the SVG");
    CHECK(w.found_hostile_text == 1);
    CHECK(w.found_xlabel == 1 && w.found_ylabel == 1 && w.found_title == 1);
    return TEST_PASS;
}

/* Writes h as PNG to path and counts the cells whose centre pixel is not the colour the sequential
 * map gives their value over [mn, mx] (worked out here, not asked of the heatmap); -1 when the PNG
 * is unreadable or not the size of the display list. */
static int png_cell_mismatches(hs_heatmap *h, const char *path, double mn, double mx)
{
    hs_error err = {0};
    hs_canvas *cv = NULL;
    if (hs_heatmap_write(h, path, HS_VIZ_PNG, &err) != HS_OK || hs_heatmap_draw(h, &cv, &err) != HS_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    int want_w = (int)ceil(hs_canvas_width(cv)), want_h = (int)ceil(hs_canvas_height(cv));
    hs_canvas_free(cv);
    cairo_surface_t *s = cairo_image_surface_create_from_png(path);
    int W = cairo_image_surface_get_width(s), H = cairo_image_surface_get_height(s);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS || W != want_w || H != want_h) {
        fprintf(stderr, "png %dx%d, want %dx%d\n", W, H, want_w, want_h);
        cairo_surface_destroy(s);
        return -1;
    }
    cairo_surface_flush(s);
    const unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s), fails = 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) {
            double x, y, cw, ch;
            hs_heatmap_cell_rect(h, r, c, &x, &y, &cw, &ch);
            int px = (int)(x + cw / 2), py = (int)(y + ch / 2);
            if (px < 0 || px >= W || py < 0 || py >= H) {
                fails++;
                continue;
            }
            uint32_t p = *(const uint32_t *)(data + (size_t)py * stride + 4 * (size_t)px); /* 0xAARRGGBB */
            uint8_t want[3];
            hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, ((double)VALUES[r * 4 + c] - mn) / (mx - mn), want);
            uint8_t got[3] = {(uint8_t)(p >> 16), (uint8_t)(p >> 8), (uint8_t)p};
            if (memcmp(got, want, 3) != 0 || (p >> 24) != 0xff) {
                fprintf(stderr, "cell %d,%d at (%d,%d): got %02x%02x%02x, want %02x%02x%02x\n", r, c, px, py,
                        got[0], got[1], got[2], want[0], want[1], want[2]);
                fails++;
            }
        }
    cairo_surface_destroy(s);
    return fails;
}

int test_viz_heatmap_png(void)
{
    hs_error err = {0};
    hs_heatmap *h = fixture(&err);
    CHECK_MSG(h, "%s", err.msg);
    char path[600];
    const char *dir = test_tmpdir();
    snprintf(path, sizeof path, "%s/h.png", dir);
    float mn = VALUES[0], mx = VALUES[0];
    for (int i = 1; i < 12; i++)
        mn = fminf(mn, VALUES[i]), mx = fmaxf(mx, VALUES[i]);
    int fails = png_cell_mismatches(h, path, mn, mx); /* automatic range: [min, max] */
    CHECK_MSG(fails == 0, "%d cells off colour", fails);
    double x, y, w, ht;
    hs_heatmap_cell_rect(h, 2, 3, &x, &y, &w, &ht);
    CHECK(w == 28 && ht == 28 && x == floor(x) && y == floor(y)); /* whole pixels: no blended edges */

    /* the checker catches a planted fault: a range it was not told about recolours the cells */
    hs_heatmap_set_range(h, 0.0, 2.0);
    snprintf(path, sizeof path, "%s/planted.png", dir);
    fprintf(stderr, "(planted fault: mismatches expected below)\n");
    fails = png_cell_mismatches(h, path, mn, mx);
    CHECK_MSG(fails >= 11, "the pixel check missed a planted range change (%d mismatches)", fails);
    hs_heatmap_free(h);
    return TEST_PASS;
}

int test_viz_heatmap_pdf(void)
{
    hs_error err = {0};
    hs_heatmap *h = fixture(&err);
    CHECK_MSG(h, "%s", err.msg);
    char path[600];
    snprintf(path, sizeof path, "%s/h.pdf", test_tmpdir());
    CHECK_OK(hs_heatmap_write(h, path, HS_VIZ_PDF, &err), &err);
    FILE *f = fopen(path, "rb");
    CHECK(f);
    char head[5] = {0};
    size_t n = fread(head, 1, 5, f);
    fclose(f);
    CHECK(n == 5 && memcmp(head, "%PDF-", 5) == 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size > 100);
    /* an unwritable path is an I/O error with the path in the message, for every format */
    const char *bad[3] = {"/nonexistent-dir/h.png", "/nonexistent-dir/h.svg", "/nonexistent-dir/h.pdf"};
    hs_viz_format fmts[3] = {HS_VIZ_PNG, HS_VIZ_SVG, HS_VIZ_PDF};
    for (int i = 0; i < 3; i++) {
        hs_error e = {0};
        CHECK(hs_heatmap_write(h, bad[i], fmts[i], &e) == HS_ERR_IO);
        CHECK_MSG(strstr(e.msg, bad[i]) != NULL, "message '%s' lacks the path", e.msg);
    }
    hs_heatmap_free(h);
    return TEST_PASS;
}

/* Diverging map: the automatic range is symmetric, zero is neutral, NaN cells are missing. */
int test_viz_heatmap_diverging_missing(void)
{
    hs_error err = {0};
    const float v[4] = {-0.5f, 0.0f, 2.0f, NAN};
    hs_heatmap *h = NULL;
    CHECK_OK(hs_heatmap_create(1, 4, v, &h, &err), &err);
    hs_heatmap_set_colormap(h, HS_COLORMAP_DIVERGING);
    hs_canvas *cv = NULL;
    CHECK_OK(hs_heatmap_draw(h, &cv, &err), &err);
    double lo, hi;
    hs_heatmap_range_used(h, &lo, &hi);
    CHECK(lo == -2.0 && hi == 2.0);
    CHECK(hs_heatmap_position(h, 0.0) == 0.5);
    int cells = 0, missing = 0;
    for (size_t i = 0; i < hs_canvas_count(cv); i++) {
        const hs_canvas_item *it = hs_canvas_item_at(cv, i);
        if (it->kind != HS_CANVAS_RECT || !it->cls || strcmp(it->cls, "cell") != 0)
            continue;
        if (cells == 1)
            CHECK(it->rgb[0] == it->rgb[1] && it->rgb[1] == it->rgb[2]);
        if (strcmp(it->tooltip, "0 / 3 = missing") == 0)
            missing++;
        cells++;
    }
    CHECK(cells == 4 && missing == 1);
    hs_canvas_free(cv);
    hs_heatmap_free(h);
    /* bad arguments */
    CHECK(hs_heatmap_create(0, 4, v, &h, &err) == HS_ERR_ARG && h == NULL);
    return TEST_PASS;
}

/* The colour bar's tick labels of a drawn heatmap, bottom (largest y) first: values read back from
 * the text, and the bar's pixel rows [*top, *bottom). Returns the number of labels (at most cap). */
static int colorbar_labels(const hs_canvas *cv, double *value, double *y, int cap, double *top, double *bottom)
{
    int n = 0;
    *top = INFINITY, *bottom = -INFINITY;
    for (size_t i = 0; i < hs_canvas_count(cv); i++) {
        const hs_canvas_item *it = hs_canvas_item_at(cv, i);
        if (it->kind == HS_CANVAS_RECT && it->cls && strcmp(it->cls, "colorbar") == 0)
            *top = fmin(*top, it->y), *bottom = fmax(*bottom, it->y + it->h);
        if (it->kind == HS_CANVAS_TEXT && it->cls && strcmp(it->cls, "tick") == 0 && n < cap) {
            int k = n++;
            while (k > 0 && y[k - 1] < it->y) { /* insertion: bottom first */
                value[k] = value[k - 1], y[k] = y[k - 1];
                k--;
            }
            value[k] = atof(it->text), y[k] = it->y;
        }
    }
    return n;
}

/* Every colour bar labels its ends: an automatic range over duplicate-token-like scores [0.0123,
 * 0.0543] reads about 0.012 at the bottom of the bar and 0.054 at its top (not only the round ticks
 * between, which left the minimum unnamed), with no two labels overlapping; a range with one end
 * given (0, NaN) keeps that end and takes the other from the data. */
int test_viz_heatmap_colorbar_ends(void)
{
    const float v[4] = {0.0123f, 0.03f, 0.045f, 0.0543f};
    hs_error err = {0};
    hs_heatmap *h = NULL;
    CHECK_OK(hs_heatmap_create(2, 2, v, &h, &err), &err);
    double value[32], y[32], top, bottom, lo, hi;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            hs_heatmap_set_range(h, 0.0, NAN);
        hs_canvas *cv = NULL;
        CHECK_OK(hs_heatmap_draw(h, &cv, &err), &err);
        int n = colorbar_labels(cv, value, y, 32, &top, &bottom);
        hs_canvas_free(cv);
        hs_heatmap_range_used(h, &lo, &hi);
        CHECK_NEAR(lo, pass == 0 ? 0.0123 : 0.0, 1e-6);
        CHECK_NEAR(hi, 0.0543, 1e-6);
        CHECK_MSG(n >= 2, "%d colour bar labels", n);
        CHECK_MSG(fabs(y[0] - bottom) <= 1.0, "lowest label at y %.1f, the bar ends at %.1f", y[0], bottom);
        CHECK_MSG(fabs(y[n - 1] - top) <= 1.0, "highest label at y %.1f, the bar starts at %.1f", y[n - 1], top);
        CHECK_MSG(fabs(value[0] - lo) <= 5e-4, "the bottom of the bar reads %g, its minimum is %g", value[0], lo);
        CHECK_MSG(fabs(value[n - 1] - hi) <= 5e-4, "the top of the bar reads %g, its maximum is %g", value[n - 1], hi);
        for (int i = 1; i < n; i++) {
            CHECK_MSG(value[i] > value[i - 1], "labels not rising: %g after %g", value[i], value[i - 1]);
            CHECK_MSG(y[i - 1] - y[i] >= 12, "labels %g and %g overlap (%.1f px apart)", value[i - 1], value[i],
                      y[i - 1] - y[i]);
        }
    }
    hs_heatmap_free(h);
    return TEST_PASS;
}
