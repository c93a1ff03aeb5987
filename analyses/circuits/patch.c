/* patch.c — activation patching of one prompt pair: capturing a run's component activations, and
 * the batched patched passes (one batch row per grid cell, a custom intervention per layer hook). */
#include "analyses/circuits/patch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

/* The logits buffer of one batched pass is [rows, n_pos, d_vocab]: rows are capped so that it
 * stays near 64 MB whatever the vocabulary, and at 64 so a small model still batches well. */
#define PATCH_LOGITS_BYTES (64u << 20)
#define PATCH_MAX_ROWS 64

static const char *const names[HS_PATCH_COMPONENT_COUNT] = {"z", "q", "k", "v", "attn_out", "mlp_out", "resid_pre"};
static const hs_hook_kind kinds[HS_PATCH_COMPONENT_COUNT] = {HS_HOOK_Z, HS_HOOK_Q, HS_HOOK_K, HS_HOOK_V,
                                                            HS_HOOK_ATTN_OUT, HS_HOOK_MLP_OUT, HS_HOOK_RESID_PRE};

const char *hs_patch_component_name(hs_patch_component c)
{
    return (unsigned)c < HS_PATCH_COMPONENT_COUNT ? names[c] : "?";
}

int hs_patch_component_parse(const char *name)
{
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
        if (!strcmp(name, names[c]))
            return c;
    return -1;
}

hs_hook_kind hs_patch_component_hook(hs_patch_component c)
{
    return kinds[(unsigned)c < HS_PATCH_COMPONENT_COUNT ? c : 0];
}

int hs_patch_component_has_heads(hs_patch_component c)
{
    return c <= HS_PATCH_V;
}

hs_status hs_patch_grid_shape_of(const hs_model *m, hs_patch_component c, int per_position, int n_pos,
                                 hs_patch_grid_shape *out, hs_error *err)
{
    if ((unsigned)c >= HS_PATCH_COMPONENT_COUNT)
        return hs_fail(err, HS_ERR_ARG, "patch: unknown component %d", (int)c);
    if (n_pos < 1)
        return hs_fail(err, HS_ERR_ARG, "patch: a prompt of %d tokens", n_pos);
    const hs_config *cfg = &m->cfg;
    memset(out, 0, sizeof *out);
    out->n_layers = cfg->n_layers;
    out->per_position = per_position || c == HS_PATCH_RESID_PRE;
    out->n_pos_cells = out->per_position ? n_pos : 1;
    if (hs_patch_component_has_heads(c)) {
        out->n_units = (c == HS_PATCH_K || c == HS_PATCH_V) ? cfg->n_kv_heads : cfg->n_heads;
        out->unit_width = cfg->d_head;
    } else {
        out->n_units = 1;
        out->unit_width = cfg->d_model;
    }
    out->width = out->n_units * out->unit_width;
    return HS_OK;
}

void hs_patch_cache_free(hs_patch_cache *c)
{
    if (!c)
        return;
    free(c->data);
    c->data = NULL;
}

void hs_patch_log_softmax(const float *logits, int n, double *out)
{
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++)
        mx = logits[i] > mx ? logits[i] : mx;
    for (int i = 0; i < n; i++)
        sum += exp((double)logits[i] - mx);
    double lse = mx + log(sum);
    for (int i = 0; i < n; i++)
        out[i] = (double)logits[i] - lse;
}

/* ---------------------------------------------------------------- capturing a run */

typedef struct capture_state {
    hs_patch_cache *caches; /* [HS_PATCH_COMPONENT_COUNT] */
    int n_pos;
} capture_state;

static hs_status capture_observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    capture_state *cs = user;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        hs_patch_cache *pc = &cs->caches[c];
        if (kinds[c] != hp->kind || !pc->data)
            continue;
        /* t is [1, n_pos, ...] with width floats per position */
        size_t per_layer = (size_t)cs->n_pos * (size_t)pc->width;
        if ((size_t)hs_tensor_numel(t) != per_layer)
            return HS_ERR_SHAPE;
        memcpy(pc->data + (size_t)hp->layer * per_layer, t->data, per_layer * sizeof(float));
    }
    return HS_OK;
}

