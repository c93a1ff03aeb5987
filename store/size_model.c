/* size_model.c — the bytes a recording's rows take in the store, from SQLite's file format: record
 * headers and serial types, the cell of each row on a b-tree leaf, overflow chains for BLOBs too big
 * for a page, and leaves filled in insertion order (appended table rows fill each leaf; index
 * entries land between others and leave room when pages split). */
#include "store/size_model.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "store/schema.h"

/* The usable bytes of a page (the store reserves none) and what SQLite keeps on one. */
#define USABLE ((int64_t)HS_STORE_PAGE_SIZE)
#define LEAF_HEADER 8
#define INTERIOR_HEADER 12
/* How full index leaves end up, measured on recorded stores (dbstat: 0.84 to 0.93): index entries
 * go into the middle of their b-tree, and a page that splits leaves room on both halves. */
#define INDEX_FILL 0.88

static int varint_len(uint64_t v)
{
    int n = 1;
    while (v >= 0x80 && n < 9)
        v >>= 7, n++;
    return n;
}

/* One column of a record: its serial type and body length, in SQLite's record format. */
typedef struct column {
    int64_t type, body;
} column;

static column col_null(void)
{
    return (column){0, 0};
}

static column col_int(int64_t v)
{
    if (v == 0 || v == 1)
        return (column){8 + v, 0}; /* the constants 0 and 1 take no body (schema format 4) */
    uint64_t u = v < 0 ? ~(uint64_t)v : (uint64_t)v;
    static const struct { uint64_t max; int type, bytes; } sizes[] = {
        {0x7f, 1, 1}, {0x7fff, 2, 2}, {0x7fffff, 3, 3}, {0x7fffffff, 4, 4}, {0x7fffffffffffULL, 5, 6}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (u <= sizes[i].max)
            return (column){sizes[i].type, sizes[i].bytes};
    return (column){6, 8};
}

static column col_text(int64_t len)
{
    return len < 0 ? col_null() : (column){2 * len + 13, len};
}

static column col_blob(int64_t len)
{
    return (column){2 * len + 12, len};
}

static column col_real(void)
{
    return (column){7, 8};
}

/* Bytes of a record: its header (its own length, then one serial type per column) and the bodies. */
static int64_t record_bytes(const column *c, int n)
{
    int64_t types = 0, body = 0;
    for (int i = 0; i < n; i++) {
        types += varint_len((uint64_t)c[i].type);
        body += c[i].body;
    }
    int64_t header = types + varint_len((uint64_t)types + 1);
    return header + body;
}

/* Adds one cell holding a record of `payload` bytes (with its rowid on a table b-tree). The limits
 * are SQLite's: a payload beyond max_local keeps min_local to (almost) max_local bytes on the leaf
 * and chains the rest through whole overflow pages. */
static void btree_add(hs_size_btree *b, int64_t payload, int64_t rowid)
{
    int64_t max_local = b->index ? (USABLE - 12) * 64 / 255 - 23 : USABLE - 35;
    int64_t min_local = (USABLE - 12) * 32 / 255 - 23;
    int64_t local = payload;
    if (payload > max_local) {
        int64_t surplus = min_local + (payload - min_local) % (USABLE - 4);
        local = surplus <= max_local ? surplus : min_local;
        b->overflow += (payload - local + USABLE - 5) / (USABLE - 4);
    }
    int64_t cell = varint_len((uint64_t)payload) + (b->index ? 0 : varint_len((uint64_t)rowid)) + local +
                   (local < payload ? 4 : 0);
    if (cell < 4)
        cell = 4;
    cell += 2; /* its pointer in the page's cell array */
    int64_t room = b->index ? (int64_t)((double)(USABLE - LEAF_HEADER) * INDEX_FILL) : USABLE - LEAF_HEADER;
    if (b->used > 0 && b->used + cell > room) {
        b->leaves++;
        b->used = 0;
    }
    b->used += cell;
    b->cell_bytes += cell;
    b->cells++;
}

/* Pages of a b-tree beyond its root: the leaves, one interior cell per leaf (a child pointer and a
 * rowid, or for an index a whole key) on interior pages, and the overflow chains. */
static int64_t btree_new_pages(const hs_size_btree *b)
{
    int64_t leaves = b->leaves + (b->used > 0);
    if (leaves == 0)
        return 0;
    int64_t interior = 0;
    if (leaves > 1) {
        int64_t per_leaf = b->index ? b->cell_bytes / b->cells + 4 : 4 + 9 + 2;
        for (int64_t level = leaves; level > 1;) {
            level = (level * per_leaf + USABLE - INTERIOR_HEADER - 1) / (USABLE - INTERIOR_HEADER);
            interior += level;
        }
    }
    return leaves + interior + b->overflow - 1;
}

void hs_size_model_init(hs_size_model *sm)
{
    memset(sm, 0, sizeof *sm);
    sm->activations_slice.index = sm->activations_by_hook.index = 1;
    sm->prompts_run_idx.index = sm->tokens.index = sm->tokens_run.index = 1;
    sm->head_scores_by_metric.index = sm->head_scores_prompt.index = 1;
    sm->next_rowid = 1;
}

static int64_t text_len(const char *s)
{
    return s ? (int64_t)strlen(s) : -1;
}

void hs_size_model_prompt(hs_size_model *sm, int64_t run_id, const hs_prompt_row *p)
{
    int64_t id = sm->next_rowid++;
    /* id is the rowid (stored as NULL in the record), then the columns of schema.c */
    column c[12] = {col_null(), col_int(run_id), col_int(p->idx), col_text(text_len(p->ext_id)),
                    col_text(text_len(p->text)), col_text(text_len(p->meta_json)), col_text(text_len(p->clean)),
                    col_text(text_len(p->corrupted)), col_text(text_len(p->answer)), col_text(text_len(p->wrong)),
                    col_text(text_len(p->image)), col_int(p->n_tokens)};
    btree_add(&sm->prompts, record_bytes(c, 12), id);
    column k[3] = {col_int(run_id), col_int(p->idx), col_int(id)};
    btree_add(&sm->prompts_run_idx, record_bytes(k, 3), 0);
}

void hs_size_model_token(hs_size_model *sm, int64_t run_id, int64_t prompt_id, int pos, int32_t token_id,
                         int text_len)
{
    /* WITHOUT ROWID: the primary key's columns first, then the others */
    column c[6] = {col_int(prompt_id), col_int(pos), col_int(run_id), col_int(token_id), col_text(text_len),
                   col_int(0)};
    btree_add(&sm->tokens, record_bytes(c, 6), 0);
    column k[3] = {col_int(run_id), col_int(prompt_id), col_int(pos)};
    btree_add(&sm->tokens_run, record_bytes(k, 3), 0);
}

void hs_size_model_activation(hs_size_model *sm, int64_t run_id, int64_t prompt_id, const char *hook, int layer,
                              int head, const char *dtype, int shape_len, int positions_len, size_t blob_bytes)
{
    int64_t rowid = sm->next_rowid++;
    column l = layer < 0 ? col_null() : col_int(layer), h = head < 0 ? col_null() : col_int(head);
    column c[9] = {col_int(run_id), col_int(prompt_id), col_text(text_len(hook)), l, h, col_text(text_len(dtype)),
                   col_text(shape_len), col_text(positions_len), col_blob((int64_t)blob_bytes)};
    btree_add(&sm->activations, record_bytes(c, 9), rowid);
    column slice[5] = {col_int(prompt_id), col_text(text_len(hook)), col_int(layer), col_int(head), col_int(rowid)};
    btree_add(&sm->activations_slice, record_bytes(slice, 5), 0);
    column by_hook[5] = {col_int(run_id), col_text(text_len(hook)), l, h, col_int(rowid)};
    btree_add(&sm->activations_by_hook, record_bytes(by_hook, 5), 0);
}

void hs_size_model_head_score(hs_size_model *sm, int64_t run_id, const char *analysis, const char *metric,
                              int layer, int head, int64_t prompt_id)
{
    int64_t rowid = sm->next_rowid++;
    column l = layer < 0 ? col_null() : col_int(layer), h = head < 0 ? col_null() : col_int(head);
    column p = prompt_id < 0 ? col_null() : col_int(prompt_id);
    column c[7] = {col_int(run_id), col_text(text_len(analysis)), col_text(text_len(metric)), l, h, p, col_real()};
    btree_add(&sm->head_scores, record_bytes(c, 7), rowid);
    column by_metric[6] = {col_int(run_id), col_text(text_len(analysis)), col_text(text_len(metric)), l, h,
                           col_int(rowid)};
    btree_add(&sm->head_scores_by_metric, record_bytes(by_metric, 6), 0);
    column by_prompt[2] = {p, col_int(rowid)};
    btree_add(&sm->head_scores_prompt, record_bytes(by_prompt, 2), 0);
}

/* Sums over the b-trees a recording fills: new pages, or (rows != 0) the bytes of the rows. */
static int64_t sum_trees(const hs_size_model *sm, int rows)
{
    const hs_size_btree *trees[] = {&sm->activations, &sm->activations_slice, &sm->activations_by_hook,
                                    &sm->prompts, &sm->prompts_run_idx, &sm->tokens, &sm->tokens_run,
                                    &sm->head_scores, &sm->head_scores_by_metric, &sm->head_scores_prompt};
    int64_t sum = 0;
    for (size_t i = 0; i < sizeof trees / sizeof trees[0]; i++)
        sum += rows ? trees[i]->cell_bytes + trees[i]->overflow * USABLE : btree_new_pages(trees[i]) * USABLE;
    return sum;
}

int64_t hs_size_model_bytes(const hs_size_model *sm)
{
    return sum_trees(sm, 0);
}

int64_t hs_size_model_row_bytes(const hs_size_model *sm)
{
    return sum_trees(sm, 1);
}

void hs_size_format(int64_t bytes, char *buf, size_t cap)
{
    static const char *const unit[] = {"kB", "MB", "GB", "TB", "PB"};
    if (bytes < 1000) {
        snprintf(buf, cap, "%lld bytes", (long long)bytes);
        return;
    }
    double v = (double)bytes / 1000;
    int u = 0;
    while (v >= 999.5 && u < 4)
        v /= 1000, u++;
    snprintf(buf, cap, v < 9.995 ? "%.2f %s" : v < 99.95 ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

hs_status hs_size_model_empty_store(int64_t *bytes, hs_error *err)
{
    *bytes = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA page_size = %d", HS_STORE_PAGE_SIZE);
    const char *what = "opening an in-memory database";
    int rc = sqlite3_open(":memory:", &db);
    if (rc == SQLITE_OK) {
        what = "setting its page size";
        rc = sqlite3_exec(db, pragma, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK) {
        what = "starting a transaction";
        rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = hs_schema_migrate(db, 0, &what);
    if (rc == SQLITE_OK) {
        what = "counting its pages";
        rc = sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, NULL);
    }
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *bytes = sqlite3_column_int64(st, 0) * HS_STORE_PAGE_SIZE;
        rc = SQLITE_OK;
    }
    hs_status status = HS_OK;
    if (rc != SQLITE_OK)
        status = hs_fail(err, HS_ERR_INTERNAL, "estimating a new store's size: %s: %s", what,
                         db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_finalize(st);
    sqlite3_close(db); /* rolls the schema back: nothing of it outlives the count */
    return status;
}
