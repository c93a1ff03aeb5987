/* test_patch.c — activation patching: every grid against TransformerLens's own patching functions
 * on the gpt2 parity fixture (tests/fixtures/patch/, regenerate with python3 tools/gen_patch_ref.py),
 * identities whose answer is known (a residual position that carries the whole difference, a head
 * that writes nothing), and `headscope analyze patch` end to end, with its refusals. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/circuits/patch.h"
#include "analyses/circuits/patch_set.h"
#include "base/dtype.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "tests/test.h"

#define TL_TOL 1e-4

static hs_model *open_fixture(const char *name)
{
    char dir[4096];
    hs_error err = {0};
    hs_model *m = NULL;
    snprintf(dir, sizeof dir, "%s/%s", test_src_path("tests/fixtures/models"), name);
    if (hs_model_open(dir, NULL, &m, &err) != HS_OK)
        fprintf(stderr, "%s: %s\n", dir, err.msg);
    return m;
}

/* A reference tensor of the patch fixture with its element count checked; NULL on mismatch. */
static const hs_st_tensor *ref_find(const hs_st_archive *ref, const char *name, hs_dtype dtype, size_t numel)
{
    const hs_st_tensor *t = hs_st_find(ref, name);
    size_t n = 1;
    for (int i = 0; t && i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    if (!t || t->dtype != dtype || n != numel) {
        fprintf(stderr, "reference %s: missing, or not %zu values of the expected dtype\n", name, numel);
        return NULL;
    }
    return t;
}

/* The largest |ours - theirs| over a grid; ours is [cells] in hs_patch_grid cell order, which is
 * TransformerLens's [layer, pos] / [layer, head] / [layer] row-major order; its by-position head
 * grids are [layer, pos, head] where ours are [layer, head, pos], so those are read transposed. */
static double grid_gap(const double *ours, const float *theirs, const hs_patch_grid_shape *g)
{
    double worst = 0;
    int cells = hs_patch_grid_cells(g), U = g->n_units, T = g->n_pos_cells;
    for (int k = 0; k < cells; k++) {
        int layer = k / (U * T), unit = k / T % U, pos = k % T;
        int tk = g->per_position && U > 1 ? (layer * T + pos) * U + unit : k;
        double d = fabs(ours[k] - (double)theirs[tk]);
        worst = (d > worst || isnan(d)) ? (isnan(d) ? INFINITY : d) : worst;
    }
    return worst;
}

/* The fixture's pairs: ids [B, T] each, answer/wrong [B]. */
typedef struct ref_pairs {
    hs_patch_pair pairs[8];
    int n, n_pos;
    float ld_clean[8], ld_corrupted[8];
} ref_pairs;

static int load_pairs(const hs_st_archive *ref, ref_pairs *rp)
{
    const hs_st_tensor *ci = hs_st_find(ref, "clean_ids");
    CHECK(ci && ci->ndim == 2 && ci->dtype == HS_DTYPE_I32 && ci->shape[0] <= 8);
    int B = (int)ci->shape[0], T = (int)ci->shape[1];
    const hs_st_tensor *xi = ref_find(ref, "corrupted_ids", HS_DTYPE_I32, (size_t)B * T);
    const hs_st_tensor *an = ref_find(ref, "answer", HS_DTYPE_I32, (size_t)B);
    const hs_st_tensor *wr = ref_find(ref, "wrong", HS_DTYPE_I32, (size_t)B);
    const hs_st_tensor *lc = ref_find(ref, "ld_clean", HS_DTYPE_F32, (size_t)B);
    const hs_st_tensor *lx = ref_find(ref, "ld_corrupted", HS_DTYPE_F32, (size_t)B);
    CHECK(xi && an && wr && lc && lx);
    memset(rp, 0, sizeof *rp);
    rp->n = B;
    rp->n_pos = T;
    for (int b = 0; b < B; b++) {
        rp->pairs[b] = (hs_patch_pair){.clean = (const int32_t *)ci->data + (size_t)b * T,
                                       .corrupted = (const int32_t *)xi->data + (size_t)b * T, .n = T,
                                       .answer = ((const int32_t *)an->data)[b],
                                       .wrong = ((const int32_t *)wr->data)[b], .name = "fixture pair"};
        rp->ld_clean[b] = ((const float *)lc->data)[b];
        rp->ld_corrupted[b] = ((const float *)lx->data)[b];
    }
    return TEST_PASS;
}

/* Every grid of the fixture (2 directions x 3 ablations x 2 metrics x 10 grids) within TL_TOL. */
int test_patch_vs_transformer_lens(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/gpt2.safetensors", test_src_path("tests/fixtures/patch"));
    hs_st_archive *ref = NULL;
    hs_error err = {0};
    CHECK_OK(hs_st_open(path, &ref, &err), &err);
    hs_model *m = open_fixture("gpt2");
    CHECK(m);
    ref_pairs rp;
    CHECK(load_pairs(ref, &rp) == TEST_PASS);
    static const struct {
        const char *name;
        hs_patch_component c;
        int per_position;
    } grids[] = {
        {"z", HS_PATCH_Z, 0},          {"q", HS_PATCH_Q, 0},
        {"k", HS_PATCH_K, 0},          {"v", HS_PATCH_V, 0},
        {"attn_out", HS_PATCH_ATTN_OUT, 0}, {"mlp_out", HS_PATCH_MLP_OUT, 0},
        {"z_pos", HS_PATCH_Z, 1},      {"attn_out_pos", HS_PATCH_ATTN_OUT, 1},
        {"mlp_out_pos", HS_PATCH_MLP_OUT, 1}, {"resid_pre_pos", HS_PATCH_RESID_PRE, 1},
    };
    static const hs_patch_ablation ablations[] = {HS_ABLATE_PATCH, HS_ABLATE_ZERO, HS_ABLATE_MEAN};
    double worst = 0;
    int n_grids = 0;
    for (int d = 0; d < 2; d++) {
        for (int a = 0; a < 3; a++) {
            for (int per_pos = 0; per_pos < 2; per_pos++) {
                hs_patch_options opt = {.per_position = per_pos, .ablation = ablations[a],
                                        .direction = (hs_patch_direction)d};
                for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++)
                    if (grids[g].per_position == per_pos)
                        opt.components[grids[g].c] = 1;
                hs_patch_result res;
                CHECK_OK(hs_patch_set_run(m, rp.pairs, rp.n, &opt, &res, &err), &err);
                /* the unpatched runs against TransformerLens's, as the normalisation's two ends */
                double mc = 0, mx = 0;
                for (int b = 0; b < rp.n; b++)
                    mc += rp.ld_clean[b] / rp.n, mx += rp.ld_corrupted[b] / rp.n;
                CHECK_MSG(fabs(res.ld_clean - mc) < TL_TOL && fabs(res.ld_corrupted - mx) < TL_TOL,
                          "LD clean %g (TL %g), corrupted %g (TL %g)", res.ld_clean, mc, res.ld_corrupted, mx);
                for (size_t g = 0; g < sizeof grids / sizeof grids[0]; g++) {
                    if (grids[g].per_position != per_pos)
                        continue;
                    const hs_patch_grid *pg = &res.grids[grids[g].c];
                    int cells = hs_patch_grid_cells(&pg->shape);
                    for (int metric = 0; metric < 2; metric++) {
                        char name[128];
                        snprintf(name, sizeof name, "%s.%s.%s.%s", hs_patch_direction_name((hs_patch_direction)d),
                                 hs_patch_ablation_name(ablations[a]), metric ? "kl" : "logit_diff", grids[g].name);
                        const hs_st_tensor *t = ref_find(ref, name, HS_DTYPE_F32, (size_t)cells);
                        CHECK_MSG(t, "%s", name);
                        double gap = grid_gap(metric ? pg->kl : pg->logit_diff, t->data, &pg->shape);
                        CHECK_MSG(gap <= TL_TOL, "%s: largest gap to TransformerLens %.3g", name, gap);
                        worst = gap > worst ? gap : worst;
                        n_grids++;
                    }
                }
                hs_patch_result_free(&res);
            }
        }
    }
    CHECK(n_grids == 2 * 3 * 2 * 10);
    /* the comparison can fail: a planted 2e-4 error in one cell is caught */
    {
        hs_patch_grid_shape g1 = {.n_layers = 1, .n_units = 1, .n_pos_cells = 2, .per_position = 1};
        double ours[2] = {0.5, 0.25};
        float theirs[2] = {0.5f, 0.2502f};
        CHECK(grid_gap(ours, theirs, &g1) > TL_TOL);
    }
    fprintf(stderr, "patch vs TransformerLens: %d grids, largest gap %.2g\n", n_grids, worst);
    hs_model_close(m);
    hs_st_close(ref);
    return TEST_PASS;
}
