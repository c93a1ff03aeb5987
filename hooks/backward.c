/* backward.c — the backward pass of the inference model (every architecture hs_forward runs): a
 * forward that keeps a tape, then dL/d(activation) from a caller's dL/dlogits back to hook_embed,
 * handed to gradient observers by hook name. Weights are frozen: no weight gradients.
 *
 * The tape is filled by a tap on the caller's hook set (hooks/hooks.h), so the forward is
 * hs_forward itself, not a copy of it: the tape holds exactly the values the pass used, after the
 * caller's interventions. Rows are tokens (N = B·T) as in hooks/forward.c. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <math.h>

#include "backend/kernels.h"
#include "base/error.h"
#include "hooks/hooks.h"
#include "model/model.h"
#include "train/ops_backward.h"

/* What one layer's backward reads; each pointer is one malloc. */
typedef struct tape_layer {
    float *ln1_scale, *ln1_xhat; /* [N], [N, d] */
    float *q, *k, *v;            /* [N, H·dh], [N, G·dh], [N, G·dh]: q and k after rotary */
    float *pattern;              /* [B, H, T, T] */
    float *ln2_scale, *ln2_xhat; /* [N], [N, d] */
    float *pre, *pre_lin;        /* [N, d_mlp]: MLP (gate) pre-activation; up projection when gated */
    float *qkv_in[3];            /* [N, H, d], [N, G, d], [N, G, d]: hook_q/k/v_input's copies as the
                                  * pass used them, only when the caller's forward asked for them */
    float *resid_pre;            /* [N, d]: what they were copied from, kept with them */
} tape_layer;

struct hs_tape {
    const hs_model *m;
    int B, T, N;
    tape_layer *layers;          /* [n_layers] */
    float *lnf_scale, *lnf_xhat; /* [N], [N, d] */
};

void hs_tape_free(hs_tape *tp)
{
    if (!tp)
        return;
    for (int l = 0; tp->layers && l < tp->m->cfg.n_layers; l++) {
        float **p = (float **)&tp->layers[l];
        for (size_t i = 0; i < sizeof(tape_layer) / sizeof(float *); i++)
            free(p[i]);
    }
    free(tp->layers);
    free(tp->lnf_scale);
    free(tp->lnf_xhat);
    free(tp);
}

static hs_status tape_alloc(hs_tape *tp, hs_error *err)
{
    const hs_config *c = &tp->m->cfg;
    size_t N = (size_t)tp->N, d = (size_t)c->d_model, hq = (size_t)c->n_heads * c->d_head,
           hkv = (size_t)c->n_kv_heads * c->d_head, f = (size_t)c->d_mlp;
    tp->layers = calloc((size_t)c->n_layers, sizeof *tp->layers);
    tp->lnf_scale = malloc(N * sizeof(float));
    tp->lnf_xhat = malloc(N * d * sizeof(float));
    int ok = tp->layers && tp->lnf_scale && tp->lnf_xhat;
    for (int l = 0; ok && l < c->n_layers; l++) {
        tape_layer *t = &tp->layers[l];
        struct { float **p; size_t n; int needed; } plan[] = {
            {&t->ln1_scale, N, 1}, {&t->ln1_xhat, N * d, 1}, {&t->q, N * hq, 1}, {&t->k, N * hkv, 1},
            {&t->v, N * hkv, 1}, {&t->pattern, (size_t)tp->B * c->n_heads * tp->T * tp->T, 1},
            {&t->ln2_scale, N, 1}, {&t->ln2_xhat, N * d, 1}, {&t->pre, N * f, 1}, {&t->pre_lin, N * f, c->gated_mlp},
        };
        for (size_t i = 0; ok && i < sizeof plan / sizeof plan[0]; i++)
            if (plan[i].needed)
                ok = (*plan[i].p = malloc(plan[i].n * sizeof(float))) != NULL;
    }
    return ok ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "backward: out of memory for the tape of %d x %d tokens", tp->B,
                                tp->T);
}

#define BIT(kind) ((uint64_t)1 << (kind))
/* The hook kinds the tape keeps. Q/K are kept too: rotary models overwrite them with ROT_Q/ROT_K,
 * which fire later in the same layer, so the slot holds what the scores read either way. */
