/* record_estimate.c — the store size a recording will take, before it runs: one forward pass on one
 * token tells which hook points the model has and their shapes; each prompt's token count then
 * gives every row the recorder will write (prompt, tokens, activation slices, summaries), which
 * store/size_model prices. The enumeration mirrors recorder.c's observer and uses its predicates
 * (hs_record_stores, hs_record_select_positions), so the two cannot drift apart silently. */
#include "hooks/record_estimate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/tensor_blob.h"
#include "model/model.h"
#include "store/size_model.h"

/* A hook point the model fires and its shape at one position. */
typedef struct probe_slot {
    hs_hook_point hp;
    int ndim;
    int64_t shape[HS_MAX_DIMS];
} probe_slot;

typedef struct probe {
    probe_slot *slots;
    int n, cap;
} probe;

static hs_status probe_observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    probe *pr = user;
    if (pr->n == pr->cap) {
        int cap = pr->cap ? 2 * pr->cap : 64;
        probe_slot *s = realloc(pr->slots, (size_t)cap * sizeof *s);
        if (!s)
            return HS_ERR_NOMEM;
        pr->slots = s;
        pr->cap = cap;
    }
    probe_slot *s = &pr->slots[pr->n++];
    s->hp = *hp;
    s->ndim = t->ndim;
    memcpy(s->shape, t->shape, sizeof s->shape);
    return HS_OK;
}

/* Runs the model on one token, observing every kind the recording observes. */
static hs_status run_probe(const hs_model *m, const hs_record_options *opt, int32_t token, probe *pr, hs_error *err)
{
    hs_hooks *hooks = NULL;
    HS_TRY(hs_hooks_new(&hooks, err));
    hs_status rc = HS_OK;
    uint32_t observed = opt->hooks | (opt->summaries ? 1u << HS_HOOK_PATTERN : 0);
    for (int k = 0; k < HS_HOOK_KIND_COUNT && rc == HS_OK; k++) {
        if (!(observed & (1u << k)))
            continue;
        char pattern[128];
        snprintf(pattern, sizeof pattern, "%s%s", hs_hook_kind_in_block((hs_hook_kind)k) ? "blocks.*." : "",
                 hs_hook_kind_name((hs_hook_kind)k));
        rc = hs_hooks_observe(hooks, pattern, probe_observe, pr, err);
    }
    hs_batch batch = {.ids = &token, .n_batch = 1, .n_pos = 1};
    if (rc == HS_OK && (rc = hs_forward(m, &batch, hooks, HS_BACKEND_CPU, NULL, err)) != HS_OK)
        hs_error_prefix(err, "estimating the store's size");
    hs_hooks_free(hooks);
    return rc;
}

/* Characters of "[0,3,5]" for the n selected positions sel. */
static int positions_json_len(const int *sel, int n)
{
    int len = 2 + (n > 0 ? n - 1 : 0);
    for (int i = 0; i < n; i++)
        len += snprintf(NULL, 0, "%d", sel[i]);
    return len;
}

static int shape_json_len(const int64_t *shape, int ndim)
{
    int len = 2 + ndim - 1;
    for (int i = 0; i < ndim; i++)
        len += snprintf(NULL, 0, "%lld", (long long)shape[i]);
    return len;
}

/* The activation rows of one hook point for a prompt of T tokens with n_sel selected positions,
 * laid out as store_hook lays them out: [n_sel, rest...] per selected head, where the rest of
 * pattern and scores ([1, head, query, key]) is the T keys. */
