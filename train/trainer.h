/* trainer.h — the training loop over a token stream: random windows of the training part as
 * batches (next-token targets), AdamW steps under the cosine schedule with gradient clipping, and
 * the loss on a held-out tail of the stream. Reports each step to a callback; prints nothing. */
#ifndef HS_TRAIN_TRAINER_H
#define HS_TRAIN_TRAINER_H

#include <stddef.h>
#include <stdint.h>

#include "headscope.h"
#include "train/adamw.h"
#include "train/gpt2_train.h"

typedef struct hs_train_opts {
    int B, T;               /* batch: B windows of T tokens (T <= the model's max_T) */
    long steps;             /* optimiser steps in the whole run (the schedule's length) */
    long start_step;        /* the first step to run (0; a resumed run's steps done) */
    float lr, min_lr;       /* peak and final learning rate */
    long warmup;            /* linear warmup steps */
    float clip;             /* global gradient-norm clip (<= 0: none) */
    uint64_t seed;          /* batches: step s draws from a stream seeded by (seed, s) alone */
    double val_fraction;    /* the tail of the stream held out for validation, in [0, 0.5] */
    long eval_every;        /* validation every N steps and at the last step (0: last step only) */
    int eval_batches;       /* at most this many batches of consecutive windows from the tail */
} hs_train_opts;

typedef struct hs_train_record {
    long step;              /* 0-based */
    float lr, loss;         /* the step's learning rate and training-batch loss (before the update) */
    float val_loss;         /* NaN when not evaluated at this step */
    double grad_norm;       /* before clipping */
    double tokens_per_s;    /* training tokens per second of wall time so far */
    double elapsed_s;
} hs_train_record;

/* Called after every step; a non-zero return stops training (hs_train_run then returns
 * HS_ERR_CALLBACK). */
typedef int (*hs_train_progress_fn)(const hs_train_record *rec, void *user);

/* One optimiser step on ids, targets [B, T]: forward, backward, clip, AdamW update at lr.
 * *loss and *grad_norm (either may be NULL) receive the batch loss and the gradient norm. */
hs_status hs_train_step(hs_train_model *tm, hs_adamw *opt, const int32_t *ids, const int32_t *targets, int B, int T,
                        float lr, float clip, float *loss, double *grad_norm, hs_error *err);

/* Trains tm (already initialised) with opt on tokens [n_tokens], steps start_step .. steps - 1.
 * The last val_fraction of the stream is never trained on. HS_ERR_RANGE when the training part is
 * shorter than T + 1 tokens. */
hs_status hs_train_run(hs_train_model *tm, hs_adamw *opt, const int32_t *tokens, size_t n_tokens,
                       const hs_train_opts *o, hs_train_progress_fn fn, void *user, hs_error *err);

/* Mean loss over up to max_batches batches [B, T] of consecutive windows of tokens [n_tokens]
 * (windows of T + 1 tokens overlapping by one); NaN in *loss when not one window fits. */
hs_status hs_train_eval(hs_train_model *tm, const int32_t *tokens, size_t n_tokens, int B, int T, int max_batches,
                        float *loss, hs_error *err);

#endif
