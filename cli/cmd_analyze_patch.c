/* cmd_analyze_patch.c — `headscope analyze patch`: activation patching over a recorded run
 * (analyses/circuits/patch_run.h), then the largest effects per component read back from patch_grid. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyses/circuits/patch_run.h"
#include "cli/commands.h"

static const char patch_help[] =
    "usage: headscope analyze patch --db DB [--component LIST] [--ablation A] [--direction D] [options]\n"
    "Activation patching: reruns the run's model on each prompt's clean tokens and on its \"corrupted\"\n"
    "text (which must tokenise to the same length), replaces one component's activation in one run\n"
    "with a source, and measures the effect at the last position. One pass per cell and prompt,\n"
    "batched per layer. Components (TransformerLens's transformer_lens.patching semantics):\n"
    "  z, q, k, v   one head at every position (k and v: one kv head of a grouped-query model)\n"
    "  attn_out     a layer's attention output at every position\n"
    "  mlp_out      a layer's MLP output at every position\n"
    "  resid_pre    a block's input at one position (always per position)\n"
    "  --per-position patches z, q, k, v, attn_out, mlp_out one position at a time too.\n"
    "Direction: denoise runs the corrupted prompt and patches in the source; noise runs the clean one.\n"
    "Ablation (the source): patch = the other run's activation; zero; mean = at each position the mean\n"
    "of the set's clean activations; resample = another prompt's clean activation (--seed).\n"
    "Metrics, averaged over the prompts:\n"
    "  logit_diff   (mean LD(patched) - mean LD(corrupted)) / (mean LD(clean) - mean LD(corrupted)),\n"
    "               LD = logit(answer) - logit(wrong): a normalised mean (TransformerLens's IOI\n"
    "               notebook), 0 = corrupted, 1 = clean, not bounded (it can be negative or above 1)\n"
    "  kl           mean KL(P_clean || P_patched) at the last position, in nats (0 = the clean output)\n"
    "Per-position grids, resid_pre, mean and resample need prompts of one length. Tables: patch_grid\n"
    "(every cell), head_scores (analysis 'patch', metric COMPONENT_DIRECTION_ABLATION_METRIC, the\n"
    "all-position head grids), analysis_runs; see README.md. A rerun replaces the earlier rows.\n"
    "\n"
    "  --component LIST    z,q,k,v,attn_out,mlp_out,resid_pre or all (repeatable; default z)\n"
    "  --per-position      per position for z, q, k, v, attn_out, mlp_out too\n"
    "  --ablation A        patch | zero | mean | resample (default patch)\n"
    "  --direction D       denoise | noise (default denoise)\n"
    "  --metric LIST       logit_diff,kl (default logit_diff)\n"
    "  --seed N            resample's draw (default 0)\n"
    "  --method M          patch (default): a patched pass per cell; atp: attribution patching, the\n"
    "                      first-order estimate (clean - corrupted) . dLD/da with the gradient of the\n"
    "                      run that is patched (denoise: the corrupted run), normalised as above; two\n"
    "                      passes and one backward pass per prompt; ablation patch, metric logit_diff\n"
    "                      only; rows under metric DIRECTION_atp_logit_diff and analysis 'atp'. When the\n"
    "                      run has both methods' z grids, their Pearson and Spearman correlations are printed.\n"
    "  --model PATH        the run's model (default: the path the run recorded; its sha256 must match)\n"
    "  --tokenizer PATH    tokenizer for the corrupted prompts and answers (default: the model's own)\n"
    "  --run ID            which run of DB (default: the latest)\n"
    "  --quiet             no progress\n";

#define CMD "analyze patch"

typedef struct progress_state {
    int show;
} progress_state;

static void show_progress(void *user, int done, int total)
{
    progress_state *ps = user;
    if (!ps->show)
        return;
    fprintf(stderr, "\rpatching: %d/%d prompts", done, total);
    if (done == total)
        fputc('\n', stderr);
}

static int parse_components(const char *arg, int *components)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strcmp(tok, "all")) {
            for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++)
                components[c] = 1;
            continue;
        }
        int c = hs_patch_component_parse(tok);
        if (c < 0) {
            fprintf(stderr, "headscope " CMD ": unknown component '%s' (known: z, q, k, v, attn_out, mlp_out, "
                            "resid_pre, all)\n", tok);
            return -1;
        }
        components[c] = 1;
    }
    return 0;
}

/* Per component and metric, the three cells with the largest effect: denoising, the largest
 * |logit_diff| (the most restored); noising, the largest |1 - logit_diff| (the most destroyed);
 * the smallest KL (the patch that brings the output closest to the clean one). */
