/* test_atp.c — attribution patching: every AtP grid against a plain PyTorch autograd reference on the
 * gpt2 and llama (grouped kv heads) parity fixtures (tests/fixtures/atp/, regenerate with python3
 * tools/gen_atp_ref.py, whose prompt pairs are tests/fixtures/patch/'s), its first-order error
 * against activation patching shrinking as eps² when the source approaches the base run, and
 * `headscope analyze patch --method atp` end to end beside activation patching. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/circuits/atp.h"
#include "analyses/circuits/patch_run.h"
#include "base/dtype.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "tests/test.h"

#define REF_TOL 1e-4

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

static hs_st_archive *open_ref(const char *folder, const char *fixture)
{
    char path[4200];
    hs_st_archive *ref = NULL;
    hs_error err = {0};
    snprintf(path, sizeof path, "%s/%s.safetensors", test_src_path(folder), fixture);
    if (hs_st_open(path, &ref, &err) != HS_OK)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    return ref;
}

/* The patch fixture's prompt pairs: ids [B, T] each, answer / wrong [B]. */
typedef struct ref_pairs {
    hs_patch_pair pairs[8];
    int n, n_pos;
} ref_pairs;

static int load_pairs(const hs_st_archive *ref, ref_pairs *rp)
{
    const hs_st_tensor *ci = hs_st_find(ref, "clean_ids"), *xi = hs_st_find(ref, "corrupted_ids");
    const hs_st_tensor *an = hs_st_find(ref, "answer"), *wr = hs_st_find(ref, "wrong");
    CHECK(ci && xi && an && wr && ci->ndim == 2 && ci->dtype == HS_DTYPE_I32 && ci->shape[0] <= 8);
    int B = (int)ci->shape[0], T = (int)ci->shape[1];
    CHECK(xi->dtype == HS_DTYPE_I32 && xi->shape[0] == B && xi->shape[1] == T && an->shape[0] == B &&
          wr->shape[0] == B);
    memset(rp, 0, sizeof *rp);
    rp->n = B;
    rp->n_pos = T;
    for (int b = 0; b < B; b++)
        rp->pairs[b] = (hs_patch_pair){.clean = (const int32_t *)ci->data + (size_t)b * T,
                                       .corrupted = (const int32_t *)xi->data + (size_t)b * T, .n = T,
                                       .answer = ((const int32_t *)an->data)[b],
                                       .wrong = ((const int32_t *)wr->data)[b], .name = "fixture pair"};
    return TEST_PASS;
}

/* The largest |ours - theirs| over a grid (both in hs_patch_grid cell order); -1 on a size mismatch. */
static double grid_gap(const double *ours, const hs_st_tensor *t, const hs_patch_grid_shape *g)
{
    size_t numel = 1;
    for (int i = 0; i < t->ndim; i++)
        numel *= (size_t)t->shape[i];
    if (t->dtype != HS_DTYPE_F32 || numel != (size_t)hs_patch_grid_cells(g))
        return -1;
    double worst = 0;
    for (size_t k = 0; k < numel; k++) {
        double d = fabs(ours[k] - (double)((const float *)t->data)[k]);
        worst = isnan(d) ? INFINITY : d > worst ? d : worst;
    }
    return worst;
}

