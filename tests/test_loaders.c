/* test_loaders.c — Hugging Face checkpoints of each architecture, written here with random weights,
 * open through hs_model_open with the right config and every weight in the canonical layout of
 * model/model.h (Conv1D transposed, NeoX's fused QKV de-interleaved); broken configs and checkpoints
 * are refused with messages that name the file and the field or tensor. */
#include "tests/test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/dtype.h"
#include "model/model.h"
#include "model/safetensors.h"

/* ---- a checkpoint under construction: named float tensors of one or two dims */

#define CK_MAX 128

typedef struct ckpt {
    int n;
    char name[CK_MAX][96];
    int ndim[CK_MAX];
    int64_t shape[CK_MAX][2];
    float *data[CK_MAX];
    uint32_t seed;
} ckpt;

static float ck_rand(ckpt *c)
{
    c->seed = c->seed * 1664525u + 1013904223u;
    return (float)(c->seed >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
}

static int ck_find(const ckpt *c, const char *name)
{
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->name[i], name) == 0)
            return i;
    return -1;
}

/* Adds (or replaces) tensor `name` of shape [d0] (d1 == 0) or [d0, d1] with random values. */
static float *ck_add(ckpt *c, const char *name, int64_t d0, int64_t d1)
{
    int i = ck_find(c, name);
    if (i < 0) {
        if (c->n == CK_MAX)
            return NULL;
        i = c->n++;
        snprintf(c->name[i], sizeof c->name[i], "%s", name);
    } else {
        free(c->data[i]);
    }
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    c->ndim[i] = d1 ? 2 : 1;
    c->shape[i][0] = d0;
    c->shape[i][1] = d1;
    c->data[i] = malloc(n * sizeof(float));
    for (size_t k = 0; k < n; k++)
        c->data[i][k] = ck_rand(c);
    return c->data[i];
}

static const float *ck_get(const ckpt *c, const char *name)
{
    int i = ck_find(c, name);
    return i < 0 ? NULL : c->data[i];
}

static void ck_drop(ckpt *c, const char *name)
{
    int i = ck_find(c, name);
    if (i < 0)
        return;
    free(c->data[i]);
    c->n--;
    memmove(c->name[i], c->name[i + 1], (size_t)(c->n - i) * sizeof c->name[0]);
    memmove(&c->ndim[i], &c->ndim[i + 1], (size_t)(c->n - i) * sizeof c->ndim[0]);
    memmove(c->shape[i], c->shape[i + 1], (size_t)(c->n - i) * sizeof c->shape[0]);
    memmove(&c->data[i], &c->data[i + 1], (size_t)(c->n - i) * sizeof c->data[0]);
}

static int64_t ck_numel(const ckpt *c)
{
    int64_t n = 0;
    for (int i = 0; i < c->n; i++)
        n += c->shape[i][0] * (c->ndim[i] == 2 ? c->shape[i][1] : 1);
    return n;
}

static void ck_free(ckpt *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->data[i]);
    c->n = 0;
}

/* Writes DIR/model.safetensors in dtype dt (F32, F16 or BF16). For 16-bit dtypes the kept values
 * are rounded the same way first, so that loaded weights compare exactly. */
