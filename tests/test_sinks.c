/* test_sinks.c — attention sinks: sink scores, sink rate, hidden sinks, entropy, norms, massive
 * activations and sink dimensions on hand-built arrays whose answers are worked out by hand; the ACT
 * rewrite of attention rows, through the real forward pass checked against a recomputation of
 * z = A·V; head selection on synthetic metrics with known answers; and a model with planted sink
 * heads whose sink rate and hidden sinks follow from its construction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/sinks/act.h"
#include "analyses/sinks/massive.h"
#include "analyses/sinks/sinks.h"
#include "model/model.h"
#include "model/random_model.h"
#include "tests/test.h"
#include "tests/tiny_model.h"

/* A 4-token causal pattern used throughout; its sink scores by hand:
 * alpha_0 = (1 + .5 + .2 + .1)/4 = .45, alpha_1 = (.5 + .6 + .3)/3 = .4667, alpha_2 = (.2 + .2)/2 = .2,
 * alpha_3 = .4. */
static const float P4[16] = {
    1.0f, 0.0f, 0.0f, 0.0f,
    0.5f, 0.5f, 0.0f, 0.0f,
    0.2f, 0.6f, 0.2f, 0.0f,
    0.1f, 0.3f, 0.2f, 0.4f,
};

/* 1 when a and b agree within tol everywhere: the checker the tests below trust. */
static int arrays_agree(const float *a, const double *b, int n, double tol)
{
    for (int i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= tol))
            return 0;
    return 1;
}

/* A random causal softmax pattern [T, T] (scores uniform in [-s, s], plus 4 on key sink_col when
 * sink_col >= 0, which plants a sink there). */
static void random_pattern(float *p, int T, float s, int sink_col, unsigned *seed)
{
    for (int i = 0; i < T; i++) {
        float *row = p + (size_t)i * T;
        tiny_fill(row, (size_t)i + 1, s, seed);
        if (sink_col >= 0 && sink_col <= i)
            row[sink_col] += 4.0f;
        double mx = -1e30, z = 0.0;
        for (int k = 0; k <= i; k++)
            mx = row[k] > mx ? row[k] : mx;
        for (int k = 0; k <= i; k++)
            z += exp(row[k] - mx);
        for (int k = 0; k < T; k++)
            row[k] = k <= i ? (float)(exp(row[k] - mx) / z) : 0.0f;
    }
}

/* Plain definition, straight from the formula, for the cross-check. */
static void plain_scores(const float *p, int n, int T, double *alpha)
{
    for (int k = 0; k < T; k++) {
        double s = 0.0;
        for (int i = k; i < T; i++)
            s += p[(size_t)i * n + k];
        alpha[k] = s / (T - k);
    }
}

int test_sinks_scores_and_entropy(void)
{
    float alpha[4];
    hs_sinks_scores(P4, 4, 4, alpha);
    const double want[4] = {0.45, 1.4 / 3.0, 0.2, 0.4};
    CHECK(arrays_agree(alpha, want, 4, 1e-7));
    /* cut to the first two tokens: alpha_0 = (1 + .5)/2, alpha_1 = .5 */
    hs_sinks_scores(P4, 4, 2, alpha);
    const double want2[2] = {0.75, 0.5};
    CHECK(arrays_agree(alpha, want2, 2, 1e-7));
    /* entropy: rows 0, ln 2, -(2·.2 ln .2 + .6 ln .6), -(.1 ln .1 + .3 ln .3 + .2 ln .2 + .4 ln .4) */
    double h = (0.0 + log(2.0) - (2 * 0.2 * log(0.2) + 0.6 * log(0.6)) -
                (0.1 * log(0.1) + 0.3 * log(0.3) + 0.2 * log(0.2) + 0.4 * log(0.4))) / 4.0;
    CHECK_NEAR(hs_sinks_entropy(P4, 4), h, 1e-7);
    /* uniform causal attention over T keys: mean of ln(i+1) */
    float u[36];
    double hu = 0.0;
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < 6; k++)
            u[i * 6 + k] = k <= i ? 1.0f / (float)(i + 1) : 0.0f;
        hu += log(i + 1.0);
    }
    CHECK_NEAR(hs_sinks_entropy(u, 6), hu / 6, 1e-6);

    /* against the plain formula on random patterns, whole and cut */
    unsigned seed = 11;
    int T = 50;
    float *p = malloc(sizeof(float) * T * T), *a = malloc(sizeof(float) * T);
    double *ref = malloc(sizeof(double) * T);
    CHECK(p && a && ref);
    random_pattern(p, T, 3.0f, -1, &seed);
    for (int cut = 1; cut <= T; cut += 7) {
        hs_sinks_scores(p, T, cut, a);
        plain_scores(p, T, cut, ref);
        CHECK_MSG(arrays_agree(a, ref, cut, 1e-6), "cut %d", cut);
    }
    /* planted error: one weight moved by 1e-3 must be caught by the checker */
    hs_sinks_scores(p, T, T, a);
    p[(size_t)40 * T + 30] += 1e-3f;
    plain_scores(p, T, T, ref);
    CHECK(!arrays_agree(a, ref, T, 1e-6));
    free(p);
    free(a);
    free(ref);
    return TEST_PASS;
}

/* A pattern [n, n] whose first `lead` rows attend only to key 0 and the rest only to themselves. */
static float *lead_pattern(int n, int lead)
{
    float *p = calloc((size_t)n * n, sizeof *p);
    if (p)
        for (int i = 0; i < n; i++)
            p[(size_t)i * n + (i < lead ? 0 : i)] = 1.0f;
    return p;
}