static int atp_vs_ref(const char *fixture)
{
    hs_st_archive *pairs_ref = open_ref("tests/fixtures/patch", fixture);
    hs_st_archive *ref = open_ref("tests/fixtures/atp", fixture);
    hs_model *m = open_fixture(fixture);
    CHECK(pairs_ref && ref && m);
    ref_pairs rp;
    CHECK(load_pairs(pairs_ref, &rp) == TEST_PASS);
    static const struct {
        const char *name;
        hs_patch_component c;
        int per_position;
    } grids[] = {{"z", HS_PATCH_Z, 0},          {"q", HS_PATCH_Q, 0},
                 {"k", HS_PATCH_K, 0},          {"v", HS_PATCH_V, 0},
                 {"attn_out", HS_PATCH_ATTN_OUT, 0}, {"mlp_out", HS_PATCH_MLP_OUT, 0},
                 {"resid_pre_pos", HS_PATCH_RESID_PRE, 0}, {"z_pos", HS_PATCH_Z, 1},
                 {"attn_out_pos", HS_PATCH_ATTN_OUT, 1}, {"mlp_out_pos", HS_PATCH_MLP_OUT, 1}};
    double worst = 0;
    int n_checked = 0;
    for (int dir = 0; dir < 2; dir++)
        for (int per_position = 0; per_position < 2; per_position++) {
            hs_patch_options opt = {.per_position = per_position, .ablation = HS_ABLATE_PATCH,
                                    .direction = dir ? HS_PATCH_NOISE : HS_PATCH_DENOISE};
            for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
                opt.components[c] = 1;
            hs_patch_result r;
            hs_error err = {0};
            CHECK_OK(hs_atp_set_run(m, rp.pairs, rp.n, &opt, &r, &err), &err);
            CHECK(r.n_pairs == rp.n && r.grids[HS_PATCH_Z].kl == NULL);
            for (size_t i = 0; i < sizeof grids / sizeof grids[0]; i++) {
                if (grids[i].per_position != per_position) /* resid_pre is by position either way */
                    continue;
                char name[96];
                snprintf(name, sizeof name, "%s.atp.logit_diff.%s", dir ? "noise" : "denoise", grids[i].name);
                const hs_st_tensor *t = hs_st_find(ref, name);
                CHECK_MSG(t, "%s: reference %s missing", fixture, name);
                const hs_patch_grid *g = &r.grids[grids[i].c];
                double gap = grid_gap(g->logit_diff, t, &g->shape);
                CHECK_MSG(gap >= 0 && gap < REF_TOL, "%s %s: largest gap %.3g", fixture, name, gap);
                worst = gap > worst ? gap : worst;
                n_checked++;
                if (i == 0) { /* the checker itself sees a planted error */
                    g->logit_diff[1] += 10 * REF_TOL;
                    CHECK(grid_gap(g->logit_diff, t, &g->shape) > REF_TOL);
                }
            }
            hs_patch_result_free(&r);
        }
    CHECK(n_checked == 20);
    fprintf(stderr, "  %s: %d AtP grids, largest gap to PyTorch %.2g\n", fixture, n_checked, worst);
    hs_model_close(m);
    hs_st_close(ref);
    hs_st_close(pairs_ref);
    return TEST_PASS;
}

int test_atp_vs_pytorch(void)
{
    CHECK(atp_vs_ref("gpt2") == TEST_PASS);
    CHECK(atp_vs_ref("llama") == TEST_PASS);
    return TEST_PASS;
}

/* First order: with the source a_eps = a_corr + eps (a_clean - a_corr), AtP's estimate
 * LD_corr + eps Σ Δ·g differs from the patched LD by O(eps²), so halving eps quarters the error. On
 * the gpt2 fixture's first pair, for every cell of z, attn_out, mlp_out (all positions) and resid_pre
 * whose error at the smallest eps stands well above float rounding. (At eps 0.4 third-order terms
 * still show: a ratio of 6.) */
