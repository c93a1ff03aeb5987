/* gpt2_train.c — the trainable GPT-2: forward with saved activations (the tape), backward, and
 * the activation gradients (see gpt2_train.h).
 *
 * Rows are tokens, N = B·T, as in hooks/forward.c. Per-layer activations are stored at a stride
 * of the largest batch (max_N rows), so a smaller batch reuses the same buffers. */
#include "train/gpt2_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hooks/kernels.h"
#include "train/ops_backward.h"

/* What the forward pass saves, and the backward pass's scratch. Every pointer is one malloc. */
typedef struct tape {
    float *resid;      /* [L+1][N, C]: resid[l] = input of block l, resid[L] = input of ln_final */
    float *resid_mid;  /* [L][N, C] */
    float *ln1_mean, *ln1_scale, *ln2_mean, *ln2_scale; /* [L][N] */
    float *ln1_out, *ln2_out; /* [L][N, C] */
    float *q, *k, *v, *z;     /* [L][N, C] ([N, H, dh] per row) */
    float *pattern;    /* [L][B, H, T, T] */
    float *pre, *post; /* [L][N, 4C]: MLP input of GELU and its output */
    float *lnf_mean, *lnf_scale; /* [N] */
    float *lnf_out;    /* [N, C] */
    float *logits;     /* [N, V]; dlogits after backward */
    float *out;        /* [N, C] attention or MLP output before the residual add (scratch) */
    /* backward scratch */
    float *dx, *dxn;   /* [N, C] residual gradient, gradient of a norm's output */
    float *dqkv;       /* [N, 3C]: each row dq | dk | dv, so Q, K and V share one weight-gradient product */
    float *dz;         /* [N, C] */
    float *datt;       /* [B, H, T, T] */
    float *dpre;       /* [N, 4C] */
    /* kept activation gradients (hs_train_keep_activation_grads) */
    float *g_resid;    /* [L+1][N, C] */
    float *g_z;        /* [L][N, C] */
    float *g_pattern;  /* [L][B, H, T, T] */
} tape;

struct hs_train_model {
    hs_gpt2_dims d;
    const hs_kernels *k;
    int max_B, max_T;
    size_t n_params;
    float *params, *grads;
    hs_gpt2_view pv, gv;
    tape t;
    int32_t *ids, *targets; /* [max_B, max_T]: copies of the last forward's batch */
    int B, T, has_targets, logits_valid;
};

static void tape_free(tape *t)
{
    float **p = (float **)t;
    for (size_t i = 0; i < sizeof *t / sizeof(float *); i++)
        free(p[i]);
    memset(t, 0, sizeof *t);
}

void hs_train_model_free(hs_train_model *tm)
{
    if (!tm)
        return;
    tape_free(&tm->t);
    free(tm->params);
    free(tm->grads);
    free(tm->ids);
    free(tm->targets);
    free(tm);
}

