/* sqlext.c — the SQL functions over tensor BLOBs (store/sqlext.h) and the tensor_each table-valued
 * function. Compiled twice: into libheadscope, calling SQLite directly, and with -DHS_SQLEXT_LOADABLE
 * into the loadable module headscope_sql (store/sqlext_module.c), calling SQLite through the
 * routine table that `.load` hands over.
 *
 * Workload: a query calls a reduction once per row on activation slices of 10^3..10^6 elements, so
 * reductions decode a chunk at a time into a stack buffer with an inlined float16 conversion
 * (checked bit for bit against hs_f16_to_f32) and accumulate in double, in element order, so that
 * results are exactly those of a plain loop over hs_blob_get; single elements go through
 * hs_blob_get itself. SQL conventions: a NULL argument gives NULL; a NaN result reads as NULL
 * (SQLite stores no NaN); every error names the function. */
#ifdef HS_SQLEXT_LOADABLE
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/tensor_blob.h"
#include "store/sqlext.h"

/* Elements converted per step of a reduction: 4 KiB of floats on the stack. */
#define SQLEXT_CHUNK 1024

/* What a scalar function's user data says: its name (for messages) and, for the shared
 * reduction entry point, which reduction. */
typedef enum reduce_op { RED_NONE, RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_NORM, RED_ARGMAX } reduce_op;

typedef struct fn_def {
    const char *zName;
    int nArg; /* -1: variadic */
    void (*xFunc)(sqlite3_context *, int, sqlite3_value **);
    reduce_op op;
} fn_def;

static const char *fn_name(sqlite3_context *ctx)
{
    return ((const fn_def *)sqlite3_user_data(ctx))->zName;
}

static void result_errorf(sqlite3_context *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *z = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    if (!z) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_error(ctx, z, -1);
    sqlite3_free(z);
}

static const char *dtype_str(hs_dtype dt)
{
    switch (dt) {
    case HS_DTYPE_F32: return "f32";
    case HS_DTYPE_F16: return "f16";
    default: return "bf16";
    }
}

/* Parses a value as a tensor BLOB. Returns 1 when *v is filled; 0 when the value is NULL; -1 when
 * it is anything else (not a BLOB, or a BLOB that hs_blob_parse rejects). *v points into the
 * value's memory, valid until the value changes. */
static int value_tensor(sqlite3_value *val, hs_blob_view *v)
{
    int type = sqlite3_value_type(val);
    if (type == SQLITE_NULL)
        return 0;
    if (type != SQLITE_BLOB)
        return -1;
    const void *p = sqlite3_value_blob(val);
    int n = sqlite3_value_bytes(val);
    return p && hs_blob_parse(p, (size_t)n, v) == 0 ? 1 : -1;
}

/* value_tensor for argument iArg (0-based) of a scalar function: sets the NULL result or the
 * error itself, so callers just return when this is not 1. */
