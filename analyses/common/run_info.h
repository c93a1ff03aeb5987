/* run_info.h — which recorded run an analysis reads: resolving `--run ID` (default: the latest
 * run) and the run's model description (path, sha256, layers, heads) and prompt count. */
#ifndef HS_ANALYSES_COMMON_RUN_INFO_H
#define HS_ANALYSES_COMMON_RUN_INFO_H

#include "headscope.h"
#include "store/store.h"

typedef struct hs_run_info {
    int64_t id;
    char model_path[1024];
    char model_sha256[65];
    char architecture[32];
    int n_layers, n_heads;
    int n_prompts;   /* prompts recorded so far (a run that is still recording has fewer than its set) */
    int finished;    /* finished_at is set */
} hs_run_info;

/* Reads run `run_id`, or the latest run (largest id) when run_id < 0. A store without runs, or
 * without that run, is HS_ERR_MISSING with a message naming the database and the runs it has. */
hs_status hs_run_info_read(hs_store *store, int64_t run_id, hs_run_info *out, hs_error *err);

/* Checks that `model` is the run's own: the same layers and heads, and weights whose sha256 equals
 * runs.model_sha256 (activations of another model would not be the run's). HS_ERR_ARG says which. */
hs_status hs_run_info_check_model(hs_store *store, const hs_run_info *run, const hs_model *model, hs_error *err);

/* The database file of a store, for messages ("" for an in-memory one). Owned by SQLite. */
const char *hs_store_path_of(hs_store *store);

#endif
