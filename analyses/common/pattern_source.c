/* pattern_source.c — attention patterns prompt by prompt, from the store's activations or from a
 * forward pass of the run's model on the run's stored tokens (see pattern_source.h for the rule). */
#include "analyses/common/pattern_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/tensor_blob.h"
#include "store/positions.h"
#include "model/model.h"
#include "model/model_hash.h"

#define PATTERN_HOOK "attn.hook_pattern"

typedef struct prompt_ref {
    int64_t id;
    int idx, n_tokens;
} prompt_ref;

struct hs_pattern_source {
    hs_store *store;
    const hs_model *model;       /* set only when the patterns come from it */
    hs_pattern_source_info info;
    prompt_ref *prompts;         /* [info.run.n_prompts] in idx order */
    int next;                    /* index into prompts of the next prompt to give */
    sqlite3_stmt *st_tokens, *st_meta, *st_patterns;
    hs_hooks *hooks;             /* the observer that copies patterns (model source) */
    hs_pattern_prompt cur;
    int32_t *ids;                /* [cap_T] */
    float *pattern;              /* [L, H, cap_T, cap_T] */
    unsigned char *head_kept;    /* [L, H] */
    unsigned char *row_kept;     /* [cap_T] */
    char *meta;
    int cap_T;
    hs_error *obs_err;           /* where the observer reports (the current next() call's err) */
};

const hs_pattern_source_info *hs_pattern_source_info_of(const hs_pattern_source *src)
{
    return &src->info;
}

void hs_pattern_source_close(hs_pattern_source *src)
{
    if (!src)
        return;
    sqlite3_finalize(src->st_tokens);
    sqlite3_finalize(src->st_meta);
    sqlite3_finalize(src->st_patterns);
    hs_hooks_free(src->hooks);
    free(src->prompts);
    free(src->ids);
    free(src->pattern);
    free(src->head_kept);
    free(src->row_kept);
    free(src->meta);
    free(src);
}

static hs_status db_error(hs_pattern_source *src, const char *what, hs_error *err)
{
    return hs_fail(err, HS_ERR_IO, "%s: run %lld: %s: %s", hs_store_path_of(src->store), (long long)src->info.run.id,
                   what, sqlite3_errmsg(hs_store_db(src->store)));
}

static hs_status prepare(hs_pattern_source *src, const char *sql, sqlite3_stmt **st, hs_error *err)
{
    if (sqlite3_prepare_v2(hs_store_db(src->store), sql, -1, st, NULL) != SQLITE_OK)
        return db_error(src, "preparing a query", err);
    return HS_OK;
}

