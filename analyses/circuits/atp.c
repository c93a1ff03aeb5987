/* atp.c — attribution patching over a prompt set: per pair, the source run captured, the base run
 * taped and captured, one backward pass of its logit difference, and every cell's Σ Δa · g
 * (definitions in atp.h). */
#include "analyses/circuits/atp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

/* Copies the observed tensors (activations or their gradients) of the wanted components into
 * caches laid out as hs_patch_cache: [n_layers, n_pos, width]. */
typedef struct atp_capture {
    hs_patch_cache *caches; /* [HS_PATCH_COMPONENT_COUNT]; data NULL: not wanted */
    int n_pos;
} atp_capture;

static hs_status atp_observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    atp_capture *ac = user;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        hs_patch_cache *pc = &ac->caches[c];
        if (hs_patch_component_hook((hs_patch_component)c) != hp->kind || !pc->data || hp->layer < 0)
            continue;
        size_t per_layer = (size_t)ac->n_pos * (size_t)pc->width; /* t is [1, n_pos, ...] */
        if ((size_t)hs_tensor_numel(t) != per_layer)
            return HS_ERR_SHAPE;
        memcpy(pc->data + (size_t)hp->layer * per_layer, t->data, per_layer * sizeof(float));
    }
    return HS_OK;
}

static void caches_free(hs_patch_cache *c)
{
    for (int i = 0; i < HS_PATCH_COMPONENT_COUNT; i++)
        hs_patch_cache_free(&c[i]);
}

static hs_status caches_alloc(const hs_model *m, const int *want, int n, hs_patch_cache *c, hs_error *err)
{
    memset(c, 0, HS_PATCH_COMPONENT_COUNT * sizeof *c);
    for (int k = 0; k < HS_PATCH_COMPONENT_COUNT; k++) {
        if (!want[k])
            continue;
        hs_patch_grid_shape g;
        HS_TRY(hs_patch_grid_shape_of(m, (hs_patch_component)k, 0, n, &g, err));
        c[k] = (hs_patch_cache){.n_layers = g.n_layers, .n_pos = n, .width = g.width};
        c[k].data = calloc((size_t)g.n_layers * (size_t)n * (size_t)g.width, sizeof(float));
        if (!c[k].data) {
            caches_free(c);
            return hs_fail(err, HS_ERR_NOMEM, "atp: out of memory for the %s cache",
                           hs_patch_component_name((hs_patch_component)k));
        }
    }
    return HS_OK;
}

static hs_status watch(hs_hooks *hooks, const int *want, atp_capture *ac, hs_error *err)
{
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        if (!want[c])
            continue;
        char pattern[64];
        hs_hook_kind kind = hs_patch_component_hook((hs_patch_component)c);
        snprintf(pattern, sizeof pattern, "blocks.*.%s", hs_hook_kind_name(kind));
        HS_TRY(hs_hooks_observe(hooks, pattern, atp_observe, ac, err));
    }
    return HS_OK;
}

/* The base run ids [n] taped: its activations into act, dLD/da into grad, its LD into *ld. */
static hs_status base_pass(const hs_model *m, const int32_t *ids, int n, int32_t answer, int32_t wrong,
                           const int *want, hs_patch_cache *act, hs_patch_cache *grad, double *ld, hs_error *err)
{
    const size_t V = (size_t)m->cfg.d_vocab;
    hs_hooks *fwd = NULL, *bwd = NULL;
    hs_tape *tape = NULL;
    float *logits = malloc((size_t)n * V * sizeof *logits), *dlogits = calloc((size_t)n * V, sizeof *dlogits);
    atp_capture ca = {.caches = act, .n_pos = n}, cg = {.caches = grad, .n_pos = n};
    hs_status rc;
    if (!logits || !dlogits) {
        rc = hs_fail(err, HS_ERR_NOMEM, "atp: out of memory for the logits");
        goto done;
    }
    if ((rc = hs_hooks_new(&fwd, err)) != HS_OK || (rc = hs_hooks_new(&bwd, err)) != HS_OK ||
        (rc = watch(fwd, want, &ca, err)) != HS_OK || (rc = watch(bwd, want, &cg, err)) != HS_OK)
        goto done;
    hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = n};
    if ((rc = hs_forward_tape(m, &batch, fwd, HS_BACKEND_CPU, logits, &tape, err)) != HS_OK)
        goto done;
    const float *last = logits + (size_t)(n - 1) * V;
    *ld = (double)last[answer] - (double)last[wrong];
    /* dLD/dlogits: +1 at the answer, -1 at the wrong token, at the last position */
    dlogits[(size_t)(n - 1) * V + (size_t)answer] += 1.0f;
    dlogits[(size_t)(n - 1) * V + (size_t)wrong] -= 1.0f;
    rc = hs_backward(tape, dlogits, bwd, err);
