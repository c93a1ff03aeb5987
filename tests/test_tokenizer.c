/* test_tokenizer.c — tokenizers against reference vectors from Hugging Face `tokenizers`
 * (the .jsonl files in tests/fixtures/tokenizers, written by tools/gen_tokenizer_vectors.py), llama2.c's
 * golden stories260K data, and broken files that must fail with a message naming the fault. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/test.h"

#define VECTORS_VERSION 1

/* ---------------------------------------------------------------- helpers */

static void print_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n && i < 120; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 40; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 40 ? " ...\n" : "\n");
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

/* Opens the tokenizer a vector file's header names; NULL (and *skip set) when ../shared is absent. */
static hs_tokenizer *open_from_header(const json_t *hdr, int *skip)
{
    const char *where = json_string_value(json_object_get(hdr, "in"));
    const char *rel = json_string_value(json_object_get(hdr, "tokenizer"));
    int vocab = (int)json_integer_value(json_object_get(hdr, "vocab_size"));
    char path[4096];
    *skip = 0;
    if (!where || !rel)
        return NULL;
    if (strcmp(where, "shared") == 0) {
        const char *p = test_shared_path(rel);
        if (!p) {
            *skip = 1;
            return NULL;
        }
        snprintf(path, sizeof path, "%s", p);
    } else {
        char fx[512];
        snprintf(fx, sizeof fx, "tests/fixtures/tokenizers/%s", rel);
        snprintf(path, sizeof path, "%s", test_src_path(fx));
    }
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    if (hs_tokenizer_open(path, vocab, &tok, &err) != HS_OK)
        fprintf(stderr, "open %s: %s\n", path, err.msg);
    return tok;
}

/* Checks every vector of a fixture: encode(text) == ids exactly, decode(ids) == decoded. */
static int run_vectors(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/tokenizers/%s", name);
    size_t len;
    char *data = read_all(test_src_path(rel), &len);
    CHECK_MSG(data != NULL, "cannot read %s", rel);
    hs_tokenizer *tok = NULL;
    int n_vec = 0, n_bad = 0, line = 0, skip = 0, rc = TEST_FAIL;
    for (char *p = data, *eol; p < data + len; p = eol + 1, line++) {
        eol = memchr(p, '\n', (size_t)(data + len - p));
        if (!eol)
            eol = data + len;
        json_error_t jerr;
        json_t *j = json_loadb(p, (size_t)(eol - p), JSON_ALLOW_NUL, &jerr);
        if (!j) {
            fprintf(stderr, "%s:%d: bad JSON: %s\n", rel, line + 1, jerr.text);
            goto done;
        }
        if (line == 0) {
            if (json_integer_value(json_object_get(j, "version")) != VECTORS_VERSION) {
                fprintf(stderr, "%s: fixture version is not %d: regenerate with tools/gen_tokenizer_vectors.py\n", rel,
                        VECTORS_VERSION);
                json_decref(j);
                goto done;
            }
            tok = open_from_header(j, &skip);
            json_decref(j);
            if (!tok)
                goto done;
            continue;
        }
        const json_t *jt = json_object_get(j, "text"), *jids = json_object_get(j, "ids"),
                     *jdec = json_object_get(j, "decoded");
        const char *text = json_string_value(jt);
        size_t text_len = json_string_length(jt), n_exp = json_array_size(jids);
        int32_t *exp = malloc((n_exp + 1) * sizeof *exp);
        for (size_t i = 0; i < n_exp; i++)
            exp[i] = (int32_t)json_integer_value(json_array_get(jids, i));
        int32_t *ids = NULL;
        size_t n = 0;
        hs_error err = {0};
        hs_status st = hs_tokenizer_encode(tok, text, text_len, 0, &ids, &n, &err);
        int bad = 0;
        if (st != HS_OK) {
            fprintf(stderr, "%s:%d: encode failed: %s\n", rel, line + 1, err.msg);
            bad = 1;
        } else if (n != n_exp || memcmp(ids, exp, n * sizeof *ids) != 0) {
            if (n_bad < 8) {
                fprintf(stderr, "%s:%d: ids differ for \"", rel, line + 1);
                print_escaped(text, text_len);
                fprintf(stderr, "\"\n");
                print_ids("expected", exp, n_exp);
                print_ids("got     ", ids, n);
            }
            bad = 1;
        }
        free(ids);
        /* decode the reference ids; the C string ends at the first NUL, so compare up to it */
        char *dec = NULL;
        const char *want = json_string_value(jdec);
        size_t want_len = strnlen(want, json_string_length(jdec));
        st = hs_tokenizer_decode(tok, exp, n_exp, &dec, &err);
        if (st != HS_OK) {
            fprintf(stderr, "%s:%d: decode failed: %s\n", rel, line + 1, err.msg);
            bad = 1;
        } else if (strlen(dec) != want_len || memcmp(dec, want, want_len) != 0) {
            if (n_bad < 8) {
                fprintf(stderr, "%s:%d: decode differs: expected \"", rel, line + 1);
                print_escaped(want, want_len);
                fprintf(stderr, "\" got \"");
                print_escaped(dec, strlen(dec));
                fprintf(stderr, "\"\n");
            }
            bad = 1;
        }
        free(dec);
        free(exp);
        json_decref(j);
        n_vec++;
        n_bad += bad;
    }
    fprintf(stderr, "%s: %d vectors, %d mismatched\n", rel, n_vec, n_bad);
    rc = n_bad == 0 && n_vec > 0 ? TEST_PASS : TEST_FAIL;
done:
    hs_tokenizer_close(tok);
    free(data);
    return skip ? TEST_SKIP : rc;
}

