/* weight_reader.h — reads a checkpoint's tensors into model arrays for the architecture loaders
 * (arch_*.c), one name at a time, stopping at the first failure.
 *
 * A loader names a tensor with hs_wr_name, then reads it with hs_wr_read; after the first failure
 * every later read returns NULL at once, so a load_weights function reads straight through and
 * returns wr.rc at the end. Usage:
 *     hs_weight_reader wr = {.m = m, .st = st, .err = err, .rc = HS_OK, .prefix = ""};
 *     hs_wr_name(&wr, "model.layers.%d.input_layernorm.weight", l);
 *     w->ln1_w = hs_wr_read(&wr, NULL, D, 0);
 *     ...
 *     return wr.rc; */
#ifndef HS_MODEL_WEIGHT_READER_H
#define HS_MODEL_WEIGHT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "headscope.h"
#include "model/model.h"
#include "model/safetensors.h"

typedef struct hs_weight_reader {
    hs_model *m;             /* receives the arrays (hs_model_alloc) and the n_params count */
    const hs_st_archive *st;
    hs_error *err;
    hs_status rc;            /* the first failure; every later read is skipped */
    const char *prefix;      /* prepended to every name, e.g. "transformer."; may be "" or NULL */
    char name[256];          /* the tensor hs_wr_name last named; messages cite it */
} hs_weight_reader;

/* Sets wr->name to prefix + the printf-formatted name (truncated to fit). */
void hs_wr_name(hs_weight_reader *wr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads tensor wr->name, checked to have shape [d0] (d1 == 0) or [d0, d1], as float32 into dst
 * (which holds d0·max(d1, 1) floats, e.g. a loader's scratch buffer) or, when dst is NULL, into a
 * new model-owned array. Adds the element count to m->n_params. Returns the array, or NULL when
 * wr->rc was already set or this read fails (then wr->rc and err record the failure). */
float *hs_wr_read(hs_weight_reader *wr, float *dst, int64_t d0, int64_t d1);

/* hs_wr_read(wr, NULL, d_vocab, d_model) for the token embedding W_E (the first read of a load),
 * which also records that tensor's dtype as m->cfg.stored_dtype: the dtype the checkpoint was
 * saved in. Set whenever the tensor exists, even if the read then fails on its shape. */
float *hs_wr_read_embedding(hs_weight_reader *wr, int64_t d_vocab, int64_t d_model);

/* A new zeroed model-owned array of n floats, for loaders that fill it themselves (slices,
 * transposes); not counted in n_params. NULL when wr->rc was already set or on out of memory
 * (then wr->rc = HS_ERR_NOMEM, with wr->name in the message). */
float *hs_wr_alloc(hs_weight_reader *wr, size_t n);

#endif