int test_sinks_rate_accumulator(void)
{
    hs_error err = {0};
    hs_sink_rate *sr;
    CHECK_OK(hs_sink_rate_new(2, 2, 0, 0, &sr, &err), &err); /* defaults: eps .3, T 64 */
    /* identity: alpha_0 = 1/4 (no sink); P4: alpha_0 = .45 (sink) */
    float id4[16] = {0};
    for (int i = 0; i < 4; i++)
        id4[i * 4 + i] = 1.0f;
    /* 3 prompts; head (0,0) sinks on all, (0,1) on 1, (1,0) on 2, (1,1) on none */
    const int plan[3][4] = {{1, 1, 1, 0}, {1, 0, 1, 0}, {1, 0, 0, 0}};
    float a0;
    for (int p = 0; p < 3; p++)
        for (int j = 0; j < 4; j++) {
            CHECK_OK(hs_sink_rate_add(sr, j / 2, j % 2, plan[p][j] ? P4 : id4, 4, &a0, &err), &err);
            CHECK_NEAR(a0, plan[p][j] ? 0.45 : 0.25, 1e-7);
        }
    CHECK_NEAR(hs_sink_rate_overall(sr), 6.0 / 12.0, 1e-12);
    CHECK_NEAR(hs_sink_rate_layer(sr, 0), 4.0 / 6.0, 1e-12);
    CHECK_NEAR(hs_sink_rate_layer(sr, 1), 2.0 / 6.0, 1e-12);
    CHECK_NEAR(hs_sink_rate_head(sr, 0, 0), 1.0, 1e-12);
    CHECK_NEAR(hs_sink_rate_head(sr, 0, 1), 1.0 / 3.0, 1e-12);
    CHECK_NEAR(hs_sink_rate_head(sr, 1, 0), 2.0 / 3.0, 1e-12);
    CHECK_NEAR(hs_sink_rate_head(sr, 1, 1), 0.0, 1e-12);
    CHECK_NEAR(hs_sink_rate_mean_alpha0(sr, 1, 0), (0.45 * 2 + 0.25) / 3.0, 1e-7);
    CHECK(hs_sink_rate_count(sr, 1, 1) == 3);
    CHECK(hs_sink_rate_n_short(sr) == 3); /* every prompt had 4 < 64 tokens */
    CHECK(isnan(hs_sink_rate_layer(sr, 2)) && isnan(hs_sink_rate_head(sr, 0, 2)));
    CHECK(hs_sink_rate_add(sr, 2, 0, P4, 4, NULL, &err) == HS_ERR_RANGE);
    CHECK(hs_sink_rate_add(sr, 0, -1, P4, 4, NULL, &err) == HS_ERR_RANGE);
    CHECK(hs_sink_rate_count(sr, 0, 0) == 3);
    hs_sink_rate_free(sr);

    /* the T = 64 cut: 20 leading rows on key 0 of a 100-token prompt give alpha_0 = 20/64 > .3 when
     * cut, 20/100 < .3 when not */
    float *p = lead_pattern(100, 20);
    CHECK(p);
    CHECK_OK(hs_sink_rate_new(1, 1, 0.3f, 64, &sr, &err), &err);
    CHECK_OK(hs_sink_rate_add(sr, 0, 0, p, 100, &a0, &err), &err);
    CHECK_NEAR(a0, 20.0 / 64.0, 1e-7);
    CHECK(hs_sink_rate_overall(sr) == 1.0 && hs_sink_rate_n_short(sr) == 0);
    hs_sink_rate_free(sr);
    CHECK_OK(hs_sink_rate_new(1, 1, 0.3f, 100, &sr, &err), &err);
    CHECK_OK(hs_sink_rate_add(sr, 0, 0, p, 100, &a0, &err), &err);
    CHECK_NEAR(a0, 0.2, 1e-7);
    CHECK(hs_sink_rate_overall(sr) == 0.0);
    CHECK(isnan(hs_sink_rate_mean_alpha0(sr, 0, 1)));
    hs_sink_rate_free(sr);
    free(p);
    CHECK(hs_sink_rate_new(0, 1, 0, 0, &sr, &err) == HS_ERR_ARG && sr == NULL);
    return TEST_PASS;
}

