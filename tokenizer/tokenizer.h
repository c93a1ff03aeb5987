/* tokenizer.h — the tokenizer's insides: the hs_tokenizer record, the Hugging Face-style text
 * pipeline around the BPE model (added tokens, normalizers, pre-tokenizers, decoders), and the
 * loaders that fill it from each file format.
 *
 * Encoding, as Hugging Face `tokenizers` does it:
 *   text --added tokens that match the raw text--> segments
 *        --normalizers (per segment)--> --added tokens that match normalized text--> pieces
 *        --pre-tokenizers--> words --BPE (bpe.h)--> ids
 * Decoding: ids -> pieces -> decoders -> text. A llama2.c tokenizer skips the pipeline: the whole
 * text is one BPE word with a leading space, merged by score (see tokenizer_llama2c.c). */
#ifndef HS_TOKENIZER_TOKENIZER_H
#define HS_TOKENIZER_TOKENIZER_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "headscope.h"
#include "tokenizer/bpe.h"

/* ---------------------------------------------------------------- byte buffers (tokenizer_text.c) */

/* A growable byte string, NUL-terminated after every append. Zero-initialise; free(b.data). */
typedef struct hs_bytes {
    char *data;
    size_t len, cap;
} hs_bytes;

hs_status hs_bytes_reserve(hs_bytes *b, size_t extra);
hs_status hs_bytes_append(hs_bytes *b, const void *s, size_t n);

/* A list of strings held in one buffer: the pieces a pre-tokenizer or decoder passes along. */
typedef struct hs_split {
    size_t off, len;
    size_t head;  /* the piece's first `head` bytes stand for the original text's first character
                     (HF aligns them to offset 0): a piece starting inside them is at the start of
                     the text, which Metaspace's "first" scheme asks about. 0 for most pieces. */
} hs_split;

typedef struct hs_splits {
    hs_bytes text;
    hs_split *v;
    size_t n, cap;
} hs_splits;

/* Appends a copy of s as a new piece. */
hs_status hs_splits_push(hs_splits *l, const char *s, size_t n, size_t head);
/* Appends bytes to the last piece (which must be the last thing written to l->text). */
hs_status hs_splits_extend(hs_splits *l, const char *s, size_t n);
void hs_splits_clear(hs_splits *l);
void hs_splits_free(hs_splits *l);

/* ---------------------------------------------------------------- UTF-8 (tokenizer_text.c) */

/* The length of the valid UTF-8 sequence at s (1..4), or 0 when s[0..n) does not start with one. */
size_t hs_utf8_valid_len(const unsigned char *s, size_t n);
/* The offset of the first invalid byte, or n when s is valid UTF-8. */
size_t hs_utf8_check(const char *s, size_t n);
/* Appends s to out with each maximal invalid subsequence replaced by U+FFFD, the way Rust's
 * String::from_utf8_lossy does. */
hs_status hs_utf8_append_lossy(hs_bytes *out, const char *s, size_t n);
/* Decodes the character at s (valid UTF-8, n >= 1) into *cp; returns its length. */
size_t hs_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* The byte a SentencePiece byte piece "<0xNN>" stands for (hex digits in either case), or -1. */
int hs_tok_byte_piece(const char *p, size_t len);
/* Unicode White_Space, as Rust's char::is_whitespace and Oniguruma's \s use it. */
int hs_uc_is_space(uint32_t cp);
/* Rust regex \w: Alphabetic, marks, decimal digits, connector punctuation, joiners. */
int hs_uc_is_word(uint32_t cp);

/* ---------------------------------------------------------------- patterns (tokenizer_regex.c) */

/* A Split/Replace pattern: a regex (PCRE2, UTF + UCP, JIT when available) or a literal string. */
typedef struct hs_tok_pattern {
    pcre2_code *re; /* NULL for a literal */
    char *lit;
    size_t lit_len;
} hs_tok_pattern;

