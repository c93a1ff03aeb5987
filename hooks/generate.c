/* generate.c — greedy decoding on top of hs_forward (no KV cache yet: each step reruns the prefix). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

hs_status hs_generate_greedy(const hs_model *m, const int32_t *prompt, int n_prompt, int max_new, int stop_at_eos,
                             int32_t **out_ids, int *n_out, hs_error *err)
{
    *out_ids = NULL;
    *n_out = 0;
    const hs_config *c = &m->cfg;
    if (n_prompt < 1)
        return hs_fail(err, HS_ERR_ARG, "generate: the prompt is empty");
    if (max_new < 0)
        return hs_fail(err, HS_ERR_ARG, "generate: max_new_tokens %d is negative", max_new);
    if (n_prompt + max_new > c->n_ctx)
        return hs_fail(err, HS_ERR_RANGE, "generate: %d prompt tokens + %d new tokens exceed the model's context (%d)",
                       n_prompt, max_new, c->n_ctx);
    int32_t *ids = malloc((size_t)(n_prompt + max_new) * sizeof *ids);
    float *logits = malloc((size_t)(n_prompt + max_new) * c->d_vocab * sizeof *logits);
    hs_status rc = HS_OK;
    if (!ids || !logits) {
        rc = hs_fail(err, HS_ERR_NOMEM, "generate: out of memory");
        goto fail;
    }
    memcpy(ids, prompt, (size_t)n_prompt * sizeof *ids);
    int n = n_prompt;
    for (int step = 0; step < max_new; step++) {
        hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = n};
        if ((rc = hs_forward(m, &batch, NULL, HS_BACKEND_CPU, logits, err)) != HS_OK)
            goto fail;
        const float *last = logits + (size_t)(n - 1) * c->d_vocab;
        int32_t best = 0;
        for (int v = 1; v < c->d_vocab; v++)
            if (last[v] > last[best])
                best = v;
        ids[n++] = best;
        if (stop_at_eos && best == c->eos_id)
            break;
    }
    free(logits);
    *out_ids = ids;
    *n_out = n;
    return HS_OK;
fail:
    free(ids);
    free(logits);
    return rc;
}
