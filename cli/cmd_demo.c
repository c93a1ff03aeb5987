/* cmd_demo.c — `headscope demo [--out DIR] [--model PATH]`: the main job on the embedded default, the
 * toy model headscope trains and ships (models/, see its model card). The demo writes held-out
 * task prompts (all seven tasks: IOI, greater-than, colored objects, factual recall, MCQ, arithmetic,
 * MQAR) and repeated random blocks, records both into DIR/run.db as `headscope run` does, measures the model on each task,
 * runs the analyses (head detectors on the repeated blocks; attention sinks, the logit lens and
 * direct logit attribution on the tasks) and writes DIR/summary.txt and the report
 * DIR/report/index.html. */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyses/heads/heads.h"
#include "analyses/lens/logit_lens_run.h"
#include "analyses/sinks/sinks_run.h"
#include "analyses/tasks/task_eval.h"
#include "base/out_folder.h"
#include "datasets/repeated_blocks.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"
#include "model/model.h"
#include "hooks/run.h"
#include "report/report.h"
#include "store/store.h"
#include "cli/commands.h"

#ifndef HS_MODELS_DIR
#define HS_MODELS_DIR "models"
#endif
#define DEMO_MODEL HS_MODELS_DIR "/" HS_DEFAULT_MODEL_NAME

/* The task sets the demo records and measures: held-out prompts (names, objects and templates the
 * training corpus's task examples never used, where the task allows). */
static const struct {
    const char *task;
    int n_eval, n_record; /* prompts measured; of which the first n_record are recorded */
} demo_tasks[] = {
    {"ioi", 200, 12},      {"greater-than", 200, 4}, {"colored-objects", 200, 4},
    {"factual", 200, 4},   {"mcq", 200, 4},          {"arithmetic", 200, 4},
    {"mqar", 200, 4},
};
#define N_DEMO_TASKS (int)(sizeof demo_tasks / sizeof demo_tasks[0])

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "headscope demo: cannot %s %s\n", what, path);
    return 1;
}

/* Writes the held-out sets (DIR/tasks/<task>.jsonl) and the recorded selection (DIR/prompts.jsonl). */
static int write_prompts(const char *out, const char *prompts_path)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tasks", out);
    mkdir(path, 0777);
    hs_error err = {0};
    FILE *all = fopen(prompts_path, "w");
    if (!all)
        return fail("write", prompts_path);
    for (int t = 0; t < N_DEMO_TASKS; t++) {
        const hs_task_info *info = hs_task_find(demo_tasks[t].task);
        if (!info) {
            fclose(all);
            fprintf(stderr, "headscope demo: no prompt set '%s'\n", demo_tasks[t].task);
            return 1;
        }
        hs_task_spec spec = {.n = demo_tasks[t].n_eval, .seed = 1, .split = HS_TASK_HELDOUT};
        hs_task_set set = {0};
        snprintf(path, sizeof path, "%s/tasks/%s.jsonl", out, demo_tasks[t].task);
        hs_status rc = info->generate(&spec, &set, &err);
        if (rc == HS_OK)
            rc = hs_task_set_write(&set, path, &err);
        if (rc == HS_OK) /* the first n_record prompts are also recorded */
            rc = hs_task_set_append(&set, demo_tasks[t].n_record, all, prompts_path, &err);
        hs_task_set_clear(&set);
        if (rc != HS_OK) {
            fclose(all);
            return cli_fail("demo", &err);
        }
    }
    return fclose(all) == 0 ? 0 : fail("write", prompts_path);
}

static int record(const char *model, const char *prompts, const char *db, hs_run_result *res)
{
    hs_error err = {0};
    hs_record_options opt;
    hs_record_options_default(&opt);
    hs_run_request req = {.model_path = model, .prompts_path = prompts, .db_path = db, .opt = &opt};
    return hs_run_record(&req, res, &err) == HS_OK ? 0 : cli_fail("demo", &err);
}

/* The three strongest heads of a head_scores metric, as "L1H2 0.93, ...". */
static void top_heads(sqlite3 *db, int64_t run_id, const char *analysis, const char *metric, char *buf, size_t cap)
{
    sqlite3_stmt *st;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db,
                           "SELECT layer, head, value FROM head_scores WHERE run_id = ?1 AND analysis = ?2 AND "
                           "metric = ?3 AND prompt_id IS NULL AND head IS NOT NULL ORDER BY value DESC LIMIT 3",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_text(st, 2, analysis, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC);
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%sL%dH%d %.3f", n ? ", " : "", sqlite3_column_int(st, 0),
                              sqlite3_column_int(st, 1), sqlite3_column_double(st, 2));
    sqlite3_finalize(st);
}

/* The demo's folder: its marker, or what every demo has written (summary.txt beginning "headscope demo" beside
 * run.db) for a folder from a headscope before the marker, as ./quickstart's and CI's reruns find it. */
static const hs_out_folder_sign demo_sign = {.marker = ".headscope-demo", .legacy_file = "summary.txt",
                                             .legacy_head = "headscope demo\n", .legacy_also = "run.db"};

