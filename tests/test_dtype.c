/* test_dtype.c — float16/bfloat16 conversion is exact on every float16 and rounds to nearest even. */
#include "tests/test.h"
#include "base/dtype.h"

#include <stdint.h>
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
