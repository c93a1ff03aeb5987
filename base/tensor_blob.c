/* tensor_blob.c — encoding, validation and element access for the store's tensor BLOBs. */
#include "base/tensor_blob.h"

#include <string.h>

static int dtype_code(hs_dtype dt)
{
    switch (dt) {
    case HS_DTYPE_F32: return 0;
    case HS_DTYPE_F16: return 1;
    case HS_DTYPE_BF16: return 2;
    default: return -1;
    }
}

static const hs_dtype code_dtype[3] = {HS_DTYPE_F32, HS_DTYPE_F16, HS_DTYPE_BF16};

size_t hs_blob_size(hs_dtype dtype, int ndim, const int64_t *shape)
{
    if (dtype_code(dtype) < 0 || ndim < 1 || ndim > HS_MAX_DIMS)
        return 0;
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || shape[i] > INT32_MAX)
            return 0;
        n *= (uint64_t)shape[i];
        if (n > ((uint64_t)1 << 40))
            return 0;
    }
    return 8 + 4 * (size_t)ndim + (size_t)n * hs_dtype_size(dtype);
}

size_t hs_blob_encode(void *out, hs_dtype dtype, int ndim, const int64_t *shape, const float *values)
{
    size_t size = hs_blob_size(dtype, ndim, shape);
    if (!size)
        return 0;
    unsigned char *p = out;
    memcpy(p, HS_BLOB_MAGIC, 4);
    p[4] = (unsigned char)dtype_code(dtype);
    p[5] = (unsigned char)ndim;
    p[6] = p[7] = 0;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        int32_t d = (int32_t)shape[i];
        memcpy(p + 8 + 4 * i, &d, 4);
        n *= shape[i];
    }
    unsigned char *data = p + 8 + 4 * ndim;
    switch (dtype) {
    case HS_DTYPE_F32:
        memcpy(data, values, (size_t)n * 4);
        break;
    case HS_DTYPE_F16: /* data sits at 8 + 4·ndim bytes: 2-byte aligned within a malloc'd buffer */
        hs_f32_to_f16_array(values, (uint16_t *)(void *)data, (size_t)n);
        break;
    default:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = hs_f32_to_bf16(values[i]);
            memcpy(data + 2 * i, &h, 2);
        }
        break;
    }
    return size;
}

int hs_blob_parse(const void *blob, size_t len, hs_blob_view *out)
{
    const unsigned char *p = blob;
    if (!p || len < 12 || memcmp(p, HS_BLOB_MAGIC, 4) != 0 || p[4] > 2 || p[5] < 1 || p[5] > HS_MAX_DIMS ||
        p[6] || p[7])
        return -1;
    out->dtype = code_dtype[p[4]];
    out->ndim = p[5];
    if (len < 8 + 4 * (size_t)out->ndim)
        return -1;
    for (int i = 0; i < out->ndim; i++) {
        int32_t d;
        memcpy(&d, p + 8 + 4 * i, 4);
        if (d < 0)
            return -1;
        out->shape[i] = d;
    }
    size_t size = hs_blob_size(out->dtype, out->ndim, out->shape);
    if (!size || size != len)
        return -1;
    out->numel = (int64_t)((size - 8 - 4 * (size_t)out->ndim) / hs_dtype_size(out->dtype));
    out->data = p + 8 + 4 * out->ndim;
    return 0;
}

float hs_blob_get(const hs_blob_view *v, int64_t i)
{
    if (v->dtype == HS_DTYPE_F32) {
        float f;
        memcpy(&f, v->data + 4 * i, 4);
        return f;
    }
    uint16_t h;
    memcpy(&h, v->data + 2 * i, 2);
    return v->dtype == HS_DTYPE_F16 ? hs_f16_to_f32(h) : hs_bf16_to_f32(h);
}
