/* tokenizer_pretok.c — pre-tokenizers: cut normalized text into the words BPE sees
 * (ByteLevel, Split, Metaspace, Digits), with Hugging Face's split behaviors. */
#include "tokenizer/tokenizer.h"

#include <stdlib.h>
#include <string.h>

/* One piece of a split as find_matches reports it; `keep` is decided by the behavior fold. */
typedef struct cut {
    size_t off, len;
    int match;
} cut;

typedef struct cut_list {
    cut *v;
    size_t n, cap;
    int invert;
} cut_list;

static hs_status collect_cut(void *user, size_t off, size_t len, int is_match)
{
    cut_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        cut *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return HS_ERR_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (cut){off, len, l->invert ? !is_match : is_match};
    return HS_OK;
}

/* Rewrites the cuts in place as HF's NormalizedString::split combines them; matches that are
 * removed keep match = 1, every other piece ends with match = 0. */
static void fold(cut_list *l, hs_split_behavior behavior)
{
    size_t n = 0;
    int prev_match = 0;
    switch (behavior) {
    case HS_SPLIT_REMOVED:
        return;
    case HS_SPLIT_ISOLATED:
        for (size_t i = 0; i < l->n; i++)
            l->v[i].match = 0;
        return;
    case HS_SPLIT_CONTIGUOUS: /* runs of matches become one piece */
    case HS_SPLIT_MERGED_WITH_PREVIOUS: /* a match joins the non-match before it */
        for (size_t i = 0; i < l->n; i++) {
            cut c = l->v[i];
            int join = behavior == HS_SPLIT_CONTIGUOUS ? c.match == prev_match : c.match && !prev_match;
            prev_match = c.match;
            if (join && n > 0)
                l->v[n - 1].len = c.off + c.len - l->v[n - 1].off;
            else
                l->v[n++] = (cut){c.off, c.len, 0};
        }
        l->n = n;
        return;
    case HS_SPLIT_MERGED_WITH_NEXT: { /* a match joins the non-match after it: fold from the end */
        size_t top = l->n; /* results fill v[top..l->n) from the right */
        for (size_t i = l->n; i-- > 0;) {
            cut c = l->v[i];
            int join = c.match && !prev_match;
            prev_match = c.match;
            if (join && top < l->n) {
                l->v[top].len += l->v[top].off - c.off;
                l->v[top].off = c.off;
            } else {
                l->v[--top] = (cut){c.off, c.len, 0};
            }
        }
        memmove(l->v, l->v + top, (l->n - top) * sizeof *l->v);
        l->n -= top;
        return;
    }
    }
}

/* Splits one piece with a pattern and pushes the kept, non-empty parts to out. */
static hs_status split_piece(const hs_tok_pattern *p, int invert, hs_split_behavior behavior,
                             pcre2_match_data *md, const char *s, size_t n, size_t head,
                             cut_list *cuts, hs_splits *out)
{
    cuts->n = 0;
    cuts->invert = invert;
    hs_status st = hs_tok_pattern_pieces(p, md, s, n, collect_cut, cuts);
    if (st != HS_OK)
        return st;
    fold(cuts, behavior);
    for (size_t i = 0; i < cuts->n; i++) {
        const cut *c = &cuts->v[i];
        if (c->match || c->len == 0)
            continue;
        if ((st = hs_splits_push(out, s + c->off, c->len, c->off < head ? head - c->off : 0)) != HS_OK)
            return st;
    }
    return HS_OK;
}

/* Metaspace: spaces become the replacement, a replacement may go in front, then the piece may
 * split before each replacement. */
static hs_status metaspace(const hs_tok_pretok *step, pcre2_match_data *md, const char *s, size_t n,
                           size_t head, cut_list *cuts, hs_bytes *buf, hs_splits *out)
{
    const char *r = step->replacement;
    size_t rl = step->replacement_len, new_head = 0;
    buf->len = 0;
    for (size_t i = 0; i < n; i++) {
        if (hs_bytes_append(buf, s[i] == ' ' ? r : s + i, s[i] == ' ' ? rl : 1) != HS_OK)
            return HS_ERR_NOMEM;
        if (i + 1 == (head < n ? head : n))
            new_head = head ? buf->len : 0;
    }
    int starts = buf->len >= rl && memcmp(buf->data, r, rl) == 0;
    int prepend = !starts && (step->prepend == HS_PREPEND_ALWAYS || (step->prepend == HS_PREPEND_FIRST && head > 0));
    if (prepend) {
        if (hs_bytes_reserve(buf, rl) != HS_OK)
            return HS_ERR_NOMEM;
        memmove(buf->data + rl, buf->data, buf->len + 1);
        memcpy(buf->data, r, rl);
        buf->len += rl;
        if (new_head)
            new_head += rl; /* the prefix stands for the first character too */
    }
    if (!step->split)
        return buf->len ? hs_splits_push(out, buf->data, buf->len, new_head) : HS_OK;
    return split_piece(&step->pattern, 0, HS_SPLIT_MERGED_WITH_NEXT, md, buf->data, buf->len, new_head, cuts, out);
}

static hs_status apply(const hs_tok_pretok *step, pcre2_match_data *md, const char *s, size_t n,
                       size_t head, cut_list *cuts, hs_bytes *buf, hs_splits *out)
{
    switch (step->kind) {
    case HS_PRETOK_BYTE_LEVEL:
        if (step->add_prefix_space && s[0] != ' ') {
            buf->len = 0;
            if (hs_bytes_append(buf, " ", 1) != HS_OK || hs_bytes_append(buf, s, n) != HS_OK)
                return HS_ERR_NOMEM;
            s = buf->data;
            n = buf->len;
            head += head > 0;
        }
        if (!step->has_pattern)
            return hs_splits_push(out, s, n, head);
        return split_piece(&step->pattern, 0, HS_SPLIT_ISOLATED, md, s, n, head, cuts, out);
    case HS_PRETOK_SPLIT:
    case HS_PRETOK_DIGITS:
        return split_piece(&step->pattern, step->invert, step->behavior, md, s, n, head, cuts, out);
    case HS_PRETOK_METASPACE:
        return metaspace(step, md, s, n, head, cuts, buf, out);
    }
    return HS_ERR_INTERNAL;
}

hs_status hs_tok_pretokenize(const hs_tok_pretok *steps, int n_steps, pcre2_match_data *md,
                             const char *s, size_t n, size_t head, hs_splits *out, hs_splits *tmp)
{
    cut_list cuts = {0};
    hs_bytes buf = {0};
    hs_status st = HS_OK;
    hs_splits_clear(out);
    if (n > 0 && (st = hs_splits_push(out, s, n, head)) != HS_OK)
        goto done;
    for (int i = 0; i < n_steps; i++) {
        /* step i reads the pieces in out and writes tmp; then they swap */
        hs_splits_clear(tmp);
        for (size_t k = 0; k < out->n; k++) {
            const hs_split *p = &out->v[k];
            st = apply(&steps[i], md, out->text.data + p->off, p->len, p->head, &cuts, &buf, tmp);
            if (st != HS_OK)
                goto done;
        }
        hs_splits t = *out;
        *out = *tmp;
        *tmp = t;
    }
done:
    free(cuts.v);
    free(buf.data);
    return st;
}

void hs_tok_pretok_free(hs_tok_pretok *step)
{
    hs_tok_pattern_free(&step->pattern);
    memset(step, 0, sizeof *step);
}
