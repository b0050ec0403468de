/* Inverse DCT: libjpeg's "islow" accurate integer method (jidctint.c, CONST_BITS 13,
 * PASS1_BITS 2), the default of libjpeg-turbo and therefore of Pillow. Written with 64-bit
 * intermediates like the C reference (JLONG is long), so corrupt coefficients cannot hit
 * signed overflow; the column/row shortcuts give the same numbers as the full path. */
#include "data/jpeg_internal.h"

const uint8_t cd_jpeg_natural_order[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6,  7,  14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

/* jdmaster.c prepare_range_limit_table, seen from IDCT_range_limit (offset CENTERJSAMPLE)
 * and masked with RANGE_MASK: 0..127 -> 128..255, 128..511 -> 255, 512..895 -> 0,
 * 896..1023 (i.e. -128..-1) -> 0..127. Built at compile time: no hidden mutable state. */
#define R4(x) x, x, x, x
#define R16(x) R4(x), R4(x), R4(x), R4(x)
#define R64(x) R16(x), R16(x), R16(x), R16(x)
#define SEQ8(b) b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7
#define SEQ64(b) SEQ8(b), SEQ8(b + 8), SEQ8(b + 16), SEQ8(b + 24), SEQ8(b + 32), SEQ8(b + 40), \
                 SEQ8(b + 48), SEQ8(b + 56)
static const uint8_t limit_table[1024] = {
    SEQ64(128), SEQ64(192),                          /* 0..127 */
    R64(255), R64(255), R64(255), R64(255), R64(255), R64(255), /* 128..511 */
    R64(0), R64(0), R64(0), R64(0), R64(0), R64(0),  /* 512..895 */
    SEQ64(0), SEQ64(64)                              /* 896..1023 */
};

const uint8_t *cd_jpeg_idct_limit(void) { return limit_table; }

#define CONST_BITS 13
#define PASS1_BITS 2
#define FIX_0_298631336 ((int64_t)2446)
#define FIX_0_390180644 ((int64_t)3196)
#define FIX_0_541196100 ((int64_t)4433)
#define FIX_0_765366865 ((int64_t)6270)
#define FIX_0_899976223 ((int64_t)7373)
#define FIX_1_175875602 ((int64_t)9633)
#define FIX_1_501321110 ((int64_t)12299)
#define FIX_1_847759065 ((int64_t)15137)
#define FIX_1_961570560 ((int64_t)16069)
#define FIX_2_053119869 ((int64_t)16819)
#define FIX_2_562915447 ((int64_t)20995)
#define FIX_3_072711026 ((int64_t)25172)

/* Shifts on int64 done through uint64 so negative values stay defined (libjpeg's LEFT_SHIFT);
 * right shift of a negative value is arithmetic on every compiler we target. */
#define LSHIFT(x, n) ((int64_t)((uint64_t)(x) << (n)))
#define DESCALE(x, n) (((x) + ((int64_t)1 << ((n)-1))) >> (n))

/* Even/odd butterfly shared by both passes; inputs s0..s7, outputs o[8] (undescaled). */
static inline void idct_1d(int64_t s0, int64_t s1, int64_t s2, int64_t s3, int64_t s4,
                           int64_t s5, int64_t s6, int64_t s7, int64_t o[8]) {
  int64_t z1 = (s2 + s6) * FIX_0_541196100;
  int64_t tmp2 = z1 + s6 * -FIX_1_847759065;
  int64_t tmp3 = z1 + s2 * FIX_0_765366865;
  int64_t tmp0 = LSHIFT(s0 + s4, CONST_BITS);
  int64_t tmp1 = LSHIFT(s0 - s4, CONST_BITS);
  int64_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3;
  int64_t tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

  tmp0 = s7;
  tmp1 = s5;
  tmp2 = s3;
  tmp3 = s1;
  z1 = tmp0 + tmp3;
  int64_t z2 = tmp1 + tmp2, z3 = tmp0 + tmp2, z4 = tmp1 + tmp3;
  int64_t z5 = (z3 + z4) * FIX_1_175875602;
  tmp0 *= FIX_0_298631336;
  tmp1 *= FIX_2_053119869;
  tmp2 *= FIX_3_072711026;
  tmp3 *= FIX_1_501321110;
  z1 *= -FIX_0_899976223;
  z2 *= -FIX_2_562915447;
  z3 *= -FIX_1_961570560;
  z4 *= -FIX_0_390180644;
  z3 += z5;
  z4 += z5;
  tmp0 += z1 + z3;
  tmp1 += z2 + z4;
  tmp2 += z2 + z3;
  tmp3 += z1 + z4;

  o[0] = tmp10 + tmp3;
  o[7] = tmp10 - tmp3;
  o[1] = tmp11 + tmp2;
  o[6] = tmp11 - tmp2;
  o[2] = tmp12 + tmp1;
  o[5] = tmp12 - tmp1;
  o[3] = tmp13 + tmp0;
  o[4] = tmp13 - tmp0;
}

void cd_jpeg_idct_islow(const int16_t *coef, const int16_t *quant, uint8_t *out, int stride) {
  int ws[64];
  const uint8_t *lim = limit_table;

  for (int c = 0; c < 8; c++) {
    const int16_t *in = coef + c;
    const int16_t *q = quant + c;
    if (in[8] == 0 && in[16] == 0 && in[24] == 0 && in[32] == 0 && in[40] == 0 &&
        in[48] == 0 && in[56] == 0) {
      int dc = (int)LSHIFT((int64_t)in[0] * q[0], PASS1_BITS);
      for (int r = 0; r < 8; r++) ws[r * 8 + c] = dc;
      continue;
    }
    int64_t o[8];
    idct_1d((int64_t)in[0] * q[0], (int64_t)in[8] * q[8], (int64_t)in[16] * q[16],
            (int64_t)in[24] * q[24], (int64_t)in[32] * q[32], (int64_t)in[40] * q[40],
            (int64_t)in[48] * q[48], (int64_t)in[56] * q[56], o);
    for (int r = 0; r < 8; r++) ws[r * 8 + c] = (int)DESCALE(o[r], CONST_BITS - PASS1_BITS);
  }

  for (int r = 0; r < 8; r++) {
    const int *w = ws + r * 8;
    uint8_t *dst = out + (size_t)r * stride;
    if (w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 &&
        w[7] == 0) {
      uint8_t v = lim[(int)DESCALE((int64_t)w[0], PASS1_BITS + 3) & 1023];
      for (int c = 0; c < 8; c++) dst[c] = v;
      continue;
    }
    int64_t o[8];
    idct_1d(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], o);
    for (int c = 0; c < 8; c++)
      dst[c] = lim[(int)DESCALE(o[c], CONST_BITS + PASS1_BITS + 3) & 1023];
  }
}
