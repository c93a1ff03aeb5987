/* test_split_qkv.c — the per-head attention inputs blocks.L.hook_q_input / hook_k_input / hook_v_input:
 * values, an intervention's logits and gradients against TransformerLens 4.3 with use_split_qkv_input
 * (tests/fixtures/split_qkv/, made by tools/gen_split_qkv_ref.py) on gpt2, llama (GQA) and neox
 * (parallel residual); observing them changes nothing, an intervention on one head's copy reaches
 * that head only; gradients against central finite differences and the identity that the copies'
 * gradients, summed over heads and q, k, v, are the gradient reaching resid_pre through ln1; the same
 * for blocks.L.hook_mlp_in (TransformerLens's use_hook_mlp_in: ln2's input, reaching the MLP only).
 *
 * The metric is the fixtures' one: L = Σ_b logits[b, -1, answer] - logits[b, -1, wrong]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "model/model.h"
#include "model/safetensors.h"
#include "tests/test.h"

/* Normalised error max|c - ref| / max|ref| (test_norm_err) allowed against TransformerLens: both are
 * float32 with different summation orders over d_model <= 64; the copies themselves are exact. */
#define SQ_TOL 1e-5
/* gradients: the tolerance of tests/test_backward.c (float32 on both sides, measured <= 3.2e-6) */
#define SQ_GRAD_TOL 2e-5

/* the three per-head inputs, then the MLP's input (hook_mlp_in, [batch, pos, d_model]) */
static const char *const sq_kinds[4] = {"hook_q_input", "hook_k_input", "hook_v_input", "hook_mlp_in"};

typedef struct sq_tensor {
    char name[96];
    int64_t shape[HS_MAX_DIMS];
    float *data;
    size_t n;
} sq_tensor;

typedef struct sq_capture {
    sq_tensor t[64];
    int n;
} sq_capture;

static hs_status sq_observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    sq_capture *c = user;
    if (c->n == (int)(sizeof c->t / sizeof c->t[0]))
        return HS_ERR_RANGE;
    sq_tensor *o = &c->t[c->n++];
    hs_hook_point_name(hp, o->name, sizeof o->name);
    memcpy(o->shape, t->shape, sizeof o->shape);
    o->n = (size_t)hs_tensor_numel(t);
    if (!(o->data = malloc(o->n * sizeof(float))))
        return HS_ERR_NOMEM;
    memcpy(o->data, t->data, o->n * sizeof(float));
    return HS_OK;
}

static const sq_tensor *sq_find(const sq_capture *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].name, name))
            return &c->t[i];
    return NULL;
}

static void sq_free(sq_capture *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->t[i].data);
    c->n = 0;
}

typedef struct sq_fixture {
    hs_model *m;
    hs_st_archive *ref;
    int32_t ids[64];
    int B, T, V, answer, wrong;
} sq_fixture;

static int sq_open(const char *name, sq_fixture *fx)
{
    hs_error err = {0};
    char dir[4096], ref[4200];
    memset(fx, 0, sizeof *fx);
    snprintf(dir, sizeof dir, "%s/%s", test_src_path("tests/fixtures/models"), name);
    snprintf(ref, sizeof ref, "%s/%s.safetensors", test_src_path("tests/fixtures/split_qkv"), name);
    CHECK_OK(hs_model_open(dir, NULL, &fx->m, &err), &err);
    CHECK_OK(hs_st_open(ref, &fx->ref, &err), &err);
    const hs_st_tensor *it = hs_st_find(fx->ref, "input_ids"), *a = hs_st_find(fx->ref, "answer"),
                       *w = hs_st_find(fx->ref, "wrong");
    CHECK(it && it->dtype == HS_DTYPE_I32 && it->ndim == 2 && it->shape[0] * it->shape[1] <= 64 && a && w);
    fx->B = (int)it->shape[0];
    fx->T = (int)it->shape[1];
    fx->V = fx->m->cfg.d_vocab;
    memcpy(fx->ids, it->data, (size_t)fx->B * fx->T * sizeof(int32_t));
    memcpy(&fx->answer, a->data, sizeof(int32_t));
    memcpy(&fx->wrong, w->data, sizeof(int32_t));
    return TEST_PASS;
}

static void sq_close(sq_fixture *fx)
{
    hs_model_close(fx->m);
    hs_st_close(fx->ref);
}

