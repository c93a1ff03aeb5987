/* test_lens.c — the logit lens, direct logit attribution and the component lens, checked by
 * identities on the parity fixtures of every architecture (the lens's last row is the model's
 * logits; DLA components plus the bias terms sum to the logit difference; component-lens logits
 * of all components plus the biases sum to the logits; neuron value vectors sum to the MLP output),
 * by TransformerLens' own numbers (tests/fixtures/lens/, regenerate with
 * python3 tools/gen_lens_ref.py), and on stories260K by the answer it is known to give. */
#include <stdlib.h>
#include <string.h>

#include "analyses/component_lens.h"
#include "analyses/dla.h"
#include "analyses/lens_trace.h"
#include "analyses/logit_lens.h"
#include "analyses/top_k.h"
#include "base/dtype.h"
#include "hooks/model.h"
#include "hooks/safetensors.h"
#include "tests/test.h"

static const char *const all_fixtures[] = {"gpt2", "llama", "qwen2", "mistral", "neox", "neox_seq", "gpt2_f16",
                                           "llama_bf16"};
#define N_FIXTURES (sizeof all_fixtures / sizeof all_fixtures[0])

/* A fixture model and the ids of its reference batch (row-major [n_batch, n_pos]). */
typedef struct fixture {
    hs_model *model;
    hs_st_archive *ref;
    const int32_t *ids;
    int n_batch, n_pos;
} fixture;

static int fixture_open(const char *name, fixture *f)
{
    char dir[4096], path[4200];
    hs_error err = {0};
    memset(f, 0, sizeof *f);
    snprintf(dir, sizeof dir, "%s/%s", test_src_path("tests/fixtures/models"), name);
    snprintf(path, sizeof path, "%s/reference.safetensors", dir);
    CHECK_OK(hs_model_open(dir, NULL, &f->model, &err), &err);
    CHECK_OK(hs_st_open(path, &f->ref, &err), &err);
    const hs_st_tensor *it = hs_st_find(f->ref, "input_ids");
    CHECK(it && it->dtype == HS_DTYPE_I32 && it->ndim == 2);
    f->ids = it->data;
    f->n_batch = (int)it->shape[0];
    f->n_pos = (int)it->shape[1];
    return TEST_PASS;
}

static void fixture_close(fixture *f)
{
    hs_model_close(f->model);
    hs_st_close(f->ref);
}

/* ---------------------------------------------------------------- top-k */

int test_lens_top_k(void)
{
    /* against a brute-force rank: value i is among the top k iff fewer than k values beat it
     * (ties: a lower index beats a higher one) */
    float x[257];
    int32_t idx[20];
    uint64_t s = 12345;
    for (int trial = 0; trial < 200; trial++) {
        int n = 1 + trial % 257, k = 1 + trial % 20;
        if (k > n)
            k = n;
        for (int i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = (float)((s >> 40) % 17) - 8.0f; /* many ties */
        }
        if (trial % 7 == 0)
            x[trial % n] = NAN;
        int sign = trial % 2 ? -1 : 1;
        hs_top_k(x, n, k, sign, idx);
        int n_valid = 0;
        for (int i = 0; i < n; i++)
            n_valid += x[i] == x[i];
        for (int j = 0; j < k; j++) {
            if (j >= n_valid) {
                CHECK(idx[j] == -1);
                continue;
            }
            int i = idx[j];
            CHECK(i >= 0 && i < n && x[i] == x[i]);
            int beaten_by = 0;
            for (int q = 0; q < n; q++)
                if (x[q] == x[q] && (sign * x[q] > sign * x[i] || (x[q] == x[i] && q < i)))
                    beaten_by++;
            CHECK_MSG(beaten_by == j, "trial %d: slot %d holds index %d, which %d values beat", trial, j, i, beaten_by);
        }
    }
    return TEST_PASS;
}

/* ---------------------------------------------------------------- identities on every architecture */

