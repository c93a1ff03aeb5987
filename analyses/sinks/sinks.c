/* sinks.c — sink scores, the sink rate, hidden sinks and attention entropy over attention patterns
 * (definitions in sinks.h and ANALYSES.md section 1). */
#include "analyses/sinks/sinks.h"

#include <math.h>
#include <stdlib.h>

#include "base/error.h"

void hs_sinks_scores(const float *pattern, int n, int T, float *alpha)
{
    /* column sums in one row-major sweep, then divide by the number of queries that see each key */
    double *col = calloc((size_t)T, sizeof *col);
    if (col) {
        for (int i = 0; i < T; i++) {
            const float *row = pattern + (size_t)i * n;
            for (int k = 0; k <= i; k++)
                col[k] += row[k];
        }
        for (int k = 0; k < T; k++)
            alpha[k] = (float)(col[k] / (double)(T - k));
        free(col);
        return;
    }
    /* no memory for the sums: the same values, key by key */
    for (int k = 0; k < T; k++) {
        double s = 0.0;
        for (int i = k; i < T; i++)
            s += pattern[(size_t)i * n + k];
        alpha[k] = (float)(s / (double)(T - k));
    }
}

double hs_sinks_entropy(const float *pattern, int n)
{
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const float *row = pattern + (size_t)i * n;
        double h = 0.0;
        for (int k = 0; k <= i; k++)
            if (row[k] > 0.0f)
                h -= (double)row[k] * log((double)row[k]);
        total += h;
    }
    return n > 0 ? total / n : NAN;
}

/* ------------------------------------------------------------------ sink rate */

struct hs_sink_rate {
    int n_layers, n_heads, t_cut;
    float eps;
    int64_t *count;    /* [n_layers * n_heads] patterns added */
    int64_t *hits;     /* [n_layers * n_heads] with alpha_0 > eps */
    double *sum_alpha; /* [n_layers * n_heads] */
    int64_t n_short;
};

hs_status hs_sink_rate_new(int n_layers, int n_heads, float eps, int t_cut, hs_sink_rate **out, hs_error *err)
{
    *out = NULL;
    if (n_layers < 1 || n_heads < 1)
        return hs_fail(err, HS_ERR_ARG, "sink rate: %d layers x %d heads", n_layers, n_heads);
    hs_sink_rate *sr = calloc(1, sizeof *sr);
    size_t nh = (size_t)n_layers * n_heads;
    if (!sr || !(sr->count = calloc(nh, sizeof *sr->count)) || !(sr->hits = calloc(nh, sizeof *sr->hits)) ||
        !(sr->sum_alpha = calloc(nh, sizeof *sr->sum_alpha))) {
        hs_sink_rate_free(sr);
        return hs_fail(err, HS_ERR_NOMEM, "sink rate: out of memory");
    }
    sr->n_layers = n_layers;
    sr->n_heads = n_heads;
    sr->eps = eps > 0.0f ? eps : HS_SINK_RATE_EPS;
    sr->t_cut = t_cut >= 1 ? t_cut : HS_SINK_RATE_T;
    *out = sr;
    return HS_OK;
}

void hs_sink_rate_free(hs_sink_rate *sr)
{
    if (!sr)
        return;
    free(sr->count);
    free(sr->hits);
    free(sr->sum_alpha);
    free(sr);
}

hs_status hs_sink_rate_add(hs_sink_rate *sr, int layer, int head, const float *pattern, int n, float *alpha0_out,
                           hs_error *err)
{
    if (layer < 0 || layer >= sr->n_layers || head < 0 || head >= sr->n_heads)
        return hs_fail(err, HS_ERR_RANGE, "sink rate: head %d.%d outside %d layers x %d heads", layer, head,
                       sr->n_layers, sr->n_heads);
    if (!pattern || n < 1)
        return hs_fail(err, HS_ERR_ARG, "sink rate: empty pattern for head %d.%d", layer, head);
    int T = n < sr->t_cut ? n : sr->t_cut;
    /* alpha_0 alone: the first column of the cut block */
    double s = 0.0;
    for (int i = 0; i < T; i++)
        s += pattern[(size_t)i * n];
    double alpha0 = s / T;
    size_t j = (size_t)layer * sr->n_heads + head;
    sr->count[j]++;
    sr->hits[j] += alpha0 > sr->eps;
    sr->sum_alpha[j] += alpha0;
    if (layer == 0 && head == 0 && n < sr->t_cut)
        sr->n_short++;
    if (alpha0_out)
        *alpha0_out = (float)alpha0;
    return HS_OK;
}

