/* repeated_blocks.h — the repeated-random-block prompt set: each prompt is an optional BOS followed
 * by `copies` copies of one block of random tokens (RazorAttention's retrieval-head probe: BOS + 4
 * copies; TransformerLens's induction probe: [BOS, seq, seq], i.e. 2 copies). Prompts are written
 * as JSONL with explicit token ids ("tokens") and their layout in "meta":
 *   {"id": "rep-0000", "tokens": [50256, 812, ...],
 *    "meta": {"set": "repeated_blocks", "offset": 1, "block_len": 16, "copies": 4, "seed": 0}}
 * offset is where the first copy starts (1 after a BOS, else 0). The same spec and seed always give
 * the same file. */
#ifndef HS_DATASETS_REPEATED_BLOCKS_H
#define HS_DATASETS_REPEATED_BLOCKS_H

#include <stdint.h>

#include "headscope.h"

typedef struct hs_repeated_blocks_spec {
    int n_prompts;
    int block_len;          /* L, tokens per block */
    int copies;             /* 4 (RazorAttention), 2 (TransformerLens induction) */
    int32_t bos_id;         /* prepended when >= 0 */
    int32_t lo, hi;         /* tokens are drawn from ids [lo, hi) ... */
    const int32_t *exclude; /* ... except these (special tokens: BOS, EOS), n_exclude of them */
    int n_exclude;
    const int32_t *pool;    /* when n_pool > 0: draw from these ids instead of [lo, hi) (still minus */
    int n_pool;             /* exclude; duplicates count once), e.g. the words a small model was trained on */
    uint64_t seed;
} hs_repeated_blocks_spec;

/* Writes the prompt set to `path`. Within a block the tokens are distinct (drawn without
 * replacement), so every query in the first copy has no earlier copy of its token: an exact
 * planted truth for duplicate and induction heads. HS_ERR_ARG when the pool holds fewer than
 * block_len ids. */
hs_status hs_repeated_blocks_write(const char *path, const hs_repeated_blocks_spec *spec, hs_error *err);

/* The layout a prompt's meta declares. */
typedef struct hs_repeat_layout {
    int offset, block_len, copies;
} hs_repeat_layout;

/* Reads "offset", "block_len" and "copies" from a prompt's meta JSON (may be NULL). *found = 0 when
 * the meta does not declare repeated blocks (block_len or copies absent). When it does, the tokens
 * ids [T] must repeat as declared and fit in T: otherwise HS_ERR_FORMAT says where they differ. */
hs_status hs_repeat_layout_read(const char *meta_json, const int32_t *ids, int T, hs_repeat_layout *out,
                                int *found, hs_error *err);

#endif
