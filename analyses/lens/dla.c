/* dla.c — direct logit attribution: one dot product per component against the direction
 * u = w_ln ⊙ (W_U[answer] - W_U[wrong]), in double so the sum identity holds to the float rounding
 * of the components themselves. */
#include "analyses/lens/dla.h"

#include <stdlib.h>

#include "base/error.h"
#include "model/model.h"

void hs_dla_direction(const hs_model *m, int32_t answer, int32_t wrong, double *u)
{
    int d = m->cfg.d_model;
    const float *ua = m->W_U + (size_t)answer * d, *ub = wrong >= 0 ? m->W_U + (size_t)wrong * d : NULL;
    for (int i = 0; i < d; i++)
        u[i] = (double)m->ln_f_w[i] * ((double)ua[i] - (ub ? (double)ub[i] : 0.0));
}

double hs_dla_of(const hs_model *m, const double *u, const float *v, double sigma)
{
    int d = m->cfg.d_model;
    double dot = 0, mean = 0, usum = 0;
    for (int i = 0; i < d; i++) {
        dot += u[i] * v[i];
        mean += v[i];
        usum += u[i];
    }
    /* u · (v - mean(v)) = u · v - mean(v) · Σu */
    if (m->cfg.norm == HS_NORM_LAYERNORM)
        dot -= mean / d * usum;
    return dot / sigma;
}

void hs_dla_free(hs_dla *d)
{
    if (!d)
        return;
    free(d->heads);
    free(d->attn_bias);
    free(d->mlp);
    free(d);
}

hs_status hs_dla_compute(const hs_model *m, const hs_lens_trace *t, int32_t answer, int32_t wrong, hs_dla **out,
                         hs_error *err)
{
    *out = NULL;
    if (!m || !t)
        return hs_fail(err, HS_ERR_ARG, "dla: missing argument");
    const hs_config *c = &m->cfg;
    if (answer < 0 || answer >= c->d_vocab || wrong >= c->d_vocab)
        return hs_fail(err, HS_ERR_RANGE, "dla: answer %d / wrong %d outside the vocabulary of %d", answer, wrong,
                       c->d_vocab);
    int L = c->n_layers, H = c->n_heads, dm = c->d_model;
    hs_status rc = HS_OK;
    double *u = malloc((size_t)dm * sizeof *u);
    hs_dla *d = calloc(1, sizeof *d);
    if (d) {
        d->heads = malloc((size_t)L * H * sizeof(double));
        d->attn_bias = calloc((size_t)L, sizeof(double));
        d->mlp = malloc((size_t)L * sizeof(double));
    }
    if (!u || !d || !d->heads || !d->attn_bias || !d->mlp) {
        rc = hs_fail(err, HS_ERR_NOMEM, "dla: out of memory");
        goto done;
    }
    d->n_layers = L;
    d->n_heads = H;
    d->pos = t->pos;
    d->answer = answer;
    d->wrong = wrong < 0 ? -1 : wrong;
    d->scale = t->scale_final[t->pos];
    hs_dla_direction(m, answer, d->wrong, u);
    d->embed = hs_dla_of(m, u, t->embed, d->scale);
    d->pos_embed = t->pos_embed ? hs_dla_of(m, u, t->pos_embed, d->scale) : 0.0;
    for (int l = 0; l < L; l++) {
        for (int h = 0; h < H; h++)
            d->heads[l * H + h] = hs_dla_of(m, u, t->result + ((size_t)l * H + h) * dm, d->scale);
        if (m->layers[l].b_O)
            d->attn_bias[l] = hs_dla_of(m, u, m->layers[l].b_O, d->scale);
        d->mlp[l] = hs_dla_of(m, u, t->mlp_out + (size_t)l * dm, d->scale);
    }
    const float *ua = m->W_U + (size_t)answer * dm, *ub = d->wrong >= 0 ? m->W_U + (size_t)d->wrong * dm : NULL;
    d->ln_final_bias = 0;
    for (int i = 0; m->ln_f_b && i < dm; i++)
        d->ln_final_bias += (double)m->ln_f_b[i] * ((double)ua[i] - (ub ? (double)ub[i] : 0.0));
    d->unembed_bias = m->b_U ? (double)m->b_U[answer] - (d->wrong >= 0 ? (double)m->b_U[d->wrong] : 0.0) : 0.0;
    const float *z = t->logits + (size_t)t->pos * c->d_vocab;
    d->logit_diff = (double)z[answer] - (d->wrong >= 0 ? (double)z[d->wrong] : 0.0);
done:
    free(u);
    if (rc != HS_OK)
        hs_dla_free(d);
    else
        *out = d;
    return rc;
}

void hs_dla_accumulated(const hs_dla *d, double *out)
{
    double acc = d->embed + d->pos_embed;
    for (int l = 0; l < d->n_layers; l++) {
        out[l] = acc;
        for (int h = 0; h < d->n_heads; h++)
            acc += d->heads[l * d->n_heads + h];
        acc += d->attn_bias[l] + d->mlp[l];
    }
    out[d->n_layers] = acc;
}

double hs_dla_total(const hs_dla *d)
{
    double total = d->embed + d->pos_embed + d->ln_final_bias + d->unembed_bias;
    for (int l = 0; l < d->n_layers; l++) {
        for (int h = 0; h < d->n_heads; h++)
            total += d->heads[l * d->n_heads + h];
        total += d->attn_bias[l] + d->mlp[l];
    }
    return total;
}
