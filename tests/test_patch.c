/* test_patch.c — activation patching: every grid against TransformerLens's own patching functions
 * on the gpt2, llama (grouped kv heads) and neox parity fixtures (tests/fixtures/patch/, regenerate
 * with python3 tools/gen_patch_ref.py), identities whose answer is known (a residual position that
 * carries the whole difference, a head that writes nothing), and `headscope analyze patch` end to
 * end, with its refusals and its report section. */
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
#include "tests/tiny_model.h"

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

/* Every grid of one fixture (2 directions x 3 ablations x 2 metrics x 10 grids) within TL_TOL. */
static int patch_vs_tl(const char *fixture)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.safetensors", test_src_path("tests/fixtures/patch"), fixture);
    hs_st_archive *ref = NULL;
    hs_error err = {0};
    CHECK_OK(hs_st_open(path, &ref, &err), &err);
    hs_model *m = open_fixture(fixture);
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
                        CHECK_MSG(gap <= TL_TOL, "%s %s: largest gap to TransformerLens %.3g", fixture, name, gap);
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
    fprintf(stderr, "patch vs TransformerLens, %s: %d grids, largest gap %.2g\n", fixture, n_grids, worst);
    hs_model_close(m);
    hs_st_close(ref);
    return TEST_PASS;
}

/* GPT-2, Llama with grouped kv heads (k and v grids [layer, kv_head]), NeoX with a parallel residual
 * and partial rotary. */
