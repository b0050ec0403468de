#include "core/dtype.h"

#include <string.h>

static const struct {
  cd_dtype t;
  const char *name;
  size_t size;
} DTYPES[] = {
    {CD_F32, "F32", 4}, {CD_F16, "F16", 2}, {CD_BF16, "BF16", 2}, {CD_F64, "F64", 8},
    {CD_I8, "I8", 1},   {CD_U8, "U8", 1},   {CD_I16, "I16", 2},   {CD_I32, "I32", 4},
    {CD_I64, "I64", 8}, {CD_BOOL, "BOOL", 1},
};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

size_t cd_dtype_size(cd_dtype t) {
  for (size_t i = 0; i < N_DTYPES; i++)
    if (DTYPES[i].t == t) return DTYPES[i].size;
  return 0;
}

const char *cd_dtype_name(cd_dtype t) {
  for (size_t i = 0; i < N_DTYPES; i++)
    if (DTYPES[i].t == t) return DTYPES[i].name;
  return "INVALID";
}

cd_dtype cd_dtype_from_name(const char *s) {
  if (!s) return CD_DTYPE_INVALID;
  for (size_t i = 0; i < N_DTYPES; i++)
    if (!strcmp(DTYPES[i].name, s)) return DTYPES[i].t;
  return CD_DTYPE_INVALID;
}

static float bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint32_t f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

float cd_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
  if (exp == 0x1F) return bits_to_f32(sign | 0x7F800000u | (man << 13)); /* inf / nan */
  if (exp == 0) {
    if (man == 0) return bits_to_f32(sign);
    /* Subnormal half: value = man * 2^-24, exact in float32. */
    float v = (float)man * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  return bits_to_f32(sign | ((exp + 112) << 23) | (man << 13));
}

float cd_bf16_to_f32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

uint16_t cd_f32_to_f16(float f) {
  uint32_t u = f32_to_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  uint32_t exp = (u >> 23) & 0xFF, man = u & 0x7FFFFF;
  if (exp == 0xFF) {
    if (man == 0) return sign | 0x7C00;
    return sign | 0x7E00 | (uint16_t)(man >> 13); /* quiet NaN, keeps payload top bits */
  }
  int e = (int)exp - 127 + 15;
  if (e >= 0x1F) return sign | 0x7C00; /* overflow -> inf */
  if (e <= 0) {
    /* Subnormal (or zero) half: shift the full significand into place, then round. */
    if (e < -10) return sign; /* below half of the smallest subnormal: rounds to zero */
    uint32_t m = man | 0x800000;
    int shift = 14 - e; /* 24-bit significand -> 10-bit field scaled by 2^-14 */
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return sign | (uint16_t)q; /* q may carry into the exponent: that is the right answer */
  }
  uint32_t q = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++; /* carry may produce inf: correct */
  return sign | (uint16_t)q;
}

uint16_t cd_f32_to_bf16(float f) {
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x7FFFFF)) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7FFF + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

void cd_convert_to_f32(float *dst, const void *src, cd_dtype t, size_t n) {
  const unsigned char *s = src;
  switch (t) {
    case CD_F32:
      memmove(dst, s, n * 4);
      break;
    case CD_F16:
      for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(s[2 * i] | (s[2 * i + 1] << 8));
        dst[i] = cd_f16_to_f32(h);
      }
      break;
    case CD_BF16:
      for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(s[2 * i] | (s[2 * i + 1] << 8));
        dst[i] = cd_bf16_to_f32(h);
      }
      break;
    case CD_F64:
      for (size_t i = 0; i < n; i++) {
        double d;
        memcpy(&d, s + 8 * i, 8);
        dst[i] = (float)d;
      }
      break;
    case CD_I8:
      for (size_t i = 0; i < n; i++) dst[i] = (float)(int8_t)s[i];
      break;
    case CD_U8:
    case CD_BOOL:
      for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
      break;
    case CD_I16:
      for (size_t i = 0; i < n; i++) {
        int16_t v;
        memcpy(&v, s + 2 * i, 2);
        dst[i] = (float)v;
      }
      break;
    case CD_I32:
      for (size_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, s + 4 * i, 4);
        dst[i] = (float)v;
      }
      break;
    case CD_I64:
      for (size_t i = 0; i < n; i++) {
        int64_t v;
        memcpy(&v, s + 8 * i, 8);
        dst[i] = (float)v;
      }
      break;
    default:
      break;
  }
}
