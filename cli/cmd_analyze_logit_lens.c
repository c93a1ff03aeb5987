/* cmd_analyze_logit_lens.c — `headscope analyze logit-lens`: the logit lens, direct logit
 * attribution and the component lens over a recorded run (analyses/lens/logit_lens_run.h), then a short
 * summary read back from the tables it wrote. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyses/lens/logit_lens_run.h"
#include "cli/commands.h"

static const char lens_help[] =
    "usage: headscope analyze logit-lens --db DB [--model PATH] [--run ID] [--target TEXT] [options]\n"
    "Reruns the run's model on every recorded prompt and stores, in DB:\n"
    "  logit lens      for every layer (the input of each block, then the final residual stream) and\n"
    "                  position: W_U · LN_final(x) + b_U with the final norm recomputed on x; top-k\n"
    "                  tokens, the target token's rank and probability, logit(answer) - logit(wrong),\n"
    "                  KL(final || layer). The target at a position is the token that follows it:\n"
    "                  the prompt's next token, and the answer after the last one.\n"
    "  DLA             at the last position, each head's result, attention output bias, MLP output and\n"
    "                  the embeddings: (w_ln ⊙ (W_U[answer] - W_U[wrong])) · centre(c) / sigma_final with\n"
    "                  the cached final-norm scale (TransformerLens' apply_ln_to_stack + logit_attrs on\n"
    "                  a model with the final norm folded into W_U); with the final norm's and the\n"
    "                  unembedding's bias terms they sum to the logit difference.\n"
    "  component lens  the tokens each head's result, and each layer's strongest neurons' value\n"
    "                  vectors a_i·W_out[:, i] (by |a_i|·||W_out[:, i]||), promote and suppress most,\n"
    "                  through the final norm (cached scale, no bias) and W_U.\n"
    "The answer is the first token of the prompt's \"answer\" field as it continues the prompt; prompts\n"
    "without one get the lens only. Tables: logit_lens, lens_prompts, dla, component_lens, and\n"
    "head_scores (analysis 'dla', metric 'dla'); see README.md. Rerun with the same options to resume.\n"
    "\n"
    "  --model PATH        the run's model (default: the path the run recorded; its sha256 must match)\n"
    "  --tokenizer PATH    tokenizer for the answers (default: the model's own)\n"
    "  --run ID            which run of DB (default: its only one)\n"
    "  --target TEXT       the answer of every prompt instead of its \"answer\" field\n"
    "  --wrong TEXT        with --target: the token to compare it with (default: none)\n"
    "  --top-k K           tokens kept per lens cell and per component, 1..100 (default 10)\n"
    "  --neurons N         strongest neurons per layer in the component lens (default 5)\n"
    "  --no-component-lens skip the component lens\n"
    "  --quiet             no progress bar\n";

typedef struct progress_state {
    int show;
} progress_state;

static void show_progress(void *user, const hs_lens_progress *p)
{
    progress_state *ps = user;
    if (!ps->show)
        return;
    fprintf(stderr, "\rlogit lens: %d/%d prompts", p->done, p->total);
    if (p->done == p->total)
        fputc('\n', stderr);
}

/* Prints, per layer, the target's mean probability and rank at the attributed position and the
 * first prompt's top token there; then the heads with the largest mean DLA. */