/* The lens's last row is the model's own logits, and its KL to itself is 0. */
int test_lens_last_row_is_model_logits(void)
{
    for (size_t fi = 0; fi < N_FIXTURES; fi++) {
        fixture f;
        CHECK(fixture_open(all_fixtures[fi], &f) == TEST_PASS);
        hs_error err = {0};
        for (int b = 0; b < f.n_batch; b++) {
            hs_lens_trace *t = NULL;
            CHECK_OK(hs_lens_trace_run(f.model, f.ids + (size_t)b * f.n_pos, f.n_pos, -1, &t, &err), &err);
            size_t n = (size_t)t->n_pos * t->d_vocab;
            float *z = malloc(n * sizeof *z);
            CHECK(z);
            CHECK_OK(hs_lens_logits(f.model, t, t->n_layers, z, &err), &err);
            double e = test_norm_err(z, t->logits, n);
            CHECK_MSG(e <= 1e-6, "%s: lens last row vs logits: %g", all_fixtures[fi], e);
            if (getenv("HS_LENS_VERBOSE"))
                fprintf(stderr, "%s b%d: lens last row vs the model's logits: %g (normalised)\n", all_fixtures[fi], b, e);
            /* and an inner row is not the logits (the check can fail) */
            CHECK_OK(hs_lens_logits(f.model, t, t->n_layers - 1, z, &err), &err);
            CHECK(test_norm_err(z, t->logits, n) > 1e-3);
            hs_lens *l = NULL;
            int32_t *target = malloc((size_t)t->n_pos * sizeof *target);
            CHECK(target);
            for (int p = 0; p < t->n_pos; p++)
                target[p] = f.ids[(size_t)b * f.n_pos + (p + 1) % f.n_pos];
            hs_lens_targets tg = {.target = target, .answer = 3, .wrong = 5};
            CHECK_OK(hs_lens_compute(f.model, t, &tg, 4, &l, &err), &err);
            for (int p = 0; p < t->n_pos; p++) {
                size_t cell = (size_t)t->n_layers * t->n_pos + p;
                const float *zp = t->logits + (size_t)p * t->d_vocab;
                CHECK(l->kl[cell] == 0.0f);
                CHECK_NEAR(l->logit_diff[cell], zp[3] - zp[5], 1e-5);
                double sum = 0, mx = zp[0];
                for (int v = 0; v < t->d_vocab; v++)
                    mx = zp[v] > mx ? zp[v] : mx;
                for (int v = 0; v < t->d_vocab; v++)
                    sum += exp(zp[v] - mx);
                CHECK_NEAR(l->target_prob[cell], exp(zp[target[p]] - mx) / sum, 1e-6);
                CHECK(l->topk_prob[cell * 4] >= l->topk_prob[cell * 4 + 3]);
                CHECK_NEAR(l->topk_prob[cell * 4], 1 / sum, 1e-6);
                for (int r = 0; r < t->n_layers; r++)
                    CHECK(l->kl[(size_t)r * t->n_pos + p] >= -1e-6f);
            }
            hs_lens_free(l);
            free(target);
            free(z);
            hs_lens_trace_free(t);
        }
        fixture_close(&f);
    }
    return TEST_PASS;
}

/* The components of the final residual stream, taken at the trace's position, into out [d_model]. */
static void sum_components(const hs_model *m, const hs_lens_trace *t, float *out)
{
    int d = t->d_model, H = t->n_heads;
    for (int i = 0; i < d; i++) {
        double s = t->embed[i] + (t->pos_embed ? t->pos_embed[i] : 0.0f);
        for (int l = 0; l < t->n_layers; l++) {
            for (int h = 0; h < H; h++)
                s += t->result[((size_t)l * H + h) * d + i];
            s += (m->layers[l].b_O ? m->layers[l].b_O[i] : 0.0f) + t->mlp_out[(size_t)l * d + i];
        }
        out[i] = (float)s;
    }
}

/* Σ DLA + ln_final bias + unembed bias = the model's logit difference, to 1e-4, for several token
 * pairs and positions on every architecture; leaving out any one kind of component breaks it. */