int test_atp_second_order(void)
{
    hs_st_archive *pairs_ref = open_ref("tests/fixtures/patch", "gpt2");
    hs_model *m = open_fixture("gpt2");
    CHECK(pairs_ref && m);
    ref_pairs rp;
    CHECK(load_pairs(pairs_ref, &rp) == TEST_PASS);
    const hs_patch_pair *p = &rp.pairs[0];
    const int n = p->n;
    enum { N_EPS = 3 };
    static const double eps[N_EPS] = {0.2, 0.1, 0.05};
    int want[HS_PATCH_COMPONENT_COUNT] = {0};
    want[HS_PATCH_Z] = want[HS_PATCH_ATTN_OUT] = want[HS_PATCH_MLP_OUT] = want[HS_PATCH_RESID_PRE] = 1;
    hs_patch_cache clean[HS_PATCH_COMPONENT_COUNT], corr[HS_PATCH_COMPONENT_COUNT], src[HS_PATCH_COMPONENT_COUNT];
    hs_error err = {0};
    float *last = malloc((size_t)m->cfg.d_vocab * sizeof *last);
    CHECK(last);
    CHECK_OK(hs_patch_capture(m, p->clean, n, want, clean, NULL, &err), &err);
    CHECK_OK(hs_patch_capture(m, p->corrupted, n, want, corr, last, &err), &err);
    CHECK_OK(hs_patch_capture(m, p->corrupted, n, want, src, NULL, &err), &err); /* buffers of the right shape */
    double ld_corr = (double)last[p->answer] - (double)last[p->wrong];
    int n_cells = 0, n_steep = 0;
    double worst_ratio_gap = 0;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        if (!want[c])
            continue;
        hs_patch_grid_shape g;
        CHECK_OK(hs_patch_grid_shape_of(m, (hs_patch_component)c, 0, n, &g, &err), &err);
        int cells = hs_patch_grid_cells(&g);
        double *e = calloc((size_t)N_EPS * cells, sizeof *e), *sum = malloc((size_t)cells * sizeof *sum);
        double *ld = malloc((size_t)cells * sizeof *ld);
        CHECK(e && sum && ld);
        size_t k = (size_t)clean[c].n_layers * n * clean[c].width;
        for (int ie = 0; ie < N_EPS; ie++) {
            for (size_t j = 0; j < k; j++)
                src[c].data[j] = corr[c].data[j] + (float)eps[ie] * (clean[c].data[j] - corr[c].data[j]);
            double *sums[HS_PATCH_COMPONENT_COUNT] = {0};
            int one[HS_PATCH_COMPONENT_COUNT] = {0};
            one[c] = 1;
            sums[c] = sum;
            memset(sum, 0, (size_t)cells * sizeof *sum);
            double ld_base = 0;
            CHECK_OK(hs_atp_pair(m, one, 0, p->corrupted, n, p->answer, p->wrong, src, sums, &ld_base, &err), &err);
            CHECK_NEAR(ld_base, ld_corr, 1e-4);
            hs_patch_target tg = {.answer = p->answer, .wrong = p->wrong};
            CHECK_OK(hs_patch_cells(m, (hs_patch_component)c, 0, p->corrupted, n, &src[c], &tg, ld, NULL, &err),
                     &err);
            for (int q = 0; q < cells; q++)
                e[ie * cells + q] = fabs(ld_corr + sum[q] - ld[q]);
        }
        for (int q = 0; q < cells; q++) {
            n_cells++;
            if (e[(N_EPS - 1) * cells + q] < 2e-5) /* too flat to tell from rounding (float passes: ~1e-6) */
                continue;
            n_steep++;
            for (int ie = 0; ie + 1 < N_EPS; ie++) {
                double ratio = e[ie * cells + q] / e[(ie + 1) * cells + q];
                /* a eps² + b eps³: the ratio tends to 4 as eps shrinks, the last halving must be near it */
                double lo = ie + 2 == N_EPS ? 3.5 : 3.0, hi = ie + 2 == N_EPS ? 4.6 : 6.0;
                CHECK_MSG(ratio > lo && ratio < hi, "%s cell %d: error %.3g at eps %.2f, %.3g at eps %.2f (ratio %.2f)",
                          hs_patch_component_name((hs_patch_component)c), q, e[ie * cells + q], eps[ie],
                          e[(ie + 1) * cells + q], eps[ie + 1], ratio);
                if (ie + 2 == N_EPS)
                    worst_ratio_gap = fabs(ratio - 4) > worst_ratio_gap ? fabs(ratio - 4) : worst_ratio_gap;
            }
        }
        free(e);
        free(sum);
        free(ld);
    }
    CHECK_MSG(n_steep >= 5, "only %d of %d cells have a first-order error above 2e-5 at the smallest eps", n_steep,
              n_cells);
    fprintf(stderr, "  %d of %d cells checked: error ratio from eps 0.1 to 0.05 within 4 +- %.2f\n", n_steep, n_cells,
            worst_ratio_gap);
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        hs_patch_cache_free(&clean[c]);
        hs_patch_cache_free(&corr[c]);
        hs_patch_cache_free(&src[c]);
    }
    free(last);
    hs_model_close(m);
    hs_st_close(pairs_ref);
    return TEST_PASS;
}