static const uint64_t tape_kinds = BIT(HS_HOOK_LN1_SCALE) | BIT(HS_HOOK_LN1_NORMALIZED) | BIT(HS_HOOK_Q) |
                                   BIT(HS_HOOK_K) | BIT(HS_HOOK_V) | BIT(HS_HOOK_ROT_Q) | BIT(HS_HOOK_ROT_K) |
                                   BIT(HS_HOOK_PATTERN) | BIT(HS_HOOK_LN2_SCALE) | BIT(HS_HOOK_LN2_NORMALIZED) |
                                   BIT(HS_HOOK_MLP_PRE) | BIT(HS_HOOK_MLP_PRE_LINEAR) |
                                   BIT(HS_HOOK_LN_FINAL_SCALE) | BIT(HS_HOOK_LN_FINAL_NORMALIZED);

/* The per-head input kinds, kept only when the caller's forward hook set wants them (so a tape costs
 * nothing more for them otherwise); their copies are allocated when first fired. */
static const hs_hook_kind input_kinds[3] = {HS_HOOK_Q_INPUT, HS_HOOK_K_INPUT, HS_HOOK_V_INPUT};

static hs_status tape_tap(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    hs_tape *tp = user;
    tape_layer *L = hp->layer >= 0 ? &tp->layers[hp->layer] : NULL;
    float *dst = NULL, **lazy = NULL;
    for (int i = 0; i < 3; i++)
        if (L && hp->kind == input_kinds[i])
            lazy = &L->qkv_in[i];
    if (L && hp->kind == HS_HOOK_RESID_PRE)
        lazy = &L->resid_pre;
    if (lazy) {
        if (!*lazy && !(*lazy = malloc((size_t)hs_tensor_numel(t) * sizeof(float))))
            return HS_ERR_NOMEM;
        memcpy(*lazy, t->data, (size_t)hs_tensor_numel(t) * sizeof(float));
        return HS_OK;
    }
    switch (hp->kind) {
    case HS_HOOK_LN1_SCALE: dst = L->ln1_scale; break;
    case HS_HOOK_LN1_NORMALIZED: dst = L->ln1_xhat; break;
    case HS_HOOK_Q: case HS_HOOK_ROT_Q: dst = L->q; break;
    case HS_HOOK_K: case HS_HOOK_ROT_K: dst = L->k; break;
    case HS_HOOK_V: dst = L->v; break;
    case HS_HOOK_PATTERN: dst = L->pattern; break;
    case HS_HOOK_LN2_SCALE: dst = L->ln2_scale; break;
    case HS_HOOK_LN2_NORMALIZED: dst = L->ln2_xhat; break;
    case HS_HOOK_MLP_PRE: dst = L->pre; break;
    case HS_HOOK_MLP_PRE_LINEAR: dst = L->pre_lin; break;
    case HS_HOOK_LN_FINAL_SCALE: dst = tp->lnf_scale; break;
    case HS_HOOK_LN_FINAL_NORMALIZED: dst = tp->lnf_xhat; break;
    default: return HS_ERR_INTERNAL;
    }
    if (!dst)
        return HS_ERR_INTERNAL;
    memcpy(dst, t->data, (size_t)hs_tensor_numel(t) * sizeof(float));
    return HS_OK;
}

