/* record_estimate.h — how big a recording will make the store, before it runs: the rows each prompt
 * adds (from the selection, the shapes of the model's hook points and the prompt's token count),
 * priced by store/size_model. */
#ifndef HS_HOOKS_RECORD_ESTIMATE_H
#define HS_HOOKS_RECORD_ESTIMATE_H

#include "hooks/recorder.h"

typedef struct hs_record_estimate {
    int64_t bytes;      /* what recording the counted prompts adds to the store */
    int64_t row_bytes;  /* of which their rows themselves (hs_size_model_row_bytes) */
    int n_prompts;      /* the prompts counted */
    int64_t n_rows;     /* activation rows they add */
} hs_record_estimate;

/* Estimates the bytes that hs_record_prompts adds for the prompts of `set` (tokenised as `ts`)
 * whose todo[i] is set (todo NULL: every prompt). Runs the model once on one token to learn which
 * hook points it has and their shapes; writes nothing. */
hs_status hs_record_estimate_size(const hs_model *m, const hs_prompt_set *set, const hs_tokenized_set *ts,
                                  const hs_record_options *opt, const unsigned char *todo, hs_record_estimate *out,
                                  hs_error *err);

#endif