hs_status hs_train_model_new(const hs_gpt2_dims *dims, int max_B, int max_T, hs_backend_id backend,
                             hs_train_model **out, hs_error *err)
{
    *out = NULL;
    HS_TRY(hs_gpt2_dims_check(dims, err));
    if (max_B < 1 || max_T < 1 || max_T > dims->n_ctx)
        return hs_fail(err, HS_ERR_RANGE, "train: batch %d x %d is empty or longer than the context (%d)", max_B,
                       max_T, dims->n_ctx);
    if ((int64_t)max_B * max_T > (1 << 24))
        return hs_fail(err, HS_ERR_RANGE, "train: batch %d x %d is too large", max_B, max_T);
    hs_train_model *tm = calloc(1, sizeof *tm);
    if (!tm)
        return hs_fail(err, HS_ERR_NOMEM, "train: out of memory");
    tm->d = *dims;
    tm->k = backend == HS_BACKEND_REFERENCE ? &hs_kernels_ref : &hs_kernels_cpu;
    tm->max_B = max_B;
    tm->max_T = max_T;
    tm->n_params = hs_gpt2_layout(dims, NULL);
    size_t L = (size_t)dims->n_layers, N = (size_t)max_B * max_T, C = (size_t)dims->d_model, F = 4 * C,
           V = (size_t)dims->d_vocab, A = (size_t)max_B * dims->n_heads * max_T * max_T;
    tape *t = &tm->t;
    struct { float **p; size_t n; } plan[] = {
        {&tm->params, tm->n_params}, {&tm->grads, tm->n_params},
        {&t->resid, (L + 1) * N * C}, {&t->resid_mid, L * N * C},
        {&t->ln1_mean, L * N}, {&t->ln1_scale, L * N}, {&t->ln2_mean, L * N}, {&t->ln2_scale, L * N},
        {&t->ln1_out, L * N * C}, {&t->ln2_out, L * N * C},
        {&t->q, L * N * C}, {&t->k, L * N * C}, {&t->v, L * N * C}, {&t->z, L * N * C},
        {&t->pattern, L * A}, {&t->pre, L * N * F}, {&t->post, L * N * F},
        {&t->lnf_mean, N}, {&t->lnf_scale, N}, {&t->lnf_out, N * C}, {&t->logits, N * V}, {&t->out, N * C},
        {&t->dx, N * C}, {&t->dxn, N * C}, {&t->dqkv, 3 * N * C}, {&t->dz, N * C},
        {&t->datt, A}, {&t->dpre, N * F},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++)
        if (!(*plan[i].p = calloc(plan[i].n, sizeof(float)))) {
            hs_train_model_free(tm);
            return hs_fail(err, HS_ERR_NOMEM, "train: out of memory for a batch of %d x %d tokens", max_B, max_T);
        }
    tm->ids = calloc(N, sizeof *tm->ids);
    tm->targets = calloc(N, sizeof *tm->targets);
    if (!tm->ids || !tm->targets) {
        hs_train_model_free(tm);
        return hs_fail(err, HS_ERR_NOMEM, "train: out of memory");
    }
    hs_gpt2_view_at(dims, tm->params, &tm->pv);
    hs_gpt2_view_at(dims, tm->grads, &tm->gv);
    *out = tm;
    return HS_OK;
}

const hs_gpt2_dims *hs_train_dims(const hs_train_model *tm)
{
    return &tm->d;
}

float *hs_train_params(hs_train_model *tm, size_t *n)
{
    if (n)
        *n = tm->n_params;
    return tm->params;
}

float *hs_train_grads(hs_train_model *tm, size_t *n)
{
    if (n)
        *n = tm->n_params;
    return tm->grads;
}

const hs_gpt2_view *hs_train_param_view(const hs_train_model *tm)
{
    return &tm->pv;
}

const hs_gpt2_view *hs_train_grad_view(const hs_train_model *tm)
{
    return &tm->gv;
}

const float *hs_train_logits(const hs_train_model *tm)
{
    return tm->t.logits;
}

/* ---------------------------------------------------------------- forward (the tape) */

/* Per-layer slices of the tape, at the stride of the largest batch. */
#define LAYER(buf, l, per) ((buf) + (size_t)(l) * (per))