hs_status hs_forward_tape(const hs_model *m, const hs_batch *batch, hs_hooks *hooks, hs_backend_id backend,
                          float *logits_out, hs_tape **out, hs_error *err)
{
    if (!out)
        return hs_fail(err, HS_ERR_ARG, "forward_tape: no tape pointer");
    *out = NULL;
    if (!m || !batch || batch->n_batch < 1 || batch->n_pos < 1)
        return hs_fail(err, HS_ERR_ARG, "forward_tape: no model or an empty batch");
    if ((int64_t)batch->n_batch * batch->n_pos > (1 << 24))
        return hs_fail(err, HS_ERR_RANGE, "forward_tape: batch of %d x %d tokens is too large", batch->n_batch,
                       batch->n_pos);
    hs_tape *tp = calloc(1, sizeof *tp);
    if (!tp)
        return hs_fail(err, HS_ERR_NOMEM, "forward_tape: out of memory");
    tp->m = m;
    tp->B = batch->n_batch;
    tp->T = batch->n_pos;
    tp->N = tp->B * tp->T;
    hs_hooks *own = NULL;
    hs_status rc = tape_alloc(tp, err);
    if (rc == HS_OK && !hooks)
        rc = hs_hooks_new(&own, err);
    if (rc == HS_OK) {
        hs_hooks *h = hooks ? hooks : own;
        uint64_t kinds = tape_kinds;
        if ((rc = hs_hooks_bind(h, m->cfg.n_layers, err)) == HS_OK)
            for (int i = 0; i < 3; i++)
                for (int l = 0; l < m->cfg.n_layers; l++) {
                    hs_hook_point hp = {input_kinds[i], l};
                    if (hs_hooks_wanted(h, &hp))
                        kinds |= BIT(input_kinds[i]) | BIT(HS_HOOK_RESID_PRE);
                }
        hs_hooks_set_tap(h, kinds, tape_tap, tp);
        if (rc == HS_OK)
            rc = hs_forward(m, batch, h, backend, logits_out, err);
        hs_hooks_set_tap(h, 0, NULL, NULL); /* the caller's set is left as it was given */
    }
    hs_hooks_free(own);
    if (rc != HS_OK) {
        hs_tape_free(tp);
        return rc;
    }
    *out = tp;
    return HS_OK;
}

/* ---------------------------------------------------------------- the backward pass */

/* Gradient buffers of one backward; each one malloc, freed by grads_free. */
typedef struct gradspace {
    float *dx;      /* [N, d] dL/d(residual stream) */
    float *dbranch; /* [N, d] dL/d(attn_out or mlp_out) */
    float *dbranch2;/* [N, d] parallel residual: dL/d(mlp_out) while dbranch holds attn_out's */
    float *dxn;     /* [N, d] dL/d(norm output), then dL/d(x̂) */
    float *dxn2;    /* [N, d] parallel residual: the second norm's */
    float *dscale;  /* [N] */
    float *dz;      /* [N, H·dh] */
    float *dq;      /* [N, H·dh] */
    float *dk, *dv; /* [N, G·dh] */
    float *datt;    /* [B, H, T, T] */
    float *dpost;   /* [N, d_mlp] */
    float *dpre, *dpre_lin; /* [N, d_mlp] */
    float *act;     /* [N, d_mlp] gated: act(gate) */
    float *dresult; /* [N, H, d], only when hook_result's gradient is wanted */
    float *dlogits; /* [N, V], only when unembed.hook_out's gradient is wanted (a copy it may change) */
} gradspace;

static void grads_free(gradspace *g)
{
    float **p = (float **)g;
    for (size_t i = 0; i < sizeof *g / sizeof(float *); i++)
        free(p[i]);
}

typedef struct bpass {
    const hs_tape *tp;
    const hs_model *m;
    const hs_config *c;
    hs_hooks *hooks;
    hs_error *err;
    int B, T, N;
    gradspace g;
} bpass;

static hs_status gfire(bpass *p, hs_hook_kind kind, int layer, float *data, int ndim, int64_t d1, int64_t d2,
                       int64_t d3)
{
    return hs_hooks_fire_view(p->hooks, kind, layer, data, ndim, p->B, d1, d2, d3, p->err);
}

#define GFIRE(kind, layer, data, ndim, d1, d2, d3)                                      \
    do {                                                                                \
        hs_status rc_ = gfire(p, (kind), (layer), (data), (ndim), (d1), (d2), (d3));    \
        if (rc_ != HS_OK)                                                               \
            return rc_;                                                                 \
    } while (0)

/* dx [N, d] (g.dx when NULL) += the gradient at a norm's input, from dxn [N, d] = dL/d(norm output)
 * (overwritten with dL/dx̂ = dxn ⊙ w, which hook_normalized's observers see), through x̂ and the scale. */
static hs_status norm_backward_to(bpass *p, float *dx, float *dxn, const float *w, const float *xhat,
                                  const float *scale, hs_hook_kind scale_kind, hs_hook_kind normalized_kind, int layer)
{
    int d = p->c->d_model;
    for (int i = 0; i < p->N; i++)
        for (int k = 0; k < d; k++)
            dxn[(size_t)i * d + k] *= w[k];
    GFIRE(normalized_kind, layer, dxn, 3, p->T, d, 0);
    hs_bw_norm_scale(p->g.dscale, dxn, xhat, scale, p->N, d);
    GFIRE(scale_kind, layer, p->g.dscale, 3, p->T, 1, 0);
    hs_bw_norm_input(dx ? dx : p->g.dx, dxn, xhat, scale, p->g.dscale, p->N, d, p->c->norm == HS_NORM_LAYERNORM);
    return HS_OK;
}