static int arg_tensor(sqlite3_context *ctx, sqlite3_value **argv, int iArg, hs_blob_view *v)
{
    int rc = value_tensor(argv[iArg], v);
    if (rc == 0)
        sqlite3_result_null(ctx);
    else if (rc < 0)
        result_errorf(ctx, "%s: argument %d is not a headscope tensor BLOB", fn_name(ctx), iArg + 1);
    return rc;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* float16 to float32, inlined into the decoding loop (a call per element through hs_convert_to_f32
 * costs about 2x): the same value, bit for bit, as hs_f16_to_f32, the reference
 * (tests/test_sqlext.c sweeps all 65536 inputs). The subnormal case multiplies an integer-valued
 * float, so no denormal operand (and no slow microcode path) is ever involved. */
static inline float f16_to_f32_inline(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, em = h & 0x7fffu, man = h & 0x3ffu;
    uint32_t normal = (em << 13) + (112u << 23);           /* rebias the exponent 15 -> 127 */
    uint32_t subnormal = f32_bits((float)man * 0x1p-24f); /* man · 2^-24, exact, never denormal */
    uint32_t infnan = 0x7f800000u | (man << 13);
    return bits_f32(sign | (em < 0x400 ? subnormal : em >= 0x7c00 ? infnan : normal));
}

/* Converts elements [start, start + n) of v to float32 at out [n]. */
static void decode_chunk(const hs_blob_view *v, int64_t start, int n, float *out)
{
    const unsigned char *p = v->data;
    switch (v->dtype) {
    case HS_DTYPE_F32:
        memcpy(out, p + 4 * (size_t)start, 4 * (size_t)n);
        break;
    case HS_DTYPE_F16:
        p += 2 * (size_t)start;
        for (int i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = f16_to_f32_inline(h);
        }
        break;
    default: /* bf16: the top half of a float32 */
        p += 2 * (size_t)start;
        for (int i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = bits_f32((uint32_t)h << 16);
        }
        break;
    }
}

/* ---------------------------------------------------------------- metadata */

static void fn_shape(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    hs_blob_view v;
    if (arg_tensor(ctx, argv, 0, &v) != 1)
        return;
    char buf[8 + HS_MAX_DIMS * 12]; /* each dim <= INT32_MAX: 10 digits and a comma */
    size_t len = 0;
    buf[len++] = '[';
    for (int i = 0; i < v.ndim; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? "," : "", (long long)v.shape[i]);
    buf[len++] = ']';
    sqlite3_result_text(ctx, buf, (int)len, SQLITE_TRANSIENT);
}

static void fn_dtype(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    hs_blob_view v;
    if (arg_tensor(ctx, argv, 0, &v) == 1)
        sqlite3_result_text(ctx, dtype_str(v.dtype), -1, SQLITE_STATIC);
}

static void fn_numel(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    hs_blob_view v;
    if (arg_tensor(ctx, argv, 0, &v) == 1)
        sqlite3_result_int64(ctx, v.numel);
}

/* ---------------------------------------------------------------- element access */

/* Reads index argument iArg (0-based, for messages) as an integer: an INTEGER, or a REAL with an
 * integral value. Returns 1, 0 for NULL (result set to NULL), or -1 (error set). */
static int arg_index(sqlite3_context *ctx, sqlite3_value *val, int iArg, int64_t *out)
{
    switch (sqlite3_value_type(val)) {
    case SQLITE_NULL:
        sqlite3_result_null(ctx);
        return 0;
    case SQLITE_INTEGER:
        *out = sqlite3_value_int64(val);
        return 1;
    case SQLITE_FLOAT: {
        double d = sqlite3_value_double(val);
        if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
            *out = (int64_t)d;
            return 1;
        }
        break;
    }
    default: break;
    }
    result_errorf(ctx, "%s: argument %d is not an integer index", fn_name(ctx), iArg + 1);
    return -1;
}

/* tensor_get(b, i0, i1, ...): one index per dimension, or one flat index. */
static void fn_get(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    if (argc < 2) {
        result_errorf(ctx, "%s: expected a tensor BLOB and at least one index", fn_name(ctx));
        return;
    }
    hs_blob_view v;
    int64_t idx[HS_MAX_DIMS];
    int nIdx = argc - 1;
    /* indices are checked for NULL before the blob so that NULL propagates from any argument */
    if (nIdx > HS_MAX_DIMS) {
        result_errorf(ctx, "%s: %d indices given; a tensor has at most %d dimensions", fn_name(ctx), nIdx,
                      HS_MAX_DIMS);
        return;
    }
    for (int k = 0; k < nIdx; k++)
        if (arg_index(ctx, argv[k + 1], k + 1, &idx[k]) != 1)
            return;
    if (arg_tensor(ctx, argv, 0, &v) != 1)
        return;
    int64_t flat = 0;
    if (nIdx == 1 && v.ndim > 1) {
        int64_t i = idx[0] < 0 ? idx[0] + v.numel : idx[0];
        if (i < 0 || i >= v.numel) {
            result_errorf(ctx, "%s: flat index %lld out of range for a tensor of %lld elements", fn_name(ctx),
                          (long long)idx[0], (long long)v.numel);
            return;
        }
        flat = i;
    } else if (nIdx == v.ndim) {
        for (int k = 0; k < nIdx; k++) {
            int64_t i = idx[k] < 0 ? idx[k] + v.shape[k] : idx[k];
            if (i < 0 || i >= v.shape[k]) {
                result_errorf(ctx, "%s: index %lld out of range for dimension %d of size %lld", fn_name(ctx),
                              (long long)idx[k], k, (long long)v.shape[k]);
                return;
            }
            flat = flat * v.shape[k] + i;
        }
    } else {
        result_errorf(ctx, "%s: %d indices given for a tensor of %d dimensions (give %d, or 1 flat index)",
                      fn_name(ctx), nIdx, v.ndim, v.ndim);
        return;
    }
    sqlite3_result_double(ctx, (double)hs_blob_get(&v, flat));
}

