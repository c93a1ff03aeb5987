/* test_sqlext.c — the SQL functions over tensor BLOBs (store/sqlext.h) against values computed here
 * from hs_blob_get, the plain reference: every function in f32, f16 and bf16, indexing, tensor_each,
 * the errors and NULLs, the function flags, a large tensor; then `headscope sql` and the loadable module
 * in the sqlite3 program as a user runs them. */
#include <libgen.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/tensor_blob.h"
#include "store/sqlext.h"
#include "tests/test.h"

/* ---------------------------------------------------------------- helpers */

typedef struct blob {
    unsigned char *p;
    size_t n;
} blob;

/* Encodes values [numel(shape)] as a tensor BLOB (malloc'd; free .p). */
static blob make_blob(hs_dtype dt, int ndim, const int64_t *shape, const float *values)
{
    blob b = {0};
    b.n = hs_blob_size(dt, ndim, shape);
    b.p = malloc(b.n ? b.n : 1);
    if (b.p && hs_blob_encode(b.p, dt, ndim, shape, values) != b.n)
        b.n = 0;
    return b;
}

/* Deterministic values in [-2, 2) from an LCG. */
static void fill(float *x, int64_t n, uint32_t seed)
{
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)((seed >> 8) & 0xffff) / 16384.0f - 2.0f;
    }
}

/* The one-row, one-column result of a query with up to two BLOB parameters. */
typedef struct result {
    int rc;        /* SQLITE_ROW, SQLITE_DONE, or the error */
    int type;      /* SQLITE_NULL, SQLITE_INTEGER, ... */
    double d;
    sqlite3_int64 i;
    char text[512]; /* the text of the value, or the error message */
} result;

