/* gpt2_train.c — the trainable GPT-2: forward with saved activations (the tape), backward, and
 * the activation gradients (see gpt2_train.h).
 *
 * Rows are tokens, N = B·T, as in hooks/forward.c. The batch is split into shards of whole
 * sequences, each run by one thread with its own tape and gradient buffer against the shared
 * parameters (one shard unless hs_train_set_threads asks for more); the shards' gradients are then
 * summed in a fixed order. Per-layer activations are stored at a stride of the shard's largest
 * batch, so a smaller batch reuses the same buffers. */
#include "train/gpt2_train.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "backend/kernels.h"
#include "train/ops_backward.h"

/* What the forward pass saves, and the backward pass's scratch: one per shard. Every pointer is one
 * malloc, except logits, which points into the model's [B, T, V] array at the shard's first row. */
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
    float *out;        /* [N, C] attention or MLP output before the residual add (scratch) */
    /* backward scratch */
    float *dx, *dxn;   /* [N, C] residual gradient, gradient of a norm's output */
    float *dqkv;       /* [N, 3C]: each row dq | dk | dv, so Q, K and V share one weight-gradient product */
    float *dz;         /* [N, C] */
    float *datt;       /* [B, H, T, T] */
    float *dpre;       /* [N, 4C] */
    /* kept activation gradients (hs_train_keep_activation_grads), in the shard's rows */
    float *g_resid;    /* [L+1][N, C] */
    float *g_z;        /* [L][N, C] */
    float *g_pattern;  /* [L][B, H, T, T] */
    float *logits;     /* not owned: [N, V] rows of the model's logits; dlogits after backward */
} tape;

/* A slice of the batch, rows [b0, b0 + B) of it, run by one thread against the shared parameters.
 * Shard 0's gradients are the model's; the others' are added into them after the backward pass. */
typedef struct shard {
    tape t;
    int max_B;          /* the most batch rows it takes: its tape's stride is max_B · max_T rows */
    float *grads;       /* [n_params] */
    hs_gpt2_view gv;
    int b0, B, count;   /* its rows of the current batch, and its counted targets */
    double loss_sum;    /* Σ of its counted positions' losses */
} shard;

struct hs_train_model {
    hs_gpt2_dims d;
    const hs_kernels *k;
    int max_B, max_T;
    size_t n_params;
    float *params;
    hs_gpt2_view pv;
    float *logits;      /* [max_B, max_T, V] */
    int n_shards;
    shard *shards;      /* [n_shards] */
    int keep_grads;
    float *g_resid, *g_z, *g_pattern; /* kept activation gradients in model layout, when n_shards > 1 */
    int32_t *ids, *targets; /* [max_B, max_T]: copies of the last forward's batch */
    int B, T, has_targets, logits_valid, total_count;
};

static void tape_free(tape *t)
{
    float **p = (float **)t;
    for (size_t i = 0; i < sizeof *t / sizeof(float *) - 1; i++) /* all but logits */
        free(p[i]);
    memset(t, 0, sizeof *t);
}

static void shards_free(hs_train_model *tm)
{
    for (int s = 0; s < tm->n_shards; s++) {
        tape_free(&tm->shards[s].t);
        free(tm->shards[s].grads);
    }
    free(tm->shards);
    tm->shards = NULL;
    tm->n_shards = 0;
}

static void kept_free(hs_train_model *tm)
{
    free(tm->g_resid);
    free(tm->g_z);
    free(tm->g_pattern);
    tm->g_resid = tm->g_z = tm->g_pattern = NULL;
    for (int s = 0; s < tm->n_shards; s++) {
        tape *t = &tm->shards[s].t;
        free(t->g_resid);
        free(t->g_z);
        free(t->g_pattern);
        t->g_resid = t->g_z = t->g_pattern = NULL;
    }
}

void hs_train_model_free(hs_train_model *tm)
{
    if (!tm)
        return;
    kept_free(tm);
    shards_free(tm);
    free(tm->params);
    free(tm->logits);
    free(tm->ids);
    free(tm->targets);
    free(tm);
}

/* Allocates a shard's tape for up to max_B rows, kept activation gradients when keep, and its
 * gradient buffer (shard 0's is the model's). Returns 0 when out of memory (what was allocated is
 * freed by shards_free). */