/* The reference tensor `name` as float32 (caller frees), NULL when absent or of another size. */
static float *sq_ref(const sq_fixture *fx, const char *name, size_t n)
{
    const hs_st_tensor *t = hs_st_find(fx->ref, name);
    size_t have = 1;
    for (int i = 0; t && i < t->ndim; i++)
        have *= (size_t)t->shape[i];
    if (!t || have != n)
        return NULL;
    float *v = malloc(n * sizeof(float));
    if (v && hs_convert_to_f32(t->dtype, t->data, v, n) != 0) {
        free(v);
        return NULL;
    }
    return v;
}

static float *sq_dlogits(const sq_fixture *fx)
{
    float *g = calloc((size_t)fx->B * fx->T * fx->V, sizeof(float));
    for (int b = 0; g && b < fx->B; b++) {
        g[((size_t)b * fx->T + fx->T - 1) * fx->V + fx->answer] += 1.0f;
        g[((size_t)b * fx->T + fx->T - 1) * fx->V + fx->wrong] -= 1.0f;
    }
    return g;
}

static double sq_metric(const sq_fixture *fx, const float *logits)
{
    double s = 0;
    for (int b = 0; b < fx->B; b++) {
        const float *z = logits + ((size_t)b * fx->T + fx->T - 1) * fx->V;
        s += (double)z[fx->answer] - (double)z[fx->wrong];
    }
    return s;
}

/* hooks gets observers of the three per-head inputs and hook_mlp_in of every layer into cap. */
static int sq_observe_inputs(hs_hooks *hooks, sq_capture *cap)
{
    hs_error err = {0};
    for (int i = 0; i < 4; i++) {
        char pat[64];
        snprintf(pat, sizeof pat, "blocks.*.%s", sq_kinds[i]);
        CHECK_OK(hs_hooks_observe(hooks, pat, sq_observe, cap, &err), &err);
    }
    return TEST_PASS;
}

/* ---------------------------------------------------------------- against TransformerLens */

