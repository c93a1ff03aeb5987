/* forward.c — the one instrumented forward loop shared by every architecture: embeddings, blocks
 * (sequential or parallel residual), final norm, unembedding; a hook fires at every hook point.
 *
 * Rows are tokens: a batch of B sequences of T positions is N = B·T rows, so every hook tensor is
 * the same memory the computation uses (no copies), seen with its TransformerLens shape. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hooks/hooks.h"
#include "backend/kernels.h"
#include "model/model.h"

/* Working memory of one pass; every pointer is one malloc freed by workspace_free. */
typedef struct workspace {
    float *x;        /* [N, d_model] the residual stream */
    float *pos;      /* [N, d_model] position embeddings (learned positions only) */
    float *xn;       /* [N, d_model] normalised input of the current sub-layer */
    float *mean, *scale; /* [N] norm statistics */
    float *q;        /* [N, Hq·dh] */
    float *k, *v;    /* [N, Hkv·dh] */
    float *att;      /* [B, Hq, T, T] scores, then pattern in place */
    float *z;        /* [N, Hq·dh] */
    float *result;   /* [N, Hq, d_model], only when hook_result is wanted */
    float *attn_out; /* [N, d_model] */
    float *pre;      /* [N, d_mlp] */
    float *pre_lin;  /* [N, d_mlp] gated MLPs only */
    float *mlp_out;  /* [N, d_model] */
    float *mlp_in;   /* [N, d_model] ln2's input as the MLP sees it, only when hook_mlp_in is wanted */
    float *logits;   /* [N, d_vocab], only when unembed.hook_out is wanted but no logits_out given */
} workspace;

static void workspace_free(workspace *w)
{
    float **p = (float **)w;
    for (size_t i = 0; i < sizeof *w / sizeof(float *); i++)
        free(p[i]);
}

static hs_status workspace_alloc(workspace *w, const hs_config *c, int B, int T, int want_result, int want_logits,
                                 int want_mlp_in, hs_error *err)
{
    memset(w, 0, sizeof *w);
    size_t N = (size_t)B * T, d = (size_t)c->d_model, hq = (size_t)c->n_heads * c->d_head,
           hkv = (size_t)c->n_kv_heads * c->d_head;
    struct { float **p; size_t n; int needed; } plan[] = {
        {&w->x, N * d, 1},          {&w->pos, N * d, c->learned_pos},
        {&w->xn, N * d, 1},         {&w->mean, N, 1},
        {&w->scale, N, 1},          {&w->q, N * hq, 1},
        {&w->k, N * hkv, 1},        {&w->v, N * hkv, 1},
        {&w->att, (size_t)B * c->n_heads * T * T, 1},
        {&w->z, N * hq, 1},         {&w->result, N * c->n_heads * d, want_result},
        {&w->attn_out, N * d, 1},   {&w->pre, N * c->d_mlp, 1},
        {&w->pre_lin, N * c->d_mlp, c->gated_mlp},
        {&w->mlp_out, N * d, 1},    {&w->logits, N * c->d_vocab, want_logits},
        {&w->mlp_in, N * d, want_mlp_in},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
        if (!plan[i].needed)
            continue;
        *plan[i].p = malloc(plan[i].n * sizeof(float));
        if (!*plan[i].p) {
            workspace_free(w);
            return hs_fail(err, HS_ERR_NOMEM, "forward: out of memory for a batch of %d x %d tokens", B, T);
        }
    }
    return HS_OK;
}

/* The state one pass threads through its steps. */
typedef struct pass {
    const hs_model *m;
    const hs_config *c;
    const hs_kernels *k;
    hs_hooks *hooks;
    hs_error *err;
    int B, T, N;
    workspace w;
} pass;

/* Fires hook `kind` of `layer` on data viewed with the given shape (batch first). */
static hs_status fire(pass *p, hs_hook_kind kind, int layer, float *data, int ndim, int64_t d1, int64_t d2,
                      int64_t d3)
{
    return hs_hooks_fire_view(p->hooks, kind, layer, data, ndim, p->B, d1, d2, d3, p->err);
}

