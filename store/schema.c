/* schema.c — the store's schema, version by version: how a headscope database is recognised, and
 * the migrations, one function per step from version N to N+1, that bring an older one up to date.
 * Version 0 is "no schema"; the step 0 -> 1 creates the schema documented in store/store.h,
 * 1 -> 2 adds the tables of analysis provenance, the vocabulary and the logit lens, 2 -> 3 those of
 * attention sinks, and 3 -> 4 renames the hook_normalized rows of the old meaning. */
#include "store/schema.h"

#include <stdio.h>

#include "base/error.h"
#include "store/store.h"

/* Schema version 1. Types are SQLite's own (INTEGER, REAL, TEXT, BLOB); JSON columns are TEXT.
 * Children name their parents with declared foreign keys (enforced: the store turns foreign_keys
 * on) and go with them on delete, so `DELETE FROM runs WHERE id = ?` removes a run entirely.
 * UNIQUE constraints treat NULLs as distinct in SQLite, so the activation slice key, where layer
 * and head may be NULL, is a unique index on coalesce(layer, -1) and coalesce(head, -1).
 * Indexes serve the queries users run: a hook's activations across a run, one metric across heads
 * and analyses, a prompt's tokens (the tokens primary key), and the lookups that deletes cascade
 * through. */
static const char schema_v1[] =
    "CREATE TABLE IF NOT EXISTS models (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  path TEXT NOT NULL,\n"
    "  sha256 TEXT NOT NULL,\n"
    "  architecture TEXT,\n"
    "  n_layers INTEGER, n_heads INTEGER, n_kv_heads INTEGER, d_model INTEGER, d_head INTEGER,\n"
    "  d_mlp INTEGER, d_vocab INTEGER, n_ctx INTEGER,\n"
    "  dtype TEXT,\n"
    "  UNIQUE (path, sha256)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  model_id INTEGER NOT NULL REFERENCES models(id),\n"
    "  model_path TEXT NOT NULL,\n"
    "  model_sha256 TEXT NOT NULL,\n"
    "  architecture TEXT,\n"
    "  tool_version TEXT,\n"
    "  options TEXT NOT NULL,\n"
    "  dtype TEXT NOT NULL,\n"
    "  backend TEXT NOT NULL,\n"
    "  prompts_path TEXT,\n"
    "  prompts_sha256 TEXT NOT NULL,\n"
    "  started_at TEXT NOT NULL,\n"
    "  finished_at TEXT\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS runs_identity ON runs (model_sha256, prompts_sha256, dtype, backend);\n"
    "CREATE INDEX IF NOT EXISTS runs_model ON runs (model_id);\n"
    "CREATE TABLE IF NOT EXISTS prompts (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  idx INTEGER NOT NULL CHECK (idx >= 0),\n"
    "  ext_id TEXT,\n"
    "  text TEXT NOT NULL,\n"
    "  meta TEXT,\n"
    "  clean TEXT, corrupted TEXT, answer TEXT, wrong TEXT, image TEXT,\n"
    "  n_tokens INTEGER NOT NULL,\n"
    "  UNIQUE (run_id, idx)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS tokens (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL,\n"
    "  token_id INTEGER NOT NULL,\n"
    "  text TEXT,\n"
    "  is_image INTEGER NOT NULL DEFAULT 0 CHECK (is_image IN (0, 1)),\n"
    "  PRIMARY KEY (prompt_id, pos)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX IF NOT EXISTS tokens_run ON tokens (run_id);\n"
    "CREATE TABLE IF NOT EXISTS activations (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  hook TEXT NOT NULL,\n"
    "  layer INTEGER,\n"
    "  head INTEGER,\n"
    "  dtype TEXT NOT NULL CHECK (dtype IN ('f32', 'f16', 'bf16')),\n"
    "  shape TEXT NOT NULL,\n"
    "  positions TEXT,\n"
    "  data BLOB NOT NULL\n"
    ");\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS activations_slice\n"
    "  ON activations (prompt_id, hook, coalesce(layer, -1), coalesce(head, -1));\n"
    "CREATE INDEX IF NOT EXISTS activations_by_hook ON activations (run_id, hook, layer, head);\n"
    "CREATE TABLE IF NOT EXISTS head_scores (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  analysis TEXT NOT NULL,\n"
    "  metric TEXT NOT NULL,\n"
    "  layer INTEGER,\n"
    "  head INTEGER,\n"
    "  prompt_id INTEGER REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  value REAL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS head_scores_by_metric ON head_scores (run_id, analysis, metric, layer, head);\n"
    "CREATE INDEX IF NOT EXISTS head_scores_prompt ON head_scores (prompt_id);\n";

static int migrate_0_to_1(sqlite3 *db)
{
    return sqlite3_exec(db, schema_v1, NULL, NULL, NULL);
}

