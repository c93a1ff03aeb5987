/* test_parity.c — golden parity with the reference implementation: every hook point of the C
 * forward pass, on both backends, against the float32 values PyTorch + transformers computed
 * for the same random checkpoint (tests/fixtures/models/<name>/, see its README.md).
 * Regenerate the fixtures with: python3 tools/gen_fixtures.py
 *
 * Per fixture: open the directory with hs_model_open, read reference.safetensors (input_ids
 * [batch, pos] I32 and one F32 tensor per TransformerLens hook name, TL shape with a leading
 * batch dim), observe "*" (every hook point) during hs_forward, and check that
 *   - every hook of the reference was observed exactly once, and nothing else was observed
 *     (the reference holds every hook point the architecture has: an extra one is a hook the
 *     model should not have, e.g. resid_mid in a parallel block, pos_embed in a rotary model),
 *   - shapes match exactly, nothing observed is NaN, -inf sits exactly where the reference has
 *     -inf (masked attention scores) and nowhere else,
 *   - the normalised error max|obs - ref| / max|ref| (finite entries) is within the tolerance of
 *     its hook kind (par_tolerances below),
 *   - the logits hs_forward writes to logits_out match unembed.hook_out.
 * The checker itself is tested: parity_checker_catches_planted_error feeds it the reference
 * with planted faults and requires each to fail.
 *
 * Set HS_PARITY_VERBOSE=1 to print the worst hook of every pass, not only of failing ones;
 * HS_PARITY_VERBOSE=2 prints the error of every hook (to revisit the tolerances). */
#include "tests/test.h"
#include "base/dtype.h"
#include "model/safetensors.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- tolerances
 *
 * Normalised error, max|obs - ref| / max|ref|, per hook kind. Both sides compute in float32
 * from the same float32 weights (float16/bfloat16 weights up-cast exactly), so the gap is
 * rounding only: summation order (BLAS blocking, SIMD), expf/tanhf/erff, and the rotary
 * angles (HF forms pos * inv_freq in float32).
 *   - tools/gen_fixtures.py measures HF's float32 against a float64 run of the same model:
 *     at most 2.7e-6 on any hook of any fixture, the largest on pattern, z and result.
 *   - Measured here (both backends, all fixtures, when these were set): at most 3.5e-6
 *     (blocks.1.attn.hook_z, qwen2, cpu); pattern 3.3e-6; outside attention at most 3.4e-6
 *     (hook_mlp_out, llama, cpu); scores 1.1e-6; every hook_scale below 1e-6.
 * So 1e-5 by default: ~3x above what rounding does, and far below what a real bug does (a
 * wrong mask, rotary pairing or theta, eps, bias, GELU variant or residual order moves these
 * numbers by 1e-3 or more).
 * 2e-5 for the pattern and what is computed from it within the layer (z, result): the softmax
 * turns a relative error e in scores of magnitude up to ~15 into up to ~4e in the pattern,
 * and it is where both the float64 floor and the measured error peak.
 * 0 for hook_embed and hook_pos_embed: a row of the up-cast weights, exact on both sides. */
typedef struct par_tolerance {
    const char *kind; /* hook name without "blocks.L." */
    double tol;
} par_tolerance;

#define PAR_TOL_DEFAULT 1e-5

static const par_tolerance par_tolerances[] = {
    {"hook_embed", 0},
    {"hook_pos_embed", 0},
    {"attn.hook_pattern", 2e-5},
    {"attn.hook_z", 2e-5},
    {"attn.hook_result", 2e-5},
};

static double par_tolerance_of(const char *name)
{
    const char *kind = name;
    if (strncmp(name, "blocks.", 7) == 0) {
        const char *dot = strchr(name + 7, '.');
        kind = dot ? dot + 1 : name;
    }
    for (size_t i = 0; i < sizeof par_tolerances / sizeof par_tolerances[0]; i++)
        if (strcmp(par_tolerances[i].kind, kind) == 0)
            return par_tolerances[i].tol;
    return PAR_TOL_DEFAULT;
}

/* ---------------------------------------------------------------- observed tensors */

#define PAR_NAME_MAX 96