#define FIRE(kind, layer, data, ndim, d1, d2, d3)                       \
    do {                                                                \
        hs_status rc_ = fire(p, (kind), (layer), (data), (ndim), (d1), (d2), (d3)); \
        if (rc_ != HS_OK)                                               \
            return rc_;                                                 \
    } while (0)

/* xn = norm(x) with gain w and bias b; fires the scale and normalized hooks of this norm.
 * hook_normalized is x̂ = (x - mean) / scale, before the gain and bias, as in TransformerLens's
 * default (fold_ln: LayerNormPre / RMSNormPre, the gain and bias folded into the next layer). The
 * gain and bias are applied to xn after the hook, so an intervention on x̂ reaches the next layer
 * as it would through TransformerLens's folded weights, and xn is bit for bit the fused norm. */
static hs_status apply_norm(pass *p, const float *x, const float *w, const float *b, hs_hook_kind scale_kind,
                            hs_hook_kind normalized_kind, int layer)
{
    const hs_config *c = p->c;
    if (c->norm == HS_NORM_LAYERNORM)
        hs_layernorm_stats(x, p->w.mean, p->w.scale, p->N, c->d_model, c->norm_eps);
    else
        hs_rmsnorm_stats(x, p->w.mean, p->w.scale, p->N, c->d_model, c->norm_eps);
    FIRE(scale_kind, layer, p->w.scale, 3, p->T, 1, 0);
    hs_norm_apply(p->w.xn, x, p->w.mean, p->w.scale, NULL, NULL, p->N, c->d_model);
    FIRE(normalized_kind, layer, p->w.xn, 3, p->T, c->d_model, 0);
    hs_norm_affine(p->w.xn, w, b, p->N, c->d_model);
    return HS_OK;
}

static hs_status embed(pass *p, const hs_batch *batch)
{
    const hs_config *c = p->c;
    size_t d = (size_t)c->d_model;
    for (int i = 0; i < p->N; i++)
        memcpy(p->w.x + i * d, p->m->W_E + (size_t)batch->ids[i] * d, d * sizeof(float));
    for (int e = 0; e < batch->n_embeds; e++) {
        int row = batch->embed_pos[2 * e] * p->T + batch->embed_pos[2 * e + 1];
        memcpy(p->w.x + (size_t)row * d, batch->embeds + (size_t)e * d, d * sizeof(float));
    }
    FIRE(HS_HOOK_EMBED, -1, p->w.x, 3, p->T, c->d_model, 0);
    if (c->learned_pos) {
        for (int b = 0; b < p->B; b++)
            memcpy(p->w.pos + (size_t)b * p->T * d, p->m->W_pos, (size_t)p->T * d * sizeof(float));
        FIRE(HS_HOOK_POS_EMBED, -1, p->w.pos, 3, p->T, c->d_model, 0);
        for (size_t i = 0; i < (size_t)p->N * d; i++)
            p->w.x[i] += p->w.pos[i];
    }
    return HS_OK;
}

/* The per-head inputs of one of q, k, v (hook_q_input, hook_k_input, hook_v_input; TransformerLens's
 * use_split_qkv_input), called only when someone wants `kind` at layer l. out [N, nh·dh] holds the
 * fused projection of ln1(x); x [N, d] is hook_resid_pre. Fires the copies [N, nh, d] (x once per
 * head), then recomputes the rows (n, h) whose copy was changed: ln1 of that copy alone (gain and
 * bias, past ln1's own hooks, as TransformerLens does) projected by head h's slice of W [nh·dh, d].
 * A row left bit for bit as it was keeps the fused value, so observing changes nothing, and a
 * change to head h's copy at position t reaches out only at (t, h). */