int test_lens_dla_sum_identity(void)
{
    double worst = 0;
    for (size_t fi = 0; fi < N_FIXTURES; fi++) {
        fixture f;
        CHECK(fixture_open(all_fixtures[fi], &f) == TEST_PASS);
        hs_error err = {0};
        const int V = f.model->cfg.d_vocab, d = f.model->cfg.d_model;
        const int positions[] = {-1, 0, 5};
        double largest[5] = {0};
        for (int b = 0; b < f.n_batch; b++)
            for (size_t pi = 0; pi < 3; pi++) {
                hs_lens_trace *t = NULL;
                CHECK_OK(hs_lens_trace_run(f.model, f.ids + (size_t)b * f.n_pos, f.n_pos, positions[pi], &t, &err),
                         &err);
                /* the components do add up to the final residual stream */
                float sum[256];
                CHECK(d <= 256);
                sum_components(f.model, t, sum);
                double e = test_norm_err(sum, t->resid + ((size_t)t->n_layers * t->n_pos + t->pos) * d, (size_t)d);
                CHECK_MSG(e < 1e-5, "%s: components vs resid_post: %g", all_fixtures[fi], e);
                for (int pair = 0; pair < 4; pair++) {
                    int32_t a = (int32_t)((7 + 31 * pair + 13 * b) % V), w = pair == 3 ? -1 : (int32_t)((a + 1 + 17 * pair) % V);
                    hs_dla *dla = NULL;
                    CHECK_OK(hs_dla_compute(f.model, t, a, w, &dla, &err), &err);
                    double gap = fabs(hs_dla_total(dla) - dla->logit_diff);
                    worst = gap > worst ? gap : worst;
                    CHECK_MSG(gap <= 1e-4, "%s b%d pos %d pair %d/%d: components sum to %.9g, logit diff %.9g",
                              all_fixtures[fi], b, t->pos, a, w, hs_dla_total(dla), dla->logit_diff);
                    double acc[64];
                    CHECK(t->n_layers < 64);
                    hs_dla_accumulated(dla, acc);
                    CHECK_NEAR(acc[t->n_layers] + dla->ln_final_bias + dla->unembed_bias, dla->logit_diff, 1e-4);
                    /* planted errors: how far leaving out each kind of term would move the sum */
                    double term[5] = {dla->mlp[0], dla->heads[0], dla->embed, dla->ln_final_bias, dla->pos_embed};
                    for (int q = 0; q < 5; q++)
                        largest[q] = fmax(largest[q], fabs(term[q]));
                    hs_dla_free(dla);
                }
                hs_lens_trace_free(t);
            }
        /* a sum missing MLP 0, head L0H0, the token embedding, the final norm's bias or the position
         * embedding would have failed the 1e-4 check on some pair: the identity needs every term */
        for (int q = 0; q < 5; q++)
            CHECK_MSG(largest[q] > 1e-3 || (q == 3 && !f.model->ln_f_b) || (q == 4 && !f.model->W_pos),
                      "%s: term %d never exceeds %g", all_fixtures[fi], q, largest[q]);
        fixture_close(&f);
    }
    if (getenv("HS_LENS_VERBOSE"))
        fprintf(stderr, "worst |sum of DLA terms - logit diff| over all fixtures: %.3g\n", worst);
    return TEST_PASS;
}

/* The component-lens logits of every component plus the bias terms are the model's logits; the
 * neuron value vectors plus b_out are the MLP output; a neuron's lens logit difference is its DLA. */
