/* safetensors.h — memory-mapped safetensors archives (one file or shards joined by
 * model.safetensors.index.json) with every header field validated before any tensor is read. */
#ifndef HS_MODEL_SAFETENSORS_H
#define HS_MODEL_SAFETENSORS_H

#include "headscope.h"
#include "base/dtype.h"

typedef struct hs_st_tensor {
    const char *name;          /* owned by the archive */
    hs_dtype dtype;
    int ndim;
    int64_t shape[HS_MAX_DIMS];
    const void *data;          /* points into the mapped file; valid until the archive is closed */
    size_t nbytes;
    const char *file;          /* the shard it lives in (owned by the archive) */
} hs_st_tensor;

typedef struct hs_st_archive hs_st_archive;

/* Opens one .safetensors file, or a directory: model.safetensors.index.json (sharded) when
 * present, else model.safetensors. Validates: header length against the file size, the header
 * is a JSON object, each entry has a known dtype, a shape of at most HS_MAX_DIMS non-negative
 * dims, data_offsets [begin, end] within the data section with end - begin = numel * dtype size,
 * no two tensors overlap, and no duplicate names across shards. err names file and tensor. */
hs_status hs_st_open(const char *path, hs_st_archive **out, hs_error *err);
void hs_st_close(hs_st_archive *st);

/* Looks a tensor up by name; NULL when absent. */
const hs_st_tensor *hs_st_find(const hs_st_archive *st, const char *name);
int hs_st_count(const hs_st_archive *st);
const hs_st_tensor *hs_st_at(const hs_st_archive *st, int i);

/* Reads tensor `name` into dst as float32, after checking it exists (HS_ERR_MISSING), is a float
 * dtype (HS_ERR_UNSUPPORTED) and has exactly the shape given (HS_ERR_SHAPE; the message shows
 * expected and found shapes). dst holds prod(shape) floats. */
hs_status hs_st_read_f32(const hs_st_archive *st, const char *name, int ndim, const int64_t *shape,
                         float *dst, hs_error *err);

/* Writes tensors to a .safetensors file (used by tests and tools); all F32 unless dtypes given. */
typedef struct hs_st_write_entry {
    const char *name;
    hs_dtype dtype;            /* F32, F16, BF16 or I32: data is already in that dtype */
    int ndim;
    int64_t shape[HS_MAX_DIMS];
    const void *data;
} hs_st_write_entry;
hs_status hs_st_write(const char *path, const hs_st_write_entry *entries, int n, hs_error *err);

#endif
