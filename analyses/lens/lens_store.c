/* lens_store.c — rows of the logit lens's tables: statements prepared once per writer and re-bound
 * per row (a prompt writes (n_layers + 1) · n_pos lens rows, a few dozen DLA rows and one
 * component-lens row per head and selected neuron), top-k lists encoded as compact JSON arrays. */
#include "analyses/lens/lens_store.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

enum { W_LENS, W_PROMPT, W_DLA, W_COMPONENT, W_COUNT };

static const char *const writer_sql[W_COUNT] = {
    [W_LENS] = "INSERT INTO logit_lens (run_id, prompt_id, layer, pos, top_id, top_prob, topk_ids, topk_probs, "
               "target_id, target_rank, target_prob, logit_diff, kl) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [W_PROMPT] = "INSERT INTO lens_prompts (run_id, prompt_id, pos, answer_id, wrong_id, logit_diff, scale) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_DLA] = "INSERT INTO dla (run_id, prompt_id, component, layer, head, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [W_COMPONENT] = "INSERT INTO component_lens (run_id, prompt_id, pos, layer, head, neuron, activation, norm, "
                    "promoted_ids, promoted_logits, suppressed_ids, suppressed_logits) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
};

struct hs_lens_writer {
    hs_store *store;
    sqlite3_stmt *st[W_COUNT];
    char *ids, *vals; /* JSON buffers of JSON_CAP bytes */
};

/* Room for HS_LENS_MAX_K entries of at most 16 characters ("-2147483648," / "-1.23457e-05,"). */
#define JSON_CAP (HS_LENS_MAX_K * 16 + 8)

static hs_status sql_fail(sqlite3 *db, hs_error *err, const char *what)
{
    return hs_fail(err, HS_ERR_IO, "%s: %s: %s", sqlite3_db_filename(db, "main"), what, sqlite3_errmsg(db));
}

void hs_lens_writer_close(hs_lens_writer *w)
{
    if (!w)
        return;
    for (int i = 0; i < W_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    free(w->ids);
    free(w->vals);
    free(w);
}

hs_status hs_lens_writer_open(hs_store *s, hs_lens_writer **out, hs_error *err)
{
    *out = NULL;
    hs_lens_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->ids = malloc(JSON_CAP)) || !(w->vals = malloc(JSON_CAP))) {
        hs_lens_writer_close(w);
        return hs_fail(err, HS_ERR_NOMEM, "lens: out of memory");
    }
    w->store = s;
    sqlite3 *db = hs_store_db(s);
    for (int i = 0; i < W_COUNT; i++)
        if (sqlite3_prepare_v3(db, writer_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &w->st[i], NULL) != SQLITE_OK) {
            hs_status rc = sql_fail(db, err, "preparing the lens statements");
            hs_lens_writer_close(w);
            return rc;
        }
    *out = w;
    return HS_OK;
}

/* "[3,1,4]" of n ids into buf (JSON_CAP bytes). */
static const char *json_ids(char *buf, const int32_t *ids, int n)
{
    size_t at = 0;
    buf[at++] = '[';
    for (int i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, JSON_CAP - at, "%s%d", i ? "," : "", ids[i]);
    snprintf(buf + at, JSON_CAP - at, "]");
    return buf;
}

/* "[0.5,0.25]" of n floats with 6 significant digits (what a float holds to ~1e-7 relative is not
 * worth the bytes in a top-k list); NaN as null. */
static const char *json_floats(char *buf, const float *v, int n)
{
    size_t at = 0;
    buf[at++] = '[';
    for (int i = 0; i < n; i++)
        at += (size_t)(isfinite(v[i]) ? snprintf(buf + at, JSON_CAP - at, "%s%.6g", i ? "," : "", (double)v[i])
                                      : snprintf(buf + at, JSON_CAP - at, "%snull", i ? "," : ""));
    snprintf(buf + at, JSON_CAP - at, "]");
    return buf;
}

