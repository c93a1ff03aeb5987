/* gpt2_train.h — a trainable GPT-2: parameters and gradients (train/params.h layout), a forward
 * pass that saves what the backward pass needs (the tape), the backward pass, and the gradients
 * with respect to activations that attribution methods read.
 *
 * The forward pass makes the same kernel calls as hooks/forward.c in the same order (the backend
 * table of backend/kernels.h, hs_layernorm_stats and hs_norm_apply), so for the same weights and
 * backend its logits are bit-identical to hs_forward's (tests/test_train.c checks it).
 *
 *   hs_train_model *tm;
 *   hs_train_model_new(&dims, B, T, HS_BACKEND_CPU, &tm, &err);   // B, T: the largest batch
 *   hs_gpt2_init(&dims, hs_train_params(tm, NULL), seed);
 *   hs_train_forward(tm, ids, targets, B, T, &loss, &err);          // ids, targets [B, T]
 *   hs_train_backward(tm, &err);                                    // gradients of that loss
 *   ... hs_train_grads(tm, NULL) ...
 *   hs_train_model_free(tm);
 */
#ifndef HS_TRAIN_GPT2_TRAIN_H
#define HS_TRAIN_GPT2_TRAIN_H

#include "headscope.h"
#include "train/params.h"

typedef struct hs_train_model hs_train_model;

/* A model of the given dimensions with room for batches up to max_B x max_T (max_T <= n_ctx);
 * parameters zeroed (initialise them with hs_gpt2_init or copy them in). Free with
 * hs_train_model_free. */
hs_status hs_train_model_new(const hs_gpt2_dims *dims, int max_B, int max_T, hs_backend_id backend,
                             hs_train_model **out, hs_error *err);
void hs_train_model_free(hs_train_model *tm);

/* Runs each forward and backward pass on n_threads threads (default 1; at most max_B: each takes
 * whole sequences), each with its own activations and gradient buffer (memory grows accordingly),
 * their gradients summed in a fixed order: deterministic for a given thread count. Call BLAS
 * single-threaded then (openblas_set_num_threads(1)). With one thread the logits are bit-identical
 * to hs_forward's; with more, each thread's matrix products have fewer rows, which may round
 * differently. The last pass's activations and gradients are discarded. HS_ERR_NOMEM leaves one
 * thread and no kept activation gradients. */
hs_status hs_train_set_threads(hs_train_model *tm, int n_threads, hs_error *err);

const hs_gpt2_dims *hs_train_dims(const hs_train_model *tm);
/* The parameter and gradient buffers (n floats each, train/params.h layout), owned by the model. */
float *hs_train_params(hs_train_model *tm, size_t *n);
float *hs_train_grads(hs_train_model *tm, size_t *n);
/* Named views of the two buffers. */
const hs_gpt2_view *hs_train_param_view(const hs_train_model *tm);
const hs_gpt2_view *hs_train_grad_view(const hs_train_model *tm);

/* The forward pass of ids [B, T] (B <= max_B, T <= max_T), saving activations. When targets
 * [B, T] is not NULL (-1 = ignored position), *loss receives the mean cross-entropy over counted
 * positions (loss may then be NULL); without targets there is no loss and no backward. */
hs_status hs_train_forward(hs_train_model *tm, const int32_t *ids, const int32_t *targets, int B, int T, float *loss,
                           hs_error *err);
/* Logits [B, T, V] of the last forward pass; overwritten by hs_train_backward. */
const float *hs_train_logits(const hs_train_model *tm);

/* Gradients of the last forward's loss: sets the gradient buffer (it does not accumulate across
 * calls). HS_ERR_ARG when the last forward had no targets. */
hs_status hs_train_backward(hs_train_model *tm, hs_error *err);

/* Keep dL/d(activation) of the next backward passes (on = 1) or stop (0): costs (L+1)·B·T·C +
 * L·B·T·C + L·B·H·T·T floats (twice with several threads). The last pass's activations and
 * gradients are discarded. HS_ERR_NOMEM leaves it off. */
hs_status hs_train_keep_activation_grads(hs_train_model *tm, int on, hs_error *err);
/* After a backward with activation gradients kept (else NULL), for the last batch [B, T]:
 * dL/d(blocks.{layer}.hook_resid_pre) [B, T, C] for layer 0..L-1, and layer = L for the final
 * residual stream (the input of ln_final); dL/d(blocks.{layer}.attn.hook_z) [B, T, H, dh];
 * dL/d(blocks.{layer}.attn.hook_pattern) [B, H, T, T] (0 above the diagonal). */
const float *hs_train_grad_resid_pre(const hs_train_model *tm, int layer);
const float *hs_train_grad_z(const hs_train_model *tm, int layer);
const float *hs_train_grad_pattern(const hs_train_model *tm, int layer);

#endif
