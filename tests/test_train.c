/* test_train.c — training GPT-2 models: the training forward matches hs_forward bit for bit; every
 * backward kernel and the whole model's gradient agree with central finite differences of
 * double-precision reference forwards (written here, independent of the float kernels); PyTorch's
 * loss and gradients on a committed fixture; loss falls on a repetitive sequence, reproducibly;
 * a trained checkpoint loads through the normal loader with the same logits. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/mapped_file.h"
#include "base/rng.h"
#include "backend/kernels.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/safetensors.h"
#include "tests/test.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/gpt2_train.h"
#include "train/ops_backward.h"
#include "train/schedule.h"
#include "train/trainer.h"

/* ---------------------------------------------------------------- double-precision reference forwards
 * Plain loops in double: the oracle that finite differences differentiate. Shapes as in
 * train/ops_backward.h. */

static void lin_d(double *y, const double *x, const double *W, const double *b, int n, int in, int out)
{
    for (int i = 0; i < n; i++)
        for (int o = 0; o < out; o++) {
            double s = b ? b[o] : 0;
            for (int k = 0; k < in; k++)
                s += x[i * in + k] * W[o * in + k];
            y[i * out + o] = s;
        }
}

static void ln_d(double *y, const double *x, const double *w, const double *b, int n, int d)
{
    for (int i = 0; i < n; i++) {
        double mu = 0, var = 0;
        for (int k = 0; k < d; k++)
            mu += x[i * d + k];
        mu /= d;
        for (int k = 0; k < d; k++)
            var += (x[i * d + k] - mu) * (x[i * d + k] - mu);
        double sc = sqrt(var / d + 1e-5);
        for (int k = 0; k < d; k++)
            y[i * d + k] = (x[i * d + k] - mu) / sc * w[k] + b[k];
    }
}

static double gelu1_d(double v)
{
    return 0.5 * v * (1 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

/* causal row softmax of s [rows, T] where row r is query position r % T */
static void softmax_d(double *p, const double *s, int rows, int T)
{
    for (int r = 0; r < rows; r++) {
        int q = r % T;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j <= q; j++)
            mx = fmax(mx, s[r * T + j]);
        for (int j = 0; j < T; j++) {
            p[r * T + j] = j <= q ? exp(s[r * T + j] - mx) : 0;
            sum += p[r * T + j];
        }
        for (int j = 0; j < T; j++)
            p[r * T + j] /= sum;
    }
}

/* z [B, T, H, dh] = P [B, H, T, T] · v [B, T, H, dh] */
static void apply_d(double *z, const double *P, const double *v, int B, int T, int H, int dh)
{
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++)
                for (int e = 0; e < dh; e++) {
                    double s = 0;
                    for (int j = 0; j < T; j++)
                        s += P[((b * H + h) * T + i) * T + j] * v[((b * T + j) * H + h) * dh + e];
                    z[((b * T + i) * H + h) * dh + e] = s;
                }
}

/* S [B, H, T, T] = scale · q kᵀ below and on the diagonal, 0 above (the softmax ignores it) */
static void scores_d(double *S, const double *q, const double *k, int B, int T, int H, int dh, double scale)
{
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) {
                    double s = 0;
                    for (int e = 0; e < dh && j <= i; e++)
                        s += q[((b * T + i) * H + h) * dh + e] * k[((b * T + j) * H + h) * dh + e];
                    S[((b * H + h) * T + i) * T + j] = scale * s;
                }
}

static double ce_d(const double *logits, const int32_t *tg, int n, int V)
{
    double loss = 0;
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (tg[i] < 0)
            continue;
        double mx = -INFINITY, sum = 0;
        for (int j = 0; j < V; j++)
            mx = fmax(mx, logits[i * V + j]);
        for (int j = 0; j < V; j++)
            sum += exp(logits[i * V + j] - mx);
        loss += log(sum) + mx - logits[i * V + tg[i]];
        count++;
    }
    return loss / count;
}

/* ---------------------------------------------------------------- finite differences */

/* An objective over double inputs: L(inputs) for central differences. */
typedef double (*objective_fn)(void *ctx);

/* fd[i] = (L(x + h e_i) - L(x - h e_i)) / 2h for each of the n doubles of x (x is restored). */
static void central_diff(double *fd, double *x, int n, objective_fn f, void *ctx, double h)
{
    for (int i = 0; i < n; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = f(ctx);
        x[i] = x0 - h;
        double lm = f(ctx);
        x[i] = x0;
        fd[i] = (lp - lm) / (2 * h);
    }
}

/* max |g - fd| / max(max |fd|, 1e-6): analytic float gradient against the double reference */
static double grad_err(const float *g, const double *fd, int n)
{
    double num = 0, den = 1e-6;
    for (int i = 0; i < n; i++) {
        num = fmax(num, fabs(g[i] - fd[i]));
        den = fmax(den, fabs(fd[i]));
    }
    return num / den;
}

static void fill_normal(double *x, int n, hs_rng *r, double std)
{
    for (int i = 0; i < n; i++)
        x[i] = std * hs_rng_normal(r);
}

static float *to_f(const double *x, int n)
{
    float *f = malloc((size_t)n * sizeof *f);
    for (int i = 0; i < n; i++)
        f[i] = (float)x[i];
    return f;
}

/* Float inputs are rounded from the doubles; the doubles are then set to those exact floats so both
 * sides differentiate at the same point. */
static float *round_to_f(double *x, int n)
{
    float *f = to_f(x, n);
    for (int i = 0; i < n; i++)
        x[i] = f[i];
    return f;
}

/* Float backward kernels against double central differences (h = 1e-6: truncation ~1e-12, rounding
 * ~1e-10 relative). The float kernels carry float rounding of sums over at most 64 terms: 1e-4
 * normalised error is ~100x their observed error and ~100x below what a wrong formula gives. */
#define OP_TOL 1e-4

/* Each op's context: inputs x* (double), the weighting r of its output (L = Σ r·y), sizes. */
typedef struct op_ctx {
    int n, in, out, d, B, T, H, dh, V;
    double *x, *W, *b, *r, *y, *w2;
    const int32_t *ids, *tg;
} op_ctx;

static double weigh(const op_ctx *c, int ny)
{
    double s = 0;
    for (int i = 0; i < ny; i++)
        s += c->r[i] * c->y[i];
    return s;
}

static double obj_linear(void *p)
{
    op_ctx *c = p;
    lin_d(c->y, c->x, c->W, c->b, c->n, c->in, c->out);
    return weigh(c, c->n * c->out);
}

static double obj_layernorm(void *p)
{
    op_ctx *c = p;
    ln_d(c->y, c->x, c->W, c->b, c->n, c->d);
    return weigh(c, c->n * c->d);
}

static double obj_gelu(void *p)
{
    op_ctx *c = p;
    for (int i = 0; i < c->n; i++)
        c->y[i] = gelu1_d(c->x[i]);
    return weigh(c, c->n);
}

static double obj_softmax(void *p)
{
    op_ctx *c = p;
    softmax_d(c->y, c->x, c->n, c->T);
    return weigh(c, c->n * c->T);
}

static double obj_apply(void *p)
{
    op_ctx *c = p;
    apply_d(c->y, c->x, c->W, c->B, c->T, c->H, c->dh);
    return weigh(c, c->B * c->T * c->H * c->dh);
}

static double obj_scores(void *p)
{
    op_ctx *c = p;
    scores_d(c->y, c->x, c->W, c->B, c->T, c->H, c->dh, 1.0 / sqrt(c->dh));
    return weigh(c, c->B * c->H * c->T * c->T);
}

static double obj_embed(void *p)
{
    op_ctx *c = p; /* x = wte [V, d], W = wpe [T, d] */
    for (int b = 0; b < c->B; b++)
        for (int t = 0; t < c->T; t++)
            for (int k = 0; k < c->d; k++)
                c->y[(b * c->T + t) * c->d + k] = c->x[c->ids[b * c->T + t] * c->d + k] + c->W[t * c->d + k];
    return weigh(c, c->B * c->T * c->d);
}

