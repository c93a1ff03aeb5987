/* bpe.c — ranked merges and the merge loop: a word's initial symbols are joined pair by pair,
 * always the lowest-ranked adjacent pair first (leftmost on ties), as Hugging Face's BPE does.
 * The loop keeps a min-heap of candidate pairs and skips entries made stale by earlier merges,
 * so a word of n symbols costs O(n log n). */
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"

#include <stdlib.h>
#include <string.h>

hs_status hs_ids_push(hs_ids *ids, int32_t id)
{
    if (ids->n == ids->cap) {
        size_t cap = ids->cap ? ids->cap * 2 : 64;
        int32_t *v = realloc(ids->v, cap * sizeof *v);
        if (!v)
            return HS_ERR_NOMEM;
        ids->v = v;
        ids->cap = cap;
    }
    ids->v[ids->n++] = id;
    return HS_OK;
}

/* ---------------------------------------------------------------- the merge table */

static uint32_t hash_pair(int32_t left, int32_t right)
{
    uint64_t x = ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

void hs_bpe_init(hs_bpe *b)
{
    memset(b, 0, sizeof *b);
    b->alphabet = HS_BPE_CHARS;
    b->unk_id = -1;
    for (int i = 0; i < 256; i++)
        b->byte_sym[i] = b->fallback[i] = -1;
}

void hs_bpe_free(hs_bpe *b)
{
    hs_vocab_free(&b->vocab);
    free(b->merges);
    hs_bpe_init(b);
}

static hs_bpe_merge_slot *probe(hs_bpe_merge_slot *slots, uint32_t n_slots, int32_t left, int32_t right)
{
    uint32_t mask = n_slots - 1;
    for (uint32_t i = hash_pair(left, right) & mask;; i = (i + 1) & mask)
        if (slots[i].left < 0 || (slots[i].left == left && slots[i].right == right))
            return &slots[i];
}

const hs_bpe_merge_slot *hs_bpe_find_merge(const hs_bpe *b, int32_t left, int32_t right)
{
    if (b->n_merge_slots == 0)
        return NULL;
    const hs_bpe_merge_slot *s = probe(b->merges, b->n_merge_slots, left, right);
    return s->left < 0 ? NULL : s;
}

hs_status hs_bpe_add_merge(hs_bpe *b, int32_t left, int32_t right, int32_t rank, int32_t merged)
{
    if ((b->n_merges + 1) * 2 > b->n_merge_slots) { /* keep the table at most half full */
        uint32_t n_slots = b->n_merge_slots ? b->n_merge_slots * 2 : 1024;
        hs_bpe_merge_slot *slots = malloc((size_t)n_slots * sizeof *slots);
        if (!slots)
            return HS_ERR_NOMEM;
        for (uint32_t i = 0; i < n_slots; i++)
            slots[i].left = -1;
        for (uint32_t i = 0; i < b->n_merge_slots; i++)
            if (b->merges[i].left >= 0)
                *probe(slots, n_slots, b->merges[i].left, b->merges[i].right) = b->merges[i];
        free(b->merges);
        b->merges = slots;
        b->n_merge_slots = n_slots;
    }
    hs_bpe_merge_slot *s = probe(b->merges, b->n_merge_slots, left, right);
    if (s->left < 0)
        b->n_merges++;
    *s = (hs_bpe_merge_slot){left, right, rank, merged};
    return HS_OK;
}

/* ---------------------------------------------------------------- per-call scratch */

typedef struct symbol {
    int32_t id;         /* -1 once merged into its left neighbour */
    int32_t prev, next; /* neighbours in the word, -1 at the ends */
} symbol;

typedef struct candidate {
    int32_t rank, pos, merged; /* pos: index of the pair's left symbol */
} candidate;

/* Words up to this many bytes have their ids cached for the rest of the call. */
#define CACHE_MAX_WORD 256
#define CACHE_MAX_ENTRIES (1u << 16)

typedef struct cache_entry {
    uint64_t hash;
    uint32_t key_off, key_len; /* into keys */
    uint32_t ids_off, ids_n;   /* into ids; key_len == UINT32_MAX: empty */
} cache_entry;

struct hs_bpe_work {
    symbol *sym;
    size_t n_sym, cap_sym;
    candidate *heap;
    size_t n_heap, cap_heap;
    char *mapped; /* byte-level words in mapped characters, for ignore_merges */
    size_t cap_mapped;
    cache_entry *cache;
    uint32_t n_cache_slots, n_cached;
    char *keys;
    size_t n_keys, cap_keys;
    hs_ids cache_ids;
};

hs_bpe_work *hs_bpe_work_new(void)
{
    return calloc(1, sizeof(hs_bpe_work));
}

void hs_bpe_work_free(hs_bpe_work *w)
{
    if (!w)
        return;
    free(w->sym);
    free(w->heap);
    free(w->mapped);
    free(w->cache);
    free(w->keys);
    free(w->cache_ids.v);
    free(w);
}

static hs_status push_symbol(hs_bpe_work *w, int32_t id)
{
    if (w->n_sym == w->cap_sym) {
        size_t cap = w->cap_sym ? w->cap_sym * 2 : 256;
        symbol *s = realloc(w->sym, cap * sizeof *s);
        if (!s)
            return HS_ERR_NOMEM;
        w->sym = s;
        w->cap_sym = cap;
    }
    int32_t i = (int32_t)w->n_sym++;
    w->sym[i] = (symbol){id, i - 1, -1};
    if (i > 0)
        w->sym[i - 1].next = i;
    return HS_OK;
}

/* ---------------------------------------------------------------- initial symbols */

static size_t utf8_char_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80 ? 1 : p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC0 ? 2 : 1;
    return len > n ? n : len;
}

