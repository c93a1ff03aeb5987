/* component_lens.c — the component lens: the selected vectors are scaled into one matrix and
 * unembedded by GEMM in chunks of CHUNK rows (GPT-2 small: 144 heads + 60 neurons, each 50,257
 * logits, in one chunk: W_U, the large operand, is streamed once), so memory stays bounded
 * whatever the number of components. */
#include "analyses/lens/component_lens.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/lens/top_k.h"
#include "base/error.h"
#include "backend/kernels.h"
#include "model/model.h"

#define CHUNK 256

hs_status hs_component_lens_logits(const hs_model *m, const hs_lens_trace *t, const float *v, int n, float *out,
                                   hs_error *err)
{
    const hs_config *c = &m->cfg;
    int d = c->d_model;
    float *x = malloc((size_t)n * d * sizeof(float));
    if (!x)
        return hs_fail(err, HS_ERR_NOMEM, "component lens: out of memory");
    double inv_scale = 1.0 / t->scale_final[t->pos];
    for (int r = 0; r < n; r++) {
        const float *vr = v + (size_t)r * d;
        double mean = 0;
        if (c->norm == HS_NORM_LAYERNORM) {
            for (int i = 0; i < d; i++)
                mean += vr[i];
            mean /= d;
        }
        for (int i = 0; i < d; i++)
            x[(size_t)r * d + i] = (float)(((double)vr[i] - mean) * inv_scale * m->ln_f_w[i]);
    }
    hs_kernels_cpu.linear(out, x, m->W_U, NULL, n, d, c->d_vocab);
    free(x);
    return HS_OK;
}

void hs_component_lens_neuron_vector(const hs_model *m, const hs_lens_trace *t, int layer, int neuron, float *v)
{
    int d = m->cfg.d_model, f = m->cfg.d_mlp;
    const float *W_out = m->layers[layer].W_out; /* [d_model, d_mlp] */
    float a = t->mlp_post[(size_t)layer * f + neuron];
    for (int o = 0; o < d; o++)
        v[o] = a * W_out[(size_t)o * f + neuron];
}

void hs_component_lens_free(hs_component_lens *cl)
{
    if (!cl)
        return;
    free(cl->rows);
    free(cl->promoted_id);
    free(cl->promoted_logit);
    free(cl->suppressed_id);
    free(cl->suppressed_logit);
    free(cl);
}

static float norm2(const float *v, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += (double)v[i] * v[i];
    return (float)sqrt(s);
}

hs_status hs_component_lens_compute(const hs_model *m, const hs_lens_trace *t, int k, int n_neurons,
                                    hs_component_lens **out, hs_error *err)
{
    *out = NULL;
    const hs_config *c = &m->cfg;
    const int L = c->n_layers, H = c->n_heads, d = c->d_model, f = c->d_mlp, V = c->d_vocab;
    if (k < 1 || k > V)
        return hs_fail(err, HS_ERR_RANGE, "component lens: k %d is not in 1..%d", k, V);
    if (n_neurons < 0 || n_neurons > f)
        return hs_fail(err, HS_ERR_RANGE, "component lens: %d neurons per layer is not in 0..%d", n_neurons, f);
    hs_status rc = HS_OK;
    int n = L * H + L * n_neurons;
    hs_component_lens *cl = calloc(1, sizeof *cl);
    float *vecs = malloc((size_t)CHUNK * d * sizeof(float));
    float *logits = malloc((size_t)CHUNK * V * sizeof(float));
    float *score = malloc((size_t)f * sizeof(float));
    float *colnorm = malloc((size_t)f * sizeof(float));
    int32_t *picked = malloc((size_t)(n_neurons > 0 ? n_neurons : 1) * sizeof(int32_t));
    if (cl) {
        cl->rows = malloc((size_t)n * sizeof *cl->rows);
        cl->promoted_id = malloc((size_t)n * k * sizeof(int32_t));
        cl->promoted_logit = malloc((size_t)n * k * sizeof(float));
        cl->suppressed_id = malloc((size_t)n * k * sizeof(int32_t));
        cl->suppressed_logit = malloc((size_t)n * k * sizeof(float));
    }
    if (!cl || !vecs || !logits || !score || !colnorm || !picked || !cl->rows || !cl->promoted_id ||
        !cl->promoted_logit || !cl->suppressed_id || !cl->suppressed_logit) {
        rc = hs_fail(err, HS_ERR_NOMEM, "component lens: out of memory");
        goto done;
    }
    cl->n_rows = n;
    cl->k = k;
    /* which rows: every head, then each layer's strongest neurons */
    int r = 0;
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++)
            cl->rows[r++] = (hs_component_lens_row){.layer = l, .head = h, .neuron = -1, .activation = NAN};
    for (int l = 0; l < L && n_neurons > 0; l++) {
        const float *W_out = m->layers[l].W_out, *a = t->mlp_post + (size_t)l * f;
        for (int i = 0; i < f; i++)
            colnorm[i] = 0;
        for (int o = 0; o < d; o++)
            for (int i = 0; i < f; i++)
                colnorm[i] += W_out[(size_t)o * f + i] * W_out[(size_t)o * f + i];
        for (int i = 0; i < f; i++)
            score[i] = fabsf(a[i]) * sqrtf(colnorm[i]);
        hs_top_k(score, f, n_neurons, +1, picked);
        for (int j = 0; j < n_neurons; j++)
            cl->rows[r++] = (hs_component_lens_row){.layer = l, .head = -1, .neuron = picked[j],
                                                    .activation = picked[j] >= 0 ? a[picked[j]] : NAN};
    }
    /* unembed them CHUNK at a time */
    for (int r0 = 0; r0 < n; r0 += CHUNK) {
        int nc = n - r0 < CHUNK ? n - r0 : CHUNK;
        for (int j = 0; j < nc; j++) {
            hs_component_lens_row *row = &cl->rows[r0 + j];
            float *v = vecs + (size_t)j * d;
            if (row->head >= 0)
                memcpy(v, t->result + ((size_t)row->layer * H + row->head) * d, (size_t)d * sizeof(float));
            else if (row->neuron >= 0)
                hs_component_lens_neuron_vector(m, t, row->layer, row->neuron, v);
            else /* a NaN activation left no neuron to pick */
                memset(v, 0, (size_t)d * sizeof(float));
            row->norm = norm2(v, d);
        }
        if ((rc = hs_component_lens_logits(m, t, vecs, nc, logits, err)) != HS_OK)
            goto done;
        for (int j = 0; j < nc; j++) {
            const float *z = logits + (size_t)j * V;
            size_t at = (size_t)(r0 + j) * k;
            hs_top_k(z, V, k, +1, cl->promoted_id + at);
            hs_top_k(z, V, k, -1, cl->suppressed_id + at);
            for (int q = 0; q < k; q++) {
                int32_t up = cl->promoted_id[at + q], down = cl->suppressed_id[at + q];
                cl->promoted_logit[at + q] = up >= 0 ? z[up] : NAN;
                cl->suppressed_logit[at + q] = down >= 0 ? z[down] : NAN;
            }
        }
    }
done:
    free(vecs);
    free(logits);
    free(score);
    free(colnorm);
    free(picked);
    if (rc != HS_OK)
        hs_component_lens_free(cl);
    else
        *out = cl;
    return rc;
}