int test_patch_vs_transformer_lens(void)
{
    static const char *const fixtures[] = {"gpt2", "llama", "neox"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        CHECK(patch_vs_tl(fixtures[i]) == TEST_PASS);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- known answers */

/* Identities on random tiny models of each architecture (GPT-2, Llama with grouped kv heads, NeoX
 * with a parallel residual), on 3 pairs of 8 tokens whose corrupted prompt differs from the clean
 * one only at position P:
 *   - denoising resid_pre of layer 0 at P makes the whole input clean: 1 (KL 0); at any other
 *     position, and at every layer before P (causal attention: the runs agree there), the patch
 *     copies what is already there: 0; noising the same cells gives 0 at (0, P) and 1 elsewhere,
 *     so denoise + noise = 1 at layer 0;
 *   - a head whose value weights the test zeroed writes nothing: zero- or patch-ablating its z,
 *     or its v, changes nothing: denoise 0, noise 1.
 * "Exactly" is up to float rounding, which differs between a batched and a single pass: 1e-5. */
#define KNOWN_TOL 1e-5
#define P 5

int test_patch_known_answers(void)
{
    static const tiny_kind kinds[] = {TINY_GPT2, TINY_LLAMA_GQA, TINY_NEOX_PARALLEL};
    static const char *const kind_names[] = {"gpt2", "llama-gqa", "neox"};
    hs_error err = {0};
    for (int ki = 0; ki < 3; ki++) {
        hs_model *m = tiny_model_new(kinds[ki], 7 + (unsigned)ki);
        CHECK(m);
        const hs_config *cfg = &m->cfg;
        enum { B = 3, T = 8 };
        int32_t clean[B][T], corr[B][T];
        hs_patch_pair pairs[B];
        unsigned seed = 11;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++)
                clean[b][t] = corr[b][t] = (int32_t)((seed = seed * 1103515245u + 12345u) >> 16) % cfg->d_vocab;
            corr[b][P] = (clean[b][P] + 1 + b) % cfg->d_vocab;
            pairs[b] = (hs_patch_pair){.clean = clean[b], .corrupted = corr[b], .n = T, .answer = (int32_t)b,
                                       .wrong = (int32_t)(b + 10), .name = "tiny pair"};
        }
        /* the disabled head: layer 1, kv head 1 (query head 1; in the GQA model query heads 2 and 3, h / group) */
        const int L = 1, KVH = 1;
        hs_layer_weights *w = &m->layers[L];
        size_t head_rows = (size_t)cfg->d_head * cfg->d_model; /* W_V is [n_kv_heads * d_head, d_model] */
        memset(w->W_V + (size_t)KVH * head_rows, 0, head_rows * sizeof(float));
        if (w->b_V)
            memset(w->b_V + (size_t)KVH * cfg->d_head, 0, (size_t)cfg->d_head * sizeof(float));
        int group = cfg->n_heads / cfg->n_kv_heads;
        for (int d = 0; d < 2; d++) {
            for (int a = 0; a < 2; a++) { /* patch, zero */
                hs_patch_options opt = {.ablation = a ? HS_ABLATE_ZERO : HS_ABLATE_PATCH,
                                        .direction = (hs_patch_direction)d};
                opt.components[HS_PATCH_RESID_PRE] = opt.components[HS_PATCH_Z] = opt.components[HS_PATCH_V] = 1;
                hs_patch_result res;
                CHECK_OK(hs_patch_set_run(m, pairs, B, &opt, &res, &err), &err);
                CHECK_MSG(fabs(res.ld_clean - res.ld_corrupted) > 1e-3, "%s: the pairs do not differ",
                          kind_names[ki]);
                double on = d == HS_PATCH_DENOISE ? 1 : 0, off = 1 - on;
                const hs_patch_grid *g = &res.grids[HS_PATCH_Z];
                for (int h = KVH * group; h < (KVH + 1) * group; h++)
                    CHECK_MSG(fabs(g->logit_diff[L * cfg->n_heads + h] - off) < KNOWN_TOL,
                              "%s %s %s: disabled head L%dH%d gives %.9f, not %g", kind_names[ki],
                              hs_patch_direction_name(opt.direction), hs_patch_ablation_name(opt.ablation), L, h,
                              g->logit_diff[L * cfg->n_heads + h], off);
                g = &res.grids[HS_PATCH_V];
                CHECK(g->shape.n_units == cfg->n_kv_heads);
                CHECK_MSG(fabs(g->logit_diff[L * cfg->n_kv_heads + KVH] - off) < KNOWN_TOL, "%s: v of the disabled "
                          "kv head gives %.9f", kind_names[ki], g->logit_diff[L * cfg->n_kv_heads + KVH]);
                if (a == 0) {
                    g = &res.grids[HS_PATCH_RESID_PRE];
                    CHECK(g->shape.n_pos_cells == T && g->shape.n_units == 1);
                    for (int l = 0; l < cfg->n_layers; l++)
                        for (int t = 0; t < T; t++) {
                            double v = g->logit_diff[l * T + t];
                            double want = l == 0 ? (t == P ? on : off) : t < P ? off : NAN;
                            if (!isnan(want))
                                CHECK_MSG(fabs(v - want) < KNOWN_TOL, "%s %s: resid_pre [%d, %d] = %.9f, not %g",
                                          kind_names[ki], hs_patch_direction_name(opt.direction), l, t, v, want);
                        }
                    if (d == HS_PATCH_DENOISE)
                        CHECK_MSG(fabs(g->kl[P]) < KNOWN_TOL, "%s: KL at (0, P) %g", kind_names[ki], g->kl[P]);
                }
                hs_patch_result_free(&res);
            }
        }
        hs_model_close(m);
    }
    return TEST_PASS;
}

/* The batched passes against a plain twin: one unbatched pass per cell with the test's own
 * intervention (and, for a head at every position, the built-in HS_OP_REPLACE), on a 20-token
 * prompt whose per-position z grid (4 heads x 20 positions = 80 cells a layer) spans two batches of
 * at most 64 rows. Also: with every clean prompt the same, mean and resample ablation are the patch. */
typedef struct twin_state {
    int unit, pos, unit_width, width, n_pos; /* pos -1: every position */
    const float *src;                        /* [n_pos, width] */
} twin_state;

static hs_status twin_intervene(void *user, const hs_hook_point *hp, hs_tensor *t)
{
    (void)hp;
    const twin_state *ts = user;
    for (int p = 0; p < ts->n_pos; p++)
        if (ts->pos < 0 || p == ts->pos)
            for (int j = 0; j < ts->unit_width; j++) {
                size_t i = (size_t)p * ts->width + (size_t)ts->unit * ts->unit_width + j;
                t->data[i] = ts->src[i];
            }
    return HS_OK;
}

