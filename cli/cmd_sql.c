/* cmd_sql.c — `headscope sql DB SQL [--csv | --json]`: runs one or more SQL statements on a store,
 * read-only, with the tensor functions of store/sqlext.h registered, and prints each result set as
 * aligned columns (the default, like `sqlite3 -column -header`), RFC 4180 CSV, or one JSON object
 * per row. BLOB cells print as a description, never as bytes. */
#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/tensor_blob.h"
#include "store/sqlext.h"
#include "cli/commands.h"

typedef enum out_mode { OUT_COLUMNS, OUT_CSV, OUT_JSON } out_mode;

/* A BLOB cell as printed: "<tensor f16 [64,64]>" when it parses as a tensor, else "<blob N bytes>". */
static void describe_blob(const void *p, int n, char *buf, size_t cap)
{
    hs_blob_view v;
    if (!p || hs_blob_parse(p, (size_t)n, &v) != 0) {
        snprintf(buf, cap, "<blob %d bytes>", n);
        return;
    }
    char dt[8];
    snprintf(dt, sizeof dt, "%s", hs_dtype_name(v.dtype));
    for (char *q = dt; *q; q++)
        *q = (char)tolower((unsigned char)*q);
    size_t len = (size_t)snprintf(buf, cap, "<tensor %s [", dt);
    for (int i = 0; i < v.ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? "," : "", (long long)v.shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]>");
}

/* Column i of the current row as text (NULL for SQL NULL); blob descriptions go to buf. The
 * pointer is valid until the next step or the next call for this column. */
static const char *cell_text(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: return NULL;
    case SQLITE_BLOB:
        describe_blob(sqlite3_column_blob(st, i), sqlite3_column_bytes(st, i), buf, cap);
        return buf;
    default: return (const char *)sqlite3_column_text(st, i);
    }
}

/* ---------------------------------------------------------------- CSV and JSON: streamed */

static void csv_field(const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void json_value(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: fputs("null", stdout); break;
    case SQLITE_INTEGER: fputs((const char *)sqlite3_column_text(st, i), stdout); break;
    case SQLITE_FLOAT: {
        double d = sqlite3_column_double(st, i);
        /* JSON has no infinity: write it as SQLite's json functions do, a number that overflows */
        if (isinf(d))
            fputs(d > 0 ? "9e999" : "-9e999", stdout);
        else
            fputs((const char *)sqlite3_column_text(st, i), stdout);
        break;
    }
    default: cli_print_json_string(stdout, cell_text(st, i, buf, cap)); break;
    }
}

/* ---------------------------------------------------------------- columns: buffered for widths */

typedef struct table {
    int nCol;
    size_t nRow, nCap;     /* data rows held, and rows allocated (header included) */
    char **aCell;          /* [nCap, nCol], NULL beyond what is held: row 0 is the header, then the
                            * rows; a NULL cell is SQL NULL */
    unsigned char *aRight; /* [nRow + 1, nCol]: right-align (numbers) */
} table;

static void table_free(table *t)
{
    for (size_t i = 0; t->aCell && i < t->nCap * (size_t)t->nCol; i++)
        free(t->aCell[i]);
    free(t->aCell);
    free(t->aRight);
}

/* Appends the current row (or the header when header is non-zero). Returns 0, or -1 when out of memory. */
static int table_add(table *t, sqlite3_stmt *st, int header)
{
    size_t row = header ? 0 : t->nRow + 1;
    if (row + 1 > t->nCap) {
        size_t cap = t->nCap ? 2 * t->nCap : 64;
        char **cells = realloc(t->aCell, cap * (size_t)t->nCol * sizeof *cells);
        if (!cells)
            return -1;
        memset(cells + t->nCap * (size_t)t->nCol, 0, (cap - t->nCap) * (size_t)t->nCol * sizeof *cells);
        t->aCell = cells;
        unsigned char *right = realloc(t->aRight, cap * (size_t)t->nCol);
        if (!right)
            return -1;
        t->aRight = right;
        t->nCap = cap;
    }
    char buf[128];
    for (int i = 0; i < t->nCol; i++) {
        const char *s = header ? sqlite3_column_name(st, i) : cell_text(st, i, buf, sizeof buf);
        int type = header ? SQLITE_TEXT : sqlite3_column_type(st, i);
        char *copy = NULL;
        if (s && !(copy = strdup(s))) {
            while (i-- > 0) {
                free(t->aCell[row * (size_t)t->nCol + (size_t)i]);
                t->aCell[row * (size_t)t->nCol + (size_t)i] = NULL;
            }
            return -1;
        }
        t->aCell[row * (size_t)t->nCol + (size_t)i] = copy;
        t->aRight[row * (size_t)t->nCol + (size_t)i] = type == SQLITE_INTEGER || type == SQLITE_FLOAT;
    }
    if (!header)
        t->nRow++;
    return 0;
}