static int ck_write(ckpt *c, const char *dir, hs_dtype dt)
{
    hs_st_write_entry *e = calloc((size_t)c->n, sizeof *e);
    uint16_t **half = calloc((size_t)c->n, sizeof *half);
    for (int i = 0; i < c->n; i++) {
        e[i].name = c->name[i];
        e[i].dtype = dt;
        e[i].ndim = c->ndim[i];
        e[i].shape[0] = c->shape[i][0];
        e[i].shape[1] = c->shape[i][1];
        e[i].data = c->data[i];
        if (dt != HS_DTYPE_F32) {
            size_t n = (size_t)(c->shape[i][0] * (c->ndim[i] == 2 ? c->shape[i][1] : 1));
            half[i] = malloc(n * 2);
            for (size_t k = 0; k < n; k++) {
                half[i][k] = dt == HS_DTYPE_BF16 ? hs_f32_to_bf16(c->data[i][k]) : hs_f32_to_f16(c->data[i][k]);
                c->data[i][k] = dt == HS_DTYPE_BF16 ? hs_bf16_to_f32(half[i][k]) : hs_f16_to_f32(half[i][k]);
            }
            e[i].data = half[i];
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    hs_error err = {0};
    hs_status rc = hs_st_write(path, e, c->n, &err);
    if (rc != HS_OK)
        fprintf(stderr, "ck_write: %s\n", err.msg);
    for (int i = 0; i < c->n; i++)
        free(half[i]);
    free(half);
    free(e);
    return rc == HS_OK ? 0 : -1;
}

static int write_config(const char *dir, const char *json)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(json, f);
    return fclose(f);
}

static int same(const float *a, const float *b, size_t n)
{
    return a && b && memcmp(a, b, n * sizeof *a) == 0;
}

/* ---- the three architectures' checkpoints, named as transformers saves them */

static void build_gpt2(ckpt *c, const char *pre, int L, int64_t D, int64_t F, int64_t V, int64_t T)
{
    char n[96];
#define ADD(d0, d1, ...) (snprintf(n, sizeof n, __VA_ARGS__), ck_add(c, n, d0, d1))
    ADD(V, D, "%swte.weight", pre);
    ADD(T, D, "%swpe.weight", pre);
    for (int l = 0; l < L; l++) {
        ADD(D, 0, "%sh.%d.ln_1.weight", pre, l);
        ADD(D, 0, "%sh.%d.ln_1.bias", pre, l);
        ADD(D, 3 * D, "%sh.%d.attn.c_attn.weight", pre, l);
        ADD(3 * D, 0, "%sh.%d.attn.c_attn.bias", pre, l);
        ADD(D, D, "%sh.%d.attn.c_proj.weight", pre, l);
        ADD(D, 0, "%sh.%d.attn.c_proj.bias", pre, l);
        ADD(D, 0, "%sh.%d.ln_2.weight", pre, l);
        ADD(D, 0, "%sh.%d.ln_2.bias", pre, l);
        ADD(D, F, "%sh.%d.mlp.c_fc.weight", pre, l);
        ADD(F, 0, "%sh.%d.mlp.c_fc.bias", pre, l);
        ADD(F, D, "%sh.%d.mlp.c_proj.weight", pre, l);
        ADD(D, 0, "%sh.%d.mlp.c_proj.bias", pre, l);
    }
    ADD(D, 0, "%sln_f.weight", pre);
    ADD(D, 0, "%sln_f.bias", pre);
}

static void build_llama(ckpt *c, int L, int64_t D, int64_t H, int64_t KV, int64_t DH, int64_t F, int64_t V,
                        int qkv_bias, int o_bias, int tied)
{
    char n[96];
    ADD(V, D, "model.embed_tokens.weight");
    for (int l = 0; l < L; l++) {
        ADD(D, 0, "model.layers.%d.input_layernorm.weight", l);
        ADD(H * DH, D, "model.layers.%d.self_attn.q_proj.weight", l);
        ADD(KV * DH, D, "model.layers.%d.self_attn.k_proj.weight", l);
        ADD(KV * DH, D, "model.layers.%d.self_attn.v_proj.weight", l);
        ADD(D, H * DH, "model.layers.%d.self_attn.o_proj.weight", l);
        if (qkv_bias) {
            ADD(H * DH, 0, "model.layers.%d.self_attn.q_proj.bias", l);
            ADD(KV * DH, 0, "model.layers.%d.self_attn.k_proj.bias", l);
            ADD(KV * DH, 0, "model.layers.%d.self_attn.v_proj.bias", l);
        }
        if (o_bias)
            ADD(D, 0, "model.layers.%d.self_attn.o_proj.bias", l);
        ADD(D, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        ADD(F, D, "model.layers.%d.mlp.gate_proj.weight", l);
        ADD(F, D, "model.layers.%d.mlp.up_proj.weight", l);
        ADD(D, F, "model.layers.%d.mlp.down_proj.weight", l);
    }
    ADD(D, 0, "model.norm.weight");
    if (!tied)
        ADD(V, D, "lm_head.weight");
}

static void build_neox(ckpt *c, int L, int64_t D, int64_t F, int64_t V, int tied)
{
    char n[96];
    ADD(V, D, "gpt_neox.embed_in.weight");
    for (int l = 0; l < L; l++) {
        ADD(D, 0, "gpt_neox.layers.%d.input_layernorm.weight", l);
        ADD(D, 0, "gpt_neox.layers.%d.input_layernorm.bias", l);
        ADD(3 * D, D, "gpt_neox.layers.%d.attention.query_key_value.weight", l);
        ADD(3 * D, 0, "gpt_neox.layers.%d.attention.query_key_value.bias", l);
        ADD(D, D, "gpt_neox.layers.%d.attention.dense.weight", l);
        ADD(D, 0, "gpt_neox.layers.%d.attention.dense.bias", l);
        ADD(D, 0, "gpt_neox.layers.%d.post_attention_layernorm.weight", l);
        ADD(D, 0, "gpt_neox.layers.%d.post_attention_layernorm.bias", l);
        ADD(F, D, "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight", l);
        ADD(F, 0, "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias", l);
        ADD(D, F, "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight", l);
        ADD(D, 0, "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias", l);
    }
    ADD(D, 0, "gpt_neox.final_layer_norm.weight");
    ADD(D, 0, "gpt_neox.final_layer_norm.bias");
    if (!tied)
        ADD(V, D, "embed_out.weight");
#undef ADD
}

/* ---- checks of the canonical layout */

/* Conv1D weight src [n_in, n_cols], columns [col, col + n_out) == Linear weight w [n_out, n_in]. */
static int is_conv1d_slice(const float *w, const float *src, int64_t n_in, int64_t n_cols, int64_t col,
                           int64_t n_out)
{
    if (!w || !src)
        return 0;
    for (int64_t i = 0; i < n_in; i++)
        for (int64_t o = 0; o < n_out; o++)
            if (w[o * n_in + i] != src[i * n_cols + col + o])
                return 0;
    return 1;
}

static int check_gpt2_layout(const hs_model *m, const ckpt *c, const char *pre)
{
    const hs_config *cf = &m->cfg;
    const int64_t D = cf->d_model, F = cf->d_mlp;
    char n[96];
#define T(...) (snprintf(n, sizeof n, __VA_ARGS__), ck_get(c, n))
    CHECK(same(m->W_E, T("%swte.weight", pre), (size_t)(cf->d_vocab * D)));
    CHECK(same(m->W_pos, T("%swpe.weight", pre), (size_t)(cf->n_ctx * D)));
    for (int l = 0; l < cf->n_layers; l++) {
        const hs_layer_weights *w = &m->layers[l];
        CHECK(same(w->ln1_w, T("%sh.%d.ln_1.weight", pre, l), (size_t)D));
        CHECK(same(w->ln1_b, T("%sh.%d.ln_1.bias", pre, l), (size_t)D));
        const float *qkv = T("%sh.%d.attn.c_attn.weight", pre, l);
        CHECK(is_conv1d_slice(w->W_Q, qkv, D, 3 * D, 0, D));
        CHECK(is_conv1d_slice(w->W_K, qkv, D, 3 * D, D, D));
        CHECK(is_conv1d_slice(w->W_V, qkv, D, 3 * D, 2 * D, D));
        const float *b = T("%sh.%d.attn.c_attn.bias", pre, l);
        CHECK(same(w->b_Q, b, (size_t)D) && same(w->b_K, b + D, (size_t)D) && same(w->b_V, b + 2 * D, (size_t)D));
        CHECK(is_conv1d_slice(w->W_O, T("%sh.%d.attn.c_proj.weight", pre, l), D, D, 0, D));
        CHECK(same(w->b_O, T("%sh.%d.attn.c_proj.bias", pre, l), (size_t)D));
        CHECK(same(w->ln2_w, T("%sh.%d.ln_2.weight", pre, l), (size_t)D));
        CHECK(same(w->ln2_b, T("%sh.%d.ln_2.bias", pre, l), (size_t)D));
        CHECK(w->W_gate == NULL);
        CHECK(is_conv1d_slice(w->W_in, T("%sh.%d.mlp.c_fc.weight", pre, l), D, F, 0, F));
        CHECK(same(w->b_in, T("%sh.%d.mlp.c_fc.bias", pre, l), (size_t)F));
        CHECK(is_conv1d_slice(w->W_out, T("%sh.%d.mlp.c_proj.weight", pre, l), F, D, 0, D));
        CHECK(same(w->b_out, T("%sh.%d.mlp.c_proj.bias", pre, l), (size_t)D));
    }
    CHECK(same(m->ln_f_w, T("%sln_f.weight", pre), (size_t)D));
    CHECK(same(m->ln_f_b, T("%sln_f.bias", pre), (size_t)D));
    CHECK(m->b_U == NULL);
    return TEST_PASS;
}

static hs_status open_model(const char *dir, hs_model **m, hs_error *err)
{
    *m = NULL;
    err->msg[0] = '\0';
    return hs_model_open(dir, NULL, m, err);
}

int test_loaders_gpt2(void)
{
    const int L = 2;
    const int64_t D = 16, V = 50, T = 32;
    hs_error err = {0};
    hs_model *m = NULL;
    hs_model_info info;

    /* GPT2LMHeadModel naming, tied head, n_inner null, eos as a list */
    const char *dir = test_tmpdir();
    ckpt c = {.seed = 1};
    build_gpt2(&c, "transformer.", L, D, 4 * D, V, T);
    CHECK(ck_write(&c, dir, HS_DTYPE_F32) == 0);
    CHECK(write_config(dir, "{\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_layer\": 2, \"n_head\": 2,"
                            " \"n_positions\": 32, \"n_inner\": null, \"vocab_size\": 50,"
                            " \"layer_norm_epsilon\": 1e-05, \"activation_function\": \"gelu_new\","
                            " \"bos_token_id\": 0, \"eos_token_id\": [1, 2], \"dtype\": \"float32\","
                            " \"tie_word_embeddings\": true, \"scale_attn_weights\": true}") == 0);
    CHECK_OK(open_model(dir, &m, &err), &err);
    hs_model_get_info(m, &info);
    CHECK(strcmp(info.architecture, "gpt2") == 0 && strcmp(info.dtype, "F32") == 0);
    CHECK(strcmp(info.path, dir) == 0);
    CHECK(info.n_layers == 2 && info.n_heads == 2 && info.n_kv_heads == 2 && info.d_model == 16);
    CHECK(info.d_head == 8 && info.d_mlp == 64 && info.d_vocab == 50 && info.n_ctx == 32);
    CHECK_MSG(info.n_params == ck_numel(&c), "n_params %lld, expected %lld", (long long)info.n_params,
              (long long)ck_numel(&c));
    const hs_config *cf = &m->cfg;
    CHECK(cf->norm == HS_NORM_LAYERNORM && cf->act == HS_ACT_GELU_TANH && cf->learned_pos == 1);
    CHECK(cf->rotary_dim == 0 && cf->gated_mlp == 0 && cf->parallel_residual == 0);
    CHECK(cf->tied_embeddings == 1 && m->W_U == m->W_E);
    CHECK(cf->bos_id == 0 && cf->eos_id == 1 && cf->add_bos == 0);
    CHECK_NEAR(cf->norm_eps, 1e-5, 1e-12);
    CHECK(check_gpt2_layout(m, &c, "transformer.") == TEST_PASS);
    hs_model_close(m);
    ck_free(&c);

    /* GPT2Model naming (no prefix), separate head, explicit n_inner, exact GELU, F16 weights */
    dir = test_tmpdir();
    c.seed = 2;
    build_gpt2(&c, "", L, D, 24, V, T);
    ck_add(&c, "lm_head.weight", V, D);
    CHECK(ck_write(&c, dir, HS_DTYPE_F16) == 0);
    CHECK(write_config(dir, "{\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_layer\": 2, \"n_head\": 2,"
                            " \"n_ctx\": 32, \"n_inner\": 24, \"vocab_size\": 50, \"activation_function\": \"gelu\","
                            " \"tie_word_embeddings\": false}") == 0);
    CHECK_OK(open_model(dir, &m, &err), &err);
    hs_model_get_info(m, &info);
    CHECK(strcmp(info.dtype, "F16") == 0 && info.d_mlp == 24 && info.n_ctx == 32);
    CHECK(info.n_params == ck_numel(&c));
    CHECK(m->cfg.act == HS_ACT_GELU_ERF && m->cfg.tied_embeddings == 0 && m->cfg.bos_id == -1);
    CHECK(same(m->W_U, ck_get(&c, "lm_head.weight"), (size_t)(V * D)) && m->W_U != m->W_E);
    CHECK(check_gpt2_layout(m, &c, "") == TEST_PASS);
    hs_model_close(m);
    ck_free(&c);
    return TEST_PASS;
}

static int check_llama_layout(const hs_model *m, const ckpt *c)
{
    const hs_config *cf = &m->cfg;
    const size_t D = (size_t)cf->d_model, F = (size_t)cf->d_mlp;
    const size_t Q = (size_t)(cf->n_heads * cf->d_head), KV = (size_t)(cf->n_kv_heads * cf->d_head);
    char n[96];
    CHECK(same(m->W_E, ck_get(c, "model.embed_tokens.weight"), (size_t)cf->d_vocab * D));
    CHECK(m->W_pos == NULL);
    for (int l = 0; l < cf->n_layers; l++) {
        const hs_layer_weights *w = &m->layers[l];
        CHECK(same(w->ln1_w, T("model.layers.%d.input_layernorm.weight", l), D) && w->ln1_b == NULL);
        CHECK(same(w->W_Q, T("model.layers.%d.self_attn.q_proj.weight", l), Q * D));
        CHECK(same(w->W_K, T("model.layers.%d.self_attn.k_proj.weight", l), KV * D));
        CHECK(same(w->W_V, T("model.layers.%d.self_attn.v_proj.weight", l), KV * D));
        CHECK(same(w->W_O, T("model.layers.%d.self_attn.o_proj.weight", l), D * Q));
        const float *bq = T("model.layers.%d.self_attn.q_proj.bias", l);
        CHECK(bq ? same(w->b_Q, bq, Q) : w->b_Q == NULL);
        const float *bk = T("model.layers.%d.self_attn.k_proj.bias", l);
        CHECK(bk ? same(w->b_K, bk, KV) : w->b_K == NULL);
        const float *bv = T("model.layers.%d.self_attn.v_proj.bias", l);
        CHECK(bv ? same(w->b_V, bv, KV) : w->b_V == NULL);
        const float *bo = T("model.layers.%d.self_attn.o_proj.bias", l);
        CHECK(bo ? same(w->b_O, bo, D) : w->b_O == NULL);
        CHECK(same(w->ln2_w, T("model.layers.%d.post_attention_layernorm.weight", l), D) && w->ln2_b == NULL);
        CHECK(same(w->W_gate, T("model.layers.%d.mlp.gate_proj.weight", l), F * D));
        CHECK(same(w->W_in, T("model.layers.%d.mlp.up_proj.weight", l), F * D));
        CHECK(same(w->W_out, T("model.layers.%d.mlp.down_proj.weight", l), D * F));
        CHECK(w->b_in == NULL && w->b_out == NULL);
    }
    CHECK(same(m->ln_f_w, ck_get(c, "model.norm.weight"), D) && m->ln_f_b == NULL);
    if (cf->tied_embeddings)
        CHECK(m->W_U == m->W_E);
    else
        CHECK(same(m->W_U, ck_get(c, "lm_head.weight"), (size_t)cf->d_vocab * D));
    return TEST_PASS;
}

int test_loaders_llama(void)
{
    hs_error err = {0};
    hs_model *m = NULL;
    hs_model_info info;

    /* Llama with grouped K/V heads, BF16 weights, transformers 5 rope_parameters, untied */
    const char *dir = test_tmpdir();
    ckpt c = {.seed = 3};
    build_llama(&c, 2, 16, 4, 2, 4, 40, 50, 0, 0, 0);
    CHECK(ck_write(&c, dir, HS_DTYPE_BF16) == 0);
    CHECK(write_config(dir, "{\"model_type\": \"llama\", \"hidden_size\": 16, \"num_hidden_layers\": 2,"
                            " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 4,"
                            " \"intermediate_size\": 40, \"vocab_size\": 50, \"max_position_embeddings\": 64,"
                            " \"rms_norm_eps\": 1e-06, \"hidden_act\": \"silu\", \"attention_bias\": false,"
                            " \"mlp_bias\": false, \"rope_parameters\": {\"rope_theta\": 500000.0,"
                            " \"rope_type\": \"default\"}, \"tie_word_embeddings\": false, \"bos_token_id\": 1,"
                            " \"eos_token_id\": 2, \"torch_dtype\": \"bfloat16\"}") == 0);
    CHECK_OK(open_model(dir, &m, &err), &err);
    hs_model_get_info(m, &info);
    CHECK(strcmp(info.architecture, "llama") == 0 && strcmp(info.dtype, "BF16") == 0);
    CHECK(info.n_layers == 2 && info.n_heads == 4 && info.n_kv_heads == 2 && info.d_head == 4);
    CHECK(info.d_model == 16 && info.d_mlp == 40 && info.d_vocab == 50 && info.n_ctx == 64);
    CHECK(info.n_params == ck_numel(&c));
    const hs_config *cf = &m->cfg;
    CHECK(cf->norm == HS_NORM_RMSNORM && cf->act == HS_ACT_SILU && cf->gated_mlp == 1 && cf->learned_pos == 0);
    CHECK(cf->rotary_dim == 4 && cf->rope_theta == 500000.0f && cf->parallel_residual == 0);
    CHECK(cf->add_bos == 1 && cf->bos_id == 1 && cf->eos_id == 2 && cf->tied_embeddings == 0);
    CHECK_NEAR(cf->norm_eps, 1e-6, 1e-13);
    CHECK(check_llama_layout(m, &c) == TEST_PASS);
    hs_model_close(m);
    ck_free(&c);

    /* Qwen2: q/k/v biases, no o bias, tied, no BOS rule, legacy top-level rope_theta */
    dir = test_tmpdir();
    c.seed = 4;
    build_llama(&c, 1, 16, 2, 1, 8, 32, 50, 1, 0, 1);
    CHECK(ck_write(&c, dir, HS_DTYPE_F32) == 0);
    CHECK(write_config(dir, "{\"model_type\": \"qwen2\", \"hidden_size\": 16, \"num_hidden_layers\": 1,"
                            " \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"intermediate_size\": 32,"
                            " \"vocab_size\": 50, \"max_position_embeddings\": 128, \"rope_theta\": 1000000.0,"
                            " \"rope_scaling\": null, \"use_sliding_window\": false, \"sliding_window\": 8,"
                            " \"tie_word_embeddings\": true, \"bos_token_id\": null, \"eos_token_id\": 3}") == 0);
    CHECK_OK(open_model(dir, &m, &err), &err);
    hs_model_get_info(m, &info);
    CHECK(info.d_head == 8 && info.n_kv_heads == 1 && info.n_ctx == 128 && info.n_params == ck_numel(&c));
    CHECK(m->cfg.add_bos == 0 && m->cfg.bos_id == -1 && m->cfg.eos_id == 3 && m->cfg.rope_theta == 1e6f);
    CHECK(m->layers[0].b_Q && m->layers[0].b_K && m->layers[0].b_V && !m->layers[0].b_O);
    CHECK(check_llama_layout(m, &c) == TEST_PASS);
    hs_model_close(m);
    ck_free(&c);

    /* Mistral: head_dim apart from hidden/heads, sliding window caps the context */
    dir = test_tmpdir();
    c.seed = 5;
    build_llama(&c, 1, 16, 4, 2, 8, 32, 50, 0, 0, 0);
    CHECK(ck_write(&c, dir, HS_DTYPE_F16) == 0);
    CHECK(write_config(dir, "{\"model_type\": \"mistral\", \"hidden_size\": 16, \"num_hidden_layers\": 1,"
                            " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 8,"
                            " \"intermediate_size\": 32, \"vocab_size\": 50, \"max_position_embeddings\": 64,"
                            " \"sliding_window\": 16}") == 0);
    CHECK_OK(open_model(dir, &m, &err), &err);
    hs_model_get_info(m, &info);
    CHECK(info.d_head == 8 && info.n_ctx == 16 && strcmp(info.dtype, "F16") == 0 && m->cfg.add_bos == 1);
    CHECK(m->cfg.rope_theta == 10000.0f && m->cfg.rotary_dim == 8);
    CHECK(check_llama_layout(m, &c) == TEST_PASS);
    hs_model_close(m);
    ck_free(&c);
    return TEST_PASS;
}

static int check_neox_layout(const hs_model *m, const ckpt *c)
{
    const hs_config *cf = &m->cfg;
    const int64_t D = cf->d_model, F = cf->d_mlp, H = cf->n_heads, DH = cf->d_head;
    char n[96];
    CHECK(same(m->W_E, ck_get(c, "gpt_neox.embed_in.weight"), (size_t)(cf->d_vocab * D)));
    for (int l = 0; l < cf->n_layers; l++) {
        const hs_layer_weights *w = &m->layers[l];
        CHECK(same(w->ln1_w, T("gpt_neox.layers.%d.input_layernorm.weight", l), (size_t)D));
        CHECK(same(w->ln1_b, T("gpt_neox.layers.%d.input_layernorm.bias", l), (size_t)D));
        /* fused output row h*3*DH + j*DH + i is part j of head h, dim i */
        const float *qkv = T("gpt_neox.layers.%d.attention.query_key_value.weight", l);
        const float *b = T("gpt_neox.layers.%d.attention.query_key_value.bias", l);
        float *parts[3] = {w->W_Q, w->W_K, w->W_V}, *bparts[3] = {w->b_Q, w->b_K, w->b_V};
        for (int j = 0; j < 3; j++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < DH; i++) {
                    CHECK(same(parts[j] + (h * DH + i) * D, qkv + (h * 3 * DH + j * DH + i) * D, (size_t)D));
                    CHECK(bparts[j][h * DH + i] == b[h * 3 * DH + j * DH + i]);
                }
        CHECK(same(w->W_O, T("gpt_neox.layers.%d.attention.dense.weight", l), (size_t)(D * D)));
        CHECK(same(w->b_O, T("gpt_neox.layers.%d.attention.dense.bias", l), (size_t)D));
        CHECK(same(w->ln2_w, T("gpt_neox.layers.%d.post_attention_layernorm.weight", l), (size_t)D));
        CHECK(same(w->ln2_b, T("gpt_neox.layers.%d.post_attention_layernorm.bias", l), (size_t)D));
        CHECK(same(w->W_in, T("gpt_neox.layers.%d.mlp.dense_h_to_4h.weight", l), (size_t)(F * D)));
        CHECK(same(w->b_in, T("gpt_neox.layers.%d.mlp.dense_h_to_4h.bias", l), (size_t)F));
        CHECK(same(w->W_out, T("gpt_neox.layers.%d.mlp.dense_4h_to_h.weight", l), (size_t)(D * F)));
        CHECK(same(w->b_out, T("gpt_neox.layers.%d.mlp.dense_4h_to_h.bias", l), (size_t)D));
        CHECK(w->W_gate == NULL);
    }
#undef T
    CHECK(same(m->ln_f_w, ck_get(c, "gpt_neox.final_layer_norm.weight"), (size_t)D));
    CHECK(same(m->ln_f_b, ck_get(c, "gpt_neox.final_layer_norm.bias"), (size_t)D));
    if (cf->tied_embeddings)
        CHECK(m->W_U == m->W_E);
    else
        CHECK(same(m->W_U, ck_get(c, "embed_out.weight"), (size_t)(cf->d_vocab * D)));
    return TEST_PASS;
}

int test_loaders_neox(void)
{
    hs_error err = {0};
    hs_model *m = NULL;
    hs_model_info info;

    /* as transformers 5 writes it: rope_parameters with partial_rotary_factor */
    const char *dir = test_tmpdir();
    ckpt c = {.seed = 6};
    build_neox(&c, 2, 32, 64, 50, 0);
    CHECK(ck_write(&c, dir, HS_DTYPE_F32) == 0);
    CHECK(write_config(dir, "{\"model_type\": \"gpt_neox\", \"hidden_size\": 32, \"num_hidden_layers\": 2,"
                            " \"num_attention_heads\": 2, \"intermediate_size\": 64, \"vocab_size\": 50,"
                            " \"max_position_embeddings\": 2048, \"layer_norm_eps\": 1e-05, \"hidden_act\": \"gelu\","
                            " \"rope_parameters\": {\"partial_rotary_factor\": 0.25, \"rope_theta\": 10000.0,"
                            " \"rope_type\": \"default\"}, \"use_parallel_residual\": true,"
                            " \"tie_word_embeddings\": false, \"attention_bias\": true, \"bos_token_id\": 0,"
                            " \"eos_token_id\": 0}") == 0);
    CHECK_OK(open_model(dir, &m, &err), &err);
    hs_model_get_info(m, &info);
    CHECK(strcmp(info.architecture, "neox") == 0 && info.d_head == 16 && info.n_kv_heads == 2);
    CHECK(info.n_ctx == 2048 && info.d_mlp == 64 && info.n_params == ck_numel(&c));
    const hs_config *cf = &m->cfg;
    CHECK(cf->rotary_dim == 4 && cf->rope_theta == 10000.0f && cf->parallel_residual == 1);
    CHECK(cf->norm == HS_NORM_LAYERNORM && cf->act == HS_ACT_GELU_ERF && cf->add_bos == 0 && cf->gated_mlp == 0);
    CHECK(check_neox_layout(m, &c) == TEST_PASS);
    hs_model_close(m);
    ck_free(&c);

    /* older configs: rotary_pct and rotary_emb_base at the top level; sequential residual; tied */
    dir = test_tmpdir();
    c.seed = 7;
    build_neox(&c, 1, 24, 48, 50, 1);
    CHECK(ck_write(&c, dir, HS_DTYPE_F32) == 0);
    CHECK(write_config(dir, "{\"model_type\": \"gpt_neox\", \"hidden_size\": 24, \"num_hidden_layers\": 1,"
                            " \"num_attention_heads\": 2, \"intermediate_size\": 48, \"vocab_size\": 50,"
                            " \"max_position_embeddings\": 64, \"rotary_pct\": 0.5, \"rotary_emb_base\": 20000,"
                            " \"use_parallel_residual\": false, \"tie_word_embeddings\": true,"
                            " \"hidden_act\": \"gelu_fast\"}") == 0);
    CHECK_OK(open_model(dir, &m, &err), &err);
    CHECK(m->cfg.d_head == 12 && m->cfg.rotary_dim == 6 && m->cfg.rope_theta == 20000.0f);
    CHECK(m->cfg.parallel_residual == 0 && m->cfg.act == HS_ACT_GELU_TANH && m->cfg.tied_embeddings == 1);
    hs_model_get_info(m, &info);
    CHECK(info.n_params == ck_numel(&c));
    CHECK(check_neox_layout(m, &c) == TEST_PASS);
    hs_model_close(m);
    ck_free(&c);
    return TEST_PASS;
}

#define GPT2_OK "\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_layer\": 1, \"n_head\": 2, \"n_positions\": 8, " \
                "\"vocab_size\": 20"
#define LLAMA_OK "\"model_type\": \"llama\", \"hidden_size\": 16, \"num_hidden_layers\": 1, " \
                 "\"num_attention_heads\": 2, \"intermediate_size\": 32, \"vocab_size\": 20, " \
                 "\"max_position_embeddings\": 8"
#define NEOX_OK "\"model_type\": \"gpt_neox\", \"hidden_size\": 16, \"num_hidden_layers\": 1, " \
                "\"num_attention_heads\": 2, \"intermediate_size\": 32, \"vocab_size\": 20, " \
                "\"max_position_embeddings\": 8"

int test_loaders_errors(void)
{
    /* Broken configs: each must fail with this status and a message naming config.json and `field`. */
    static const struct { const char *json; hs_status status; const char *field; } configs[] = {
        {"{\"model_type\": \"gpt2\", \"n_layer\": 1, \"n_head\": 2, \"n_positions\": 8, \"vocab_size\": 20}",
         HS_ERR_MISSING, "field \"n_embd\" is missing"},
        {"{" GPT2_OK ", \"n_embd\": \"16\"}", HS_ERR_FORMAT, "field \"n_embd\" is not an integer"},
        {"{\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_layer\": 1, \"n_head\": 2, \"vocab_size\": 20}",
         HS_ERR_MISSING, "field \"n_positions\" is missing"},
        {"{" GPT2_OK ", \"n_head\": 3}", HS_ERR_FORMAT, "\"n_head\" = 3 does not divide"},
        {"{" GPT2_OK ", \"n_layer\": -1}", HS_ERR_RANGE, "\"n_layer\" = -1"},
        {"{" GPT2_OK ", \"n_layer\": 4294967297}", HS_ERR_RANGE, "\"n_layer\""},
        {"{" GPT2_OK ", \"activation_function\": \"mish\"}", HS_ERR_UNSUPPORTED, "\"activation_function\""},
        {"{" GPT2_OK ", \"activation_function\": 1}", HS_ERR_FORMAT, "\"activation_function\" is not a string"},
        {"{" GPT2_OK ", \"layer_norm_epsilon\": \"1e-5\"}", HS_ERR_FORMAT, "\"layer_norm_epsilon\" is not a number"},
        {"{" GPT2_OK ", \"tie_word_embeddings\": 1}", HS_ERR_FORMAT, "\"tie_word_embeddings\" is not true or false"},
        {"{" GPT2_OK ", \"scale_attn_by_inverse_layer_idx\": true}", HS_ERR_UNSUPPORTED,
         "\"scale_attn_by_inverse_layer_idx\""},
        {"{" GPT2_OK ", \"eos_token_id\": \"x\"}", HS_ERR_FORMAT, "\"eos_token_id\""},
        {"{" GPT2_OK ", \"bos_token_id\": 3000000000}", HS_ERR_RANGE, "\"bos_token_id\""},
        {"{\"model_type\": \"bert\", \"hidden_size\": 16}", HS_ERR_UNSUPPORTED,
         "model_type \"bert\" is not supported (supported: gpt2, llama, mistral, qwen2, gpt_neox)"},
        {"{\"n_embd\": 16}", HS_ERR_MISSING, "field \"model_type\" is missing"},
        {"{\"model_type\": 2}", HS_ERR_FORMAT, "field \"model_type\" is not a string"},
        {"[\"gpt2\"]", HS_ERR_FORMAT, "not a JSON object"},
        {"{\"model_type\": \"gpt2\",", HS_ERR_FORMAT, "not valid JSON"},
        {"{" LLAMA_OK ", \"hidden_size\": 16.5}", HS_ERR_FORMAT, "field \"hidden_size\" is not an integer"},
        {"{" LLAMA_OK ", \"num_key_value_heads\": 3}", HS_ERR_FORMAT, "num_key_value_heads"},
        {"{" LLAMA_OK ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}}", HS_ERR_UNSUPPORTED,
         "field \"rope_scaling\": rope type \"linear\""},
        {"{" LLAMA_OK ", \"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0}}",
         HS_ERR_UNSUPPORTED, "field \"rope_parameters\": rope type \"llama3\""},
        {"{" LLAMA_OK ", \"rope_parameters\": [1]}", HS_ERR_FORMAT, "\"rope_parameters\" is not a JSON object"},
        {"{" LLAMA_OK ", \"rope_theta\": -5}", HS_ERR_RANGE, "\"rope_theta\""},
        {"{" LLAMA_OK ", \"mlp_bias\": true}", HS_ERR_UNSUPPORTED, "\"mlp_bias\""},
        {"{" LLAMA_OK ", \"hidden_act\": \"tanh\"}", HS_ERR_UNSUPPORTED, "\"hidden_act\""},
        {"{\"model_type\": \"mistral\", \"hidden_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
         " \"intermediate_size\": 32, \"vocab_size\": 20}", HS_ERR_MISSING, "\"max_position_embeddings\" is missing"},
        {"{" NEOX_OK ", \"rotary_pct\": 1.5}", HS_ERR_RANGE, "\"rotary_pct\""},
        {"{" NEOX_OK ", \"rope_parameters\": {\"partial_rotary_factor\": \"x\"}}", HS_ERR_FORMAT,
         "\"partial_rotary_factor\" is not a number"},
        {"{" NEOX_OK ", \"use_parallel_residual\": \"yes\"}", HS_ERR_FORMAT, "\"use_parallel_residual\""},
        {"{" NEOX_OK ", \"num_attention_heads\": 5}", HS_ERR_FORMAT, "\"num_attention_heads\" = 5"},
    };
    hs_error err = {0};
    hs_model *m = NULL;
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        const char *dir = test_tmpdir();
        CHECK(write_config(dir, configs[i].json) == 0);
        hs_status rc = open_model(dir, &m, &err);
        CHECK_MSG(rc == configs[i].status, "config %zu: got %s: %s", i, hs_status_name(rc), err.msg);
        CHECK(m == NULL);
        CHECK_MSG(strstr(err.msg, "config.json") && strstr(err.msg, dir) && strstr(err.msg, configs[i].field),
                  "config %zu: message '%s' lacks '%s'", i, err.msg, configs[i].field);
    }

    /* no config.json at all */
    const char *dir = test_tmpdir();
    CHECK(open_model(dir, &m, &err) != HS_OK && strstr(err.msg, "config.json"));

    /* Broken checkpoints under a good config: missing tensors, wrong shapes, missing file. */
    const char *cfg = "{" GPT2_OK "}";
    struct { const char *drop, *reshape; int64_t d0, d1; hs_status status; const char *want; } bad[] = {
        {"transformer.h.0.mlp.c_fc.bias", NULL, 0, 0, HS_ERR_MISSING, "tensor 'transformer.h.0.mlp.c_fc.bias' is missing"},
        {"transformer.wpe.weight", NULL, 0, 0, HS_ERR_MISSING, "'transformer.wpe.weight'"},
        {NULL, "transformer.h.0.attn.c_attn.weight", 16, 32, HS_ERR_SHAPE,
         "tensor 'transformer.h.0.attn.c_attn.weight': shape [16, 32] but the config implies [16, 48]"},
        {NULL, "transformer.wte.weight", 21, 16, HS_ERR_SHAPE, "shape [21, 16] but the config implies [20, 16]"},
        {NULL, "transformer.ln_f.bias", 16, 1, HS_ERR_SHAPE, "shape [16, 1] but the config implies [16]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dir = test_tmpdir();
        ckpt c = {.seed = 10 + (uint32_t)i};
        build_gpt2(&c, "transformer.", 1, 16, 64, 20, 8);
        if (bad[i].drop)
            ck_drop(&c, bad[i].drop);
        if (bad[i].reshape)
            ck_add(&c, bad[i].reshape, bad[i].d0, bad[i].d1);
        CHECK(ck_write(&c, dir, HS_DTYPE_F32) == 0);
        ck_free(&c);
        CHECK(write_config(dir, cfg) == 0);
        hs_status rc = open_model(dir, &m, &err);
        CHECK_MSG(rc == bad[i].status, "checkpoint %zu: got %s: %s", i, hs_status_name(rc), err.msg);
        CHECK(m == NULL);
        CHECK_MSG(strstr(err.msg, "model.safetensors") && strstr(err.msg, bad[i].want), "checkpoint %zu: '%s'", i,
                  err.msg);
    }

    /* an untied config whose checkpoint has no head */
    dir = test_tmpdir();
    ckpt c = {.seed = 20};
    build_llama(&c, 1, 16, 2, 2, 8, 32, 20, 0, 0, 1);
    CHECK(ck_write(&c, dir, HS_DTYPE_F32) == 0);
    ck_free(&c);
    CHECK(write_config(dir, "{" LLAMA_OK ", \"tie_word_embeddings\": false}") == 0);
    CHECK(open_model(dir, &m, &err) == HS_ERR_MISSING && strstr(err.msg, "'lm_head.weight'"));
    char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);

    /* a config without weights */
    remove(path);
    CHECK(open_model(dir, &m, &err) == HS_ERR_MISSING && strstr(err.msg, "model.safetensors"));
    return TEST_PASS;
}