static int sq_against_tl(const char *name)
{
    hs_error err = {0};
    sq_fixture fx;
    if (sq_open(name, &fx) != TEST_PASS)
        return TEST_FAIL;
    const hs_config *c = &fx.m->cfg;
    size_t nl = (size_t)fx.B * fx.T * fx.V;
    float *logits = malloc(nl * sizeof(float)), *plain = malloc(nl * sizeof(float));
    float *ref = sq_ref(&fx, "logits", nl);
    CHECK(logits && plain && ref);
    static sq_capture cap, grads;
    hs_hooks *hooks = NULL, *gh = NULL;
    hs_batch batch = {.ids = fx.ids, .n_batch = fx.B, .n_pos = fx.T};

    /* values and gradients of the copies; the tape's forward observes them, so it takes the split path */
    CHECK_OK(hs_hooks_new(&hooks, &err), &err);
    CHECK(sq_observe_inputs(hooks, &cap) == TEST_PASS);
    hs_tape *tape = NULL;
    float *dl = sq_dlogits(&fx);
    CHECK(dl);
    CHECK_OK(hs_forward_tape(fx.m, &batch, hooks, HS_BACKEND_CPU, logits, &tape, &err), &err);
    CHECK_OK(hs_hooks_new(&gh, &err), &err);
    CHECK(sq_observe_inputs(gh, &grads) == TEST_PASS);
    CHECK_OK(hs_backward(tape, dl, gh, &err), &err);
    hs_tape_free(tape);
    CHECK(cap.n == 4 * c->n_layers && grads.n == 4 * c->n_layers);
    double worst = 0, worst_g = 0;
    for (int l = 0; l < c->n_layers; l++)
        for (int i = 0; i < 4; i++) {
            char hn[96], gn[128];
            snprintf(hn, sizeof hn, "blocks.%d.%s", l, sq_kinds[i]);
            snprintf(gn, sizeof gn, "grad.%s", hn);
            const sq_tensor *v = sq_find(&cap, hn), *g = sq_find(&grads, hn);
            CHECK_MSG(v && g, "%s: %s not delivered", name, hn);
            int nh = i == 0 ? c->n_heads : c->n_kv_heads;
            int shaped = i == 3 ? v->shape[2] == c->d_model : v->shape[2] == nh && v->shape[3] == c->d_model;
            CHECK_MSG(v->shape[0] == fx.B && v->shape[1] == fx.T && shaped,
                      "%s: %s has shape [%lld, %lld, %lld, %lld]", name, hn, (long long)v->shape[0],
                      (long long)v->shape[1], (long long)v->shape[2], (long long)v->shape[3]);
            float *rv = sq_ref(&fx, hn, v->n), *rg = sq_ref(&fx, gn, g->n);
            CHECK_MSG(rv && rg, "%s: %s missing from the fixture or of another size", name, hn);
            double e = test_norm_err(v->data, rv, v->n), eg = test_norm_err(g->data, rg, g->n);
            free(rv);
            free(rg);
            CHECK_MSG(e <= SQ_TOL, "%s: %s normalised error %.3g", name, hn, e);
            CHECK_MSG(eg <= SQ_GRAD_TOL, "%s: gradient at %s normalised error %.3g", name, hn, eg);
            worst = e > worst ? e : worst;
            worst_g = eg > worst_g ? eg : worst_g;
        }
    double el = test_norm_err(logits, ref, nl);
    CHECK_MSG(el <= SQ_TOL, "%s: logits with the split path, normalised error %.3g", name, el);
    const hs_st_tensor *mt = hs_st_find(fx.ref, "metric");
    CHECK(mt && mt->dtype == HS_DTYPE_F32);
    float ref_metric;
    memcpy(&ref_metric, mt->data, sizeof ref_metric);
    CHECK_NEAR(sq_metric(&fx, logits), ref_metric, 1e-5 * (1 + fabs(ref_metric)));

    /* blocks.1.hook_k_input[:, :, 1, :] += vector and blocks.0.hook_mlp_in += vector: the logits, and
     * their change from the plain ones, against TransformerLens's */
    CHECK_OK(hs_forward(fx.m, &batch, NULL, HS_BACKEND_CPU, plain, &err), &err);
    for (int a = 0; a < 2; a++) {
        const char *hook = a ? "blocks.0.hook_mlp_in" : "blocks.1.hook_k_input";
        const char *pre = a ? "mlp_add" : "k_add";
        char vn[64], ln[64];
        snprintf(vn, sizeof vn, "%s.vector", pre);
        snprintf(ln, sizeof ln, "%s.logits", pre);
        float *v = sq_ref(&fx, vn, (size_t)c->d_model), *ra = sq_ref(&fx, ln, nl);
        CHECK(v && ra);
        hs_hooks *add = NULL;
        CHECK_OK(hs_hooks_new(&add, &err), &err);
        hs_tensor vt = {.data = v, .ndim = 1, .shape = {c->d_model}};
        CHECK_OK(hs_hooks_intervene(add, hook, HS_OP_ADD, a ? -1 : 1, 0, &vt, &err), &err);
        CHECK_OK(hs_forward(fx.m, &batch, add, HS_BACKEND_CPU, logits, &err), &err);
        hs_hooks_free(add);
        double ea = test_norm_err(logits, ra, nl);
        CHECK_MSG(ea <= SQ_TOL, "%s: logits after the %s intervention, normalised error %.3g", name, hook, ea);
        double moved = 0, dmax = 0;
        for (size_t i = 0; i < nl; i++) {
            double dm = fabs((double)logits[i] - plain[i]), dr = (double)ra[i] - ref[i];
            moved = dm > moved ? dm : moved;
            double e2 = fabs(((double)logits[i] - plain[i]) - dr);
            dmax = e2 > dmax ? e2 : dmax;
        }
        free(v);
        free(ra);
        CHECK_MSG(moved > 1e-3, "%s: the %s intervention moved the logits by only %.3g", name, hook, moved);
        CHECK_MSG(dmax <= 0.01 * moved, "%s: %s: its effect differs from TransformerLens's by %.3g of %.3g", name,
                  hook, dmax, moved);
        fprintf(stderr, "%s: adding TL's vector at %s moves logits by %.3g, off TL's effect by %.3g (logits %.3g)\n",
                name, hook, moved, dmax, ea);
    }
    fprintf(stderr, "%s: %d per-head inputs and mlp_in vs TransformerLens: worst %.3g, gradients %.3g, logits %.3g\n",
            name, cap.n, worst, worst_g, el);
    hs_hooks_free(hooks);
    hs_hooks_free(gh);
    sq_free(&cap);
    sq_free(&grads);
    free(logits);
    free(plain);
    free(ref);
    free(dl);
    sq_close(&fx);
    return TEST_PASS;
}

int test_split_qkv_tl_gpt2(void) { return sq_against_tl("gpt2"); }
int test_split_qkv_tl_llama(void) { return sq_against_tl("llama"); }
int test_split_qkv_tl_neox(void) { return sq_against_tl("neox"); }

/* ---------------------------------------------------------------- nothing changes but what was changed */

/* Adds 0.25·((k mod 5) - 2) to element k of head `head`'s copy at position 1 of batch 0 (not a
 * constant: a layernorm would take that out again). */
typedef struct sq_poke {
    int head;
    int64_t T;
} sq_poke;

