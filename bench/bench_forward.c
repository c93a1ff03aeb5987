/* bench_forward.c — forward-pass throughput of headscope's CPU backend (tokens/s), plain or with a
 * run_with_cache-style observer set; one machine-readable line per run, for bench/forward.sh.
 *
 *   bench-forward MODEL_DIR --batch B --pos T --reps N [--warmup W] [--observe] [--seed S]
 *   bench-forward --info            (OpenBLAS build and core, one line, then exits)
 *
 * Each timed repetition is one hs_forward call on B x T token ids drawn from a fixed seed (the
 * same splitmix64 stream bench/forward_torch.py draws, so both tools see the same ids), with the
 * logits copied out. With --observe, observers on every attention pattern, every hook_z and every
 * resid_pre / resid_post copy each tensor into memory malloc'd during the pass and kept until the
 * pass ends (as TransformerLens's run_with_cache keeps its cache), then freed. Warm-up passes are
 * not timed. Threads: whatever OpenBLAS is told (OPENBLAS_NUM_THREADS); the forward loop itself is
 * single-threaded.
 *
 * Output (one line):
 *   headscope batch=B pos=T observe=0|1 reps=N median_tok_s=.. best_tok_s=.. median_ms=..
 *             times_ms=a,b,.. cached_tensors=K cached_mb=M logits_sum_last=X
 * logits_sum_last (the sum of the last position's logits of the first sequence) lets the caller
 * check that both tools computed the same function. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "headscope.h"
#include "backend/blas_kernels.h"

/* What one observed pass keeps: every tensor the observers saw, each in its own malloc. */
typedef struct cache {
    float **bufs;
    int n, cap;
    size_t bytes;
    int oom;
} cache;

static hs_status cache_observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    cache *c = user;
    (void)hp;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        float **p = realloc(c->bufs, (size_t)cap * sizeof *p);
        if (!p)
            goto nomem;
        c->bufs = p;
        c->cap = cap;
    }
    size_t bytes = (size_t)hs_tensor_numel(t) * sizeof(float);
    float *copy = malloc(bytes);
    if (!copy)
        goto nomem;
    memcpy(copy, t->data, bytes);
    c->bufs[c->n++] = copy;
    c->bytes += bytes;
    return HS_OK;
nomem:
    c->oom = 1;
    return HS_ERR_CALLBACK;
}

/* Drops what a pass kept (the arrays stay for the next pass). */
static void cache_clear(cache *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->bufs[i]);
    c->n = 0;
    c->bytes = 0;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

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

static void usage(void)
{
    fprintf(stderr, "usage: bench-forward MODEL_DIR --batch B --pos T --reps N [--warmup W] [--observe] [--seed S]\n"
                    "       bench-forward --info\n");
}

static const char *const observed[] = {"blocks.*.attn.hook_pattern", "blocks.*.attn.hook_z",
                                       "blocks.*.hook_resid_pre", "blocks.*.hook_resid_post"};

int main(int argc, char **argv)
{
    hs_pick_blas_kernels(argv); /* the kernels the command line would use */
    const char *dir = NULL;
    int B = 1, T = 128, reps = 5, warmup = 1, observe = 0;
    uint64_t seed = 1234;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--info")) {
            printf("openblas config=\"%s\" corename=%s threads=%d\n", openblas_get_config(), openblas_get_corename(),
                   openblas_get_num_threads());
            return 0;
        } else if (!strcmp(a, "--observe")) {
            observe = 1;
        } else if (i + 1 < argc && !strcmp(a, "--batch")) {
            B = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--pos")) {
            T = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--reps")) {
            reps = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--warmup")) {
            warmup = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "--seed")) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (a[0] != '-' && !dir) {
            dir = a;
        } else {
            usage();
            return 2;
        }
    }
    if (!dir || B < 1 || T < 1 || reps < 1 || warmup < 0) {
        usage();
        return 2;
    }

    int status = 1;
    hs_error err = {0};
    hs_model *m = NULL;
    hs_hooks *hooks = NULL;
    cache kept = {0};
    int32_t *ids = NULL;
    float *logits = NULL;
    double *times = NULL, *sorted = NULL;
    if (hs_model_open(dir, NULL, &m, &err) != HS_OK) {
        fprintf(stderr, "bench-forward: %s\n", err.msg);
        goto done;
    }
    hs_model_info info;
    hs_model_get_info(m, &info);
    size_t N = (size_t)B * T;
    ids = malloc(N * sizeof *ids);
    logits = malloc(N * (size_t)info.d_vocab * sizeof *logits);
    times = malloc((size_t)reps * sizeof *times);
    sorted = malloc((size_t)reps * sizeof *sorted);
    if (!ids || !logits || !times || !sorted) {
        fprintf(stderr, "bench-forward: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < N; i++)
        ids[i] = (int32_t)(splitmix64(&seed) % (uint64_t)info.d_vocab);
    if (observe) {
        if (hs_hooks_new(&hooks, &err) != HS_OK)
            goto fail;
        for (size_t i = 0; i < sizeof observed / sizeof observed[0]; i++)
            if (hs_hooks_observe(hooks, observed[i], cache_observe, &kept, &err) != HS_OK)
                goto fail;
    }
    hs_batch batch = {.ids = ids, .n_batch = B, .n_pos = T};
    int n_kept = 0;
    size_t kept_bytes = 0;
    for (int r = -warmup; r < reps; r++) {
        double t0 = now_s();
        hs_status rc = hs_forward(m, &batch, hooks, HS_BACKEND_CPU, logits, &err);
        n_kept = kept.n;
        kept_bytes = kept.bytes;
        cache_clear(&kept); /* the pass is over: the user drops its cache */
        double t1 = now_s();
        if (rc != HS_OK) {
            if (kept.oom)
                fprintf(stderr, "bench-forward: out of memory for the cache\n");
            goto fail;
        }
        if (r >= 0)
            times[r] = t1 - t0;
    }
    memcpy(sorted, times, (size_t)reps * sizeof *sorted);
    qsort(sorted, (size_t)reps, sizeof *sorted, cmp_double);
    double median = reps % 2 ? sorted[reps / 2] : 0.5 * (sorted[reps / 2 - 1] + sorted[reps / 2]);
    double sum_last = 0;
    for (int v = 0; v < info.d_vocab; v++)
        sum_last += logits[(size_t)(T - 1) * info.d_vocab + v];
    printf("headscope batch=%d pos=%d observe=%d reps=%d median_tok_s=%.1f best_tok_s=%.1f median_ms=%.2f times_ms=",
           B, T, observe, reps, (double)N / median, (double)N / sorted[0], 1e3 * median);
    for (int r = 0; r < reps; r++)
        printf("%s%.2f", r ? "," : "", 1e3 * times[r]);
    printf(" cached_tensors=%d cached_mb=%.1f logits_sum_last=%.4f\n", n_kept, (double)kept_bytes / (1 << 20),
           sum_last);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "bench-forward: %s\n", err.msg);
done:
    cache_clear(&kept);
    free(kept.bufs);
    hs_hooks_free(hooks);
    hs_model_close(m);
    free(ids);
    free(logits);
    free(times);
    free(sorted);
    return status;
}
