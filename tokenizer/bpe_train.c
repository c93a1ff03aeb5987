/* bpe_train.c — byte-level BPE training: distinct pre-tokens with counts, incremental pair counts,
 * a lazy max-heap for the best pair, and the tokenizer.json writer (see bpe_train.h). */
#define _GNU_SOURCE /* memmem */
#include "tokenizer/bpe_train.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

#define EOT "<|endoftext|>"
#define EOT_LEN 13
#define FORCED_COUNT ((int64_t)1 << 40)
#define N_DIGIT_MERGES 210

typedef struct word {
    int32_t *sym; /* [n] current symbols (token ids) */
    int n;
    int64_t count;
    int64_t boost; /* the part of count that forcing added (not seen in the corpus) */
} word;

/* One adjacent pair (left, right): its count over all words and the words it may occur in (a word
 * may be listed twice, or no longer hold the pair: readers check). */
typedef struct pair {
    uint64_t key; /* left << 32 | right */
    int64_t count;
    int32_t *where;
    int n_where, cap_where;
    uint32_t dirty; /* the merge step that last changed count */
} pair;

typedef struct heap_entry {
    int64_t count;
    int32_t left, right;
} heap_entry;

struct hs_bpe_trainer {
    hs_bpe_train_spec spec; /* forced points into forced_copy */
    char **forced_copy;
    hs_tok_pattern re;
    pcre2_match_data *md;

    hs_vocab word_text; /* distinct pre-tokens: id = word index */
    word *words;
    int n_words, cap_words;
    int64_t n_pretokens, n_bytes;

    hs_vocab tokens; /* id -> raw bytes; findable by bytes */
    int32_t n_tokens;
    int32_t (*merges)[2];
    int n_merges, cap_merges;

    pair *pairs;
    int n_pairs, cap_pairs;
    int32_t *slots; /* open addressing over pairs, -1 empty */
    uint32_t n_slots;
    int32_t *dirty_list;
    int n_dirty, cap_dirty;
    uint32_t step;
    uint32_t *seen; /* [n_words] the step that last rewrote each word */

    heap_entry *heap;
    int n_heap, cap_heap;
    int trained;
};

/* ---------------------------------------------------------------- small growable arrays */

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    int c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* ---------------------------------------------------------------- pre-token counting */

static int has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] >= '0' && s[i] <= '9')
            return 1;
    return 0;
}

/* Counts one pre-token `count` more times. */
static hs_status count_word(hs_bpe_trainer *t, const char *s, size_t n, int64_t count, hs_error *err)
{
    int32_t id = hs_vocab_find(&t->word_text, s, n);
    if (id < 0) {
        if (grow((void **)&t->words, &t->cap_words, t->n_words + 1, sizeof *t->words))
            return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
        id = t->n_words;
        hs_status st = hs_vocab_set(&t->word_text, id, s, n, 1, err);
        if (st != HS_OK)
            return st;
        t->words[t->n_words++] = (word){0};
    }
    t->words[id].count += count;
    return HS_OK;
}

typedef struct feed_ctx {
    hs_bpe_trainer *t;
    const char *s;
    hs_error *err;
} feed_ctx;

static hs_status feed_piece(void *user, size_t off, size_t len, int is_match)
{
    (void)is_match; /* the GPT-2 regex covers every character: both kinds are pre-tokens */
    feed_ctx *c = user;
    if (len == 0)
        return HS_OK;
    c->t->n_pretokens++;
    return count_word(c->t, c->s + off, len, 1, c->err);
}

/* Pre-tokenizes s[0..n) (no "<|endoftext|>" inside) and calls fn for each piece. */
static hs_status pretokenize(hs_bpe_trainer *t, const char *s, size_t n, hs_tok_piece_fn fn, void *user,
                             hs_error *err)
{
    if (n == 0)
        return HS_OK;
    hs_status st = hs_tok_pattern_pieces(&t->re, t->md, s, n, fn, user);
    if (st == HS_ERR_INTERNAL)
        return hs_fail(err, HS_ERR_INTERNAL, "tokenizer training: the pre-tokenizer regex failed (match limit)");
    return st;
}

