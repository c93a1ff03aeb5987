/* cmd_run.c — `headscope run`: record a prompt set's activations into an SQLite store, with a
 * progress bar on a terminal; the same command resumes an interrupted run. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hooks/run.h"
#include "store/fault_vfs.h"
#include "store/size_model.h"
#include "cli/commands.h"

static const char run_help[] =
    "usage: headscope run --model PATH [--tokenizer PATH] --prompts FILE.jsonl --db DB [options]\n"
    "Runs every prompt through the model and records, per prompt, its tokens, the selected\n"
    "activations (one row per hook, layer and head) and per-head attention summaries into DB.\n"
    "Killed or interrupted, the same command resumes where it stopped.\n"
    "\n"
    "  --record LIST     hooks to store (default pattern,z,resid_post); short names such as\n"
    "                    pattern, scores, q, k, v, rot_q, rot_k, z, result, attn_out, resid_pre,\n"
    "                    resid_mid, resid_post, mlp_pre, mlp_post, mlp_out, embed, logits, or all;\n"
    "                    or TransformerLens names: hook_pattern and blocks.*.hook_resid_post keep\n"
    "                    the layers of --layers, blocks.0.attn.hook_pattern only layer 0 of that\n"
    "                    hook (a layer so named must also be among --layers, else it is refused)\n"
    "  --layers LIST     layers to store, e.g. 0-5,7 (default all)\n"
    "  --heads LIST      heads to store on hooks with heads (default all)\n"
    "  --positions LIST  (query) positions to store, e.g. -1 for the last, 0-3,-1 (default all)\n"
    "  --dtype T         stored dtype: f16 (default), bf16 or f32\n"
    "  --no-summaries    skip the per-head summaries (attn_first, attn_entropy, attn_max)\n"
    "  --quiet           no progress bar\n"
    "  --progress-every S  when stderr is not a terminal, a progress line every S seconds\n"
    "                    (default 10; 0: after every prompt)\n"
    "  --max-size SIZE   refuse when the store is estimated to grow past SIZE (e.g. 500M, 20G)\n"
    "  --force           record even past --max-size or the free disk space\n"
    "Before recording, the store's size is estimated from the selection and each prompt's token\n"
    "count and printed; a run that would not fit in the free disk space is refused.\n";

typedef struct progress_state {
    int tty, quiet;
    char positions[1000]; /* --positions as written canonically, for messages */
    const char *db_path;
    struct timespec t0;
    double every;         /* without a terminal: seconds between progress lines */
    double last_line;     /* when the last line was printed (seconds since t0; 0 before the first) */
} progress_state;

/* "s" after a count other than one: "1 prompt", "2 prompts". */
static const char *plural(long long n)
{
    return n == 1 ? "" : "s";
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

/* "4:05", "1:02:05" */
static void format_eta(double secs, char *buf, size_t cap)
{
    long s = secs > 0 && secs < 1e9 ? (long)secs : 0;
    if (s >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", s / 60, s % 60);
}

/* On a terminal a bar rewritten in place; otherwise (a log, a pipe) a line every ps->every
 * seconds, which is what a job's log can show without filling up with carriage returns. */
static int show_progress(void *user, const hs_record_progress *p)
{
    progress_state *ps = user;
    if (ps->quiet)
        return 0;
    double secs = seconds_since(&ps->t0);
    if (!ps->tty && secs - ps->last_line < ps->every)
        return 0;
    int recorded = p->done - p->skipped;
    double rate = secs > 0 ? recorded / secs : 0;
    double tok_rate = secs > 0 ? (double)p->tokens / secs : 0.0;
    char eta[32];
    format_eta(rate > 0 ? (p->total - p->done) / rate : 0, eta, sizeof eta);
    if (!ps->tty) {
        char before[48] = "";
        if (p->skipped)
            snprintf(before, sizeof before, " (%d recorded before)", p->skipped);
        fprintf(stderr, "headscope run: %d/%d prompts%s, %.1f prompts/s, %.0f tok/s, ETA %s\n", p->done, p->total,
                before, rate, tok_rate, eta);
        ps->last_line = secs;
        return 0;
    }
    int width = 30, fill = p->total ? (int)((double)width * p->done / p->total) : width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %d/%d prompts  %.1f prompts/s  %.0f tok/s  ETA %s ", bar, p->done, p->total, rate,
            tok_rate, eta);
    if (p->done == p->total)
        fputc('\n', stderr);
    return 0;
}

/* Ctrl-C: the run stops after the prompt it is recording (its transaction commits, so the store
 * stays whole and the same command resumes); a second Ctrl-C kills at once (SA_RESETHAND), which
 * the store survives too, losing only the prompt under way. */
static volatile sig_atomic_t interrupted;
static int sigint_after_bar; /* a progress bar is on the line: start a new one */

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
    static const char msg[] = "\nheadscope run: interrupted; stopping after the current prompt (Ctrl-C again to "
                              "stop at once)\n";
    ssize_t w = write(2, msg + !sigint_after_bar, sizeof msg - 1 - !sigint_after_bar);
    (void)w;
}

