/* planted_model.c — writing the hand-set two-layer GPT-2 of planted_model.h: weights derived from
 * the exact LayerNorm scale so that each head's attention logits are the planted values. */
#include "model/planted_model.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "model/gpt2_weights.h"

const hs_planted_kind hs_planted_heads[HS_PLANTED_LAYERS][HS_PLANTED_HEADS] = {
    {HS_PLANTED_PREVIOUS_TOKEN, HS_PLANTED_FIRST_TOKEN, HS_PLANTED_DUPLICATE_TOKEN, HS_PLANTED_UNIFORM},
    {HS_PLANTED_INDUCTION, HS_PLANTED_CURRENT_TOKEN, HS_PLANTED_UNIFORM, HS_PLANTED_TWO_BACK},
};

enum {
    D_MODEL = 512,
    D_HEAD = D_MODEL / HS_PLANTED_HEADS,
    D_MLP = 4,
    V = HS_PLANTED_VOCAB,
    N_CTX = HS_PLANTED_CTX,
    TOK = 0,            /* residual dims of the token one-hot */
    POS = TOK + V,      /* of the position one-hot */
    PREV = POS + N_CTX, /* of the previous token's one-hot (written by L0H0) */
    /* head dims used as constant (bias) channels: after the token and position dims */
    C_BOS = V + N_CTX,  /* constant query x key 0 */
    C_REC               /* constant query x key position (recency) */
};
_Static_assert(C_REC < D_HEAD, "head dims overflow");
_Static_assert(PREV + V <= D_MODEL, "residual dims overflow");

#define LN_EPS 1e-5

/* Planted logit values (after the 1/sqrt(d_head) scale). */
#define G_PREV 30.0
#define G_FIRST 20.0
#define G_MATCH 160.0   /* duplicate and induction matches */
#define G_SELF_CANCEL 175.0 /* duplicate head: taken off key i, which matches itself */
#define G_BOS 80.0      /* fallback onto key 0 */
#define G_RECENCY 1.0   /* per position */
#define G_SELF 30.0
#define G_TWO_BACK 30.0

typedef struct weights {
    float *wte, *wpe;
    float *attn_w[HS_PLANTED_LAYERS], *attn_b[HS_PLANTED_LAYERS]; /* c_attn: [D, 3D] Conv1D, [3D] */
    float *proj_w[HS_PLANTED_LAYERS], *proj_b[HS_PLANTED_LAYERS]; /* c_proj: [D, D], [D] */
} weights;

/* 1/sigma of LayerNorm for a residual vector of n ones and D_MODEL - n zeros. */
static double inv_sigma(int n_ones)
{
    double mu = (double)n_ones / D_MODEL;
    return 1.0 / sqrt((double)n_ones / D_MODEL - mu * mu + LN_EPS);
}

/* Which of Q (0), K (1), V (2) and which head: the Conv1D column of head dim e. */
static size_t qkv_col(int which, int head, int e)
{
    return (size_t)which * D_MODEL + (size_t)head * D_HEAD + (size_t)e;
}

static void set_qkv(weights *w, int layer, int which, int head, int resid_dim, int e, double v)
{
    w->attn_w[layer][(size_t)resid_dim * 3 * D_MODEL + qkv_col(which, head, e)] = (float)v;
}

/* Query and key both read one-hot dims (query dim qd[e] and key dim kd[e] into head dim e) with the
 * weight that makes a match worth `logit` at LayerNorm scale s. */
static double pair_weight(double logit, double s)
{
    return sqrt(logit * sqrt((double)D_HEAD)) / s;
}

/* A constant query channel (bias 1 at head dim e) against a key weight: worth `logit` per unit of
 * the key's one-hot value at scale s. */
static double bias_key_weight(double logit, double s)
{
    return logit * sqrt((double)D_HEAD) / s;
}

/* Key 0 gets `logit` more than any other key, through head dim C_BOS. */
static void plant_bos_fallback(weights *w, int layer, int head, double logit, double s)
{
    w->attn_b[layer][qkv_col(0, head, C_BOS)] = 1.0f;
    set_qkv(w, layer, 1, head, POS + 0, C_BOS, bias_key_weight(logit, s));
}

/* Key j gets `logit` * j more: a recency preference, through head dim C_REC. */
static void plant_recency(weights *w, int layer, int head, double logit, double s)
{
    w->attn_b[layer][qkv_col(0, head, C_REC)] = 1.0f;
    for (int p = 0; p < N_CTX; p++)
        set_qkv(w, layer, 1, head, POS + p, C_REC, p * bias_key_weight(logit, s));
}

/* Query i attends key i - back (back = 0: itself). */
static void plant_offset_head(weights *w, int layer, int head, int back, double logit, double s)
{
    double a = pair_weight(logit, s);
    for (int p = back; p < N_CTX; p++)
        set_qkv(w, layer, 0, head, POS + p, p - back, a);
    for (int p = 0; p < N_CTX; p++)
        set_qkv(w, layer, 1, head, POS + p, p, a);
}