/* Schema version 2 adds (documented in store/store.h and README.md):
 *   - analysis_runs: one row per (run, analysis) with the options it ran with, so every analysis
 *     row is traceable to its run, model and settings, and a rerun can resume or replace;
 *   - vocab: each model's token texts, so result tables store token ids and join for text;
 *   - the logit lens: logit_lens (run, prompt, layer, pos), lens_prompts (one row per analysed
 *     prompt: the answer pair and its final logit difference), dla (direct logit attribution per
 *     component) and component_lens (tokens a head or neuron promotes and suppresses).
 * Top-k lists are JSON arrays in one row rather than k child rows: a lens row is read whole (a
 * grid cell of a figure), json_each() expands it in SQL when needed, and k rows per cell would
 * multiply the table (layers x positions x k per prompt) and its key overhead by k. Rows without
 * a natural rowid key use WITHOUT ROWID; keys with optional layer/head use coalesce() indexes as
 * activations does. */
static const char schema_v2[] =
    "CREATE TABLE IF NOT EXISTS analysis_runs (\n"
    "  id INTEGER PRIMARY KEY,\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  analysis TEXT NOT NULL,\n"
    "  options TEXT NOT NULL,\n"
    "  model_path TEXT,\n"
    "  model_sha256 TEXT,\n"
    "  tool_version TEXT,\n"
    "  started_at TEXT NOT NULL,\n"
    "  finished_at TEXT,\n"
    "  UNIQUE (run_id, analysis)\n"
    ");\n"
    "CREATE TABLE IF NOT EXISTS vocab (\n"
    "  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,\n"
    "  token_id INTEGER NOT NULL,\n"
    "  text TEXT,\n"
    "  PRIMARY KEY (model_id, token_id)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS logit_lens (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  layer INTEGER NOT NULL CHECK (layer >= 0),\n"
    "  pos INTEGER NOT NULL CHECK (pos >= 0),\n"
    "  top_id INTEGER NOT NULL,\n"
    "  top_prob REAL NOT NULL,\n"
    "  topk_ids TEXT NOT NULL,\n"
    "  topk_probs TEXT NOT NULL,\n"
    "  target_id INTEGER,\n"
    "  target_rank INTEGER,\n"
    "  target_prob REAL,\n"
    "  logit_diff REAL,\n"
    "  kl REAL NOT NULL,\n"
    "  PRIMARY KEY (prompt_id, layer, pos)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX IF NOT EXISTS logit_lens_run ON logit_lens (run_id, layer, pos);\n"
    "CREATE TABLE IF NOT EXISTS lens_prompts (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  prompt_id INTEGER PRIMARY KEY REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL,\n"
    "  answer_id INTEGER,\n"
    "  wrong_id INTEGER,\n"
    "  logit_diff REAL,\n"
    "  scale REAL NOT NULL\n"
    ");\n"
    "CREATE INDEX IF NOT EXISTS lens_prompts_run ON lens_prompts (run_id);\n"
    "CREATE TABLE IF NOT EXISTS dla (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  component TEXT NOT NULL CHECK (component IN ('embed', 'pos_embed', 'head', 'attn_bias', 'mlp',\n"
    "    'ln_final_bias', 'unembed_bias')),\n"
    "  layer INTEGER,\n"
    "  head INTEGER,\n"
    "  value REAL NOT NULL\n"
    ");\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS dla_component\n"
    "  ON dla (prompt_id, component, coalesce(layer, -1), coalesce(head, -1));\n"
    "CREATE INDEX IF NOT EXISTS dla_run ON dla (run_id, component, layer, head);\n"
    "CREATE TABLE IF NOT EXISTS component_lens (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  pos INTEGER NOT NULL,\n"
    "  layer INTEGER NOT NULL,\n"
    "  head INTEGER,\n"
    "  neuron INTEGER,\n"
    "  activation REAL,\n"
    "  norm REAL NOT NULL,\n"
    "  promoted_ids TEXT NOT NULL,\n"
    "  promoted_logits TEXT NOT NULL,\n"
    "  suppressed_ids TEXT NOT NULL,\n"
    "  suppressed_logits TEXT NOT NULL,\n"
    "  CHECK ((head IS NULL) != (neuron IS NULL))\n"
    ");\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS component_lens_key\n"
    "  ON component_lens (prompt_id, layer, coalesce(head, -1), coalesce(neuron, -1));\n"
    "CREATE INDEX IF NOT EXISTS component_lens_run ON component_lens (run_id, layer, head);\n";

static int migrate_1_to_2(sqlite3 *db)
{
    return sqlite3_exec(db, schema_v2, NULL, NULL, NULL);
}