int test_sinks_hidden(void)
{
    hs_error err = {0};
    hs_hidden_sinks *hs;
    CHECK_OK(hs_hidden_sinks_new(1, 2, 3, 10, 0, &hs, &err), &err); /* tau .1, positions < 3 binned */
    /* P4 with tau .1: alpha_1 .467, alpha_2 .2, alpha_3 .4 -> S = {1, 2, 3} */
    int s[4], ns;
    const int32_t ids_a[4] = {1, 7, 7, 3};
    CHECK_OK(hs_hidden_sinks_add(hs, 0, 0, P4, 4, ids_a, s, &ns, &err), &err);
    CHECK(ns == 3 && s[0] == 1 && s[1] == 2 && s[2] == 3);
    /* a pattern all on key 0: alpha_k = 0 for k > 0, S empty */
    float z3[9] = {1, 0, 0, 1, 0, 0, 1, 0, 0};
    const int32_t ids_b[3] = {1, 7, 5};
    CHECK_OK(hs_hidden_sinks_add(hs, 0, 0, z3, 3, ids_b, s, &ns, &err), &err);
    CHECK(ns == 0);
    /* head 1: P4 cut by hand to its first two rows and keys: [[1,0],[.5,.5]]: alpha_1 = .5 -> {1} */
    float p2[4] = {1, 0, 0.5f, 0.5f};
    CHECK_OK(hs_hidden_sinks_add(hs, 0, 1, p2, 2, NULL, NULL, &ns, &err), &err);
    CHECK(ns == 1);
    CHECK_NEAR(hs_hidden_sinks_mean_count(hs, 0, 0), 3.0 / 2.0, 1e-12);
    CHECK_NEAR(hs_hidden_sinks_frac_prompts(hs, 0, 0), 0.5, 1e-12);
    CHECK_NEAR(hs_hidden_sinks_pos_freq(hs, 0, 0, 1), 0.5, 1e-12);
    CHECK_NEAR(hs_hidden_sinks_pos_freq(hs, 0, 0, 2), 0.5, 1e-12);
    CHECK(isnan(hs_hidden_sinks_pos_freq(hs, 0, 0, 3))); /* beyond max_pos: counted, not binned */
    CHECK(isnan(hs_hidden_sinks_pos_freq(hs, 0, 0, 0)));
    CHECK_NEAR(hs_hidden_sinks_pos_freq(hs, 0, 1, 1), 1.0, 1e-12);
    CHECK(isnan(hs_hidden_sinks_pos_freq(hs, 0, 1, 2))); /* no prompt of head 1 reached key 2 */
    /* token 7: at positions 1, 2 (sinks) of prompt a and 1 (not) of prompt b -> 2/3; token 3: 1/1;
     * token 5: 0/1; token 1 only ever at position 0 -> NaN */
    CHECK_NEAR(hs_hidden_sinks_token_freq(hs, 7), 2.0 / 3.0, 1e-12);
    CHECK_NEAR(hs_hidden_sinks_token_freq(hs, 3), 1.0, 1e-12);
    CHECK_NEAR(hs_hidden_sinks_token_freq(hs, 5), 0.0, 1e-12);
    CHECK(isnan(hs_hidden_sinks_token_freq(hs, 1)));
    CHECK(hs_hidden_sinks_token_seen(hs, 7) == 3 && hs_hidden_sinks_token_seen(hs, 1) == 0);
    const int32_t bad[3] = {1, 10, 2};
    CHECK(hs_hidden_sinks_add(hs, 0, 0, z3, 3, bad, NULL, NULL, &err) == HS_ERR_RANGE);
    CHECK(hs_hidden_sinks_add(hs, 1, 0, z3, 3, NULL, NULL, NULL, &err) == HS_ERR_RANGE);
    CHECK_NEAR(hs_hidden_sinks_mean_count(hs, 0, 0), 3.0 / 2.0, 1e-12); /* failures added nothing */
    hs_hidden_sinks_free(hs);

    /* tau .3 on P4: alpha_2 = .2 drops out */
    CHECK_OK(hs_hidden_sinks_new(1, 1, 8, 0, 0.3f, &hs, &err), &err);
    CHECK_OK(hs_hidden_sinks_add(hs, 0, 0, P4, 4, NULL, s, &ns, &err), &err);
    CHECK(ns == 2 && s[0] == 1 && s[1] == 3);
    CHECK(isnan(hs_hidden_sinks_token_freq(hs, 0)));
    hs_hidden_sinks_free(hs);
    return TEST_PASS;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int test_sinks_massive_and_norms(void)
{
    /* norms: rows (3, 4) and (0, 0); k/v [T=1, 2 heads, 2]: (1, 1) and (2, 0) */
    const float x2[4] = {3, 4, 0, 0};
    float nrm[2];
    hs_massive_row_norms(x2, 2, 2, nrm);
    CHECK_NEAR(nrm[0], 5.0, 1e-6);
    CHECK_NEAR(nrm[1], 0.0, 0);
    const float kv[4] = {1, 1, 2, 0};
    hs_massive_row_norms(kv, 2, 2, nrm);
    CHECK_NEAR(nrm[0], sqrt(2.0), 1e-6);
    CHECK_NEAR(nrm[1], 2.0, 1e-6);
    /* |x / rms|: (3, 4) has rms sqrt(12.5) */
    float h[4];
    hs_massive_rms_magnitudes(x2, 1, 2, h);
    CHECK_NEAR(h[0], 3.0 / sqrt(12.5 + 1e-6), 1e-6);
    CHECK_NEAR(h[1], 4.0 / sqrt(12.5 + 1e-6), 1e-6);

    /* sink dimensions: d = 1000, BOS state 1 everywhere except x[7] = 500, x[3] = -300:
     * rms = sqrt((250000 + 90000 + 998)/1000), so h[7] = 27.08, h[3] = 16.25, the rest 0.054 */
    enum { D = 1000 };
    float *x = malloc(sizeof(float) * 3 * D);
    CHECK(x);
    for (int i = 0; i < 3 * D; i++)
        x[i] = 1.0f;
    x[7] = 500.0f;
    x[3] = -300.0f;
    double rms0 = sqrt((250000.0 + 90000.0 + 998.0) / D + 1e-6);
    int dims[4];
    CHECK(hs_massive_sink_dims(x, D, HS_SINK_DIM_TAU, 4, dims) == 1 && dims[0] == 7);
    CHECK(hs_massive_sink_dims(x, D, 10.0f, 4, dims) == 2 && dims[0] == 7 && dims[1] == 3);
    CHECK(hs_massive_sink_dims(x, D, 10.0f, 1, dims) == 1 && dims[0] == 7);
    /* tau 0: the top 3, ties broken by the lower index */
    CHECK(hs_massive_sink_dims(x, D, 0.0f, 3, dims) == 3 && dims[0] == 7 && dims[1] == 3 && dims[2] == 0);
    /* token sinks over rows: BOS, all ones (h = 1), and x[3] = 600 (h[3] = 600/sqrt(360999/1000)) */
    x[2 * D + 3] = 600.0f;
    double rms2 = sqrt((360000.0 + 999.0) / D + 1e-6);
    float score[3];
    unsigned char is_sink[3];
    int d73[2] = {7, 3};
    CHECK(hs_massive_token_sinks(x, 3, D, d73, 1, HS_SINK_DIM_TAU, score, is_sink) == 1);
    CHECK(is_sink[0] && !is_sink[1] && !is_sink[2]);
    CHECK_NEAR(score[0], 500.0 / rms0, 1e-4);
    CHECK_NEAR(score[2], 1.0 / rms2, 1e-6);
    CHECK(hs_massive_token_sinks(x, 3, D, d73, 2, HS_SINK_DIM_TAU, score, is_sink) == 2);
    CHECK(is_sink[0] && !is_sink[1] && is_sink[2]);
    CHECK_NEAR(score[2], 600.0 / rms2, 1e-4);
    CHECK_NEAR(score[1], 1.0, 1e-5);
    CHECK(hs_massive_token_sinks(x, 3, D, d73, 0, HS_SINK_DIM_TAU, NULL, is_sink) == 0);
    free(x);

    /* Sun et al.: |x| sorted .05 .1 .1 .2 .25 .3 120 250, median (the lower middle) .2, so the floor
     * is 200: 250 is massive, 120 is above 100 but not 1000 x the median */
    hs_error err = {0};
    const float xs[8] = {0.1f, -0.2f, 250.0f, 0.3f, 0.25f, 0.1f, -120.0f, 0.05f};
    int cnt[2];
    float med;
    int64_t total;
    CHECK_OK(hs_massive_sun(xs, 2, 4, HS_MASSIVE_MIN_ABS, HS_MASSIVE_MIN_RATIO, cnt, &med, &total, &err), &err);
    CHECK(med == 0.2f && cnt[0] == 1 && cnt[1] == 0 && total == 1);
    /* with ratio 500 (floor 100) both count */
    CHECK_OK(hs_massive_sun(xs, 2, 4, 100.0f, 500.0f, cnt, &med, &total, &err), &err);
    CHECK(cnt[0] == 1 && cnt[1] == 1 && total == 2);
    CHECK(hs_massive_sun(xs, 0, 4, 100.0f, 1000.0f, NULL, NULL, NULL, &err) == HS_ERR_ARG);
    /* the median against sorting, odd and even counts, with ties */
    unsigned seed = 3;
    for (int n = 1; n <= 41; n += 3) {
        float *v = malloc(sizeof(float) * n), *srt = malloc(sizeof(float) * n);
        CHECK(v && srt);
        tiny_fill(v, (size_t)n, 5.0f, &seed);
        for (int i = 0; i < n; i += 3)
            v[i] = 1.0f; /* ties */
        for (int i = 0; i < n; i++)
            srt[i] = fabsf(v[i]);
        qsort(srt, (size_t)n, sizeof(float), cmp_float);
        CHECK_OK(hs_massive_sun(v, 1, n, 100.0f, 1000.0f, NULL, &med, NULL, &err), &err);
        CHECK_MSG(med == srt[(n - 1) / 2], "n %d: median %g, sorted says %g", n, med, srt[(n - 1) / 2]);
        free(v);
        free(srt);
    }
    return TEST_PASS;
}

/* Checks the ACT properties of `after` against `before` ([T, T], set in_s): rows keep their sums,
 * sink weights are exactly beta x theirs, the other keys all grow by one factor per row, and that
 * factor hands out exactly the freed mass. Returns 1 when they hold. */
static int act_properties_hold(const float *before, const float *after, int T, const unsigned char *in_s, float beta)
{
    for (int i = 0; i < T; i++) {
        const float *b = before + (size_t)i * T, *a = after + (size_t)i * T;
        double sb = 0, sa = 0, sink = 0, rest = 0;
        for (int k = 0; k < T; k++) {
            sb += b[k];
            sa += a[k];
            if (k > i && a[k] != 0.0f)
                return 0;
            if (k <= i)
                *(in_s[k] ? &sink : &rest) += b[k];
        }
        if (fabs(sa - sb) > 1e-6)
            return 0;
        int moves = sink > 0 && rest > 0;
        double grow = moves ? 1.0 + (1.0 - beta) * sink / rest : 1.0;
        for (int k = 0; k <= i; k++) {
            if (in_s[k] && moves) {
                if (a[k] != beta * b[k])
                    return 0;
            } else if (fabs(a[k] - b[k] * grow) > 1e-6 * (1.0 + b[k] * grow)) {
                return 0;
            }
        }
    }
    return 1;
}

int test_act_rewrite(void)
{
    /* S = {1}, beta .4 on P4: row 1 moves .3 of .5 to key 0 (.5 -> .8); row 2 frees .36 of .6 and
     * grows keys 0 and 2 by 1 + .36/.4; row 3 frees .18 of .3, growing the rest by 1 + .18/.7 */
    float p[16];
    memcpy(p, P4, sizeof p);
    unsigned char s1[4] = {0, 1, 0, 0};
    CHECK(hs_act_rewrite_rows(p, 4, s1, 0.4f) == 3);
    const double want[16] = {
        1, 0, 0, 0,
        0.8, 0.2, 0, 0,
        0.2 * 1.9, 0.24, 0.2 * 1.9, 0,
        0.1 * (1 + 0.18 / 0.7), 0.12, 0.2 * (1 + 0.18 / 0.7), 0.4 * (1 + 0.18 / 0.7),
    };
    CHECK(arrays_agree(p, want, 16, 1e-6));
    CHECK(act_properties_hold(P4, p, 4, s1, 0.4f));
    /* the property checker catches a planted error: a sink weight off by one ulp */
    p[13] = nextafterf(p[13], 1.0f);
    CHECK(!act_properties_hold(P4, p, 4, s1, 0.4f));

    /* a row with no attention outside S is left alone (nowhere to put the mass) */
    float q[9] = {1, 0, 0, 0, 1, 0, 0.5f, 0.5f, 0};
    unsigned char s2[3] = {0, 1, 0};
    CHECK(hs_act_rewrite_rows(q, 3, s2, 0.4f) == 1);
    CHECK(q[3] == 0 && q[4] == 1.0f);
    CHECK(q[7] == 0.2f && fabsf(q[6] - 0.8f) < 1e-7f);

    /* the full calibration finds S on the input: P4 with tau .3 -> S = {1, 3} */
    float alpha[4];
    unsigned char in_s[4];
    memcpy(p, P4, sizeof p);
    CHECK(hs_act_calibrate(p, 4, HS_ACT_BETA, 0.3f, alpha, in_s) == 2);
    CHECK(!in_s[0] && in_s[1] && !in_s[2] && in_s[3]);
    CHECK(act_properties_hold(P4, p, 4, in_s, HS_ACT_BETA));
    /* key 0 is never in S, however large alpha_0 */
    float all0[9] = {1, 0, 0, 1, 0, 0, 1, 0, 0};
    CHECK(hs_act_sink_set(all0, 3, 0.1f, alpha, in_s) == 0 && alpha[0] == 1.0f);

    /* random patterns, defaults */
    unsigned seed = 5;
    int T = 40;
    float *b = malloc(sizeof(float) * T * T), *a = malloc(sizeof(float) * T * T), *al = malloc(sizeof(float) * T);
    unsigned char *ins = malloc((size_t)T);
    CHECK(b && a && al && ins);
    for (int rep = 0; rep < 5; rep++) {
        random_pattern(b, T, 4.0f, 3 + 5 * rep, &seed);
        memcpy(a, b, sizeof(float) * T * T);
        int ns = hs_act_calibrate(a, T, HS_ACT_BETA, HS_ACT_TAU, al, ins);
        CHECK(ns > 0 && ins[3 + 5 * rep]);
        CHECK(act_properties_hold(b, a, T, ins, HS_ACT_BETA));
    }
    free(b);
    free(a);
    free(al);
    free(ins);
    return TEST_PASS;
}

/* Copies of the tensors seen at one hook point. */
typedef struct grab {
    float *data;
    int64_t shape[4];
    int calls;
} grab;

static hs_status grab_fn(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    (void)hp;
    grab *g = user;
    size_t n = (size_t)hs_tensor_numel(t);
    free(g->data);
    if (!(g->data = malloc(n * sizeof(float))))
        return HS_ERR_NOMEM;
    memcpy(g->data, t->data, n * sizeof(float));
    for (int i = 0; i < 4; i++)
        g->shape[i] = i < t->ndim ? t->shape[i] : 1;
    g->calls++;
    return HS_OK;
}

enum { N_GRAB = 4 }; /* blocks.0.attn.hook_z, blocks.1.attn.hook_v, .hook_pattern, .hook_z */
static const char *grab_names[N_GRAB] = {"blocks.0.attn.hook_z", "blocks.1.attn.hook_v", "blocks.1.attn.hook_pattern",
                                         "blocks.1.attn.hook_z"};

static int run_grab(const hs_model *m, const hs_batch *batch, const hs_act_head *heads, int n_heads, grab *g,
                    int64_t *stats)
{
    hs_error err = {0};
    hs_hooks *h;
    hs_act *act = NULL;
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    if (n_heads > 0)
        CHECK_OK(hs_act_install(h, heads, n_heads, HS_ACT_BETA, HS_ACT_TAU, &act, &err), &err);
    for (int i = 0; i < N_GRAB; i++)
        CHECK_OK(hs_hooks_observe(h, grab_names[i], grab_fn, &g[i], &err), &err);
    CHECK_OK(hs_forward(m, batch, h, HS_BACKEND_CPU, NULL, &err), &err);
    hs_act_stats(act, &stats[0], &stats[1], &stats[2]);
    hs_act_free(act);
    hs_hooks_free(h);
    return TEST_PASS;
}

static int open_random_gpt2(hs_model **m)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/model", test_tmpdir());
    hs_error err = {0};
    hs_random_model_spec spec = {.n_layers = 2, .d_model = 32, .n_heads = 4, .n_ctx = 64, .d_vocab = 257,
                                 .init_std = 0.3f, .seed = 17};
    CHECK_OK(hs_random_model_write(dir, &spec, &err), &err);
    CHECK_OK(hs_model_open(dir, NULL, m, &err), &err);
    return TEST_PASS;
}

