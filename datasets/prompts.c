/* prompts.c — the JSONL prompt-set reader (jansson per line, strict field checks). */
#include "datasets/prompts.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/mapped_file.h"

void hs_prompt_set_free(hs_prompt_set *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->n; i++) {
        hs_prompt *p = &set->prompts[i];
        free(p->id), free(p->text), free(p->meta_json), free(p->clean), free(p->corrupted), free(p->answer),
            free(p->wrong), free(p->image), free(p->tokens);
    }
    free(set->prompts);
    free(set->path);
    free(set);
}

static char **field_slot(hs_prompt *p, const char *key)
{
    if (!strcmp(key, "text")) return &p->text;
    if (!strcmp(key, "clean")) return &p->clean;
    if (!strcmp(key, "corrupted")) return &p->corrupted;
    if (!strcmp(key, "answer")) return &p->answer;
    if (!strcmp(key, "wrong")) return &p->wrong;
    if (!strcmp(key, "image")) return &p->image;
    return NULL;
}

/* "tokens": a non-empty array of token ids, each an integer in 0..2^31-1. Whether an id is in a
 * model's vocabulary is checked when the prompt meets the model (hs_record_tokenize). */
static hs_status parse_tokens(const json_t *v, const char *path, int line, hs_prompt *p, hs_error *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s:%d: field \"tokens\" must be a non-empty array of token ids", path,
                       line);
    size_t n = json_array_size(v);
    if (n > 1000000)
        return hs_fail(err, HS_ERR_FORMAT, "%s:%d: field \"tokens\" has %zu ids (at most 1000000)", path, line, n);
    if (!(p->tokens = malloc(n * sizeof *p->tokens)))
        return hs_fail(err, HS_ERR_NOMEM, "%s:%d: out of memory", path, line);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > INT32_MAX)
            return hs_fail(err, HS_ERR_FORMAT, "%s:%d: field \"tokens\"[%zu] is not a token id (an integer >= 0)",
                           path, line, i);
        p->tokens[i] = (int32_t)json_integer_value(e);
    }
    p->n_tokens = (int)n;
    return HS_OK;
}

/* Fills p from one parsed line; err names path:line and the field. */
static hs_status parse_prompt(json_t *obj, const char *path, int line, hs_prompt *p, hs_error *err)
{
    if (!json_is_object(obj))
        return hs_fail(err, HS_ERR_FORMAT, "%s:%d: expected a JSON object, one prompt per line", path, line);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char **slot = field_slot(p, key);
        if (slot) {
            if (!json_is_string(v))
                return hs_fail(err, HS_ERR_FORMAT, "%s:%d: field \"%s\" must be a string", path, line, key);
            if (!(*slot = strdup(json_string_value(v))))
                return hs_fail(err, HS_ERR_NOMEM, "%s:%d: out of memory", path, line);
        } else if (!strcmp(key, "id")) {
            char buf[64];
            if (json_is_string(v))
                p->id = strdup(json_string_value(v));
            else if (json_is_integer(v)) {
                snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
                p->id = strdup(buf);
            } else
                return hs_fail(err, HS_ERR_FORMAT, "%s:%d: field \"id\" must be a string or an integer", path,
                               line);
            if (!p->id)
                return hs_fail(err, HS_ERR_NOMEM, "%s:%d: out of memory", path, line);
        } else if (!strcmp(key, "meta")) {
            if (!json_is_object(v))
                return hs_fail(err, HS_ERR_FORMAT, "%s:%d: field \"meta\" must be an object", path, line);
            if (!(p->meta_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)))
                return hs_fail(err, HS_ERR_NOMEM, "%s:%d: out of memory", path, line);
        } else if (!strcmp(key, "tokens")) {
            HS_TRY(parse_tokens(v, path, line, p, err));
        } else {
            return hs_fail(err, HS_ERR_FORMAT,
                           "%s:%d: unknown field \"%s\" (known: id, text, meta, clean, corrupted, answer, wrong, image, "
                           "tokens)",
                           path, line, key);
        }
    }
    if (!p->text && p->clean && !(p->text = strdup(p->clean)))
        return hs_fail(err, HS_ERR_NOMEM, "%s:%d: out of memory", path, line);
    if (!p->text && !p->tokens)
        return hs_fail(err, HS_ERR_FORMAT, "%s:%d: field \"text\" (or \"clean\") is missing (or give \"tokens\")",
                       path, line);
    return HS_OK;
}

hs_status hs_prompt_set_load(const char *path, hs_prompt_set **out, hs_error *err)
{
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    hs_status rc = hs_read_file(path, &data, &len, err);
    if (rc != HS_OK)
        return rc;
    hs_prompt_set *set = calloc(1, sizeof *set);
    int cap = 0;
    if (!set || !(set->path = strdup(path))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    int line = 0;
    for (size_t at = 0; at < len;) {
        size_t end = at;
        while (end < len && data[end] != '\n')
            end++;
        line++;
        size_t s = at, e = end;
        while (s < e && (data[s] == ' ' || data[s] == '\t' || data[s] == '\r'))
            s++;
        while (e > s && (data[e - 1] == ' ' || data[e - 1] == '\t' || data[e - 1] == '\r'))
            e--;
        at = end + 1;
        if (s == e)
            continue;
        if (memchr(data + s, '\0', e - s)) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s:%d: NUL byte in the line", path, line);
            goto fail;
        }
        json_error_t jerr;
        json_t *obj = json_loadb(data + s, e - s, 0, &jerr);
        if (!obj) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s:%d:%d: invalid JSON: %s", path, line, jerr.column, jerr.text);
            goto fail;
        }
        if (set->n == cap) {
            int ncap = cap ? 2 * cap : 64;
            hs_prompt *np = realloc(set->prompts, (size_t)ncap * sizeof *np);
            if (!np) {
                json_decref(obj);
                rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
                goto fail;
            }
            set->prompts = np;
            cap = ncap;
        }
        hs_prompt *p = &set->prompts[set->n];
        memset(p, 0, sizeof *p);
        p->idx = set->n;
        p->line = line;
        set->n++; /* counted before parsing so that a failure frees what was filled */
        rc = parse_prompt(obj, path, line, p, err);
        json_decref(obj);
        if (rc != HS_OK)
            goto fail;
    }
    if (set->n == 0) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: no prompts (the file is empty)", path);
        goto fail;
    }
    free(data);
    *out = set;
    return HS_OK;
fail:
    free(data);
    hs_prompt_set_free(set);
    return rc;
}