static double ratio(int64_t num, int64_t den)
{
    return den > 0 ? (double)num / (double)den : NAN;
}

double hs_sink_rate_overall(const hs_sink_rate *sr)
{
    int64_t num = 0, den = 0;
    for (size_t j = 0; j < (size_t)sr->n_layers * sr->n_heads; j++) {
        num += sr->hits[j];
        den += sr->count[j];
    }
    return ratio(num, den);
}

double hs_sink_rate_layer(const hs_sink_rate *sr, int layer)
{
    if (layer < 0 || layer >= sr->n_layers)
        return NAN;
    int64_t num = 0, den = 0;
    for (int h = 0; h < sr->n_heads; h++) {
        num += sr->hits[(size_t)layer * sr->n_heads + h];
        den += sr->count[(size_t)layer * sr->n_heads + h];
    }
    return ratio(num, den);
}

double hs_sink_rate_head(const hs_sink_rate *sr, int layer, int head)
{
    if (layer < 0 || layer >= sr->n_layers || head < 0 || head >= sr->n_heads)
        return NAN;
    size_t j = (size_t)layer * sr->n_heads + head;
    return ratio(sr->hits[j], sr->count[j]);
}

double hs_sink_rate_mean_alpha0(const hs_sink_rate *sr, int layer, int head)
{
    if (layer < 0 || layer >= sr->n_layers || head < 0 || head >= sr->n_heads)
        return NAN;
    size_t j = (size_t)layer * sr->n_heads + head;
    return sr->count[j] > 0 ? sr->sum_alpha[j] / (double)sr->count[j] : NAN;
}

int64_t hs_sink_rate_count(const hs_sink_rate *sr, int layer, int head)
{
    if (layer < 0 || layer >= sr->n_layers || head < 0 || head >= sr->n_heads)
        return 0;
    return sr->count[(size_t)layer * sr->n_heads + head];
}

int64_t hs_sink_rate_n_short(const hs_sink_rate *sr)
{
    return sr->n_short;
}

/* ------------------------------------------------------------------ hidden sinks */

struct hs_hidden_sinks {
    int n_layers, n_heads, max_pos, d_vocab;
    float tau;
    int64_t *prompts;     /* [L*H] patterns added */
    int64_t *with_sink;   /* [L*H] patterns with |S| > 0 */
    int64_t *n_sinks;     /* [L*H] sum of |S| */
    int64_t *pos_hits;    /* [L*H*max_pos] prompts where k is in S */
    int64_t *pos_seen;    /* [L*H*max_pos] prompts with a key k */
    int64_t *tok_hits;    /* [d_vocab] */
    int64_t *tok_seen;    /* [d_vocab] */
};

hs_status hs_hidden_sinks_new(int n_layers, int n_heads, int max_pos, int d_vocab, float tau,
                              hs_hidden_sinks **out, hs_error *err)
{
    *out = NULL;
    if (n_layers < 1 || n_heads < 1 || max_pos < 1 || d_vocab < 0)
        return hs_fail(err, HS_ERR_ARG, "hidden sinks: %d layers x %d heads, max_pos %d, vocabulary %d", n_layers,
                       n_heads, max_pos, d_vocab);
    size_t nh = (size_t)n_layers * n_heads, np = nh * (size_t)max_pos;
    hs_hidden_sinks *hs = calloc(1, sizeof *hs);
    if (!hs || !(hs->prompts = calloc(nh, sizeof(int64_t))) || !(hs->with_sink = calloc(nh, sizeof(int64_t))) ||
        !(hs->n_sinks = calloc(nh, sizeof(int64_t))) || !(hs->pos_hits = calloc(np, sizeof(int64_t))) ||
        !(hs->pos_seen = calloc(np, sizeof(int64_t))) ||
        (d_vocab > 0 && (!(hs->tok_hits = calloc((size_t)d_vocab, sizeof(int64_t))) ||
                         !(hs->tok_seen = calloc((size_t)d_vocab, sizeof(int64_t)))))) {
        hs_hidden_sinks_free(hs);
        return hs_fail(err, HS_ERR_NOMEM, "hidden sinks: out of memory");
    }
    hs->n_layers = n_layers;
    hs->n_heads = n_heads;
    hs->max_pos = max_pos;
    hs->d_vocab = d_vocab;
    hs->tau = tau > 0.0f ? tau : HS_HIDDEN_SINK_TAU;
    *out = hs;
    return HS_OK;
}

