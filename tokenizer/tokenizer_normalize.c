/* tokenizer_normalize.c — normalizers: Unicode normal forms (libunistring), Prepend, Replace. */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>
#include <uninorm.h>

typedef struct replace_ctx {
    const hs_tok_normalizer *step;
    const char *s;
    hs_bytes *out;
} replace_ctx;

static hs_status replace_piece(void *user, size_t off, size_t len, int is_match)
{
    replace_ctx *c = user;
    if (is_match)
        return hs_bytes_append(c->out, c->step->content, c->step->content_len);
    return hs_bytes_append(c->out, c->s + off, len);
}

/* Text made only of characters below U+0300 is already NFC (nothing there is a combining mark
 * or composes), and is the common case: NFC skips libunistring for it. (Not so for the other
 * forms: NFD splits "é", NFKC maps "²".) */
static int below_combining(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0xCC)
            return 0;
    return 1;
}

static hs_status apply(const hs_tok_normalizer *step, pcre2_match_data *md, const char *s, size_t n,
                       hs_bytes *out)
{
    out->len = 0;
    switch (step->kind) {
    case HS_NORM_NFC:
    case HS_NORM_NFD:
    case HS_NORM_NFKC:
    case HS_NORM_NFKD: {
        if (n == 0 || (step->kind == HS_NORM_NFC && below_combining(s, n)))
            return hs_bytes_append(out, s, n);
        uninorm_t form = step->kind == HS_NORM_NFC ? UNINORM_NFC : step->kind == HS_NORM_NFD ? UNINORM_NFD
                       : step->kind == HS_NORM_NFKC ? UNINORM_NFKC : UNINORM_NFKD;
        size_t len = 0;
        uint8_t *r = u8_normalize(form, (const uint8_t *)s, n, NULL, &len);
        if (!r)
            return HS_ERR_NOMEM; /* input is valid UTF-8, so only allocation can fail */
        hs_status st = hs_bytes_append(out, r, len);
        free(r);
        return st;
    }
    case HS_NORM_PREPEND:
        if (n > 0 && hs_bytes_append(out, step->content, step->content_len) != HS_OK)
            return HS_ERR_NOMEM;
        return hs_bytes_append(out, s, n);
    case HS_NORM_REPLACE: {
        replace_ctx c = {step, s, out};
        return hs_tok_pattern_pieces(&step->pattern, md, s, n, replace_piece, &c);
    }
    }
    return HS_ERR_INTERNAL;
}

hs_status hs_tok_normalize(const hs_tok_normalizer *steps, int n_steps, pcre2_match_data *md,
                           const char *s, size_t n, hs_bytes *out)
{
    hs_bytes tmp = {0};
    hs_status st = HS_OK;
    out->len = 0;
    if ((st = hs_bytes_append(out, s, n)) != HS_OK)
        goto done;
    for (int i = 0; i < n_steps; i++) {
        /* step i reads out and writes tmp; then they swap */
        if ((st = apply(&steps[i], md, out->data, out->len, &tmp)) != HS_OK)
            goto done;
        hs_bytes t = *out;
        *out = tmp;
        tmp = t;
    }
done:
    free(tmp.data);
    return st;
}

void hs_tok_normalizer_free(hs_tok_normalizer *step)
{
    hs_tok_pattern_free(&step->pattern);
    free(step->content);
    memset(step, 0, sizeof *step);
}