int test_act_through_forward(void)
{
    hs_model *m;
    CHECK(open_random_gpt2(&m) == TEST_PASS);
    enum { B = 2, T = 14, H = 4, DH = 8 };
    int32_t ids[B * T];
    const char *text[B] = {"The cat sat. A", "Dogs run fast!"};
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            ids[b * T + t] = (unsigned char)text[b][t];
    hs_batch batch = {.ids = ids, .n_batch = B, .n_pos = T};
    grab base[N_GRAB] = {{0}}, act[N_GRAB] = {{0}};
    int64_t st[3];
    CHECK(run_grab(m, &batch, NULL, 0, base, st) == TEST_PASS);
    const hs_act_head heads[3] = {{1, 2}, {1, 0}, {1, 2}}; /* a duplicate is calibrated once */
    CHECK(run_grab(m, &batch, heads, 3, act, st) == TEST_PASS);
    for (int i = 0; i < N_GRAB; i++)
        CHECK(base[i].calls == 1 && act[i].calls == 1);
    /* layer 0 and layer 1's values come before the rewrite: bit-identical */
    CHECK(memcmp(base[0].data, act[0].data, sizeof(float) * B * T * H * DH) == 0);
    CHECK(memcmp(base[1].data, act[1].data, sizeof(float) * B * T * H * DH) == 0);
    const float *v = base[1].data; /* [B, T, H, DH] */
    int64_t n_sinks = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *pb = base[2].data + (size_t)(b * H + h) * T * T;
            const float *pa = act[2].data + (size_t)(b * H + h) * T * T;
            int selected = h == 0 || h == 2;
            if (!selected) {
                CHECK(memcmp(pb, pa, sizeof(float) * T * T) == 0);
            } else {
                /* the calibrated pattern is the ACT rewrite of the model's own pattern, with S from
                 * this input: recompute S from the definition */
                double alpha[T];
                plain_scores(pb, T, T, alpha);
                unsigned char in_s[T] = {0};
                int ns = 0;
                for (int k = 1; k < T; k++) {
                    in_s[k] = alpha[k] > HS_ACT_TAU;
                    ns += in_s[k];
                }
                CHECK_MSG(ns > 0, "batch %d head %d has no hidden sink: the test would prove nothing", b, h);
                n_sinks += ns;
                CHECK(act_properties_hold(pb, pa, T, in_s, HS_ACT_BETA));
            }
            /* z of this head = (observed pattern) · V, recomputed in double */
            double zmax = 0.0, errmax = 0.0, change = 0.0;
            for (int i = 0; i < T; i++)
                for (int d = 0; d < DH; d++) {
                    double s = 0.0;
                    for (int k = 0; k <= i; k++)
                        s += (double)pa[i * T + k] * v[((size_t)(b * T + k) * H + h) * DH + d];
                    size_t zi = ((size_t)(b * T + i) * H + h) * DH + d;
                    double za = act[3].data[zi];
                    errmax = fmax(errmax, fabs(za - s));
                    zmax = fmax(zmax, fabs(s));
                    change = fmax(change, fabs(za - base[3].data[zi]));
                }
            CHECK_MSG(errmax <= 1e-5 * fmax(zmax, 1.0), "batch %d head %d: z off by %g", b, h, errmax);
            if (selected)
                CHECK_MSG(change > 1e-3 * zmax, "batch %d head %d: calibration left z unchanged", b, h);
            else
                CHECK(change == 0.0);
        }
    CHECK(st[0] == 2 * B && st[1] == n_sinks && st[2] > 0);
    for (int i = 0; i < N_GRAB; i++) {
        free(base[i].data);
        free(act[i].data);
    }

    /* heads in two layers: each layer's intervention rewrites only its own heads */
    grab b0 = {0}, a0 = {0};
    const hs_act_head two[2] = {{0, 1}, {1, 2}};
    {
        hs_error e2 = {0};
        hs_hooks *hk;
        hs_act *ak;
        CHECK_OK(hs_hooks_new(&hk, &e2), &e2);
        CHECK_OK(hs_hooks_observe(hk, "blocks.0.attn.hook_pattern", grab_fn, &b0, &e2), &e2);
        CHECK_OK(hs_forward(m, &batch, hk, HS_BACKEND_CPU, NULL, &e2), &e2);
        hs_hooks_free(hk);
        CHECK_OK(hs_hooks_new(&hk, &e2), &e2);
        CHECK_OK(hs_act_install(hk, two, 2, HS_ACT_BETA, HS_ACT_TAU, &ak, &e2), &e2);
        CHECK_OK(hs_hooks_observe(hk, "blocks.0.attn.hook_pattern", grab_fn, &a0, &e2), &e2);
        CHECK_OK(hs_forward(m, &batch, hk, HS_BACKEND_CPU, NULL, &e2), &e2);
        hs_act_stats(ak, &st[0], NULL, NULL);
        CHECK(st[0] == 2 * B);
        hs_act_free(ak);
        hs_hooks_free(hk);
        for (int b = 0; b < B; b++)
            for (int hd = 0; hd < H; hd++) {
                size_t off = (size_t)(b * H + hd) * T * T;
                int same = memcmp(b0.data + off, a0.data + off, sizeof(float) * T * T) == 0;
                CHECK_MSG(same == (hd != 1), "layer 0 head %d of batch %d", hd, b);
            }
        free(b0.data);
        free(a0.data);
    }

    /* a head beyond the model's fails the pass; bad arguments fail the install */
    hs_error err = {0};
    hs_hooks *h;
    hs_act *a;
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    const hs_act_head far = {0, 4};
    CHECK_OK(hs_act_install(h, &far, 1, HS_ACT_BETA, HS_ACT_TAU, &a, &err), &err);
    CHECK(hs_forward(m, &batch, h, HS_BACKEND_CPU, NULL, &err) == HS_ERR_RANGE);
    hs_act_free(a);
    const hs_act_head neg = {-1, 0};
    CHECK(hs_act_install(h, &neg, 1, HS_ACT_BETA, HS_ACT_TAU, &a, &err) == HS_ERR_RANGE && a == NULL);
    CHECK(hs_act_install(h, &far, 1, 1.5f, HS_ACT_TAU, &a, &err) == HS_ERR_ARG && a == NULL);
    hs_hooks_free(h);
    hs_model_close(m);
    return TEST_PASS;
}

