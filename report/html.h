/* html.h — writing the report's HTML: a thin layer over libxml2's xmlTextWriter that emits
 * polyglot HTML5 (well-formed XML that browsers read as HTML), escapes every string that may come
 * from user data, and keeps the first failure so a page is written without a check per call.
 *
 *   hs_html *h;
 *   hs_html_open("out/index.html", "headscope report", &h, &err);
 *   hs_html_start(h, "p", "class", "note", NULL);
 *   hs_html_text(h, prompt_text);          // escaped; invalid UTF-8 becomes U+FFFD
 *   hs_html_end(h);
 *   hs_html_close(h, &err);                // reports the first failure, names the file
 *
 * Why polyglot: the tests parse every page with libxml2's XML parser, which is strict, and a
 * browser reads the same bytes as HTML. Two rules make that safe: non-void elements are always
 * closed with an end tag (an HTML parser reads <div/> as an open <div>), and script bodies sit in
 * a CDATA section hidden from JavaScript by line comments. */
#ifndef HS_REPORT_HTML_H
#define HS_REPORT_HTML_H

#include <stdio.h>

#include "headscope.h"

typedef struct hs_html hs_html;

/* Creates path and writes the doctype, <html>, <head> (charset, title, the inline style sheet
 * `css`, which may be NULL and must not contain "]]>") and opens <body>. */
hs_status hs_html_open(const char *path, const char *title, const char *css, hs_html **out, hs_error *err);
/* Creates path for a fragment of a page: elements with no doctype, head or body of their own, to be
 * copied into a page by hs_html_include once written (the page's table of contents is written
 * before its sections, but known only after them). */
hs_status hs_html_open_fragment(const char *path, hs_html **out, hs_error *err);
/* Closes every open element, finishes the file and frees h; returns the first failure of any
 * call on h (with the path in the message). NULL h is a no-op returning HS_OK. */
hs_status hs_html_close(hs_html *h, hs_error *err);
/* Copies the fragment a closed hs_html_open_fragment writer wrote at path into h, where h stands;
 * a read failure is h's failure (reported by hs_html_close). */
void hs_html_include(hs_html *h, const char *path);

/* Opens element `tag` with attribute name/value pairs ending in NULL; values are escaped. */
void hs_html_start(hs_html *h, const char *tag, ...) __attribute__((sentinel));
/* Closes the innermost open element (void elements — img, br, meta, input — are closed by
 * hs_html_void instead). */
void hs_html_end(hs_html *h);
/* A void element (img, br, hr, input, meta) with attribute pairs ending in NULL. */
void hs_html_void(hs_html *h, const char *tag, ...) __attribute__((sentinel));
/* Escaped text; NULL writes nothing. */
void hs_html_text(hs_html *h, const char *text);
void hs_html_textf(hs_html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* <tag attrs...>text</tag> in one call; attribute pairs end in NULL. */
void hs_html_element(hs_html *h, const char *tag, const char *text, ...) __attribute__((sentinel));
/* An inline <script> with the given JavaScript, which must not contain "]]>" or "</script" (the
 * code is ours; data goes in through hs_html_js_string). */
void hs_html_script(hs_html *h, const char *js);

/* Appends s as a JavaScript/JSON string literal (with quotes) to f: valid
 * UTF-8 (invalid bytes become U+FFFD), and <, >, &, U+2028, U+2029 written as \u escapes, so
 * the literal can never end a script element or a CDATA section. */
void hs_html_js_string(FILE *f, const char *s);

#endif