static hs_status sq_poke_fn(void *user, const hs_hook_point *hp, hs_tensor *t)
{
    (void)hp;
    const sq_poke *pk = user;
    int64_t nh = t->shape[2], d = t->shape[3];
    float *row = t->data + ((int64_t)1 * nh + pk->head) * d; /* (b 0, t 1, head) */
    for (int64_t k = 0; k < d; k++)
        row[k] += 0.25f * (float)(k % 5 - 2);
    return HS_OK;
}

static int sq_bits(const char *name)
{
    hs_error err = {0};
    sq_fixture fx;
    if (sq_open(name, &fx) != TEST_PASS)
        return TEST_FAIL;
    const hs_config *c = &fx.m->cfg;
    size_t nl = (size_t)fx.B * fx.T * fx.V;
    float *a = malloc(nl * sizeof(float)), *b = malloc(nl * sizeof(float));
    CHECK(a && b);
    hs_batch batch = {.ids = fx.ids, .n_batch = fx.B, .n_pos = fx.T};
    static sq_capture cap;
    for (int be = 0; be < 2; be++) {
        hs_backend_id id = be ? HS_BACKEND_REFERENCE : HS_BACKEND_CPU;
        hs_hooks *hooks = NULL;
        CHECK_OK(hs_hooks_new(&hooks, &err), &err);
        CHECK(sq_observe_inputs(hooks, &cap) == TEST_PASS);
        CHECK_OK(hs_forward(fx.m, &batch, NULL, id, a, &err), &err);
        CHECK_OK(hs_forward(fx.m, &batch, hooks, id, b, &err), &err);
        CHECK_MSG(cap.n == 4 * c->n_layers, "%s: %d per-head inputs and mlp_in fired", name, cap.n);
        CHECK_MSG(!memcmp(a, b, nl * sizeof(float)), "%s: observing the per-head inputs changed the logits", name);
        hs_hooks_free(hooks);
        sq_free(&cap);
    }
    /* an intervention on one head's copy at layer 1 changes that head's q (k, v) at that position only */
    int L = 1;
    for (int i = 0; i < 3; i++) {
        int nh = i == 0 ? c->n_heads : c->n_kv_heads;
        for (int head = 0; head < nh; head += nh - 1) {
            static sq_capture base, poked;
            sq_capture *caps[2] = {&base, &poked};
            for (int run = 0; run < 2; run++) {
                hs_hooks *hooks = NULL;
                char pat[64];
                CHECK_OK(hs_hooks_new(&hooks, &err), &err);
                sq_poke pk = {head, fx.T};
                snprintf(pat, sizeof pat, "blocks.%d.%s", L, sq_kinds[i]);
                if (run)
                    CHECK_OK(hs_hooks_intervene_fn(hooks, pat, sq_poke_fn, &pk, &err), &err);
                else /* the same split path, no change: observing only */
                    CHECK_OK(hs_hooks_observe(hooks, pat, sq_observe, &base, &err), &err);
                for (int k = 0; k < 3; k++) {
                    snprintf(pat, sizeof pat, "blocks.%d.attn.hook_%c", L, "qkv"[k]);
                    CHECK_OK(hs_hooks_observe(hooks, pat, sq_observe, caps[run], &err), &err);
                }
                CHECK_OK(hs_forward(fx.m, &batch, hooks, HS_BACKEND_CPU, run ? b : a, &err), &err);
                hs_hooks_free(hooks);
            }
            int n_changed = 0;
            for (int k = 0; k < 3; k++) {
                char hn[64];
                snprintf(hn, sizeof hn, "blocks.%d.attn.hook_%c", L, "qkv"[k]);
                const sq_tensor *x = sq_find(&base, hn), *y = sq_find(&poked, hn);
                CHECK(x && y && x->n == y->n);
                int64_t heads = x->shape[2], dh = x->shape[3];
                for (size_t e = 0; e < x->n; e++) {
                    int64_t row = (int64_t)e / (heads * dh), h = ((int64_t)e / dh) % heads;
                    int target = k == i && h == head && row == 1;
                    if (!target)
                        CHECK_MSG(!memcmp(&x->data[e], &y->data[e], sizeof(float)),
                                  "%s: %s at row %lld head %lld changed by an intervention on %s head %d", name, hn,
                                  (long long)row, (long long)h, sq_kinds[i], head);
                    else
                        n_changed += x->data[e] != y->data[e];
                }
            }
            CHECK_MSG(n_changed > c->d_head / 2, "%s: %s head %d: only %d values of its projection changed", name,
                      sq_kinds[i], head, n_changed);
            CHECK_MSG(memcmp(a, b, nl * sizeof(float)) != 0, "%s: the logits did not move", name);
            sq_free(&base);
            sq_free(&poked);
        }
    }
    /* hook_mlp_in of layer 1 changed: the MLP's output moves, the attention's and (sequential) resid_mid
     * do not, so the change reaches the MLP only */
    {
        static sq_capture base, poked;
        sq_capture *caps[2] = {&base, &poked};
        for (int run = 0; run < 2; run++) {
            hs_hooks *hooks = NULL;
            CHECK_OK(hs_hooks_new(&hooks, &err), &err);
            hs_tensor vt = {.data = a, .ndim = 1, .shape = {c->d_model}}; /* any values will do: logits */
            if (run)
                CHECK_OK(hs_hooks_intervene(hooks, "blocks.1.hook_mlp_in", HS_OP_ADD, -1, 0, &vt, &err), &err);
            else
                CHECK_OK(hs_hooks_observe(hooks, "blocks.1.hook_mlp_in", sq_observe, &base, &err), &err);
            CHECK_OK(hs_hooks_observe(hooks, "blocks.1.hook_attn_out", sq_observe, caps[run], &err), &err);
            CHECK_OK(hs_hooks_observe(hooks, "blocks.1.hook_mlp_out", sq_observe, caps[run], &err), &err);
            if (!c->parallel_residual)
                CHECK_OK(hs_hooks_observe(hooks, "blocks.1.hook_resid_mid", sq_observe, caps[run], &err), &err);
            CHECK_OK(hs_forward(fx.m, &batch, hooks, HS_BACKEND_CPU, b, &err), &err);
            hs_hooks_free(hooks);
        }
        const char *same[2] = {"blocks.1.hook_attn_out", "blocks.1.hook_resid_mid"};
        for (int k = 0; k < (c->parallel_residual ? 1 : 2); k++) {
            const sq_tensor *x = sq_find(&base, same[k]), *y = sq_find(&poked, same[k]);
            CHECK(x && y && !memcmp(x->data, y->data, x->n * sizeof(float)));
        }
        const sq_tensor *x = sq_find(&base, "blocks.1.hook_mlp_out"), *y = sq_find(&poked, "blocks.1.hook_mlp_out");
        CHECK_MSG(x && y && test_norm_err(y->data, x->data, x->n) > 1e-3, "%s: hook_mlp_in did not reach the MLP",
                  name);
        sq_free(&base);
        sq_free(&poked);
    }
    free(a);
    free(b);
    sq_close(&fx);
    return TEST_PASS;
}

