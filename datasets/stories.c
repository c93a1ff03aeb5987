/* stories.c — template stories and repeated word blocks for the training corpus (see stories.h). */
#include "datasets/stories.h"

#include <stdio.h>
#include <string.h>

#include "datasets/task_words.h"

/* {A} {B} {D}: characters; {P} place; {O} object; {C} colour; {N} animal; {F} food; {Q} capital and
 * {R} its nation; {Y} a year; {K} a small number. */
static const char *const openings[] = {
    "Once upon a time, {A} and {B} lived near the {P}.",
    "One day, {A} went to the {P} with {B}.",
    "It was the year {Y}, and {A} and {B} were friends.",
    "In a small town, there lived a child named {A} and a friend named {B}.",
};

static const char *const body[] = {
    "{A} found a {C} {O} near the {P}.",
    "{B} said, \"I like your {C} {O}, {A}.\"",
    "{A} gave the {O} to {B}.",
    "Then {B} gave some {F} to {A}.",
    "They saw a {C} {N} near the {P}.",
    "{A} and {B} played with the {N} until the sun went down.",
    "{B} was happy, and {A} was happy too.",
    "{A} told {B} about the {N}.",
    "Later, {A} and {B} ate {F} at the {P}.",
    "{B} asked {A}, \"Where is the {O}?\"",
    "{A} said, \"The {O} is at the {P}, {B}.\"",
    "{D} came to the {P} and said hello to {A}.",
    "{A}, {B} and {D} walked to the {P} together.",
    "{D} wanted the {C} {O}, but {A} gave it to {B}.",
    "{A} had a friend in {Q}, the capital of {R}.",
    "{B} once flew to {Q} in {R}.",
    "{A} was {K} years old, and {B} was {K} too.",
    "{B} counted {K} birds in the sky.",
    "The {N} liked {F} more than anything.",
    "{A} painted the {O} {C}.",
    "When {A} and {B} got home, {B} made {F} for {A}.",
};

static const char *const endings[] = {
    "The end.", "{A} and {B} stayed friends forever.", "And that was the day {A} met the {N}.",
    "{B} never forgot the {C} {O}.",
};

static const char *pick_all(hs_rng *r, const hs_word_list *l)
{
    int k = hs_rng_below(r, l->n_train + l->n_heldout);
    return k < l->n_train ? l->train[k] : l->heldout[k - l->n_train];
}

/* Appends tmpl with the story's values to out at *o. */
static void put(char *out, size_t *o, const char *tmpl, const char *const vals[26])
{
    for (const char *p = tmpl; *p && *o + 1 < HS_STORY_MAX; p++) {
        if (p[0] == '{' && p[1] >= 'A' && p[1] <= 'Z' && p[2] == '}' && vals[p[1] - 'A']) {
            size_t len = strlen(vals[p[1] - 'A']);
            if (*o + len + 1 >= HS_STORY_MAX)
                break;
            memcpy(out + *o, vals[p[1] - 'A'], len);
            *o += len;
            p += 2;
        } else {
            out[(*o)++] = *p;
        }
    }
    out[*o] = '\0';
}

size_t hs_story(hs_rng *r, char out[HS_STORY_MAX])
{
    int total_names = hs_words_names.n_train + hs_words_names.n_heldout, pick[3];
    hs_rng_pick(r, total_names, 3, pick);
    const char *names[3];
    for (int i = 0; i < 3; i++)
        names[i] = pick[i] < hs_words_names.n_train ? hs_words_names.train[pick[i]]
                                                     : hs_words_names.heldout[pick[i] - hs_words_names.n_train];
    char year[8], num[8];
    snprintf(year, sizeof year, "%d", hs_rng_range(r, 1000, 1999));
    snprintf(num, sizeof num, "%d", hs_rng_range(r, 2, 12));
    const hs_nation *nat = &hs_nations[hs_rng_below(r, hs_n_nations)];
    const char *vals[26] = {0};
    vals['A' - 'A'] = names[0];
    vals['B' - 'A'] = names[1];
    vals['D' - 'A'] = names[2];
    vals['P' - 'A'] = pick_all(r, &hs_words_places);
    vals['O' - 'A'] = pick_all(r, &hs_words_items);
    vals['C' - 'A'] = hs_words_colors[hs_rng_below(r, hs_n_colors)];
    vals['N' - 'A'] = pick_all(r, &hs_words_animals);
    vals['F' - 'A'] = pick_all(r, &hs_words_foods);
    vals['Q' - 'A'] = nat->capital;
    vals['R' - 'A'] = nat->nation;
    vals['Y' - 'A'] = year;
    vals['K' - 'A'] = num;
    size_t o = 0;
    put(out, &o, openings[hs_rng_below(r, (int)(sizeof openings / sizeof openings[0]))], vals);
    int n = hs_rng_range(r, 3, 9);
    for (int i = 0; i < n; i++) {
        put(out, &o, " ", vals);
        put(out, &o, body[hs_rng_below(r, (int)(sizeof body / sizeof body[0]))], vals);
    }
    put(out, &o, " ", vals);
    put(out, &o, endings[hs_rng_below(r, (int)(sizeof endings / sizeof endings[0]))], vals);
    return o;
}

size_t hs_repeated_words(hs_rng *r, char out[HS_STORY_MAX])
{
    const char *block[12];
    char nums[12][8];
    int len = hs_rng_range(r, 4, 12), copies = hs_rng_range(r, 2, 4);
    for (int i = 0; i < len; i++) {
        switch (hs_rng_below(r, 6)) {
        case 0: block[i] = pick_all(r, &hs_words_names); break;
        case 1: block[i] = hs_words_colors[hs_rng_below(r, hs_n_colors)]; break;
        case 2: block[i] = pick_all(r, &hs_words_animals); break;
        case 3: block[i] = pick_all(r, &hs_words_foods); break;
        case 4: block[i] = pick_all(r, &hs_words_items); break;
        default:
            snprintf(nums[i], sizeof nums[i], "%d", hs_rng_range(r, 0, 99));
            block[i] = nums[i];
        }
    }
    size_t o = 0;
    for (int c = 0; c < copies; c++)
        for (int i = 0; i < len; i++) {
            size_t n = strlen(block[i]);
            if (o + n + 2 >= HS_STORY_MAX)
                break;
            if (o)
                out[o++] = ' ';
            memcpy(out + o, block[i], n);
            o += n;
        }
    out[o] = '\0';
    return o;
}
