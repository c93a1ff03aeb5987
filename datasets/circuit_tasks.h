/* circuit_tasks.h — the prompt sets of the planted circuits model (model/planted_circuits.h): task A
 * (induction) and task B (marker lookup), with clean and corrupted prompts of equal length.
 *
 * JSONL, one prompt a line, in the format of datasets/prompts.h; texts are letters, one token per
 * character, and the model's tokenizer prepends BOS, so token position = character index + 1:
 *   {"id": "A-0000", "clean": "ytwrkhpldixczw", "corrupted": "ytvrkhpldixczw", "answer": "r", "wrong": "k",
 *    "meta": {"set": "A", "task": "induction", "seed": 7, "k": 13, "source": 4}}
 *   {"id": "B-0000", "clean": "iblhmt0axjk0", "corrupted": "iblhmtgaxjk0", "answer": "a", "wrong": "x",
 *    "meta": {"set": "B", "task": "marker-lookup", "seed": 7, "k": 10, "source": 8}}
 * A: "s0 .. s(k-1) X", distinct letters s, X = s(j): answer s(j+1), wrong another letter of the
 *    prompt (not X); corrupted: s(j) replaced by a letter absent from the prompt.
 *    meta {"set": "A", "task": "induction", "seed", "k", "source": j + 2} (source = the token
 *    position the induction head attends to).
 * B: "s0 .. s(m-1) 0 s(m) .. s(k-1) 0", distinct letters and the marker "0" twice: answer s(m), the
 *    letter after the earlier marker; wrong another letter; corrupted: the earlier marker replaced
 *    by a letter absent from the prompt.
 *    meta {"set": "B", "task": "marker-lookup", "seed", "k", "source": m + 2}.
 * k is drawn from 6..14; the same (set, n, seed) always gives the same bytes. */
#ifndef HS_DATASETS_CIRCUIT_TASKS_H
#define HS_DATASETS_CIRCUIT_TASKS_H

#include <stdint.h>

#include "headscope.h"

/* Writes n prompts of set "A" or "B" to path. HS_ERR_ARG for another set or n < 1. */
hs_status hs_circuit_tasks_write(const char *path, const char *set, int n, uint64_t seed, hs_error *err);

#endif
