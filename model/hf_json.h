/* hf_json.h — typed readers for the fields of a Hugging Face config.json, shared by every
 * architecture's config_from_json (arch_*.c).
 *
 * Every reader takes the object to read from (`root`), the file name for messages (`src`) and
 * the field name (`key`). A field that is absent or null counts as absent, as transformers
 * writes null for "default": the reader stores its default. A field of the wrong JSON type or
 * out of range fails with a message "SRC: field "KEY" ..." recorded in err; the one-field
 * readers then leave *out unchanged. */
#ifndef HS_MODEL_HF_JSON_H
#define HS_MODEL_HF_JSON_H

#include <jansson.h>

#include "headscope.h"
#include "model/model.h"

/* The value of root[key], or NULL when it is absent or null. Borrowed from root. */
const json_t *hs_hf_get(const json_t *root, const char *key);

/* An integer field in [min, INT_MAX]. When absent: HS_ERR_MISSING if `required`, else dflt.
 * Not an integer: HS_ERR_FORMAT; out of range: HS_ERR_RANGE. */
hs_status hs_hf_int(const json_t *root, const char *src, const char *key, int required, int dflt, int min,
                    int *out, hs_error *err);

/* A number field (integer or real); dflt when absent; HS_ERR_FORMAT when not a number. */
hs_status hs_hf_num(const json_t *root, const char *src, const char *key, double dflt, double *out,
                    hs_error *err);

/* A boolean field, stored as 0 or 1; dflt when absent; HS_ERR_FORMAT when not true or false. */
hs_status hs_hf_bool(const json_t *root, const char *src, const char *key, int dflt, int *out, hs_error *err);

/* A string field; dflt when absent; HS_ERR_FORMAT when not a string. *out is borrowed from root
 * (or is dflt) and lives as long as root. */
hs_status hs_hf_str(const json_t *root, const char *src, const char *key, const char *dflt, const char **out,
                    hs_error *err);

/* Maps an activation name, as transformers' ACT2FN spells it, to hs_act_kind: gelu (and
 * gelu_python) = exact erf GELU; gelu_new, gelu_fast, gelu_pytorch_tanh = the tanh approximation
 * (gelu_fast differs only in how its constant is rounded); silu, swish = SiLU; relu. Any other
 * name: HS_ERR_UNSUPPORTED naming field `key` of `src`. */
hs_status hs_hf_act(const char *src, const char *key, const char *name, hs_act_kind *out, hs_error *err);

/* Rotary settings as transformers reads them: "rope_scaling" (older) or "rope_parameters" (v5)
 * may hold rope_type, rope_theta and partial_rotary_factor, and win over the legacy top-level keys
 * theta_key / partial_key (partial_key may be NULL: then partial_rotary_factor is dflt_partial
 * unless one of those objects sets it). Where both objects set a value, rope_scaling's wins.
 * Only the default rope type is supported (HS_ERR_UNSUPPORTED otherwise, and for per-layer-type
 * parameter objects); theta must be in (0, 1e30] and partial in (0, 1] (HS_ERR_RANGE). */
hs_status hs_hf_rope(const json_t *root, const char *src, const char *theta_key, const char *partial_key,
                     double dflt_theta, double dflt_partial, double *theta, double *partial, hs_error *err);

#endif