/* ---------------------------------------------------------------- reductions */

/* tensor_sum, _mean, _max, _min, _norm, _argmax: one pass in element order. max/min/argmax
 * follow numpy: the first NaN wins (max/min then read as NULL, argmax gives its index). */
static void fn_reduce(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    reduce_op op = ((const fn_def *)sqlite3_user_data(ctx))->op;
    hs_blob_view v;
    if (arg_tensor(ctx, argv, 0, &v) != 1)
        return;
    if (v.numel == 0 && (op == RED_MAX || op == RED_MIN || op == RED_ARGMAX)) {
        result_errorf(ctx, "%s: the tensor is empty", fn_name(ctx));
        return;
    }
    float buf[SQLEXT_CHUNK];
    double acc = 0;
    float best = 0;
    int64_t iBest = 0;
    for (int64_t start = 0; start < v.numel; start += SQLEXT_CHUNK) {
        int n = v.numel - start < SQLEXT_CHUNK ? (int)(v.numel - start) : SQLEXT_CHUNK;
        decode_chunk(&v, start, n, buf);
        switch (op) {
        case RED_SUM:
        case RED_MEAN:
            for (int i = 0; i < n; i++)
                acc += buf[i];
            break;
        case RED_NORM:
            for (int i = 0; i < n; i++)
                acc += (double)buf[i] * buf[i];
            break;
        case RED_MAX:
        case RED_ARGMAX:
            if (start == 0)
                best = buf[0];
            if (isnan(best))
                goto done;
            for (int i = 0; i < n; i++)
                if (buf[i] > best || isnan(buf[i])) {
                    best = buf[i];
                    iBest = start + i;
                    if (isnan(best))
                        goto done;
                }
            break;
        case RED_MIN:
            if (start == 0)
                best = buf[0];
            if (isnan(best))
                goto done;
            for (int i = 0; i < n; i++)
                if (buf[i] < best || isnan(buf[i])) {
                    best = buf[i];
                    if (isnan(best))
                        goto done;
                }
            break;
        default: break;
        }
    }
done:
    switch (op) {
    case RED_SUM: sqlite3_result_double(ctx, acc); break;
    case RED_MEAN:
        if (v.numel == 0)
            sqlite3_result_null(ctx);
        else
            sqlite3_result_double(ctx, acc / (double)v.numel);
        break;
    case RED_NORM: sqlite3_result_double(ctx, sqrt(acc)); break;
    case RED_MAX:
    case RED_MIN: sqlite3_result_double(ctx, (double)best); break;
    case RED_ARGMAX: sqlite3_result_int64(ctx, iBest); break;
    default: sqlite3_result_null(ctx); break;
    }
}

/* tensor_dot(a, b): sum of a_i·b_i over the flat elements; dtypes and shapes may differ, numel not. */
static void fn_dot(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    hs_blob_view a, b;
    int ra = value_tensor(argv[0], &a), rb = value_tensor(argv[1], &b);
    if (ra == 0 || rb == 0) {
        sqlite3_result_null(ctx);
        return;
    }
    if (ra < 0 || rb < 0) {
        result_errorf(ctx, "%s: argument %d is not a headscope tensor BLOB", fn_name(ctx), ra < 0 ? 1 : 2);
        return;
    }
    if (a.numel != b.numel) {
        result_errorf(ctx, "%s: the tensors differ in size (%lld and %lld elements)", fn_name(ctx),
                      (long long)a.numel, (long long)b.numel);
        return;
    }
    float bufA[SQLEXT_CHUNK], bufB[SQLEXT_CHUNK];
    double acc = 0;
    for (int64_t start = 0; start < a.numel; start += SQLEXT_CHUNK) {
        int n = a.numel - start < SQLEXT_CHUNK ? (int)(a.numel - start) : SQLEXT_CHUNK;
        decode_chunk(&a, start, n, bufA);
        decode_chunk(&b, start, n, bufB);
        for (int i = 0; i < n; i++)
            acc += (double)bufA[i] * bufB[i];
    }
    sqlite3_result_double(ctx, acc);
}

