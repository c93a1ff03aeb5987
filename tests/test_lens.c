/* test_lens.c — the logit lens, direct logit attribution and the component lens, checked by
 * identities on the parity fixtures of every architecture (the lens's last row is the model's
 * logits; DLA components plus the bias terms sum to the logit difference; component-lens logits
 * of all components plus the biases sum to the logits; neuron value vectors sum to the MLP output),
 * by TransformerLens' own numbers (tests/fixtures/lens/, regenerate with
 * python3 tools/gen_lens_ref.py), on stories260K by the answer it is known to give, and end to end
 * through `headscope run` + `headscope analyze logit-lens` by SQL over the tables it writes. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/lens/component_lens.h"
#include "analyses/lens/dla.h"
#include "analyses/lens/lens_store.h"
#include "analyses/lens/lens_trace.h"
#include "analyses/lens/logit_lens.h"
#include "analyses/lens/top_k.h"
#include "base/dtype.h"
#include "model/model.h"
#include "model/random_model.h"
#include "model/safetensors.h"
#include "store/sqlext.h"
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

/* ---------------------------------------------------------------- stories260K: a known answer */

/* "Once upon a" -> " time": the model's greedy continuation (its golden generation from BOS reads
 * "Once upon a time"), so the lens's final row ranks " time" first; DLA against " day" sums to the
 * logit difference on a trained model too. HS_LENS_VERBOSE=1 prints the layer-by-layer picture. */