typedef struct par_tensor {
    char name[PAR_NAME_MAX];
    int ndim;
    int64_t shape[HS_MAX_DIMS];
    float *data;   /* owned, numel floats */
    int n_seen;    /* how many times the hook fired */
} par_tensor;

typedef struct par_capture {
    par_tensor *t; /* owned, n of cap */
    int n, cap;
} par_capture;

static void par_capture_free(par_capture *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->t[i].data);
    free(c->t);
    memset(c, 0, sizeof *c);
}

static par_tensor *par_find(const par_capture *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->t[i].name, name) == 0)
            return &c->t[i];
    return NULL;
}

static int64_t par_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    return n;
}

/* Records a copy of data [shape] under name; a second record of the same name counts it and
 * keeps the first copy. Returns HS_ERR_NOMEM (data unchanged) when out of memory. */
static hs_status par_capture_add(par_capture *c, const char *name, int ndim, const int64_t *shape,
                                 const float *data)
{
    par_tensor *t = par_find(c, name);
    if (t) {
        t->n_seen++;
        return HS_OK;
    }
    if (ndim < 0 || ndim > HS_MAX_DIMS)
        return HS_ERR_ARG;
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 64;
        par_tensor *grown = realloc(c->t, (size_t)cap * sizeof *grown);
        if (!grown)
            return HS_ERR_NOMEM;
        c->t = grown;
        c->cap = cap;
    }
    size_t n = (size_t)par_numel(ndim, shape);
    float *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        return HS_ERR_NOMEM;
    memcpy(copy, data, n * sizeof *copy);
    t = &c->t[c->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = copy;
    t->n_seen = 1;
    return HS_OK;
}

static hs_status par_observe(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    char name[PAR_NAME_MAX];
    hs_hook_point_name(hp, name, sizeof name);
    return par_capture_add(user, name, t->ndim, t->shape, t->data);
}

/* ---------------------------------------------------------------- the comparison */

typedef struct par_report {
    int n_compared, n_fail;
    char worst[PAR_NAME_MAX]; /* hook with the largest err/tol */
    double worst_err, worst_tol;
    int first_at;             /* capture index (pass order) of the earliest failing hook, -1: none */
    char first[PAR_NAME_MAX]; /* its name: where a bug shows up first */
} par_report;

static void par_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
}

/* err over tol, with 0/0 = 0 (an exact hook matched exactly) and NaN above everything */
static double par_ratio(double err, double tol)
{
    if (err != err)
        return INFINITY;
    if (tol > 0)
        return err / tol;
    return err > 0 ? INFINITY : 0;
}

static void par_note(par_report *rep, const char *name, double err, double tol)
{
    if (rep->worst[0] == 0 || par_ratio(err, tol) > par_ratio(rep->worst_err, rep->worst_tol)) {
        snprintf(rep->worst, sizeof rep->worst, "%s", name);
        rep->worst_err = err;
        rep->worst_tol = tol;
    }
}

/* Normalised error of obs against ref (n floats): max|obs - ref| over entries where both are
 * finite, over max|ref| of the finite reference entries. INFINITY when an infinity of either
 * side is not matched exactly by the other; NaN when obs holds a NaN. *at gets the index of
 * the worst entry. */
static double par_norm_err(const float *obs, const float *ref, size_t n, size_t *at)
{
    double maxdiff = 0, maxref = 0;
    *at = 0;
    for (size_t i = 0; i < n; i++) {
        float o = obs[i], r = ref[i];
        if (o != o) {
            *at = i;
            return NAN;
        }
        if (isinf(r) || isinf(o)) {
            if (r != o) {
                *at = i;
                return INFINITY;
            }
            continue;
        }
        double d = fabs((double)o - (double)r);
        if (d > maxdiff) {
            maxdiff = d;
            *at = i;
        }
        if (fabs(r) > maxref)
            maxref = fabs(r);
    }
    return maxdiff / (maxref > 1e-6 ? maxref : 1e-6);
}

/* Counts a failure of observed tensor index `at` (-1 when not observed). */
static void par_fail(par_report *rep, const char *name, int at)
{
    rep->n_fail++;
    if (at >= 0 && (rep->first_at < 0 || at < rep->first_at)) {
        rep->first_at = at;
        snprintf(rep->first, sizeof rep->first, "%s", name);
    }
}

