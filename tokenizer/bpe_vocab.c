/* bpe_vocab.c — the tokenizer vocabulary: id -> piece in one string pool, piece -> id by hashing. */
#include "tokenizer/bpe.h"
#include "base/error.h"

#include <stdlib.h>
#include <string.h>

#define NO_PIECE UINT32_MAX

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a final mix so low bits spread */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static int piece_equals(const hs_vocab *v, int32_t id, const char *s, size_t n)
{
    return v->len[id] == n && memcmp(v->pool + v->off[id], s, n) == 0;
}

int32_t hs_vocab_find(const hs_vocab *v, const char *s, size_t n)
{
    if (v->n_slots == 0)
        return -1;
    uint32_t mask = v->n_slots - 1;
    for (uint32_t i = (uint32_t)hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        int32_t id = v->slots[i];
        if (id < 0)
            return -1;
        if (piece_equals(v, id, s, n))
            return id;
    }
}

static void slot_insert(int32_t *slots, uint32_t n_slots, const hs_vocab *v, int32_t id)
{
    uint32_t mask = n_slots - 1;
    uint32_t i = (uint32_t)hash_bytes(v->pool + v->off[id], v->len[id]) & mask;
    while (slots[i] >= 0)
        i = (i + 1) & mask;
    slots[i] = id;
}

/* Keeps the table at most half full. */
static hs_status grow_slots(hs_vocab *v)
{
    if ((v->n_indexed + 1) * 2 <= v->n_slots)
        return HS_OK;
    uint32_t n_slots = v->n_slots ? v->n_slots * 2 : 1024;
    int32_t *slots = malloc((size_t)n_slots * sizeof *slots);
    if (!slots)
        return HS_ERR_NOMEM;
    memset(slots, 0xff, (size_t)n_slots * sizeof *slots);
    for (uint32_t i = 0; i < v->n_slots; i++)
        if (v->slots[i] >= 0)
            slot_insert(slots, n_slots, v, v->slots[i]);
    free(v->slots);
    v->slots = slots;
    v->n_slots = n_slots;
    return HS_OK;
}

static hs_status grow_ids(hs_vocab *v, int32_t id)
{
    if (id < v->cap)
        return HS_OK;
    int32_t cap = v->cap ? v->cap : 256;
    while (cap <= id)
        cap = cap > HS_VOCAB_MAX_ID / 2 ? HS_VOCAB_MAX_ID : cap * 2;
    uint32_t *off = realloc(v->off, (size_t)cap * sizeof *off);
    if (!off)
        return HS_ERR_NOMEM;
    v->off = off;
    uint32_t *len = realloc(v->len, (size_t)cap * sizeof *len);
    if (!len)
        return HS_ERR_NOMEM;
    v->len = len;
    for (int32_t i = v->cap; i < cap; i++) {
        v->off[i] = NO_PIECE;
        v->len[i] = 0;
    }
    v->cap = cap;
    return HS_OK;
}

static hs_status pool_append(hs_vocab *v, const char *s, size_t n, uint32_t *off_out)
{
    if (v->pool_len + n + 1 >= NO_PIECE)
        return HS_ERR_NOMEM;
    if (v->pool_len + n + 1 > v->pool_cap) {
        size_t cap = v->pool_cap ? v->pool_cap : 1 << 16;
        while (cap < v->pool_len + n + 1)
            cap *= 2;
        char *pool = realloc(v->pool, cap);
        if (!pool)
            return HS_ERR_NOMEM;
        v->pool = pool;
        v->pool_cap = cap;
    }
    memcpy(v->pool + v->pool_len, s, n);
    v->pool[v->pool_len + n] = '\0';
    *off_out = (uint32_t)v->pool_len;
    v->pool_len += n + 1;
    return HS_OK;
}

hs_status hs_vocab_set(hs_vocab *v, int32_t id, const char *s, size_t n, int indexed, hs_error *err)
{
    if (id < 0 || id >= HS_VOCAB_MAX_ID)
        return hs_fail(err, HS_ERR_FORMAT, "id %d is out of range (0..%d)", id, HS_VOCAB_MAX_ID - 1);
    if (grow_ids(v, id) != HS_OK)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (v->off[id] != NO_PIECE) {
        if (piece_equals(v, id, s, n))
            return HS_OK;
        return hs_fail(err, HS_ERR_FORMAT, "id %d is given to both \"%.*s\" and \"%.*s\"", id,
                       (int)(v->len[id] > 64 ? 64 : v->len[id]), v->pool + v->off[id],
                       (int)(n > 64 ? 64 : n), s);
    }
    if (pool_append(v, s, n, &v->off[id]) != HS_OK)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    v->len[id] = (uint32_t)n;
    if (id >= v->n)
        v->n = id + 1;
    if (indexed && hs_vocab_find(v, s, n) < 0) {
        if (grow_slots(v) != HS_OK)
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
        slot_insert(v->slots, v->n_slots, v, id);
        v->n_indexed++;
    }
    return HS_OK;
}

const char *hs_vocab_piece(const hs_vocab *v, int32_t id, size_t *len_out)
{
    if (id < 0 || id >= v->n || v->off[id] == NO_PIECE)
        return NULL;
    if (len_out)
        *len_out = v->len[id];
    return v->pool + v->off[id];
}

void hs_vocab_free(hs_vocab *v)
{
    free(v->off);
    free(v->len);
    free(v->pool);
    free(v->slots);
    memset(v, 0, sizeof *v);
}
