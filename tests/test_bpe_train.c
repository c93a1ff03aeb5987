/* test_bpe_train.c — the BPE trainer: merges computed by hand on a tiny corpus, the tie rule, the
 * written tokenizer.json through the normal loader (round trips, the learned segmentation, forced
 * tokens, two-digit numbers), the merges of a plain reference trainer that recounts everything at
 * every step, determinism against the committed fixture, and bad specs. The
 * comparison with Hugging Face `tokenizers` is tokenizer_trained_vectors (test_tokenizer.c). */
#include <stdlib.h>
#include <string.h>

#include "base/mapped_file.h"
#include "datasets/task_words.h"
#include "tokenizer/bpe_train.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tests/test.h"

/* Trains on text; NULL (and a message) on failure. */
static hs_bpe_trainer *train(const char *text, size_t n, const hs_bpe_train_spec *spec)
{
    hs_bpe_trainer *t = NULL;
    hs_error err = {0};
    if (hs_bpe_trainer_new(spec, &t, &err) != HS_OK || hs_bpe_trainer_feed(t, text, n, &err) != HS_OK ||
        hs_bpe_trainer_train(t, &err) != HS_OK) {
        fprintf(stderr, "training failed: %s\n", err.msg);
        hs_bpe_trainer_free(t);
        return NULL;
    }
    return t;
}

/* "left+right" of merge i, for messages and comparisons. */
static const char *merge_text(const hs_bpe_trainer *t, int i, char *buf, size_t cap)
{
    int32_t l, r;
    size_t nl, nr;
    hs_bpe_trainer_merge(t, i, &l, &r);
    const char *a = hs_bpe_trainer_token(t, l, &nl), *b = hs_bpe_trainer_token(t, r, &nr);
    snprintf(buf, cap, "%.*s+%.*s", (int)nl, a, (int)nr, b);
    return buf;
}

static hs_tokenizer *write_and_open(const hs_bpe_trainer *t, const char *path)
{
    hs_error err = {0};
    hs_tokenizer *tok = NULL;
    if (hs_bpe_trainer_write_json(t, path, &err) != HS_OK || hs_tokenizer_open(path, 0, &tok, &err) != HS_OK)
        fprintf(stderr, "(expected for an unwritable path) %s\n", err.msg);
    return tok;
}

/* Encodes s; returns the number of ids (into ids, at most cap) or -1. */
static int encode(const hs_tokenizer *tok, const char *s, int32_t *ids, int cap)
{
    int32_t *v = NULL;
    size_t n = 0;
    hs_error err = {0};
    if (hs_tokenizer_encode(tok, s, strlen(s), 0, &v, &n, &err) != HS_OK)
        return -1;
    for (size_t i = 0; i < n && (int)i < cap; i++)
        ids[i] = v[i];
    free(v);
    return (int)n;
}

