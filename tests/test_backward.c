/* test_backward.c — the inference model's backward pass (hs_forward_tape, hs_backward): gradients at
 * every hook point against PyTorch autograd on the parity fixtures (tests/fixtures/grad/, made by
 * tools/gen_grad_ref.py), against central finite differences through an intervention on every
 * architecture, and against the GPT-2 training code's own activation gradients.
 *
 * The metric is the fixtures' one: L = Σ_b logits[b, -1, answer] - logits[b, -1, wrong], so
 * dL/dlogits is +1 at (b, T-1, answer), -1 at (b, T-1, wrong), 0 elsewhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "tests/test.h"
#include "train/checkpoint.h"
#include "train/gpt2_train.h"
#include "train/ops_backward.h"

/* ---------------------------------------------------------------- capturing tensors by hook name */

typedef struct bw_tensor {
    char name[96];
    int ndim;
    int64_t shape[HS_MAX_DIMS];
    float *data;
    size_t n;
} bw_tensor;

typedef struct bw_capture {
    bw_tensor t[256];
    int n;
} bw_capture;

static hs_status bw_observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    bw_capture *c = user;
    if (c->n == (int)(sizeof c->t / sizeof c->t[0]))
        return HS_ERR_RANGE;
    bw_tensor *o = &c->t[c->n];
    hs_hook_point_name(hp, o->name, sizeof o->name);
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->t[i].name, o->name) == 0)
            return HS_ERR_INTERNAL; /* a hook's gradient is delivered once */
    o->ndim = t->ndim;
    memcpy(o->shape, t->shape, sizeof o->shape);
    o->n = (size_t)hs_tensor_numel(t);
    if (!(o->data = malloc(o->n * sizeof(float))))
        return HS_ERR_NOMEM;
    memcpy(o->data, t->data, o->n * sizeof(float));
    c->n++;
    return HS_OK;
}

static const bw_tensor *bw_find(const bw_capture *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->t[i].name, name) == 0)
            return &c->t[i];
    return NULL;
}

static void bw_capture_free(bw_capture *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->t[i].data);
    c->n = 0;
}

/* A fixture: its model, reference archive, ids and the metric's tokens. */
typedef struct bw_fixture {
    hs_model *m;
    hs_st_archive *ref;
    int32_t ids[64];
    int B, T, answer, wrong;
} bw_fixture;

static int bw_open(const char *name, bw_fixture *fx)
{
    hs_error err = {0};
    char dir[4096], ref[4200];
    snprintf(dir, sizeof dir, "%s/%s", test_src_path("tests/fixtures/models"), name);
    snprintf(ref, sizeof ref, "%s/%s.safetensors", test_src_path("tests/fixtures/grad"), name);
    memset(fx, 0, sizeof *fx);
    CHECK_OK(hs_model_open(dir, NULL, &fx->m, &err), &err);
    CHECK_OK(hs_st_open(ref, &fx->ref, &err), &err);
    const hs_st_tensor *it = hs_st_find(fx->ref, "input_ids"), *a = hs_st_find(fx->ref, "answer"),
                       *w = hs_st_find(fx->ref, "wrong");
    CHECK(it && it->dtype == HS_DTYPE_I32 && it->ndim == 2 && it->shape[0] * it->shape[1] <= 64 && a && w);
    fx->B = (int)it->shape[0];
    fx->T = (int)it->shape[1];
    memcpy(fx->ids, it->data, (size_t)fx->B * fx->T * sizeof(int32_t));
    memcpy(&fx->answer, a->data, sizeof(int32_t));
    memcpy(&fx->wrong, w->data, sizeof(int32_t));
    CHECK(fx->answer < fx->m->cfg.d_vocab && fx->wrong < fx->m->cfg.d_vocab);
    return TEST_PASS;
}

static void bw_close(bw_fixture *fx)
{
    hs_model_close(fx->m);
    hs_st_close(fx->ref);
}

