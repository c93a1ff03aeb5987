/* corpus.c — writing the training corpus (see corpus.h). Task prompts come from their generators in
 * batches of 512 (train split), each batch seeded from the corpus's own stream. */
#include "datasets/corpus.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "datasets/stories.h"
#include "datasets/task_set.h"

#define BATCH 512
#define EOT "<|endoftext|>"

typedef struct task_pool {
    const hs_task_info *task;
    hs_task_set set;
    int next;
} task_pool;

/* The next train prompt of a task, generating a new batch when the last is used up. */
static hs_status next_prompt(task_pool *p, hs_rng *r, const hs_task_prompt **out, hs_error *err)
{
    if (p->next == p->set.n) {
        hs_task_set_clear(&p->set);
        hs_task_spec spec = {.n = BATCH, .seed = hs_rng_next(r), .split = HS_TASK_TRAIN};
        HS_TRY(p->task->generate(&spec, &p->set, err));
        p->next = 0;
    }
    *out = &p->set.v[p->next++];
    return HS_OK;
}

hs_status hs_corpus_write(const char *path, const hs_corpus_spec *spec, hs_corpus_stats *stats, hs_error *err)
{
    if (!(spec->size_mb > 0 && spec->size_mb <= 4096))
        return hs_fail(err, HS_ERR_ARG, "corpus: the size must be in (0, 4096] MB (got %g)", spec->size_mb);
    hs_corpus_stats s = {0};
    int n_tasks;
    const hs_task_info *tasks = hs_tasks(&n_tasks);
    if (n_tasks > HS_CORPUS_MAX_TASKS)
        return hs_fail(err, HS_ERR_INTERNAL, "corpus: %d tasks, at most %d", n_tasks, HS_CORPUS_MAX_TASKS);
    int mix[3] = {45, 40, 15}, weight[HS_CORPUS_MAX_TASKS], weight_sum = 0;
    if (spec->mix[0] || spec->mix[1] || spec->mix[2]) {
        if (spec->mix[0] < 0 || spec->mix[1] < 0 || spec->mix[2] < 0 || spec->mix[0] + spec->mix[1] + spec->mix[2] != 100)
            return hs_fail(err, HS_ERR_ARG, "corpus: the mix %d/%d/%d (tasks/stories/repeats) must be >= 0 and sum to 100",
                           spec->mix[0], spec->mix[1], spec->mix[2]);
        memcpy(mix, spec->mix, sizeof mix);
    }
    for (int i = 0; i < n_tasks; i++)
        weight_sum += spec->task_weight[i];
    for (int i = 0; i < n_tasks; i++) {
        if (spec->task_weight[i] < 0)
            return hs_fail(err, HS_ERR_ARG, "corpus: task weight of %s is negative", tasks[i].name);
        weight[i] = weight_sum ? spec->task_weight[i] : 1;
    }
    if (!weight_sum)
        weight_sum = n_tasks;
    /* reduce by the common divisor, so that proportional weights (2:2:... as 1:1:...) draw alike */
    int g = weight_sum;
    for (int i = 0; i < n_tasks; i++)
        for (int a = weight[i]; a;) {
            int t = g % a;
            g = a, a = t;
        }
    for (int i = 0; i < n_tasks; i++)
        weight[i] /= g;
    weight_sum /= g;
    task_pool pools[HS_CORPUS_MAX_TASKS] = {{0}};
    for (int i = 0; i < n_tasks; i++)
        pools[i].task = &tasks[i];
    FILE *f = fopen(path, "w");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    hs_status rc = HS_OK;
    hs_rng r = hs_rng_seed(spec->seed, hs_rng_salt("corpus"));
    int64_t target = (int64_t)(spec->size_mb * 1e6);
    char text[HS_STORY_MAX];
    while (s.bytes < target && rc == HS_OK) {
        int kind = hs_rng_below(&r, 100);
        size_t n = 0;
        if (kind < mix[0]) {
            int t = 0; /* weighted draw; equal weights draw exactly as hs_rng_below(n_tasks) */
            for (int x = hs_rng_below(&r, weight_sum); x >= weight[t]; t++)
                x -= weight[t];
            task_pool *p = &pools[t];
            int k = hs_rng_range(&r, 1, 4);
            for (int i = 0; i < k && rc == HS_OK; i++) {
                const hs_task_prompt *q;
                if ((rc = next_prompt(p, &r, &q, err)) != HS_OK)
                    break;
                int w = fprintf(f, "%s%s%s", i ? "\n" : "", q->clean, q->answer);
                n += w > 0 ? (size_t)w : 0;
                s.task_examples++;
            }
            s.task_docs++;
        } else if (kind < mix[0] + mix[1]) {
            n = hs_story(&r, text);
            fputs(text, f);
            s.stories++;
        } else {
            n = hs_repeated_words(&r, text);
            fputs(text, f);
            s.repeats++;
        }
        fputs(EOT, f);
        s.bytes += (int64_t)n + (int64_t)strlen(EOT);
        s.docs++;
        if (ferror(f) && rc == HS_OK)
            rc = hs_fail(err, HS_ERR_IO, "%s: write error: %s", path, strerror(errno));
    }
    if (fclose(f) != 0 && rc == HS_OK)
        rc = hs_fail(err, HS_ERR_IO, "%s: write error: %s", path, strerror(errno));
    for (int i = 0; i < n_tasks; i++)
        hs_task_set_clear(&pools[i].set);
    if (stats)
        *stats = s;
    return rc;
}