/* Compares one observed tensor (index at of the capture, -1 and o NULL when never observed)
 * against its reference; prints and counts a failure. */
static void par_compare_one(const char *label, const char *name, const par_tensor *o, int at, int ndim,
                            const int64_t *shape, const float *ref, par_report *rep)
{
    char s1[128], s2[128];
    double tol = par_tolerance_of(name);
    rep->n_compared++;
    if (!o) {
        fprintf(stderr, "%s: %s: in the reference, never observed\n", label, name);
        par_fail(rep, name, -1);
        par_note(rep, name, INFINITY, tol);
        return;
    }
    if (o->n_seen != 1) {
        fprintf(stderr, "%s: %s: observed %d times in one pass\n", label, name, o->n_seen);
        par_fail(rep, name, at);
    }
    if (o->ndim != ndim || memcmp(o->shape, shape, (size_t)ndim * sizeof *shape) != 0) {
        par_shape_str(o->ndim, o->shape, s1, sizeof s1);
        par_shape_str(ndim, shape, s2, sizeof s2);
        fprintf(stderr, "%s: %s: shape %s, reference %s\n", label, name, s1, s2);
        par_fail(rep, name, at);
        par_note(rep, name, INFINITY, tol);
        return;
    }
    size_t i;
    size_t n = (size_t)par_numel(ndim, shape);
    double err = par_norm_err(o->data, ref, n, &i);
    par_note(rep, name, err, tol);
    const char *verbose = getenv("HS_PARITY_VERBOSE");
    if (verbose && strcmp(verbose, "2") == 0)
        fprintf(stderr, "%s: %s: error %.3g (tol %.3g)\n", label, name, err, tol);
    if (!(err <= tol)) {
        fprintf(stderr, "%s: %s: normalised error %.3g > tol %.3g (at flat index %zu: %.9g, reference %.9g)\n",
                label, name, err, tol, i, (double)o->data[i], (double)ref[i]);
        par_fail(rep, name, at);
    }
}

/* Compares everything observed against the reference archive (all F32 tensors except
 * input_ids); fills rep and returns the number of failures, each printed to stderr with
 * `label` (e.g. "gpt2 [cpu]"). */
static int par_compare(const char *label, const hs_st_archive *ref, const par_capture *obs, par_report *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->first_at = -1;
    int n_ref = hs_st_count(ref);
    for (int i = 0; i < n_ref; i++) {
        const hs_st_tensor *rt = hs_st_at(ref, i);
        if (strcmp(rt->name, "input_ids") == 0)
            continue;
        size_t n = (size_t)par_numel(rt->ndim, rt->shape);
        float *buf = malloc((n ? n : 1) * sizeof *buf);
        if (!buf || rt->dtype != HS_DTYPE_F32 || hs_convert_to_f32(rt->dtype, rt->data, buf, n) != 0) {
            fprintf(stderr, "%s: %s: reference tensor is not F32 (or out of memory)\n", label, rt->name);
            rep->n_fail++;
            free(buf);
            continue;
        }
        const par_tensor *o = par_find(obs, rt->name);
        par_compare_one(label, rt->name, o, o ? (int)(o - obs->t) : -1, rt->ndim, rt->shape, buf, rep);
        free(buf);
    }
    for (int i = 0; i < obs->n; i++) {
        /* the copies of the residual stream (per-head inputs, mlp_in) are checked against TransformerLens
         * in tests/test_split_qkv.c; here they only have to leave every other hook as it was */
        const char *nm = obs->t[i].name, *tail = strrchr(nm, '.');
        if (tail && (!strcmp(tail, ".hook_q_input") || !strcmp(tail, ".hook_k_input") ||
                     !strcmp(tail, ".hook_v_input") || !strcmp(tail, ".hook_mlp_in")))
            continue;
        if (!hs_st_find(ref, obs->t[i].name)) {
            fprintf(stderr, "%s: %s: observed, but the reference has no such hook\n", label, obs->t[i].name);
            par_fail(rep, obs->t[i].name, i);
            par_note(rep, obs->t[i].name, INFINITY, PAR_TOL_DEFAULT);
        }
    }
    if (rep->n_fail)
        fprintf(stderr, "%s: %d failure(s) over %d reference hooks; worst %s: error %.3g (tol %.3g); "
                "first to fail in pass order: %s\n", label, rep->n_fail, rep->n_compared, rep->worst,
                rep->worst_err, rep->worst_tol, rep->first_at >= 0 ? rep->first : "(none observed)");
    else if (getenv("HS_PARITY_VERBOSE"))
        fprintf(stderr, "%s: %d hooks match; worst %s: error %.3g (tol %.3g)\n", label, rep->n_compared,
                rep->worst, rep->worst_err, rep->worst_tol);
    return rep->n_fail;
}

