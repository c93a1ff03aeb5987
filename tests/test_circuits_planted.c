/* test_circuits_planted.c — the planted circuits model (model/planted_circuits.h) proved by ablation
 * and patching: it does both tasks on clean prompts and neither on corrupted ones; zero-ablating a
 * head of a task's circuit removes its logit difference and any other head leaves it; ablating a
 * planted edge (the sender's output taken out of one receiver's q, k or v input only, or out of the
 * logits' input only) removes it and any other edge leaves it; patching z between clean and
 * corrupted runs sees exactly the planted heads, by hand and with analyses/circuits/patch.h; attribution
 * patching (analyses/circuits/atp.h) sees the output heads and, as its first order must, misses L0H0. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyses/circuits/atp.h"
#include "analyses/circuits/patch.h"
#include "datasets/circuit_tasks.h"
#include "datasets/prompts.h"
#include "model/model.h"
#include "model/planted_circuits.h"
#include "tests/test.h"

#define N_PROMPTS 12
#define CLEAN_MARGIN 10.0 /* every clean logit difference is above this (planted ~16) */
#define CORRUPT_MAX 0.05  /* |corrupted logit difference| below this */
#define BREAK_MIN 0.8     /* ablating a planted head or edge removes more than this fraction */
#define KEEP_MAX 0.01     /* ablating anything else changes it by less than this fraction */

/* One task prompt as the model sees it: clean and corrupted ids ([n] each, BOS first). */
typedef struct pc_prompt {
    int32_t clean[HS_PC_CTX], corrupted[HS_PC_CTX];
    int n;
    int32_t answer, wrong;
    double ld; /* clean logit difference */
} pc_prompt;

typedef struct pc_fixture {
    char dir[256];
    hs_model *m;
    pc_prompt sets[2][N_PROMPTS]; /* [0]: A, [1]: B */
} pc_fixture;

static const char *const set_names[2] = {"A", "B"};

static int encode_exact(const hs_tokenizer *tok, const char *text, int add_bos, int32_t *out, int *n)
{
    hs_error err = {0};
    int32_t *ids = NULL;
    size_t n_ids = 0;
    CHECK_OK(hs_tokenizer_encode(tok, text, strlen(text), add_bos, &ids, &n_ids, &err), &err);
    /* one token per character, after BOS */
    int ok = n_ids == strlen(text) + (add_bos ? 1 : 0) && n_ids <= HS_PC_CTX && (!add_bos || ids[0] == HS_PC_BOS);
    if (ok)
        memcpy(out, ids, n_ids * sizeof *ids);
    *n = (int)n_ids;
    free(ids);
    CHECK_MSG(ok, "'%s' encodes to %zu tokens", text, n_ids);
    return TEST_PASS;
}

/* Logit difference answer - wrong at the last position, and whether the answer is the top token. */
static int run_ld(const hs_model *m, const int32_t *ids, int n, hs_hooks *hooks, int32_t answer, int32_t wrong,
                  double *ld, int *top1)
{
    hs_error err = {0};
    float logits[HS_PC_CTX * HS_PC_VOCAB];
    hs_batch b = {.ids = ids, .n_batch = 1, .n_pos = n};
    CHECK_OK(hs_forward(m, &b, hooks, HS_BACKEND_CPU, logits, &err), &err);
    const float *last = logits + (size_t)(n - 1) * HS_PC_VOCAB;
    int best = 0;
    for (int v = 1; v < HS_PC_VOCAB; v++)
        best = last[v] > last[best] ? v : best;
    *ld = (double)last[answer] - last[wrong];
    if (top1)
        *top1 = best == answer;
    return TEST_PASS;
}

/* Writes the model and both prompt sets, opens the model, reads the sets and their clean logit
 * differences. */
