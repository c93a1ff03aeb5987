/* kernels_ref.c — the plain reference kernels: straightforward loops, accumulated in double, with
 * no blocking and no BLAS. Slow on purpose; every optimised kernel is checked against these. */
#include <math.h>

#include "backend/kernels.h"

static void ref_linear(float *y, const float *x, const float *W, const float *b, int n, int in, int out)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double acc = b ? b[o] : 0.0;
            for (int k = 0; k < in; k++)
                acc += (double)x[(int64_t)i * in + k] * W[(int64_t)o * in + k];
            y[(int64_t)i * out + o] = (float)acc;
        }
}

static void ref_attn_scores(float *scores, const float *q, const float *k, int B, int T, int Hq, int Hkv, int dh,
                            float scale)
{
    int group = Hq / Hkv;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < Hq; h++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) {
                    float *s = &scores[(((int64_t)b * Hq + h) * T + i) * T + j];
                    if (j > i) {
                        *s = -INFINITY;
                        continue;
                    }
                    const float *qi = &q[(((int64_t)b * T + i) * Hq + h) * dh];
                    const float *kj = &k[(((int64_t)b * T + j) * Hkv + h / group) * dh];
                    double acc = 0;
                    for (int d = 0; d < dh; d++)
                        acc += (double)qi[d] * kj[d];
                    *s = (float)(acc * scale);
                }
}

static void ref_attn_apply(float *z, const float *pattern, const float *v, int B, int T, int Hq, int Hkv, int dh)
{
    int group = Hq / Hkv;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < Hq; h++)
            for (int i = 0; i < T; i++)
                for (int d = 0; d < dh; d++) {
                    double acc = 0;
                    for (int j = 0; j < T; j++)
                        acc += (double)pattern[(((int64_t)b * Hq + h) * T + i) * T + j] *
                               v[(((int64_t)b * T + j) * Hkv + h / group) * dh + d];
                    z[(((int64_t)b * T + i) * Hq + h) * dh + d] = (float)acc;
                }
}

const hs_kernels hs_kernels_ref = {
    .name = "reference",
    .linear = ref_linear,
    .attn_scores = ref_attn_scores,
    .attn_apply = ref_attn_apply,
    .gelu_tanh = hs_gelu_tanh,
    .softmax_rows = hs_softmax_rows,
};

/* ---- shared plain kernels */

void hs_layernorm_stats(const float *x, float *mean, float *scale, int n, int d, float eps)
{
    for (int i = 0; i < n; i++) {
        const float *r = x + (int64_t)i * d;
        double s = 0, ss = 0;
        for (int k = 0; k < d; k++)
            s += r[k];
        double mu = s / d;
        for (int k = 0; k < d; k++)
            ss += (r[k] - mu) * (r[k] - mu);
        mean[i] = (float)mu;
        scale[i] = (float)sqrt(ss / d + eps);
    }
}

void hs_rmsnorm_stats(const float *x, float *mean, float *scale, int n, int d, float eps)
{
    for (int i = 0; i < n; i++) {
        const float *r = x + (int64_t)i * d;
        double ss = 0;
        for (int k = 0; k < d; k++)
            ss += (double)r[k] * r[k];
        mean[i] = 0.0f;
        scale[i] = (float)sqrt(ss / d + eps);
    }
}

void hs_norm_apply(float *y, const float *x, const float *mean, const float *scale, const float *w, const float *b,
                   int n, int d)
{
    for (int i = 0; i < n; i++) {
        float mu = mean[i], inv = 1.0f / scale[i];
        const float *r = x + (int64_t)i * d;
        float *o = y + (int64_t)i * d;
        if (w)
            for (int k = 0; k < d; k++)
                o[k] = (r[k] - mu) * inv * w[k] + (b ? b[k] : 0.0f);
        else
            for (int k = 0; k < d; k++)
                o[k] = (r[k] - mu) * inv + (b ? b[k] : 0.0f);
    }
}

void hs_norm_affine(float *y, const float *w, const float *b, int n, int d)
{
    for (int i = 0; i < n; i++) {
        float *o = y + (int64_t)i * d;
        for (int k = 0; k < d; k++)
            o[k] = o[k] * w[k] + (b ? b[k] : 0.0f);
    }
}

void hs_gelu_tanh(float *x, int64_t n)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(c * (v + 0.044715f * v * v * v)));
    }
}

void hs_gelu_erf(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void hs_silu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] / (1.0f + expf(-x[i]));
}

void hs_relu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] > 0 ? x[i] : 0.0f;
}

void hs_rope(float *x, int B, int T, int H, int dh, int rot, float theta)
{
    int half = rot / 2;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < half; j++) {
            /* as Hugging Face computes it: inv_freq in float32, angle = pos · inv_freq in float32 */
            float inv_freq = (float)(1.0 / pow((double)theta, (double)(2 * j) / (double)rot));
            float angle = (float)t * inv_freq;
            float c = cosf(angle), s = sinf(angle);
            for (int b = 0; b < B; b++)
                for (int h = 0; h < H; h++) {
                    float *p = x + (((int64_t)b * T + t) * H + h) * dh;
                    float x1 = p[j], x2 = p[j + half];
                    p[j] = x1 * c - x2 * s;
                    p[j + half] = x2 * c + x1 * s;
                }
        }
}

void hs_softmax_rows(float *pattern, const float *scores, int64_t rows, int T)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *s = scores + r * T;
        float *p = pattern + r * T;
        float mx = -INFINITY;
        for (int j = 0; j < T; j++)
            if (s[j] > mx)
                mx = s[j];
        if (mx == -INFINITY) { /* a fully masked row: no attention at all */
            for (int j = 0; j < T; j++)
                p[j] = 0.0f;
            continue;
        }
        double sum = 0;
        for (int j = 0; j < T; j++) {
            float e = s[j] == -INFINITY ? 0.0f : expf(s[j] - mx);
            p[j] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < T; j++)
            p[j] *= inv;
    }
}