int test_split_qkv_bits_gpt2(void) { return sq_bits("gpt2"); }
int test_split_qkv_bits_llama(void) { return sq_bits("llama"); }
int test_split_qkv_bits_neox(void) { return sq_bits("neox"); }

/* ---------------------------------------------------------------- finite differences, the ln1 identity */

/* Adds delta at one element (b, t, head, k) of the copies. */
typedef struct sq_nudge {
    int64_t at; /* flat index into [B, T, nh, d] */
    float delta;
} sq_nudge;

static hs_status sq_nudge_fn(void *user, const hs_hook_point *hp, hs_tensor *t)
{
    (void)hp;
    const sq_nudge *nd = user;
    t->data[nd->at] += nd->delta;
    return HS_OK;
}

/* Runs the backward of the metric with observers on every per-head input, resid_pre and, when
 * cut_layer >= 0, HS_OP_ZERO on that layer's ln1.hook_normalized gradient (no path through its ln1).
 * fwd may be NULL. */
static int sq_grads(sq_fixture *fx, hs_hooks *fwd, int observe_inputs, int cut_layer, const char *cut_norm,
                    sq_capture *cap)
{
    hs_error err = {0};
    hs_tape *tape = NULL;
    hs_hooks *gh = NULL;
    float *dl = sq_dlogits(fx);
    CHECK(dl);
    hs_batch batch = {.ids = fx->ids, .n_batch = fx->B, .n_pos = fx->T};
    CHECK_OK(hs_forward_tape(fx->m, &batch, fwd, HS_BACKEND_CPU, NULL, &tape, &err), &err);
    CHECK_OK(hs_hooks_new(&gh, &err), &err);
    if (observe_inputs)
        CHECK(sq_observe_inputs(gh, cap) == TEST_PASS);
    CHECK_OK(hs_hooks_observe(gh, "blocks.*.hook_resid_pre", sq_observe, cap, &err), &err);
    CHECK_OK(hs_hooks_observe(gh, "blocks.*.hook_resid_mid", sq_observe, cap, &err), &err);
    if (cut_layer >= 0) {
        char hn[64];
        snprintf(hn, sizeof hn, "blocks.%d.%s.hook_normalized", cut_layer, cut_norm);
        CHECK_OK(hs_hooks_intervene(gh, hn, HS_OP_ZERO, -1, 0, NULL, &err), &err);
    }
    CHECK_OK(hs_backward(tape, dl, gh, &err), &err);
    hs_hooks_free(gh);
    hs_tape_free(tape);
    free(dl);
    return TEST_PASS;
}