static const fn_def fn_defs[] = {
    {"tensor_shape", 1, fn_shape, RED_NONE},    {"tensor_dtype", 1, fn_dtype, RED_NONE},
    {"tensor_numel", 1, fn_numel, RED_NONE},    {"tensor_get", -1, fn_get, RED_NONE},
    {"tensor_sum", 1, fn_reduce, RED_SUM},      {"tensor_mean", 1, fn_reduce, RED_MEAN},
    {"tensor_max", 1, fn_reduce, RED_MAX},      {"tensor_min", 1, fn_reduce, RED_MIN},
    {"tensor_norm", 1, fn_reduce, RED_NORM},    {"tensor_argmax", 1, fn_reduce, RED_ARGMAX},
    {"tensor_dot", 2, fn_dot, RED_NONE},
};

/* ---------------------------------------------------------------- tensor_each */

/* Columns of tensor_each; the argument is the hidden column `tensor`. */
enum { EACH_IDX, EACH_I0, EACH_I4 = EACH_I0 + 4, EACH_VALUE, EACH_TENSOR };

typedef struct each_cursor {
    sqlite3_vtab_cursor base;
    unsigned char *blob; /* owned copy of the argument (sqlite3_malloc), NULL when there are no rows */
    int nBlob;
    hs_blob_view v;      /* points into blob */
    int64_t stride[HS_MAX_DIMS];
    int64_t row;         /* the flat index of the current row */
} each_cursor;

static int each_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **ppVtab,
                        char **pzErr)
{
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(idx INTEGER, i0 INTEGER, i1 INTEGER, i2 INTEGER, "
                                      "i3 INTEGER, i4 INTEGER, value REAL, tensor HIDDEN)");
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vtab *vt = sqlite3_malloc(sizeof *vt);
    if (!vt)
        return SQLITE_NOMEM;
    memset(vt, 0, sizeof *vt);
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    *ppVtab = vt;
    return SQLITE_OK;
}

static int each_disconnect(sqlite3_vtab *vt)
{
    sqlite3_free(vt);
    return SQLITE_OK;
}

/* The argument is required: a plan that cannot supply it yet is refused with SQLITE_CONSTRAINT (the
 * planner then tries another join order); a query that never gives it is an error. */
static int each_best_index(sqlite3_vtab *vt, sqlite3_index_info *info)
{
    int iArg = -1, unusable = 0;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->iColumn != EACH_TENSOR || c->op != SQLITE_INDEX_CONSTRAINT_EQ)
            continue;
        if (!c->usable) {
            unusable = 1;
            continue;
        }
        iArg = i;
        break;
    }
    if (iArg < 0) {
        if (unusable)
            return SQLITE_CONSTRAINT;
        sqlite3_free(vt->zErrMsg);
        vt->zErrMsg = sqlite3_mprintf("tensor_each: a tensor BLOB argument is required, "
                                      "e.g. SELECT * FROM activations, tensor_each(activations.data)");
        return SQLITE_ERROR;
    }
    info->aConstraintUsage[iArg].argvIndex = 1;
    info->aConstraintUsage[iArg].omit = 1;
    info->estimatedCost = 1000;
    info->estimatedRows = 1000;
    /* rows come out in idx order */
    if (info->nOrderBy == 1 && info->aOrderBy[0].iColumn == EACH_IDX && !info->aOrderBy[0].desc)
        info->orderByConsumed = 1;
    return SQLITE_OK;
}

static int each_open(sqlite3_vtab *vt, sqlite3_vtab_cursor **ppCur)
{
    each_cursor *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *ppCur = &c->base;
    return SQLITE_OK;
}