/* ---------------------------------------------------------------- one fixture */

static const char *par_backend_name(hs_backend_id b)
{
    return b == HS_BACKEND_CPU ? "cpu" : "reference";
}

/* Runs fixture `name` on both backends; `dtype` is the stored weight dtype hs_model_info must
 * report ("F32", "F16", "BF16"). */
static int par_run_fixture(const char *name, const char *dtype)
{
    char dir[4096], refpath[4200];
    snprintf(dir, sizeof dir, "%s", test_src_path("tests/fixtures/models"));
    size_t len = strlen(dir);
    snprintf(dir + len, sizeof dir - len, "/%s", name);
    snprintf(refpath, sizeof refpath, "%s/reference.safetensors", dir);

    int rc = TEST_FAIL;
    hs_error err = {0};
    hs_model *model = NULL;
    hs_st_archive *ref = NULL;
    hs_hooks *hooks = NULL;
    int32_t *ids = NULL;
    float *logits = NULL, *ref_logits = NULL;
    par_capture cap = {0};

    hs_status st = hs_st_open(refpath, &ref, &err);
    if (st != HS_OK) {
        fprintf(stderr, "%s: cannot open the reference: %s: %s\n", name, hs_status_name(st), err.msg);
        goto cleanup;
    }
    const hs_st_tensor *it = hs_st_find(ref, "input_ids");
    if (!it || it->dtype != HS_DTYPE_I32 || it->ndim != 2) {
        fprintf(stderr, "%s: reference has no input_ids I32 [batch, pos]\n", name);
        goto cleanup;
    }
    int n_batch = (int)it->shape[0], n_pos = (int)it->shape[1];
    ids = malloc((size_t)n_batch * (size_t)n_pos * sizeof *ids);
    if (!ids)
        goto cleanup;
    memcpy(ids, it->data, (size_t)n_batch * (size_t)n_pos * sizeof *ids);

    const hs_st_tensor *lt = hs_st_find(ref, "unembed.hook_out");
    if (!lt || lt->ndim != 3 || lt->shape[0] != n_batch || lt->shape[1] != n_pos) {
        fprintf(stderr, "%s: reference has no unembed.hook_out [batch, pos, d_vocab]\n", name);
        goto cleanup;
    }
    size_t n_logits = (size_t)par_numel(3, lt->shape);
    ref_logits = malloc(n_logits * sizeof *ref_logits);
    logits = malloc(n_logits * sizeof *logits);
    if (!ref_logits || !logits || hs_convert_to_f32(lt->dtype, lt->data, ref_logits, n_logits) != 0)
        goto cleanup;

    st = hs_model_open(dir, NULL, &model, &err);
    if (st != HS_OK) {
        fprintf(stderr, "%s: hs_model_open: %s: %s\n", name, hs_status_name(st), err.msg);
        goto cleanup;
    }
    hs_model_info info;
    hs_model_get_info(model, &info);
    if (!info.dtype || strcmp(info.dtype, dtype) != 0) {
        fprintf(stderr, "%s: stored dtype %s, expected %s\n", name, info.dtype ? info.dtype : "(null)", dtype);
        goto cleanup;
    }
    if (info.d_vocab != lt->shape[2]) {
        fprintf(stderr, "%s: d_vocab %d, reference logits have %lld\n", name, info.d_vocab,
                (long long)lt->shape[2]);
        goto cleanup;
    }

    hs_batch batch = {.ids = ids, .n_batch = n_batch, .n_pos = n_pos};
    const hs_backend_id backends[] = {HS_BACKEND_CPU, HS_BACKEND_REFERENCE};
    int n_fail = 0;
    for (size_t b = 0; b < sizeof backends / sizeof backends[0]; b++) {
        char label[128];
        snprintf(label, sizeof label, "%s [%s]", name, par_backend_name(backends[b]));
        if ((st = hs_hooks_new(&hooks, &err)) != HS_OK ||
            (st = hs_hooks_observe(hooks, "*", par_observe, &cap, &err)) != HS_OK) {
            fprintf(stderr, "%s: hooks: %s: %s\n", label, hs_status_name(st), err.msg);
            goto cleanup;
        }
        memset(logits, 0, n_logits * sizeof *logits);
        st = hs_forward(model, &batch, hooks, backends[b], logits, &err);
        if (st != HS_OK) {
            fprintf(stderr, "%s: hs_forward: %s: %s\n", label, hs_status_name(st), err.msg);
            goto cleanup;
        }
        par_report rep;
        n_fail += par_compare(label, ref, &cap, &rep);

        size_t at;
        double e = par_norm_err(logits, ref_logits, n_logits, &at);
        if (!(e <= par_tolerance_of("unembed.hook_out"))) {
            fprintf(stderr, "%s: logits_out: normalised error %.3g > tol %.3g (at %zu: %.9g, reference %.9g)\n",
                    label, e, par_tolerance_of("unembed.hook_out"), at, (double)logits[at], (double)ref_logits[at]);
            n_fail++;
        }
        hs_hooks_free(hooks);
        hooks = NULL;
        par_capture_free(&cap);
    }
    rc = n_fail ? TEST_FAIL : TEST_PASS;

cleanup:
    par_capture_free(&cap);
    hs_hooks_free(hooks);
    hs_model_close(model);
    hs_st_close(ref);
    free(ids);
    free(logits);
    free(ref_logits);
    return rc;
}