/* Schema version 3 adds the tables of `analyze sinks` beyond its head_scores rows:
 *   - sink_positions: per key position and head, the sink score alpha_k averaged over the prompts
 *     long enough to have key k, and how often k > 0 is a hidden sink (alpha_k > tau) in them;
 *   - position_norms: per layer, position and tensor (the residual stream after the block, the
 *     keys, the values), the mean L2 norm over prompts (keys and values: also over kv heads);
 *   - massive_activations: every activation of a block output that passes Sun et al.'s rule
 *     (|x| > 100 and > 1000 x the layer's median |x| on that prompt), with its ratio to the median;
 *   - sink_dims: per layer, the dimensions where the state of position 0 is largest (among the 4
 *     largest |x| / rms(x) on some prompt), with their mean magnitude there ("See What You Are Told":
 *     sink dimensions are those above 20).
 * Each is replaced whole per run when the analysis reruns. */
static const char schema_v3[] =
    "CREATE TABLE IF NOT EXISTS sink_positions (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  layer INTEGER NOT NULL CHECK (layer >= 0),\n"
    "  head INTEGER NOT NULL CHECK (head >= 0),\n"
    "  pos INTEGER NOT NULL CHECK (pos >= 0),\n"
    "  alpha REAL NOT NULL,\n"
    "  hidden_freq REAL,\n"
    "  n_prompts INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, layer, head, pos)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS position_norms (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  tensor TEXT NOT NULL CHECK (tensor IN ('resid_post', 'k', 'v')),\n"
    "  layer INTEGER NOT NULL CHECK (layer >= 0),\n"
    "  pos INTEGER NOT NULL CHECK (pos >= 0),\n"
    "  norm REAL NOT NULL,\n"
    "  n_prompts INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, tensor, layer, pos)\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS massive_activations (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  prompt_id INTEGER NOT NULL REFERENCES prompts(id) ON DELETE CASCADE,\n"
    "  layer INTEGER NOT NULL,\n"
    "  pos INTEGER NOT NULL,\n"
    "  dim INTEGER NOT NULL,\n"
    "  value REAL NOT NULL,\n"
    "  ratio REAL NOT NULL,\n"
    "  PRIMARY KEY (prompt_id, layer, pos, dim)\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX IF NOT EXISTS massive_activations_run ON massive_activations (run_id, layer);\n"
    "CREATE TABLE IF NOT EXISTS sink_dims (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  layer INTEGER NOT NULL,\n"
    "  dim INTEGER NOT NULL,\n"
    "  bos_magnitude REAL NOT NULL,\n"
    "  top_frac REAL NOT NULL,\n"
    "  n_prompts INTEGER NOT NULL,\n"
    "  PRIMARY KEY (run_id, layer, dim)\n"
    ") WITHOUT ROWID;\n";

static int migrate_2_to_3(sqlite3 *db)
{
    return sqlite3_exec(db, schema_v3, NULL, NULL, NULL);
}

/* Schema version 4 changes no table: it is when `hook_normalized` (ln1, ln2, ln_final) came to hold
 * x̂ = (x - mean) / scale, the norm before its gain and bias, as TransformerLens stores it. Earlier
 * headscopes stored x̂·w + b under the same name. A migration cannot recompute x̂ (w may have zeros,
 * and the weights are not in the store), so it renames those rows `hook_normalized_affine`, and the
 * hook in the options of their runs with them: at version 4 a row named hook_normalized holds x̂
 * whatever wrote it, and the command that recorded an old run no longer matches it, so running it
 * again records a new run instead of resuming the old one under the new meaning. The UPDATE reads
 * the (run_id, hook) index, not the table. */
