/* logit_lens.c — the logit lens over a trace: one unembedding GEMM per residual row ([n_pos, d_model]
 * x [d_model, d_vocab]), then per cell a log-sum-exp, a top-k pass, a rank count and a KL sum, all
 * O(d_vocab). The GEMMs dominate: (n_layers + 1) · n_pos · d_model · d_vocab multiply-adds.
 * Normalisers and KL are accumulated in double, so a cell's probabilities are as exact as its float
 * logits allow. */
#include "analyses/lens/logit_lens.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/lens/top_k.h"
#include "base/error.h"
#include "backend/kernels.h"
#include "model/model.h"

hs_lens *hs_lens_new(int n_rows, int n_pos, int k)
{
    hs_lens *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    size_t cells = (size_t)n_rows * n_pos;
    l->n_rows = n_rows;
    l->n_pos = n_pos;
    l->k = k;
    l->topk_id = malloc(cells * (size_t)(k > 0 ? k : 1) * sizeof(int32_t));
    l->topk_prob = malloc(cells * (size_t)(k > 0 ? k : 1) * sizeof(float));
    l->target_id = malloc((size_t)n_pos * sizeof(int32_t));
    l->target_rank = malloc(cells * sizeof(int32_t));
    l->target_prob = malloc(cells * sizeof(float));
    l->logit_diff = malloc(cells * sizeof(float));
    l->kl = malloc(cells * sizeof(float));
    if (!l->topk_id || !l->topk_prob || !l->target_id || !l->target_rank || !l->target_prob || !l->logit_diff ||
        !l->kl) {
        hs_lens_free(l);
        return NULL;
    }
    for (size_t i = 0; i < cells * (size_t)k; i++) {
        l->topk_id[i] = -1;
        l->topk_prob[i] = NAN;
    }
    for (int t = 0; t < n_pos; t++)
        l->target_id[t] = -1;
    for (size_t i = 0; i < cells; i++) {
        l->target_rank[i] = 0;
        l->target_prob[i] = l->logit_diff[i] = l->kl[i] = NAN;
    }
    return l;
}

void hs_lens_free(hs_lens *l)
{
    if (!l)
        return;
    free(l->topk_id);
    free(l->topk_prob);
    free(l->target_id);
    free(l->target_rank);
    free(l->target_prob);
    free(l->logit_diff);
    free(l->kl);
    free(l);
}

/* xn [n, d_model] = LN_final(x [n, d_model]) with the statistics of each row: the forward pass's own
 * final-norm kernels. */
static hs_status final_norm(const hs_model *m, const float *x, int n, float *xn, hs_error *err)
{
    const hs_config *c = &m->cfg;
    float *stats = malloc(2 * (size_t)n * sizeof(float));
    if (!stats)
        return hs_fail(err, HS_ERR_NOMEM, "lens: out of memory");
    if (c->norm == HS_NORM_LAYERNORM)
        hs_layernorm_stats(x, stats, stats + n, n, c->d_model, c->norm_eps);
    else
        hs_rmsnorm_stats(x, stats, stats + n, n, c->d_model, c->norm_eps);
    hs_norm_apply(xn, x, stats, stats + n, m->ln_f_w, m->ln_f_b, n, c->d_model);
    free(stats);
    return HS_OK;
}

hs_status hs_lens_logits(const hs_model *m, const hs_lens_trace *t, int row, float *out, hs_error *err)
{
    if (!m || !t || !out || row < 0 || row > t->n_layers)
        return hs_fail(err, HS_ERR_ARG, "lens: row %d is not one of 0..%d", row, t ? t->n_layers : -1);
    int T = t->n_pos, d = m->cfg.d_model;
    float *xn = malloc((size_t)T * d * sizeof(float));
    if (!xn)
        return hs_fail(err, HS_ERR_NOMEM, "lens: out of memory");
    hs_status rc = final_norm(m, t->resid + (size_t)row * T * d, T, xn, err);
    if (rc == HS_OK) /* the forward pass's unembedding kernel on the same [n_pos, d_model] input */
        hs_kernels_cpu.linear(out, xn, m->W_U, m->b_U, T, d, m->cfg.d_vocab);
    free(xn);
    return rc;
}

/* log Σ exp(z) over one row of logits, in double. */
static double log_sum_exp(const float *z, int V)
{
    float mx = z[0];
    for (int v = 1; v < V; v++)
        if (z[v] > mx)
            mx = z[v];
    double s = 0;
    for (int v = 0; v < V; v++)
        s += exp((double)z[v] - mx);
    return mx + log(s);
}

/* Cells unembedded per GEMM. W_U is the large operand (GPT-2: 154 MB): unembedding one residual
 * row of a short prompt at a time would stream and repack all of it per row, so cells of all rows
 * go through in blocks of up to CELLS_PER_GEMM. */
