/* train_state.c — saving and loading the optimiser state and settings of a training run. */
#include "train/train_state.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "model/safetensors.h"

#define STATE_FORMAT "headscope-train-state"
#define STATE_VERSION 1

hs_status hs_train_state_save(const char *dir, const hs_train_state *s, const hs_adamw *opt, hs_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    hs_st_write_entry e[2] = {
        {.name = "adamw.m", .dtype = HS_DTYPE_F32, .ndim = 1, .shape = {(int64_t)opt->n}, .data = opt->m},
        {.name = "adamw.v", .dtype = HS_DTYPE_F32, .ndim = 1, .shape = {(int64_t)opt->n}, .data = opt->v},
    };
    HS_TRY(hs_st_write(path, e, 2, err));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)s->seed); /* beyond a double's 53 bits */
    json_t *root = json_pack("{s:s, s:i, s:I, s:I, s:I, s:s, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:f, s:b}",
                             "format", STATE_FORMAT, "format_version", STATE_VERSION, "step", (json_int_t)s->step,
                             "adamw_step", (json_int_t)opt->step, "steps", (json_int_t)s->steps, "seed", seed,
                             "batch", s->batch, "ctx", s->ctx, "lr", (double)s->lr, "min_lr", (double)s->min_lr,
                             "clip", (double)s->clip, "weight_decay", (double)opt->o.weight_decay, "beta1",
                             (double)opt->o.beta1, "beta2", (double)opt->o.beta2, "warmup", (json_int_t)s->warmup,
                             "eval_every", (json_int_t)s->eval_every, "val_fraction", s->val_fraction,
                             "byte_tokens", s->byte_tokens);
    if (!root)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", dir);
    snprintf(path, sizeof path, "%s/train_state.json", dir);
    int r = json_dump_file(root, path, JSON_INDENT(2));
    json_decref(root);
    return r == 0 ? HS_OK : hs_fail(err, HS_ERR_IO, "%s: cannot write", path);
}

hs_status hs_train_state_load(const char *dir, hs_train_state *s, hs_adamw *opt, hs_error *err)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/train_state.json", dir);
    if (stat(path, &st) != 0)
        return hs_fail(err, HS_ERR_MISSING, "%s: %s (a checkpoint without optimizer state cannot be resumed)", path,
                       strerror(errno));
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return hs_fail(err, HS_ERR_FORMAT, "%s:%d: %s", path, je.line, je.text);
    const char *format = NULL, *seed = NULL;
    int version = 0, byte_tokens = 0;
    json_int_t step = 0, adamw_step = 0, steps = 0, warmup = 0, eval_every = 0;
    double lr = 0, min_lr = 0, clip = 0, wd = 0, b1 = 0, b2 = 0, val = 0;
    int batch = 0, ctx = 0;
    int bad = json_unpack_ex(root, &je, 0,
                             "{s:s, s:i, s:I, s:I, s:I, s:s, s:i, s:i, s:F, s:F, s:F, s:F, s:F, s:F, s:I, s:I, s:F, s:b}",
                             "format", &format, "format_version", &version, "step", &step, "adamw_step", &adamw_step,
                             "steps", &steps, "seed", &seed, "batch", &batch, "ctx", &ctx, "lr", &lr, "min_lr",
                             &min_lr, "clip", &clip, "weight_decay", &wd, "beta1", &b1, "beta2", &b2, "warmup",
                             &warmup, "eval_every", &eval_every, "val_fraction", &val, "byte_tokens", &byte_tokens);
    hs_status rc = HS_OK;
    if (bad) {
        rc = hs_fail(err, HS_ERR_FORMAT, "%s: %s", path, je.text);
        goto done;
    }
    if (strcmp(format, STATE_FORMAT) != 0 || version != STATE_VERSION) {
        rc = hs_fail(err, HS_ERR_UNSUPPORTED, "%s: format \"%s\" version %d (expected \"%s\" version %d)", path, format,
                     version, STATE_FORMAT, STATE_VERSION);
        goto done;
    }
    *s = (hs_train_state){.step = (long)step, .steps = (long)steps, .seed = strtoull(seed, NULL, 10), .batch = batch,
                          .ctx = ctx, .lr = (float)lr, .min_lr = (float)min_lr, .clip = (float)clip,
                          .warmup = (long)warmup, .eval_every = (long)eval_every, .val_fraction = val,
                          .byte_tokens = byte_tokens};
    opt->o.weight_decay = (float)wd;
    opt->o.beta1 = (float)b1;
    opt->o.beta2 = (float)b2;
    opt->step = (long)adamw_step;

    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    hs_st_archive *ar = NULL;
    if ((rc = hs_st_open(path, &ar, err)) != HS_OK)
        goto done;
    int64_t n = (int64_t)opt->n;
    if ((rc = hs_st_read_f32(ar, "adamw.m", 1, &n, opt->m, err)) == HS_OK)
        rc = hs_st_read_f32(ar, "adamw.v", 1, &n, opt->v, err);
    hs_st_close(ar);
done:
    json_decref(root);
    return rc;
}
