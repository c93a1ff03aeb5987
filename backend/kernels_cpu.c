/* kernels_cpu.c — the CPU backend's optimised kernels: every matrix product goes through BLAS
 * (OpenBLAS sgemm, its own threads), and GELU and softmax use an exponential the compiler can
 * vectorise (libm's tanhf and expf cannot be: GELU alone was 28 % of a GPT-2 pass). Twins of
 * kernels_ref.c, checked against them in tests. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/exp_fast.h"
#include "backend/kernels.h"

static void cpu_linear(float *y, const float *x, const float *W, const float *b, int n, int in, int out)
{
    float beta = 0.0f;
    if (b) { /* y starts as b in every row, then sgemm adds x·Wᵀ; memcpy rows: 4-5x the plain loop */
        for (int i = 0; i < n; i++)
            memcpy(y + (int64_t)i * out, b, (size_t)out * sizeof *y);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out, in, 1.0f, x, in, W, in, beta, y, out);
}

/* Per (batch, head): S = scale · Q Kᵀ with Q rows strided by Hq·dh and K rows by Hkv·dh, then the
 * upper triangle is masked. Computing the full square and masking wastes half the flops of a
 * small part of the pass; it keeps one sgemm per head. */
static void cpu_attn_scores(float *scores, const float *q, const float *k, int B, int T, int Hq, int Hkv, int dh,
                            float scale)
{
    int group = Hq / Hkv;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < Hq; h++) {
            float *S = scores + ((int64_t)b * Hq + h) * T * T;
            const float *Q = q + (int64_t)b * T * Hq * dh + (int64_t)h * dh;
            const float *K = k + (int64_t)b * T * Hkv * dh + (int64_t)(h / group) * dh;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, scale, Q, Hq * dh, K, Hkv * dh, 0.0f, S,
                        T);
            for (int i = 0; i < T; i++)
                for (int j = i + 1; j < T; j++)
                    S[(int64_t)i * T + j] = -INFINITY;
        }
}

static void cpu_attn_apply(float *z, const float *pattern, const float *v, int B, int T, int Hq, int Hkv, int dh)
{
    int group = Hq / Hkv;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < Hq; h++) {
            const float *P = pattern + ((int64_t)b * Hq + h) * T * T;
            const float *V = v + (int64_t)b * T * Hkv * dh + (int64_t)(h / group) * dh;
            float *Z = z + (int64_t)b * T * Hq * dh + (int64_t)h * dh;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, 1.0f, P, T, V, Hkv * dh, 0.0f, Z,
                        Hq * dh);
        }
}

/* ---------------------------------------------------------------- GELU, softmax (exp_fast: backend/exp_fast.h) */

/* 0.5 v (1 + tanh(u)) with tanh(u) = 1 - 2 / (e^{2u} + 1): no cancellation problem for the sum
 * (1 + tanh) = 2 - 2 / (e^{2u} + 1), which is what GELU needs. */
VECTORISE static void cpu_gelu_tanh(float *restrict x, int64_t n)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float u = c * (v + 0.044715f * v * v * v);
        float e = exp_fast(2.0f * u);
        x[i] = v - v / (e + 1.0f); /* = 0.5 v (2 - 2 / (e + 1)) */
    }
}

/* e[j] = exp(s[j] - mx), exactly 0 for -inf; vectorisable */
VECTORISE static void exp_shifted(float *restrict e, const float *restrict s, float mx, int T)
{
    for (int j = 0; j < T; j++) {
        float v = exp_fast(s[j] - mx);
        e[j] = s[j] == -INFINITY ? 0.0f : v;
    }
}

/* 8 partial sums (one vector register), then the lanes: the order differs from the reference's
 * double sum by rounding only */
VECTORISE static float sum8(const float *restrict e, int T)
{
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= T; j += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += e[j + k];
    float s = 0;
    for (; j < T; j++)
        s += e[j];
    for (int k = 0; k < 8; k++)
        s += acc[k];
    return s;
}

static void cpu_softmax_rows(float *pattern, const float *scores, int64_t rows, int T)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *s = scores + r * T;
        float *p = pattern + r * T;
        float mx = -INFINITY;
        for (int j = 0; j < T; j++)
            mx = s[j] > mx ? s[j] : mx;
        if (mx == -INFINITY) {
            memset(p, 0, (size_t)T * sizeof *p);
            continue;
        }
        exp_shifted(p, s, mx, T);
        float inv = 1.0f / sum8(p, T);
        for (int j = 0; j < T; j++)
            p[j] *= inv;
    }
}

const hs_kernels hs_kernels_cpu = {
    .name = "cpu",
    .linear = cpu_linear,
    .attn_scores = cpu_attn_scores,
    .attn_apply = cpu_attn_apply,
    .gelu_tanh = cpu_gelu_tanh,
    .softmax_rows = cpu_softmax_rows,
};