void hs_hidden_sinks_free(hs_hidden_sinks *hs)
{
    if (!hs)
        return;
    free(hs->prompts);
    free(hs->with_sink);
    free(hs->n_sinks);
    free(hs->pos_hits);
    free(hs->pos_seen);
    free(hs->tok_hits);
    free(hs->tok_seen);
    free(hs);
}

hs_status hs_hidden_sinks_add(hs_hidden_sinks *hs, int layer, int head, const float *pattern, int n,
                              const int32_t *ids, int *sinks_out, int *n_sinks_out, hs_error *err)
{
    if (layer < 0 || layer >= hs->n_layers || head < 0 || head >= hs->n_heads)
        return hs_fail(err, HS_ERR_RANGE, "hidden sinks: head %d.%d outside %d layers x %d heads", layer, head,
                       hs->n_layers, hs->n_heads);
    if (!pattern || n < 1)
        return hs_fail(err, HS_ERR_ARG, "hidden sinks: empty pattern for head %d.%d", layer, head);
    if (ids && hs->d_vocab > 0)
        for (int k = 0; k < n; k++)
            if (ids[k] < 0 || ids[k] >= hs->d_vocab)
                return hs_fail(err, HS_ERR_RANGE, "hidden sinks: token id %d at position %d outside the vocabulary (%d)",
                               (int)ids[k], k, hs->d_vocab);
    float *alpha = malloc((size_t)n * sizeof *alpha);
    if (!alpha)
        return hs_fail(err, HS_ERR_NOMEM, "hidden sinks: out of memory");
    hs_sinks_scores(pattern, n, n, alpha);
    size_t j = (size_t)layer * hs->n_heads + head;
    int64_t *pos_hits = hs->pos_hits + j * hs->max_pos, *pos_seen = hs->pos_seen + j * hs->max_pos;
    int count = 0;
    for (int k = 1; k < n; k++) {
        int in_s = (double)alpha[k] > (double)hs->tau;
        if (k < hs->max_pos) {
            pos_seen[k]++;
            pos_hits[k] += in_s;
        }
        if (ids && hs->d_vocab > 0) {
            hs->tok_seen[ids[k]]++;
            hs->tok_hits[ids[k]] += in_s;
        }
        if (in_s) {
            if (sinks_out)
                sinks_out[count] = k;
            count++;
        }
    }
    free(alpha);
    hs->prompts[j]++;
    hs->with_sink[j] += count > 0;
    hs->n_sinks[j] += count;
    if (n_sinks_out)
        *n_sinks_out = count;
    return HS_OK;
}

double hs_hidden_sinks_mean_count(const hs_hidden_sinks *hs, int layer, int head)
{
    if (layer < 0 || layer >= hs->n_layers || head < 0 || head >= hs->n_heads)
        return NAN;
    size_t j = (size_t)layer * hs->n_heads + head;
    return ratio(hs->n_sinks[j], hs->prompts[j]);
}

double hs_hidden_sinks_frac_prompts(const hs_hidden_sinks *hs, int layer, int head)
{
    if (layer < 0 || layer >= hs->n_layers || head < 0 || head >= hs->n_heads)
        return NAN;
    size_t j = (size_t)layer * hs->n_heads + head;
    return ratio(hs->with_sink[j], hs->prompts[j]);
}

double hs_hidden_sinks_pos_freq(const hs_hidden_sinks *hs, int layer, int head, int pos)
{
    if (layer < 0 || layer >= hs->n_layers || head < 0 || head >= hs->n_heads || pos < 1 || pos >= hs->max_pos)
        return NAN;
    size_t j = ((size_t)layer * hs->n_heads + head) * hs->max_pos + (size_t)pos;
    return ratio(hs->pos_hits[j], hs->pos_seen[j]);
}

double hs_hidden_sinks_token_freq(const hs_hidden_sinks *hs, int32_t id)
{
    if (hs->d_vocab <= 0 || id < 0 || id >= hs->d_vocab)
        return NAN;
    return ratio(hs->tok_hits[id], hs->tok_seen[id]);
}

int64_t hs_hidden_sinks_token_seen(const hs_hidden_sinks *hs, int32_t id)
{
    if (hs->d_vocab <= 0 || id < 0 || id >= hs->d_vocab)
        return 0;
    return hs->tok_seen[id];
}
