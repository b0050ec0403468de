/* Element types shared by safetensors, .npy and the model loader, plus half-precision
 * conversion (F16 and BF16 checkpoints are widened to float32 at load time). */
#ifndef CD_DTYPE_H
#define CD_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  CD_DTYPE_INVALID = 0,
  CD_F32, CD_F16, CD_BF16, CD_F64,
  CD_I8, CD_U8, CD_I16, CD_I32, CD_I64, CD_BOOL
} cd_dtype;

size_t cd_dtype_size(cd_dtype t);          /* bytes per element, 0 for INVALID */
const char *cd_dtype_name(cd_dtype t);     /* "F32", "F16", ... (safetensors spelling) */
cd_dtype cd_dtype_from_name(const char *s); /* safetensors spelling -> dtype, INVALID if unknown */

float cd_f16_to_f32(uint16_t h);
float cd_bf16_to_f32(uint16_t h);
uint16_t cd_f32_to_f16(float f);  /* round to nearest even */
uint16_t cd_f32_to_bf16(float f); /* round to nearest even */
/* Converts n elements of src (F32/F16/BF16, little-endian, any alignment) into dst. */
void cd_convert_to_f32(float *dst, const void *src, cd_dtype t, size_t n);

#endif
