/* model.c — opening and closing models: format dispatch (HF directory or llama2.c file),
 * config checks, parameter counts and the ownership of every weight array. */
#include "model/model.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "model/arch.h"
#include "model/llama2c.h"
#include "model/safetensors.h"

hs_model *hs_model_new(void)
{
    hs_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cfg.bos_id = -1;
    m->cfg.eos_id = -1;
    return m;
}

float *hs_model_alloc(hs_model *m, size_t n)
{
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **p = realloc(m->owned, (size_t)cap * sizeof *p);
        if (!p)
            return NULL;
        m->owned = p;
        m->cap_owned = cap;
    }
    float *a = calloc(n ? n : 1, sizeof(float));
    if (!a)
        return NULL;
    m->owned[m->n_owned++] = a;
    return a;
}

hs_status hs_config_validate(const hs_config *c, const char *source, hs_error *err)
{
#define REQUIRE_POSITIVE(field)                                                                  \
    if (c->field <= 0)                                                                           \
        return hs_fail(err, HS_ERR_FORMAT, "%s: " #field " must be positive (is %d)", source, c->field)
    REQUIRE_POSITIVE(n_layers);
    REQUIRE_POSITIVE(d_model);
    REQUIRE_POSITIVE(n_heads);
    REQUIRE_POSITIVE(n_kv_heads);
    REQUIRE_POSITIVE(d_head);
    REQUIRE_POSITIVE(d_mlp);
    REQUIRE_POSITIVE(d_vocab);
    REQUIRE_POSITIVE(n_ctx);
#undef REQUIRE_POSITIVE
    /* guard the products the forward pass allocates against int overflow */
    if ((int64_t)c->n_heads * c->d_head > (1 << 20) || c->d_model > (1 << 20) || c->d_mlp > (1 << 22) ||
        c->d_vocab > (1 << 24) || c->n_ctx > (1 << 24) || c->n_layers > 4096)
        return hs_fail(err, HS_ERR_FORMAT, "%s: sizes are implausibly large (d_model %d, heads %d x %d, d_mlp %d, vocab %d, ctx %d, layers %d)",
                       source, c->d_model, c->n_heads, c->d_head, c->d_mlp, c->d_vocab, c->n_ctx, c->n_layers);
    if (c->n_heads % c->n_kv_heads != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: num_attention_heads (%d) is not a multiple of num_key_value_heads (%d)",
                       source, c->n_heads, c->n_kv_heads);
    if (c->rotary_dim < 0 || c->rotary_dim > c->d_head || c->rotary_dim % 2 != 0)
        return hs_fail(err, HS_ERR_FORMAT, "%s: rotary dimension %d must be even and at most head_dim %d", source,
                       c->rotary_dim, c->d_head);
    if (c->rotary_dim > 0 && !(c->rope_theta > 0))
        return hs_fail(err, HS_ERR_FORMAT, "%s: rope_theta must be positive", source);
    if (!(c->norm_eps > 0) || c->norm_eps > 1)
        return hs_fail(err, HS_ERR_FORMAT, "%s: norm epsilon %g is out of range (0, 1]", source, (double)c->norm_eps);
    return HS_OK;
}

int64_t hs_config_param_count(const hs_config *c)
{
    int64_t d = c->d_model, q = (int64_t)c->n_heads * c->d_head, kv = (int64_t)c->n_kv_heads * c->d_head;
    int64_t norm = c->norm == HS_NORM_LAYERNORM ? 2 * d : d;
    int64_t attn = d * q + 2 * d * kv + q * d;
    int64_t mlp = (c->gated_mlp ? 3 : 2) * d * c->d_mlp;
    int64_t n = (int64_t)c->d_vocab * d + (c->tied_embeddings ? 0 : (int64_t)c->d_vocab * d);
    if (c->learned_pos)
        n += (int64_t)c->n_ctx * d;
    n += c->n_layers * (2 * norm + attn + mlp) + norm;
    return n;
}

static int is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Opens the tokenizer that belongs with the model: an explicit path, else the model directory's
 * own files, else (llama2.c) a tokenizer.bin beside the model file. Absent is not an error. */
static hs_status open_model_tokenizer(hs_model *m, const char *path, const char *tokenizer_path, int is_dir,
                                      hs_error *err)
{
    if (tokenizer_path)
        return hs_tokenizer_open(tokenizer_path, m->cfg.d_vocab, &m->tokenizer, err);
    char buf[4096];
    if (is_dir) {
        static const char *const names[] = {"tokenizer.json", "encoder.json", "vocab.json"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(buf, sizeof buf, "%s/%s", path, names[i]);
            if (file_exists(buf))
                return hs_tokenizer_open(path, m->cfg.d_vocab, &m->tokenizer, err);
        }
        return HS_OK;
    }
    /* llama2.c: tokenizer.bin, or tok<vocab>.bin, in the model's folder */
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) : 1;
    const char *dir = slash ? path : ".";
    char name[64];
    snprintf(name, sizeof name, "tok%d.bin", m->cfg.d_vocab);
    const char *cands[] = {"tokenizer.bin", name};
    for (size_t i = 0; i < 2; i++) {
        snprintf(buf, sizeof buf, "%.*s/%s", dirlen, dir, cands[i]);
        if (file_exists(buf))
            return hs_tokenizer_open(buf, m->cfg.d_vocab, &m->tokenizer, err);
    }
    return HS_OK;
}