static hs_status norm_backward(bpass *p, float *dxn, const float *w, const float *xhat, const float *scale,
                               hs_hook_kind scale_kind, hs_hook_kind normalized_kind, int layer)
{
    return norm_backward_to(p, NULL, dxn, w, xhat, scale, scale_kind, normalized_kind, layer);
}

/* ln2's backward from dxn [N, d] into g.dx; when hook_mlp_in's gradient is wanted, the gradient at ln2's
 * input is gathered on its own, fired there (an intervention acts on the MLP's path only), then added. */
static hs_status mlp_norm_backward(bpass *p, int l, float *dxn)
{
    const hs_layer_weights *lw = &p->m->layers[l];
    const tape_layer *tl = &p->tp->layers[l];
    hs_hook_point hp = {HS_HOOK_MLP_IN, l};
    if (!hs_hooks_wanted(p->hooks, &hp))
        return norm_backward(p, dxn, lw->ln2_w, tl->ln2_xhat, tl->ln2_scale, HS_HOOK_LN2_SCALE,
                             HS_HOOK_LN2_NORMALIZED, l);
    size_t nd = (size_t)p->N * p->c->d_model;
    float *din = calloc(nd, sizeof(float));
    if (!din)
        return hs_fail(p->err, HS_ERR_NOMEM, "backward: out of memory for hook_mlp_in");
    hs_status rc = norm_backward_to(p, din, dxn, lw->ln2_w, tl->ln2_xhat, tl->ln2_scale, HS_HOOK_LN2_SCALE,
                                    HS_HOOK_LN2_NORMALIZED, l);
    if (rc == HS_OK)
        rc = gfire(p, HS_HOOK_MLP_IN, l, din, 3, p->T, p->c->d_model, 0);
    for (size_t i = 0; rc == HS_OK && i < nd; i++)
        p->g.dx[i] += din[i];
    free(din);
    return rc;
}

/* The per-head inputs' backward (hooks/forward.c, split_input): from dy [N, nh·dh] = dL/d(q, k or v)
 * to dcopy [N, nh, d] = dL/d(head h's copy of resid_pre), through head h's slice of W [nh·dh, d] and
 * ln1 of that copy alone; fires `kind` on dcopy. copies [N, nh, d] are the forward's when it changed
 * them (x̂ and scale come from them), else NULL (each copy was resid_pre, whose x̂ and scale are ln1's).
 * The gradient flows on through the copies (g.dx += Σ_h dcopy, *flowed = 1) when the forward changed
 * them or an intervention changed dcopy; otherwise dcopy was only observed and the caller takes the
 * fused path through ln1, so observing leaves every other gradient bit for bit. */