static double obj_ce(void *p)
{
    op_ctx *c = p;
    return ce_d(c->x, c->tg, c->n, c->V);
}

#define CHECK_GRAD(g, fd, n, tol, what)                                                     \
    do {                                                                                    \
        double e_ = grad_err((g), (fd), (n));                                               \
        CHECK_MSG(e_ < (tol), "%s: normalised error %.3g >= %g", (what), e_, (double)(tol)); \
    } while (0)

int test_train_ops_backward_fd(void)
{
    hs_rng rng = hs_rng_seed(7);
    double fd[4096], fd2[4096], fd3[4096];
    double x[4096], W[4096], b[512], r[4096], y[4096];
    op_ctx c = {.x = x, .W = W, .b = b, .r = r, .y = y};

    { /* linear */
        c.n = 5, c.in = 7, c.out = 6;
        fill_normal(x, c.n * c.in, &rng, 1), fill_normal(W, c.out * c.in, &rng, 1), fill_normal(b, c.out, &rng, 1);
        fill_normal(r, c.n * c.out, &rng, 1);
        float *xf = round_to_f(x, c.n * c.in), *Wf = round_to_f(W, c.out * c.in), *rf = round_to_f(r, c.n * c.out);
        free(round_to_f(b, c.out));
        float dx[64], dW[64] = {0}, db[8] = {0};
        hs_bw_linear(dx, dW, db, rf, xf, Wf, c.n, c.in, c.out, 0);
        central_diff(fd, x, c.n * c.in, obj_linear, &c, 1e-6);
        central_diff(fd2, W, c.out * c.in, obj_linear, &c, 1e-6);
        central_diff(fd3, b, c.out, obj_linear, &c, 1e-6);
        CHECK_GRAD(dx, fd, c.n * c.in, OP_TOL, "linear dx");
        CHECK_GRAD(dW, fd2, c.out * c.in, OP_TOL, "linear dW");
        CHECK_GRAD(db, fd3, c.out, OP_TOL, "linear db");
        /* accumulate mode adds to what is there */
        float dx2[64];
        for (int i = 0; i < c.n * c.in; i++)
            dx2[i] = 1.0f;
        float dW2[64] = {0};
        hs_bw_linear(dx2, dW2, NULL, rf, xf, Wf, c.n, c.in, c.out, 1);
        for (int i = 0; i < c.n * c.in; i++)
            CHECK_NEAR(dx2[i], dx[i] + 1.0f, 1e-5);
        /* the checker catches a planted 1 % error */
        dW[3] += 0.01f * (float)fabs(fd2[3]) + 0.01f;
        CHECK(grad_err(dW, fd2, c.out * c.in) > OP_TOL);
        free(xf), free(Wf), free(rf);
    }
    { /* layernorm: x [n, d], gain W [d], bias b [d] */
        c.n = 4, c.d = 16;
        fill_normal(x, c.n * c.d, &rng, 2), fill_normal(W, c.d, &rng, 1), fill_normal(b, c.d, &rng, 1);
        for (int i = 0; i < c.n * c.d; i++)
            x[i] += 0.5;
        fill_normal(r, c.n * c.d, &rng, 1);
        float *xf = round_to_f(x, c.n * c.d), *wf = round_to_f(W, c.d), *rf = round_to_f(r, c.n * c.d);
        free(round_to_f(b, c.d));
        float mean[4], scale[4], dx[64] = {0}, dw[16] = {0}, db[16] = {0};
        hs_layernorm_stats(xf, mean, scale, c.n, c.d, 1e-5f);
        hs_bw_layernorm(dx, dw, db, rf, xf, mean, scale, wf, c.n, c.d);
        central_diff(fd, x, c.n * c.d, obj_layernorm, &c, 1e-6);
        central_diff(fd2, W, c.d, obj_layernorm, &c, 1e-6);
        central_diff(fd3, b, c.d, obj_layernorm, &c, 1e-6);
        CHECK_GRAD(dx, fd, c.n * c.d, OP_TOL, "layernorm dx");
        CHECK_GRAD(dw, fd2, c.d, OP_TOL, "layernorm dw");
        CHECK_GRAD(db, fd3, c.d, OP_TOL, "layernorm db");
        free(xf), free(wf), free(rf);
    }
    { /* GELU over a range that covers both tails */
        c.n = 64;
        for (int i = 0; i < c.n; i++)
            x[i] = -6.0 + 12.0 * i / (c.n - 1) + 0.01 * hs_rng_normal(&rng);
        fill_normal(r, c.n, &rng, 1);
        float *xf = round_to_f(x, c.n), *rf = round_to_f(r, c.n), dx[64];
        hs_bw_gelu_tanh(dx, rf, xf, c.n);
        central_diff(fd, x, c.n, obj_gelu, &c, 1e-6);
        CHECK_GRAD(dx, fd, c.n, OP_TOL, "gelu dx");
        free(xf), free(rf);
    }
    { /* causal softmax rows: B·H = 3 blocks of T = 5 */
        c.T = 5, c.n = 3 * 5;
        fill_normal(x, c.n * c.T, &rng, 2);
        fill_normal(r, c.n * c.T, &rng, 1);
        float *sf = round_to_f(x, c.n * c.T), *rf = round_to_f(r, c.n * c.T);
        for (int i = 0; i < c.n; i++)
            for (int j = i % c.T + 1; j < c.T; j++)
                sf[i * c.T + j] = -INFINITY;
        float pat[75], ds[75];
        hs_softmax_rows(pat, sf, c.n, c.T);
        hs_bw_softmax_rows(ds, rf, pat, c.n, c.T, 1);
        float ds_full[75];
        hs_bw_softmax_rows(ds_full, rf, pat, c.n, c.T, 0);
        /* the causal variant skips only terms that are 0 (its sums group differently: rounding) */
        CHECK(test_norm_err(ds, ds_full, 75) < 1e-6);
        for (int i = 0; i < 75; i++)
            if (i % c.T > (i / c.T) % c.T)
                CHECK(ds[i] == 0.0f);
        central_diff(fd, x, c.n * c.T, obj_softmax, &c, 1e-6);
        CHECK_GRAD(ds, fd, c.n * c.T, OP_TOL, "softmax dscores");
        free(sf), free(rf);
    }
    { /* attention apply: P [B, H, T, T] (a causal softmax of random scores), v [B, T, H, dh] */
        c.B = 2, c.T = 5, c.H = 2, c.dh = 3;
        int nP = c.B * c.H * c.T * c.T, nv = c.B * c.T * c.H * c.dh;
        double s[100];
        fill_normal(s, nP, &rng, 1);
        softmax_d(x, s, c.B * c.H * c.T, c.T);
        fill_normal(W, nv, &rng, 1);
        fill_normal(r, nv, &rng, 1);
        float *Pf = round_to_f(x, nP), *vf = round_to_f(W, nv), *rf = round_to_f(r, nv), dP[100], dv[60];
        hs_bw_attn_apply(dP, dv, rf, Pf, vf, c.B, c.T, c.H, c.dh, c.H * c.dh);
        central_diff(fd, x, nP, obj_apply, &c, 1e-6);
        central_diff(fd2, W, nv, obj_apply, &c, 1e-6);
        for (int i = 0; i < nP; i++) /* the pattern's masked half is not an input: compare the causal part */
            if ((i % c.T) > (i / c.T) % c.T)
                fd[i] = 0;
        CHECK_GRAD(dP, fd, nP, OP_TOL, "attn_apply dpattern");
        CHECK_GRAD(dv, fd2, nv, OP_TOL, "attn_apply dv");
        free(Pf), free(vf), free(rf);
    }
    { /* attention scores: q, k [B, T, H, dh] */
        c.B = 2, c.T = 5, c.H = 2, c.dh = 4;
        int nq = c.B * c.T * c.H * c.dh, nS = c.B * c.H * c.T * c.T;
        fill_normal(x, nq, &rng, 1), fill_normal(W, nq, &rng, 1), fill_normal(r, nS, &rng, 1);
        for (int i = 0; i < nS; i++) /* dscores is causal, as the softmax backward leaves it */
            if ((i % c.T) > (i / c.T) % c.T)
                r[i] = 0;
        float *qf = round_to_f(x, nq), *kf = round_to_f(W, nq), *rf = round_to_f(r, nS), dq[80], dk[80];
        hs_bw_attn_scores(dq, dk, rf, qf, kf, c.B, c.T, c.H, c.dh, 1.0f / sqrtf((float)c.dh), c.H * c.dh);
        central_diff(fd, x, nq, obj_scores, &c, 1e-6);
        central_diff(fd2, W, nq, obj_scores, &c, 1e-6);
        CHECK_GRAD(dq, fd, nq, OP_TOL, "attn_scores dq");
        CHECK_GRAD(dk, fd2, nq, OP_TOL, "attn_scores dk");
        free(qf), free(kf), free(rf);
    }
    { /* embedding: wte [V, d], wpe [T, d], ids with a repeated token */
        static const int32_t ids[6] = {3, 1, 3, 0, 2, 3};
        c.B = 2, c.T = 3, c.d = 4, c.V = 5, c.ids = ids;
        int nx = c.B * c.T * c.d;
        fill_normal(x, c.V * c.d, &rng, 1), fill_normal(W, c.T * c.d, &rng, 1), fill_normal(r, nx, &rng, 1);
        float *rf = round_to_f(r, nx), dwte[20] = {0}, dwpe[12] = {0};
        hs_bw_embedding(dwte, dwpe, rf, ids, c.B, c.T, c.d);
        central_diff(fd, x, c.V * c.d, obj_embed, &c, 1e-6);
        central_diff(fd2, W, c.T * c.d, obj_embed, &c, 1e-6);
        CHECK_GRAD(dwte, fd, c.V * c.d, OP_TOL, "embedding dwte");
        CHECK_GRAD(dwpe, fd2, c.T * c.d, OP_TOL, "embedding dwpe");
        free(rf);
    }
    { /* cross-entropy with an ignored target */
        static const int32_t tg[4] = {2, -1, 0, 6};
        c.n = 4, c.V = 7, c.tg = tg;
        fill_normal(x, c.n * c.V, &rng, 2);
        float *lf = round_to_f(x, c.n * c.V), dl[28];
        int counted = 0;
        double loss = hs_cross_entropy(dl, lf, tg, c.n, c.V, 0, &counted);
        CHECK(counted == 3);
        CHECK_NEAR(loss, ce_d(x, tg, c.n, c.V), 1e-5);
        central_diff(fd, x, c.n * c.V, obj_ce, &c, 1e-6);
        CHECK_GRAD(dl, fd, c.n * c.V, OP_TOL, "cross-entropy dlogits");
        for (int j = 0; j < c.V; j++)
            CHECK(dl[1 * c.V + j] == 0.0f);
        free(lf);
    }
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the whole model in double */

/* The loss of the model with parameters P (train/params.h layout, in double) on ids/targets
 * [B, T]. Optional probes add delta to one element of resid_pre of a layer (index into [B, T, C];
 * layer = L: the input of ln_final) or of z of a layer ([B, T, H, dh]), for checking activation
 * gradients. */
typedef struct model_d {
    hs_gpt2_dims d;
    hs_gpt2_tensor t[2 + 12 * 8 + 2];
    double *P;
    const int32_t *ids, *tg;
    int B, T;
    int probe_resid_layer, probe_z_layer, probe_pattern_layer; /* -1: none */
    int probe_index;
    double probe_delta;
} model_d;

static double model_loss_d(void *p)
{
    model_d *m = p;
    int B = m->B, T = m->T, N = B * T, C = m->d.d_model, F = 4 * C, H = m->d.n_heads, dh = C / H, V = m->d.d_vocab;
    const double *P = m->P;
    int ti = 0;
#define NEXT() (P + m->t[ti++].offset)
    const double *wte = NEXT(), *wpe = NEXT();
    double *x = malloc(sizeof(double) * N * C), *xn = malloc(sizeof(double) * N * C),
           *q = malloc(sizeof(double) * N * C), *k = malloc(sizeof(double) * N * C),
           *v = malloc(sizeof(double) * N * C), *z = malloc(sizeof(double) * N * C),
           *S = malloc(sizeof(double) * B * H * T * T), *Pt = malloc(sizeof(double) * B * H * T * T),
           *o = malloc(sizeof(double) * N * C), *h1 = malloc(sizeof(double) * N * F),
           *lg = malloc(sizeof(double) * N * V);
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++)
            x[i * C + c] = wte[m->ids[i] * C + c] + wpe[(i % T) * C + c];
    for (int l = 0; l < m->d.n_layers; l++) {
        const double *ln1w = NEXT(), *ln1b = NEXT(), *Wqkv = NEXT(), *bqkv = NEXT(), *WO = NEXT(), *bO = NEXT(),
                     *ln2w = NEXT(), *ln2b = NEXT(), *Win = NEXT(), *bin = NEXT(), *Wout = NEXT(), *bout = NEXT();
        if (m->probe_resid_layer == l)
            x[m->probe_index] += m->probe_delta;
        ln_d(xn, x, ln1w, ln1b, N, C);
        lin_d(q, xn, Wqkv, bqkv, N, C, C);
        lin_d(k, xn, Wqkv + C * C, bqkv + C, N, C, C);
        lin_d(v, xn, Wqkv + 2 * C * C, bqkv + 2 * C, N, C, C);
        scores_d(S, q, k, B, T, H, dh, 1.0 / sqrt(dh));
        softmax_d(Pt, S, B * H * T, T);
        if (m->probe_pattern_layer == l)
            Pt[m->probe_index] += m->probe_delta;
        apply_d(z, Pt, v, B, T, H, dh);
        if (m->probe_z_layer == l)
            z[m->probe_index] += m->probe_delta;
        lin_d(o, z, WO, bO, N, C, C);
        for (int i = 0; i < N * C; i++)
            x[i] += o[i];
        ln_d(xn, x, ln2w, ln2b, N, C);
        lin_d(h1, xn, Win, bin, N, C, F);
        for (int i = 0; i < N * F; i++)
            h1[i] = gelu1_d(h1[i]);
        lin_d(o, h1, Wout, bout, N, F, C);
        for (int i = 0; i < N * C; i++)
            x[i] += o[i];
    }
    if (m->probe_resid_layer == m->d.n_layers)
        x[m->probe_index] += m->probe_delta;
    const double *lnfw = NEXT(), *lnfb = NEXT();
#undef NEXT
    ln_d(xn, x, lnfw, lnfb, N, C);
    lin_d(lg, xn, wte, NULL, N, C, V);
    double loss = ce_d(lg, m->tg, N, V);
    free(x), free(xn), free(q), free(k), free(v), free(z), free(S), free(Pt), free(o), free(h1), free(lg);
    return loss;
}