int test_parity_gpt2(void) { return par_run_fixture("gpt2", "F32"); }
int test_parity_llama(void) { return par_run_fixture("llama", "F32"); }
int test_parity_qwen2(void) { return par_run_fixture("qwen2", "F32"); }
int test_parity_mistral(void) { return par_run_fixture("mistral", "F32"); }
int test_parity_neox(void) { return par_run_fixture("neox", "F32"); }
int test_parity_neox_seq(void) { return par_run_fixture("neox_seq", "F32"); }
int test_parity_gpt2_f16(void) { return par_run_fixture("gpt2_f16", "F16"); }
int test_parity_llama_bf16(void) { return par_run_fixture("llama_bf16", "BF16"); }

/* ---------------------------------------------------------------- the checker can fail */

/* A capture that holds exactly the reference (what a perfect forward pass would observe). */
static hs_status par_capture_from_ref(const hs_st_archive *ref, par_capture *c)
{
    for (int i = 0; i < hs_st_count(ref); i++) {
        const hs_st_tensor *rt = hs_st_at(ref, i);
        if (strcmp(rt->name, "input_ids") == 0)
            continue;
        size_t n = (size_t)par_numel(rt->ndim, rt->shape);
        float *buf = malloc((n ? n : 1) * sizeof *buf);
        if (!buf)
            return HS_ERR_NOMEM;
        hs_convert_to_f32(rt->dtype, rt->data, buf, n);
        hs_status st = par_capture_add(c, rt->name, rt->ndim, rt->shape, buf);
        free(buf);
        if (st != HS_OK)
            return st;
    }
    return HS_OK;
}

/* Feeds the checker the gpt2 reference itself (it must pass, worst error 0), then one planted
 * fault at a time (each must fail, and name the planted hook as worst where it has an error):
 * a 1e-3 relative error in one element, a NaN, a finite value where the reference has -inf
 * (masked score), -inf where it is finite, a missing hook, a wrong shape, a hook fired twice,
 * an extra hook. A perturbation below tolerance (1e-6 relative) must still pass. */
