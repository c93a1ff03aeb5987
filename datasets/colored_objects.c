/* colored_objects.c — one-shot colored objects in the BIG-bench "reasoning about colored objects"
 * style (Merullo et al. compare its circuit with IOI's):
 *   Q: On the table, I see a red ball, a blue pen, and a green cup. What color is the pen?
 *   A: blue
 *
 *   Q: On the desk, I see a black key, a pink hat, and a gold box. What color is the hat?
 *   A:                                                                  -> " pink"
 * Each question lists three objects with three distinct colours. wrong is the colour of another
 * object of the second question, and the corrupted prompt asks about that object instead (its
 * answer is wrong). meta: template (the phrasing, 0..2), query (position 0..2 of the object asked
 * about), object, surface.
 *
 * Split: objects and surfaces come from disjoint train / held-out lists; colours (the answers) and
 * the three phrasings are shared. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "datasets/task_set.h"
#include "datasets/task_words.h"

static const char *const phrasings[3] = {"I see", "there is", "you can see"};
static const char *const surfaces_train[] = {"table", "desk", "floor", "bed"};
static const char *const surfaces_heldout[] = {"shelf", "counter"};

static const char *article(const char *color)
{
    return strchr("aeiou", color[0]) ? "an" : "a";
}

/* One question: "Q: On the S, P a c0 o0, a c1 o1, and a c2 o2. What color is the oq?\nA:" */
static void question(char *out, size_t cap, const char *surface, const char *phrase, const char *const c[3],
                     const char *const o[3], int q)
{
    snprintf(out, cap, "Q: On the %s, %s %s %s %s, %s %s %s, and %s %s %s. What color is the %s?\nA:", surface,
             phrase, article(c[0]), c[0], o[0], article(c[1]), c[1], o[1], article(c[2]), c[2], o[2], o[q]);
}

hs_status hs_task_colored_objects(const hs_task_spec *spec, hs_task_set *out, hs_error *err)
{
    out->name = "colored-objects";
    HS_TRY(hs_task_check_spec(spec, "colored-objects", err));
    hs_rng r = hs_task_rng(spec, "colored-objects");
    int held = spec->split == HS_TASK_HELDOUT;
    const char *const *items = held ? hs_words_items.heldout : hs_words_items.train;
    int n_items = held ? hs_words_items.n_heldout : hs_words_items.n_train;
    const char *const *surfaces = held ? surfaces_heldout : surfaces_train;
    int n_surfaces = held ? 2 : 4;
    char shot[HS_TASK_TEXT_MAX], q[1024], clean[HS_TASK_TEXT_MAX], corrupted[HS_TASK_TEXT_MAX], answer[32], wrong[32];
    for (int i = 0; i < spec->n; i++) {
        int t = hs_rng_below(&r, 3);
        int ci[3], oi[3];
        const char *c[3], *o[3];
        /* the example */
        hs_rng_pick(&r, hs_n_colors, 3, ci);
        hs_rng_pick(&r, n_items, 3, oi);
        for (int k = 0; k < 3; k++)
            c[k] = hs_words_colors[ci[k]], o[k] = items[oi[k]];
        int qe = hs_rng_below(&r, 3);
        question(q, sizeof q, surfaces[hs_rng_below(&r, n_surfaces)], phrasings[t], c, o, qe);
        snprintf(shot, sizeof shot, "%s %s\n\n", q, c[qe]);
        /* the question */
        hs_rng_pick(&r, hs_n_colors, 3, ci);
        hs_rng_pick(&r, n_items, 3, oi);
        for (int k = 0; k < 3; k++)
            c[k] = hs_words_colors[ci[k]], o[k] = items[oi[k]];
        const char *surface = surfaces[hs_rng_below(&r, n_surfaces)];
        int qi = hs_rng_below(&r, 3), qw = (qi + 1 + hs_rng_below(&r, 2)) % 3;
        question(q, sizeof q, surface, phrasings[t], c, o, qi);
        snprintf(clean, sizeof clean, "%.2048s%s", shot, q);
        question(q, sizeof q, surface, phrasings[t], c, o, qw);
        snprintf(corrupted, sizeof corrupted, "%.2048s%s", shot, q);
        snprintf(answer, sizeof answer, " %s", c[qi]);
        snprintf(wrong, sizeof wrong, " %s", c[qw]);
        json_t *meta = json_pack("{s:i, s:i, s:s, s:s}", "template", t, "query", qi, "object", o[qi], "surface", surface);
        HS_TRY(hs_task_set_add(out, spec, clean, corrupted, answer, wrong, meta, err));
    }
    return HS_OK;
}