/* A scalar objective in the probe's delta. */
static double probe_loss(void *p)
{
    return model_loss_d(p);
}

int test_train_model_grad_fd(void)
{
    hs_error err = {0};
    hs_gpt2_dims d = {2, 16, 2, 300, 8};
    enum { B = 2, T = 8 };
    hs_train_model *tm;
    CHECK_OK(hs_train_model_new(&d, B, T, HS_BACKEND_CPU, &tm, &err), &err);
    size_t n;
    float *params = hs_train_params(tm, &n);
    hs_gpt2_init(&d, params, 11);
    /* non-trivial gains and biases, and larger weights, so every path carries gradient */
    hs_rng rng = hs_rng_seed(3);
    for (size_t i = 0; i < n; i++)
        params[i] += 0.1f * hs_rng_normal(&rng);
    int32_t ids[B * T], tg[B * T];
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)hs_rng_below(&rng, 300);
        tg[i] = i == 5 ? -1 : (int32_t)hs_rng_below(&rng, 300);
    }
    CHECK_OK(hs_train_keep_activation_grads(tm, 1, &err), &err);
    float loss = 0;
    CHECK_OK(hs_train_forward(tm, ids, tg, B, T, &loss, &err), &err);
    CHECK_OK(hs_train_backward(tm, &err), &err);
    const float *g = hs_train_grads(tm, NULL);

    model_d md = {.d = d, .ids = ids, .tg = tg, .B = B, .T = T, .probe_resid_layer = -1, .probe_z_layer = -1,
                  .probe_pattern_layer = -1};
    hs_gpt2_layout(&d, md.t);
    md.P = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        md.P[i] = params[i];
    CHECK_NEAR(loss, model_loss_d(&md), 1e-5 * fabs(loss));

    /* 6 sampled elements of every tensor; normalised by the tensor's largest analytic gradient.
     * The analytic gradient is the float model's, the differences the double model's: they differ
     * by float rounding through 2 layers (~1e-6 relative); 1e-3 leaves room, a wrong term is O(1). */
    int nt = hs_gpt2_tensor_count(&d);
    for (int ti = 0; ti < nt; ti++) {
        const hs_gpt2_tensor *t = &md.t[ti];
        size_t numel = (size_t)t->rows * (t->cols ? t->cols : 1);
        double gmax = 1e-8;
        for (size_t j = 0; j < numel; j++)
            gmax = fmax(gmax, fabs(g[t->offset + j]));
        for (int s = 0; s < 6; s++) {
            size_t j = t->offset + (ti == 0 && s < 3 ? (size_t)ids[s] * d.d_model + s : hs_rng_below(&rng, (uint32_t)numel));
            double fd;
            central_diff(&fd, &md.P[j], 1, model_loss_d, &md, 1e-5);
            CHECK_MSG(fabs(fd - g[j]) <= 1e-3 * gmax, "%s[%zu]: analytic %.8g, finite difference %.8g (max |g| %.3g)",
                      t->name, j - t->offset, g[j], fd, gmax);
        }
    }

    /* activation gradients: dL/d(resid_pre) of every layer (and the final stream), dL/dz */
    int C = d.d_model;
    for (int l = 0; l <= d.n_layers; l++) {
        const float *gr = hs_train_grad_resid_pre(tm, l);
        CHECK(gr != NULL);
        double gmax = 1e-8;
        for (int i = 0; i < B * T * C; i++)
            gmax = fmax(gmax, fabs(gr[i]));
        for (int s = 0; s < 5; s++) {
            md.probe_resid_layer = l;
            md.probe_index = (int)hs_rng_below(&rng, B * T * C);
            md.probe_delta = 0;
            double fd;
            central_diff(&fd, &md.probe_delta, 1, probe_loss, &md, 1e-5);
            CHECK_MSG(fabs(fd - gr[md.probe_index]) <= 1e-3 * gmax, "resid_pre %d [%d]: %.8g vs fd %.8g", l,
                      md.probe_index, gr[md.probe_index], fd);
        }
    }
    md.probe_resid_layer = -1;
    for (int l = 0; l < d.n_layers; l++) {
        const float *gz = hs_train_grad_z(tm, l);
        CHECK(gz != NULL && hs_train_grad_pattern(tm, l) != NULL);
        double gmax = 1e-8;
        for (int i = 0; i < B * T * C; i++)
            gmax = fmax(gmax, fabs(gz[i]));
        for (int s = 0; s < 5; s++) {
            md.probe_z_layer = l;
            md.probe_index = (int)hs_rng_below(&rng, B * T * C);
            md.probe_delta = 0;
            double fd;
            central_diff(&fd, &md.probe_delta, 1, probe_loss, &md, 1e-5);
            CHECK_MSG(fabs(fd - gz[md.probe_index]) <= 1e-3 * gmax, "z %d [%d]: %.8g vs fd %.8g", l, md.probe_index,
                      gz[md.probe_index], fd);
        }
    }
    md.probe_z_layer = -1;
    int H = d.n_heads;
    for (int l = 0; l < d.n_layers; l++) { /* dL/d(pattern), causal entries (the rest is 0) */
        const float *gp = hs_train_grad_pattern(tm, l);
        double gmax = 1e-8;
        for (int i = 0; i < B * H * T * T; i++) {
            gmax = fmax(gmax, fabs(gp[i]));
            if (i % T > (i / T) % T)
                CHECK(gp[i] == 0.0f);
        }
        for (int s = 0; s < 5; s++) {
            int i;
            do
                i = (int)hs_rng_below(&rng, B * H * T * T);
            while (i % T > (i / T) % T);
            md.probe_pattern_layer = l;
            md.probe_index = i;
            md.probe_delta = 0;
            double fd;
            central_diff(&fd, &md.probe_delta, 1, probe_loss, &md, 1e-5);
            CHECK_MSG(fabs(fd - gp[i]) <= 1e-3 * gmax, "pattern %d [%d]: %.8g vs fd %.8g", l, i, gp[i], fd);
        }
    }
    CHECK(hs_train_grad_z(tm, d.n_layers) == NULL && hs_train_grad_resid_pre(tm, d.n_layers + 1) == NULL);
    free(md.P);
    hs_train_model_free(tm);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the same logits as hs_forward */

