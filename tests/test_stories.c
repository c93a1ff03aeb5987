/* test_stories.c — real weights: stories260K (llama2.c format, ../shared/models) reproduces the
 * golden greedy ids and top-5 logits of ../shared/models/README.md, and decodes to its text. */
#include <stdlib.h>
#include <string.h>

#include "tests/test.h"

static const int32_t golden[60] = {
    403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337,
    410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394, 261, 370, 432, 352,
    266, 268, 388, 426, 338, 391, 266, 267, 337, 335, 312, 432, 398, 312, 286, 267, 414, 270, 333, 415};

static const char golden_text[] =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she "
    "saw a big, red ball. She wanted to play with it, but it was too high";

int test_stories_golden_generation(void)
{
    const char *path = test_shared_path("models/stories260K/stories260K.bin");
    if (!path)
        return TEST_SKIP;
    char model_path[4096];
    snprintf(model_path, sizeof model_path, "%s", path);
    hs_error err = {0};
    hs_model *m;
    CHECK_OK(hs_model_open(model_path, NULL, &m, &err), &err);
    hs_model_info info;
    hs_model_get_info(m, &info);
    CHECK(strcmp(info.architecture, "llama") == 0);
    CHECK(info.n_layers == 5 && info.d_model == 64 && info.n_heads == 8 && info.n_kv_heads == 4);
    CHECK(info.d_mlp == 172 && info.d_vocab == 512 && info.n_ctx == 512);

    /* top-5 logits at position 0 (input BOS) */
    int32_t bos = 1;
    float logits[512];
    hs_batch b = {.ids = &bos, .n_batch = 1, .n_pos = 1};
    CHECK_OK(hs_forward(m, &b, NULL, HS_BACKEND_CPU, logits, &err), &err);
    static const struct { int id; float logit; } top5[5] = {
        {403, 17.0235f}, {385, 15.4062f}, {410, 13.1083f}, {317, 12.7692f}, {407, 12.4181f}};
    int used[512] = {0};
    for (int r = 0; r < 5; r++) {
        int best = -1;
        for (int v = 0; v < 512; v++)
            if (!used[v] && (best < 0 || logits[v] > logits[best]))
                best = v;
        used[best] = 1;
        CHECK_MSG(best == top5[r].id, "rank %d: id %d, expected %d", r, best, top5[r].id);
        CHECK_NEAR(logits[best], top5[r].logit, 1e-4); /* the README gives 4 decimals */
    }
    /* the reference backend agrees */
    float ref[512];
    CHECK_OK(hs_forward(m, &b, NULL, HS_BACKEND_REFERENCE, ref, &err), &err);
    CHECK(test_norm_err(logits, ref, 512) < 1e-5);

    int32_t *out;
    int n;
    CHECK_OK(hs_generate_greedy(m, &bos, 1, 60, 0, &out, &n, &err), &err);
    CHECK(n == 61);
    for (int i = 0; i < 60; i++)
        CHECK_MSG(out[i + 1] == golden[i], "position %d: generated %d, golden %d", i, out[i + 1], golden[i]);

    const hs_tokenizer *tok = hs_model_tokenizer(m);
    CHECK(tok);
    char *text;
    CHECK_OK(hs_tokenizer_decode(tok, out, (size_t)n, &text, &err), &err);
    CHECK_MSG(strcmp(text, golden_text) == 0, "decoded: '%s'", text);
    free(text);
    free(out);
    hs_model_close(m);
    return TEST_PASS;
}