static hs_status split_input_backward(bpass *p, int l, hs_hook_kind kind, int nh, const float *W, const float *dy,
                                      const float *copies, int *flowed)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    const tape_layer *tl = &p->tp->layers[l];
    int d = c->d_model, dh = c->d_head, N = p->N, hd = nh * dh;
    size_t nd = (size_t)N * d;
    hs_status rc = HS_OK;
    float *dcopy = malloc(nd * nh * sizeof(float)), *kept = malloc(nd * nh * sizeof(float)),
          *dxh = malloc(nd * sizeof(float)),
          *din = malloc(nd * sizeof(float)), *xh = malloc(nd * sizeof(float)), *mean = malloc(N * sizeof(float)),
          *scale = malloc(N * sizeof(float)), *dscale = malloc(N * sizeof(float));
    *flowed = copies != NULL;
    if (!dcopy || !kept || !dxh || !din || !xh || !mean || !scale || !dscale) {
        rc = hs_fail(p->err, HS_ERR_NOMEM, "backward: out of memory for %s", hs_hook_kind_name(kind));
        goto done;
    }
    for (int h = 0; h < nh; h++) {
        const float *xhat = tl->ln1_xhat, *sc = tl->ln1_scale;
        if (copies) {
            for (int n = 0; n < N; n++)
                memcpy(xh + (size_t)n * d, copies + ((size_t)n * nh + h) * d, (size_t)d * sizeof(float));
            if (c->norm == HS_NORM_LAYERNORM)
                hs_layernorm_stats(xh, mean, scale, N, d, c->norm_eps);
            else
                hs_rmsnorm_stats(xh, mean, scale, N, d, c->norm_eps);
            hs_norm_apply(xh, xh, mean, scale, NULL, NULL, N, d);
            xhat = xh;
            sc = scale;
        }
        /* dxh [N, d] = dy[:, h·dh : (h+1)·dh] [N, dh] · W[h·dh : (h+1)·dh, :] [dh, d], then · ln1's gain */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, d, dh, 1.0f, dy + (size_t)h * dh, hd,
                    W + (size_t)h * dh * d, d, 0.0f, dxh, d);
        for (int n = 0; n < N; n++)
            for (int k = 0; k < d; k++)
                dxh[(size_t)n * d + k] *= lw->ln1_w[k];
        hs_bw_norm_scale(dscale, dxh, xhat, sc, N, d);
        memset(din, 0, nd * sizeof(float));
        hs_bw_norm_input(din, dxh, xhat, sc, dscale, N, d, c->norm == HS_NORM_LAYERNORM);
        for (int n = 0; n < N; n++)
            memcpy(dcopy + ((size_t)n * nh + h) * d, din + (size_t)n * d, (size_t)d * sizeof(float));
    }
    memcpy(kept, dcopy, nd * nh * sizeof(float));
    if ((rc = gfire(p, kind, l, dcopy, 4, p->T, nh, d)) != HS_OK)
        goto done;
    if (!*flowed && !(*flowed = memcmp(kept, dcopy, nd * nh * sizeof(float)) != 0))
        goto done;
    for (int n = 0; n < N; n++)
        for (int h = 0; h < nh; h++)
            for (int k = 0; k < d; k++)
                p->g.dx[(size_t)n * d + k] += dcopy[((size_t)n * nh + h) * d + k];
done:
    free(dcopy);
    free(kept);
    free(dxh);
    free(din);
    free(xh);
    free(mean);
    free(scale);
    free(dscale);
    return rc;
}

/* From dattn [N, d] = dL/d(attn_out) to dxn [N, d] = dL/d(ln1 output) (what reaches q, k, v through the
 * shared ln1; a path whose per-head input is wanted goes through its copies to g.dx instead). */