hs_status hs_bpe_trainer_feed(hs_bpe_trainer *t, const char *text, size_t n, hs_error *err)
{
    if (t->trained)
        return hs_fail(err, HS_ERR_ARG, "tokenizer training: text fed after training");
    if (n == 0)
        return HS_OK;
    size_t bad = hs_utf8_check(text, n);
    if (bad != n)
        return hs_fail(err, HS_ERR_FORMAT, "invalid UTF-8 at byte %zu", bad);
    feed_ctx c = {t, text, err};
    size_t pos = 0;
    while (pos <= n) {
        const char *eot = memmem(text + pos, n - pos, EOT, EOT_LEN);
        size_t end = eot ? (size_t)(eot - text) : n;
        c.s = text + pos;
        hs_status st = pretokenize(t, text + pos, end - pos, feed_piece, &c, err);
        if (st != HS_OK)
            return st;
        if (!eot)
            break;
        pos = end + EOT_LEN;
    }
    t->n_bytes += (int64_t)n;
    return HS_OK;
}

/* ---------------------------------------------------------------- set-up */

typedef struct one_piece {
    size_t n_pieces, len;
} one_piece;

static hs_status count_pieces(void *user, size_t off, size_t len, int is_match)
{
    (void)off, (void)is_match;
    one_piece *p = user;
    if (len > 0) {
        p->n_pieces++;
        p->len = len;
    }
    return HS_OK;
}