/* dL/dlogits of the logit difference (caller frees), and the metric of given logits in double. */
static float *bw_dlogits(const bw_fixture *fx)
{
    int V = fx->m->cfg.d_vocab;
    float *g = calloc((size_t)fx->B * fx->T * V, sizeof(float));
    for (int b = 0; g && b < fx->B; b++) {
        g[((size_t)b * fx->T + fx->T - 1) * V + fx->answer] += 1.0f;
        g[((size_t)b * fx->T + fx->T - 1) * V + fx->wrong] -= 1.0f;
    }
    return g;
}

static double bw_metric(const bw_fixture *fx, const float *logits)
{
    int V = fx->m->cfg.d_vocab;
    double s = 0;
    for (int b = 0; b < fx->B; b++) {
        const float *z = logits + ((size_t)b * fx->T + fx->T - 1) * V;
        s += (double)z[fx->answer] - (double)z[fx->wrong];
    }
    return s;
}

/* Runs the tape forward and the backward with `grads` observing "*" into cap; logits [B, T, V]. */
static int bw_run(bw_fixture *fx, hs_hooks *fwd_hooks, bw_capture *cap, float *logits)
{
    hs_error err = {0};
    hs_tape *tape = NULL;
    hs_hooks *grads = NULL;
    float *dl = bw_dlogits(fx);
    CHECK(dl);
    hs_batch batch = {.ids = fx->ids, .n_batch = fx->B, .n_pos = fx->T};
    CHECK_OK(hs_forward_tape(fx->m, &batch, fwd_hooks, HS_BACKEND_CPU, logits, &tape, &err), &err);
    CHECK_OK(hs_hooks_new(&grads, &err), &err);
    CHECK_OK(hs_hooks_observe(grads, "*", bw_observe, cap, &err), &err);
    CHECK_OK(hs_backward(tape, dl, grads, &err), &err);
    hs_hooks_free(grads);
    hs_tape_free(tape);
    free(dl);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- against PyTorch autograd */

/* Tolerance of the normalised error max|c - torch| / max|torch| per hook: both sides are float32
 * with different summation orders; the generator measures float32 against float64 at <= 3.2e-6
 * for every hook of every fixture, so 2e-5 is that floor on both sides with a margin of ~3. */
#define BW_TOL 2e-5

static int bw_against_torch(const char *name)
{
    bw_fixture fx;
    if (bw_open(name, &fx) != TEST_PASS)
        return TEST_FAIL;
    static bw_capture cap;
    float *logits = malloc((size_t)fx.B * fx.T * fx.m->cfg.d_vocab * sizeof(float));
    CHECK(logits);
    if (bw_run(&fx, NULL, &cap, logits) != TEST_PASS)
        return TEST_FAIL;
    const hs_st_tensor *mt = hs_st_find(fx.ref, "metric");
    CHECK(mt && mt->dtype == HS_DTYPE_F32);
    float ref_metric;
    memcpy(&ref_metric, mt->data, sizeof ref_metric);
    CHECK_NEAR(bw_metric(&fx, logits), ref_metric, 1e-5 * (1 + fabs(ref_metric)));

    int n_cmp = 0, n_fail = 0;
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < hs_st_count(fx.ref); i++) {
        const hs_st_tensor *rt = hs_st_at(fx.ref, i);
        if (strncmp(rt->name, "grad.", 5) != 0)
            continue;
        const bw_tensor *o = bw_find(&cap, rt->name + 5);
        CHECK_MSG(o, "%s: no gradient delivered at %s", name, rt->name + 5);
        CHECK_MSG(o->ndim == rt->ndim, "%s: %s has %d dims, reference %d", name, o->name, o->ndim, rt->ndim);
        for (int d = 0; d < o->ndim; d++)
            CHECK_MSG(o->shape[d] == rt->shape[d], "%s: %s dim %d is %lld, reference %lld", name, o->name, d,
                      (long long)o->shape[d], (long long)rt->shape[d]);
        float *ref = malloc(o->n * sizeof(float));
        CHECK(ref && hs_convert_to_f32(rt->dtype, rt->data, ref, o->n) == 0);
        double e = test_norm_err(o->data, ref, o->n);
        free(ref);
        n_cmp++;
        if (getenv("HS_GRAD_VERBOSE"))
            fprintf(stderr, "%s: %s: normalised error %.3g\n", name, o->name, e);
        if (!(e <= BW_TOL)) {
            fprintf(stderr, "%s: %s: normalised error %.3g > %.3g\n", name, o->name, e, BW_TOL);
            n_fail++;
        }
        if (!(e <= worst)) {
            worst = e;
            worst_name = rt->name + 5;
        }
    }
    fprintf(stderr, "%s: %d gradients compared with PyTorch, worst %s %.3g (tol %.3g)\n", name, n_cmp, worst_name,
            worst, BW_TOL);
    CHECK(n_cmp >= 39);
    /* the hooks PyTorch has no tensor for are checked by finite differences; all are delivered */
    CHECK(bw_find(&cap, "blocks.0.attn.hook_result") && bw_find(&cap, "blocks.1.ln1.hook_scale"));
    bw_capture_free(&cap);
    free(logits);
    bw_close(&fx);
    return n_fail ? TEST_FAIL : TEST_PASS;
}

