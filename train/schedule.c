/* schedule.c — linear warmup and cosine decay (see schedule.h). */
#include "train/schedule.h"

#include <math.h>

float hs_lr_cosine(long step, long total_steps, long warmup, float max_lr, float min_lr)
{
    if (step < warmup)
        return max_lr * (float)(step + 1) / (float)warmup;
    long span = total_steps - 1 - warmup;
    double progress = span > 0 ? (double)(step - warmup) / (double)span : 1.0;
    if (progress > 1)
        progress = 1;
    return min_lr + (float)((max_lr - min_lr) * 0.5 * (1.0 + cos(M_PI * progress)));
}
