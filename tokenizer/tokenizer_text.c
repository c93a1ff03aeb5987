/* tokenizer_text.c — the pipeline's text primitives: growable byte strings, lists of pieces,
 * UTF-8 checking and lossy repair, and the Unicode classes HF's matching rules rely on. */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <unictype.h>

/* ---------------------------------------------------------------- byte strings */

hs_status hs_bytes_reserve(hs_bytes *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return HS_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d)
        return HS_ERR_NOMEM;
    b->data = d;
    b->cap = cap;
    return HS_OK;
}

hs_status hs_bytes_append(hs_bytes *b, const void *s, size_t n)
{
    if (hs_bytes_reserve(b, n) != HS_OK)
        return HS_ERR_NOMEM;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return HS_OK;
}

/* ---------------------------------------------------------------- lists of pieces */

hs_status hs_splits_push(hs_splits *l, const char *s, size_t n, size_t head)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        hs_split *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return HS_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (hs_split){l->text.len, n, head};
    return hs_bytes_append(&l->text, s, n);
}

hs_status hs_splits_extend(hs_splits *l, const char *s, size_t n)
{
    l->v[l->n - 1].len += n;
    return hs_bytes_append(&l->text, s, n);
}

void hs_splits_clear(hs_splits *l)
{
    l->n = 0;
    l->text.len = 0;
}

void hs_splits_free(hs_splits *l)
{
    free(l->v);
    free(l->text.data);
    memset(l, 0, sizeof *l);
}

/* ---------------------------------------------------------------- UTF-8 */

size_t hs_utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < 2 || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (i >= n || (s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

size_t hs_utf8_check(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = hs_utf8_valid_len(p + i, n - i);
        if (!len)
            return i;
        i += len;
    }
    return n;
}

/* The length of the maximal prefix of an ill-formed sequence at s: a lead byte and the
 * continuation bytes that could still have completed it (at least 1). */
static size_t invalid_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 1;
    size_t i = 1;
    if (i < n && s[i] >= lo && s[i] <= hi) {
        i++;
        while (i < need && i < n && (s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

hs_status hs_utf8_append_lossy(hs_bytes *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* start of the current valid stretch */
    for (size_t i = 0; i < n;) {
        size_t len = p[i] < 0x80 ? 1 : hs_utf8_valid_len(p + i, n - i);
        if (len) {
            i += len;
            continue;
        }
        if (hs_bytes_append(out, s + run, i - run) != HS_OK ||
            hs_bytes_append(out, "\xEF\xBF\xBD", 3) != HS_OK)
            return HS_ERR_NOMEM;
        i += invalid_len(p + i, n - i);
        run = i;
    }
    return hs_bytes_append(out, s + run, n - run);
}

size_t hs_utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2;
    if (len > n)
        len = n;
    uint32_t c = len == 1 ? p[0] : (uint32_t)(p[0] & (0x7F >> len));
    for (size_t i = 1; i < len; i++)
        c = (c << 6) | (p[i] & 0x3F);
    *cp = c;
    return len;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int hs_tok_byte_piece(const char *p, size_t len)
{
    if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>')
        return -1;
    int hi = hex_digit(p[3]), lo = hex_digit(p[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

int hs_uc_is_space(uint32_t cp)
{
    return uc_is_property_white_space(cp);
}

int hs_uc_is_word(uint32_t cp)
{
    return uc_is_property_alphabetic(cp) || uc_is_general_category(cp, UC_CATEGORY_M) ||
           uc_is_general_category(cp, UC_CATEGORY_Nd) || uc_is_general_category(cp, UC_CATEGORY_Pc) ||
           uc_is_property_join_control(cp);
}
