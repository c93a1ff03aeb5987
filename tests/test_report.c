/* test_report.c — the HTML report: every page and figure parses (libxml2, strict XML), its
 * structure matches the store (figures per metric, cells and tooltips per head, top heads,
 * prompt rows, viewer data), hostile prompt text stays text, a rewrite replaces the old report
 * and a foreign folder is refused, and a real browser (headless Chromium) renders it without
 * console errors and not blank. */
#include <cairo.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/tensor_blob.h"
#include "model/random_model.h"
#include "report/report.h"
#include "tests/test.h"
#include "viz/colormap.h"
#include "viz/heatmap.h"

#define XHTML_NS "http://www.w3.org/1999/xhtml"
#define SVG_NS "http://www.w3.org/2000/svg"

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int xml_errors;
static void on_xml_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    xml_errors++;
    fprintf(stderr, "libxml2: %s", msg);
}

/* Parses path as strict XML; NULL (and a message) on any error or warning. */
static xmlDocPtr parse_strict(const char *path)
{
    xml_errors = 0;
    xmlSetGenericErrorFunc(NULL, on_xml_error);
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    xmlSetGenericErrorFunc(NULL, NULL);
    if (doc && xml_errors) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    if (!doc)
        fprintf(stderr, "%s: does not parse as XML\n", path);
    return doc;
}

static xmlXPathObjectPtr xpath(xmlDocPtr doc, xmlNodePtr at, const char *expr)
{
    xmlXPathContextPtr c = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(c, BAD_CAST "h", BAD_CAST XHTML_NS);
    xmlXPathRegisterNs(c, BAD_CAST "s", BAD_CAST SVG_NS);
    if (at)
        c->node = at;
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST expr, c);
    xmlXPathFreeContext(c);
    return r;
}

static int count(xmlDocPtr doc, const char *expr)
{
    xmlXPathObjectPtr r = xpath(doc, NULL, expr);
    int n = r && r->nodesetval ? r->nodesetval->nodeNr : -1;
    xmlXPathFreeObject(r);
    return n;
}

/* Records a small store with a random GPT-2 (2 layers, 4 heads, a context of n_ctx tokens) and the
 * given prompts; run_opts are more options of `headscope run` ("" for none). */
static int make_store_with(const char *dir, const char *prompts_jsonl, int n_ctx, const char *run_opts, char *db,
                           size_t cap)
{
    char model[512], prompts[512], args[4096], out[16384];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(prompts, sizeof prompts, "%s/prompts.jsonl", dir);
    snprintf(db, cap, "%s/run.db", dir);
    hs_error err = {0};
    hs_random_model_spec spec = {.n_layers = 2, .d_model = 32, .n_heads = 4, .n_ctx = n_ctx, .d_vocab = 257,
                                 .init_std = 0.3f, .seed = 11};
    CHECK_OK(hs_random_model_write(model, &spec, &err), &err);
    CHECK(write_text(prompts, prompts_jsonl) == 0);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --quiet %s", model, prompts, db, run_opts);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    return TEST_PASS;
}

static int make_store(const char *dir, const char *prompts_jsonl, char *db, size_t cap)
{
    return make_store_with(dir, prompts_jsonl, 128, "", db, cap);
}

/* Records prompts_jsonl with the model of make_store_with(dir, ...) as one more run into db. */
static int add_run(const char *dir, const char *name, const char *prompts_jsonl, const char *db)
{
    char prompts[512], args[4096], out[16384];
    snprintf(prompts, sizeof prompts, "%s/%s.jsonl", dir, name);
    CHECK(write_text(prompts, prompts_jsonl) == 0);
    snprintf(args, sizeof args, "run --model %s/model --prompts %s --db %s --quiet", dir, prompts, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    return TEST_PASS;
}

static const char plain_prompts[] =
    "{\"id\": \"a\", \"text\": \"When Mary and John went to the store, John gave a drink to\", \"answer\": \" Mary\", "
    "\"wrong\": \" John\"}\n"
    "{\"id\": \"b\", \"text\": \"The war lasted from the year 1732 to the year 17\"}\n"
    "{\"id\": \"c\", \"text\": \"Once upon a time\\nthere was\\ta cat.\"}\n";

/* Checks one heatmap SVG of the report against the store: L*H cells, each tooltip "LxHy = v" with
 * v the mean of the metric's per-prompt values, and the fill the colour map gives v over
 * [range_lo, range_hi] (an end given as NaN: the values' minimum or maximum). */
static int check_heatmap_svg(sqlite3 *db, const char *svg_path, const char *analysis, const char *metric, int L,
                             int H, double range_lo, double range_hi)
{
    xmlDocPtr doc = parse_strict(svg_path);
    CHECK(doc);
    xmlXPathObjectPtr cells = xpath(doc, NULL, "//s:rect[@class='cell']");
    CHECK(cells && cells->nodesetval);
    CHECK_MSG(cells->nodesetval->nodeNr == L * H, "%s: %d cells", svg_path, cells->nodesetval->nodeNr);
    double lo = INFINITY, hi = -INFINITY;
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT avg(value) FROM head_scores WHERE analysis = ?1 AND metric = ?2 "
                             "GROUP BY layer, head",
                             -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_text(st, 1, analysis, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        double v = sqlite3_column_double(st, 0);
        lo = fmin(lo, v), hi = fmax(hi, v);
    }
    sqlite3_finalize(st);
    if (!isnan(range_lo)) /* a bounded metric's end; NaN: the data's */
        lo = range_lo;
    if (!isnan(range_hi))
        hi = range_hi;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT avg(value) FROM head_scores WHERE analysis = ?1 AND metric = ?2 "
                             "AND layer = ?3 AND head = ?4",
                             -1, &st, NULL) == SQLITE_OK);
    for (int i = 0; i < cells->nodesetval->nodeNr; i++) {
        xmlNodePtr cell = cells->nodesetval->nodeTab[i];
        xmlChar *fill = xmlGetProp(cell, BAD_CAST "fill");
        xmlXPathObjectPtr t = xpath(doc, cell, "s:title");
        CHECK(t && t->nodesetval && t->nodesetval->nodeNr == 1);
        xmlChar *tip = xmlNodeGetContent(t->nodesetval->nodeTab[0]);
        int layer, head;
        double shown;
        CHECK_MSG(sscanf((const char *)tip, "L%dH%d = %lf", &layer, &head, &shown) == 3, "tooltip '%s'", tip);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, analysis, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, layer);
        sqlite3_bind_int(st, 4, head);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        double want = sqlite3_column_double(st, 0);
        /* tooltips print 4 significant digits */
        CHECK_MSG(fabs(shown - want) <= 5e-4 * fabs(want) + 1e-12, "%s: '%s' but the store says %.6g", svg_path, tip,
                  want);
        uint8_t rgb[3];
        hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, hi > lo ? (want - lo) / (hi - lo) : 0.5, rgb);
        char hex[8];
        snprintf(hex, sizeof hex, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
        CHECK_MSG(fill && strcmp((const char *)fill, hex) == 0, "%s: %s filled %s, colour map gives %s", svg_path, tip,
                  fill, hex);
        xmlFree(tip), xmlFree(fill);
        xmlXPathFreeObject(t);
    }
    sqlite3_finalize(st);
    xmlXPathFreeObject(cells);
    xmlFreeDoc(doc);
    return TEST_PASS;
}