int test_lens_component_lens_identities(void)
{
    for (size_t fi = 0; fi < N_FIXTURES; fi++) {
        fixture f;
        CHECK(fixture_open(all_fixtures[fi], &f) == TEST_PASS);
        hs_error err = {0};
        const hs_model *m = f.model;
        const int V = m->cfg.d_vocab, d = m->cfg.d_model, L = m->cfg.n_layers, H = m->cfg.n_heads, F = m->cfg.d_mlp;
        hs_lens_trace *t = NULL;
        CHECK_OK(hs_lens_trace_run(m, f.ids, f.n_pos, -1, &t, &err), &err);
        int n = 2 + L * (H + 2); /* embed, pos_embed, heads, b_O and mlp_out per layer */
        float *vecs = calloc((size_t)n * d, sizeof(float)), *logits = malloc((size_t)n * V * sizeof(float));
        float *v = malloc((size_t)d * sizeof(float));
        double *mlp = malloc((size_t)d * sizeof(double));
        CHECK(vecs && logits && v && mlp);
        memcpy(vecs, t->embed, (size_t)d * sizeof(float));
        if (t->pos_embed)
            memcpy(vecs + d, t->pos_embed, (size_t)d * sizeof(float));
        for (int l = 0; l < L; l++) {
            float *at = vecs + (size_t)(2 + l * (H + 2)) * d;
            memcpy(at, t->result + (size_t)l * H * d, (size_t)H * d * sizeof(float));
            if (m->layers[l].b_O)
                memcpy(at + (size_t)H * d, m->layers[l].b_O, (size_t)d * sizeof(float));
            memcpy(at + (size_t)(H + 1) * d, t->mlp_out + (size_t)l * d, (size_t)d * sizeof(float));
        }
        CHECK_OK(hs_component_lens_logits(m, t, vecs, n, logits, &err), &err);
        const float *z = t->logits + (size_t)t->pos * V;
        double worst = 0, zmax = 0;
        for (int tok = 0; tok < V; tok++) {
            double s = m->b_U ? m->b_U[tok] : 0.0;
            for (int i = 0; m->ln_f_b && i < d; i++)
                s += (double)m->ln_f_b[i] * m->W_U[(size_t)tok * d + i];
            for (int r = 0; r < n; r++)
                s += logits[(size_t)r * V + tok];
            worst = fmax(worst, fabs(s - z[tok]));
            zmax = fmax(zmax, fabs(z[tok]));
        }
        CHECK_MSG(worst <= 1e-4 * fmax(1, zmax), "%s: component logits sum off by %g", all_fixtures[fi], worst);

        /* neurons: Σ_i a_i W_out[:, i] + b_out = mlp_out, and lens logit difference = DLA */
        hs_dla *dla = NULL;
        CHECK_OK(hs_dla_compute(m, t, 1, 2, &dla, &err), &err);
        double *u = malloc((size_t)d * sizeof(double));
        CHECK(u);
        hs_dla_direction(m, 1, 2, u);
        for (int l = 0; l < L; l++) {
            for (int i = 0; i < d; i++)
                mlp[i] = m->layers[l].b_out ? m->layers[l].b_out[i] : 0.0;
            double dla_sum = m->layers[l].b_out ? hs_dla_of(m, u, m->layers[l].b_out, t->scale_final[t->pos]) : 0.0;
            for (int q = 0; q < F; q++) {
                hs_component_lens_neuron_vector(m, t, l, q, v);
                for (int i = 0; i < d; i++)
                    mlp[i] += v[i];
                dla_sum += hs_dla_of(m, u, v, t->scale_final[t->pos]);
                if (q % 17 == 0) {
                    CHECK_OK(hs_component_lens_logits(m, t, v, 1, logits, &err), &err);
                    CHECK_NEAR(logits[1] - logits[2], hs_dla_of(m, u, v, t->scale_final[t->pos]), 1e-5);
                }
            }
            for (int i = 0; i < d; i++)
                CHECK_NEAR(mlp[i], t->mlp_out[(size_t)l * d + i], 1e-5 * fmax(1, fabs(mlp[i])));
            CHECK_NEAR(dla_sum, dla->mlp[l], 1e-5);
        }
        /* the per-head table: heads first, strongest neurons after, k tokens each way */
        hs_component_lens *cl = NULL;
        CHECK_OK(hs_component_lens_compute(m, t, 3, 2, &cl, &err), &err);
        CHECK(cl->n_rows == L * H + L * 2);
        for (int r = 0; r < cl->n_rows; r++) {
            const hs_component_lens_row *row = &cl->rows[r];
            if (r < L * H)
                CHECK(row->layer == r / H && row->head == r % H && row->neuron == -1);
            else
                CHECK(row->head == -1 && row->neuron >= 0 && row->neuron < F);
            float *vr = v;
            if (row->head >= 0)
                memcpy(vr, t->result + ((size_t)row->layer * H + row->head) * d, (size_t)d * sizeof(float));
            else
                hs_component_lens_neuron_vector(m, t, row->layer, row->neuron, vr);
            /* one vector alone goes through another BLAS path than a chunk: rounding differs */
            CHECK_OK(hs_component_lens_logits(m, t, vr, 1, logits, &err), &err);
            double tol = 1e-6 * (fabs(cl->promoted_logit[r * 3]) + fabs(cl->suppressed_logit[r * 3]) + 1e-3);
            for (int q = 0; q < 3; q++) {
                CHECK_NEAR(logits[cl->promoted_id[r * 3 + q]], cl->promoted_logit[r * 3 + q], tol);
                CHECK_NEAR(logits[cl->suppressed_id[r * 3 + q]], cl->suppressed_logit[r * 3 + q], tol);
                if (q > 0)
                    CHECK(cl->promoted_logit[r * 3 + q] <= cl->promoted_logit[r * 3 + q - 1] &&
                          cl->suppressed_logit[r * 3 + q] >= cl->suppressed_logit[r * 3 + q - 1]);
            }
            for (int tok = 0; tok < V; tok++)
                CHECK(logits[tok] <= cl->promoted_logit[r * 3] + tol && logits[tok] >= cl->suppressed_logit[r * 3] - tol);
        }
        /* each layer's neurons are its strongest by |a_i| · ||W_out[:, i]||, strongest first */
        for (int l = 0; l < L; l++) {
            const hs_component_lens_row *first = &cl->rows[L * H + 2 * l];
            CHECK(first[0].layer == l && first[1].layer == l);
            CHECK(first[0].norm >= first[1].norm);
            for (int q = 0; q < F; q++) {
                hs_component_lens_neuron_vector(m, t, l, q, v);
                double nq = 0;
                for (int i = 0; i < d; i++)
                    nq += (double)v[i] * v[i];
                CHECK(sqrt(nq) <= first[0].norm * (1 + 1e-5));
                if (q != first[0].neuron)
                    CHECK(sqrt(nq) <= first[1].norm * (1 + 1e-5));
            }
        }
        hs_component_lens_free(cl);
        hs_dla_free(dla);
        free(u);
        free(vecs);
        free(logits);
        free(v);
        free(mlp);
        hs_lens_trace_free(t);
        fixture_close(&f);
    }
    return TEST_PASS;
}

