/* ops_backward.c — backward kernels of the forward ops: GPT-2's, then the other architectures'
 * (see ops_backward.h). */
#include "train/ops_backward.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "backend/exp_fast.h"

/* db [out] += Σ_rows dy [n, out] (vectorised: db never aliases dy) */
VECTORISE static void bias_grad(float *restrict db, const float *restrict dy, int n, int out)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++)
            db[o] += dy[(size_t)i * out + o];
}

void hs_bw_linear(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int n, int in,
                  int out, int acc_dx)
{
    if (dx) /* dx [n, in] = dy [n, out] · W [out, in] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, out, 1.0f, dy, out, W, in,
                    acc_dx ? 1.0f : 0.0f, dx, in);
    if (dW) /* dW [out, in] += dyᵀ [out, n] · x [n, in] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, n, 1.0f, dy, out, x, in, 1.0f, dW, in);
    if (db)
        bias_grad(db, dy, n, out);
}

/* Vectorised: the two row sums in 8 float lanes (a plain float reduction does not vectorise
 * without -ffast-math), the rest element-wise. dx, dw, db never alias dy or x. */
VECTORISE void hs_bw_layernorm(float *restrict dx, float *restrict dw, float *restrict db, const float *restrict dy,
                               const float *restrict x, const float *mean, const float *scale, const float *restrict w,
                               int n, int d)
{
    for (int i = 0; i < n; i++) {
        const float *g = dy + (size_t)i * d, *r = x + (size_t)i * d;
        float *o = dx + (size_t)i * d;
        float mu = mean[i], inv = 1.0f / scale[i];
        /* xhat = (x - mu)·inv; dxhat = g·w; dx = inv·(dxhat - mean(dxhat) - xhat·mean(dxhat·xhat)) */
        float a1[8] = {0}, a2[8] = {0}, s1 = 0, s2 = 0;
        int k = 0;
        for (; k + 8 <= d; k += 8)
            for (int j = 0; j < 8; j++) {
                float xh = (r[k + j] - mu) * inv, dxh = g[k + j] * w[k + j];
                a1[j] += dxh;
                a2[j] += dxh * xh;
            }
        for (; k < d; k++) {
            float xh = (r[k] - mu) * inv, dxh = g[k] * w[k];
            s1 += dxh;
            s2 += dxh * xh;
        }
        for (int j = 0; j < 8; j++)
            s1 += a1[j], s2 += a2[j];
        s1 /= (float)d;
        s2 /= (float)d;
        for (k = 0; k < d; k++) {
            float xh = (r[k] - mu) * inv;
            dw[k] += g[k] * xh;
            db[k] += g[k];
            o[k] += inv * (g[k] * w[k] - s1 - xh * s2);
        }
    }
}

/* tanh(u) = 1 - 2 / (e^{2u} + 1) with the vectorisable exp_fast (libm's tanhf was a fifth of a
 * training step); relative error ~1e-7, like the forward kernel it differentiates. */
VECTORISE void hs_bw_gelu_tanh(float *dx, const float *dy, const float *x, int64_t n)
{
    const float c = 0.7978845608028654f; /* sqrt(2/pi) */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], u = c * (v + 0.044715f * v * v * v);
        float t = 1.0f - 2.0f / (exp_fast(2.0f * u) + 1.0f);
        float du = c * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
    }
}

/* Σ_j a[j]·b[j] over n in 8 float lanes, then the tail: vectorises without -ffast-math */
VECTORISE static float dot8(const float *restrict a, const float *restrict b, int n)
{
    float acc[8] = {0}, s = 0;
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += a[j + k] * b[j + k];
    for (; j < n; j++)
        s += a[j] * b[j];
    for (int k = 0; k < 8; k++)
        s += acc[k];
    return s;
}

VECTORISE static void softmax_row_bw(float *ds, const float *dp, const float *p, float dot, int n)
{
    for (int j = 0; j < n; j++) /* ds may alias dp: each element is read before it is written */
        ds[j] = p[j] * (dp[j] - dot);
}

void hs_bw_softmax_rows(float *dscores, const float *dpattern, const float *pattern, int64_t rows, int T,
                        int causal)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *dp = dpattern + r * T, *p = pattern + r * T;
        float *ds = dscores + r * T;
        int n = causal ? (int)(r % T) + 1 : T;
        softmax_row_bw(ds, dp, p, dot8(dp, p, n), n);
        for (int j = n; j < T; j++)
            ds[j] = 0.0f;
    }
}

