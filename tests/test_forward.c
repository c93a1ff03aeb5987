/* test_forward.c — the forward pass and its hooks on tiny random models of each architecture:
 * backend twins agree at every hook; ask/observe fires exactly what was asked; interventions do
 * what they say; batching, input embeddings and bad input behave. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "tests/test.h"
#include "tests/tiny_model.h"

#define B 2
#define T 7
static const int32_t ids[B * T] = {1, 5, 9, 5, 9, 33, 2, 0, 39, 12, 12, 7, 3, 20};
static const tiny_kind kinds[] = {TINY_GPT2, TINY_LLAMA_GQA, TINY_NEOX_PARALLEL};

/* Records copies of every tensor it sees, by hook name. */
typedef struct capture {
    int n;
    char names[256][64];
    hs_tensor t[256];
} capture;

static hs_status capture_fn(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    capture *c = user;
    if (c->n >= 256)
        return HS_ERR_RANGE;
    hs_hook_point_name(hp, c->names[c->n], 64);
    c->t[c->n] = *t;
    size_t bytes = (size_t)hs_tensor_numel(t) * sizeof(float);
    c->t[c->n].data = malloc(bytes);
    if (!c->t[c->n].data)
        return HS_ERR_NOMEM;
    memcpy(c->t[c->n].data, t->data, bytes);
    c->n++;
    return HS_OK;
}

static const hs_tensor *find(const capture *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->names[i], name) == 0)
            return &c->t[i];
    return NULL;
}

static void capture_free(capture *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->t[i].data);
    c->n = 0;
}

static int run_capture(const hs_model *m, const char *pattern, hs_backend_id be, capture *c, float *logits)
{
    hs_error err = {0};
    hs_hooks *h;
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    CHECK_OK(hs_hooks_observe(h, pattern, capture_fn, c, &err), &err);
    hs_batch batch = {.ids = ids, .n_batch = B, .n_pos = T};
    CHECK_OK(hs_forward(m, &batch, h, be, logits, &err), &err);
    hs_hooks_free(h);
    return TEST_PASS;
}

int test_forward_backends_agree_at_every_hook(void)
{
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        hs_model *m = tiny_model_new(kinds[k], 42);
        CHECK(m);
        capture *a = calloc(1, sizeof *a), *r = calloc(1, sizeof *r);
        CHECK(a && r);
        CHECK(run_capture(m, "*", HS_BACKEND_CPU, a, NULL) == TEST_PASS);
        CHECK(run_capture(m, "*", HS_BACKEND_REFERENCE, r, NULL) == TEST_PASS);
        CHECK(a->n == r->n && a->n > 20);
        for (int i = 0; i < a->n; i++) {
            CHECK(strcmp(a->names[i], r->names[i]) == 0);
            size_t n = (size_t)hs_tensor_numel(&a->t[i]);
            for (size_t j = 0; j < n; j++)
                if (isinf(a->t[i].data[j]) && isinf(r->t[i].data[j]))
                    a->t[i].data[j] = r->t[i].data[j] = 0; /* masked scores */
            double e = test_norm_err(a->t[i].data, r->t[i].data, n);
            CHECK_MSG(e < 2e-5, "%s %s: cpu vs reference normalised error %g", m->cfg.arch, a->names[i], e);
        }
        /* the hooks every architecture has, with TransformerLens shapes (batch first) */
        const hs_tensor *z = find(a, "blocks.1.attn.hook_z"), *pat = find(a, "blocks.0.attn.hook_pattern");
        CHECK(z && z->ndim == 4 && z->shape[0] == B && z->shape[1] == T && z->shape[2] == 4 && z->shape[3] == 4);
        CHECK(pat && pat->ndim == 4 && pat->shape[1] == 4 && pat->shape[2] == T && pat->shape[3] == T);
        for (int row = 0; row < B * 4 * T; row++) {
            double s = 0;
            for (int j = 0; j < T; j++)
                s += pat->data[row * T + j];
            CHECK_NEAR(s, 1.0, 1e-5);
            for (int j = row % T + 1; j < T; j++)
                CHECK(pat->data[row * T + j] == 0.0f); /* causal */
        }
        CHECK((find(a, "blocks.0.hook_resid_mid") != NULL) == !m->cfg.parallel_residual);
        CHECK((find(a, "blocks.0.attn.hook_rot_q") != NULL) == (m->cfg.rotary_dim > 0));
        CHECK((find(a, "hook_pos_embed") != NULL) == m->cfg.learned_pos);
        CHECK((find(a, "blocks.0.mlp.hook_pre_linear") != NULL) == m->cfg.gated_mlp);
        const hs_tensor *k0 = find(a, "blocks.0.attn.hook_k");
        CHECK(k0 && k0->shape[2] == m->cfg.n_kv_heads);
        /* hook_attn_out is the sum of the per-head results plus the bias */
        const hs_tensor *res = find(a, "blocks.1.attn.hook_result"), *ao = find(a, "blocks.1.hook_attn_out");
        CHECK(res && ao && res->shape[3] == 16);
        for (int n = 0; n < B * T; n++)
            for (int o = 0; o < 16; o++) {
                double s = m->layers[1].b_O ? m->layers[1].b_O[o] : 0;
                for (int h = 0; h < 4; h++)
                    s += res->data[(n * 4 + h) * 16 + o];
                CHECK_NEAR(s, ao->data[n * 16 + o], 1e-5);
            }
        capture_free(a), capture_free(r), free(a), free(r);
        hs_model_close(m);
    }
    return TEST_PASS;
}