static void print_summary(const char *db_path, int64_t run_id)
{
    hs_store *s = NULL;
    hs_error err = {0};
    if (hs_store_open(db_path, HS_STORE_READONLY, NULL, &s, &err) != HS_OK)
        return;
    sqlite3 *db = hs_store_db(s);
    sqlite3_stmt *st = NULL;
    const char *per_layer =
        "SELECT l.layer, count(l.target_prob), avg(l.target_prob), avg(l.target_rank), avg(l.kl), "
        "  (SELECT v.text || ' (' || printf('%.3f', f.top_prob) || ')' FROM logit_lens f "
        "     JOIN lens_prompts fp ON fp.prompt_id = f.prompt_id JOIN runs r ON r.id = f.run_id "
        "     LEFT JOIN vocab v ON v.model_id = r.model_id AND v.token_id = f.top_id "
        "   WHERE f.run_id = ?1 AND f.layer = l.layer AND f.pos = fp.pos ORDER BY f.prompt_id LIMIT 1) "
        "FROM logit_lens l JOIN lens_prompts p ON p.prompt_id = l.prompt_id "
        "WHERE l.run_id = ?1 AND l.pos = p.pos GROUP BY l.layer ORDER BY l.layer";
    if (sqlite3_prepare_v2(db, per_layer, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        printf("at the last position, per layer (layer L = input of block L; the last = final stream):\n");
        printf("%5s  %9s  %14s  %11s  %8s  %s\n", "layer", "prompts", "mean P(target)", "mean rank", "mean KL",
               "top-1 of the first prompt");
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *top = sqlite3_column_text(st, 5);
            if (sqlite3_column_int(st, 1) > 0)
                printf("%5d  %9d  %14.4f  %11.1f  %8.4f  %s\n", sqlite3_column_int(st, 0), sqlite3_column_int(st, 1),
                       sqlite3_column_double(st, 2), sqlite3_column_double(st, 3), sqlite3_column_double(st, 4),
                       top ? (const char *)top : "");
            else
                printf("%5d  %9d  %14s  %11s  %8.4f  %s\n", sqlite3_column_int(st, 0), 0, "-", "-",
                       sqlite3_column_double(st, 4), top ? (const char *)top : "");
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    const char *heads = "SELECT layer, head, value FROM head_scores WHERE run_id = ?1 AND analysis = 'dla' AND "
                        "metric = 'dla' AND prompt_id IS NULL ORDER BY abs(value) DESC LIMIT 5";
    if (sqlite3_prepare_v2(db, heads, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, run_id);
        int first = 1;
        while (sqlite3_step(st) == SQLITE_ROW) {
            printf("%s L%dH%d %+.4f", first ? "heads with the largest mean DLA:" : ",", sqlite3_column_int(st, 0),
                   sqlite3_column_int(st, 1), sqlite3_column_double(st, 2));
            first = 0;
        }
        if (!first)
            printf("\n");
    }
    sqlite3_finalize(st);
    hs_store_close(s);
}

int cmd_analyze_logit_lens(int argc, char **argv)
{
    hs_lens_request req;
    hs_lens_request_default(&req);
    int quiet = 0;
    enum { O_TARGET = 256, O_WRONG, O_TOPK, O_NEURONS, O_NOCL, O_QUIET, O_RUN };
    static const struct option opts[] = {
        {"db", required_argument, 0, 'd'},        {"model", required_argument, 0, 'm'},
        {"tokenizer", required_argument, 0, 't'}, {"run", required_argument, 0, O_RUN},
        {"target", required_argument, 0, O_TARGET}, {"wrong", required_argument, 0, O_WRONG},
        {"top-k", required_argument, 0, O_TOPK},  {"neurons", required_argument, 0, O_NEURONS},
        {"no-component-lens", no_argument, 0, O_NOCL}, {"quiet", no_argument, 0, O_QUIET},
        {"help", no_argument, 0, 'h'},            {0}};
    int c;
    char *end;
    optind = 1;
    while ((c = cli_getopt_long(argc, argv, "d:m:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': req.db_path = optarg; break;
        case 'm': req.model_path = optarg; break;
        case 't': req.tokenizer_path = optarg; break;
        case O_RUN:
            if (cli_parse_run_id("analyze logit-lens", optarg, &req.run_id))
                return 2;
            break;
        case O_TARGET: req.target = optarg; break;
        case O_WRONG: req.wrong = optarg; break;
        case O_TOPK:
        case O_NEURONS: {
            long v = strtol(optarg, &end, 10);
            if (*end || v < (c == O_TOPK ? 1 : 0) || v > (c == O_TOPK ? 100 : 1000000)) {
                fprintf(stderr, "headscope analyze logit-lens: %s '%s' is out of range\n",
                        c == O_TOPK ? "--top-k" : "--neurons", optarg);
                return 2;
            }
            *(c == O_TOPK ? &req.top_k : &req.n_neurons) = (int)v;
            break;
        }
        case O_NOCL: req.component_lens = 0; break;
        case O_QUIET: quiet = 1; break;
        case 'h': fputs(lens_help, stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "headscope analyze logit-lens: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!req.db_path) {
        fprintf(stderr, "headscope analyze logit-lens: --db DB is required\n");
        return 2;
    }
    if (!cli_store_exists("analyze logit-lens", req.db_path))
        return 1;
    if (req.wrong && !req.target) {
        fprintf(stderr, "headscope analyze logit-lens: --wrong needs --target (otherwise each prompt's "
                        "\"wrong\" field is used)\n");
        return 2;
    }
    progress_state ps = {.show = isatty(2) && !quiet};
    req.progress = show_progress;
    req.progress_user = &ps;
    hs_lens_summary res;
    hs_error err = {0};
    if (hs_lens_analyze(&req, &res, &err) != HS_OK) {
        if (ps.show)
            fputc('\n', stderr);
        cli_fail("analyze logit-lens", &err);
        if (res.store_opened)
            fprintf(stderr, "headscope analyze logit-lens: the prompts analysed so far are kept; run the same "
                            "command to resume\n");
        return 1;
    }
    if (res.state == HS_RUN_COMPLETE)
        printf("headscope analyze logit-lens: run %lld in %s is already analysed with these options; nothing to do\n",
               (long long)res.run_id, req.db_path);
    else
        printf("headscope analyze logit-lens: %s run %lld: %d of %d prompts analysed%s%s (%s)\n", req.db_path,
               (long long)res.run_id, res.n_analysed, res.n_prompts, res.state == HS_RUN_RESUMED ? ", resumed" : "",
               res.n_no_answer ? ", some without an answer (lens only)" : "", res.options_json);
    if (res.n_images)
        printf("headscope analyze logit-lens: %d prompts with image tokens skipped (their embeddings are not "
               "stored)\n", res.n_images);
    print_summary(req.db_path, res.run_id);
    return 0;
}