static hs_tokenizer *open_shared(const char *rel, int hint)
{
    const char *p = test_shared_path(rel);
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    if (p && hs_tokenizer_open(p, hint, &tok, &err) != HS_OK)
        fprintf(stderr, "open %s: %s\n", rel, err.msg);
    return tok;
}

static hs_tokenizer *open_fixture(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/tokenizers/%s", name);
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    if (hs_tokenizer_open(test_src_path(rel), 0, &tok, &err) != HS_OK)
        fprintf(stderr, "open %s: %s\n", rel, err.msg);
    return tok;
}

/* Opening `path` must fail with `status` and a message containing each of the NULL-terminated
 * fragments. */
static int expect_open_error(const char *path, int hint, hs_status status, const char *const *fragments)
{
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    hs_status st = hs_tokenizer_open(path, hint, &tok, &err);
    CHECK_MSG(st == status, "%s: got %s (%s), expected %s", path, hs_status_name(st), err.msg, hs_status_name(status));
    CHECK(tok == NULL);
    for (int i = 0; fragments[i]; i++)
        CHECK_MSG(strstr(err.msg, fragments[i]) != NULL, "message \"%s\" lacks \"%s\"", err.msg, fragments[i]);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- reference vectors */

int test_tokenizer_gpt2_vectors(void)
{
    return run_vectors("gpt2.jsonl");
}

int test_tokenizer_neox_vectors(void)
{
    return run_vectors("neox.jsonl");
}

int test_tokenizer_sp_bpe_vectors(void)
{
    return run_vectors("sp_bpe.jsonl");
}

int test_tokenizer_llama3_style_vectors(void)
{
    return run_vectors("llama3_style.jsonl");
}

int test_tokenizer_misc_pipeline_vectors(void)
{
    return run_vectors("misc_pipeline.jsonl");
}

/* a tokenizer trained by `headscope tokenizer train` (tools/gen_trained_tokenizer_vectors.py), as HF reads it */
int test_tokenizer_trained_vectors(void)
{
    return run_vectors("trained.jsonl");
}

int test_tokenizer_llama2c_vectors(void)
{
    int a = run_vectors("tok512.jsonl");
    int b = run_vectors("llama2_32k.jsonl");
    if (a == TEST_FAIL || b == TEST_FAIL)
        return TEST_FAIL;
    return a == TEST_SKIP || b == TEST_SKIP ? TEST_SKIP : TEST_PASS;
}

/* ---------------------------------------------------------------- llama2.c */

static const char golden_text[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big, red ball. She wanted to play with it, but it was too high";

int test_tokenizer_llama2c_golden(void)
{
    static const int32_t golden[60] = {
        403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
        410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352,
        266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415};
    hs_tokenizer *tok = open_shared("models/stories260K/tok512.bin", 512);
    if (!tok)
        return test_shared_path("models/stories260K/tok512.bin") ? TEST_FAIL : TEST_SKIP;
    hs_error err = {0};
    char *text = NULL;
    CHECK_OK(hs_tokenizer_decode(tok, golden, 60, &text, &err), &err);
    CHECK_MSG(strcmp(text, golden_text) == 0, "decoded \"%s\"", text);
    free(text);
    /* BOS decodes to nothing and the leading space after it goes too, as in llama2.c */
    int32_t with_bos[61] = {1};
    memcpy(with_bos + 1, golden, sizeof golden);
    CHECK_OK(hs_tokenizer_decode(tok, with_bos, 61, &text, &err), &err);
    CHECK_MSG(strcmp(text, golden_text) == 0, "decoded \"%s\"", text);
    free(text);
    char piece[16];
    CHECK(hs_tokenizer_token_text(tok, 1, piece, sizeof piece) == 3 && strcmp(piece, "<s>") == 0);
    CHECK(hs_tokenizer_token_text(tok, 2, piece, sizeof piece) == 4 && strcmp(piece, "</s>") == 0);
    CHECK(strcmp(hs_tokenizer_piece(tok, 1), "\n<s>\n") == 0);
    /* and the golden text encodes back to the golden ids, BOS first when asked */
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(hs_tokenizer_encode(tok, golden_text, strlen(golden_text), 1, &ids, &n, &err), &err);
    CHECK(n == 61 && memcmp(ids, with_bos, sizeof with_bos) == 0);
    free(ids);
    CHECK(hs_tokenizer_vocab_size(tok) == 512);
    CHECK(hs_tokenizer_bos_id(tok) == 1 && hs_tokenizer_eos_id(tok) == 2);
    hs_tokenizer_close(tok);
    return TEST_PASS;
}

int test_tokenizer_llama2c_roundtrip(void)
{
    static const char *const texts[] = {
        "", "a", " ", "  two leading", "trailing  ", "Hello, world!", "Once upon a time.\nThe end.\n",
        "tabs\tand\nnewlines\r\n", "émigré naïve façade", "你好，世界", "👨‍👩‍👧‍👦 family", "Z\xcc\x81\xcc\x88",
        "mixed 中文 and English 123456789", "\xf0\x9f\x92\xa9\xf0\x9f\x92\xa9", "<0x41> <s> </s>", "~`!@#$%^&*()",
    };
    const char *files[2] = {"models/stories260K/tok512.bin", "models/llama2-tokenizer/tokenizer.bin"};
    const int hints[2] = {512, 32000};
    int tested = 0;
    for (int f = 0; f < 2; f++) {
        hs_tokenizer *tok = open_shared(files[f], hints[f]);
        if (!tok) {
            CHECK(!test_shared_path(files[f]));
            continue;
        }
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            hs_error err = {0};
            int32_t *ids = NULL;
            size_t n = 0;
            char *back = NULL;
            CHECK_OK(hs_tokenizer_encode(tok, texts[i], strlen(texts[i]), 0, &ids, &n, &err), &err);
            CHECK_OK(hs_tokenizer_decode(tok, ids, n, &back, &err), &err);
            CHECK_MSG(strcmp(back, texts[i]) == 0, "%s: \"%s\" came back as \"%s\"", files[f], texts[i], back);
            /* token texts concatenate to the text, with the dummy-prefix space in front */
            char joined[4096] = "", piece[256];
            for (size_t k = 0; k < n; k++) {
                int len = hs_tokenizer_token_text(tok, ids[k], piece, sizeof piece);
                CHECK(len >= 0);
                strncat(joined, piece, sizeof joined - strlen(joined) - 1);
            }
            CHECK_MSG(n == 0 || (joined[0] == ' ' && strcmp(joined + 1, texts[i]) == 0), "joined \"%s\"", joined);
            free(ids);
            free(back);
        }
        /* a long text is one BPE word: the merge loop must stay O(n log n) and exact */
        size_t big = 200000;
        char *text = malloc(big + 1);
        CHECK(text != NULL);
        for (size_t i = 0; i < big; i++)
            text[i] = golden_text[i % (sizeof golden_text - 1)];
        text[big] = '\0';
        hs_error err = {0};
        int32_t *ids = NULL;
        size_t n = 0;
        char *back = NULL;
        CHECK_OK(hs_tokenizer_encode(tok, text, big, 0, &ids, &n, &err), &err);
        CHECK_OK(hs_tokenizer_decode(tok, ids, n, &back, &err), &err);
        CHECK(strcmp(back, text) == 0);
        free(text);
        free(ids);
        free(back);
        hs_tokenizer_close(tok);
        tested++;
    }
    return tested ? TEST_PASS : TEST_SKIP;
}

/* ---------------------------------------------------------------- rules and queries */

static int check_bos(hs_tokenizer *tok, int32_t bos, int32_t eos, int prepends)
{
    hs_error err = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_MSG(hs_tokenizer_bos_id(tok) == bos, "bos %d, expected %d", hs_tokenizer_bos_id(tok), bos);
    CHECK_MSG(hs_tokenizer_eos_id(tok) == eos, "eos %d, expected %d", hs_tokenizer_eos_id(tok), eos);
    CHECK_OK(hs_tokenizer_encode(tok, "Hi", 2, 1, &ids, &n, &err), &err);
    CHECK(n >= 1);
    CHECK_MSG((ids[0] == bos) == prepends, "first id %d with add_bos", ids[0]);
    free(ids);
    CHECK_OK(hs_tokenizer_encode(tok, "", 0, 1, &ids, &n, &err), &err);
    CHECK(ids != NULL && n == (size_t)(prepends ? 1 : 0));
    free(ids);
    hs_tokenizer_close(tok);
    return TEST_PASS;
}

int test_tokenizer_bos_rules(void)
{
    hs_tokenizer *tok = open_fixture("sp_bpe.tokenizer.json");
    CHECK(tok != NULL);
    CHECK(check_bos(tok, 1, 2, 1) == TEST_PASS);
    tok = open_fixture("llama3_style.tokenizer.json");
    CHECK(tok != NULL);
    CHECK(check_bos(tok, 0, 1, 1) == TEST_PASS);
    if (!test_shared_path("models"))
        return TEST_SKIP;
    tok = open_shared("models/gpt2-tokenizer", 0);
    CHECK(tok != NULL && hs_tokenizer_vocab_size(tok) == 50257);
    CHECK(check_bos(tok, 50256, 50256, 0) == TEST_PASS); /* HF's GPT-2 adds no BOS */
    tok = open_shared("models/gptneox-tokenizer/tokenizer.json", 0);
    CHECK(tok != NULL && hs_tokenizer_vocab_size(tok) == 50277);
    CHECK(check_bos(tok, 0, 0, 0) == TEST_PASS);
    tok = open_shared("models/stories260K/tok512.bin", 512);
    CHECK(tok != NULL);
    return check_bos(tok, 1, 2, 1);
}

int test_tokenizer_pieces_and_token_text(void)
{
    char buf[64];
    hs_tokenizer *tok = open_fixture("sp_bpe.tokenizer.json");
    CHECK(tok != NULL);
    CHECK(strcmp(hs_tokenizer_piece(tok, 1), "<s>") == 0);
    CHECK(strcmp(hs_tokenizer_piece(tok, 3 + 0xE2), "<0xE2>") == 0);
    CHECK(hs_tokenizer_token_text(tok, 3 + 0xE2, buf, sizeof buf) == 1 && (unsigned char)buf[0] == 0xE2);
    CHECK(hs_tokenizer_token_text(tok, 3 + 'A', buf, sizeof buf) == 1 && strcmp(buf, "A") == 0);
    CHECK(hs_tokenizer_token_text(tok, 1, buf, sizeof buf) == 3 && strcmp(buf, "<s>") == 0);
    CHECK(hs_tokenizer_piece(tok, -1) == NULL && hs_tokenizer_piece(tok, hs_tokenizer_vocab_size(tok)) == NULL);
    CHECK(hs_tokenizer_token_text(tok, hs_tokenizer_vocab_size(tok), buf, sizeof buf) == -1);
    /* "▁the"-style pieces keep their space as a fragment; a small buffer truncates */
    int32_t *ids = NULL;
    size_t n = 0;
    hs_error err = {0};
    CHECK_OK(hs_tokenizer_encode(tok, "the model", 9, 0, &ids, &n, &err), &err);
    char joined[64] = "";
    for (size_t i = 0; i < n; i++) {
        CHECK(hs_tokenizer_token_text(tok, ids[i], buf, sizeof buf) >= 0);
        strcat(joined, buf);
    }
    CHECK_MSG(strcmp(joined, " the model") == 0, "joined \"%s\"", joined);
    CHECK(hs_tokenizer_token_text(tok, ids[0], buf, 2) == 1 && strcmp(buf, " ") == 0);
    free(ids);
    hs_tokenizer_close(tok);

    tok = open_shared("models/gpt2-tokenizer", 0);
    if (!tok)
        return test_shared_path("models/gpt2-tokenizer") ? TEST_FAIL : TEST_SKIP;
    CHECK(strcmp(hs_tokenizer_piece(tok, 262), "\xc4\xa0the") == 0); /* "Ġthe" */
    CHECK(hs_tokenizer_token_text(tok, 262, buf, sizeof buf) == 4 && strcmp(buf, " the") == 0);
    CHECK(hs_tokenizer_token_text(tok, 50256, buf, sizeof buf) == 13 && strcmp(buf, "<|endoftext|>") == 0);
    CHECK(hs_tokenizer_token_text(tok, 50257, buf, sizeof buf) == -1);
    hs_tokenizer_close(tok);
    return TEST_PASS;
}

int test_tokenizer_decode_range(void)
{
    hs_tokenizer *tok = open_fixture("llama3_style.tokenizer.json");
    CHECK(tok != NULL);
    int32_t ids[3] = {5, hs_tokenizer_vocab_size(tok), 6};
    char *text = (char *)"untouched";
    hs_error err = {0};
    CHECK(hs_tokenizer_decode(tok, ids, 3, &text, &err) == HS_ERR_RANGE);
    CHECK(text == NULL);
    CHECK_MSG(strstr(err.msg, "position 1") != NULL, "%s", err.msg);
    ids[1] = -7;
    CHECK(hs_tokenizer_decode(tok, ids, 3, &text, &err) == HS_ERR_RANGE);
    CHECK(strstr(err.msg, "-7") != NULL);
    CHECK_OK(hs_tokenizer_decode(tok, ids, 0, &text, &err), &err);
    CHECK(strcmp(text, "") == 0);
    free(text);
    /* text that is not UTF-8 cannot go through a Hugging Face pipeline */
    int32_t *out = NULL;
    size_t n = 0;
    CHECK(hs_tokenizer_encode(tok, "ab\xff", 3, 0, &out, &n, &err) == HS_ERR_ARG);
    CHECK(out == NULL && strstr(err.msg, "UTF-8") != NULL);
    hs_tokenizer_close(tok);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- broken files */

static void put_i32(unsigned char *p, int32_t v)
{
    memcpy(p, &v, 4);
}

/* A valid 300-token llama2.c tokenizer.bin in buf (8192 bytes): <unk>, <s>, </s>, 256 byte tokens,
 * then 41 one-letter pieces. Returns its length. */
static size_t llama2c_300(unsigned char *buf)
{
    size_t n = 0;
    put_i32(buf, 6);
    n = 4;
    for (int i = 0; i < 300; i++) {
        char piece[8];
        int len = i == 0 ? snprintf(piece, sizeof piece, "<unk>") : i == 1 ? snprintf(piece, sizeof piece, "<s>")
                : i == 2 ? snprintf(piece, sizeof piece, "</s>") : i < 259 ? snprintf(piece, sizeof piece, "<0x%02X>", i - 3)
                : snprintf(piece, sizeof piece, "%c", 'A' + (i - 259));
        float score = (float)-i;
        memcpy(buf + n, &score, 4);
        put_i32(buf + n + 4, len);
        memcpy(buf + n + 8, piece, (size_t)len);
        n += 8 + (size_t)len;
    }
    return n;
}

/* A llama2.c tokenizer.bin does not store its vocabulary size, but its records (score, length,
 * piece) run back to back to the end of the file: with vocab_size_hint 0 the size is the number of
 * records (a file that does not end on a record boundary is refused, naming the token); a hint
 * > 0 is checked against the file as before. `headscope tokenize --tokenizer tok512.bin` works. */
int test_tokenizer_llama2c_vocab_size_from_file(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.bin", dir);
    static unsigned char buf[8192];
    size_t n = llama2c_300(buf);
    CHECK(write_file(path, buf, n));
    hs_tokenizer *inferred = NULL, *hinted = NULL;
    hs_error err = {0};
    CHECK_OK(hs_tokenizer_open(path, 0, &inferred, &err), &err);
    CHECK_OK(hs_tokenizer_open(path, 300, &hinted, &err), &err);
    CHECK(hs_tokenizer_vocab_size(inferred) == 300 && hs_tokenizer_vocab_size(hinted) == 300);
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK_OK(hs_tokenizer_encode(inferred, "ABBA CAB", 8, 1, &a, &na, &err), &err);
    CHECK_OK(hs_tokenizer_encode(hinted, "ABBA CAB", 8, 1, &b, &nb, &err), &err);
    CHECK(na == nb && na > 3 && memcmp(a, b, na * sizeof *a) == 0);
    free(a), free(b);
    hs_tokenizer_close(inferred);
    hs_tokenizer_close(hinted);

    /* the file ends inside token 259's piece, or 3 bytes into the record of a token 300 */
    size_t cut = 4 + 3 * 8 + 5 + 3 + 4 + 256 * 14 + 8;
    CHECK(write_file(path, buf, cut));
    static const char *const trunc[] = {"tokenizer.bin", "token 259", "past the end", NULL};
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, trunc) == TEST_PASS);
    memset(buf + n, 0, 3);
    CHECK(write_file(path, buf, n + 3));
    static const char *const tail[] = {"tokenizer.bin", "token 300", NULL};
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, tail) == TEST_PASS);
    static const char *const negative[] = {"vocab_size_hint", "-3", NULL};
    CHECK(expect_open_error(path, -3, HS_ERR_ARG, negative) == TEST_PASS);

    /* the command line, on the real stories260K tokenizer: the same ids as through its model */
    const char *tok512 = test_shared_path("models/stories260K/tok512.bin");
    if (!tok512)
        return TEST_SKIP;
    char cmd[4200], by_tok[256], by_model[256];
    snprintf(cmd, sizeof cmd, "tokenize --tokenizer '%s' 'Once upon a time'", tok512);
    CHECK_MSG(test_run_headscope(cmd, by_tok, sizeof by_tok) == 0, "%s", by_tok);
    snprintf(cmd, sizeof cmd, "tokenize --model '%s' 'Once upon a time'",
             test_shared_path("models/stories260K/stories260K.bin"));
    CHECK_MSG(test_run_headscope(cmd, by_model, sizeof by_model) == 0, "%s", by_model);
    CHECK_MSG(strcmp(by_tok, by_model) == 0 && strcmp(by_tok, "403 407 261 378\n") == 0, "%s vs %s", by_tok,
              by_model);
    return TEST_PASS;
}