hs_status hs_patch_capture(const hs_model *m, const int32_t *ids, int n, const int want[HS_PATCH_COMPONENT_COUNT],
                           hs_patch_cache caches[HS_PATCH_COMPONENT_COUNT], float *last_logits, hs_error *err)
{
    const hs_config *cfg = &m->cfg;
    hs_hooks *hooks = NULL;
    float *logits = NULL;
    hs_status rc = HS_OK;
    memset(caches, 0, HS_PATCH_COMPONENT_COUNT * sizeof *caches);
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        if (!want[c])
            continue;
        hs_patch_grid_shape g;
        if ((rc = hs_patch_grid_shape_of(m, (hs_patch_component)c, 0, n, &g, err)) != HS_OK)
            goto done;
        caches[c].n_layers = cfg->n_layers;
        caches[c].n_pos = n;
        caches[c].width = g.width;
        caches[c].data = malloc((size_t)cfg->n_layers * (size_t)n * (size_t)g.width * sizeof(float));
        if (!caches[c].data) {
            rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the %s cache", names[c]);
            goto done;
        }
    }
    if (last_logits && !(logits = malloc((size_t)n * (size_t)cfg->d_vocab * sizeof *logits))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the logits");
        goto done;
    }
    capture_state cs = {.caches = caches, .n_pos = n};
    if ((rc = hs_hooks_new(&hooks, err)) != HS_OK)
        goto done;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT && rc == HS_OK; c++) {
        if (!want[c])
            continue;
        char pattern[64];
        snprintf(pattern, sizeof pattern, "blocks.*.%s", hs_hook_kind_name(kinds[c]));
        rc = hs_hooks_observe(hooks, pattern, capture_observe, &cs, err);
    }
    if (rc != HS_OK)
        goto done;
    hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = n};
    if ((rc = hs_forward(m, &batch, hooks, HS_BACKEND_CPU, logits, err)) != HS_OK)
        goto done;
    if (last_logits)
        memcpy(last_logits, logits + (size_t)(n - 1) * (size_t)cfg->d_vocab, (size_t)cfg->d_vocab * sizeof(float));
done:
    hs_hooks_free(hooks);
    free(logits);
    if (rc != HS_OK)
        for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
            hs_patch_cache_free(&caches[c]);
    return rc;
}

/* ---------------------------------------------------------------- patched passes */

/* The cells of one layer that one batched pass patches: row b is cell first + b of the layer. */
typedef struct patch_state {
    const hs_patch_grid_shape *g;
    const float *src;   /* the source cache's layer, [n_pos, width]; NULL: zeros */
    int n_pos;
    int first;          /* the layer's cell (unit * n_pos_cells + pos) that batch row 0 patches */
} patch_state;

static hs_status patch_intervene(void *user, const hs_hook_point *hp, hs_tensor *t)
{
    (void)hp;
    patch_state *ps = user;
    const hs_patch_grid_shape *g = ps->g;
    int rows = (int)t->shape[0];
    /* t is [rows, n_pos, width] flattened over the hook's trailing dimensions */
    if ((int64_t)hs_tensor_numel(t) != (int64_t)rows * ps->n_pos * g->width)
        return HS_ERR_SHAPE;
    for (int b = 0; b < rows; b++) {
        int cell = ps->first + b;
        int unit = cell / g->n_pos_cells;
        int p0 = g->per_position ? cell % g->n_pos_cells : 0, p1 = g->per_position ? p0 + 1 : ps->n_pos;
        for (int p = p0; p < p1; p++) {
            size_t off = (size_t)p * g->width + (size_t)unit * g->unit_width;
            float *dst = t->data + ((size_t)b * ps->n_pos) * g->width + off;
            if (ps->src)
                memcpy(dst, ps->src + off, (size_t)g->unit_width * sizeof(float));
            else
                memset(dst, 0, (size_t)g->unit_width * sizeof(float));
        }
    }
    return HS_OK;
}

