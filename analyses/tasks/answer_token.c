/* answer_token.c — the token an answer string adds to a prompt, as the model's tokenizer sees it. */
#include "analyses/tasks/answer_token.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* The first token of `cont` as it continues a prompt `text` that tokenised to ids [n] (with the
 * model's BOS rule): where text + cont departs from ids, when it departs at the prompt's end;
 * otherwise (the boundary merged) the first token of cont alone. -1 when cont gives no token. */
hs_status hs_answer_token(const hs_tokenizer *tok, const char *text, const char *cont, const int32_t *ids, int n,
                          int32_t *out, hs_error *err)
{
    *out = -1;
    size_t lt = strlen(text), lc = strlen(cont);
    char *joined = malloc(lt + lc + 1);
    if (!joined)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    memcpy(joined, text, lt);
    memcpy(joined + lt, cont, lc + 1);
    int32_t *both = NULL;
    size_t n_both = 0;
    hs_status rc = hs_tokenizer_encode(tok, joined, lt + lc, 1, &both, &n_both, err);
    free(joined);
    if (rc != HS_OK)
        return rc;
    int j = 0;
    while (j < n && (size_t)j < n_both && both[j] == ids[j])
        j++;
    if (j == n && n_both > (size_t)n)
        *out = both[n];
    free(both);
    if (*out >= 0)
        return HS_OK;
    int32_t *alone = NULL;
    size_t n_alone = 0;
    if ((rc = hs_tokenizer_encode(tok, cont, lc, 0, &alone, &n_alone, err)) != HS_OK)
        return rc;
    if (n_alone > 0)
        *out = alone[0];
    free(alone);
    return HS_OK;
}
