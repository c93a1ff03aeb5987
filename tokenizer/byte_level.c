/* byte_level.c — GPT-2's byte <-> printable-character map, computed arithmetically (no tables). */
#include "tokenizer/byte_level.h"

/* Bytes that are printable Latin-1 stand for themselves: '!'..'~', '¡'..'¬', '®'..'ÿ'. The
 * other 68 bytes, in increasing order, stand for U+0100, U+0101, ... : 0x00-0x20 -> 256..288,
 * 0x7F-0xA0 -> 289..322, 0xAD -> 323. */
static int is_self(unsigned b)
{
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t hs_byte_level_char(uint8_t b)
{
    if (is_self(b))
        return b;
    if (b <= 0x20)
        return 256u + b;
    if (b >= 0x7F && b <= 0xA0)
        return 289u + (b - 0x7Fu);
    return 323u; /* 0xAD */
}

int hs_byte_level_byte(uint32_t c)
{
    if (c < 256)
        return is_self(c) ? (int)c : -1;
    if (c <= 288)
        return (int)(c - 256);
    if (c <= 322)
        return (int)(c - 289 + 0x7F);
    if (c == 323)
        return 0xAD;
    return -1;
}

size_t hs_byte_level_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = hs_byte_level_char(in[i]);
        if (c < 0x80) {
            out[o++] = (char)c;
        } else { /* every mapped character is below U+0800: two bytes */
            out[o++] = (char)(0xC0 | (c >> 6));
            out[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    return o;
}

long hs_byte_level_decode(const char *s, size_t n, uint8_t *out)
{
    const uint8_t *p = (const uint8_t *)s;
    long o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        if (p[i] < 0x80) {
            c = p[i++];
        } else if ((p[i] & 0xE0) == 0xC0 && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
            c = ((uint32_t)(p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F);
            i += 2;
            if (c < 0x80)
                return -1; /* overlong */
        } else {
            return -1; /* longer sequences are never mapped characters */
        }
        int b = hs_byte_level_byte(c);
        if (b < 0)
            return -1;
        out[o++] = (uint8_t)b;
    }
    return o;
}

const char hs_gpt2_split_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
