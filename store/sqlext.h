/* sqlext.h — headscope's SQL functions over tensor BLOBs (base/tensor_blob.h), registered on every
 * store connection and also built as a loadable SQLite extension (`.load ./headscope_sql`).
 *
 *   tensor_shape(b)         JSON array text, e.g. '[12,64]'
 *   tensor_dtype(b)         'f32' | 'f16' | 'bf16'
 *   tensor_numel(b)         number of elements
 *   tensor_get(b, i, ...)   element at the given indices (one per dimension), or flat index when one
 *                           index is given for a tensor of ndim > 1; negative indices count from the end
 *   tensor_sum(b), tensor_mean(b), tensor_max(b), tensor_min(b), tensor_norm(b) (L2)
 *   tensor_dot(a, b)        sum of a_i·b_i (equal numel)
 *   tensor_argmax(b)        flat index of the largest element (first on ties)
 *   tensor_each(b)          table-valued: one row per element (idx, i0, i1, i2, i3, i4, value);
 *                           indices beyond ndim are NULL
 * A BLOB that is not a valid tensor, or an index out of range, is an SQL error naming the function. */
#ifndef HS_STORE_SQLEXT_H
#define HS_STORE_SQLEXT_H

#include <sqlite3.h>

/* Registers every function and the tensor_each module on db; returns an SQLite result code. */
int hs_sqlext_register(sqlite3 *db);

#endif
