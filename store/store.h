/* store.h — the SQLite activation store: schema and its version, runs and their resumption,
 * and the rows an instrumented run writes (prompts, tokens, activations, head scores).
 *
 * Schema version 5 (PRAGMA user_version = 5), documented for users in README.md. Version 1:
 *   models(id, path, sha256, architecture, n_layers, n_heads, n_kv_heads, d_model, d_head, d_mlp,
 *          d_vocab, n_ctx, dtype)                                 UNIQUE(path, sha256)
 *   runs(id, model_id, model_path, model_sha256, architecture, tool_version, options (JSON), dtype,
 *        backend, prompts_path, prompts_sha256, started_at, finished_at (NULL while unfinished))
 *   prompts(id, run_id, idx (0-based line order of the prompt set), ext_id, text, meta (JSON),
 *           clean, corrupted, answer, wrong, image, n_tokens)    UNIQUE(run_id, idx)
 *   tokens(run_id, prompt_id, pos, token_id, text, is_image)      PRIMARY KEY(prompt_id, pos)
 *   activations(run_id, prompt_id, hook, layer, head, dtype, shape (JSON), positions (JSON), data BLOB)
 *           hook: TransformerLens kind name ("attn.hook_pattern", "hook_resid_post", "hook_embed");
 *           layer: NULL outside blocks; head: NULL for hooks without heads or stored whole;
 *           positions: the (query) positions kept, as a JSON array, NULL when all were kept;
 *           data: a tensor BLOB (base/tensor_blob.h) of the slice's shape (head dimension removed
 *           when head is not NULL)                               UNIQUE(prompt_id, hook, layer, head)
 *   head_scores(run_id, analysis, metric, layer, head, prompt_id (NULL = over the prompt set), value)
 * Version 2 adds (store/schema.c migrates a version-1 store in place):
 *   analysis_runs(id, run_id, analysis, options (JSON), model_path, model_sha256, tool_version,
 *           started_at, finished_at (NULL while unfinished))     UNIQUE(run_id, analysis)
 *   vocab(model_id, token_id, text)                               PRIMARY KEY(model_id, token_id)
 *   logit_lens(run_id, prompt_id, layer, pos, top_id, top_prob, topk_ids (JSON), topk_probs (JSON),
 *           target_id, target_rank, target_prob, logit_diff, kl) PRIMARY KEY(prompt_id, layer, pos)
 *   lens_prompts(run_id, prompt_id, pos, answer_id, wrong_id, logit_diff, scale)
 *   dla(run_id, prompt_id, component, layer, head, value)        UNIQUE(prompt_id, component, layer, head)
 *   component_lens(run_id, prompt_id, pos, layer, head, neuron, activation, norm, promoted_ids,
 *           promoted_logits, suppressed_ids, suppressed_logits)  UNIQUE(prompt_id, layer, head, neuron)
 *   (analyses/lens/logit_lens_run.h describes what the lens tables hold.)
 * Version 3 adds the tables of `analyze sinks` (sink_positions, position_norms, massive_activations,
 * sink_dims). Version 4 changes no table: from it on, activations named ln1/ln2/ln_final.hook_normalized
 * hold x̂ = (x - mean) / scale (before the norm's gain and bias); the x̂·w + b an older store holds
 * under that name is renamed ln*.hook_normalized_affine by the upgrade (store/schema.c). Version 5 adds
 *   patch_grid(run_id, component, metric, layer, head, pos, value, n_prompts): activation patching
 *           (analyses/circuits/patch_run.h)  UNIQUE(run_id, component, metric, layer, head, pos)
 * Concurrency: WAL journal; one transaction per prompt, so a run killed at any moment leaves every
 * prompt either completely recorded or absent, and readers see only completed prompts. */
#ifndef HS_STORE_STORE_H
#define HS_STORE_STORE_H

#include <sqlite3.h>

#include "headscope.h"
#include "base/dtype.h"

#define HS_STORE_SCHEMA_VERSION 5
/* The page size of a new store (store.c sets it before the schema; store/size_model.c prices rows
 * with it). */
#define HS_STORE_PAGE_SIZE 65536

typedef struct hs_store hs_store;

typedef enum hs_store_mode {
    HS_STORE_CREATE,   /* read-write; creates the file and schema when absent */
    HS_STORE_READONLY  /* read-only; the file must exist and have a schema this build knows */
} hs_store_mode;

