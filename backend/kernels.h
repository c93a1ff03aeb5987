/* kernels.h — the compute kernels of the forward pass. A backend is a table of function pointers
 * for the kernels that have optimised versions; each has a plain reference twin (kernels_ref.c)
 * that tests compare it with. Kernels with a single plain implementation (norms, most activations,
 * rotary) are declared below the table and shared by every CPU backend. */
#ifndef HS_BACKEND_KERNELS_H
#define HS_BACKEND_KERNELS_H

#include <stdint.h>

typedef struct hs_kernels {
    const char *name;
    /* y [n, out] = x [n, in] · W [out, in]ᵀ + b [out] (b may be NULL) */
    void (*linear)(float *y, const float *x, const float *W, const float *b, int n, int in, int out);
    /* scores [B, Hq, T, T] = scale · q_h · k_g(h)ᵀ for key <= query, -inf above the diagonal;
     * q [B, T, Hq, dh], k [B, T, Hkv, dh], query head h reads kv head h / (Hq / Hkv) */
    void (*attn_scores)(float *scores, const float *q, const float *k, int B, int T, int Hq, int Hkv, int dh,
                        float scale);
    /* z [B, T, Hq, dh] = pattern [B, Hq, T, T] · v [B, T, Hkv, dh] per head */
    void (*attn_apply)(float *z, const float *pattern, const float *v, int B, int T, int Hq, int Hkv, int dh);
    /* in place on x [n]: GELU, tanh approximation (GPT-2's "gelu_new") */
    void (*gelu_tanh)(float *x, int64_t n);
    /* softmax of each row of scores [rows, T] into pattern (may alias); -inf entries become exactly
     * 0, a row of only -inf becomes all 0 */
    void (*softmax_rows)(float *pattern, const float *scores, int64_t rows, int T);
} hs_kernels;

extern const hs_kernels hs_kernels_ref; /* plain loops: the reference */
extern const hs_kernels hs_kernels_cpu; /* BLAS */

/* ---- shared plain kernels (one implementation each) */

/* LayerNorm over rows: scale[i] = sqrt(var(x_i) + eps); y = (x - mean) / scale · w + b.
 * x, y [n, d] (may alias); w, b [d] (b may be NULL); scale [n]; mean [n] */
void hs_layernorm_stats(const float *x, float *mean, float *scale, int n, int d, float eps);
/* RMSNorm: mean = 0, scale = sqrt(mean(x²) + eps) */
void hs_rmsnorm_stats(const float *x, float *mean, float *scale, int n, int d, float eps);
/* y = (x - mean) / scale · w + b, per row (the second half of either norm); w and b may be NULL,
 * and with both NULL y is x̂ = (x - mean) / scale alone. x, y [n, d] (may alias); mean, scale [n] */
void hs_norm_apply(float *y, const float *x, const float *mean, const float *scale, const float *w, const float *b,
                   int n, int d);
/* y = y · w + b in place, per row: the gain and bias of a norm applied to x̂ [n, d]; w [d], b [d]
 * (b may be NULL). hs_norm_apply(y, x, ..., NULL, NULL) then this gives bit for bit the y of
 * hs_norm_apply(y, x, ..., w, b): the forward pass fires hook_normalized on x̂ in between. */
void hs_norm_affine(float *y, const float *w, const float *b, int n, int d);

/* In-place activations on n values (hs_gelu_tanh is the reference of the table's gelu_tanh) */
void hs_gelu_tanh(float *x, int64_t n);
void hs_gelu_erf(float *x, int64_t n);
void hs_silu(float *x, int64_t n);
void hs_relu(float *x, int64_t n);

/* Rotary embedding, "rotate half" convention, in place on x [B, T, H, dh]: within each head the
 * pairs (j, j + rot/2) for j < rot/2 rotate by angle pos · theta^(-2j/rot); dims >= rot untouched. */
void hs_rope(float *x, int B, int T, int H, int dh, int rot, float theta);

/* Softmax of each row of scores [rows, T] into pattern (may alias); -inf entries become 0. The
 * reference of the table's softmax_rows. */
void hs_softmax_rows(float *pattern, const float *scores, int64_t rows, int T);

#endif
