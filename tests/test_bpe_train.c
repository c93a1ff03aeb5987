/* test_bpe_train.c — the BPE trainer: merges computed by hand on a tiny corpus, the tie rule, the
 * written tokenizer.json through the normal loader (round trips, the learned segmentation, forced
 * tokens, two-digit numbers), determinism against the committed fixture, and bad specs. The
 * comparison with Hugging Face `tokenizers` is tokenizer_trained_vectors (test_tokenizer.c). */
#include <stdlib.h>
#include <string.h>

#include "base/mapped_file.h"
#include "datasets/task_words.h"
#include "hooks/bpe_train.h"
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
        fprintf(stderr, "%s: %s\n", path, err.msg);
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