static int sq_fd(const char *name)
{
    hs_error err = {0};
    sq_fixture fx;
    if (sq_open(name, &fx) != TEST_PASS)
        return TEST_FAIL;
    const hs_config *c = &fx.m->cfg;
    int d = c->d_model;
    size_t N = (size_t)fx.B * fx.T;
    static sq_capture split, plain, cut;
    /* the tape's forward with no copies (the backward rebuilds them from ln1), and with them */
    CHECK(sq_grads(&fx, NULL, 1, -1, NULL, &split) == TEST_PASS);
    CHECK(sq_grads(&fx, NULL, 0, -1, NULL, &plain) == TEST_PASS);
    static sq_capture split2;
    hs_hooks *fwd = NULL;
    static sq_capture fwd_cap;
    CHECK_OK(hs_hooks_new(&fwd, &err), &err);
    CHECK(sq_observe_inputs(fwd, &fwd_cap) == TEST_PASS);
    CHECK(sq_grads(&fx, fwd, 1, -1, NULL, &split2) == TEST_PASS);
    hs_hooks_free(fwd);
    sq_free(&fwd_cap);

    double worst_id = 0, worst_fd = 0, worst_pre = 0;
    float *sum = malloc(N * d * sizeof(float)), *through = malloc(N * d * sizeof(float));
    float *la = malloc(N * fx.V * sizeof(float));
    CHECK(sum && through && la);
    hs_batch batch = {.ids = fx.ids, .n_batch = fx.B, .n_pos = fx.T};
    for (int l = 0; l < c->n_layers; l++) {
        char hn[96];
        /* Σ_h dL/dq_input[.., h, :] + Σ_g dL/dk_input[.., g, :] + Σ_g dL/dv_input[.., g, :]
         *   = dL/dresid_pre (plain backward) - dL/dresid_pre (the ln1 path cut): what reaches
         *     resid_pre of layer l through ln1 into q, k and v */
        memset(sum, 0, N * d * sizeof(float));
        for (int i = 0; i < 3; i++) {
            snprintf(hn, sizeof hn, "blocks.%d.%s", l, sq_kinds[i]);
            const sq_tensor *g = sq_find(&split, hn), *g2 = sq_find(&split2, hn);
            CHECK(g && g2);
            double e2 = test_norm_err(g2->data, g->data, g->n);
            CHECK_MSG(e2 <= 1e-6, "%s: %s's gradient with and without the forward's copies differs by %.3g", name, hn,
                      e2);
            int64_t nh = g->shape[2];
            for (size_t n = 0; n < N; n++)
                for (int64_t h = 0; h < nh; h++)
                    for (int k = 0; k < d; k++)
                        sum[n * d + k] += g->data[(n * nh + h) * d + k];
        }
        CHECK(sq_grads(&fx, NULL, 0, l, "ln1", &cut) == TEST_PASS);
        snprintf(hn, sizeof hn, "blocks.%d.hook_resid_pre", l);
        const sq_tensor *pp = sq_find(&plain, hn), *pc = sq_find(&cut, hn), *ps = sq_find(&split, hn);
        CHECK(pp && pc && ps);
        for (size_t e = 0; e < N * d; e++)
            through[e] = pp->data[e] - pc->data[e];
        double ei = test_norm_err(sum, through, N * d), ep = test_norm_err(ps->data, pp->data, N * d);
        CHECK_MSG(ei <= 1e-5, "%s: layer %d: Σ of the per-head input gradients vs the ln1 path: %.3g", name, l, ei);
        CHECK_MSG(ep <= 1e-5, "%s: layer %d: dL/dresid_pre through the copies vs plain: %.3g", name, l, ep);
        worst_id = ei > worst_id ? ei : worst_id;
        sq_free(&cut);
        /* dL/dmlp_in = dL/d(ln2's input) (plain) - the same with ln2's path cut, at resid_mid (parallel:
         * resid_pre) */
        CHECK(sq_grads(&fx, NULL, 0, l, "ln2", &cut) == TEST_PASS);
        snprintf(hn, sizeof hn, "blocks.%d.%s", l, c->parallel_residual ? "hook_resid_pre" : "hook_resid_mid");
        pp = sq_find(&plain, hn);
        pc = sq_find(&cut, hn);
        char mn[64];
        snprintf(mn, sizeof mn, "blocks.%d.hook_mlp_in", l);
        const sq_tensor *gm = sq_find(&split, mn);
        CHECK(pp && pc && gm && gm->n == N * d);
        for (size_t e = 0; e < N * d; e++)
            through[e] = pp->data[e] - pc->data[e];
        double em = test_norm_err(gm->data, through, N * d);
        CHECK_MSG(em <= 1e-5, "%s: layer %d: dL/dmlp_in vs the ln2 path: %.3g", name, l, em);
        worst_id = em > worst_id ? em : worst_id;
        sq_free(&cut);
        worst_pre = ep > worst_pre ? ep : worst_pre;

        /* central differences at the largest-gradient element of each per-head input and mlp_in */
        for (int i = 0; i < 4; i++) {
            snprintf(hn, sizeof hn, "blocks.%d.%s", l, sq_kinds[i]);
            const sq_tensor *g = sq_find(&split, hn);
            size_t at = 0;
            for (size_t e = 1; e < g->n; e++)
                if (fabsf(g->data[e]) > fabsf(g->data[at]))
                    at = e;
            /* a step that moves the metric by about 2e-3: large against float32's rounding of the
             * metric (~1e-7), small against its curvature (the copies of layer 0 are embeddings of
             * norm ~0.1, where a fixed step of 1e-2 is no longer small) */
            CHECK_MSG(fabsf(g->data[at]) > 1e-4f, "%s: %s: the largest gradient is only %.3g", name, hn, g->data[at]);
            const float h = 2e-3f / fabsf(g->data[at]);
            double f[2];
            for (int s = 0; s < 2; s++) {
                hs_hooks *hooks = NULL;
                sq_nudge nd = {(int64_t)at, s ? -h : h};
                CHECK_OK(hs_hooks_new(&hooks, &err), &err);
                CHECK_OK(hs_hooks_intervene_fn(hooks, hn, sq_nudge_fn, &nd, &err), &err);
                CHECK_OK(hs_forward(fx.m, &batch, hooks, HS_BACKEND_CPU, la, &err), &err);
                f[s] = sq_metric(&fx, la);
                hs_hooks_free(hooks);
            }
            double fd = (f[0] - f[1]) / (2.0 * h), an = g->data[at], e = fabs(fd - an) / (fabs(an) + 1e-6);
            CHECK_MSG(e <= 5e-3, "%s: %s[%zu]: gradient %.6g, central difference %.6g", name, hn, at, an, fd);
            worst_fd = e > worst_fd ? e : worst_fd;
        }
    }
    fprintf(stderr, "%s: per-head input gradients: Σ over heads vs the ln1 path (and mlp_in vs ln2's) %.3g, "
            "resid_pre through the copies "
            "vs plain %.3g, finite differences (relative) %.3g\n", name, worst_id, worst_pre, worst_fd);
    free(sum);
    free(through);
    free(la);
    sq_free(&split);
    sq_free(&split2);
    sq_free(&plain);
    sq_close(&fx);
    return TEST_PASS;
}