static double twin_ld(const hs_model *m, const int32_t *ids, int n, hs_hooks *hooks, int32_t a, int32_t w)
{
    float *logits = malloc((size_t)n * m->cfg.d_vocab * sizeof *logits);
    hs_error err = {0};
    hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = n};
    double ld = NAN;
    if (logits && hs_forward(m, &batch, hooks, HS_BACKEND_REFERENCE, logits, &err) == HS_OK) {
        const float *last = logits + (size_t)(n - 1) * m->cfg.d_vocab;
        ld = (double)last[a] - (double)last[w];
    }
    free(logits);
    return ld;
}

int test_patch_batched_vs_single(void)
{
    hs_model *m = tiny_model_new(TINY_LLAMA_GQA, 5);
    CHECK(m);
    const hs_config *cfg = &m->cfg;
    enum { T = 20 };
    int32_t clean[T], corr[T];
    for (int t = 0; t < T; t++)
        clean[t] = corr[t] = (int32_t)((t * 7 + 3) % cfg->d_vocab);
    corr[4] = (clean[4] + 5) % cfg->d_vocab;
    corr[13] = (clean[13] + 9) % cfg->d_vocab;
    hs_error err = {0};
    int want[HS_PATCH_COMPONENT_COUNT] = {0};
    want[HS_PATCH_Z] = want[HS_PATCH_K] = want[HS_PATCH_RESID_PRE] = 1;
    hs_patch_cache cc[HS_PATCH_COMPONENT_COUNT];
    CHECK_OK(hs_patch_capture(m, clean, T, want, cc, NULL, &err), &err);
    hs_patch_target tg = {.answer = 1, .wrong = 2};
    static const struct {
        hs_patch_component c;
        int per_position;
    } cases[] = {{HS_PATCH_Z, 1}, {HS_PATCH_Z, 0}, {HS_PATCH_K, 1}, {HS_PATCH_RESID_PRE, 1}};
    double worst = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        hs_patch_grid_shape g;
        CHECK_OK(hs_patch_grid_shape_of(m, cases[ci].c, cases[ci].per_position, T, &g, &err), &err);
        int cells = hs_patch_grid_cells(&g);
        double *ld = malloc((size_t)cells * sizeof *ld);
        CHECK(ld);
        CHECK_OK(hs_patch_cells(m, cases[ci].c, cases[ci].per_position, corr, T, &cc[cases[ci].c], &tg, ld, NULL,
                                &err), &err);
        for (int k = 0; k < cells; k++) {
            int layer = k / (g.n_units * g.n_pos_cells), unit = k / g.n_pos_cells % g.n_units;
            twin_state ts = {.unit = unit, .pos = g.per_position ? k % g.n_pos_cells : -1,
                             .unit_width = g.unit_width, .width = g.width, .n_pos = T,
                             .src = cc[cases[ci].c].data + (size_t)layer * T * g.width};
            hs_hook_point hp = {.kind = cases[ci].c == HS_PATCH_Z ? HS_HOOK_Z
                                        : cases[ci].c == HS_PATCH_K ? HS_HOOK_K : HS_HOOK_RESID_PRE,
                                .layer = layer};
            char name[64];
            hs_hook_point_name(&hp, name, sizeof name);
            hs_hooks *hooks = NULL;
            CHECK_OK(hs_hooks_new(&hooks, &err), &err);
            if (!g.per_position) { /* the built-in replace of one head's slice [pos, d_head] */
                float *vals = malloc((size_t)T * g.unit_width * sizeof *vals);
                CHECK(vals);
                for (int p = 0; p < T; p++)
                    memcpy(vals + (size_t)p * g.unit_width, ts.src + (size_t)p * g.width + (size_t)unit * g.unit_width,
                           (size_t)g.unit_width * sizeof(float));
                hs_tensor tv = {.data = vals, .ndim = 2, .shape = {T, g.unit_width}};
                CHECK_OK(hs_hooks_intervene(hooks, name, HS_OP_REPLACE, unit, 0, &tv, &err), &err);
                free(vals);
            } else {
                CHECK_OK(hs_hooks_intervene_fn(hooks, name, twin_intervene, &ts, &err), &err);
            }
            double want_ld = twin_ld(m, corr, T, hooks, tg.answer, tg.wrong);
            hs_hooks_free(hooks);
            double d = fabs(ld[k] - want_ld);
            CHECK_MSG(d < 1e-4 * (1 + fabs(want_ld)), "%s cell %d: batched %.7f, single %.7f",
                      hs_patch_component_name(cases[ci].c), k, ld[k], want_ld);
            worst = d > worst ? d : worst;
        }
        free(ld);
    }
    fprintf(stderr, "batched vs single passes: largest gap %.2g\n", worst);
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
        hs_patch_cache_free(&cc[c]);

    /* every clean prompt the same: the set's mean and another prompt's activation are the clean one */
    int32_t corr2[T];
    memcpy(corr2, corr, sizeof corr2);
    corr2[9] = (clean[9] + 3) % cfg->d_vocab;
    hs_patch_pair pairs[3] = {{.clean = clean, .corrupted = corr, .n = T, .answer = 1, .wrong = 2, .name = "a"},
                              {.clean = clean, .corrupted = corr2, .n = T, .answer = 1, .wrong = 2, .name = "b"},
                              {.clean = clean, .corrupted = corr, .n = T, .answer = 1, .wrong = 2, .name = "c"}};
    hs_patch_result base, other;
    hs_patch_options opt = {.ablation = HS_ABLATE_PATCH, .seed = 3};
    opt.components[HS_PATCH_Z] = opt.components[HS_PATCH_RESID_PRE] = 1;
    CHECK_OK(hs_patch_set_run(m, pairs, 3, &opt, &base, &err), &err);
    for (int a = HS_ABLATE_MEAN; a <= HS_ABLATE_RESAMPLE; a++) {
        opt.ablation = (hs_patch_ablation)a;
        CHECK_OK(hs_patch_set_run(m, pairs, 3, &opt, &other, &err), &err);
        for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
            if (!base.grids[c].logit_diff)
                continue;
            for (int k = 0; k < hs_patch_grid_cells(&base.grids[c].shape); k++)
                CHECK_MSG(fabs(base.grids[c].logit_diff[k] - other.grids[c].logit_diff[k]) < 1e-5,
                          "%s %s cell %d: %.7f vs patch %.7f", hs_patch_ablation_name(opt.ablation),
                          hs_patch_component_name((hs_patch_component)c), k, other.grids[c].logit_diff[k],
                          base.grids[c].logit_diff[k]);
        }
        hs_patch_result_free(&other);
    }
    hs_patch_result_free(&base);
    hs_model_close(m);
    return TEST_PASS;
}