done:
    hs_tape_free(tape);
    hs_hooks_free(fwd);
    hs_hooks_free(bwd);
    free(logits);
    free(dlogits);
    return rc;
}

/* Adds Σ_slice (src - base) · grad of every cell of grid g into sum [cells]. */
static void add_cells(const hs_patch_grid_shape *g, const hs_patch_cache *src, const hs_patch_cache *base,
                      const hs_patch_cache *grad, double *sum)
{
    const int n = src->n_pos, W = g->width, uw = g->unit_width;
    for (int k = 0; k < hs_patch_grid_cells(g); k++) {
        int layer = k / (g->n_units * g->n_pos_cells), unit = k / g->n_pos_cells % g->n_units;
        int p0 = g->per_position ? k % g->n_pos_cells : 0, p1 = g->per_position ? p0 + 1 : n;
        double acc = 0;
        for (int p = p0; p < p1; p++) {
            size_t off = ((size_t)layer * n + (size_t)p) * W + (size_t)unit * uw;
            for (int w = 0; w < uw; w++)
                acc += ((double)src->data[off + w] - (double)base->data[off + w]) * (double)grad->data[off + w];
        }
        sum[k] += acc;
    }
}

hs_status hs_atp_pair(const hs_model *m, const int want[HS_PATCH_COMPONENT_COUNT], int per_position,
                      const int32_t *base_ids, int n, int32_t answer, int32_t wrong,
                      const hs_patch_cache src[HS_PATCH_COMPONENT_COUNT], double *sums[HS_PATCH_COMPONENT_COUNT],
                      double *ld_base, hs_error *err)
{
    hs_patch_cache base[HS_PATCH_COMPONENT_COUNT], grad[HS_PATCH_COMPONENT_COUNT];
    memset(base, 0, sizeof base);
    memset(grad, 0, sizeof grad);
    hs_status rc;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
        if (want[c] && (!src[c].data || src[c].n_pos != n || src[c].n_layers != m->cfg.n_layers))
            return hs_fail(err, HS_ERR_ARG, "atp: the %s source is not a cache of %d positions",
                           hs_patch_component_name((hs_patch_component)c), n);
    if ((rc = caches_alloc(m, want, n, base, err)) != HS_OK || (rc = caches_alloc(m, want, n, grad, err)) != HS_OK ||
        (rc = base_pass(m, base_ids, n, answer, wrong, want, base, grad, ld_base, err)) != HS_OK)
        goto done;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        if (!want[c])
            continue;
        hs_patch_grid_shape g;
        if ((rc = hs_patch_grid_shape_of(m, (hs_patch_component)c, per_position, n, &g, err)) != HS_OK)
            goto done;
        if (src[c].width != g.width) {
            rc = hs_fail(err, HS_ERR_SHAPE, "atp: the %s source has %d floats per position, the model %d",
                         hs_patch_component_name((hs_patch_component)c), src[c].width, g.width);
            goto done;
        }
        add_cells(&g, &src[c], &base[c], &grad[c], sums[c]);
    }
done:
    caches_free(base);
    caches_free(grad);
    return rc;
}

