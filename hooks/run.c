/* run.c — a recording run end to end: validate all input first, then store, run row, prompts. */
#include "hooks/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "config.h"
#include "datasets/prompts.h"
#include "model/model_hash.h"

static const char *dtype_name(hs_dtype dt)
{
    return dt == HS_DTYPE_F32 ? "f32" : dt == HS_DTYPE_BF16 ? "bf16" : "f16";
}

hs_status hs_run_record(const hs_run_request *req, hs_run_result *res, hs_error *err)
{
    memset(res, 0, sizeof *res);
    hs_prompt_set *set = NULL;
    hs_model *m = NULL;
    hs_store *store = NULL;
    hs_tokenized_set *ts = NULL;
    char *options_json = NULL;
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
    if (!(options_json = hs_record_options_json(req->opt))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(res->options_json, sizeof res->options_json, "%s", options_json);
    hs_run_plan plan = {.prompts_path = req->prompts_path, .n_prompts = set->n};
    hs_record_positions_shortfall(req->opt, set, ts, &plan.positions);
    if (req->plan)
        req->plan(req->progress_user, &plan);
    if ((rc = hs_store_open(req->db_path, HS_STORE_CREATE, req->vfs, &store, err)) != HS_OK)
        goto done;
    res->store_opened = 1;
    hs_model_info info;
    hs_model_get_info(m, &info);
    hs_run_desc desc = {.model_path = req->model_path, .model_sha256 = model_sha, .architecture = info.architecture,
                        .n_layers = info.n_layers, .n_heads = info.n_heads, .n_kv_heads = info.n_kv_heads,
                        .d_model = info.d_model, .d_head = info.d_head, .d_mlp = info.d_mlp, .d_vocab = info.d_vocab,
                        .n_ctx = info.n_ctx, .model_dtype = info.dtype, .tool_version = PACKAGE_VERSION,
                        .options_json = options_json, .dtype = dtype_name(req->opt->dtype), .backend = "cpu",
                        .prompts_path = req->prompts_path, .prompts_sha256 = prompts_sha};
    if ((rc = hs_store_run_open(store, &desc, &res->run_id, &res->state, err)) != HS_OK)
        goto done;
    if (res->state == HS_RUN_COMPLETE)
        goto done;
    if ((rc = hs_record_prompts(m, set, ts, store, res->run_id, req->opt, req->progress, req->progress_user, err)) !=
        HS_OK)
        goto done;
    rc = hs_store_run_finish(store, res->run_id, err);
done:
    free(options_json);
    hs_tokenized_set_free(ts);
    hs_store_close(store);
    hs_model_close(m);
    hs_prompt_set_free(set);
    return rc;
}