int test_backward_torch_gpt2(void) { return bw_against_torch("gpt2"); }
int test_backward_torch_llama(void) { return bw_against_torch("llama"); }
int test_backward_torch_qwen2(void) { return bw_against_torch("qwen2"); }
int test_backward_torch_mistral(void) { return bw_against_torch("mistral"); }
int test_backward_torch_neox(void) { return bw_against_torch("neox"); }
int test_backward_torch_neox_seq(void) { return bw_against_torch("neox_seq"); }

/* ---------------------------------------------------------------- finite differences */

/* Adds delta at one flat index of the hook's tensor: the perturbed activation the rest of the
 * forward then uses. */
typedef struct bw_nudge {
    size_t at;
    float delta;
} bw_nudge;

static hs_status bw_nudge_fn(void *user, const hs_hook_point *hp, hs_tensor *t)
{
    (void)hp;
    const bw_nudge *n = user;
    if (n->at >= (size_t)hs_tensor_numel(t))
        return HS_ERR_RANGE;
    t->data[n->at] += n->delta;
    return HS_OK;
}

static int bw_fd_metric(bw_fixture *fx, const char *hook, size_t at, float delta, float *logits, double *out)
{
    hs_error err = {0};
    hs_hooks *h;
    bw_nudge nd = {at, delta};
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    CHECK_OK(hs_hooks_intervene_fn(h, hook, bw_nudge_fn, &nd, &err), &err);
    hs_batch batch = {.ids = fx->ids, .n_batch = fx->B, .n_pos = fx->T};
    CHECK_OK(hs_forward(fx->m, &batch, h, HS_BACKEND_CPU, logits, &err), &err);
    hs_hooks_free(h);
    *out = bw_metric(fx, logits);
    return TEST_PASS;
}

/* At each hook, the three elements with the largest |gradient| (where a wrong gradient shows
 * most), perturbed by ±h with h = 1e-3·max|activation|: central differences in a float32 pass
 * have truncation ~h² and rounding ~1e-7·|L|/h, both below 1e-3 of the hook's largest gradient
 * here; the tolerance, 1e-2 of it, fails a gradient off by a few percent. */
