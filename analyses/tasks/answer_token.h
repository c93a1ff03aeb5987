/* answer_token.h — the token an answer string adds to a prompt (" Mary" after "... gave it to"),
 * as the model's tokenizer sees it: what logit differences and task metrics compare. */
#ifndef HS_ANALYSES_TASKS_ANSWER_TOKEN_H
#define HS_ANALYSES_TASKS_ANSWER_TOKEN_H

#include <stdint.h>

#include "headscope.h"

/* The first token of `cont` as it continues a prompt `text` that tokenised to ids [n] (with the
 * model's BOS rule): where text + cont departs from ids, when it departs at the prompt's end;
 * otherwise (the boundary merged) the first token of cont alone. *out = -1 when cont gives no
 * token. */
hs_status hs_answer_token(const hs_tokenizer *tok, const char *text, const char *cont, const int32_t *ids, int n,
                          int32_t *out, hs_error *err);

#endif
