/* sinks_run.h — the `analyze sinks` analysis over a recorded run: for every head and prompt the
 * sink score of the first token alpha_0 (prompts cut to t_cut tokens, Gu et al.), whether it is a
 * sink (alpha_0 > eps), and the number of hidden (non-initial) sinks |S|, S = {k > 0 : alpha_k >
 * tau} over the whole prompt (ACT); means over prompts; the sink rate per layer and overall.
 * Written to head_scores with analysis = 'sinks' (replacing an earlier result for the run):
 *   alpha0, sink (0/1 per prompt; its mean is the head's sink rate), hidden_sinks  per head
 *   sink_rate  per layer (head NULL) and overall (layer and head NULL)
 *   entropy    per head: mean over queries of the row entropy, in nats
 * (the per-head metrics one row per prompt, unless per_prompt is off, and one over the set);
 * and, per key position k < max_pos and head, into sink_positions: alpha_k over the whole prompt
 * averaged over the prompts that reach k, and the fraction of them where k > 0 is a hidden sink.
 * With a model (opt->magnitudes), the magnitudes pass (analyses/sinks/magnitudes_run.h) adds its
 * per-layer rows (massive_acts, max_rms_magnitude, sink_tokens), position_norms and
 * massive_activations. Everything is replaced in one transaction.
 * Definitions: analyses/sinks/sinks.h and ../shared/ANALYSES.md section 1. */
#ifndef HS_ANALYSES_SINKS_SINKS_RUN_H
#define HS_ANALYSES_SINKS_SINKS_RUN_H

#include "headscope.h"
#include "analyses/common/pattern_source.h"
#include "store/store.h"

#define HS_SINKS_ANALYSIS "sinks"

typedef struct hs_sinks_options {
    int64_t run_id;        /* < 0: the latest run */
    float eps;             /* sink threshold on alpha_0 (default 0.3) */
    int t_cut;             /* prompts cut to this many tokens for alpha_0 (default 64) */
    float tau;             /* hidden-sink threshold (default 0.1) */
    unsigned source_flags; /* HS_PATTERNS_RECOMPUTE */
    int per_prompt;        /* also write one row per prompt (default on) */
    int max_pos;           /* sink_positions and position_norms cover positions < max_pos (default 256) */
    int magnitudes;        /* run the magnitudes pass (needs the model; default on when one is given) */
} hs_sinks_options;

void hs_sinks_options_default(hs_sinks_options *opt);

typedef struct hs_sinks_result {
    hs_pattern_source_info source;
    int n_prompts, n_short;   /* prompts analysed; of which shorter than t_cut (used whole) */
    double rate;              /* overall sink rate */
    double *layer_rate;       /* [n_layers], malloc'd: free with hs_sinks_result_free */
    double *head_hidden;      /* [n_layers, n_heads] mean |S| per prompt (NaN for absent heads), malloc'd */
    int magnitudes;           /* the magnitudes pass ran */
    int64_t n_massive;        /* massive activations found (all layers, all prompts) */
    double max_rms_magnitude; /* largest |x| / rms(x) of any block output */
    size_t n_rows;
} hs_sinks_result;

void hs_sinks_result_free(hs_sinks_result *res);

/* Runs the analysis over run opt->run_id of `store`; `model` may be NULL (pattern_source.h says
 * when it is needed). Every query row must be present (a run recorded with --positions needs
 * --model and HS_PATTERNS_RECOMPUTE). On failure nothing is written and earlier rows stay. */
hs_status hs_sinks_analyze(hs_store *store, const hs_model *model, const hs_sinks_options *opt, hs_sinks_result *res,
                           hs_error *err);

#endif
