/* run.h — one recording run end to end: prompt set + model -> store, resuming an interrupted run.
 * What `headscope run` and `headscope demo` both do. */
#ifndef HS_HOOKS_RUN_H
#define HS_HOOKS_RUN_H

#include <signal.h>

#include "hooks/recorder.h"
#include "store/store.h"

/* What a run is about to record, told once all input is checked and the size accepted, before
 * anything is written. */
typedef struct hs_run_plan {
    const char *prompts_path;
    int n_prompts;
    hs_positions_shortfall positions;  /* prompts shorter than --positions needs */
    int new_store;                     /* the store file does not exist yet */
    int n_todo;                        /* prompts this invocation records (the rest are recorded) */
    int64_t add_bytes;                 /* estimated: what recording them adds (a new store's
                                        * empty tables included) */
    int64_t prompt_bytes;              /* estimated: a prompt's share, on average */
    int64_t store_bytes;               /* estimated: the store's size once they are recorded */
    int64_t free_bytes;                /* free space on the store's file system, -1 unknown */
} hs_run_plan;

typedef void (*hs_run_plan_fn)(void *user, const hs_run_plan *plan);

typedef struct hs_run_request {
    const char *model_path, *tokenizer_path; /* tokenizer_path may be NULL */
    const char *prompts_path, *db_path;
    const char *vfs;                         /* SQLite VFS for the store, NULL for the default */
    const hs_record_options *opt;
    hs_record_progress_fn progress;          /* may be NULL */
    void *progress_user;
    hs_run_plan_fn plan;                     /* may be NULL; called with progress_user */
    int64_t max_bytes;                       /* refuse when the store would grow past this (0: no limit) */
    int64_t free_bytes;                      /* the free space to assume (tests), 0: ask the file system */
    int force;                               /* record even past max_bytes or the free space */
    const volatile sig_atomic_t *stop;       /* may be NULL; once nonzero (a signal handler sets it),
                                              * the run stops after the prompt it is recording */
} hs_run_request;

typedef struct hs_run_result {
    int64_t run_id;
    hs_run_state state;  /* NEW, RESUMED, or COMPLETE (nothing was left to do) */
    int n_prompts;
    int store_opened;    /* on failure: 1 when the store was opened, so prompts may have been kept */
    int bad_option;      /* on failure: 1 when the options do not fit the model (nothing was written) */
    int too_big;         /* on failure: 1 when the estimated size was refused (nothing was written) */
    int interrupted;     /* on failure: 1 when *stop ended the run; the store is consistent */
    int n_done;          /* when interrupted: prompts of the run the store holds */
    char options_json[1024];
} hs_run_result;

/* Loads and checks the prompt set and the model (tokenising every prompt) before the store is
 * touched; estimates the store's size (hooks/record_estimate.h) and refuses, unless forced, when
 * the store would pass max_bytes or what it adds would not fit in the free space; then opens the
 * store, finds or creates the run and records what is missing. On failure err says why; every
 * prompt recorded before the failure stays, and the same request resumes. */
hs_status hs_run_record(const hs_run_request *req, hs_run_result *res, hs_error *err);

#endif
