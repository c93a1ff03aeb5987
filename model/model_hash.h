/* model_hash.h — the fingerprint that names a model in the store: sha256 of its bytes on disk. */
#ifndef HS_MODEL_MODEL_HASH_H
#define HS_MODEL_MODEL_HASH_H

#include "headscope.h"

/* sha256 (lower-case hex, 64 chars + NUL into hex[65]) over the files that define the model: a
 * llama2.c file itself; for a directory, config.json followed by every *.safetensors file in name
 * order. Any file that cannot be read is an error naming it. */
hs_status hs_model_sha256(const char *model_path, char hex[65], hs_error *err);

/* sha256 of one file (e.g. a prompt set). */
hs_status hs_file_sha256(const char *path, char hex[65], hs_error *err);

#endif