int test_forward_fires_only_what_is_asked(void)
{
    hs_model *m = tiny_model_new(TINY_GPT2, 1);
    CHECK(m);
    capture *c = calloc(1, sizeof *c);
    float *l0 = malloc(sizeof(float) * B * T * 40), *l1 = malloc(sizeof(float) * B * T * 40);
    CHECK(c && l0 && l1);
    CHECK(run_capture(m, "blocks.1.attn.hook_z", HS_BACKEND_CPU, c, l0) == TEST_PASS);
    CHECK(c->n == 1 && strcmp(c->names[0], "blocks.1.attn.hook_z") == 0);
    capture_free(c);
    CHECK(run_capture(m, "blocks.*.hook_resid_post", HS_BACKEND_CPU, c, l1) == TEST_PASS);
    CHECK(c->n == 2);
    /* observing changes nothing */
    CHECK(memcmp(l0, l1, sizeof(float) * B * T * 40) == 0);
    /* the unembed hook equals the logits returned */
    capture_free(c);
    CHECK(run_capture(m, "unembed.hook_out", HS_BACKEND_CPU, c, l1) == TEST_PASS);
    CHECK(c->n == 1 && memcmp(c->t[0].data, l1, sizeof(float) * B * T * 40) == 0);
    capture_free(c), free(c), free(l0), free(l1);
    hs_model_close(m);
    return TEST_PASS;
}

/* Runs with one built-in intervention and captures the given hook. */
static int run_intervened(const hs_model *m, const char *where, hs_intervention_op op, int head, float scalar,
                          const hs_tensor *values, const char *observe, capture *c, float *logits)
{
    hs_error err = {0};
    hs_hooks *h;
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    CHECK_OK(hs_hooks_intervene(h, where, op, head, scalar, values, &err), &err);
    CHECK_OK(hs_hooks_observe(h, observe, capture_fn, c, &err), &err);
    hs_batch batch = {.ids = ids, .n_batch = B, .n_pos = T};
    CHECK_OK(hs_forward(m, &batch, h, HS_BACKEND_CPU, logits, &err), &err);
    hs_hooks_free(h);
    return TEST_PASS;
}