int test_train_tape_logits_equal_forward(void)
{
    hs_error err = {0};
    char dir[600];
    snprintf(dir, sizeof dir, "%s/model", test_tmpdir());
    hs_random_model_spec spec = {.n_layers = 2, .d_model = 32, .n_heads = 4, .n_ctx = 16, .d_vocab = 300,
                                 .init_std = 0.2f, .seed = 5};
    CHECK_OK(hs_random_model_write(dir, &spec, &err), &err);
    hs_model *m;
    CHECK_OK(hs_model_open(dir, NULL, &m, &err), &err);
    hs_gpt2_dims d;
    CHECK_OK(hs_train_dims_of_model(m, &d, &err), &err);
    enum { B = 3, T = 13 };
    int32_t ids[B * T];
    hs_rng rng = hs_rng_seed(1);
    for (int i = 0; i < B * T; i++)
        ids[i] = (int32_t)hs_rng_below(&rng, 300);
    hs_batch batch = {.ids = ids, .n_batch = B, .n_pos = T};
    static float want[B * T * 300];
    hs_backend_id backends[] = {HS_BACKEND_CPU, HS_BACKEND_REFERENCE};
    for (int bi = 0; bi < 2; bi++) {
        hs_train_model *tm;
        CHECK_OK(hs_train_model_new(&d, 4, 16, backends[bi], &tm, &err), &err);
        CHECK_OK(hs_train_load_model(tm, m, &err), &err);
        CHECK_OK(hs_forward(m, &batch, NULL, backends[bi], want, &err), &err);
        CHECK_OK(hs_train_forward(tm, ids, NULL, B, T, NULL, &err), &err);
        CHECK_MSG(memcmp(want, hs_train_logits(tm), sizeof want) == 0, "backend %d: logits differ (normalised error %.3g)",
                  bi, test_norm_err(hs_train_logits(tm), want, B * T * 300));
        hs_train_model_free(tm);
    }
    hs_model_close(m);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- training */

/* A tiny model trained for `steps` on a repeating 16-token pattern; returns its parameters
 * (caller frees) and the first and last losses. */
static float *train_tiny(long steps, uint64_t seed, float *first, float *last, hs_train_model **keep)
{
    hs_error err = {0};
    hs_gpt2_dims d = {2, 32, 2, 257, 32};
    hs_train_model *tm = NULL;
    hs_adamw *opt = NULL;
    if (hs_train_model_new(&d, 4, 32, HS_BACKEND_CPU, &tm, &err) != HS_OK)
        return NULL;
    hs_gpt2_init(&d, hs_train_params(tm, NULL), seed);
    hs_adamw_opts ao = {0.9f, 0.95f, 1e-8f, 0.1f};
    if (hs_adamw_new(&d, &ao, &opt, &err) != HS_OK)
        return NULL;
    static const char pat[] = "the cat sat on a mat. ";
    int32_t tokens[2000];
    for (int i = 0; i < 2000; i++)
        tokens[i] = (unsigned char)pat[i % (sizeof pat - 1)];
    hs_train_opts o = {.B = 4, .T = 32, .steps = steps, .lr = 3e-3f, .min_lr = 3e-4f, .warmup = 5, .clip = 1.0f,
                       .seed = seed, .val_fraction = 0.1, .eval_every = 0, .eval_batches = 2};
    if (hs_train_eval(tm, tokens, 2000, 4, 32, 2, first, &err) != HS_OK ||
        hs_train_run(tm, opt, tokens, 2000, &o, NULL, NULL, &err) != HS_OK ||
        hs_train_eval(tm, tokens + 1800, 200, 4, 32, 2, last, &err) != HS_OK) {
        fprintf(stderr, "train_tiny: %s\n", err.msg);
        return NULL;
    }
    size_t n = 0;
    const float *params = hs_train_params(tm, &n);
    float *p = malloc(n * sizeof *p);
    memcpy(p, params, n * sizeof *p);
    hs_adamw_free(opt);
    if (keep)
        *keep = tm;
    else
        hs_train_model_free(tm);
    return p;
}

int test_train_loss_falls_deterministic(void)
{
    float first = 0, last = 0, first2 = 0, last2 = 0;
    float *p1 = train_tiny(60, 42, &first, &last, NULL);
    float *p2 = train_tiny(60, 42, &first2, &last2, NULL);
    CHECK(p1 && p2);
    fprintf(stderr, "loss %.4f -> %.4f after 60 steps\n", first, last);
    CHECK_MSG(last < 0.5f * first, "loss %.4f -> %.4f", first, last);
    hs_gpt2_dims d = {2, 32, 2, 257, 32};
    CHECK_MSG(memcmp(p1, p2, hs_gpt2_layout(&d, NULL) * sizeof *p1) == 0, "two runs with seed 42 differ");
    CHECK(first == first2 && last == last2);
    free(p1);
    free(p2);
    return TEST_PASS;
}

int test_train_schedule_and_adamw(void)
{
    /* warmup reaches the peak on its last step; cosine ends at the floor */
    CHECK_NEAR(hs_lr_cosine(0, 100, 10, 1.0f, 0.1f), 0.1, 1e-7);
    CHECK_NEAR(hs_lr_cosine(9, 100, 10, 1.0f, 0.1f), 1.0, 1e-7);
    CHECK_NEAR(hs_lr_cosine(10, 100, 10, 1.0f, 0.1f), 1.0, 1e-7);
    CHECK_NEAR(hs_lr_cosine(99, 100, 10, 1.0f, 0.1f), 0.1, 1e-7);
    CHECK_NEAR(hs_lr_cosine(54, 100, 10, 1.0f, 0.1f), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI * 44 / 89.0)), 1e-6);
    /* AdamW: first step moves every parameter by lr·sign(g) (m̂ = g, v̂ = g²), decayed tensors
     * shrink by lr·wd first; biases and gains do not decay */
    hs_error err = {0};
    hs_gpt2_dims d = {1, 4, 1, 8, 4};
    hs_adamw_opts ao = {0.9f, 0.95f, 1e-8f, 0.5f};
    hs_adamw *a;
    CHECK_OK(hs_adamw_new(&d, &ao, &a, &err), &err);
    size_t n = hs_gpt2_layout(&d, NULL);
    float *p = malloc(n * sizeof *p), *g = malloc(n * sizeof *g);
    for (size_t i = 0; i < n; i++)
        p[i] = 1.0f, g[i] = (i % 2) ? 2.0f : -3.0f;
    hs_adamw_update(a, p, g, 0.1f);
    hs_gpt2_tensor t[2 + 12 + 2];
    hs_gpt2_layout(&d, t);
    for (int ti = 0; ti < hs_gpt2_tensor_count(&d); ti++) {
        size_t j = t[ti].offset;
        float want = (t[ti].decay ? 1.0f - 0.1f * 0.5f : 1.0f) - 0.1f * (g[j] > 0 ? 1.0f : -1.0f);
        CHECK_MSG(fabsf(p[j] - want) < 1e-6f, "%s: %g, expected %g", t[ti].name, p[j], want);
        CHECK(t[ti].decay == (t[ti].cols > 0));
    }
    /* clipping scales to the norm */
    float gc[2] = {3, 4};
    CHECK_NEAR(hs_grad_clip(gc, 2, 1.0), 5.0, 1e-9);
    CHECK_NEAR(gc[0], 0.6, 1e-6);
    CHECK_NEAR(gc[1], 0.8, 1e-6);
    free(p);
    free(g);
    hs_adamw_free(a);
    return TEST_PASS;
}

