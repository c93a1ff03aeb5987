/* hooks.c — hook sets: observers, built-in interventions (zero, scale, add, replace; per head)
 * and custom interventions, matched to hook points by TransformerLens name or glob. */
#include "hooks/hooks.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

typedef enum entry_kind { ENTRY_OBSERVE, ENTRY_INTERVENE_FN, ENTRY_BUILTIN } entry_kind;

typedef struct hook_entry {
    entry_kind kind;
    char *pattern;
    hs_observe_fn observe;
    hs_intervene_fn intervene;
    void *user;
    /* built-in interventions */
    hs_intervention_op op;
    int head;
    float scalar;
    hs_tensor values; /* owned copy (data malloc'd) for ADD/REPLACE */
} hook_entry;

struct hs_hooks {
    hook_entry *entries;
    int n_entries, cap_entries;
    /* after bind: wanted[kind * (n_layers + 1) + (layer + 1)] */
    unsigned char *wanted;
    int bound_layers;
    /* the tap (hs_hooks_set_tap): kinds whose bit is set in tap_mask */
    uint64_t tap_mask;
    hs_observe_fn tap;
    void *tap_user;
};

hs_status hs_hooks_new(hs_hooks **out, hs_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return hs_fail(err, HS_ERR_NOMEM, "hooks: out of memory");
    (*out)->bound_layers = -1;
    return HS_OK;
}

void hs_hooks_free(hs_hooks *hooks)
{
    if (!hooks)
        return;
    for (int i = 0; i < hooks->n_entries; i++) {
        free(hooks->entries[i].pattern);
        free(hooks->entries[i].values.data);
    }
    free(hooks->entries);
    free(hooks->wanted);
    free(hooks);
}

/* Appends an entry, taking a copy of the pattern; on failure nothing is added. */
static hs_status add_entry(hs_hooks *hooks, const hook_entry *e, hs_error *err)
{
    if (!hooks || !e->pattern || !*e->pattern)
        return hs_fail(err, HS_ERR_ARG, "hooks: missing hook set or pattern");
    if (hooks->n_entries == hooks->cap_entries) {
        int cap = hooks->cap_entries ? 2 * hooks->cap_entries : 8;
        hook_entry *p = realloc(hooks->entries, (size_t)cap * sizeof *p);
        if (!p)
            return hs_fail(err, HS_ERR_NOMEM, "hooks: out of memory");
        hooks->entries = p;
        hooks->cap_entries = cap;
    }
    hook_entry copy = *e;
    copy.pattern = strdup(e->pattern);
    if (!copy.pattern)
        return hs_fail(err, HS_ERR_NOMEM, "hooks: out of memory");
    hooks->entries[hooks->n_entries++] = copy;
    hooks->bound_layers = -1; /* the wanted table is stale */
    return HS_OK;
}

hs_status hs_hooks_observe(hs_hooks *hooks, const char *pattern, hs_observe_fn fn, void *user, hs_error *err)
{
    if (!fn)
        return hs_fail(err, HS_ERR_ARG, "hooks: observer for '%s' is NULL", pattern ? pattern : "");
    hook_entry e = {.kind = ENTRY_OBSERVE, .pattern = (char *)pattern, .observe = fn, .user = user};
    return add_entry(hooks, &e, err);
}

hs_status hs_hooks_intervene_fn(hs_hooks *hooks, const char *pattern, hs_intervene_fn fn, void *user, hs_error *err)
{
    if (!fn)
        return hs_fail(err, HS_ERR_ARG, "hooks: intervention for '%s' is NULL", pattern ? pattern : "");
    hook_entry e = {.kind = ENTRY_INTERVENE_FN, .pattern = (char *)pattern, .intervene = fn, .user = user};
    return add_entry(hooks, &e, err);
}