static hs_status attention_backward(bpass *p, int l, float *dattn, float *dxn)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    const tape_layer *tl = &p->tp->layers[l];
    gradspace *g = &p->g;
    int H = c->n_heads, G = c->n_kv_heads, dh = c->d_head, d = c->d_model, N = p->N;
    GFIRE(HS_HOOK_ATTN_OUT, l, dattn, 3, p->T, d, 0);
    hs_hook_point result_hp = {HS_HOOK_RESULT, l};
    if (g->dresult && hs_hooks_wanted(p->hooks, &result_hp)) {
        /* attn_out = Σ_h result_h + b_O: every head's result gets dattn; then dz_h = dresult_h · W_O^h,
         * so an intervention on one head's gradient reaches that head only */
        for (int n = 0; n < N; n++)
            for (int h = 0; h < H; h++)
                memcpy(g->dresult + ((size_t)n * H + h) * d, dattn + (size_t)n * d, (size_t)d * sizeof(float));
        GFIRE(HS_HOOK_RESULT, l, g->dresult, 4, p->T, H, d);
        for (int h = 0; h < H; h++) /* dz_h [N, dh] = dresult_h [N, d] · W_O[:, h·dh : (h+1)·dh] [d, dh] */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, dh, d, 1.0f, g->dresult + (size_t)h * d, H * d,
                        lw->W_O + (size_t)h * dh, H * dh, 0.0f, g->dz + (size_t)h * dh, H * dh);
    } else {
        hs_bw_linear(g->dz, NULL, NULL, dattn, NULL, lw->W_O, N, H * dh, d, 0);
    }
    GFIRE(HS_HOOK_Z, l, g->dz, 4, p->T, H, dh);
    hs_bw_attn_apply_gqa(g->datt, g->dv, g->dz, tl->pattern, tl->v, p->B, p->T, H, G, dh);
    GFIRE(HS_HOOK_PATTERN, l, g->datt, 4, H, p->T, p->T);
    hs_bw_softmax_rows(g->datt, g->datt, tl->pattern, (int64_t)p->B * H * p->T, p->T, 1);
    GFIRE(HS_HOOK_ATTN_SCORES, l, g->datt, 4, H, p->T, p->T);
    hs_bw_attn_scores_gqa(g->dq, g->dk, g->datt, tl->q, tl->k, p->B, p->T, H, G, dh, 1.0f / sqrtf((float)dh));
    if (c->rotary_dim > 0) {
        GFIRE(HS_HOOK_ROT_Q, l, g->dq, 4, p->T, H, dh);
        GFIRE(HS_HOOK_ROT_K, l, g->dk, 4, p->T, G, dh);
        hs_bw_rope(g->dq, p->B, p->T, H, dh, c->rotary_dim, c->rope_theta);
        hs_bw_rope(g->dk, p->B, p->T, G, dh, c->rotary_dim, c->rope_theta);
    }
    GFIRE(HS_HOOK_Q, l, g->dq, 4, p->T, H, dh);
    GFIRE(HS_HOOK_K, l, g->dk, 4, p->T, G, dh);
    GFIRE(HS_HOOK_V, l, g->dv, 4, p->T, G, dh);
    const struct { hs_hook_kind kind; int nh; const float *W, *dy; } path[3] = {
        {HS_HOOK_Q_INPUT, H, lw->W_Q, g->dq},
        {HS_HOOK_K_INPUT, G, lw->W_K, g->dk},
        {HS_HOOK_V_INPUT, G, lw->W_V, g->dv},
    };
    int acc = 0;
    for (int i = 0; i < 3; i++) {
        hs_hook_point hp = {path[i].kind, l};
        /* did the forward change any copy? (kept only when its caller asked for them) */
        int changed = 0;
        const float *cp = tl->qkv_in[i];
        for (int n = 0; cp && tl->resid_pre && !changed && n < N; n++)
            for (int h = 0; h < path[i].nh && !changed; h++)
                changed = memcmp(cp + ((size_t)n * path[i].nh + h) * d, tl->resid_pre + (size_t)n * d,
                                 (size_t)d * sizeof(float)) != 0;
        if (changed || hs_hooks_wanted(p->hooks, &hp)) {
            int flowed = 0;
            hs_status rc = split_input_backward(p, l, path[i].kind, path[i].nh, path[i].W, path[i].dy,
                                                changed ? cp : NULL, &flowed);
            if (rc != HS_OK)
                return rc;
            if (flowed)
                continue;
        }
        hs_bw_linear(dxn, NULL, NULL, path[i].dy, NULL, path[i].W, N, d, path[i].nh * dh, acc);
        acc = 1;
    }
    if (!acc) /* every path flowed through its own copies: nothing reaches resid_pre through ln1 */
        memset(dxn, 0, (size_t)N * d * sizeof(float));
    return HS_OK;
}

static void act_backward(hs_act_kind act, float *dx, const float *dy, const float *x, int64_t n)
{
    switch (act) {
    case HS_ACT_GELU_TANH: hs_bw_gelu_tanh(dx, dy, x, n); break;
    case HS_ACT_GELU_ERF: hs_bw_gelu_erf(dx, dy, x, n); break;
    case HS_ACT_SILU: hs_bw_silu(dx, dy, x, n); break;
    case HS_ACT_RELU: hs_bw_relu(dx, dy, x, n); break;
    }
}