hs_status hs_patch_cells(const hs_model *m, hs_patch_component c, int per_position, const int32_t *ids, int n,
                         const hs_patch_cache *src, const hs_patch_target *tg, double *ld, double *kl,
                         hs_error *err)
{
    const hs_config *cfg = &m->cfg;
    hs_patch_grid_shape g;
    HS_TRY(hs_patch_grid_shape_of(m, c, per_position, n, &g, err));
    if (src && (src->n_pos != n || src->width != g.width || src->n_layers != cfg->n_layers))
        return hs_fail(err, HS_ERR_SHAPE, "patch: a %s cache of %d positions x %d for a prompt of %d x %d", names[c],
                       src->n_pos, src->width, n, g.width);
    if (tg->answer < 0 || tg->answer >= cfg->d_vocab || tg->wrong < 0 || tg->wrong >= cfg->d_vocab)
        return hs_fail(err, HS_ERR_RANGE, "patch: answer %d / wrong %d outside the vocabulary", (int)tg->answer,
                       (int)tg->wrong);
    int per_layer = g.n_units * g.n_pos_cells;
    size_t row_bytes = (size_t)n * (size_t)cfg->d_vocab * sizeof(float);
    int max_rows = (int)(PATCH_LOGITS_BYTES / row_bytes);
    max_rows = max_rows < 1 ? 1 : max_rows > PATCH_MAX_ROWS ? PATCH_MAX_ROWS : max_rows;
    max_rows = max_rows > per_layer ? per_layer : max_rows;
    int32_t *bids = malloc((size_t)max_rows * (size_t)n * sizeof *bids);
    float *logits = malloc((size_t)max_rows * row_bytes);
    double *logp = tg->clean_logp && kl ? malloc((size_t)cfg->d_vocab * sizeof *logp) : NULL;
    hs_hooks *hooks = NULL;
    hs_status rc = HS_OK;
    if (!bids || !logits || (tg->clean_logp && kl && !logp)) {
        rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for %d batched rows", max_rows);
        goto done;
    }
    for (int b = 0; b < max_rows; b++)
        memcpy(bids + (size_t)b * n, ids, (size_t)n * sizeof *ids);
    for (int layer = 0; layer < cfg->n_layers; layer++) {
        for (int first = 0; first < per_layer; first += max_rows) {
            int rows = per_layer - first < max_rows ? per_layer - first : max_rows;
            patch_state ps = {.g = &g, .n_pos = n, .first = first,
                              .src = src ? src->data + (size_t)layer * n * g.width : NULL};
            char name[64];
            hs_hook_point hp = {.kind = kinds[c], .layer = layer};
            hs_hook_point_name(&hp, name, sizeof name);
            if ((rc = hs_hooks_new(&hooks, err)) != HS_OK ||
                (rc = hs_hooks_intervene_fn(hooks, name, patch_intervene, &ps, err)) != HS_OK)
                goto done;
            hs_batch batch = {.ids = bids, .n_batch = rows, .n_pos = n};
            if ((rc = hs_forward(m, &batch, hooks, HS_BACKEND_CPU, logits, err)) != HS_OK)
                goto done;
            hs_hooks_free(hooks);
            hooks = NULL;
            for (int b = 0; b < rows; b++) {
                const float *last = logits + ((size_t)b * n + (size_t)(n - 1)) * (size_t)cfg->d_vocab;
                int cell = layer * per_layer + first + b;
                ld[cell] = (double)last[tg->answer] - (double)last[tg->wrong];
                if (kl) {
                    double s = NAN;
                    if (logp) {
                        hs_patch_log_softmax(last, cfg->d_vocab, logp);
                        s = 0;
                        for (int v = 0; v < cfg->d_vocab; v++)
                            s += exp(tg->clean_logp[v]) * (tg->clean_logp[v] - logp[v]);
                    }
                    kl[cell] = s;
                }
            }
        }
    }
done:
    if (rc != HS_OK)
        hs_error_prefix(err, "patching %s", names[c]);
    hs_hooks_free(hooks);
    free(bids);
    free(logits);
    free(logp);
    return rc;
}
