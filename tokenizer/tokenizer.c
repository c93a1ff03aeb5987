/* tokenizer.c — the public tokenizer API: opening (which format a path holds), encoding through
 * the pipeline of tokenizer.h, decoding, and the per-token queries. */
#include "tokenizer/tokenizer.h"
#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

hs_tokenizer *hs_tok_new(void)
{
    hs_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok)
        return NULL;
    hs_bpe_init(&tok->bpe);
    tok->bos_id = tok->eos_id = -1;
    return tok;
}

void hs_tokenizer_close(hs_tokenizer *tok)
{
    if (!tok)
        return;
    hs_bpe_free(&tok->bpe);
    for (int i = 0; i < tok->n_added; i++)
        free(tok->added[i].content);
    free(tok->added);
    hs_added_matcher_free(&tok->added_raw);
    hs_added_matcher_free(&tok->added_norm);
    for (int i = 0; i < tok->n_norm; i++)
        hs_tok_normalizer_free(&tok->norm[i]);
    for (int i = 0; i < tok->n_pretok; i++)
        hs_tok_pretok_free(&tok->pretok[i]);
    for (int i = 0; i < tok->n_dec; i++)
        hs_tok_decoder_free(&tok->dec[i]);
    free(tok);
}

void hs_tok_set_specials(hs_tokenizer *tok, int32_t bos_id, int32_t eos_id, int add_bos)
{
    tok->bos_id = bos_id >= 0 && bos_id < tok->n_vocab ? bos_id : -1;
    tok->eos_id = eos_id >= 0 && eos_id < tok->n_vocab ? eos_id : -1;
    tok->add_bos = add_bos && tok->bos_id >= 0;
}

/* ---------------------------------------------------------------- opening */

