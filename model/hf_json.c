/* hf_json.c — typed readers for Hugging Face config.json fields (see hf_json.h). */
#include "model/hf_json.h"

#include <limits.h>
#include <string.h>

#include "base/error.h"

const json_t *hs_hf_get(const json_t *root, const char *key)
{
    const json_t *v = json_object_get(root, key);
    return v && !json_is_null(v) ? v : NULL;
}

hs_status hs_hf_int(const json_t *root, const char *src, const char *key, int required, int dflt, int min,
                    int *out, hs_error *err)
{
    const json_t *v = hs_hf_get(root, key);
    if (!v) {
        if (required)
            return hs_fail(err, HS_ERR_MISSING, "%s: field \"%s\" is missing", src, key);
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_integer(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not an integer", src, key);
    json_int_t x = json_integer_value(v);
    if (x < min || x > INT_MAX)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"%s\" = %lld is out of range (at least %d)", src, key,
                       (long long)x, min);
    *out = (int)x;
    return HS_OK;
}

hs_status hs_hf_num(const json_t *root, const char *src, const char *key, double dflt, double *out,
                    hs_error *err)
{
    const json_t *v = hs_hf_get(root, key);
    if (!v) {
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_number(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not a number", src, key);
    *out = json_number_value(v);
    return HS_OK;
}

hs_status hs_hf_bool(const json_t *root, const char *src, const char *key, int dflt, int *out, hs_error *err)
{
    const json_t *v = hs_hf_get(root, key);
    if (!v) {
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_boolean(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not true or false", src, key);
    *out = json_is_true(v);
    return HS_OK;
}

hs_status hs_hf_str(const json_t *root, const char *src, const char *key, const char *dflt, const char **out,
                    hs_error *err)
{
    const json_t *v = hs_hf_get(root, key);
    if (!v) {
        *out = dflt;
        return HS_OK;
    }
    if (!json_is_string(v))
        return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not a string", src, key);
    *out = json_string_value(v);
    return HS_OK;
}

hs_status hs_hf_act(const char *src, const char *key, const char *name, hs_act_kind *out, hs_error *err)
{
    static const struct { const char *name; hs_act_kind act; } acts[] = {
        {"gelu", HS_ACT_GELU_ERF},           {"gelu_python", HS_ACT_GELU_ERF}, {"gelu_new", HS_ACT_GELU_TANH},
        {"gelu_fast", HS_ACT_GELU_TANH},     {"gelu_pytorch_tanh", HS_ACT_GELU_TANH},
        {"silu", HS_ACT_SILU},               {"swish", HS_ACT_SILU},           {"relu", HS_ACT_RELU},
    };
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp(name, acts[i].name) == 0) {
            *out = acts[i].act;
            return HS_OK;
        }
    return hs_fail(err, HS_ERR_UNSUPPORTED,
                   "%s: field \"%s\": activation \"%s\" is not supported (supported: gelu, gelu_new, gelu_fast, "
                   "gelu_pytorch_tanh, silu, relu)", src, key, name);
}

hs_status hs_hf_rope(const json_t *root, const char *src, const char *theta_key, const char *partial_key,
                     double dflt_theta, double dflt_partial, double *theta, double *partial, hs_error *err)
{
    static const char *const obj_keys[] = {"rope_scaling", "rope_parameters"};
    int have_theta = 0, have_partial = 0;
    for (int i = 0; i < 2; i++) {
        const json_t *o = hs_hf_get(root, obj_keys[i]);
        if (!o)
            continue;
        if (!json_is_object(o))
            return hs_fail(err, HS_ERR_FORMAT, "%s: field \"%s\" is not a JSON object", src, obj_keys[i]);
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)o, k, v) {
            if (json_is_object(v))
                return hs_fail(err, HS_ERR_UNSUPPORTED,
                               "%s: field \"%s\": per-layer-type rope parameters (\"%s\") are not supported", src,
                               obj_keys[i], k);
        }
        const char *type = "default";
        HS_TRY(hs_hf_str(o, src, "rope_type", "default", &type, err));
        if (strcmp(type, "default") == 0)
            HS_TRY(hs_hf_str(o, src, "type", "default", &type, err));
        if (strcmp(type, "default") != 0)
            return hs_fail(err, HS_ERR_UNSUPPORTED,
                           "%s: field \"%s\": rope type \"%s\" is not supported (only \"default\")", src, obj_keys[i],
                           type);
        if (!have_theta && hs_hf_get(o, "rope_theta")) {
            HS_TRY(hs_hf_num(o, src, "rope_theta", dflt_theta, theta, err));
            have_theta = 1;
        }
        if (!have_partial && hs_hf_get(o, "partial_rotary_factor")) {
            HS_TRY(hs_hf_num(o, src, "partial_rotary_factor", dflt_partial, partial, err));
            have_partial = 1;
        }
    }
    if (!have_theta)
        HS_TRY(hs_hf_num(root, src, theta_key, dflt_theta, theta, err));
    if (!have_partial) {
        if (partial_key)
            HS_TRY(hs_hf_num(root, src, partial_key, dflt_partial, partial, err));
        else
            *partial = dflt_partial;
    }
    if (!(*theta > 0) || *theta > 1e30)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"%s\" = %g is out of range", src,
                       have_theta ? "rope_theta" : theta_key, *theta);
    if (!(*partial > 0) || *partial > 1)
        return hs_fail(err, HS_ERR_RANGE, "%s: field \"%s\" = %g is out of range (0, 1]", src,
                       have_partial || !partial_key ? "partial_rotary_factor" : partial_key, *partial);
    return HS_OK;
}
