/* llama2c.h — loading karpathy's llama2.c checkpoint files (.bin, version 0 header). */
#ifndef HS_MODEL_LLAMA2C_H
#define HS_MODEL_LLAMA2C_H

#include "model/model.h"

/* Fills m (config and weights, arch "llama") from a llama2.c .bin file. The file's interleaved
 * RoPE pairs are permuted into the rotate-half layout of model.h. */
hs_status hs_llama2c_load(const char *path, hs_model *m, hs_error *err);

#endif