int test_train_checkpoint_roundtrip(void)
{
    hs_error err = {0};
    float first, last;
    hs_train_model *tm = NULL;
    float *p = train_tiny(5, 9, &first, &last, &tm);
    CHECK(p && tm);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/trained", test_tmpdir());
    CHECK_OK(hs_train_save(tm, dir, NULL, 256, 256, 0, &err), &err);
    hs_model *m;
    CHECK_OK(hs_model_open(dir, NULL, &m, &err), &err);
    CHECK(hs_model_tokenizer(m) != NULL);
    enum { B = 2, T = 20 };
    int32_t ids[B * T];
    for (int i = 0; i < B * T; i++)
        ids[i] = (int32_t)("the cat sat on a mat. "[i % 22]);
    static float want[B * T * 257];
    hs_batch batch = {.ids = ids, .n_batch = B, .n_pos = T};
    CHECK_OK(hs_forward(m, &batch, NULL, HS_BACKEND_CPU, want, &err), &err);
    CHECK_OK(hs_train_forward(tm, ids, NULL, B, T, NULL, &err), &err);
    CHECK_MSG(memcmp(want, hs_train_logits(tm), sizeof want) == 0, "logits differ after the roundtrip (%.3g)",
              test_norm_err(hs_train_logits(tm), want, B * T * 257));
    /* and back: loading the checkpoint gives the same parameters */
    hs_train_model *tm2;
    CHECK_OK(hs_train_model_new(hs_train_dims(tm), 1, 8, HS_BACKEND_CPU, &tm2, &err), &err);
    CHECK_OK(hs_train_load_model(tm2, m, &err), &err);
    size_t n = 0;
    const float *loaded = hs_train_params(tm2, &n);
    CHECK(memcmp(loaded, p, n * sizeof *p) == 0);
    hs_train_model_free(tm2);
    hs_model_close(m);
    hs_train_model_free(tm);
    free(p);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the command line */

int test_train_cli(void)
{
    char dir[600], cmd[2048], out[8192];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char corpus[700];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    FILE *f = fopen(corpus, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 200; i++)
        fprintf(f, "one two three four five six seven eight nine ten. ");
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "train --corpus %s --out %s/m --layers 1 --d-model 32 --heads 2 --ctx 32 --batch 4 --steps 30 "
             "--lr 3e-3 --eval-every 10 --threads 1",
             corpus, dir);
    int rc = test_run_headscope(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "exit %d: %s", rc, out);
    CHECK(strstr(out, "step 30/30") != NULL && strstr(out, "val ") != NULL);
    static const char *const files[] = {"config.json", "model.safetensors", "tokenizer.json", "train_log.csv",
                                        "loss.svg", "loss.png"};
    for (int i = 0; i < 6; i++) {
        char p[800];
        snprintf(p, sizeof p, "%s/m/%s", dir, files[i]);
        FILE *g = fopen(p, "r");
        CHECK_MSG(g != NULL, "%s is missing", p);
        fclose(g);
    }
    /* the log has a header and one row per step, validation every 10 steps */
    char p[800], line[256];
    snprintf(p, sizeof p, "%s/m/train_log.csv", dir);
    f = fopen(p, "r");
    CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "step,lr,loss,val_loss,tokens_per_s\n") == 0);
    int rows = 0, with_val = 0;
    while (fgets(line, sizeof line, f)) {
        rows++;
        with_val += strstr(line, ",,") == NULL;
    }
    fclose(f);
    CHECK(rows == 30 && with_val == 3);
    /* the checkpoint opens through the normal loader */
    snprintf(cmd, sizeof cmd, "generate --model %s/m --prompt 'one two' --max-new-tokens 4", dir);
    CHECK((rc = test_run_headscope(cmd, out, sizeof out)) == 0);
    snprintf(cmd, sizeof cmd, "info --model %s/m", dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 0 && strstr(out, "gpt2") && strstr(out, "257 tokens"));
    char prompts[800];
    snprintf(prompts, sizeof prompts, "%s/prompts.jsonl", dir);
    f = fopen(prompts, "w");
    CHECK(f != NULL);
    fprintf(f, "{\"text\": \"one two three\"}\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "run --model %s/m --prompts %s --db %s/run.db", dir, prompts, dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    /* bad arguments name the option or file */
    snprintf(cmd, sizeof cmd, "train --corpus %s/none.txt --out %s/x", dir, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) != 0 && strstr(out, "--corpus") && strstr(out, "none.txt"));
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/x --heads 5", corpus, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 2 && strstr(out, "--heads 5"));
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/x --lr fast", corpus, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 2 && strstr(out, "--lr 'fast'"));
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/x --ctx 100000", corpus, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 2 && strstr(out, "--ctx"));
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/x --ctx 20000 --d-model 8 --heads 1", corpus, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) != 0 && strstr(out, "too few"));
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/x --tokenizer %s/nothing", corpus, dir, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) != 0 && strstr(out, "--tokenizer"));
    return TEST_PASS;
}