/* A synthetic metric: each head has a weight (one of them 0); heads (0,2) and (0,3) together cost 3. It checks the
 * hooks it is given hold an installed calibration exactly when heads are given. */
typedef struct synth {
    int calls, fail_at;
} synth;

static double head_weight(hs_act_head h)
{
    if (h.layer == 0 && h.head == 2)
        return 1.0;
    if (h.layer == 0 && h.head == 3)
        return 0.5;
    if (h.layer == 1 && h.head == 1)
        return 1.0;
    if (h.layer == 1 && h.head == 3)
        return 0.0; /* no better: never kept */
    return -1.0;
}

static hs_status synth_metric(void *user, const hs_act_head *heads, int n, hs_hooks *hooks, double *value,
                              hs_error *err)
{
    synth *s = user;
    if (++s->calls == s->fail_at) {
        snprintf(err->msg, sizeof err->msg, "synthetic failure");
        return HS_ERR_CALLBACK;
    }
    if (!hooks)
        return HS_ERR_INTERNAL;
    double v = 0.0;
    int has02 = 0, has03 = 0;
    for (int i = 0; i < n; i++) {
        v += head_weight(heads[i]);
        has02 |= heads[i].layer == 0 && heads[i].head == 2;
        has03 |= heads[i].layer == 0 && heads[i].head == 3;
    }
    *value = v - (has02 && has03 ? 3.0 : 0.0);
    return HS_OK;
}

