/* patch_set.c — activation patching over a prompt set: per pair, the two unpatched runs, the
 * ablation's source cache, every asked grid's patched passes, and at the end the set's normalised
 * means (definitions in patch_set.h). */
#include "analyses/circuits/patch_set.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/rng.h"
#include "model/model.h"

const char *hs_patch_ablation_name(hs_patch_ablation a)
{
    static const char *const n[] = {"patch", "zero", "mean", "resample"};
    return (unsigned)a < 4 ? n[a] : "?";
}

const char *hs_patch_direction_name(hs_patch_direction d)
{
    return d == HS_PATCH_NOISE ? "noise" : "denoise";
}

void hs_patch_result_free(hs_patch_result *r)
{
    if (!r)
        return;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        free(r->grids[c].logit_diff);
        free(r->grids[c].kl);
    }
    memset(r, 0, sizeof *r);
}

static void caches_free(hs_patch_cache *c)
{
    for (int i = 0; i < HS_PATCH_COMPONENT_COUNT; i++)
        hs_patch_cache_free(&c[i]);
}

static double logit_diff(const float *last, int32_t answer, int32_t wrong)
{
    return (double)last[answer] - (double)last[wrong];
}

/* Checks the pairs: equal clean/corrupted lengths, tokens in the vocabulary, and one length for the
 * whole set where the options index by position. */
static hs_status check_pairs(const hs_model *m, const hs_patch_pair *pairs, int n_pairs, const hs_patch_options *opt,
                             hs_error *err)
{
    int by_pos = opt->ablation == HS_ABLATE_MEAN || opt->ablation == HS_ABLATE_RESAMPLE ||
                 opt->components[HS_PATCH_RESID_PRE];
    for (int c = 0; c < HS_PATCH_RESID_PRE && opt->per_position; c++)
        by_pos |= opt->components[c];
    if (n_pairs < 1)
        return hs_fail(err, HS_ERR_ARG, "patch: no prompt pairs");
    if (opt->ablation == HS_ABLATE_RESAMPLE && n_pairs < 2)
        return hs_fail(err, HS_ERR_ARG, "patch: resample ablation needs at least 2 prompts, the set has 1");
    for (int i = 0; i < n_pairs; i++) {
        const hs_patch_pair *p = &pairs[i];
        const char *name = p->name ? p->name : "a prompt";
        if (p->n < 1)
            return hs_fail(err, HS_ERR_ARG, "%s: no tokens", name);
        if (p->answer < 0 || p->answer >= m->cfg.d_vocab || p->wrong < 0 || p->wrong >= m->cfg.d_vocab)
            return hs_fail(err, HS_ERR_RANGE, "%s: answer %d / wrong %d outside the vocabulary (0..%d)", name,
                           (int)p->answer, (int)p->wrong, m->cfg.d_vocab - 1);
        if (by_pos && p->n != pairs[0].n)
            return hs_fail(err, HS_ERR_ARG,
                           "%s has %d tokens and %s %d: per-position grids, resid_pre, mean and resample need "
                           "prompts of one length",
                           name, p->n, pairs[0].name ? pairs[0].name : "the first", pairs[0].n);
    }
    return HS_OK;
}

/* The mean ablation's source: at each position, the mean over the set of the clean activations. */
static hs_status mean_caches(const hs_model *m, const hs_patch_pair *pairs, int n_pairs, const int *want,
                             hs_patch_cache *mean, hs_error *err)
{
    hs_patch_cache one[HS_PATCH_COMPONENT_COUNT];
    memset(mean, 0, HS_PATCH_COMPONENT_COUNT * sizeof *mean);
    for (int i = 0; i < n_pairs; i++) {
        hs_status rc = hs_patch_capture(m, pairs[i].clean, pairs[i].n, want, one, NULL, err);
        if (rc != HS_OK) {
            caches_free(mean);
            return rc;
        }
        for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
            if (!want[c])
                continue;
            size_t k = (size_t)one[c].n_layers * one[c].n_pos * one[c].width;
            if (i == 0) {
                mean[c] = one[c]; /* take the first prompt's buffer as the sum */
                one[c].data = NULL;
            } else {
                for (size_t j = 0; j < k; j++)
                    mean[c].data[j] += one[c].data[j];
            }
            if (i == n_pairs - 1)
                for (size_t j = 0; j < k; j++)
                    mean[c].data[j] /= (float)n_pairs;
        }
        caches_free(one);
    }
    return HS_OK;
}