/* ---------------------------------------------------------------- against TransformerLens */

/* A reference tensor as float32 (I32 converted), with its shape checked; NULL on mismatch. */
static float *ref_f32(const hs_st_archive *ref, const char *name, int ndim, const int64_t *shape)
{
    const hs_st_tensor *rt = hs_st_find(ref, name);
    if (!rt || rt->ndim != ndim) {
        fprintf(stderr, "reference %s: missing or not %d-d\n", name, ndim);
        return NULL;
    }
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (rt->shape[i] != shape[i]) {
            fprintf(stderr, "reference %s: dim %d is %lld, expected %lld\n", name, i, (long long)rt->shape[i],
                    (long long)shape[i]);
            return NULL;
        }
        n *= (size_t)shape[i];
    }
    float *out = malloc(n * sizeof *out);
    if (!out)
        return NULL;
    if (rt->dtype == HS_DTYPE_I32)
        for (size_t i = 0; i < n; i++)
            out[i] = (float)((const int32_t *)rt->data)[i];
    else if (hs_convert_to_f32(rt->dtype, rt->data, out, n) != 0) {
        free(out);
        return NULL;
    }
    return out;
}

#define REF(var, name, ...)                                                   \
    float *var = ref_f32(ref, name, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}); \
    CHECK(var)

