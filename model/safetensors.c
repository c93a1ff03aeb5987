/* safetensors.c — memory-mapped safetensors archives: one file, or the shards that
 * model.safetensors.index.json joins. Every header field is checked before a tensor is handed
 * out, so a tensor's data pointer always lies inside its mapped file.
 *
 * File layout: u64 little-endian header length N, N bytes of UTF-8 JSON (an object mapping
 * tensor names to {"dtype", "shape", "data_offsets": [begin, end]} plus an optional
 * "__metadata__" string map), then the data section; offsets are relative to its start.
 * Workload: a few hundred to a few thousand tensors, each looked up once or twice while a model
 * loads, so lookups are a binary search over the names sorted once at open. */
#include "model/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/mapped_file.h"

/* The reference implementation's own limit; it also keeps a hostile length from driving a huge
 * JSON parse. */
#define ST_MAX_HEADER 100000000ull

#define ST_INDEX_NAME "model.safetensors.index.json"
#define ST_SINGLE_NAME "model.safetensors"

struct hs_st_archive {
    char *path;               /* the file, or the index file of a sharded archive */
    int n_files;
    hs_mapped_file *maps;     /* [n_files] */
    char **file_paths;        /* [n_files], what hs_st_tensor.file points at */
    int n_tensors, cap_tensors;
    hs_st_tensor *tensors;    /* sorted by name once every file is read */
};

/* A tensor's byte range inside its file's data section, kept only while that file is checked. */
typedef struct st_range {
    uint64_t begin, end;
    const char *name;
} st_range;

static void shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t len = 0;
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp(((const hs_st_tensor *)a)->name, ((const hs_st_tensor *)b)->name);
}

static int cmp_range(const void *a, const void *b)
{
    const st_range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

void hs_st_close(hs_st_archive *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n_tensors; i++)
        free((char *)st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->n_files; i++) {
        hs_mapped_file_close(&st->maps[i]);
        free(st->file_paths[i]);
    }
    free(st->maps);
    free(st->file_paths);
    free(st->path);
    free(st);
}

/* Reads a JSON integer that must be >= 0 into *out; 0 on success. */
static int json_u64(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Validates one header entry and appends it as a tensor of file `fi`. `data` is the start of the
 * file's data section, `data_size` its length. */
static hs_status add_entry(hs_st_archive *st, int fi, const char *name, const json_t *entry,
                           const unsigned char *data, uint64_t data_size, st_range *range, hs_error *err)
{
    const char *file = st->file_paths[fi];
    if (!json_is_object(entry))
        return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s': header entry is not a JSON object", file, name);

    const json_t *jdt = json_object_get(entry, "dtype");
    if (!jdt)
        return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s': field \"dtype\" is missing", file, name);
    if (!json_is_string(jdt))
        return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s': field \"dtype\" is not a string", file, name);
    hs_dtype dt = hs_dtype_from_name(json_string_value(jdt));
    if (dt == HS_DTYPE_UNKNOWN)
        return hs_fail(err, HS_ERR_UNSUPPORTED,
                       "%s: tensor '%s': dtype \"%s\" is not supported (supported: F32, F16, BF16, F64, I32, "
                       "I64, I8, U8, BOOL)", file, name, json_string_value(jdt));

    const json_t *jshape = json_object_get(entry, "shape");
    if (!jshape)
        return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s': field \"shape\" is missing", file, name);
    if (!json_is_array(jshape))
        return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s': field \"shape\" is not an array", file, name);
    size_t ndim = json_array_size(jshape);
    if (ndim > HS_MAX_DIMS)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: tensor '%s': field \"shape\" has %zu dims (at most %d supported)",
                       file, name, ndim, HS_MAX_DIMS);
    int64_t shape[HS_MAX_DIMS] = {0};
    uint64_t numel = 1;
    int overflow = 0, zero = 0;
    for (size_t i = 0; i < ndim; i++) {
        uint64_t d;
        if (json_u64(json_array_get(jshape, i), &d) != 0)
            return hs_fail(err, HS_ERR_FORMAT,
                           "%s: tensor '%s': field \"shape\" dim %zu is not a non-negative integer", file, name, i);
        shape[i] = (int64_t)d;
        if (d == 0)
            zero = 1;
        else if (__builtin_mul_overflow(numel, d, &numel))
            overflow = 1;
    }
    uint64_t nbytes = 0;
    if (zero)
        numel = 0;
    else if (overflow || numel > (uint64_t)INT64_MAX || __builtin_mul_overflow(numel, (uint64_t)hs_dtype_size(dt), &nbytes))
        return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s': field \"shape\": the element count overflows", file, name);
    nbytes = numel * (uint64_t)hs_dtype_size(dt);

    const json_t *joff = json_object_get(entry, "data_offsets");
    uint64_t begin, end;
    if (!joff)
        return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s': field \"data_offsets\" is missing", file, name);
    if (!json_is_array(joff) || json_array_size(joff) != 2 || json_u64(json_array_get(joff, 0), &begin) != 0 ||
        json_u64(json_array_get(joff, 1), &end) != 0)
        return hs_fail(err, HS_ERR_FORMAT,
                       "%s: tensor '%s': field \"data_offsets\" is not a pair of non-negative integers", file, name);
    if (begin > end || end > data_size)
        return hs_fail(err, HS_ERR_FORMAT,
                       "%s: tensor '%s': field \"data_offsets\" [%llu, %llu] is not a range within the %llu-byte "
                       "data section", file, name, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)data_size);
    if (end - begin != nbytes) {
        char sbuf[128];
        shape_str(sbuf, sizeof sbuf, (int)ndim, shape);
        return hs_fail(err, HS_ERR_FORMAT,
                       "%s: tensor '%s': field \"data_offsets\" [%llu, %llu] spans %llu bytes but dtype %s shape %s "
                       "needs %llu", file, name, (unsigned long long)begin, (unsigned long long)end,
                       (unsigned long long)(end - begin), hs_dtype_name(dt), sbuf, (unsigned long long)nbytes);
    }

    if (st->n_tensors == st->cap_tensors) {
        int cap = st->cap_tensors ? 2 * st->cap_tensors : 64;
        hs_st_tensor *nt = realloc(st->tensors, (size_t)cap * sizeof *nt);
        if (!nt)
            return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", file);
        st->tensors = nt;
        st->cap_tensors = cap;
    }
    char *own_name = strdup(name);
    if (!own_name)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", file);
    hs_st_tensor *t = &st->tensors[st->n_tensors++];
    memset(t, 0, sizeof *t);
    t->name = own_name;
    t->dtype = dt;
    t->ndim = (int)ndim;
    memcpy(t->shape, shape, sizeof shape);
    t->data = data + begin;
    t->nbytes = (size_t)nbytes;
    t->file = file;
    range->begin = begin;
    range->end = end;
    range->name = own_name;
    return HS_OK;
}

