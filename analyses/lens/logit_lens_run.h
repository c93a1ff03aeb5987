/* logit_lens_run.h — the logit-lens analysis over a recorded run, end to end: what
 * `headscope analyze logit-lens` does. For every prompt of the run it reruns the run's model on the
 * stored token ids (one observed pass, analyses/lens/lens_trace.h) and writes the lens, the direct logit
 * attribution and the component lens into the store (tables in analyses/lens/lens_store.h), one
 * transaction per prompt, resumable.
 *
 * Targets. The lens tracks, at each position, the token that follows it: the prompt's next token,
 * and after the last position the answer. The answer is the first token of the prompt's "answer"
 * field as it continues the prompt (the first id where tokenising text + answer departs from the
 * prompt's own ids; the answer encoded alone when the boundary merges), or of `target` for every
 * prompt when given; "wrong" likewise, from the prompt's field or `wrong`. DLA (and the lens's
 * logit-difference column) need the answer, and use logit(answer) - logit(wrong) when there is a
 * wrong token, logit(answer) alone otherwise; prompts without an answer get the lens only.
 *
 * Provenance and reruns: analysis_runs holds one 'logit_lens' row per run with the options. The
 * same options again resume an unfinished analysis (prompts with a lens_prompts row are skipped)
 * or do nothing after a finished one; other options replace every row of the earlier analysis. */
#ifndef HS_ANALYSES_LENS_LOGIT_LENS_RUN_H
#define HS_ANALYSES_LENS_LOGIT_LENS_RUN_H

#include "store/store.h"

typedef struct hs_lens_progress {
    int done, total; /* prompts finished (analysed or skipped) and all of the run's */
} hs_lens_progress;

typedef struct hs_lens_request {
    const char *db_path;
    const char *vfs;             /* SQLite VFS, NULL for the default */
    int64_t run_id;              /* 0: the store's only run */
    const char *model_path;      /* NULL: the path the run recorded; either way its sha256 must match */
    const char *tokenizer_path;  /* NULL: the model's own */
    const char *target;          /* NULL: each prompt's answer; else every prompt's answer text */
    const char *wrong;           /* NULL: each prompt's wrong field (only used when target is NULL) */
    int top_k;                   /* tokens kept per lens cell and per component, 1..100 (default 10) */
    int n_neurons;               /* neurons per layer in the component lens (default 5; 0: none) */
    int component_lens;          /* 0: skip the component lens */
    void (*progress)(void *user, const hs_lens_progress *p); /* may be NULL */
    void *progress_user;
} hs_lens_request;

/* Defaults: the only run, the recorded model, answers from the prompts, top-k 10, 5 neurons per
 * layer, component lens on. db_path must still be set. */
void hs_lens_request_default(hs_lens_request *req);

typedef struct hs_lens_summary {
    int64_t run_id;
    hs_run_state state;    /* NEW, RESUMED, or COMPLETE (nothing left to do) */
    int n_prompts;         /* the run's prompts */
    int n_analysed;        /* analysed by this call */
    int n_images;          /* skipped: they hold image embeddings the store does not keep */
    int n_no_answer;       /* analysed without an answer (lens only, no DLA) */
    int store_opened;      /* on failure: 1 when prompts may have been written */
    char options_json[512];
} hs_lens_summary;

hs_status hs_lens_analyze(const hs_lens_request *req, hs_lens_summary *res, hs_error *err);

#endif
