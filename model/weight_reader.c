/* weight_reader.c — named, fail-once tensor reads for the architecture loaders (see weight_reader.h). */
#include "model/weight_reader.h"

#include <stdarg.h>
#include <stdio.h>

#include "base/error.h"

void hs_wr_name(hs_weight_reader *wr, const char *fmt, ...)
{
    size_t n = (size_t)snprintf(wr->name, sizeof wr->name, "%s", wr->prefix ? wr->prefix : "");
    if (n >= sizeof wr->name)
        return; /* the prefix alone fills the buffer */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(wr->name + n, sizeof wr->name - n, fmt, ap);
    va_end(ap);
}

float *hs_wr_alloc(hs_weight_reader *wr, size_t n)
{
    if (wr->rc != HS_OK)
        return NULL;
    float *a = hs_model_alloc(wr->m, n);
    if (!a)
        wr->rc = hs_fail(wr->err, HS_ERR_NOMEM, "%s: out of memory", wr->name);
    return a;
}

float *hs_wr_read(hs_weight_reader *wr, float *dst, int64_t d0, int64_t d1)
{
    if (wr->rc != HS_OK)
        return NULL;
    int64_t shape[2] = {d0, d1};
    size_t n = (size_t)d0 * (size_t)(d1 ? d1 : 1);
    if (!dst && !(dst = hs_wr_alloc(wr, n)))
        return NULL;
    wr->rc = hs_st_read_f32(wr->st, wr->name, d1 ? 2 : 1, shape, dst, wr->err);
    if (wr->rc != HS_OK)
        return NULL;
    wr->m->n_params += (int64_t)n;
    return dst;
}

float *hs_wr_read_embedding(hs_weight_reader *wr, int64_t d_vocab, int64_t d_model)
{
    const hs_st_tensor *t = wr->rc == HS_OK ? hs_st_find(wr->st, wr->name) : NULL;
    if (t)
        wr->m->cfg.stored_dtype = t->dtype;
    return hs_wr_read(wr, NULL, d_vocab, d_model);
}
