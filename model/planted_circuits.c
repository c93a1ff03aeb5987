/* planted_circuits.c — writing the two-circuit GPT-2 of planted_circuits.h (weights derived from the
 * clean LayerNorm statistics of each layer) and its ground truth: the heads and edges of each task. */
#include "model/planted_circuits.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "model/planted_model.h"
#include "model/gpt2_weights.h"

/* ---------------------------------------------------------------- the ground truth */

static const hs_pc_head heads_a[] = {{0, 0}, {1, 0}};
static const hs_pc_edge edges_a[] = {
    {{0, 0}, {1, 0}, HS_PC_K},
    {{1, 0}, {-1, -1}, HS_PC_LOGITS},
};
static const hs_pc_head heads_b[] = {{0, 0}, {1, 1}};
static const hs_pc_edge edges_b[] = {
    {{0, 0}, {1, 1}, HS_PC_K},
    {{1, 1}, {-1, -1}, HS_PC_LOGITS},
};
static const hs_pc_circuit circuits[] = {
    {"A", "induction", 2, heads_a, 2, edges_a},
    {"B", "marker-lookup", 2, heads_b, 2, edges_b},
};

const hs_pc_circuit *hs_pc_circuit_get(const char *set)
{
    for (size_t i = 0; set && i < sizeof circuits / sizeof circuits[0]; i++)
        if (!strcmp(circuits[i].set, set))
            return &circuits[i];
    return NULL;
}

int hs_pc_circuit_has_head(const hs_pc_circuit *c, int layer, int head)
{
    for (int i = 0; i < c->n_heads; i++)
        if (c->heads[i].layer == layer && c->heads[i].head == head)
            return 1;
    return 0;
}

int hs_pc_circuit_has_edge(const hs_pc_circuit *c, int s_layer, int s_head, int r_layer, int r_head, hs_pc_input in)
{
    for (int i = 0; i < c->n_edges; i++) {
        const hs_pc_edge *e = &c->edges[i];
        if (e->sender.layer != s_layer || e->sender.head != s_head || e->input != in)
            continue;
        if (in == HS_PC_LOGITS || (e->receiver.layer == r_layer && e->receiver.head == r_head))
            return 1;
    }
    return 0;
}

const char *hs_pc_input_name(hs_pc_input in)
{
    static const char *const names[] = {"q", "k", "v", "logits"};
    return (unsigned)in <= HS_PC_LOGITS ? names[in] : "?";
}

/* ---------------------------------------------------------------- the weights */

enum {
    D_MODEL = 512,
    D_HEAD = D_MODEL / HS_PC_HEADS,
    D_MLP = 4,
    V = HS_PC_VOCAB,
    N_CTX = HS_PC_CTX,
    TOK = 0,              /* residual dims: token one-hot */
    POS = TOK + V,        /* position one-hot */
    PREV = POS + N_CTX,   /* previous token (L0H0) */
    J1 = PREV + V,        /* junk written by L0H1, L0H2, L1H2: read by nobody */
    J2 = J1 + V,
    J3 = J2 + V,
    ANCHOR = D_MODEL - 2, /* +B, -B: LayerNorm's scale barely depends on the one-hots */
    /* head dims used as constant (bias) channels, after the 64 position channels */
    C_BOS = N_CTX,        /* constant query x key 0 */
    C_REC                 /* constant query x key position (recency) */
};
_Static_assert(C_REC < D_HEAD, "head dims overflow");
_Static_assert(J3 + V <= ANCHOR, "residual dims overflow");

#define LN_EPS 1e-5
#define ANCHOR_B 64.0
#define G_OFFSET 30.0  /* previous, first and current token heads */
#define G_MATCH 160.0  /* induction and marker matches */
#define G_BOS 80.0     /* fallback onto key 0 */
#define G_RECENCY 1.0  /* per position */
#define OUT_GAIN 8.0   /* magnitude of the answer written by L1H0 and L1H1 */
#define DECOY_GAIN 1.0 /* of the current token written by L1H3 */
#define LNF_GAIN 8.0