static hs_status split_input(pass *p, int l, hs_hook_kind kind, int nh, const float *W, const float *bias,
                             const float *x, float *out)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    int d = c->d_model, dh = c->d_head, N = p->N;
    size_t rowb = (size_t)d * sizeof(float);
    hs_status rc = HS_OK;
    float *copies = malloc((size_t)N * nh * rowb), *rows = malloc((size_t)N * rowb), *mean = malloc(N * sizeof(float)),
          *scale = malloc(N * sizeof(float)), *o = malloc((size_t)N * dh * sizeof(float));
    int *idx = malloc(N * sizeof(int));
    if (!copies || !rows || !mean || !scale || !o || !idx) {
        rc = hs_fail(p->err, HS_ERR_NOMEM, "forward: out of memory for %s", hs_hook_kind_name(kind));
        goto done;
    }
    for (int n = 0; n < N; n++)
        for (int h = 0; h < nh; h++)
            memcpy(copies + ((size_t)n * nh + h) * d, x + (size_t)n * d, rowb);
    if ((rc = fire(p, kind, l, copies, 4, p->T, nh, d)) != HS_OK)
        goto done;
    for (int h = 0; h < nh; h++) {
        int m = 0;
        for (int n = 0; n < N; n++) {
            const float *cp = copies + ((size_t)n * nh + h) * d;
            if (memcmp(cp, x + (size_t)n * d, rowb) != 0) {
                memcpy(rows + (size_t)m * d, cp, rowb);
                idx[m++] = n;
            }
        }
        if (m == 0)
            continue;
        if (c->norm == HS_NORM_LAYERNORM)
            hs_layernorm_stats(rows, mean, scale, m, d, c->norm_eps);
        else
            hs_rmsnorm_stats(rows, mean, scale, m, d, c->norm_eps);
        hs_norm_apply(rows, rows, mean, scale, NULL, NULL, m, d);
        hs_norm_affine(rows, lw->ln1_w, lw->ln1_b, m, d);
        p->k->linear(o, rows, W + (size_t)h * dh * d, bias ? bias + (size_t)h * dh : NULL, m, d, dh);
        for (int i = 0; i < m; i++)
            memcpy(out + ((size_t)idx[i] * nh + h) * dh, o + (size_t)i * dh, dh * sizeof(float));
    }
done:
    free(copies);
    free(rows);
    free(mean);
    free(scale);
    free(o);
    free(idx);
    return rc;
}