/* From dmlp [N, d] = dL/d(mlp_out) to dxn [N, d] = dL/d(ln2 output). */
static hs_status mlp_backward(bpass *p, int l, float *dmlp, float *dxn)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    const tape_layer *tl = &p->tp->layers[l];
    gradspace *g = &p->g;
    int d = c->d_model, f = c->d_mlp, N = p->N;
    int64_t nf = (int64_t)N * f;
    GFIRE(HS_HOOK_MLP_OUT, l, dmlp, 3, p->T, d, 0);
    hs_bw_linear(g->dpost, NULL, NULL, dmlp, NULL, lw->W_out, N, f, d, 0);
    GFIRE(HS_HOOK_MLP_POST, l, g->dpost, 3, p->T, f, 0);
    if (c->gated_mlp) {
        /* post = act(gate) ⊙ up: d up = dpost ⊙ act(gate), d act = dpost ⊙ up */
        memcpy(g->act, tl->pre, (size_t)nf * sizeof(float));
        switch (c->act) {
        case HS_ACT_GELU_TANH: hs_gelu_tanh(g->act, nf); break;
        case HS_ACT_GELU_ERF: hs_gelu_erf(g->act, nf); break;
        case HS_ACT_SILU: hs_silu(g->act, nf); break;
        case HS_ACT_RELU: hs_relu(g->act, nf); break;
        }
        for (int64_t i = 0; i < nf; i++) {
            g->dpre_lin[i] = g->dpost[i] * g->act[i];
            g->dpre[i] = g->dpost[i] * tl->pre_lin[i];
        }
        GFIRE(HS_HOOK_MLP_PRE_LINEAR, l, g->dpre_lin, 3, p->T, f, 0);
        act_backward(c->act, g->dpre, g->dpre, tl->pre, nf);
        GFIRE(HS_HOOK_MLP_PRE, l, g->dpre, 3, p->T, f, 0);
        hs_bw_linear(dxn, NULL, NULL, g->dpre, NULL, lw->W_gate, N, d, f, 0);
        hs_bw_linear(dxn, NULL, NULL, g->dpre_lin, NULL, lw->W_in, N, d, f, 1);
    } else {
        act_backward(c->act, g->dpre, g->dpost, tl->pre, nf);
        GFIRE(HS_HOOK_MLP_PRE, l, g->dpre, 3, p->T, f, 0);
        hs_bw_linear(dxn, NULL, NULL, g->dpre, NULL, lw->W_in, N, d, f, 0);
    }
    return HS_OK;
}

/* g.dx holds dL/d(resid_post) of layer l; leaves dL/d(resid_pre) there. */
static hs_status block_backward(bpass *p, int l)
{
    const hs_config *c = p->c;
    const hs_layer_weights *lw = &p->m->layers[l];
    const tape_layer *tl = &p->tp->layers[l];
    gradspace *g = &p->g;
    size_t nd = (size_t)p->N * c->d_model;
    hs_status rc;
    GFIRE(HS_HOOK_RESID_POST, l, g->dx, 3, p->T, c->d_model, 0);
    /* the branches get copies: an intervention on a branch's gradient leaves the residual path */
    memcpy(g->dbranch, g->dx, nd * sizeof(float));
    if (c->parallel_residual) {
        /* x + attn(ln1(x)) + mlp(ln2(x)): both branches start from dL/d(resid_post) */
        memcpy(g->dbranch2, g->dx, nd * sizeof(float));
        if ((rc = mlp_backward(p, l, g->dbranch2, g->dxn2)) != HS_OK ||
            (rc = attention_backward(p, l, g->dbranch, g->dxn)) != HS_OK ||
            (rc = mlp_norm_backward(p, l, g->dxn2)) != HS_OK ||
            (rc = norm_backward(p, g->dxn, lw->ln1_w, tl->ln1_xhat, tl->ln1_scale, HS_HOOK_LN1_SCALE,
                                HS_HOOK_LN1_NORMALIZED, l)) != HS_OK)
            return rc;
    } else {
        if ((rc = mlp_backward(p, l, g->dbranch, g->dxn)) != HS_OK ||
            (rc = mlp_norm_backward(p, l, g->dxn)) != HS_OK)
            return rc;
        GFIRE(HS_HOOK_RESID_MID, l, g->dx, 3, p->T, c->d_model, 0);
        memcpy(g->dbranch, g->dx, nd * sizeof(float));
        if ((rc = attention_backward(p, l, g->dbranch, g->dxn)) != HS_OK ||
            (rc = norm_backward(p, g->dxn, lw->ln1_w, tl->ln1_xhat, tl->ln1_scale, HS_HOOK_LN1_SCALE,
                                HS_HOOK_LN1_NORMALIZED, l)) != HS_OK)
            return rc;
    }
    GFIRE(HS_HOOK_RESID_PRE, l, g->dx, 3, p->T, c->d_model, 0);
    return HS_OK;
}

