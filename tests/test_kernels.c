/* test_kernels.c — each optimised CPU kernel against its plain reference twin, by normalised error
 * with a per-kernel tolerance; and proof that the comparison fails on a planted error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/kernels.h"
#include "tests/test.h"
#include "tests/tiny_model.h"

/* float32 sgemm vs double accumulation: error grows like sqrt(k)·eps relative to the output scale */
#define TOL_LINEAR 1e-5
#define TOL_ATTN 1e-5

typedef struct shapes { int n, in, out; } shapes;

int test_kernels_linear(void)
{
    static const shapes cases[] = {{1, 1, 1}, {3, 7, 5}, {17, 64, 33}, {128, 96, 200}, {5, 300, 2}};
    unsigned seed = 7;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        shapes s = cases[c];
        float *x = malloc(sizeof(float) * s.n * s.in), *W = malloc(sizeof(float) * s.out * s.in);
        float *b = malloc(sizeof(float) * s.out), *y0 = malloc(sizeof(float) * s.n * s.out),
              *y1 = malloc(sizeof(float) * s.n * s.out);
        CHECK(x && W && b && y0 && y1);
        tiny_fill(x, (size_t)s.n * s.in, 1.0f, &seed);
        tiny_fill(W, (size_t)s.out * s.in, 1.0f, &seed);
        tiny_fill(b, (size_t)s.out, 1.0f, &seed);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            hs_kernels_ref.linear(y0, x, W, with_bias ? b : NULL, s.n, s.in, s.out);
            hs_kernels_cpu.linear(y1, x, W, with_bias ? b : NULL, s.n, s.in, s.out);
            double e = test_norm_err(y1, y0, (size_t)s.n * s.out);
            CHECK_MSG(e < TOL_LINEAR, "linear %dx%d->%d bias %d: normalised error %g", s.n, s.in, s.out, with_bias, e);
        }
        free(x), free(W), free(b), free(y0), free(y1);
    }
    return TEST_PASS;
}

int test_kernels_attention(void)
{
    static const int cases[][5] = {/* B, T, Hq, Hkv, dh */ {1, 1, 1, 1, 4}, {2, 9, 4, 2, 8}, {1, 33, 6, 1, 16},
                                   {3, 16, 8, 8, 5}};
    unsigned seed = 11;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int B = cases[c][0], T = cases[c][1], Hq = cases[c][2], Hkv = cases[c][3], dh = cases[c][4];
        size_t nq = (size_t)B * T * Hq * dh, nk = (size_t)B * T * Hkv * dh, ns = (size_t)B * Hq * T * T;
        float *q = malloc(nq * 4), *k = malloc(nk * 4), *v = malloc(nk * 4), *s0 = malloc(ns * 4),
              *s1 = malloc(ns * 4), *z0 = malloc(nq * 4), *z1 = malloc(nq * 4);
        CHECK(q && k && v && s0 && s1 && z0 && z1);
        tiny_fill(q, nq, 1.0f, &seed);
        tiny_fill(k, nk, 1.0f, &seed);
        tiny_fill(v, nk, 1.0f, &seed);
        hs_kernels_ref.attn_scores(s0, q, k, B, T, Hq, Hkv, dh, 0.5f);
        hs_kernels_cpu.attn_scores(s1, q, k, B, T, Hq, Hkv, dh, 0.5f);
        for (size_t i = 0; i < ns; i++) {
            CHECK(isinf(s0[i]) == isinf(s1[i]));
            if (isinf(s0[i]))
                s0[i] = s1[i] = 0; /* masked entries agree; compare the rest */
        }
        double e = test_norm_err(s1, s0, ns);
        CHECK_MSG(e < TOL_ATTN, "attn_scores B%d T%d H%d/%d dh%d: %g", B, T, Hq, Hkv, dh, e);
        hs_kernels_ref.attn_scores(s0, q, k, B, T, Hq, Hkv, dh, 0.5f);
        hs_softmax_rows(s0, s0, (int64_t)B * Hq * T, T);
        hs_kernels_ref.attn_apply(z0, s0, v, B, T, Hq, Hkv, dh);
        hs_kernels_cpu.attn_apply(z1, s0, v, B, T, Hq, Hkv, dh);
        e = test_norm_err(z1, z0, nq);
        CHECK_MSG(e < TOL_ATTN, "attn_apply B%d T%d H%d/%d dh%d: %g", B, T, Hq, Hkv, dh, e);
        free(q), free(k), free(v), free(s0), free(s1), free(z0), free(z1);
    }
    return TEST_PASS;
}

