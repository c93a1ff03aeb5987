/* tensor_blob.h — the self-describing tensor BLOB format of the store: what `activations.data`
 * holds, what the SQL extension reads, what Python decodes with numpy in three lines.
 *
 * Layout (little-endian):
 *   bytes 0..3   magic "HST" and format version 1 ("HST\x01")
 *   byte  4      dtype: 0 = float32, 1 = float16, 2 = bfloat16
 *   byte  5      ndim, 1..HS_MAX_DIMS
 *   bytes 6..7   reserved, 0
 *   bytes 8..    int32 shape[ndim]
 *   then         numel · dtype size bytes of row-major data
 * A BLOB whose length disagrees with its header is invalid. */
#ifndef HS_BASE_TENSOR_BLOB_H
#define HS_BASE_TENSOR_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "headscope.h"
#include "base/dtype.h"

#define HS_BLOB_MAGIC "HST\x01"

typedef struct hs_blob_view {
    hs_dtype dtype;           /* HS_DTYPE_F32, F16 or BF16 */
    int ndim;
    int64_t shape[HS_MAX_DIMS];
    int64_t numel;
    const unsigned char *data; /* points into the blob */
} hs_blob_view;

/* Bytes needed to encode a tensor of this shape and dtype (0 when the dtype is not storable). */
size_t hs_blob_size(hs_dtype dtype, int ndim, const int64_t *shape);

/* Encodes float32 values [numel(shape)] into out (hs_blob_size bytes), converting to dtype with
 * round-to-nearest-even. Returns the bytes written, or 0 for an unsupported dtype/shape. */
size_t hs_blob_encode(void *out, hs_dtype dtype, int ndim, const int64_t *shape, const float *values);

/* Parses and validates a blob of len bytes. Returns 0 on success, -1 when the blob is not a
 * valid tensor (bad magic, version, dtype, ndim, negative dims, or length mismatch). */
int hs_blob_parse(const void *blob, size_t len, hs_blob_view *out);

/* Element i (flat, row-major) of a parsed blob as float; i must be in [0, numel). */
float hs_blob_get(const hs_blob_view *v, int64_t i);

#endif