typedef struct weights {
    float *wte, *wpe, *lnf_w;
    float *attn_w[HS_PC_LAYERS], *attn_b[HS_PC_LAYERS]; /* c_attn: [D, 3D] Conv1D, [3D] */
    float *proj_w[HS_PC_LAYERS];                        /* c_proj: [D, D] */
    double s[HS_PC_LAYERS], mu[HS_PC_LAYERS];           /* 1/sigma and mean of each layer's clean input */
} weights;

/* LayerNorm statistics of a residual vector holding n ones, the anchor and zeros. */
static void ln_stats(int n_ones, double *s, double *mu)
{
    *mu = (double)n_ones / D_MODEL;
    double var = (n_ones + 2 * ANCHOR_B * ANCHOR_B) / D_MODEL - *mu * *mu;
    *s = 1.0 / sqrt(var + LN_EPS);
}

/* Column of Q (0), K (1), V (2), head `head`, head dim e in c_attn. */
static size_t qkv_col(int which, int head, int e)
{
    return (size_t)which * D_MODEL + (size_t)head * D_HEAD + (size_t)e;
}

/* Head channel e of Q/K/V reads residual dim `dim` with weight w; the bias w*s*mu undoes
 * LayerNorm's mean shift, so on clean inputs the channel is exactly w * s * x[dim]. */
static void rd(weights *w, int layer, int which, int head, int dim, int e, double wt)
{
    size_t col = qkv_col(which, head, e);
    w->attn_w[layer][(size_t)dim * 3 * D_MODEL + col] += (float)wt;
    w->attn_b[layer][col] += (float)(wt * w->s[layer] * w->mu[layer]);
}

/* Weight on both query and key one-hots that makes a match worth `logit`. */
static double pair_weight(double logit, double s)
{
    return sqrt(logit * sqrt((double)D_HEAD)) / s;
}

/* Key weight against a constant query channel of 1: `logit` per unit of the key's one-hot. */
static double bias_key_weight(double logit, double s)
{
    return logit * sqrt((double)D_HEAD) / s;
}

/* Key 0 (BOS) gets `logit` more than any other key. */
static void plant_bos(weights *w, int layer, int head, double logit)
{
    w->attn_b[layer][qkv_col(0, head, C_BOS)] = 1.0f;
    rd(w, layer, 1, head, POS + 0, C_BOS, bias_key_weight(logit, w->s[layer]));
}

/* Query i attends key i - back. */
static void plant_offset(weights *w, int layer, int head, int back, double logit)
{
    double a = pair_weight(logit, w->s[layer]);
    for (int p = back; p < N_CTX; p++)
        rd(w, layer, 0, head, POS + p, p - back, a);
    for (int p = 0; p < N_CTX; p++)
        rd(w, layer, 1, head, POS + p, p, a);
}

/* The value is the token (ids below `n_tok`: V = 32 with BOS, V - 1 without), written at dims
 * out..out+n_tok-1 of the residual with magnitude `gain`. */
static void plant_copy(weights *w, int layer, int head, int n_tok, int out, double gain)
{
    for (int t = 0; t < n_tok; t++) {
        rd(w, layer, 2, head, TOK + t, t, 1.0);
        w->proj_w[layer][(size_t)(head * D_HEAD + t) * D_MODEL + out + t] = (float)(gain / w->s[layer]);
    }
}

