/* adamw.c — AdamW with a per-tensor decay mask, and gradient-norm clipping. */
#include "train/adamw.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"
#include "backend/exp_fast.h" /* VECTORISE */

hs_status hs_adamw_new(const hs_gpt2_dims *dims, const hs_adamw_opts *o, hs_adamw **out, hs_error *err)
{
    *out = NULL;
    hs_adamw *a = calloc(1, sizeof *a);
    if (!a)
        return hs_fail(err, HS_ERR_NOMEM, "adamw: out of memory");
    a->dims = *dims;
    a->o = *o;
    a->n = hs_gpt2_layout(dims, NULL);
    a->m = calloc(a->n, sizeof *a->m);
    a->v = calloc(a->n, sizeof *a->v);
    if (!a->m || !a->v) {
        size_t n = a->n;
        hs_adamw_free(a);
        return hs_fail(err, HS_ERR_NOMEM, "adamw: out of memory for %zu moments", n);
    }
    *out = a;
    return HS_OK;
}

void hs_adamw_free(hs_adamw *a)
{
    if (!a)
        return;
    free(a->m);
    free(a->v);
    free(a);
}

/* One tensor's update: plain float loops the compiler vectorises (__builtin_sqrtf: no errno,
 * the argument is never negative). */
VECTORISE static void update_range(float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                                   size_t n, float b1, float b2, float c1, float c2, float eps, float lr, float decay)
{
    float inv_c1 = 1.0f / c1, inv_c2 = 1.0f / c2;
    for (size_t j = 0; j < n; j++) {
        float mj = m[j] = b1 * m[j] + (1.0f - b1) * g[j];
        float vj = v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
        p[j] = p[j] * decay - lr * (mj * inv_c1) / (__builtin_sqrtf(vj * inv_c2) + eps);
    }
}

void hs_adamw_update(hs_adamw *a, float *params, const float *grads, float lr)
{
    hs_gpt2_tensor t[2 + 12 * HS_TRAIN_MAX_LAYERS + 2];
    int nt = hs_gpt2_tensor_count(&a->dims);
    hs_gpt2_layout(&a->dims, t);
    a->step++;
    float b1 = a->o.beta1, b2 = a->o.beta2, eps = a->o.eps;
    float c1 = (float)(1.0 - pow(b1, (double)a->step)), c2 = (float)(1.0 - pow(b2, (double)a->step));
    for (int i = 0; i < nt; i++) {
        size_t lo = t[i].offset, hi = lo + (size_t)t[i].rows * (size_t)(t[i].cols ? t[i].cols : 1);
        float decay = t[i].decay ? 1.0f - lr * a->o.weight_decay : 1.0f;
        update_range(params + lo, grads + lo, a->m + lo, a->v + lo, hi - lo, b1, b2, c1, c2, eps, lr, decay);
    }
}

/* Σ g² in 8 float lanes per block of 4096, blocks summed in double: vectorises, and float partial
 * sums of at most 512 terms keep ~1e-7 relative accuracy. */
VECTORISE static float sum_sq_block(const float *restrict g, size_t n)
{
    float acc[8] = {0}, s = 0;
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += g[j + k] * g[j + k];
    for (; j < n; j++)
        s += g[j] * g[j];
    for (int k = 0; k < 8; k++)
        s += acc[k];
    return s;
}

double hs_grad_clip(float *grads, size_t n, double max_norm)
{
    double ss = 0;
    for (size_t i = 0; i < n; i += 4096)
        ss += sum_sq_block(grads + i, n - i < 4096 ? n - i : 4096);
    double norm = sqrt(ss);
    if (max_norm > 0 && norm > max_norm) {
        float s = (float)(max_norm / norm);
        for (size_t i = 0; i < n; i++)
            grads[i] *= s;
    }
    return norm;
}
