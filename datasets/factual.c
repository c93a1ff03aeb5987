/* factual.c — factual recall: "The capital of France is" -> " Paris", over the 32 nations of
 * task_words.h. wrong is another nation's capital and the corrupted prompt names that nation (its
 * answer is wrong). meta: template, nation, capital.
 *
 * Split: facts cannot be held out (a model cannot recall what it never saw), so both splits use every
 * nation and the split holds out phrasings: train uses templates 0..3, held-out 4..5. */
#include <jansson.h>
#include <stdio.h>

#include "base/error.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"

static const char *const templates[6] = {
    "The capital of {N} is",
    "The capital city of {N} is",
    "The government of {N} sits in the city of",
    "In {N}, the capital is",
    "If you fly to the capital of {N}, you land in",
    "The seat of power in {N} is the city of",
};

hs_status hs_task_factual(const hs_task_spec *spec, hs_task_set *out, hs_error *err)
{
    out->name = "factual";
    HS_TRY(hs_task_check_spec(spec, "factual", err));
    hs_rng r = hs_task_rng(spec, "factual");
    int held = spec->split == HS_TASK_HELDOUT;
    char clean[HS_TASK_TEXT_MAX], corrupted[HS_TASK_TEXT_MAX], answer[64], wrong[64];
    for (int i = 0; i < spec->n; i++) {
        int t = held ? 4 + hs_rng_below(&r, 2) : hs_rng_below(&r, 4);
        int pick[2];
        hs_rng_pick(&r, hs_n_nations, 2, pick);
        const hs_nation *a = &hs_nations[pick[0]], *b = &hs_nations[pick[1]];
        const char *vals[26] = {0};
        vals['N' - 'A'] = a->nation;
        HS_TRY(hs_task_fill(templates[t], vals, clean, sizeof clean, err));
        vals['N' - 'A'] = b->nation;
        HS_TRY(hs_task_fill(templates[t], vals, corrupted, sizeof corrupted, err));
        snprintf(answer, sizeof answer, " %s", a->capital);
        snprintf(wrong, sizeof wrong, " %s", b->capital);
        json_t *meta = json_pack("{s:i, s:s, s:s}", "template", t, "nation", a->nation, "capital", a->capital);
        HS_TRY(hs_task_set_add(out, spec, clean, corrupted, answer, wrong, meta, err));
    }
    return HS_OK;
}
