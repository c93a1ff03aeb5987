/* adamw.h — the AdamW optimiser (Loshchilov & Hutter: weight decay decoupled from the gradient,
 * as torch.optim.AdamW) over a train/params.h buffer, with decay only on the tensors the layout
 * marks (matrices and embeddings, not biases or norm gains), and global gradient-norm clipping. */
#ifndef HS_TRAIN_ADAMW_H
#define HS_TRAIN_ADAMW_H

#include <stddef.h>

#include "headscope.h"
#include "train/params.h"

typedef struct hs_adamw_opts {
    float beta1, beta2, eps, weight_decay; /* GPT-2 practice: 0.9, 0.95, 1e-8, 0.1 */
} hs_adamw_opts;

typedef struct hs_adamw {
    hs_gpt2_dims dims;
    hs_adamw_opts o;
    size_t n;
    float *m, *v; /* [n] first and second moments */
    long step;    /* updates done so far */
} hs_adamw;

/* Zeroed moments for a model of these dimensions. Free with hs_adamw_free (NULL is a no-op). */
hs_status hs_adamw_new(const hs_gpt2_dims *dims, const hs_adamw_opts *o, hs_adamw **out, hs_error *err);
void hs_adamw_free(hs_adamw *a);

/* One update of params [n] from grads [n] at learning rate lr:
 *   p -= lr·wd·p (decayed tensors only); m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²;
 *   p -= lr · (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t = step after increment. */
void hs_adamw_update(hs_adamw *a, float *params, const float *grads, float lr);

/* The global L2 norm of grads [n] (float lanes per block, blocks in double); when max_norm > 0 and the norm exceeds it,
 * scales grads by max_norm / norm. Returns the norm before clipping. */
double hs_grad_clip(float *grads, size_t n, double max_norm);

#endif