int test_forward_interventions(void)
{
    hs_model *m = tiny_model_new(TINY_LLAMA_GQA, 5);
    CHECK(m);
    capture *base = calloc(1, sizeof *base), *c = calloc(1, sizeof *c);
    CHECK(base && c);
    CHECK(run_capture(m, "blocks.0.attn.hook_z", HS_BACKEND_CPU, base, NULL) == TEST_PASS);
    const float *z0 = base->t[0].data; /* [B, T, 4 heads, 4] */

    /* zero head 2 of hook_z: that head is 0, the others unchanged */
    CHECK(run_intervened(m, "blocks.0.attn.hook_z", HS_OP_ZERO, 2, 0, NULL, "blocks.0.attn.hook_z", c, NULL) ==
          TEST_PASS);
    for (int n = 0; n < B * T; n++)
        for (int h = 0; h < 4; h++)
            for (int d = 0; d < 4; d++) {
                float v = c->t[0].data[(n * 4 + h) * 4 + d];
                CHECK(h == 2 ? v == 0.0f : v == z0[(n * 4 + h) * 4 + d]);
            }
    capture_free(c);
    /* scale all heads by 3 */
    CHECK(run_intervened(m, "blocks.0.attn.hook_z", HS_OP_SCALE, -1, 3.0f, NULL, "blocks.0.attn.hook_z", c, NULL) ==
          TEST_PASS);
    for (int i = 0; i < B * T * 16; i++)
        CHECK(c->t[0].data[i] == 3.0f * z0[i]);
    capture_free(c);
    /* add a [d_head] vector to head 1, broadcast over batch and positions */
    float add[4] = {1, 2, 3, 4};
    hs_tensor addt = {.data = add, .ndim = 1, .shape = {4}};
    CHECK(run_intervened(m, "blocks.0.attn.hook_z", HS_OP_ADD, 1, 0, &addt, "blocks.0.attn.hook_z", c, NULL) ==
          TEST_PASS);
    for (int n = 0; n < B * T; n++)
        for (int d = 0; d < 4; d++)
            CHECK_NEAR(c->t[0].data[(n * 4 + 1) * 4 + d], z0[(n * 4 + 1) * 4 + d] + add[d], 1e-6);
    capture_free(c);
    /* replace the pattern of head 3 with uniform causal attention */
    float uni[T * T] = {0};
    for (int i = 0; i < T; i++)
        for (int j = 0; j <= i; j++)
            uni[i * T + j] = 1.0f / (float)(i + 1);
    hs_tensor unit = {.data = uni, .ndim = 2, .shape = {T, T}};
    CHECK(run_intervened(m, "blocks.1.attn.hook_pattern", HS_OP_REPLACE, 3, 0, &unit, "blocks.1.attn.hook_pattern", c,
                         NULL) == TEST_PASS);
    CHECK(memcmp(c->t[0].data + (0 * 4 + 3) * T * T, uni, sizeof uni) == 0);
    CHECK(memcmp(c->t[0].data + (1 * 4 + 3) * T * T, uni, sizeof uni) == 0);
    capture_free(c);

    /* activation patching identity: replacing resid_pre of layer 1 with another input's resid_pre
     * gives that input's logits */
    capture *other = calloc(1, sizeof *other);
    CHECK(other);
    static const int32_t ids2[B * T] = {4, 4, 4, 8, 8, 8, 1, 30, 31, 32, 33, 34, 35, 36};
    hs_error err = {0};
    hs_hooks *h;
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    CHECK_OK(hs_hooks_observe(h, "blocks.1.hook_resid_pre", capture_fn, other, &err), &err);
    float *lo = malloc(sizeof(float) * B * T * 40), *lp = malloc(sizeof(float) * B * T * 40);
    CHECK(lo && lp);
    hs_batch b2 = {.ids = ids2, .n_batch = B, .n_pos = T};
    CHECK_OK(hs_forward(m, &b2, h, HS_BACKEND_CPU, lo, &err), &err);
    hs_hooks_free(h);
    CHECK(run_intervened(m, "blocks.1.hook_resid_pre", HS_OP_REPLACE, -1, 0, &other->t[0], "hook_embed", c, lp) ==
          TEST_PASS);
    CHECK(memcmp(lo, lp, sizeof(float) * B * T * 40) == 0);

    /* bad requests are refused with a reason */
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    CHECK(hs_hooks_intervene(h, "blocks.0.hook_resid_pre", HS_OP_ZERO, 1, 0, NULL, &err) == HS_ERR_ARG);
    CHECK(strstr(err.msg, "no head dimension"));
    CHECK(hs_hooks_intervene(h, "blocks.0.attn.hook_zz", HS_OP_ZERO, -1, 0, NULL, &err) == HS_ERR_ARG);
    CHECK(strstr(err.msg, "unknown hook point"));
    CHECK(hs_hooks_intervene(h, "blocks.0.attn.hook_z", HS_OP_REPLACE, -1, 0, NULL, &err) == HS_ERR_ARG);
    CHECK_OK(hs_hooks_intervene(h, "blocks.0.attn.hook_z", HS_OP_ZERO, 9, 0, NULL, &err), &err);
    hs_batch b1 = {.ids = ids, .n_batch = B, .n_pos = T};
    CHECK(hs_forward(m, &b1, h, HS_BACKEND_CPU, NULL, &err) == HS_ERR_RANGE);
    CHECK(strstr(err.msg, "head 9 out of range"));
    hs_hooks_free(h);
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    float wrong[5] = {0};
    hs_tensor wt = {.data = wrong, .ndim = 1, .shape = {5}};
    CHECK_OK(hs_hooks_intervene(h, "blocks.0.attn.hook_z", HS_OP_ADD, 0, 0, &wt, &err), &err);
    CHECK(hs_forward(m, &b1, h, HS_BACKEND_CPU, NULL, &err) == HS_ERR_SHAPE);
    hs_hooks_free(h);

    capture_free(base), capture_free(c), capture_free(other);
    free(base), free(c), free(other), free(lo), free(lp);
    hs_model_close(m);
    return TEST_PASS;
}

