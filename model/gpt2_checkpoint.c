/* gpt2_checkpoint.c — GPT-2 checkpoints in Hugging Face layout: config.json, model.safetensors and
 * a tokenizer.json (copied, or the byte-level one built here). */
#include "model/gpt2_checkpoint.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

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

hs_status hs_byte_tokenizer_write(const char *path, hs_error *err)
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
    return write_json(path, root, err);
}


/* Copies src to dst byte for byte; nothing to do when they are the same file (a checkpoint
 * rewritten in place keeps its tokenizer). */
static hs_status copy_file(const char *src, const char *dst, hs_error *err)
{
    struct stat a, b;
    if (stat(src, &a) == 0 && stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return HS_OK;
    FILE *in = fopen(src, "rb"), *out = NULL;
    hs_status rc = HS_OK;
    char buf[65536];
    size_t n;
    if (!in)
        return hs_fail(err, HS_ERR_IO, "%s: cannot open: %s", src, strerror(errno));
    if (!(out = fopen(dst, "wb"))) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot create: %s", dst, strerror(errno));
        goto done;
    }
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) {
            rc = hs_fail(err, HS_ERR_IO, "%s: write failed: %s", dst, strerror(errno));
            goto done;
        }
    if (ferror(in))
        rc = hs_fail(err, HS_ERR_IO, "%s: read failed", src);
done:
    if (out && fclose(out) != 0 && rc == HS_OK)
        rc = hs_fail(err, HS_ERR_IO, "%s: write failed: %s", dst, strerror(errno));
    fclose(in);
    return rc;
}

/* Copies the tokenizer at src into dir: a file becomes dir/tokenizer.json; a directory gives
 * every tokenizer file the loader looks for that it holds. */
static hs_status copy_tokenizer(const char *src, const char *dir, hs_error *err)
{
    static const char *const files[] = {"tokenizer.json", "encoder.json", "vocab.bpe", "vocab.json", "merges.txt"};
    char from[4096], to[4096];
    struct stat st;
    if (stat(src, &st) != 0)
        return hs_fail(err, HS_ERR_IO, "%s: %s", src, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        snprintf(to, sizeof to, "%s/tokenizer.json", dir);
        return copy_file(src, to, err);
    }
    int copied = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", src, files[i]);
        if (stat(from, &st) != 0)
            continue;
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        HS_TRY(copy_file(from, to, err));
        copied++;
    }
    return copied ? HS_OK
                  : hs_fail(err, HS_ERR_MISSING, "%s: no tokenizer.json, encoder.json + vocab.bpe or vocab.json + merges.txt",
                            src);
}

static json_t *id_or_null(int32_t id)
{
    return id >= 0 ? json_integer(id) : json_null();
}

hs_status hs_gpt2_checkpoint_write(const char *dir, const hs_gpt2_ckpt_spec *s, const hs_st_write_entry *entries,
                                   int n, const char *tokenizer_src, hs_error *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return hs_fail(err, HS_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *cfg = json_pack("{s:s, s:[s], s:i, s:i, s:i, s:i, s:i, s:n, s:s, s:f, s:o, s:o, s:b}", "model_type",
                            "gpt2", "architectures", "GPT2LMHeadModel", "n_embd", s->d_model, "n_layer", s->n_layers,
                            "n_head", s->n_heads, "n_positions", s->n_ctx, "vocab_size", s->d_vocab, "n_inner",
                            "activation_function", "gelu_new", "layer_norm_epsilon", 1e-5, "bos_token_id",
                            id_or_null(s->bos_id), "eos_token_id", id_or_null(s->eos_id), "tie_word_embeddings", 1);
    if (!cfg)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
    HS_TRY(write_json(path, cfg, err));
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    HS_TRY(tokenizer_src ? copy_tokenizer(tokenizer_src, dir, err) : hs_byte_tokenizer_write(path, err));
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (s->add_bos) {
        json_t *tc = json_pack("{s:b}", "add_bos_token", 1);
        if (!tc)
            return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", path);
        HS_TRY(write_json(path, tc, err));
    } else if (unlink(path) != 0 && errno != ENOENT) {
        return hs_fail(err, HS_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return hs_st_write(path, entries, n, err);
}
