/* random_model.c — deterministic random GPT-2 checkpoints in HF layout with a byte-level tokenizer. */
#include "hooks/random_model.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "hooks/safetensors.h"

/* splitmix64 then Box-Muller: a fixed, platform-independent stream for a given seed */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float next_normal(uint64_t *s)
{
    double u1 = ((double)(next_u64(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(next_u64(s) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* GPT-2's byte-to-unicode map: printable bytes map to themselves, the rest to U+0100 upwards. */
static int byte_to_codepoint(int b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))
        return b;
    int n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255)))
            n++;
    return 256 + n;
}

static int utf8_put(char *buf, int cp)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    buf[0] = (char)(0xc0 | (cp >> 6));
    buf[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
}

static hs_status write_json(const char *path, json_t *root, hs_error *err)
{
    int r = json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    return r == 0 ? HS_OK : hs_fail(err, HS_ERR_IO, "%s: cannot write", path);
}

/* Builds {"type": type, key: value, ...} for the ByteLevel components of tokenizer.json. */
static json_t *byte_level_component(const char *type, int add_prefix_space)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "add_prefix_space", json_boolean(add_prefix_space));
    json_object_set_new(o, "trim_offsets", json_true());
    json_object_set_new(o, "use_regex", json_true());
    return o;
}

/* A byte-level BPE tokenizer.json with the 256 byte tokens, <|endoftext|> = 256 and no merges. */
static hs_status write_tokenizer(const char *dir, hs_error *err)
{
    json_t *vocab = json_object();
    for (int b = 0; b < 256; b++) {
        char piece[4] = {0};
        piece[utf8_put(piece, byte_to_codepoint(b))] = '\0';
        json_object_set_new(vocab, piece, json_integer(b));
    }
    json_object_set_new(vocab, "<|endoftext|>", json_integer(256));
    json_t *model = json_object();
    json_object_set_new(model, "type", json_string("BPE"));
    json_object_set_new(model, "dropout", json_null());
    json_object_set_new(model, "unk_token", json_null());
    json_object_set_new(model, "continuing_subword_prefix", json_null());
    json_object_set_new(model, "end_of_word_suffix", json_null());
    json_object_set_new(model, "fuse_unk", json_false());
    json_object_set_new(model, "byte_fallback", json_false());
    json_object_set_new(model, "vocab", vocab);
    json_object_set_new(model, "merges", json_array());
    json_t *eot = json_object();
    json_object_set_new(eot, "id", json_integer(256));
    json_object_set_new(eot, "content", json_string("<|endoftext|>"));
    json_object_set_new(eot, "single_word", json_false());
    json_object_set_new(eot, "lstrip", json_false());
    json_object_set_new(eot, "rstrip", json_false());
    json_object_set_new(eot, "normalized", json_true());
    json_object_set_new(eot, "special", json_true());
    json_t *added = json_array();
    json_array_append_new(added, eot);
    json_t *root = json_object();
    json_object_set_new(root, "version", json_string("1.0"));
    json_object_set_new(root, "truncation", json_null());
    json_object_set_new(root, "padding", json_null());
    json_object_set_new(root, "added_tokens", added);
    json_object_set_new(root, "normalizer", json_null());
    json_object_set_new(root, "pre_tokenizer", byte_level_component("ByteLevel", 0));
    json_object_set_new(root, "post_processor", byte_level_component("ByteLevel", 0));
    json_object_set_new(root, "decoder", byte_level_component("ByteLevel", 0));
    json_object_set_new(root, "model", model);
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    return write_json(path, root, err);
}

