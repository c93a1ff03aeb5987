/* dtype.h — storage dtypes of weights and activations, and their conversion to and from float32. */
#ifndef HS_CORE_DTYPE_H
#define HS_CORE_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum hs_dtype { HS_DTYPE_F32, HS_DTYPE_F16, HS_DTYPE_BF16, HS_DTYPE_F64, HS_DTYPE_I32, HS_DTYPE_I64,
                        HS_DTYPE_I8, HS_DTYPE_U8, HS_DTYPE_BOOL, HS_DTYPE_UNKNOWN } hs_dtype;

/* Bytes per element; 0 for HS_DTYPE_UNKNOWN. */
size_t hs_dtype_size(hs_dtype dt);
/* "F32", "F16", ... as safetensors spells them; HS_DTYPE_UNKNOWN for anything else. */
hs_dtype hs_dtype_from_name(const char *name);
const char *hs_dtype_name(hs_dtype dt);

float hs_f16_to_f32(uint16_t h);
uint16_t hs_f32_to_f16(float f);   /* round to nearest even */
float hs_bf16_to_f32(uint16_t b);
uint16_t hs_f32_to_bf16(float f);  /* round to nearest even; NaN stays NaN */

/* Converts n float32 values to float16 (round to nearest even), the optimised twin of
 * hs_f32_to_f16: F16C vector instructions when the build targets them, else the scalar loop.
 * Equal to hs_f32_to_f16 on every input except NaN payloads (any NaN stays a NaN). */
void hs_f32_to_f16_array(const float *src, uint16_t *dst, size_t n);

/* Converts n elements of a float dtype (F32, F16, BF16, F64) at src (any alignment,
 * little-endian) to float32 at dst. Returns 0, or -1 for a non-float dtype. */
int hs_convert_to_f32(hs_dtype dt, const void *src, float *dst, size_t n);

#endif