/* The checker itself: a planted error of 1e-3 relative in one element must be caught. */
int test_kernels_checker_catches_planted_error(void)
{
    unsigned seed = 3;
    int n = 8, in = 32, out = 16;
    float x[8 * 32], W[16 * 32], y0[8 * 16], y1[8 * 16];
    tiny_fill(x, sizeof x / 4, 1.0f, &seed);
    tiny_fill(W, sizeof W / 4, 1.0f, &seed);
    hs_kernels_ref.linear(y0, x, W, NULL, n, in, out);
    hs_kernels_cpu.linear(y1, x, W, NULL, n, in, out);
    CHECK(test_norm_err(y1, y0, (size_t)n * out) < TOL_LINEAR);
    float maxabs = 0;
    for (int i = 0; i < n * out; i++)
        maxabs = fmaxf(maxabs, fabsf(y0[i]));
    y1[37] += 1e-3f * maxabs;
    CHECK(test_norm_err(y1, y0, (size_t)n * out) >= TOL_LINEAR);
    y1[37] = NAN;
    CHECK(!(test_norm_err(y1, y0, (size_t)n * out) < TOL_LINEAR));
    return TEST_PASS;
}

/* Norms, activations, rotary and softmax against values worked out by hand. */
int test_kernels_plain_values(void)
{
    float x[4] = {1, 2, 3, 6}, mean[1], scale[1], y[4], w[4] = {1, 1, 1, 1};
    hs_layernorm_stats(x, mean, scale, 1, 4, 0.0f);
    CHECK_NEAR(mean[0], 3.0, 1e-6);
    CHECK_NEAR(scale[0], sqrt(3.5), 1e-6);
    hs_norm_apply(y, x, mean, scale, w, NULL, 1, 4);
    CHECK_NEAR(y[3], 3.0 / sqrt(3.5), 1e-6);
    hs_rmsnorm_stats(x, mean, scale, 1, 4, 0.0f);
    CHECK_NEAR(scale[0], sqrt(50.0 / 4), 1e-6);
    float g[3] = {-1, 0, 1};
    hs_gelu_erf(g, 3);
    CHECK_NEAR(g[2], 0.8413447460685429, 1e-6);
    CHECK_NEAR(g[0], -0.15865525393145707, 1e-6);
    float gt[1] = {1};
    hs_gelu_tanh(gt, 1);
    CHECK_NEAR(gt[0], 0.8411919906082768, 1e-6);
    float si[1] = {1};
    hs_silu(si, 1);
    CHECK_NEAR(si[0], 0.7310585786300049, 1e-6);
    /* rotary: position 1, one pair (dh 2, rot 2): rotate (1, 0) by 1 radian */
    float r[4] = {5, 5, 1, 0}; /* B1 T2 H1 dh2: position 0 untouched */
    hs_rope(r, 1, 2, 1, 2, 2, 10000.0f);
    CHECK(r[0] == 5 && r[1] == 5);
    CHECK_NEAR(r[2], cos(1.0), 1e-6);
    CHECK_NEAR(r[3], sin(1.0), 1e-6);
    float s[3] = {0, logf(3.0f), -INFINITY};
    hs_softmax_rows(s, s, 1, 3);
    CHECK_NEAR(s[0], 0.25, 1e-6);
    CHECK_NEAR(s[1], 0.75, 1e-6);
    CHECK(s[2] == 0.0f);
    return TEST_PASS;
}

/* GELU (tanh) twin: every float from -12 to 12 in steps of 1/1024, plus extremes; error relative
 * to max(|ref|, 1) — absolute near zero, where GELU itself is near zero. */
/* The norm in two steps, as the forward pass runs it around hook_normalized (x̂ alone, then the
 * gain and bias in place), is the one-step norm bit for bit, with and without a bias. */
