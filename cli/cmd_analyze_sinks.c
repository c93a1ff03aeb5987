/* cmd_analyze_sinks.c — `headscope analyze sinks`: first-token sink scores, the sink rate and hidden
 * sinks of every head into head_scores (analysis 'sinks'), from the stored patterns or the model. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/sinks/act_run.h"
#include "analyses/common/score_table.h"
#include "analyses/sinks/sinks_run.h"
#include "model/model.h"
#include "cli/commands.h"

static const char sinks_help[] =
    "usage: headscope analyze sinks --db DB [--model PATH] [--run ID] [--eps X] [--t N] [--tau X]\n"
    "                               [--calibrate --heldout FILE (--calibration FILE | --act-heads L.H,...)]\n"
    "Attention sinks of every head of a recorded run, into head_scores with analysis = 'sinks' (one\n"
    "row per prompt and one with prompt_id NULL holding the mean; rerunning replaces them).\n"
    "\n"
    "  alpha0        sink score of the first token: alpha_k = sum_{i>=k} A[i][k] / (T-k) at k = 0, the\n"
    "                mean attention position 0 receives, with the prompt cut to its first T tokens\n"
    "                (Gu et al., \"When Attention Sink Emerges\"; T = 64; the model's own BOS rule kept)\n"
    "  sink          1 when alpha0 > eps (eps = 0.3), else 0; its mean over prompts is the head's sink rate\n"
    "  sink_rate     per layer (head NULL) and for the model (layer NULL): the fraction of\n"
    "                (prompt, layer, head) with alpha0 > eps, as Gu et al. report it\n"
    "  hidden_sinks  |S| with S = {k > 0 : alpha_k > tau} over the whole prompt (ACT, \"Unveiling and\n"
    "                Harnessing Hidden Attention Sinks\"; tau = 0.1)\n"
    "  entropy       mean over queries of -sum_k A[i][k] ln A[i][k], in nats\n"
    "Per key position k < max-pos and head, table sink_positions: alpha_k over the whole prompt, averaged\n"
    "over the prompts that reach k, and hidden_freq, the fraction of them where k is a hidden sink.\n"
    "Prompts shorter than T are used whole and counted (Gu et al. used prompts of at least 64 tokens).\n"
    "\n"
    "With --model the model also runs on every prompt for the magnitudes behind sinks:\n"
    "  position_norms       mean L2 norm per layer and position of the block output (resid_post), the\n"
    "                       keys and the values (averaged over kv heads)\n"
    "  massive_activations  each block-output activation with |x| > 100 and > 1000 x the layer's median\n"
    "                       |x| on that prompt (Sun et al., \"Massive Activations\"); per layer in head_scores:\n"
    "  massive_acts, max_rms_magnitude (largest |x|/rms(x)), sink_tokens (positions t > 0 whose\n"
    "                       |x|/rms exceeds 20 on a sink dimension of position 0; \"See What You Are Told\")\n"
    "  sink_dims            per layer, the dims where position 0's |x|/rms is largest (4 per prompt), with\n"
    "                       their mean magnitude there and how often they are among the 4\n"
    "\n"
    "--calibrate applies ACT (\"Unveiling and Harnessing Hidden Attention Sinks\": hidden sinks of the\n"
    "chosen heads scaled by beta, the freed attention given back to the row's other keys) and measures a\n"
    "task on held-out prompts before and after (head_scores, analysis 'act'). Task sets are JSONL with\n"
    "text, answer and wrong on every line. Heads are --act-heads, or chosen on --calibration among the\n"
    "heads with hidden sinks (most first, at most --act-candidates): greedily, each kept when adding it to\n"
    "the heads kept so far improves the metric (ACT's paper), or with --act-select each, each kept when\n"
    "it alone improves it (the authors' calibration script).\n"
    "\n"
    "  --db DB          the store (required)\n"
    "\n"
    "  --run ID         the run to analyse (default: the latest)\n"
    "  --model PATH     the run's model, when the store lacks patterns (its sha256 must match)\n"
    "  --recompute      run the model even when the store has every pattern\n"
    "  --eps X          sink threshold on alpha0 (default 0.3)\n"
    "  --t N            cut prompts to N tokens for alpha0 (default 64)\n"
    "  --tau X          hidden-sink threshold (default 0.1)\n"
    "  --no-per-prompt  write only the values over the prompt set\n"
    "  --max-pos N      positions kept in sink_positions and position_norms (default 256)\n"
    "  --no-magnitudes  skip the magnitudes pass even with --model\n"
    "  --calibrate      run ACT (needs --model and --heldout)\n"
    "  --heldout FILE   held-out task prompts: the metric before and after\n"
    "  --calibration FILE  task prompts to choose heads on\n"
    "  --act-heads L.H,...  calibrate these heads (no choosing)\n"
    "  --act-select each|greedy   how heads are chosen (default greedy)\n"
    "  --act-metric accuracy|logit-diff  what choosing maximises (default accuracy)\n"
    "  --act-candidates N  heads tried, those with the most hidden sinks (default 16)\n"
    "  --beta X         ACT's scale of hidden-sink attention (default 0.4)\n"
    "  --quiet          print nothing on success\n";

static int parse_float(const char *opt, const char *s, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || v > 1e6) {
        fprintf(stderr, "headscope analyze sinks: %s '%s' is not a positive number\n", opt, s);
        return -1;
    }
    *out = (float)v;
    return 0;
}

/* "1.2,3.0" -> heads {1,2}, {3,0}; NULL (after a message) when malformed. */
static hs_act_head *parse_heads(const char *s, int *n_out)
{
    int cap = 1;
    for (const char *c = s; *c; c++)
        cap += *c == ',';
    hs_act_head *h = malloc((size_t)cap * sizeof *h);
    if (!h)
        return NULL;
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long l = strtol(p, &end, 10);
        if (end == p || *end != '.' || l < 0 || l > 100000)
            goto bad;
        p = end + 1;
        long hd = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || hd < 0 || hd > 100000)
            goto bad;
        h[n++] = (hs_act_head){(int)l, (int)hd};
        p = *end ? end + 1 : end;
    }
    if (n == 0)
        goto bad;
    *n_out = n;
    return h;
