/* prompts.h — prompt sets: JSONL files with one prompt per line, parsed and validated whole before
 * anything is recorded.
 *
 * A line is a JSON object: {"id": string|number, "text": string, "meta": object,
 * "clean": string, "corrupted": string, "answer": string, "wrong": string, "image": string,
 * "tokens": [int, ...]}.
 * "text" is required unless "clean" (then text = clean) or "tokens" is given. "tokens" holds the
 * exact token ids to run, BOS included when wanted (nothing is added): prompts made of token ids
 * (repeated random blocks for induction and retrieval heads) need no tokenizer round trip, which
 * would not preserve them. Blank lines are skipped; the other fields are optional; unknown fields
 * are an error (they are usually typos). */
#ifndef HS_DATASETS_PROMPTS_H
#define HS_DATASETS_PROMPTS_H

#include "headscope.h"

typedef struct hs_prompt {
    int idx;        /* 0-based among the prompts (blank lines do not count) */
    int line;       /* 1-based line in the file */
    char *id;       /* may be NULL; numbers are kept as their decimal text */
    char *text;     /* NULL only when tokens are given without text */
    char *meta_json; /* compact JSON of "meta", or NULL */
    char *clean, *corrupted, *answer, *wrong, *image; /* each may be NULL */
    int32_t *tokens; /* [n_tokens] explicit token ids, or NULL (then text is tokenised) */
    int n_tokens;
} hs_prompt;

typedef struct hs_prompt_set {
    char *path;
    hs_prompt *prompts;
    int n;
} hs_prompt_set;

/* Reads and validates the whole file. On failure nothing is returned and err names the file and
 * line ("prompts.jsonl:12: ..."), with the column for JSON syntax errors. */
hs_status hs_prompt_set_load(const char *path, hs_prompt_set **out, hs_error *err);
void hs_prompt_set_free(hs_prompt_set *set);

#endif