/* ---------------------------------------------------------------- PyTorch's numbers */

/* tests/fixtures/train/ (tools/gen_train_ref.py; format "headscope-train-ref" version 1): a tiny
 * GPT2LMHeadModel, a batch with ignored targets, PyTorch's loss and the gradient of every
 * parameter. Both sides compute in float32 with different summation orders: the loss agrees to
 * ~1e-7 relative and each gradient tensor to ~1e-6 normalised error; the bounds (1e-5 relative,
 * 1e-4 normalised) are ten times that and far below what a wrong term gives (> 1e-2). */
int test_train_pytorch_reference(void)
{
    hs_error err = {0};
    char model_dir[4096], ref_path[4096];
    snprintf(model_dir, sizeof model_dir, "%s", test_src_path("tests/fixtures/train/model"));
    snprintf(ref_path, sizeof ref_path, "%s", test_src_path("tests/fixtures/train/reference.safetensors"));
    hs_st_archive *ref;
    CHECK_OK(hs_st_open(ref_path, &ref, &err), &err);
    hs_model *m;
    CHECK_OK(hs_model_open(model_dir, NULL, &m, &err), &err);
    hs_gpt2_dims d;
    CHECK_OK(hs_train_dims_of_model(m, &d, &err), &err);
    const hs_st_tensor *ti = hs_st_find(ref, "input_ids"), *tt = hs_st_find(ref, "targets");
    CHECK(ti && tt && ti->dtype == HS_DTYPE_I32 && ti->ndim == 2);
    int B = (int)ti->shape[0], T = (int)ti->shape[1];
    const int32_t *ids = ti->data, *tg = tt->data;
    float want_loss;
    int64_t one = 1;
    CHECK_OK(hs_st_read_f32(ref, "loss", 1, &one, &want_loss, &err), &err);

    hs_train_model *tm;
    CHECK_OK(hs_train_model_new(&d, B, T, HS_BACKEND_CPU, &tm, &err), &err);
    CHECK_OK(hs_train_load_model(tm, m, &err), &err);
    float loss;
    CHECK_OK(hs_train_forward(tm, ids, tg, B, T, &loss, &err), &err);
    fprintf(stderr, "loss: headscope %.7f, PyTorch %.7f\n", loss, want_loss);
    CHECK_NEAR(loss, want_loss, 1e-5 * want_loss);
    CHECK_OK(hs_train_backward(tm, &err), &err);
    const float *g = hs_train_grads(tm, NULL);

    int nt = hs_gpt2_tensor_count(&d);
    hs_gpt2_tensor *t = calloc((size_t)nt, sizeof *t);
    hs_gpt2_layout(&d, t);
    double worst = 0;
    for (int i = 0; i < nt; i++) {
        int64_t R = t[i].rows, Cn = t[i].cols, numel = R * (Cn ? Cn : 1);
        int64_t shape[2] = {t[i].conv1d ? Cn : R, t[i].conv1d ? R : Cn};
        float *want = malloc((size_t)numel * sizeof *want), *mine = malloc((size_t)numel * sizeof *mine);
        char name[96];
        snprintf(name, sizeof name, "grad.%s", t[i].name);
        CHECK_OK(hs_st_read_f32(ref, name, Cn ? 2 : 1, shape, want, &err), &err);
        for (int64_t j = 0; j < numel; j++) /* into the reference's layout */
            mine[j] = t[i].conv1d ? g[t[i].offset + (j % R) * Cn + j / R] : g[t[i].offset + j];
        double e = test_norm_err(mine, want, (size_t)numel);
        worst = fmax(worst, e);
        CHECK_MSG(e < 1e-4, "%s: normalised error %.3g against PyTorch", t[i].name, e);
        free(want);
        free(mine);
    }
    fprintf(stderr, "gradients: worst normalised error %.3g over %d tensors\n", worst, nt);
    free(t);
    hs_train_model_free(tm);
    hs_model_close(m);
    hs_st_close(ref);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- threads */

/* Splitting the batch over threads gives the same loss, gradients and activation gradients as one
 * thread up to float rounding (each thread's products have fewer rows: 1e-5 normalised), and the
 * same bits twice for a given thread count. */
int test_train_threads_agree(void)
{
    hs_error err = {0};
    hs_gpt2_dims d = {2, 32, 4, 300, 16};
    enum { B = 5, T = 16 };
    int32_t ids[B * T], tg[B * T];
    hs_rng rng = hs_rng_seed(8);
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)hs_rng_below(&rng, 300);
        tg[i] = i % 7 == 3 ? -1 : (int32_t)hs_rng_below(&rng, 300);
    }
    size_t n = hs_gpt2_layout(&d, NULL), nz = (size_t)B * T * d.d_model;
    float *g1 = malloc(n * sizeof *g1), *z1 = malloc(nz * sizeof *z1), *r1 = malloc(nz * sizeof *r1);
    float *g3 = malloc(n * sizeof *g3);
    float loss1 = 0;
    int threads[] = {1, 3, 3, 5, 2};
    for (int run = 0; run < 5; run++) {
        hs_train_model *tm;
        CHECK_OK(hs_train_model_new(&d, B, T, HS_BACKEND_CPU, &tm, &err), &err);
        CHECK_OK(hs_train_keep_activation_grads(tm, 1, &err), &err);
        CHECK_OK(hs_train_set_threads(tm, threads[run], &err), &err);
        hs_gpt2_init(&d, hs_train_params(tm, NULL), 4);
        float loss;
        CHECK_OK(hs_train_forward(tm, ids, tg, B, T, &loss, &err), &err);
        CHECK_OK(hs_train_backward(tm, &err), &err);
        const float *g = hs_train_grads(tm, NULL), *z = hs_train_grad_z(tm, 1), *r = hs_train_grad_resid_pre(tm, 0);
        CHECK(z && r);
        if (run == 0) {
            loss1 = loss;
            memcpy(g1, g, n * sizeof *g);
            memcpy(z1, z, nz * sizeof *z);
            memcpy(r1, r, nz * sizeof *r);
        } else {
            CHECK_NEAR(loss, loss1, 1e-6 * loss1);
            CHECK_MSG(test_norm_err(g, g1, n) < 1e-5, "%d threads: gradients differ by %.3g", threads[run],
                      test_norm_err(g, g1, n));
            CHECK(test_norm_err(z, z1, nz) < 1e-5 && test_norm_err(r, r1, nz) < 1e-5);
        }
        if (run == 1)
            memcpy(g3, g, n * sizeof *g);
        if (run == 2)
            CHECK_MSG(memcmp(g3, g, n * sizeof *g) == 0, "two runs on 3 threads differ");
        hs_train_model_free(tm);
    }
    free(g1), free(z1), free(r1), free(g3);
    return TEST_PASS;
}