/* Maps file_path as file number st->n_files and appends its tensors. */
static hs_status add_file(hs_st_archive *st, const char *file_path, hs_error *err)
{
    int fi = st->n_files;
    char *fp = strdup(file_path);
    if (!fp)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", file_path);
    hs_mapped_file *nm = realloc(st->maps, (size_t)(fi + 1) * sizeof *nm);
    if (nm)
        st->maps = nm;
    char **np = nm ? realloc(st->file_paths, (size_t)(fi + 1) * sizeof *np) : NULL;
    if (np)
        st->file_paths = np;
    if (!nm || !np) {
        free(fp);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", file_path);
    }
    hs_status rc = hs_mapped_file_open(fp, &st->maps[fi], err);
    if (rc != HS_OK) {
        free(fp);
        return rc;
    }
    st->file_paths[fi] = fp;
    st->n_files++;

    const unsigned char *p = st->maps[fi].data;
    uint64_t size = st->maps[fi].size;
    if (size < 8)
        return hs_fail(err, HS_ERR_FORMAT,
                       "%s: truncated: %llu bytes, shorter than the 8-byte header length", fp, (unsigned long long)size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | p[i];
    if (hlen == 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: header length is 0", fp);
    if (hlen > ST_MAX_HEADER)
        return hs_fail(err, HS_ERR_FORMAT, "%s: header length %llu exceeds the limit of %llu bytes", fp,
                       (unsigned long long)hlen, ST_MAX_HEADER);
    if (hlen > size - 8)
        return hs_fail(err, HS_ERR_FORMAT, "%s: header length %llu exceeds the %llu bytes after it (truncated file?)",
                       fp, (unsigned long long)hlen, (unsigned long long)(size - 8));

    json_error_t jerr;
    json_t *root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return hs_fail(err, HS_ERR_FORMAT, "%s: header is not valid JSON: %s (header byte %d)", fp, jerr.text,
                       jerr.position);
    st_range *ranges = NULL;
    int n_ranges = 0;
    if (!json_is_object(root)) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: header is not a JSON object", fp);
        goto done;
    }
    ranges = malloc((json_object_size(root) + 1) * sizeof *ranges);
    if (!ranges) {
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", fp);
        goto done;
    }
    const unsigned char *data = p + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                rc = hs_fail(err, HS_ERR_FORMAT, "%s: field \"__metadata__\" is not a JSON object", fp);
                goto done;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = hs_fail(err, HS_ERR_FORMAT, "%s: field \"__metadata__\": value of \"%s\" is not a string",
                                 fp, mk);
                    goto done;
                }
            }
            continue;
        }
        rc = add_entry(st, fi, key, val, data, data_size, &ranges[n_ranges], err);
        if (rc != HS_OK)
            goto done;
        n_ranges++;
    }

    /* No two tensors may share a byte: after sorting by start, each non-empty range must begin at
     * or after the end of every earlier one. */
    qsort(ranges, (size_t)n_ranges, sizeof *ranges, cmp_range);
    const st_range *prev = NULL;
    for (int i = 0; i < n_ranges; i++) {
        if (ranges[i].begin == ranges[i].end)
            continue;
        if (prev && ranges[i].begin < prev->end) {
            rc = hs_fail(err, HS_ERR_FORMAT,
                         "%s: tensor '%s': field \"data_offsets\" [%llu, %llu] overlaps tensor '%s' [%llu, %llu]", fp,
                         ranges[i].name, (unsigned long long)ranges[i].begin, (unsigned long long)ranges[i].end,
                         prev->name, (unsigned long long)prev->begin, (unsigned long long)prev->end);
            goto done;
        }
        if (!prev || ranges[i].end > prev->end)
            prev = &ranges[i];
    }
    rc = HS_OK;