static void bind_opt_int(sqlite3_stmt *st, int i, int64_t v, int present)
{
    if (present)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

static void bind_opt_double(sqlite3_stmt *st, int i, double v)
{
    if (isfinite(v))
        sqlite3_bind_double(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* Steps an insert and readies it for the next row. */
static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static hs_status put_dla_row(hs_lens_writer *w, int64_t run_id, int64_t prompt_id, const char *component, int layer,
                             int head, double value, hs_error *err)
{
    sqlite3_stmt *st = w->st[W_DLA];
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, prompt_id);
    sqlite3_bind_text(st, 3, component, -1, SQLITE_STATIC);
    bind_opt_int(st, 4, layer, layer >= 0);
    bind_opt_int(st, 5, head, head >= 0);
    sqlite3_bind_double(st, 6, value);
    if (step(st) != SQLITE_OK)
        return sql_fail(hs_store_db(w->store), err, "recording a DLA row");
    if (head >= 0)
        return hs_store_put_head_score(w->store, run_id, "dla", "dla", layer, head, prompt_id, value, err);
    return HS_OK;
}

static hs_status put_dla(hs_lens_writer *w, int64_t run_id, int64_t prompt_id, const hs_dla *d, hs_error *err)
{
    HS_TRY(put_dla_row(w, run_id, prompt_id, "embed", -1, -1, d->embed, err));
    HS_TRY(put_dla_row(w, run_id, prompt_id, "pos_embed", -1, -1, d->pos_embed, err));
    for (int l = 0; l < d->n_layers; l++) {
        for (int h = 0; h < d->n_heads; h++)
            HS_TRY(put_dla_row(w, run_id, prompt_id, "head", l, h, d->heads[l * d->n_heads + h], err));
        HS_TRY(put_dla_row(w, run_id, prompt_id, "attn_bias", l, -1, d->attn_bias[l], err));
        HS_TRY(put_dla_row(w, run_id, prompt_id, "mlp", l, -1, d->mlp[l], err));
    }
    HS_TRY(put_dla_row(w, run_id, prompt_id, "ln_final_bias", -1, -1, d->ln_final_bias, err));
    return put_dla_row(w, run_id, prompt_id, "unembed_bias", -1, -1, d->unembed_bias, err);
}

hs_status hs_lens_put_prompt(hs_lens_writer *w, int64_t run_id, int64_t prompt_id, int pos, double scale,
                             const hs_lens *lens, const hs_dla *dla, const hs_component_lens *cl, hs_error *err)
{
    sqlite3 *db = hs_store_db(w->store);
    const int k = lens->k;
    sqlite3_stmt *st = w->st[W_LENS];
    for (int r = 0; r < lens->n_rows; r++)
        for (int p = 0; p < lens->n_pos; p++) {
            size_t cell = (size_t)r * lens->n_pos + p;
            const int32_t *ids = lens->topk_id + cell * k;
            const float *probs = lens->topk_prob + cell * k;
            sqlite3_bind_int64(st, 1, run_id);
            sqlite3_bind_int64(st, 2, prompt_id);
            sqlite3_bind_int(st, 3, r);
            sqlite3_bind_int(st, 4, p);
            sqlite3_bind_int(st, 5, ids[0]);
            sqlite3_bind_double(st, 6, probs[0]);
            sqlite3_bind_text(st, 7, json_ids(w->ids, ids, k), -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 8, json_floats(w->vals, probs, k), -1, SQLITE_STATIC);
            int has_target = lens->target_id[p] >= 0;
            bind_opt_int(st, 9, lens->target_id[p], has_target);
            bind_opt_int(st, 10, lens->target_rank[cell], has_target);
            bind_opt_double(st, 11, has_target ? lens->target_prob[cell] : NAN);
            bind_opt_double(st, 12, lens->logit_diff[cell]);
            sqlite3_bind_double(st, 13, lens->kl[cell]);
            if (step(st) != SQLITE_OK)
                return sql_fail(db, err, "recording a logit-lens row");
        }
    st = w->st[W_PROMPT];
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, prompt_id);
    sqlite3_bind_int(st, 3, pos);
    bind_opt_int(st, 4, dla ? dla->answer : 0, dla != NULL);
    bind_opt_int(st, 5, dla ? dla->wrong : 0, dla && dla->wrong >= 0);
    bind_opt_double(st, 6, dla ? dla->logit_diff : NAN);
    sqlite3_bind_double(st, 7, scale);
    if (step(st) != SQLITE_OK)
        return sql_fail(db, err, "recording a lens prompt");
    if (dla)
        HS_TRY(put_dla(w, run_id, prompt_id, dla, err));
    for (int r = 0; cl && r < cl->n_rows; r++) {
        const hs_component_lens_row *row = &cl->rows[r];
        if (row->head < 0 && row->neuron < 0)
            continue; /* no neuron was left to pick */
        st = w->st[W_COMPONENT];
        sqlite3_bind_int64(st, 1, run_id);
        sqlite3_bind_int64(st, 2, prompt_id);
        sqlite3_bind_int(st, 3, pos);
        sqlite3_bind_int(st, 4, row->layer);
        bind_opt_int(st, 5, row->head, row->head >= 0);
        bind_opt_int(st, 6, row->neuron, row->neuron >= 0);
        bind_opt_double(st, 7, row->activation);
        sqlite3_bind_double(st, 8, row->norm);
        sqlite3_bind_text(st, 9, json_ids(w->ids, cl->promoted_id + (size_t)r * cl->k, cl->k), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 10, json_floats(w->vals, cl->promoted_logit + (size_t)r * cl->k, cl->k), -1,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 11, json_ids(w->ids, cl->suppressed_id + (size_t)r * cl->k, cl->k), -1,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 12, json_floats(w->vals, cl->suppressed_logit + (size_t)r * cl->k, cl->k), -1,
                          SQLITE_TRANSIENT);
        if (step(st) != SQLITE_OK)
            return sql_fail(db, err, "recording a component-lens row");
    }
    return HS_OK;
}

hs_status hs_lens_put_vocab(hs_store *s, int64_t model_id, const hs_tokenizer *tok, hs_error *err)
{
    sqlite3 *db = hs_store_db(s);
    sqlite3_stmt *st = NULL;
    hs_status rc = HS_OK;
    int n = hs_tokenizer_vocab_size(tok), have = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM vocab WHERE model_id = ?1", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "counting the vocabulary");
    sqlite3_bind_int64(st, 1, model_id);
    if (sqlite3_step(st) == SQLITE_ROW)
        have = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (have < 0)
        return sql_fail(db, err, "counting the vocabulary");
    if (have >= n)
        return HS_OK;
    if ((rc = hs_store_begin(s, err)) != HS_OK)
        return rc;
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO vocab (model_id, token_id, text) VALUES (?1, ?2, ?3)", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = sql_fail(db, err, "storing the vocabulary");
        goto done;
    }
    char text[1024];
    for (int32_t id = 0; id < n; id++) {
        if (hs_tokenizer_token_text(tok, id, text, sizeof text) < 0)
            continue;
        sqlite3_bind_int64(st, 1, model_id);
        sqlite3_bind_int(st, 2, id);
        sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
        if (step(st) != SQLITE_OK) {
            rc = sql_fail(db, err, "storing the vocabulary");
            goto done;
        }
    }
done:
    sqlite3_finalize(st);
    if (rc == HS_OK)
        return hs_store_commit(s, err);
    hs_store_rollback(s);
    return rc;
}