hs_status hs_train_forward(hs_train_model *tm, const int32_t *ids, const int32_t *targets, int B, int T, float *loss,
                           hs_error *err)
{
    const hs_gpt2_dims *d = &tm->d;
    if (B < 1 || T < 1 || B > tm->max_B || T > tm->max_T)
        return hs_fail(err, HS_ERR_RANGE, "train: batch %d x %d is outside the model's 1..%d x 1..%d", B, T,
                       tm->max_B, tm->max_T);
    for (int i = 0; i < B * T; i++) {
        if (ids[i] < 0 || ids[i] >= d->d_vocab)
            return hs_fail(err, HS_ERR_RANGE, "train: token id %d at batch %d, position %d is outside the vocabulary (0..%d)",
                           ids[i], i / T, i % T, d->d_vocab - 1);
        if (targets && (targets[i] < -1 || targets[i] >= d->d_vocab))
            return hs_fail(err, HS_ERR_RANGE, "train: target %d at batch %d, position %d is outside the vocabulary (-1..%d)",
                           targets[i], i / T, i % T, d->d_vocab - 1);
    }
    const hs_kernels *k = tm->k;
    tape *t = &tm->t;
    const hs_gpt2_view *p = &tm->pv;
    int N = B * T, C = d->d_model, F = 4 * C, H = d->n_heads, dh = C / H, V = d->d_vocab;
    size_t maxN = (size_t)tm->max_B * tm->max_T, NC = maxN * C, NF = maxN * F,
           A = (size_t)tm->max_B * H * tm->max_T * tm->max_T;
    float eps = 1e-5f, scale = 1.0f / sqrtf((float)dh);
    memcpy(tm->ids, ids, (size_t)N * sizeof *ids);
    tm->B = B;
    tm->T = T;
    tm->has_targets = targets != NULL;
    if (targets)
        memcpy(tm->targets, targets, (size_t)N * sizeof *targets);

    /* embeddings: x = wte[id] + wpe[t], the same two float operations as forward.c's embed */
    float *x = t->resid;
    for (int i = 0; i < N; i++) {
        float *r = x + (size_t)i * C;
        const float *pos = p->wpe + (size_t)(i % T) * C;
        memcpy(r, p->wte + (size_t)ids[i] * C, (size_t)C * sizeof *r);
        for (int c = 0; c < C; c++)
            r[c] += pos[c];
    }
    for (int l = 0; l < d->n_layers; l++) {
        const hs_gpt2_layer_view *w = &p->layer[l];
        float *x_in = LAYER(t->resid, l, NC), *x_mid = LAYER(t->resid_mid, l, NC), *x_out = LAYER(t->resid, l + 1, NC);
        float *xn = LAYER(t->ln1_out, l, NC), *mean = LAYER(t->ln1_mean, l, maxN), *sc = LAYER(t->ln1_scale, l, maxN);
        float *q = LAYER(t->q, l, NC), *kk = LAYER(t->k, l, NC), *v = LAYER(t->v, l, NC), *z = LAYER(t->z, l, NC);
        float *att = LAYER(t->pattern, l, A);
        hs_layernorm_stats(x_in, mean, sc, N, C, eps);
        hs_norm_apply(xn, x_in, mean, sc, w->ln1_w, w->ln1_b, N, C);
        k->linear(q, xn, w->W_qkv, w->b_qkv, N, C, C);
        k->linear(kk, xn, w->W_qkv + (size_t)C * C, w->b_qkv + C, N, C, C);
        k->linear(v, xn, w->W_qkv + 2 * (size_t)C * C, w->b_qkv + 2 * C, N, C, C);
        k->attn_scores(att, q, kk, B, T, H, H, dh, scale);
        k->softmax_rows(att, att, (int64_t)B * H * T, T);
        k->attn_apply(z, att, v, B, T, H, H, dh);
        k->linear(t->out, z, w->W_O, w->b_O, N, C, C);
        for (size_t i = 0; i < (size_t)N * C; i++)
            x_mid[i] = x_in[i] + t->out[i];

        xn = LAYER(t->ln2_out, l, NC);
        mean = LAYER(t->ln2_mean, l, maxN);
        sc = LAYER(t->ln2_scale, l, maxN);
        float *pre = LAYER(t->pre, l, NF), *post = LAYER(t->post, l, NF);
        hs_layernorm_stats(x_mid, mean, sc, N, C, eps);
        hs_norm_apply(xn, x_mid, mean, sc, w->ln2_w, w->ln2_b, N, C);
        k->linear(pre, xn, w->W_in, w->b_in, N, C, F);
        memcpy(post, pre, (size_t)N * F * sizeof *post);
        k->gelu_tanh(post, (int64_t)N * F);
        k->linear(t->out, post, w->W_out, w->b_out, N, F, C);
        for (size_t i = 0; i < (size_t)N * C; i++)
            x_out[i] = x_mid[i] + t->out[i];
    }
    float *xf = LAYER(t->resid, d->n_layers, NC);
    hs_layernorm_stats(xf, t->lnf_mean, t->lnf_scale, N, C, eps);
    hs_norm_apply(t->lnf_out, xf, t->lnf_mean, t->lnf_scale, p->lnf_w, p->lnf_b, N, C);
    k->linear(t->logits, t->lnf_out, p->wte, NULL, N, C, V);
    tm->logits_valid = 1;
    if (targets && loss)
        *loss = (float)hs_cross_entropy(NULL, t->logits, targets, N, V, NULL);
    return HS_OK;
}