/* Display width: UTF-8 code points, a fair guess for the terminal. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; s && *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void print_padded(const char *s, size_t width, int right, int last)
{
    size_t w = text_width(s), pad = width > w ? width - w : 0;
    if (right)
        printf("%*s", (int)pad, "");
    fputs(s ? s : "", stdout);
    if (!right && !last)
        printf("%*s", (int)pad, "");
}

static void table_print(const table *t)
{
    size_t *width = calloc((size_t)t->nCol, sizeof *width);
    if (!width)
        return;
    for (size_t r = 0; r <= t->nRow; r++)
        for (int i = 0; i < t->nCol; i++) {
            size_t w = text_width(t->aCell[r * (size_t)t->nCol + (size_t)i]);
            if (w > width[i])
                width[i] = w;
        }
    for (size_t r = 0; r <= t->nRow; r++) {
        for (int i = 0; i < t->nCol; i++) {
            size_t k = r * (size_t)t->nCol + (size_t)i;
            if (i)
                fputs("  ", stdout);
            print_padded(t->aCell[k], width[i], t->aRight[k], i == t->nCol - 1);
        }
        putchar('\n');
        if (r == 0) {
            for (int i = 0; i < t->nCol; i++) {
                if (i)
                    fputs("  ", stdout);
                for (size_t j = 0; j < width[i]; j++)
                    putchar('-');
            }
            putchar('\n');
        }
    }
    free(width);
}

/* ---------------------------------------------------------------- statements */

/* Steps st to the end, printing its rows. *nSets counts the result sets printed so far (they are
 * separated by a blank line). Returns 0, or 1 after printing the error. */
static int run_statement(const char *path, sqlite3 *db, sqlite3_stmt *st, out_mode mode, int *nSets)
{
    int nCol = sqlite3_column_count(st);
    table t = {.nCol = nCol};
    char buf[128];
    int rc, status = 0;
    if (nCol > 0 && mode == OUT_COLUMNS && table_add(&t, st, 1) != 0)
        goto nomem;
    if (nCol > 0 && mode == OUT_CSV) {
        if ((*nSets)++)
            fputs("\r\n", stdout);
        for (int i = 0; i < nCol; i++) {
            if (i)
                putchar(',');
            csv_field(sqlite3_column_name(st, i));
        }
        fputs("\r\n", stdout);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (mode == OUT_COLUMNS) {
            if (table_add(&t, st, 0) != 0)
                goto nomem;
            continue;
        }
        if (mode == OUT_CSV) {
            for (int i = 0; i < nCol; i++) {
                if (i)
                    putchar(',');
                csv_field(cell_text(st, i, buf, sizeof buf));
            }
            fputs("\r\n", stdout);
        } else {
            putchar('{');
            for (int i = 0; i < nCol; i++) {
                if (i)
                    fputs(", ", stdout);
                cli_print_json_string(stdout, sqlite3_column_name(st, i));
                fputs(": ", stdout);
                json_value(st, i, buf, sizeof buf);
            }
            fputs("}\n", stdout);
        }
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "headscope sql: %s: %s\n", path, sqlite3_errmsg(db));
        status = 1;
    } else if (mode == OUT_COLUMNS && nCol > 0) {
        if ((*nSets)++)
            putchar('\n');
        table_print(&t);
    }
    goto done;
nomem:
    fprintf(stderr, "headscope sql: out of memory holding the rows (try --csv or --json, which stream)\n");
    status = 1;
done:
    table_free(&t);
    return status;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: headscope sql DB SQL [--csv | --json]\n"
            "Runs SQL (one or more statements separated by ';') on the store DB, opened read-only, with\n"
            "the tensor functions registered: tensor_shape, tensor_dtype, tensor_numel, tensor_get,\n"
            "tensor_sum, tensor_mean, tensor_max, tensor_min, tensor_norm, tensor_dot, tensor_argmax and\n"
            "the table-valued tensor_each(idx, i0..i4, value).\n"
            "Output: aligned columns under a header (default); --csv: RFC 4180 CSV with a header;\n"
            "--json: one JSON object per row. BLOB cells print as <tensor f16 [64,64]> or <blob N bytes>.\n"
            "example:\n"
            "  headscope sql run.db \"SELECT layer, head, tensor_max(data) FROM activations\n"
            "                        WHERE hook = 'attn.hook_pattern' AND layer = 0 LIMIT 5\"\n");
}

int cmd_sql(int argc, char **argv)
{
    out_mode mode = OUT_COLUMNS;
    static const struct option opts[] = {
        {"csv", no_argument, 0, 'c'}, {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': mode = OUT_CSV; break;
        case 'j': mode = OUT_JSON; break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
    }
    if (optind != argc - 2) {
        fprintf(stderr, "headscope sql: give a database and one SQL string\n");
        usage(stderr);
        return 2;
    }
    const char *path = argv[optind], *sql = argv[optind + 1];
    sqlite3 *db = NULL;
    int status = 0, nSets = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "headscope sql: %s: %s\n", path, db ? sqlite3_errmsg(db) : "out of memory");
        status = 1;
        goto done;
    }
    sqlite3_busy_timeout(db, 5000); /* a run may be committing a prompt */
    int rc = hs_sqlext_register(db);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "headscope sql: %s: registering the tensor functions: %s\n", path, sqlite3_errstr(rc));
        status = 1;
        goto done;
    }
    for (const char *tail = sql; tail && *tail && !status;) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) != SQLITE_OK) {
            fprintf(stderr, "headscope sql: %s: %s\n", path, sqlite3_errmsg(db));
            status = 1;
            break;
        }
        if (!st) /* only whitespace or a comment was left */
            continue;
        status = run_statement(path, db, st, mode, &nSets);
        sqlite3_finalize(st);
    }
done:
    sqlite3_close(db);
    return status;
}
