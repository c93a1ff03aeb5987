/* size_model.h — what the rows of a recording take on disk, before they are written: SQLite's
 * record format and b-tree pages at the store's page size (cells packed on leaves in the order a
 * run inserts them, BLOBs past a page in overflow chains, the index entries of every row), so a run
 * can say how big it will make the store and refuse when that does not fit.
 *
 * The model follows the schema of store/schema.c (the activations, prompts, tokens and head_scores
 * tables and their indexes); a test records real stores and compares. Pages already in a store
 * (each table's root, a last page with room left) are not counted, so the figure for an existing
 * store errs high by at most a page per table. */
#ifndef HS_STORE_SIZE_MODEL_H
#define HS_STORE_SIZE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "headscope.h"
#include "store/store.h"

/* One b-tree: its full leaves so far, the bytes used on the leaf being filled, overflow pages. */
typedef struct hs_size_btree {
    int64_t leaves, overflow, cells;
    int64_t cell_bytes; /* of every cell, with its pointer */
    int64_t used;      /* bytes of cells on the last leaf */
    int index;         /* an index b-tree (or WITHOUT ROWID table): other payload limits, and pages
                        * that split rather than fill in order */
} hs_size_btree;

typedef struct hs_size_model {
    hs_size_btree activations, activations_slice, activations_by_hook;
    hs_size_btree prompts, prompts_run_idx, tokens, tokens_run;
    hs_size_btree head_scores, head_scores_by_metric, head_scores_prompt;
    int64_t next_rowid;   /* a stand-in for the rowids and prompt ids the rows will get */
} hs_size_model;

void hs_size_model_init(hs_size_model *sm);

/* One row of each table, as hs_store_put_prompt / _put_token / _put_activation / _put_head_score
 * would write it. Lengths are in bytes; a NULL text is length -1. */
void hs_size_model_prompt(hs_size_model *sm, int64_t run_id, const hs_prompt_row *p);
void hs_size_model_token(hs_size_model *sm, int64_t run_id, int64_t prompt_id, int pos, int32_t token_id,
                         int text_len);
void hs_size_model_activation(hs_size_model *sm, int64_t run_id, int64_t prompt_id, const char *hook, int layer,
                              int head, const char *dtype, int shape_len, int positions_len, size_t blob_bytes);
void hs_size_model_head_score(hs_size_model *sm, int64_t run_id, const char *analysis, const char *metric,
                              int layer, int head, int64_t prompt_id);

/* The bytes the rows added so far take: new pages (beyond each b-tree's root) times the page size. */
int64_t hs_size_model_bytes(const hs_size_model *sm);
/* The bytes of the rows themselves (cells and overflow chains), without the room pages leave: a
 * share per row that stays meaningful when the rows fit in pages a store already has. */
int64_t hs_size_model_row_bytes(const hs_size_model *sm);

/* A size for people, in decimal units with three significant digits: "812 bytes", "2.43 MB". */
void hs_size_format(int64_t bytes, char *buf, size_t cap);

/* The size of a new, empty store (every table's and index's root page): built in memory. */
hs_status hs_size_model_empty_store(int64_t *bytes, hs_error *err);

#endif