static hs_status grads_alloc(bpass *p, int want_result, int want_logits)
{
    const hs_config *c = p->c;
    gradspace *g = &p->g;
    memset(g, 0, sizeof *g);
    size_t N = (size_t)p->N, d = (size_t)c->d_model, hq = (size_t)c->n_heads * c->d_head,
           hkv = (size_t)c->n_kv_heads * c->d_head, f = (size_t)c->d_mlp;
    struct { float **p; size_t n; int needed; } plan[] = {
        {&g->dx, N * d, 1}, {&g->dbranch, N * d, 1}, {&g->dbranch2, N * d, c->parallel_residual},
        {&g->dxn, N * d, 1}, {&g->dxn2, N * d, c->parallel_residual}, {&g->dscale, N, 1}, {&g->dz, N * hq, 1},
        {&g->dq, N * hq, 1}, {&g->dk, N * hkv, 1}, {&g->dv, N * hkv, 1},
        {&g->datt, (size_t)p->B * c->n_heads * p->T * p->T, 1}, {&g->dpost, N * f, 1}, {&g->dpre, N * f, 1},
        {&g->dpre_lin, N * f, c->gated_mlp}, {&g->act, N * f, c->gated_mlp},
        {&g->dresult, N * c->n_heads * d, want_result}, {&g->dlogits, N * c->d_vocab, want_logits},
    };
    for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++)
        if (plan[i].needed && !(*plan[i].p = malloc(plan[i].n * sizeof(float)))) {
            grads_free(g);
            return hs_fail(p->err, HS_ERR_NOMEM, "backward: out of memory for a batch of %d x %d tokens", p->B, p->T);
        }
    return HS_OK;
}

static hs_status backward_run(bpass *p, const float *dlogits)
{
    const hs_config *c = p->c;
    const hs_model *m = p->m;
    gradspace *g = &p->g;
    const float *dl = dlogits;
    if (g->dlogits) {
        memcpy(g->dlogits, dlogits, (size_t)p->N * c->d_vocab * sizeof(float));
        GFIRE(HS_HOOK_LOGITS, -1, g->dlogits, 3, p->T, c->d_vocab, 0);
        dl = g->dlogits;
    }
    /* logits = xn · W_Uᵀ + b_U */
    hs_bw_linear(g->dxn, NULL, NULL, dl, NULL, m->W_U, p->N, c->d_model, c->d_vocab, 0);
    memset(g->dx, 0, (size_t)p->N * c->d_model * sizeof(float));
    hs_status rc = norm_backward(p, g->dxn, m->ln_f_w, p->tp->lnf_xhat, p->tp->lnf_scale, HS_HOOK_LN_FINAL_SCALE,
                                 HS_HOOK_LN_FINAL_NORMALIZED, -1);
    if (rc != HS_OK)
        return rc;
    for (int l = c->n_layers - 1; l >= 0; l--)
        if ((rc = block_backward(p, l)) != HS_OK)
            return rc;
    /* x = embed + pos: both get dL/dx; pos first on a copy, so an intervention on one leaves the other */
    if (c->learned_pos) {
        memcpy(g->dbranch, g->dx, (size_t)p->N * c->d_model * sizeof(float));
        GFIRE(HS_HOOK_POS_EMBED, -1, g->dbranch, 3, p->T, c->d_model, 0);
    }
    GFIRE(HS_HOOK_EMBED, -1, g->dx, 3, p->T, c->d_model, 0);
    return HS_OK;
}

hs_status hs_backward(hs_tape *tp, const float *dlogits, hs_hooks *grads, hs_error *err)
{
    if (!tp || !dlogits)
        return hs_fail(err, HS_ERR_ARG, "backward: no tape or no dlogits");
    bpass ps = {.tp = tp, .m = tp->m, .c = &tp->m->cfg, .hooks = grads, .err = err, .B = tp->B, .T = tp->T,
                .N = tp->N};
    bpass *p = &ps;
    hs_status rc = hs_hooks_bind(grads, p->c->n_layers, err);
    if (rc != HS_OK)
        return rc;
    int want_result = 0;
    for (int l = 0; l < p->c->n_layers && !want_result; l++) {
        hs_hook_point hp = {HS_HOOK_RESULT, l};
        want_result = hs_hooks_wanted(grads, &hp);
    }
    hs_hook_point logits_hp = {HS_HOOK_LOGITS, -1};
    if ((rc = grads_alloc(p, want_result, hs_hooks_wanted(grads, &logits_hp))) != HS_OK)
        return rc;
    rc = backward_run(p, dlogits);
    grads_free(&p->g);
    return rc;
}