/* Attention sub-layer: reads xn (ln1 output) and x (its input, for the per-head inputs), writes attn_out. */
static hs_status attention(pass *p, int l)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    int H = c->n_heads, G = c->n_kv_heads, dh = c->d_head, d = c->d_model;
    workspace *w = &p->w;
    p->k->linear(w->q, w->xn, lw->W_Q, lw->b_Q, p->N, d, H * dh);
    p->k->linear(w->k, w->xn, lw->W_K, lw->b_K, p->N, d, G * dh);
    p->k->linear(w->v, w->xn, lw->W_V, lw->b_V, p->N, d, G * dh);
    const struct { hs_hook_kind kind; int nh; const float *W, *b; float *out; } split[] = {
        {HS_HOOK_Q_INPUT, H, lw->W_Q, lw->b_Q, w->q},
        {HS_HOOK_K_INPUT, G, lw->W_K, lw->b_K, w->k},
        {HS_HOOK_V_INPUT, G, lw->W_V, lw->b_V, w->v},
    };
    for (int i = 0; i < 3; i++) {
        hs_hook_point hp = {split[i].kind, l};
        if (!hs_hooks_wanted(p->hooks, &hp))
            continue;
        hs_status rc = split_input(p, l, split[i].kind, split[i].nh, split[i].W, split[i].b, w->x, split[i].out);
        if (rc != HS_OK)
            return rc;
    }
    FIRE(HS_HOOK_Q, l, w->q, 4, p->T, H, dh);
    FIRE(HS_HOOK_K, l, w->k, 4, p->T, G, dh);
    FIRE(HS_HOOK_V, l, w->v, 4, p->T, G, dh);
    if (c->rotary_dim > 0) {
        /* in place: hook_q observers have already copied what they keep */
        hs_rope(w->q, p->B, p->T, H, dh, c->rotary_dim, c->rope_theta);
        hs_rope(w->k, p->B, p->T, G, dh, c->rotary_dim, c->rope_theta);
        FIRE(HS_HOOK_ROT_Q, l, w->q, 4, p->T, H, dh);
        FIRE(HS_HOOK_ROT_K, l, w->k, 4, p->T, G, dh);
    }
    p->k->attn_scores(w->att, w->q, w->k, p->B, p->T, H, G, dh, 1.0f / sqrtf((float)dh));
    FIRE(HS_HOOK_ATTN_SCORES, l, w->att, 4, H, p->T, p->T);
    p->k->softmax_rows(w->att, w->att, (int64_t)p->B * H * p->T, p->T);
    FIRE(HS_HOOK_PATTERN, l, w->att, 4, H, p->T, p->T);
    p->k->attn_apply(w->z, w->att, w->v, p->B, p->T, H, G, dh);
    FIRE(HS_HOOK_Z, l, w->z, 4, p->T, H, dh);

    hs_hook_point result_hp = {HS_HOOK_RESULT, l};
    if (w->result && hs_hooks_wanted(p->hooks, &result_hp)) {
        /* result[n, h, :] = z[n, h, :] · W_O[:, h·dh : (h+1)·dh]ᵀ; attn_out = Σ_h result + b_O, so
         * interventions on a head's result reach the residual stream */
        float *Wo_h = malloc((size_t)d * dh * sizeof(float));
        float *zh = malloc((size_t)p->N * dh * sizeof(float));
        float *rh = malloc((size_t)p->N * d * sizeof(float));
        if (!Wo_h || !zh || !rh) {
            free(Wo_h);
            free(zh);
            free(rh);
            return hs_fail(p->err, HS_ERR_NOMEM, "forward: out of memory for hook_result");
        }
        for (int h = 0; h < H; h++) {
            for (int o = 0; o < d; o++)
                memcpy(Wo_h + (size_t)o * dh, lw->W_O + (size_t)o * H * dh + (size_t)h * dh, dh * sizeof(float));
            for (int n = 0; n < p->N; n++)
                memcpy(zh + (size_t)n * dh, w->z + ((size_t)n * H + h) * dh, dh * sizeof(float));
            p->k->linear(rh, zh, Wo_h, NULL, p->N, dh, d);
            for (int n = 0; n < p->N; n++)
                memcpy(w->result + ((size_t)n * H + h) * d, rh + (size_t)n * d, d * sizeof(float));
        }
        free(Wo_h);
        free(zh);
        free(rh);
        FIRE(HS_HOOK_RESULT, l, w->result, 4, p->T, H, d);
        for (int n = 0; n < p->N; n++) {
            float *out = w->attn_out + (size_t)n * d;
            for (int o = 0; o < d; o++)
                out[o] = lw->b_O ? lw->b_O[o] : 0.0f;
            for (int h = 0; h < H; h++) {
                const float *r = w->result + ((size_t)n * H + h) * d;
                for (int o = 0; o < d; o++)
                    out[o] += r[o];
            }
        }
    } else {
        p->k->linear(w->attn_out, w->z, lw->W_O, lw->b_O, p->N, H * dh, d);
    }
    FIRE(HS_HOOK_ATTN_OUT, l, w->attn_out, 3, p->T, d, 0);
    return HS_OK;
}

/* MLP sub-layer: reads xn (ln2 output), writes mlp_out. */
static hs_status mlp(pass *p, int l)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    workspace *w = &p->w;
    int d = c->d_model, f = c->d_mlp;
    int64_t nf = (int64_t)p->N * f;
    if (c->gated_mlp) {
        p->k->linear(w->pre, w->xn, lw->W_gate, NULL, p->N, d, f);
        FIRE(HS_HOOK_MLP_PRE, l, w->pre, 3, p->T, f, 0);
        p->k->linear(w->pre_lin, w->xn, lw->W_in, lw->b_in, p->N, d, f);
        FIRE(HS_HOOK_MLP_PRE_LINEAR, l, w->pre_lin, 3, p->T, f, 0);
    } else {
        p->k->linear(w->pre, w->xn, lw->W_in, lw->b_in, p->N, d, f);
        FIRE(HS_HOOK_MLP_PRE, l, w->pre, 3, p->T, f, 0);
    }
    switch (c->act) {
    case HS_ACT_GELU_TANH: p->k->gelu_tanh(w->pre, nf); break;
    case HS_ACT_GELU_ERF: hs_gelu_erf(w->pre, nf); break;
    case HS_ACT_SILU: hs_silu(w->pre, nf); break;
    case HS_ACT_RELU: hs_relu(w->pre, nf); break;
    }
    if (c->gated_mlp)
        for (int64_t i = 0; i < nf; i++)
            w->pre[i] *= w->pre_lin[i];
    FIRE(HS_HOOK_MLP_POST, l, w->pre, 3, p->T, f, 0);
    p->k->linear(w->mlp_out, w->pre, lw->W_out, lw->b_out, p->N, f, d);
    FIRE(HS_HOOK_MLP_OUT, l, w->mlp_out, 3, p->T, d, 0);
    return HS_OK;
}