/* ---------------------------------------------------------------- backward */

hs_status hs_train_backward(hs_train_model *tm, hs_error *err)
{
    if (!tm->has_targets || !tm->logits_valid)
        return hs_fail(err, HS_ERR_ARG, "train: backward needs a forward pass with targets before it");
    const hs_gpt2_dims *d = &tm->d;
    tape *t = &tm->t;
    const hs_gpt2_view *p = &tm->pv, *g = &tm->gv;
    int B = tm->B, T = tm->T, N = B * T, C = d->d_model, F = 4 * C, H = d->n_heads, dh = C / H, V = d->d_vocab;
    size_t maxN = (size_t)tm->max_B * tm->max_T, NC = maxN * C, NF = maxN * F,
           A = (size_t)tm->max_B * H * tm->max_T * tm->max_T;
    float scale = 1.0f / sqrtf((float)dh);
    memset(tm->grads, 0, tm->n_params * sizeof *tm->grads);

    /* loss -> logits -> ln_final (the unembedding is wte: its gradient adds to the embedding's) */
    hs_cross_entropy(t->logits, t->logits, tm->targets, N, V, NULL);
    tm->logits_valid = 0;
    hs_bw_linear(t->dxn, g->wte, NULL, t->logits, t->lnf_out, p->wte, N, C, V, 0);
    float *dx = t->dx;
    memset(dx, 0, (size_t)N * C * sizeof *dx);
    hs_bw_layernorm(dx, g->lnf_w, g->lnf_b, t->dxn, LAYER(t->resid, d->n_layers, NC), t->lnf_mean, t->lnf_scale,
                    p->lnf_w, N, C);

    for (int l = d->n_layers - 1; l >= 0; l--) {
        const hs_gpt2_layer_view *w = &p->layer[l], *gw = &g->layer[l];
        if (t->g_resid)
            memcpy(LAYER(t->g_resid, l + 1, NC), dx, (size_t)N * C * sizeof *dx);
        /* MLP: dx is dL/d(resid_post) = dL/d(mlp_out) */
        hs_bw_linear(t->dpre, gw->W_out, gw->b_out, dx, LAYER(t->post, l, NF), w->W_out, N, F, C, 0);
        hs_bw_gelu_tanh(t->dpre, t->dpre, LAYER(t->pre, l, NF), (int64_t)N * F);
        hs_bw_linear(t->dxn, gw->W_in, gw->b_in, t->dpre, LAYER(t->ln2_out, l, NC), w->W_in, N, C, F, 0);
        hs_bw_layernorm(dx, gw->ln2_w, gw->ln2_b, t->dxn, LAYER(t->resid_mid, l, NC), LAYER(t->ln2_mean, l, maxN),
                        LAYER(t->ln2_scale, l, maxN), w->ln2_w, N, C);
        /* attention: dx is now dL/d(resid_mid) = dL/d(attn_out) */
        float *dz = t->g_z ? LAYER(t->g_z, l, NC) : t->dz;
        float *datt = t->g_pattern ? LAYER(t->g_pattern, l, A) : t->datt;
        const float *pat = LAYER(t->pattern, l, A);
        hs_bw_linear(dz, gw->W_O, gw->b_O, dx, LAYER(t->z, l, NC), w->W_O, N, C, C, 0);
        hs_bw_attn_apply(datt, t->dqkv + 2 * C, dz, pat, LAYER(t->v, l, NC), B, T, H, dh, 3 * C);
        /* the softmax backward writes scores' gradient into the scratch, keeping dpattern */
        hs_bw_softmax_rows(t->datt, datt, pat, (int64_t)B * H * T, T, 1);
        hs_bw_attn_scores(t->dqkv, t->dqkv + C, t->datt, LAYER(t->q, l, NC), LAYER(t->k, l, NC), B, T, H, dh, scale,
                          3 * C);
        /* Q, K and V at once: W_qkv [3C, C] is the three [C, C] blocks, dqkv rows are dq | dk | dv */
        hs_bw_linear(t->dxn, gw->W_qkv, gw->b_qkv, t->dqkv, LAYER(t->ln1_out, l, NC), w->W_qkv, N, C, 3 * C, 0);
        hs_bw_layernorm(dx, gw->ln1_w, gw->ln1_b, t->dxn, LAYER(t->resid, l, NC), LAYER(t->ln1_mean, l, maxN),
                        LAYER(t->ln1_scale, l, maxN), w->ln1_w, N, C);
    }
    if (t->g_resid)
        memcpy(t->g_resid, dx, (size_t)N * C * sizeof *dx);
    hs_bw_embedding(g->wte, g->wpe, dx, tm->ids, B, T, C);
    return HS_OK;
}

