/* cmd_run.c — `headscope run`: record a prompt set's activations into an SQLite store, with a
 * progress bar on a terminal; the same command resumes an interrupted run. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hooks/run.h"
#include "store/fault_vfs.h"
#include "cli/commands.h"

static const char run_help[] =
    "usage: headscope run --model PATH [--tokenizer PATH] --prompts FILE.jsonl --db DB [options]\n"
    "Runs every prompt through the model and records, per prompt, its tokens, the selected\n"
    "activations (one row per hook, layer and head) and per-head attention summaries into DB.\n"
    "Killed or interrupted, the same command resumes where it stopped.\n"
    "\n"
    "  --record LIST     hooks to store (default pattern,z,resid_post); short names such as\n"
    "                    pattern, scores, q, k, v, rot_q, rot_k, z, result, attn_out, resid_pre,\n"
    "                    resid_mid, resid_post, mlp_pre, mlp_post, mlp_out, embed, logits, or all\n"
    "  --layers LIST     layers to store, e.g. 0-5,7 (default all)\n"
    "  --heads LIST      heads to store on hooks with heads (default all)\n"
    "  --positions LIST  (query) positions to store, e.g. -1 for the last, 0-3,-1 (default all)\n"
    "  --dtype T         stored dtype: f16 (default), bf16 or f32\n"
    "  --no-summaries    skip the per-head summaries (attn_first, attn_entropy, attn_max)\n"
    "  --quiet           no progress bar\n";

typedef struct progress_state {
    int tty, quiet;
    struct timespec t0;
    int last_len;
} progress_state;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void show_progress(void *user, const hs_record_progress *p)
{
    progress_state *ps = user;
    if (!ps->tty || ps->quiet)
        return;
    double secs = seconds_since(&ps->t0);
    int recorded = p->done - p->skipped;
    double rate = secs > 0 ? recorded / secs : 0;
    double eta = rate > 0 ? (p->total - p->done) / rate : 0;
    int width = 30, fill = p->total ? (int)((double)width * p->done / p->total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %d/%d prompts  %.1f prompts/s  %.0f tok/s  ETA %d:%02d ", bar, p->done, p->total, rate,
            secs > 0 ? (double)p->tokens / secs : 0.0, (int)eta / 60, (int)eta % 60);
    if (p->done == p->total)
        fputc('\n', stderr);
}

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *tokenizer = NULL, *prompts_path = NULL, *db_path = NULL;
    hs_record_options opt;
    hs_record_options_default(&opt);
    hs_error err = {0};
    int quiet = 0;
    enum { O_RECORD = 256, O_LAYERS, O_HEADS, O_POSITIONS, O_DTYPE, O_NOSUM, O_QUIET };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},       {"tokenizer", required_argument, 0, 't'},
        {"prompts", required_argument, 0, 'p'},     {"db", required_argument, 0, 'd'},
        {"record", required_argument, 0, O_RECORD}, {"layers", required_argument, 0, O_LAYERS},
        {"heads", required_argument, 0, O_HEADS},   {"positions", required_argument, 0, O_POSITIONS},
        {"dtype", required_argument, 0, O_DTYPE},   {"no-summaries", no_argument, 0, O_NOSUM},
        {"quiet", no_argument, 0, O_QUIET},         {"help", no_argument, 0, 'h'},
        {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "m:t:p:d:h", opts, NULL)) != -1) {
        hs_status rc = HS_OK;
        switch (c) {
        case 'm': model_path = optarg; break;
        case 't': tokenizer = optarg; break;
        case 'p': prompts_path = optarg; break;
        case 'd': db_path = optarg; break;
        case O_RECORD: rc = hs_record_parse_hooks(optarg, &opt.hooks, &err); break;
        case O_LAYERS: rc = hs_index_ranges_parse(optarg, 0, "--layers", &opt.layers, &err); break;
        case O_HEADS: rc = hs_index_ranges_parse(optarg, 0, "--heads", &opt.heads, &err); break;
        case O_POSITIONS: rc = hs_index_ranges_parse(optarg, 1, "--positions", &opt.positions, &err); break;
        case O_DTYPE:
            if (!strcmp(optarg, "f16"))
                opt.dtype = HS_DTYPE_F16;
            else if (!strcmp(optarg, "bf16"))
                opt.dtype = HS_DTYPE_BF16;
            else if (!strcmp(optarg, "f32"))
                opt.dtype = HS_DTYPE_F32;
            else {
                fprintf(stderr, "headscope run: --dtype '%s' is not one of f16, bf16, f32\n", optarg);
                return 2;
            }
            break;
        case O_NOSUM: opt.summaries = 0; break;
        case O_QUIET: quiet = 1; break;
        case 'h': fputs(run_help, stdout); return 0;
        default: return 2;
        }
        if (rc != HS_OK) {
            fprintf(stderr, "headscope run: %s\n", err.msg);
            return 2;
        }
    }
    if (!model_path || !prompts_path || !db_path) {
        fprintf(stderr, "headscope run: --model PATH, --prompts FILE and --db DB are required\n");
        return 2;
    }
    /* tests inject disk-full faults into the store through this variable */
    const char *vfs = NULL, *fault = getenv("HS_TEST_FAULT_WRITES");
    if (fault && *fault) {
        hs_fault_vfs_register();
        hs_fault_vfs_arm(atoi(fault));
        vfs = HS_FAULT_VFS_NAME;
    }
    progress_state ps = {.tty = isatty(2), .quiet = quiet};
    clock_gettime(CLOCK_MONOTONIC, &ps.t0);
    hs_run_request req = {.model_path = model_path, .tokenizer_path = tokenizer, .prompts_path = prompts_path,
                          .db_path = db_path, .vfs = vfs, .opt = &opt, .progress = show_progress, .progress_user = &ps};
    hs_run_result res;
    if (hs_run_record(&req, &res, &err) != HS_OK) {
        if (ps.tty && !quiet)
            fputc('\n', stderr);
        cli_fail("run", &err);
        fprintf(stderr, "headscope run: %s\n",
                res.store_opened ? "the prompts recorded so far are kept; run the same command to resume"
                                 : "nothing was recorded; fix the cause and run the same command");
        return 1;
    }
    if (res.state == HS_RUN_COMPLETE)
        printf("headscope run: run %lld in %s already recorded all %d prompts; nothing to do\n",
               (long long)res.run_id, db_path, res.n_prompts);
    else
        printf("headscope run: %s run %lld: %d prompts recorded%s (%s)\n", db_path, (long long)res.run_id,
               res.n_prompts, res.state == HS_RUN_RESUMED ? ", resumed" : "", res.options_json);
    return 0;
}