/* A forced string covered by the digit block: d, dd, " d" or " dd". */
static int in_digit_block(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == ' ';
    if (n - i < 1 || n - i > 2)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

hs_status hs_bpe_trainer_new(const hs_bpe_train_spec *spec, hs_bpe_trainer **out, hs_error *err)
{
    *out = NULL;
    int min_vocab = 257 + (spec->digit_pairs ? N_DIGIT_MERGES : 0);
    if (spec->vocab_size < min_vocab || spec->vocab_size >= HS_VOCAB_MAX_ID || spec->n_forced < 0)
        return hs_fail(err, HS_ERR_ARG,
                       "tokenizer training: a vocabulary of %d is too small (256 bytes%s + <|endoftext|> need %d)",
                       spec->vocab_size, spec->digit_pairs ? " + 210 number pieces" : "", min_vocab);
    hs_bpe_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
    hs_status st = HS_OK;
    t->spec = *spec;
    if (t->spec.min_count <= 0)
        t->spec.min_count = 2;
    if ((st = hs_tok_pattern_regex(&t->re, hs_gpt2_split_pattern, strlen(hs_gpt2_split_pattern), err)) != HS_OK)
        goto fail;
    if (!(t->md = pcre2_match_data_create(1, NULL)) ||
        (spec->n_forced > 0 && !(t->forced_copy = calloc((size_t)spec->n_forced, sizeof *t->forced_copy)))) {
        st = hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
        goto fail;
    }
    for (int i = 0; i < spec->n_forced; i++) {
        const char *s = spec->forced[i];
        size_t n = strlen(s);
        one_piece p = {0};
        if (hs_utf8_check(s, n) != n || n == 0 || memmem(s, n, EOT, EOT_LEN) ||
            pretokenize(t, s, n, count_pieces, &p, err) != HS_OK || p.n_pieces != 1 ||
            (spec->digit_pairs && has_digit(s, n) && !in_digit_block(s, n))) {
            st = hs_fail(err, HS_ERR_ARG,
                         "tokenizer training: forced token \"%.64s\" is not one pre-token the trainer can build "
                         "(GPT-2 splits it, it is not UTF-8, or it holds digits outside the two-digit pieces)",
                         s);
            goto fail;
        }
        if (!(t->forced_copy[i] = strdup(s))) {
            st = hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
            goto fail;
        }
    }
    t->spec.forced = (const char *const *)t->forced_copy;
    *out = t;
    return HS_OK;
fail:
    hs_bpe_trainer_free(t);
    return st;
}

void hs_bpe_trainer_free(hs_bpe_trainer *t)
{
    if (!t)
        return;
    for (int i = 0; t->forced_copy && i < t->spec.n_forced; i++)
        free(t->forced_copy[i]);
    free(t->forced_copy);
    hs_tok_pattern_free(&t->re);
    pcre2_match_data_free(t->md);
    hs_vocab_free(&t->word_text);
    for (int i = 0; i < t->n_words; i++)
        free(t->words[i].sym);
    free(t->words);
    hs_vocab_free(&t->tokens);
    free(t->merges);
    for (int i = 0; i < t->n_pairs; i++)
        free(t->pairs[i].where);
    free(t->pairs);
    free(t->slots);
    free(t->dirty_list);
    free(t->seen);
    free(t->heap);
    free(t);
}

/* ---------------------------------------------------------------- the pair table */

static uint32_t hash_key(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (uint32_t)k;
}

static pair *pair_find(const hs_bpe_trainer *t, int32_t a, int32_t b)
{
    if (!t->n_slots)
        return NULL;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t mask = t->n_slots - 1;
    for (uint32_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
        int32_t k = t->slots[i];
        if (k < 0)
            return NULL;
        if (t->pairs[k].key == key)
            return &t->pairs[k];
    }
}

/* The pair (a, b), created with count 0 when new; NULL when out of memory. The pointer is valid
 * until the next call that creates a pair. */
static pair *pair_get(hs_bpe_trainer *t, int32_t a, int32_t b)
{
    pair *p = pair_find(t, a, b);
    if (p)
        return p;
    if ((uint32_t)(t->n_pairs + 1) * 2 > t->n_slots) {
        uint32_t n_slots = t->n_slots ? t->n_slots * 2 : 4096;
        int32_t *slots = malloc((size_t)n_slots * sizeof *slots);
        if (!slots)
            return NULL;
        memset(slots, 0xff, (size_t)n_slots * sizeof *slots);
        for (int k = 0; k < t->n_pairs; k++) {
            uint32_t i = hash_key(t->pairs[k].key) & (n_slots - 1);
            while (slots[i] >= 0)
                i = (i + 1) & (n_slots - 1);
            slots[i] = k;
        }
        free(t->slots);
        t->slots = slots;
        t->n_slots = n_slots;
    }
    if (grow((void **)&t->pairs, &t->cap_pairs, t->n_pairs + 1, sizeof *t->pairs))
        return NULL;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint32_t i = hash_key(key) & (t->n_slots - 1);
    while (t->slots[i] >= 0)
        i = (i + 1) & (t->n_slots - 1);
    t->slots[i] = t->n_pairs;
    p = &t->pairs[t->n_pairs++];
    *p = (pair){.key = key};
    return p;
}

/* Adds delta to the count of (a, b) and marks it changed in this step; when `w` >= 0, also lists
 * word w as holding it. -1 when out of memory. */
static int pair_add(hs_bpe_trainer *t, int32_t a, int32_t b, int64_t delta, int32_t w)
{
    pair *p = pair_get(t, a, b);
    if (!p)
        return -1;
    p->count += delta;
    if (p->dirty != t->step) {
        p->dirty = t->step;
        if (grow((void **)&t->dirty_list, &t->cap_dirty, t->n_dirty + 1, sizeof *t->dirty_list))
            return -1;
        t->dirty_list[t->n_dirty++] = (int32_t)(p - t->pairs);
    }
    if (w >= 0 && (p->n_where == 0 || p->where[p->n_where - 1] != w)) {
        if (grow((void **)&p->where, &p->cap_where, p->n_where + 1, sizeof *p->where))
            return -1;
        p->where[p->n_where++] = w;
    }
    return 0;
}

/* ---------------------------------------------------------------- the heap */

/* Lexicographic on bytes, a prefix first. */
static int cmp_bytes(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

/* 1 when x should be merged before y: higher count, then the smaller pair (left bytes, right bytes). */
static int heap_before(const hs_bpe_trainer *t, const heap_entry *x, const heap_entry *y)
{
    if (x->count != y->count)
        return x->count > y->count;
    size_t nxa, nya, nxb, nyb;
    const char *xa = hs_vocab_piece(&t->tokens, x->left, &nxa), *ya = hs_vocab_piece(&t->tokens, y->left, &nya);
    int c = cmp_bytes(xa, nxa, ya, nya);
    if (c)
        return c < 0;
    const char *xb = hs_vocab_piece(&t->tokens, x->right, &nxb), *yb = hs_vocab_piece(&t->tokens, y->right, &nyb);
    return cmp_bytes(xb, nxb, yb, nyb) < 0;
}

static int heap_push(hs_bpe_trainer *t, heap_entry e)
{
    if (grow((void **)&t->heap, &t->cap_heap, t->n_heap + 1, sizeof *t->heap))
        return -1;
    int i = t->n_heap++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!heap_before(t, &e, &t->heap[parent]))
            break;
        t->heap[i] = t->heap[parent];
        i = parent;
    }
    t->heap[i] = e;
    return 0;
}