/* "500M", "20G", "1.5GB", "1000000": decimal units. 0 when it is not a size. */
static int64_t parse_size(const char *text)
{
    char *end;
    double v = strtod(text, &end);
    double scale = 1;
    switch (end != text ? *end : '\0') {
    case 'k': case 'K': scale = 1e3; end++; break;
    case 'M': scale = 1e6; end++; break;
    case 'G': scale = 1e9; end++; break;
    case 'T': scale = 1e12; end++; break;
    default: break;
    }
    if (*end == 'B')
        end++;
    if (end == text || *end || !(v > 0) || v * scale > 9e18)
        return 0;
    return (int64_t)(v * scale);
}

/* Says once, before recording, how big the store will be and what the run will not find in its
 * prompts. */
static void show_plan(void *user, const hs_run_plan *plan)
{
    const progress_state *ps = user;
    if (!ps->quiet) {
        char total[32], each[32], free_text[64] = "";
        hs_size_format(plan->store_bytes, total, sizeof total);
        hs_size_format(plan->prompt_bytes, each, sizeof each);
        if (plan->free_bytes >= 0) {
            char f[32];
            hs_size_format(plan->free_bytes, f, sizeof f);
            snprintf(free_text, sizeof free_text, "; %s free", f);
        }
        fprintf(stderr, "headscope run: %s will be about %s (%d prompt%s to record, about %s each%s)\n", ps->db_path,
                total, plan->n_todo, plural(plan->n_todo), each, free_text);
    }
    const hs_positions_shortfall *sf = &plan->positions;
    if (sf->n_short > 0) {
        char empty[160] = "";
        if (sf->n_empty > 0)
            snprintf(empty, sizeof empty, "; %d prompt%s %s none of the positions (%s tokens and summaries are stored)",
                     sf->n_empty, plural(sf->n_empty), sf->n_empty == 1 ? "has" : "have",
                     sf->n_empty == 1 ? "only its" : "only their");
        fprintf(stderr,
                "headscope run: --positions %s: %d of %d prompt%s %s shorter than the %d tokens it needs (the first: "
                "%s:%d, %d token%s); a prompt keeps the positions it has%s\n",
                ps->positions, sf->n_short, plan->n_prompts, plural(plan->n_prompts), sf->n_short == 1 ? "is" : "are",
                sf->needed, plan->prompts_path, sf->first_line, sf->first_len, plural(sf->first_len), empty);
    }
}

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *tokenizer = NULL, *prompts_path = NULL, *db_path = NULL;
    hs_record_options opt;
    hs_record_options_default(&opt);
    hs_error err = {0};
    int quiet = 0;
    double every = 10;
    int64_t max_bytes = 0;
    int force = 0;
    enum { O_RECORD = 256, O_LAYERS, O_HEADS, O_POSITIONS, O_DTYPE, O_NOSUM, O_QUIET, O_EVERY, O_MAXSIZE, O_FORCE };
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},       {"tokenizer", required_argument, 0, 't'},
        {"prompts", required_argument, 0, 'p'},     {"db", required_argument, 0, 'd'},
        {"record", required_argument, 0, O_RECORD}, {"layers", required_argument, 0, O_LAYERS},
        {"heads", required_argument, 0, O_HEADS},   {"positions", required_argument, 0, O_POSITIONS},
        {"dtype", required_argument, 0, O_DTYPE},   {"no-summaries", no_argument, 0, O_NOSUM},
        {"quiet", no_argument, 0, O_QUIET},         {"help", no_argument, 0, 'h'},
        {"progress-every", required_argument, 0, O_EVERY}, {"max-size", required_argument, 0, O_MAXSIZE},
        {"force", no_argument, 0, O_FORCE},         {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "m:t:p:d:h", opts, NULL)) != -1) {
        hs_status rc = HS_OK;
        switch (c) {
        case 'm': model_path = optarg; break;
        case 't': tokenizer = optarg; break;
        case 'p': prompts_path = optarg; break;
        case 'd': db_path = optarg; break;
        case O_RECORD: rc = hs_record_parse_hooks(optarg, &opt, &err); break;
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
        case O_EVERY: {
            char *end;
            every = strtod(optarg, &end);
            if (end == optarg || *end || !(every >= 0 && every < 1e9)) {
                fprintf(stderr, "headscope run: --progress-every '%s' is not a number of seconds >= 0\n", optarg);
                return 2;
            }
            break;
        }
        case O_MAXSIZE:
            if (!(max_bytes = parse_size(optarg))) {
                fprintf(stderr, "headscope run: --max-size '%s' is not a size such as 500M or 20G\n", optarg);
                return 2;
            }
            break;
        case O_FORCE: force = 1; break;
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
    /* tests pretend the disk has only this much room through this variable */
    const char *free_bytes = getenv("HS_TEST_FREE_BYTES");
    progress_state ps = {.tty = isatty(2), .quiet = quiet, .every = every, .db_path = db_path};
    hs_index_ranges_text(&opt.positions, ps.positions, sizeof ps.positions);
    clock_gettime(CLOCK_MONOTONIC, &ps.t0);
    hs_run_request req = {.model_path = model_path, .tokenizer_path = tokenizer, .prompts_path = prompts_path,
                          .db_path = db_path, .vfs = vfs, .opt = &opt, .progress = show_progress, .progress_user = &ps,
                          .plan = show_plan, .max_bytes = max_bytes, .force = force,
                          .free_bytes = free_bytes ? atoll(free_bytes) : 0, .stop = &interrupted};
    sigint_after_bar = ps.tty && !quiet;
    struct sigaction sa = {.sa_handler = on_sigint, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    hs_run_result res;
    if (hs_run_record(&req, &res, &err) != HS_OK) {
        if (res.interrupted) {
            fprintf(stderr, "headscope run: interrupted: %d of %d prompt%s %s recorded in %s; run the same command to "
                    "resume\n", res.n_done, res.n_prompts, plural(res.n_prompts), res.n_done == 1 ? "is" : "are",
                    db_path);
            return 130;
        }
        if (ps.tty && !quiet)
            fputc('\n', stderr);
        cli_fail("run", &err);
        if (res.bad_option)
            return 2;
        if (res.too_big)
            return 1;
        fprintf(stderr, "headscope run: %s\n",
                res.store_opened ? "the prompts recorded so far are kept; run the same command to resume"
                                 : "nothing was recorded; fix the cause and run the same command");
        return 1;
    }
    if (res.state == HS_RUN_COMPLETE)
        printf("headscope run: run %lld in %s already recorded %s %d prompt%s; nothing to do\n", (long long)res.run_id,
               db_path, res.n_prompts == 1 ? "its" : "all", res.n_prompts, plural(res.n_prompts));
    else
        printf("headscope run: %s run %lld: %d prompt%s recorded%s (%s)\n", db_path, (long long)res.run_id,
               res.n_prompts, plural(res.n_prompts), res.state == HS_RUN_RESUMED ? ", resumed" : "",
               res.options_json);
    return 0;
}