static const char demo_help[] =
    "usage: headscope demo [--out DIR] [--model PATH] [--force]\n"
    "The main job on the embedded default model (" DEMO_MODEL ", a GPT-2 headscope\n"
    "trained on its synthetic tasks; models/*/README.md is its card): writes held-out task prompts\n"
    "(DIR/tasks/*.jsonl) and repeated random blocks, records them into DIR/run.db as `headscope run`\n"
    "does (run 1: task prompts, run 2: repeated blocks), measures the model on each task, runs\n"
    "`analyze heads` on run 2 and `analyze sinks` and `analyze logit-lens` on run 1, and writes\n"
    "DIR/summary.txt and the report DIR/report/index.html (DIR defaults to demo-out).\n"
    "DIR must be new, empty or an earlier demo's (it holds .headscope-demo, or summary.txt and run.db\n"
    "from a headscope before that file), whose files are replaced; anything else is refused unless\n"
    "--force is given, which writes the demo's files into it.\n";

int cmd_demo(int argc, char **argv)
{
    const char *out = "demo-out", *model_path = DEMO_MODEL;
    int force = 0;
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"model", required_argument, 0, 'm'},
                                         {"force", no_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "o:m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'm': model_path = optarg; break;
        case 'f': force = 1; break;
        case 'h': fputs(demo_help, stdout); return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "headscope demo: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    hs_error err = {0};
    char prompts_path[4096], rep_path[4096], db_path[4096], summary_path[4096], report_dir[4096], path[4200];
    hs_out_folder_kind kind;
    if (hs_out_folder_inspect(out, &demo_sign, &kind, &err) != HS_OK) {
        fprintf(stderr, "headscope demo: --out %s\n", err.msg);
        return 1;
    }
    if (kind == HS_OUT_FOLDER_OTHER && !force) {
        fprintf(stderr, "headscope demo: --out %s: the folder is not empty and holds no earlier demo (no %s file); "
                        "choose another --out, empty it, or give --force to write the demo's files into it\n",
                out, demo_sign.marker);
        return 1;
    }
    snprintf(prompts_path, sizeof prompts_path, "%s/prompts.jsonl", out);
    snprintf(rep_path, sizeof rep_path, "%s/repeated.jsonl", out);
    snprintf(db_path, sizeof db_path, "%s/run.db", out);
    snprintf(summary_path, sizeof summary_path, "%s/summary.txt", out);
    snprintf(report_dir, sizeof report_dir, "%s/report", out);
    hs_model *model = cli_open_model("demo", model_path, NULL);
    if (!model)
        return 1; /* before the folder is made: a failed demo leaves nothing behind */
    if (hs_out_folder_claim(out, &demo_sign, "written by headscope demo; its files are replaced when the demo reruns",
                            &err) != HS_OK) {
        hs_model_close(model);
        return cli_fail("demo", &err);
    }
    int status = 0;
    FILE *f = NULL;
    sqlite3 *db = NULL;
    hs_store *store = NULL;
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) { /* the demo's own store, replaced */
        snprintf(path, sizeof path, "%s%s", db_path, suffixes[i]);
        unlink(path);
    }
    int32_t specials[2];
    int n_specials = 0;
    if (model->cfg.bos_id >= 0)
        specials[n_specials++] = model->cfg.bos_id;
    if (model->cfg.eos_id >= 0 && model->cfg.eos_id != model->cfg.bos_id)
        specials[n_specials++] = model->cfg.eos_id;
    /* TransformerLens's induction probe, [BOS, seq, seq], drawn from the whole words the model was
     * trained on (random ids of a byte-level vocabulary are mostly fragments a toy model never saw) */
    hs_repeated_blocks_spec rb = {.n_prompts = 20, .block_len = 16, .copies = 2, .bos_id = model->cfg.bos_id,
                                  .lo = 0, .hi = model->cfg.d_vocab, .exclude = specials, .n_exclude = n_specials,
                                  .seed = 0};
    int32_t *word_ids = NULL;
    if (hs_model_tokenizer(model) &&
        hs_task_word_ids(hs_model_tokenizer(model), &word_ids, &rb.n_pool, &err) == HS_OK && rb.n_pool >= 64)
        rb.pool = word_ids;
    else
        rb.n_pool = 0;
    hs_run_result tasks_run, rep_run;
    if ((status = write_prompts(out, prompts_path)) != 0)
        goto done;
    hs_status rb_rc = hs_repeated_blocks_write(rep_path, &rb, &err);
    free(word_ids);
    if (rb_rc != HS_OK) {
        status = cli_fail("demo", &err);
        goto done;
    }
    if ((status = record(model_path, prompts_path, db_path, &tasks_run)) != 0 ||
        (status = record(model_path, rep_path, db_path, &rep_run)) != 0)
        goto done;

    /* the analyses */
    if (hs_store_open(db_path, HS_STORE_CREATE, NULL, &store, &err) != HS_OK) {
        status = cli_fail("demo", &err);
        goto done;
    }
    hs_heads_options ho;
    hs_heads_options_default(&ho);
    ho.run_id = rep_run.run_id;
    ho.detect.exclude_bos = 1;
    hs_heads_result hr;
    hs_sinks_options so;
    hs_sinks_options_default(&so);
    so.run_id = tasks_run.run_id;
    hs_sinks_result sr;
    if (hs_heads_analyze(store, model, &ho, &hr, &err) != HS_OK ||
        hs_sinks_analyze(store, model, &so, &sr, &err) != HS_OK) {
        status = cli_fail("demo", &err);
        goto done;
    }
    hs_sinks_result_free(&sr);
    hs_store_close(store), store = NULL;
    hs_lens_request lr;
    hs_lens_request_default(&lr);
    lr.db_path = db_path;
    lr.run_id = tasks_run.run_id;
    lr.model_path = model_path;
    hs_lens_summary ls;
    if (hs_lens_analyze(&lr, &ls, &err) != HS_OK) {
        status = cli_fail("demo", &err);
        goto done;
    }

    /* the summary: task accuracy, then what the analyses found */
    if (!(f = fopen(summary_path, "w"))) {
        status = fail("write", summary_path);
        goto done;
    }
    fprintf(f, "headscope demo\n\nmodel:   %s (%s, %d layers, %d heads, d_model %d, vocabulary %d)\n", model_path,
            model->cfg.arch, model->cfg.n_layers, model->cfg.n_heads, model->cfg.d_model, model->cfg.d_vocab);
    fprintf(f, "store:   %s (run %lld: %d task prompts; run %lld: %d repeated random blocks)\n", db_path,
            (long long)tasks_run.run_id, tasks_run.n_prompts, (long long)rep_run.run_id, rep_run.n_prompts);
    fprintf(f, "         query it: ./headscope sql %s \"SELECT ...\"\n\n", db_path);
    fprintf(f, "Held-out task prompts (%s/tasks/), read at the last position:\n", out);
    fprintf(f, "  %-16s %7s %7s %9s %10s\n", "task", "prompts", "top-1", "ans>wrong", "logit diff");
    for (int t = 0; t < N_DEMO_TASKS && status == 0; t++) {
        hs_task_prompts tp = {0};
        hs_task_eval ev;
        snprintf(path, sizeof path, "%s/tasks/%s.jsonl", out, demo_tasks[t].task);
        if (hs_task_prompts_load(model, path, 0, &tp, &err) != HS_OK || hs_task_eval_run(model, &tp, NULL, &ev, &err) != HS_OK)
            status = cli_fail("demo", &err);
        else
            fprintf(f, "  %-16s %7d %7.3f %9.3f %10.3f\n", demo_tasks[t].task, ev.n, ev.top1, ev.pair_acc,
                    ev.logit_diff);
        hs_task_prompts_free(&tp);
    }
    if (status != 0)
        goto done;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        status = fail("read", db_path);
        goto done;
    }
    static const struct {
        const char *analysis, *metric, *what;
        int on_tasks;
    } findings[] = {
        {"heads", "induction", "induction heads (TransformerLens score)", 0},
        {"heads", "retrieval_induction", "induction on the second copy (RazorAttention)", 0},
        {"heads", "previous_token", "previous-token heads", 0},
        {"heads", "duplicate_token", "duplicate-token heads", 0},
        {"sinks", "alpha0", "first-token sink score alpha_0 (tasks)", 1},
        {"dla", "dla", "direct logit attribution, answer - wrong (tasks)", 1},
    };
    fprintf(f, "\nStrongest heads (mean over the run's prompts; induction on BOS + 2 copies of 16 random task words,\n"
               "where only the second copy can score, so TransformerLens's score is at most about 0.48):\n");
    for (size_t i = 0; i < sizeof findings / sizeof findings[0]; i++) {
        char buf[256];
        top_heads(db, findings[i].on_tasks ? tasks_run.run_id : rep_run.run_id, findings[i].analysis,
                  findings[i].metric, buf, sizeof buf);
        fprintf(f, "  %-50s %s\n", findings[i].what, buf[0] ? buf : "-");
    }
    if (fclose(f) != 0) {
        f = NULL;
        status = fail("write", summary_path);
        goto done;
    }
    f = NULL;
    if (hs_report_write(db_path, report_dir, NULL, NULL, &err) != HS_OK) {
        status = cli_fail("demo", &err);
        goto done;
    }
    printf("headscope demo: %s: recorded %d task prompts and %d repeated blocks into %s; analyses: heads, sinks, "
           "logit-lens\n",
           model_path, tasks_run.n_prompts, rep_run.n_prompts, db_path);
    printf("summary: %s\n", summary_path);
    printf("result: %s/index.html (open it in a browser)\n", report_dir);
done:
    if (f)
        fclose(f);
    sqlite3_close(db);
    hs_store_close(store);
    hs_model_close(model);
    return status;
}