int test_act_select_synthetic(void)
{
    hs_act_head cand[8];
    for (int i = 0; i < 8; i++)
        cand[i] = (hs_act_head){i / 4, i % 4};
    hs_error err = {0};
    hs_act_selection sel;
    synth s = {0};
    /* each head alone: (0,2), (0,3) and (1,1) help; together the pair costs 3 */
    CHECK_OK(hs_act_select(cand, 8, HS_ACT_BETA, HS_ACT_TAU, HS_ACT_SELECT_EACH, synth_metric, &s, &sel, &err), &err);
    CHECK(sel.n_heads == 3 && sel.heads[0].layer == 0 && sel.heads[0].head == 2 && sel.heads[1].head == 3 &&
          sel.heads[2].layer == 1 && sel.heads[2].head == 1);
    CHECK(sel.baseline == 0.0 && sel.final == 1.0 + 0.5 + 1.0 - 3.0);
    for (int i = 0; i < 8; i++)
        CHECK(sel.trial[i] == head_weight(cand[i]));
    CHECK(s.calls == 1 + 8 + 1);
    hs_act_selection_free(&sel);
    /* greedy: (0,2) kept, (0,3) then costs 2.5 and is refused, (1,1) kept */
    s.calls = 0;
    CHECK_OK(hs_act_select(cand, 8, HS_ACT_BETA, HS_ACT_TAU, HS_ACT_SELECT_GREEDY, synth_metric, &s, &sel, &err),
             &err);
    CHECK(sel.n_heads == 2 && sel.heads[0].layer == 0 && sel.heads[0].head == 2 && sel.heads[1].layer == 1 &&
          sel.heads[1].head == 1);
    CHECK(sel.final == 2.0 && sel.trial[3] == 1.0 + 0.5 - 3.0 && sel.trial[5] == 2.0 && sel.trial[6] == 2.0 - 1.0 &&
          sel.trial[7] == 2.0);
    CHECK(s.calls == 1 + 8);
    hs_act_selection_free(&sel);
    /* a failing metric stops the selection with its status and message */
    s = (synth){.fail_at = 4};
    CHECK(hs_act_select(cand, 8, HS_ACT_BETA, HS_ACT_TAU, HS_ACT_SELECT_EACH, synth_metric, &s, &sel, &err) ==
          HS_ERR_CALLBACK);
    CHECK(sel.heads == NULL && sel.n_heads == 0 && strstr(err.msg, "synthetic failure"));
    return TEST_PASS;
}

