/* exp_fast.h — the vectorisable exponential of the CPU kernels (kernels_cpu.c) and the training
 * backward kernels (train/ops_backward.c): one definition, so both compute the same values. */
#ifndef HS_BACKEND_EXP_FAST_H
#define HS_BACKEND_EXP_FAST_H

#include <stdint.h>

/* exp_fast(x) = 2^n · e^r with n = round(x / ln 2) and r = x - n ln 2 in [-ln2/2, ln2/2] (ln 2 in
 * two parts so r is exact), e^r by its Taylor polynomial of degree 7 (truncation < 1e-8
 * relative), 2^n built in the exponent bits. x is clamped to [-87, 88], where 2^n stays a normal
 * float, so callers that need an exact 0 (masked scores) select it themselves. Branch-free with
 * plain float and int operations, so loops over it vectorise (AVX2: 8 lanes). */
static inline float exp_fast(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float shifter = 12582912.0f; /* 1.5 · 2^23: adding it rounds to an integer */
    float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693145751953125f; /* ln 2, high part: exact in n · ln2_hi */
    r = r - n * 1.42860682030941723212e-6f; /* ln 2, low part */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { int32_t i; float f; } scale = {.i = ((int32_t)n + 127) << 23};
    return p * scale.f;
}

#define VECTORISE __attribute__((optimize("tree-vectorize", "tree-loop-vectorize")))

#endif
