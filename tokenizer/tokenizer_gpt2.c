/* tokenizer_gpt2.c — OpenAI's GPT-2 tokenizer files: encoder.json + vocab.bpe (or the same as
 * vocab.json + merges.txt), set up as Hugging Face's GPT-2 tokenizer is: byte-level BPE with the
 * GPT-2 regex, a ByteLevel decoder, and <|endoftext|> as a special added token. */
#include "tokenizer/tokenizer.h"
#include "tokenizer/byte_level.h"
#include "base/error.h"
#include "base/mapped_file.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* vocab.json: {"piece": id, ...} */
static hs_status load_vocab(hs_tokenizer *tok, const char *path, hs_error *err)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    hs_status st = HS_OK;
    if (!root)
        return hs_fail(err, HS_ERR_FORMAT, "%s: bad JSON at line %d column %d: %s", path, jerr.line, jerr.column,
                       jerr.text);
    if (!json_is_object(root)) {
        st = hs_fail(err, HS_ERR_FORMAT, "%s: expected an object mapping pieces to ids", path);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || id >= HS_VOCAB_MAX_ID) {
            st = hs_fail(err, HS_ERR_FORMAT, "%s: \"%.64s\": the id must be an integer in 0..%d", path, key,
                         HS_VOCAB_MAX_ID - 1);
            goto done;
        }
        if ((st = hs_vocab_set(&tok->bpe.vocab, (int32_t)id, key, strlen(key), 1, err)) != HS_OK) {
            hs_error_prefix(err, "%s", path);
            goto done;
        }
    }
done:
    json_decref(root);
    return st;
}

/* merges.txt: "#version" lines (skipped), then "left right" per line, best merge first. */
static hs_status load_merges(hs_tokenizer *tok, const char *path, hs_error *err)
{
    hs_mapped_file mf;
    hs_status st = hs_mapped_file_open(path, &mf, err);
    if (st != HS_OK)
        return st;
    const char *p = (const char *)mf.data, *end = p + mf.size;
    int32_t rank = 0;
    for (int line = 1; p < end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        size_t len = (size_t)(eol - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > 0 && !(len >= 8 && memcmp(p, "#version", 8) == 0)) {
            const char *sp = memchr(p, ' ', len);
            if (!sp || sp == p || sp == p + len - 1 || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p))) {
                st = hs_fail(err, HS_ERR_FORMAT, "%s: line %d: expected two pieces separated by one space", path, line);
                goto done;
            }
            if ((st = hs_tok_add_merge_pieces(tok, p, (size_t)(sp - p), sp + 1, len - (size_t)(sp + 1 - p), rank++,
                                              err)) != HS_OK) {
                hs_error_prefix(err, "%s: line %d", path, line);
                goto done;
            }
        }
        p = eol + 1;
    }
done:
    hs_mapped_file_close(&mf);
    return st;
}

hs_status hs_tok_load_gpt2(hs_tokenizer *tok, const char *vocab_path, const char *merges_path, hs_error *err)
{
    hs_status st = load_vocab(tok, vocab_path, err);
    if (st != HS_OK || (st = load_merges(tok, merges_path, err)) != HS_OK)
        return st;
    tok->kind = HS_TOK_PIPELINE;
    hs_tok_pretok *pre = &tok->pretok[tok->n_pretok++];
    pre->kind = HS_PRETOK_BYTE_LEVEL;
    pre->has_pattern = 1;
    if ((st = hs_tok_pattern_regex(&pre->pattern, hs_gpt2_split_pattern, strlen(hs_gpt2_split_pattern), err)) != HS_OK)
        return st;
    hs_tok_use_byte_level(tok);
    tok->dec[tok->n_dec++].kind = HS_DEC_BYTE_LEVEL;
    tok->has_decoder = 1;
    static const char eot[] = "<|endoftext|>";
    int32_t id = hs_vocab_find(&tok->bpe.vocab, eot, sizeof eot - 1);
    if (id >= 0) {
        hs_added_token t = {.id = id, .content = (char *)eot, .len = sizeof eot - 1, .special = 1};
        if ((st = hs_tok_add_token(tok, &t, err)) != HS_OK)
            return st;
        tok->bos_id = tok->eos_id = id; /* GPT-2 has one special token; HF adds no BOS to encodings */
    }
    if ((st = hs_tok_load_hf_config(tok, vocab_path, err)) != HS_OK)
        return st;
    return hs_tok_finish(tok, vocab_path, err);
}