static result q(sqlite3 *db, const char *sql, const blob *a, const blob *b)
{
    result r = {0};
    sqlite3_stmt *st = NULL;
    r.rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (r.rc != SQLITE_OK) {
        snprintf(r.text, sizeof r.text, "%s", sqlite3_errmsg(db));
        return r;
    }
    if (a)
        sqlite3_bind_blob(st, 1, a->p, (int)a->n, SQLITE_STATIC);
    if (b)
        sqlite3_bind_blob(st, 2, b->p, (int)b->n, SQLITE_STATIC);
    r.rc = sqlite3_step(st);
    if (r.rc == SQLITE_ROW) {
        r.type = sqlite3_column_type(st, 0);
        r.d = sqlite3_column_double(st, 0);
        r.i = sqlite3_column_int64(st, 0);
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(r.text, sizeof r.text, "%s", t ? (const char *)t : "");
    } else {
        snprintf(r.text, sizeof r.text, "%s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return r;
}

static sqlite3 *open_mem(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || hs_sqlext_register(db) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* Checks a query fails with a message containing each of the given fragments. */
#define CHECK_SQL_ERROR(db, sql, a, b, ...)                                                          \
    do {                                                                                             \
        result r_ = q(db, sql, a, b);                                                                \
        CHECK_MSG(r_.rc != SQLITE_ROW && r_.rc != SQLITE_DONE, "%s: no error", sql);                 \
        const char *frags_[] = {__VA_ARGS__};                                                        \
        for (size_t f_ = 0; f_ < sizeof frags_ / sizeof frags_[0]; f_++)                             \
            CHECK_MSG(strstr(r_.text, frags_[f_]), "%s: message '%s' lacks '%s'", sql, r_.text,      \
                      frags_[f_]);                                                                   \
    } while (0)

/* Reference reductions over the decoded elements, accumulated in double in element order. */
typedef struct ref_stats {
    double sum, sumsq;
    float max, min;
    int64_t argmax;
} ref_stats;

static ref_stats reference(const blob *b)
{
    hs_blob_view v;
    ref_stats s = {0};
    if (hs_blob_parse(b->p, b->n, &v) != 0 || v.numel == 0)
        return s;
    s.max = s.min = hs_blob_get(&v, 0);
    for (int64_t i = 0; i < v.numel; i++) {
        float x = hs_blob_get(&v, i);
        s.sum += x;
        s.sumsq += (double)x * x;
        if (x > s.max) {
            s.max = x;
            s.argmax = i;
        }
        if (x < s.min)
            s.min = x;
    }
    return s;
}

/* ---------------------------------------------------------------- values */

int test_sqlext_values(void)
{
    sqlite3 *db = open_mem();
    CHECK(db);
    static const hs_dtype dts[] = {HS_DTYPE_F32, HS_DTYPE_F16, HS_DTYPE_BF16};
    static const char *dt_names[] = {"f32", "f16", "bf16"};
    /* a small 3-D tensor and one that spans several conversion chunks */
    static const int64_t shapes[][3] = {{3, 5, 7}, {50, 61, 1}};
    static const int ndims[] = {3, 2};
    for (int s = 0; s < 2; s++) {
        int64_t n = shapes[s][0] * shapes[s][1] * shapes[s][2];
        float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
        CHECK(x && y);
        fill(x, n, 1u + (uint32_t)s);
        fill(y, n, 7u + (uint32_t)s);
        x[n / 3] = 5.0f; /* the unique maximum */
        for (int d = 0; d < 3; d++) {
            blob a = make_blob(dts[d], ndims[s], shapes[s], x), b = make_blob(dts[(d + 1) % 3], ndims[s], shapes[s], y);
            CHECK(a.n && b.n);
            ref_stats ra = reference(&a);
            hs_blob_view va, vb;
            CHECK(hs_blob_parse(a.p, a.n, &va) == 0 && hs_blob_parse(b.p, b.n, &vb) == 0);
            double dot = 0;
            for (int64_t i = 0; i < n; i++)
                dot += (double)hs_blob_get(&va, i) * hs_blob_get(&vb, i);
            char shape_json[64];
            if (ndims[s] == 3)
                snprintf(shape_json, sizeof shape_json, "[%lld,%lld,%lld]", (long long)shapes[s][0],
                         (long long)shapes[s][1], (long long)shapes[s][2]);
            else
                snprintf(shape_json, sizeof shape_json, "[%lld,%lld]", (long long)shapes[s][0], (long long)shapes[s][1]);

            result r = q(db, "SELECT tensor_shape(?1)", &a, NULL);
            CHECK_MSG(r.rc == SQLITE_ROW && strcmp(r.text, shape_json) == 0, "shape %s, want %s", r.text, shape_json);
            r = q(db, "SELECT tensor_dtype(?1)", &a, NULL);
            CHECK_MSG(strcmp(r.text, dt_names[d]) == 0, "dtype %s", r.text);
            r = q(db, "SELECT tensor_numel(?1)", &a, NULL);
            CHECK(r.type == SQLITE_INTEGER && r.i == n);
            /* the same arithmetic in the same order: exact in every dtype */
            r = q(db, "SELECT tensor_sum(?1)", &a, NULL);
            CHECK(r.type == SQLITE_FLOAT && r.d == ra.sum);
            r = q(db, "SELECT tensor_mean(?1)", &a, NULL);
            CHECK(r.d == ra.sum / (double)n);
            r = q(db, "SELECT tensor_norm(?1)", &a, NULL);
            CHECK(r.d == sqrt(ra.sumsq));
            r = q(db, "SELECT tensor_max(?1)", &a, NULL);
            CHECK(r.d == ra.max && r.d == 5.0);
            r = q(db, "SELECT tensor_min(?1)", &a, NULL);
            CHECK(r.d == ra.min);
            r = q(db, "SELECT tensor_argmax(?1)", &a, NULL);
            CHECK(r.type == SQLITE_INTEGER && r.i == ra.argmax && r.i == n / 3);
            r = q(db, "SELECT tensor_dot(?1, ?2)", &a, &b);
            CHECK(r.d == dot);
            /* and the decoded values are the encoded ones, to the dtype's precision */
            double sum_x = 0;
            for (int64_t i = 0; i < n; i++)
                sum_x += x[i];
            double tol = d == 0 ? 1e-9 : d == 1 ? 2e-3 : 2e-2;
            CHECK_NEAR(ra.sum, sum_x, tol * (double)n);
            free(a.p);
            free(b.p);
        }
        free(x);
        free(y);
    }
    /* argmax takes the first of equal maxima; an empty tensor sums to 0 and has no mean */
    float ties[] = {1, 3, 2, 3};
    int64_t shape4[] = {4}, shape0[] = {0};
    blob t = make_blob(HS_DTYPE_F32, 1, shape4, ties), e = make_blob(HS_DTYPE_F32, 1, shape0, ties);
    CHECK(q(db, "SELECT tensor_argmax(?1)", &t, NULL).i == 1);
    CHECK(q(db, "SELECT tensor_sum(?1)", &e, NULL).d == 0.0);
    CHECK(q(db, "SELECT tensor_numel(?1)", &e, NULL).i == 0);
    CHECK(q(db, "SELECT tensor_mean(?1)", &e, NULL).type == SQLITE_NULL);
    CHECK(strcmp(q(db, "SELECT tensor_shape(?1)", &e, NULL).text, "[0]") == 0);
    free(t.p);
    free(e.p);
    sqlite3_close(db);
    return TEST_PASS;
}

/* The reductions decode float16 with their own inlined conversion: each of the 65536 bit patterns,
 * placed at a varying position of a 37-element tensor of zeros (so the sum is the element itself),
 * must read as hs_f16_to_f32 reads it (NaN as NULL); bfloat16 likewise. */
int test_sqlext_decode_all_bits(void)
{
    sqlite3 *db = open_mem();
    CHECK(db);
    int64_t shape[] = {37};
    float zeros[37] = {0};
    blob b = make_blob(HS_DTYPE_F16, 1, shape, zeros);
    CHECK(b.n);
    unsigned char *data = b.p + 12;
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT tensor_sum(?1), tensor_sum(?2)", -1, &st, NULL) == SQLITE_OK);
    blob b16 = make_blob(HS_DTYPE_BF16, 1, shape, zeros);
    unsigned char *data16 = b16.p + 12;
    for (uint32_t bits = 0; bits < 65536; bits++) {
        uint16_t h = (uint16_t)bits;
        int pos = (int)(bits % 37);
        memcpy(data + 2 * pos, &h, 2);
        memcpy(data16 + 2 * pos, &h, 2);
        sqlite3_bind_blob(st, 1, b.p, (int)b.n, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, b16.p, (int)b16.n, SQLITE_STATIC);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        float want = hs_f16_to_f32(h), want16 = hs_bf16_to_f32(h);
        if (isnan(want))
            CHECK_MSG(sqlite3_column_type(st, 0) == SQLITE_NULL, "f16 0x%04x", bits);
        else
            CHECK_MSG(sqlite3_column_double(st, 0) == (double)want, "f16 0x%04x: %.9g, want %.9g", bits,
                      sqlite3_column_double(st, 0), (double)want);
        if (isnan(want16))
            CHECK_MSG(sqlite3_column_type(st, 1) == SQLITE_NULL, "bf16 0x%04x", bits);
        else
            CHECK_MSG(sqlite3_column_double(st, 1) == (double)want16, "bf16 0x%04x", bits);
        sqlite3_reset(st);
        memset(data + 2 * pos, 0, 2);
        memset(data16 + 2 * pos, 0, 2);
    }
    sqlite3_finalize(st);
    free(b.p);
    free(b16.p);
    sqlite3_close(db);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- indexing */

int test_sqlext_get(void)
{
    sqlite3 *db = open_mem();
    CHECK(db);
    int64_t shape[] = {3, 4, 5};
    float x[60];
    fill(x, 60, 3);
    blob b = make_blob(HS_DTYPE_BF16, 3, shape, x);
    hs_blob_view v;
    CHECK(hs_blob_parse(b.p, b.n, &v) == 0);
    char sql[256];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 5; k++) {
                int64_t flat = (i * 4 + j) * 5 + k;
                double want = hs_blob_get(&v, flat);
                snprintf(sql, sizeof sql, "SELECT tensor_get(?1, %d, %d, %d)", i, j, k);
                result r = q(db, sql, &b, NULL);
                CHECK_MSG(r.type == SQLITE_FLOAT && r.d == want, "%s = %s", sql, r.text);
                /* negative indices count from the end of each dimension */
                snprintf(sql, sizeof sql, "SELECT tensor_get(?1, %d, %d, %d)", i - 3, j - 4, k - 5);
                CHECK(q(db, sql, &b, NULL).d == want);
                /* one index on a 3-D tensor is a flat index */
                snprintf(sql, sizeof sql, "SELECT tensor_get(?1, %lld)", (long long)flat);
                CHECK(q(db, sql, &b, NULL).d == want);
                snprintf(sql, sizeof sql, "SELECT tensor_get(?1, %lld)", (long long)flat - 60);
                CHECK(q(db, sql, &b, NULL).d == want);
            }
    /* an integral REAL is an index */
    CHECK(q(db, "SELECT tensor_get(?1, 2.0, 0, 0)", &b, NULL).d == hs_blob_get(&v, 40));
    /* a 1-D tensor: its one index is an index into dimension 0 */
    int64_t shape1[] = {6};
    blob b1 = make_blob(HS_DTYPE_F16, 1, shape1, x);
    hs_blob_view v1;
    CHECK(hs_blob_parse(b1.p, b1.n, &v1) == 0);
    CHECK(q(db, "SELECT tensor_get(?1, 5)", &b1, NULL).d == hs_blob_get(&v1, 5));
    CHECK(q(db, "SELECT tensor_get(?1, -6)", &b1, NULL).d == hs_blob_get(&v1, 0));
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 6)", &b1, NULL, "tensor_get: index 6 out of range for dimension 0 of size 6");
    free(b.p);
    free(b1.p);
    sqlite3_close(db);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- tensor_each */

int test_sqlext_each(void)
{
    sqlite3 *db = open_mem();
    CHECK(db);
    int64_t shape[] = {2, 3, 4, 5};
    float x[120];
    fill(x, 120, 5);
    blob b = make_blob(HS_DTYPE_F16, 4, shape, x);
    hs_blob_view v;
    CHECK(hs_blob_parse(b.p, b.n, &v) == 0);
    CHECK(q(db, "SELECT count(*) FROM tensor_each(?1)", &b, NULL).i == 120);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT idx, i0, i1, i2, i3, i4, value FROM tensor_each(?1) ORDER BY idx", -1, &st,
                             NULL) == SQLITE_OK);
    sqlite3_bind_blob(st, 1, b.p, (int)b.n, SQLITE_STATIC);
    int64_t row = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t i0 = row / 60, i1 = row / 20 % 3, i2 = row / 5 % 4, i3 = row % 5;
        CHECK(sqlite3_column_int64(st, 0) == row);
        CHECK(sqlite3_column_int64(st, 1) == i0 && sqlite3_column_int64(st, 2) == i1);
        CHECK(sqlite3_column_int64(st, 3) == i2 && sqlite3_column_int64(st, 4) == i3);
        CHECK(sqlite3_column_type(st, 5) == SQLITE_NULL); /* beyond ndim */
        CHECK(sqlite3_column_double(st, 6) == hs_blob_get(&v, row));
        row++;
    }
    sqlite3_finalize(st);
    CHECK(row == 120);
    /* aggregates over the rows agree with the scalar functions */
    CHECK(q(db, "SELECT sum(value) = tensor_sum(?1) FROM tensor_each(?1)", &b, NULL).i == 1);
    CHECK(q(db, "SELECT idx FROM tensor_each(?1) ORDER BY value DESC LIMIT 1", &b, NULL).i ==
          q(db, "SELECT tensor_argmax(?1)", &b, NULL).i);
    /* in a join, one tensor per row of a table; NULL gives no rows */
    CHECK(sqlite3_exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, data BLOB)", NULL, NULL, NULL) == SQLITE_OK);
    int64_t s1[] = {7}, s2[] = {2, 2};
    blob c1 = make_blob(HS_DTYPE_F32, 1, s1, x), c2 = make_blob(HS_DTYPE_BF16, 2, s2, x);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO t(data) VALUES (?1)", -1, &st, NULL) == SQLITE_OK);
    const blob *rows[] = {&b, &c1, &c2, NULL};
    for (int i = 0; i < 4; i++) {
        if (rows[i])
            sqlite3_bind_blob(st, 1, rows[i]->p, (int)rows[i]->n, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 1);
        CHECK(sqlite3_step(st) == SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    CHECK(q(db, "SELECT count(*) FROM t, tensor_each(t.data)", NULL, NULL).i == 120 + 7 + 4);
    CHECK(q(db, "SELECT count(*) FROM tensor_each(t.data), t", NULL, NULL).i == 120 + 7 + 4);
    CHECK(strcmp(q(db, "SELECT group_concat(i0 || ':' || i1) FROM t, tensor_each(t.data) WHERE t.id = 3", NULL, NULL).text,
                 "0:0,0:1,1:0,1:1") == 0);
    CHECK(q(db, "SELECT count(*) FROM tensor_each(NULL)", NULL, NULL).i == 0);
    free(b.p);
    free(c1.p);
    free(c2.p);
    sqlite3_close(db);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- errors and NULLs */

int test_sqlext_errors(void)
{
    sqlite3 *db = open_mem();
    CHECK(db);
    int64_t shape[] = {2, 3}, shape4[] = {4};
    float x[6] = {1, 2, 3, 4, 5, 6};
    blob b = make_blob(HS_DTYPE_F32, 2, shape, x), b4 = make_blob(HS_DTYPE_F16, 1, shape4, x);
    /* not a tensor: short, wrong magic, truncated data, a TEXT, an INTEGER */
    unsigned char bad_magic[32];
    memcpy(bad_magic, b.p, sizeof bad_magic);
    bad_magic[0] = 'X';
    blob bads[] = {{(unsigned char *)"\x01\x02", 2}, {bad_magic, sizeof bad_magic}, {b.p, b.n - 1}};
    static const char *fns[] = {"tensor_shape", "tensor_dtype", "tensor_numel", "tensor_sum", "tensor_mean",
                                "tensor_max",   "tensor_min",   "tensor_norm",  "tensor_argmax"};
    char sql[256], want[256];
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        snprintf(sql, sizeof sql, "SELECT %s(?1)", fns[f]);
        snprintf(want, sizeof want, "%s: argument 1 is not a headscope tensor BLOB", fns[f]);
        for (size_t k = 0; k < sizeof bads / sizeof bads[0]; k++)
            CHECK_SQL_ERROR(db, sql, &bads[k], NULL, want);
        snprintf(sql, sizeof sql, "SELECT %s('not a blob')", fns[f]);
        CHECK_SQL_ERROR(db, sql, NULL, NULL, want);
        snprintf(sql, sizeof sql, "SELECT %s(42)", fns[f]);
        CHECK_SQL_ERROR(db, sql, NULL, NULL, want);
        snprintf(sql, sizeof sql, "SELECT %s(NULL)", fns[f]);
        CHECK_MSG(q(db, sql, NULL, NULL).type == SQLITE_NULL, "%s", sql);
    }
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 0)", &bads[0], NULL, "tensor_get: argument 1 is not a headscope tensor BLOB");
    CHECK_SQL_ERROR(db, "SELECT tensor_dot(?1, ?2)", &b, &bads[1], "tensor_dot: argument 2 is not a headscope tensor BLOB");
    CHECK_SQL_ERROR(db, "SELECT count(*) FROM tensor_each(?1)", &bads[2], NULL,
                    "tensor_each: argument 1 is not a headscope tensor BLOB");
    /* indexing: count, range (naming the dimension), type */
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 0, 0, 0)", &b, NULL, "tensor_get: 3 indices given for a tensor of 2 dimensions");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 1, 3)", &b, NULL, "tensor_get: index 3 out of range for dimension 1 of size 3");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, -3, 0)", &b, NULL, "tensor_get: index -3 out of range for dimension 0 of size 2");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 6)", &b, NULL, "tensor_get: flat index 6 out of range for a tensor of 6 elements");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, -7)", &b, NULL, "flat index -7 out of range");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 0.5, 0)", &b, NULL, "tensor_get: argument 2 is not an integer index");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 0, 'x')", &b, NULL, "tensor_get: argument 3 is not an integer index");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1)", &b, NULL, "tensor_get: expected a tensor BLOB and at least one index");
    CHECK_SQL_ERROR(db, "SELECT tensor_get(?1, 0, 0, 0, 0, 0, 0)", &b, NULL, "tensor_get: 6 indices given");
    /* dot needs equal numel; max/min/argmax need an element */
    CHECK_SQL_ERROR(db, "SELECT tensor_dot(?1, ?2)", &b, &b4, "tensor_dot: the tensors differ in size (6 and 4 elements)");
    int64_t shape0[] = {0};
    blob e = make_blob(HS_DTYPE_F32, 1, shape0, x);
    CHECK_SQL_ERROR(db, "SELECT tensor_max(?1)", &e, NULL, "tensor_max: the tensor is empty");
    CHECK_SQL_ERROR(db, "SELECT tensor_argmax(?1)", &e, NULL, "tensor_argmax: the tensor is empty");
    /* tensor_each without its argument */
    CHECK_SQL_ERROR(db, "SELECT * FROM tensor_each", NULL, NULL, "tensor_each: a tensor BLOB argument is required");
    /* NULL in any argument gives NULL */
    CHECK(q(db, "SELECT tensor_get(NULL, 0)", NULL, NULL).type == SQLITE_NULL);
    CHECK(q(db, "SELECT tensor_get(?1, NULL, 0)", &b, NULL).type == SQLITE_NULL);
    CHECK(q(db, "SELECT tensor_get(?1, 1, NULL)", &b, NULL).type == SQLITE_NULL);
    CHECK(q(db, "SELECT tensor_dot(NULL, ?1)", &b, NULL).type == SQLITE_NULL);
    CHECK(q(db, "SELECT tensor_dot(?1, NULL)", &b, NULL).type == SQLITE_NULL);
    /* NaN: max/min read as NULL (SQLite has no NaN), argmax points at it */
    float nan_x[4] = {1, NAN, 7, 2};
    blob bn = make_blob(HS_DTYPE_F32, 1, shape4, nan_x);
    CHECK(q(db, "SELECT tensor_max(?1)", &bn, NULL).type == SQLITE_NULL);
    CHECK(q(db, "SELECT tensor_sum(?1)", &bn, NULL).type == SQLITE_NULL);
    CHECK(q(db, "SELECT tensor_argmax(?1)", &bn, NULL).i == 1);
    free(b.p);
    free(b4.p);
    free(e.p);
    free(bn.p);
    sqlite3_close(db);
    return TEST_PASS;
}