static int bw_fd_fixture(const char *name)
{
    static const char *const hooks[] = {
        "hook_embed", "blocks.0.hook_resid_pre", "blocks.0.ln1.hook_scale", "blocks.0.ln1.hook_normalized",
        "blocks.0.attn.hook_q", "blocks.0.attn.hook_k", "blocks.0.attn.hook_v", "blocks.0.attn.hook_rot_q",
        "blocks.0.attn.hook_rot_k", "blocks.1.attn.hook_attn_scores", "blocks.1.attn.hook_pattern",
        "blocks.0.attn.hook_z", "blocks.1.attn.hook_result", "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid",
        "blocks.1.ln2.hook_scale", "blocks.0.ln2.hook_normalized", "blocks.0.mlp.hook_pre",
        "blocks.1.mlp.hook_pre_linear", "blocks.0.mlp.hook_post", "blocks.1.hook_mlp_out",
        "blocks.0.hook_resid_post", "ln_final.hook_scale", "ln_final.hook_normalized", "hook_pos_embed"};
    bw_fixture fx;
    if (bw_open(name, &fx) != TEST_PASS)
        return TEST_FAIL;
    hs_error err = {0};
    static bw_capture grads, acts;
    float *logits = malloc((size_t)fx.B * fx.T * fx.m->cfg.d_vocab * sizeof(float));
    hs_hooks *fh;
    CHECK(logits);
    CHECK_OK(hs_hooks_new(&fh, &err), &err);
    CHECK_OK(hs_hooks_observe(fh, "*", bw_observe, &acts, &err), &err);
    if (bw_run(&fx, fh, &grads, logits) != TEST_PASS)
        return TEST_FAIL;
    hs_hooks_free(fh);
    int n_checked = 0, n_fail = 0;
    double worst = 0;
    for (size_t k = 0; k < sizeof hooks / sizeof hooks[0]; k++) {
        const bw_tensor *g = bw_find(&grads, hooks[k]), *a = bw_find(&acts, hooks[k]);
        if (!a) /* the architecture has no such hook (resid_mid when parallel, rot_q without rotary, ...) */
            continue;
        CHECK_MSG(g && g->n == a->n, "%s: %s: no gradient of the activation's size", name, hooks[k]);
        double gmax = 0, amax = 0;
        for (size_t i = 0; i < g->n; i++) {
            gmax = fmax(gmax, fabs(g->data[i]));
            amax = fmax(amax, isfinite(a->data[i]) ? fabs(a->data[i]) : 0);
        }
        CHECK_MSG(gmax > 0, "%s: %s: gradient is all zero", name, hooks[k]);
        float h = (float)(1e-3 * amax);
        size_t top[3] = {0, 0, 0};
        for (int r = 0; r < 3; r++) {
            double best = -1;
            for (size_t i = 0; i < g->n; i++) {
                int taken = 0;
                for (int q = 0; q < r; q++)
                    taken |= top[q] == i;
                if (!taken && fabs(g->data[i]) > best) {
                    best = fabs(g->data[i]);
                    top[r] = i;
                }
            }
        }
        for (int r = 0; r < 3; r++) {
            double mp, mm;
            if (bw_fd_metric(&fx, hooks[k], top[r], h, logits, &mp) != TEST_PASS ||
                bw_fd_metric(&fx, hooks[k], top[r], -h, logits, &mm) != TEST_PASS)
                return TEST_FAIL;
            /* the step actually taken in float32 */
            float xp = a->data[top[r]] + h, xm = a->data[top[r]] - h;
            double fd = (mp - mm) / ((double)xp - (double)xm);
            double e = fabs(fd - g->data[top[r]]) / gmax;
            worst = fmax(worst, e);
            n_checked++;
            if (!(e <= 1e-2)) {
                fprintf(stderr, "%s: %s[%zu]: finite difference %.6g, gradient %.6g (error %.3g of max |grad| %.3g)\n",
                        name, hooks[k], top[r], fd, (double)g->data[top[r]], e, gmax);
                n_fail++;
            }
        }
    }
    fprintf(stderr, "%s: %d finite differences, worst error %.3g of the hook's max |gradient|\n", name, n_checked,
            worst);
    CHECK(n_checked >= 3 * 19);
    bw_capture_free(&grads);
    bw_capture_free(&acts);
    free(logits);
    bw_close(&fx);
    return n_fail ? TEST_FAIL : TEST_PASS;
}