/* Counts the run's stored pattern rows: all of them, and those that kept only some query rows. */
static hs_status count_stored(hs_pattern_source *src, int64_t *n_rows, int64_t *n_partial, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    HS_TRY(prepare(src,
                   "SELECT count(*), count(positions), min(dtype), max(dtype) FROM activations "
                   "WHERE run_id = ?1 AND hook = '" PATTERN_HOOK "'",
                   &st, err));
    sqlite3_bind_int64(st, 1, src->info.run.id);
    hs_status rc = HS_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *n_rows = sqlite3_column_int64(st, 0);
        *n_partial = sqlite3_column_int64(st, 1);
        const unsigned char *lo = sqlite3_column_text(st, 2), *hi = sqlite3_column_text(st, 3);
        if (lo && hi && strcmp((const char *)lo, (const char *)hi))
            snprintf(src->info.dtype, sizeof src->info.dtype, "mixed");
        else
            snprintf(src->info.dtype, sizeof src->info.dtype, "%s", lo ? (const char *)lo : "");
    } else {
        rc = db_error(src, "counting the stored patterns", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static hs_status load_prompts(hs_pattern_source *src, hs_error *err)
{
    int n = src->info.run.n_prompts;
    if (n > 0 && !(src->prompts = calloc((size_t)n, sizeof *src->prompts)))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    HS_TRY(prepare(src, "SELECT id, idx, n_tokens FROM prompts WHERE run_id = ?1 ORDER BY idx", &st, err));
    sqlite3_bind_int64(st, 1, src->info.run.id);
    int k = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW && k < n) {
        src->prompts[k].id = sqlite3_column_int64(st, 0);
        src->prompts[k].idx = sqlite3_column_int(st, 1);
        src->prompts[k].n_tokens = sqlite3_column_int(st, 2);
        k++;
    }
    sqlite3_finalize(st);
    if (step != SQLITE_DONE && step != SQLITE_ROW)
        return db_error(src, "reading the prompts", err);
    src->info.run.n_prompts = k; /* a concurrent recorder may have added prompts since: keep what we counted */
    return HS_OK;
}

/* Checks that `model` is the run's model: same layers and heads, same weights. */
/* Observer for the model source: copies one layer's pattern [1, H, T, T] into the buffer. */
static hs_status copy_pattern(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    hs_pattern_source *src = user;
    int H = src->info.run.n_heads, T = src->cur.T;
    if (t->ndim != 4 || t->shape[1] != H || t->shape[2] != T || t->shape[3] != T || hp->layer < 0 ||
        hp->layer >= src->info.run.n_layers)
        return hs_fail(src->obs_err, HS_ERR_INTERNAL, "pattern hook of layer %d has an unexpected shape", hp->layer);
    memcpy(src->pattern + (size_t)hp->layer * (size_t)H * (size_t)T * (size_t)T, t->data,
           (size_t)H * (size_t)T * (size_t)T * sizeof(float));
    memset(src->head_kept + (size_t)hp->layer * (size_t)H, 1, (size_t)H);
    return HS_OK;
}

hs_status hs_pattern_source_open(hs_store *store, int64_t run_id, const hs_model *model, unsigned flags,
                                 hs_pattern_source **out, hs_error *err)
{
    *out = NULL;
    hs_pattern_source *src = calloc(1, sizeof *src);
    if (!src)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    src->store = store;
    hs_status rc;
    int64_t n_rows = 0, n_partial = 0;
    if ((rc = hs_run_info_read(store, run_id, &src->info.run, err)) != HS_OK ||
        (rc = load_prompts(src, err)) != HS_OK || (rc = count_stored(src, &n_rows, &n_partial, err)) != HS_OK)
        goto fail;
    const hs_run_info *r = &src->info.run;
    if (r->n_prompts == 0) {
        rc = hs_fail(err, HS_ERR_MISSING, "%s: run %lld has no recorded prompts yet", hs_store_path_of(store),
                     (long long)r->id);
        goto fail;
    }
    int64_t want = (int64_t)r->n_prompts * r->n_layers * r->n_heads;
    int complete = n_rows == want && n_partial == 0;
    int use_model = (flags & HS_PATTERNS_RECOMPUTE) || n_rows == 0 || (!complete && model);
    if (use_model && !model) {
        if (flags & HS_PATTERNS_RECOMPUTE)
            rc = hs_fail(err, HS_ERR_ARG, "%s: run %lld: recomputing the patterns needs the run's model (--model %s)",
                         hs_store_path_of(store), (long long)r->id, r->model_path);
        else
            rc = hs_fail(err, HS_ERR_MISSING,
                         "%s: run %lld stored no attention patterns (hook %s; it was recorded without "
                         "`--record pattern`) and no model was given to compute them: pass --model %s",
                         hs_store_path_of(store), (long long)r->id, PATTERN_HOOK, r->model_path);
        goto fail;
    }
    if (use_model) {
        if ((rc = hs_run_info_check_model(src->store, &src->info.run, model, err)) != HS_OK || (rc = hs_hooks_new(&src->hooks, err)) != HS_OK ||
            (rc = hs_hooks_observe(src->hooks, "blocks.*." PATTERN_HOOK, copy_pattern, src, err)) != HS_OK)
            goto fail;
        src->model = model;
        src->info.origin = HS_PATTERNS_FROM_MODEL;
        src->info.complete = 1;
        snprintf(src->info.dtype, sizeof src->info.dtype, "f32");
    } else {
        src->info.origin = HS_PATTERNS_FROM_STORE;
        src->info.complete = complete;
        if ((rc = prepare(src,
                          "SELECT layer, head, positions, data FROM activations "
                          "WHERE prompt_id = ?1 AND hook = '" PATTERN_HOOK "'",
                          &src->st_patterns, err)) != HS_OK)
            goto fail;
    }
    if ((rc = prepare(src, "SELECT pos, token_id FROM tokens WHERE prompt_id = ?1 ORDER BY pos", &src->st_tokens,
                      err)) != HS_OK ||
        (rc = prepare(src, "SELECT meta FROM prompts WHERE id = ?1", &src->st_meta, err)) != HS_OK)
        goto fail;
    size_t LH = (size_t)r->n_layers * (size_t)r->n_heads;
    if (!(src->head_kept = calloc(LH, 1))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = src;
    return HS_OK;
fail:
    hs_pattern_source_close(src);
    return rc;
}

/* Makes room for a prompt of T tokens. */
static hs_status reserve(hs_pattern_source *src, int T, hs_error *err)
{
    if (T <= src->cap_T)
        return HS_OK;
    size_t LH = (size_t)src->info.run.n_layers * (size_t)src->info.run.n_heads;
    int32_t *ids = realloc(src->ids, (size_t)T * sizeof *ids);
    if (ids)
        src->ids = ids;
    unsigned char *rows = realloc(src->row_kept, (size_t)T);
    if (rows)
        src->row_kept = rows;
    free(src->pattern);
    src->pattern = malloc(LH * (size_t)T * (size_t)T * sizeof(float));
    if (!ids || !rows || !src->pattern) {
        src->cap_T = 0;
        return hs_fail(err, HS_ERR_NOMEM, "out of memory for the patterns of a %d-token prompt (%zu heads)", T, LH);
    }
    src->cap_T = T;
    return HS_OK;
}

static hs_status read_tokens(hs_pattern_source *src, const prompt_ref *p, hs_error *err)
{
    sqlite3_stmt *st = src->st_tokens;
    sqlite3_bind_int64(st, 1, p->id);
    int n = 0, step;
    hs_status rc = HS_OK;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n >= p->n_tokens || sqlite3_column_int(st, 0) != n) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d: its tokens do not run 0..%d", hs_store_path_of(src->store),
                         p->idx, p->n_tokens - 1);
            break;
        }
        src->ids[n++] = (int32_t)sqlite3_column_int64(st, 1);
    }
    if (rc == HS_OK && step != SQLITE_DONE)
        rc = db_error(src, "reading tokens", err);
    if (rc == HS_OK && n != p->n_tokens)
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d: %d tokens stored, n_tokens says %d",
                     hs_store_path_of(src->store), p->idx, n, p->n_tokens);
    sqlite3_reset(st);
    return rc;
}

