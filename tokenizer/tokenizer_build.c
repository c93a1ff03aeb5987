/* tokenizer_build.c — assembling a tokenizer: the steps every loader shares (merges by piece,
 * added tokens, byte-level and byte-fallback alphabets, and the final BOS/EOS defaults). */
#include "tokenizer/tokenizer.h"
#include "tokenizer/byte_level.h"
#include "base/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int clip(size_t n)
{
    return n > 64 ? 64 : (int)n;
}

hs_status hs_tok_add_merge_pieces(hs_tokenizer *tok, const char *a, size_t a_len, const char *b, size_t b_len,
                                  int32_t rank, hs_error *err)
{
    hs_vocab *v = &tok->bpe.vocab;
    int32_t left = hs_vocab_find(v, a, a_len), right = hs_vocab_find(v, b, b_len);
    if (left < 0)
        return hs_fail(err, HS_ERR_FORMAT, "\"%.*s\" is not in the vocabulary", clip(a_len), a);
    if (right < 0)
        return hs_fail(err, HS_ERR_FORMAT, "\"%.*s\" is not in the vocabulary", clip(b_len), b);
    char stack[256];
    char *ab = a_len + b_len <= sizeof stack ? stack : malloc(a_len + b_len);
    if (!ab)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    memcpy(ab, a, a_len);
    memcpy(ab + a_len, b, b_len);
    int32_t merged = hs_vocab_find(v, ab, a_len + b_len);
    hs_status st = HS_OK;
    if (merged < 0)
        st = hs_fail(err, HS_ERR_FORMAT, "\"%.*s\" (the merge of \"%.*s\" and \"%.*s\") is not in the vocabulary",
                     clip(a_len + b_len), ab, clip(a_len), a, clip(b_len), b);
    else if (hs_bpe_add_merge(&tok->bpe, left, right, rank, merged) != HS_OK)
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (ab != stack)
        free(ab);
    return st;
}

hs_status hs_tok_add_token(hs_tokenizer *tok, const hs_added_token *t, hs_error *err)
{
    hs_status st = hs_vocab_set(&tok->bpe.vocab, t->id, t->content, t->len, 0, err);
    if (st != HS_OK)
        return st;
    hs_added_token *added = realloc(tok->added, ((size_t)tok->n_added + 1) * sizeof *added);
    if (!added)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    tok->added = added;
    hs_added_token *copy = &added[tok->n_added];
    *copy = *t;
    if (!(copy->content = malloc(t->len + 1)))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    memcpy(copy->content, t->content, t->len);
    copy->content[t->len] = '\0';
    tok->n_added++;
    return HS_OK;
}

void hs_tok_use_byte_level(hs_tokenizer *tok)
{
    tok->bpe.alphabet = HS_BPE_BYTES;
    for (int b = 0; b < 256; b++) {
        char mapped[2];
        uint8_t byte = (uint8_t)b;
        size_t len = hs_byte_level_encode(&byte, 1, mapped);
        tok->bpe.byte_sym[b] = hs_vocab_find(&tok->bpe.vocab, mapped, len);
    }
}

void hs_tok_use_byte_fallback(hs_tokenizer *tok)
{
    tok->bpe.byte_fallback = 1;
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        tok->bpe.fallback[b] = hs_vocab_find(&tok->bpe.vocab, name, 6);
    }
}

int32_t hs_tok_find(const hs_tokenizer *tok, const char *s, size_t n)
{
    for (int i = tok->n_added - 1; i >= 0; i--) /* a later entry for the same content wins, as in HF's map */
        if (tok->added[i].len == n && memcmp(tok->added[i].content, s, n) == 0)
            return tok->added[i].id;
    return hs_vocab_find(&tok->bpe.vocab, s, n);
}

/* Special-token names that real vocabularies use, for files that do not say which is which. */
static int32_t first_known(const hs_tokenizer *tok, const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        int32_t id = hs_tok_find(tok, names[i], strlen(names[i]));
        if (id >= 0)
            return id;
    }
    return -1;
}

hs_status hs_tok_finish(hs_tokenizer *tok, const char *path, hs_error *err)
{
    static const char *const bos_names[] = {"<s>", "<|begin_of_text|>", "<|startoftext|>", "<bos>", "<|endoftext|>", NULL};
    static const char *const eos_names[] = {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>", NULL};
    tok->n_vocab = tok->bpe.vocab.n;
    if (tok->n_vocab == 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: the vocabulary is empty", path);
    hs_status st = hs_tok_added_build(tok, err);
    if (st != HS_OK) {
        hs_error_prefix(err, "%s", path);
        return st;
    }
    if (tok->bos_id < 0)
        tok->bos_id = first_known(tok, bos_names);
    if (tok->eos_id < 0)
        tok->eos_id = first_known(tok, eos_names);
    tok->add_bos = tok->add_bos && tok->bos_id >= 0;
    return HS_OK;
}
