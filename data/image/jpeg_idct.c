/* Inverse DCT: libjpeg's "islow" accurate integer method (jidctint.c, CONST_BITS 13,
 * PASS1_BITS 2), the default of libjpeg-turbo and therefore of Pillow. On x86-64 Pillow's
 * libjpeg-turbo runs the AVX2 version (jidctint-avx2.asm), which equals jidctint.c for valid
 * data but keeps values in 16-bit lanes: dequantised coefficients wrap to 16 bits, a few
 * sums are 16-bit, products and sums are 32-bit, each pass saturates to int16 and the output
 * saturates to 0..255 (instead of jidctint.c's wrapping range-limit table). We emulate that
 * lane arithmetic so corrupt files also decode as Pillow decodes them. */
#include <string.h>

#include "core/cpu.h"
#include "data/image/jpeg_internal.h"

const uint8_t cd_jpeg_natural_order[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

/* 16-bit lane add (vpaddw) and 32-bit lane arithmetic (vpmaddwd/vpaddd) with wraparound. */
static inline int16_t add16(int a, int b) { return (int16_t)(uint16_t)((unsigned)a + (unsigned)b); }
static inline uint32_t mad(int a, int fa, int b, int fb) {
  return (uint32_t)(a * fa) + (uint32_t)(b * fb);
}
static inline int16_t descale_sat16(uint32_t x, int n) {
  int32_t v = (int32_t)(x + (1u << (n - 1))) >> n;
  return (int16_t)(v < -32768 ? -32768 : v > 32767 ? 32767 : v);
}

/* One 8-point pass of the AVX2 "dodct" macro on in[0..7] (stride 1), descaling by n. */
static void dodct(const int16_t *in, int n, int16_t *out) {
  int i0 = in[0], i1 = in[1], i2 = in[2], i3 = in[3], i4 = in[4], i5 = in[5], i6 = in[6],
      i7 = in[7];
  /* even part */
  uint32_t tmp3 = mad(i2, F_0_541 + F_0_765, i6, F_0_541);
  uint32_t tmp2 = mad(i2, F_0_541, i6, F_0_541 - F_1_847);
  uint32_t tmp0 = (uint32_t)add16(i0, i4) << CONST_BITS;
  int16_t neg4 = (int16_t)(uint16_t)(0u - (unsigned)i4); /* vpsignw wraps -(-32768) */
  uint32_t tmp1 = (uint32_t)add16(i0, neg4) << CONST_BITS;
  uint32_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
  uint32_t tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
  /* odd part */
  int z3 = add16(i7, i3), z4 = add16(i5, i1);
  uint32_t z3p = mad(z3, F_1_175 - F_1_961, z4, F_1_175);
  uint32_t z4p = mad(z3, F_1_175, z4, F_1_175 - F_0_390);
  uint32_t o0 = mad(i7, F_0_298 - F_0_899, i1, -F_0_899) + z3p;
  uint32_t o1 = mad(i5, F_2_053 - F_2_562, i3, -F_2_562) + z4p;
  uint32_t o3 = mad(i7, -F_0_899, i1, F_1_501 - F_0_899) + z4p;
  uint32_t o2 = mad(i5, -F_2_562, i3, F_3_072 - F_2_562) + z3p;
  out[0] = descale_sat16(tmp10 + o3, n);
  out[7] = descale_sat16(tmp10 - o3, n);
  out[1] = descale_sat16(tmp11 + o2, n);
  out[6] = descale_sat16(tmp11 - o2, n);
  out[2] = descale_sat16(tmp12 + o1, n);
  out[5] = descale_sat16(tmp12 - o1, n);
  out[3] = descale_sat16(tmp13 + o0, n);
  out[4] = descale_sat16(tmp13 - o0, n);
}

void cd_jpeg_idct_islow(const int16_t *coef, const int16_t *quant, uint8_t *out, int stride) {
  int16_t ws[64]; /* ws[c * 8 + r]: pass-1 output of column c, row r */
  int ac_rows = 0;
  for (int k = 8; k < 64; k++) ac_rows |= coef[k];
  if (!ac_rows) { /* only row 0 of coefficients: pass 1 is a 16-bit shift (vpsllw) */
    for (int c = 0; c < 8; c++) {
      int16_t v = (int16_t)(uint16_t)((unsigned)(coef[c] * quant[c]) << PASS1_BITS);
      for (int r = 0; r < 8; r++) ws[c * 8 + r] = v;
    }
  } else {
    for (int c = 0; c < 8; c++) {
      int16_t in[8];
      for (int r = 0; r < 8; r++) in[r] = (int16_t)(uint16_t)(unsigned)(coef[r * 8 + c] * quant[r * 8 + c]);
      dodct(in, CONST_BITS - PASS1_BITS, ws + c * 8);
    }
  }
  for (int r = 0; r < 8; r++) {
    int16_t in[8], o[8];
    for (int c = 0; c < 8; c++) in[c] = ws[c * 8 + r];
    dodct(in, CONST_BITS + PASS1_BITS + 3, o);
    uint8_t *dst = out + (size_t)r * stride;
    for (int c = 0; c < 8; c++) dst[c] = (uint8_t)(o[c] < -128 ? 0 : o[c] > 127 ? 255 : o[c] + 128);
  }
}

void cd_jpeg_idct_dc(int coef0, int quant0, uint8_t *out, int stride) {
  /* Pass 1 turns column 0 into v in every row (the row-0-only shortcut) and the other
   * columns into zeros; pass 2 then sees (v, 0, .., 0) in every row, and all its outputs
   * are descale(v << CONST_BITS). */
  int16_t v = (int16_t)(uint16_t)((unsigned)(coef0 * quant0) << PASS1_BITS);
  int o = (int)(((uint32_t)v << CONST_BITS) + (1u << (CONST_BITS + PASS1_BITS + 2)));
  o = (int32_t)(uint32_t)o >> (CONST_BITS + PASS1_BITS + 3);
  uint8_t px = (uint8_t)(o < -128 ? 0 : o > 127 ? 255 : o + 128);
  for (int r = 0; r < 8; r++) memset(out + (size_t)r * stride, px, 8);
}

cd_jpeg_idct_fn cd_jpeg_idct_select(void) {
#if defined(__x86_64__) || defined(_M_X64)
  if (cd_cpu_level_has(CD_ISA_AVX2)) return cd_jpeg_idct_islow_avx2;
#endif
  return cd_jpeg_idct_islow;
}