/* Parses a JSON array of numbers into n ints or floats (exactly one of them non-NULL); -1 / NAN for
 * null. Returns 0 on success. */
static int parse_json_array(const unsigned char *text, int n, int32_t *ints, float *floats)
{
    json_t *a = text ? json_loads((const char *)text, 0, NULL) : NULL;
    int ok = a && json_is_array(a) && (int)json_array_size(a) == n;
    for (int i = 0; ok && i < n; i++) {
        json_t *v = json_array_get(a, (size_t)i);
        if (json_is_null(v)) {
            if (ints)
                ints[i] = -1;
            else
                floats[i] = NAN;
        } else if (json_is_number(v)) {
            if (ints)
                ints[i] = (int32_t)json_integer_value(v);
            else
                floats[i] = (float)json_number_value(v);
        } else {
            ok = 0;
        }
    }
    json_decref(a);
    return ok ? 0 : -1;
}

hs_status hs_lens_read(hs_store *s, int64_t prompt_id, hs_lens **out, hs_error *err)
{
    *out = NULL;
    sqlite3 *db = hs_store_db(s);
    sqlite3_stmt *st = NULL;
    hs_lens *l = NULL;
    hs_status rc = HS_OK;
    int n_rows = 0, n_pos = 0, k = 0, count = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(layer) + 1, max(pos) + 1, max(json_array_length(topk_ids)), count(*) "
                               "FROM logit_lens WHERE prompt_id = ?1", -1, &st, NULL) != SQLITE_OK)
        return sql_fail(db, err, "reading the logit lens");
    sqlite3_bind_int64(st, 1, prompt_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        n_rows = sqlite3_column_int(st, 0);
        n_pos = sqlite3_column_int(st, 1);
        k = sqlite3_column_int(st, 2);
        count = sqlite3_column_int(st, 3);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (count == 0)
        return hs_fail(err, HS_ERR_MISSING, "%s: prompt row %lld has no logit-lens rows", sqlite3_db_filename(db, "main"),
                       (long long)prompt_id);
    if (count != n_rows * n_pos || k < 1 || k > HS_LENS_MAX_K)
        return hs_fail(err, HS_ERR_FORMAT, "%s: prompt row %lld: %d logit-lens rows do not make a %d x %d grid",
                       sqlite3_db_filename(db, "main"), (long long)prompt_id, count, n_rows, n_pos);
    if (!(l = hs_lens_new(n_rows, n_pos, k)))
        return hs_fail(err, HS_ERR_NOMEM, "lens: out of memory");
    if (sqlite3_prepare_v2(db, "SELECT layer, pos, topk_ids, topk_probs, target_id, target_rank, target_prob, "
                               "logit_diff, kl FROM logit_lens WHERE prompt_id = ?1", -1, &st, NULL) != SQLITE_OK) {
        rc = sql_fail(db, err, "reading the logit lens");
        goto done;
    }
    sqlite3_bind_int64(st, 1, prompt_id);
    int step_rc;
    while ((step_rc = sqlite3_step(st)) == SQLITE_ROW) {
        int r = sqlite3_column_int(st, 0), p = sqlite3_column_int(st, 1);
        size_t cell = (size_t)r * n_pos + p;
        if (r < 0 || p < 0 || r >= n_rows || p >= n_pos ||
            parse_json_array(sqlite3_column_text(st, 2), k, l->topk_id + cell * k, NULL) != 0 ||
            parse_json_array(sqlite3_column_text(st, 3), k, NULL, l->topk_prob + cell * k) != 0) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: prompt row %lld, layer %d, pos %d: malformed logit-lens row",
                         sqlite3_db_filename(db, "main"), (long long)prompt_id, r, p);
            goto done;
        }
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            l->target_id[p] = sqlite3_column_int(st, 4);
            l->target_rank[cell] = sqlite3_column_int(st, 5);
            l->target_prob[cell] = (float)sqlite3_column_double(st, 6);
        }
        if (sqlite3_column_type(st, 7) != SQLITE_NULL)
            l->logit_diff[cell] = (float)sqlite3_column_double(st, 7);
        l->kl[cell] = (float)sqlite3_column_double(st, 8);
    }
    if (step_rc != SQLITE_DONE)
        rc = sql_fail(db, err, "reading the logit lens");
done:
    sqlite3_finalize(st);
    if (rc != HS_OK)
        hs_lens_free(l);
    else
        *out = l;
    return rc;
}