/* The two ways a gradient flows through the copies rather than the fused ln1: (1) an intervention on
 * the copies' gradients: zeroing hook_q/k/v_input's of layer l leaves at resid_pre exactly the backward
 * with ln1's path cut; (2) a forward that changed the copies (blocks.1.hook_k_input head 1 += TL's
 * vector): the gradient at the changed copies against central differences of that forward. */
static int sq_flow(const char *name)
{
    hs_error err = {0};
    sq_fixture fx;
    if (sq_open(name, &fx) != TEST_PASS)
        return TEST_FAIL;
    const hs_config *c = &fx.m->cfg;
    size_t nd = (size_t)fx.B * fx.T * c->d_model;
    float *dl = sq_dlogits(&fx), *la = malloc((size_t)fx.B * fx.T * fx.V * sizeof(float));
    float *vec = sq_ref(&fx, "k_add.vector", (size_t)c->d_model);
    CHECK(dl && la && vec);
    hs_batch batch = {.ids = fx.ids, .n_batch = fx.B, .n_pos = fx.T};
    double worst_cut = 0;
    for (int l = 0; l < c->n_layers; l++) {
        static sq_capture zero, cut;
        hs_tape *tape = NULL;
        hs_hooks *gh = NULL;
        CHECK_OK(hs_forward_tape(fx.m, &batch, NULL, HS_BACKEND_CPU, NULL, &tape, &err), &err);
        CHECK_OK(hs_hooks_new(&gh, &err), &err);
        for (int i = 0; i < 3; i++) {
            char hn[64];
            snprintf(hn, sizeof hn, "blocks.%d.%s", l, sq_kinds[i]);
            CHECK_OK(hs_hooks_intervene(gh, hn, HS_OP_ZERO, -1, 0, NULL, &err), &err);
        }
        CHECK_OK(hs_hooks_observe(gh, "blocks.*.hook_resid_pre", sq_observe, &zero, &err), &err);
        CHECK_OK(hs_backward(tape, dl, gh, &err), &err);
        hs_hooks_free(gh);
        hs_tape_free(tape);
        CHECK(sq_grads(&fx, NULL, 0, l, "ln1", &cut) == TEST_PASS);
        char hn[64];
        snprintf(hn, sizeof hn, "blocks.%d.hook_resid_pre", l);
        const sq_tensor *a = sq_find(&zero, hn), *b = sq_find(&cut, hn);
        CHECK(a && b && a->n == nd);
        double e = test_norm_err(a->data, b->data, nd);
        CHECK_MSG(e <= 1e-6, "%s: layer %d: q/k/v_input gradients zeroed vs ln1 cut: %.3g", name, l, e);
        worst_cut = e > worst_cut ? e : worst_cut;
        sq_free(&zero);
        sq_free(&cut);
    }
    /* (2) */
    static sq_capture g;
    hs_hooks *fwd = NULL;
    hs_tensor vt = {.data = vec, .ndim = 1, .shape = {c->d_model}};
    CHECK_OK(hs_hooks_new(&fwd, &err), &err);
    CHECK_OK(hs_hooks_intervene(fwd, "blocks.1.hook_k_input", HS_OP_ADD, 1, 0, &vt, &err), &err);
    CHECK(sq_grads(&fx, fwd, 1, -1, NULL, &g) == TEST_PASS);
    hs_hooks_free(fwd);
    double worst_fd = 0;
    for (int i = 0; i < 4; i++) {
        char hn[64];
        snprintf(hn, sizeof hn, "blocks.%d.%s", i == 1 ? 1 : 0, sq_kinds[i]);
        const sq_tensor *t = sq_find(&g, hn);
        CHECK(t);
        size_t at = 0;
        for (size_t e = 1; e < t->n; e++)
            if (fabsf(t->data[e]) > fabsf(t->data[at]))
                at = e;
        CHECK(fabsf(t->data[at]) > 1e-4f);
        const float h = 2e-3f / fabsf(t->data[at]);
        double f[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            hs_hooks *hooks = NULL;
            sq_nudge nu = {(int64_t)at, sgn ? -h : h};
            CHECK_OK(hs_hooks_new(&hooks, &err), &err);
            CHECK_OK(hs_hooks_intervene(hooks, "blocks.1.hook_k_input", HS_OP_ADD, 1, 0, &vt, &err), &err);
            CHECK_OK(hs_hooks_intervene_fn(hooks, hn, sq_nudge_fn, &nu, &err), &err);
            CHECK_OK(hs_forward(fx.m, &batch, hooks, HS_BACKEND_CPU, la, &err), &err);
            f[sgn] = sq_metric(&fx, la);
            hs_hooks_free(hooks);
        }
        double fd = (f[0] - f[1]) / (2.0 * h), an = t->data[at], e = fabs(fd - an) / fabs(an);
        CHECK_MSG(e <= 5e-3, "%s: changed forward: %s[%zu]: gradient %.6g, central difference %.6g", name, hn, at,
                  an, fd);
        worst_fd = e > worst_fd ? e : worst_fd;
    }
    fprintf(stderr, "%s: q/k/v_input gradients zeroed vs ln1 cut %.3g; with the k copies changed in the forward, "
            "gradients vs central differences %.3g\n", name, worst_cut, worst_fd);
    sq_free(&g);
    free(dl);
    free(la);
    free(vec);
    sq_close(&fx);
    return TEST_PASS;
}

int test_split_qkv_flow_gpt2(void) { return sq_flow("gpt2"); }
int test_split_qkv_flow_llama(void) { return sq_flow("llama"); }
int test_split_qkv_flow_neox(void) { return sq_flow("neox"); }

int test_split_qkv_grad_gpt2(void) { return sq_fd("gpt2"); }
int test_split_qkv_grad_llama(void) { return sq_fd("llama"); }
int test_split_qkv_grad_neox(void) { return sq_fd("neox"); }