hs_status hs_atp_set_run(const hs_model *m, const hs_patch_pair *pairs, int n_pairs, const hs_patch_options *opt,
                         hs_patch_result *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    if (opt->ablation != HS_ABLATE_PATCH)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "atp: only the patch ablation (the other run's activation), not %s",
                       hs_patch_ablation_name(opt->ablation));
    if (n_pairs < 1)
        return hs_fail(err, HS_ERR_ARG, "atp: no prompt pairs");
    int by_pos = opt->components[HS_PATCH_RESID_PRE];
    for (int c = 0; c < HS_PATCH_RESID_PRE && opt->per_position; c++)
        by_pos |= opt->components[c];
    for (int i = 0; i < n_pairs; i++) {
        const hs_patch_pair *p = &pairs[i];
        const char *name = p->name ? p->name : "a prompt";
        if (p->n < 1)
            return hs_fail(err, HS_ERR_ARG, "%s: no tokens", name);
        if (p->answer < 0 || p->answer >= m->cfg.d_vocab || p->wrong < 0 || p->wrong >= m->cfg.d_vocab)
            return hs_fail(err, HS_ERR_RANGE, "%s: answer %d / wrong %d outside the vocabulary (0..%d)", name,
                           (int)p->answer, (int)p->wrong, m->cfg.d_vocab - 1);
        if (by_pos && p->n != pairs[0].n)
            return hs_fail(err, HS_ERR_ARG, "%s has %d tokens and %s %d: per-position grids and resid_pre need "
                           "prompts of one length", name, p->n, pairs[0].name ? pairs[0].name : "the first",
                           pairs[0].n);
    }
    hs_patch_cache src[HS_PATCH_COMPONENT_COUNT];
    double *sums[HS_PATCH_COMPONENT_COUNT] = {0};
    memset(src, 0, sizeof src);
    float *last_src = malloc((size_t)m->cfg.d_vocab * sizeof *last_src);
    hs_status rc = HS_OK;
    double sum_clean = 0, sum_corr = 0;
    if (!last_src) {
        rc = hs_fail(err, HS_ERR_NOMEM, "atp: out of memory");
        goto done;
    }
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        if (!opt->components[c])
            continue;
        hs_patch_grid *g = &out->grids[c];
        if ((rc = hs_patch_grid_shape_of(m, (hs_patch_component)c, opt->per_position, pairs[0].n, &g->shape, err)) !=
            HS_OK)
            goto done;
        if (!(g->logit_diff = calloc((size_t)hs_patch_grid_cells(&g->shape), sizeof(double)))) {
            rc = hs_fail(err, HS_ERR_NOMEM, "atp: out of memory for the grids");
            goto done;
        }
    }
    int denoise = opt->direction == HS_PATCH_DENOISE;
    for (int i = 0; i < n_pairs; i++) {
        const hs_patch_pair *p = &pairs[i];
        const int32_t *base_ids = denoise ? p->corrupted : p->clean, *src_ids = denoise ? p->clean : p->corrupted;
        double ld_base = 0;
        for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
            sums[c] = out->grids[c].logit_diff;
        if ((rc = hs_patch_capture(m, src_ids, p->n, opt->components, src, last_src, err)) != HS_OK ||
            (rc = hs_atp_pair(m, opt->components, opt->per_position, base_ids, p->n, p->answer, p->wrong, src, sums,
                              &ld_base, err)) != HS_OK) {
            hs_error_prefix(err, "%s", p->name ? p->name : "a prompt");
            goto done;
        }
        double ld_src = (double)last_src[p->answer] - (double)last_src[p->wrong];
        sum_clean += denoise ? ld_src : ld_base;
        sum_corr += denoise ? ld_base : ld_src;
        caches_free(src);
        if (opt->progress)
            opt->progress(opt->progress_user, i + 1, n_pairs);
    }
    out->n_pairs = n_pairs;
    out->ld_clean = sum_clean / n_pairs;
    out->ld_corrupted = sum_corr / n_pairs;
    double span = out->ld_clean - out->ld_corrupted;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        hs_patch_grid *g = &out->grids[c];
        for (int k = 0; g->logit_diff && k < hs_patch_grid_cells(&g->shape); k++)
            g->logit_diff[k] = span != 0 ? (denoise ? 0.0 : 1.0) + g->logit_diff[k] / n_pairs / span : NAN;
    }
done:
    caches_free(src);
    free(last_src);
    if (rc != HS_OK)
        hs_patch_result_free(out);
    return rc;
}
