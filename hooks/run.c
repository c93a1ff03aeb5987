/* run.c — a recording run end to end: validate all input first, then store, run row, prompts. */
#include "hooks/run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "base/error.h"
#include "config.h"
#include "datasets/prompts.h"
#include "hooks/record_estimate.h"
#include "model/model_hash.h"
#include "store/size_model.h"

static const char *dtype_name(hs_dtype dt)
{
    return dt == HS_DTYPE_F32 ? "f32" : dt == HS_DTYPE_BF16 ? "bf16" : "f16";
}

/* Bytes free to an unprivileged writer on the file system that holds (or will hold) path, or -1. */
static int64_t free_bytes_near(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return -1;
    return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

/* The estimate against the limits: --max-size for the whole store, the free space for what this
 * invocation adds. */
static hs_status check_size(const hs_run_request *req, const hs_run_plan *plan, hs_error *err)
{
    if (req->force)
        return HS_OK;
    char total[32], add[32], each[32], limit[32];
    hs_size_format(plan->store_bytes, total, sizeof total);
    hs_size_format(plan->add_bytes, add, sizeof add);
    hs_size_format(plan->prompt_bytes, each, sizeof each);
    static const char hint[] = "record less (--record, --layers, --heads, --positions, --dtype) or pass --force";
    if (req->max_bytes > 0 && plan->store_bytes > req->max_bytes) {
        hs_size_format(req->max_bytes, limit, sizeof limit);
        return hs_fail(err, HS_ERR_RANGE, "%s: the store would be about %s once its %d prompt%s are recorded (about "
                       "%s each), more than --max-size %s; %s", req->db_path, total, plan->n_todo,
                       plan->n_todo == 1 ? "" : "s", each, limit, hint);
    }
    if (plan->free_bytes >= 0 && plan->add_bytes > plan->free_bytes) {
        hs_size_format(plan->free_bytes, limit, sizeof limit);
        return hs_fail(err, HS_ERR_RANGE, "%s: recording %d prompt%s would add about %s (about %s each), more than "
                       "the %s free on its file system; %s", req->db_path, plan->n_todo, plan->n_todo == 1 ? "" : "s",
                       add, each, limit, hint);
    }
    return HS_OK;
}

/* Which prompts the run still lacks: all of them for a new run. */
static hs_status find_todo(hs_store *store, const hs_run_desc *desc, const hs_prompt_set *set, unsigned char *todo,
                           hs_run_state *state, hs_error *err)
{
    int64_t run_id;
    HS_TRY(hs_store_run_find(store, desc, &run_id, state, err));
    for (int i = 0; i < set->n; i++) {
        int done = 0;
        if (*state != HS_RUN_NEW)
            HS_TRY(hs_store_prompt_recorded(store, run_id, set->prompts[i].idx, &done, err));
        todo[i] = !done;
    }
    return HS_OK;
}

/* Between the caller's progress callback and the recorder: asks to stop once *stop is set. */
typedef struct progress_relay {
    const hs_run_request *req;
    int done;
} progress_relay;

static int relay_progress(void *user, const hs_record_progress *p)
{
    progress_relay *pr = user;
    pr->done = p->done;
    int stop = pr->req->progress ? pr->req->progress(pr->req->progress_user, p) : 0;
    return stop || (pr->req->stop && *pr->req->stop);
}

hs_status hs_run_record(const hs_run_request *req, hs_run_result *res, hs_error *err)
{
    memset(res, 0, sizeof *res);
    hs_prompt_set *set = NULL;
    hs_model *m = NULL;
    hs_store *store = NULL;
    hs_tokenized_set *ts = NULL;
    char *options_json = NULL;
    unsigned char *todo = NULL;
    char model_sha[65], prompts_sha[65];
    hs_status rc;
    /* everything that can be wrong with the input is found before the store is touched */
    if ((rc = hs_prompt_set_load(req->prompts_path, &set, err)) != HS_OK)
        goto done;
    res->n_prompts = set->n;
    if ((rc = hs_model_open(req->model_path, req->tokenizer_path, &m, err)) != HS_OK)
        goto done;
    if ((rc = hs_record_options_check(req->opt, m, err)) != HS_OK) {
        res->bad_option = 1;
        goto done;
    }
    if ((rc = hs_record_tokenize(m, set, &ts, err)) != HS_OK)
        goto done;
    if ((rc = hs_model_sha256(req->model_path, model_sha, err)) != HS_OK ||
        (rc = hs_file_sha256(req->prompts_path, prompts_sha, err)) != HS_OK)
        goto done;
    if (!(options_json = hs_record_options_json(req->opt)) || !(todo = malloc((size_t)set->n))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(res->options_json, sizeof res->options_json, "%s", options_json);
    hs_model_info info;
    hs_model_get_info(m, &info);
    hs_run_desc desc = {.model_path = req->model_path, .model_sha256 = model_sha, .architecture = info.architecture,
                        .n_layers = info.n_layers, .n_heads = info.n_heads, .n_kv_heads = info.n_kv_heads,
                        .d_model = info.d_model, .d_head = info.d_head, .d_mlp = info.d_mlp, .d_vocab = info.d_vocab,
                        .n_ctx = info.n_ctx, .model_dtype = info.dtype, .tool_version = PACKAGE_VERSION,
                        .options_json = options_json, .dtype = dtype_name(req->opt->dtype), .backend = "cpu",
                        .prompts_path = req->prompts_path, .prompts_sha256 = prompts_sha};

    /* The size check: a new store is estimated and refused before its file exists; an existing one
     * is opened (as it will be anyway) to count only the prompts its run still lacks. */
    hs_run_plan plan = {.prompts_path = req->prompts_path, .n_prompts = set->n};
    hs_record_positions_shortfall(req->opt, set, ts, &plan.positions);
    struct stat sb;
    plan.new_store = stat(req->db_path, &sb) != 0 && errno == ENOENT;
    hs_run_state found = HS_RUN_NEW;
    if (!plan.new_store) {
        if ((rc = hs_store_open(req->db_path, HS_STORE_CREATE, req->vfs, &store, err)) != HS_OK)
            goto done;
        res->store_opened = 1;
        if ((rc = find_todo(store, &desc, set, todo, &found, err)) != HS_OK)
            goto done;
    } else {
        memset(todo, 1, (size_t)set->n);
    }
    if (found != HS_RUN_COMPLETE) {
        hs_record_estimate est;
        int64_t base = 0;
        if ((rc = hs_record_estimate_size(m, set, ts, req->opt, todo, &est, err)) != HS_OK)
            goto done;
        if (plan.new_store && (rc = hs_size_model_empty_store(&base, err)) != HS_OK)
            goto done;
        plan.n_todo = est.n_prompts;
        plan.add_bytes = base + est.bytes;
        plan.store_bytes = (plan.new_store ? 0 : (int64_t)sb.st_size) + plan.add_bytes;
        /* the pages' share where the prompts fill pages, else (a few small prompts that fit in
         * the pages the store has) the rows' own bytes */
        plan.prompt_bytes = est.n_prompts ? (est.bytes > est.row_bytes ? est.bytes : est.row_bytes) / est.n_prompts
                                          : 0;
        plan.free_bytes = req->free_bytes > 0 ? req->free_bytes : free_bytes_near(req->db_path);
        if ((rc = check_size(req, &plan, err)) != HS_OK) {
            res->too_big = 1;
            goto done;
        }
        if (req->plan)
            req->plan(req->progress_user, &plan);
    }

    if (req->stop && *req->stop) {
        res->interrupted = 1;
        res->n_done = set->n - plan.n_todo;
        rc = hs_fail(err, HS_ERR_CALLBACK, "interrupted before recording");
        goto done;
    }
    if (!store) {
        if ((rc = hs_store_open(req->db_path, HS_STORE_CREATE, req->vfs, &store, err)) != HS_OK)
            goto done;
        res->store_opened = 1;
    }
    if ((rc = hs_store_run_open(store, &desc, &res->run_id, &res->state, err)) != HS_OK)
        goto done;
    if (res->state == HS_RUN_COMPLETE)
        goto done;
    progress_relay relay = {.req = req};
    if ((rc = hs_record_prompts(m, set, ts, store, res->run_id, req->opt, relay_progress, &relay, err)) != HS_OK) {
        if (rc == HS_ERR_CALLBACK && req->stop && *req->stop) {
            res->interrupted = 1;
            res->n_done = relay.done;
        }
        goto done;
    }
    rc = hs_store_run_finish(store, res->run_id, err);
done:
    free(todo);
    free(options_json);
    hs_tokenized_set_free(ts);
    hs_store_close(store);
    hs_model_close(m);
    hs_prompt_set_free(set);
    return rc;
}