int test_act_task_metric(void)
{
    hs_model *m;
    CHECK(open_random_gpt2(&m) == TEST_PASS);
    /* four prompts; the answer/wrong pairs are read off the uncalibrated logits so that the accuracy
     * is known: prompts 0 and 2 right (answer = top token), 1 and 3 wrong (answer = second) */
    const char *text[4] = {"Once upon a", "The sun is", "She said: \"", "1 + 1 ="};
    int32_t ids[4][16];
    hs_act_task_prompt pr[4];
    float *logits = malloc(sizeof(float) * 16 * 257);
    CHECK(logits);
    hs_error err = {0};
    double want_diff = 0.0;
    for (int p = 0; p < 4; p++) {
        int n = (int)strlen(text[p]);
        for (int t = 0; t < n; t++)
            ids[p][t] = (unsigned char)text[p][t];
        hs_batch b = {.ids = ids[p], .n_batch = 1, .n_pos = n};
        CHECK_OK(hs_forward(m, &b, NULL, HS_BACKEND_CPU, logits, &err), &err);
        const float *last = logits + (size_t)(n - 1) * 257;
        int top = 0, second = -1;
        for (int v = 1; v < 257; v++)
            if (last[v] > last[top])
                top = v;
        for (int v = 0; v < 257; v++)
            if (v != top && (second < 0 || last[v] > last[second]))
                second = v;
        pr[p] = (hs_act_task_prompt){.ids = ids[p], .n_ids = n};
        pr[p].answer = p % 2 == 0 ? top : second;
        pr[p].wrong = p % 2 == 0 ? second : top;
        want_diff += (double)last[pr[p].answer] - last[pr[p].wrong];
    }
    free(logits);
    hs_act_task task = {.model = m, .backend = HS_BACKEND_CPU, .prompts = pr, .n_prompts = 4,
                        .kind = HS_ACT_TASK_ACCURACY};
    double v;
    CHECK_OK(hs_act_task_metric(&task, NULL, 0, NULL, &v, &err), &err);
    CHECK(v == 0.5);
    task.kind = HS_ACT_TASK_LOGIT_DIFF;
    CHECK_OK(hs_act_task_metric(&task, NULL, 0, NULL, &v, &err), &err);
    CHECK_NEAR(v, want_diff / 4, 1e-5);
    /* the selection's trials are the metric with that head calibrated, and the final value the
     * metric with every kept head calibrated */
    hs_act_head cand[8];
    for (int i = 0; i < 8; i++)
        cand[i] = (hs_act_head){i / 4, i % 4};
    hs_act_selection sel;
    CHECK_OK(hs_act_select(cand, 8, HS_ACT_BETA, HS_ACT_TAU, HS_ACT_SELECT_EACH, hs_act_task_metric, &task, &sel, &err),
             &err);
    CHECK_NEAR(sel.baseline, want_diff / 4, 1e-5);
    int changed = 0;
    for (int i = 0; i < 8; i++) {
        hs_hooks *h;
        hs_act *a;
        CHECK_OK(hs_hooks_new(&h, &err), &err);
        CHECK_OK(hs_act_install(h, &cand[i], 1, HS_ACT_BETA, HS_ACT_TAU, &a, &err), &err);
        CHECK_OK(hs_act_task_metric(&task, &cand[i], 1, h, &v, &err), &err);
        CHECK(v == sel.trial[i]);
        changed += v != sel.baseline;
        hs_act_free(a);
        hs_hooks_free(h);
    }
    CHECK(changed > 0);
    int n_better = 0;
    for (int i = 0; i < 8; i++)
        n_better += sel.trial[i] > sel.baseline;
    CHECK(sel.n_heads == n_better);
    hs_act_selection_free(&sel);
    /* bad prompts */
    pr[1].answer = 257;
    CHECK(hs_act_task_metric(&task, NULL, 0, NULL, &v, &err) == HS_ERR_RANGE);
    hs_model_close(m);
    return TEST_PASS;
}

/* A tiny GPT-2 with planted heads: every query is zero (uniform causal attention) except in heads
 * (0,1) and (1,3), whose constant query reads a key dimension j that only position 0 carries (a
 * learned-position spike that no layer writes over), so they attend to the first token. */