static int is_file(const char *dir, const char *name, char *path, size_t cap)
{
    struct stat st;
    int len = snprintf(path, cap, "%s/%s", dir, name);
    return len > 0 && (size_t)len < cap && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static hs_status open_llama2c(hs_tokenizer *tok, const char *path, int vocab_size_hint, hs_error *err)
{
    if (vocab_size_hint < 0)
        return hs_fail(err, HS_ERR_ARG,
                       "%s: vocab_size_hint must be the vocabulary size, or 0 to count the file's tokens (got %d)",
                       path, vocab_size_hint);
    return hs_tok_load_llama2c(tok, path, vocab_size_hint, err);
}

/* A directory: tokenizer.json first, then the two GPT-2 layouts, then a llama2.c tokenizer.bin. */
static hs_status open_dir(hs_tokenizer *tok, const char *dir, int vocab_size_hint, hs_error *err)
{
    char a[4096], b[4096];
    if (is_file(dir, "tokenizer.json", a, sizeof a))
        return hs_tok_load_hf(tok, a, err);
    if (is_file(dir, "encoder.json", a, sizeof a) && is_file(dir, "vocab.bpe", b, sizeof b))
        return hs_tok_load_gpt2(tok, a, b, err);
    if (is_file(dir, "vocab.json", a, sizeof a) && is_file(dir, "merges.txt", b, sizeof b))
        return hs_tok_load_gpt2(tok, a, b, err);
    if (is_file(dir, "tokenizer.bin", a, sizeof a))
        return open_llama2c(tok, a, vocab_size_hint, err);
    return hs_fail(err, HS_ERR_MISSING,
                   "%s: no tokenizer.json, encoder.json + vocab.bpe, vocab.json + merges.txt, or tokenizer.bin", dir);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A file: JSON (tokenizer.json, or the vocabulary half of a GPT-2 pair) or a llama2.c binary. */
static hs_status open_file(hs_tokenizer *tok, const char *path, int vocab_size_hint, hs_error *err)
{
    char dir[4096], other[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    const char *base = slash ? path + (slash - dir) + 1 : path;
    if (strcmp(base, "encoder.json") == 0 && is_file(dir, "vocab.bpe", other, sizeof other))
        return hs_tok_load_gpt2(tok, path, other, err);
    if (strcmp(base, "vocab.json") == 0 && is_file(dir, "merges.txt", other, sizeof other))
        return hs_tok_load_gpt2(tok, path, other, err);

    int json = ends_with(path, ".json");
    if (!json && !ends_with(path, ".bin")) { /* sniff: JSON starts with '{' after any white space */
        FILE *f = fopen(path, "rb");
        if (!f)
            return hs_fail(err, HS_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        int c;
        while ((c = fgetc(f)) == ' ' || c == '\t' || c == '\n' || c == '\r')
            ;
        fclose(f);
        json = c == '{';
    }
    return json ? hs_tok_load_hf(tok, path, err) : open_llama2c(tok, path, vocab_size_hint, err);
}

hs_status hs_tokenizer_open(const char *path, int vocab_size_hint, hs_tokenizer **out, hs_error *err)
{
    if (!out)
        return hs_fail(err, HS_ERR_ARG, "hs_tokenizer_open: out is NULL");
    *out = NULL;
    if (!path)
        return hs_fail(err, HS_ERR_ARG, "hs_tokenizer_open: path is NULL");
    struct stat st;
    if (stat(path, &st) != 0)
        return hs_fail(err, errno == ENOENT ? HS_ERR_MISSING : HS_ERR_IO, "%s: %s", path, strerror(errno));
    hs_tokenizer *tok = hs_tok_new();
    if (!tok)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    hs_status rc = S_ISDIR(st.st_mode) ? open_dir(tok, path, vocab_size_hint, err) : open_file(tok, path, vocab_size_hint, err);
    if (rc != HS_OK) {
        hs_tokenizer_close(tok);
        return rc;
    }
    *out = tok;
    return HS_OK;
}

/* ---------------------------------------------------------------- encoding */

/* Scratch for one encode call, so that a tokenizer can serve several threads at once. */
typedef struct encoder {
    const hs_tokenizer *tok;
    pcre2_match_data *md;
    hs_bpe_work *work;
    hs_bytes normalized;
    hs_splits words, tmp;
    hs_ids *ids;
} encoder;

/* Normalized text between added tokens: pre-tokenize, then BPE each word. head: see hs_split. */
static hs_status encode_words(encoder *e, const char *s, size_t n, size_t head)
{
    const hs_tokenizer *tok = e->tok;
    hs_status st = hs_tok_pretokenize(tok->pretok, tok->n_pretok, e->md, s, n, head, &e->words, &e->tmp);
    for (size_t i = 0; i < e->words.n && st == HS_OK; i++)
        st = hs_bpe_encode(&tok->bpe, e->work, e->words.text.data + e->words.v[i].off, e->words.v[i].len, e->ids);
    return st;
}

/* Raw text between added tokens: normalize, then split out the added tokens that match the
 * normalized text. */
static hs_status encode_segment(encoder *e, const char *s, size_t n, int at_start)
{
    const hs_tokenizer *tok = e->tok;
    size_t head = 0;
    hs_status st;
    if (at_start && n > 0) {
        /* how many normalized bytes stand for the first character: HF aligns them all to offset
         * 0 (so "½" -> "1⁄2" is three characters at the start of the text) */
        uint32_t cp;
        size_t first = hs_utf8_decode(s, n, &cp);
        if ((st = hs_tok_normalize(tok->norm, tok->n_norm, e->md, s, first, &e->normalized)) != HS_OK)
            return st;
        head = e->normalized.len;
    }
    if ((st = hs_tok_normalize(tok->norm, tok->n_norm, e->md, s, n, &e->normalized)) != HS_OK)
        return st;
    const char *t = e->normalized.data;
    size_t len = e->normalized.len, search = 0, done = 0, start, stop;
    int32_t id;
    while (hs_added_next(&tok->added_norm, t, len, &search, done, &start, &stop, &id)) {
        if (start > done && (st = encode_words(e, t + done, start - done, done < head ? head - done : 0)) != HS_OK)
            return st;
        if ((st = hs_ids_push(e->ids, id)) != HS_OK)
            return st;
        done = stop;
    }
    return done < len ? encode_words(e, t + done, len - done, done < head ? head - done : 0) : HS_OK;
}

static hs_status encode_pipeline(encoder *e, const char *text, size_t len)
{
    size_t search = 0, done = 0, start, stop;
    int32_t id;
    hs_status st;
    while (hs_added_next(&e->tok->added_raw, text, len, &search, done, &start, &stop, &id)) {
        if (start > done && (st = encode_segment(e, text + done, start - done, done == 0)) != HS_OK)
            return st;
        if ((st = hs_ids_push(e->ids, id)) != HS_OK)
            return st;
        done = stop;
    }
    return done < len ? encode_segment(e, text + done, len - done, done == 0) : HS_OK;
}

hs_status hs_tokenizer_encode(const hs_tokenizer *tok, const char *text, size_t len, int add_bos,
                              int32_t **ids_out, size_t *n_out, hs_error *err)
{
    if (!tok || !ids_out || !n_out || (!text && len > 0))
        return hs_fail(err, HS_ERR_ARG, "hs_tokenizer_encode: NULL argument");
    *ids_out = NULL;
    *n_out = 0;
    hs_ids ids = {0};
    encoder e = {.tok = tok, .ids = &ids};
    hs_status st = HS_OK;
    if (add_bos && tok->add_bos && (st = hs_ids_push(&ids, tok->bos_id)) != HS_OK)
        goto done;
    if (!(e.work = hs_bpe_work_new())) {
        st = HS_ERR_NOMEM;
        goto done;
    }
    if (tok->kind == HS_TOK_LLAMA2C) {
        /* llama2.c: the whole text is one word, after a dummy-prefix space when non-empty */
        hs_bytes word = {0};
        if (len > 0 && (st = hs_bytes_append(&word, " ", 1)) == HS_OK && (st = hs_bytes_append(&word, text, len)) == HS_OK)
            st = hs_bpe_encode(&tok->bpe, e.work, word.data, word.len, &ids);
        free(word.data);
        goto done;
    }
    size_t bad = hs_utf8_check(text, len);
    if (bad < len) {
        st = hs_fail(err, HS_ERR_ARG, "hs_tokenizer_encode: text is not valid UTF-8 (byte %zu of %zu)", bad, len);
        goto done;
    }
    if (!(e.md = pcre2_match_data_create(1, NULL))) {
        st = HS_ERR_NOMEM;
        goto done;
    }
    st = encode_pipeline(&e, text, len);
done:
    if (st == HS_OK && !ids.v && !(ids.v = malloc(sizeof *ids.v))) /* an empty result is still freeable */
        st = HS_ERR_NOMEM;
    if (st == HS_ERR_NOMEM)
        hs_fail(err, st, "hs_tokenizer_encode: out of memory");
    else if (st == HS_ERR_INTERNAL)
        hs_fail(err, st, "hs_tokenizer_encode: a pre-tokenizer regex failed (match limit)");
    pcre2_match_data_free(e.md);
    hs_bpe_work_free(e.work);
    free(e.normalized.data);
    hs_splits_free(&e.words);
    hs_splits_free(&e.tmp);
    if (st != HS_OK) {
        free(ids.v);
        return st;
    }
    *ids_out = ids.v;
    *n_out = ids.n;
    return HS_OK;
}

/* ---------------------------------------------------------------- decoding and queries */

static int valid_id(const hs_tokenizer *tok, int32_t id)
{
    return id >= 0 && id < tok->n_vocab && hs_vocab_piece(&tok->bpe.vocab, id, NULL) != NULL;
}

hs_status hs_tokenizer_decode(const hs_tokenizer *tok, const int32_t *ids, size_t n, char **text_out,
                              hs_error *err)
{
    if (!tok || !text_out || (!ids && n > 0))
        return hs_fail(err, HS_ERR_ARG, "hs_tokenizer_decode: NULL argument");
    *text_out = NULL;
    for (size_t i = 0; i < n; i++)
        if (!valid_id(tok, ids[i]))
            return hs_fail(err, HS_ERR_RANGE, "hs_tokenizer_decode: id %d at position %zu is not a token "
                           "(vocabulary size %d)", ids[i], i, tok->n_vocab);
    hs_bytes out = {0};
    hs_status st = tok->kind == HS_TOK_LLAMA2C ? hs_tok_decode_llama2c(tok, ids, n, 0, &out)
                                              : hs_tok_decode_pipeline(tok, ids, n, 0, &out);
    if (st == HS_OK && !out.data)
        st = hs_bytes_append(&out, "", 0);
    if (st != HS_OK) {
        free(out.data);
        return hs_fail(err, st, "hs_tokenizer_decode: out of memory");
    }
    *text_out = out.data;
    return HS_OK;
}

const char *hs_tokenizer_piece(const hs_tokenizer *tok, int32_t id)
{
    return tok && valid_id(tok, id) ? hs_vocab_piece(&tok->bpe.vocab, id, NULL) : NULL;
}

/* The token's text as a fragment of a longer text: nothing stripped at the start (a
 * SentencePiece "▁the" is " the"), partial UTF-8 kept as bytes. Concatenating the token texts
 * of an encoding gives back the text it was encoded from. */
int hs_tokenizer_token_text(const hs_tokenizer *tok, int32_t id, char *buf, size_t cap)
{
    if (!tok || !valid_id(tok, id))
        return -1;
    hs_bytes out = {0};
    hs_status st = tok->kind == HS_TOK_LLAMA2C ? hs_tok_decode_llama2c(tok, &id, 1, 1, &out)
                                              : hs_tok_decode_pipeline(tok, &id, 1, 1, &out);
    if (st != HS_OK) {
        free(out.data);
        return -1;
    }
    size_t n = 0;
    if (cap > 0) {
        n = out.len < cap - 1 ? out.len : cap - 1;
        if (n)
            memcpy(buf, out.data, n);
        buf[n] = '\0';
    }
    free(out.data);
    return (int)n;
}

int hs_tokenizer_vocab_size(const hs_tokenizer *tok)
{
    return tok ? tok->n_vocab : 0;
}

int32_t hs_tokenizer_bos_id(const hs_tokenizer *tok)
{
    return tok ? tok->bos_id : -1;
}

int32_t hs_tokenizer_eos_id(const hs_tokenizer *tok)
{
    return tok ? tok->eos_id : -1;
}