void hs_bw_attn_apply(float *dpattern, float *dv, const float *dz, const float *pattern, const float *v, int B,
                      int T, int H, int dh, int ld_dv)
{
    int ld = H * dh;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            size_t at = (size_t)b * T * ld + (size_t)h * dh;
            const float *P = pattern + ((size_t)b * H + h) * T * T;
            float *dP = dpattern + ((size_t)b * H + h) * T * T;
            /* dP [T, T] = dZ [T, dh] · Vᵀ */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, 1.0f, dz + at, ld, v + at, ld, 0.0f, dP,
                        T);
            for (int i = 0; i < T; i++)
                memset(dP + (size_t)i * T + i + 1, 0, (size_t)(T - i - 1) * sizeof(float));
            /* dV [T, dh] = Pᵀ · dZ */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, 1.0f, P, T, dz + at, ld, 0.0f,
                        dv + (size_t)b * T * ld_dv + (size_t)h * dh, ld_dv);
        }
}

void hs_bw_attn_scores(float *dq, float *dk, const float *dscores, const float *q, const float *k, int B, int T,
                       int H, int dh, float scale, int ld_dqk)
{
    int ld = H * dh;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            size_t at = (size_t)b * T * ld + (size_t)h * dh, out = (size_t)b * T * ld_dqk + (size_t)h * dh;
            const float *dS = dscores + ((size_t)b * H + h) * T * T;
            /* dQ [T, dh] = scale · dS · K; dK [T, dh] = scale · dSᵀ · Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, scale, dS, T, k + at, ld, 0.0f,
                        dq + out, ld_dqk);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, scale, dS, T, q + at, ld, 0.0f,
                        dk + out, ld_dqk);
        }
}

void hs_bw_embedding(float *dwte, float *dwpe, const float *dx, const int32_t *ids, int B, int T, int C)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *g = dx + ((size_t)b * T + t) * C;
            float *we = dwte + (size_t)ids[b * T + t] * C, *wp = dwpe + (size_t)t * C;
            for (int c = 0; c < C; c++) {
                we[c] += g[c];
                wp[c] += g[c];
            }
        }
}

/* Row helpers the compiler vectorises: the maximum, Σ exp(z - mx) in 8 float lanes (each lane sums
 * at most V/8 terms in [0, 1]: relative rounding ~1e-6 at V = 50257), and the softmax scaled. */
VECTORISE static float row_max(const float *restrict z, int V)
{
    float m8[8], mx = z[0];
    for (int k = 0; k < 8; k++)
        m8[k] = z[0];
    int j = 0;
    for (; j + 8 <= V; j += 8) /* 8 lanes: a plain max reduction does not vectorise without -ffast-math */
        for (int k = 0; k < 8; k++)
            m8[k] = z[j + k] > m8[k] ? z[j + k] : m8[k];
    for (; j < V; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (int k = 0; k < 8; k++)
        mx = m8[k] > mx ? m8[k] : mx;
    return mx;
}

VECTORISE static double row_sum_exp(const float *restrict z, float mx, int V)
{
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= V; j += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += exp_fast(z[j + k] - mx);
    double s = 0;
    for (; j < V; j++)
        s += exp_fast(z[j] - mx);
    for (int k = 0; k < 8; k++)
        s += acc[k];
    return s;
}

VECTORISE static void row_softmax_scaled(float *g, const float *z, float mx, float scale, int V)
{
    for (int j = 0; j < V; j++) /* g may alias z: each element is read before it is written */
        g[j] = exp_fast(z[j] - mx) * scale;
}

double hs_cross_entropy(float *dlogits, const float *logits, const int32_t *targets, int n, int V, int denom,
                        int *n_counted)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += targets[i] >= 0;
    if (n_counted)
        *n_counted = count;
    if (denom <= 0)
        denom = count;
    float inv_count = denom > 0 ? 1.0f / (float)denom : 0.0f;
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * V;
        float *g = dlogits ? dlogits + (size_t)i * V : NULL;
        int t = targets[i];
        if (t < 0) {
            if (g)
                memset(g, 0, (size_t)V * sizeof *g);
            continue;
        }
        float mx = row_max(z, V), zt = z[t];
        double sum = row_sum_exp(z, mx, V);
        loss += log(sum) + mx - zt;
        if (g) {
            row_softmax_scaled(g, z, mx, (float)(1.0 / sum) * inv_count, V);
            g[t] -= inv_count;
        }
    }
    return count ? loss / count : 0.0;
}

/* ---------------------------------------------------------------- the other architectures */