static hs_model *planted_model(void)
{
    hs_model *m = tiny_model_new(TINY_GPT2, 9);
    if (!m)
        return NULL;
    const int d = 16, dh = 4, j = 5;
    for (int l = 0; l < 2; l++) {
        hs_layer_weights *w = &m->layers[l];
        memset(w->W_Q, 0, sizeof(float) * 16 * d);
        memset(w->b_Q, 0, sizeof(float) * 16);
        int h = l == 0 ? 1 : 3;
        w->b_Q[h * dh] = 20.0f;
        for (int c = 0; c < d; c++)
            w->W_K[(h * dh) * d + c] = c == j ? 1.0f : 0.0f;
        w->b_K[h * dh] = 0.0f;
        w->ln1_w[j] = 1.0f;
        w->ln1_b[j] = 0.0f;
        /* nothing writes dimension j */
        for (int c = 0; c < 16; c++)
            w->W_O[j * 16 + c] = 0.0f;
        w->b_O[j] = 0.0f;
        for (int c = 0; c < 24; c++)
            w->W_out[j * 24 + c] = 0.0f;
        w->b_out[j] = 0.0f;
    }
    for (int v = 0; v < 40; v++)
        m->W_E[v * d + j] = 0.0f;
    for (int p = 0; p < 32; p++)
        m->W_pos[p * d + j] = p == 0 ? 20.0f : 0.0f;
    return m;
}

typedef struct planted_obs {
    hs_sink_rate *sr;
    hs_hidden_sinks *hs;
    int T, n_calls;
    double max_alpha_other; /* the largest alpha_k (k > 0) seen in a planted head */
    int hidden_ok;          /* every uniform head's S matched the one derived by hand */
} planted_obs;

static hs_status planted_fn(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    planted_obs *o = user;
    int T = o->T, H = (int)t->shape[1];
    o->n_calls++;
    for (int b = 0; b < (int)t->shape[0]; b++)
        for (int h = 0; h < H; h++) {
            const float *p = t->data + (size_t)(b * H + h) * T * T;
            hs_status rc = hs_sink_rate_add(o->sr, hp->layer, h, p, T, NULL, NULL);
            int s[64], ns;
            if (rc == HS_OK)
                rc = hs_hidden_sinks_add(o->hs, hp->layer, h, p, T, NULL, s, &ns, NULL);
            if (rc != HS_OK)
                return rc;
            int planted = (hp->layer == 0 && h == 1) || (hp->layer == 1 && h == 3);
            if (planted) {
                float alpha[64];
                hs_sinks_scores(p, T, T, alpha);
                for (int k = 1; k < T; k++)
                    o->max_alpha_other = fmax(o->max_alpha_other, alpha[k]);
            } else {
                /* uniform: alpha_k = (1/(T-k)) sum_{i=k}^{T-1} 1/(i+1) */
                int want[64], nw = 0;
                for (int k = 1; k < T; k++) {
                    double a = 0.0;
                    for (int i = k; i < T; i++)
                        a += 1.0 / (i + 1);
                    if (a / (T - k) > HS_HIDDEN_SINK_TAU)
                        want[nw++] = k;
                }
                if (nw != ns || memcmp(want, s, sizeof(int) * (size_t)ns) != 0)
                    o->hidden_ok = 0;
            }
        }
    return HS_OK;
}

int test_sinks_planted_model(void)
{
    hs_model *m = planted_model();
    CHECK(m);
    enum { B = 3, T = 12 };
    int32_t ids[B * T];
    unsigned seed = 4;
    for (int i = 0; i < B * T; i++) {
        seed = seed * 1103515245u + 12345u;
        ids[i] = (int32_t)((seed >> 8) % 40);
    }
    hs_error err = {0};
    planted_obs o = {.T = T, .hidden_ok = 1};
    CHECK_OK(hs_sink_rate_new(2, 4, 0, 0, &o.sr, &err), &err);
    CHECK_OK(hs_hidden_sinks_new(2, 4, T, 0, 0, &o.hs, &err), &err);
    hs_hooks *h;
    CHECK_OK(hs_hooks_new(&h, &err), &err);
    CHECK_OK(hs_hooks_observe(h, "blocks.*.attn.hook_pattern", planted_fn, &o, &err), &err);
    hs_batch batch = {.ids = ids, .n_batch = B, .n_pos = T};
    CHECK_OK(hs_forward(m, &batch, h, HS_BACKEND_CPU, NULL, &err), &err);
    CHECK(o.n_calls == 2);
    /* planted heads sink on every prompt, uniform heads never: alpha_0 = H_12/12 = .2588 < .3 */
    double h12 = 0.0;
    for (int i = 1; i <= T; i++)
        h12 += 1.0 / i;
    for (int l = 0; l < 2; l++)
        for (int hd = 0; hd < 4; hd++) {
            int planted = (l == 0 && hd == 1) || (l == 1 && hd == 3);
            CHECK_MSG(hs_sink_rate_head(o.sr, l, hd) == (planted ? 1.0 : 0.0), "head %d.%d rate %g", l, hd,
                      hs_sink_rate_head(o.sr, l, hd));
            if (planted)
                CHECK(hs_sink_rate_mean_alpha0(o.sr, l, hd) > 0.99);
            else
                CHECK_NEAR(hs_sink_rate_mean_alpha0(o.sr, l, hd), h12 / T, 1e-6);
            if (planted)
                CHECK(hs_hidden_sinks_frac_prompts(o.hs, l, hd) == 0.0);
        }
    CHECK(hs_sink_rate_overall(o.sr) == 0.25 && hs_sink_rate_layer(o.sr, 0) == 0.25);
    CHECK(o.max_alpha_other < 0.01 && o.hidden_ok);
    hs_hooks_free(h);
    hs_sink_rate_free(o.sr);
    hs_hidden_sinks_free(o.hs);
    hs_model_close(m);
    return TEST_PASS;
}