static hs_status read_meta(hs_pattern_source *src, const prompt_ref *p, hs_error *err)
{
    sqlite3_stmt *st = src->st_meta;
    free(src->meta);
    src->meta = NULL;
    sqlite3_bind_int64(st, 1, p->id);
    hs_status rc = HS_OK;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL &&
        !(src->meta = strdup((const char *)sqlite3_column_text(st, 0))))
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    sqlite3_reset(st);
    return rc;
}

/* Fills the buffers (zeroed by the caller) from the prompt's stored pattern rows. Every kept head
 * must keep the same query rows. */
static hs_status read_stored(hs_pattern_source *src, const prompt_ref *p, hs_error *err)
{
    int L = src->info.run.n_layers, H = src->info.run.n_heads, T = p->n_tokens;
    size_t TT = (size_t)T * (size_t)T;
    const char *db = hs_store_path_of(src->store);
    sqlite3_stmt *st = src->st_patterns;
    int *list = malloc((size_t)T * sizeof *list);   /* [n_list] the query rows of one slice */
    unsigned char *these = malloc((size_t)T);        /* [T] the same, as marks */
    hs_status rc = HS_OK;
    int first = 1, step;
    if (!list || !these) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    sqlite3_bind_int64(st, 1, p->id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int l = sqlite3_column_int(st, 0), h = sqlite3_column_int(st, 1);
        const char *pos = (const char *)sqlite3_column_text(st, 2);
        hs_blob_view v;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL || sqlite3_column_type(st, 1) == SQLITE_NULL || l < 0 ||
            l >= L || h < 0 || h >= H ||
            hs_blob_parse(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &v) != 0 || v.ndim != 2 ||
            v.shape[1] != T) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d: a pattern row (layer %d, head %d) is not a valid [rows, %d] "
                         "tensor of this run's heads", db, p->idx, l, h, T);
            goto done;
        }
        int n_list = T;
        memset(these, 0, (size_t)T);
        if (!pos) {
            for (int i = 0; i < T; i++)
                these[i] = 1, list[i] = i;
        } else if ((n_list = hs_positions_parse(pos, T, list)) < 0) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d: L%dH%d: bad positions %.60s", db, p->idx, l, h, pos);
            goto done;
        } else {
            for (int i = 0; i < n_list; i++)
                these[list[i]] = 1;
        }
        if ((!first && memcmp(these, src->row_kept, (size_t)T) != 0) || v.shape[0] != n_list) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d: L%dH%d keeps other query rows than the other heads", db,
                         p->idx, l, h);
            goto done;
        }
        memcpy(src->row_kept, these, (size_t)T);
        first = 0;
        float *dst = src->pattern + ((size_t)l * (size_t)H + (size_t)h) * TT;
        size_t row_bytes = (size_t)T * hs_dtype_size(v.dtype);
        for (int s = 0; s < n_list; s++)
            if (hs_convert_to_f32(v.dtype, v.data + (size_t)s * row_bytes, dst + (size_t)list[s] * (size_t)T,
                                  (size_t)T) != 0) {
                rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d: L%dH%d: unsupported dtype", db, p->idx, l, h);
                goto done;
            }
        src->head_kept[l * H + h] = 1;
    }
    if (step != SQLITE_DONE)
        rc = db_error(src, "reading patterns", err);