done:
    free(ranges);
    json_decref(root);
    return rc;
}

/* Joins dir and name into a malloc'd path. */
static char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static int path_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* Sorts the tensors by name and rejects a name that two files both hold. */
static hs_status finish_index(hs_st_archive *st, hs_error *err)
{
    if (st->n_tensors > 1)
        qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, cmp_tensor_name);
    for (int i = 1; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
            return hs_fail(err, HS_ERR_FORMAT, "%s: tensor '%s' appears in both %s and %s", st->path,
                           st->tensors[i].name, st->tensors[i - 1].file, st->tensors[i].file);
    return HS_OK;
}

static int shard_name_ok(const char *s)
{
    return s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

/* Opens every shard that index_path's "weight_map" names, each once, and checks that each
 * mapped tensor lives in the shard the map says. */
static hs_status open_sharded(hs_st_archive *st, const char *dir, hs_error *err)
{
    const char *ip = st->path;
    char *text = NULL;
    size_t len = 0;
    hs_status rc = hs_read_file(ip, &text, &len, err);
    if (rc != HS_OK)
        return rc;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    free(text);
    const char **shards = NULL;
    char *shard_path = NULL;
    if (!root)
        return hs_fail(err, HS_ERR_FORMAT, "%s: not valid JSON: %s (line %d, column %d)", ip, jerr.text, jerr.line,
                       jerr.column);
    if (!json_is_object(root)) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: not a JSON object", ip);
        goto done;
    }
    json_t *wm = json_object_get(root, "weight_map");
    if (!wm) {
        rc = hs_fail(err, HS_ERR_MISSING, "%s: field \"weight_map\" is missing", ip);
        goto done;
    }
    if (!json_is_object(wm)) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: field \"weight_map\" is not a JSON object", ip);
        goto done;
    }
    if (json_object_size(wm) == 0) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: field \"weight_map\" is empty", ip);
        goto done;
    }
    shards = malloc(json_object_size(wm) * sizeof *shards);
    if (!shards) {
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", ip);
        goto done;
    }
    int n_shards = 0;
    const char *key;
    json_t *val;
    json_object_foreach(wm, key, val) {
        if (!json_is_string(val) || !shard_name_ok(json_string_value(val))) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: field \"weight_map\": entry for tensor '%s' is not a shard file name",
                         ip, key);
            goto done;
        }
        const char *s = json_string_value(val);
        int seen = 0;
        for (int i = n_shards - 1; i >= 0 && !seen; i--) /* shards are listed in runs: look back first */
            seen = strcmp(shards[i], s) == 0;
        if (seen)
            continue;
        shards[n_shards++] = s;
        free(shard_path);
        shard_path = path_join(dir, s);
        if (!shard_path) {
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", ip);
            goto done;
        }
        if (!path_exists(shard_path)) {
            rc = hs_fail(err, HS_ERR_MISSING,
                         "%s: field \"weight_map\" names shard \"%s\" (for tensor '%s'), which does not exist", ip, s,
                         key);
            goto done;
        }
        rc = add_file(st, shard_path, err);
        if (rc != HS_OK)
            goto done;
    }
    rc = finish_index(st, err);
    if (rc != HS_OK)
        goto done;
    json_object_foreach(wm, key, val) {
        const hs_st_tensor *t = hs_st_find(st, key);
        const char *s = json_string_value(val);
        const char *base = t ? strrchr(t->file, '/') : NULL;
        base = base ? base + 1 : (t ? t->file : NULL);
        if (!t) {
            rc = hs_fail(err, HS_ERR_MISSING, "%s: field \"weight_map\" puts tensor '%s' in \"%s\", which lacks it", ip,
                         key, s);
            goto done;
        }
        if (strcmp(base, s) != 0) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: field \"weight_map\" puts tensor '%s' in \"%s\", but it is in \"%s\"",
                         ip, key, s, base);
            goto done;
        }
    }