/* Pairs the analysis must refuse, by name: clean and corrupted of different lengths, per-position
 * grids over prompts of different lengths. */
int test_patch_refuses_bad_pairs(void)
{
    hs_model *m = tiny_model_new(TINY_GPT2, 3);
    CHECK(m);
    hs_error err = {0};
    int32_t a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 9, 4, 5, 6};
    hs_patch_pair pairs[2] = {{.clean = a, .corrupted = b, .n = 6, .answer = 1, .wrong = 2, .name = "prompt 0 (x)"},
                              {.clean = a, .corrupted = b, .n = 5, .answer = 1, .wrong = 2, .name = "prompt 1 (y)"}};
    hs_patch_options opt = {.ablation = HS_ABLATE_PATCH};
    opt.components[HS_PATCH_RESID_PRE] = 1;
    hs_patch_result res;
    CHECK(hs_patch_set_run(m, pairs, 2, &opt, &res, &err) == HS_ERR_ARG);
    CHECK_MSG(strstr(err.msg, "prompt 1 (y) has 5 tokens") && strstr(err.msg, "one length"), "got: %s", err.msg);
    opt.components[HS_PATCH_RESID_PRE] = 0;
    opt.components[HS_PATCH_Z] = 1; /* over all positions the lengths may differ */
    CHECK_OK(hs_patch_set_run(m, pairs, 2, &opt, &res, &err), &err);
    hs_patch_result_free(&res);
    pairs[0].answer = 99999;
    CHECK(hs_patch_set_run(m, pairs, 2, &opt, &res, &err) == HS_ERR_RANGE);
    CHECK_MSG(strstr(err.msg, "prompt 0 (x)"), "got: %s", err.msg);
    hs_model_close(m);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the command line */