static void plant(weights *w)
{
    /* layer 0 reads token + position; layer 1 also PREV (L0H0), J1 (L0H1), J2 (L0H2) */
    ln_stats(2, &w->s[0], &w->mu[0]);
    ln_stats(5, &w->s[1], &w->mu[1]);
    for (int t = 0; t < V; t++)
        w->wte[(size_t)t * D_MODEL + TOK + t] = 1.0f;
    for (int p = 0; p < N_CTX; p++) {
        w->wpe[(size_t)p * D_MODEL + POS + p] = 1.0f;
        w->wpe[(size_t)p * D_MODEL + ANCHOR] = (float)ANCHOR_B;
        w->wpe[(size_t)p * D_MODEL + ANCHOR + 1] = (float)-ANCHOR_B;
    }
    for (int i = 0; i < D_MODEL; i++)
        w->lnf_w[i] = (float)LNF_GAIN;

    /* L0H0 previous token -> PREV (position 0 attends itself: PREV_0 = BOS, which no head reads) */
    plant_offset(w, 0, 0, 1, G_OFFSET);
    plant_copy(w, 0, 0, V, PREV, 1.0);
    /* L0H1 first token -> J1; L0H2 current token -> J2; L0H3 nothing */
    plant_bos(w, 0, 1, G_OFFSET);
    plant_copy(w, 0, 1, V, J1, 1.0);
    plant_offset(w, 0, 2, 0, G_OFFSET);
    plant_copy(w, 0, 2, V, J2, 1.0);

    /* L1H0 induction over letters: query token t against key PREV t, fallback on BOS, recency; the
     * marker and digits have no query, so the marker's lookup is L1H1's alone */
    double m1 = pair_weight(G_MATCH, w->s[1]);
    for (int t = 0; t < HS_PC_LETTERS; t++) {
        rd(w, 1, 0, 0, TOK + t, t, m1);
        rd(w, 1, 1, 0, PREV + t, t, m1);
    }
    plant_bos(w, 1, 0, G_BOS);
    w->attn_b[1][qkv_col(0, 0, C_REC)] = 1.0f;
    for (int p = 0; p < N_CTX; p++)
        rd(w, 1, 1, 0, POS + p, C_REC, p * bias_key_weight(G_RECENCY, w->s[1]));
    plant_copy(w, 1, 0, V - 1, TOK, OUT_GAIN);
    /* L1H1 marker lookup: the marker query against the key whose previous token is the marker */
    rd(w, 1, 0, 1, TOK + HS_PC_MARKER, 0, m1);
    rd(w, 1, 1, 1, PREV + HS_PC_MARKER, 0, m1);
    plant_bos(w, 1, 1, G_BOS);
    plant_copy(w, 1, 1, V - 1, TOK, OUT_GAIN);
    /* L1H2 previous token -> J3; L1H3 current token -> TOK (the decoy) */
    plant_offset(w, 1, 2, 1, G_OFFSET);
    plant_copy(w, 1, 2, V, J3, 1.0);
    plant_offset(w, 1, 3, 0, G_OFFSET);
    plant_copy(w, 1, 3, V - 1, TOK, DECOY_GAIN);
}

/* config.json is the planted model's (the same shape, vocabulary and tokenizer); tokenizer_config.json
 * says prompts begin with BOS. */
_Static_assert(HS_PC_LAYERS == HS_PLANTED_LAYERS && HS_PC_HEADS == HS_PLANTED_HEADS && HS_PC_VOCAB == HS_PLANTED_VOCAB &&
                   HS_PC_BOS == HS_PLANTED_BOS && HS_PC_CTX == HS_PLANTED_CTX,
               "the planted circuits model has the planted model's shape");
static hs_status write_configs(const char *dir, hs_error *err)
{
    HS_TRY(hs_planted_config_write(dir, err));
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "w");
    int ok = f && fputs("{\n  \"add_bos_token\": true\n}", f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? HS_OK : hs_fail(err, HS_ERR_IO, "%s: cannot write", path);
}

hs_status hs_planted_circuits_write(const char *dir, hs_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return hs_fail(err, HS_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    HS_TRY(write_configs(dir, err));
    HS_TRY(hs_planted_tokenizer_write(dir, err));

    hs_gpt2_weights t;
    HS_TRY(hs_gpt2_weights_new(&t, HS_PC_LAYERS, D_MODEL, D_MLP, N_CTX, V, err));
    weights w = {0};
    w.wte = hs_gpt2_weights_get(&t, "wte.weight");
    w.wpe = hs_gpt2_weights_get(&t, "wpe.weight");
    w.lnf_w = hs_gpt2_weights_get(&t, "ln_f.weight");
    for (int l = 0; l < HS_PC_LAYERS; l++) {
        w.attn_w[l] = hs_gpt2_weights_get(&t, "h.%d.attn.c_attn.weight", l);
        w.attn_b[l] = hs_gpt2_weights_get(&t, "h.%d.attn.c_attn.bias", l);
        w.proj_w[l] = hs_gpt2_weights_get(&t, "h.%d.attn.c_proj.weight", l);
    }
    plant(&w);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    hs_status rc = hs_gpt2_weights_write(&t, path, err);
    hs_gpt2_weights_free(&t);
    return rc;
}
