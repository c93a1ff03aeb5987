/* greater_than.c — the greater-than task (Hanna et al. 2023): "The war lasted from the year 1745 to
 * the year 17" -> a two-digit year YY above 45.
 *
 * Centuries XX are 11..17 and start years YY 02..98, as in the paper. answer is a YY drawn above the
 * start and wrong one drawn below it, both two digits without a space ("67", "12"): they are the
 * token after " 17" (the project's tokenizer splits " 1745" into " 17" "45"). The corrupted prompt
 * is the paper's "01" baseline: the same sentence starting in year XX01. meta: template (0), noun,
 * century, start_yy, so the probability difference sum_{y > YY} p(y) - sum_{y <= YY} p(y) can be
 * computed from the model's distribution over the 100 two-digit tokens.
 *
 * Split: the nouns come from disjoint train / held-out lists; centuries and years are shared.
 *
 * With GPT-2's own tokenizer 61 of the 679 start years do not split into " XX" "YY" (most of 1102-1199,
 * and 1302-1309, 1502-1509, 1280, 1440); Hanna et al. left such years out, so filter them by
 * meta.century and meta.start_yy when analysing GPT-2. The project's tokenizer splits them all. */
#include <jansson.h>
#include <stdio.h>

#include "base/error.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"

hs_status hs_task_greater_than(const hs_task_spec *spec, hs_task_set *out, hs_error *err)
{
    out->name = "greater-than";
    HS_TRY(hs_task_check_spec(spec, "greater-than", err));
    hs_rng r = hs_task_rng(spec, "greater-than");
    int held = spec->split == HS_TASK_HELDOUT;
    const char *const *nouns = held ? hs_words_events.heldout : hs_words_events.train;
    int n_nouns = held ? hs_words_events.n_heldout : hs_words_events.n_train;
    char clean[HS_TASK_TEXT_MAX], corrupted[HS_TASK_TEXT_MAX], answer[8], wrong[8];
    for (int i = 0; i < spec->n; i++) {
        const char *noun = nouns[hs_rng_below(&r, n_nouns)];
        int xx = hs_rng_range(&r, 11, 17), yy = hs_rng_range(&r, 2, 98);
        snprintf(clean, sizeof clean, "The %s lasted from the year %d%02d to the year %d", noun, xx, yy, xx);
        snprintf(corrupted, sizeof corrupted, "The %s lasted from the year %d01 to the year %d", noun, xx, xx);
        snprintf(answer, sizeof answer, "%02d", hs_rng_range(&r, yy + 1, 99));
        snprintf(wrong, sizeof wrong, "%02d", hs_rng_range(&r, 0, yy - 1));
        json_t *meta = json_pack("{s:i, s:s, s:i, s:i}", "template", 0, "noun", noun, "century", xx, "start_yy", yy);
        HS_TRY(hs_task_set_add(out, spec, clean, corrupted, answer, wrong, meta, err));
    }
    return HS_OK;
}