static int shard_alloc(hs_train_model *tm, shard *sh, int max_B, int keep)
{
    const hs_gpt2_dims *d = &tm->d;
    size_t L = (size_t)d->n_layers, N = (size_t)max_B * tm->max_T, C = (size_t)d->d_model, F = 4 * C,
           A = (size_t)max_B * d->n_heads * tm->max_T * tm->max_T;
    tape *t = &sh->t;
    sh->max_B = max_B;
    struct { float **p; size_t n; int needed; } plan[] = {
        {&t->resid, (L + 1) * N * C, 1}, {&t->resid_mid, L * N * C, 1},
        {&t->ln1_mean, L * N, 1}, {&t->ln1_scale, L * N, 1}, {&t->ln2_mean, L * N, 1}, {&t->ln2_scale, L * N, 1},
        {&t->ln1_out, L * N * C, 1}, {&t->ln2_out, L * N * C, 1},
        {&t->q, L * N * C, 1}, {&t->k, L * N * C, 1}, {&t->v, L * N * C, 1}, {&t->z, L * N * C, 1},
        {&t->pattern, L * A, 1}, {&t->pre, L * N * F, 1}, {&t->post, L * N * F, 1},
        {&t->lnf_mean, N, 1}, {&t->lnf_scale, N, 1}, {&t->lnf_out, N * C, 1}, {&t->out, N * C, 1},
        {&t->dx, N * C, 1}, {&t->dxn, N * C, 1}, {&t->dqkv, 3 * N * C, 1}, {&t->dz, N * C, 1},
        {&t->datt, A, 1}, {&t->dpre, N * F, 1},
        {&t->g_resid, (L + 1) * N * C, keep}, {&t->g_z, L * N * C, keep}, {&t->g_pattern, L * A, keep},
        {&sh->grads, tm->n_params, 1},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++)
        if (plan[i].needed && !(*plan[i].p = calloc(plan[i].n, sizeof(float))))
            return 0;
    hs_gpt2_view_at(d, sh->grads, &sh->gv);
    return 1;
}

/* Splits max_B rows over n shards (the first ones take the remainder). */
static int shard_rows(int max_B, int n, int s)
{
    return max_B / n + (s < max_B % n);
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
    size_t N = (size_t)max_B * max_T;
    tm->params = calloc(tm->n_params, sizeof(float));
    tm->logits = calloc(N * (size_t)dims->d_vocab, sizeof(float));
    tm->ids = calloc(N, sizeof *tm->ids);
    tm->targets = calloc(N, sizeof *tm->targets);
    tm->shards = calloc(1, sizeof *tm->shards);
    if (!tm->params || !tm->logits || !tm->ids || !tm->targets || !tm->shards ||
        (tm->n_shards = 1, !shard_alloc(tm, &tm->shards[0], max_B, 0))) {
        hs_train_model_free(tm);
        return hs_fail(err, HS_ERR_NOMEM, "train: out of memory for a batch of %d x %d tokens", max_B, max_T);
    }
    hs_gpt2_view_at(dims, tm->params, &tm->pv);
    *out = tm;
    return HS_OK;
}

/* (Re)builds n shards, with kept activation gradients when keep; activations and gradients of the
 * last pass are discarded. Out of memory falls back to one shard without kept gradients; when even
 * that fails the model has no shard and can only be freed (the message says so). */
static hs_status reshard(hs_train_model *tm, int n, int keep, hs_error *err)
{
    kept_free(tm);
    shards_free(tm);
    size_t L = (size_t)tm->d.n_layers, N = (size_t)tm->max_B * tm->max_T, C = (size_t)tm->d.d_model,
           A = (size_t)tm->max_B * tm->d.n_heads * tm->max_T * tm->max_T;
    tm->shards = calloc((size_t)n, sizeof *tm->shards);
    int ok = tm->shards != NULL;
    if (ok)
        tm->n_shards = n;
    for (int s = 0; ok && s < n; s++)
        ok = shard_alloc(tm, &tm->shards[s], shard_rows(tm->max_B, n, s), keep);
    if (ok && keep && n > 1) {
        tm->g_resid = calloc((L + 1) * N * C, sizeof(float));
        tm->g_z = calloc(L * N * C, sizeof(float));
        tm->g_pattern = calloc(L * A, sizeof(float));
        ok = tm->g_resid && tm->g_z && tm->g_pattern;
    }
    tm->keep_grads = ok && keep;
    tm->logits_valid = 0;
    if (ok)
        return HS_OK;
    kept_free(tm);
    shards_free(tm);
    if ((tm->shards = calloc(1, sizeof *tm->shards)) && (tm->n_shards = 1, shard_alloc(tm, &tm->shards[0], tm->max_B, 0)))
        return hs_fail(err, HS_ERR_NOMEM, "train: out of memory for %d threads%s", n,
                       keep ? " with activation gradients" : "");
    return hs_fail(err, HS_ERR_NOMEM, "train: out of memory: the model is unusable");
}

hs_status hs_train_set_threads(hs_train_model *tm, int n_threads, hs_error *err)
{
    if (n_threads < 1 || n_threads > 256)
        return hs_fail(err, HS_ERR_RANGE, "train: %d threads is outside 1..256", n_threads);
    if (n_threads > tm->max_B)
        n_threads = tm->max_B; /* a shard is at least one sequence */
    if (n_threads == tm->n_shards)
        return HS_OK;
    return reshard(tm, n_threads, tm->keep_grads, err);
}