static int count_rows(const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* models/tasks-4l on 40 IOI prompts: activation patching, then AtP, of z; the command prints how
 * well they agree, both methods' rows stay side by side, the report draws both, and AtP refuses what it
 * cannot estimate. */
int test_atp_cli_ioi(void)
{
    char model_dir[4096], prompts[600], db_path[600], args[6000], out[8192];
    const char *dir = test_tmpdir();
    snprintf(model_dir, sizeof model_dir, "%s", test_src_path("models/tasks-4l")); /* a static buffer */
    snprintf(prompts, sizeof prompts, "%s/ioi.jsonl", dir);
    snprintf(db_path, sizeof db_path, "%s/ioi.db", dir);
    snprintf(args, sizeof args, "dataset ioi --n 40 --out '%s'", prompts);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(args, sizeof args, "run --model '%s' --prompts '%s' --db '%s' --quiet --record z --no-summaries",
             model_dir, prompts, db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(args, sizeof args, "analyze patch --db '%s' --component z,attn_out,mlp_out --quiet", db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(!strstr(out, "atp vs patch"), "%s", out);
    snprintf(args, sizeof args, "analyze patch --db '%s' --method atp --component z,attn_out,mlp_out --quiet",
             db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    const char *line = strstr(out, "atp vs patch: z         denoise: 16 cells, Pearson ");
    CHECK_MSG(line, "%s", out);
    double r = 0, rho = 0;
    CHECK_MSG(sscanf(line, "atp vs patch: z denoise: 16 cells, Pearson %lf, Spearman %lf", &r, &rho) == 2, "%s", out);
    fprintf(stderr, "  tasks-4l IOI (40 prompts), z denoise: AtP vs activation patching Pearson %.3f, Spearman %.3f\n",
            r, rho);
    CHECK_MSG(r > 0.9 && rho > 0.9, "%s", out);
    CHECK_MSG(strstr(out, "z         denoise_atp_logit_diff       L3H1 "), "%s", out);
    /* both methods' rows, side by side */
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM patch_grid WHERE metric = 'denoise_atp_logit_diff'");
    CHECK(count_rows(db_path, sql) == 24);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM patch_grid WHERE metric = 'denoise_patch_logit_diff'");
    CHECK(count_rows(db_path, sql) == 24);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM head_scores WHERE analysis = 'atp' AND "
                              "metric = 'z_denoise_atp_logit_diff'");
    CHECK(count_rows(db_path, sql) == 16);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM head_scores WHERE analysis = 'patch'");
    CHECK(count_rows(db_path, sql) == 16);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM analysis_runs WHERE analysis IN ('atp', 'patch')");
    CHECK(count_rows(db_path, sql) == 2);
    /* a patching rerun replaces its own rows only */
    snprintf(args, sizeof args, "analyze patch --db '%s' --component z --quiet", db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "atp vs patch: z "), "%s", out);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM patch_grid WHERE metric = 'denoise_atp_logit_diff'");
    CHECK(count_rows(db_path, sql) == 24);
    /* the report draws AtP's grids beside patching's, described as estimates */
    snprintf(args, sizeof args, "report --db '%s' --out '%s/report'", db_path, dir);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(args, sizeof args, "ls '%s/report/fig' | grep -c 'atp_logit_diff.*svg'; "
             "grep -c 'Attribution patching: estimated' '%s/report/index.html'", dir, dir);
    int n_figs = 0, n_desc = 0;
    CHECK(test_run_shell(args, out, sizeof out) == 0 && sscanf(out, "%d %d", &n_figs, &n_desc) == 2);
    CHECK_MSG(n_figs == 3 && n_desc >= 1, "%d AtP figures (attn_out, mlp_out, z), %d description lines", n_figs,
              n_desc);
    /* refusals */
    snprintf(args, sizeof args, "analyze patch --db '%s' --method atp --metric kl --quiet", db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) != 0 && strstr(out, "logit_diff"), "%s", out);
    snprintf(args, sizeof args, "analyze patch --db '%s' --method atp --ablation zero --quiet", db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) != 0 && strstr(out, "patch ablation"), "%s", out);
    snprintf(args, sizeof args, "analyze patch --db '%s' --method eap --quiet", db_path);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 2, "%s", out);
    return TEST_PASS;
}