static double q_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    double v = NAN;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    else
        fprintf(stderr, "query gave nothing: %s (%s)\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(text, f);
    CHECK(fclose(f) == 0);
    return TEST_PASS;
}

/* Two IOI pairs of one template on models/tasks-4l whose corrupted prompt names the other person
 * as S2: one differing position, where denoising resid_pre of layer 0 gives 1 and noising it 0;
 * patch_grid, head_scores and analysis_runs agree with each other; a rerun replaces the rows. */
int test_patch_cli(void)
{
    char model_dir[4096], prompts[600], db_path[600], args[6000], out[8192];
    const char *dir = test_tmpdir();
    snprintf(model_dir, sizeof model_dir, "%s", test_src_path("models/tasks-4l"));
    snprintf(prompts, sizeof prompts, "%s/ioi.jsonl", dir);
    snprintf(db_path, sizeof db_path, "%s/ioi.db", dir);
    static const char *const clean[2] = {"When Mary and John went to the store, John gave a drink to",
                                         "When Tom and Kate went to the store, Kate gave a drink to"};
    static const char *const corrupted[2] = {"When Mary and John went to the store, Mary gave a drink to",
                                             "When Tom and Kate went to the store, Tom gave a drink to"};
    char set[2048];
    snprintf(set, sizeof set,
             "{\"id\": \"mj\", \"clean\": \"%s\", \"corrupted\": \"%s\", \"answer\": \" Mary\", \"wrong\": \" John\"}\n"
             "{\"id\": \"tk\", \"clean\": \"%s\", \"corrupted\": \"%s\", \"answer\": \" Tom\", \"wrong\": \" Kate\"}\n",
             clean[0], corrupted[0], clean[1], corrupted[1]);
    CHECK(write_file(prompts, set) == TEST_PASS);
    /* the one position where the pairs differ, from the model's own tokenizer */
    hs_model *m = NULL;
    hs_error err = {0};
    CHECK_OK(hs_model_open(model_dir, NULL, &m, &err), &err);
    int diff_pos = -1, n_pos = 0;
    for (int i = 0; i < 2; i++) {
        int32_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        CHECK_OK(hs_tokenizer_encode(hs_model_tokenizer(m), clean[i], strlen(clean[i]), 1, &a, &na, &err), &err);
        CHECK_OK(hs_tokenizer_encode(hs_model_tokenizer(m), corrupted[i], strlen(corrupted[i]), 1, &b, &nb, &err),
                 &err);
        CHECK(na == nb && (n_pos == 0 || (int)na == n_pos));
        n_pos = (int)na;
        int n_diff = 0;
        for (size_t t = 0; t < na; t++)
            if (a[t] != b[t])
                n_diff++, diff_pos = (int)t;
        CHECK(n_diff == 1);
        free(a);
        free(b);
    }
    int L = m->cfg.n_layers, H = m->cfg.n_heads;
    hs_model_close(m);

    snprintf(args, sizeof args, "run --model '%s' --prompts '%s' --db '%s' --quiet --record z --no-summaries",
             model_dir, prompts, db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(args, sizeof args, "analyze patch --db '%s' --component z --component resid_pre --metric logit_diff,kl",
             db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "2 prompt pairs") && strstr(out, "denoise_patch_logit_diff"), "%s", out);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM patch_grid WHERE component = 'resid_pre' AND metric = "
             "'denoise_patch_logit_diff' AND head IS NULL AND pos IS NOT NULL");
    CHECK(q_double(db, sql) == L * n_pos);
    CHECK(q_double(db, "SELECT count(*) FROM patch_grid WHERE component = 'z' AND pos IS NULL AND head IS NOT NULL "
                       "AND metric = 'denoise_patch_kl'") == L * H);
    snprintf(sql, sizeof sql, "SELECT value FROM patch_grid WHERE component = 'resid_pre' AND layer = 0 AND pos = %d "
             "AND metric = 'denoise_patch_logit_diff'", diff_pos);
    double v = q_double(db, sql);
    CHECK_MSG(fabs(v - 1) < 1e-4, "resid_pre [0, %d] = %.9f", diff_pos, v);
    snprintf(sql, sizeof sql, "SELECT max(abs(value)) FROM patch_grid WHERE component = 'resid_pre' AND layer = 0 "
             "AND pos != %d AND metric = 'denoise_patch_logit_diff'", diff_pos);
    CHECK_MSG(q_double(db, sql) < 1e-4, "resid_pre layer 0 off the differing position: %g", q_double(db, sql));
    /* head_scores holds the all-position head grid, cell for cell */
    CHECK(q_double(db, "SELECT count(*) FROM head_scores h JOIN patch_grid g ON g.run_id = h.run_id AND "
                       "g.layer = h.layer AND g.head = h.head AND g.component = 'z' AND g.pos IS NULL AND "
                       "g.metric = 'denoise_patch_logit_diff' WHERE h.analysis = 'patch' AND "
                       "h.metric = 'z_denoise_patch_logit_diff' AND h.prompt_id IS NULL AND h.value = g.value") ==
          L * H);
    CHECK(q_double(db, "SELECT count(*) FROM analysis_runs WHERE analysis = 'patch' AND options LIKE "
                       "'%\"resid_pre\"%' AND options LIKE '%\"denoise\"%' AND finished_at IS NOT NULL") == 1);
    sqlite3_close(db);

    /* the report draws the [layer, pos] grids in its patching section, the [layer, head] ones with
     * their registered (unbounded) definition in the per-analysis section */
    snprintf(args, sizeof args, "report --db '%s' --out '%s/report'", db_path, dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    char index[700];
    snprintf(index, sizeof index, "%s/report/index.html", dir);
    FILE *f = fopen(index, "r");
    CHECK(f);
    static char html[1 << 20];
    size_t n_html = fread(html, 1, sizeof html - 1, f);
    fclose(f);
    html[n_html] = 0;
    CHECK(strstr(html, "id=\"run-1-patch\"") && strstr(html, "patch-resid_pre-denoise_patch_logit_diff-run1") &&
          strstr(html, "patch-resid_pre-denoise_patch_kl-run1"));
    CHECK(strstr(html, "Activation patching: normalised logit difference") &&
          strstr(html, "Activation patching: KL to the clean output") &&
          !strstr(html, "No definition is registered"));
    CHECK(!strstr(html, "patch-z-denoise_patch_logit_diff-run1")); /* head grids are drawn once, from head_scores */

    /* noising replaces every row: the same cell now gives 0, and only noise rows are left */
    snprintf(args, sizeof args, "analyze patch --db '%s' --component resid_pre --direction noise --quiet", db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    snprintf(sql, sizeof sql, "SELECT value FROM patch_grid WHERE component = 'resid_pre' AND layer = 0 AND pos = %d "
             "AND metric = 'noise_patch_logit_diff'", diff_pos);
    v = q_double(db, sql);
    CHECK_MSG(fabs(v) < 1e-4, "noised resid_pre [0, %d] = %.9f", diff_pos, v);
    CHECK(q_double(db, "SELECT count(*) FROM patch_grid WHERE metric NOT LIKE 'noise_%'") == 0);
    CHECK(q_double(db, "SELECT count(*) FROM head_scores WHERE analysis = 'patch'") == 0);
    CHECK(q_double(db, "SELECT count(*) FROM analysis_runs WHERE analysis = 'patch'") == 1);
    sqlite3_close(db);

    /* the command line's refusals */
    CHECK(test_run_headscope("analyze patch --help", out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "normalised mean") && strstr(out, "resample"), "%s", out);
    snprintf(args, sizeof args, "analyze patch --db '%s' --component zz", db_path);
    CHECK(test_run_headscope(args, out, sizeof out) == 2);
    CHECK_MSG(strstr(out, "unknown component 'zz'"), "%s", out);
    snprintf(args, sizeof args, "analyze patch --db '%s/none.db'", dir);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "no such store"), "%s", out);
    return TEST_PASS;
}