done:
    sqlite3_reset(st);
    free(list);
    free(these);
    return rc;
}

hs_status hs_pattern_source_next(hs_pattern_source *src, const hs_pattern_prompt **out, hs_error *err)
{
    *out = NULL;
    if (src->next >= src->info.run.n_prompts)
        return HS_OK;
    const prompt_ref *p = &src->prompts[src->next];
    int L = src->info.run.n_layers, H = src->info.run.n_heads, T = p->n_tokens;
    if (T < 1)
        return hs_fail(err, HS_ERR_FORMAT, "%s: prompt %d has no tokens", hs_store_path_of(src->store), p->idx);
    HS_TRY(reserve(src, T, err));
    HS_TRY(read_tokens(src, p, err));
    HS_TRY(read_meta(src, p, err));
    size_t LH = (size_t)L * (size_t)H, TT = (size_t)T * (size_t)T;
    memset(src->head_kept, 0, LH);
    memset(src->pattern, 0, LH * TT * sizeof(float));
    memset(src->row_kept, 0, (size_t)T);
    src->cur = (hs_pattern_prompt){.prompt_id = p->id, .idx = p->idx, .T = T, .ids = src->ids,
                                   .meta_json = src->meta, .pattern = src->pattern,
                                   .head_kept = src->head_kept, .row_kept = src->row_kept};
    if (src->info.origin == HS_PATTERNS_FROM_MODEL) {
        memset(src->row_kept, 1, (size_t)T);
        hs_batch batch = {.ids = src->ids, .n_batch = 1, .n_pos = T};
        src->obs_err = err;
        hs_status rc = hs_forward(src->model, &batch, src->hooks, HS_BACKEND_CPU, NULL, err);
        if (rc != HS_OK) {
            hs_error_prefix(err, "%s: prompt %d", hs_store_path_of(src->store), p->idx);
            return rc;
        }
    } else {
        HS_TRY(read_stored(src, p, err));
    }
    src->next++;
    *out = &src->cur;
    return HS_OK;
}