static heap_entry heap_pop(hs_bpe_trainer *t)
{
    heap_entry top = t->heap[0], last = t->heap[--t->n_heap];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= t->n_heap)
            break;
        if (c + 1 < t->n_heap && heap_before(t, &t->heap[c + 1], &t->heap[c]))
            c++;
        if (!heap_before(t, &t->heap[c], &last))
            break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (t->n_heap > 0)
        t->heap[i] = last;
    return top;
}

/* ---------------------------------------------------------------- merging */

/* Pairs the frequency phase may merge: with the digit block, none that touches a digit. */
static int pair_allowed(const hs_bpe_trainer *t, int32_t a, int32_t b)
{
    if (!t->spec.digit_pairs)
        return 1;
    size_t na, nb;
    const char *sa = hs_vocab_piece(&t->tokens, a, &na), *sb = hs_vocab_piece(&t->tokens, b, &nb);
    return !has_digit(sa, na) && !has_digit(sb, nb);
}

/* The id of the token spelled a + b, new when no token spells it. -1 when out of memory. */
static int32_t token_for(hs_bpe_trainer *t, int32_t a, int32_t b, hs_error *err)
{
    size_t na, nb;
    const char *sa = hs_vocab_piece(&t->tokens, a, &na), *sb = hs_vocab_piece(&t->tokens, b, &nb);
    char *ab = malloc(na + nb + 1);
    if (!ab)
        return -1;
    memcpy(ab, sa, na);
    memcpy(ab + na, sb, nb);
    int32_t id = hs_vocab_find(&t->tokens, ab, na + nb);
    if (id < 0) {
        id = t->n_tokens;
        if (hs_vocab_set(&t->tokens, id, ab, na + nb, 1, err) != HS_OK)
            id = -1;
        else
            t->n_tokens++;
    }
    free(ab);
    return id;
}

/* Merges every (a, b) in every word that holds it, left to right, into `ab`, and keeps the pair
 * counts and word lists current. Pairs whose count changed are pushed on the heap when allowed. */
static hs_status apply_merge(hs_bpe_trainer *t, int32_t a, int32_t b, int32_t ab, hs_error *err)
{
    if (grow((void **)&t->merges, &t->cap_merges, t->n_merges + 1, sizeof *t->merges))
        return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
    t->merges[t->n_merges][0] = a;
    t->merges[t->n_merges][1] = b;
    t->n_merges++;
    t->step++;
    t->n_dirty = 0;
    pair *p = pair_find(t, a, b);
    if (!p)
        return HS_OK; /* a digit-block merge that no word needs */
    int32_t *where = p->where;
    int n_where = p->n_where;
    p->where = NULL;
    p->n_where = p->cap_where = 0;
    hs_status st = HS_OK;
    for (int k = 0; k < n_where; k++) {
        int32_t w = where[k];
        word *W = &t->words[w];
        if (t->seen[w] == t->step)
            continue;
        t->seen[w] = t->step;
        int holds = 0;
        for (int i = 0; i + 1 < W->n && !holds; i++)
            holds = W->sym[i] == a && W->sym[i + 1] == b;
        if (!holds)
            continue;
        for (int i = 0; i + 1 < W->n; i++)
            if (pair_add(t, W->sym[i], W->sym[i + 1], -W->count, -1))
                goto nomem;
        int n = 0;
        for (int i = 0; i < W->n; i++) {
            if (i + 1 < W->n && W->sym[i] == a && W->sym[i + 1] == b) {
                W->sym[n++] = ab;
                i++;
            } else {
                W->sym[n++] = W->sym[i];
            }
        }
        W->n = n;
        for (int i = 0; i + 1 < W->n; i++) {
            int touches = W->sym[i] == ab || W->sym[i + 1] == ab;
            if (pair_add(t, W->sym[i], W->sym[i + 1], W->count, touches ? w : -1))
                goto nomem;
        }
    }
    for (int k = 0; k < t->n_dirty; k++) {
        pair *q = &t->pairs[t->dirty_list[k]];
        int32_t l = (int32_t)(q->key >> 32), r = (int32_t)(uint32_t)q->key;
        if (q->count > 0 && pair_allowed(t, l, r) && heap_push(t, (heap_entry){q->count, l, r}))
            goto nomem;
    }
    goto done;
nomem:
    st = hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
done:
    free(where);
    return st;
}