static int fixture_open(pc_fixture *fx)
{
    char model_dir[512], path[512];
    const char *dir = fx->dir;
    snprintf(fx->dir, sizeof fx->dir, "%s", test_tmpdir());
    snprintf(model_dir, sizeof model_dir, "%s/circuits", dir);
    hs_error err = {0};
    CHECK_OK(hs_planted_circuits_write(model_dir, &err), &err);
    CHECK_OK(hs_model_open(model_dir, NULL, &fx->m, &err), &err);
    const hs_tokenizer *tok = hs_model_tokenizer(fx->m);
    CHECK(tok);
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s.jsonl", dir, set_names[s]);
        CHECK_OK(hs_circuit_tasks_write(path, set_names[s], N_PROMPTS, 7, &err), &err);
        hs_prompt_set *set = NULL;
        CHECK_OK(hs_prompt_set_load(path, &set, &err), &err);
        CHECK(set->n == N_PROMPTS);
        for (int i = 0; i < N_PROMPTS; i++) {
            const hs_prompt *p = &set->prompts[i];
            pc_prompt *q = &fx->sets[s][i];
            int nc, na, nw;
            CHECK(p->clean && p->corrupted && p->answer && p->wrong && p->meta_json);
            char want[32];
            snprintf(want, sizeof want, "\"set\":\"%s\"", set_names[s]);
            CHECK_MSG(strstr(p->meta_json, want), "%s", p->meta_json);
            CHECK(encode_exact(tok, p->clean, 1, q->clean, &q->n) == TEST_PASS);
            CHECK(encode_exact(tok, p->corrupted, 1, q->corrupted, &nc) == TEST_PASS);
            CHECK(encode_exact(tok, p->answer, 0, &q->answer, &na) == TEST_PASS);
            CHECK(encode_exact(tok, p->wrong, 0, &q->wrong, &nw) == TEST_PASS);
            CHECK(nc == q->n && na == 1 && nw == 1 && q->answer != q->wrong);
            CHECK(run_ld(fx->m, q->clean, q->n, NULL, q->answer, q->wrong, &q->ld, NULL) == TEST_PASS);
        }
        hs_prompt_set_free(set);
    }
    return TEST_PASS;
}

static void fixture_close(pc_fixture *fx)
{
    hs_model_close(fx->m);
}

/* ---------------------------------------------------------------- ground truth and tasks */

int test_circuits_planted_truth(void)
{
    const hs_pc_circuit *a = hs_pc_circuit_get("A"), *b = hs_pc_circuit_get("B");
    CHECK(a && b && !hs_pc_circuit_get("C") && !hs_pc_circuit_get(NULL));
    CHECK(!strcmp(a->task, "induction") && !strcmp(b->task, "marker-lookup"));
    /* exactly one shared head, L0H0 */
    int shared = 0;
    for (int l = 0; l < HS_PC_LAYERS; l++)
        for (int h = 0; h < HS_PC_HEADS; h++)
            if (hs_pc_circuit_has_head(a, l, h) && hs_pc_circuit_has_head(b, l, h)) {
                CHECK(l == 0 && h == 0);
                shared++;
            }
    CHECK(shared == 1 && a->n_heads == 2 && b->n_heads == 2);
    CHECK(hs_pc_circuit_has_edge(a, 0, 0, 1, 0, HS_PC_K) && !hs_pc_circuit_has_edge(a, 0, 0, 1, 0, HS_PC_Q));
    CHECK(hs_pc_circuit_has_edge(a, 1, 0, -1, -1, HS_PC_LOGITS));
    CHECK(!hs_pc_circuit_has_edge(a, 1, 1, -1, -1, HS_PC_LOGITS));
    CHECK(hs_pc_circuit_has_edge(b, 0, 0, 1, 1, HS_PC_K) && !hs_pc_circuit_has_edge(b, 0, 0, 1, 0, HS_PC_K));
    /* every edge joins two heads of its circuit (or one and the logits) */
    for (int c = 0; c < 2; c++) {
        const hs_pc_circuit *k = c ? b : a;
        for (int e = 0; e < k->n_edges; e++) {
            const hs_pc_edge *ed = &k->edges[e];
            CHECK(hs_pc_circuit_has_head(k, ed->sender.layer, ed->sender.head));
            CHECK(ed->input == HS_PC_LOGITS ? ed->receiver.layer == -1
                                            : hs_pc_circuit_has_head(k, ed->receiver.layer, ed->receiver.head) &&
                                                  ed->receiver.layer > ed->sender.layer);
        }
    }
    CHECK(!strcmp(hs_pc_input_name(HS_PC_V), "v") && !strcmp(hs_pc_input_name(HS_PC_LOGITS), "logits"));
    hs_error err = {0};
    CHECK(hs_circuit_tasks_write("/nonexistent/x.jsonl", "A", 1, 0, &err) == HS_ERR_IO);
    CHECK(hs_circuit_tasks_write("x.jsonl", "C", 1, 0, &err) == HS_ERR_ARG && strstr(err.msg, "'C'"));
    return TEST_PASS;
}

