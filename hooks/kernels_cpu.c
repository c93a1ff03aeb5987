/* kernels_cpu.c — the CPU backend's optimised kernels: every matrix product goes through BLAS
 * (OpenBLAS sgemm, its own threads). Twins of kernels_ref.c, checked against them in tests. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "hooks/kernels.h"

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

const hs_kernels hs_kernels_cpu = {
    .name = "cpu",
    .linear = cpu_linear,
    .attn_scores = cpu_attn_scores,
    .attn_apply = cpu_attn_apply,
};