int test_report_structure(void)
{
    char dir[256], db[512], out_dir[512], args[2048], out[16384], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_store(dir, plain_prompts, db, sizeof db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    snprintf(args, sizeof args, "report --db %s --out %s --viewer-prompts 2", db, out_dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "3 figures") && strstr(out, "2 prompts in the viewer"), "%s", out);

    snprintf(path, sizeof path, "%s/index.html", out_dir);
    xmlDocPtr doc = parse_strict(path);
    CHECK(doc);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);

    /* the three recording summaries: one figure each, with every format on disk */
    CHECK(count(doc, "//h:figure") == 3);
    CHECK(count(doc, "//h:figure/h:object[@type='image/svg+xml']/h:img") == 3);
    CHECK(count(doc, "//h:figcaption/h:a") == 9);
    xmlXPathObjectPtr objs = xpath(doc, NULL, "//h:figure/h:object");
    static const char *metrics[3] = {"attn_entropy", "attn_first", "attn_max"};
    /* entropy is at least 0 with no fixed top; attention on the first token and the row maximum lie in [0, 1] */
    static const double range[3][2] = {{0, NAN}, {0, 1}, {0, 1}};
    for (int i = 0; i < 3; i++) {
        xmlNodePtr o = objs->nodesetval->nodeTab[i];
        xmlChar *data = xmlGetProp(o, BAD_CAST "data"), *w = xmlGetProp(o, BAD_CAST "width"),
                *h = xmlGetProp(o, BAD_CAST "height");
        CHECK_MSG(strstr((const char *)data, metrics[i]), "figure %d is %s, expected %s", i, data, metrics[i]);
        snprintf(path, sizeof path, "%s/%s", out_dir, (const char *)data);
        CHECK(check_heatmap_svg(s, path, "run", metrics[i], 2, 4, range[i][0], range[i][1]) == TEST_PASS);
        /* the PNG beside it has the size the page reserves */
        size_t n = strlen(path);
        memcpy(path + n - 3, "png", 3);
        cairo_surface_t *png = cairo_image_surface_create_from_png(path);
        CHECK_MSG(cairo_surface_status(png) == CAIRO_STATUS_SUCCESS, "%s", path);
        CHECK(cairo_image_surface_get_width(png) == atoi((const char *)w));
        CHECK(cairo_image_surface_get_height(png) == atoi((const char *)h));
        cairo_surface_destroy(png);
        memcpy(path + n - 3, "pdf", 3);
        struct stat stt;
        CHECK(stat(path, &stt) == 0 && stt.st_size > 1000);
        xmlFree(data), xmlFree(w), xmlFree(h);
    }
    xmlXPathFreeObject(objs);

    /* top heads: the first row of attn_first's table is the store's argmax */
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(s,
                             "SELECT 'L' || layer || 'H' || head FROM head_scores WHERE metric = 'attn_first' "
                             "GROUP BY layer, head ORDER BY avg(value) DESC LIMIT 1",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    char best[32];
    snprintf(best, sizeof best, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    xmlXPathObjectPtr top = xpath(doc, NULL, "(//h:table[@class='top-heads'])[2]/h:tr[2]/h:td[2]");
    CHECK(top && top->nodesetval && top->nodesetval->nodeNr == 1);
    xmlChar *shown = xmlNodeGetContent(top->nodesetval->nodeTab[0]);
    CHECK_MSG(strcmp((const char *)shown, best) == 0, "top head %s, store says %s", shown, best);
    xmlFree(shown);
    xmlXPathFreeObject(top);
    CHECK(count(doc, "//h:table[@class='top-heads']/h:tr") == 3 * (1 + 8)); /* 8 heads < --top 10 */

    /* every link, image and object names a file of the report (or an anchor on the page) */
    xmlXPathObjectPtr refs = xpath(doc, NULL, "//@src | //@href | //@data");
    CHECK(refs && refs->nodesetval && refs->nodesetval->nodeNr >= 3 * 4);
    for (int i = 0; i < refs->nodesetval->nodeNr; i++) {
        xmlChar *ref = xmlNodeGetContent(refs->nodesetval->nodeTab[i]);
        if (ref[0] == '#') {
            char expr[256];
            snprintf(expr, sizeof expr, "//*[@id='%s']", (const char *)ref + 1);
            CHECK_MSG(count(doc, expr) == 1, "link to a missing anchor %s", ref);
        } else {
            CHECK_MSG(!strchr((const char *)ref, ':') && ref[0] != '/', "a link leaves the report: %s", ref);
            snprintf(path, sizeof path, "%s/%s", out_dir, (const char *)ref);
            CHECK_MSG(access(path, R_OK) == 0, "%s is linked but missing", ref);
        }
        xmlFree(ref);
    }
    xmlXPathFreeObject(refs);

    /* prompt rows, runs rows; the viewer: an index of the first two prompts that says one is left
     * out, and a data file for each of the two */
    CHECK(count(doc, "//h:table[@class='prompts']/h:tr") == 1 + 3);
    CHECK(count(doc, "//h:table[@class='runs']/h:tr") == 1 + 1);
    CHECK(count(doc, "//h:script[contains(., 'HS_VIEW.runs.push') and contains(., 'left_out: 1,')]") == 1);
    snprintf(args, sizeof args, "ls %s/viewer", out_dir);
    CHECK(test_run_shell(args, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "p1.js\np2.js\n") == 0, "viewer/ holds %s", out);
    CHECK(count(doc, "//h:div[@id='hs-viewer']") == 1);
    sqlite3_close(s);
    xmlFreeDoc(doc);
    return TEST_PASS;
}

/* Hostile prompt text and tokens (markup, quotes, CDATA ends, invalid UTF-8, control characters)
 * come out as text: the page parses, holds only our scripts, and shows the text. */
int test_report_escaping(void)
{
    char dir[256], db[512], out_dir[512], args[2048], out[16384], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    static const char hostile_prompts[] =
        "{\"id\": \"<b>x</b>\", \"text\": \"<script>alert(1)</script></svg>]]><!-- \\\"q\\\" 'a' &amp; </td>\"}\n"
        "{\"id\": \"2\", \"text\": \"plain\"}\n";
    CHECK(make_store(dir, hostile_prompts, db, sizeof db) == TEST_PASS);
    /* invalid UTF-8 and a control character cannot come through JSON: put them in directly */
    sqlite3 *s;
    CHECK(sqlite3_open(db, &s) == SQLITE_OK);
    CHECK(sqlite3_exec(s,
                       "UPDATE prompts SET text = CAST(X'3c7363726970743ebeef01ff5d5d3e' AS TEXT) WHERE idx = 1;"
                       "UPDATE tokens SET text = CAST(X'3c2f7363726970743eff' AS TEXT) WHERE pos = 0;"
                       "UPDATE head_scores SET analysis = '<img src=x onerror=alert(2)>' WHERE metric = 'attn_max';",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(s);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    snprintf(args, sizeof args, "report --db %s --out %s", db, out_dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    xmlDocPtr doc = parse_strict(path);
    CHECK(doc);
    /* scripts: the colour table, the run's index of viewer prompts, the viewer itself; no other */
    CHECK_MSG(count(doc, "//h:script") == 3, "%d scripts", count(doc, "//h:script"));
    CHECK(count(doc, "//h:script[contains(., '<script>alert')]") == 0);
    /* the viewer's prompt label carries the text as an escaped string literal */
    CHECK(count(doc, "//h:script[contains(., '\\u003cscript\\u003ealert(1)\\u003c/script\\u003e')]") == 1);
    CHECK(count(doc, "//h:img[@onerror] | //*[@onerror] | //h:b | //h:svg | //s:svg") == 0);
    /* the text is there, as text */
    xmlXPathObjectPtr td = xpath(doc, NULL, "//h:table[@class='prompts']/h:tr[2]/h:td[3]");
    CHECK(td && td->nodesetval && td->nodesetval->nodeNr == 1);
    xmlChar *text = xmlNodeGetContent(td->nodesetval->nodeTab[0]);
    CHECK_MSG(strcmp((const char *)text, "<script>alert(1)</script></svg>]]><!-- \"q\" 'a' &amp; </td>") == 0,
              "prompt shown as '%s'", text);
    xmlFree(text);
    xmlXPathFreeObject(td);
    td = xpath(doc, NULL, "//h:table[@class='prompts']/h:tr[3]/h:td[3]");
    text = xmlNodeGetContent(td->nodesetval->nodeTab[0]);
    /* 0xbe 0xef: invalid, 0x01: not allowed in XML, 0xff: invalid -> U+FFFD each */
    CHECK_MSG(strcmp((const char *)text, "<script>\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd]]>") == 0,
              "invalid UTF-8 prompt shown as '%s'", text);
    xmlFree(text);
    xmlXPathFreeObject(td);
    CHECK(count(doc, "//h:h3[. = 'Analysis: <img src=x onerror=alert(2)>']") == 1);
    xmlFreeDoc(doc);
    /* the raw bytes: user text never appears unescaped */
    FILE *f = fopen(path, "rb");
    CHECK(f);
    static char page[1 << 22];
    size_t n = fread(page, 1, sizeof page - 1, f);
    fclose(f);
    page[n] = '\0';
    CHECK(!strstr(page, "<script>alert") && !strstr(page, "</svg>") && !strstr(page, "<img src=x"));
    CHECK(!strstr(page, "\xff") && !strstr(page, "\xbe\xef"));
    /* the viewer's data files (the hostile token is in p1.js): plain ASCII, no markup */
    for (int i = 1; i <= 2; i++) {
        snprintf(path, sizeof path, "%s/viewer/p%d.js", out_dir, i);
        f = fopen(path, "rb");
        CHECK_MSG(f, "%s is missing", path);
        n = fread(page, 1, sizeof page - 1, f);
        fclose(f);
        page[n] = '\0';
        CHECK_MSG(strlen(page) == n && strncmp(page, "HS_VIEW.add(", 12) == 0, "%s", path);
        for (size_t k = 0; k < n; k++)
            CHECK_MSG((page[k] >= 0x20 && page[k] < 0x7f) || page[k] == '\n', "%s: byte %zu is 0x%02x", path, k,
                      (unsigned char)page[k]);
        CHECK(!strchr(page, '<') && !strchr(page, '>'));
    }
    /* every SVG parses too (hostile analysis name in a title) */
    for (int i = 1; i <= 3; i++) {
        snprintf(args, sizeof args, "ls %s/fig/00%d-*.svg > %s/svg.txt", out_dir, i, dir);
        CHECK(system(args) == 0);
        snprintf(path, sizeof path, "%s/svg.txt", dir);
        f = fopen(path, "r");
        char svg[1024];
        CHECK(f && fgets(svg, sizeof svg, f));
        fclose(f);
        svg[strcspn(svg, "\n")] = '\0';
        xmlDocPtr d = parse_strict(svg);
        CHECK(d);
        xmlFreeDoc(d);
    }
    return TEST_PASS;
}

/* Writing a report twice replaces the first (no stale files); a folder that is not a report is
 * refused and left as it was; a failed write leaves the old report in place. */
int test_report_replace(void)
{
    char dir[256], db[512], out_dir[512], path[1024], out[256];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_store(dir, plain_prompts, db, sizeof db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    hs_report_options opt;
    hs_report_options_default(&opt);
    hs_error err = {0};
    CHECK_OK(hs_report_write(db, out_dir, &opt, NULL, &err), &err);
    snprintf(path, sizeof path, "%s/fig/stale.png", out_dir);
    CHECK(write_text(path, "old") == 0);
    opt.formats = HS_REPORT_SVG;
    CHECK_OK(hs_report_write(db, out_dir, &opt, NULL, &err), &err);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/fig/001-run-attn_entropy-run1.png", out_dir);
    CHECK(access(path, F_OK) != 0); /* only SVG this time */
    snprintf(path, sizeof path, "%s/fig/001-run-attn_entropy-run1.svg", out_dir);
    CHECK(access(path, F_OK) == 0);
    /* no staging folders left beside it */
    snprintf(path, sizeof path, "ls -A %s | grep -c tmp", dir);
    FILE *p = popen(path, "r");
    CHECK(p && fgets(out, sizeof out, p));
    pclose(p);
    CHECK_MSG(atoi(out) == 0, "%s staging folders left", out);

    /* a foreign folder */
    char foreign[512];
    snprintf(foreign, sizeof foreign, "%s/papers", dir);
    CHECK(mkdir(foreign, 0755) == 0);
    snprintf(path, sizeof path, "%s/thesis.tex", foreign);
    CHECK(write_text(path, "precious") == 0);
    hs_status rc = hs_report_write(db, foreign, &opt, NULL, &err);
    CHECK(rc == HS_ERR_ARG);
    CHECK_MSG(strstr(err.msg, foreign) && strstr(err.msg, "not empty"), "%s", err.msg);
    CHECK(access(path, F_OK) == 0);

    /* a store that is not there: error names it, the old report stays */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/missing.db", dir);
    CHECK(hs_report_write(missing, out_dir, &opt, NULL, &err) != HS_OK);
    CHECK_MSG(strstr(err.msg, "missing.db"), "%s", err.msg);
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    CHECK(access(path, F_OK) == 0);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the browser test */

/* Runs headless Chromium on url; returns its stderr+stdout (malloc'd) or NULL. mode is
 * "--dump-dom" or "--screenshot=PATH". */
static char *chromium(const char *chrome, const char *mode, const char *url)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "timeout 120 %s --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
             "--disable-dev-shm-usage --user-data-dir=%s/chrome-profile --enable-logging=stderr --v=0 "
             "--window-size=1280,2000 %s '%s' 2>&1",
             chrome, test_tmpdir(), mode, url);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        pclose(p);
        return NULL;
    }
    size_t k;
    while ((k = fread(buf + n, 1, cap - 1 - n, p)) > 0) {
        n += k;
        if (n == cap - 1) {
            char *g = realloc(buf, cap * 2);
            if (!g)
                break;
            buf = g, cap *= 2;
        }
    }
    buf[n] = '\0';
    pclose(p);
    return buf;
}

/* Problems a page showed in the browser: console errors (uncaught exceptions) in the log, or the
 * viewer's own data-error / not ready in the DOM. Returns a description, or NULL when clean.
 * (Missing files are not seen here — Chromium does not log them — report_structure checks
 * that every linked file exists.) */
static const char *page_problem(const char *log)
{
    static char why[512];
    const char *bad[] = {"Uncaught", "SyntaxError", "Failed to load resource"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *at = strstr(log, bad[i]);
        if (at) {
            snprintf(why, sizeof why, "console: %.200s", at);
            return why;
        }
    }
    if (strstr(log, "data-error="))
        return "the viewer reported an error (data-error)";
    if (!strstr(log, "data-ready=\"1\""))
        return "the viewer never became ready";
    return NULL;
}

static const char *find_chromium(void)
{
    static const char *names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (access(names[i], X_OK) == 0)
            return names[i];
    return NULL;
}

int test_report_browser(void)
{
    const char *chrome = find_chromium();
    if (!chrome) {
        fprintf(stderr, "no chromium: skipped (tools/setup.sh installs the Debian package)\n");
        return TEST_SKIP;
    }
    char dir[256], db[512], out_dir[512], url[1100], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());

    /* the checker first: a page with a script error, and one whose image is missing, must fail */
    snprintf(path, sizeof path, "%s/broken.html", dir);
    CHECK(write_text(path, "<!DOCTYPE html><html><body><div id=\"hs-viewer\" data-ready=\"1\">x</div>"
                           "<script>undefined_function();</script></body></html>") == 0);
    snprintf(url, sizeof url, "file://%s", path);
    char *log = chromium(chrome, "--dump-dom", url);
    CHECK(log);
    CHECK_MSG(page_problem(log) != NULL, "the checker missed an uncaught script error:\n%s", log);
    free(log);
    snprintf(path, sizeof path, "%s/viewer-error.html", dir);
    CHECK(write_text(path, "<!DOCTYPE html><html><body><div id=\"hs-viewer\" data-ready=\"1\" "
                           "data-error=\"pattern data of run 1 has 3 bytes\">x</div></body></html>") == 0);
    snprintf(url, sizeof url, "file://%s", path);
    log = chromium(chrome, "--dump-dom", url);
    CHECK(log);
    CHECK_MSG(page_problem(log) != NULL, "the checker missed the viewer's own error:\n%s", log);
    free(log);

    /* the real report */
    CHECK(make_store(dir, plain_prompts, db, sizeof db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    hs_error err = {0};
    CHECK_OK(hs_report_write(db, out_dir, NULL, NULL, &err), &err);
    snprintf(url, sizeof url, "file://%s/index.html", out_dir);
    log = chromium(chrome, "--dump-dom", url);
    CHECK(log);
    const char *problem = page_problem(log);
    CHECK_MSG(!problem, "%s", problem);
    CHECK(strstr(log, "queries down, keys across")); /* the viewer drew its first pattern */
    free(log);

    char shot[1024], mode[1100];
    snprintf(shot, sizeof shot, "%s/screenshot.png", dir);
    snprintf(mode, sizeof mode, "--screenshot=%s", shot);
    log = chromium(chrome, mode, url);
    CHECK(log);
    problem = page_problem(log);
    /* the screenshot run has no DOM dump: only console problems count here */
    CHECK_MSG(!problem || strstr(problem, "viewer"), "%s", problem);
    free(log);
    cairo_surface_t *png = cairo_image_surface_create_from_png(shot);
    CHECK_MSG(cairo_surface_status(png) == CAIRO_STATUS_SUCCESS, "no screenshot at %s", shot);
    int W = cairo_image_surface_get_width(png), H = cairo_image_surface_get_height(png);
    int stride = cairo_image_surface_get_stride(png);
    const unsigned char *px = cairo_image_surface_get_data(png);
    /* not blank: enough non-white pixels, and the heatmap colours are there */
    long ink = 0;
    int colours_seen = 0;
    uint32_t seen[64] = {0};
    for (int y = 0; y < H; y += 2)
        for (int x = 0; x < W; x += 2) {
            uint32_t v = *(const uint32_t *)(px + (size_t)y * (size_t)stride + 4 * (size_t)x) & 0xffffff;
            if (v != 0xffffff)
                ink++;
            int known = 0;
            for (int k = 0; k < colours_seen; k++)
                known |= seen[k] == v;
            if (!known && colours_seen < 64)
                seen[colours_seen++] = v;
        }
    cairo_surface_destroy(png);
    double frac = (double)ink / ((W / 2) * (H / 2));
    CHECK_MSG(W == 1280 && frac > 0.03 && colours_seen >= 32, "screenshot %dx%d: %.3f ink, %d colours", W, H, frac,
              colours_seen);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the attention viewer in the browser */

/* The DOM Chromium dumped (the page after its scripts ran), parsed as HTML: XPath on it takes no
 * namespace prefix. NULL when the log holds no page. */
static xmlDocPtr dumped_dom(const char *log)
{
    const char *at = strstr(log, "<html");
    if (!at)
        return NULL;
    return htmlReadMemory(at, (int)strlen(at), "dump.html", "UTF-8",
                          HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
}

/* The string value of an XPath expression, malloc'd ("" when it selects nothing). */
static char *xstring(xmlDocPtr doc, const char *expr)
{
    char e[1024];
    snprintf(e, sizeof e, "string(%s)", expr);
    xmlXPathObjectPtr r = xpath(doc, NULL, e);
    char *s = strdup(r && r->stringval ? (const char *)r->stringval : "");
    xmlXPathFreeObject(r);
    return s;
}

/* Opens url (a report's index.html, maybe with a #fragment) in headless Chromium, gives the page
 * 5 s of virtual time (the viewer loads a prompt's data file after the page) and returns the DOM
 * its scripts left; NULL, with a message, when the page showed a problem. */
static xmlDocPtr viewer_dom(const char *chrome, const char *url)
{
    char *log = chromium(chrome, "--virtual-time-budget=5000 --dump-dom", url);
    if (!log)
        return NULL;
    const char *problem = page_problem(log);
    xmlDocPtr doc = problem ? NULL : dumped_dom(log);
    if (problem)
        fprintf(stderr, "%s: %s\n", url, problem);
    free(log);
    return doc;
}

/* The id of a run's prompt idx. */
static long long prompt_id(sqlite3 *db, int run, int idx)
{
    sqlite3_stmt *st;
    long long id = -1;
    if (sqlite3_prepare_v2(db, "SELECT id FROM prompts WHERE run_id = ?1 AND idx = ?2", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, run);
    sqlite3_bind_int(st, 2, idx);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
}

/* The stored attention A[q, k] of one head on one prompt; NAN when absent. */
static double stored_attention(sqlite3 *db, long long prompt, int layer, int head, int q, int k)
{
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(db,
                           "SELECT data FROM activations WHERE prompt_id = ?1 AND hook = 'attn.hook_pattern' "
                           "AND layer = ?2 AND head = ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return NAN;
    sqlite3_bind_int64(st, 1, prompt);
    sqlite3_bind_int(st, 2, layer);
    sqlite3_bind_int(st, 3, head);
    hs_blob_view b;
    if (sqlite3_step(st) == SQLITE_ROW &&
        hs_blob_parse(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &b) == 0 && b.ndim == 2 &&
        q < b.shape[0] && k < b.shape[1])
        v = hs_blob_get(&b, (int64_t)q * b.shape[1] + k);
    sqlite3_finalize(st);
    return v;
}

/* With no pattern in the store the viewer says how to record one, and every option it names is an
 * option of `headscope run` (it once suggested --hooks, which does not exist). */
int test_report_viewer_empty_hint(void)
{
    const char *chrome = find_chromium();
    if (!chrome) {
        fprintf(stderr, "no chromium: skipped\n");
        return TEST_SKIP;
    }
    char dir[256], db[512], out_dir[512], url[1100], help[16384];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_store_with(dir, plain_prompts, 128, "--record z", db, sizeof db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    hs_error err = {0};
    CHECK_OK(hs_report_write(db, out_dir, NULL, NULL, &err), &err);
    snprintf(url, sizeof url, "file://%s/index.html", out_dir);
    xmlDocPtr doc = viewer_dom(chrome, url);
    CHECK(doc);
    char *hint = xstring(doc, "//*[@id='hs-readout']");
    xmlFreeDoc(doc);
    CHECK_MSG(strstr(hint, "No attention patterns") && strstr(hint, "--record") && strstr(hint, "pattern"),
              "the viewer says '%s'", hint);
    CHECK(test_run_headscope("run --help", help, sizeof help) == 0);
    for (const char *p = hint; (p = strstr(p, "--")) != NULL; p += 2) {
        char opt[64] = "";
        sscanf(p, "%63[-a-z]", opt);
        CHECK_MSG(strstr(help, opt), "the viewer suggests %s, which `headscope run --help` does not list", opt);
    }
    free(hint);
    return TEST_PASS;
}

/* A prompt of 200 tokens keeps its token labels: the token strip holds all 200 as the store has them
 * (made visible), the pattern is drawn at a legible cell size with the rows and keys in view
 * labelled, and the page says which of the 200 positions are in view. */
int test_report_viewer_long_prompt(void)
{
    const char *chrome = find_chromium();
    if (!chrome) {
        fprintf(stderr, "no chromium: skipped\n");
        return TEST_SKIP;
    }
    char dir[256], db[512], out_dir[512], url[1100], expr[256], jsonl[4096];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    /* <|endoftext|> and 199 byte tokens, letters with a space every 7th */
    int n = snprintf(jsonl, sizeof jsonl, "{\"id\": \"long\", \"tokens\": [256");
    for (int i = 1; i < 200; i++)
        n += snprintf(jsonl + n, sizeof jsonl - (size_t)n, ", %d", i % 7 == 0 ? ' ' : 'a' + i % 26);
    snprintf(jsonl + n, sizeof jsonl - (size_t)n, "]}\n{\"id\": \"short\", \"text\": \"a cat\"}\n");
    CHECK(make_store_with(dir, jsonl, 256, "", db, sizeof db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    hs_error err = {0};
    CHECK_OK(hs_report_write(db, out_dir, NULL, NULL, &err), &err);
    snprintf(url, sizeof url, "file://%s/index.html", out_dir);
    xmlDocPtr doc = viewer_dom(chrome, url);
    CHECK(doc);

    /* every token, in order, as the store has it */
    CHECK_MSG(count(doc, "//*[@id='hs-tokens']/*[@data-pos]") == 200, "%d tokens shown",
              count(doc, "//*[@id='hs-tokens']/*[@data-pos]"));
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(s, "SELECT pos, text FROM tokens WHERE prompt_id = ?1 ORDER BY pos", -1, &st, NULL) ==
          SQLITE_OK);
    sqlite3_bind_int64(st, 1, prompt_id(s, 1, 0));
    int n_tokens = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int pos = sqlite3_column_int(st, 0);
        const char *text = (const char *)sqlite3_column_blob(st, 1);
        char *want = hs_viz_visible_token(text, (size_t)sqlite3_column_bytes(st, 1));
        snprintf(expr, sizeof expr, "//*[@id='hs-tokens']/*[@data-pos='%d']", pos);
        char *shown = xstring(doc, expr);
        CHECK_MSG(want && strcmp(shown, want) == 0, "token %d shown as '%s', the store has '%s'", pos, shown, want);
        free(shown), free(want);
        n_tokens++;
    }
    sqlite3_finalize(st);
    sqlite3_close(s);
    CHECK(n_tokens == 200);

    /* the pattern: legible cells, labels on what is in view, and a word on what is not */
    char *cell = xstring(doc, "//canvas[@id='hs-canvas']/@data-cell");
    char *rows = xstring(doc, "//canvas[@id='hs-canvas']/@data-labelled-rows");
    char *keys = xstring(doc, "//canvas[@id='hs-canvas']/@data-labelled-keys");
    char *status = xstring(doc, "//*[@id='hs-readout']");
    int r0 = -1, r1 = -1, k0 = -1, k1 = -1;
    CHECK_MSG(atof(cell) >= 9, "cells of %s px", cell);
    CHECK_MSG(sscanf(rows, "%d-%d", &r0, &r1) == 2 && r0 == 0 && r1 >= 19, "labelled rows '%s'", rows);
    CHECK_MSG(sscanf(keys, "%d-%d", &k0, &k1) == 2 && k0 == 0 && k1 >= 19, "labelled keys '%s'", keys);
    CHECK_MSG(strstr(status, "of 200"), "the viewer says '%s'", status);
    free(cell), free(rows), free(keys), free(status);
    xmlFreeDoc(doc);
    return TEST_PASS;
}

/* More prompts than the old 8 in one run and a second run: the picker offers every prompt of each
 * run, each prompt's data is a file of its own and only the picked one is loaded (here through a
 * link to a view, #attention-viewer?prompt=ID&layer=L&head=H), a grid shows every head of the layer
 * with the picked head marked, and a legend gives the colour scale. */
int test_report_viewer_heads_picker(void)
{
    const char *chrome = find_chromium();
    if (!chrome) {
        fprintf(stderr, "no chromium: skipped\n");
        return TEST_SKIP;
    }
    char dir[256], db[512], out_dir[512], url[1100], expr[512], path[1024], jsonl[4096];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    int n = 0;
    for (int i = 0; i < 12; i++)
        n += snprintf(jsonl + n, sizeof jsonl - (size_t)n, "{\"id\": \"p%d\", \"text\": \"prompt %d: the cat sat\"}\n",
                      i, i);
    CHECK(make_store_with(dir, jsonl, 128, "", db, sizeof db) == TEST_PASS);
    CHECK(add_run(dir, "second", plain_prompts, db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    hs_error err = {0};
    CHECK_OK(hs_report_write(db, out_dir, NULL, NULL, &err), &err);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    long long picked = prompt_id(s, 1, 10);
    CHECK(picked > 0);
    snprintf(url, sizeof url, "file://%s/index.html#attention-viewer?prompt=%lld&layer=1&head=2", out_dir, picked);
    xmlDocPtr doc = viewer_dom(chrome, url);
    CHECK(doc);

    /* the picker: one group per run, one option per prompt of the run */
    CHECK(count(doc, "//select[@id='hs-prompt']/optgroup") == 2);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(s, "SELECT run_id, count(*) FROM prompts GROUP BY run_id", -1, &st, NULL) == SQLITE_OK);
    int runs = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int run = sqlite3_column_int(st, 0), n_prompts = sqlite3_column_int(st, 1);
        snprintf(expr, sizeof expr, "//select[@id='hs-prompt']/optgroup[@label='run %d']/option[not(@disabled)]", run);
        CHECK_MSG(count(doc, expr) == n_prompts, "run %d: %d prompts in the picker, %d in the store", run,
                  count(doc, expr), n_prompts);
        runs++;
    }
    sqlite3_finalize(st);
    CHECK(runs == 2);

    /* data per prompt: a file each, none of it in the page, only the picked one loaded */
    CHECK(sqlite3_prepare_v2(s, "SELECT id FROM prompts", -1, &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(path, sizeof path, "%s/viewer/p%lld.js", out_dir, (long long)sqlite3_column_int64(st, 0));
        CHECK_MSG(access(path, R_OK) == 0, "%s is missing", path);
    }
    sqlite3_finalize(st);
    sqlite3_close(s);
    snprintf(path, sizeof path, "%s/viewer/p%lld.js", out_dir, picked);
    static char file[1 << 20], page[1 << 22];
    FILE *f = fopen(path, "rb");
    CHECK(f);
    file[fread(file, 1, sizeof file - 1, f)] = '\0';
    fclose(f);
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    f = fopen(path, "rb");
    CHECK(f);
    page[fread(page, 1, sizeof page - 1, f)] = '\0';
    fclose(f);
    char *data = strstr(file, "data: \"");
    CHECK(data && strlen(data) > 40);
    data[40] = '\0';
    CHECK_MSG(!strstr(page, data + 7), "index.html holds the pattern data of prompt %lld", picked);
    CHECK_MSG(count(doc, "//script[starts-with(@src, 'viewer/')]") == 1, "%d data files loaded",
              count(doc, "//script[starts-with(@src, 'viewer/')]"));
    snprintf(expr, sizeof expr, "//script[@src='viewer/p%lld.js']", picked);
    CHECK(count(doc, expr) == 1);
    char *link = xstring(doc, "//a[@id='hs-link']/@href"), want[128];
    snprintf(want, sizeof want, "#attention-viewer?prompt=%lld&layer=1&head=2", picked);
    CHECK_MSG(strcmp(link, want) == 0, "the view's link is '%s', expected '%s'", link, want);
    free(link);
    char *status = xstring(doc, "//*[@id='hs-readout']");
    CHECK_MSG(strstr(status, "#10") && strstr(status, "L1H2"), "the viewer says '%s'", status);
    free(status);

    /* the heads of layer 1, head 2 marked */
    CHECK(count(doc, "//*[@id='hs-heads']//canvas") == 4);
    for (int h = 0; h < 4; h++) {
        snprintf(expr, sizeof expr, "//*[@id='hs-heads']/*[.//canvas[@data-head='%d']][contains(., 'L1H%d')]", h, h);
        CHECK_MSG(count(doc, expr) == 1, "no thumbnail captioned L1H%d", h);
    }
    char *marked = xstring(doc, "//*[@id='hs-heads']/*[contains(@class, 'selected')]//canvas/@data-head");
    CHECK_MSG(strcmp(marked, "2") == 0, "head '%s' is marked", marked);
    free(marked);

    /* the legend: a colour bar from 0 to 1 */
    CHECK(count(doc, "//*[@id='hs-legend']//canvas") == 1);
    char *lo = xstring(doc, "(//*[@id='hs-legend']//*[@class='hs-tick'])[1]");
    char *hi = xstring(doc, "(//*[@id='hs-legend']//*[@class='hs-tick'])[last()]");
    CHECK_MSG(strcmp(lo, "0") == 0 && strcmp(hi, "1") == 0, "legend from '%s' to '%s'", lo, hi);
    free(lo), free(hi);
    xmlFreeDoc(doc);
    return TEST_PASS;
}

/* Loads url in a frame of a page of our own, waits for the viewer to be ready, runs actions
 * (JavaScript that sees d, the report's document, and out(line)) and returns the lines written
 * (malloc'd), or NULL. Reaching into a file:// frame needs --allow-file-access-from-files. */
static char *viewer_probe(const char *chrome, const char *dir, const char *url, const char *actions)
{
    char path[1024], probe[1100];
    snprintf(path, sizeof path, "%s/probe.html", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fprintf(f,
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><pre id=\"out\"></pre>\n"
            "<iframe id=\"f\" src=\"%s\" style=\"width:1200px;height:1600px\"></iframe>\n<script>\n"
            "var frame = document.getElementById('f'), tries = 0;\n"
            "function out(s) { document.getElementById('out').textContent += s + '\\n'; }\n"
            "function poll() {\n"
            "  var d = frame.contentDocument, v = d && d.getElementById('hs-viewer');\n"
            "  if (!v || v.getAttribute('data-ready') !== '1') {\n"
            "    if (++tries < 200) setTimeout(poll, 25); else out('never ready');\n"
            "    return;\n"
            "  }\n"
            "  try { (function (d) {\n%s\n  })(d); } catch (e) { out('probe error: ' + e); }\n"
            "}\n"
            "frame.onload = function () { setTimeout(poll, 50); };\n</script></body></html>\n",
            url, actions);
    if (fclose(f) != 0)
        return NULL;
    snprintf(probe, sizeof probe, "file://%s", path);
    char *log = chromium(chrome, "--allow-file-access-from-files --virtual-time-budget=5000 --dump-dom", probe);
    if (!log)
        return NULL;
    if (strstr(log, "Uncaught")) {
        fprintf(stderr, "probe: %s\n", strstr(log, "Uncaught"));
        free(log);
        return NULL;
    }
    xmlDocPtr doc = dumped_dom(log);
    free(log);
    if (!doc)
        return NULL;
    char *lines = xstring(doc, "//pre[@id='out']");
    xmlFreeDoc(doc);
    return lines;
}

/* The number after the last ':' of the probe's line that starts with key; NAN when absent. */
static double probe_value(const char *lines, const char *key, char *line, size_t cap)
{
    const char *at = strstr(lines, key);
    if (!at)
        return NAN;
    size_t n = strcspn(at, "\n");
    snprintf(line, cap, "%.*s", (int)n, at);
    const char *colon = strrchr(line, ':');
    return colon ? atof(colon + 1) : NAN;
}

/* Hover values, read back in a real browser against the store: a cell of the pattern (L1H2, query 5,
 * key 2), a cell of another head's thumbnail (L1H3, query 4, key 1), a key token while a query token
 * is hovered (query 6, key 3); the cell's colour is the colour map's at its value, and the legend's
 * ends are the colour map's ends. */
int test_report_viewer_hover(void)
{
    const char *chrome = find_chromium();
    if (!chrome) {
        fprintf(stderr, "no chromium: skipped\n");
        return TEST_SKIP;
    }
    char dir[256], db[512], out_dir[512], url[1100], line[512];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_store(dir, plain_prompts, db, sizeof db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    hs_error err = {0};
    CHECK_OK(hs_report_write(db, out_dir, NULL, NULL, &err), &err);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    long long id = prompt_id(s, 1, 0);
    snprintf(url, sizeof url, "file://%s/index.html#attention-viewer?prompt=%lld&layer=1&head=2", out_dir, id);
    static const char actions[] =
        "function tip() { return d.getElementById('hs-tip').textContent; }\n"
        "function hover(el, x, y) {\n"
        "  var r = el.getBoundingClientRect();\n"
        "  el.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: r.left + x, clientY: r.top + y}));\n"
        "}\n"
        "function hex(c, x, y) {\n"
        "  var p = c.getContext('2d').getImageData(x, y, 1, 1).data, s = '';\n"
        "  for (var i = 0; i < 3; i++) s += (p[i] < 16 ? '0' : '') + p[i].toString(16);\n"
        "  return s;\n"
        "}\n"
        "var T = d.querySelectorAll('#hs-tokens [data-pos]').length;\n"
        "var c = d.getElementById('hs-canvas'), box = d.getElementById('hs-scroll');\n"
        "var cell = +c.getAttribute('data-cell'), left = +c.getAttribute('data-left');\n"
        "var top = +c.getAttribute('data-top');\n"
        "var x = left + 2.5 * cell - box.scrollLeft, y = top + 5.5 * cell - box.scrollTop;\n"
        "hover(c, x, y);\n"
        "out('detail ' + tip());\n"
        "var dpr = c.width / c.clientWidth;\n"
        "out('colour ' + hex(c, Math.round(x * dpr), Math.round(y * dpr)));\n"
        "var t = d.querySelector('#hs-heads canvas[data-head=\"3\"]');\n"
        "hover(t, 1.5 * t.clientWidth / T, 4.5 * t.clientHeight / T);\n"
        "out('thumb ' + tip());\n"
        "var q = d.querySelector('#hs-tokens [data-pos=\"6\"]');\n"
        "q.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));\n"
        "out('token ' + d.querySelector('#hs-tokens [data-pos=\"3\"]').title);\n"
        "var g = d.querySelector('#hs-legend canvas');\n"
        "out('legend ' + hex(g, 0, g.height >> 1) + ' ' + hex(g, g.width - 1, g.height >> 1));\n";
    char *lines = viewer_probe(chrome, dir, url, actions);
    CHECK(lines);
    CHECK_MSG(!strstr(lines, "probe error") && !strstr(lines, "never ready"), "%s", lines);
    /* 8-bit values printed to 3 decimals, from float16 */
    const double tol = 0.5 / 255 + 0.0005 + 1e-3;
    double v = stored_attention(s, id, 1, 2, 5, 2), shown = probe_value(lines, "detail ", line, sizeof line);
    CHECK_MSG(strstr(line, "L1H2") && strstr(line, "query 5") && strstr(line, "key 2"), "%s", line);
    CHECK_MSG(fabs(shown - v) <= tol, "'%s', the store has %.4f", line, v);
    char want[8];
    uint8_t rgb[3];
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, lrint(255 * v) / 255.0, rgb);
    snprintf(want, sizeof want, "%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    const char *colour = strstr(lines, "colour ");
    CHECK_MSG(colour && strncmp(colour + 7, want, 6) == 0, "the cell is %.13s, the colour map gives %s", colour, want);
    v = stored_attention(s, id, 1, 3, 4, 1), shown = probe_value(lines, "thumb ", line, sizeof line);
    CHECK_MSG(strstr(line, "L1H3") && strstr(line, "query 4") && strstr(line, "key 1"), "%s", line);
    CHECK_MSG(fabs(shown - v) <= tol, "'%s', the store has %.4f", line, v);
    v = stored_attention(s, id, 1, 2, 6, 3), shown = probe_value(lines, "token ", line, sizeof line);
    CHECK_MSG(strstr(line, "query 6") && strstr(line, "key 3"), "%s", line);
    CHECK_MSG(fabs(shown - v) <= tol, "'%s', the store has %.4f", line, v);
    sqlite3_close(s);
    char ends[16];
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, 0, rgb);
    snprintf(ends, sizeof ends, "%02x%02x%02x ", rgb[0], rgb[1], rgb[2]);
    hs_colormap_rgb(HS_COLORMAP_SEQUENTIAL, 1, rgb);
    snprintf(ends + 7, sizeof ends - 7, "%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
    const char *legend = strstr(lines, "legend ");
    CHECK_MSG(legend && strncmp(legend + 7, ends, 13) == 0, "legend %.20s, the colour map's ends are %s", legend,
              ends);
    free(lines);
    return TEST_PASS;
}

/* Picking prompts faster than their files load (1, 2, then 1 again while both load), then going
 * through more prompts than the viewer keeps decoded: the last pick is shown, nothing fails, and
 * at most the kept prompts' files stay in the page. */
int test_report_viewer_quick_picks(void)
{
    const char *chrome = find_chromium();
    if (!chrome) {
        fprintf(stderr, "no chromium: skipped\n");
        return TEST_SKIP;
    }
    char dir[256], db[512], out_dir[512], url[1100], jsonl[4096];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    int n = 0;
    for (int i = 0; i < 12; i++)
        n += snprintf(jsonl + n, sizeof jsonl - (size_t)n, "{\"id\": \"p%d\", \"text\": \"prompt %d: a dog ran\"}\n",
                      i, i);
    CHECK(make_store_with(dir, jsonl, 128, "", db, sizeof db) == TEST_PASS);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    hs_error err = {0};
    CHECK_OK(hs_report_write(db, out_dir, NULL, NULL, &err), &err);
    snprintf(url, sizeof url, "file://%s/index.html", out_dir);
    static const char actions[] =
        "var v = d.getElementById('hs-viewer'), sel = d.getElementById('hs-prompt');\n"
        "function choose(i) { sel.value = String(i); sel.dispatchEvent(new Event('change')); }\n"
        "choose(1); choose(2); choose(1);\n"
        "var next = 3;\n"
        "function step() {\n"
        "  if (v.getAttribute('data-error')) { out('error ' + v.getAttribute('data-error')); return; }\n"
        "  if (v.getAttribute('data-ready') !== '1') { setTimeout(step, 20); return; }\n"
        "  if (next < 12) { choose(next++); setTimeout(step, 20); return; }\n"
        "  out('shown ' + d.getElementById('hs-readout').textContent);\n"
        "  out('scripts ' + d.querySelectorAll('script[src^=\"viewer/\"]').length);\n"
        "}\n"
        "setTimeout(step, 20);\n";
    char *lines = viewer_probe(chrome, dir, url, actions);
    CHECK(lines);
    CHECK_MSG(!strstr(lines, "error") && !strstr(lines, "never ready"), "%s", lines);
    const char *shown = strstr(lines, "shown "), *scripts = strstr(lines, "scripts ");
    CHECK_MSG(shown && strstr(shown, "#11 (p11)"), "%s", lines);
    CHECK_MSG(scripts && atoi(scripts + 8) >= 1 && atoi(scripts + 8) <= 6, "%s", lines);
    free(lines);
    return TEST_PASS;
}

/* The logit-lens section: after `analyze logit-lens`, the report draws a grid per prompt (up to 3),
 * the target curves and the DLA bars, whose stacked parts (tooltips) sum to the store's mean final
 * logit difference — the DLA identity, read back through the figure. */
int test_report_lens_section(void)
{
    char dir[256], db[512], out_dir[512], args[2048], out[16384], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    static const char prompts[] =
        "{\"id\": \"a\", \"text\": \"When Mary and John went out, John gave a drink to\", \"answer\": \" Mary\", "
        "\"wrong\": \" John\"}\n"
        "{\"id\": \"b\", \"text\": \"The cat sat on the\", \"answer\": \" mat\", \"wrong\": \" dog\"}\n";
    CHECK(make_store(dir, prompts, db, sizeof db) == TEST_PASS);
    snprintf(args, sizeof args, "analyze logit-lens --db %s", db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(out_dir, sizeof out_dir, "%s/report", dir);
    snprintf(args, sizeof args, "report --db %s --out %s", db, out_dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    xmlDocPtr doc = parse_strict(path);
    CHECK(doc);
    CHECK(count(doc, "//h:object[contains(@data, 'lens-grid')]") == 2);
    CHECK(count(doc, "//h:object[contains(@data, 'lens-target-prob')]") == 1);
    CHECK(count(doc, "//h:object[contains(@data, 'lens-target-rank')]") == 1);
    xmlXPathObjectPtr o = xpath(doc, NULL, "//h:object[contains(@data, 'dla-layers')]/@data");
    CHECK(o && o->nodesetval && o->nodesetval->nodeNr == 1);
    xmlChar *rel = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
    snprintf(path, sizeof path, "%s/%s", out_dir, (const char *)rel);
    xmlFree(rel);
    xmlXPathFreeObject(o);
    xmlFreeDoc(doc);

    /* every stacked part of the DLA bars, read from its tooltip */
    xmlDocPtr svg = parse_strict(path);
    CHECK(svg);
    xmlXPathObjectPtr tips = xpath(svg, NULL, "//s:title");
    CHECK(tips && tips->nodesetval && tips->nodesetval->nodeNr >= 4);
    double sum = 0;
    for (int i = 0; i < tips->nodesetval->nodeNr; i++) {
        xmlChar *t = xmlNodeGetContent(tips->nodesetval->nodeTab[i]);
        const char *eq = strrchr((const char *)t, '=');
        CHECK_MSG(eq, "tooltip '%s'", t);
        sum += atof(eq + 1);
        xmlFree(t);
    }
    xmlXPathFreeObject(tips);
    xmlFreeDoc(svg);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(s, "SELECT avg(logit_diff) FROM lens_prompts WHERE prompt_id IN (SELECT prompt_id FROM dla)",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    double want = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(s);
    /* tooltips carry 4 significant digits; up to 15 parts */
    CHECK_MSG(fabs(sum - want) <= 1e-3 * (fabs(want) + 1), "DLA bars sum to %.6g, the store's logit difference is %.6g",
              sum, want);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- an analysed store */

/* A store for the report's finer checks: a random GPT-2 (2 layers, 4 heads, context 256, one token
 * a byte) and four prompts with an answer and a wrong answer in three prompt sets (meta.set "story",
 * "ioi", "greater-than"), the first 200 tokens long; run 1 analysed with logit-lens, sinks and heads;
 * then a run 2 of one prompt with the recording's summaries only. Writes the report to dir/report. */
static int make_analysed_report(const char *dir, char *db, size_t db_cap, char *out_dir, size_t out_cap)
{
    char prompts[4096], story[256], args[2048], out[16384];
    static const char sentence[] = "Once upon a time a little cat lived by the sea and looked at the boats. ";
    for (int i = 0; i < 200; i++)
        story[i] = sentence[i % (sizeof sentence - 1)];
    story[200] = '\0';
    snprintf(prompts, sizeof prompts,
             "{\"id\": \"long\", \"text\": \"%s\", \"answer\": \"b\", \"wrong\": \"c\", \"meta\": {\"set\": \"story\"}}\n"
             "{\"id\": \"ioi-a\", \"text\": \"When Mary and John went out, John gave a drink to \", \"answer\": "
             "\"Mary\", \"wrong\": \"John\", \"meta\": {\"set\": \"ioi\", \"template\": 0}}\n"
             "{\"id\": \"ioi-b\", \"text\": \"When Tom and Ann went out, Ann gave a cup to \", \"answer\": \"Tom\", "
             "\"wrong\": \"Ann\", \"meta\": {\"set\": \"ioi\", \"template\": 1}}\n"
             "{\"id\": \"gt\", \"text\": \"The war lasted from the year 1732 to the year 17\", \"answer\": \"40\", "
             "\"wrong\": \"20\", \"meta\": {\"set\": \"greater-than\"}}\n",
             story);
    CHECK(make_store_with(dir, prompts, 256, "", db, db_cap) == TEST_PASS);
    static const char *analyses[3] = {"logit-lens", "sinks", "heads"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "analyze %s --db %s --quiet", analyses[i], db);
        CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    }
    CHECK(add_run(dir, "second", "{\"id\": \"x\", \"text\": \"A second run.\"}\n", db) == TEST_PASS);
    snprintf(out_dir, out_cap, "%s/report", dir);
    snprintf(args, sizeof args, "report --db %s --out %s", db, out_dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    return TEST_PASS;
}

static xmlDocPtr parse_page(const char *out_dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    return parse_strict(path);
}

/* The text of the first node expr selects, malloc'd ("" when none). */
static char *text_of(xmlDocPtr doc, xmlNodePtr at, const char *expr)
{
    xmlXPathObjectPtr r = xpath(doc, at, expr);
    char *s = NULL;
    if (r && r->nodesetval && r->nodesetval->nodeNr > 0) {
        xmlChar *t = xmlNodeGetContent(r->nodesetval->nodeTab[0]);
        s = strdup(t ? (const char *)t : "");
        xmlFree(t);
    }
    xmlXPathFreeObject(r);
    return s ? s : strdup("");
}

static double query1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    double v = NAN;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* A 200-token prompt gets its logit-lens grid: the last positions (where the answer is read), with
 * the first shown column the lens at position T - k and the last at T - 1, and a note on the page
 * naming the positions left out (the grid used to vanish for prompts over 64 tokens). */
int test_report_lens_long_prompt(void)
{
    char dir[256], db[512], out_dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_analysed_report(dir, db, sizeof db, out_dir, sizeof out_dir) == TEST_PASS);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    int T = (int)query1(s, "SELECT n_tokens FROM prompts WHERE run_id = 1 AND idx = 0");
    CHECK_MSG(T >= 200, "the long prompt has %d tokens", T);
    xmlDocPtr doc = parse_page(out_dir);
    CHECK(doc);
    CHECK_MSG(count(doc, "//h:object[contains(@data, 'lens-grid-run1-p0')]") == 1, "no lens grid for a %d-token prompt",
              T);
    char *rel = text_of(doc, NULL, "//h:object[contains(@data, 'lens-grid-run1-p0')]/@data");
    snprintf(path, sizeof path, "%s/%s", out_dir, rel);
    free(rel);
    xmlDocPtr svg = parse_strict(path);
    CHECK(svg);
    int cells = count(svg, "//s:rect[@class='cell']"), R = 3, k = cells / R;
    CHECK_MSG(cells % R == 0 && k >= 16 && k < T, "%d cells for %d layers and %d positions", cells, R, T);
    /* row 0 (layer 0), first and last column: the lens at positions T - k and T - 1 */
    for (int end = 0; end < 2; end++) {
        char expr[128], sql[256];
        snprintf(expr, sizeof expr, "(//s:rect[@class='cell'])[%d]/s:title", end ? k : 1);
        char *tip = text_of(svg, NULL, expr);
        const char *eq = strrchr(tip, '=');
        CHECK_MSG(eq, "tooltip '%s'", tip);
        int pos = end ? T - 1 : T - k;
        snprintf(sql, sizeof sql,
                 "SELECT top_prob FROM logit_lens l JOIN prompts p ON p.id = l.prompt_id WHERE p.run_id = 1 AND "
                 "p.idx = 0 AND l.layer = 0 AND l.pos = %d",
                 pos);
        double want = query1(s, sql), shown = atof(eq + 1);
        CHECK_MSG(fabs(shown - want) <= 5e-4 * want + 1e-9, "column %s reads '%s', the lens at position %d is %.5g",
                  end ? "last" : "first", tip, pos, want);
        free(tip);
    }
    xmlFreeDoc(svg);
    /* the note says what was left out */
    char want[128];
    snprintf(want, sizeof want, "positions 0\xe2\x80\x93%d", T - k - 1);
    char expr[512];
    snprintf(expr, sizeof expr,
             "//h:section[@id='run-1-logit-lens']//h:p[@class='note'][contains(., 'prompt #0') and contains(., '%s') "
             "and contains(., '%d tokens')]",
             want, T);
    CHECK_MSG(count(doc, expr) == 1, "no note on the page says '%s' of prompt #0 were left out", want);
    xmlFreeDoc(doc);
    sqlite3_close(s);
    return TEST_PASS;
}

/* The colour bar's labels of every heatmap in an SVG: values bottom first, the baselines' y, and
 * the bar's pixel rows [*top, *bottom). Returns how many (at most cap). */
static int svg_colorbar(xmlDocPtr svg, double *value, double *y, int cap, double *top, double *bottom)
{
    xmlXPathObjectPtr r = xpath(svg, NULL, "//s:rect[@class='colorbar']");
    *top = INFINITY, *bottom = -INFINITY;
    for (int i = 0; r && r->nodesetval && i < r->nodesetval->nodeNr; i++) {
        xmlChar *ya = xmlGetProp(r->nodesetval->nodeTab[i], BAD_CAST "y"),
                *ha = xmlGetProp(r->nodesetval->nodeTab[i], BAD_CAST "height");
        double y0 = atof((const char *)ya), h = atof((const char *)ha);
        *top = fmin(*top, y0), *bottom = fmax(*bottom, y0 + h);
        xmlFree(ya), xmlFree(ha);
    }
    xmlXPathFreeObject(r);
    r = xpath(svg, NULL, "//s:text[@class='tick']");
    int n = 0;
    for (int i = 0; r && r->nodesetval && i < r->nodesetval->nodeNr && n < cap; i++) {
        xmlNodePtr node = r->nodesetval->nodeTab[i];
        xmlChar *ya = xmlGetProp(node, BAD_CAST "y"), *t = xmlNodeGetContent(node);
        double yy = atof((const char *)ya);
        int k = n++;
        while (k > 0 && y[k - 1] < yy)
            value[k] = value[k - 1], y[k] = y[k - 1], k--;
        value[k] = atof((const char *)t), y[k] = yy;
        xmlFree(ya), xmlFree(t);
    }
    xmlXPathFreeObject(r);
    return n;
}

/* Scores bounded in [0, 1] are coloured on a fixed 0-1 scale (a duplicate-token score of 0.05 is
 * dark, not as bright as the strongest induction head), their colour bars read 0 at the bottom and
 * 1 at the top; and every heatmap's colour bar labels its minimum and its maximum. */
int test_report_bounded_colour_scales(void)
{
    char dir[256], db[512], out_dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_analysed_report(dir, db, sizeof db, out_dir, sizeof out_dir) == TEST_PASS);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    xmlDocPtr doc = parse_page(out_dir);
    CHECK(doc);
    static const struct {
        const char *analysis, *metric;
    } bounded[] = {{"heads", "duplicate_token"}, {"heads", "previous_token"}, {"heads", "induction"},
                   {"sinks", "alpha0"},          {"sinks", "sink"}};
    double value[32], y[32], top, bottom;
    for (size_t i = 0; i < sizeof bounded / sizeof bounded[0]; i++) {
        char expr[256];
        snprintf(expr, sizeof expr, "//h:object[contains(@data, '-%s-%s-run1')]/@data", bounded[i].analysis,
                 bounded[i].metric);
        char *rel = text_of(doc, NULL, expr);
        CHECK_MSG(rel[0], "no heatmap of %s / %s", bounded[i].analysis, bounded[i].metric);
        snprintf(path, sizeof path, "%s/%s", out_dir, rel);
        free(rel);
        CHECK(check_heatmap_svg(s, path, bounded[i].analysis, bounded[i].metric, 2, 4, 0.0, 1.0) == TEST_PASS);
        xmlDocPtr svg = parse_strict(path);
        CHECK(svg);
        int n = svg_colorbar(svg, value, y, 32, &top, &bottom);
        xmlFreeDoc(svg);
        CHECK_MSG(n >= 2 && value[0] == 0 && value[n - 1] == 1, "%s: the colour bar reads %g .. %g", path,
                  n ? value[0] : NAN, n ? value[n - 1] : NAN);
    }
    /* every heatmap: its lowest label at the bottom of the bar, its highest at the top (baselines sit
     * a few pixels below the tick they name) */
    xmlXPathObjectPtr objs = xpath(doc, NULL, "//h:figure/h:object/@data");
    int heatmaps = 0;
    for (int i = 0; objs && objs->nodesetval && i < objs->nodesetval->nodeNr; i++) {
        xmlChar *rel = xmlNodeGetContent(objs->nodesetval->nodeTab[i]);
        snprintf(path, sizeof path, "%s/%s", out_dir, (const char *)rel);
        xmlFree(rel);
        xmlDocPtr svg = parse_strict(path);
        CHECK(svg);
        int has_bar = count(svg, "//s:rect[@class='colorbar']") > 0;
        int n = has_bar ? svg_colorbar(svg, value, y, 32, &top, &bottom) : 0;
        xmlFreeDoc(svg);
        if (!has_bar)
            continue;
        heatmaps++;
        CHECK_MSG(n >= 2 && fabs(y[0] - bottom) <= 6 && fabs(y[n - 1] - top) <= 6,
                  "%s: colour bar rows %.0f..%.0f, labels from y %.1f (%g) to %.1f (%g)", path, top, bottom,
                  n ? y[0] : NAN, n ? value[0] : NAN, n ? y[n - 1] : NAN, n ? value[n - 1] : NAN);
    }
    xmlXPathFreeObject(objs);
    CHECK_MSG(heatmaps >= 10, "%d heatmaps", heatmaps);
    xmlFreeDoc(doc);
    sqlite3_close(s);
    return TEST_PASS;
}

/* The whole contents of a file (malloc'd) and its length; NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *g = realloc(buf, cap * 2);
            if (!g) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = g, cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* No figure is drawn twice: no two PNG (or SVG) files of the report are byte-identical (the
 * recording's attention entropy and the sinks analysis's entropy are the same numbers and were drawn
 * as two identical heatmaps); the metric not drawn again says so and links to the one drawn. */
int test_report_no_duplicate_figures(void)
{
    char dir[256], db[512], out_dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_analysed_report(dir, db, sizeof db, out_dir, sizeof out_dir) == TEST_PASS);
    xmlDocPtr doc = parse_page(out_dir);
    CHECK(doc);
    xmlXPathObjectPtr objs = xpath(doc, NULL, "//h:figure/h:object/@data");
    CHECK(objs && objs->nodesetval);
    int n = objs->nodesetval->nodeNr;
    CHECK(n >= 10);
    for (int ext = 0; ext < 2; ext++) {
        char **data = calloc((size_t)n, sizeof *data);
        size_t *len = calloc((size_t)n, sizeof *len);
        char **name = calloc((size_t)n, sizeof *name);
        CHECK(data && len && name);
        for (int i = 0; i < n; i++) {
            xmlChar *rel = xmlNodeGetContent(objs->nodesetval->nodeTab[i]);
            snprintf(path, sizeof path, "%s/%s", out_dir, (const char *)rel);
            xmlFree(rel);
            if (ext == 0)
                memcpy(path + strlen(path) - 3, "png", 3);
            name[i] = strdup(path);
            data[i] = slurp(path, &len[i]);
            CHECK_MSG(data[i], "%s unreadable", path);
        }
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                CHECK_MSG(len[i] != len[j] || memcmp(data[i], data[j], len[i]) != 0, "%s and %s are the same figure",
                          name[i], name[j]);
        for (int i = 0; i < n; i++)
            free(data[i]), free(name[i]);
        free(data), free(len), free(name);
    }
    xmlXPathFreeObject(objs);
    /* the metric that is not drawn again points at the one that is */
    xmlXPathObjectPtr links = xpath(doc, NULL, "//h:p[@class='note'][contains(., 'same values as')]/h:a/@href");
    CHECK_MSG(links && links->nodesetval && links->nodesetval->nodeNr >= 1, "no note on a metric left undrawn");
    for (int i = 0; i < links->nodesetval->nodeNr; i++) {
        xmlChar *href = xmlNodeGetContent(links->nodesetval->nodeTab[i]);
        char expr[256];
        snprintf(expr, sizeof expr, "//h:h4[@id='%s']", href[0] == '#' ? (const char *)href + 1 : "");
        CHECK_MSG(count(doc, expr) == 1, "the note links to %s, no such heading", href);
        xmlFree(href);
    }
    xmlXPathFreeObject(links);
    xmlFreeDoc(doc);
    return TEST_PASS;
}

/* The "prompts" column of the top-heads tables says how many prompts a value is over: the sinks
 * analysis's entropy showed 0 for every head (it stored only the whole-set row); and where a store
 * holds only whole-set rows the column says it does not know ("–"), never 0. */
int test_report_top_heads_prompt_counts(void)
{
    char dir[256], db[512], out_dir[512], args[2048], out[16384];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_analysed_report(dir, db, sizeof db, out_dir, sizeof out_dir) == TEST_PASS);
    static const char entropy_cells[] = "//h:h4[h:code = 'sinks / entropy']/following-sibling::h:div[1]"
                                        "//h:table[@class='top-heads']/h:tr[position() > 1]/h:td[4]";
    /* the head detectors' entropy is the same numbers and would be drawn in its place: without it,
     * the sinks analysis's entropy is the one drawn with its table */
    static const char *edits[2] = {"DELETE FROM head_scores WHERE analysis = 'heads' AND metric = 'entropy'",
                                   "DELETE FROM head_scores WHERE analysis = 'sinks' AND metric = 'entropy' AND "
                                   "prompt_id IS NOT NULL"};
    for (int pass = 0; pass < 2; pass++) {
        sqlite3 *s;
        CHECK(sqlite3_open(db, &s) == SQLITE_OK);
        CHECK(sqlite3_exec(s, edits[pass], NULL, NULL, NULL) == SQLITE_OK);
        sqlite3_close(s);
        snprintf(args, sizeof args, "report --db %s --out %s", db, out_dir);
        CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
        xmlDocPtr doc = parse_page(out_dir);
        CHECK(doc);
        xmlXPathObjectPtr cells = xpath(doc, NULL, entropy_cells);
        CHECK_MSG(cells && cells->nodesetval && cells->nodesetval->nodeNr == 8, "%d rows in the sinks / entropy table",
                  cells && cells->nodesetval ? cells->nodesetval->nodeNr : -1);
        for (int i = 0; i < cells->nodesetval->nodeNr; i++) {
            xmlChar *t = xmlNodeGetContent(cells->nodesetval->nodeTab[i]);
            CHECK_MSG(strcmp((const char *)t, pass == 0 ? "4" : "\xe2\x80\x93") == 0,
                      "sinks / entropy, row %d: prompts '%s'", i + 1, t);
            xmlFree(t);
        }
        xmlXPathFreeObject(cells);
        CHECK_MSG(count(doc, "//h:table[@class='top-heads']/h:tr/h:td[4][. = '0']") == 0, "a top head over 0 prompts");
        xmlFreeDoc(doc);
        /* pass 1: a store with only the whole-set rows of that metric */
    }
    return TEST_PASS;
}

/* "Where hidden sinks sit" draws every bar over the tick of its own key position: hidden sinks are
 * keys k >= 1, and the bar of k = 1 stood over the "0" tick of the thinned axis. Every labelled
 * tick has a bar centred on it whose tooltip names the same position, and the leftmost bar is k = 1. */
int test_report_hidden_sinks_axis(void)
{
    char dir[256], db[512], out_dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_analysed_report(dir, db, sizeof db, out_dir, sizeof out_dir) == TEST_PASS);
    xmlDocPtr doc = parse_page(out_dir);
    CHECK(doc);
    char *rel = text_of(doc, NULL, "//h:object[contains(@data, 'hidden-sink-positions-run1')]/@data");
    CHECK(rel[0]);
    snprintf(path, sizeof path, "%s/%s", out_dir, rel);
    free(rel);
    xmlFreeDoc(doc);
    xmlDocPtr svg = parse_strict(path);
    CHECK(svg);
    xmlXPathObjectPtr bars = xpath(svg, NULL, "//s:rect[@class='bar']");
    xmlXPathObjectPtr ticks = xpath(svg, NULL, "//s:text[@class='category']");
    CHECK(bars && bars->nodesetval && bars->nodesetval->nodeNr >= 10);
    CHECK(ticks && ticks->nodesetval && ticks->nodesetval->nodeNr >= 5);
    int nb = bars->nodesetval->nodeNr;
    double *cx = malloc((size_t)nb * sizeof *cx);
    int *k = malloc((size_t)nb * sizeof *k), leftmost = 0;
    CHECK(cx && k);
    for (int i = 0; i < nb; i++) {
        xmlNodePtr b = bars->nodesetval->nodeTab[i];
        xmlChar *x = xmlGetProp(b, BAD_CAST "x"), *w = xmlGetProp(b, BAD_CAST "width");
        cx[i] = atof((const char *)x) + atof((const char *)w) / 2;
        xmlFree(x), xmlFree(w);
        char *tip = text_of(svg, b, "s:title");
        CHECK_MSG(sscanf(tip, "%d =", &k[i]) == 1, "bar tooltip '%s'", tip);
        free(tip);
        if (cx[i] < cx[leftmost])
            leftmost = i;
    }
    CHECK_MSG(k[leftmost] == 1, "the leftmost bar is k = %d", k[leftmost]);
    for (int t = 0; t < ticks->nodesetval->nodeNr; t++) {
        xmlNodePtr n = ticks->nodesetval->nodeTab[t];
        xmlChar *x = xmlGetProp(n, BAD_CAST "x"), *label = xmlNodeGetContent(n);
        double tx = atof((const char *)x);
        int found = -1;
        for (int i = 0; i < nb; i++)
            if (fabs(cx[i] - tx) <= 1.0)
                found = i;
        CHECK_MSG(found >= 0, "no bar over the tick '%s' at x %.1f", label, tx);
        CHECK_MSG(k[found] == atoi((const char *)label), "the bar over the tick '%s' is k = %d", label, k[found]);
        xmlFree(x), xmlFree(label);
    }
    free(cx), free(k);
    xmlXPathFreeObject(bars), xmlXPathFreeObject(ticks);
    xmlFreeDoc(svg);
    return TEST_PASS;
}

/* The table of contents has an entry for every section of the page (each run, and each run's
 * prompt set, lens, sinks, detectors and analyses) and nothing else: it had 4 links for a page of
 * 15 sections. */
int test_report_toc_every_section(void)
{
    char dir[256], db[512], out_dir[512];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_analysed_report(dir, db, sizeof db, out_dir, sizeof out_dir) == TEST_PASS);
    xmlDocPtr doc = parse_page(out_dir);
    CHECK(doc);
    int sections = count(doc, "//h:section"), with_id = count(doc, "//h:section[@id]");
    int links = count(doc, "//h:nav//h:a");
    CHECK_MSG(sections == with_id, "%d of %d sections have no id", sections - with_id, sections);
    CHECK_MSG(sections >= 12, "%d sections", sections);
    xmlXPathObjectPtr ids = xpath(doc, NULL, "//h:section/@id");
    for (int i = 0; i < ids->nodesetval->nodeNr; i++) {
        xmlChar *id = xmlNodeGetContent(ids->nodesetval->nodeTab[i]);
        char expr[256];
        snprintf(expr, sizeof expr, "//h:nav//h:a[@href = '#%s']", (const char *)id);
        CHECK_MSG(count(doc, expr) == 1, "section %s has %d entries in the table of contents", id, count(doc, expr));
        xmlFree(id);
    }
    xmlXPathFreeObject(ids);
    CHECK_MSG(links == sections, "%d links in the table of contents for %d sections", links, sections);
    /* runs at the top level, their sections under them */
    CHECK(count(doc, "//h:nav/h:ul/h:li/h:a[@href = '#run-2']") == 1);
    CHECK(count(doc, "//h:nav/h:ul/h:li[h:a/@href = '#run-1']/h:ul/h:li/h:a[@href = '#run-1-logit-lens']") == 1);
    xmlFreeDoc(doc);
    return TEST_PASS;
}

/* Direct logit attribution is drawn per prompt set (meta.set), never averaged over different tasks:
 * one DLA-by-layer figure and one per-head heatmap with its top-heads table per set, each naming
 * its set; the stacked parts of a set's bars sum to that set's mean logit difference, and a
 * head's cell is that set's mean of its per-prompt DLA. */
int test_report_dla_by_set(void)
{
    char dir[256], db[512], out_dir[512], path[1024];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(make_analysed_report(dir, db, sizeof db, out_dir, sizeof out_dir) == TEST_PASS);
    sqlite3 *s;
    CHECK(sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    xmlDocPtr doc = parse_page(out_dir);
    CHECK(doc);
    static const char *sets[3] = {"story", "ioi", "greater-than"};
    CHECK_MSG(count(doc, "//h:object[contains(@data, 'dla-layers-run1')]") == 3, "%d DLA-by-layer figures",
              count(doc, "//h:object[contains(@data, 'dla-layers-run1')]"));
    CHECK_MSG(count(doc, "//h:object[contains(@data, 'dla-dla-run1')]") == 3, "%d per-head DLA heatmaps",
              count(doc, "//h:object[contains(@data, 'dla-dla-run1')]"));
    for (int i = 0; i < 3; i++) {
        char expr[512], sql[512];
        /* the layer bars */
        snprintf(expr, sizeof expr,
                 "//h:figure[h:object[contains(@data, 'dla-layers-run1')]][h:figcaption[contains(., 'set %s ')]]"
                 "/h:object/@data",
                 sets[i]);
        char *rel = text_of(doc, NULL, expr);
        CHECK_MSG(rel[0], "no DLA-by-layer figure of set %s", sets[i]);
        snprintf(path, sizeof path, "%s/%s", out_dir, rel);
        free(rel);
        xmlDocPtr svg = parse_strict(path);
        CHECK(svg);
        xmlXPathObjectPtr tips = xpath(svg, NULL, "//s:rect[@class='bar']/s:title");
        double sum = 0;
        for (int j = 0; tips && tips->nodesetval && j < tips->nodesetval->nodeNr; j++) {
            xmlChar *t = xmlNodeGetContent(tips->nodesetval->nodeTab[j]);
            sum += atof(strrchr((const char *)t, '=') + 1);
            xmlFree(t);
        }
        xmlXPathFreeObject(tips);
        xmlFreeDoc(svg);
        snprintf(sql, sizeof sql,
                 "SELECT avg(lp.logit_diff) FROM lens_prompts lp JOIN prompts p ON p.id = lp.prompt_id WHERE "
                 "p.run_id = 1 AND json_extract(p.meta, '$.set') = '%s'",
                 sets[i]);
        double want = query1(s, sql);
        CHECK_MSG(fabs(sum - want) <= 1e-3 * (fabs(want) + 1),
                  "set %s: the bars sum to %.5g, its mean logit difference is %.5g", sets[i], sum, want);
        /* the per-head heatmap and its table */
        snprintf(expr, sizeof expr,
                 "//h:figure[h:object[contains(@data, 'dla-dla-run1')]][h:figcaption[contains(., 'set %s ')]]",
                 sets[i]);
        CHECK_MSG(count(doc, expr) == 1, "no per-head DLA heatmap of set %s", sets[i]);
        snprintf(expr + strlen(expr), sizeof expr - strlen(expr), "/following-sibling::h:table[@class='top-heads']");
        CHECK_MSG(count(doc, expr) == 1, "no top-heads table beside the DLA heatmap of set %s", sets[i]);
        snprintf(expr, sizeof expr,
                 "//h:figure[h:object[contains(@data, 'dla-dla-run1')]][h:figcaption[contains(., 'set %s ')]]"
                 "/h:object/@data",
                 sets[i]);
        rel = text_of(doc, NULL, expr);
        snprintf(path, sizeof path, "%s/%s", out_dir, rel);
        free(rel);
        svg = parse_strict(path);
        CHECK(svg);
        char *tip = text_of(svg, NULL, "//s:rect[@class='cell']/s:title[starts-with(., 'L1H0 =')]");
        CHECK_MSG(tip[0], "set %s: no cell L1H0", sets[i]);
        snprintf(sql, sizeof sql,
                 "SELECT avg(h.value) FROM head_scores h JOIN prompts p ON p.id = h.prompt_id WHERE h.run_id = 1 AND "
                 "h.analysis = 'dla' AND h.layer = 1 AND h.head = 0 AND json_extract(p.meta, '$.set') = '%s'",
                 sets[i]);
        want = query1(s, sql);
        double shown = atof(strrchr(tip, '=') + 1);
        CHECK_MSG(fabs(shown - want) <= 5e-4 * fabs(want) + 1e-9, "set %s: '%s', the set's mean is %.5g", sets[i], tip,
                  want);
        free(tip);
        xmlFreeDoc(svg);
    }
    xmlFreeDoc(doc);
    sqlite3_close(s);
    return TEST_PASS;
}