/* ln1/ln2/ln_final.hook_normalized hold x̂ = (x - mean) / scale (LayerNorm) or x / scale (RMSNorm),
 * before the norm's gain and bias, as TransformerLens's default (fold_ln: LayerNormPre / RMSNormPre)
 * stores them; the gain and bias are applied after the hook, so an intervention on x̂ reaches the
 * next layer through them, as it does in TransformerLens through the folded weights. */
int test_forward_normalized_is_before_gain(void)
{
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        hs_model *m = tiny_model_new(kinds[k], 17);
        CHECK(m);
        const hs_config *cfg = &m->cfg;
        int d = cfg->d_model, layernorm = cfg->norm == HS_NORM_LAYERNORM;
        capture *c = calloc(1, sizeof *c);
        CHECK(c);
        CHECK(run_capture(m, "*", HS_BACKEND_CPU, c, NULL) == TEST_PASS);
        /* each norm, its input and the gain and bias it must not have applied */
        struct { const char *in, *norm; const float *w, *b; } norms[] = {
            {"blocks.0.hook_resid_pre", "blocks.0.ln1", m->layers[0].ln1_w, m->layers[0].ln1_b},
            {cfg->parallel_residual ? "blocks.1.hook_resid_pre" : "blocks.1.hook_resid_mid", "blocks.1.ln2",
             m->layers[1].ln2_w, m->layers[1].ln2_b},
            {"blocks.1.hook_resid_post", "ln_final", m->ln_f_w, m->ln_f_b},
        };
        for (size_t i = 0; i < sizeof norms / sizeof norms[0]; i++) {
            char sname[64], nname[64];
            snprintf(sname, sizeof sname, "%s.hook_scale", norms[i].norm);
            snprintf(nname, sizeof nname, "%s.hook_normalized", norms[i].norm);
            const hs_tensor *x = find(c, norms[i].in), *sc = find(c, sname), *xn = find(c, nname);
            CHECK_MSG(x && sc && xn, "%s: %s", cfg->arch, nname);
            CHECK(xn->ndim == 3 && xn->shape[0] == B && xn->shape[1] == T && xn->shape[2] == d);
            double worst = 0, worst_affine = 0;
            for (int n = 0; n < B * T; n++) {
                double mean = 0;
                for (int j = 0; j < d; j++)
                    mean += layernorm ? x->data[n * d + j] / (double)d : 0;
                for (int j = 0; j < d; j++) {
                    double want = (x->data[n * d + j] - mean) / sc->data[n], got = xn->data[n * d + j];
                    double affine = want * norms[i].w[j] + (norms[i].b ? norms[i].b[j] : 0);
                    worst = fmax(worst, fabs(got - want));
                    worst_affine = fmax(worst_affine, fabs(got - affine));
                }
            }
            CHECK_MSG(worst < 1e-5, "%s %s: |hook_normalized - (x - mean) / scale| up to %g (up to %g from x̂·w + b)",
                      cfg->arch, nname, worst, worst_affine);
        }
        capture_free(c);

        /* zeroing x̂ of ln1 leaves the norm's bias (LayerNorm) or nothing (RMSNorm) as the input of
         * the attention: q = W_Q · b_ln1 + b_Q at every position */
        CHECK(run_intervened(m, "blocks.0.ln1.hook_normalized", HS_OP_ZERO, -1, 0, NULL, "blocks.0.attn.hook_q", c,
                             NULL) == TEST_PASS);
        const hs_layer_weights *lw = &m->layers[0];
        int hq = cfg->n_heads * cfg->d_head;
        for (int n = 0; n < B * T; n++)
            for (int o = 0; o < hq; o++) {
                double want = lw->b_Q ? lw->b_Q[o] : 0;
                for (int j = 0; j < d && lw->ln1_b; j++)
                    want += (double)lw->W_Q[(size_t)o * d + j] * lw->ln1_b[j];
                CHECK_NEAR(c->t[0].data[n * hq + o], want, 1e-5);
            }
        capture_free(c), free(c);
        hs_model_close(m);
    }
    return TEST_PASS;
}