done:
    free(shard_path);
    free(shards);
    json_decref(root);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

hs_status hs_st_open(const char *path, hs_st_archive **out, hs_error *err)
{
    *out = NULL;
    if (!path)
        return hs_fail(err, HS_ERR_ARG, "hs_st_open: path is NULL");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return hs_fail(err, errno == ENOENT ? HS_ERR_MISSING : HS_ERR_IO, "%s: cannot open: %s", path,
                       strerror(errno));
    hs_st_archive *st = calloc(1, sizeof *st);
    if (!st)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    hs_status rc;
    char *dir = NULL;
    if (S_ISDIR(sb.st_mode)) {
        st->path = path_join(path, ST_INDEX_NAME);
        if (st->path && !path_exists(st->path)) {
            free(st->path);
            st->path = path_join(path, ST_SINGLE_NAME);
            if (st->path && !path_exists(st->path)) {
                rc = hs_fail(err, HS_ERR_MISSING, "%s: holds neither %s nor %s", path, ST_SINGLE_NAME, ST_INDEX_NAME);
                goto fail;
            }
        }
        if (!st->path) {
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        if (ends_with(st->path, ST_INDEX_NAME)) {
            dir = strdup(path);
            if (!dir) {
                rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
                goto fail;
            }
        }
    } else {
        st->path = strdup(path);
        if (!st->path) {
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        if (ends_with(path, ".index.json")) {
            dir = strdup(path);
            if (!dir) {
                rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            char *slash = strrchr(dir, '/');
            if (slash)
                *(slash == dir ? slash + 1 : slash) = '\0';
            else
                strcpy(dir, ".");
        }
    }
    rc = dir ? open_sharded(st, dir, err) : add_file(st, st->path, err);
    if (rc == HS_OK && !dir)
        rc = finish_index(st, err);
    if (rc != HS_OK)
        goto fail;
    free(dir);
    *out = st;
    return HS_OK;
fail:
    free(dir);
    hs_st_close(st);
    return rc;
}

const hs_st_tensor *hs_st_find(const hs_st_archive *st, const char *name)
{
    if (!st || !name || st->n_tensors == 0)
        return NULL;
    hs_st_tensor key;
    key.name = name;
    return bsearch(&key, st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, cmp_tensor_name);
}

int hs_st_count(const hs_st_archive *st)
{
    return st ? st->n_tensors : 0;
}

const hs_st_tensor *hs_st_at(const hs_st_archive *st, int i)
{
    return st && i >= 0 && i < st->n_tensors ? &st->tensors[i] : NULL;
}

hs_status hs_st_read_f32(const hs_st_archive *st, const char *name, int ndim, const int64_t *shape,
                         float *dst, hs_error *err)
{
    if (!st || !name || ndim < 0 || ndim > HS_MAX_DIMS || (ndim > 0 && !shape))
        return hs_fail(err, HS_ERR_ARG, "hs_st_read_f32: invalid argument");
    const hs_st_tensor *t = hs_st_find(st, name);
    if (!t)
        return hs_fail(err, HS_ERR_MISSING, "%s: tensor '%s' is missing", st->path, name);
    if (t->dtype != HS_DTYPE_F32 && t->dtype != HS_DTYPE_F16 && t->dtype != HS_DTYPE_BF16 &&
        t->dtype != HS_DTYPE_F64)
        return hs_fail(err, HS_ERR_UNSUPPORTED, "%s: tensor '%s': dtype %s is not a float dtype", t->file, name,
                       hs_dtype_name(t->dtype));
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char found[128], want[128];
        shape_str(found, sizeof found, t->ndim, t->shape);
        shape_str(want, sizeof want, ndim, shape);
        return hs_fail(err, HS_ERR_SHAPE, "%s: tensor '%s': shape %s but the config implies %s", t->file, name, found,
                       want);
    }
    size_t numel = t->nbytes / hs_dtype_size(t->dtype);
    if (numel > 0 && !dst)
        return hs_fail(err, HS_ERR_ARG, "hs_st_read_f32: dst is NULL");
    if (numel > 0 && hs_convert_to_f32(t->dtype, t->data, dst, numel) != 0)
        return hs_fail(err, HS_ERR_INTERNAL, "%s: tensor '%s': conversion failed", t->file, name);
    return HS_OK;
}

hs_status hs_st_write(const char *path, const hs_st_write_entry *entries, int n, hs_error *err)
{
    if (!path || n < 0 || (n > 0 && !entries))
        return hs_fail(err, HS_ERR_ARG, "hs_st_write: invalid argument");
    hs_status rc = HS_OK;
    char *text = NULL;
    FILE *f = NULL;
    size_t *sizes = calloc((size_t)n + 1, sizeof *sizes);
    json_t *root = json_object();
    json_t *meta = json_pack("{s:s}", "format", "pt");
    if (!sizes || !root || !meta || json_object_set_new(root, "__metadata__", meta) != 0) {
        if (!root)
            json_decref(meta);
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        const hs_st_write_entry *e = &entries[i];
        size_t esize = hs_dtype_size(e->dtype);
        if (!e->name || strcmp(e->name, "__metadata__") == 0 || esize == 0 || e->ndim < 0 || e->ndim > HS_MAX_DIMS) {
            rc = hs_fail(err, HS_ERR_ARG, "%s: entry %d (%s): invalid name, dtype or ndim", path, i,
                         e->name ? e->name : "NULL");
            goto done;
        }
        if (json_object_get(root, e->name)) {
            rc = hs_fail(err, HS_ERR_ARG, "%s: tensor '%s' is listed twice", path, e->name);
            goto done;
        }
        uint64_t numel = 1;
        json_t *shape = json_array();
        json_t *entry = json_object();
        if (!shape || !entry || json_object_set_new(entry, "shape", shape) != 0) {
            if (!entry)
                json_decref(shape);
            json_decref(entry);
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
        int bad = 0;
        for (int d = 0; d < e->ndim; d++) {
            if (e->shape[d] < 0 || __builtin_mul_overflow(numel, (uint64_t)e->shape[d], &numel))
                bad = 1;
            json_array_append_new(shape, json_integer(e->shape[d]));
        }
        uint64_t nbytes = 0;
        if (bad || __builtin_mul_overflow(numel, (uint64_t)esize, &nbytes) || (nbytes > 0 && !e->data)) {
            json_decref(entry);
            rc = hs_fail(err, HS_ERR_ARG, "%s: tensor '%s': invalid shape or NULL data", path, e->name);
            goto done;
        }
        sizes[i] = (size_t)nbytes;
        json_object_set_new(entry, "dtype", json_string(hs_dtype_name(e->dtype)));
        json_object_set_new(entry, "data_offsets", json_pack("[II]", (json_int_t)offset, (json_int_t)(offset + nbytes)));
        offset += nbytes;
        if (json_object_set_new(root, e->name, entry) != 0) {
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
            goto done;
        }
    }
    text = json_dumps(root, JSON_COMPACT);
    if (!text) {
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    /* Pad with spaces so that the data section starts 8-byte aligned. */
    size_t hlen = strlen(text);
    size_t padded = (hlen + 7) & ~(size_t)7;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++)
        lenbuf[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    f = fopen(path, "wb");
    if (!f) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        goto done;
    }
    int ok = fwrite(lenbuf, 1, 8, f) == 8 && fwrite(text, 1, hlen, f) == hlen;
    for (size_t i = hlen; ok && i < padded; i++)
        ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < n; i++)
        ok = sizes[i] == 0 || fwrite(entries[i].data, 1, sizes[i], f) == sizes[i];
    int closed = fclose(f);
    f = NULL;
    if (!ok || closed != 0) {
        remove(path);
        rc = hs_fail(err, HS_ERR_IO, "%s: write failed", path);
    }
done:
    free(text);
    free(sizes);
    json_decref(root);
    return rc;
}