static int lens_vs_tl(const char *name)
{
    fixture f;
    CHECK(fixture_open(name, &f) == TEST_PASS);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.safetensors", test_src_path("tests/fixtures/lens"), name);
    hs_st_archive *ref = NULL;
    hs_error err = {0};
    CHECK_OK(hs_st_open(path, &ref, &err), &err);
    const hs_model *m = f.model;
    const int64_t B = f.n_batch, T = f.n_pos, L = m->cfg.n_layers, R = L + 1, H = m->cfg.n_heads,
                  V = m->cfg.d_vocab, F = m->cfg.d_mlp, K = 5;
    REF(ids, "input_ids", B, T);
    REF(answer, "answer", B);
    REF(wrong, "wrong", B);
    REF(target, "target", B, T);
    REF(logit_diff, "logit_diff", B);
    REF(bias_terms, "bias_terms", B);
    REF(lens_logits, "lens_logits", R, B, T, V);
    REF(lens_kl, "lens_kl", R, B, T);
    REF(lens_tprob, "lens_target_prob", R, B, T);
    REF(lens_trank, "lens_target_rank", R, B, T);
    REF(lens_ld, "lens_logit_diff", R, B, T);
    REF(topk_ids, "lens_topk_ids", R, B, T, K);
    REF(topk_probs, "lens_topk_probs", R, B, T, K);
    REF(acc_ld, "accumulated_logit_diff", R, B);
    REF(dla_heads, "dla_heads", L, H, B);
    REF(dla_embed, "dla_embed", B);
    REF(dla_pos_embed, "dla_pos_embed", B);
    REF(dla_bias, "dla_bias", B);
    REF(dla_mlp, "dla_mlp", L, B);
    REF(dla_neurons, "dla_neurons", L, F, B);
    REF(head_logits, "head_logits", L, H, B, V);
    double worst_logit = 0, worst_prob = 0, worst_kl = 0, worst_dla = 0, worst_head = 0;
    float *z = malloc((size_t)T * V * sizeof *z), *v = malloc((size_t)m->cfg.d_model * sizeof *v);
    int32_t *tg = malloc((size_t)T * sizeof *tg);
    double *u = malloc((size_t)m->cfg.d_model * sizeof *u);
    CHECK(z && v && tg && u);
    for (int b = 0; b < B; b++) {
        for (int p = 0; p < T; p++)
            CHECK(ids[b * T + p] == (float)f.ids[b * T + p]);
        hs_lens_trace *t = NULL;
        CHECK_OK(hs_lens_trace_run(m, f.ids + (size_t)b * T, (int)T, -1, &t, &err), &err);
        /* the lens logits of every row, and what the lens makes of them */
        for (int r = 0; r < R; r++) {
            CHECK_OK(hs_lens_logits(m, t, r, z, &err), &err);
            for (int p = 0; p < T; p++) {
                double e = test_norm_err(z + (size_t)p * V, lens_logits + (((size_t)r * B + b) * T + p) * V, (size_t)V);
                worst_logit = fmax(worst_logit, e);
                CHECK_MSG(e <= 1e-5, "%s b%d row %d pos %d: lens logits off by %g", name, b, r, p, e);
            }
        }
        for (int p = 0; p < T; p++)
            tg[p] = (int32_t)target[b * T + p];
        hs_lens_targets targets = {.target = tg, .answer = (int32_t)answer[b], .wrong = (int32_t)wrong[b]};
        hs_lens *l = NULL;
        CHECK_OK(hs_lens_compute(m, t, &targets, (int)K, &l, &err), &err);
        for (int r = 0; r < R; r++)
            for (int p = 0; p < T; p++) {
                size_t cell = (size_t)r * T + p, rc = ((size_t)r * B + b) * T + p;
                CHECK_MSG(l->target_rank[cell] == (int32_t)lens_trank[rc], "%s b%d row %d pos %d: rank %d vs TL %g",
                          name, b, r, p, l->target_rank[cell], lens_trank[rc]);
                worst_prob = fmax(worst_prob, fabs(l->target_prob[cell] - lens_tprob[rc]));
                CHECK_NEAR(l->target_prob[cell], lens_tprob[rc], 2e-6);
                worst_kl = fmax(worst_kl, fabs(l->kl[cell] - lens_kl[rc]));
                CHECK_NEAR(l->kl[cell], lens_kl[rc], 1e-5 + 1e-5 * lens_kl[rc]);
                CHECK_NEAR(l->logit_diff[cell], lens_ld[rc], 1e-5);
                for (int q = 0; q < K; q++) {
                    CHECK_MSG(l->topk_id[cell * K + q] == (int32_t)topk_ids[rc * K + q],
                              "%s b%d row %d pos %d: top %d is %d, TL %g", name, b, r, p, q, l->topk_id[cell * K + q],
                              topk_ids[rc * K + q]);
                    CHECK_NEAR(l->topk_prob[cell * K + q], topk_probs[rc * K + q], 2e-6);
                }
            }
        hs_lens_free(l);
        /* DLA with the cached final scale */
        hs_dla *d = NULL;
        CHECK_OK(hs_dla_compute(m, t, (int32_t)answer[b], (int32_t)wrong[b], &d, &err), &err);
        CHECK_NEAR(d->logit_diff, logit_diff[b], 1e-5);
        CHECK_NEAR(d->ln_final_bias + d->unembed_bias, bias_terms[b], 1e-5);
        double acc[64], attn_bias = 0;
        hs_dla_accumulated(d, acc);
        for (int r = 0; r < R; r++)
            CHECK_NEAR(acc[r], acc_ld[r * B + b], 1e-5);
        for (int ll = 0; ll < L; ll++) {
            for (int h = 0; h < H; h++) {
                double e = fabs(d->heads[ll * H + h] - dla_heads[(ll * H + h) * B + b]);
                worst_dla = fmax(worst_dla, e);
                CHECK_NEAR(d->heads[ll * H + h], dla_heads[(ll * H + h) * B + b], 1e-5);
            }
            CHECK_NEAR(d->mlp[ll], dla_mlp[ll * B + b], 1e-5);
            attn_bias += d->attn_bias[ll];
        }
        CHECK_NEAR(d->embed, dla_embed[b], 1e-5);
        CHECK_NEAR(d->pos_embed, dla_pos_embed[b], 1e-5);
        CHECK_NEAR(attn_bias, dla_bias[b], 1e-5);
        hs_dla_direction(m, (int32_t)answer[b], (int32_t)wrong[b], u);
        for (int ll = 0; ll < L; ll++)
            for (int q = 0; q < F; q++) {
                hs_component_lens_neuron_vector(m, t, ll, q, v);
                CHECK_NEAR(hs_dla_of(m, u, v, t->scale_final[t->pos]), dla_neurons[(ll * F + q) * B + b], 1e-5);
            }
        hs_dla_free(d);
        /* the component lens of every head */
        CHECK_OK(hs_component_lens_logits(m, t, t->result, (int)(L * H), z, &err), &err);
        for (int c = 0; c < L * H; c++) {
            double e = test_norm_err(z + (size_t)c * V, head_logits + ((size_t)c * B + b) * V, (size_t)V);
            worst_head = fmax(worst_head, e);
            CHECK_MSG(e <= 1e-5, "%s b%d head %d: component lens off by %g", name, b, c, e);
        }
        hs_lens_trace_free(t);
    }
    if (getenv("HS_LENS_VERBOSE"))
        fprintf(stderr, "%s vs TransformerLens: lens logits %.2g (normalised), target prob %.2g, KL %.2g, head DLA %.2g, "
                        "head lens %.2g (normalised)\n",
                name, worst_logit, worst_prob, worst_kl, worst_dla, worst_head);
    free(ids), free(answer), free(wrong), free(target), free(logit_diff), free(bias_terms), free(lens_logits);
    free(lens_kl), free(lens_tprob), free(lens_trank), free(lens_ld), free(topk_ids), free(topk_probs), free(acc_ld);
    free(dla_heads), free(dla_embed), free(dla_pos_embed), free(dla_bias), free(dla_mlp), free(dla_neurons);
    free(head_logits), free(z), free(v), free(tg), free(u);
    hs_st_close(ref);
    fixture_close(&f);
    return TEST_PASS;
}

int test_lens_matches_transformer_lens_gpt2(void) { return lens_vs_tl("gpt2"); }
int test_lens_matches_transformer_lens_llama(void) { return lens_vs_tl("llama"); }
int test_lens_matches_transformer_lens_neox(void) { return lens_vs_tl("neox"); }