/* ln2 for the MLP of layer l, from its input x [N, d] (resid_mid, or resid_pre in a parallel block). When
 * hook_mlp_in is wanted, ln2 reads a copy of x that the hook fired on, so an intervention there reaches
 * the MLP and nothing else. */
static hs_status mlp_norm(pass *p, int l, const float *x)
{
    const hs_layer_weights *lw = &p->m->layers[l];
    hs_hook_point hp = {HS_HOOK_MLP_IN, l};
    if (p->w.mlp_in && hs_hooks_wanted(p->hooks, &hp)) {
        memcpy(p->w.mlp_in, x, (size_t)p->N * p->c->d_model * sizeof(float));
        FIRE(HS_HOOK_MLP_IN, l, p->w.mlp_in, 3, p->T, p->c->d_model, 0);
        x = p->w.mlp_in;
    }
    return apply_norm(p, x, lw->ln2_w, lw->ln2_b, HS_HOOK_LN2_SCALE, HS_HOOK_LN2_NORMALIZED, l);
}

static hs_status block(pass *p, int l)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    workspace *w = &p->w;
    size_t nd = (size_t)p->N * c->d_model;
    hs_status rc;
    FIRE(HS_HOOK_RESID_PRE, l, w->x, 3, p->T, c->d_model, 0);
    if ((rc = apply_norm(p, w->x, lw->ln1_w, lw->ln1_b, HS_HOOK_LN1_SCALE, HS_HOOK_LN1_NORMALIZED, l)) != HS_OK)
        return rc;
    if ((rc = attention(p, l)) != HS_OK)
        return rc;
    if (c->parallel_residual) {
        /* x + attn(ln1(x)) + mlp(ln2(x)): both sub-layers read the block's input */
        if ((rc = mlp_norm(p, l, w->x)) != HS_OK)
            return rc;
        if ((rc = mlp(p, l)) != HS_OK)
            return rc;
        for (size_t i = 0; i < nd; i++)
            w->x[i] += w->attn_out[i] + w->mlp_out[i];
    } else {
        for (size_t i = 0; i < nd; i++)
            w->x[i] += w->attn_out[i];
        FIRE(HS_HOOK_RESID_MID, l, w->x, 3, p->T, c->d_model, 0);
        if ((rc = mlp_norm(p, l, w->x)) != HS_OK)
            return rc;
        if ((rc = mlp(p, l)) != HS_OK)
            return rc;
        for (size_t i = 0; i < nd; i++)
            w->x[i] += w->mlp_out[i];
    }
    FIRE(HS_HOOK_RESID_POST, l, w->x, 3, p->T, c->d_model, 0);
    return HS_OK;
}

