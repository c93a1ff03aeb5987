/* fuzz_safetensors.c — libFuzzer target for model/safetensors.c. An input that starts with '{' is
 * a model.safetensors.index.json beside two valid shards; any other input is one .safetensors
 * file. Whatever opens must hand out tensors whose every byte can be read and whose float ones
 * convert with their own shape; whatever fails must say so in a message naming the file.
 * Build and run with tools/fuzz.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dtype.h"
#include "model/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256], file_path[300], index_path[300];
static volatile unsigned sink; /* keeps the byte reads */

static void setup(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/hs-fuzz-st-XXXXXX", base);
    if (!mkdtemp(dir))
        abort();
    snprintf(file_path, sizeof file_path, "%s/input.safetensors", dir);
    snprintf(index_path, sizeof index_path, "%s/model.safetensors.index.json", dir);
    /* two shards for index inputs to name: "a" holds x, y; "b" holds z */
    float x[4] = {1, 2, 3, 4}, y[2] = {5, 6};
    uint16_t z[3] = {0x3c00, 0xc000, 0x7c00};
    hs_st_write_entry a[] = {{"x", HS_DTYPE_F32, 2, {2, 2}, x}, {"y", HS_DTYPE_F32, 1, {2}, y}};
    hs_st_write_entry b[] = {{"z", HS_DTYPE_F16, 1, {3}, z}};
    char p[300];
    hs_error err;
    snprintf(p, sizeof p, "%s/a.safetensors", dir);
    if (hs_st_write(p, a, 2, &err) != HS_OK)
        abort();
    snprintf(p, sizeof p, "%s/b.safetensors", dir);
    if (hs_st_write(p, b, 1, &err) != HS_OK)
        abort();
}

static void write_all(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0])
        setup();
    int is_index = size > 0 && data[0] == '{';
    const char *path = is_index ? index_path : file_path;
    write_all(path, data, size);

    hs_st_archive *st = NULL;
    hs_error err;
    memset(&err, 0, sizeof err);
    hs_status rc = hs_st_open(is_index ? dir : file_path, &st, &err);
    if (is_index)
        unlink(index_path);
    if (rc != HS_OK) {
        if (st != NULL || strstr(err.msg, dir) == NULL)
            abort(); /* failures leave nothing and name the file */
        return 0;
    }
    unsigned sum = 0;
    for (int i = 0; i < hs_st_count(st); i++) {
        const hs_st_tensor *t = hs_st_at(st, i);
        if (hs_st_find(st, t->name) != t)
            abort();
        const unsigned char *p = t->data;
        for (size_t k = 0; k < t->nbytes; k++) /* every byte must lie inside the mapping */
            sum += p[k];
        size_t es = hs_dtype_size(t->dtype), n = es ? t->nbytes / es : 0;
        float *buf = malloc((n ? n : 1) * sizeof *buf);
        rc = hs_st_read_f32(st, t->name, t->ndim, t->shape, buf, &err);
        int is_float = t->dtype == HS_DTYPE_F32 || t->dtype == HS_DTYPE_F16 || t->dtype == HS_DTYPE_BF16 ||
                       t->dtype == HS_DTYPE_F64;
        if (rc != (is_float ? HS_OK : HS_ERR_UNSUPPORTED))
            abort();
        if (is_float) {
            int64_t other[HS_MAX_DIMS + 1] = {0};
            memcpy(other, t->shape, sizeof t->shape);
            other[0] = t->shape[0] == 0 ? 1 : 0; /* a shape that cannot match */
            if (hs_st_read_f32(st, t->name, t->ndim ? t->ndim : 1, other, buf, &err) != HS_ERR_SHAPE)
                abort();
        }
        free(buf);
    }
    hs_st_close(st);
    sink = sum;
    return 0;
}
