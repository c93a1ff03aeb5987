/* utf8.c — replacing invalid UTF-8 and XML-forbidden characters by U+FFFD (see utf8.h). */
#include "base/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

static int xml_allowed(ucs4_t c)
{
    if (c < 0x20)
        return c == 0x09 || c == 0x0a || c == 0x0d;
    return c != 0xfffe && c != 0xffff; /* surrogates never decode: u8_mbtoucr rejects them */
}

char *hs_utf8_xml_safe(const char *s, size_t len)
{
    /* each input byte yields at most 3 output bytes (one U+FFFD) */
    char *out = malloc(3 * len + 1);
    if (!out)
        return NULL;
    const uint8_t *p = (const uint8_t *)s, *end = p + len;
    size_t n = 0;
    while (p < end) {
        ucs4_t c;
        int k = u8_mbtoucr(&c, p, (size_t)(end - p));
        if (k > 0 && xml_allowed(c)) {
            memcpy(out + n, p, (size_t)k);
            n += (size_t)k;
            p += k;
        } else {
            memcpy(out + n, replacement, 3);
            n += 3;
            p += k > 0 ? k : 1; /* an invalid or truncated sequence costs one byte per U+FFFD */
        }
    }
    out[n] = '\0';
    return out;
}

char *hs_utf8_xml_safe_str(const char *s)
{
    return s ? hs_utf8_xml_safe(s, strlen(s)) : NULL;
}