/* The 210 fixed number merges: " "+d, then " d"+e, then d+e. */
static hs_status digit_block(hs_bpe_trainer *t, hs_error *err)
{
    int32_t space_digit[10];
    for (int d = 0; d < 10; d++) {
        int32_t id = token_for(t, ' ', '0' + d, err);
        if (id < 0)
            return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
        HS_TRY(apply_merge(t, ' ', '0' + d, id, err));
        space_digit[d] = id;
    }
    for (int d = 0; d < 10; d++)
        for (int e = 0; e < 10; e++) {
            int32_t id = token_for(t, space_digit[d], '0' + e, err);
            if (id < 0)
                return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
            HS_TRY(apply_merge(t, space_digit[d], '0' + e, id, err));
        }
    for (int d = 0; d < 10; d++)
        for (int e = 0; e < 10; e++) {
            int32_t id = token_for(t, '0' + d, '0' + e, err);
            if (id < 0)
                return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
            HS_TRY(apply_merge(t, '0' + d, '0' + e, id, err));
        }
    return HS_OK;
}

hs_status hs_bpe_trainer_train(hs_bpe_trainer *t, hs_error *err)
{
    if (t->trained)
        return hs_fail(err, HS_ERR_ARG, "tokenizer training: already trained");
    t->trained = 1;
    for (int i = 0; i < t->spec.n_forced; i++) {
        const char *s = t->spec.forced[i];
        if (!(t->spec.digit_pairs && in_digit_block(s, strlen(s)))) {
            HS_TRY(count_word(t, s, strlen(s), FORCED_COUNT, err));
            t->words[hs_vocab_find(&t->word_text, s, strlen(s))].boost += FORCED_COUNT;
        }
    }
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        HS_TRY(hs_vocab_set(&t->tokens, b, &c, 1, 1, err));
    }
    t->n_tokens = 256;
    if (!(t->seen = calloc((size_t)t->n_words + 1, sizeof *t->seen)))
        return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
    /* every word starts as its bytes; count every pair and push the allowed ones */
    t->step = 1;
    for (int w = 0; w < t->n_words; w++) {
        size_t n;
        const char *s = hs_vocab_piece(&t->word_text, w, &n);
        word *W = &t->words[w];
        if (!(W->sym = malloc((n ? n : 1) * sizeof *W->sym)))
            return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
        for (size_t i = 0; i < n; i++)
            W->sym[i] = (unsigned char)s[i];
        W->n = (int)n;
        for (int i = 0; i + 1 < W->n; i++)
            if (pair_add(t, W->sym[i], W->sym[i + 1], W->count, w))
                return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
    }
    for (int k = 0; k < t->n_pairs; k++) {
        int32_t l = (int32_t)(t->pairs[k].key >> 32), r = (int32_t)(uint32_t)t->pairs[k].key;
        if (t->pairs[k].count > 0 && pair_allowed(t, l, r) && heap_push(t, (heap_entry){t->pairs[k].count, l, r}))
            return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
    }
    if (t->spec.digit_pairs)
        HS_TRY(digit_block(t, err));
    int target = t->spec.vocab_size - 1; /* the last id is <|endoftext|> */
    while (t->n_tokens < target && t->n_heap > 0) {
        heap_entry e = heap_pop(t);
        pair *p = pair_find(t, e.left, e.right);
        if (!p || p->count != e.count)
            continue; /* stale */
        if (e.count < t->spec.min_count)
            break;
        int32_t id = token_for(t, e.left, e.right, err);
        if (id < 0)
            return hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
        HS_TRY(apply_merge(t, e.left, e.right, id, err));
    }
    for (int i = 0; i < t->spec.n_forced; i++) {
        const char *s = t->spec.forced[i];
        int32_t w = hs_vocab_find(&t->word_text, s, strlen(s));
        if (w >= 0 && t->words[w].n != 1)
            return hs_fail(err, HS_ERR_ARG,
                           "tokenizer training: forced token \"%.64s\" is still %d tokens when the vocabulary is full "
                           "(%d): raise the vocabulary size or force fewer tokens",
                           s, t->words[w].n, t->spec.vocab_size);
    }
    return HS_OK;
}