hs_status hs_hooks_intervene(hs_hooks *hooks, const char *hook_name, hs_intervention_op op, int head, float scalar,
                             const hs_tensor *values, hs_error *err)
{
    hs_hook_point hp;
    hs_status rc = hs_hook_point_parse(hook_name, &hp, err);
    if (rc != HS_OK)
        return rc;
    if (head >= 0 && hs_hook_kind_head_dim(hp.kind) < 0)
        return hs_fail(err, HS_ERR_ARG, "intervention at '%s': this hook has no head dimension (head %d given)",
                       hook_name, head);
    if (head < -1)
        return hs_fail(err, HS_ERR_ARG, "intervention at '%s': head %d is invalid", hook_name, head);
    hook_entry e = {.kind = ENTRY_BUILTIN, .pattern = (char *)hook_name, .op = op, .head = head, .scalar = scalar};
    if (op == HS_OP_ADD || op == HS_OP_REPLACE) {
        if (!values || !values->data || values->ndim < 1 || values->ndim > HS_MAX_DIMS)
            return hs_fail(err, HS_ERR_ARG, "intervention at '%s': add/replace needs a values tensor", hook_name);
        int64_t n = hs_tensor_numel(values);
        e.values = *values;
        e.values.data = malloc((size_t)n * sizeof(float));
        if (!e.values.data)
            return hs_fail(err, HS_ERR_NOMEM, "hooks: out of memory");
        memcpy(e.values.data, values->data, (size_t)n * sizeof(float));
    } else if (op != HS_OP_ZERO && op != HS_OP_SCALE) {
        return hs_fail(err, HS_ERR_ARG, "intervention at '%s': unknown operation %d", hook_name, (int)op);
    }
    rc = add_entry(hooks, &e, err);
    if (rc != HS_OK)
        free(e.values.data);
    return rc;
}

static int entry_matches(const hook_entry *e, const char *name)
{
    return fnmatch(e->pattern, name, 0) == 0;
}

hs_status hs_hooks_bind(hs_hooks *hooks, int n_layers, hs_error *err)
{
    if (!hooks || hooks->bound_layers == n_layers)
        return HS_OK;
    free(hooks->wanted);
    size_t n = (size_t)HS_HOOK_KIND_COUNT * (size_t)(n_layers + 1);
    hooks->wanted = calloc(n, 1);
    if (!hooks->wanted) {
        hooks->bound_layers = -1;
        return hs_fail(err, HS_ERR_NOMEM, "hooks: out of memory");
    }
    char name[128];
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++)
        for (int l = -1; l < n_layers; l++) {
            if ((l >= 0) != hs_hook_kind_in_block((hs_hook_kind)k))
                continue;
            hs_hook_point hp = {(hs_hook_kind)k, l};
            hs_hook_point_name(&hp, name, sizeof name);
            for (int i = 0; i < hooks->n_entries; i++)
                if (entry_matches(&hooks->entries[i], name)) {
                    hooks->wanted[(size_t)k * (size_t)(n_layers + 1) + (size_t)(l + 1)] = 1;
                    break;
                }
        }
    hooks->bound_layers = n_layers;
    return HS_OK;
}

void hs_hooks_set_tap(hs_hooks *hooks, uint64_t kind_mask, hs_observe_fn fn, void *user)
{
    hooks->tap_mask = fn ? kind_mask : 0;
    hooks->tap = fn;
    hooks->tap_user = user;
}

int hs_hooks_wanted(const hs_hooks *hooks, const hs_hook_point *hp)
{
    if (!hooks || hooks->bound_layers < 0 || hp->layer >= hooks->bound_layers)
        return 0;
    if ((hooks->tap_mask >> hp->kind) & 1)
        return 1;
    if (hooks->n_entries == 0)
        return 0;
    return hooks->wanted[(size_t)hp->kind * (size_t)(hooks->bound_layers + 1) + (size_t)(hp->layer + 1)];
}

/* Applies a built-in intervention. The tensor is seen as [outer, n_heads, inner] around the head
 * dimension (or as one slice when no head is chosen); `values` broadcasts over the leading
 * dimensions of the slice and must match its trailing ones. */