int test_tokenizer_llama2c_bad_files(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.bin", dir);
    unsigned char buf[8192];
    size_t n = llama2c_300(buf);
    CHECK(write_file(path, buf, n));
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    CHECK_OK(hs_tokenizer_open(path, 300, &tok, &err), &err);
    hs_tokenizer_close(tok);

    static const char *const hint[] = {"vocab_size_hint", "-3", NULL};
    CHECK(expect_open_error(path, -3, HS_ERR_ARG, hint) == TEST_PASS);
    static const char *const small_hint[] = {"tokenizer.bin", "vocab_size_hint 200", NULL};
    CHECK(expect_open_error(path, 200, HS_ERR_FORMAT, small_hint) == TEST_PASS);
    static const char *const big_hint[] = {"tokenizer.bin", "token 300", NULL};
    CHECK(expect_open_error(path, 301, HS_ERR_FORMAT, big_hint) == TEST_PASS);

    /* truncated inside token 259's piece */
    size_t cut = 4 + 3 * 8 + 5 + 3 + 4 + 256 * 14 + 8;
    CHECK(write_file(path, buf, cut));
    static const char *const trunc[] = {"tokenizer.bin", "token 259", "past the end", NULL};
    CHECK(expect_open_error(path, 300, HS_ERR_FORMAT, trunc) == TEST_PASS);
    /* a negative length, then one beyond max_token_length */
    put_i32(buf + 4 + 4, -5);
    CHECK(write_file(path, buf, n));
    static const char *const neg[] = {"token 0", "length -5", NULL};
    CHECK(expect_open_error(path, 300, HS_ERR_FORMAT, neg) == TEST_PASS);
    put_i32(buf + 4 + 4, 70000);
    CHECK(write_file(path, buf, n));
    static const char *const big[] = {"token 0", "length 70000", NULL};
    CHECK(expect_open_error(path, 300, HS_ERR_FORMAT, big) == TEST_PASS);
    put_i32(buf, 0);
    CHECK(write_file(path, buf, n));
    static const char *const maxlen[] = {"max_token_length", NULL};
    CHECK(expect_open_error(path, 300, HS_ERR_FORMAT, maxlen) == TEST_PASS);
    CHECK(write_file(path, buf, 2));
    CHECK(expect_open_error(path, 300, HS_ERR_FORMAT, maxlen) == TEST_PASS);
    return TEST_PASS;
}

