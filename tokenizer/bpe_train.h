/* bpe_train.h — training a byte-level BPE tokenizer (GPT-2 style) on a text corpus and writing it
 * as a Hugging Face tokenizer.json that hs_tokenizer_open (and HF `tokenizers`) loads.
 *
 * Workload: a few MB of text, a few 10^4 distinct pre-tokens, vocabularies of 10^3..10^4. Text is
 * cut at "<|endoftext|>" (never learned, always the last id), each part pre-tokenized with the
 * GPT-2 regex (hs_gpt2_split_pattern, no prefix space), and distinct pre-tokens are counted once
 * with their multiplicity. Training then repeats: merge the most frequent adjacent pair. Pair counts
 * are kept up to date incrementally: each pair knows the words it occurs in, and a merge rewrites
 * only those words. The best pair comes from a max-heap with lazy deletion (an entry whose count is
 * no longer the pair's is skipped).
 *
 * The vocabulary, in id order:
 *   0..255          the bytes: id b is byte b (written in GPT-2's byte-to-character map, " " = "Ġ");
 *   256..           the merges' tokens, in merge order (a merge that spells an existing token reuses
 *                   its id, as HF does);
 *   vocab_size - 1  <|endoftext|> (an added, special token).
 *
 * Rules that make the result fit the project's tasks (each documented where set in the spec):
 *   - Numbers (digit_pairs): the first 210 merges are fixed: " " + d (10), " d" + e (100), d + e
 *     (100), for ASCII digits d, e. Afterwards no merge may involve a token holding a digit. So
 *     every token with a digit is one of d, dd, " d", " dd", and numbers split into two-digit
 *     pieces from the left after an optional space: " 1745" -> " 17" "45", "1745" -> "17" "45"
 *     (the second group outranks the third, so the space-led pair forms first). Greater-than's
 *     years and arithmetic's results need exactly this.
 *   - Forced tokens: pre-tokens (e.g. " Mary") that must come out whole. They are counted as if
 *     seen 2^40 times, so the merges that build them come first; training fails when the
 *     vocabulary is too small to build them all.
 *   - Ties between pairs of equal count go to the smaller pair: the left token's bytes compared
 *     lexicographically (a prefix first), then the right token's. Training is deterministic.
 *
 * Encoding a training pre-token with the learned merges (lowest rank first) gives the segmentation
 * training reached for it, so a forced token encodes as one id. */
#ifndef HS_TOKENIZER_BPE_TRAIN_H
#define HS_TOKENIZER_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "headscope.h"

typedef struct hs_bpe_train_spec {
    int vocab_size;           /* total, <|endoftext|> included: >= 257 (>= 467 with digit_pairs) */
    int digit_pairs;          /* 1: the fixed number merges above */
    int64_t min_count;        /* stop when the best pair occurs fewer times (0 means 2) */
    const char *const *forced; /* [n_forced] UTF-8 strings that must each be one token; each must be
                                  a single GPT-2 pre-token (" Mary", not "Mary Ann") */
    int n_forced;
} hs_bpe_train_spec;

/* What training reached. */
typedef struct hs_bpe_train_stats {
    int vocab_size;           /* ids written, <|endoftext|> included (< spec when pairs ran out) */
    int n_merges;             /* merges written (digit block included) */
    int64_t n_pretokens;      /* pre-tokens fed (with multiplicity) */
    int64_t n_distinct;       /* distinct pre-tokens */
    int64_t n_bytes;          /* bytes fed */
} hs_bpe_train_stats;

typedef struct hs_bpe_trainer hs_bpe_trainer;

/* A trainer for spec (copied, forced strings included). HS_ERR_ARG when the spec is impossible
 * (vocabulary too small, a forced string that is not one pre-token). On failure *out is NULL. */
hs_status hs_bpe_trainer_new(const hs_bpe_train_spec *spec, hs_bpe_trainer **out, hs_error *err);
/* Frees the trainer; NULL is a no-op. */
void hs_bpe_trainer_free(hs_bpe_trainer *t);

/* Counts the pre-tokens of text[0..n) (valid UTF-8; "<|endoftext|>" separates documents). May be
 * called many times before training; a call must not cut a document in two. HS_ERR_FORMAT names the
 * offset of invalid UTF-8 (nothing of that call is counted). */
hs_status hs_bpe_trainer_feed(hs_bpe_trainer *t, const char *text, size_t n, hs_error *err);

/* Learns the merges (once). HS_ERR_ARG when a forced token did not become one token within the
 * vocabulary size. */
hs_status hs_bpe_trainer_train(hs_bpe_trainer *t, hs_error *err);

/* After training: the statistics, the raw bytes of token `id` (NULL when out of range; valid while
 * the trainer lives), and merge i's left and right ids (0 <= i < n_merges). */
void hs_bpe_trainer_stats(const hs_bpe_trainer *t, hs_bpe_train_stats *out);
const char *hs_bpe_trainer_token(const hs_bpe_trainer *t, int32_t id, size_t *len);
void hs_bpe_trainer_merge(const hs_bpe_trainer *t, int i, int32_t *left, int32_t *right);
/* After training: how many tokens the fed text is, "<|endoftext|>" not counted, as training
 * segmented it. Encoding the same text with the written tokenizer must give as many. */
int64_t hs_bpe_trainer_corpus_tokens(const hs_bpe_trainer *t);

/* Writes the trained tokenizer as tokenizer.json: model BPE (vocab, merges as "left right" in the
 * byte-level alphabet), ByteLevel pre-tokenizer (no prefix space, GPT-2 regex), post-processor and
 * decoder, and <|endoftext|> as a special added token. The same training always gives the same
 * bytes. */
hs_status hs_bpe_trainer_write_json(const hs_bpe_trainer *t, const char *path, hs_error *err);

#endif