/* Byte-for-byte equal files (1) or not (0). */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* A small repetitive corpus (about 13 KB) in dir/corpus.txt, its path into path; 0 on success. */
static int write_pigs_corpus(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/corpus.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < 300; i++)
        fprintf(f, "%d little pigs went to market, %d stayed home. ", i % 7, i % 5);
    return fclose(f) == 0 ? 0 : -1;
}

/* A run stopped with --stop-after and continued with --resume writes the same weights and log as
 * the uninterrupted run: the optimizer state is saved, and each step's batches depend only on the
 * seed and the step. */
int test_train_cli_resume(void)
{
    char dir[600], cmd[2048], out[8192], a[800], b[800];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char corpus[700];
    CHECK(write_pigs_corpus(dir, corpus, sizeof corpus) == 0);
    const char *opts = "--layers 2 --d-model 32 --heads 2 --ctx 32 --batch 4 --threads 2 --eval-every 4";
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/whole %s --steps 12", corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/part %s --steps 12 --stop-after 5", corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK(strstr(out, "after step 5 of 12") != NULL);
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/part --out %s/resumed --threads 2", corpus, dir, dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK(strstr(out, "resuming at step 5") != NULL);
    snprintf(a, sizeof a, "%s/whole/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/resumed/model.safetensors", dir);
    CHECK_MSG(same_file(a, b), "resumed weights differ from the uninterrupted run's");
    snprintf(a, sizeof a, "%s/whole/optimizer.safetensors", dir);
    snprintf(b, sizeof b, "%s/resumed/optimizer.safetensors", dir);
    CHECK(same_file(a, b));
    /* periodic saves along the way change nothing */
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/saved %s --steps 12 --save-every 5", corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK(strstr(out, "saved") && strstr(out, "at step 10"));
    snprintf(a, sizeof a, "%s/whole/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/saved/model.safetensors", dir);
    CHECK(same_file(a, b));
    /* the log: the same rows (tokens/s aside) */
    char sh[2200];
    snprintf(sh, sizeof sh, "bash -c 'cmp <(cut -d, -f1-4 %s/whole/train_log.csv) <(cut -d, -f1-4 %s/resumed/train_log.csv)'",
             dir, dir);
    CHECK_MSG(system(sh) == 0, "the resumed log differs");
    /* refusals name the option */
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/resumed --out %s/x", corpus, dir, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) != 0 && strstr(out, "--steps"));
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/part --out %s/x --d-model 64", corpus, dir, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 2 && strstr(out, "--d-model"));
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s --out %s/x", corpus, dir, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) != 0 && strstr(out, "--resume"));
    return TEST_PASS;
}

/* --init MODEL starts a new run from a trained model: with a zero learning rate the weights come back
 * unchanged and the validation loss is the source run's (so the tokenizer and shape were taken over
 * too); with a learning rate it trains on from there, far below a fresh model's first loss. */
int test_train_cli_init(void)
{
    char dir[600], cmd[4096], out[8192], a[800], b[800];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char corpus[700];
    CHECK(write_pigs_corpus(dir, corpus, sizeof corpus) == 0);
    snprintf(cmd, sizeof cmd,
             "train --corpus %s --out %s/src --layers 2 --d-model 32 --heads 2 --ctx 32 --batch 4 --threads 1 "
             "--steps 40 --lr 3e-3 --eval-every 40",
             corpus, dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    const char *src_val = strstr(out, "validation loss ");
    CHECK(src_val);
    double v_src = atof(src_val + 16);
    snprintf(cmd, sizeof cmd,
             "train --init %s/src --corpus %s --out %s/same --batch 4 --threads 1 --steps 3 --lr 0 --min-lr 0 "
             "--eval-every 3",
             dir, corpus, dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(a, sizeof a, "%s/src/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/same/model.safetensors", dir);
    CHECK_MSG(same_file(a, b), "--init with lr 0 changed the weights");
    const char *same_val = strstr(out, "validation loss ");
    CHECK(same_val && fabs(atof(same_val + 16) - v_src) < 1e-3);
    snprintf(cmd, sizeof cmd,
             "train --init %s/src --corpus %s --out %s/tuned --batch 4 --threads 1 --steps 10 --lr 1e-3 --eval-every 10",
             dir, corpus, dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(a, sizeof a, "%s/tuned/train_log.csv", dir);
    FILE *f = fopen(a, "r");
    char line[256];
    double first_loss = 0;
    CHECK(f && fgets(line, sizeof line, f) && fgets(line, sizeof line, f) &&
          sscanf(line, "%*d,%*[^,],%lf", &first_loss) == 1);
    fclose(f);
    CHECK_MSG(first_loss < v_src + 0.3 && first_loss < log(257.0) - 1, "first fine-tuning loss %g (source's validation "
              "loss %g, a fresh model's about %g)", first_loss, v_src, log(257.0));
    /* refusals */
    snprintf(cmd, sizeof cmd, "train --init %s/src --corpus %s --out %s/x --layers 3", dir, corpus, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 2 && strstr(out, "--init") && strstr(out, "--layers"));
    snprintf(cmd, sizeof cmd, "train --init %s/src --resume %s/src --corpus %s --out %s/x", dir, dir, corpus, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 2 && strstr(out, "one"));
    snprintf(cmd, sizeof cmd, "train --init %s/nothing --corpus %s --out %s/x", dir, corpus, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) != 0 && strstr(out, "--init") && strstr(out, "nothing"));
    return TEST_PASS;
}

/* Names of the entries of dir, sorted and joined by spaces, into buf (the shell's ls -A). */
static int list_dir(const char *dir, char *buf, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | tr '\\n' ' '", dir);
    return test_run_shell(cmd, buf, cap);
}

/* train --out writes only into a new or empty folder, or into the folder its --resume names (the
 * run's own output): a folder of someone's files or another model (issue 14: `--out models/tasks-4l`
 * replaced the demo model and deleted its tokenizer_config.json) is refused, naming --out and
 * --force, and left as it was; --force writes into it. */
int test_train_cli_out_folder(void)
{
    char dir[600], cmd[4096], out[8192], corpus[700], path[800], ls[2048];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(write_pigs_corpus(dir, corpus, sizeof corpus) == 0);
    const char *opts = "--layers 1 --d-model 16 --heads 2 --ctx 16 --batch 2 --threads 1";
    /* a folder of someone's files */
    snprintf(cmd, sizeof cmd, "mkdir %s/notes && echo mine > %s/notes/keep.txt", dir, dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/notes %s --steps 2", corpus, dir, opts);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "headscope train: --out ") && strstr(out, "/notes") && strstr(out, "--force"), "%s", out);
    snprintf(path, sizeof path, "%s/notes", dir);
    CHECK(list_dir(path, ls, sizeof ls) == 0);
    CHECK_MSG(strcmp(ls, "keep.txt ") == 0, "the refused folder now holds: %s", ls);
    /* an earlier model, with a tokenizer_config.json this corpus would not write */
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/m %s --steps 2", corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "cd %s/m && echo '{}' > tokenizer_config.json && cp model.safetensors ../m.safetensors",
             dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/m %s --steps 3 --seed 1", corpus, dir, opts);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "--out ") && strstr(out, "/m") && strstr(out, "--force") && strstr(out, "--resume"), "%s",
              out);
    char a[800], b[800];
    snprintf(a, sizeof a, "%s/m/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/m.safetensors", dir);
    CHECK_MSG(same_file(a, b), "the refused run changed the model");
    snprintf(path, sizeof path, "%s/m/tokenizer_config.json", dir);
    CHECK_MSG(access(path, F_OK) == 0, "the refused run deleted %s", path);
    /* --resume of another run into it is refused too */
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/part %s --steps 4 --stop-after 2", corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/part --out %s/m", corpus, dir, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "--out ") && strstr(out, "--force"), "%s", out);
    CHECK(same_file(a, b));
    /* ... and allowed into its own folder */
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/part --out %s/part/", corpus, dir, dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0 && strstr(out, "after step 4 of 4"), "%s", out);
    /* --force replaces the model */
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/m %s --steps 3 --seed 1 --force", corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK(!same_file(a, b));
    /* an empty folder needs no --force; a file is no folder */
    snprintf(cmd, sizeof cmd, "mkdir %s/empty", dir);
    CHECK(test_run_shell(cmd, out, sizeof out) == 0);
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/empty %s --steps 2", corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s %s --steps 2 --force", corpus, corpus, opts);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "--out ") && strstr(out, "not a folder"), "%s", out);
    /* --help documents --force */
    CHECK(test_run_headscope("train --help", out, sizeof out) == 0 && strstr(out, "--force"));
    return TEST_PASS;
}

