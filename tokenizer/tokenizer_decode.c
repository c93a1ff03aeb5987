/* tokenizer_decode.c — decoders: pieces back to text (ByteLevel, Replace, ByteFallback, Fuse,
 * Strip, Metaspace), each a pass over the list of pieces as Hugging Face chains them. */
#include "tokenizer/tokenizer.h"
#include "tokenizer/byte_level.h"

#include <stdlib.h>
#include <string.h>

#define PIECE(l, i) ((l)->text.data + (l)->v[i].off)

/* Appends the pieces joined into one. */
static hs_status fuse(const hs_splits *in, hs_splits *out, int lossy)
{
    hs_status st = hs_splits_push(out, "", 0, 0);
    for (size_t i = 0; i < in->n && st == HS_OK; i++)
        st = hs_splits_extend(out, PIECE(in, i), in->v[i].len);
    if (st != HS_OK || !lossy || hs_utf8_check(PIECE(out, 0), out->v[0].len) == out->v[0].len)
        return st;
    hs_bytes fixed = {0};
    if ((st = hs_utf8_append_lossy(&fixed, PIECE(out, 0), out->v[0].len)) == HS_OK) {
        hs_splits_clear(out);
        st = hs_splits_push(out, fixed.data, fixed.len, 0);
    }
    free(fixed.data);
    return st;
}

/* ByteLevel: each piece whose characters all map back to bytes becomes those bytes; any other
 * piece stays as it is; then everything is fused (and repaired to UTF-8 unless a fragment). */
static hs_status byte_level(const hs_splits *in, hs_splits *out, int fragment)
{
    hs_splits raw = {0};
    uint8_t *buf = NULL;
    size_t cap = 0;
    hs_status st = HS_OK;
    for (size_t i = 0; i < in->n; i++) {
        const char *p = PIECE(in, i);
        size_t len = in->v[i].len;
        if (len > cap) {
            uint8_t *b = realloc(buf, len);
            if (!b) {
                st = HS_ERR_NOMEM;
                goto done;
            }
            buf = b;
            cap = len;
        }
        long n = hs_byte_level_decode(p, len, buf);
        if ((st = n >= 0 ? hs_splits_push(&raw, (const char *)buf, (size_t)n, 0) : hs_splits_push(&raw, p, len, 0)) != HS_OK)
            goto done;
    }
    st = fuse(&raw, out, !fragment);
done:
    free(buf);
    hs_splits_free(&raw);
    return st;
}

typedef struct replace_ctx {
    const hs_tok_decoder *step;
    const char *s;
    hs_splits *out;
} replace_ctx;

static hs_status replace_piece(void *user, size_t off, size_t len, int is_match)
{
    replace_ctx *c = user;
    if (is_match)
        return hs_splits_extend(c->out, c->step->content, c->step->content_len);
    return hs_splits_extend(c->out, c->s + off, len);
}

/* ByteFallback: runs of byte pieces become their text when the run is valid UTF-8, else one
 * U+FFFD per byte (HF's rule); a fragment keeps the raw bytes. */
static hs_status flush_bytes(hs_bytes *run, hs_splits *out, int fragment)
{
    hs_status st = HS_OK;
    if (run->len == 0)
        return HS_OK;
    if (fragment || hs_utf8_check(run->data, run->len) == run->len)
        st = hs_splits_push(out, run->data, run->len, 0);
    else
        for (size_t i = 0; i < run->len && st == HS_OK; i++)
            st = hs_splits_push(out, "\xEF\xBF\xBD", 3, 0);
    run->len = 0;
    return st;
}

static hs_status byte_fallback(const hs_splits *in, hs_splits *out, int fragment)
{
    hs_bytes run = {0};
    hs_status st = HS_OK;
    for (size_t i = 0; i < in->n && st == HS_OK; i++) {
        int b = hs_tok_byte_piece(PIECE(in, i), in->v[i].len);
        if (b >= 0) {
            unsigned char c = (unsigned char)b;
            st = hs_bytes_append(&run, &c, 1);
        } else if ((st = flush_bytes(&run, out, fragment)) == HS_OK) {
            st = hs_splits_push(out, PIECE(in, i), in->v[i].len, 0);
        }
    }
    if (st == HS_OK)
        st = flush_bytes(&run, out, fragment);
    free(run.data);
    return st;
}