void hs_bw_attn_apply_gqa(float *dpattern, float *dv, const float *dz, const float *pattern, const float *v, int B,
                          int T, int H, int G, int dh)
{
    int ldq = H * dh, ldk = G * dh, rep = H / G;
    memset(dv, 0, (size_t)B * T * ldk * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            int g = h / rep;
            const float *dZ = dz + (size_t)b * T * ldq + (size_t)h * dh, *V = v + (size_t)b * T * ldk + (size_t)g * dh;
            const float *P = pattern + ((size_t)b * H + h) * T * T;
            float *dP = dpattern + ((size_t)b * H + h) * T * T;
            /* dP [T, T] = dZ_h [T, dh] · V_gᵀ, every entry: the forward's attn_apply reads the whole
             * pattern, so an entry above the diagonal (0 there) would still reach z */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, 1.0f, dZ, ldq, V, ldk, 0.0f, dP, T);
            /* dV_g [T, dh] += P_hᵀ · dZ_h: the heads of a group add up */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, 1.0f, P, T, dZ, ldq, 1.0f,
                        dv + (size_t)b * T * ldk + (size_t)g * dh, ldk);
        }
}

void hs_bw_attn_scores_gqa(float *dq, float *dk, const float *dscores, const float *q, const float *k, int B,
                           int T, int H, int G, int dh, float scale)
{
    int ldq = H * dh, ldk = G * dh, rep = H / G;
    memset(dk, 0, (size_t)B * T * ldk * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            size_t aq = (size_t)b * T * ldq + (size_t)h * dh, ak = (size_t)b * T * ldk + (size_t)(h / rep) * dh;
            const float *dS = dscores + ((size_t)b * H + h) * T * T;
            /* dQ_h [T, dh] = scale · dS · K_g; dK_g [T, dh] += scale · dSᵀ · Q_h */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, scale, dS, T, k + ak, ldk, 0.0f, dq + aq,
                        ldq);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, dh, T, scale, dS, T, q + aq, ldq, 1.0f, dk + ak,
                        ldk);
        }
}

void hs_bw_rope(float *dx, int B, int T, int H, int dh, int rot, float theta)
{
    int half = rot / 2;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < half; j++) {
            /* the forward's angle, bit for bit (backend/kernels_ref.c, hs_rope) */
            float inv_freq = (float)(1.0 / pow((double)theta, (double)(2 * j) / (double)rot));
            float angle = (float)t * inv_freq;
            float c = cosf(angle), s = sinf(angle);
            for (int b = 0; b < B; b++)
                for (int h = 0; h < H; h++) {
                    float *p = dx + (((int64_t)b * T + t) * H + h) * dh;
                    float g1 = p[j], g2 = p[j + half];
                    /* y1 = x1 c - x2 s, y2 = x2 c + x1 s: the transpose rotates by -angle */
                    p[j] = g1 * c + g2 * s;
                    p[j + half] = g2 * c - g1 * s;
                }
        }
}

void hs_bw_gelu_erf(float *dx, const float *dy, const float *x, int64_t n)
{
    /* d/dx [x Φ(x)] = Φ(x) + x φ(x) */
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

void hs_bw_silu(float *dx, const float *dy, const float *x, int64_t n)
{
    /* d/dx [x σ(x)] = σ(x) (1 + x (1 - σ(x))) */
    for (int64_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

void hs_bw_relu(float *dx, const float *dy, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void hs_bw_norm_scale(float *dscale, const float *dxhat, const float *xhat, const float *scale, int n, int d)
{
    for (int i = 0; i < n; i++) {
        const float *g = dxhat + (size_t)i * d, *xh = xhat + (size_t)i * d;
        double s = 0;
        for (int k = 0; k < d; k++)
            s += (double)g[k] * xh[k];
        dscale[i] = (float)(-s / scale[i]);
    }
}

void hs_bw_norm_input(float *dx, const float *dxhat, const float *xhat, const float *scale, const float *dscale,
                      int n, int d, int centered)
{
    for (int i = 0; i < n; i++) {
        const float *g = dxhat + (size_t)i * d, *xh = xhat + (size_t)i * d;
        float *o = dx + (size_t)i * d;
        double mean = 0;
        if (centered) {
            for (int k = 0; k < d; k++)
                mean += g[k];
            mean /= d;
        }
        float inv = 1.0f / scale[i], m = (float)mean, ds = dscale[i] / (float)d;
        for (int k = 0; k < d; k++)
            o[k] += (g[k] - m) * inv + ds * xh[k];
    }
}