/* Runs a one-prompt set through `headscope run` and `analyze patch`; returns the exit status of the
 * analysis with its output in out. */
static int patch_one(const char *dir, const char *name, const char *line, const char *extra, char *out, size_t cap)
{
    char prompts[600], db_path[600], args[6000];
    snprintf(prompts, sizeof prompts, "%s/%s.jsonl", dir, name);
    snprintf(db_path, sizeof db_path, "%s/%s.db", dir, name);
    if (write_file(prompts, line) != TEST_PASS)
        return -1;
    snprintf(args, sizeof args, "run --model '%s' --prompts '%s' --db '%s' --quiet --record z --no-summaries",
             test_src_path("models/tasks-4l"), prompts, db_path);
    if (test_run_headscope(args, out, cap) != 0)
        return -1;
    snprintf(args, sizeof args, "analyze patch --db '%s' %s", db_path, extra);
    return test_run_headscope(args, out, cap);
}

/* Prompts that cannot be patched are refused by index and id, and nothing is written. */
int test_patch_cli_bad_input(void)
{
    char out[8192];
    const char *dir = test_tmpdir();
    CHECK(patch_one(dir, "nocorr", "{\"id\": \"plain\", \"text\": \"When Mary and John went to the store, John gave a "
                    "drink to\", \"answer\": \" Mary\", \"wrong\": \" John\"}\n", "", out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "prompt 0 (plain) has no \"corrupted\" field"), "%s", out);
    CHECK(patch_one(dir, "nowrong", "{\"id\": \"w\", \"clean\": \"When Mary and John went to the store, John gave a "
                    "drink to\", \"corrupted\": \"When Mary and John went to the store, Mary gave a drink to\", "
                    "\"answer\": \" Mary\"}\n", "", out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "prompt 0 (w) has no \"wrong\" field"), "%s", out);
    CHECK(patch_one(dir, "length", "{\"id\": \"len\", \"clean\": \"When Mary and John went to the store, John gave a "
                    "drink to\", \"corrupted\": \"When Mary and John went to the big store, Mary gave a drink to\", "
                    "\"answer\": \" Mary\", \"wrong\": \" John\"}\n", "", out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "prompt 0 (len): the clean prompt has") && strstr(out, "tokens and the corrupted one"),
              "%s", out);
    CHECK(patch_one(dir, "twolen", "{\"id\": \"a\", \"clean\": \"When Mary and John went to the store, John gave a "
                    "drink to\", \"corrupted\": \"When Mary and John went to the store, Mary gave a drink to\", "
                    "\"answer\": \" Mary\", \"wrong\": \" John\"}\n{\"id\": \"b\", \"clean\": \"Then Mary and John "
                    "went to the big store, John gave a drink to\", \"corrupted\": \"Then Mary and John went to the "
                    "big store, Mary gave a drink to\", \"answer\": \" Mary\", \"wrong\": \" John\"}\n",
                    "--component resid_pre", out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "prompt 1 (b) has") && strstr(out, "one length"), "%s", out);
    char db_path[600];
    snprintf(db_path, sizeof db_path, "%s/twolen.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(q_double(db, "SELECT count(*) FROM patch_grid") == 0);
    CHECK(q_double(db, "SELECT count(*) FROM analysis_runs WHERE analysis = 'patch'") == 0);
    sqlite3_close(db);
    /* over all positions the two lengths are fine */
    char args[1200];
    snprintf(args, sizeof args, "analyze patch --db '%s' --component z,attn_out --quiet", db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    return TEST_PASS;
}