int test_lens_stories_once_upon_a_time(void)
{
    const char *path = test_shared_path("models/stories260K/stories260K.bin");
    if (!path)
        return TEST_SKIP;
    hs_error err = {0};
    hs_model *m = NULL;
    CHECK_OK(hs_model_open(path, NULL, &m, &err), &err);
    const hs_tokenizer *tok = hs_model_tokenizer(m);
    int32_t *ids = NULL, *full = NULL, *day = NULL;
    size_t n = 0, n_full = 0, n_day = 0;
    CHECK_OK(hs_tokenizer_encode(tok, "Once upon a", 11, 1, &ids, &n, &err), &err);
    CHECK_OK(hs_tokenizer_encode(tok, "Once upon a time", 16, 1, &full, &n_full, &err), &err);
    CHECK_OK(hs_tokenizer_encode(tok, "Once upon a day", 15, 1, &day, &n_day, &err), &err);
    CHECK(n == 4 && n_full == 5 && n_day == 5 && memcmp(ids, full, 4 * sizeof *ids) == 0);
    CHECK(ids[0] == 1 && ids[1] == 403 && ids[2] == 407 && ids[3] == 261 && full[4] == 378); /* the golden ids */
    int32_t time_id = full[4], day_id = day[4];
    hs_lens_trace *t = NULL;
    CHECK_OK(hs_lens_trace_run(m, ids, (int)n, -1, &t, &err), &err);
    int32_t target[4] = {ids[1], ids[2], ids[3], time_id};
    hs_lens_targets tg = {.target = target, .answer = time_id, .wrong = day_id};
    hs_lens *l = NULL;
    CHECK_OK(hs_lens_compute(m, t, &tg, 3, &l, &err), &err);
    int R = t->n_layers + 1, last = (int)n - 1;
    if (getenv("HS_LENS_VERBOSE")) {
        fprintf(stderr, "\"Once upon a\" -> \" time\" (id %d), per residual row at the last position:\n", time_id);
        fprintf(stderr, "row  rank  P(time)     logit(time)-logit(day)  KL(final||row)  top-1\n");
        for (int r = 0; r < R; r++) {
            size_t cell = (size_t)r * n + last;
            char top[64];
            hs_tokenizer_token_text(tok, l->topk_id[cell * 3], top, sizeof top);
            fprintf(stderr, "%3d  %4d  %.3e  %22.3f  %14.3f  '%s' (%.3f)\n", r, l->target_rank[cell],
                    (double)l->target_prob[cell], (double)l->logit_diff[cell], (double)l->kl[cell], top,
                    (double)l->topk_prob[cell * 3]);
        }
    }
    size_t final_cell = (size_t)(R - 1) * n + last;
    CHECK(l->target_rank[final_cell] == 1 && l->topk_id[final_cell * 3] == time_id);
    CHECK(l->target_prob[final_cell] > 0.5f);
    for (int p = 0; p < last; p++) /* the prompt's own next tokens, as the model reads them */
        CHECK(l->target_rank[(size_t)(R - 1) * n + p] >= 1);
    hs_dla *d = NULL;
    CHECK_OK(hs_dla_compute(m, t, time_id, day_id, &d, &err), &err);
    CHECK_NEAR(hs_dla_total(d), d->logit_diff, 1e-4);
    CHECK_NEAR(d->logit_diff, l->logit_diff[final_cell], 1e-5);
    CHECK(d->pos_embed == 0 && d->ln_final_bias == 0 && d->unembed_bias == 0); /* rotary, RMSNorm, no b_U */
    hs_dla_free(d);
    hs_lens_free(l);
    hs_lens_trace_free(t);
    free(ids), free(full), free(day);
    hs_model_close(m);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- the command and its tables */

static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -999;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static double q_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    double v = NAN;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_double(st, 0);
    else
        fprintf(stderr, "query failed or NULL: %s: %s\n", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return v;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* The random model's tokenizer is bytes without merges: answers start at a clean boundary and
 * differ in their first byte. */
static const char lens_prompts[] =
    "{\"id\": \"ioi\", \"text\": \"Lily and Ben went to the park. Ben gave a ball to \", \"answer\": \"Lily\", \"wrong\": \"Ben\"}\n"
    "{\"id\": \"alone\", \"text\": \"The cat sat on the \", \"answer\": \"mat\"}\n"
    "{\"id\": \"none\", \"text\": \"Once upon a time\"}\n"
    "{\"id\": \"pair\", \"text\": \"One, two, three, \", \"answer\": \"four\", \"wrong\": \"five\"}\n";

/* Every table the analysis writes, checked through SQL against identities and the recorded run. */
static int check_lens_tables(sqlite3 *db, int L, int H, int k, int n_neurons)
{
    char sql[2048];
    CHECK(q_int(db, "PRAGMA user_version") == HS_STORE_SCHEMA_VERSION);
    /* one lens row per layer row and token of every prompt */
    snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM logit_lens) = %d * (SELECT sum(n_tokens) FROM prompts)",
             L + 1);
    CHECK(q_int(db, sql) == 1);
    CHECK(q_int(db, "SELECT count(*) FROM lens_prompts") == 4);
    /* the final row: KL 0, and its top token is the argmax of the logits the run recorded */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM logit_lens WHERE layer = %d AND kl != 0", L);
    CHECK(q_int(db, sql) == 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM logit_lens l JOIN lens_prompts p ON p.prompt_id = l.prompt_id "
             "JOIN activations a ON a.prompt_id = l.prompt_id AND a.hook = 'unembed.hook_out' "
             "WHERE l.layer = %d AND l.pos = p.pos AND l.top_id = tensor_argmax(a.data)", L);
    CHECK(q_int(db, sql) == 4);
    /* ... and its logit difference is the model's, which the DLA terms sum to */
    CHECK(q_int(db, "SELECT count(*) FROM lens_prompts WHERE answer_id IS NOT NULL") == 3);
    CHECK(q_int(db, "SELECT count(*) FROM lens_prompts WHERE wrong_id IS NOT NULL") == 2);
    double gap = q_double(db, "SELECT max(abs(p.logit_diff - (SELECT sum(value) FROM dla d WHERE d.prompt_id = p.prompt_id))) "
                              "FROM lens_prompts p WHERE p.answer_id IS NOT NULL");
    CHECK_MSG(gap <= 1e-4, "DLA sum vs logit difference: %g", gap);
    snprintf(sql, sizeof sql,
             "SELECT max(abs(l.logit_diff - p.logit_diff)) FROM logit_lens l JOIN lens_prompts p ON "
             "p.prompt_id = l.prompt_id WHERE l.layer = %d AND l.pos = p.pos AND p.wrong_id IS NOT NULL", L);
    CHECK(q_double(db, sql) <= 1e-5);
    /* logit(answer) vs logit(answer) - logit(wrong): the lone answer's row has no lens logit_diff */
    CHECK(q_int(db, "SELECT count(*) FROM logit_lens l JOIN prompts p ON p.id = l.prompt_id "
                    "WHERE p.ext_id = 'alone' AND l.logit_diff IS NOT NULL") == 0);
    /* targets: the next token, and the answer after the last; none after the last without an answer */
    CHECK(q_int(db, "SELECT count(*) FROM logit_lens l JOIN tokens t ON t.prompt_id = l.prompt_id AND t.pos = l.pos + 1 "
                    "WHERE l.target_id IS NOT t.token_id") == 0);
    CHECK(q_int(db, "SELECT count(*) FROM logit_lens l JOIN lens_prompts p ON p.prompt_id = l.prompt_id "
                    "WHERE l.pos = p.pos AND l.target_id IS NOT p.answer_id") == 0);
    CHECK(q_int(db, "SELECT count(*) FROM lens_prompts p JOIN prompts q ON q.id = p.prompt_id "
                    "WHERE p.pos != q.n_tokens - 1") == 0);
    /* the answer token is the byte the answer starts with */
    CHECK(q_int(db, "SELECT count(*) FROM lens_prompts p JOIN prompts q ON q.id = p.prompt_id JOIN vocab v "
                    "ON v.token_id = p.answer_id WHERE v.text = substr(q.answer, 1, 1)") == 3);
    /* top-k: k ids and probabilities, descending, led by top_id; rank 1 exactly when the target is on top */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM logit_lens WHERE json_array_length(topk_ids) != %d OR "
                              "json_array_length(topk_probs) != %d OR json_extract(topk_ids, '$[0]') != top_id", k, k);
    CHECK(q_int(db, sql) == 0);
    CHECK(q_int(db, "SELECT count(*) FROM logit_lens l, json_each(l.topk_probs) a, json_each(l.topk_probs) b "
                    "WHERE b.key = a.key + 1 AND b.value > a.value") == 0);
    CHECK(q_int(db, "SELECT count(*) FROM logit_lens WHERE target_id IS NOT NULL AND "
                    "(target_rank = 1) != (target_id = top_id)") == 0);
    CHECK(q_int(db, "SELECT count(*) FROM logit_lens WHERE target_rank <= 1 AND abs(target_prob - top_prob) > 1e-6") == 0);
    /* DLA rows: every component once, heads also in head_scores with their mean */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM dla WHERE component = 'head'");
    CHECK(q_int(db, sql) == 3 * L * H);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM dla WHERE component IN ('attn_bias', 'mlp')");
    CHECK(q_int(db, sql) == 3 * 2 * L);
    CHECK(q_int(db, "SELECT count(*) FROM dla WHERE component IN ('embed', 'pos_embed', 'ln_final_bias', 'unembed_bias')") ==
          3 * 4);
    CHECK(q_int(db, "SELECT count(*) FROM head_scores h JOIN dla d ON d.prompt_id = h.prompt_id AND d.layer = h.layer "
                    "AND d.head = h.head AND d.component = 'head' WHERE h.analysis = 'dla' AND h.metric = 'dla' "
                    "AND h.value = d.value") == 3 * L * H);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM head_scores WHERE analysis = 'dla' AND prompt_id IS NULL");
    CHECK(q_int(db, sql) == L * H);
    CHECK(q_double(db, "SELECT max(abs(m.value - (SELECT avg(value) FROM head_scores h WHERE h.analysis = 'dla' AND "
                       "h.prompt_id IS NOT NULL AND h.layer = m.layer AND h.head = m.head))) FROM head_scores m "
                       "WHERE m.analysis = 'dla' AND m.prompt_id IS NULL") < 1e-12);
    /* component lens: every head and n neurons per layer, per prompt; lists of k, promoted descending */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM component_lens");
    CHECK(q_int(db, sql) == 4 * (L * H + L * n_neurons));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM component_lens WHERE json_array_length(promoted_ids) != %d OR "
                              "json_array_length(suppressed_logits) != %d", k, k);
    CHECK(q_int(db, sql) == 0);
    CHECK(q_int(db, "SELECT count(*) FROM component_lens c WHERE json_extract(c.promoted_logits, '$[0]') < "
                    "json_extract(c.suppressed_logits, '$[0]') OR (neuron IS NOT NULL) != (activation IS NOT NULL)") == 0);
    /* provenance */
    CHECK(q_int(db, "SELECT count(*) FROM analysis_runs WHERE analysis = 'logit_lens' AND finished_at IS NOT NULL AND "
                    "model_sha256 = (SELECT model_sha256 FROM runs)") == 1);
    return TEST_PASS;
}

