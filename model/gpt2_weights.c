/* gpt2_weights.c — a GPT-2 checkpoint's tensors in one table of HF names (see gpt2_weights.h). */
#include "model/gpt2_weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

void hs_gpt2_weights_free(hs_gpt2_weights *w)
{
    for (int i = 0; w->entries && i < w->n; i++)
        free((void *)w->entries[i].data);
    free(w->entries);
    free(w->names);
    memset(w, 0, sizeof *w);
}

/* Appends a tensor of shape [s0] (ndim 1) or [s0, s1], filled with `fill`. */
static int add(hs_gpt2_weights *w, float fill, int ndim, int64_t s0, int64_t s1, const char *fmt, int layer)
{
    size_t numel = (size_t)s0 * (size_t)(ndim > 1 ? s1 : 1);
    float *data = calloc(numel, sizeof *data);
    if (!data)
        return -1;
    for (size_t i = 0; fill != 0.0f && i < numel; i++)
        data[i] = fill;
    snprintf(w->names[w->n], sizeof w->names[w->n], fmt, layer);
    w->entries[w->n] = (hs_st_write_entry){.name = w->names[w->n], .dtype = HS_DTYPE_F32, .ndim = ndim,
                                           .shape = {s0, ndim > 1 ? s1 : 0}, .data = data};
    w->n++;
    return 0;
}

hs_status hs_gpt2_weights_new(hs_gpt2_weights *w, int n_layers, int d_model, int d_mlp, int n_ctx, int d_vocab,
                              hs_error *err)
{
    memset(w, 0, sizeof *w);
    int cap = 4 + 12 * n_layers;
    w->entries = calloc((size_t)cap, sizeof *w->entries);
    w->names = calloc((size_t)cap, sizeof *w->names);
    int bad = !w->entries || !w->names;
    bad = bad || add(w, 0, 2, d_vocab, d_model, "wte.weight", 0) || add(w, 0, 2, n_ctx, d_model, "wpe.weight", 0);
    for (int l = 0; l < n_layers && !bad; l++)
        bad = add(w, 1, 1, d_model, 0, "h.%d.ln_1.weight", l) || add(w, 0, 1, d_model, 0, "h.%d.ln_1.bias", l) ||
              add(w, 0, 2, d_model, 3 * d_model, "h.%d.attn.c_attn.weight", l) ||
              add(w, 0, 1, 3 * d_model, 0, "h.%d.attn.c_attn.bias", l) ||
              add(w, 0, 2, d_model, d_model, "h.%d.attn.c_proj.weight", l) ||
              add(w, 0, 1, d_model, 0, "h.%d.attn.c_proj.bias", l) || add(w, 1, 1, d_model, 0, "h.%d.ln_2.weight", l) ||
              add(w, 0, 1, d_model, 0, "h.%d.ln_2.bias", l) ||
              add(w, 0, 2, d_model, d_mlp, "h.%d.mlp.c_fc.weight", l) ||
              add(w, 0, 1, d_mlp, 0, "h.%d.mlp.c_fc.bias", l) ||
              add(w, 0, 2, d_mlp, d_model, "h.%d.mlp.c_proj.weight", l) ||
              add(w, 0, 1, d_model, 0, "h.%d.mlp.c_proj.bias", l);
    bad = bad || add(w, 1, 1, d_model, 0, "ln_f.weight", 0) || add(w, 0, 1, d_model, 0, "ln_f.bias", 0);
    if (bad) {
        hs_gpt2_weights_free(w);
        return hs_fail(err, HS_ERR_NOMEM, "GPT-2 weights (%d layers, d_model %d): out of memory", n_layers, d_model);
    }
    return HS_OK;
}

float *hs_gpt2_weights_get(const hs_gpt2_weights *w, const char *fmt, ...)
{
    char name[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (int i = 0; i < w->n; i++)
        if (!strcmp(w->names[i], name))
            return (float *)w->entries[i].data;
    return NULL;
}

hs_status hs_gpt2_weights_write(const hs_gpt2_weights *w, const char *path, hs_error *err)
{
    return hs_st_write(path, w->entries, w->n, err);
}
