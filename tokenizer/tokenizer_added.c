/* tokenizer_added.c — added tokens (special tokens and the like): found in the text before the
 * model sees it, leftmost-longest, with HF's single_word / lstrip / rstrip rules. */
#include "tokenizer/tokenizer.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

void hs_added_matcher_free(hs_added_matcher *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->pattern[i]);
    free(m->pattern);
    free(m->pattern_len);
    free(m->tok);
    memset(m, 0, sizeof *m);
}

/* Sorting: by first byte, then longest first, so the first pattern that matches at a position
 * is the longest one there. */
typedef struct entry {
    const hs_added_token *tok;
    char *pattern;
    size_t len;
} entry;

static int entry_cmp(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    unsigned char fa = (unsigned char)a->pattern[0], fb = (unsigned char)b->pattern[0];
    if (fa != fb)
        return fa < fb ? -1 : 1;
    if (a->len != b->len)
        return a->len > b->len ? -1 : 1;
    return a->tok < b->tok ? -1 : a->tok > b->tok; /* stable: earlier tokens win ties */
}

static hs_status build(const hs_tokenizer *tok, int normalized, pcre2_match_data *md, hs_added_matcher *m)
{
    entry *e = calloc((size_t)tok->n_added + 1, sizeof *e);
    hs_bytes norm = {0};
    hs_status st = HS_OK;
    int n = 0;
    if (!e) {
        st = HS_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < tok->n_added; i++) {
        const hs_added_token *t = &tok->added[i];
        if (t->len == 0 || !t->normalized != !normalized)
            continue;
        const char *p = t->content;
        size_t len = t->len;
        if (normalized) { /* HF matches a normalized token by its normalized content */
            if ((st = hs_tok_normalize(tok->norm, tok->n_norm, md, p, len, &norm)) != HS_OK)
                goto done;
            p = norm.data;
            len = norm.len;
            if (len == 0)
                continue;
        }
        e[n].pattern = malloc(len + 1);
        if (!e[n].pattern) {
            st = HS_ERR_NOMEM;
            goto done;
        }
        memcpy(e[n].pattern, p, len);
        e[n].pattern[len] = '\0';
        e[n].len = len;
        e[n].tok = t;
        n++;
    }
    qsort(e, (size_t)n, sizeof *e, entry_cmp);
    m->tok = malloc(((size_t)n + 1) * sizeof *m->tok);
    m->pattern = malloc(((size_t)n + 1) * sizeof *m->pattern);
    m->pattern_len = malloc(((size_t)n + 1) * sizeof *m->pattern_len);
    if (!m->tok || !m->pattern || !m->pattern_len) {
        st = HS_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        m->tok[i] = e[i].tok;
        m->pattern[i] = e[i].pattern;
        m->pattern_len[i] = e[i].len;
        e[i].pattern = NULL; /* now the matcher's */
    }
    m->n = n;
    for (int b = 0, i = 0; b <= 256; b++) {
        while (i < n && (unsigned char)m->pattern[i][0] < b)
            i++;
        m->first[b] = i;
    }
done:
    for (int i = 0; e && i < n; i++)
        free(e[i].pattern);
    free(e);
    free(norm.data);
    return st;
}

hs_status hs_tok_added_build(hs_tokenizer *tok, hs_error *err)
{
    hs_status st = HS_ERR_NOMEM;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (md && (st = build(tok, 0, md, &tok->added_raw)) == HS_OK)
        st = build(tok, 1, md, &tok->added_norm);
    pcre2_match_data_free(md);
    if (st != HS_OK)
        return hs_fail(err, st, "added_tokens: %s", st == HS_ERR_NOMEM ? "out of memory" : "normalizing a token failed");
    return HS_OK;
}

/* ---------------------------------------------------------------- matching */

/* The character that ends before s[end] (end > 0). */
static uint32_t char_before(const char *s, size_t end, size_t *start)
{
    size_t i = end - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80 && end - i < 4)
        i--;
    uint32_t cp;
    hs_utf8_decode(s + i, end - i, &cp);
    *start = i;
    return cp;
}

static int single_word_ok(const char *s, size_t n, size_t start, size_t stop)
{
    size_t at;
    uint32_t cp;
    if (start > 0 && hs_uc_is_word(char_before(s, start, &at)))
        return 0;
    if (stop < n) {
        hs_utf8_decode(s + stop, n - stop, &cp);
        if (hs_uc_is_word(cp))
            return 0;
    }
    return 1;
}

int hs_added_next(const hs_added_matcher *m, const char *s, size_t n, size_t *search, size_t done,
                  size_t *start, size_t *stop, int32_t *id)
{
    for (size_t i = *search; m->n > 0 && i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        int k = m->first[b], end = m->first[b + 1];
        while (k < end && (m->pattern_len[k] > n - i || memcmp(s + i, m->pattern[k], m->pattern_len[k]) != 0))
            k++;
        if (k == end)
            continue;
        const hs_added_token *t = m->tok[k];
        size_t ms = i, me = i + m->pattern_len[k];
        if (t->single_word && !single_word_ok(s, n, ms, me)) {
            i = me - 1; /* the search resumes after a discarded match, as HF's matcher does */
            continue;
        }
        if (t->lstrip) {
            size_t at;
            while (ms > done && hs_uc_is_space(char_before(s, ms, &at)))
                ms = at;
            if (ms < done)
                ms = done;
        }
        if (t->rstrip) {
            uint32_t cp;
            size_t len;
            while (me < n && (len = hs_utf8_decode(s + me, n - me, &cp)) && hs_uc_is_space(cp))
                me += len;
        }
        *start = ms;
        *stop = me;
        *id = t->id;
        *search = me; /* after any stripped spaces, so that pieces never overlap */
        return 1;
    }
    *search = n;
    return 0;
}