int test_bpe_train_known_merges(void)
{
    /* pre-tokens: "low" x1, " lower" x1, " lowest" x1, " low" x2. By hand:
     *   l+o 5 ties o+w 5: "l" < "o"                        -> lo
     *   lo+w 5                                              -> low
     *   " "+low 4                                           -> " low"
     *   " low"+e 2                                          -> " lowe"
     *   (min count 1) " lowe"+r, " lowe"+s, s+t all 1: left " lowe" < "s", right "r" < "s" -> " lower" */
    static const char text[] = "low lower lowest low low";
    static const char *const want[] = {"l+o", "lo+w", " +low", " low+e", " lowe+r"};
    hs_bpe_train_spec spec = {.vocab_size = 256 + 5 + 1, .min_count = 1};
    hs_bpe_trainer *t = train(text, strlen(text), &spec);
    CHECK(t);
    hs_bpe_train_stats s;
    hs_bpe_trainer_stats(t, &s);
    CHECK(s.n_merges == 5 && s.vocab_size == 262 && s.n_pretokens == 5 && s.n_distinct == 4);
    char buf[64];
    for (int i = 0; i < 5; i++)
        CHECK_MSG(strcmp(merge_text(t, i, buf, sizeof buf), want[i]) == 0, "merge %d is \"%s\", expected \"%s\"", i,
                  buf, want[i]);
    size_t n;
    CHECK(strcmp(hs_bpe_trainer_token(t, 260, &n), " lower") == 0 && n == 6);
    CHECK(strcmp(hs_bpe_trainer_token(t, 261, &n), "<|endoftext|>") == 0);
    /* " low"+e, " lower": 1 + 1 + 3 + 1 + 1 tokens as segmented */
    CHECK(hs_bpe_trainer_corpus_tokens(t) == 1 + 1 + 3 + 1 + 1);
    hs_tokenizer *tok = write_and_open(t, "/dev/null/x");
    CHECK(tok == NULL); /* an unwritable path is an error, not a crash */
    char path[512];
    snprintf(path, sizeof path, "%s/tok.json", test_tmpdir());
    CHECK((tok = write_and_open(t, path)) != NULL);
    int32_t ids[16];
    CHECK(encode(tok, " lower lowest", ids, 16) == 4);
    CHECK(ids[0] == 260 && ids[1] == 259 && ids[2] == 's' && ids[3] == 't');
    CHECK(hs_tokenizer_vocab_size(tok) == 262 && hs_tokenizer_eos_id(tok) == 261);
    hs_tokenizer_close(tok);
    hs_bpe_trainer_free(t);

    /* with the default minimum count of 2 training stops after " lowe", however large the vocabulary */
    hs_bpe_train_spec spec2 = {.vocab_size = 1000};
    CHECK((t = train(text, strlen(text), &spec2)) != NULL);
    hs_bpe_trainer_stats(t, &s);
    CHECK(s.n_merges == 4 && s.vocab_size == 261);
    hs_bpe_trainer_free(t);

    /* overlapping pairs merge left to right, as encoding does: "aaa" -> aa+a, "aaaa" -> aa+aa */
    static const char rep[] = "aaa aaaa aaa aaaa";
    hs_bpe_train_spec spec3 = {.vocab_size = 256 + 1 + 1, .min_count = 1};
    CHECK((t = train(rep, strlen(rep), &spec3)) != NULL);
    CHECK(strcmp(merge_text(t, 0, buf, sizeof buf), "a+a") == 0);
    CHECK(hs_bpe_trainer_corpus_tokens(t) == 2 + 3 + 3 + 3); /* aa a | ␠ aa aa | ␠ aa a | ␠ aa aa */
    hs_bpe_trainer_free(t);
    return TEST_PASS;
}

static const char *const varied[] = {
    "Hello world", "When Mary and John went to the store, John gave a drink to Mary.",
    "The war lasted from the year 1745 to the year 1799.", "café naïve résumé über Zoë José Łukasz",
    "日本語のテキスト 😀 emoji", "don't we're I'll it's", "  spaces  \t tabs\n\nnewlines \r\n",
    "a<|endoftext|>b", "x", "", "\xc2\xa0nbsp", "123456789 3.14 -7", "ÆØÅ æøå ßẞ", "🙂🙃 👩‍👩‍👧"};

