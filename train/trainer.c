/* trainer.c — the training loop (see trainer.h). */
#include "train/trainer.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "base/error.h"
#include "base/rng.h"
#include "train/schedule.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

hs_status hs_train_step(hs_train_model *tm, hs_adamw *opt, const int32_t *ids, const int32_t *targets, int B, int T,
                        float lr, float clip, float *loss, double *grad_norm, hs_error *err)
{
    float l = 0;
    HS_TRY(hs_train_forward(tm, ids, targets, B, T, &l, err));
    HS_TRY(hs_train_backward(tm, err));
    size_t n = 0;
    float *g = hs_train_grads(tm, &n);
    double norm = hs_grad_clip(g, n, clip);
    if (!isfinite(norm))
        return hs_fail(err, HS_ERR_RANGE, "train: the gradient is not finite (loss %g); try a lower learning rate",
                       (double)l);
    hs_adamw_update(opt, hs_train_params(tm, NULL), g, lr);
    if (loss)
        *loss = l;
    if (grad_norm)
        *grad_norm = norm;
    return HS_OK;
}

hs_status hs_train_eval(hs_train_model *tm, const int32_t *tokens, size_t n_tokens, int B, int T, int max_batches,
                        float *loss, hs_error *err)
{
    *loss = NAN;
    size_t n_windows = n_tokens > (size_t)T ? (n_tokens - 1) / (size_t)T : 0;
    if (n_windows == 0)
        return HS_OK;
    int32_t *ids = malloc((size_t)B * T * sizeof *ids), *tg = malloc((size_t)B * T * sizeof *tg);
    hs_status rc = HS_OK;
    if (!ids || !tg) {
        rc = hs_fail(err, HS_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    double sum = 0;
    size_t w = 0;
    int batches = 0;
    while (w < n_windows && batches < max_batches) {
        int b = 0;
        for (; b < B && w < n_windows; b++, w++)
            for (int t = 0; t < T; t++) {
                ids[b * T + t] = tokens[w * T + t];
                tg[b * T + t] = tokens[w * T + t + 1];
            }
        float l = 0;
        if ((rc = hs_train_forward(tm, ids, tg, b, T, &l, err)) != HS_OK)
            goto done;
        sum += (double)l * b;
        batches++;
    }
    *loss = (float)(sum / (double)w);
done:
    free(ids);
    free(tg);
    return rc;
}

hs_status hs_train_run(hs_train_model *tm, hs_adamw *opt, const int32_t *tokens, size_t n_tokens,
                       const hs_train_opts *o, hs_train_progress_fn fn, void *user, hs_error *err)
{
    if (o->steps < 1 || o->start_step < 0 || o->start_step >= o->steps || o->B < 1 || o->T < 1 ||
        !(o->val_fraction >= 0 && o->val_fraction <= 0.5))
        return hs_fail(err, HS_ERR_ARG, "train: invalid options (steps %ld, batch %d x %d, validation fraction %g)",
                       o->steps, o->B, o->T, o->val_fraction);
    size_t n_val = (size_t)((double)n_tokens * o->val_fraction), n_train = n_tokens - n_val;
    if (n_train < (size_t)o->T + 1)
        return hs_fail(err, HS_ERR_RANGE, "train: %zu training tokens are fewer than one window of %d + 1",
                       n_train, o->T);
    if (n_train - (size_t)o->T > UINT32_MAX)
        return hs_fail(err, HS_ERR_RANGE, "train: %zu training tokens: at most 2^32 are supported", n_train);
    int B = o->B, T = o->T;
    int32_t *ids = malloc((size_t)B * T * sizeof *ids), *tg = malloc((size_t)B * T * sizeof *tg);
    hs_status rc = HS_OK;
    if (!ids || !tg) {
        rc = hs_fail(err, HS_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    double t0 = now_s();
    uint32_t n_starts = (uint32_t)(n_train - (size_t)T); /* windows [s, s + T] inside the training part */
    for (long step = o->start_step; step < o->steps; step++) {
        /* the step's own stream: a resumed run draws the batches the uninterrupted one would */
        hs_rng mix = hs_rng_seed(o->seed ^ ((uint64_t)step * 0xd1b54a32d192ed03ull));
        hs_rng rng = hs_rng_seed(hs_rng_u64(&mix));
        for (int b = 0; b < B; b++) {
            size_t s = hs_rng_below(&rng, n_starts);
            for (int t = 0; t < T; t++) {
                ids[b * T + t] = tokens[s + t];
                tg[b * T + t] = tokens[s + t + 1];
            }
        }
        hs_train_record rec = {.step = step, .val_loss = NAN};
        rec.lr = hs_lr_cosine(step, o->steps, o->warmup, o->lr, o->min_lr);
        if ((rc = hs_train_step(tm, opt, ids, tg, B, T, rec.lr, o->clip, &rec.loss, &rec.grad_norm, err)) != HS_OK)
            goto done;
        rec.elapsed_s = now_s() - t0;
        rec.tokens_per_s = (double)(step + 1 - o->start_step) * B * T / (rec.elapsed_s > 0 ? rec.elapsed_s : 1e-9);
        int last = step == o->steps - 1;
        if (n_val > 0 && (last || (o->eval_every > 0 && (step + 1) % o->eval_every == 0))) {
            double te = now_s();
            if ((rc = hs_train_eval(tm, tokens + n_train, n_val, B, T, o->eval_batches, &rec.val_loss, err)) != HS_OK)
                goto done;
            t0 += now_s() - te; /* evaluation time is not training time */
        }
        if (fn && fn(&rec, user)) {
            rc = hs_fail(err, HS_ERR_CALLBACK, "train: stopped at step %ld", step);
            goto done;
        }
    }
done:
    free(ids);
    free(tg);
    return rc;
}
