/* test_dtype.c — float16/bfloat16 conversion is exact on every float16 and rounds to nearest even. */
#include "tests/test.h"
#include "base/dtype.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int test_dtype_roundtrip(void)
{
    /* every finite float16 survives f16 -> f32 -> f16 */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
            continue; /* NaN payloads need not survive */
        uint16_t back = hs_f32_to_f16(hs_f16_to_f32((uint16_t)h));
        CHECK_MSG(back == h, "f16 0x%04x -> %g -> 0x%04x", h, hs_f16_to_f32((uint16_t)h), back);
    }
    CHECK(hs_f16_to_f32(0x3c00) == 1.0f);
    CHECK(hs_f16_to_f32(0xc000) == -2.0f);
    CHECK(hs_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    /* ties round to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10 */
    CHECK(hs_f32_to_f16(1.0f + 0x1p-11f) == 0x3c00);
    CHECK(hs_f32_to_f16(1.0f + 3 * 0x1p-11f) == 0x3c02);
    CHECK(hs_f32_to_f16(1e6f) == 0x7c00);
    /* bfloat16 */
    for (uint32_t b = 0; b < 0x10000; b++) {
        if ((b & 0x7f80) == 0x7f80 && (b & 0x7f))
            continue;
        CHECK(hs_f32_to_bf16(hs_bf16_to_f32((uint16_t)b)) == b);
    }
    CHECK(hs_bf16_to_f32(0x3f80) == 1.0f);
    CHECK(hs_f32_to_bf16(1.0f + 0x1p-8f) == 0x3f80);
    CHECK(hs_f32_to_bf16(1.0f + 3 * 0x1p-8f) == 0x3f82);
    float out[2];
    uint16_t src[2] = {0x3c00, 0xbc00};
    CHECK(hs_convert_to_f32(HS_DTYPE_F16, src, out, 2) == 0);
    CHECK(out[0] == 1.0f && out[1] == -1.0f);
    CHECK(hs_convert_to_f32(HS_DTYPE_I32, src, out, 1) == -1);
    return TEST_PASS;
}

/* The vectorised float16 conversion against its scalar twin: every float16 value and the midpoints
 * between neighbours (ties), subnormals, overflow, infinities, NaN, and random floats; lengths that
 * are not multiples of the vector width. */
int test_dtype_f16_array_twin(void)
{
    enum { N = 3 * 65536 + 1000 + 5 };
    float *src = malloc(N * sizeof *src);
    uint16_t *fast = malloc(N * sizeof *fast);
    CHECK(src && fast);
    size_t n = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float v = hs_f16_to_f32((uint16_t)h);
        float next = hs_f16_to_f32((uint16_t)(h + 1));
        src[n++] = v;
        src[n++] = (v + next) / 2;               /* a tie (or an overflow to inf near the top) */
        src[n++] = v * 1.0009765625f;            /* just off a representable value */
    }
    uint32_t seed = 12345;
    for (int i = 0; i < 1000; i++) {
        seed = seed * 1664525u + 1013904223u;
        uint32_t bits = seed;
        memcpy(&src[n++], &bits, 4);
    }
    src[n++] = 1e9f, src[n++] = -1e-9f, src[n++] = 65520.0f, src[n++] = INFINITY, src[n++] = NAN;
    CHECK(n == N);
    for (size_t len = N - 3; len <= N; len++) { /* tails of every length mod 8 near the end */
        hs_f32_to_f16_array(src, fast, len);
        for (size_t i = 0; i < len; i++) {
            uint16_t ref = hs_f32_to_f16(src[i]);
            if (src[i] != src[i])
                CHECK_MSG((fast[i] & 0x7c00) == 0x7c00 && (fast[i] & 0x3ff), "NaN at %zu became 0x%04x", i, fast[i]);
            else
                CHECK_MSG(fast[i] == ref, "value %.9g (%zu): fast 0x%04x, reference 0x%04x", src[i], i, fast[i], ref);
        }
    }
    free(src);
    free(fast);
    return TEST_PASS;
}
