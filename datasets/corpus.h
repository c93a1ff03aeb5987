/* corpus.h — the training corpus of the project's toy models: documents separated by
 * "<|endoftext|>", drawn at random (deterministic from the seed) from three kinds:
 *   - task examples (by default 45 % of documents, the seven tasks of task_set.h in equal shares, or
 *     in the shares of hs_corpus_spec.task_weight): one to four train-split prompts of one task, each
 *     completed with its answer, one per line;
 *   - stories (by default 40 %): stories.h's template stories;
 *   - repeated word blocks (by default 15 %): stories.h's blocks repeated two to four times.
 * Held-out prompts never appear: their words, templates or problems stay unseen in task form (their
 * names, objects and places do appear in stories, see stories.h). */
#ifndef HS_DATASETS_CORPUS_H
#define HS_DATASETS_CORPUS_H

#include <stdint.h>

#include "headscope.h"

#define HS_CORPUS_MAX_TASKS 16

typedef struct hs_corpus_spec {
    double size_mb; /* stop at the first document end at or past this many MB (10^6 bytes) */
    uint64_t seed;
    /* percent of documents that are task examples, stories, repeated blocks (sum 100); all zero
     * means 45, 40, 15 */
    int mix[3];
    /* relative share of each task of hs_tasks() among task documents (>= 0, not all zero); all zero
     * means equal shares (as do any equal weights). The defaults give the same bytes as before these
     * fields existed. */
    int task_weight[HS_CORPUS_MAX_TASKS];
} hs_corpus_spec;

typedef struct hs_corpus_stats {
    int64_t bytes, docs;
    int64_t task_docs, task_examples, stories, repeats;
} hs_corpus_stats;

/* Writes the corpus to path; stats (may be NULL) says what went in. The same spec gives the same
 * bytes. */
hs_status hs_corpus_write(const char *path, const hs_corpus_spec *spec, hs_corpus_stats *stats, hs_error *err);

#endif
