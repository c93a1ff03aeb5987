/* task_set.h — the task prompt sets (IOI, greater-than, colored objects, factual recall, MCQ,
 * arithmetic, MQAR): a spec shared by every generator, the prompts a generator produces, the JSONL
 * writer (the format of prompts.h) and the table of generators by name.
 *
 * Every generator is deterministic: the same spec gives the same prompts, byte for byte. Its random
 * stream is seeded by (seed, task name, split), so tasks and splits with one seed do not share
 * draws. The split selects disjoint word lists, templates or values where the task allows; each
 * generator's header says which. A prompt's answer is the next-token text that completes it, with
 * GPT-2's leading space (" Mary") except where the task's tokens have none (greater-than's "45"). */
#ifndef HS_DATASETS_TASK_SET_H
#define HS_DATASETS_TASK_SET_H

#include <stdint.h>
#include <stdio.h>

#include "headscope.h"

typedef enum hs_task_split { HS_TASK_TRAIN = 0, HS_TASK_HELDOUT = 1 } hs_task_split;

typedef struct hs_task_spec {
    int n;                /* prompts, >= 1 */
    uint64_t seed;
    hs_task_split split;
    int n_pairs, n_queries; /* MQAR only: key-value pairs and queries (0: 8 and 4) */
    int ioi_swap;           /* IOI only: corrupt by exchanging IO and S everywhere (the answer flips to S)
                               instead of the ABC names; the clean prompts are the same either way */
} hs_task_spec;

/* One prompt; every string is owned by the set. corrupted and wrong may be NULL. */
typedef struct hs_task_prompt {
    char *clean, *corrupted, *answer, *wrong;
    char *meta_json; /* compact JSON object: "set", "split", "seed", "template" and the task's own keys */
} hs_task_prompt;

typedef struct hs_task_set {
    const char *name; /* the set's name (static), e.g. "ioi" */
    hs_task_prompt *v;
    int n, cap;
} hs_task_set;

/* Appends a prompt (strings copied). meta is a JSON object (jansson json_t *, stolen even on
 * failure) to which "set", "split" and "seed" are added in front of its own keys. */
struct json_t;
hs_status hs_task_set_add(hs_task_set *s, const hs_task_spec *spec, const char *clean, const char *corrupted,
                          const char *answer, const char *wrong, struct json_t *meta, hs_error *err);
/* Frees the prompts (not the record itself); the set is empty afterwards. */
void hs_task_set_clear(hs_task_set *s);

/* Writes the set as JSONL: {"id": "<name>-0000", "clean", "corrupted", "answer", "wrong", "meta"}
 * (absent fields left out; "text" is then the clean prompt, as prompts.h reads it). */
hs_status hs_task_set_write(const hs_task_set *s, const char *path, hs_error *err);
/* The same lines for the first n_max prompts (all when n_max < 0), appended to an open file; path
 * names it in messages. */
hs_status hs_task_set_append(const hs_task_set *s, int n_max, FILE *f, const char *path, hs_error *err);

/* A generator: appends spec->n prompts to out (whose name it sets). HS_ERR_ARG for a bad spec. */
typedef hs_status (*hs_task_generate_fn)(const hs_task_spec *spec, hs_task_set *out, hs_error *err);

typedef struct hs_task_info {
    const char *name;     /* as on the command line: "ioi", "greater-than", ... */
    hs_task_generate_fn generate;
    const char *summary;  /* one line */
} hs_task_info;

/* The generators, in a fixed order; n_out receives their number. */
const hs_task_info *hs_tasks(int *n_out);
/* The generator of that name, or NULL. */
const hs_task_info *hs_task_find(const char *name);

/* The generators (one file each). */
hs_status hs_task_ioi(const hs_task_spec *spec, hs_task_set *out, hs_error *err);
hs_status hs_task_greater_than(const hs_task_spec *spec, hs_task_set *out, hs_error *err);
hs_status hs_task_colored_objects(const hs_task_spec *spec, hs_task_set *out, hs_error *err);
hs_status hs_task_factual(const hs_task_spec *spec, hs_task_set *out, hs_error *err);
hs_status hs_task_mcq(const hs_task_spec *spec, hs_task_set *out, hs_error *err);
hs_status hs_task_arithmetic(const hs_task_spec *spec, hs_task_set *out, hs_error *err);
hs_status hs_task_mqar(const hs_task_spec *spec, hs_task_set *out, hs_error *err);

/* What generators share: the random stream of (spec, task) and checking the spec. */
#include "datasets/rng.h"
hs_rng hs_task_rng(const hs_task_spec *spec, const char *task);
hs_status hs_task_check_spec(const hs_task_spec *spec, const char *task, hs_error *err);

/* Expands a template into out[cap]: "{X}" (X an upper-case letter) becomes vals[X - 'A'], which must
 * not be NULL; other characters are copied. HS_ERR_ARG when the result does not fit. */
hs_status hs_task_fill(const char *tmpl, const char *const vals[26], char *out, size_t cap, hs_error *err);

/* Room for any prompt a generator writes. */
#define HS_TASK_TEXT_MAX 4096

#endif
