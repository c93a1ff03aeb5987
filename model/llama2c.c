/* llama2c.c — llama2.c checkpoint (.bin, version 0) loader: a 7 x int32 header, then float32
 * tensors, each stacked over layers, in a fixed order (see ../shared/models/README.md). */
#include "model/llama2c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/mapped_file.h"

/* Copies `rows` rows of a per-head interleaved-RoPE projection [n_heads*d_head, d_model] into the
 * rotate-half order: within each head, output row j < d_head/2 takes input row 2j and row
 * j + d_head/2 takes row 2j+1. Attention scores are unchanged because q and k move together. */
static void permute_rope_rows(float *dst, const float *src, int n_heads, int d_head, int d_model)
{
    int half = d_head / 2;
    for (int h = 0; h < n_heads; h++)
        for (int j = 0; j < half; j++) {
            const float *even = src + ((size_t)h * d_head + 2 * j) * d_model;
            const float *odd = even + d_model;
            memcpy(dst + ((size_t)h * d_head + j) * d_model, even, (size_t)d_model * sizeof(float));
            memcpy(dst + ((size_t)h * d_head + j + half) * d_model, odd, (size_t)d_model * sizeof(float));
        }
}

hs_status hs_llama2c_load(const char *path, hs_model *m, hs_error *err)
{
    hs_mapped_file mf;
    hs_status rc = hs_mapped_file_open(path, &mf, err);
    if (rc != HS_OK)
        return rc;
    if (mf.size < 7 * sizeof(int32_t)) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: file is %zu bytes, too short for a llama2.c header (28 bytes)", path,
                     mf.size);
        goto done;
    }
    int32_t h[7];
    memcpy(h, mf.data, sizeof h);
    static const char *const field[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size",
                                         "seq_len"};
    for (int i = 0; i < 7; i++)
        if (h[i] == 0 || (i != 5 && h[i] < 0) || h[i] > (1 << 24)) {
            rc = hs_fail(err, HS_ERR_FORMAT, "%s: header field %s = %d is out of range (is this a llama2.c .bin?)",
                         path, field[i], h[i]);
            goto done;
        }
    hs_config *c = &m->cfg;
    snprintf(c->arch, sizeof c->arch, "llama");
    c->d_model = h[0];
    c->d_mlp = h[1];
    c->n_layers = h[2];
    c->n_heads = h[3];
    c->n_kv_heads = h[4];
    c->tied_embeddings = h[5] > 0;
    c->d_vocab = h[5] > 0 ? h[5] : -h[5];
    c->n_ctx = h[6];
    if (c->d_model % c->n_heads != 0) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: dim %d is not a multiple of n_heads %d", path, c->d_model, c->n_heads);
        goto done;
    }
    c->d_head = c->d_model / c->n_heads;
    c->norm = HS_NORM_RMSNORM;
    c->norm_eps = 1e-5f;
    c->act = HS_ACT_SILU;
    c->gated_mlp = 1;
    c->rotary_dim = c->d_head;
    c->rope_theta = 10000.0f;
    c->bos_id = 1;
    c->eos_id = 2;
    c->add_bos = 1;
    c->stored_dtype = HS_DTYPE_F32;
    rc = hs_config_validate(c, path, err);
    if (rc != HS_OK)
        goto done;

    size_t L = (size_t)c->n_layers, d = (size_t)c->d_model, f = (size_t)c->d_mlp, V = (size_t)c->d_vocab;
    size_t kv = (size_t)c->n_kv_heads * c->d_head, rope = (size_t)c->n_ctx * (c->d_head / 2);
    size_t n_floats = V * d + L * d + L * d * d + 2 * L * kv * d + L * d * d + L * d + 3 * L * f * d + d + 2 * rope +
                      (c->tied_embeddings ? 0 : V * d);
    size_t expect = 28 + 4 * n_floats;
    if (mf.size != expect) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: file is %zu bytes but its header (dim %d, layers %d, heads %d/%d, vocab %d, "
                     "seq_len %d) implies %zu", path, mf.size, c->d_model, c->n_layers, c->n_heads, c->n_kv_heads,
                     h[5], c->n_ctx, expect);
        goto done;
    }
    m->layers = calloc(L, sizeof *m->layers);
    if (!m->layers) {
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    const float *p = (const float *)(mf.data + 28); /* 28 is a multiple of 4 and mmap is page aligned */
#define TAKE(dst, n)                                                              \
    do {                                                                          \
        if (!((dst) = hs_model_alloc(m, (n)))) {                                  \
            rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);           \
            goto done;                                                            \
        }                                                                         \
    } while (0)
    TAKE(m->W_E, V * d);
    memcpy(m->W_E, p, V * d * 4);
    p += V * d;
    for (size_t l = 0; l < L; l++, p += d) {
        TAKE(m->layers[l].ln1_w, d);
        memcpy(m->layers[l].ln1_w, p, d * 4);
    }
    for (size_t l = 0; l < L; l++, p += d * d) {
        TAKE(m->layers[l].W_Q, d * d);
        permute_rope_rows(m->layers[l].W_Q, p, c->n_heads, c->d_head, c->d_model);
    }
    for (size_t l = 0; l < L; l++, p += kv * d) {
        TAKE(m->layers[l].W_K, kv * d);
        permute_rope_rows(m->layers[l].W_K, p, c->n_kv_heads, c->d_head, c->d_model);
    }
    for (size_t l = 0; l < L; l++, p += kv * d) {
        TAKE(m->layers[l].W_V, kv * d);
        memcpy(m->layers[l].W_V, p, kv * d * 4);
    }
    for (size_t l = 0; l < L; l++, p += d * d) {
        TAKE(m->layers[l].W_O, d * d);
        memcpy(m->layers[l].W_O, p, d * d * 4);
    }
    for (size_t l = 0; l < L; l++, p += d) {
        TAKE(m->layers[l].ln2_w, d);
        memcpy(m->layers[l].ln2_w, p, d * 4);
    }
    for (size_t l = 0; l < L; l++, p += f * d) { /* w1: the gate */
        TAKE(m->layers[l].W_gate, f * d);
        memcpy(m->layers[l].W_gate, p, f * d * 4);
    }
    for (size_t l = 0; l < L; l++, p += d * f) { /* w2: down */
        TAKE(m->layers[l].W_out, d * f);
        memcpy(m->layers[l].W_out, p, d * f * 4);
    }
    for (size_t l = 0; l < L; l++, p += f * d) { /* w3: up */
        TAKE(m->layers[l].W_in, f * d);
        memcpy(m->layers[l].W_in, p, f * d * 4);
    }
    TAKE(m->ln_f_w, d);
    memcpy(m->ln_f_w, p, d * 4);
    p += d + 2 * rope; /* skip the precomputed RoPE tables: the forward pass computes its own */
    if (c->tied_embeddings) {
        m->W_U = m->W_E;
    } else {
        TAKE(m->W_U, V * d);
        memcpy(m->W_U, p, V * d * 4);
    }
#undef TAKE
    m->n_params = (int64_t)(n_floats - 2 * rope);
done:
    hs_mapped_file_close(&mf);
    return rc;
}