/* Compiles an Oniguruma-syntax regex as Hugging Face writes them; \s and \S are rewritten to
 * Unicode White_Space so they agree with Oniguruma (PCRE2 alone also counts U+180E).
 * On failure err holds PCRE2's message and the offset; the caller prefixes the field. */
hs_status hs_tok_pattern_regex(hs_tok_pattern *p, const char *re, size_t n, hs_error *err);
hs_status hs_tok_pattern_literal(hs_tok_pattern *p, const char *s, size_t n);
void hs_tok_pattern_free(hs_tok_pattern *p);

/* Finds the first match in s[from..n): returns 1 with [*ms, *me), 0 when there is none, or -1
 * when PCRE2 fails (match limits). `md` is per call (pcre2_match_data_create(1, NULL)).
 * s must be valid UTF-8 and `from` on a character boundary. */
int hs_tok_pattern_find(const hs_tok_pattern *p, pcre2_match_data *md, const char *s, size_t n,
                        size_t from, size_t *ms, size_t *me);

/* Calls fn for every piece of s as Hugging Face's Pattern::find_matches cuts it: the matches
 * and the stretches between them, in order, covering s (an empty s is one empty non-match). */
typedef hs_status (*hs_tok_piece_fn)(void *user, size_t off, size_t len, int is_match);
hs_status hs_tok_pattern_pieces(const hs_tok_pattern *p, pcre2_match_data *md, const char *s, size_t n,
                                hs_tok_piece_fn fn, void *user);

/* ---------------------------------------------------------------- normalizers (tokenizer_normalize.c) */

typedef enum hs_norm_kind {
    HS_NORM_NFC, HS_NORM_NFD, HS_NORM_NFKC, HS_NORM_NFKD,
    HS_NORM_PREPEND, /* content before a non-empty string */
    HS_NORM_REPLACE  /* every match of pattern -> content */
} hs_norm_kind;

typedef struct hs_tok_normalizer {
    hs_norm_kind kind;
    hs_tok_pattern pattern; /* REPLACE */
    char *content;          /* PREPEND, REPLACE (owned) */
    size_t content_len;
} hs_tok_normalizer;

/* Runs the steps in order on s[0..n); out receives the result (its old contents replaced). */
hs_status hs_tok_normalize(const hs_tok_normalizer *steps, int n_steps, pcre2_match_data *md,
                           const char *s, size_t n, hs_bytes *out);
void hs_tok_normalizer_free(hs_tok_normalizer *step);

/* ---------------------------------------------------------------- pre-tokenizers (tokenizer_pretok.c) */

typedef enum hs_pretok_kind {
    HS_PRETOK_BYTE_LEVEL, /* optional prefix space, optional GPT-2 regex split; must come last */
    HS_PRETOK_SPLIT,      /* split on pattern with a behavior */
    HS_PRETOK_METASPACE,  /* spaces -> replacement, optional prefix, optional split */
    HS_PRETOK_DIGITS      /* digits apart from the rest (one by one, or in runs) */
} hs_pretok_kind;

typedef enum hs_split_behavior {
    HS_SPLIT_REMOVED, HS_SPLIT_ISOLATED, HS_SPLIT_MERGED_WITH_PREVIOUS,
    HS_SPLIT_MERGED_WITH_NEXT, HS_SPLIT_CONTIGUOUS
} hs_split_behavior;

typedef enum hs_prepend_scheme { HS_PREPEND_ALWAYS, HS_PREPEND_FIRST, HS_PREPEND_NEVER } hs_prepend_scheme;

typedef struct hs_tok_pretok {
    hs_pretok_kind kind;
    hs_tok_pattern pattern;     /* SPLIT; BYTE_LEVEL with use_regex; DIGITS (\p{N}) */
    int has_pattern;
    hs_split_behavior behavior; /* SPLIT, DIGITS */
    int invert;                 /* SPLIT */
    int add_prefix_space;       /* BYTE_LEVEL */
    char replacement[8];        /* METASPACE: one character, NUL-terminated */
    size_t replacement_len;
    hs_prepend_scheme prepend;  /* METASPACE */
    int split;                  /* METASPACE */
} hs_tok_pretok;