hs_status hs_train_keep_activation_grads(hs_train_model *tm, int on, hs_error *err)
{
    return reshard(tm, tm->n_shards, on != 0, err);
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
    return tm->shards[0].grads;
}

const hs_gpt2_view *hs_train_param_view(const hs_train_model *tm)
{
    return &tm->pv;
}

const hs_gpt2_view *hs_train_grad_view(const hs_train_model *tm)
{
    return &tm->shards[0].gv;
}

const float *hs_train_logits(const hs_train_model *tm)
{
    return tm->logits;
}

/* ---------------------------------------------------------------- forward (the tape) */

/* Per-layer slices of a tape, at the stride of its shard's largest batch. */
#define LAYER(buf, l, per) ((buf) + (size_t)(l) * (per))

/* The forward pass of one shard: its B rows of ids [B, T] (at the shard's b0), into its tape. */
static void shard_forward(const hs_train_model *tm, shard *sh, const int32_t *ids, const int32_t *targets, int T)
{
    const hs_gpt2_dims *d = &tm->d;
    const hs_kernels *k = tm->k;
    tape *t = &sh->t;
    const hs_gpt2_view *p = &tm->pv;
    int B = sh->B, N = B * T, C = d->d_model, F = 4 * C, H = d->n_heads, dh = C / H, V = d->d_vocab;
    size_t maxN = (size_t)sh->max_B * tm->max_T, NC = maxN * C, NF = maxN * F,
           A = (size_t)sh->max_B * H * tm->max_T * tm->max_T;
    float eps = 1e-5f, scale = 1.0f / sqrtf((float)dh);
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
    if (targets) /* the loss here, on the shard's thread: at a large vocabulary it is a real cost */
        sh->loss_sum = hs_cross_entropy(NULL, t->logits, targets, N, V, 0, &sh->count) * sh->count;
}

/* The backward pass of one shard into its gradient buffer (zeroed here); dlogits are divided by the
 * whole batch's count so the shards' gradients add up to the batch's. */
static void shard_backward(const hs_train_model *tm, shard *sh, const int32_t *ids, const int32_t *targets, int T)
{
    const hs_gpt2_dims *d = &tm->d;
    tape *t = &sh->t;
    const hs_gpt2_view *p = &tm->pv, *g = &sh->gv;
    int B = sh->B, N = B * T, C = d->d_model, F = 4 * C, H = d->n_heads, dh = C / H, V = d->d_vocab;
    size_t maxN = (size_t)sh->max_B * tm->max_T, NC = maxN * C, NF = maxN * F,
           A = (size_t)sh->max_B * H * tm->max_T * tm->max_T;
    float scale = 1.0f / sqrtf((float)dh);
    memset(sh->grads, 0, tm->n_params * sizeof *sh->grads);

    /* loss -> logits -> ln_final (the unembedding is wte: its gradient adds to the embedding's) */
    hs_cross_entropy(t->logits, t->logits, targets, N, V, tm->total_count, NULL);
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
    hs_bw_embedding(g->wte, g->wpe, dx, ids, B, T, C);
}

/* ---------------------------------------------------------------- running the shards */

typedef struct job {
    hs_train_model *tm;
    shard *sh;
    int T, backward;
    const int32_t *ids, *targets; /* targets NULL: a forward without loss */
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    if (j->backward)
        shard_backward(j->tm, j->sh, j->ids, j->targets, j->T);
    else
        shard_forward(j->tm, j->sh, j->ids, j->targets, j->T);
    return NULL;
}

/* Runs every shard with rows, shard 0 on this thread and the others on their own (a thread that
 * cannot start runs here instead: the same work, serially). */