int test_parity_checker_catches_planted_error(void)
{
    hs_error err = {0};
    hs_st_archive *ref = NULL;
    par_capture cap = {0};
    par_report rep;
    const char *lbl = "planted";
    char refpath[4200];
    snprintf(refpath, sizeof refpath, "%s", test_src_path("tests/fixtures/models/gpt2/reference.safetensors"));
    CHECK_OK(hs_st_open(refpath, &ref, &err), &err);
    CHECK(par_capture_from_ref(ref, &cap) == HS_OK);
    CHECK(cap.n > 30);

    /* the reference against itself: nothing fails, and -inf == -inf counts as equal */
    CHECK(par_compare(lbl, ref, &cap, &rep) == 0);
    CHECK(rep.worst_err == 0);
    CHECK(rep.n_compared == cap.n);

    fprintf(stderr, "(the failures printed below are planted and expected)\n");

    /* 1e-3 relative error on the largest element of one hook */
    par_tensor *z = par_find(&cap, "blocks.1.attn.hook_z");
    CHECK(z);
    size_t n = (size_t)par_numel(z->ndim, z->shape), imax = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(z->data[i]) > fabsf(z->data[imax]))
            imax = i;
    float saved = z->data[imax];
    z->data[imax] = saved * (1.0f + 1e-3f);
    CHECK(par_compare(lbl, ref, &cap, &rep) == 1);
    CHECK(strcmp(rep.worst, "blocks.1.attn.hook_z") == 0);
    CHECK(strcmp(rep.first, "blocks.1.attn.hook_z") == 0);
    CHECK_NEAR(rep.worst_err, 1e-3, 1e-6);
    /* ... while one below tolerance passes */
    z->data[imax] = saved * (1.0f + 1e-6f);
    CHECK(par_compare(lbl, ref, &cap, &rep) == 0);
    z->data[imax] = saved;

    /* NaN */
    par_tensor *post = par_find(&cap, "blocks.0.mlp.hook_post");
    CHECK(post);
    saved = post->data[5];
    post->data[5] = NAN;
    CHECK(par_compare(lbl, ref, &cap, &rep) == 1);
    CHECK(strcmp(rep.worst, "blocks.0.mlp.hook_post") == 0);
    post->data[5] = saved;

    /* masked score: finite instead of -inf, and -inf instead of a finite score */
    par_tensor *sc = par_find(&cap, "blocks.0.attn.hook_attn_scores");
    CHECK(sc && sc->ndim == 4);
    int64_t n_pos = sc->shape[3];
    CHECK(isinf(sc->data[1]) && sc->data[1] < 0); /* query 0, key 1: masked */
    sc->data[1] = -1e30f;
    CHECK(par_compare(lbl, ref, &cap, &rep) == 1);
    CHECK(isinf(rep.worst_err));
    sc->data[1] = -INFINITY;
    saved = sc->data[n_pos]; /* query 1, key 0: visible */
    CHECK(isfinite(saved));
    sc->data[n_pos] = -INFINITY;
    CHECK(par_compare(lbl, ref, &cap, &rep) == 1);
    sc->data[n_pos] = saved;

    /* a hook never observed */
    par_tensor *mid = par_find(&cap, "blocks.1.hook_resid_mid");
    CHECK(mid);
    mid->name[0] = '#'; /* no longer matches the reference name, and is extra */
    CHECK(par_compare(lbl, ref, &cap, &rep) == 2);
    mid->name[0] = 'b';

    /* wrong shape: same numel, dims swapped */
    par_tensor *q = par_find(&cap, "blocks.0.attn.hook_q");
    CHECK(q && q->ndim == 4 && q->shape[2] != q->shape[3]);
    int64_t h = q->shape[2];
    q->shape[2] = q->shape[3];
    q->shape[3] = h;
    CHECK(par_compare(lbl, ref, &cap, &rep) == 1);
    CHECK(strcmp(rep.worst, "blocks.0.attn.hook_q") == 0);
    q->shape[3] = q->shape[2];
    q->shape[2] = h;

    /* fired twice */
    par_tensor *lnf = par_find(&cap, "ln_final.hook_scale");
    CHECK(lnf);
    lnf->n_seen = 2;
    CHECK(par_compare(lbl, ref, &cap, &rep) == 1);
    lnf->n_seen = 1;

    /* an extra hook the reference does not have */
    float one = 1.0f;
    int64_t shape1[1] = {1};
    CHECK(par_capture_add(&cap, "blocks.0.attn.hook_rot_q", 1, shape1, &one) == HS_OK);
    CHECK(par_compare(lbl, ref, &cap, &rep) == 1);

    fprintf(stderr, "(end of planted failures)\n");
    par_capture_free(&cap);
    hs_st_close(ref);
    return TEST_PASS;
}