hs_status hs_model_open(const char *path, const char *tokenizer_path, hs_model **out, hs_error *err)
{
    *out = NULL;
    hs_status rc = HS_OK;
    hs_st_archive *st = NULL;
    hs_model *m = hs_model_new();
    if (!m)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    m->path = strdup(path);
    if (!m->path) {
        rc = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    int is_dir = is_directory(path);
    if (is_dir) {
        const hs_arch *arch = NULL;
        rc = hs_hf_config_load(path, &m->cfg, &arch, err);
        if (rc != HS_OK)
            goto fail;
        rc = hs_st_open(path, &st, err);
        if (rc != HS_OK)
            goto fail;
        rc = arch->load_weights(m, st, err);
        if (rc != HS_OK)
            goto fail;
    } else if (file_exists(path)) {
        rc = hs_llama2c_load(path, m, err);
        if (rc != HS_OK)
            goto fail;
    } else {
        rc = hs_fail(err, HS_ERR_IO, "%s: no such file or directory", path);
        goto fail;
    }
    /* transformers only warns about special ids outside the vocabulary (tiny test models keep
     * GPT-2's 50256); they cannot be fed to the model, so they count as absent here */
    if (m->cfg.bos_id >= m->cfg.d_vocab)
        m->cfg.bos_id = -1;
    if (m->cfg.eos_id >= m->cfg.d_vocab)
        m->cfg.eos_id = -1;
    rc = open_model_tokenizer(m, path, tokenizer_path, is_dir, err);
    if (rc != HS_OK)
        goto fail;
    if (m->tokenizer && hs_tokenizer_vocab_size(m->tokenizer) > m->cfg.d_vocab) {
        rc = hs_fail(err, HS_ERR_SHAPE, "%s: tokenizer has %d tokens but the model's vocabulary is %d",
                     tokenizer_path ? tokenizer_path : path, hs_tokenizer_vocab_size(m->tokenizer), m->cfg.d_vocab);
        goto fail;
    }
    hs_st_close(st);
    *out = m;
    return HS_OK;
fail:
    hs_st_close(st);
    hs_model_close(m);
    return rc;
}

void hs_model_close(hs_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    hs_tokenizer_close(m->tokenizer);
    free(m->path);
    free(m);
}

void hs_model_get_info(const hs_model *m, hs_model_info *info)
{
    const hs_config *c = &m->cfg;
    info->architecture = c->arch;
    info->path = m->path;
    info->dtype = hs_dtype_name(c->stored_dtype);
    info->n_layers = c->n_layers;
    info->n_heads = c->n_heads;
    info->n_kv_heads = c->n_kv_heads;
    info->d_model = c->d_model;
    info->d_head = c->d_head;
    info->d_mlp = c->d_mlp;
    info->d_vocab = c->d_vocab;
    info->n_ctx = c->n_ctx;
    info->n_params = m->n_params ? m->n_params : hs_config_param_count(c);
}

const hs_tokenizer *hs_model_tokenizer(const hs_model *m)
{
    return m->tokenizer;
}