static void each_reset(each_cursor *c)
{
    sqlite3_free(c->blob);
    c->blob = NULL;
    c->nBlob = 0;
    memset(&c->v, 0, sizeof c->v);
    c->row = 0;
}

static int each_close(sqlite3_vtab_cursor *cur)
{
    each_reset((each_cursor *)cur);
    sqlite3_free(cur);
    return SQLITE_OK;
}

/* Copies the argument (its memory is not ours past this call) and parses the copy, once. A NULL
 * argument gives no rows. */
static int each_filter(sqlite3_vtab_cursor *cur, int idxNum, const char *idxStr, int argc, sqlite3_value **argv)
{
    each_cursor *c = (each_cursor *)cur;
    each_reset(c);
    if (argc < 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return SQLITE_OK;
    const void *p = sqlite3_value_type(argv[0]) == SQLITE_BLOB ? sqlite3_value_blob(argv[0]) : NULL;
    int n = sqlite3_value_bytes(argv[0]);
    if (p && n > 0) {
        if (!(c->blob = sqlite3_malloc(n)))
            return SQLITE_NOMEM;
        memcpy(c->blob, p, (size_t)n);
        c->nBlob = n;
    }
    if (!c->blob || hs_blob_parse(c->blob, (size_t)n, &c->v) != 0) {
        each_reset(c);
        sqlite3_free(cur->pVtab->zErrMsg);
        cur->pVtab->zErrMsg = sqlite3_mprintf("tensor_each: argument 1 is not a headscope tensor BLOB");
        return SQLITE_ERROR;
    }
    int64_t s = 1;
    for (int k = c->v.ndim - 1; k >= 0; k--) {
        c->stride[k] = s;
        s *= c->v.shape[k];
    }
    return SQLITE_OK;
}

static int each_next(sqlite3_vtab_cursor *cur)
{
    ((each_cursor *)cur)->row++;
    return SQLITE_OK;
}

static int each_eof(sqlite3_vtab_cursor *cur)
{
    const each_cursor *c = (const each_cursor *)cur;
    return c->row >= c->v.numel;
}

static int each_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
    const each_cursor *c = (const each_cursor *)cur;
    if (col == EACH_IDX) {
        sqlite3_result_int64(ctx, c->row);
    } else if (col >= EACH_I0 && col <= EACH_I4) {
        int k = col - EACH_I0;
        if (k < c->v.ndim)
            sqlite3_result_int64(ctx, c->row / c->stride[k] % c->v.shape[k]);
        else
            sqlite3_result_null(ctx);
    } else if (col == EACH_VALUE) {
        sqlite3_result_double(ctx, (double)hs_blob_get(&c->v, c->row));
    } else {
        sqlite3_result_blob(ctx, c->blob, c->nBlob, SQLITE_TRANSIENT);
    }
    return SQLITE_OK;
}

static int each_rowid(sqlite3_vtab_cursor *cur, sqlite_int64 *pRowid)
{
    *pRowid = ((const each_cursor *)cur)->row;
    return SQLITE_OK;
}

/* Eponymous-only (no xCreate): exists as `tensor_each` in every schema, cannot be CREATEd. */
static const sqlite3_module each_module = {
    .iVersion = 0,
    .xCreate = NULL,
    .xConnect = each_connect,
    .xBestIndex = each_best_index,
    .xDisconnect = each_disconnect,
    .xDestroy = NULL,
    .xOpen = each_open,
    .xClose = each_close,
    .xFilter = each_filter,
    .xNext = each_next,
    .xEof = each_eof,
    .xColumn = each_column,
    .xRowid = each_rowid,
};

/* ---------------------------------------------------------------- registration */

int hs_sqlext_register(sqlite3 *db)
{
    for (size_t i = 0; i < sizeof fn_defs / sizeof fn_defs[0]; i++) {
        int rc = sqlite3_create_function_v2(db, fn_defs[i].zName, fn_defs[i].nArg,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                            (void *)&fn_defs[i], fn_defs[i].xFunc, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return rc;
    }
    return sqlite3_create_module(db, "tensor_each", &each_module, NULL);
}