static hs_status apply_builtin(const hook_entry *e, const hs_hook_point *hp, const char *name, hs_tensor *t,
                               hs_error *err)
{
    int64_t outer = 1, n_heads = 1, inner = 1;
    int64_t slice_shape[HS_MAX_DIMS];
    int slice_ndim = 0;
    int head_dim = hs_hook_kind_head_dim(hp->kind);
    if (e->head >= 0) {
        if (head_dim < 0 || head_dim >= t->ndim)
            return hs_fail(err, HS_ERR_ARG, "intervention at '%s': no head dimension", name);
        if (e->head >= t->shape[head_dim])
            return hs_fail(err, HS_ERR_RANGE, "intervention at '%s': head %d out of range (the hook has %lld heads)",
                           name, e->head, (long long)t->shape[head_dim]);
        for (int i = 0; i < head_dim; i++)
            outer *= t->shape[i];
        n_heads = t->shape[head_dim];
        for (int i = head_dim + 1; i < t->ndim; i++)
            inner *= t->shape[i];
        for (int i = 0; i < t->ndim; i++)
            if (i != head_dim)
                slice_shape[slice_ndim++] = t->shape[i];
    } else {
        inner = hs_tensor_numel(t);
        for (int i = 0; i < t->ndim; i++)
            slice_shape[slice_ndim++] = t->shape[i];
    }
    int64_t vn = 1;
    if (e->op == HS_OP_ADD || e->op == HS_OP_REPLACE) {
        if (e->values.ndim > slice_ndim)
            return hs_fail(err, HS_ERR_SHAPE, "intervention at '%s': values have %d dims, the slice has %d", name,
                           e->values.ndim, slice_ndim);
        for (int i = 0; i < e->values.ndim; i++) {
            int64_t want = slice_shape[slice_ndim - e->values.ndim + i];
            if (e->values.shape[i] != want)
                return hs_fail(err, HS_ERR_SHAPE,
                               "intervention at '%s': values dim %d is %lld but the hook's slice has %lld there", name,
                               i, (long long)e->values.shape[i], (long long)want);
        }
        vn = hs_tensor_numel(&e->values);
    }
    int64_t h0 = e->head >= 0 ? e->head : 0;
    int64_t slice_i = 0; /* running index within the slice, for broadcasting values */
    for (int64_t o = 0; o < outer; o++) {
        float *p = t->data + (o * n_heads + h0) * inner;
        for (int64_t i = 0; i < inner; i++, slice_i++) {
            switch (e->op) {
            case HS_OP_ZERO: p[i] = 0.0f; break;
            case HS_OP_SCALE: p[i] *= e->scalar; break;
            case HS_OP_ADD: p[i] += e->values.data[slice_i % vn]; break;
            case HS_OP_REPLACE: p[i] = e->values.data[slice_i % vn]; break;
            }
        }
    }
    return HS_OK;
}

hs_status hs_hooks_fire(hs_hooks *hooks, const hs_hook_point *hp, hs_tensor *t, hs_error *err)
{
    if (!hs_hooks_wanted(hooks, hp))
        return HS_OK;
    char name[128];
    hs_hook_point_name(hp, name, sizeof name);
    /* interventions first, in registration order, so observers see the values the model uses */
    for (int i = 0; i < hooks->n_entries; i++) {
        const hook_entry *e = &hooks->entries[i];
        if (e->kind == ENTRY_OBSERVE || !entry_matches(e, name))
            continue;
        hs_status rc;
        if (e->kind == ENTRY_BUILTIN)
            rc = apply_builtin(e, hp, name, t, err);
        else if ((rc = e->intervene(e->user, hp, t)) != HS_OK)
            rc = hs_fail(err, rc, "intervention at '%s' returned %s", name, hs_status_name(rc));
        if (rc != HS_OK)
            return rc;
    }
    for (int i = 0; i < hooks->n_entries; i++) {
        const hook_entry *e = &hooks->entries[i];
        if (e->kind != ENTRY_OBSERVE || !entry_matches(e, name))
            continue;
        hs_status rc = e->observe(e->user, hp, t);
        if (rc != HS_OK)
            return hs_fail(err, rc, "observer at '%s' returned %s", name, hs_status_name(rc));
    }
    if ((hooks->tap_mask >> hp->kind) & 1) {
        hs_status rc = hooks->tap(hooks->tap_user, hp, t);
        if (rc != HS_OK)
            return hs_fail(err, rc, "tape at '%s': %s", name, hs_status_name(rc));
    }
    return HS_OK;
}

hs_status hs_hooks_fire_view(hs_hooks *hooks, hs_hook_kind kind, int layer, float *data, int ndim, int64_t batch,
                             int64_t d1, int64_t d2, int64_t d3, hs_error *err)
{
    hs_hook_point hp = {kind, layer};
    if (!hs_hooks_wanted(hooks, &hp))
        return HS_OK;
    hs_tensor t = {.data = data, .ndim = ndim, .shape = {batch, d1, d2, d3}};
    return hs_hooks_fire(hooks, &hp, &t, err);
}