int test_bpe_train_roundtrip_and_segmentation(void)
{
    size_t n;
    char *text = NULL;
    hs_error err = {0};
    CHECK_OK(hs_read_file(test_src_path("tests/fixtures/tokenizers/trained_corpus.txt"), &text, &n, &err), &err);
    hs_bpe_train_spec spec = {.vocab_size = 700, .digit_pairs = 1};
    hs_bpe_trainer *t = train(text, n, &spec);
    CHECK(t);
    char path[512];
    snprintf(path, sizeof path, "%s/tok.json", test_tmpdir());
    hs_tokenizer *tok = write_and_open(t, path);
    CHECK(tok);
    for (size_t i = 0; i < sizeof varied / sizeof varied[0]; i++) {
        int32_t *ids = NULL;
        size_t m = 0;
        char *back = NULL;
        CHECK_OK(hs_tokenizer_encode(tok, varied[i], strlen(varied[i]), 0, &ids, &m, &err), &err);
        CHECK_OK(hs_tokenizer_decode(tok, ids, m, &back, &err), &err);
        CHECK_MSG(strcmp(back, varied[i]) == 0, "\"%s\" came back as \"%s\"", varied[i], back);
        free(ids);
        free(back);
    }
    /* the whole training text encodes into exactly as many tokens as training segmented it into
     * (plus one per <|endoftext|>): the loader applies the learned merges as training did */
    int32_t *ids = NULL;
    size_t m = 0;
    CHECK_OK(hs_tokenizer_encode(tok, text, n, 0, &ids, &m, &err), &err);
    int32_t eot = hs_tokenizer_eos_id(tok);
    size_t n_eot = 0;
    for (size_t i = 0; i < m; i++)
        n_eot += ids[i] == eot;
    CHECK(n_eot == 299);
    CHECK_MSG((int64_t)(m - n_eot) == hs_bpe_trainer_corpus_tokens(t), "encoded %zu, trained %lld", m - n_eot,
              (long long)hs_bpe_trainer_corpus_tokens(t));
    CHECK(m < n / 2); /* merges were learned and used */
    free(ids);
    /* numbers: two-digit pieces, the space-led pair first */
    static const struct { const char *text; const char *pieces[4]; } nums[] = {
        {" 1745", {" 17", "45"}}, {"1832", {"18", "32"}}, {" 7", {" 7"}}, {" 123", {" 12", "3"}}, {"99", {"99"}}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        int32_t v[8];
        int k = encode(tok, nums[i].text, v, 8);
        for (int j = 0; j < 4; j++) {
            if (!nums[i].pieces[j]) {
                CHECK_MSG(k == j, "\"%s\": %d tokens, expected %d", nums[i].text, k, j);
                break;
            }
            CHECK(j < k);
            char piece[32];
            int len = hs_tokenizer_token_text(tok, v[j], piece, sizeof piece);
            CHECK_MSG(len == (int)strlen(nums[i].pieces[j]) && memcmp(piece, nums[i].pieces[j], (size_t)len) == 0,
                      "\"%s\" piece %d is \"%.*s\"", nums[i].text, j, len, piece);
        }
    }
    hs_tokenizer_close(tok);
    hs_bpe_trainer_free(t);
    free(text);
    return TEST_PASS;
}

int test_bpe_train_task_tokens_single(void)
{
    /* every task word is one token even where the corpus never shows it */
    char **words = NULL;
    int n_words = 0;
    hs_error err = {0};
    CHECK_OK(hs_task_words(&words, &n_words, &err), &err);
    CHECK(n_words > 150);
    size_t n;
    char *text = NULL;
    CHECK_OK(hs_read_file(test_src_path("tests/fixtures/tokenizers/trained_corpus.txt"), &text, &n, &err), &err);
    hs_bpe_train_spec spec = {.vocab_size = 2048, .digit_pairs = 1, .forced = (const char *const *)words,
                              .n_forced = n_words};
    hs_bpe_trainer *t = train(text, n, &spec);
    CHECK(t);
    char path[512];
    snprintf(path, sizeof path, "%s/tok.json", test_tmpdir());
    hs_tokenizer *tok = write_and_open(t, path);
    CHECK(tok);
    int32_t v[8], id17 = -1;
    for (int i = 0; i < n_words; i++)
        CHECK_MSG(encode(tok, words[i], v, 8) == 1, "\"%s\" is not one token", words[i]);
    for (int y = 0; y < 100; y++) { /* " 17" then every two-digit half */
        char s[16];
        snprintf(s, sizeof s, " 17%02d", y);
        CHECK(encode(tok, s, v, 8) == 2 && (id17 < 0 || v[0] == id17));
        id17 = v[0];
        snprintf(s, sizeof s, " %d", y);
        CHECK_MSG(encode(tok, s, v, 8) == 1, "\"%s\" is not one token", s);
    }
    hs_tokenizer_close(tok);
    hs_bpe_trainer_free(t);
    /* too small a vocabulary for all of them is an error that says so */
    spec.vocab_size = 600;
    hs_bpe_trainer *t2 = NULL;
    CHECK_OK(hs_bpe_trainer_new(&spec, &t2, &err), &err);
    CHECK_OK(hs_bpe_trainer_feed(t2, text, n, &err), &err);
    CHECK(hs_bpe_trainer_train(t2, &err) == HS_ERR_ARG && strstr(err.msg, "forced token"));
    hs_bpe_trainer_free(t2);
    hs_task_words_free(words, n_words);
    free(text);
    return TEST_PASS;
}