int test_backward_finite_differences(void)
{
    static const char *const names[] = {"gpt2", "llama", "qwen2", "mistral", "neox", "neox_seq"};
    int rc = TEST_PASS;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (bw_fd_fixture(names[i]) != TEST_PASS)
            rc = TEST_FAIL;
    return rc;
}

/* ---------------------------------------------------------------- the training code's gradients */

/* GPT-2: for the gradient of the training loss (the cross-entropy's dlogits handed to hs_backward),
 * the inference backward and train/gpt2_train.c agree at resid_pre of every layer, the input of
 * ln_final, hook_z and hook_pattern. Two implementations in float32 with different summation
 * orders: 1e-5 normalised. */
int test_backward_matches_training_gpt2(void)
{
    bw_fixture fx;
    if (bw_open("gpt2", &fx) != TEST_PASS)
        return TEST_FAIL;
    hs_error err = {0};
    hs_gpt2_dims d;
    CHECK_OK(hs_train_dims_of_model(fx.m, &d, &err), &err);
    hs_train_model *tm;
    CHECK_OK(hs_train_model_new(&d, fx.B, fx.T, HS_BACKEND_CPU, &tm, &err), &err);
    CHECK_OK(hs_train_load_model(tm, fx.m, &err), &err);
    CHECK_OK(hs_train_keep_activation_grads(tm, 1, &err), &err);
    int N = fx.B * fx.T, V = fx.m->cfg.d_vocab, L = fx.m->cfg.n_layers;
    int32_t targets[64];
    for (int i = 0; i < N; i++)
        targets[i] = fx.ids[(i + 1) % N];
    float loss;
    CHECK_OK(hs_train_forward(tm, fx.ids, targets, fx.B, fx.T, &loss, &err), &err);
    float *dl = malloc((size_t)N * V * sizeof(float));
    CHECK(dl);
    hs_cross_entropy(dl, hs_train_logits(tm), targets, N, V, 0, NULL);
    CHECK_OK(hs_train_backward(tm, &err), &err);

    static bw_capture cap;
    hs_tape *tape;
    hs_hooks *grads;
    hs_batch batch = {.ids = fx.ids, .n_batch = fx.B, .n_pos = fx.T};
    CHECK_OK(hs_forward_tape(fx.m, &batch, NULL, HS_BACKEND_CPU, NULL, &tape, &err), &err);
    CHECK_OK(hs_hooks_new(&grads, &err), &err);
    CHECK_OK(hs_hooks_observe(grads, "*", bw_observe, &cap, &err), &err);
    CHECK_OK(hs_backward(tape, dl, grads, &err), &err);
    double worst = 0;
    for (int l = 0; l <= L; l++) {
        char name[64];
        if (l < L)
            snprintf(name, sizeof name, "blocks.%d.hook_resid_pre", l);
        else /* the input of ln_final */
            snprintf(name, sizeof name, "blocks.%d.hook_resid_post", L - 1);
        bw_tensor *g = (bw_tensor *)bw_find(&cap, name);
        CHECK(g && hs_train_grad_resid_pre(tm, l));
        double e = test_norm_err(g->data, hs_train_grad_resid_pre(tm, l), g->n);
        CHECK_MSG(e <= 1e-5, "%s: normalised error %.3g against the training code", name, e);
        worst = fmax(worst, e);
        if (l == L)
            break;
        snprintf(name, sizeof name, "blocks.%d.attn.hook_z", l);
        CHECK((g = (bw_tensor *)bw_find(&cap, name)) != NULL);
        e = test_norm_err(g->data, hs_train_grad_z(tm, l), g->n);
        CHECK_MSG(e <= 1e-5, "%s: normalised error %.3g against the training code", name, e);
        worst = fmax(worst, e);
        snprintf(name, sizeof name, "blocks.%d.attn.hook_pattern", l);
        CHECK((g = (bw_tensor *)bw_find(&cap, name)) != NULL);
        /* the training code keeps the causal part only (0 above the diagonal); ours is dense */
        for (size_t r = 0; r < g->n / (size_t)fx.T; r++)
            for (int j = (int)(r % (size_t)fx.T) + 1; j < fx.T; j++)
                g->data[r * fx.T + j] = 0.0f;
        e = test_norm_err(g->data, hs_train_grad_pattern(tm, l), g->n);
        CHECK_MSG(e <= 1e-5, "%s: normalised error %.3g against the training code", name, e);
        worst = fmax(worst, e);
    }
    fprintf(stderr, "gpt2: backward vs training code, worst normalised error %.3g\n", worst);
    hs_hooks_free(grads);
    hs_tape_free(tape);
    hs_train_model_free(tm);
    bw_capture_free(&cap);
    free(dl);
    bw_close(&fx);
    return TEST_PASS;
}