/* Deterministic functions may appear in generated columns and indexes; innocuous ones in views
 * and triggers of an untrusted schema (PRAGMA trusted_schema = OFF). */
int test_sqlext_flags(void)
{
    sqlite3 *db = open_mem();
    CHECK(db);
    int64_t shape[] = {3};
    float x[3] = {1, 2, 3};
    blob b = make_blob(HS_DTYPE_F32, 1, shape, x);
    char *err = NULL;
    int rc = sqlite3_exec(db,
                          "PRAGMA trusted_schema = OFF;"
                          "CREATE TABLE g(data BLOB, n AS (tensor_numel(data)), s AS (tensor_sum(data)));"
                          "CREATE INDEX g_norm ON g(tensor_norm(data));"
                          "CREATE VIEW gv AS SELECT tensor_shape(data) AS shape, tensor_max(data) AS mx,"
                          "  (SELECT count(*) FROM tensor_each(g.data)) AS rows FROM g;",
                          NULL, NULL, &err);
    CHECK_MSG(rc == SQLITE_OK, "%s", err ? err : "");
    sqlite3_free(err);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO g(data) VALUES (?1)", -1, &st, NULL) == SQLITE_OK);
    sqlite3_bind_blob(st, 1, b.p, (int)b.n, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    CHECK(q(db, "SELECT n FROM g WHERE s = 6.0", NULL, NULL).i == 3);
    result r = q(db, "SELECT shape || ' ' || mx || ' ' || rows FROM gv", NULL, NULL);
    CHECK_MSG(r.rc == SQLITE_ROW && strcmp(r.text, "[3] 3.0 3") == 0, "%s", r.text);
    free(b.p);
    sqlite3_close(db);
    return TEST_PASS;
}

/* tensor_sum and tensor_norm over a 1M-element f16 tensor equal the plain loop exactly (their speed
 * is measured by bench/record.sh, not here). */
int test_sqlext_large(void)
{
    sqlite3 *db = open_mem();
    CHECK(db);
    int64_t shape[] = {1024, 1024};
    float *x = malloc(1024 * 1024 * sizeof *x);
    CHECK(x);
    fill(x, 1024 * 1024, 11);
    blob b = make_blob(HS_DTYPE_F16, 2, shape, x);
    ref_stats ref = reference(&b);
    CHECK(q(db, "SELECT tensor_sum(?1)", &b, NULL).d == ref.sum);
    CHECK(q(db, "SELECT tensor_norm(?1)", &b, NULL).d == sqrt(ref.sumsq));
    free(b.p);
    free(x);
    sqlite3_close(db);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the command line */

/* Runs a shell command line, capturing stdout (and stderr when merge) into out; returns the exit status. */
/* A small store-like file: t(name, data) with two tensors, a non-tensor BLOB and awkward text. */
static int write_db(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        return -1;
    int rc = sqlite3_exec(db, "CREATE TABLE t(name TEXT, data BLOB); CREATE TABLE s(note TEXT);"
                              "INSERT INTO s VALUES ('a, \"quoted\" note'), (NULL);", NULL, NULL, NULL);
    float a[] = {1, 2, 3, 4, 5, 6}, b[] = {0.5f, 1.5f, -2, 3};
    int64_t sa[] = {2, 3}, sb[] = {4};
    blob ba = make_blob(HS_DTYPE_F32, 2, sa, a), bb = make_blob(HS_DTYPE_F16, 1, sb, b);
    sqlite3_stmt *st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, ?2)", -1, &st, NULL);
    for (int i = 0; i < 3 && rc == SQLITE_OK; i++) {
        sqlite3_bind_text(st, 1, i == 0 ? "a" : i == 1 ? "b" : "raw", -1, SQLITE_STATIC);
        if (i == 2)
            sqlite3_bind_blob(st, 2, "\x01\x02\x03", 3, SQLITE_STATIC);
        else
            sqlite3_bind_blob(st, 2, i == 0 ? ba.p : bb.p, (int)(i == 0 ? ba.n : bb.n), SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(ba.p);
    free(bb.p);
    return rc == SQLITE_OK ? 0 : -1;
}

int test_sqlext_cli(void)
{
    char db[512], cmd[4096], out[65536];
    snprintf(db, sizeof db, "%s/t.db", test_tmpdir());
    CHECK(write_db(db) == 0);
    const char *hs = test_headscope_program();
    /* aligned columns: text left, numbers right, dashes under the header */
    snprintf(cmd, sizeof cmd, "%s sql %s \"SELECT tensor_shape(data), tensor_sum(data) FROM t WHERE name != 'raw'\"", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "tensor_shape(data)  tensor_sum(data)\n"
                          "------------------  ----------------\n"
                          "[2,3]                           21.0\n"
                          "[4]                              3.0\n") == 0,
              "got:\n%s", out);
    /* CSV: RFC 4180 quoting and CRLF */
    snprintf(cmd, sizeof cmd, "%s sql --csv %s \"SELECT tensor_shape(data), tensor_sum(data) FROM t WHERE name != 'raw'\"", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "tensor_shape(data),tensor_sum(data)\r\n\"[2,3]\",21.0\r\n[4],3.0\r\n") == 0, "got:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s sql %s \"SELECT note FROM s\" --csv", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "note\r\n\"a, \"\"quoted\"\" note\"\r\n\r\n") == 0, "got:\n%s", out);
    /* JSON lines, and BLOB cells described rather than dumped */
    snprintf(cmd, sizeof cmd, "%s sql --json %s \"SELECT name, tensor_numel(data) AS n, 0.25 AS r, NULL AS z FROM t WHERE name = 'a'\"", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "{\"name\": \"a\", \"n\": 6, \"r\": 0.25, \"z\": null}\n") == 0, "got:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s sql --json %s \"SELECT name, data FROM t\"", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strstr(out, "{\"name\": \"a\", \"data\": \"<tensor f32 [2,3]>\"}\n") &&
                  strstr(out, "{\"name\": \"b\", \"data\": \"<tensor f16 [4]>\"}\n") &&
                  strstr(out, "{\"name\": \"raw\", \"data\": \"<blob 3 bytes>\"}\n"),
              "got:\n%s", out);
    /* several statements; tensor_each */
    snprintf(cmd, sizeof cmd, "%s sql %s \"SELECT 1 AS x; SELECT count(*) AS n FROM t, tensor_each(t.data) WHERE name = 'a';\"", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "x\n-\n1\n\nn\n-\n6\n") == 0, "got:\n%s", out);
    /* errors: SQL, a function's own, writing, a missing file; usage */
    snprintf(cmd, sizeof cmd, "%s sql %s \"SELECT * FROM nope\" 2>&1", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "headscope sql: ") && strstr(out, "t.db: no such table: nope"), "got:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s sql %s \"SELECT tensor_sum(data) FROM t\" 2>&1", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "tensor_sum: argument 1 is not a headscope tensor BLOB"), "got:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s sql %s \"DELETE FROM t\" 2>&1", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "readonly"), "got:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s sql %s/missing.db \"SELECT 1\" 2>&1", hs, test_tmpdir());
    CHECK(test_run_shell(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "missing.db: unable to open database file"), "got:\n%s", out);
    snprintf(cmd, sizeof cmd, "%s sql %s 2>&1", hs, db);
    CHECK(test_run_shell(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "%s sql --help", hs);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK(strstr(out, "usage: headscope sql DB SQL") && strstr(out, "example:"));
    return TEST_PASS;
}

