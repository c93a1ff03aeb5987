/* bench_train.c — training throughput of headscope (tokens/s of forward + backward + clip + AdamW)
 * on a GPT-2 configuration, for bench/train.sh; bench/train_ref.py measures PyTorch the same way.
 *
 *   bench-train [--layers 4] [--d-model 128] [--heads 4] [--ctx 128] [--batch 8] [--vocab 257]
 *               [--steps 20] [--warmup 3] [--seed 0] [--threads 1]
 *
 * Every step trains on B random windows of one random token stream (splitmix64 from the seed);
 * warm-up steps are not timed. Threads: with --threads N > 1, headscope's own N threads each run a
 * share of the batch with single-threaded BLAS; with 1, OPENBLAS_NUM_THREADS threads inside BLAS.
 * Output (one line):
 *   headscope layers=L d_model=C heads=H ctx=T batch=B vocab=V steps=N median_tok_s=.. best_tok_s=..
 *             median_ms=.. loss_first=.. loss_last=.. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/rng.h"
#include "train/adamw.h"
#include "train/gpt2_train.h"
#include "train/trainer.h"
#include "backend/blas_kernels.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    hs_pick_blas_kernels(argv); /* the kernels the command line would use */
    int L = 4, C = 128, H = 4, T = 128, B = 8, V = 257, steps = 20, warmup = 3, threads = 1;
    unsigned long long seed = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i];
        long v = strtol(argv[i + 1], NULL, 10);
        if (!strcmp(k, "--layers")) L = (int)v;
        else if (!strcmp(k, "--d-model")) C = (int)v;
        else if (!strcmp(k, "--heads")) H = (int)v;
        else if (!strcmp(k, "--ctx")) T = (int)v;
        else if (!strcmp(k, "--batch")) B = (int)v;
        else if (!strcmp(k, "--vocab")) V = (int)v;
        else if (!strcmp(k, "--steps")) steps = (int)v;
        else if (!strcmp(k, "--warmup")) warmup = (int)v;
        else if (!strcmp(k, "--seed")) seed = (unsigned long long)v;
        else if (!strcmp(k, "--threads")) threads = (int)v;
        else {
            fprintf(stderr, "bench-train: unknown option %s\n", k);
            return 2;
        }
    }
    hs_error err = {0};
    hs_gpt2_dims d = {L, C, H, V, T};
    hs_train_model *tm;
    hs_adamw *opt;
    hs_adamw_opts ao = {0.9f, 0.95f, 1e-8f, 0.1f};
    if (hs_train_model_new(&d, B, T, HS_BACKEND_CPU, &tm, &err) != HS_OK || hs_adamw_new(&d, &ao, &opt, &err) != HS_OK) {
        fprintf(stderr, "bench-train: %s\n", err.msg);
        return 1;
    }
    if (threads > 1) { /* headscope's own threads over the batch, BLAS on each one's thread */
        openblas_set_num_threads(1);
        if (hs_train_set_threads(tm, threads, &err) != HS_OK) {
            fprintf(stderr, "bench-train: %s\n", err.msg);
            return 1;
        }
    }
    hs_gpt2_init(&d, hs_train_params(tm, NULL), seed);
    size_t n_stream = 1 << 16;
    int32_t *stream = malloc(n_stream * sizeof *stream), *ids = malloc((size_t)B * T * sizeof *ids),
            *tg = malloc((size_t)B * T * sizeof *tg);
    double *ms = malloc((size_t)steps * sizeof *ms);
    hs_rng rng = hs_rng_seed(seed);
    for (size_t i = 0; i < n_stream; i++)
        stream[i] = (int32_t)hs_rng_below(&rng, (uint32_t)V);
    float loss_first = 0, loss = 0;
    for (int s = 0; s < warmup + steps; s++) {
        for (int b = 0; b < B; b++) {
            size_t at = hs_rng_below(&rng, (uint32_t)(n_stream - T - 1));
            memcpy(ids + b * T, stream + at, (size_t)T * sizeof *ids);
            memcpy(tg + b * T, stream + at + 1, (size_t)T * sizeof *tg);
        }
        double t0 = now_s();
        if (hs_train_step(tm, opt, ids, tg, B, T, 1e-3f, 1.0f, &loss, NULL, &err) != HS_OK) {
            fprintf(stderr, "bench-train: %s\n", err.msg);
            return 1;
        }
        if (s == 0)
            loss_first = loss;
        if (s >= warmup)
            ms[s - warmup] = 1e3 * (now_s() - t0);
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    double med = ms[steps / 2], best = ms[0];
    printf("headscope threads=%d layers=%d d_model=%d heads=%d ctx=%d batch=%d vocab=%d steps=%d median_tok_s=%.0f "
           "best_tok_s=%.0f median_ms=%.2f loss_first=%.4f loss_last=%.4f\n",
           threads, L, C, H, T, B, V, steps, B * T / (med / 1e3), B * T / (best / 1e3), med, loss_first, loss);
    free(stream), free(ids), free(tg), free(ms);
    hs_adamw_free(opt);
    hs_train_model_free(tm);
    return 0;
}