int test_kernels_norm_split_equals_fused(void)
{
    enum { N = 37, D = 53 };
    static float x[N * D], w[D], b[D], mean[N], scale[N], fused[N * D], split[N * D];
    unsigned seed = 11;
    tiny_fill(x, N * D, 3.0f, &seed);
    tiny_fill(w, D, 1.5f, &seed);
    tiny_fill(b, D, 0.5f, &seed);
    for (int rms = 0; rms < 2; rms++) {
        if (rms)
            hs_rmsnorm_stats(x, mean, scale, N, D, 1e-5f);
        else
            hs_layernorm_stats(x, mean, scale, N, D, 1e-5f);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            const float *bias = with_bias ? b : NULL;
            hs_norm_apply(fused, x, mean, scale, w, bias, N, D);
            hs_norm_apply(split, x, mean, scale, NULL, NULL, N, D);
            for (int i = 0; i < N * D; i++)
                CHECK_NEAR(split[i], (x[i] - mean[i / D]) / scale[i / D], 1e-5);
            hs_norm_affine(split, w, bias, N, D);
            CHECK_MSG(memcmp(split, fused, sizeof fused) == 0, "rms %d, bias %d", rms, with_bias);
        }
    }
    return TEST_PASS;
}

int test_kernels_gelu_tanh(void)
{
    int n = 24 * 1024 + 1;
    float *x0 = malloc(sizeof(float) * (size_t)(n + 6)), *x1 = malloc(sizeof(float) * (size_t)(n + 6));
    CHECK(x0 && x1);
    for (int i = 0; i < n; i++)
        x0[i] = -12.0f + (float)i / 1024.0f;
    static const float extremes[6] = {-1e30f, -100.0f, -1e-30f, 1e-30f, 100.0f, 1e30f};
    memcpy(x0 + n, extremes, sizeof extremes);
    n += 6;
    memcpy(x1, x0, sizeof(float) * (size_t)n);
    hs_kernels_ref.gelu_tanh(x0, n);
    hs_kernels_cpu.gelu_tanh(x1, n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        CHECK_MSG(isfinite(x1[i]), "gelu(%g) = %g", (double)x0[i], (double)x1[i]);
        double e = fabs((double)x1[i] - (double)x0[i]) / fmax(fabs((double)x0[i]), 1.0);
        worst = fmax(worst, e);
    }
    CHECK_MSG(worst < 1e-6, "gelu_tanh: worst error %g", worst);
    free(x0), free(x1);
    return TEST_PASS;
}

/* softmax twin: causal rows, rows with large and tiny spreads, a fully masked row */
int test_kernels_softmax(void)
{
    unsigned seed = 5;
    static const int Ts[] = {1, 3, 8, 9, 64, 131};
    static const float spreads[] = {0.01f, 1.0f, 30.0f, 200.0f};
    for (size_t a = 0; a < sizeof Ts / sizeof Ts[0]; a++)
        for (size_t b = 0; b < sizeof spreads / sizeof spreads[0]; b++) {
            int T = Ts[a];
            int64_t rows = T + 1; /* a causal square plus one fully masked row */
            size_t n = (size_t)rows * (size_t)T;
            float *s = malloc(n * 4), *p0 = malloc(n * 4), *p1 = malloc(n * 4);
            CHECK(s && p0 && p1);
            tiny_fill(s, n, spreads[b], &seed);
            for (int i = 0; i < T; i++)
                for (int j = i + 1; j < T; j++)
                    s[(size_t)i * T + j] = -INFINITY;
            for (int j = 0; j < T; j++)
                s[(size_t)T * T + j] = -INFINITY;
            hs_kernels_ref.softmax_rows(p0, s, rows, T);
            hs_kernels_cpu.softmax_rows(p1, s, rows, T);
            for (size_t i = 0; i < n; i++)
                CHECK_MSG((p0[i] == 0) == (p1[i] == 0) || fabs(p0[i] - p1[i]) < 1e-30,
                          "softmax T%d: exact zeros differ at %zu (%g vs %g)", T, i, (double)p0[i], (double)p1[i]);
            double e = test_norm_err(p1, p0, n);
            CHECK_MSG(e < 1e-6, "softmax T%d spread %g: normalised error %g", T, (double)spreads[b], e);
            /* in place, as the forward pass calls it */
            memcpy(p1, s, n * 4);
            hs_kernels_cpu.softmax_rows(p1, p1, rows, T);
            CHECK(test_norm_err(p1, p0, n) < 1e-6);
            free(s), free(p0), free(p1);
        }
    return TEST_PASS;
}
