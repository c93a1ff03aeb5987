/* lens_trace.c — the one observed forward pass behind the logit lens, DLA and the component lens:
 * observers copy the residual rows, the final norm's scale and the components at one position
 * out of the pass's buffers; everything else the pass computes is left where it is. */
#include "analyses/lens/lens_trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "model/model.h"

void hs_lens_trace_free(hs_lens_trace *t)
{
    if (!t)
        return;
    free(t->resid);
    free(t->scale_final);
    free(t->logits);
    free(t->embed);
    free(t->pos_embed);
    free(t->result);
    free(t->mlp_out);
    free(t->mlp_post);
    free(t);
}

/* Copies d floats of row `pos` of a [batch = 1, n_pos, d] hook tensor. */
static void copy_row(float *dst, const hs_tensor *t, int pos, size_t d)
{
    memcpy(dst, t->data + (size_t)pos * d, d * sizeof(float));
}

static hs_status observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    hs_lens_trace *tr = user;
    size_t d = (size_t)tr->d_model, T = (size_t)tr->n_pos;
    switch (hp->kind) {
    case HS_HOOK_RESID_PRE:
        memcpy(tr->resid + (size_t)hp->layer * T * d, t->data, T * d * sizeof(float));
        break;
    case HS_HOOK_RESID_POST: /* only the last block's is registered */
        memcpy(tr->resid + (size_t)tr->n_layers * T * d, t->data, T * d * sizeof(float));
        break;
    case HS_HOOK_LN_FINAL_SCALE:
        memcpy(tr->scale_final, t->data, T * sizeof(float));
        break;
    case HS_HOOK_EMBED:
        copy_row(tr->embed, t, tr->pos, d);
        break;
    case HS_HOOK_POS_EMBED:
        copy_row(tr->pos_embed, t, tr->pos, d);
        break;
    case HS_HOOK_RESULT: /* [1, n_pos, n_heads, d_model] */
        copy_row(tr->result + (size_t)hp->layer * tr->n_heads * d, t, tr->pos, (size_t)tr->n_heads * d);
        break;
    case HS_HOOK_MLP_OUT:
        copy_row(tr->mlp_out + (size_t)hp->layer * d, t, tr->pos, d);
        break;
    case HS_HOOK_MLP_POST:
        copy_row(tr->mlp_post + (size_t)hp->layer * tr->d_mlp, t, tr->pos, (size_t)tr->d_mlp);
        break;
    default:
        break;
    }
    return HS_OK;
}

hs_status hs_lens_trace_run(const hs_model *m, const int32_t *ids, int n, int pos, hs_lens_trace **out,
                            hs_error *err)
{
    *out = NULL;
    if (!m || !ids || n < 1)
        return hs_fail(err, HS_ERR_ARG, "lens: no model or an empty sequence");
    if (pos < 0)
        pos += n;
    if (pos < 0 || pos >= n)
        return hs_fail(err, HS_ERR_RANGE, "lens: position %d is outside the %d-token sequence", pos, n);
    const hs_config *c = &m->cfg;
    hs_status rc = HS_OK;
    hs_hooks *hooks = NULL;
    hs_lens_trace *t = calloc(1, sizeof *t);
    if (!t)
        return hs_fail(err, HS_ERR_NOMEM, "lens: out of memory");
    t->n_layers = c->n_layers;
    t->n_heads = c->n_heads;
    t->d_model = c->d_model;
    t->d_mlp = c->d_mlp;
    t->d_vocab = c->d_vocab;
    t->n_pos = n;
    t->pos = pos;
    size_t d = (size_t)c->d_model, L = (size_t)c->n_layers;
    t->resid = malloc((L + 1) * n * d * sizeof(float));
    t->scale_final = malloc((size_t)n * sizeof(float));
    t->logits = malloc((size_t)n * c->d_vocab * sizeof(float));
    t->embed = malloc(d * sizeof(float));
    t->pos_embed = c->learned_pos ? malloc(d * sizeof(float)) : NULL;
    t->result = malloc(L * c->n_heads * d * sizeof(float));
    t->mlp_out = malloc(L * d * sizeof(float));
    t->mlp_post = malloc(L * c->d_mlp * sizeof(float));
    if (!t->resid || !t->scale_final || !t->logits || !t->embed || (c->learned_pos && !t->pos_embed) || !t->result ||
        !t->mlp_out || !t->mlp_post) {
        rc = hs_fail(err, HS_ERR_NOMEM, "lens: out of memory for a trace of %d tokens", n);
        goto done;
    }
    char last_post[64];
    snprintf(last_post, sizeof last_post, "blocks.%d.hook_resid_post", c->n_layers - 1);
    const char *patterns[] = {"hook_embed", "hook_pos_embed", "blocks.*.hook_resid_pre", last_post,
                              "ln_final.hook_scale", "blocks.*.attn.hook_result", "blocks.*.hook_mlp_out",
                              "blocks.*.mlp.hook_post"};
    if ((rc = hs_hooks_new(&hooks, err)) != HS_OK)
        goto done;
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
        if ((rc = hs_hooks_observe(hooks, patterns[i], observe, t, err)) != HS_OK)
            goto done;
    hs_batch batch = {.ids = ids, .n_batch = 1, .n_pos = n};
    rc = hs_forward(m, &batch, hooks, HS_BACKEND_CPU, t->logits, err);
done:
    hs_hooks_free(hooks);
    if (rc != HS_OK)
        hs_lens_trace_free(t);
    else
        *out = t;
    return rc;
}
