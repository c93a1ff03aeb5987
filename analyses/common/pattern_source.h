/* pattern_source.h — how every attention analysis gets its attention patterns: prompt by prompt,
 * from the patterns a run stored (activations rows of hook "attn.hook_pattern"), or, when the run
 * stored none (or not all) and a model is given, by running that model on the run's stored tokens.
 *
 * Workload: one pass over up to thousands of prompts of up to a few hundred tokens; only the
 * current prompt's patterns are in memory ([n_layers, n_heads, T, T] float32: 3.5 MB for
 * GPT-2 small at T = 64), so a 1,000-prompt run costs no more memory than one prompt.
 *
 * Which source is used (decided once, at open):
 *   - the store, when every prompt has every layer's and head's pattern with every query row;
 *   - the model, when the store has no pattern at all, or has only some (recorded with --layers,
 *     --heads or --positions) and a model is given, or when HS_PATTERNS_RECOMPUTE asks for it.
 *     The model must be the run's own: its weights' sha256 must equal runs.model_sha256;
 *   - the store with gaps, when it has only some patterns and no model is given: missing heads
 *     and query rows are zero and flagged in head_kept / row_kept, and consumers skip them;
 *   - neither: HS_ERR_MISSING naming the database, the run, the hook, and the run's model path.
 * Stored float16/bfloat16 patterns are widened to float32 (rows then sum to 1 within ~1e-3). */
#ifndef HS_ANALYSES_COMMON_PATTERN_SOURCE_H
#define HS_ANALYSES_COMMON_PATTERN_SOURCE_H

#include "headscope.h"
#include "analyses/common/run_info.h"
#include "store/store.h"

typedef struct hs_pattern_source hs_pattern_source;

typedef enum hs_pattern_origin {
    HS_PATTERNS_FROM_STORE,  /* read from activations */
    HS_PATTERNS_FROM_MODEL   /* recomputed by a forward pass on the stored tokens */
} hs_pattern_origin;

/* Flags for hs_pattern_source_open. */
#define HS_PATTERNS_RECOMPUTE 1u  /* run the model even when the store has every pattern */

typedef struct hs_pattern_source_info {
    hs_run_info run;          /* the run read (its model, layers, heads, prompt count) */
    hs_pattern_origin origin;
    int complete;             /* every head and query row of every prompt is present */
    char dtype[8];            /* dtype the patterns were stored in ("f16", ...), "f32" when recomputed */
} hs_pattern_source_info;

/* One prompt's patterns. Everything is owned by the source and valid until the next call to
 * hs_pattern_source_next or hs_pattern_source_close. */
typedef struct hs_pattern_prompt {
    int64_t prompt_id;              /* prompts.id (the key head_scores rows name) */
    int idx;                        /* prompts.idx: 0-based order in the prompt set */
    int T;                          /* tokens */
    const int32_t *ids;             /* [T] token ids as stored */
    const char *meta_json;          /* the prompt's "meta" object as JSON, or NULL */
    const float *pattern;           /* [n_layers, n_heads, T, T] A[l][h][query][key]; causal, rows sum to 1;
                                     * zero where a head or row is absent */
    const unsigned char *head_kept; /* [n_layers, n_heads] 1 where the head's pattern is present */
    const unsigned char *row_kept;  /* [T] 1 where the query row is present (the same for every kept head) */
} hs_pattern_prompt;

/* Opens the patterns of run `run_id` (< 0: the latest run) of `store`. `model` may be NULL; when
 * given it is used only as described above (and its sha256 is checked only then). The store and
 * the model must outlive the source. On failure *out is NULL and err says why. */
hs_status hs_pattern_source_open(hs_store *store, int64_t run_id, const hs_model *model, unsigned flags,
                                 hs_pattern_source **out, hs_error *err);
void hs_pattern_source_close(hs_pattern_source *src);

const hs_pattern_source_info *hs_pattern_source_info_of(const hs_pattern_source *src);

/* The next prompt in idx order: *out points at it, or is NULL after the last one. On failure err
 * names the prompt. */
hs_status hs_pattern_source_next(hs_pattern_source *src, const hs_pattern_prompt **out, hs_error *err);

#endif