/* A character missing from the vocabulary: its <0xNN> byte tokens when byte fallback has all
 * of them; else an unknown (left pending in *unk_pending so that runs can fuse); else dropped. */
static hs_status missing_char(const hs_bpe *b, hs_bpe_work *w, const unsigned char *c, size_t len,
                              int *unk_pending)
{
    if (b->byte_fallback) {
        size_t i = 0;
        while (i < len && b->fallback[c[i]] >= 0)
            i++;
        if (i == len) {
            for (i = 0; i < len; i++)
                if (push_symbol(w, b->fallback[c[i]]) != HS_OK)
                    return HS_ERR_NOMEM;
            return HS_OK;
        }
    }
    if (b->unk_id >= 0) {
        if (*unk_pending && !b->fuse_unk && push_symbol(w, b->unk_id) != HS_OK)
            return HS_ERR_NOMEM;
        *unk_pending = 1;
    }
    return HS_OK;
}

static hs_status known_char(const hs_bpe *b, hs_bpe_work *w, int32_t id, int *unk_pending)
{
    if (*unk_pending) {
        *unk_pending = 0;
        if (push_symbol(w, b->unk_id) != HS_OK)
            return HS_ERR_NOMEM;
    }
    return push_symbol(w, id);
}

static hs_status initial_symbols(const hs_bpe *b, hs_bpe_work *w, const unsigned char *p, size_t n)
{
    int unk_pending = 0;
    hs_status st = HS_OK;
    w->n_sym = 0;
    for (size_t i = 0; i < n && st == HS_OK;) {
        if (b->alphabet == HS_BPE_BYTES) {
            if (b->byte_sym[p[i]] >= 0) {
                st = known_char(b, w, b->byte_sym[p[i]], &unk_pending);
            } else {
                char mapped[2];
                size_t len = hs_byte_level_encode(&p[i], 1, mapped);
                st = missing_char(b, w, (const unsigned char *)mapped, len, &unk_pending);
            }
            i++;
        } else if (b->alphabet == HS_BPE_CHARS) {
            size_t len = utf8_char_len(p + i, n - i);
            int32_t id = hs_vocab_find(&b->vocab, (const char *)p + i, len);
            st = id >= 0 ? known_char(b, w, id, &unk_pending) : missing_char(b, w, p + i, len, &unk_pending);
            i += len;
        } else { /* llama2.c: a byte and the continuation bytes after it, at most 4 in all */
            size_t len = 1;
            while (len < 4 && i + len < n && (p[i + len] & 0xC0) == 0x80)
                len++;
            int32_t id = hs_vocab_find(&b->vocab, (const char *)p + i, len);
            if (id >= 0)
                st = push_symbol(w, id);
            for (size_t k = 0; id < 0 && k < len && st == HS_OK; k++)
                st = push_symbol(w, b->fallback[p[i + k]]);
            i += len;
        }
    }
    if (st == HS_OK && unk_pending)
        st = push_symbol(w, b->unk_id);
    return st;
}

