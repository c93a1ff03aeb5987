/* mcq.c — anchored multiple choice, in the format the anchored-bias work on GPT-2 uses:
 *   Question: Which of these is a color?
 *   Answer Choices:
 *   A: dog
 *   B: red
 *   C: Paris
 *   D: rice
 *   Answer:                      -> " B"
 * The four choices are one word of the asked category (color, animal, food, city, country) and one of
 * each of three other categories. The correct letter cycles A, B, C, D with the prompt index, so a set
 * is balanced (an anchored model's bias towards " A" shows as a per-letter accuracy gap). wrong is
 * another letter and the corrupted prompt swaps the two choices, so its answer is wrong. meta:
 * template, category, answer_index (0..3).
 *
 * Split: the question's wording differs (train "Which of these is a ...?", held-out "Which one of the
 * following is a ...?"), and animals and foods come from disjoint lists; colours, cities and countries
 * are shared. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"

static const char *const wordings[2] = {"Which of these is", "Which one of the following is"};
static const char *const categories[5] = {"color", "animal", "food", "city", "country"};
static const char *const articles[5] = {"a", "an", "a", "a", "a"};

/* A random word of category k. */
static const char *word_of(hs_rng *r, int k, int held)
{
    const hs_word_list *l = k == 1 ? &hs_words_animals : &hs_words_foods;
    switch (k) {
    case 0: return hs_words_colors[hs_rng_below(r, hs_n_colors)];
    case 3: return hs_nations[hs_rng_below(r, hs_n_nations)].capital;
    case 4: return hs_nations[hs_rng_below(r, hs_n_nations)].nation;
    default: return held ? l->heldout[hs_rng_below(r, l->n_heldout)] : l->train[hs_rng_below(r, l->n_train)];
    }
}

static void render(char *out, size_t cap, int t, int k, const char *const c[4])
{
    snprintf(out, cap, "Question: %s %s %s?\nAnswer Choices:\nA: %s\nB: %s\nC: %s\nD: %s\nAnswer:", wordings[t],
             articles[k], categories[k], c[0], c[1], c[2], c[3]);
}

hs_status hs_task_mcq(const hs_task_spec *spec, hs_task_set *out, hs_error *err)
{
    out->name = "mcq";
    HS_TRY(hs_task_check_spec(spec, "mcq", err));
    hs_rng r = hs_task_rng(spec, "mcq");
    int held = spec->split == HS_TASK_HELDOUT, t = held;
    char clean[HS_TASK_TEXT_MAX], corrupted[HS_TASK_TEXT_MAX], answer[8], wrong[8];
    for (int i = 0; i < spec->n; i++) {
        int k = hs_rng_below(&r, 5), pos = i % 4, others[4], n_others = 0;
        for (int j = 0; j < 5; j++)
            if (j != k)
                others[n_others++] = j;
        int pick[3];
        hs_rng_pick(&r, 4, 3, pick);
        const char *c[4];
        c[pos] = word_of(&r, k, held);
        for (int j = 0, d = 0; j < 4; j++)
            if (j != pos)
                c[j] = word_of(&r, others[pick[d++]], held);
        int w = (pos + 1 + hs_rng_below(&r, 3)) % 4;
        render(clean, sizeof clean, t, k, c);
        const char *tmp = c[pos];
        c[pos] = c[w];
        c[w] = tmp;
        render(corrupted, sizeof corrupted, t, k, c);
        snprintf(answer, sizeof answer, " %c", 'A' + pos);
        snprintf(wrong, sizeof wrong, " %c", 'A' + w);
        json_t *meta = json_pack("{s:i, s:s, s:i}", "template", t, "category", categories[k], "answer_index", pos);
        HS_TRY(hs_task_set_add(out, spec, clean, corrupted, answer, wrong, meta, err));
    }
    return HS_OK;
}
