/* utf8.h — making untrusted bytes (prompt text, token strings, file names) safe to place in XML,
 * SVG and HTML: valid UTF-8 with only the characters XML 1.0 allows. */
#ifndef HS_BASE_UTF8_H
#define HS_BASE_UTF8_H

#include <stddef.h>

/* A malloc'd, NUL-terminated copy of the len bytes at s in which every byte sequence that is not
 * valid UTF-8, and every character XML 1.0 forbids (C0 controls other than tab, newline and
 * carriage return; U+FFFE, U+FFFF), is replaced by U+FFFD. The caller frees it. NULL when out of
 * memory. s may contain NUL bytes (each becomes U+FFFD). */
char *hs_utf8_xml_safe(const char *s, size_t len);

/* The same for a NUL-terminated string; NULL in gives NULL out. */
char *hs_utf8_xml_safe_str(const char *s);

#endif
