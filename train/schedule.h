/* schedule.h — the learning-rate schedule of GPT-2-style training: linear warmup, then a cosine
 * decay to a floor. */
#ifndef HS_TRAIN_SCHEDULE_H
#define HS_TRAIN_SCHEDULE_H

/* The learning rate of step (0-based) out of total_steps: max_lr · (step + 1) / warmup during the
 * first `warmup` steps, then min_lr + (max_lr - min_lr) · (1 + cos(π · progress)) / 2 with progress
 * going from 0 (first step after warmup) to 1 (the last step). */
float hs_lr_cosine(long step, long total_steps, long warmup, float max_lr, float min_lr);

#endif
