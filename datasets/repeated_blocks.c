/* repeated_blocks.c — generating repeated-random-block prompts and reading their layout back. */
#include "datasets/repeated_blocks.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* splitmix64: a fixed, platform-independent stream for a seed */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias. */
static uint64_t uniform_below(uint64_t *s, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = next_u64(s);
    while (x >= limit);
    return x % n;
}

static int excluded(const hs_repeated_blocks_spec *spec, int32_t id)
{
    for (int i = 0; i < spec->n_exclude; i++)
        if (spec->exclude[i] == id)
            return 1;
    return 0;
}

hs_status hs_repeated_blocks_write(const char *path, const hs_repeated_blocks_spec *spec, hs_error *err)
{
    if (spec->n_prompts < 1 || spec->block_len < 1 || spec->copies < 1 ||
        (spec->n_pool <= 0 && (spec->lo < 0 || spec->hi <= spec->lo)))
        return hs_fail(err, HS_ERR_ARG,
                       "repeated blocks: need prompts >= 1, block length >= 1, copies >= 1 and a token range lo < hi "
                       "(got %d, %d, %d, [%d, %d))",
                       spec->n_prompts, spec->block_len, spec->copies, spec->lo, spec->hi);
    int32_t *pool = malloc((size_t)(spec->n_pool > 0 ? spec->n_pool : spec->hi - spec->lo) * sizeof *pool);
    int32_t *block = malloc((size_t)spec->block_len * sizeof *block);
    FILE *f = NULL;
    hs_status rc = HS_OK;
    if (!pool || !block) {
        rc = hs_fail(err, HS_ERR_NOMEM, "repeated blocks: out of memory");
        goto done;
    }
    int n_pool = 0;
    if (spec->n_pool > 0) {
        for (int i = 0; i < spec->n_pool; i++) {
            int32_t id = spec->pool[i];
            int seen = id < 0 || excluded(spec, id);
            for (int j = 0; j < n_pool && !seen; j++)
                seen = pool[j] == id;
            if (!seen)
                pool[n_pool++] = id;
        }
    } else {
        for (int32_t id = spec->lo; id < spec->hi; id++)
            if (!excluded(spec, id))
                pool[n_pool++] = id;
    }
    if (n_pool < spec->block_len) {
        rc = hs_fail(err, HS_ERR_ARG, "repeated blocks: %d distinct token ids in [%d, %d) for blocks of %d tokens",
                     n_pool, spec->lo, spec->hi, spec->block_len);
        goto done;
    }
    if (!(f = fopen(path, "w"))) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    uint64_t rng = spec->seed;
    int offset = spec->bos_id >= 0;
    for (int p = 0; p < spec->n_prompts; p++) {
        /* a partial Fisher-Yates shuffle of the pool: block_len distinct ids */
        for (int j = 0; j < spec->block_len; j++) {
            int k = j + (int)uniform_below(&rng, (uint64_t)(n_pool - j));
            int32_t t = pool[j];
            pool[j] = pool[k];
            pool[k] = t;
            block[j] = pool[j];
        }
        fprintf(f, "{\"id\": \"rep-%04d\", \"tokens\": [", p);
        if (offset)
            fprintf(f, "%d", spec->bos_id);
        for (int c = 0; c < spec->copies; c++)
            for (int j = 0; j < spec->block_len; j++)
                fprintf(f, "%s%d", (offset || c || j) ? ", " : "", block[j]);
        fprintf(f,
                "], \"meta\": {\"set\": \"repeated_blocks\", \"offset\": %d, \"block_len\": %d, \"copies\": %d, "
                "\"seed\": %llu}}\n",
                offset, spec->block_len, spec->copies, (unsigned long long)spec->seed);
    }
    if (ferror(f))
        rc = hs_fail(err, HS_ERR_IO, "%s: write error", path);
done:
    if (f && fclose(f) != 0 && rc == HS_OK)
        rc = hs_fail(err, HS_ERR_IO, "%s: write error: %s", path, strerror(errno));
    free(pool);
    free(block);
    return rc;
}

hs_status hs_repeat_layout_read(const char *meta_json, const int32_t *ids, int T, hs_repeat_layout *out,
                                int *found, hs_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    if (!meta_json)
        return HS_OK;
    json_t *meta = json_loads(meta_json, 0, NULL);
    if (!meta)
        return HS_OK; /* not ours to judge: meta is the user's */
    const json_t *jo = json_object_get(meta, "offset"), *jl = json_object_get(meta, "block_len"),
                 *jc = json_object_get(meta, "copies");
    hs_status rc = HS_OK;
    if (jl && jc) {
        if (!json_is_integer(jl) || !json_is_integer(jc) || (jo && !json_is_integer(jo))) {
            rc = hs_fail(err, HS_ERR_FORMAT, "meta: offset, block_len and copies must be integers");
            goto done;
        }
        out->offset = jo ? (int)json_integer_value(jo) : 0;
        out->block_len = (int)json_integer_value(jl);
        out->copies = (int)json_integer_value(jc);
        if (out->offset < 0 || out->block_len < 1 || out->copies < 1 ||
            (int64_t)out->offset + (int64_t)out->block_len * out->copies > T) {
            rc = hs_fail(err, HS_ERR_FORMAT, "meta: %d copies of %d tokens from position %d do not fit in %d tokens",
                         out->copies, out->block_len, out->offset, T);
            goto done;
        }
        for (int c = 1; c < out->copies; c++)
            for (int j = 0; j < out->block_len; j++) {
                int a = out->offset + j, b = out->offset + c * out->block_len + j;
                if (ids[a] != ids[b]) {
                    rc = hs_fail(err, HS_ERR_FORMAT,
                                 "meta declares %d copies of a %d-token block from position %d, but token %d (%d) "
                                 "differs from token %d (%d)",
                                 out->copies, out->block_len, out->offset, b, ids[b], a, ids[a]);
                    goto done;
                }
            }
        *found = 1;
    }
done:
    json_decref(meta);
    return rc;
}
