/* tokenizer_llama2c.c — llama2.c's tokenizer.bin: loading, merges derived from piece scores, and
 * decoding as llama2.c does it.
 *
 * File layout (little-endian): int32 max_token_length, then for each of the vocab_size tokens
 * (the file does not store the count): float32 score, int32 len, len bytes of piece (no NUL). The
 * records run back to back to the end of the file, so the count is the number of records.
 * Encoding (llama2.c's encode()): a dummy-prefix space before non-empty text, each code point
 * looked up as a piece or else its bytes as ids byte + 3, then repeatedly the adjacent pair
 * whose concatenation is a piece with the highest score (leftmost on ties) is merged. That is
 * BPE where the pair (a, b) merges into the piece a+b ranked by its score, which is how the
 * merge table is built here; bpe.c's heap then runs it in O(n log n) instead of O(n^2). */
#include "tokenizer/tokenizer.h"
#include "base/error.h"
#include "base/mapped_file.h"

#include <stdlib.h>
#include <string.h>

static int32_t read_i32(const unsigned char *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static float read_f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)read_i32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

typedef struct scored {
    float score;
    int32_t id;
} scored;

static int by_score_desc(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    return a->score > b->score ? -1 : a->score < b->score ? 1 : (a->id > b->id) - (a->id < b->id);
}

/* rank[i] = how many distinct scores are higher than score[i]: equal scores share a rank, so
 * the merge loop's leftmost-first tie rule is llama2.c's. (NaN scores never merge anyway.) */
static hs_status dense_ranks(const float *score, int32_t n, int32_t *rank)
{
    scored *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return HS_ERR_NOMEM;
    for (int32_t i = 0; i < n; i++)
        order[i] = (scored){score[i] == score[i] ? score[i] : -1e30f, i};
    qsort(order, (size_t)n, sizeof *order, by_score_desc);
    int32_t r = 0;
    for (int32_t i = 0; i < n; i++) {
        if (i > 0 && order[i].score < order[i - 1].score)
            r++;
        rank[order[i].id] = r;
    }
    free(order);
    return HS_OK;
}

/* Every split of every piece into two pieces is a merge into it. */
static hs_status build_merges(hs_bpe *b, const float *score, const int32_t *rank, int32_t n)
{
    for (int32_t k = 0; k < n; k++) {
        size_t len;
        const char *p = hs_vocab_piece(&b->vocab, k, &len);
        if (!(score[k] > -1e10f) || hs_vocab_find(&b->vocab, p, len) != k)
            continue; /* llama2.c never picks a score <= -1e10; a repeated piece is found as its first id */
        for (size_t s = 1; s < len; s++) {
            int32_t left = hs_vocab_find(&b->vocab, p, s), right = hs_vocab_find(&b->vocab, p + s, len - s);
            if (left >= 0 && right >= 0 && !hs_bpe_find_merge(b, left, right) &&
                hs_bpe_add_merge(b, left, right, rank[k], k) != HS_OK)
                return HS_ERR_NOMEM;
        }
    }
    return HS_OK;
}

/* The number of whole records (score, length <= max_len, piece) from byte 4 on, at most `limit`;
 * *whole is 1 when they end exactly at the end of the file. */
static int32_t count_records(const hs_mapped_file *mf, int32_t max_len, int32_t limit, int *whole)
{
    size_t off = 4;
    int32_t n = 0;
    while (n < limit && mf->size - off >= 8) {
        int32_t len = read_i32(mf->data + off + 4);
        if (len < 0 || len > max_len || mf->size - off - 8 < (size_t)len)
            break;
        off += 8 + (size_t)len;
        n++;
    }
    *whole = off == mf->size;
    return n;
}