static void print_summary(const char *db_path, int64_t run_id)
{
    hs_store *s = NULL;
    hs_error err = {0};
    if (hs_store_open(db_path, HS_STORE_READONLY, NULL, &s, &err) != HS_OK)
        return;
    sqlite3 *db = hs_store_db(s);
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT component, metric, (SELECT group_concat(cell, ', ') FROM (SELECT 'L' || layer || "
                      "coalesce('H' || head, '') || coalesce(' pos ' || pos, '') || ' ' || printf('%+.3f', value) "
                      "AS cell FROM patch_grid q WHERE q.run_id = g.run_id AND q.component = g.component AND "
                      "q.metric = g.metric AND value IS NOT NULL ORDER BY CASE WHEN q.metric LIKE '%\\_kl' ESCAPE '\\' "
                      "THEN value WHEN q.metric LIKE 'noise\\_%' ESCAPE '\\' THEN -abs(1 - value) "
                      "ELSE -abs(value) END LIMIT 3)) "
                      "FROM patch_grid g WHERE run_id = ?1 GROUP BY component, metric ORDER BY min(rowid)";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *cells = sqlite3_column_text(st, 2);
            printf("%-9s %-28s %s\n", (const char *)sqlite3_column_text(st, 0),
                   (const char *)sqlite3_column_text(st, 1), cells ? (const char *)cells : "(undefined)");
        }
    }
    sqlite3_finalize(st);
    hs_store_close(s);
}

/* Where the run holds both activation patching's and AtP's all-position grids of a component in
 * this direction, how well they agree. */
static void print_agreement(const char *db_path, int64_t run_id, hs_patch_direction d)
{
    hs_store *s = NULL;
    hs_error err = {0};
    if (hs_store_open(db_path, HS_STORE_READONLY, NULL, &s, &err) != HS_OK)
        return;
    for (int c = 0; c < HS_PATCH_COMPONENT_COUNT; c++) {
        int n = 0;
        double r, rho;
        if (hs_patch_atp_agreement(s, run_id, (hs_patch_component)c, d, &n, &r, &rho, &err) != HS_OK)
            break;
        if (n >= 3)
            printf("atp vs patch: %-9s %s: %d cells, Pearson %.3f, Spearman %.3f\n",
                   hs_patch_component_name((hs_patch_component)c), hs_patch_direction_name(d), n, r, rho);
    }
    hs_store_close(s);
}