/* Opens (and in CREATE mode creates or migrates) a store. `vfs` names an SQLite VFS, NULL for the
 * default (tests pass the fault-injecting VFS of store/fault_vfs.h). Refuses, with a message
 * naming the file: a schema newer than HS_STORE_SCHEMA_VERSION ("written by a newer headscope"),
 * a file that is not an SQLite database or not a headscope store, a read-only or locked file in
 * CREATE mode. The SQL extension (store/sqlext.h) is registered on the connection. */
hs_status hs_store_open(const char *path, hs_store_mode mode, const char *vfs, hs_store **out, hs_error *err);
/* Closes; NULL is a no-op. An open transaction is rolled back. */
void hs_store_close(hs_store *s);
/* The underlying connection (owned by the store) for queries. */
sqlite3 *hs_store_db(hs_store *s);

/* What identifies a run: the same model bytes, prompt-set bytes and options make the same run. */
typedef struct hs_run_desc {
    const char *model_path, *model_sha256, *architecture;
    int n_layers, n_heads, n_kv_heads, d_model, d_head, d_mlp, d_vocab, n_ctx;
    const char *model_dtype;    /* stored weights, e.g. "F32" */
    const char *tool_version;
    const char *options_json;   /* canonical JSON of the recording options */
    const char *dtype;          /* stored activation dtype: "f16", "f32", "bf16" */
    const char *backend;        /* "cpu", ... */
    const char *prompts_path, *prompts_sha256;
} hs_run_desc;

typedef enum hs_run_state {
    HS_RUN_NEW,       /* no such run: created */
    HS_RUN_RESUMED,   /* an unfinished identical run exists: continue it */
    HS_RUN_COMPLETE   /* an identical run already finished: nothing to do */
} hs_run_state;

/* Finds the run matching desc (model_sha256, prompts_sha256, options_json, dtype, backend) or
 * creates it (and its models row) in one transaction. */
hs_status hs_store_run_open(hs_store *s, const hs_run_desc *desc, int64_t *run_id, hs_run_state *state,
                            hs_error *err);
/* Only looks: the run matching desc as hs_store_run_open would find it (*state RESUMED or
 * COMPLETE), or *state NEW and *run_id -1 when there is none. Writes nothing. */
hs_status hs_store_run_find(hs_store *s, const hs_run_desc *desc, int64_t *run_id, hs_run_state *state,
                            hs_error *err);
/* Sets finished_at. */
hs_status hs_store_run_finish(hs_store *s, int64_t run_id, hs_error *err);
/* *done = 1 when prompt idx of the run is recorded (its transaction committed). */
hs_status hs_store_prompt_recorded(hs_store *s, int64_t run_id, int idx, int *done, hs_error *err);

/* One prompt's rows go between begin and commit. On any failure call rollback: nothing of the
 * prompt remains. */
hs_status hs_store_begin(hs_store *s, hs_error *err);
hs_status hs_store_commit(hs_store *s, hs_error *err);
void hs_store_rollback(hs_store *s);

typedef struct hs_prompt_row {
    int idx;
    const char *ext_id, *text, *meta_json;             /* ext_id, meta_json may be NULL */
    const char *clean, *corrupted, *answer, *wrong, *image; /* each may be NULL */
    int n_tokens;
} hs_prompt_row;

hs_status hs_store_put_prompt(hs_store *s, int64_t run_id, const hs_prompt_row *p, int64_t *prompt_id,
                              hs_error *err);
hs_status hs_store_put_token(hs_store *s, int64_t run_id, int64_t prompt_id, int pos, int32_t token_id,
                             const char *text, int is_image, hs_error *err);
/* values [numel(shape)] float32 are converted to dtype on the way in. layer/head -1 mean NULL;
 * positions_json NULL means all positions were kept. */
hs_status hs_store_put_activation(hs_store *s, int64_t run_id, int64_t prompt_id, const char *hook, int layer,
                                  int head, const char *positions_json, hs_dtype dtype, int ndim,
                                  const int64_t *shape, const float *values, hs_error *err);
/* layer/head -1 mean NULL; prompt_id -1 means NULL (a score over the whole prompt set). */
hs_status hs_store_put_head_score(hs_store *s, int64_t run_id, const char *analysis, const char *metric, int layer,
                                  int head, int64_t prompt_id, double value, hs_error *err);

#endif
