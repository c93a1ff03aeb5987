/* train_state.h — what resuming a training run needs beside the checkpoint's weights: the AdamW
 * moments and step (DIR/optimizer.safetensors: "adamw.m", "adamw.v", F32 [n_params] in the
 * train/params.h layout) and the run's settings and progress (DIR/train_state.json, format
 * "headscope-train-state" version 1). Batches depend only on the seed and the step number
 * (trainer.h), so a resumed run continues exactly where the saved one stopped. */
#ifndef HS_TRAIN_TRAIN_STATE_H
#define HS_TRAIN_TRAIN_STATE_H

#include <stdint.h>

#include "headscope.h"
#include "train/adamw.h"

typedef struct hs_train_state {
    long step;              /* optimiser steps done */
    /* the learning-rate schedule (train/schedule.h), which a resumed run keeps: steps is its length, the
     * run's total; warmup, then the peak lr decaying to min_lr */
    long steps;
    uint64_t seed;
    int batch, ctx;
    float lr, min_lr, clip;
    long warmup, eval_every;
    double val_fraction;
    int byte_tokens;        /* 1: the corpus was read as bytes; 0: with the checkpoint's tokenizer */
} hs_train_state;

/* Writes DIR/optimizer.safetensors and DIR/train_state.json (DIR must exist). */
hs_status hs_train_state_save(const char *dir, const hs_train_state *s, const hs_adamw *opt, hs_error *err);

/* Reads them back into s and opt (whose dimensions must match the saved moments: HS_ERR_SHAPE);
 * HS_ERR_MISSING names the file when DIR holds none (a checkpoint saved without optimizer state). */
hs_status hs_train_state_load(const char *dir, hs_train_state *s, hs_adamw *opt, hs_error *err);

#endif
