/* tokenizer_regex.c — Split/Replace patterns: Hugging Face's Oniguruma regexes run on PCRE2
 * (UTF + UCP, JIT when the platform has it), or literal strings, with HF's find_matches cuts. */
#define _GNU_SOURCE /* memmem */
#include "tokenizer/tokenizer.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

/* Unicode White_Space: what \s means to Oniguruma. PCRE2's UCP \s differs only by U+180E. */
#define WHITE_SPACE "\\t\\n\\x0B\\f\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
                    "\\x{202F}\\x{205F}\\x{3000}"

/* Rewrites \s (and \S outside classes) to White_Space. Other syntax is shared by both engines
 * for the patterns real tokenizers use (\p{L}, \p{N}, (?i:...), (?!...), {1,3}). */
static hs_status translate(const char *re, size_t n, hs_bytes *out)
{
    int in_class = 0;
    for (size_t i = 0; i < n; i++) {
        const char *emit = NULL;
        size_t emit_len = 1;
        if (re[i] == '\\' && i + 1 < n) {
            char c = re[i + 1];
            if (c == 's')
                emit = in_class ? WHITE_SPACE : "[" WHITE_SPACE "]";
            else if (c == 'S' && !in_class)
                emit = "[^" WHITE_SPACE "]";
            if (emit) {
                emit_len = strlen(emit);
            } else {
                emit = re + i; /* any other escape: copy it whole so its character is never read as syntax */
                emit_len = 2;
            }
            i++;
        } else {
            if (re[i] == '[' && !in_class) {
                in_class = 1;
                /* a ']' right after '[' or '[^' is a literal */
                size_t j = i + 1;
                if (j < n && re[j] == '^')
                    j++;
                if (j < n && re[j] == ']') {
                    if (hs_bytes_append(out, re + i, j + 1 - i) != HS_OK)
                        return HS_ERR_NOMEM;
                    i = j;
                    continue;
                }
            } else if (re[i] == ']' && in_class) {
                in_class = 0;
            }
            emit = re + i;
        }
        if (hs_bytes_append(out, emit, emit_len) != HS_OK)
            return HS_ERR_NOMEM;
    }
    return HS_OK;
}

hs_status hs_tok_pattern_regex(hs_tok_pattern *p, const char *re, size_t n, hs_error *err)
{
    memset(p, 0, sizeof *p);
    hs_bytes pat = {0};
    hs_status st = translate(re, n, &pat);
    if (st != HS_OK) {
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    int code;
    PCRE2_SIZE at;
    p->re = pcre2_compile((PCRE2_SPTR)pat.data, pat.len, PCRE2_UTF | PCRE2_UCP, &code, &at, NULL);
    if (!p->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        st = hs_fail(err, HS_ERR_UNSUPPORTED, "regex \"%.*s\" does not compile: %s (at offset %zu)",
                     (int)(n > 80 ? 80 : n), re, (const char *)msg, (size_t)at);
        goto done;
    }
    pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE); /* optional: pcre2_match falls back to the interpreter */
done:
    free(pat.data);
    return st;
}

hs_status hs_tok_pattern_literal(hs_tok_pattern *p, const char *s, size_t n)
{
    memset(p, 0, sizeof *p);
    p->lit = malloc(n + 1);
    if (!p->lit)
        return HS_ERR_NOMEM;
    memcpy(p->lit, s, n);
    p->lit[n] = '\0';
    p->lit_len = n;
    return HS_OK;
}

void hs_tok_pattern_free(hs_tok_pattern *p)
{
    if (p->re)
        pcre2_code_free(p->re);
    free(p->lit);
    memset(p, 0, sizeof *p);
}

int hs_tok_pattern_find(const hs_tok_pattern *p, pcre2_match_data *md, const char *s, size_t n,
                        size_t from, size_t *ms, size_t *me)
{
    if (!p->re) {
        if (p->lit_len == 0 || from > n)
            return 0;
        const char *hit = memmem(s + from, n - from, p->lit, p->lit_len);
        if (!hit)
            return 0;
        *ms = (size_t)(hit - s);
        *me = *ms + p->lit_len;
        return 1;
    }
    int rc = pcre2_match(p->re, (PCRE2_SPTR)s, n, from, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0)
        return -1;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

hs_status hs_tok_pattern_pieces(const hs_tok_pattern *p, pcre2_match_data *md, const char *s, size_t n,
                                hs_tok_piece_fn fn, void *user)
{
    if (n == 0 || (!p->re && p->lit_len == 0))
        return fn(user, 0, n, 0);
    size_t prev = 0, from = 0, ms, me;
    hs_status st;
    while (from <= n) {
        int found = hs_tok_pattern_find(p, md, s, n, from, &ms, &me);
        if (found < 0)
            return HS_ERR_INTERNAL;
        if (!found)
            break;
        if (prev != ms && (st = fn(user, prev, ms - prev, 0)) != HS_OK)
            return st;
        if ((st = fn(user, ms, me - ms, 1)) != HS_OK)
            return st;
        prev = me;
        if (me > ms) {
            from = me;
        } else { /* an empty match: step over one character */
            if (me >= n)
                break;
            uint32_t cp;
            from = me + hs_utf8_decode(s + me, n - me, &cp);
        }
    }
    return prev != n ? fn(user, prev, n - prev, 0) : HS_OK;
}