/* Gradient interventions act before the gradient flows on: zeroing dL/d(hook_attn_out) of both
 * layers leaves only the MLP paths, so resid_pre of layer 0 changes while mlp_out's is untouched;
 * and an intervention in the forward hook set still reaches the tape (the logits change). */
int test_backward_interventions(void)
{
    bw_fixture fx;
    if (bw_open("llama", &fx) != TEST_PASS)
        return TEST_FAIL;
    hs_error err = {0};
    static bw_capture plain, cut;
    float *logits = malloc((size_t)fx.B * fx.T * fx.m->cfg.d_vocab * sizeof(float));
    float *dl = bw_dlogits(&fx);
    CHECK(logits && dl);
    if (bw_run(&fx, NULL, &plain, logits) != TEST_PASS)
        return TEST_FAIL;
    hs_tape *tape;
    hs_hooks *grads;
    hs_batch batch = {.ids = fx.ids, .n_batch = fx.B, .n_pos = fx.T};
    CHECK_OK(hs_forward_tape(fx.m, &batch, NULL, HS_BACKEND_CPU, NULL, &tape, &err), &err);
    CHECK_OK(hs_hooks_new(&grads, &err), &err);
    CHECK_OK(hs_hooks_intervene(grads, "blocks.0.hook_attn_out", HS_OP_ZERO, -1, 0, NULL, &err), &err);
    CHECK_OK(hs_hooks_intervene(grads, "blocks.1.hook_attn_out", HS_OP_ZERO, -1, 0, NULL, &err), &err);
    CHECK_OK(hs_hooks_observe(grads, "*", bw_observe, &cut, &err), &err);
    CHECK_OK(hs_backward(tape, dl, grads, &err), &err);
    const bw_tensor *a = bw_find(&plain, "blocks.1.hook_mlp_out"), *b = bw_find(&cut, "blocks.1.hook_mlp_out");
    CHECK(a && b && memcmp(a->data, b->data, a->n * sizeof(float)) == 0);
    a = bw_find(&plain, "blocks.0.attn.hook_z");
    b = bw_find(&cut, "blocks.0.attn.hook_z");
    CHECK(a && b);
    for (size_t i = 0; i < b->n; i++)
        CHECK(b->data[i] == 0.0f);
    a = bw_find(&plain, "blocks.0.hook_resid_pre");
    b = bw_find(&cut, "blocks.0.hook_resid_pre");
    CHECK(a && b && test_norm_err(b->data, a->data, a->n) > 1e-3);
    hs_hooks_free(grads);
    hs_tape_free(tape);
    CHECK(hs_backward(NULL, dl, NULL, &err) == HS_ERR_ARG);
    bw_capture_free(&plain);
    bw_capture_free(&cut);
    free(dl);
    free(logits);
    bw_close(&fx);
    return TEST_PASS;
}