static void run_shards(hs_train_model *tm, int T, int backward)
{
    job jobs[256];
    pthread_t th[256];
    int started[256] = {0};
    for (int s = 0; s < tm->n_shards; s++) {
        shard *sh = &tm->shards[s];
        jobs[s] = (job){tm, sh, T, backward, tm->ids + (size_t)sh->b0 * T,
                        tm->has_targets ? tm->targets + (size_t)sh->b0 * T : NULL};
        if (s > 0 && sh->B > 0)
            started[s] = pthread_create(&th[s], NULL, run_job, &jobs[s]) == 0;
    }
    for (int s = 0; s < tm->n_shards; s++)
        if (tm->shards[s].B > 0 && (s == 0 || !started[s]))
            run_job(&jobs[s]);
    for (int s = 1; s < tm->n_shards; s++)
        if (started[s])
            pthread_join(th[s], NULL);
}

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
    memcpy(tm->ids, ids, (size_t)B * T * sizeof *ids);
    tm->B = B;
    tm->T = T;
    tm->has_targets = targets != NULL;
    if (targets)
        memcpy(tm->targets, targets, (size_t)B * T * sizeof *targets);
    /* rows split evenly over the shards (each within its capacity), in order */
    int b0 = 0;
    for (int s = 0; s < tm->n_shards; s++) {
        shard *sh = &tm->shards[s];
        sh->b0 = b0;
        sh->B = shard_rows(B, tm->n_shards, s);
        sh->t.logits = tm->logits + (size_t)b0 * T * d->d_vocab;
        b0 += sh->B;
    }
    run_shards(tm, T, 0);
    tm->logits_valid = 1;
    if (targets) {
        double sum = 0;
        int count = 0;
        for (int s = 0; s < tm->n_shards; s++) {
            shard *sh = &tm->shards[s];
            if (sh->B == 0)
                continue;
            sum += sh->loss_sum;
            count += sh->count;
        }
        tm->total_count = count;
        if (loss)
            *loss = count ? (float)(sum / count) : 0.0f;
    }
    return HS_OK;
}

/* Copies a shard's rows of a per-layer tensor ([L][rows, per_row] at the shard's stride) into the
 * model's layout (stride of the whole batch). */
static void gather(float *dst, const float *src, int n_layers, size_t src_stride, size_t dst_stride, size_t offset,
                   size_t n)
{
    for (int l = 0; l < n_layers; l++)
        memcpy(dst + (size_t)l * dst_stride + offset, src + (size_t)l * src_stride, n * sizeof *dst);
}

hs_status hs_train_backward(hs_train_model *tm, hs_error *err)
{
    if (!tm->has_targets || !tm->logits_valid)
        return hs_fail(err, HS_ERR_ARG, "train: backward needs a forward pass with targets before it");
    run_shards(tm, tm->T, 1);
    tm->logits_valid = 0;
    float *g = tm->shards[0].grads;
    for (int s = 1; s < tm->n_shards; s++) { /* fixed order: deterministic for a thread count */
        const float *gs = tm->shards[s].grads;
        if (tm->shards[s].B == 0)
            continue;
        for (size_t i = 0; i < tm->n_params; i++)
            g[i] += gs[i];
    }
    if (tm->keep_grads && tm->n_shards > 1) {
        int T = tm->T, C = tm->d.d_model, H = tm->d.n_heads, L = tm->d.n_layers;
        size_t maxN = (size_t)tm->max_B * tm->max_T, A = (size_t)tm->max_B * H * tm->max_T * tm->max_T;
        for (int s = 0; s < tm->n_shards; s++) {
            const shard *sh = &tm->shards[s];
            size_t sN = (size_t)sh->max_B * tm->max_T, sA = (size_t)sh->max_B * H * tm->max_T * tm->max_T;
            size_t rows = (size_t)sh->B * T, row0 = (size_t)sh->b0 * T;
            gather(tm->g_resid, sh->t.g_resid, L + 1, sN * C, maxN * C, row0 * C, rows * C);
            gather(tm->g_z, sh->t.g_z, L, sN * C, maxN * C, row0 * C, rows * C);
            gather(tm->g_pattern, sh->t.g_pattern, L, sA, A, (size_t)sh->b0 * H * T * T, (size_t)sh->B * H * T * T);
        }
    }
    return HS_OK;
}

/* ---------------------------------------------------------------- activation gradients */

/* The kept buffers in model layout: shard 0's when it is the only one. */
static const float *kept(const hs_train_model *tm, int which)
{
    if (!tm->keep_grads)
        return NULL;
    const tape *t = &tm->shards[0].t;
    if (which == 0)
        return tm->n_shards > 1 ? tm->g_resid : t->g_resid;
    if (which == 1)
        return tm->n_shards > 1 ? tm->g_z : t->g_z;
    return tm->n_shards > 1 ? tm->g_pattern : t->g_pattern;
}

const float *hs_train_grad_resid_pre(const hs_train_model *tm, int layer)
{
    const float *g = kept(tm, 0);
    if (!g || layer < 0 || layer > tm->d.n_layers)
        return NULL;
    return g + (size_t)layer * tm->max_B * tm->max_T * tm->d.d_model;
}

const float *hs_train_grad_z(const hs_train_model *tm, int layer)
{
    const float *g = kept(tm, 1);
    if (!g || layer < 0 || layer >= tm->d.n_layers)
        return NULL;
    return g + (size_t)layer * tm->max_B * tm->max_T * tm->d.d_model;
}

const float *hs_train_grad_pattern(const hs_train_model *tm, int layer)
{
    const float *g = kept(tm, 2);
    if (!g || layer < 0 || layer >= tm->d.n_layers)
        return NULL;
    return g + (size_t)layer * tm->max_B * tm->d.n_heads * tm->max_T * tm->max_T;
}
