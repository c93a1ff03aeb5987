/* mqar.c — multi-query associative recall (Zoology's MQAR), text-level with single-token keys and
 * values: capital letters are keys, numbers 0..99 values (both single tokens after a space for the
 * project's tokenizer: task_words.h forces " A".." Z", and numbers split into two-digit pieces).
 *   K 12, B 7, Q 33, D 90. B 7, K 12, Q          -> " 33"
 * n_pairs distinct keys with distinct values, then n_queries of those keys in random order, each
 * answered with its value except the last, whose value is the answer. Text-level was chosen over
 * token ids (repeated_blocks.h) so the same prompts go into the training corpus and through any
 * tokenizer. wrong is the value of another key and the corrupted prompt asks for that key instead.
 * meta: template (0), n_pairs, n_queries, key, position (of the asked pair, 0-based).
 *
 * Split: nothing to hold out (the task is in-context: every prompt brings its own pairs); the
 * splits draw from separate random streams. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "datasets/task_set.h"

hs_status hs_task_mqar(const hs_task_spec *spec, hs_task_set *out, hs_error *err)
{
    out->name = "mqar";
    HS_TRY(hs_task_check_spec(spec, "mqar", err));
    int n_pairs = spec->n_pairs ? spec->n_pairs : 8, n_queries = spec->n_queries ? spec->n_queries : 4;
    if (n_pairs < 2 || n_pairs > 26 || n_queries < 1 || n_queries > n_pairs)
        return hs_fail(err, HS_ERR_ARG, "mqar: need 2..26 pairs and 1..pairs queries (got %d and %d)", n_pairs,
                       n_queries);
    hs_rng r = hs_task_rng(spec, "mqar");
    char clean[HS_TASK_TEXT_MAX], corrupted[HS_TASK_TEXT_MAX], answer[8], wrong[8];
    for (int i = 0; i < spec->n; i++) {
        int key[26], val[26], q[26];
        hs_rng_pick(&r, 26, n_pairs, key);
        hs_rng_pick(&r, 100, n_pairs, val);
        hs_rng_pick(&r, n_pairs, n_queries, q);
        size_t o = 0;
        for (int k = 0; k < n_pairs; k++)
            o += (size_t)snprintf(clean + o, sizeof clean - o, "%s%c %d", k ? ", " : "", 'A' + key[k], val[k]);
        o += (size_t)snprintf(clean + o, sizeof clean - o, ".");
        for (int k = 0; k + 1 < n_queries; k++)
            o += (size_t)snprintf(clean + o, sizeof clean - o, " %c %d,", 'A' + key[q[k]], val[q[k]]);
        memcpy(corrupted, clean, o);
        int last = q[n_queries - 1], other = (last + 1 + hs_rng_below(&r, n_pairs - 1)) % n_pairs;
        snprintf(clean + o, sizeof clean - o, " %c", 'A' + key[last]);
        snprintf(corrupted + o, sizeof corrupted - o, " %c", 'A' + key[other]);
        snprintf(answer, sizeof answer, " %d", val[last]);
        snprintf(wrong, sizeof wrong, " %d", val[other]);
        char key_s[2] = {(char)('A' + key[last]), 0};
        json_t *meta = json_pack("{s:i, s:i, s:i, s:s, s:i}", "template", 0, "n_pairs", n_pairs, "n_queries", n_queries,
                                 "key", key_s, "position", last);
        HS_TRY(hs_task_set_add(out, spec, clean, corrupted, answer, wrong, meta, err));
    }
    return HS_OK;
}
