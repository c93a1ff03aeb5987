/* hf_config.c — reads a Hugging Face config.json: picks the architecture from "model_type",
 * lets it fill the hs_config, adds the fields every architecture shares (token ids, stored
 * dtype) and validates the result. The table of architectures lives here. */
#include "model/arch.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/mapped_file.h"

static const hs_arch *const arch_table[] = {&hs_arch_gpt2, &hs_arch_llama, &hs_arch_neox};
#define N_ARCHS ((int)(sizeof arch_table / sizeof arch_table[0]))

const hs_arch *hs_arch_find_hf(const char *model_type)
{
    if (!model_type)
        return NULL;
    for (int a = 0; a < N_ARCHS; a++)
        for (const char *const *t = arch_table[a]->hf_model_types; *t; t++)
            if (strcmp(*t, model_type) == 0)
                return arch_table[a];
    return NULL;
}

/* A token id field: absent or null -> -1; an integer; a list -> its first element (HF lists
 * several EOS ids for chat models). */
static hs_status read_token_id(const json_t *root, const char *source, const char *key, int32_t *out,
                               hs_error *err)
{
    const json_t *v = json_object_get(root, key);
    *out = -1;
    if (json_is_array(v))
        v = json_array_size(v) > 0 ? json_array_get(v, 0) : NULL;
    if (!v || json_is_null(v))
        return HS_OK;
    if (!json_is_integer(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not an integer (or a list of integers)", source, key);
    json_int_t id = json_integer_value(v);
    if (id > INT32_MAX)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"%s\" = %lld is out of range", source, key, (long long)id);
    *out = id < 0 ? -1 : (int32_t)id;
    return HS_OK;
}

/* The dtype the weights were saved in, as config.json records it ("dtype" in transformers >= 4.56,
 * "torch_dtype" before); F32 when absent or not a plain float dtype. The loaders refine it from
 * the tensors themselves. */
static hs_dtype read_stored_dtype(const json_t *root)
{
    static const struct { const char *name; hs_dtype dt; } names[] = {
        {"float32", HS_DTYPE_F32}, {"float16", HS_DTYPE_F16}, {"bfloat16", HS_DTYPE_BF16},
        {"float64", HS_DTYPE_F64}, {"float", HS_DTYPE_F32}, {"half", HS_DTYPE_F16},
    };
    const json_t *v = json_object_get(root, "dtype");
    if (!json_is_string(v))
        v = json_object_get(root, "torch_dtype");
    if (json_is_string(v))
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(json_string_value(v), names[i].name) == 0)
                return names[i].dt;
    return HS_DTYPE_F32;
}

hs_status hs_hf_config_load(const char *dir, hs_config *cfg, const hs_arch **arch_out, hs_error *err)
{
    if (!dir || !cfg)
        return hs_fail(err, HS_ERR_ARG, "hs_hf_config_load: dir and cfg must not be NULL");
    if (arch_out)
        *arch_out = NULL;
    size_t dlen = strlen(dir);
    char *path = malloc(dlen + sizeof "/config.json");
    if (!path)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", dir);
    memcpy(path, dir, dlen);
    memcpy(path + dlen, "/config.json", sizeof "/config.json");

    char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    hs_status rc = hs_read_file(path, &text, &len, err);
    if (rc != HS_OK)
        goto done;
    json_error_t jerr;
    root = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: not valid JSON: %s (line %d, column %d)", path, jerr.text, jerr.line,
                     jerr.column);
        goto done;
    }
    if (!json_is_object(root)) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: not a JSON object", path);
        goto done;
    }
    const json_t *mt = json_object_get(root, "model_type");
    if (!mt || json_is_null(mt)) {
        rc = hs_fail(err, HS_ERR_MISSING, "%s: field \"model_type\" is missing", path);
        goto done;
    }
    if (!json_is_string(mt)) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: field \"model_type\" is not a string", path);
        goto done;
    }
    const hs_arch *arch = hs_arch_find_hf(json_string_value(mt));
    if (!arch) {
        char list[256];
        size_t n = 0;
        list[0] = '\0';
        for (int a = 0; a < N_ARCHS; a++)
            for (const char *const *t = arch_table[a]->hf_model_types; *t && n < sizeof list; t++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *t);
        rc = hs_fail(err, HS_ERR_UNSUPPORTED, "%s: model_type \"%s\" is not supported (supported: %s)", path,
                     json_string_value(mt), list);
        goto done;
    }

    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->arch, sizeof cfg->arch, "%s", arch->name);
    cfg->stored_dtype = read_stored_dtype(root);
    if ((rc = read_token_id(root, path, "bos_token_id", &cfg->bos_id, err)) != HS_OK ||
        (rc = read_token_id(root, path, "eos_token_id", &cfg->eos_id, err)) != HS_OK)
        goto done;
    rc = arch->config_from_json(root, path, cfg, err);
    if (rc != HS_OK)
        goto done;
    rc = hs_config_validate(cfg, path, err);
    if (rc == HS_OK && arch_out)
        *arch_out = arch;
done:
    json_decref(root);
    free(text);
    free(path);
    return rc;
}
