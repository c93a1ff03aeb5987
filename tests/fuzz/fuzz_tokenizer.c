/* fuzz_tokenizer.c — libFuzzer target for tokenizer/tokenizer.c: the input is a tokenizer.json opened
 * with hs_tokenizer_open; whatever opens must encode and decode a fixed text, and answer for
 * every id in its vocabulary. Build and run with tools/fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "headscope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], path[300];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/hs-fuzz-tok-XXXXXX", base);
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();

    hs_tokenizer *tok = NULL;
    hs_error err;
    memset(&err, 0, sizeof err);
    if (hs_tokenizer_open(path, 0, &tok, &err) != HS_OK) {
        if (tok != NULL)
            abort();
        return 0;
    }
    static const char text[] = "Hello world,  h\xc3\xa9llo\n\t123 <|endoftext|> \xf0\x9f\x98\x80 \xff end";
    for (int bos = 0; bos < 2; bos++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (hs_tokenizer_encode(tok, text, sizeof text - 1, bos, &ids, &n, &err) == HS_OK) {
            char *back = NULL;
            if (hs_tokenizer_decode(tok, ids, n, &back, &err) == HS_OK)
                free(back);
            free(ids);
        }
    }
    int v = hs_tokenizer_vocab_size(tok);
    char buf[64];
    for (int32_t id = -1; id <= v && id < 4096; id++) {
        hs_tokenizer_piece(tok, id);
        hs_tokenizer_token_text(tok, id, buf, sizeof buf);
    }
    int32_t bad = v;
    char *s = NULL;
    if (hs_tokenizer_decode(tok, &bad, 1, &s, &err) == HS_OK) /* out of range must fail */
        abort();
    hs_tokenizer_bos_id(tok);
    hs_tokenizer_eos_id(tok);
    hs_tokenizer_close(tok);
    return 0;
}