hs_status hs_tok_load_llama2c(hs_tokenizer *tok, const char *path, int vocab_size, hs_error *err)
{
    hs_mapped_file mf = {0};
    float *score = NULL;
    int32_t *rank = NULL;
    hs_status st = hs_mapped_file_open(path, &mf, err);
    if (st != HS_OK)
        return st;
    if (vocab_size >= HS_VOCAB_MAX_ID) {
        st = hs_fail(err, HS_ERR_ARG, "%s: vocab_size_hint %d is too large", path, vocab_size);
        goto done;
    }
    if (mf.size < 4) {
        st = hs_fail(err, HS_ERR_FORMAT, "%s: max_token_length: the file is only %zu bytes", path, mf.size);
        goto done;
    }
    int32_t max_len = read_i32(mf.data);
    if (max_len <= 0) {
        st = hs_fail(err, HS_ERR_FORMAT, "%s: max_token_length is %d, must be > 0", path, max_len);
        goto done;
    }
    int inferred = vocab_size == 0;
    if (inferred) {
        int whole;
        vocab_size = count_records(&mf, max_len, HS_VOCAB_MAX_ID, &whole);
        if (!whole)
            vocab_size++; /* the loop below says what is wrong with the record after the whole ones */
        if (vocab_size >= HS_VOCAB_MAX_ID) {
            st = hs_fail(err, HS_ERR_FORMAT, "%s: more than %d tokens", path, HS_VOCAB_MAX_ID - 1);
            goto done;
        }
        if (vocab_size == 0) {
            st = hs_fail(err, HS_ERR_FORMAT, "%s: no tokens after max_token_length", path);
            goto done;
        }
    }
    score = malloc((size_t)vocab_size * sizeof *score);
    rank = malloc((size_t)vocab_size * sizeof *rank);
    if (!score || !rank) {
        st = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    size_t off = 4;
    for (int32_t i = 0; i < vocab_size; i++) {
        if (mf.size - off < 8) {
            if (inferred)
                st = hs_fail(err, HS_ERR_FORMAT, "%s: token %d: the file ends at byte %zu, inside its score and "
                             "length", path, i, mf.size);
            else
                st = hs_fail(err, HS_ERR_FORMAT, "%s: token %d: the file ends at byte %zu, before its score and "
                             "length (is vocab_size_hint %d right?)", path, i, mf.size, vocab_size);
            goto done;
        }
        score[i] = read_f32(mf.data + off);
        int32_t len = read_i32(mf.data + off + 4);
        off += 8;
        if (len < 0 || len > max_len) {
            st = hs_fail(err, HS_ERR_FORMAT, "%s: token %d: length %d is outside 0..max_token_length (%d)",
                         path, i, len, max_len);
            goto done;
        }
        if (mf.size - off < (size_t)len) {
            st = hs_fail(err, HS_ERR_FORMAT, "%s: token %d: its %d bytes run past the end of the file "
                         "(byte %zu of %zu)", path, i, len, off, mf.size);
            goto done;
        }
        if ((st = hs_vocab_set(&tok->bpe.vocab, i, (const char *)mf.data + off, (size_t)len, 1, err)) != HS_OK) {
            hs_error_prefix(err, "%s: token %d", path, i);
            goto done;
        }
        off += (size_t)len;
    }
    if (off != mf.size) {
        st = hs_fail(err, HS_ERR_FORMAT, "%s: %zu bytes follow the %d tokens: vocab_size_hint %d is smaller than "
                     "the file's vocabulary", path, mf.size - off, vocab_size, vocab_size);
        goto done;
    }
    if (dense_ranks(score, vocab_size, rank) != HS_OK || build_merges(&tok->bpe, score, rank, vocab_size) != HS_OK) {
        st = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    tok->kind = HS_TOK_LLAMA2C;
    tok->n_vocab = vocab_size;
    tok->bpe.alphabet = HS_BPE_LLAMA2C;
    for (int b = 0; b < 256; b++) /* byte b is id b + 3 (after <unk>, <s>, </s>); <unk> if the vocabulary is too small */
        tok->bpe.fallback[b] = b + 3 < vocab_size ? b + 3 : 0;
    hs_tok_set_specials(tok, 1, 2, 1);
done:
    free(score);
    free(rank);
    hs_mapped_file_close(&mf);
    return st;
}

/* llama2.c's decode(): the leading space of the first piece after BOS is dropped (here also of
 * the very first piece, so that decode(encode(s)) == s), and "<0xNN>" pieces are raw bytes.
 * BOS and EOS, stored as "\n<s>\n" and "\n</s>\n" for llama2.c's own printing, decode to
 * nothing: llama2.c never prints them, and a generated sequence [BOS, ...] reads as its story.
 * A fragment (a token's own text) keeps its space and bytes, and shows BOS/EOS as "<s>"/"</s>". */
hs_status hs_tok_decode_llama2c(const hs_tokenizer *tok, const int32_t *ids, size_t n, int fragment,
                                hs_bytes *out)
{
    hs_bytes raw = {0};
    hs_status st = hs_bytes_append(&raw, "", 0);
    for (size_t i = 0; i < n && st == HS_OK; i++) {
        size_t len;
        const char *p = hs_vocab_piece(&tok->bpe.vocab, ids[i], &len);
        if (ids[i] == tok->bos_id || ids[i] == tok->eos_id) {
            while (fragment && len > 0 && p[0] == '\n')
                p++, len--;
            while (fragment && len > 0 && p[len - 1] == '\n')
                len--;
            if (fragment)
                st = hs_bytes_append(&raw, p, len);
            continue;
        }
        if (!fragment && (i == 0 || ids[i - 1] == tok->bos_id) && len > 0 && p[0] == ' ') {
            p++;
            len--;
        }
        int b = hs_tok_byte_piece(p, len);
        if (b >= 0) {
            unsigned char byte = (unsigned char)b;
            st = hs_bytes_append(&raw, &byte, 1);
        } else {
            st = hs_bytes_append(&raw, p, len);
        }
    }
    out->len = 0;
    if (st == HS_OK)
        st = fragment ? hs_bytes_append(out, raw.data, raw.len) : hs_utf8_append_lossy(out, raw.data, raw.len);
    free(raw.data);
    return st;
}