static hs_status check_batch(const hs_config *c, const hs_batch *batch, hs_error *err)
{
    if (!batch || !batch->ids || batch->n_batch < 1 || batch->n_pos < 1)
        return hs_fail(err, HS_ERR_ARG, "forward: empty batch");
    if (batch->n_pos > c->n_ctx)
        return hs_fail(err, HS_ERR_RANGE, "forward: sequence of %d tokens is longer than the model's context (%d)",
                       batch->n_pos, c->n_ctx);
    if ((int64_t)batch->n_batch * batch->n_pos > (1 << 24))
        return hs_fail(err, HS_ERR_RANGE, "forward: batch of %d x %d tokens is too large", batch->n_batch,
                       batch->n_pos);
    for (int b = 0; b < batch->n_batch; b++)
        for (int t = 0; t < batch->n_pos; t++) {
            int32_t id = batch->ids[b * batch->n_pos + t];
            if (id < 0 || id >= c->d_vocab)
                return hs_fail(err, HS_ERR_RANGE, "forward: token id %d at batch %d, position %d is outside the vocabulary (0..%d)",
                               id, b, t, c->d_vocab - 1);
        }
    if (batch->n_embeds < 0 || (batch->n_embeds > 0 && (!batch->embed_pos || !batch->embeds)))
        return hs_fail(err, HS_ERR_ARG, "forward: n_embeds %d without embed_pos/embeds", batch->n_embeds);
    for (int e = 0; e < batch->n_embeds; e++) {
        int b = batch->embed_pos[2 * e], t = batch->embed_pos[2 * e + 1];
        if (b < 0 || b >= batch->n_batch || t < 0 || t >= batch->n_pos)
            return hs_fail(err, HS_ERR_RANGE, "forward: input embedding %d targets batch %d, position %d, outside the %d x %d batch",
                           e, b, t, batch->n_batch, batch->n_pos);
    }
    return HS_OK;
}

hs_status hs_forward(const hs_model *m, const hs_batch *batch, hs_hooks *hooks, hs_backend_id backend,
                     float *logits_out, hs_error *err)
{
    if (!m)
        return hs_fail(err, HS_ERR_ARG, "forward: no model");
    const hs_config *c = &m->cfg;
    hs_status rc = check_batch(c, batch, err);
    if (rc != HS_OK)
        return rc;
    if ((rc = hs_hooks_bind(hooks, c->n_layers, err)) != HS_OK)
        return rc;
    pass ps = {.m = m, .c = c, .hooks = hooks, .err = err, .B = batch->n_batch, .T = batch->n_pos};
    pass *p = &ps;
    p->N = p->B * p->T;
    p->k = backend == HS_BACKEND_REFERENCE ? &hs_kernels_ref : &hs_kernels_cpu;
    int want_result = 0, want_mlp_in = 0;
    for (int l = 0; l < c->n_layers; l++) {
        hs_hook_point hp = {HS_HOOK_RESULT, l}, mp = {HS_HOOK_MLP_IN, l};
        want_result |= hs_hooks_wanted(hooks, &hp);
        want_mlp_in |= hs_hooks_wanted(hooks, &mp);
    }
    /* The unembedding is a fifth of a GPT-2-small pass: skipped when nobody wants logits, and
     * written straight into the caller's array when there is one. */
    hs_hook_point logits_hp = {HS_HOOK_LOGITS, -1};
    int want_logits_hook = hs_hooks_wanted(hooks, &logits_hp);
    if ((rc = workspace_alloc(&p->w, c, p->B, p->T, want_result, want_logits_hook && !logits_out, want_mlp_in,
                              err)) != HS_OK)
        return rc;
    if ((rc = embed(p, batch)) != HS_OK)
        goto done;
    for (int l = 0; l < c->n_layers; l++)
        if ((rc = block(p, l)) != HS_OK)
            goto done;
    if ((rc = apply_norm(p, p->w.x, m->ln_f_w, m->ln_f_b, HS_HOOK_LN_FINAL_SCALE, HS_HOOK_LN_FINAL_NORMALIZED, -1)) !=
        HS_OK)
        goto done;
    if (logits_out || want_logits_hook) {
        float *logits = logits_out ? logits_out : p->w.logits;
        p->k->linear(logits, p->w.xn, m->W_U, m->b_U, p->N, c->d_model, c->d_vocab);
        if ((rc = fire(p, HS_HOOK_LOGITS, -1, logits, 3, p->T, c->d_vocab, 0)) != HS_OK)
            goto done;
    }
done:
    workspace_free(&p->w);
    return rc;
}