/* A tiny valid tokenizer.json with one substitution made to break it. */
static const char tiny_json[] =
    "{\"version\": \"1.0\", \"added_tokens\": [{\"id\": 4, \"content\": \"<eos>\", \"special\": true, "
    "\"normalized\": false}],"
    " \"normalizer\": NORMALIZER,"
    " \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true},"
    " \"post_processor\": null, \"decoder\": {\"type\": \"ByteLevel\"},"
    " \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"c\": DUP},"
    " \"merges\": [MERGES]}}";

static int write_tiny(const char *path, const char *normalizer, const char *dup, const char *merges)
{
    char text[2048];
    const char *keys[3] = {"NORMALIZER", "DUP", "MERGES"}, *vals[3] = {normalizer, dup, merges};
    const char *src = tiny_json;
    size_t o = 0;
    while (*src) {
        int k = 0;
        while (k < 3 && strncmp(src, keys[k], strlen(keys[k])) != 0)
            k++;
        if (k < 3) {
            o += (size_t)snprintf(text + o, sizeof text - o, "%s", vals[k]);
            src += strlen(keys[k]);
        } else {
            text[o++] = *src++;
        }
    }
    return write_file(path, text, o);
}

int test_tokenizer_json_bad_files(void)
{
    const char *dir = test_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    hs_tokenizer *tok = NULL;
    hs_error err = {0};
    CHECK(write_tiny(path, "{\"type\": \"NFC\"}", "3", "\"a b\""));
    CHECK_OK(hs_tokenizer_open(dir, 0, &tok, &err), &err);
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(hs_tokenizer_encode(tok, "abc<eos>", 8, 0, &ids, &n, &err), &err);
    CHECK(n == 3 && ids[0] == 2 && ids[1] == 3 && ids[2] == 4);
    free(ids);
    CHECK(hs_tokenizer_vocab_size(tok) == 5);
    hs_tokenizer_close(tok);

    static const char *const dup[] = {"tokenizer.json", "model.vocab", "id 1", NULL};
    CHECK(write_tiny(path, "null", "1", "\"a b\""));
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, dup) == TEST_PASS);
    static const char *const merge[] = {"tokenizer.json", "model.merges[1]", "\"z\"", "not in the vocabulary", NULL};
    CHECK(write_tiny(path, "null", "3", "\"a b\", \"a z\""));
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, merge) == TEST_PASS);
    static const char *const merged[] = {"model.merges[0]", "\"ba\"", NULL};
    CHECK(write_tiny(path, "null", "3", "[\"b\", \"a\"]"));
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, merged) == TEST_PASS);
    static const char *const shape[] = {"model.merges[0]", "two pieces", NULL};
    CHECK(write_tiny(path, "null", "3", "\"ab\""));
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, shape) == TEST_PASS);
    static const char *const lower[] = {"tokenizer.json: normalizer.normalizers[1].type \"Lowercase\" is not supported",
                                        NULL};
    CHECK(write_tiny(path, "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, {\"type\": \"Lowercase\"}]}",
                     "3", "\"a b\""));
    CHECK(expect_open_error(path, 0, HS_ERR_UNSUPPORTED, lower) == TEST_PASS);
    static const char *const regex[] = {"normalizer.pattern", "does not compile", NULL};
    CHECK(write_tiny(path, "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(a\"}, \"content\": \"x\"}", "3",
                     "\"a b\""));
    CHECK(expect_open_error(path, 0, HS_ERR_UNSUPPORTED, regex) == TEST_PASS);
    static const char *const content[] = {"normalizer", "content is missing", NULL};
    CHECK(write_tiny(path, "{\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}}", "3", "\"a b\""));
    CHECK(expect_open_error(path, 0, HS_ERR_MISSING, content) == TEST_PASS);

    /* not JSON at all, and JSON cut short */
    static const char *const json[] = {"tokenizer.json", "bad JSON", "line", NULL};
    CHECK(write_file(path, "{\"model\": {\"vocab\": {\"a\": 0", 26));
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, json) == TEST_PASS);
    CHECK(write_file(path, "{\"model\": {\"vocab\": {\"a\": 0, \"a\": 1}, \"merges\": []}}", 51));
    CHECK(expect_open_error(path, 0, HS_ERR_FORMAT, json) == TEST_PASS);
    static const char *const model[] = {"tokenizer.json", "model", NULL};
    CHECK(write_file(path, "{}", 2));
    CHECK(expect_open_error(path, 0, HS_ERR_MISSING, model) == TEST_PASS);
    static const char *const wp[] = {"model.type \"WordPiece\" is not supported", NULL};
    CHECK(write_file(path, "{\"model\": {\"type\": \"WordPiece\"}}", 32));
    CHECK(expect_open_error(path, 0, HS_ERR_UNSUPPORTED, wp) == TEST_PASS);

    /* a GPT-2 pair whose merges name a piece the vocabulary lacks */
    char vpath[512], mpath[512];
    snprintf(vpath, sizeof vpath, "%s/encoder.json", dir);
    snprintf(mpath, sizeof mpath, "%s/vocab.bpe", dir);
    remove(path);
    CHECK(write_file(vpath, "{\"a\": 0, \"b\": 1, \"ab\": 2}", 25));
    CHECK(write_file(mpath, "#version: 0.2\na b\nb c\n", 22));
    static const char *const gpt2[] = {"vocab.bpe: line 3", "\"c\"", NULL};
    CHECK(expect_open_error(dir, 0, HS_ERR_FORMAT, gpt2) == TEST_PASS);
    CHECK(write_file(vpath, "{\"a\": 0, \"b\": 0}", 16));
    static const char *const gpt2dup[] = {"encoder.json", "id 0", NULL};
    CHECK(expect_open_error(dir, 0, HS_ERR_FORMAT, gpt2dup) == TEST_PASS);

    /* nothing there */
    remove(vpath);
    remove(mpath);
    static const char *const none[] = {"no tokenizer.json", NULL};
    CHECK(expect_open_error(dir, 0, HS_ERR_MISSING, none) == TEST_PASS);
    static const char *const absent[] = {"nonexistent", NULL};
    snprintf(path, sizeof path, "%s/nonexistent.json", dir);
    CHECK(expect_open_error(path, 0, HS_ERR_MISSING, absent) == TEST_PASS);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- long inputs */

