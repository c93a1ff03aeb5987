/* cmd_demo.c — `headscope demo [--out DIR]`: the main job on the embedded default. Until headscope
 * ships a trained toy model, the default is a small random-initialised GPT-2 that the program
 * writes itself (deterministic seed). The demo records built-in prompts into DIR/run.db exactly as
 * `headscope run` does, writes a per-head summary read back from the store with SQL, and the
 * store's HTML report (DIR/report/index.html). */
#include <getopt.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hooks/random_model.h"
#include "report/report.h"
#include "hooks/run.h"
#include "tools/commands.h"

static const char demo_prompts[] =
    "{\"id\": \"ioi\", \"text\": \"When Mary and John went to the store, John gave a drink to\", \"answer\": \" Mary\", \"wrong\": \" John\"}\n"
    "{\"id\": \"greater-than\", \"text\": \"The war lasted from the year 1732 to the year 17\"}\n"
    "{\"id\": \"induction\", \"text\": \"a7 kq zz 91 a7 kq zz 91 a7 kq zz 91\"}\n"
    "{\"id\": \"story\", \"text\": \"Once upon a time, there was a little girl who loved to play outside.\"}\n";

/* Writes one layer x head grid of the mean of a head_scores metric over prompts. */
static int print_grid(FILE *f, sqlite3 *db, int64_t run_id, const char *metric, const char *title, int n_heads)
{
    fprintf(f, "\n%s (rows: layers, columns: heads; mean over the prompts)\n      ", title);
    for (int h = 0; h < n_heads; h++)
        fprintf(f, "   H%-3d", h);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT layer, head, avg(value) FROM head_scores WHERE analysis = 'run' AND metric = ?1 "
                               "AND run_id = ?2 GROUP BY layer, head ORDER BY layer, head", -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, metric, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, run_id);
    int last_layer = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int layer = sqlite3_column_int(st, 0);
        if (layer != last_layer)
            fprintf(f, "\n  L%-3d", layer);
        last_layer = layer;
        fprintf(f, " %6.3f", sqlite3_column_double(st, 2));
    }
    fprintf(f, "\n");
    return sqlite3_finalize(st) == SQLITE_OK ? 0 : -1;
}

int cmd_demo(int argc, char **argv)
{
    const char *out = "demo-out";
    static const struct option opts[] = {{"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: headscope demo [--out DIR]\n"
                   "Writes the embedded default model (for now a random-initialised 4-layer GPT-2 with a\n"
                   "byte-level tokenizer, seed 1234: no trained model ships yet) to DIR/model, records the\n"
                   "built-in prompts (DIR/prompts.jsonl) into DIR/run.db as `headscope run` does, and writes\n"
                   "a per-head summary to DIR/summary.txt and the HTML report to DIR/report/index.html.\n");
            return 0;
        default: return 2;
        }
    }
    hs_error err = {0};
    char model_dir[4096], prompts_path[4096], db_path[4096], summary_path[4096];
    mkdir(out, 0777);
    snprintf(model_dir, sizeof model_dir, "%s/model", out);
    snprintf(prompts_path, sizeof prompts_path, "%s/prompts.jsonl", out);
    snprintf(db_path, sizeof db_path, "%s/run.db", out);
    snprintf(summary_path, sizeof summary_path, "%s/summary.txt", out);
    hs_random_model_spec spec = {.n_layers = 4, .d_model = 128, .n_heads = 4, .n_ctx = 256, .d_vocab = 257,
                                 .init_std = 0.08f, .seed = 1234};
    if (hs_random_model_write(model_dir, &spec, &err) != HS_OK)
        return cli_fail("demo", &err);
    FILE *f = fopen(prompts_path, "w");
    if (!f || fputs(demo_prompts, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "headscope demo: cannot write %s\n", prompts_path);
        return 1;
    }
    hs_record_options opt;
    hs_record_options_default(&opt);
    hs_run_request req = {.model_path = model_dir, .prompts_path = prompts_path, .db_path = db_path, .opt = &opt};
    hs_run_result res;
    if (hs_run_record(&req, &res, &err) != HS_OK)
        return cli_fail("demo", &err);

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "headscope demo: %s: %s\n", db_path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    if (!(f = fopen(summary_path, "w"))) {
        fprintf(stderr, "headscope demo: cannot write %s\n", summary_path);
        sqlite3_close(db);
        return 1;
    }
    fprintf(f, "headscope demo\n\nmodel:   %s (gpt2, %d layers, %d heads, d_model %d)\n", model_dir, spec.n_layers,
            spec.n_heads, spec.d_model);
    fprintf(f, "note:    random-initialised weights (seed %llu); no trained model ships yet.\n",
            (unsigned long long)spec.seed);
    fprintf(f, "store:   %s (query it: ./headscope sql %s \"SELECT ...\")\n", db_path, db_path);
    fprintf(f, "prompts: %d from %s\n", res.n_prompts, prompts_path);
    int bad = print_grid(f, db, res.run_id, "attn_first", "attention to the first token", spec.n_heads) ||
              print_grid(f, db, res.run_id, "attn_max", "largest attention weight of a query", spec.n_heads) ||
              print_grid(f, db, res.run_id, "attn_entropy", "attention entropy (nats)", spec.n_heads);
    sqlite3_close(db);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "headscope demo: cannot write %s\n", summary_path);
        return 1;
    }
    char report_dir[4096];
    snprintf(report_dir, sizeof report_dir, "%s/report", out);
    if (hs_report_write(db_path, report_dir, NULL, NULL, &err) != HS_OK)
        return cli_fail("demo", &err);
    printf("headscope demo: recorded %d prompts with %s into %s\n", res.n_prompts, model_dir, db_path);
    printf("summary: %s\n", summary_path);
    printf("result: %s/index.html (open it in a browser)\n", report_dir);
    return 0;
}