int cmd_analyze_patch(int argc, char **argv)
{
    hs_patch_request req;
    hs_patch_request_default(&req);
    int quiet = 0, chose_component = 0;
    enum { O_COMP = 256, O_PERPOS, O_ABL, O_DIR, O_METRIC, O_SEED, O_QUIET, O_RUN, O_METHOD };
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},          {"model", required_argument, 0, 'm'},
        {"tokenizer", required_argument, 0, 't'},   {"run", required_argument, 0, O_RUN},
        {"component", required_argument, 0, O_COMP}, {"per-position", no_argument, 0, O_PERPOS},
        {"ablation", required_argument, 0, O_ABL},  {"direction", required_argument, 0, O_DIR},
        {"metric", required_argument, 0, O_METRIC}, {"seed", required_argument, 0, O_SEED},
        {"quiet", no_argument, 0, O_QUIET},         {"help", no_argument, 0, 'h'},
        {"method", required_argument, 0, O_METHOD},
        {0}};
    int c;
    char *end;
    optind = 1;
    while ((c = cli_getopt_long(argc, argv, "d:m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': req.db_path = optarg; break;
        case 'm': req.model_path = optarg; break;
        case 't': req.tokenizer_path = optarg; break;
        case O_RUN:
            if (cli_parse_run_id(CMD, optarg, &req.run_id))
                return 2;
            break;
        case O_COMP:
            if (!chose_component)
                memset(req.components, 0, sizeof req.components);
            chose_component = 1;
            if (parse_components(optarg, req.components) != 0)
                return 2;
            break;
        case O_PERPOS: req.per_position = 1; break;
        case O_ABL: {
            int a = 0;
            while (a < 4 && strcmp(optarg, hs_patch_ablation_name((hs_patch_ablation)a)))
                a++;
            if (a == 4) {
                fprintf(stderr, "headscope " CMD ": --ablation '%s' is not patch, zero, mean or resample\n", optarg);
                return 2;
            }
            req.ablation = (hs_patch_ablation)a;
            break;
        }
        case O_DIR:
            if (strcmp(optarg, "denoise") && strcmp(optarg, "noise")) {
                fprintf(stderr, "headscope " CMD ": --direction '%s' is not denoise or noise\n", optarg);
                return 2;
            }
            req.direction = strcmp(optarg, "noise") ? HS_PATCH_DENOISE : HS_PATCH_NOISE;
            break;
        case O_METRIC: {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", optarg);
            req.metric_logit_diff = req.metric_kl = 0;
            for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (!strcmp(tok, "logit_diff"))
                    req.metric_logit_diff = 1;
                else if (!strcmp(tok, "kl"))
                    req.metric_kl = 1;
                else {
                    fprintf(stderr, "headscope " CMD ": unknown metric '%s' (known: logit_diff, kl)\n", tok);
                    return 2;
                }
            }
            break;
        }
        case O_SEED:
            req.seed = strtoull(optarg, &end, 10);
            if (*end || !*optarg) {
                fprintf(stderr, "headscope " CMD ": --seed '%s' is not a number\n", optarg);
                return 2;
            }
            break;
        case O_METHOD:
            if (strcmp(optarg, "patch") && strcmp(optarg, "atp")) {
                fprintf(stderr, "headscope " CMD ": --method '%s' is not patch or atp\n", optarg);
                return 2;
            }
            req.method = strcmp(optarg, "atp") ? HS_METHOD_PATCH : HS_METHOD_ATP;
            break;
        case O_QUIET: quiet = 1; break;
        case 'h': fputs(patch_help, stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "headscope " CMD ": unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!req.db_path) {
        fprintf(stderr, "headscope " CMD ": --db DB is required\n");
        return 2;
    }
    if (!req.metric_logit_diff && !req.metric_kl) {
        fprintf(stderr, "headscope " CMD ": --metric names no metric\n");
        return 2;
    }
    if (!cli_store_exists(CMD, req.db_path))
        return 1;
    progress_state ps = {.show = isatty(2) && !quiet};
    req.progress = show_progress;
    req.progress_user = &ps;
    hs_patch_summary res;
    hs_error err = {0};
    if (hs_patch_analyze(&req, &res, &err) != HS_OK) {
        if (ps.show)
            fputc('\n', stderr);
        return cli_fail(CMD, &err);
    }
    printf("headscope " CMD ": %s run %lld: %d prompt pairs, mean logit difference clean %.4f, corrupted %.4f; "
           "%lld cells (%s)\n", req.db_path, (long long)res.run_id, res.n_prompts, res.ld_clean, res.ld_corrupted,
           (long long)res.n_cells, res.options_json);
    printf("largest effects per component (denoise: largest |value|; noise: largest |1 - value|; kl: smallest):\n");
    print_summary(req.db_path, res.run_id);
    print_agreement(req.db_path, res.run_id, req.direction);
    return 0;
}