/* ---------------------------------------------------------------- results */

void hs_bpe_trainer_stats(const hs_bpe_trainer *t, hs_bpe_train_stats *out)
{
    out->vocab_size = t->trained ? t->n_tokens + 1 : 0;
    out->n_merges = t->n_merges;
    out->n_pretokens = t->n_pretokens;
    out->n_distinct = t->n_words;
    out->n_bytes = t->n_bytes;
}

int64_t hs_bpe_trainer_corpus_tokens(const hs_bpe_trainer *t)
{
    int64_t n = 0;
    for (int w = 0; w < t->n_words; w++)
        n += (int64_t)t->words[w].n * (t->words[w].count - t->words[w].boost);
    return n;
}

const char *hs_bpe_trainer_token(const hs_bpe_trainer *t, int32_t id, size_t *len)
{
    if (id == t->n_tokens && t->trained) {
        if (len)
            *len = EOT_LEN;
        return EOT;
    }
    return id >= 0 && id < t->n_tokens ? hs_vocab_piece(&t->tokens, id, len) : NULL;
}

void hs_bpe_trainer_merge(const hs_bpe_trainer *t, int i, int32_t *left, int32_t *right)
{
    *left = t->merges[i][0];
    *right = t->merges[i][1];
}

/* Token id in the byte-level alphabet, as a new JSON string. */
static json_t *mapped(const hs_bpe_trainer *t, int32_t id)
{
    size_t n;
    const char *s = hs_vocab_piece(&t->tokens, id, &n);
    char *buf = malloc(2 * n + 1);
    if (!buf)
        return NULL;
    size_t m = hs_byte_level_encode((const uint8_t *)s, n, buf);
    json_t *j = json_stringn(buf, m);
    free(buf);
    return j;
}

static json_t *byte_level(const char *type)
{
    return json_pack("{s:s, s:b, s:b, s:b}", "type", type, "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1);
}

hs_status hs_bpe_trainer_write_json(const hs_bpe_trainer *t, const char *path, hs_error *err)
{
    if (!t->trained)
        return hs_fail(err, HS_ERR_ARG, "tokenizer training: nothing trained to write");
    hs_status st = HS_OK;
    json_t *root = NULL, *vocab = json_object(), *merges = json_array();
    if (!vocab || !merges)
        goto nomem;
    for (int32_t id = 0; id < t->n_tokens; id++) {
        json_t *k = mapped(t, id);
        if (!k || json_object_set_new(vocab, json_string_value(k), json_integer(id))) {
            json_decref(k);
            goto nomem;
        }
        json_decref(k);
    }
    if (json_object_set_new(vocab, EOT, json_integer(t->n_tokens)))
        goto nomem;
    for (int i = 0; i < t->n_merges; i++) {
        json_t *l = mapped(t, t->merges[i][0]), *r = mapped(t, t->merges[i][1]);
        char *m = l && r ? malloc(json_string_length(l) + json_string_length(r) + 2) : NULL;
        if (m) {
            size_t nl = json_string_length(l);
            memcpy(m, json_string_value(l), nl);
            m[nl] = ' ';
            memcpy(m + nl + 1, json_string_value(r), json_string_length(r) + 1);
        }
        json_decref(l);
        json_decref(r);
        if (!m || json_array_append_new(merges, json_string(m))) {
            free(m);
            goto nomem;
        }
        free(m);
    }
    json_t *model = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout",
                              "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
                              "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges", merges);
    vocab = merges = NULL;
    json_t *eot = json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", t->n_tokens, "content", EOT, "single_word", 0,
                            "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1);
    root = json_pack("{s:s, s:n, s:n, s:[o], s:n, s:o, s:o, s:o, s:o}", "version", "1.0", "truncation", "padding",
                     "added_tokens", eot, "normalizer", "pre_tokenizer", byte_level("ByteLevel"), "post_processor",
                     byte_level("ByteLevel"), "decoder", byte_level("ByteLevel"), "model", model);
    if (!root)
        goto nomem;
    if (json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0)
        st = hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    goto done;
nomem:
    st = hs_fail(err, HS_ERR_NOMEM, "tokenizer training: out of memory");
done:
    json_decref(vocab);
    json_decref(merges);
    json_decref(root);
    return st;
}