/* ---------------------------------------------------------------- the merge loop */

static int before(const candidate *a, const candidate *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static hs_status heap_push(hs_bpe_work *w, candidate c)
{
    if (w->n_heap == w->cap_heap) {
        size_t cap = w->cap_heap ? w->cap_heap * 2 : 256;
        candidate *h = realloc(w->heap, cap * sizeof *h);
        if (!h)
            return HS_ERR_NOMEM;
        w->heap = h;
        w->cap_heap = cap;
    }
    size_t i = w->n_heap++;
    while (i > 0 && before(&c, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = c;
    return HS_OK;
}

static candidate heap_pop(hs_bpe_work *w)
{
    candidate top = w->heap[0], last = w->heap[--w->n_heap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= w->n_heap)
            break;
        if (c + 1 < w->n_heap && before(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!before(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->n_heap > 0)
        w->heap[i] = last;
    return top;
}

/* Queues the pair starting at symbol `pos`, if it has a right neighbour and a merge. */
static hs_status queue_pair(const hs_bpe *b, hs_bpe_work *w, int32_t pos)
{
    int32_t next = w->sym[pos].next;
    if (next < 0)
        return HS_OK;
    const hs_bpe_merge_slot *m = hs_bpe_find_merge(b, w->sym[pos].id, w->sym[next].id);
    return m ? heap_push(w, (candidate){m->rank, pos, m->merged}) : HS_OK;
}

static hs_status merge_all(const hs_bpe *b, hs_bpe_work *w)
{
    w->n_heap = 0;
    for (size_t i = 0; i + 1 < w->n_sym; i++)
        if (queue_pair(b, w, (int32_t)i) != HS_OK)
            return HS_ERR_NOMEM;
    while (w->n_heap > 0) {
        candidate c = heap_pop(w);
        symbol *s = &w->sym[c.pos];
        if (s->id < 0 || s->next < 0)
            continue;
        symbol *r = &w->sym[s->next];
        const hs_bpe_merge_slot *m = hs_bpe_find_merge(b, s->id, r->id);
        if (!m || m->merged != c.merged)
            continue; /* stale: one side has changed since this pair was queued */
        s->id = c.merged;
        s->next = r->next;
        if (r->next >= 0)
            w->sym[r->next].prev = c.pos;
        r->id = -1;
        if ((s->prev >= 0 && queue_pair(b, w, s->prev) != HS_OK) || queue_pair(b, w, c.pos) != HS_OK)
            return HS_ERR_NOMEM;
    }
    return HS_OK;
}

/* ---------------------------------------------------------------- the word cache */

static uint64_t hash_word(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 31);
}

static cache_entry *cache_slot(const hs_bpe_work *w, uint64_t h, const char *s, size_t n)
{
    uint32_t mask = w->n_cache_slots - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        cache_entry *e = &w->cache[i];
        if (e->key_len == UINT32_MAX ||
            (e->hash == h && e->key_len == n && memcmp(w->keys + e->key_off, s, n) == 0))
            return e;
    }
}

/* Doubles the table (from 1024 slots) so that it stays at most half full. */
static int cache_grow(hs_bpe_work *w)
{
    uint32_t n_slots = w->n_cache_slots ? w->n_cache_slots * 2 : 1024;
    cache_entry *old = w->cache;
    uint32_t n_old = w->n_cache_slots;
    w->cache = malloc((size_t)n_slots * sizeof *w->cache);
    if (!w->cache) {
        w->cache = old;
        return 0;
    }
    w->n_cache_slots = n_slots;
    for (uint32_t i = 0; i < n_slots; i++)
        w->cache[i].key_len = UINT32_MAX;
    for (uint32_t i = 0; i < n_old; i++)
        if (old[i].key_len != UINT32_MAX)
            *cache_slot(w, old[i].hash, NULL, SIZE_MAX) = old[i]; /* keys are distinct: probe for a free slot */
    free(old);
    return 1;
}

/* Remembers ids[from..] as the result of word s. Failing to remember is not an error. */
static void cache_put(hs_bpe_work *w, uint64_t h, const char *s, size_t n, const hs_ids *ids, size_t from)
{
    if (w->n_cached >= CACHE_MAX_ENTRIES)
        return;
    if ((w->n_cached + 1) * 2 > w->n_cache_slots && !cache_grow(w))
        return;
    if (w->n_keys + n > w->cap_keys) {
        size_t cap = w->cap_keys ? w->cap_keys * 2 : 1 << 14;
        while (cap < w->n_keys + n)
            cap *= 2;
        char *k = realloc(w->keys, cap);
        if (!k)
            return;
        w->keys = k;
        w->cap_keys = cap;
    }
    size_t ids_off = w->cache_ids.n;
    for (size_t i = from; i < ids->n; i++)
        if (hs_ids_push(&w->cache_ids, ids->v[i]) != HS_OK) {
            w->cache_ids.n = ids_off;
            return;
        }
    cache_entry *e = cache_slot(w, h, s, n);
    memcpy(w->keys + w->n_keys, s, n);
    *e = (cache_entry){h, (uint32_t)w->n_keys, (uint32_t)n, (uint32_t)ids_off, (uint32_t)(ids->n - from)};
    w->n_keys += n;
    w->n_cached++;
}

/* ---------------------------------------------------------------- one word */

/* ignore_merges: the id of the whole word when it is itself a piece, else -1. */
static int32_t whole_word(const hs_bpe *b, hs_bpe_work *w, const char *word, size_t n)
{
    if (b->alphabet != HS_BPE_BYTES)
        return hs_vocab_find(&b->vocab, word, n);
    if (2 * n > w->cap_mapped) {
        char *m = realloc(w->mapped, 2 * n);
        if (!m)
            return -1; /* only a shortcut: the merge loop gives the same answer */
        w->mapped = m;
        w->cap_mapped = 2 * n;
    }
    size_t len = hs_byte_level_encode((const uint8_t *)word, n, w->mapped);
    return hs_vocab_find(&b->vocab, w->mapped, len);
}

hs_status hs_bpe_encode(const hs_bpe *b, hs_bpe_work *w, const char *word, size_t n, hs_ids *out)
{
    if (n == 0)
        return HS_OK;
    if (b->ignore_merges) {
        int32_t id = whole_word(b, w, word, n);
        if (id >= 0)
            return hs_ids_push(out, id);
    }
    int cacheable = n <= CACHE_MAX_WORD;
    uint64_t h = 0;
    if (cacheable && w->n_cached > 0) {
        h = hash_word(word, n);
        const cache_entry *e = cache_slot(w, h, word, n);
        if (e->key_len != UINT32_MAX) {
            for (uint32_t i = 0; i < e->ids_n; i++)
                if (hs_ids_push(out, w->cache_ids.v[e->ids_off + i]) != HS_OK)
                    return HS_ERR_NOMEM;
            return HS_OK;
        }
    } else if (cacheable) {
        h = hash_word(word, n);
    }
    if (initial_symbols(b, w, (const unsigned char *)word, n) != HS_OK || merge_all(b, w) != HS_OK)
        return HS_ERR_NOMEM;
    size_t from = out->n;
    for (int32_t i = w->n_sym ? 0 : -1; i >= 0; i = w->sym[i].next)
        if (hs_ids_push(out, w->sym[i].id) != HS_OK)
            return HS_ERR_NOMEM;
    if (cacheable)
        cache_put(w, h, word, n, out, from);
    return HS_OK;
}