static int migrate_3_to_4(sqlite3 *db)
{
    static const char sql[] =
        "UPDATE activations SET hook = hook || '_affine' WHERE run_id IN (SELECT id FROM runs) AND hook IN "
        "('ln1.hook_normalized', 'ln2.hook_normalized', 'ln_final.hook_normalized');\n"
        "UPDATE runs SET options = replace(replace(replace(options,\n"
        "  '\"ln1.hook_normalized\"', '\"ln1.hook_normalized_affine\"'),\n"
        "  '\"ln2.hook_normalized\"', '\"ln2.hook_normalized_affine\"'),\n"
        "  '\"ln_final.hook_normalized\"', '\"ln_final.hook_normalized_affine\"')\n"
        "WHERE options LIKE '%.hook_normalized\"%';\n";
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Schema version 5 adds the grids of `analyze patch` (activation patching) beyond its head_scores
 * rows: one row per cell, with head NULL for the layer-level components (attn_out, mlp_out,
 * resid_pre; for k and v the kv head), pos NULL for a patch of every position. `metric` names the
 * direction, the ablation and the metric ("denoise_patch_logit_diff"); value is NULL where it is
 * undefined (the clean and corrupted logit differences are equal). Replaced whole per run when the
 * analysis reruns. */
static const char schema_v5[] =
    "CREATE TABLE IF NOT EXISTS patch_grid (\n"
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
    "  component TEXT NOT NULL CHECK (component IN ('z', 'q', 'k', 'v', 'attn_out', 'mlp_out', 'resid_pre')),\n"
    "  metric TEXT NOT NULL,\n"
    "  layer INTEGER NOT NULL CHECK (layer >= 0),\n"
    "  head INTEGER CHECK (head >= 0),\n"
    "  pos INTEGER CHECK (pos >= 0),\n"
    "  value REAL,\n"
    "  n_prompts INTEGER NOT NULL\n"
    ");\n"
    "CREATE UNIQUE INDEX IF NOT EXISTS patch_grid_key ON patch_grid\n"
    "  (run_id, component, metric, layer, coalesce(head, -1), coalesce(pos, -1));\n";

static int migrate_4_to_5(sqlite3 *db)
{
    return sqlite3_exec(db, schema_v5, NULL, NULL, NULL);
}

/* migrations[v] takes a database from version v to v + 1. A later schema change appends one
 * function here and bumps HS_STORE_SCHEMA_VERSION; the step must work inside the caller's
 * transaction (no VACUUM, no journal-mode changes). */
static const struct migration {
    int from;
    const char *what;
    int (*fn)(sqlite3 *db);
} migrations[] = {
    {0, "creating schema version 1", migrate_0_to_1},
    {1, "upgrading to schema version 2 (analysis runs, vocabulary, logit lens)", migrate_1_to_2},
    {2, "upgrading to schema version 3 (sink positions, norms, massive activations)", migrate_2_to_3},
    {3, "upgrading to schema version 4 (hook_normalized is x̂; older rows renamed hook_normalized_affine)",
     migrate_3_to_4},
    {4, "upgrading to schema version 5 (activation patching grids)", migrate_4_to_5},
};

_Static_assert(sizeof migrations / sizeof migrations[0] == HS_STORE_SCHEMA_VERSION,
               "one migration per schema version");

/* Runs a one-value integer query. */
static int query_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    return rc;
}

int hs_schema_inspect(sqlite3 *db, hs_schema_info *info)
{
    /* The catalogue first: reading it is what makes SQLite read (and judge) the file header. */
    int rc = query_int(db, "SELECT count(*) FROM sqlite_master", &info->n_objects);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA user_version", &info->version);
    if (rc == SQLITE_OK)
        rc = query_int(db, "PRAGMA application_id", &info->application_id);
    return rc;
}

hs_status hs_schema_judge(const hs_schema_info *info, const char *path, int creating, int *needs_migration,
                          hs_error *err)
{
    *needs_migration = 0;
    if (info->version > HS_STORE_SCHEMA_VERSION)
        return hs_fail(err, HS_ERR_UNSUPPORTED,
                       "%s: schema version %d was written by a newer headscope (this one reads up to %d)", path,
                       info->version, HS_STORE_SCHEMA_VERSION);
    if (info->version < 0 || (info->version > 0 && info->application_id != HS_STORE_APPLICATION_ID) ||
        (info->application_id != 0 && info->application_id != HS_STORE_APPLICATION_ID))
        return hs_fail(err, HS_ERR_FORMAT,
                       "%s: not a headscope store (an SQLite database of another application: user_version %d, "
                       "application_id 0x%08x); refusing to touch it",
                       path, info->version, (unsigned)info->application_id);
    if (info->version == 0 && info->n_objects > 0)
        return hs_fail(err, HS_ERR_FORMAT,
                       "%s: not a headscope store (an SQLite database of %d tables, indexes or views but no "
                       "headscope schema); refusing to touch it",
                       path, info->n_objects);
    if (info->version == 0 && !creating)
        return hs_fail(err, HS_ERR_FORMAT, "%s: not a headscope store (an empty database)", path);
    if (info->version < HS_STORE_SCHEMA_VERSION) {
        if (!creating)
            return hs_fail(err, HS_ERR_UNSUPPORTED,
                           "%s: schema version %d is older than this headscope's (%d); open it for writing once "
                           "to upgrade it",
                           path, info->version, HS_STORE_SCHEMA_VERSION);
        *needs_migration = 1;
    }
    return HS_OK;
}

int hs_schema_migrate(sqlite3 *db, int from, const char **what)
{
    char sql[96];
    *what = "setting the schema version";
    for (int v = from; v < HS_STORE_SCHEMA_VERSION; v++) {
        if (v < 0 || migrations[v].from != v)
            return SQLITE_INTERNAL;
        *what = migrations[v].what;
        int rc = migrations[v].fn(db);
        if (rc != SQLITE_OK)
            return rc;
    }
    *what = "setting the schema version";
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d", HS_STORE_SCHEMA_VERSION,
             HS_STORE_APPLICATION_ID);
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}
