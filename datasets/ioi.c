/* ioi.c — indirect object identification (Wang et al. 2022): "When Mary and John went to the store,
 * John gave a drink to" -> " Mary".
 *
 * The 15 templates are the paper's BABA templates with the final name cut off: the first clause names
 * the subject S then the indirect object IO, S is repeated, and the answer is IO. ABBA is the same
 * template with the first two names swapped; prompts alternate BABA (even index) and ABBA (odd), so a
 * set is balanced. The corrupted prompt is the paper's ABC distribution: the three name slots hold
 * three other distinct names, so no name repeats and nothing points at IO; or, with spec->ioi_swap,
 * the same prompt with IO and S exchanged everywhere, whose answer is S (ANALYSES.md's "corruption
 * swaps names"). wrong = " S" either way (the logit difference IO - S). meta: template, order, io, s,
 * place, object, corruption ("ABC" or "swap").
 *
 * Split: names, places and objects come from disjoint train / held-out lists (task_words.h); both
 * splits use all 15 templates (the analyses compare against the paper's templates). */
#include <jansson.h>
#include <stdio.h>

#include "base/error.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"

/* {X} {Y}: the first clause's names; {S}: the repeated subject; {P} place; {O} object. */
static const char *const templates[15] = {
    "Then, {X} and {Y} went to the {P}. {S} gave a {O} to",
    "Then, {X} and {Y} had a lot of fun at the {P}. {S} gave a {O} to",
    "Then, {X} and {Y} were working at the {P}. {S} decided to give a {O} to",
    "Then, {X} and {Y} were thinking about going to the {P}. {S} wanted to give a {O} to",
    "Then, {X} and {Y} had a long argument, and afterwards {S} said to",
    "After {X} and {Y} went to the {P}, {S} gave a {O} to",
    "When {X} and {Y} got a {O} at the {P}, {S} decided to give it to",
    "When {X} and {Y} got a {O} at the {P}, {S} decided to give the {O} to",
    "While {X} and {Y} were working at the {P}, {S} gave a {O} to",
    "While {X} and {Y} were commuting to the {P}, {S} gave a {O} to",
    "After the lunch, {X} and {Y} went to the {P}. {S} gave a {O} to",
    "Afterwards, {X} and {Y} went to the {P}. {S} gave a {O} to",
    "Then, {X} and {Y} had a long argument. Afterwards {S} said to",
    "The {P} {X} and {Y} went to had a {O}. {S} gave it to",
    "Friends {X} and {Y} found a {O} at the {P}. {S} gave it to",
};

hs_status hs_task_ioi(const hs_task_spec *spec, hs_task_set *out, hs_error *err)
{
    out->name = "ioi";
    HS_TRY(hs_task_check_spec(spec, "ioi", err));
    hs_rng r = hs_task_rng(spec, "ioi");
    int held = spec->split == HS_TASK_HELDOUT;
    const char *const *names = held ? hs_words_names.heldout : hs_words_names.train;
    int n_names = held ? hs_words_names.n_heldout : hs_words_names.n_train;
    const char *const *places = held ? hs_words_places.heldout : hs_words_places.train;
    int n_places = held ? hs_words_places.n_heldout : hs_words_places.n_train;
    const char *const *objects = held ? hs_words_objects.heldout : hs_words_objects.train;
    int n_objects = held ? hs_words_objects.n_heldout : hs_words_objects.n_train;
    char clean[HS_TASK_TEXT_MAX], corrupted[HS_TASK_TEXT_MAX], answer[64], wrong[64];
    for (int i = 0; i < spec->n; i++) {
        int t = hs_rng_below(&r, 15), abba = i % 2;
        int pick[5]; /* IO, S, then the three ABC names */
        hs_rng_pick(&r, n_names, 5, pick);
        const char *io = names[pick[0]], *s = names[pick[1]];
        const char *place = places[hs_rng_below(&r, n_places)], *object = objects[hs_rng_below(&r, n_objects)];
        const char *vals[26] = {0};
        vals['P' - 'A'] = place;
        vals['O' - 'A'] = object;
        vals['X' - 'A'] = abba ? io : s;
        vals['Y' - 'A'] = abba ? s : io;
        vals['S' - 'A'] = s;
        HS_TRY(hs_task_fill(templates[t], vals, clean, sizeof clean, err));
        if (spec->ioi_swap) { /* IO and S exchanged: the repeated name is now IO, so the answer is S */
            vals['X' - 'A'] = abba ? s : io;
            vals['Y' - 'A'] = abba ? io : s;
            vals['S' - 'A'] = io;
        } else {
            vals['X' - 'A'] = names[pick[2]];
            vals['Y' - 'A'] = names[pick[3]];
            vals['S' - 'A'] = names[pick[4]];
        }
        HS_TRY(hs_task_fill(templates[t], vals, corrupted, sizeof corrupted, err));
        snprintf(answer, sizeof answer, " %s", io);
        snprintf(wrong, sizeof wrong, " %s", s);
        json_t *meta = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "template", t, "order", abba ? "ABBA" : "BABA",
                                 "io", io, "s", s, "place", place, "object", object, "corruption",
                                 spec->ioi_swap ? "swap" : "ABC");
        HS_TRY(hs_task_set_add(out, spec, clean, corrupted, answer, wrong, meta, err));
    }
    return HS_OK;
}
