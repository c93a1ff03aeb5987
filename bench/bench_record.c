/* bench_record.c — recording throughput of the store against the forward pass alone: the same
 * tokenised prompts (a) through hs_forward with no hooks, (b) recorded with the default selection,
 * (c) recorded with every hook, each into a fresh database. Prints one line per mode:
 *   mode=... prompts=N tokens=N seconds=S prompts_s=... overhead=... db_bytes=... bytes_per_prompt=... mb_s=...
 * usage: bench-record MODEL_DIR TOKENIZER PROMPTS.jsonl WORKDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "datasets/prompts.h"
#include "hooks/recorder.h"
#include "store/store.h"
#include "backend/blas_kernels.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static long long file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static int die(const char *what, const hs_error *err)
{
    fprintf(stderr, "bench-record: %s: %s\n", what, err->msg);
    return 1;
}

/* Records the whole set into a fresh database; returns seconds, or -1. */
static double record(const hs_model *m, const hs_prompt_set *set, const hs_tokenized_set *ts,
                     const hs_record_options *opt, const char *db_path, hs_error *err)
{
    char wal[4200], shm[4200];
    snprintf(wal, sizeof wal, "%s-wal", db_path);
    snprintf(shm, sizeof shm, "%s-shm", db_path);
    unlink(db_path), unlink(wal), unlink(shm);
    hs_store *s;
    if (hs_store_open(db_path, HS_STORE_CREATE, NULL, &s, err) != HS_OK)
        return -1;
    char *opts = hs_record_options_json(opt);
    hs_run_desc d = {.model_path = "bench", .model_sha256 = "bench", .architecture = "gpt2", .model_dtype = "F32",
                     .tool_version = "bench", .options_json = opts, .dtype = "f16", .backend = "cpu",
                     .prompts_path = set->path, .prompts_sha256 = "bench"};
    int64_t run;
    hs_run_state state;
    double secs = -1;
    if (hs_store_run_open(s, &d, &run, &state, err) == HS_OK) {
        double t0 = now();
        if (hs_record_prompts(m, set, ts, s, run, opt, NULL, NULL, err) == HS_OK)
            secs = now() - t0;
    }
    free(opts);
    hs_store_close(s); /* checkpoints the WAL into the database file */
    return secs;
}

int main(int argc, char **argv)
{
    hs_pick_blas_kernels(argv); /* the kernels the command line would use */
    if (argc != 5) {
        fprintf(stderr, "usage: bench-record MODEL_DIR TOKENIZER PROMPTS.jsonl WORKDIR\n");
        return 2;
    }
    hs_error err = {0};
    hs_model *m;
    hs_prompt_set *set;
    hs_tokenized_set *ts;
    if (hs_model_open(argv[1], argv[2], &m, &err) != HS_OK)
        return die("model", &err);
    if (hs_prompt_set_load(argv[3], &set, &err) != HS_OK)
        return die("prompts", &err);
    if (hs_record_tokenize(m, set, &ts, &err) != HS_OK)
        return die("tokenize", &err);
    long long tokens = 0;
    for (int i = 0; i < ts->n; i++)
        tokens += (long long)ts->n_ids[i];

    /* (a) the forward pass alone, one prompt per pass as the recorder runs it */
    hs_batch warm = {.ids = ts->ids[0], .n_batch = 1, .n_pos = (int)ts->n_ids[0]};
    hs_forward(m, &warm, NULL, HS_BACKEND_CPU, NULL, &err);
    double t0 = now();
    for (int i = 0; i < ts->n; i++) {
        hs_batch b = {.ids = ts->ids[i], .n_batch = 1, .n_pos = (int)ts->n_ids[i]};
        if (hs_forward(m, &b, NULL, HS_BACKEND_CPU, NULL, &err) != HS_OK)
            return die("forward", &err);
    }
    double t_fwd = now() - t0;
    printf("mode=forward prompts=%d tokens=%lld seconds=%.3f prompts_s=%.2f overhead=0\n", set->n, tokens, t_fwd,
           set->n / t_fwd);

    struct { const char *name, *hooks; } modes[] = {{"default", NULL}, {"everything", "all"}};
    for (size_t k = 0; k < 2; k++) {
        hs_record_options opt;
        hs_record_options_default(&opt);
        if (modes[k].hooks && hs_record_parse_hooks(modes[k].hooks, &opt, &err) != HS_OK)
            return die("options", &err);
        char db[4096];
        snprintf(db, sizeof db, "%s/record-%s.db", argv[4], modes[k].name);
        double secs = record(m, set, ts, &opt, db, &err);
        if (secs < 0)
            return die(modes[k].name, &err);
        long long bytes = file_bytes(db);
        printf("mode=%s prompts=%d tokens=%lld seconds=%.3f prompts_s=%.2f overhead=%.3f db_bytes=%lld "
               "bytes_per_prompt=%lld mb_s=%.1f\n",
               modes[k].name, set->n, tokens, secs, set->n / secs, secs / t_fwd - 1, bytes, bytes / set->n,
               (double)bytes / 1e6 / secs);
        fflush(stdout);
    }
    hs_tokenized_set_free(ts);
    hs_prompt_set_free(set);
    hs_model_close(m);
    return 0;
}
