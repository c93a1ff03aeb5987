/* html.c — polyglot HTML5 through xmlTextWriter, with sticky failure (see html.h). */
#define _GNU_SOURCE
#include "report/html.h"

#include <errno.h>
#include <libxml/xmlwriter.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/utf8.h"

struct hs_html {
    xmlTextWriterPtr w;
    FILE *f;
    char *path;
    int failed;   /* a writer call failed */
    int no_memory;
};

/* xmlTextWriter writes through this callback into our FILE, so we see write errors (disk full). */
static int write_cb(void *ctx, const char *buf, int len)
{
    FILE *f = ctx;
    return fwrite(buf, 1, (size_t)len, f) == (size_t)len ? len : -1;
}

static int close_cb(void *ctx)
{
    (void)ctx;
    return 0;
}

static void check(hs_html *h, int rc)
{
    if (rc < 0)
        h->failed = 1;
}

/* Writes the attribute pairs of a va_list; values made XML-safe. */
static void attributes(hs_html *h, va_list ap)
{
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        char *safe = hs_utf8_xml_safe_str(value ? value : "");
        if (!safe) {
            h->no_memory = 1;
            continue;
        }
        check(h, xmlTextWriterWriteAttribute(h->w, BAD_CAST name, BAD_CAST safe));
        free(safe);
    }
}

/* A writer into a new file at path, nothing written yet. */
static hs_status open_writer(const char *path, hs_html **out, hs_error *err)
{
    *out = NULL;
    hs_html *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    }
    h->f = fopen(path, "wb");
    if (!h->f) {
        hs_status rc = hs_fail(err, HS_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
        free(h->path), free(h);
        return rc;
    }
    xmlOutputBufferPtr buf = xmlOutputBufferCreateIO(write_cb, close_cb, h->f, NULL);
    h->w = buf ? xmlNewTextWriter(buf) : NULL;
    if (!h->w) {
        fclose(h->f), free(h->path), free(h);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    }
    *out = h;
    return HS_OK;
}

hs_status hs_html_open_fragment(const char *path, hs_html **out, hs_error *err)
{
    return open_writer(path, out, err);
}

void hs_html_include(hs_html *h, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        h->failed = 1;
        return;
    }
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        check(h, xmlTextWriterWriteRawLen(h->w, BAD_CAST buf, (int)n)); /* ours, escaped when it was written */
    if (ferror(f))
        h->failed = 1;
    fclose(f);
}

hs_status hs_html_open(const char *path, const char *title, const char *css, hs_html **out, hs_error *err)
{
    hs_html *h;
    HS_TRY(open_writer(path, &h, err));
    /* no XML declaration: browsers would not need it and some old ones mis-read it */
    check(h, xmlTextWriterWriteRaw(h->w, BAD_CAST "<!DOCTYPE html>\n"));
    hs_html_start(h, "html", "xmlns", "http://www.w3.org/1999/xhtml", "lang", "en", NULL);
    hs_html_start(h, "head", NULL);
    hs_html_void(h, "meta", "charset", "utf-8", NULL);
    hs_html_void(h, "meta", "name", "viewport", "content", "width=device-width, initial-scale=1", NULL);
    hs_html_element(h, "title", title, NULL);
    if (css) {
        /* raw in a commented CDATA section, like scripts: CSS may hold '>' (child selectors) */
        hs_html_start(h, "style", NULL);
        check(h, xmlTextWriterWriteRaw(h->w, BAD_CAST "/*<![CDATA[*/\n"));
        check(h, xmlTextWriterWriteRaw(h->w, BAD_CAST css));
        check(h, xmlTextWriterWriteRaw(h->w, BAD_CAST "\n/*]]>*/"));
        hs_html_end(h);
    }
    hs_html_end(h);
    hs_html_start(h, "body", NULL);
    *out = h;
    return HS_OK;
}

hs_status hs_html_close(hs_html *h, hs_error *err)
{
    if (!h)
        return HS_OK;
    check(h, xmlTextWriterEndDocument(h->w)); /* closes what is open, with full end tags */
    check(h, xmlTextWriterFlush(h->w));
    xmlFreeTextWriter(h->w);
    check(h, fputc('\n', h->f) == EOF ? -1 : 0);
    int close_failed = fclose(h->f) != 0;
    hs_status rc = HS_OK;
    if (h->no_memory)
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory while writing", h->path);
    else if (h->failed || close_failed)
        rc = hs_fail(err, HS_ERR_IO, "%s: write failed (disk full?)", h->path);
    free(h->path);
    free(h);
    return rc;
}

void hs_html_start(hs_html *h, const char *tag, ...)
{
    check(h, xmlTextWriterStartElement(h->w, BAD_CAST tag));
    va_list ap;
    va_start(ap, tag);
    attributes(h, ap);
    va_end(ap);
}

void hs_html_end(hs_html *h)
{
    /* always an explicit end tag: <div/> would open a div in an HTML parser */
    check(h, xmlTextWriterFullEndElement(h->w));
}

void hs_html_void(hs_html *h, const char *tag, ...)
{
    check(h, xmlTextWriterStartElement(h->w, BAD_CAST tag));
    va_list ap;
    va_start(ap, tag);
    attributes(h, ap);
    va_end(ap);
    check(h, xmlTextWriterEndElement(h->w)); /* <img .../>: allowed for void elements in HTML5 */
}

void hs_html_text(hs_html *h, const char *text)
{
    if (!text)
        return;
    char *safe = hs_utf8_xml_safe_str(text);
    if (!safe) {
        h->no_memory = 1;
        return;
    }
    check(h, xmlTextWriterWriteString(h->w, BAD_CAST safe));
    free(safe);
}

void hs_html_textf(hs_html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        h->no_memory = 1;
        return;
    }
    hs_html_text(h, s);
    free(s);
}

void hs_html_element(hs_html *h, const char *tag, const char *text, ...)
{
    check(h, xmlTextWriterStartElement(h->w, BAD_CAST tag));
    va_list ap;
    va_start(ap, text);
    attributes(h, ap);
    va_end(ap);
    hs_html_text(h, text);
    hs_html_end(h);
}

void hs_html_script(hs_html *h, const char *js)
{
    if (strstr(js, "]]>") || strstr(js, "</script")) { /* a bug in our own code, never user data */
        h->failed = 1;
        return;
    }
    check(h, xmlTextWriterStartElement(h->w, BAD_CAST "script"));
    /* raw: text would be entity-escaped, which an HTML parser does not undo inside <script> */
    check(h, xmlTextWriterWriteRaw(h->w, BAD_CAST "//<![CDATA[\n"));
    check(h, xmlTextWriterWriteRaw(h->w, BAD_CAST js));
    check(h, xmlTextWriterWriteRaw(h->w, BAD_CAST "\n//]]>"));
    hs_html_end(h);
}

void hs_html_js_string(FILE *f, const char *s)
{
    char *safe = hs_utf8_xml_safe_str(s ? s : "");
    const unsigned char *p = (const unsigned char *)(safe ? safe : "");
    fputc('"', f);
    for (; *p; p++) {
        unsigned c = *p;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            fprintf(f, "\\u%04x", c);
        else if (c == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
            fprintf(f, "\\u%04x", p[2] == 0xa8 ? 0x2028 : 0x2029);
            p += 2;
        } else
            fputc((int)c, f);
    }
    fputc('"', f);
    free(safe);
}