/* Both tasks: top-1 accuracy 1.0 and a large logit difference on clean prompts, ~0 on corrupted. */
int test_circuits_planted_tasks(void)
{
    pc_fixture fx = {0};
    int rc = fixture_open(&fx);
    for (int s = 0; s < 2 && rc == TEST_PASS; s++) {
        double min_clean = 1e9, max_corr = 0;
        for (int i = 0; i < N_PROMPTS; i++) {
            const pc_prompt *q = &fx.sets[s][i];
            double ld, ldc;
            int top1;
            CHECK(run_ld(fx.m, q->clean, q->n, NULL, q->answer, q->wrong, &ld, &top1) == TEST_PASS);
            CHECK(run_ld(fx.m, q->corrupted, q->n, NULL, q->answer, q->wrong, &ldc, NULL) == TEST_PASS);
            CHECK_MSG(top1, "set %s prompt %d: the answer is not the top token", set_names[s], i);
            CHECK_MSG(ld > CLEAN_MARGIN, "set %s prompt %d: clean logit difference %.4f", set_names[s], i, ld);
            CHECK_MSG(fabs(ldc) < CORRUPT_MAX, "set %s prompt %d: corrupted logit difference %.4f", set_names[s], i,
                      ldc);
            min_clean = fmin(min_clean, ld);
            max_corr = fmax(max_corr, fabs(ldc));
        }
        fprintf(stderr, "set %s: clean logit difference >= %.4f, |corrupted| <= %.2g\n", set_names[s], min_clean,
                max_corr);
        /* the command line opens the checkpoint and agrees: "PATH,12,1.000000,...,1.000000,LD,0" */
        char args[2048], out[4096], want[600];
        snprintf(args, sizeof args, "eval --model %s/circuits --csv %s/%s.jsonl", fx.dir, fx.dir, set_names[s]);
        CHECK_MSG(test_run_headscope(args, out, sizeof out) == 0, "%s", out);
        snprintf(want, sizeof want, "%s/%s.jsonl,%d,1.000000,", fx.dir, set_names[s], N_PROMPTS);
        CHECK_MSG(strstr(out, want), "%s", out);
    }
    fixture_close(&fx);
    return rc;
}

/* ---------------------------------------------------------------- head ablation */

/* The largest and smallest fraction of the clean logit difference that zero-ablating head (l, h)
 * removes over a set's prompts. */
static int head_effect(const pc_fixture *fx, int s, int l, int h, double *lo, double *hi)
{
    hs_error err = {0};
    hs_hooks *hooks = NULL;
    char name[64];
    snprintf(name, sizeof name, "blocks.%d.attn.hook_z", l);
    CHECK_OK(hs_hooks_new(&hooks, &err), &err);
    CHECK_OK(hs_hooks_intervene(hooks, name, HS_OP_ZERO, h, 0, NULL, &err), &err);
    *lo = 1e9, *hi = -1e9;
    for (int i = 0; i < N_PROMPTS; i++) {
        const pc_prompt *q = &fx->sets[s][i];
        double ld;
        CHECK(run_ld(fx->m, q->clean, q->n, hooks, q->answer, q->wrong, &ld, NULL) == TEST_PASS);
        double removed = (q->ld - ld) / q->ld;
        *lo = fmin(*lo, removed);
        *hi = fmax(*hi, removed);
    }
    hs_hooks_free(hooks);
    return TEST_PASS;
}

/* Zero-ablating a planted head of a task removes > 80 % of its logit difference on every prompt;
 * any other head changes it by < 1 %; the shared head L0H0 breaks both. */