/* The loadable module in the sqlite3 program, found by name from the build directory (beside
 * ./headscope). Skips when there is no sqlite3 program. */
int test_sqlext_sqlite3_module(void)
{
    char out[65536], db[512], dir[4096], so[4200], cmd[8192];
    if (test_run_shell("command -v sqlite3", out, sizeof out) != 0)
        return TEST_SKIP;
    snprintf(dir, sizeof dir, "%s", test_headscope_program());
    snprintf(so, sizeof so, "%s/headscope_sql.so", dirname(dir));
    FILE *f = fopen(so, "rb");
    CHECK_MSG(f, "%s is missing: `make` builds it", so);
    fclose(f);
    snprintf(db, sizeof db, "%s/t.db", test_tmpdir());
    CHECK(write_db(db) == 0);
    /* `.load DIR/headscope_sql`: SQLite adds .so and derives the entry point from the name */
    snprintf(cmd, sizeof cmd, "sqlite3 %s -cmd '.load %s/headscope_sql' \"SELECT tensor_norm(data) FROM t WHERE name = 'a'\" 2>&1",
             db, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(fabs(strtod(out, NULL) - sqrt(91.0)) < 1e-12, "got: %s", out);
    snprintf(cmd, sizeof cmd, "sqlite3 %s -cmd '.load %s/headscope_sql' "
                              "\"SELECT tensor_shape(data), tensor_dtype(data), count(*) FROM t, tensor_each(t.data) "
                              "WHERE name = 'b'; SELECT tensor_get(data, 1, 2) FROM t WHERE name = 'a';\" 2>&1", db, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "[4]|f16|4\n6.0\n") == 0, "got: %s", out);
    snprintf(cmd, sizeof cmd, "sqlite3 %s -cmd '.load %s/headscope_sql' \"SELECT tensor_sum(data) FROM t\" 2>&1", db, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) != 0);
    CHECK_MSG(strstr(out, "tensor_sum: argument 1 is not a headscope tensor BLOB"), "got: %s", out);
    /* the named entry point too */
    snprintf(cmd, sizeof cmd, "sqlite3 :memory: -cmd '.load %s/headscope_sql sqlite3_headscope_init' \"SELECT tensor_numel(NULL) IS NULL\" 2>&1", dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    CHECK_MSG(strcmp(out, "1\n") == 0, "got: %s", out);
    return TEST_PASS;
}