/* ---------------------------------------------------------------- activation gradients */

hs_status hs_train_keep_activation_grads(hs_train_model *tm, int on, hs_error *err)
{
    tape *t = &tm->t;
    free(t->g_resid);
    free(t->g_z);
    free(t->g_pattern);
    t->g_resid = t->g_z = t->g_pattern = NULL;
    if (!on)
        return HS_OK;
    size_t L = (size_t)tm->d.n_layers, N = (size_t)tm->max_B * tm->max_T, C = (size_t)tm->d.d_model,
           A = (size_t)tm->max_B * tm->d.n_heads * tm->max_T * tm->max_T;
    t->g_resid = calloc((L + 1) * N * C, sizeof(float));
    t->g_z = calloc(L * N * C, sizeof(float));
    t->g_pattern = calloc(L * A, sizeof(float));
    if (!t->g_resid || !t->g_z || !t->g_pattern) {
        hs_train_keep_activation_grads(tm, 0, err);
        return hs_fail(err, HS_ERR_NOMEM, "train: out of memory for activation gradients");
    }
    return HS_OK;
}

const float *hs_train_grad_resid_pre(const hs_train_model *tm, int layer)
{
    if (!tm->t.g_resid || layer < 0 || layer > tm->d.n_layers)
        return NULL;
    return tm->t.g_resid + (size_t)layer * tm->max_B * tm->max_T * tm->d.d_model;
}

const float *hs_train_grad_z(const hs_train_model *tm, int layer)
{
    if (!tm->t.g_z || layer < 0 || layer >= tm->d.n_layers)
        return NULL;
    return tm->t.g_z + (size_t)layer * tm->max_B * tm->max_T * tm->d.d_model;
}

const float *hs_train_grad_pattern(const hs_train_model *tm, int layer)
{
    if (!tm->t.g_pattern || layer < 0 || layer >= tm->d.n_layers)
        return NULL;
    return tm->t.g_pattern + (size_t)layer * tm->max_B * tm->d.n_heads * tm->max_T * tm->max_T;
}
