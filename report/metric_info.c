/* metric_info.c — the table of per-head metrics the report knows how to describe (see
 * metric_info.h). Definitions follow ../shared/ANALYSES.md and the analyses' own help texts. */
#include "report/metric_info.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

static const hs_metric_info metrics[] = {
    {"run", "attn_first", "Attention on the first token",
     "Mean over query positions i of A[i, 0], the attention a head pays to position 0; averaged over "
     "prompts. Computed while recording (headscope run; off with --no-summaries).",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"run", "attn_entropy", "Attention entropy (nats)",
     "Mean over query positions i of H_i = -sum_k A[i, k] log A[i, k]; low values are focused heads, "
     "high values spread attention. Averaged over prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, NAN, 0},
    {"run", "attn_max", "Maximum attention per row",
     "Mean over query positions i of max_k A[i, k]; 1 means every query attends to one key. "
     "Averaged over prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"heads", "previous_token", "Previous-token score",
     "TransformerLens detect_head, \"mul\" mode: sum(A \xe2\x8a\x99 D) / sum(A) with D the sub-diagonal (query i "
     "attends to key i-1); mean over prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"heads", "duplicate_token", "Duplicate-token score",
     "TransformerLens detect_head, \"mul\" mode, with D marking earlier positions holding the same token as the "
     "query; mean over prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"heads", "induction", "Induction score",
     "TransformerLens detect_head, \"mul\" mode, with D the duplicate-token pattern shifted right by one: query i "
     "attends to the token after an earlier copy of token i; mean over prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"heads", "retrieval_echo", "Retrieval: echo score",
     "RazorAttention on BOS + copies of a random block of length L: mean A[i, i-L] over queries in the later "
     "copies (attention to the same token one copy back).",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"heads", "retrieval_induction", "Retrieval: induction score",
     "RazorAttention on BOS + copies of a random block of length L: mean A[i, i-L+1] over queries in the later "
     "copies (attention to the token after the same token one copy back).",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"heads", "attn_distance", "Average attention distance (tokens)",
     "Mean over queries i of sum_k A[i, k] (i - k): small for local heads, large for global ones; mean over "
     "prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, NAN, 0},
    {"heads", "entropy", "Attention entropy (nats)",
     "Mean over queries i of -sum_k A[i, k] log A[i, k]; mean over prompts.", HS_COLORMAP_SEQUENTIAL, 0, 0, NAN, 0},
    {"sinks", "alpha0", "First-token sink score alpha_0",
     "alpha_k = sum_{i>=k} A[i, k] / (T - k) at k = 0 with prompts cut to T = 64 tokens (Gu et al., \"When "
     "Attention Sink Emerges\"): the mean attention the first token receives; mean over prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"sinks", "sink", "Sink rate per head",
     "Fraction of prompts on which alpha_0 > eps = 0.3 (Gu et al.); the model's sink rate is the same "
     "fraction over every (prompt, layer, head).",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"sinks", "hidden_sinks", "Hidden sinks per prompt",
     "|S| with S = {k > 0 : alpha_k > tau}, tau = 0.1, over the whole prompt (ACT, \"Unveiling and Harnessing "
     "Hidden Attention Sinks\"); mean over prompts.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, NAN, 0},
    {"sinks", "entropy", "Attention entropy (nats)",
     "Mean over queries i of -sum_k A[i, k] ln A[i, k]; mean over prompts. Sink heads have low entropy.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, NAN, 0},
    {"act", "act_trial", "ACT trial metric on the calibration set",
     "The task metric on the calibration prompts with ACT applied to this head (EACH: alone; greedy: with the "
     "heads kept before it); heads that were not tried are blank.",
     HS_COLORMAP_SEQUENTIAL, 0, NAN, NAN, 0},
    {"act", "act_selected", "Heads ACT calibrates",
     "1 for the heads whose calibration was kept (or that were named), 0 for tried heads that were not.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, 1, 0},
    {"dla", "dla", "Direct logit attribution of each head",
     "(W_U[:, answer] - W_U[:, wrong]) \xc2\xb7 r / sigma_final at the last position, r the head's result "
     "(hook_result) and sigma_final the cached final-norm scale (TransformerLens convention); mean over the analysed "
     "prompts. Positive heads push the answer over the wrong token.",
     HS_COLORMAP_DIVERGING, 1, NAN, NAN, 1},
    /* attribution patching (analyze patch --method atp): before patching's entries, which would match too */
    {"atp", "*_atp_logit_diff", "Attribution patching: estimated normalised logit difference",
     "AtP, the first-order estimate of activation patching of one head (all positions): LD(base) + sum over the "
     "head's slice of (a_source - a_base) \xc2\xb7 dLD/da with the gradient of the patched run (denoise: the "
     "corrupted run's, times clean - corrupted), normalised as activation patching's (0 = corrupted, 1 = clean). "
     "Exact where LD is linear in the head's output; misses effects through saturated attention.",
     HS_COLORMAP_DIVERGING, 1, NAN, NAN, 0},
    {"patch", "*_atp_logit_diff", "Attribution patching: estimated normalised logit difference",
     "AtP, the first-order estimate of the activation patching grid of the same name with 'patch' for 'atp': "
     "sum over the cell's slice of (a_source - a_base) \xc2\xb7 dLD/da at the patched run, normalised as "
     "patching's (0 = corrupted, 1 = clean).",
     HS_COLORMAP_DIVERGING, 1, NAN, NAN, 0},
    /* activation patching: one entry per metric family, matched by the end of the name
     * (COMPONENT_DIRECTION_ABLATION_logit_diff); the normalised logit difference is not bounded, a
     * patch can overshoot the clean run (> 1) or push past the corrupted one (< 0) */
    {"patch", "*_logit_diff", "Activation patching: normalised logit difference",
     "Patch one head's activation (all positions) from the other run (or zero / mean / resample), as the metric name "
     "says: (mean LD(patched) - mean LD(corrupted)) / (mean LD(clean) - mean LD(corrupted)), LD = logit(answer) - "
     "logit(wrong) at the last position, means over the prompts (TransformerLens's IOI notebook); 0 = corrupted, "
     "1 = clean, unbounded. k and v heads are kv heads.",
     HS_COLORMAP_DIVERGING, 1, NAN, NAN, 0},
    {"patch", "*_kl", "Activation patching: KL to the clean output",
     "Mean over the prompts of KL(P_clean || P_patched) at the last position, in nats, with one head patched at all "
     "positions as the metric name says; 0 = the clean output.",
     HS_COLORMAP_SEQUENTIAL, 0, 0, NAN, 0},
};

static const struct {
    const char *analysis, *description;
} analyses[] = {
    {"run", "Per-head summaries computed during the recording run from every attention pattern."},
    {"heads", "Head detectors (headscope analyze heads): which heads attend to the previous token, to earlier "
              "copies of the current token, or act as induction heads; TransformerLens semantics."},
    {"sinks", "Attention sinks (headscope analyze sinks); the per-layer and overall sink rates are rows of "
              "head_scores with head (and layer) NULL."},
    {"dla", "Direct logit attribution of every head (headscope analyze logit-lens); the lens figures are above."},
    {"patch", "Activation patching (headscope analyze patch), per head over all positions; the per-layer and "
              "per-position grids are in the activation patching section above."},
    {"atp", "Attribution patching (headscope analyze patch --method atp), per head over all positions: the "
            "first-order estimate of the activation patching grids; its per-layer and per-position grids are in the "
            "activation patching section above."},
    {"act", "The ACT calibration (headscope analyze sinks --calibrate); its held-out effect is in the sinks section "
            "above."},
};

const hs_metric_info *hs_metric_info_find(const char *analysis, const char *metric)
{
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        if (strcmp(metrics[i].analysis, analysis) != 0)
            continue;
        const char *m = metrics[i].metric;
        size_t lm = strlen(m), l = strlen(metric);
        if (m[0] == '*' ? l >= lm - 1 && strcmp(metric + l - (lm - 1), m + 1) == 0 : strcmp(m, metric) == 0)
            return &metrics[i];
    }
    return NULL;
}

const char *hs_analysis_description(const char *analysis)
{
    for (size_t i = 0; i < sizeof analyses / sizeof analyses[0]; i++)
        if (strcmp(analyses[i].analysis, analysis) == 0)
            return analyses[i].description;
    return NULL;
}
