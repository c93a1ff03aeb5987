/* circuit_tasks.h — the prompt sets of the planted circuits model (model/planted_circuits.h): task A
 * (induction) and task B (first token), with clean and corrupted prompts of equal length.
 *
 * JSONL, one prompt a line, in the format of datasets/prompts.h; texts are letters, one token per
 * character, and the model's tokenizer prepends BOS, so token position = character index + 1:
 *   {"id": "A-0000", "clean": "ytwrkhpldixczw", "corrupted": "ytvrkhpldixczw", "answer": "r", "wrong": "k",
 *    "meta": {"set": "A", "task": "induction", "seed": 7, "k": 13, "source": 4}}
 *   {"id": "B-0000", "clean": "iblhmtaxjk0", "corrupted": "iblhmtaxjk1", "answer": "i", "wrong": "t",
 *    "meta": {"set": "B", "task": "first-token", "seed": 7, "k": 10, "source": 1}}
 * A: "s0 .. s(k-1) X", distinct letters s, X = s(j): answer s(j+1), wrong another letter of the
 *    prompt (not X); corrupted: s(j) replaced by a letter absent from the prompt.
 *    meta {"set": "A", "task": "induction", "seed", "k", "source": j + 2} (source = the token
 *    position the induction head attends to).
 * B: "F s1 .. s(k-1) 0": answer F, wrong another letter; corrupted: the final "0" replaced by "1".
 *    meta {"set": "B", "task": "first-token", "seed", "k", "source": 1}.
 * k is drawn from 6..14; the same (set, n, seed) always gives the same bytes. */
#ifndef HS_DATASETS_CIRCUIT_TASKS_H
#define HS_DATASETS_CIRCUIT_TASKS_H

#include <stdint.h>

#include "headscope.h"

/* Writes n prompts of set "A" or "B" to path. HS_ERR_ARG for another set or n < 1. */
hs_status hs_circuit_tasks_write(const char *path, const char *set, int n, uint64_t seed, hs_error *err);

#endif
