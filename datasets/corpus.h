/* corpus.h — the training corpus of the project's toy models: documents separated by
 * "<|endoftext|>", drawn at random (deterministic from the seed) from three kinds:
 *   - task examples (45 % of documents, the seven tasks of task_set.h in equal shares): one to four
 *     train-split prompts of one task, each completed with its answer, one per line;
 *   - stories (40 %): stories.h's template stories;
 *   - repeated word blocks (15 %): stories.h's blocks repeated two to four times.
 * Held-out prompts never appear: their words, templates or problems stay unseen in task form (their
 * names, objects and places do appear in stories, see stories.h). */
#ifndef HS_DATASETS_CORPUS_H
#define HS_DATASETS_CORPUS_H

#include <stdint.h>

#include "headscope.h"

typedef struct hs_corpus_spec {
    double size_mb; /* stop at the first document end at or past this many MB (10^6 bytes) */
    uint64_t seed;
} hs_corpus_spec;

typedef struct hs_corpus_stats {
    int64_t bytes, docs;
    int64_t task_docs, task_examples, stories, repeats;
} hs_corpus_stats;

/* Writes the corpus to path; stats (may be NULL) says what went in. The same spec gives the same
 * bytes. */
hs_status hs_corpus_write(const char *path, const hs_corpus_spec *spec, hs_corpus_stats *stats, hs_error *err);

#endif