#define CELLS_PER_GEMM 256

hs_status hs_lens_compute(const hs_model *m, const hs_lens_trace *t, const hs_lens_targets *tg, int k,
                          hs_lens **out, hs_error *err)
{
    *out = NULL;
    if (!m || !t || !tg)
        return hs_fail(err, HS_ERR_ARG, "lens: missing argument");
    const int V = t->d_vocab, T = t->n_pos, R = t->n_layers + 1, d = t->d_model;
    if (k < 1 || k > HS_LENS_MAX_K || k > V)
        return hs_fail(err, HS_ERR_RANGE, "lens: top-k %d is not in 1..%d", k, V < HS_LENS_MAX_K ? V : HS_LENS_MAX_K);
    if (tg->answer >= V || tg->wrong >= V)
        return hs_fail(err, HS_ERR_RANGE, "lens: answer %d / wrong %d outside the vocabulary of %d", tg->answer,
                       tg->wrong, V);
    for (int p = 0; tg->target && p < T; p++)
        if (tg->target[p] >= V)
            return hs_fail(err, HS_ERR_RANGE, "lens: target %d at position %d outside the vocabulary of %d",
                           tg->target[p], p, V);
    hs_status rc = HS_OK;
    const int n_cells = R * T, block = n_cells < CELLS_PER_GEMM ? n_cells : CELLS_PER_GEMM;
    hs_lens *l = hs_lens_new(R, T, k);
    float *xn = malloc((size_t)n_cells * d * sizeof(float));     /* [R * T, d_model] normalised rows */
    float *z = malloc((size_t)block * V * sizeof(float));        /* [block, d_vocab] lens logits */
    float *lp_final = malloc((size_t)T * V * sizeof(float));     /* log P_final [T, d_vocab] */
    float *p_final = malloc((size_t)T * V * sizeof(float));      /* P_final [T, d_vocab] */
    if (!l || !xn || !z || !lp_final || !p_final) {
        rc = hs_fail(err, HS_ERR_NOMEM, "lens: out of memory for %d positions x %d tokens", T, V);
        goto done;
    }
    for (int p = 0; p < T; p++)
        l->target_id[p] = tg->target && tg->target[p] >= 0 ? tg->target[p] : -1;
    /* residual rows are independent: one norm call over all of them (cell = row * T + pos) */
    if ((rc = final_norm(m, t->resid, n_cells, xn, err)) != HS_OK)
        goto done;
    /* the final row's cells first (every other row's KL needs its distribution), then the rest */
    for (int pass = 0; pass < 2; pass++) {
        int first = pass == 0 ? (R - 1) * T : 0, last = pass == 0 ? n_cells : (R - 1) * T;
        for (int c0 = first; c0 < last; c0 += block) {
            int nc = last - c0 < block ? last - c0 : block;
            hs_kernels_cpu.linear(z, xn + (size_t)c0 * d, m->W_U, m->b_U, nc, d, V);
            for (int j = 0; j < nc; j++) {
                const size_t cell = (size_t)c0 + j;
                const int r = (int)(cell / T), p = (int)(cell % T);
                const float *zp = z + (size_t)j * V;
                double lse = log_sum_exp(zp, V);
                int32_t *ids = l->topk_id + cell * k;
                hs_top_k(zp, V, k, +1, ids);
                for (int q = 0; q < k; q++)
                    l->topk_prob[cell * k + q] = ids[q] >= 0 ? (float)exp(zp[ids[q]] - lse) : NAN;
                int32_t target = l->target_id[p];
                if (target >= 0) {
                    int above = 0;
                    for (int v = 0; v < V; v++)
                        above += zp[v] > zp[target];
                    l->target_rank[cell] = 1 + above;
                    l->target_prob[cell] = (float)exp(zp[target] - lse);
                }
                if (tg->answer >= 0 && tg->wrong >= 0)
                    l->logit_diff[cell] = zp[tg->answer] - zp[tg->wrong];
                float *lpf = lp_final + (size_t)p * V, *pf = p_final + (size_t)p * V;
                if (r == R - 1) {
                    for (int v = 0; v < V; v++) {
                        lpf[v] = (float)(zp[v] - lse);
                        pf[v] = expf(lpf[v]);
                    }
                    l->kl[cell] = 0.0f;
                } else {
                    double kl = 0;
                    for (int v = 0; v < V; v++)
                        kl += (double)pf[v] * ((double)lpf[v] - ((double)zp[v] - lse));
                    l->kl[cell] = (float)kl;
                }
            }
        }
    }
done:
    free(xn);
    free(z);
    free(lp_final);
    free(p_final);
    if (rc != HS_OK)
        hs_lens_free(l);
    else
        *out = l;
    return rc;
}
