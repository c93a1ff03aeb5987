/* lens_store.h — the logit lens's tables in the store (schema version 2, store/store.h): writing one
 * prompt's lens, DLA and component lens, the model's vocabulary, and reading a prompt's lens back
 * as arrays ready to plot.
 *
 *   logit_lens     one row per (prompt, layer, pos): layer l < n_layers is the input of block l
 *                  (blocks.l.hook_resid_pre), layer n_layers the final residual stream; top_id and
 *                  top_prob, topk_ids / topk_probs as JSON arrays (most probable first), the target
 *                  token's id, rank (1 = top) and probability, the answer-minus-wrong logit difference
 *                  and KL(final || layer) in nats
 *   lens_prompts   one row per analysed prompt: the position attributed (the last), the answer and
 *                  wrong ids (NULL when absent), the model's final logit difference there (the
 *                  answer's logit alone without a wrong token; NULL without an answer) and the
 *                  cached final-norm scale
 *   dla            one row per component: 'embed', 'pos_embed', 'head' (layer, head), 'attn_bias'
 *                  (layer), 'mlp' (layer), and the two terms that belong to no component,
 *                  'ln_final_bias' and 'unembed_bias'; their sum per prompt is lens_prompts.logit_diff
 *   component_lens one row per head and per selected neuron (head or neuron NULL): activation (a_i),
 *                  norm of the vector, promoted_ids / promoted_logits and suppressed_ids /
 *                  suppressed_logits as JSON arrays
 *   head_scores    analysis 'dla', metric 'dla': every head's DLA per prompt, and its mean over the
 *                  analysed prompts (prompt_id NULL)
 *   vocab          (model_id, token_id, text) for every token the tokenizer knows */
#ifndef HS_ANALYSES_LENS_LENS_STORE_H
#define HS_ANALYSES_LENS_LENS_STORE_H

#include "analyses/lens/component_lens.h"
#include "analyses/lens/dla.h"
#include "analyses/lens/logit_lens.h"
#include "store/store.h"

/* Prepared statements for the lens tables on one store (which must outlive it). */
typedef struct hs_lens_writer hs_lens_writer;

hs_status hs_lens_writer_open(hs_store *s, hs_lens_writer **out, hs_error *err);
void hs_lens_writer_close(hs_lens_writer *w);

/* Writes one prompt's rows (call between hs_store_begin and hs_store_commit): the lens (required),
 * the DLA (NULL: the prompt had no answer; lens_prompts still gets its row) and the component lens
 * (NULL: not computed). `scale` is the cached final-norm scale at the DLA position `pos`. */
hs_status hs_lens_put_prompt(hs_lens_writer *w, int64_t run_id, int64_t prompt_id, int pos, double scale,
                             const hs_lens *lens, const hs_dla *dla, const hs_component_lens *cl, hs_error *err);

/* Stores the text of every token `tok` knows for model_id, unless the model already has its
 * vocabulary stored (in its own transaction). */
hs_status hs_lens_put_vocab(hs_store *s, int64_t model_id, const hs_tokenizer *tok, hs_error *err);

/* Reads a prompt's lens back from the store: target_prob and target_rank are the
 * [n_layers + 1, n_pos] grids of the target token's probability and rank, topk_* the top tokens.
 * HS_ERR_MISSING when the prompt has no lens rows. *out is the caller's (hs_lens_free). */
hs_status hs_lens_read(hs_store *s, int64_t prompt_id, hs_lens **out, hs_error *err);

#endif
