/* checkpoint.h — a trainable GPT-2 to and from Hugging Face checkpoints: saving writes the layout
 * model/arch_gpt2.c loads (GPT2LMHeadModel names, Conv1D weights transposed to [in, out]), so a
 * trained model opens with hs_model_open like any GPT-2; loading copies an opened model's weights
 * into a training model. */
#ifndef HS_TRAIN_CHECKPOINT_H
#define HS_TRAIN_CHECKPOINT_H

#include "headscope.h"
#include "train/gpt2_train.h"

/* Writes DIR/config.json, DIR/model.safetensors (F32) and DIR/tokenizer.json (a copy of
 * tokenizer_src, or the byte-level tokenizer when NULL); bos_id/eos_id go to config.json (-1:
 * null). add_bos: prompts should begin with bos_id (DIR/tokenizer_config.json says so), as when the
 * training text separated its documents with that token. DIR is created when missing; existing
 * files are replaced. */
hs_status hs_train_save(hs_train_model *tm, const char *dir, const char *tokenizer_src, int32_t bos_id,
                        int32_t eos_id, int add_bos, hs_error *err);

/* Dimensions of an opened model, and HS_ERR_UNSUPPORTED (naming what differs) unless it is a GPT-2
 * this trainer can train: LayerNorm, GELU tanh, d_mlp = 4·d_model, learned positions, tied
 * unembedding without bias. */
hs_status hs_train_dims_of_model(const hs_model *m, hs_gpt2_dims *dims, hs_error *err);

/* Copies m's weights into tm's parameters; their dimensions must be equal (HS_ERR_SHAPE). */
hs_status hs_train_load_model(hs_train_model *tm, const hs_model *m, hs_error *err);

#endif
