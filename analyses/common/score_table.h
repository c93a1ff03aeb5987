/* score_table.h — an analysis's per-head results on their way into head_scores: rows gathered in
 * memory while the analysis streams over prompts, then written in one transaction that first
 * deletes the rows an earlier run of the same analysis left for the same run (so rerunning is
 * idempotent, and a failure midway leaves the old rows untouched).
 *
 * Memory: 32 bytes a row; 1,000 prompts x 144 heads x 7 metrics is about 32 MB. */
#ifndef HS_ANALYSES_COMMON_SCORE_TABLE_H
#define HS_ANALYSES_COMMON_SCORE_TABLE_H

#include "headscope.h"
#include "store/store.h"

typedef struct hs_score_table hs_score_table;

/* `analysis` is copied. */
hs_status hs_score_table_new(const char *analysis, hs_score_table **out, hs_error *err);
void hs_score_table_free(hs_score_table *t);

/* One row. `metric` is not copied: it must outlive the table (analyses pass string literals).
 * layer/head -1 mean NULL; prompt_id -1 means NULL (a value over the whole prompt set).
 * NaN is stored as NULL (SQLite has no NaN). */
hs_status hs_score_table_add(hs_score_table *t, const char *metric, int layer, int head, int64_t prompt_id,
                             double value, hs_error *err);
size_t hs_score_table_rows(const hs_score_table *t);

/* What the analysis ran with: options as a JSON object (a jansson json_t, stolen even on failure;
 * NULL for none), the model path and sha256 (NULL when no model was used). When set, writing the
 * table also replaces the analysis's row of analysis_runs (run, analysis, options, model, tool
 * version, finished now), so every head_scores row is traceable to its settings. */
struct json_t;
hs_status hs_score_table_set_provenance(hs_score_table *t, struct json_t *options, const char *model_path,
                                        const char *model_sha256, hs_error *err);

/* Deletes head_scores rows of (run_id, analysis) and inserts the table's rows, in one transaction. */
hs_status hs_score_table_replace(const hs_score_table *t, hs_store *store, int64_t run_id, hs_error *err);
/* The same inside the caller's transaction (hs_store_begin), for analyses that write other tables
 * in the same transaction; on failure the caller rolls back. */
hs_status hs_score_table_write(const hs_score_table *t, hs_store *store, int64_t run_id, hs_error *err);

#endif