hs_status hs_random_model_write(const char *dir, const hs_random_model_spec *s, hs_error *err)
{
    if (s->n_layers < 1 || s->d_model < 1 || s->n_heads < 1 || s->d_model % s->n_heads || s->d_vocab < 257 ||
        s->n_ctx < 1)
        return hs_fail(err, HS_ERR_ARG, "random model: invalid spec (layers %d, d_model %d, heads %d, vocab %d, ctx %d)",
                       s->n_layers, s->d_model, s->n_heads, s->d_vocab, s->n_ctx);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return hs_fail(err, HS_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *cfg = json_pack("{s:s, s:[s], s:i, s:i, s:i, s:i, s:i, s:n, s:s, s:f, s:i, s:i, s:b}", "model_type",
                            "gpt2", "architectures", "GPT2LMHeadModel", "n_embd", s->d_model, "n_layer", s->n_layers,
                            "n_head", s->n_heads, "n_positions", s->n_ctx, "vocab_size", s->d_vocab, "n_inner",
                            "activation_function", "gelu_new", "layer_norm_epsilon", 1e-5, "bos_token_id", 256,
                            "eos_token_id", 256, "tie_word_embeddings", 1);
    hs_status rc = write_json(path, cfg, err);
    if (rc != HS_OK)
        return rc;
    if ((rc = write_tokenizer(dir, err)) != HS_OK)
        return rc;

    int64_t d = s->d_model, f = 4 * d, L = s->n_layers;
    int n_entries = 3 + 12 * (int)L + 2;
    hs_st_write_entry *e = calloc((size_t)n_entries, sizeof *e);
    char (*names)[64] = calloc((size_t)n_entries, 64);
    float **bufs = calloc((size_t)n_entries, sizeof *bufs);
    uint64_t rng = s->seed;
    int n = 0;
    rc = HS_OK;
    if (!e || !names || !bufs) {
        rc = hs_fail(err, HS_ERR_NOMEM, "random model: out of memory");
        goto done;
    }
    /* name, shape, kind: 0 = normal(std), 1 = ones (gain), 2 = zeros (bias) */
#define ADD(kind, nd, s0, s1, ...)                                                    \
    do {                                                                              \
        snprintf(names[n], 64, __VA_ARGS__);                                          \
        int64_t numel_ = (s0) * ((nd) > 1 ? (s1) : 1);                                \
        if (!(bufs[n] = malloc((size_t)numel_ * sizeof(float)))) {                    \
            rc = hs_fail(err, HS_ERR_NOMEM, "random model: out of memory");           \
            goto done;                                                                \
        }                                                                             \
        for (int64_t i_ = 0; i_ < numel_; i_++)                                       \
            bufs[n][i_] = (kind) == 0 ? s->init_std * next_normal(&rng) : (kind) == 1 ? 1.0f : 0.0f; \
        e[n] = (hs_st_write_entry){.name = names[n], .dtype = HS_DTYPE_F32, .ndim = (nd), .shape = {(s0), (s1)}, .data = bufs[n]}; \
        n++;                                                                          \
    } while (0)
    ADD(0, 2, (int64_t)s->d_vocab, d, "wte.weight");
    ADD(0, 2, (int64_t)s->n_ctx, d, "wpe.weight");
    for (int64_t l = 0; l < L; l++) {
        ADD(1, 1, d, 0, "h.%lld.ln_1.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.ln_1.bias", (long long)l);
        ADD(0, 2, d, 3 * d, "h.%lld.attn.c_attn.weight", (long long)l);
        ADD(2, 1, 3 * d, 0, "h.%lld.attn.c_attn.bias", (long long)l);
        ADD(0, 2, d, d, "h.%lld.attn.c_proj.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.attn.c_proj.bias", (long long)l);
        ADD(1, 1, d, 0, "h.%lld.ln_2.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.ln_2.bias", (long long)l);
        ADD(0, 2, d, f, "h.%lld.mlp.c_fc.weight", (long long)l);
        ADD(2, 1, f, 0, "h.%lld.mlp.c_fc.bias", (long long)l);
        ADD(0, 2, f, d, "h.%lld.mlp.c_proj.weight", (long long)l);
        ADD(2, 1, d, 0, "h.%lld.mlp.c_proj.bias", (long long)l);
    }
    ADD(1, 1, d, 0, "ln_f.weight");
    ADD(2, 1, d, 0, "ln_f.bias");
#undef ADD
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    rc = hs_st_write(path, e, n, err);
done:
    if (bufs)
        for (int i = 0; i < n_entries; i++)
            free(bufs[i]);
    free(bufs);
    free(names);
    free(e);
    return rc;
}