/* --resume keeps the saved run's learning-rate schedule (issue 14: a larger --steps re-stretched the
 * cosine, the rate jumping up from its floor): a changed --steps, --lr, --min-lr or --warmup is refused,
 * pointing to --init for a new run; the same values are accepted, and the schedule is printed. */
int test_train_cli_resume_schedule(void)
{
    char dir[600], cmd[4096], out[8192], corpus[700];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    CHECK(write_pigs_corpus(dir, corpus, sizeof corpus) == 0);
    const char *opts = "--layers 1 --d-model 16 --heads 2 --ctx 16 --batch 2 --threads 1";
    snprintf(cmd, sizeof cmd, "train --corpus %s --out %s/part %s --steps 12 --stop-after 5 --warmup 2 --lr 2e-3",
             corpus, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "schedule: 12 steps, warmup 2 steps to lr 2.00e-03, cosine decay to 2.00e-04"), "%s", out);
    const char *changed[] = {"--steps 20", "--steps 8", "--lr 1e-3", "--min-lr 0", "--warmup 0"};
    for (int i = 0; i < 5; i++) {
        snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/part --out %s/x %s", corpus, dir, dir, changed[i]);
        int rc = test_run_headscope(cmd, out, sizeof out);
        char opt[32];
        snprintf(opt, sizeof opt, "%.*s", (int)strcspn(changed[i], " "), changed[i]);
        CHECK_MSG(rc == 2 && strstr(out, opt) && strstr(out, "--init") && strstr(out, "12-step"), "%s: rc %d: %s",
                  changed[i], rc, out);
        snprintf(cmd, sizeof cmd, "%s/x", dir);
        CHECK_MSG(access(cmd, F_OK) != 0, "%s: the refused resume wrote %s", changed[i], cmd);
    }
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/part --out %s/part --steps 12 --lr 0.002 --warmup 2",
             corpus, dir, dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "resuming at step 5 of a 12-step schedule: warmup 2 steps to lr 2.00e-03, cosine decay to "
                          "2.00e-04"),
              "%s", out);
    CHECK(strstr(out, "after step 12 of 12"));
    /* a finished run cannot be resumed; the message says how to train on */
    snprintf(cmd, sizeof cmd, "train --corpus %s --resume %s/part --out %s/x", corpus, dir, dir);
    CHECK(test_run_headscope(cmd, out, sizeof out) == 2);
    CHECK_MSG(strstr(out, "12 of 12") && strstr(out, "--init"), "%s", out);
    return TEST_PASS;
}

/* The BOS rule of a trained model: a corpus that separates documents with <|endoftext|> taught the
 * model that text begins after it, so the checkpoint says prompts begin with it
 * (tokenizer_config.json) and every command prepends it; a corpus without it (or bytes) says
 * nothing, and a rerun into the same folder removes a stale rule. */
int test_train_bos_rule(void)
{
    char dir[600], cmd[4096], out[8192], corpus[700], tok[800], cfg[800];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(tok, sizeof tok, "%s/tokenizer.json", dir);
    CHECK(write_pigs_corpus(dir, corpus, sizeof corpus) == 0);
    char docs[700];
    snprintf(docs, sizeof docs, "%s/docs.txt", dir);
    FILE *f = fopen(docs, "w");
    CHECK(f != NULL);
    for (int i = 0; i < 300; i++)
        fprintf(f, "%d little pigs went to market.<|endoftext|>", i % 7);
    fclose(f);
    snprintf(cmd, sizeof cmd, "tokenizer train --corpus %s --vocab-size 500 --out %s", docs, tok);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    const char *opts = "--layers 1 --d-model 16 --heads 2 --ctx 16 --batch 2 --threads 1 --steps 2";
    snprintf(cmd, sizeof cmd, "train --corpus %s --tokenizer %s --out %s/m %s", docs, tok, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(cfg, sizeof cfg, "%s/m/tokenizer_config.json", dir);
    size_t n = 0;
    char *text = NULL;
    hs_error err = {0};
    CHECK_OK(hs_read_file(cfg, &text, &n, &err), &err);
    CHECK_MSG(strstr(text, "\"add_bos_token\": true"), "%s: %s", cfg, text);
    free(text);
    snprintf(cmd, sizeof cmd, "tokenize --model %s/m --bos --json 'little'", dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0 && strstr(out, "\"<|endoftext|>\""), "%s", out);
    /* the same folder retrained (--force) on a corpus without the token: the rule goes */
    snprintf(cmd, sizeof cmd, "train --corpus %s --tokenizer %s --out %s/m %s --force", corpus, tok, dir, opts);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0, "%s", out);
    CHECK(access(cfg, F_OK) != 0);
    snprintf(cmd, sizeof cmd, "tokenize --model %s/m --bos --json 'little'", dir);
    CHECK_MSG(test_run_headscope(cmd, out, sizeof out) == 0 && !strstr(out, "endoftext"), "%s", out);
    return TEST_PASS;
}

/* Bad input is refused with a message naming what is wrong; nothing is computed. */
int test_train_bad_input(void)
{
    hs_error err = {0};
    hs_gpt2_dims d = {1, 8, 2, 10, 4};
    hs_train_model *tm;
    CHECK(hs_train_model_new(&d, 2, 5, HS_BACKEND_CPU, &tm, &err) == HS_ERR_RANGE && strstr(err.msg, "context"));
    hs_gpt2_dims bad = {1, 8, 3, 10, 4};
    CHECK(hs_train_model_new(&bad, 2, 4, HS_BACKEND_CPU, &tm, &err) == HS_ERR_RANGE && strstr(err.msg, "heads"));
    CHECK_OK(hs_train_model_new(&d, 2, 4, HS_BACKEND_CPU, &tm, &err), &err);
    int32_t ids[8] = {1, 2, 3, 4, 5, 6, 10, 0}, tg[8] = {2, 3, 4, 5, 6, 7, 8, -2};
    CHECK(hs_train_forward(tm, ids, NULL, 2, 4, NULL, &err) == HS_ERR_RANGE && strstr(err.msg, "batch 1, position 2"));
    ids[6] = 7;
    CHECK(hs_train_forward(tm, ids, tg, 2, 4, NULL, &err) == HS_ERR_RANGE && strstr(err.msg, "target -2"));
    CHECK(hs_train_forward(tm, ids, NULL, 3, 4, NULL, &err) == HS_ERR_RANGE);
    CHECK_OK(hs_train_forward(tm, ids, NULL, 2, 4, NULL, &err), &err);
    CHECK(hs_train_backward(tm, &err) == HS_ERR_ARG && strstr(err.msg, "targets"));
    tg[7] = -1;
    float loss;
    CHECK_OK(hs_train_forward(tm, ids, tg, 2, 4, &loss, &err), &err);
    CHECK_OK(hs_train_backward(tm, &err), &err);
    CHECK(hs_train_backward(tm, &err) == HS_ERR_ARG); /* the logits are now dlogits */
    CHECK(hs_train_set_threads(tm, 0, &err) == HS_ERR_RANGE);
    CHECK(hs_train_grad_z(tm, 0) == NULL); /* not kept */
    hs_train_model_free(tm);
    hs_train_model_free(NULL);
    return TEST_PASS;
}
