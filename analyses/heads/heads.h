/* heads.h — the `analyze heads` analysis: TransformerLens head-detector scores (previous-token,
 * duplicate-token, induction), RazorAttention retrieval scores (echo, induction) on prompts that
 * are repeated blocks, attention distance and entropy, for every head, per prompt and averaged over
 * the prompts, written to head_scores with analysis = 'heads' (replacing an earlier result for the
 * same run). Definitions: analyses/heads/head_detectors.h. */
#ifndef HS_ANALYSES_HEADS_HEADS_H
#define HS_ANALYSES_HEADS_HEADS_H

#include "headscope.h"
#include "analyses/heads/head_detectors.h"
#include "analyses/common/pattern_source.h"
#include "store/store.h"

#define HS_HEADS_ANALYSIS "heads"

/* The metric names, in the order they are computed. */
#define HS_HEADS_N_METRICS 7
extern const char *const hs_heads_metric_names[HS_HEADS_N_METRICS];

typedef struct hs_heads_options {
    int64_t run_id;             /* < 0: the latest run */
    hs_detect_options detect;   /* exclude_bos / exclude_current_token: TL detectors only */
    unsigned source_flags;      /* HS_PATTERNS_RECOMPUTE */
    int per_prompt;             /* also write one row per prompt (default on) */
} hs_heads_options;

void hs_heads_options_default(hs_heads_options *opt);

typedef struct hs_heads_result {
    hs_pattern_source_info source;
    int n_prompts;              /* prompts scored */
    int n_repeated;             /* of which repeated blocks (retrieval scores) */
    size_t n_rows;              /* head_scores rows written */
} hs_heads_result;

/* Runs the analysis over run opt->run_id of `store`; `model` may be NULL (see pattern_source.h
 * for when it is needed). On failure nothing is written and earlier rows stay. */
hs_status hs_heads_analyze(hs_store *store, const hs_model *model, const hs_heads_options *opt, hs_heads_result *res,
                           hs_error *err);

#endif