hs_status hs_patch_set_run(const hs_model *m, const hs_patch_pair *pairs, int n_pairs, const hs_patch_options *opt,
                           hs_patch_result *out, hs_error *err)
{
    const int V = m->cfg.d_vocab;
    memset(out, 0, sizeof *out);
    HS_TRY(check_pairs(m, pairs, n_pairs, opt, err));
    hs_patch_cache clean[HS_PATCH_COMPONENT_COUNT], corr[HS_PATCH_COMPONENT_COUNT], other[HS_PATCH_COMPONENT_COUNT],
        mean[HS_PATCH_COMPONENT_COUNT];
    memset(clean, 0, sizeof clean);
    memset(corr, 0, sizeof corr);
    memset(other, 0, sizeof other);
    memset(mean, 0, sizeof mean);
    float *last_clean = malloc((size_t)V * sizeof *last_clean), *last_corr = malloc((size_t)V * sizeof *last_corr);
    double *clean_logp = malloc((size_t)V * sizeof *clean_logp);
    double *ld = NULL, *kl = NULL;
    hs_status rc = HS_OK;
    hs_rng rng = hs_rng_seed(opt->seed);
    double sum_clean = 0, sum_corr = 0;
    int max_cells = 0;
    if (!last_clean || !last_corr || !clean_logp) {
        rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory");
        goto done;
    }
    /* the grids' shapes: per-position grids take the set's length (check_pairs made it one) */
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        if (!opt->components[c])
            continue;
        hs_patch_grid *g = &out->grids[c];
        if ((rc = hs_patch_grid_shape_of(m, (hs_patch_component)c, opt->per_position, pairs[0].n, &g->shape, err)) !=
            HS_OK)
            goto done;
        int cells = hs_patch_grid_cells(&g->shape);
        max_cells = cells > max_cells ? cells : max_cells;
        g->logit_diff = calloc((size_t)cells, sizeof(double));
        g->kl = calloc((size_t)cells, sizeof(double));
        if (!g->logit_diff || !g->kl) {
            rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the grids");
            goto done;
        }
    }
    ld = malloc((size_t)max_cells * sizeof *ld);
    kl = malloc((size_t)max_cells * sizeof *kl);
    if (!ld || !kl) {
        rc = hs_fail(err, HS_ERR_NOMEM, "patch: out of memory for the grids");
        goto done;
    }
    if (opt->ablation == HS_ABLATE_MEAN && (rc = mean_caches(m, pairs, n_pairs, opt->components, mean, err)) != HS_OK)
        goto done;
    for (int i = 0; i < n_pairs; i++) {
        const hs_patch_pair *p = &pairs[i];
        if ((rc = hs_patch_capture(m, p->clean, p->n, opt->components, clean, last_clean, err)) != HS_OK ||
            (rc = hs_patch_capture(m, p->corrupted, p->n, opt->components, corr, last_corr, err)) != HS_OK)
            goto prompt_failed;
        sum_clean += logit_diff(last_clean, p->answer, p->wrong);
        sum_corr += logit_diff(last_corr, p->answer, p->wrong);
        hs_patch_log_softmax(last_clean, V, clean_logp);
        const hs_patch_cache *src = NULL; /* per component below; NULL for zero ablation */
        if (opt->ablation == HS_ABLATE_RESAMPLE) {
            /* another prompt than this one, uniformly */
            int j = (i + 1 + (int)hs_rng_below(&rng, (uint32_t)(n_pairs - 1))) % n_pairs;
            if ((rc = hs_patch_capture(m, pairs[j].clean, pairs[j].n, opt->components, other, NULL, err)) != HS_OK)
                goto prompt_failed;
        }
        const int32_t *base = opt->direction == HS_PATCH_DENOISE ? p->corrupted : p->clean;
        hs_patch_target tg = {.answer = p->answer, .wrong = p->wrong, .clean_logp = clean_logp};
        for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
            if (!opt->components[c])
                continue;
            switch (opt->ablation) {
            case HS_ABLATE_PATCH: src = opt->direction == HS_PATCH_DENOISE ? &clean[c] : &corr[c]; break;
            case HS_ABLATE_ZERO: src = NULL; break;
            case HS_ABLATE_MEAN: src = &mean[c]; break;
            case HS_ABLATE_RESAMPLE: src = &other[c]; break;
            }
            hs_patch_grid *g = &out->grids[c];
            if ((rc = hs_patch_cells(m, (hs_patch_component)c, opt->per_position, base, p->n, src, &tg, ld, kl,
                                     err)) != HS_OK)
                goto prompt_failed;
            int cells = hs_patch_grid_cells(&g->shape);
            for (int k = 0; k < cells; k++) {
                g->logit_diff[k] += ld[k];
                g->kl[k] += kl[k];
            }
        }
        caches_free(clean);
        caches_free(corr);
        caches_free(other);
        if (opt->progress)
            opt->progress(opt->progress_user, i + 1, n_pairs);
        continue;
    prompt_failed:
        hs_error_prefix(err, "%s", p->name ? p->name : "a prompt");
        goto done;
    }
    out->n_pairs = n_pairs;
    out->ld_clean = sum_clean / n_pairs;
    out->ld_corrupted = sum_corr / n_pairs;
    double span = out->ld_clean - out->ld_corrupted;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        hs_patch_grid *g = &out->grids[c];
        if (!g->logit_diff)
            continue;
        int cells = hs_patch_grid_cells(&g->shape);
        for (int k = 0; k < cells; k++) {
            g->logit_diff[k] = span != 0 ? (g->logit_diff[k] / n_pairs - out->ld_corrupted) / span : NAN;
            g->kl[k] /= n_pairs;
        }
    }
done:
    caches_free(clean);
    caches_free(corr);
    caches_free(other);
    caches_free(mean);
    free(last_clean);
    free(last_corr);
    free(clean_logp);
    free(ld);
    free(kl);
    if (rc != HS_OK)
        hs_patch_result_free(out);
    return rc;
}
