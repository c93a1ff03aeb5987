/* arithmetic.c — "a op b =" -> " r": a + b with a, b in 0..49; a - b with 0 <= b <= a, 1 <= a <= 99;
 * a * b with a in 1..12, b in 0..12 and a * b <= 99. Every result is 0..99, one token after a space for the project's
 * tokenizer (" 42"). wrong is the result of the same a and op with another b (a different result,
 * also 0..99) and the corrupted prompt is that problem. meta: template (0), op, a, b, result.
 *
 * Split: the problems themselves: (op, a, b) is held out when a fixed hash of it is 0 mod 5 (about a
 * fifth of them), so held-out prompts are problems training never shows. */
#include <jansson.h>
#include <stdio.h>

#include "base/error.h"
#include "datasets/task_set.h"

static int apply(int op, int a, int b)
{
    return op == 0 ? a + b : op == 1 ? a - b : a * b;
}

/* A random valid b for op and a. */
static int draw_b(hs_rng *r, int op, int a)
{
    switch (op) {
    case 0: return hs_rng_range(r, 0, 49);
    case 1: return hs_rng_range(r, 0, a);
    default: return hs_rng_range(r, 0, 99 / a < 12 ? 99 / a : 12);
    }
}

static int held_out(int op, int a, int b)
{
    hs_rng h = hs_rng_seed((uint64_t)(op * 10000 + a * 100 + b), 0x61726974ull);
    return hs_rng_next(&h) % 5 == 0;
}

hs_status hs_task_arithmetic(const hs_task_spec *spec, hs_task_set *out, hs_error *err)
{
    static const char ops[3] = {'+', '-', '*'};
    out->name = "arithmetic";
    HS_TRY(hs_task_check_spec(spec, "arithmetic", err));
    hs_rng r = hs_task_rng(spec, "arithmetic");
    int held = spec->split == HS_TASK_HELDOUT;
    char clean[64], corrupted[64], answer[8], wrong[8], op_s[2] = {0};
    for (int i = 0; i < spec->n; i++) {
        int op, a, b;
        do {
            op = hs_rng_below(&r, 3);
            a = op == 0 ? hs_rng_range(&r, 0, 49) : op == 1 ? hs_rng_range(&r, 1, 99) : hs_rng_range(&r, 1, 12);
            b = draw_b(&r, op, a);
        } while (held_out(op, a, b) != held);
        int res = apply(op, a, b), b2;
        do /* a >= 1 under - and *, so at least two values of b exist and give different results */
            b2 = draw_b(&r, op, a);
        while (b2 == b);
        int res2 = apply(op, a, b2);
        op_s[0] = ops[op];
        snprintf(clean, sizeof clean, "%d %c %d =", a, ops[op], b);
        snprintf(corrupted, sizeof corrupted, "%d %c %d =", a, ops[op], b2);
        snprintf(answer, sizeof answer, " %d", res);
        snprintf(wrong, sizeof wrong, " %d", res2);
        json_t *meta = json_pack("{s:i, s:s, s:i, s:i, s:i}", "template", 0, "op", op_s, "a", a, "b", b, "result", res);
        HS_TRY(hs_task_set_add(out, spec, clean, corrupted, answer, wrong, meta, err));
    }
    return HS_OK;
}