int test_lens_cli_end_to_end(void)
{
    char dir[256], model[512], other[512], prompts[512], db[512], args[8192], out[65536];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(other, sizeof other, "%s/other", dir);
    snprintf(prompts, sizeof prompts, "%s/prompts.jsonl", dir);
    snprintf(db, sizeof db, "%s/run.db", dir);
    hs_error err = {0};
    hs_random_model_spec spec = {.n_layers = 3, .d_model = 32, .n_heads = 4, .n_ctx = 128, .d_vocab = 257,
                                 .init_std = 0.3f, .seed = 11};
    CHECK_OK(hs_random_model_write(model, &spec, &err), &err);
    spec.seed = 12;
    CHECK_OK(hs_random_model_write(other, &spec, &err), &err);
    CHECK(write_text(prompts, lens_prompts) == 0);
    snprintf(args, sizeof args, "run --model %s --prompts %s --db %s --record logits --positions -1 --dtype f32 --quiet",
             model, prompts, db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    snprintf(args, sizeof args, "analyze logit-lens --db %s --top-k 4 --neurons 2 --quiet", db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK_MSG(strstr(out, "4 of 4 prompts analysed, some without an answer"), "%s", out);
    CHECK_MSG(strstr(out, "mean P(target)") && strstr(out, "heads with the largest mean DLA: L"), "%s", out);
    sqlite3 *d = NULL;
    CHECK(sqlite3_open_v2(db, &d, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK && hs_sqlext_register(d) == SQLITE_OK);
    CHECK(check_lens_tables(d, 3, 4, 4, 2) == TEST_PASS);

    /* the plotting reader gives back what an in-process lens computes */
    hs_model *m = NULL;
    CHECK_OK(hs_model_open(model, NULL, &m, &err), &err);
    long long pid = q_int(d, "SELECT id FROM prompts WHERE ext_id = 'ioi'");
    int32_t ids[128], answer = (int32_t)q_int(d, "SELECT answer_id FROM lens_prompts WHERE prompt_id = (SELECT id FROM prompts WHERE ext_id = 'ioi')");
    int n = (int)q_int(d, "SELECT n_tokens FROM prompts WHERE ext_id = 'ioi'");
    CHECK(n > 0 && n <= 128);
    for (int p = 0; p < n; p++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT token_id FROM tokens WHERE prompt_id = %lld AND pos = %d", pid, p);
        ids[p] = (int32_t)q_int(d, sql);
    }
    hs_lens_trace *t = NULL;
    hs_lens *mine = NULL, *back = NULL;
    int32_t target[128];
    for (int p = 0; p + 1 < n; p++)
        target[p] = ids[p + 1];
    target[n - 1] = answer;
    CHECK_OK(hs_lens_trace_run(m, ids, n, -1, &t, &err), &err);
    hs_lens_targets tg = {.target = target, .answer = answer, .wrong = (int32_t)q_int(d, "SELECT wrong_id FROM lens_prompts WHERE answer_id IS NOT NULL ORDER BY prompt_id LIMIT 1")};
    CHECK_OK(hs_lens_compute(m, t, &tg, 4, &mine, &err), &err);
    hs_store *s = NULL;
    CHECK_OK(hs_store_open(db, HS_STORE_READONLY, NULL, &s, &err), &err);
    CHECK_OK(hs_lens_read(s, pid, &back, &err), &err);
    CHECK(back->n_rows == 4 && back->n_pos == n && back->k == 4);
    for (size_t c = 0; c < (size_t)back->n_rows * n; c++) {
        CHECK(back->target_rank[c] == mine->target_rank[c]);
        CHECK_NEAR(back->target_prob[c], mine->target_prob[c], 1e-7);
        CHECK_NEAR(back->kl[c], mine->kl[c], 1e-6);
        CHECK_NEAR(back->logit_diff[c], mine->logit_diff[c], 1e-6);
        for (int q = 0; q < 4; q++) {
            CHECK(back->topk_id[c * 4 + q] == mine->topk_id[c * 4 + q]);
            /* stored with 6 significant digits */
            CHECK_NEAR(back->topk_prob[c * 4 + q], mine->topk_prob[c * 4 + q], 5e-6 * mine->topk_prob[c * 4 + q]);
        }
    }
    hs_lens_free(back);
    CHECK(hs_lens_read(s, 999999, &back, &err) == HS_ERR_MISSING);
    hs_store_close(s);
    hs_lens_free(mine);
    hs_lens_trace_free(t);
    hs_model_close(m);

    /* the same command again has nothing to do; an interrupted analysis resumes the missing prompt */
    snprintf(args, sizeof args, "analyze logit-lens --db %s --top-k 4 --neurons 2 --quiet", db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0 && strstr(out, "nothing to do"), "%s", out);
    long long before = q_int(d, "SELECT count(*) + sum(kl * 1000) FROM logit_lens");
    CHECK(sqlite3_exec(d, "UPDATE analysis_runs SET finished_at = NULL;"
                          "DELETE FROM logit_lens WHERE prompt_id = (SELECT id FROM prompts WHERE ext_id = 'pair');"
                          "DELETE FROM dla WHERE prompt_id = (SELECT id FROM prompts WHERE ext_id = 'pair');"
                          "DELETE FROM component_lens WHERE prompt_id = (SELECT id FROM prompts WHERE ext_id = 'pair');"
                          "DELETE FROM head_scores WHERE analysis = 'dla' AND (prompt_id IS NULL OR prompt_id = "
                          "(SELECT id FROM prompts WHERE ext_id = 'pair'));"
                          "DELETE FROM lens_prompts WHERE prompt_id = (SELECT id FROM prompts WHERE ext_id = 'pair')",
                       NULL, NULL, NULL) == SQLITE_OK);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0 && strstr(out, "1 of 4 prompts analysed, resumed"), "%s", out);
    CHECK(check_lens_tables(d, 3, 4, 4, 2) == TEST_PASS);
    CHECK(q_int(d, "SELECT count(*) + sum(kl * 1000) FROM logit_lens") == before);

    /* other options replace the earlier analysis, every row of it */
    snprintf(args, sizeof args, "analyze logit-lens --db %s --top-k 2 --neurons 1 --quiet", db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0 && strstr(out, "4 of 4 prompts analysed"), "%s", out);
    CHECK(check_lens_tables(d, 3, 4, 2, 1) == TEST_PASS);
    CHECK(q_int(d, "SELECT count(*) FROM analysis_runs WHERE options LIKE '%\"top_k\":2%'") == 1);
    CHECK(q_int(d, "SELECT count(*) FROM analysis_runs") == 1);

    /* --target for every prompt: the answer is its first byte, with no wrong token */
    snprintf(args, sizeof args, "analyze logit-lens --db %s --target xyz --no-component-lens --quiet", db);
    CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
    CHECK(q_int(d, "SELECT count(*) FROM lens_prompts p JOIN vocab v ON v.token_id = p.answer_id "
                   "WHERE v.text = 'x' AND p.wrong_id IS NULL") == 4);
    CHECK(q_int(d, "SELECT count(*) FROM component_lens") == 0);
    sqlite3_close(d);

    /* refusals: another model, an absent run, bad options */
    snprintf(args, sizeof args, "analyze logit-lens --db %s --model %s", db, other);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "is not the model run 1 recorded"), "%s", out);
    snprintf(args, sizeof args, "analyze logit-lens --db %s --run 7", db);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "there is no run 7"), "%s", out);
    snprintf(args, sizeof args, "analyze logit-lens --db %s --top-k 0", db);
    CHECK(test_run_headscope(args, out, sizeof out) == 2);
    snprintf(args, sizeof args, "analyze logit-lens --db %s --wrong a", db);
    CHECK(test_run_headscope(args, out, sizeof out) == 2);
    CHECK(test_run_headscope("analyze nonsense", out, sizeof out) == 2);
    CHECK_MSG(strstr(out, "unknown analysis 'nonsense'") && strstr(out, "logit-lens"), "%s", out);
    return TEST_PASS;
}

/* `analyze logit-lens --db PATH` on a path that does not exist says so and creates nothing (it used
 * to create an empty store there and report "there is no run"). */
int test_lens_cli_missing_store(void)
{
    char out[8192], args[4096], db[600];
    snprintf(db, sizeof db, "%s/nope.db", test_tmpdir());
    snprintf(args, sizeof args, "analyze logit-lens --db %s", db);
    CHECK(test_run_headscope(args, out, sizeof out) == 1);
    CHECK_MSG(strstr(out, "nope.db: no such store"), "got: %s", out);
    FILE *f = fopen(db, "rb");
    CHECK_MSG(!f, "%s was created", db);
    return TEST_PASS;
}