int test_forward_batch_embeds_and_bad_input(void)
{
    hs_error err = {0};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        hs_model *m = tiny_model_new(kinds[k], 9);
        CHECK(m);
        float *lb = malloc(sizeof(float) * B * T * 40), *l1 = malloc(sizeof(float) * T * 40);
        CHECK(lb && l1);
        hs_batch both = {.ids = ids, .n_batch = B, .n_pos = T};
        CHECK_OK(hs_forward(m, &both, NULL, HS_BACKEND_CPU, lb, &err), &err);
        /* each row alone gives the same logits as in the batch */
        for (int b = 0; b < B; b++) {
            hs_batch one = {.ids = ids + b * T, .n_batch = 1, .n_pos = T};
            CHECK_OK(hs_forward(m, &one, NULL, HS_BACKEND_CPU, l1, &err), &err);
            CHECK(test_norm_err(l1, lb + b * T * 40, T * 40) < 1e-6);
        }
        /* precomputed input embeddings equal to W_E rows give the same logits as the ids */
        int pos[4] = {0, 3, 1, 5};
        float emb[2 * 16];
        memcpy(emb, m->W_E + (size_t)ids[3] * 16, 16 * 4);
        memcpy(emb + 16, m->W_E + (size_t)ids[T + 5] * 16, 16 * 4);
        int32_t ids_masked[B * T];
        memcpy(ids_masked, ids, sizeof ids_masked);
        ids_masked[3] = 0;
        ids_masked[T + 5] = 0;
        float *le = malloc(sizeof(float) * B * T * 40);
        CHECK(le);
        hs_batch emb_batch = {.ids = ids_masked, .n_batch = B, .n_pos = T, .n_embeds = 2, .embed_pos = pos, .embeds = emb};
        CHECK_OK(hs_forward(m, &emb_batch, NULL, HS_BACKEND_CPU, le, &err), &err);
        CHECK(memcmp(le, lb, sizeof(float) * B * T * 40) == 0);
        /* bad input: clear refusals naming the position */
        int32_t bad[3] = {1, 40, 2};
        hs_batch badb = {.ids = bad, .n_batch = 1, .n_pos = 3};
        CHECK(hs_forward(m, &badb, NULL, HS_BACKEND_CPU, NULL, &err) == HS_ERR_RANGE);
        CHECK(strstr(err.msg, "token id 40 at batch 0, position 1"));
        int32_t *longer = calloc(33, sizeof *longer);
        hs_batch longb = {.ids = longer, .n_batch = 1, .n_pos = 33};
        CHECK(hs_forward(m, &longb, NULL, HS_BACKEND_CPU, NULL, &err) == HS_ERR_RANGE);
        CHECK(strstr(err.msg, "longer than the model's context (32)"));
        pos[3] = 7;
        CHECK(hs_forward(m, &emb_batch, NULL, HS_BACKEND_CPU, NULL, &err) == HS_ERR_RANGE);
        free(longer), free(lb), free(l1), free(le);
        hs_model_close(m);
    }
    return TEST_PASS;
}

int test_forward_hook_names(void)
{
    hs_error err = {0};
    hs_hook_point hp;
    char buf[64];
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++) {
        hs_hook_point in = {(hs_hook_kind)k, hs_hook_kind_in_block((hs_hook_kind)k) ? 11 : -1};
        hs_hook_point_name(&in, buf, sizeof buf);
        CHECK_OK(hs_hook_point_parse(buf, &hp, &err), &err);
        CHECK(hp.kind == in.kind && hp.layer == in.layer);
    }
    CHECK_OK(hs_hook_point_parse("blocks.3.attn.hook_pattern", &hp, &err), &err);
    CHECK(hp.kind == HS_HOOK_PATTERN && hp.layer == 3);
    CHECK(hs_hook_point_parse("hook_resid_pre", &hp, &err) == HS_ERR_ARG);
    CHECK(hs_hook_point_parse("blocks.x.hook_resid_pre", &hp, &err) == HS_ERR_ARG);
    CHECK(hs_hook_point_parse("blocks.0.hook_embed", &hp, &err) == HS_ERR_ARG);
    return TEST_PASS;
}
