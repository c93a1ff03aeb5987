/* task_set.c — task prompt sets in memory, their JSONL writer and the table of generators. */
#include "datasets/task_set.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static const hs_task_info tasks[] = {
    {"ioi", hs_task_ioi, "indirect object identification: 15 BABA templates + ABBA, ABC corruption"},
    {"greater-than", hs_task_greater_than, "\"The war lasted from the year 1745 to the year 17\" -> a later YY"},
    {"colored-objects", hs_task_colored_objects, "one-shot \"What color is the X?\" over three coloured objects"},
    {"factual", hs_task_factual, "factual recall: nation -> capital, 6 templates"},
    {"mcq", hs_task_mcq, "anchored multiple choice: \"Answer Choices: A: .. D: .. Answer:\" -> \" B\""},
    {"arithmetic", hs_task_arithmetic, "\"a op b =\" with small numbers (+, -, *), answer the result"},
    {"mqar", hs_task_mqar, "multi-query associative recall: key-value pairs, then queries"},
};

const hs_task_info *hs_tasks(int *n_out)
{
    *n_out = (int)(sizeof tasks / sizeof tasks[0]);
    return tasks;
}

const hs_task_info *hs_task_find(const char *name)
{
    for (size_t i = 0; i < sizeof tasks / sizeof tasks[0]; i++)
        if (!strcmp(tasks[i].name, name))
            return &tasks[i];
    return NULL;
}

hs_rng hs_task_rng(const hs_task_spec *spec, const char *task)
{
    return hs_rng_seed(spec->seed, hs_rng_salt(task) + (uint64_t)spec->split);
}

hs_status hs_task_check_spec(const hs_task_spec *spec, const char *task, hs_error *err)
{
    if (spec->n < 1 || spec->n > 100000000 || (spec->split != HS_TASK_TRAIN && spec->split != HS_TASK_HELDOUT))
        return hs_fail(err, HS_ERR_ARG, "%s: need at least one prompt and split train or heldout (got n = %d)", task,
                       spec->n);
    return HS_OK;
}

hs_status hs_task_fill(const char *tmpl, const char *const vals[26], char *out, size_t cap, hs_error *err)
{
    size_t o = 0;
    for (const char *p = tmpl; *p; p++) {
        const char *piece = p;
        size_t len = 1;
        if (p[0] == '{' && p[1] >= 'A' && p[1] <= 'Z' && p[2] == '}' && vals[p[1] - 'A']) {
            piece = vals[p[1] - 'A'];
            len = strlen(piece);
            p += 2;
        }
        if (o + len >= cap)
            return hs_fail(err, HS_ERR_ARG, "template \"%.40s...\" does not fit in %zu bytes", tmpl, cap);
        memcpy(out + o, piece, len);
        o += len;
    }
    out[o] = '\0';
    return HS_OK;
}

static char *dup_or_null(const char *s, int *bad)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    *bad |= !d;
    return d;
}

hs_status hs_task_set_add(hs_task_set *s, const hs_task_spec *spec, const char *clean, const char *corrupted,
                          const char *answer, const char *wrong, json_t *meta, hs_error *err)
{
    json_t *full = json_pack("{s:s, s:s, s:I}", "set", s->name, "split",
                             spec->split == HS_TASK_TRAIN ? "train" : "heldout", "seed", (json_int_t)spec->seed);
    int bad = !full || !meta || json_object_update(full, meta);
    json_decref(meta);
    if (s->n == s->cap && !bad) {
        int cap = s->cap ? s->cap * 2 : 64;
        hs_task_prompt *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (v) {
            s->v = v;
            s->cap = cap;
        } else {
            bad = 1;
        }
    }
    if (bad) {
        json_decref(full);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", s->name);
    }
    hs_task_prompt p = {0};
    p.clean = dup_or_null(clean, &bad);
    p.corrupted = dup_or_null(corrupted, &bad);
    p.answer = dup_or_null(answer, &bad);
    p.wrong = dup_or_null(wrong, &bad);
    p.meta_json = json_dumps(full, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(full);
    if (bad || !p.meta_json) {
        free(p.clean), free(p.corrupted), free(p.answer), free(p.wrong), free(p.meta_json);
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", s->name);
    }
    s->v[s->n++] = p;
    return HS_OK;
}

void hs_task_set_clear(hs_task_set *s)
{
    for (int i = 0; i < s->n; i++) {
        hs_task_prompt *p = &s->v[i];
        free(p->clean), free(p->corrupted), free(p->answer), free(p->wrong), free(p->meta_json);
    }
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

hs_status hs_task_set_append(const hs_task_set *s, int n_max, FILE *f, const char *path, hs_error *err)
{
    hs_status rc = HS_OK;
    int n = n_max >= 0 && n_max < s->n ? n_max : s->n;
    for (int i = 0; i < n && rc == HS_OK; i++) {
        const hs_task_prompt *p = &s->v[i];
        char id[64];
        snprintf(id, sizeof id, "%s-%04d", s->name, i);
        json_t *line = json_object(), *meta = json_loads(p->meta_json, 0, NULL);
        int bad = !line || !meta || json_object_set_new(line, "id", json_string(id)) ||
                  json_object_set_new(line, "clean", json_string(p->clean));
        if (!bad && p->corrupted)
            bad = json_object_set_new(line, "corrupted", json_string(p->corrupted));
        if (!bad && p->answer)
            bad = json_object_set_new(line, "answer", json_string(p->answer));
        if (!bad && p->wrong)
            bad = json_object_set_new(line, "wrong", json_string(p->wrong));
        if (!bad) {
            bad = json_object_set_new(line, "meta", meta);
            meta = NULL;
        }
        char *text = bad ? NULL : json_dumps(line, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        if (!text)
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        else if (fprintf(f, "%s\n", text) < 0)
            rc = hs_fail(err, HS_ERR_IO, "%s: write error: %s", path, strerror(errno));
        free(text);
        json_decref(meta);
        json_decref(line);
    }
    return rc;
}

hs_status hs_task_set_write(const hs_task_set *s, const char *path, hs_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    hs_status rc = hs_task_set_append(s, -1, f, path, err);
    if (fclose(f) != 0 && rc == HS_OK)
        rc = hs_fail(err, HS_ERR_IO, "%s: write error: %s", path, strerror(errno));
    return rc;
}