/* Byte-level BPE is lossless: long and odd inputs round-trip, and a long whitespace run (the
 * GPT-2 regex's \s+(?!\S) backtracks over it) neither fails nor crawls. */
int test_tokenizer_long_inputs(void)
{
    hs_tokenizer *tok = open_shared("models/gpt2-tokenizer", 0);
    if (!tok)
        return test_shared_path("models/gpt2-tokenizer") ? TEST_FAIL : TEST_SKIP;
    size_t big = 1 << 20;
    char *text = malloc(big + 1);
    CHECK(text != NULL);
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < big; i++)
            text[i] = kind == 0 ? ' ' : kind == 1 ? "ab \n"[i % 4] : golden_text[i % (sizeof golden_text - 1)];
        text[big] = '\0';
        hs_error err = {0};
        int32_t *ids = NULL;
        size_t n = 0;
        char *back = NULL;
        CHECK_OK(hs_tokenizer_encode(tok, text, big, 0, &ids, &n, &err), &err);
        CHECK_OK(hs_tokenizer_decode(tok, ids, n, &back, &err), &err);
        CHECK_MSG(strcmp(back, text) == 0, "kind %d does not round-trip", kind);
        free(ids);
        free(back);
    }
    free(text);
    hs_tokenizer_close(tok);
    return TEST_PASS;
}
