/* bpe.h — the BPE model shared by every tokenizer format: a vocabulary of pieces, a table of
 * ranked merges, and the merge loop that turns one pre-tokenized word into ids.
 *
 * Workload: vocabularies of 10^3..10^6 pieces loaded once; then many short words (a few bytes
 * each for byte-level BPE) or, for llama2.c, one long word holding the whole text. The merge
 * loop is a heap over adjacent pairs, O(n log n) in the word length. */
#ifndef HS_TOKENIZER_BPE_H
#define HS_TOKENIZER_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "headscope.h"

/* Ids at or above this are a format error: no real vocabulary comes near it, and it keeps a
 * corrupt id from turning into a huge allocation. */
#define HS_VOCAB_MAX_ID (1 << 24)

/* A growable array of ids. Zero-initialise; free(v) when done. */
typedef struct hs_ids {
    int32_t *v;
    size_t n, cap;
} hs_ids;

hs_status hs_ids_push(hs_ids *ids, int32_t id);

/* ---------------------------------------------------------------- vocabulary (bpe_vocab.c) */

/* id -> piece for every id, and piece -> id for the pieces the model may look up.
 * Ids 0..n-1; an id that was never set is a hole (a format may leave gaps). Pieces are stored
 * NUL-terminated in one pool and may themselves contain NUL bytes (lengths are kept). */
typedef struct hs_vocab {
    int32_t n;            /* one past the largest id set */
    int32_t cap;          /* allocated length of off/len */
    uint32_t *off, *len;  /* [cap]: piece of id i is pool + off[i], len[i] bytes; off = UINT32_MAX: hole */
    char *pool;
    size_t pool_len, pool_cap;
    int32_t *slots;       /* open-addressing table of ids keyed by their piece; -1 = empty */
    uint32_t n_slots;     /* a power of two (0 before the first insert) */
    uint32_t n_indexed;
} hs_vocab;

/* Sets the piece of `id` (0 <= id < HS_VOCAB_MAX_ID). When `indexed`, the piece also becomes
 * findable with hs_vocab_find unless an earlier id already has the same piece (the first wins).
 * Setting an id twice is an error unless the piece is identical (added tokens repeat vocabulary
 * entries); err then names the id and both pieces, and the caller prefixes the file and field. */
hs_status hs_vocab_set(hs_vocab *v, int32_t id, const char *s, size_t n, int indexed, hs_error *err);
/* The id of an indexed piece, or -1. */
int32_t hs_vocab_find(const hs_vocab *v, const char *s, size_t n);
/* The piece of `id` (NUL-terminated; *len_out gets its length when not NULL), or NULL for an
 * id out of range or a hole. The pointer is valid until the next hs_vocab_set. */
const char *hs_vocab_piece(const hs_vocab *v, int32_t id, size_t *len_out);
void hs_vocab_free(hs_vocab *v);

/* ---------------------------------------------------------------- merges and the merge loop (bpe.c) */

/* How a word is cut into the initial symbols that merges then join. */
typedef enum hs_bpe_alphabet {
    HS_BPE_CHARS = 0, /* each UTF-8 character is looked up as a piece; a missing one becomes its
                         <0xNN> byte tokens (byte_fallback), else unk, else nothing (as HF does) */
    HS_BPE_BYTES,     /* byte-level BPE: the word holds raw bytes, each byte is byte_sym[byte] */
    HS_BPE_LLAMA2C    /* llama2.c: a lead byte with up to 3 following continuation bytes is looked up
                         as a piece; a missing one becomes ids byte + 3 */
} hs_bpe_alphabet;

typedef struct hs_bpe_merge_slot {
    int32_t left, right; /* left = -1: empty slot */
    int32_t rank;        /* lower merges first; equal ranks merge leftmost first */
    int32_t merged;
} hs_bpe_merge_slot;

typedef struct hs_bpe {
    hs_vocab vocab;
    hs_bpe_merge_slot *merges;
    uint32_t n_merge_slots, n_merges;
    hs_bpe_alphabet alphabet;
    int32_t byte_sym[256]; /* HS_BPE_BYTES: the id of each byte's piece, or -1 */
    int32_t fallback[256]; /* byte tokens: <0xNN> (byte_fallback) or byte + 3 (llama2.c); -1 if none */
    int byte_fallback;
    int32_t unk_id;        /* -1 when none */
    int fuse_unk;          /* consecutive unknown characters become one unk */
    int ignore_merges;     /* a word that is itself a piece is emitted whole, before any merge */
} hs_bpe;

/* An empty model: CHARS alphabet, no unk, every byte table entry -1. */
void hs_bpe_init(hs_bpe *b);
void hs_bpe_free(hs_bpe *b);

/* Records that the pair (left, right) merges into `merged` with priority `rank`. A pair given
 * twice keeps the later entry, as Hugging Face's loader does. */
hs_status hs_bpe_add_merge(hs_bpe *b, int32_t left, int32_t right, int32_t rank, int32_t merged);
/* The merge of a pair, or NULL. */
const hs_bpe_merge_slot *hs_bpe_find_merge(const hs_bpe *b, int32_t left, int32_t right);

/* Per-call scratch for hs_bpe_encode (symbols, heap, and a cache of word results). The model
 * itself is read-only while encoding, so several threads may encode with their own scratch. */
typedef struct hs_bpe_work hs_bpe_work;

hs_bpe_work *hs_bpe_work_new(void);
void hs_bpe_work_free(hs_bpe_work *w);

/* Appends the ids of one word (n bytes) to out. Words of the BYTES alphabet are raw bytes;
 * the others are UTF-8 (LLAMA2C tolerates any bytes). HS_ERR_NOMEM is the only failure. */
hs_status hs_bpe_encode(const hs_bpe *b, hs_bpe_work *w, const char *word, size_t n, hs_ids *out);

#endif