/* Cuts s[0..n) into words, left in *out (cleared first; empty words are dropped). head: how
 * many leading bytes of s stand for the original text's first character (0 when s does not
 * begin the text). `tmp` is scratch. */
hs_status hs_tok_pretokenize(const hs_tok_pretok *steps, int n_steps, pcre2_match_data *md,
                             const char *s, size_t n, size_t head, hs_splits *out, hs_splits *tmp);
void hs_tok_pretok_free(hs_tok_pretok *step);

/* ---------------------------------------------------------------- decoders (tokenizer_decode.c) */

typedef enum hs_dec_kind {
    HS_DEC_BYTE_LEVEL,    /* mapped characters -> bytes, all pieces fused */
    HS_DEC_REPLACE,       /* pattern -> content in each piece */
    HS_DEC_BYTE_FALLBACK, /* <0xNN> pieces -> bytes */
    HS_DEC_FUSE,          /* all pieces into one */
    HS_DEC_STRIP,         /* up to `start`/`stop` copies of a character off each piece's ends */
    HS_DEC_METASPACE      /* replacement -> space; dropped in the first piece unless scheme never */
} hs_dec_kind;

typedef struct hs_tok_decoder {
    hs_dec_kind kind;
    hs_tok_pattern pattern; /* REPLACE */
    char *content;          /* REPLACE: replacement text; STRIP, METASPACE: one character (owned) */
    size_t content_len;
    int start, stop;        /* STRIP */
    hs_prepend_scheme prepend; /* METASPACE */
} hs_tok_decoder;

void hs_tok_decoder_free(hs_tok_decoder *step);

/* ---------------------------------------------------------------- added tokens (tokenizer_added.c) */

typedef struct hs_added_token {
    int32_t id;
    char *content; /* owned */
    size_t len;
    unsigned char single_word, lstrip, rstrip, normalized, special;
} hs_added_token;

/* Leftmost-longest matching of a set of strings: tokens indexed by first byte, longest first.
 * One matcher for the raw text (tokens with normalized = false) and one for normalized text
 * (tokens with normalized = true, whose patterns are their normalized content). */
typedef struct hs_added_matcher {
    const hs_added_token **tok; /* [n] sorted by first byte, then length descending (not owned) */
    char **pattern;             /* [n] what is matched (owned) */
    size_t *pattern_len;        /* [n] */
    int n;
    int first[257];             /* tokens starting with byte b are [first[b], first[b+1]) */
} hs_added_matcher;

/* Builds both matchers of tok from tok->added (run after the normalizer is known). */
hs_status hs_tok_added_build(hs_tokenizer *tok, hs_error *err);
void hs_added_matcher_free(hs_added_matcher *m);

/* The next accepted added-token match in s[0..n) at or after *search, HF's rules for single_word,
 * lstrip (never reaching before `done`) and rstrip applied. Returns 1 with [*start, *stop) and
 * *id, and moves *search past the match; 0 when there is none. */
int hs_added_next(const hs_added_matcher *m, const char *s, size_t n, size_t *search, size_t done,
                  size_t *start, size_t *stop, int32_t *id);

/* ---------------------------------------------------------------- the tokenizer */

typedef enum hs_tok_kind {
    HS_TOK_PIPELINE, /* Hugging Face-style pipeline around BPE (tokenizer.json, GPT-2 files) */
    HS_TOK_LLAMA2C   /* llama2.c tokenizer.bin */
} hs_tok_kind;

#define HS_TOK_MAX_STEPS 16

struct hs_tokenizer {
    hs_tok_kind kind;
    hs_bpe bpe;              /* the model; bpe.vocab also holds the added tokens' pieces */
    int32_t n_vocab;         /* ids are 0..n_vocab-1 (HF: the model's and the added tokens') */