/* Strip: up to `start` leading and `stop` trailing copies of one character off each piece. */
static hs_status strip(const hs_tok_decoder *step, const hs_splits *in, hs_splits *out)
{
    const char *c = step->content;
    size_t cl = step->content_len;
    for (size_t i = 0; i < in->n; i++) {
        const char *p = PIECE(in, i);
        size_t b = 0, e = in->v[i].len;
        for (int k = 0; k < step->start && e - b >= cl && memcmp(p + b, c, cl) == 0; k++)
            b += cl;
        for (int k = 0; k < step->stop && e - b >= cl && memcmp(p + e - cl, c, cl) == 0; k++)
            e -= cl;
        if (hs_splits_push(out, p + b, e - b, 0) != HS_OK)
            return HS_ERR_NOMEM;
    }
    return HS_OK;
}

/* Metaspace: the replacement character becomes a space; in the first piece it is dropped
 * (unless the scheme is "never"), undoing the prefix the pre-tokenizer added. */
static hs_status metaspace(const hs_tok_decoder *step, const hs_splits *in, hs_splits *out, int fragment)
{
    const char *r = step->content;
    size_t rl = step->content_len;
    for (size_t i = 0; i < in->n; i++) {
        const char *p = PIECE(in, i);
        size_t len = in->v[i].len;
        int drop = i == 0 && !fragment && step->prepend != HS_PREPEND_NEVER;
        if (hs_splits_push(out, "", 0, 0) != HS_OK)
            return HS_ERR_NOMEM;
        for (size_t k = 0; k < len;) {
            if (len - k >= rl && memcmp(p + k, r, rl) == 0) {
                if (!drop && hs_splits_extend(out, " ", 1) != HS_OK)
                    return HS_ERR_NOMEM;
                k += rl;
            } else {
                if (hs_splits_extend(out, p + k, 1) != HS_OK)
                    return HS_ERR_NOMEM;
                k++;
            }
        }
    }
    return HS_OK;
}

static hs_status apply(const hs_tok_decoder *step, pcre2_match_data *md, const hs_splits *in, hs_splits *out,
                       int fragment)
{
    hs_status st = HS_OK;
    switch (step->kind) {
    case HS_DEC_BYTE_LEVEL:
        return byte_level(in, out, fragment);
    case HS_DEC_REPLACE:
        for (size_t i = 0; i < in->n && st == HS_OK; i++) {
            replace_ctx c = {step, PIECE(in, i), out};
            size_t len = in->v[i].len;
            if ((st = hs_splits_push(out, "", 0, 0)) != HS_OK)
                break;
            if (step->pattern.re && hs_utf8_check(c.s, len) != len)
                st = hs_splits_extend(out, c.s, len); /* raw bytes from an earlier step: no regex on them */
            else
                st = hs_tok_pattern_pieces(&step->pattern, md, c.s, len, replace_piece, &c);
        }
        return st;
    case HS_DEC_BYTE_FALLBACK:
        return byte_fallback(in, out, fragment);
    case HS_DEC_FUSE:
        return fuse(in, out, 0);
    case HS_DEC_STRIP:
        return fragment ? fuse(in, out, 0) : strip(step, in, out);
    case HS_DEC_METASPACE:
        return metaspace(step, in, out, fragment);
    }
    return HS_ERR_INTERNAL;
}

hs_status hs_tok_decode_pipeline(const hs_tokenizer *tok, const int32_t *ids, size_t n, int fragment,
                                 hs_bytes *out)
{
    hs_splits a = {0}, b = {0};
    hs_status st = HS_OK;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) {
        st = HS_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = hs_vocab_piece(&tok->bpe.vocab, ids[i], &len);
        if ((st = hs_splits_push(&a, p, len, 0)) != HS_OK)
            goto done;
    }
    for (int k = 0; k < tok->n_dec; k++) {
        /* step k reads a and writes b; then they swap */
        hs_splits_clear(&b);
        if ((st = apply(&tok->dec[k], md, &a, &b, fragment)) != HS_OK)
            goto done;
        hs_splits t = a;
        a = b;
        b = t;
    }
    out->len = 0;
    if ((st = hs_bytes_append(out, "", 0)) != HS_OK)
        goto done;
    for (size_t i = 0; i < a.n && st == HS_OK; i++) {
        if (!tok->has_decoder && i > 0)
            st = hs_bytes_append(out, " ", 1); /* HF joins pieces with spaces when there is no decoder */
        if (st == HS_OK)
            st = fragment ? hs_bytes_append(out, PIECE(&a, i), a.v[i].len)
                          : hs_utf8_append_lossy(out, PIECE(&a, i), a.v[i].len);
    }
done:
    pcre2_match_data_free(md);
    hs_splits_free(&a);
    hs_splits_free(&b);
    return st;
}

void hs_tok_decoder_free(hs_tok_decoder *step)
{
    hs_tok_pattern_free(&step->pattern);
    free(step->content);
    memset(step, 0, sizeof *step);
}