bad:
    fprintf(stderr, "headscope analyze sinks: --act-heads '%s' is not a list of LAYER.HEAD (e.g. 1.2,3.0)\n", s);
    free(h);
    return NULL;
}

static int run_act(hs_store *store, const hs_model *model, const hs_sinks_result *sr, hs_act_run_options *act,
                   int max_candidates, int quiet)
{
    int L = sr->source.run.n_layers, H = sr->source.run.n_heads;
    int *order = malloc((size_t)L * H * sizeof *order);
    hs_act_head *cand = malloc((size_t)L * H * sizeof *cand);
    hs_score_table *table = NULL;
    hs_act_run_result res = {0};
    hs_error err = {0};
    int status = 0;
    if (!order || !cand) {
        fprintf(stderr, "headscope analyze sinks: out of memory\n");
        status = 1;
        goto done;
    }
    int n = 0;
    for (int lh = 0; lh < L * H; lh++)
        if (sr->head_hidden[lh] > 0)
            order[n++] = lh;
    /* candidates: the heads with hidden sinks, most first (ties in layer, head order); L x H is small */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && sr->head_hidden[order[j]] > sr->head_hidden[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    if (n > max_candidates)
        n = max_candidates;
    for (int i = 0; i < n; i++)
        cand[i] = (hs_act_head){order[i] / H, order[i] % H};
    act->candidates = cand, act->n_candidates = n;
    if (!act->n_heads && n == 0) {
        fprintf(stderr, "headscope analyze sinks: --calibrate: no head has hidden sinks (tau %.2g) on this run's "
                        "prompts, so ACT has nothing to calibrate; name heads with --act-heads\n",
                act->tau);
        status = 1;
        goto done;
    }
    if (hs_act_run(model, act, &res, &err) != HS_OK || hs_score_table_new(HS_ACT_ANALYSIS, &table, &err) != HS_OK ||
        hs_act_run_scores(act, &res, model->path, sr->source.run.model_sha256, table, &err) != HS_OK ||
        hs_score_table_replace(table, store, sr->source.run.id, &err) != HS_OK) {
        status = cli_fail("analyze sinks --calibrate", &err);
        goto done;
    }
    if (!quiet) {
        printf("ACT (beta %.2g, tau %.2g): ", act->beta, act->tau);
        if (act->n_heads)
            printf("%d heads given", act->n_heads);
        else
            printf("%d candidate heads with hidden sinks tried on %d calibration prompts (%s), %d kept", n,
                   res.n_calibration, act->mode == HS_ACT_SELECT_EACH ? "each alone" : "greedy", res.n_heads);
        for (int i = 0; i < res.n_heads; i++)
            printf("%s L%dH%d", i ? "," : ":", res.heads[i].layer, res.heads[i].head);
        printf("\n");
        if (res.n_calibration)
            printf("calibration %s: %.4f -> %.4f\n", act->metric == HS_ACT_TASK_ACCURACY ? "accuracy" : "logit diff",
                   res.calibration_before, res.calibration_after);
        if (res.n_skipped)
            printf("(%d task prompts left out: answer and wrong begin with the same token)\n", res.n_skipped);
        printf("held-out (%d prompts): accuracy %.4f -> %.4f, logit diff %.4f -> %.4f\n", res.n_heldout,
               res.heldout_accuracy[0], res.heldout_accuracy[1], res.heldout_logit_diff[0], res.heldout_logit_diff[1]);
    }
done:
    free(order), free(cand);
    hs_score_table_free(table);
    hs_act_run_result_free(&res);
    return status;
}

int cmd_analyze_sinks(int argc, char **argv)
{
    const char *db = NULL, *model_path = NULL;
    hs_sinks_options opt;
    hs_sinks_options_default(&opt);
    int quiet = 0;
    enum { O_RUN = 256, O_EPS, O_T, O_TAU, O_RECOMPUTE, O_NOPP, O_QUIET, O_MAXPOS, O_NOMAG, O_CAL, O_HELD, O_CALSET,
           O_HEADS, O_SELECT, O_METRIC, O_CANDS, O_BETA };
    hs_act_run_options act;
    hs_act_run_options_default(&act);
    int calibrate = 0, max_candidates = 16;
    hs_act_head *act_heads = NULL;
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},  {"model", required_argument, 0, 'm'},
        {"run", required_argument, 0, O_RUN}, {"eps", required_argument, 0, O_EPS},
        {"t", required_argument, 0, O_T},    {"tau", required_argument, 0, O_TAU},
        {"recompute", no_argument, 0, O_RECOMPUTE}, {"no-per-prompt", no_argument, 0, O_NOPP},
        {"quiet", no_argument, 0, O_QUIET}, {"help", no_argument, 0, 'h'},
        {"max-pos", required_argument, 0, O_MAXPOS}, {"no-magnitudes", no_argument, 0, O_NOMAG},
        {"calibrate", no_argument, 0, O_CAL}, {"heldout", required_argument, 0, O_HELD},
        {"calibration", required_argument, 0, O_CALSET}, {"act-heads", required_argument, 0, O_HEADS},
        {"act-select", required_argument, 0, O_SELECT}, {"act-metric", required_argument, 0, O_METRIC},
        {"act-candidates", required_argument, 0, O_CANDS}, {"beta", required_argument, 0, O_BETA},
        {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "d:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'm': model_path = optarg; break;
        case O_RUN:
        case O_T:
        case O_MAXPOS:
        case O_CANDS: {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (end == optarg || *end || v < 1 || v > 1000000) {
                fprintf(stderr, "headscope analyze sinks: %s '%s' is not a positive integer\n",
                        c == O_RUN ? "--run" : c == O_T ? "--t" : c == O_MAXPOS ? "--max-pos" : "--act-candidates",
                        optarg);
                return 2;
            }
            if (c == O_RUN)
                opt.run_id = v;
            else if (c == O_T)
                opt.t_cut = (int)v;
            else if (c == O_MAXPOS)
                opt.max_pos = (int)v;
            else
                max_candidates = (int)v;
            break;
        }
        case O_NOMAG: opt.magnitudes = 0; break;
        case O_CAL: calibrate = 1; break;
        case O_HELD: act.heldout_path = optarg; break;
        case O_CALSET: act.calibration_path = optarg; break;
        case O_HEADS:
            free(act_heads);
            if (!(act_heads = parse_heads(optarg, &act.n_heads)))
                return 2;
            act.heads = act_heads;
            break;
        case O_SELECT:
            if (strcmp(optarg, "each") == 0)
                act.mode = HS_ACT_SELECT_EACH;
            else if (strcmp(optarg, "greedy") == 0)
                act.mode = HS_ACT_SELECT_GREEDY;
            else {
                fprintf(stderr, "headscope analyze sinks: --act-select '%s' is not each or greedy\n", optarg);
                return 2;
            }
            break;
        case O_METRIC:
            if (strcmp(optarg, "accuracy") == 0)
                act.metric = HS_ACT_TASK_ACCURACY;
            else if (strcmp(optarg, "logit-diff") == 0)
                act.metric = HS_ACT_TASK_LOGIT_DIFF;
            else {
                fprintf(stderr, "headscope analyze sinks: --act-metric '%s' is not accuracy or logit-diff\n", optarg);
                return 2;
            }
            break;
        case O_BETA: {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v >= 0 && v <= 1)) {
                fprintf(stderr, "headscope analyze sinks: --beta '%s' is not a number in [0, 1]\n", optarg);
                return 2;
            }
            act.beta = (float)v;
            break;
        }
        case O_EPS:
            if (parse_float("--eps", optarg, &opt.eps))
                return 2;
            break;
        case O_TAU:
            if (parse_float("--tau", optarg, &opt.tau))
                return 2;
            break;
        case O_RECOMPUTE: opt.source_flags |= HS_PATTERNS_RECOMPUTE; break;
        case O_NOPP: opt.per_prompt = 0; break;
        case O_QUIET: quiet = 1; break;
        case 'h': fputs(sinks_help, stdout); return 0;
        default: return 2;
        }
    }
    if (!db || optind < argc) {
        fprintf(stderr, "headscope analyze sinks: %s\n", db ? "unexpected argument" : "--db DB is required");
        return 2;
    }
    if (calibrate && (!model_path || !act.heldout_path || (!act.n_heads && !act.calibration_path))) {
        fprintf(stderr, "headscope analyze sinks: --calibrate needs --model, --heldout FILE and either --calibration "
                        "FILE or --act-heads L.H,...\n");
        free(act_heads);
        return 2;
    }
    act.tau = opt.tau;
    hs_store *store = cli_open_store_for_analysis("analyze sinks", db);
    if (!store)
        return 1;
    hs_model *model = NULL;
    if (model_path && !(model = cli_open_model("analyze sinks", model_path, NULL))) {
        hs_store_close(store);
        return 1;
    }
    hs_error err = {0};
    hs_sinks_result res;
    int status = 0;
    if (hs_sinks_analyze(store, model, &opt, &res, &err) != HS_OK) {
        status = cli_fail("analyze sinks", &err);
    } else if (!quiet) {
        printf("headscope analyze sinks: %s run %lld: %d prompts (%d shorter than %d tokens), %d layers x %d heads: "
               "%zu head_scores rows\n",
               db, (long long)res.source.run.id, res.n_prompts, res.n_short, opt.t_cut, res.source.run.n_layers,
               res.source.run.n_heads, res.n_rows);
        printf("sink rate (eps %.2g, T %d): %.2f %%; by layer:", opt.eps, opt.t_cut, 100 * res.rate);
        for (int l = 0; l < res.source.run.n_layers; l++)
            printf(" L%d %.1f%%", l, 100 * res.layer_rate[l]);
        printf("\n");
        if (res.magnitudes)
            printf("magnitudes: %lld massive activations (|x| > 100 and > 1000 x median); largest |x|/rms(x) %.1f\n",
                   (long long)res.n_massive, res.max_rms_magnitude);
    }
    if (status == 0 && calibrate)
        status = run_act(store, model, &res, &act, max_candidates, quiet);
    if (status == 0)
        hs_sinks_result_free(&res);
    free(act_heads);
    hs_model_close(model);
    hs_store_close(store);
    return status;
}