int test_bpe_train_deterministic_fixture(void)
{
    /* retraining on the committed corpus with the generator's options gives the committed bytes */
    char out[512], args[2048], msg[4096];
    snprintf(out, sizeof out, "%s/tok.json", test_tmpdir());
    snprintf(args, sizeof args,
             "tokenizer train --corpus %s --out %s --vocab-size 800 --force ' Mary' --force ' Copenhagen'",
             test_src_path("tests/fixtures/tokenizers/trained_corpus.txt"), out);
    CHECK_MSG(test_run_headscope(args, msg, sizeof msg) == 0, "%s", msg);
    CHECK(strstr(msg, "630 tokens"));
    char *a = NULL, *b = NULL;
    size_t na, nb;
    hs_error err = {0};
    CHECK_OK(hs_read_file(out, &a, &na, &err), &err);
    CHECK_OK(hs_read_file(test_src_path("tests/fixtures/tokenizers/trained.tokenizer.json"), &b, &nb, &err), &err);
    CHECK_MSG(na == nb && memcmp(a, b, na) == 0,
              "the trained tokenizer differs from the fixture: regenerate with tools/gen_trained_tokenizer_vectors.py "
              "if the change is intended");
    free(a);
    free(b);
    return TEST_PASS;
}

int test_bpe_train_bad_input(void)
{
    hs_error err = {0};
    hs_bpe_trainer *t = NULL;
    hs_bpe_train_spec small = {.vocab_size = 300, .digit_pairs = 1};
    CHECK(hs_bpe_trainer_new(&small, &t, &err) == HS_ERR_ARG && t == NULL && strstr(err.msg, "467"));
    static const char *const two[] = {" Mary Ann"};
    hs_bpe_train_spec split = {.vocab_size = 1000, .forced = two, .n_forced = 1};
    CHECK(hs_bpe_trainer_new(&split, &t, &err) == HS_ERR_ARG && strstr(err.msg, "Mary Ann"));
    static const char *const digits[] = {" 1745"};
    hs_bpe_train_spec dig = {.vocab_size = 1000, .digit_pairs = 1, .forced = digits, .n_forced = 1};
    CHECK(hs_bpe_trainer_new(&dig, &t, &err) == HS_ERR_ARG);
    hs_bpe_train_spec ok = {.vocab_size = 1000};
    CHECK_OK(hs_bpe_trainer_new(&ok, &t, &err), &err);
    CHECK(hs_bpe_trainer_feed(t, "ok \xff bad", 8, &err) == HS_ERR_FORMAT && strstr(err.msg, "byte 3"));
    CHECK(hs_bpe_trainer_write_json(t, "/tmp/never", &err) == HS_ERR_ARG);
    CHECK_OK(hs_bpe_trainer_feed(t, "fine text", 9, &err), &err);
    CHECK_OK(hs_bpe_trainer_train(t, &err), &err);
    CHECK(hs_bpe_trainer_train(t, &err) == HS_ERR_ARG);
    CHECK(hs_bpe_trainer_feed(t, "late", 4, &err) == HS_ERR_ARG);
    hs_bpe_trainer_free(t);
    hs_bpe_trainer_free(NULL);
    /* the command line names what is wrong */
    char msg[2048];
    CHECK(test_run_headscope("tokenizer train --corpus /nonexistent --vocab-size 500 --out /tmp/x.json", msg,
                             sizeof msg) == 1 &&
          strstr(msg, "/nonexistent"));
    CHECK(test_run_headscope("tokenizer train --corpus x", msg, sizeof msg) == 2 && strstr(msg, "required"));
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the plain reference trainer */

/* Recounts every pair of every word at every step (no incremental counts, no heap): slow and
 * obviously right, the twin the fast trainer is checked against. Words come from the same GPT-2
 * regex; `reverse_ties` flips the tie rule (the planted fault the comparison must catch). */
typedef struct ref_tok {
    char s[256];
    size_t n;
} ref_tok;

typedef struct ref {
    ref_tok tok[4096];
    int n_tok;
    int32_t *sym[8192];
    int len[8192];
    int64_t count[8192];
    int n_words;
    int merges[4096][2];
    int n_merges;
} ref;

typedef struct ref_pair {
    int32_t l, r;
    int64_t count;
} ref_pair;

static int cmp_pair_ids(const void *a, const void *b)
{
    const ref_pair *x = a, *y = b;
    return x->l != y->l ? (x->l > y->l) - (x->l < y->l) : (x->r > y->r) - (x->r < y->r);
}

static int cmp_tok(const ref *R, int a, int b)
{
    size_t n = R->tok[a].n < R->tok[b].n ? R->tok[a].n : R->tok[b].n;
    int c = memcmp(R->tok[a].s, R->tok[b].s, n);
    return c ? c : (R->tok[a].n > R->tok[b].n) - (R->tok[a].n < R->tok[b].n);
}

static int ref_has_digit(const ref *R, int t)
{
    for (size_t i = 0; i < R->tok[t].n; i++)
        if (R->tok[t].s[i] >= '0' && R->tok[t].s[i] <= '9')
            return 1;
    return 0;
}

static void ref_merge(ref *R, int l, int r)
{
    char s[256];
    size_t n = R->tok[l].n + R->tok[r].n;
    memcpy(s, R->tok[l].s, R->tok[l].n);
    memcpy(s + R->tok[l].n, R->tok[r].s, R->tok[r].n);
    int id = -1;
    for (int t = 0; t < R->n_tok && id < 0; t++)
        if (R->tok[t].n == n && !memcmp(R->tok[t].s, s, n))
            id = t;
    if (id < 0) {
        id = R->n_tok++;
        memcpy(R->tok[id].s, s, n);
        R->tok[id].n = n;
    }
    for (int w = 0; w < R->n_words; w++) {
        int o = 0;
        for (int i = 0; i < R->len[w]; i++)
            if (i + 1 < R->len[w] && R->sym[w][i] == l && R->sym[w][i + 1] == r)
                R->sym[w][o++] = id, i++;
            else
                R->sym[w][o++] = R->sym[w][i];
        R->len[w] = o;
    }
    R->merges[R->n_merges][0] = l;
    R->merges[R->n_merges][1] = r;
    R->n_merges++;
}

typedef struct ref_feed {
    ref *R;
    const char *s;
} ref_feed;

static hs_status ref_piece(void *user, size_t off, size_t len, int is_match)
{
    ref_feed *f = user;
    ref *R = f->R;
    (void)is_match;
    if (!len)
        return HS_OK;
    for (int w = 0; w < R->n_words; w++) /* words still hold their bytes' ids here */
        if (R->len[w] == (int)len) {
            int same = 1;
            for (size_t i = 0; i < len && same; i++)
                same = R->sym[w][i] == (unsigned char)f->s[off + i];
            if (same) {
                R->count[w]++;
                return HS_OK;
            }
        }
    if (R->n_words == 8192)
        return HS_ERR_RANGE;
    int w = R->n_words++;
    R->sym[w] = malloc(len * sizeof **R->sym);
    for (size_t i = 0; i < len; i++)
        R->sym[w][i] = (unsigned char)f->s[off + i];
    R->len[w] = (int)len;
    R->count[w] = 1;
    return HS_OK;
}

static int ref_train(ref *R, const char *text, size_t n, int vocab_size, int digit_pairs, int reverse_ties)
{
    hs_tok_pattern re = {0};
    hs_error err = {0};
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (hs_tok_pattern_regex(&re, hs_gpt2_split_pattern, strlen(hs_gpt2_split_pattern), &err) != HS_OK)
        return -1;
    ref_feed f = {R, NULL};
    for (size_t pos = 0; pos <= n;) { /* documents between <|endoftext|> */
        const char *eot = strstr(text + pos, "<|endoftext|>");
        size_t end = eot ? (size_t)(eot - text) : n;
        f.s = text + pos;
        if (end > pos && hs_tok_pattern_pieces(&re, md, text + pos, end - pos, ref_piece, &f) != HS_OK)
            return -1;
        if (!eot)
            break;
        pos = end + 13;
    }
    hs_tok_pattern_free(&re);
    pcre2_match_data_free(md);
    for (int b = 0; b < 256; b++)
        R->tok[b].s[0] = (char)b, R->tok[b].n = 1;
    R->n_tok = 256;
    if (digit_pairs) {
        for (int d = 0; d < 10; d++)
            ref_merge(R, ' ', '0' + d);
        for (int d = 0; d < 10; d++)
            for (int e = 0; e < 10; e++)
                ref_merge(R, 256 + d, '0' + e);
        for (int d = 0; d < 10; d++)
            for (int e = 0; e < 10; e++)
                ref_merge(R, '0' + d, '0' + e);
    }
    static ref_pair pairs[1 << 20];
    while (R->n_tok < vocab_size - 1) {
        int np = 0;
        for (int w = 0; w < R->n_words; w++)
            for (int i = 0; i + 1 < R->len[w]; i++)
                pairs[np++] = (ref_pair){R->sym[w][i], R->sym[w][i + 1], R->count[w]};
        qsort(pairs, (size_t)np, sizeof *pairs, cmp_pair_ids);
        int best = -1;
        int64_t best_count = 0;
        for (int i = 0; i < np;) {
            int j = i;
            int64_t c = 0;
            while (j < np && pairs[j].l == pairs[i].l && pairs[j].r == pairs[i].r)
                c += pairs[j++].count;
            if (!(digit_pairs && (ref_has_digit(R, pairs[i].l) || ref_has_digit(R, pairs[i].r)))) {
                int better = c > best_count;
                if (c == best_count && best >= 0) {
                    int t = cmp_tok(R, pairs[i].l, pairs[best].l);
                    if (!t)
                        t = cmp_tok(R, pairs[i].r, pairs[best].r);
                    better = reverse_ties ? t > 0 : t < 0;
                }
                if (better)
                    best = i, best_count = c;
            }
            i = j;
        }
        if (best < 0 || best_count < 2)
            break;
        ref_merge(R, pairs[best].l, pairs[best].r);
    }
    return 0;
}

static void ref_free(ref *R)
{
    for (int w = 0; w < R->n_words; w++)
        free(R->sym[w]);
}

/* 1 when the fast trainer's merges are the reference's, as byte strings */
static int same_merges(const hs_bpe_trainer *t, const ref *R)
{
    hs_bpe_train_stats s;
    hs_bpe_trainer_stats(t, &s);
    if (s.n_merges != R->n_merges) {
        fprintf(stderr, "  %d merges, the reference has %d\n", s.n_merges, R->n_merges);
        return 0;
    }
    for (int i = 0; i < R->n_merges; i++) {
        int32_t l, r;
        size_t nl, nr;
        hs_bpe_trainer_merge(t, i, &l, &r);
        const char *a = hs_bpe_trainer_token(t, l, &nl), *b = hs_bpe_trainer_token(t, r, &nr);
        const ref_tok *ra = &R->tok[R->merges[i][0]], *rb = &R->tok[R->merges[i][1]];
        if (nl != ra->n || nr != rb->n || memcmp(a, ra->s, nl) || memcmp(b, rb->s, nr)) {
            fprintf(stderr, "  merge %d: \"%.*s\"+\"%.*s\", the reference has \"%.*s\"+\"%.*s\"\n", i, (int)nl, a,
                    (int)nr, b, (int)ra->n, ra->s, (int)rb->n, rb->s);
            return 0;
        }
    }
    return 1;
}

int test_bpe_train_matches_plain_reference(void)
{
    size_t n;
    char *text = NULL;
    hs_error err = {0};
    CHECK_OK(hs_read_file(test_src_path("tests/fixtures/tokenizers/trained_corpus.txt"), &text, &n, &err), &err);
    static ref R;
    for (int digit_pairs = 0; digit_pairs < 2; digit_pairs++) {
        hs_bpe_train_spec spec = {.vocab_size = 1500, .digit_pairs = digit_pairs};
        hs_bpe_trainer *t = train(text, n, &spec);
        CHECK(t);
        memset(&R, 0, sizeof R);
        CHECK(ref_train(&R, text, n, spec.vocab_size, digit_pairs, 0) == 0);
        CHECK(R.n_merges > 300);
        CHECK_MSG(same_merges(t, &R), "digit_pairs %d: the trainer disagrees with the plain reference", digit_pairs);
        ref_free(&R);
        /* the planted fault: the reference with the tie rule reversed must be caught */
        memset(&R, 0, sizeof R);
        CHECK(ref_train(&R, text, n, spec.vocab_size, digit_pairs, 1) == 0);
        CHECK(!same_merges(t, &R));
        ref_free(&R);
        hs_bpe_trainer_free(t);
    }
    free(text);
    return TEST_PASS;
}