static void count_slot(hs_size_model *sm, const probe_slot *s, const hs_record_options *opt, const char *dtype,
                       int64_t prompt_id, int T, int n_sel, int positions_len, int64_t *n_rows)
{
    int head_dim = hs_hook_kind_head_dim(s->hp.kind);
    int64_t H = head_dim >= 0 ? s->shape[head_dim] : 1;
    int64_t shape[HS_MAX_DIMS];
    int ndim = 0;
    shape[ndim++] = n_sel;
    for (int d = head_dim >= 0 ? 3 : 2; d < s->ndim; d++)
        shape[ndim++] = s->shape[d];
    if (head_dim == 1)
        shape[1] = T;
    size_t blob = hs_blob_size(opt->dtype, ndim, shape);
    int shape_len = shape_json_len(shape, ndim);
    const char *hook = hs_hook_kind_name(s->hp.kind);
    for (int64_t h = 0; h < H; h++) {
        if (head_dim >= 0 && !hs_index_ranges_has(&opt->heads, (int)h, (int)H))
            continue;
        hs_size_model_activation(sm, 1, prompt_id, hook, s->hp.layer, head_dim >= 0 ? (int)h : -1, dtype, shape_len,
                                 positions_len, blob);
        (*n_rows)++;
    }
}

hs_status hs_record_estimate_size(const hs_model *m, const hs_prompt_set *set, const hs_tokenized_set *ts,
                                  const hs_record_options *opt, const unsigned char *todo, hs_record_estimate *out,
                                  hs_error *err)
{
    memset(out, 0, sizeof *out);
    if (ts->n != set->n || ts->n == 0)
        return ts->n == set->n ? HS_OK : hs_fail(err, HS_ERR_ARG, "estimating: %d tokenised prompts for %d", ts->n,
                                                 set->n);
    probe pr = {0};
    int *sel = NULL;
    hs_size_model *sm = malloc(sizeof *sm);
    hs_status rc = sm ? run_probe(m, opt, ts->ids[0][0], &pr, err) : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (rc != HS_OK)
        goto done;
    hs_size_model_init(sm);
    const char *dtype = opt->dtype == HS_DTYPE_F32 ? "f32" : opt->dtype == HS_DTYPE_BF16 ? "bf16" : "f16";
    static const char *const metric[3] = {"attn_first", "attn_entropy", "attn_max"};
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    int n_layers = m->cfg.n_layers;
    for (int i = 0; i < set->n; i++) {
        if (todo && !todo[i])
            continue;
        const hs_prompt *p = &set->prompts[i];
        int T = (int)ts->n_ids[i];
        int64_t prompt_id = i + 1;
        hs_prompt_row row = {.idx = p->idx, .ext_id = p->id, .text = ts->text[i], .meta_json = p->meta_json,
                             .clean = p->clean, .corrupted = p->corrupted, .answer = p->answer, .wrong = p->wrong,
                             .image = p->image, .n_tokens = T};
        hs_size_model_prompt(sm, 1, &row);
        for (int k = 0; k < T; k++) {
            char text[1024];
            int len = tok ? hs_tokenizer_token_text(tok, ts->ids[i][k], text, sizeof text) : -1;
            hs_size_model_token(sm, 1, prompt_id, k, ts->ids[i][k], len);
        }
        int *grown = realloc(sel, (size_t)T * sizeof *sel);
        if (!grown) {
            rc = hs_fail(err, HS_ERR_NOMEM, "estimating: out of memory");
            goto done;
        }
        sel = grown;
        int n_sel = hs_record_select_positions(&opt->positions, T, sel);
        int positions_len = n_sel == T ? -1 : positions_json_len(sel, n_sel);
        for (int k = 0; k < pr.n; k++) {
            const probe_slot *s = &pr.slots[k];
            if (n_sel > 0 && hs_record_stores(opt, &s->hp, n_layers))
                count_slot(sm, s, opt, dtype, prompt_id, T, n_sel, positions_len, &out->n_rows);
            if (s->hp.kind == HS_HOOK_PATTERN && opt->summaries &&
                hs_index_ranges_has(&opt->layers, s->hp.layer, n_layers))
                for (int64_t h = 0; h < s->shape[1]; h++)
                    for (int j = 0; j < 3; j++)
                        hs_size_model_head_score(sm, 1, "run", metric[j], s->hp.layer, (int)h, prompt_id);
        }
        out->n_prompts++;
    }
    out->bytes = hs_size_model_bytes(sm);
    out->row_bytes = hs_size_model_row_bytes(sm);
done:
    free(sel);
    free(pr.slots);
    free(sm);
    return rc;
}