    hs_added_token *added;   /* [n_added] (owned) */
    int n_added;
    hs_added_matcher added_raw, added_norm;

    hs_tok_normalizer norm[HS_TOK_MAX_STEPS];
    int n_norm;
    hs_tok_pretok pretok[HS_TOK_MAX_STEPS];
    int n_pretok;
    hs_tok_decoder dec[HS_TOK_MAX_STEPS];
    int n_dec;
    int has_decoder;         /* without one, pieces are joined with spaces (as HF does) */

    int32_t bos_id, eos_id;  /* -1 when none */
    int add_bos;             /* the BOS rule: prepend bos_id when the caller asks for it */
};

/* A fresh tokenizer with nothing loaded (bos/eos -1), or NULL when out of memory. */
hs_tokenizer *hs_tok_new(void);

/* ---- assembling a tokenizer (tokenizer_build.c): what the loaders share */

/* Adds the merge of pieces a and b (as the vocabulary writes them) with the given rank. err names
 * the piece that is missing from the vocabulary; the caller prefixes the file and entry. */
hs_status hs_tok_add_merge_pieces(hs_tokenizer *tok, const char *a, size_t a_len, const char *b, size_t b_len,
                                  int32_t rank, hs_error *err);
/* Appends an added token (content copied) and gives its id that piece; err as for hs_vocab_set. */
hs_status hs_tok_add_token(hs_tokenizer *tok, const hs_added_token *t, hs_error *err);
/* Byte-level BPE: words are raw bytes and byte b starts as the piece of its mapped character. */
void hs_tok_use_byte_level(hs_tokenizer *tok);
/* Byte fallback: byte b becomes the piece "<0xNN>" when the vocabulary has it. */
void hs_tok_use_byte_fallback(hs_tokenizer *tok);
/* The id of a token by its text: added tokens first, then the vocabulary; -1 when absent. */
int32_t hs_tok_find(const hs_tokenizer *tok, const char *s, size_t n);
/* Builds the added-token matchers, fixes n_vocab and fills in BOS/EOS from well-known names
 * where the files said nothing; every loader ends with this. */
hs_status hs_tok_finish(hs_tokenizer *tok, const char *path, hs_error *err);

/* Loaders: each fills a fresh tokenizer and names the file and field in any error. */
hs_status hs_tok_load_hf(hs_tokenizer *tok, const char *json_path, hs_error *err);
hs_status hs_tok_load_gpt2(hs_tokenizer *tok, const char *vocab_path, const char *merges_path, hs_error *err);
/* vocab_size: the number of tokens, or 0 to take it from the file (the records run to its end) */
hs_status hs_tok_load_llama2c(hs_tokenizer *tok, const char *path, int vocab_size, hs_error *err);
/* Applies tokenizer_config.json beside `path` (a file) when present: add_bos_token, bos_token,
 * eos_token override what the tokenizer files said. */
hs_status hs_tok_load_hf_config(hs_tokenizer *tok, const char *path, hs_error *err);

/* Decodes through the decoder steps. `fragment` renders a piece of a longer text: nothing is
 * stripped at the start and incomplete UTF-8 is kept as bytes (for hs_tokenizer_token_text). */
hs_status hs_tok_decode_pipeline(const hs_tokenizer *tok, const int32_t *ids, size_t n, int fragment,
                                 hs_bytes *out);
hs_status hs_tok_decode_llama2c(const hs_tokenizer *tok, const int32_t *ids, size_t n, int fragment,
                                hs_bytes *out);

/* For the model loader, whose config may know the BOS rule better than the tokenizer files:
 * replaces the BOS/EOS ids (-1: none) and whether BOS is prepended. */
void hs_tok_set_specials(hs_tokenizer *tok, int32_t bos_id, int32_t eos_id, int add_bos);

#endif