static void plant(weights *w)
{
    double s0 = inv_sigma(2), s1 = inv_sigma(3); /* layer 0: token + position; layer 1: + previous token */
    double mu0 = 2.0 / D_MODEL;
    for (int t = 0; t < V; t++)
        w->wte[(size_t)t * D_MODEL + TOK + t] = 1.0f;
    for (int p = 0; p < N_CTX; p++)
        w->wpe[(size_t)p * D_MODEL + POS + p] = 1.0f;

    /* L0H0 previous token; its value is the token, written to PREV exactly one-hot: V·O = sigma0,
     * and the output bias adds back the LayerNorm shift mu0 (rows sum to 1) */
    plant_offset_head(w, 0, 0, 1, G_PREV, s0);
    for (int t = 0; t < V; t++) {
        set_qkv(w, 0, 2, 0, TOK + t, t, 1.0);
        w->proj_w[0][(size_t)(0 * D_HEAD + t) * D_MODEL + PREV + t] = (float)(1.0 / s0);
        w->proj_b[0][PREV + t] = (float)mu0;
    }
    /* L0H1 first token */
    plant_bos_fallback(w, 0, 1, G_FIRST, s0);
    /* L0H2 duplicate token: token match, minus itself, fallback on key 0, recency */
    double m0 = pair_weight(G_MATCH, s0), c0 = pair_weight(G_SELF_CANCEL, s0);
    for (int t = 0; t < V; t++) {
        set_qkv(w, 0, 0, 2, TOK + t, t, m0);
        set_qkv(w, 0, 1, 2, TOK + t, t, m0);
    }
    for (int p = 0; p < N_CTX; p++) {
        set_qkv(w, 0, 0, 2, POS + p, V + p, -c0);
        set_qkv(w, 0, 1, 2, POS + p, V + p, c0);
    }
    plant_bos_fallback(w, 0, 2, G_BOS, s0);
    plant_recency(w, 0, 2, G_RECENCY, s0);
    /* L0H3 uniform: nothing */

    /* L1H0 induction: the query's token against the key's previous token (K-composition with L0H0) */
    double m1 = pair_weight(G_MATCH, s1);
    for (int t = 0; t < V; t++) {
        set_qkv(w, 1, 0, 0, TOK + t, t, m1);
        set_qkv(w, 1, 1, 0, PREV + t, t, m1);
    }
    plant_bos_fallback(w, 1, 0, G_BOS, s1);
    plant_recency(w, 1, 0, G_RECENCY, s1);
    /* L1H1 current token, L1H2 uniform, L1H3 two back */
    plant_offset_head(w, 1, 1, 0, G_SELF, s1);
    plant_offset_head(w, 1, 3, 2, G_TWO_BACK, s1);
}

static hs_status write_json(const char *path, json_t *root, hs_error *err)
{
    if (!root)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    int r = json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    return r == 0 ? HS_OK : hs_fail(err, HS_ERR_IO, "%s: cannot write", path);
}

static json_t *byte_level(void)
{
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
                     "use_regex", 1);
}

/* Byte-level BPE over "a".."z", "0".."4" (printable bytes map to themselves) and <|endoftext|>. */
hs_status hs_planted_tokenizer_write(const char *dir, hs_error *err)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz01234";
    _Static_assert(sizeof chars - 1 == HS_PLANTED_VOCAB - 1, "one character per id below BOS");
    json_t *vocab = json_object();
    for (int i = 0; chars[i]; i++) {
        char piece[2] = {chars[i], '\0'};
        json_object_set_new(vocab, piece, json_integer(i));
    }
    json_object_set_new(vocab, "<|endoftext|>", json_integer(HS_PLANTED_BOS));
    json_t *model = json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:o, s:[]}", "type", "BPE", "dropout", "unk_token",
                              "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0,
                              "vocab", vocab, "merges");
    json_t *root = json_pack("{s:s, s:n, s:n, s:[{s:i, s:s, s:b, s:b, s:b, s:b, s:b}], s:n, s:o, s:o, s:o, s:o}",
                             "version", "1.0", "truncation", "padding", "added_tokens", "id", HS_PLANTED_BOS, "content",
                             "<|endoftext|>", "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 1, "special", 1,
                             "normalizer", "pre_tokenizer", byte_level(), "post_processor", byte_level(), "decoder",
                             byte_level(), "model", model);
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    return write_json(path, root, err);
}

hs_status hs_planted_config_write(const char *dir, hs_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *cfg = json_pack("{s:s, s:[s], s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f, s:i, s:i, s:b}", "model_type",
                            "gpt2", "architectures", "GPT2LMHeadModel", "n_embd", D_MODEL, "n_layer", HS_PLANTED_LAYERS,
                            "n_head", HS_PLANTED_HEADS, "n_positions", N_CTX, "vocab_size", V, "n_inner", D_MLP,
                            "activation_function", "gelu_new", "layer_norm_epsilon", LN_EPS, "bos_token_id",
                            HS_PLANTED_BOS, "eos_token_id", HS_PLANTED_BOS, "tie_word_embeddings", 1);
    return write_json(path, cfg, err);
}

hs_status hs_planted_model_write(const char *dir, hs_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return hs_fail(err, HS_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    HS_TRY(hs_planted_config_write(dir, err));
    HS_TRY(hs_planted_tokenizer_write(dir, err));

    hs_gpt2_weights t;
    HS_TRY(hs_gpt2_weights_new(&t, HS_PLANTED_LAYERS, D_MODEL, D_MLP, N_CTX, V, err));
    weights w = {0};
    w.wte = hs_gpt2_weights_get(&t, "wte.weight");
    w.wpe = hs_gpt2_weights_get(&t, "wpe.weight");
    for (int l = 0; l < HS_PLANTED_LAYERS; l++) {
        w.attn_w[l] = hs_gpt2_weights_get(&t, "h.%d.attn.c_attn.weight", l);
        w.attn_b[l] = hs_gpt2_weights_get(&t, "h.%d.attn.c_attn.bias", l);
        w.proj_w[l] = hs_gpt2_weights_get(&t, "h.%d.attn.c_proj.weight", l);
        w.proj_b[l] = hs_gpt2_weights_get(&t, "h.%d.attn.c_proj.bias", l);
    }
    plant(&w);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    hs_status rc = hs_gpt2_weights_write(&t, path, err);
    hs_gpt2_weights_free(&t);
    return rc;
}
