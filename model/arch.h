/* arch.h — the table of architectures: how each turns a Hugging Face config.json into an
 * hs_config and its checkpoint's tensors into the canonical weights of model.h. The forward
 * loop itself is shared and reads only hs_config flags. */
#ifndef HS_MODEL_ARCH_H
#define HS_MODEL_ARCH_H

#include <jansson.h>

#include "model/model.h"
#include "model/safetensors.h"

typedef struct hs_arch {
    const char *name;                    /* "gpt2", "llama", "neox" */
    const char *const *hf_model_types;   /* config.json "model_type" values, NULL-terminated */
    /* Fills cfg from the parsed config.json; `source` is the file name for messages. */
    hs_status (*config_from_json)(const json_t *root, const char *source, hs_config *cfg, hs_error *err);
    /* Reads every tensor into m (cfg already set), converting to the canonical layout. */
    hs_status (*load_weights)(hs_model *m, const hs_st_archive *st, hs_error *err);
} hs_arch;

extern const hs_arch hs_arch_gpt2, hs_arch_llama, hs_arch_neox;

/* The architecture whose hf_model_types contains model_type, or NULL. */
const hs_arch *hs_arch_find_hf(const char *model_type);

/* Reads DIR/config.json, picks the architecture, fills and validates cfg. */
hs_status hs_hf_config_load(const char *dir, hs_config *cfg, const hs_arch **arch_out, hs_error *err);

#endif