int test_circuits_planted_head_ablation(void)
{
    pc_fixture fx = {0};
    CHECK(fixture_open(&fx) == TEST_PASS);
    for (int s = 0; s < 2; s++) {
        const hs_pc_circuit *c = hs_pc_circuit_get(set_names[s]);
        for (int l = 0; l < HS_PC_LAYERS; l++)
            for (int h = 0; h < HS_PC_HEADS; h++) {
                double lo, hi;
                CHECK(head_effect(&fx, s, l, h, &lo, &hi) == TEST_PASS);
                int planted = hs_pc_circuit_has_head(c, l, h);
                fprintf(stderr, "set %s: ablating L%dH%d removes %.6f..%.6f of the logit difference%s\n",
                        set_names[s], l, h, lo, hi, planted ? " (planted)" : "");
                if (planted)
                    CHECK_MSG(lo > BREAK_MIN, "set %s: planted L%dH%d removes only %.4f", set_names[s], l, h, lo);
                else
                    CHECK_MSG(fmax(fabs(lo), fabs(hi)) < KEEP_MAX, "set %s: L%dH%d (not planted) changes it by %.4f",
                              set_names[s], l, h, fmax(fabs(lo), fabs(hi)));
            }
    }
    fixture_close(&fx);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- edge ablation */

/* Copies one head's slice of an observed tensor: [1, T, H, w] -> out [T, w]. */
typedef struct head_copy {
    int head;
    float *out;
} head_copy;

static hs_status copy_head(void *user, const hs_hook_point *hp, const hs_tensor *t)
{
    (void)hp;
    const head_copy *hc = user;
    int64_t T = t->shape[1], H = t->shape[2], w = t->shape[3];
    for (int64_t p = 0; p < T; p++)
        memcpy(hc->out + p * w, t->data + (p * H + hc->head) * w, (size_t)w * sizeof(float));
    return HS_OK;
}

/* Runs the clean prompt once, observing `name` and keeping head h's slice [n, w] in out. */
static int observe_head(const hs_model *m, const pc_prompt *q, const char *name, int h, float *out)
{
    hs_error err = {0};
    hs_hooks *hooks = NULL;
    head_copy hc = {h, out};
    CHECK_OK(hs_hooks_new(&hooks, &err), &err);
    CHECK_OK(hs_hooks_observe(hooks, name, copy_head, &hc, &err), &err);
    hs_batch b = {.ids = q->clean, .n_batch = 1, .n_pos = q->n};
    CHECK_OK(hs_forward(m, &b, hooks, HS_BACKEND_CPU, NULL, &err), &err);
    hs_hooks_free(hooks);
    return TEST_PASS;
}

/* The clean logit difference with the edge (sender -> receiver's input) zero-ablated: the sender's
 * output (hook_result, z·W_O without the layer's bias, as HS_OP_ZERO on its z leaves it) is taken
 * out of the residual stream that the receiver's q, k or v reads, and of nothing else. Without
 * per-input hooks this is two passes: one with the sender's output subtracted from the receiver
 * layer's hook_resid_pre, which gives the receiver's edge-ablated q/k/v (every earlier layer is
 * clean there); one clean pass with that q/k/v of the receiver head put in by HS_OP_REPLACE. For
 * the logits the sender's output is subtracted from the last hook_resid_post, which only ln_final
 * and the unembedding read. */
static int edge_ld(const hs_model *m, const pc_prompt *q, int sl, int sh, int rl, int rh, hs_pc_input in,
                   double *ld)
{
    enum { D = 512, DH = 128 };
    static float result[HS_PC_CTX * D], input[HS_PC_CTX * DH];
    hs_error err = {0};
    char name[64];
    int n_layers = m->cfg.n_layers;
    CHECK(m->cfg.d_model == D && m->cfg.d_head == DH);
    snprintf(name, sizeof name, "blocks.%d.attn.hook_result", sl);
    CHECK(observe_head(m, q, name, sh, result) == TEST_PASS);
    for (int i = 0; i < q->n * D; i++)
        result[i] = -result[i];
    hs_tensor minus = {.data = result, .ndim = 3, .shape = {1, q->n, D}};
    hs_hooks *hooks = NULL;
    CHECK_OK(hs_hooks_new(&hooks, &err), &err);
    if (in == HS_PC_LOGITS) {
        snprintf(name, sizeof name, "blocks.%d.hook_resid_post", n_layers - 1);
        CHECK_OK(hs_hooks_intervene(hooks, name, HS_OP_ADD, -1, 0, &minus, &err), &err);
    } else {
        static const char *const inputs[] = {"hook_q", "hook_k", "hook_v"};
        CHECK(rl > sl);
        snprintf(name, sizeof name, "blocks.%d.hook_resid_pre", rl);
        CHECK_OK(hs_hooks_intervene(hooks, name, HS_OP_ADD, -1, 0, &minus, &err), &err);
        head_copy hc = {rh, input};
        snprintf(name, sizeof name, "blocks.%d.attn.%s", rl, inputs[in]);
        CHECK_OK(hs_hooks_observe(hooks, name, copy_head, &hc, &err), &err);
        hs_batch b = {.ids = q->clean, .n_batch = 1, .n_pos = q->n};
        CHECK_OK(hs_forward(m, &b, hooks, HS_BACKEND_CPU, NULL, &err), &err);
        hs_hooks_free(hooks);
        CHECK_OK(hs_hooks_new(&hooks, &err), &err);
        hs_tensor repl = {.data = input, .ndim = 3, .shape = {1, q->n, DH}};
        CHECK_OK(hs_hooks_intervene(hooks, name, HS_OP_REPLACE, rh, 0, &repl, &err), &err);
    }
    int rc = run_ld(m, q->clean, q->n, hooks, q->answer, q->wrong, ld, NULL);
    hs_hooks_free(hooks);
    return rc;
}

/* The fraction of the logit difference an edge's ablation removes, least and most over a set. */
static int edge_effect(const pc_fixture *fx, int s, int sl, int sh, int rl, int rh, hs_pc_input in, double *lo,
                       double *hi)
{
    *lo = 1e9, *hi = -1e9;
    for (int i = 0; i < N_PROMPTS; i++) {
        const pc_prompt *q = &fx->sets[s][i];
        double ld;
        CHECK(edge_ld(fx->m, q, sl, sh, rl, rh, in, &ld) == TEST_PASS);
        *lo = fmin(*lo, (q->ld - ld) / q->ld);
        *hi = fmax(*hi, (q->ld - ld) / q->ld);
    }
    return TEST_PASS;
}

static int check_edge(const pc_fixture *fx, int s, int sl, int sh, int rl, int rh, hs_pc_input in)
{
    const hs_pc_circuit *c = hs_pc_circuit_get(set_names[s]);
    double lo, hi;
    CHECK(edge_effect(fx, s, sl, sh, rl, rh, in, &lo, &hi) == TEST_PASS);
    int planted = hs_pc_circuit_has_edge(c, sl, sh, rl, rh, in);
    char recv[32];
    if (in == HS_PC_LOGITS)
        snprintf(recv, sizeof recv, "logits");
    else
        snprintf(recv, sizeof recv, "L%dH%d.%s", rl, rh, hs_pc_input_name(in));
    if (planted || fmax(fabs(lo), fabs(hi)) > 1e-4)
        fprintf(stderr, "set %s: ablating edge L%dH%d -> %s removes %.6f..%.6f%s\n", set_names[s], sl, sh, recv, lo,
                hi, planted ? " (planted)" : "");
    if (planted)
        CHECK_MSG(lo > BREAK_MIN, "set %s: planted edge L%dH%d -> %s removes only %.4f", set_names[s], sl, sh, recv,
                  lo);
    else
        CHECK_MSG(fmax(fabs(lo), fabs(hi)) < KEEP_MAX, "set %s: edge L%dH%d -> %s (not planted) changes it by %.4f",
                  set_names[s], sl, sh, recv, fmax(fabs(lo), fabs(hi)));
    return TEST_PASS;
}

/* The edge ablation is what it claims: a last-layer head's edge to the logits is its whole output,
 * so it equals the zero-ablation of its z; and an edge into the wrong receiver (a planted fault: L0H0
 * -> L1H1.k scored on task A) does not break the task that the real edge breaks. */
int test_circuits_planted_edge_method(void)
{
    pc_fixture fx = {0};
    CHECK(fixture_open(&fx) == TEST_PASS);
    hs_error err = {0};
    for (int s = 0; s < 2; s++)
        for (int h = 0; h < HS_PC_HEADS; h++) {
            hs_hooks *hooks = NULL;
            CHECK_OK(hs_hooks_new(&hooks, &err), &err);
            CHECK_OK(hs_hooks_intervene(hooks, "blocks.1.attn.hook_z", HS_OP_ZERO, h, 0, NULL, &err), &err);
            for (int i = 0; i < N_PROMPTS; i++) {
                const pc_prompt *q = &fx.sets[s][i];
                double by_z, by_edge;
                CHECK(run_ld(fx.m, q->clean, q->n, hooks, q->answer, q->wrong, &by_z, NULL) == TEST_PASS);
                CHECK(edge_ld(fx.m, q, 1, h, -1, -1, HS_PC_LOGITS, &by_edge) == TEST_PASS);
                CHECK_NEAR(by_edge, by_z, 1e-4 * q->ld);
            }
            hs_hooks_free(hooks);
        }
    double lo, hi, lo_f, hi_f;
    CHECK(edge_effect(&fx, 0, 0, 0, 1, 0, HS_PC_K, &lo, &hi) == TEST_PASS);
    CHECK(edge_effect(&fx, 0, 0, 0, 1, 1, HS_PC_K, &lo_f, &hi_f) == TEST_PASS);
    CHECK(lo > BREAK_MIN && fmax(fabs(lo_f), fabs(hi_f)) < KEEP_MAX);
    fixture_close(&fx);
    return TEST_PASS;
}

/* Every (layer-0 head -> layer-1 head's q, k, v) and every (head -> logits): the planted edges
 * remove > 80 % of their task's logit difference, every other one changes it by < 1 %. */
int test_circuits_planted_edge_ablation(void)
{
    pc_fixture fx = {0};
    CHECK(fixture_open(&fx) == TEST_PASS);
    for (int s = 0; s < 2; s++) {
        for (int sh = 0; sh < HS_PC_HEADS; sh++)
            for (int rh = 0; rh < HS_PC_HEADS; rh++)
                for (int in = HS_PC_Q; in <= HS_PC_V; in++)
                    CHECK(check_edge(&fx, s, 0, sh, 1, rh, (hs_pc_input)in) == TEST_PASS);
        for (int sl = 0; sl < HS_PC_LAYERS; sl++)
            for (int sh = 0; sh < HS_PC_HEADS; sh++)
                CHECK(check_edge(&fx, s, sl, sh, -1, -1, HS_PC_LOGITS) == TEST_PASS);
    }
    fixture_close(&fx);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- activation patching */

/* The normalised metric (LD - LD_corrupted) / (LD_clean - LD_corrupted) of the `into` run (clean or
 * corrupted ids) with head (l, h)'s z at every position replaced by its value in the `from` run. */
static int patched_metric(const hs_model *m, const pc_prompt *q, int l, int h, int denoise, double *f)
{
    enum { DH = 128 };
    static float z[HS_PC_CTX * DH];
    const int32_t *from = denoise ? q->clean : q->corrupted, *into = denoise ? q->corrupted : q->clean;
    hs_error err = {0};
    char name[64];
    snprintf(name, sizeof name, "blocks.%d.attn.hook_z", l);
    pc_prompt src = *q;
    memcpy(src.clean, from, (size_t)q->n * sizeof *from);
    CHECK(observe_head(m, &src, name, h, z) == TEST_PASS);
    hs_hooks *hooks = NULL;
    CHECK_OK(hs_hooks_new(&hooks, &err), &err);
    hs_tensor values = {.data = z, .ndim = 3, .shape = {1, q->n, DH}};
    CHECK_OK(hs_hooks_intervene(hooks, name, HS_OP_REPLACE, h, 0, &values, &err), &err);
    double ld, ld_corr;
    CHECK(run_ld(m, into, q->n, hooks, q->answer, q->wrong, &ld, NULL) == TEST_PASS);
    hs_hooks_free(hooks);
    CHECK(run_ld(m, q->corrupted, q->n, NULL, q->answer, q->wrong, &ld_corr, NULL) == TEST_PASS);
    *f = (ld - ld_corr) / (q->ld - ld_corr);
    return TEST_PASS;
}

/* Patching each head's z between the clean and corrupted prompts (ANALYSES.md section 4) sees
 * exactly the planted heads: noising (corrupted z into the clean run) a planted head drops the
 * normalised metric below 0.2 and any other head leaves it within 1 % of 1; denoising (clean z into
 * the corrupted run) a planted head alone restores it above 0.8 and any other head leaves it
 * within 1 % of 0. */
int test_circuits_planted_patching(void)
{
    pc_fixture fx = {0};
    CHECK(fixture_open(&fx) == TEST_PASS);
    for (int s = 0; s < 2; s++) {
        const hs_pc_circuit *c = hs_pc_circuit_get(set_names[s]);
        for (int l = 0; l < HS_PC_LAYERS; l++)
            for (int h = 0; h < HS_PC_HEADS; h++) {
                int planted = hs_pc_circuit_has_head(c, l, h);
                double noise_lo = 1e9, noise_hi = -1e9, de_lo = 1e9, de_hi = -1e9;
                for (int i = 0; i < N_PROMPTS; i++) {
                    double fn, fd;
                    CHECK(patched_metric(fx.m, &fx.sets[s][i], l, h, 0, &fn) == TEST_PASS);
                    CHECK(patched_metric(fx.m, &fx.sets[s][i], l, h, 1, &fd) == TEST_PASS);
                    noise_lo = fmin(noise_lo, fn), noise_hi = fmax(noise_hi, fn);
                    de_lo = fmin(de_lo, fd), de_hi = fmax(de_hi, fd);
                }
                fprintf(stderr, "set %s: patching L%dH%d: noising %.6f..%.6f, denoising %.6f..%.6f%s\n", set_names[s],
                        l, h, noise_lo, noise_hi, de_lo, de_hi, planted ? " (planted)" : "");
                if (planted) {
                    CHECK_MSG(noise_hi < 1 - BREAK_MIN && de_lo > BREAK_MIN, "set %s: planted L%dH%d", set_names[s],
                              l, h);
                } else {
                    CHECK_MSG(noise_lo > 1 - KEEP_MAX && noise_hi < 1 + KEEP_MAX, "set %s: L%dH%d noising",
                              set_names[s], l, h);
                    CHECK_MSG(fabs(de_lo) < KEEP_MAX && fabs(de_hi) < KEEP_MAX, "set %s: L%dH%d denoising",
                              set_names[s], l, h);
                }
            }
    }
    fixture_close(&fx);
    return TEST_PASS;
}

/* ---------------------------------------------------------------- analyses/circuits against the truth */

/* The mean normalised z-patching score of every head over a set (hs_patch_capture and
 * hs_patch_cells of analyses/circuits/patch.h): denoise patches the clean z into the corrupted run,
 * otherwise the corrupted z into the clean run. score [n_layers * n_heads]. */
static int patch_scores(const pc_fixture *fx, int s, int denoise, double *score)
{
    enum { CELLS = HS_PC_LAYERS * HS_PC_HEADS };
    hs_error err = {0};
    int want[HS_PATCH_COMPONENT_COUNT] = {0};
    want[HS_PATCH_Z] = 1;
    for (int c = 0; c < CELLS; c++)
        score[c] = 0;
    for (int i = 0; i < N_PROMPTS; i++) {
        const pc_prompt *q = &fx->sets[s][i];
        hs_patch_cache clean[HS_PATCH_COMPONENT_COUNT] = {0}, corr[HS_PATCH_COMPONENT_COUNT] = {0};
        float logits_corr[HS_PC_VOCAB];
        CHECK_OK(hs_patch_capture(fx->m, q->clean, q->n, want, clean, NULL, &err), &err);
        CHECK_OK(hs_patch_capture(fx->m, q->corrupted, q->n, want, corr, logits_corr, &err), &err);
        double ld_corr = (double)logits_corr[q->answer] - logits_corr[q->wrong], ld[CELLS];
        hs_patch_target tg = {q->answer, q->wrong, NULL};
        CHECK_OK(hs_patch_cells(fx->m, HS_PATCH_Z, 0, denoise ? q->corrupted : q->clean, q->n,
                                denoise ? &clean[HS_PATCH_Z] : &corr[HS_PATCH_Z], &tg, ld, NULL, &err),
                 &err);
        for (int c = 0; c < CELLS; c++)
            score[c] += (ld[c] - ld_corr) / (q->ld - ld_corr) / N_PROMPTS;
        hs_patch_cache_free(&clean[HS_PATCH_Z]);
        hs_patch_cache_free(&corr[HS_PATCH_Z]);
    }
    return TEST_PASS;
}

/* The heads that activation patching (analyses/circuits) finds, a threshold of 0.5 on the normalised
 * score (denoising: restored above it; noising: left below it), are exactly the planted heads of
 * each task, and their overlap is the planted one: A ∩ B = {L0H0}, |A ∩ B| / |A| = 1/2. */
int test_circuits_planted_patch_recovers(void)
{
    enum { CELLS = HS_PC_LAYERS * HS_PC_HEADS };
    pc_fixture fx = {0};
    CHECK(fixture_open(&fx) == TEST_PASS);
    int found[2][2][CELLS]; /* [set][denoise][cell] */
    for (int s = 0; s < 2; s++)
        for (int denoise = 0; denoise < 2; denoise++) {
            double score[CELLS];
            CHECK(patch_scores(&fx, s, denoise, score) == TEST_PASS);
            const hs_pc_circuit *c = hs_pc_circuit_get(set_names[s]);
            for (int cell = 0; cell < CELLS; cell++) {
                int l = cell / HS_PC_HEADS, h = cell % HS_PC_HEADS;
                found[s][denoise][cell] = denoise ? score[cell] > 0.5 : score[cell] < 0.5;
                CHECK_MSG(found[s][denoise][cell] == hs_pc_circuit_has_head(c, l, h),
                          "set %s, %s: L%dH%d scores %.6f", set_names[s], denoise ? "denoising" : "noising", l, h,
                          score[cell]);
                /* the scores are the exact ones of the hand-made patching above */
                double want = hs_pc_circuit_has_head(c, l, h) ? denoise : !denoise;
                CHECK_MSG(fabs(score[cell] - want) < KEEP_MAX, "set %s: L%dH%d scores %.6f", set_names[s], l, h,
                          score[cell]);
            }
        }
    for (int denoise = 0; denoise < 2; denoise++) {
        int n_a = 0, n_both = 0;
        for (int cell = 0; cell < CELLS; cell++) {
            n_a += found[0][denoise][cell];
            n_both += found[0][denoise][cell] && found[1][denoise][cell];
        }
        CHECK(n_a == 2 && n_both == 1 && found[0][denoise][0] && found[1][denoise][0]);
    }
    fixture_close(&fx);
    return TEST_PASS;
}

/* Attribution patching of z on the planted model, for what a first-order estimate can see. Each
 * output head (L1H0 for A, L1H1 for B) reaches the logits through the unembedding and a LayerNorm
 * whose scale the anchor holds fixed, so LD is all but linear in its z and AtP gives patching's score:
 * ~1 denoising, ~0 noising, and ~0 for every other layer-1 head. L0H0 acts only through the key of
 * a saturated softmax, whose gradient is ~0: AtP scores it as if it did nothing (denoise ~0, noise
 * ~1) where activation patching gives the full effect. That miss is the method's, and is checked as
 * such, so that an AtP that somehow saw it would be looked at. */
int test_circuits_planted_atp(void)
{
    enum { CELLS = HS_PC_LAYERS * HS_PC_HEADS };
    pc_fixture fx = {0};
    CHECK(fixture_open(&fx) == TEST_PASS);
    int want[HS_PATCH_COMPONENT_COUNT] = {0};
    want[HS_PATCH_Z] = 1;
    for (int s = 0; s < 2; s++)
        for (int denoise = 0; denoise < 2; denoise++) {
            double atp[CELLS] = {0}, patch[CELLS];
            CHECK(patch_scores(&fx, s, denoise, patch) == TEST_PASS);
            for (int i = 0; i < N_PROMPTS; i++) {
                const pc_prompt *q = &fx.sets[s][i];
                hs_error err = {0};
                hs_patch_cache src[HS_PATCH_COMPONENT_COUNT] = {0};
                float last[HS_PC_VOCAB];
                CHECK_OK(hs_patch_capture(fx.m, denoise ? q->clean : q->corrupted, q->n, want, src, last, &err),
                         &err);
                double sum[CELLS] = {0}, *sums[HS_PATCH_COMPONENT_COUNT] = {0}, ld_base = 0;
                sums[HS_PATCH_Z] = sum;
                CHECK_OK(hs_atp_pair(fx.m, want, 0, denoise ? q->corrupted : q->clean, q->n, q->answer, q->wrong, src,
                                     sums, &ld_base, &err), &err);
                double ld_src = (double)last[q->answer] - last[q->wrong];
                double ld_corr = denoise ? ld_base : ld_src;
                for (int c = 0; c < CELLS; c++)
                    atp[c] += ((denoise ? 0.0 : 1.0) + sum[c] / (q->ld - ld_corr)) / N_PROMPTS;
                hs_patch_cache_free(&src[HS_PATCH_Z]);
            }
            const hs_pc_circuit *c = hs_pc_circuit_get(set_names[s]);
            for (int h = 0; h < HS_PC_HEADS; h++) {
                int cell = HS_PC_HEADS + h; /* layer 1 */
                double want_score = hs_pc_circuit_has_head(c, 1, h) ? denoise : !denoise;
                CHECK_MSG(fabs(atp[cell] - want_score) < 0.02 && fabs(atp[cell] - patch[cell]) < 0.02,
                          "set %s, %s: L1H%d AtP %.4f, patching %.4f", set_names[s], denoise ? "denoise" : "noise", h,
                          atp[cell], patch[cell]);
            }
            /* L0H0: patching sees it fully, AtP not at all (its path is through a saturated softmax) */
            CHECK_MSG(fabs(patch[0] - denoise) < KEEP_MAX && fabs(atp[0] - !denoise) < 0.05,
                      "set %s, %s: L0H0 AtP %.4f, patching %.4f", set_names[s], denoise ? "denoise" : "noise", atp[0],
                      patch[0]);
            fprintf(stderr, "  set %s %s: output head AtP %.4f (patching %.4f), L0H0 AtP %.4f (patching %.4f)\n",
                    set_names[s], denoise ? "denoise" : "noise", atp[HS_PC_HEADS + (s ? 1 : 0)],
                    patch[HS_PC_HEADS + (s ? 1 : 0)], atp[0], patch[0]);
        }
    fixture_close(&fx);
    return TEST_PASS;
}
